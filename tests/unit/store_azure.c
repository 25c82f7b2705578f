/*
 * Unit tests for the azureblockblob store: connection strings, the
 * SharedKey string to sign (layout from "Authorize with Shared Key",
 * Blob service 2009-09-19 and later) and its HMAC, URLs and config
 * errors. Uploads to a real service (Azurite) are in
 * tests/integration/t_artifact_stores.sh.
 */
#include "helpers.h"

#include "framework/sbuf.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/azure.h"
#include "store_helpers.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void parse_ok(const char *s, const char *account, const char *endpoint, size_t keylen)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct azure_conn c;

	assert_ok_err(azure__parse_connection_string(&c, s, &err), &err);
	assert_string_equal(c.account, account);
	assert_string_equal(c.endpoint, endpoint);
	assert_int_equal(c.key.len, keylen);
	azure__conn_release(&c);
}

static void test_store_azure__connection_strings(void **state)
{
	ALTS_UNUSED(state);
	parse_ok("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" DEV_KEY ";EndpointSuffix=core.windows.net",
		 "acct", "https://acct.blob.core.windows.net", 64);
	/* Defaults: https and the public cloud; names are case-insensitive, spaces and empty elements ignored. */
	parse_ok("accountname=acct; accountkey=" DEV_KEY ";;", "acct", "https://acct.blob.core.windows.net", 64);
	parse_ok("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=AAAA;EndpointSuffix=core.chinacloudapi.cn",
		 "a", "http://a.blob.core.chinacloudapi.cn", 3);
	/* BlobEndpoint wins over the suffix; a trailing slash is dropped. */
	parse_ok("AccountName=devstoreaccount1;AccountKey=" DEV_KEY
		 ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/x",
		 "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", 64);
	parse_ok("UseDevelopmentStorage=true", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", 64);
}

static void test_store_azure__bad_connection_strings(void **state)
{
	static const struct {
		const char *conn;
		const char *want;
	} cases[] = {
		{ "", "connection string is empty" },
		{ "AccountKey=c2VjcmV0LWtleQ==", "has no AccountName" },
		{ "AccountName=a;SharedAccessSignature=sv=2020", "has no AccountKey" },
		{ "AccountName=a;AccountKey=c2VjcmV0LWtleQ", "AccountKey is not valid base64" },
		{ "AccountName=a;AccountKey=not*base64!", "AccountKey is not valid base64" },
		{ "AccountName=a;c2VjcmV0LWtleQ;AccountKey=AAAA", "is not Name=Value" },
		{ "DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=c2VjcmV0LWtleQ==", "must be http or https" },
		{ "AccountName=a;AccountKey=c2VjcmV0LWtleQ==;BlobEndpoint=127.0.0.1:10000", "must start with http" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct azure_conn c;

		assert_int_equal(azure__parse_connection_string(&c, cases[i].conn, &err), ALTS_EINVALID);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, cases[i].want);
		/* Never the key, neither encoded nor decoded. */
		assert_null(strstr(err.msg, "c2VjcmV0LWtleQ"));
		assert_null(strstr(err.msg, "secret-key"));
		azure__conn_release(&c);
	}
}

static void test_store_azure__string_to_sign(void **state)
{
	const struct store_header headers[] = {
		{ "x-ms-version", "2021-08-06" },
		{ "content-type", "text/plain; charset=utf-8" },
		{ "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT" },
		{ "content-md5", "XrY7u+Ae7tCTyyK7j1rNww==" },
		{ "content-length", "11" },
		{ "x-ms-blob-type", "BlockBlob" },
	};
	const struct store_header query[] = { { "comp", "block" }, { "blockid", "YWx0cy1ibG9jay0wMDAwMDAx" } };
	struct azure_sign_input in = { .method = "PUT", .account = "devstoreaccount1",
				       .path = "/devstoreaccount1/alts-logs/tasks/t1/a%20b.log", .query = query,
				       .nquery = 2, .headers = headers, .nheaders = ALTS_ARRAY_SIZE(headers) };
	struct sbuf sts = SBUF_INIT, auth = SBUF_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	struct azure_conn c;

	ALTS_UNUSED(state);
	assert_int_equal(azure__string_to_sign(&sts, &in), 0);
	assert_string_equal(sts.buf, "PUT\n\n\n11\nXrY7u+Ae7tCTyyK7j1rNww==\ntext/plain; charset=utf-8\n\n\n\n\n\n\n"
				     "x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
				     "x-ms-version:2021-08-06\n"
				     "/devstoreaccount1/devstoreaccount1/alts-logs/tasks/t1/a%20b.log\n"
				     "blockid:YWx0cy1ibG9jay0wMDAwMDAx\ncomp:block");
	/* The expected MAC was computed independently (Python hmac over the string above). */
	assert_ok_err(azure__parse_connection_string(&c, "UseDevelopmentStorage=true", &err), &err);
	assert_int_equal(azure__authorization(&auth, c.account, &c.key, sts.buf), 0);
	assert_string_equal(auth.buf, "SharedKey devstoreaccount1:qTd1lDWworRo5DTMDK3OXmw2pNm0Cgug0FCp6/X3+cM=");
	azure__conn_release(&c);
	sbuf_release(&auth);
	sbuf_reset(&sts);

	/* A GET: no body, so Content-Length is signed empty; "0" is too (version 2015-02-21 on). */
	in.method = "GET";
	in.nquery = 0;
	in.path = "/c/b";
	in.headers = (const struct store_header[]){ { "x-ms-date", "D" }, { "content-length", "0" } };
	in.nheaders = 2;
	assert_int_equal(azure__string_to_sign(&sts, &in), 0);
	assert_string_equal(sts.buf, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:D\n/devstoreaccount1/c/b");
	sbuf_release(&sts);
}

static struct artifact_store *open_azure(const char *backend, const char *conn, const char *logs)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = backend, .results_base_path = "r/", .retries = 1 };

	cfg.confs = STORE_CONFS("azure_connection_string", conn, "azureblockblob_container_name", "results",
				"azure_logs_container", logs, "azureblockblob_base_path", "tasks/");

	assert_ok_err(artifact_store_open(&s, &cfg, &err), &err);
	assert_string_equal(artifact_store_backend(s), "azureblockblob");
	return s;
}

static void test_store_azure__urls_and_alts_form(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s;
	char *url = NULL;

	ALTS_UNUSED(state);
	s = open_azure("azureblockblob", "AccountName=acct;AccountKey=" DEV_KEY, "logs");
	assert_ok_err(artifact_store_url(s, "t1/logs/a b.log", &url, &err), &err);
	assert_string_equal(url, "https://acct.blob.core.windows.net/logs/tasks/t1/logs/a%20b.log");
	alts_free(url);
	artifact_store_free(s);

	/* ALTS's form: the connection string in the backend; artifacts default to the main container. */
	s = open_azure("azureblockblob://AccountName=devstoreaccount1;AccountKey=" DEV_KEY
		       ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
		       NULL, NULL);
	assert_ok_err(artifact_store_url(s, "t1/report.tap", &url, &err), &err);
	assert_string_equal(url, "http://127.0.0.1:10000/devstoreaccount1/results/tasks/t1/report.tap");
	alts_free(url);
	artifact_store_free(s);
}

static void test_store_azure__config_errors(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "azureblockblob" };

	ALTS_UNUSED(state);
	cfg.confs = STORE_CONFS("azureblockblob_container_name", "c");
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "needs azure_connection_string"));
	cfg.confs = STORE_CONFS("azure_connection_string", "AccountName=a;AccountKey=" DEV_KEY);
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "needs azureblockblob_container_name"));
	cfg.confs = STORE_CONFS("azureblockblob_container_name", "c", "azure_connection_string", "AccountName=a");
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "has no AccountKey"));
	assert_null(s);
}

static void test_store_azure__unreachable(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s =
		open_azure("azureblockblob", "AccountName=a;AccountKey=" DEV_KEY ";BlobEndpoint=http://127.0.0.1:1/a", NULL);

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	assert_int_equal(artifact_store_put_bytes(s, "t/x.log", "x", 1, NULL, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "azure Put Blob 'tasks/t/x.log' in container 'results' failed"));
	assert_null(strstr(err.msg, DEV_KEY));
	artifact_store_free(s);
}

static const struct artifact_store_confs *oom_confs;

static int azure_oom_scenario(void)
{
	const struct store_header h[] = { { "x-ms-date", "D" }, { "content-length", "3" } };
	struct azure_sign_input in = { .method = "PUT", .account = "a", .path = "/c/b", .headers = h, .nheaders = 2 };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "azureblockblob", .confs = oom_confs };
	struct sbuf sts = SBUF_INIT, auth = SBUF_INIT;
	char *url = NULL;
	int rc = artifact_store_open(&s, &cfg, &err);

	if (!rc)
		rc = artifact_store_url(s, "t/x.log", &url, &err);
	if (!rc)
		rc = azure__string_to_sign(&sts, &in);
	if (!rc)
		rc = azure__authorization(&auth, "a", &((struct azure_conn){ .key = sts }).key, sts.buf);
	alts_free(url);
	sbuf_release(&sts);
	sbuf_release(&auth);
	artifact_store_free(s);
	return rc;
}

static void test_store_azure__each_allocation_fails(void **state)
{
	unsigned long n;

	ALTS_UNUSED(state);
	oom_confs = STORE_CONFS("azureblockblob_container_name", "c", "azure_connection_string",
				"AccountName=a;AccountKey=" DEV_KEY);
	alts_alloc_fail_at(0);
	assert_int_equal(azure_oom_scenario(), 0);
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		int rc;

		alts_alloc_fail_at(i);
		rc = azure_oom_scenario();
		alts_alloc_fail_at(0);
		if (rc && rc != ALTS_ENOMEM)
			fail_msg("allocation %lu failing gave %d", i, rc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_azure__connection_strings),
		cmocka_unit_test(test_store_azure__bad_connection_strings),
		cmocka_unit_test(test_store_azure__string_to_sign),
		cmocka_unit_test(test_store_azure__urls_and_alts_form),
		cmocka_unit_test(test_store_azure__config_errors),
		cmocka_unit_test(test_store_azure__unreachable),
		cmocka_unit_test(test_store_azure__each_allocation_fails),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	store_test_confs_free();
	return failed;
}
