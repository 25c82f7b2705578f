/*
 * Unit tests for the store core's config plumbing (reporters/stores/artifact_store.c):
 * each backend's keys, held flat in a config file, decode into that
 * backend's own config; unknown keys fail as everywhere else; the
 * registry refuses duplicates; result_backend names and ALTS's
 * azureblockblob://<connection string> form.
 */
#include "helpers.h"

#include "framework/arena.h"
#include "framework/conf.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"

/* Decodes text (a flat mapping of store keys) into *confs, as farm_config does among its own keys. */
static int decode(struct arena *a, struct artifact_store_confs **confs, const char *text, struct alts_err *err)
{
	struct conf_section sections[ARTIFACT_STORE_CONF_SECTIONS];
	struct conf_ctx ctx = { .arena = a, .file = "cfg.yaml", .err = err };
	yaml_document_t doc;
	size_t n;
	int rc = artifact_store_confs_new(confs, a, err);

	if (rc)
		return rc;
	n = artifact_store_conf_sections(sections, ALTS_ARRAY_SIZE(sections), *confs);
	rc = conf_load_document(&doc, "cfg.yaml", text, strlen(text), err);
	if (rc)
		return rc;
	ctx.doc = &doc;
	rc = conf_decode_map(&ctx, yaml_document_get_root_node(&doc), "", sections, n);
	yaml_document_delete(&doc);
	return rc;
}

static void test_store_conf__keys_decode_into_their_backend(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	struct artifact_store_confs *confs = NULL;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "s3", .retries = 1 };
	char *url = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(decode(a, &confs, "s3_bucket: alts\ns3_access_key_id: AK\ns3_secret_access_key: SK\n"
				   "s3_endpoint_url: http://127.0.0.1:4569\ns3_base_path: base/\n"
				   "azureblockblob_container_name: c\nazureblockblob_base_path: tasks/\n",
			     &err),
		      &err);
	assert_string_equal(confs->base_path, "base/");
	cfg.confs = confs;

	/* s3 sees its keys, through its own config, and the common prefix. */
	assert_ok_err(artifact_store_open(&s, &cfg, &err), &err);
	assert_ptr_equal(s->conf, confs->conf[1]);
	assert_ok_err(artifact_store_url(s, "t/report.tap", &url, &err), &err);
	assert_string_equal(url, "s3://alts/base/t/report.tap");
	alts_free(url);
	artifact_store_free(s);
	s = NULL;

	/* The other backends' configs got none of them: file has no directory, azure no connection string. */
	cfg.backend = "file";
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_string_equal(err.msg, "result backend 'file' needs file_store_directory");
	cfg.backend = "azureblockblob";
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "result backend 'azureblockblob' needs azure_connection_string"));

	/* ALTS's form carries the connection string; azure's own base path wins over s3_base_path. */
	cfg.backend = "azureblockblob://AccountName=acct;AccountKey=a2V5";
	assert_ok_err(artifact_store_open(&s, &cfg, &err), &err);
	assert_string_equal(artifact_store_backend(s), "azureblockblob");
	assert_ok_err(artifact_store_url(s, "t/report.tap", &url, &err), &err);
	assert_string_equal(url, "https://acct.blob.core.windows.net/c/tasks/t/report.tap");
	alts_free(url);
	artifact_store_free(s);

	/* No backend chosen by these keys; pulp_host chooses pulp when no result_backend is given. */
	assert_null(artifact_store_implied_backend(confs));
	assert_null(artifact_store_implied_backend(NULL));
	assert_ok_err(decode(a, &confs, "pulp_user: u\n", &err), &err);
	assert_null(artifact_store_implied_backend(confs));
	assert_ok_err(decode(a, &confs, "pulp_host: http://pulp\n", &err), &err);
	assert_string_equal(artifact_store_implied_backend(confs), "pulp");
	arena_free(a);
}

static void test_store_conf__unknown_and_bad_keys_are_refused(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	struct artifact_store_confs *confs = NULL;

	ALTS_UNUSED(state);
	assert_int_equal(decode(a, &confs, "s3_bucket: b\ns3_bukket: x\n", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "cfg.yaml:2:1: unknown key 's3_bukket' (known keys: s3_base_path, "
					"file_store_directory, s3_addressing_style"));
	assert_non_null(strstr(err.msg, "azure_logs_container, pulp_host, pulp_user, pulp_password, pulp_password_file)"));
	assert_int_equal(decode(a, &confs, "file_store_directory: ''\n", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "cfg.yaml:1:23: file_store_directory: must not be empty"));
	assert_int_equal(decode(a, &confs, "s3_addressing_style: dns\n", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "s3_addressing_style: unknown addressing style 'dns'"));

	/* The same tables answer artifact_store_confs_set(). */
	assert_ok_err(artifact_store_confs_new(&confs, a, &err), &err);
	assert_int_equal(artifact_store_confs_set(confs, "azure_container", "x", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "unknown key 'azure_container' (known keys: "));
	arena_free(a);
}

static void test_store_conf__backend_names(void **state)
{
	struct sbuf sb = SBUF_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "s3://bucket" };

	ALTS_UNUSED(state);
	assert_true(artifact_store_backend_known("file"));
	assert_true(artifact_store_backend_known("s3"));
	assert_true(artifact_store_backend_known("azureblockblob"));
	assert_true(artifact_store_backend_known("azureblockblob://AccountName=a"));
	assert_true(artifact_store_backend_known("pulp"));
	assert_false(artifact_store_backend_known("s3://bucket"));
	assert_false(artifact_store_backend_known("azureblockblobs"));
	assert_false(artifact_store_backend_known("ftp"));
	artifact_store_backend_names(&sb, true);
	assert_string_equal(sb.buf, "file, s3, azureblockblob, pulp, azureblockblob://<connection string>");
	sbuf_release(&sb);
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_string_equal(err.msg, "unknown result backend 's3://bucket' (allowed: file, s3, azureblockblob, pulp)");
}

static int fake_open(struct artifact_store *s, struct alts_err *err)
{
	ALTS_UNUSED(s);
	ALTS_UNUSED(err);
	return 0;
}

static void fake_close(struct artifact_store *s)
{
	ALTS_UNUSED(s);
}

static const struct conf_key fake_keys[] = {
	{ "s3_bucket", CONF_STRING, 0, 0, NULL, NULL },
	CONF_KEYS_END,
};

static void test_store_conf__registry_refuses_duplicates(void **state)
{
	struct artifact_store_ops fake = artifact_store_file_ops;
	const struct artifact_store_ops *real[] = { &artifact_store_file_ops, &artifact_store_s3_ops,
						    &artifact_store_azure_ops };
	const struct artifact_store_ops *twice[] = { &artifact_store_file_ops, &artifact_store_s3_ops,
						     &artifact_store_file_ops };
	const struct artifact_store_ops *clash[] = { &artifact_store_s3_ops, &fake };
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(artifact_store__check_registry(real, ALTS_ARRAY_SIZE(real), &err), &err);
	assert_int_equal(artifact_store__check_registry(twice, ALTS_ARRAY_SIZE(twice), &err), ALTS_EINTERNAL);
	assert_string_equal(err.msg, "artifact store 'file' is registered twice");
	fake.name = "fake";
	fake.keys = fake_keys;
	fake.open = fake_open;
	fake.close = fake_close;
	assert_int_equal(artifact_store__check_registry(clash, ALTS_ARRAY_SIZE(clash), &err), ALTS_EINTERNAL);
	assert_string_equal(err.msg, "artifact stores 's3' and 'fake' both define key 's3_bucket'");
	fake.keys = (const struct conf_key[]){ { "s3_base_path", CONF_STRING, 0, 0, NULL, NULL }, CONF_KEYS_END };
	assert_int_equal(artifact_store__check_registry(clash, ALTS_ARRAY_SIZE(clash), &err), ALTS_EINTERNAL);
	assert_string_equal(err.msg, "artifact store 'fake' redefines key 's3_base_path'");
	fake.keys = NULL;
	fake.abi = 0;
	assert_int_equal(artifact_store__check_registry(clash, ALTS_ARRAY_SIZE(clash), &err), ALTS_EINTERNAL);
	assert_string_equal(err.msg, "artifact store 'fake' is incomplete or of another ABI");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_conf__keys_decode_into_their_backend),
		cmocka_unit_test(test_store_conf__unknown_and_bad_keys_are_refused),
		cmocka_unit_test(test_store_conf__backend_names),
		cmocka_unit_test(test_store_conf__registry_refuses_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
