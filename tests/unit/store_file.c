/* Unit tests for the file artifact store, the spool and the gzip helper (reporters/stores/). */
#include "helpers.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "framework/fs.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/spool.h"
#include "store_helpers.h"

static const char *sandbox;

static struct artifact_store *open_file_store(const char *sub, const char *base)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	char dir[4096];
	struct artifact_store_config cfg = { .backend = "file", .base_path = base, .results_base_path = "results/",
					     .retries = 1 };

	sandbox = test_sandbox_init();
	snprintf(dir, sizeof(dir), "%s/%s", sandbox, sub);
	cfg.confs = STORE_CONFS("file_store_directory", dir);
	assert_ok_err(artifact_store_open(&s, &cfg, &err), &err);
	assert_string_equal(artifact_store_backend(s), "file");
	return s;
}

static void test_store_file__put_get_url(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "base/");
	struct sbuf got = SBUF_INIT;
	char *url = NULL;
	char path[4096];
	char *src;

	ALTS_UNUSED(state);
	assert_ok_err(artifact_store_put_bytes(s, "t1/report.tap", "ok 1\n", 5, NULL, &err), &err);
	assert_ok_err(artifact_store_get(s, "t1/report.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 1\n");
	sbuf_reset(&got);

	src = test_write_file("src.log", "line 1\nline 2\n");
	assert_ok_err(artifact_store_put_file(s, "t1/logs/install.log", src, NULL, &err), &err);
	alts_free(src);
	snprintf(path, sizeof(path), "%s/store/base/t1/logs/install.log", sandbox);
	assert_int_equal(access(path, R_OK), 0);
	assert_ok_err(artifact_store_get(s, "t1/logs/install.log", &got, 6, &err), &err);
	assert_string_equal(got.buf, "line 1");
	assert_true(got.capped);
	sbuf_release(&got);

	/* Overwrite replaces the content. */
	assert_ok_err(artifact_store_put_bytes(s, "t1/report.tap", "ok 2\n", 5, NULL, &err), &err);
	sbuf_init(&got, 0);
	assert_ok_err(artifact_store_get(s, "t1/report.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 2\n");
	sbuf_release(&got);

	assert_ok_err(artifact_store_url(s, "t1/a b.log", &url, &err), &err);
	assert_true(!strncmp(url, "file:///", 8));
	assert_non_null(strstr(url, "/store/base/t1/a%20b.log"));
	alts_free(url);

	assert_ok_err(artifact_store_put_summary(s, "t1", "{}", 2, &err), &err);
	snprintf(path, sizeof(path), "%s/store/results/t1.json", sandbox);
	assert_int_equal(access(path, R_OK), 0);

	sbuf_init(&got, 0);
	assert_int_equal(artifact_store_get(s, "t1/missing.log", &got, 0, &err), ALTS_ENOTFOUND);
	assert_int_equal(artifact_store_get(s, "t1", &got, 0, &err), ALTS_ENOTFOUND);
	sbuf_release(&got);
	assert_int_equal(artifact_store_put_file(s, "t1/x", "/nonexistent/file", NULL, &err), ALTS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/file"));
	artifact_store_free(s);
	test_sandbox_cleanup();
}

static void test_store_file__key_checks(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	static const char *bad[] = { "", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\\b", "a\nb", "a/./b" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		alts_err_clear(&err);
		assert_int_equal(artifact_store_put_bytes(s, bad[i], "x", 1, NULL, &err), ALTS_EINVALID);
		assert_true(err.msg[0] != '\0');
	}
	assert_ok_err(artifact_store_put_bytes(s, "a..b/c.d/.hidden", "x", 1, NULL, &err), &err);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

static void test_store_file__open_errors(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "file" };

	ALTS_UNUSED(state);
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "file_store_directory"));
	cfg.backend = "ftp";
	assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "unknown result backend 'ftp'"));
	assert_null(s);
}

static void test_store_file__content_types(void **state)
{
	ALTS_UNUSED(state);
	assert_string_equal(artifact_content_type("a/report.tap"), "text/plain; charset=utf-8");
	assert_string_equal(artifact_content_type("report.xml"), "application/xml");
	assert_string_equal(artifact_content_type("x/result.json"), "application/json");
	assert_string_equal(artifact_content_type("logs/install.log.gz"), "application/gzip");
	assert_string_equal(artifact_content_type("blob"), "application/octet-stream");
}

static int collect_key(const char *key, void *payload)
{
	sbuf_addf(payload, "%s;", key);
	return 0;
}

static void test_store_file__spool_put_and_flush(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	struct sbuf keys = SBUF_INIT, got = SBUF_INIT;
	char spool[4096], store_dir[4096];
	size_t delivered = 9, remaining = 9;
	bool spooled = true;
	char *src;

	ALTS_UNUSED(state);
	snprintf(spool, sizeof(spool), "%s/spool", sandbox);
	snprintf(store_dir, sizeof(store_dir), "%s/store", sandbox);
	/* A working store: uploaded, nothing spooled. */
	assert_ok_err(artifact_spool_put_bytes(s, spool, "t/a.tap", "ok\n", 3, NULL, &spooled, &err), &err);
	assert_false(spooled);
	assert_ok_err(artifact_spool_flush(s, spool, &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 0);
	assert_int_equal(remaining, 0);

	/* A broken store (its directory is a file now): spooled, the upload error kept in err. */
	src = test_write_file("big.log", "log line\n");
	{
		char cmd[8300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && touch '%s'", store_dir, store_dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_ok_err(artifact_spool_put_file(s, spool, "t/logs/x.log", src, NULL, &spooled, &err), &err);
	assert_true(spooled);
	assert_non_null(strstr(err.msg, "cannot"));
	alts_err_clear(&err);
	assert_ok_err(artifact_spool_put_bytes(s, spool, "t/b.json", "{}", 2, NULL, &spooled, &err), &err);
	assert_true(spooled);
	/* The source may go away: the spool has its own copy. */
	unlink(src);
	alts_free(src);
	assert_ok_err(artifact_spool_list(spool, collect_key, &keys, &err), &err);
	assert_string_equal(keys.buf, "t/logs/x.log;t/b.json;");

	/* Still broken: the flush fails, records the attempt and keeps both. */
	assert_int_not_equal(artifact_spool_flush(s, spool, &delivered, &remaining, &err), 0);
	assert_int_equal(delivered, 0);
	assert_int_equal(remaining, 2);
	{
		struct sbuf meta = SBUF_INIT;
		char cmd[8300];

		snprintf(cmd, sizeof(cmd), "cat '%s'/*.json > '%s/meta.txt'", spool, sandbox);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/meta.txt", sandbox);
		assert_int_equal(sbuf_read_file(&meta, cmd, 0), 0);
		assert_non_null(strstr(meta.buf, "\"attempts\":2"));
		assert_non_null(strstr(meta.buf, "\"key\":\"t/logs/x.log\""));
		sbuf_release(&meta);
	}

	/* Repaired: everything is delivered and the spool is empty. */
	unlink(store_dir);
	assert_int_equal(mkdir(store_dir, 0755), 0);
	assert_ok_err(artifact_spool_flush(s, spool, &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 2);
	assert_int_equal(remaining, 0);
	assert_ok_err(artifact_store_get(s, "t/logs/x.log", &got, 0, &err), &err);
	assert_string_equal(got.buf, "log line\n");
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "t/b.json", &got, 0, &err), &err);
	assert_string_equal(got.buf, "{}");
	sbuf_reset(&keys);
	assert_ok_err(artifact_spool_list(spool, collect_key, &keys, &err), &err);
	assert_string_equal(keys.buf, "");

	/* No store at all (it could not be opened): straight to the spool, then delivered. */
	assert_ok_err(artifact_spool_put_bytes(NULL, spool, "t/c.tap", "ok 1\n", 5, NULL, &spooled, &err), &err);
	assert_true(spooled);
	assert_non_null(strstr(err.msg, "not available"));
	alts_err_clear(&err);
	assert_ok_err(artifact_spool_flush(s, spool, &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 1);
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "t/c.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 1\n");

	/* A summary without a store: spooled, then delivered under results_base_path. */
	assert_ok_err(artifact_spool_put_summary(NULL, spool, "tid", "{\"state\":\"finished\"}", 20, &spooled, &err),
		      &err);
	assert_true(spooled);
	alts_err_clear(&err);
	assert_ok_err(artifact_spool_flush(s, spool, &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 1);
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "results/tid.json", &got, 0, &err), &err);
	assert_string_equal(got.buf, "{\"state\":\"finished\"}");

	/* Invalid keys are refused, not spooled, with or without a store. */
	assert_int_equal(artifact_spool_put_bytes(s, spool, "../x", "x", 1, NULL, &spooled, &err), ALTS_EINVALID);
	assert_int_equal(artifact_spool_put_bytes(NULL, spool, "../x", "x", 1, NULL, &spooled, &err), ALTS_EINVALID);
	sbuf_release(&keys);
	sbuf_release(&got);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

static void test_store_file__spool_missing_dir(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	size_t delivered = 9, remaining = 9;

	ALTS_UNUSED(state);
	assert_ok_err(artifact_spool_flush(s, "/nonexistent/spool", &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 0);
	assert_int_equal(remaining, 0);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

static void test_store_file__gzip(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *src = NULL, dst[4096];
	char buf[256];
	gzFile gz;
	int n;

	ALTS_UNUSED(state);
	sandbox = test_sandbox_init();
	src = test_write_file("check.log", "hello gzip\nsecond line\n");
	snprintf(dst, sizeof(dst), "%s/check.log.gz", sandbox);
	assert_ok_err(artifact_gzip_file(src, dst, &err), &err);
	alts_free(src);
	gz = gzopen(dst, "rb");
	assert_non_null(gz);
	n = gzread(gz, buf, sizeof(buf) - 1);
	gzclose(gz);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "hello gzip\nsecond line\n");
	assert_int_equal(artifact_gzip_file("/nonexistent", dst, &err), ALTS_ENOTFOUND);
	test_sandbox_cleanup();
}

/* One pass over every operation; 0 or the first failure. */
static int oom_scenario(const char *dir, const char *src, const struct artifact_store_confs *confs)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct sbuf got = SBUF_INIT;
	struct artifact_store_config cfg = { .backend = "file", .base_path = "b/", .results_base_path = "r/",
					     .retries = 1, .confs = confs };
	char spool[4200], *url = NULL;
	size_t delivered, remaining;
	bool spooled;
	int rc;

	snprintf(spool, sizeof(spool), "%s/spool", dir);
	rc = artifact_store_open(&s, &cfg, &err);
	if (!rc)
		rc = artifact_store_put_bytes(s, "t/a.tap", "ok\n", 3, NULL, &err);
	if (!rc)
		rc = artifact_store_put_file(s, "t/logs/x.log", src, NULL, &err);
	if (!rc)
		rc = artifact_store_put_summary(s, "t", "{}", 2, &err);
	if (!rc)
		rc = artifact_store_get(s, "t/a.tap", &got, 0, &err);
	if (!rc)
		rc = artifact_store_url(s, "t/a.tap", &url, &err);
	if (!rc)
		rc = artifact_spool_put_bytes(s, spool, "t/b.tap", "x", 1, NULL, &spooled, &err);
	if (!rc)
		rc = artifact_spool_flush(s, spool, &delivered, &remaining, &err);
	alts_free(url);
	sbuf_release(&got);
	artifact_store_free(s);
	return rc;
}

/* Every allocation in turn fails: the result is ALTS_ENOMEM or success, never a crash or leak. */
static void test_store_file__each_allocation_fails(void **state)
{
	const struct artifact_store_confs *confs;
	char dir[4200];
	char *src;
	unsigned long n;

	ALTS_UNUSED(state);
	sandbox = test_sandbox_init();
	snprintf(dir, sizeof(dir), "%s/store", sandbox);
	src = test_write_file("src.log", "log\n");
	confs = STORE_CONFS("file_store_directory", dir);
	alts_alloc_fail_at(0);
	assert_int_equal(oom_scenario(dir, src, confs), 0);
	n = alts_alloc_fail_at(0);
	assert_true(n > 10);
	for (unsigned long i = 1; i <= n; i++) {
		int rc;

		alts_alloc_fail_at(i);
		rc = oom_scenario(dir, src, confs);
		alts_alloc_fail_at(0);
		if (rc && rc != ALTS_ENOMEM)
			fail_msg("allocation %lu failing gave %d, not ALTS_ENOMEM", i, rc);
	}
	alts_free(src);
	test_sandbox_cleanup();
}

/* Whether sandbox/rel exists (not following a final symbolic link). */
static bool sandbox_has(const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", sandbox, rel);
	return lstat(path, &st) == 0;
}

/* The number of temporary files ("*.tmp.*") under the sandbox. */
static int sandbox_tmp_files(void)
{
	char cmd[4200];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '*.tmp.*' | wc -l", sandbox);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* Nothing of a batch is visible before its commit; all of it after; a dropped batch leaves nothing. */
static void test_store_file__batch_whole_or_absent(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	struct artifact_batch *b = NULL;
	struct sbuf got = SBUF_INIT;
	char *src;

	ALTS_UNUSED(state);
	src = test_write_file("check.log", "$ true\n");
	assert_ok_err(artifact_batch_begin(&b, s, &err), &err);
	assert_ok_err(artifact_batch_put_bytes(b, "t1/report.tap", "ok 1\n", 5, NULL, &err), &err);
	assert_ok_err(artifact_batch_put_file(b, "t1/logs/01-true.log", src, NULL, &err), &err);
	assert_ok_err(artifact_batch_put_summary(b, "t1", "{}", 2, &err), &err);
	assert_int_equal(artifact_batch_put_file(b, "t1/logs/gone.log", "/nonexistent/x", NULL, &err), ALTS_ENOTFOUND);
	/* Written, not visible: no object under its key yet. */
	assert_int_equal(artifact_store_get(s, "t1/report.tap", &got, 0, &err), ALTS_ENOTFOUND);
	assert_false(sandbox_has("store/t1/logs/01-true.log"));
	assert_false(sandbox_has("store/results/t1.json"));
	assert_int_equal(sandbox_tmp_files(), 3);
	assert_ok_err(artifact_batch_commit(b, &err), &err);
	assert_ok_err(artifact_store_get(s, "t1/report.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 1\n");
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "t1/logs/01-true.log", &got, 0, &err), &err);
	assert_string_equal(got.buf, "$ true\n");
	assert_true(sandbox_has("store/results/t1.json"));
	assert_int_equal(sandbox_tmp_files(), 0);

	/* Dropped before its commit: nothing stored, nothing left over. */
	assert_ok_err(artifact_batch_begin(&b, s, &err), &err);
	assert_ok_err(artifact_batch_put_bytes(b, "t2/report.tap", "ok\n", 3, NULL, &err), &err);
	assert_ok_err(artifact_batch_put_bytes(b, "t1/report.tap", "not ok\n", 7, NULL, &err), &err);
	artifact_batch_free(b);
	assert_false(sandbox_has("store/t2/report.tap"));
	assert_int_equal(sandbox_tmp_files(), 0);
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "t1/report.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 1\n");
	artifact_batch_free(NULL);
	sbuf_release(&got);
	alts_free(src);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

/* A key never leaves the store: no "..", and a symbolic link inside the store is not followed. */
static void test_store_file__symlinked_directory_is_refused(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	struct artifact_batch *b = NULL;
	struct artifact_spool_batch *sb = NULL;
	struct sbuf got = SBUF_INIT;
	char outside[4096], link[4096], spool[4096];
	bool spooled = true;

	ALTS_UNUSED(state);
	snprintf(outside, sizeof(outside), "%s/outside", sandbox);
	snprintf(link, sizeof(link), "%s/store/t9", sandbox);
	snprintf(spool, sizeof(spool), "%s/spool", sandbox);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(symlink(outside, link), 0);
	assert_ok_err(artifact_batch_begin(&b, s, &err), &err);
	assert_int_equal(artifact_batch_put_bytes(b, "../x", "x", 1, NULL, &err), ALTS_EINVALID);
	assert_int_equal(artifact_batch_put_bytes(b, "t9/report.tap", "x", 1, NULL, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(artifact_batch_put_bytes(b, "t9/logs/a.log", "x", 1, NULL, &err), ALTS_EINVALID);
	assert_ok_err(artifact_batch_commit(b, &err), &err);
	assert_int_equal(artifact_store_put_bytes(s, "t9/report.tap", "x", 1, NULL, &err), ALTS_EINVALID);
	/* Refused for good: not spooled either. */
	assert_ok_err(artifact_spool_batch_begin(&sb, s, spool, &err), &err);
	assert_int_equal(artifact_spool_batch_put_bytes(sb, "t9/report.tap", "x", 1, NULL, &spooled, &err),
			 ALTS_EINVALID);
	assert_ok_err(artifact_spool_batch_commit(sb, &spooled, &err), &err);
	assert_false(spooled);
	assert_false(sandbox_has("outside/report.tap"));
	assert_false(sandbox_has("outside/logs"));
	assert_false(sandbox_has("spool"));
	/* Nor read through. */
	alts_free(test_write_file("outside/secret", "secret\n"));
	snprintf(link, sizeof(link), "%s/outside/secret", sandbox);
	assert_int_equal(artifact_store_get(s, "t9/secret", &got, 0, &err), ALTS_ENOTFOUND);
	snprintf(outside, sizeof(outside), "%s/store/secret", sandbox);
	assert_int_equal(symlink(link, outside), 0);
	assert_int_equal(artifact_store_get(s, "secret", &got, 0, &err), ALTS_ENOTFOUND);
	assert_int_equal(got.len, 0);
	sbuf_release(&got);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

/* A commit that fails loses nothing: the batch goes to the spool, and a flush delivers it. */
static void test_store_file__failed_commit_spools_the_batch(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_file_store("store", "");
	struct artifact_spool_batch *b = NULL;
	struct sbuf keys = SBUF_INIT, got = SBUF_INIT;
	char spool[4096], blocker[4096];
	size_t delivered = 0, remaining = 9;
	bool spooled = true;
	char *src;

	ALTS_UNUSED(state);
	snprintf(spool, sizeof(spool), "%s/spool", sandbox);
	src = test_write_file("check.log", "$ true\n");
	assert_ok_err(artifact_spool_batch_begin(&b, s, spool, &err), &err);
	assert_ok_err(artifact_spool_batch_put_bytes(b, "t3/report.tap", "ok 1\n", 5, NULL, &spooled, &err), &err);
	assert_false(spooled);
	assert_ok_err(artifact_spool_batch_put_file(b, "t3/logs/01.log", src, NULL, &spooled, &err), &err);
	assert_ok_err(artifact_spool_batch_put_summary(b, "t3", "{\"s\":1}", 7, &spooled, &err), &err);
	assert_false(spooled);
	/* Something takes report.tap's place before the commit: its rename fails. */
	snprintf(blocker, sizeof(blocker), "%s/store/t3/report.tap/x", sandbox);
	assert_ok_err(fs_mkdir_p(blocker, 0755, &err), &err);
	assert_ok_err(artifact_spool_batch_commit(b, &spooled, &err), &err);
	assert_true(spooled);
	assert_non_null(strstr(err.msg, "report.tap"));
	assert_ok_err(artifact_spool_list(spool, collect_key, &keys, &err), &err);
	assert_string_equal(keys.buf, "t3/report.tap;t3/logs/01.log;t3;");
	assert_int_equal(sandbox_tmp_files(), 0);
	/* The source may go away: the spool has its own copy. */
	unlink(src);
	/* Fixed: the next flush delivers all three. */
	snprintf(blocker, sizeof(blocker), "rm -r '%s/store/t3/report.tap'", sandbox);
	assert_int_equal(system(blocker), 0);
	assert_ok_err(artifact_spool_flush(s, spool, &delivered, &remaining, &err), &err);
	assert_int_equal(delivered, 3);
	assert_int_equal(remaining, 0);
	assert_ok_err(artifact_store_get(s, "t3/report.tap", &got, 0, &err), &err);
	assert_string_equal(got.buf, "ok 1\n");
	sbuf_reset(&got);
	assert_ok_err(artifact_store_get(s, "t3/logs/01.log", &got, 0, &err), &err);
	assert_string_equal(got.buf, "$ true\n");
	assert_true(sandbox_has("store/results/t3.json"));

	/* Without a store, a batch goes straight to the spool. */
	assert_ok_err(artifact_spool_batch_begin(&b, NULL, spool, &err), &err);
	assert_ok_err(artifact_spool_batch_put_bytes(b, "t4/report.tap", "ok\n", 3, NULL, &spooled, &err), &err);
	assert_true(spooled);
	assert_ok_err(artifact_spool_batch_commit(b, &spooled, &err), &err);
	assert_false(spooled);
	sbuf_reset(&keys);
	assert_ok_err(artifact_spool_list(spool, collect_key, &keys, &err), &err);
	assert_string_equal(keys.buf, "t4/report.tap;");
	sbuf_release(&keys);
	sbuf_release(&got);
	alts_free(src);
	artifact_store_free(s);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_file__put_get_url),
		cmocka_unit_test(test_store_file__key_checks),
		cmocka_unit_test(test_store_file__open_errors),
		cmocka_unit_test(test_store_file__content_types),
		cmocka_unit_test(test_store_file__spool_put_and_flush),
		cmocka_unit_test(test_store_file__spool_missing_dir),
		cmocka_unit_test(test_store_file__gzip),
		cmocka_unit_test(test_store_file__batch_whole_or_absent),
		cmocka_unit_test(test_store_file__symlinked_directory_is_refused),
		cmocka_unit_test(test_store_file__failed_commit_spools_the_batch),
		cmocka_unit_test(test_store_file__each_allocation_fails),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	store_test_confs_free();
	return failed;
}
