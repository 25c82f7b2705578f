/*
 * Unit tests for the s3 store: the Signature V4 signer against the worked
 * examples in AWS's documentation ("Examples: Signature calculations",
 * sig-v4-header-based-auth), URL building for path and virtual-host
 * style, and config errors. Uploads to a real S3 service (s3rver) are in
 * tests/integration/t_artifact_stores.sh.
 */
#include "helpers.h"

#include "framework/sbuf.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/s3.h"
#include "store_helpers.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AWS_AKID "AKIAIOSFODNN7EXAMPLE"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_CRED "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "

static char *sign(const char *method, const char *uri, const char *query, const struct store_header *h, size_t n,
		  const char *payload_hash, struct sbuf *creq, struct sbuf *sts)
{
	struct sbuf auth = SBUF_INIT;
	struct s3_sign_input in = { .method = method, .canonical_uri = uri, .canonical_query = query,
				    .headers = h, .nheaders = n, .payload_hash = payload_hash,
				    .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
				    .access_key_id = AWS_AKID, .secret = AWS_SECRET };

	assert_int_equal(s3__sigv4_authorization(&auth, &in, creq, sts), 0);
	return sbuf_detach(&auth, NULL);
}

static void test_store_s3__sigv4_get_object(void **state)
{
	/* Headers in a different order than the canonical one, with padding: both are normalised. */
	const struct store_header h[] = {
		{ "x-amz-date", "20130524T000000Z" },
		{ "range", "bytes=0-9 " },
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
	};
	struct sbuf creq = SBUF_INIT, sts = SBUF_INIT;
	char *auth;

	ALTS_UNUSED(state);
	auth = sign("GET", "/test.txt", NULL, h, ALTS_ARRAY_SIZE(h), EMPTY_SHA256, &creq, &sts);
	assert_string_equal(creq.buf, "GET\n/test.txt\n\n"
				      "host:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
				      "x-amz-content-sha256:" EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
				      "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
	assert_string_equal(sts.buf, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
				     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	assert_string_equal(auth, AWS_CRED "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
					   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	alts_free(auth);
	sbuf_release(&creq);
	sbuf_release(&sts);
}

static void test_store_s3__sigv4_put_object(void **state)
{
	const struct store_header h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072" },
	};
	char hash[65];
	struct sbuf path = SBUF_INIT;
	char *auth;

	ALTS_UNUSED(state);
	/* The body is "Welcome to Amazon S3."; the key "test$file.text" is encoded by our escaper. */
	store_sha256_hex(hash, "Welcome to Amazon S3.", 21);
	assert_string_equal(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	sbuf_addch(&path, '/');
	store_url_escape(&path, "test$file.text", true);
	assert_string_equal(path.buf, "/test%24file.text");
	auth = sign("PUT", path.buf, NULL, h, ALTS_ARRAY_SIZE(h), hash, NULL, NULL);
	assert_string_equal(auth, AWS_CRED "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
					   "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	alts_free(auth);
	sbuf_release(&path);
}

static void test_store_s3__sigv4_queries(void **state)
{
	const struct store_header h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
	};
	char *auth;

	ALTS_UNUSED(state);
	/* GET Bucket Lifecycle: a query name without value signs as "lifecycle=". */
	auth = sign("GET", "/", "lifecycle=", h, ALTS_ARRAY_SIZE(h), EMPTY_SHA256, NULL, NULL);
	assert_string_equal(auth, AWS_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
					   "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	alts_free(auth);
	/* List Objects. */
	auth = sign("GET", "/", "max-keys=2&prefix=J", h, ALTS_ARRAY_SIZE(h), EMPTY_SHA256, NULL, NULL);
	assert_string_equal(auth, AWS_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
					   "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	alts_free(auth);
}

static struct artifact_store *open_s3(const char *endpoint, const char *style, const char *region)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "s3", .base_path = "base/", .retries = 1 };

	cfg.confs = STORE_CONFS("s3_bucket", "alts", "s3_access_key_id", "AK", "s3_secret_access_key", "SK",
				"s3_endpoint_url", endpoint, "s3_addressing_style", style, "s3_region", region);

	assert_ok_err(artifact_store_open(&s, &cfg, &err), &err);
	assert_string_equal(artifact_store_backend(s), "s3");
	return s;
}

static void check_url(struct artifact_store *s, const char *key, const char *want)
{
	char *url = s3__http_url(s, key);

	assert_non_null(url);
	assert_string_equal(url, want);
	alts_free(url);
}

static void test_store_s3__urls(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s;
	char *url = NULL;

	ALTS_UNUSED(state);
	/* AWS defaults: virtual-host style on the regional endpoint. */
	s = open_s3(NULL, NULL, NULL);
	check_url(s, "t/report.tap", "https://alts.s3.us-east-1.amazonaws.com/t/report.tap");
	assert_ok_err(artifact_store_url(s, "t/logs/a b.log", &url, &err), &err);
	assert_string_equal(url, "s3://alts/base/t/logs/a b.log");
	alts_free(url);
	artifact_store_free(s);

	s = open_s3(NULL, "path", "eu-west-1");
	check_url(s, "t/a b+c.log", "https://s3.eu-west-1.amazonaws.com/alts/t/a%20b%2Bc.log");
	artifact_store_free(s);

	/* A custom endpoint: auto means path style; virtual puts the bucket before the host (and port). */
	s = open_s3("http://127.0.0.1:4569/", "auto", NULL);
	check_url(s, "k", "http://127.0.0.1:4569/alts/k");
	artifact_store_free(s);
	s = open_s3("http://localhost:4569", "virtual", NULL);
	check_url(s, "dir/k.json", "http://alts.localhost:4569/dir/k.json");
	artifact_store_free(s);
}

static void test_store_s3__config_errors(void **state)
{
	static const struct {
		const char *kv[10];  /* key, value ..., NULL */
		const char *want;
	} cases[] = {
		{ { "s3_access_key_id", "a", "s3_secret_access_key", "b" }, "needs s3_bucket" },
		{ { "s3_bucket", "b", "s3_secret_access_key", "b" }, "needs s3_access_key_id" },
		{ { "s3_bucket", "b", "s3_access_key_id", "a" }, "needs s3_secret_access_key" },
		{ { "s3_bucket", "b", "s3_access_key_id", "a", "s3_secret_access_key", "s", "s3_endpoint_url", "ftp://x" },
		  "must start with http:// or https://" },
		{ { "s3_bucket", "b", "s3_access_key_id", "a", "s3_secret_access_key", "s", "s3_endpoint_url",
		    "http://x/path" },
		  "must not have a path" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		struct artifact_store *s = NULL;
		struct artifact_store_config cfg = { .backend = "s3", .confs = store_test_confs(cases[i].kv) };

		assert_int_equal(artifact_store_open(&s, &cfg, &err), ALTS_EINVALID);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, cases[i].want);
		assert_null(strstr(err.msg, "\"s\""));
	}
}

/* s3's key table refuses a bad addressing style as the config is read, with the key's path. */
static void test_store_s3__addressing_style_checked(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	struct artifact_store_confs *confs = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(artifact_store_confs_new(&confs, a, &err), &err);
	assert_int_equal(artifact_store_confs_set(confs, "s3_addressing_style", "dns", &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "s3_addressing_style: unknown addressing style 'dns' (allowed: path, virtual, auto)"));
	arena_free(a);
}

static void test_store_s3__unreachable_fails_fast_with_cause(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = open_s3("http://127.0.0.1:1", "path", NULL);

	ALTS_UNUSED(state);
	setenv("ALTS_STORE_BACKOFF_MS", "1", 1);
	assert_int_equal(artifact_store_put_bytes(s, "t/x.log", "x", 1, NULL, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "s3 PUT 'base/t/x.log' in bucket 'alts' failed"));
	assert_null(strstr(err.msg, "SK"));
	artifact_store_free(s);
}

static const struct artifact_store_confs *oom_confs;

static int s3_oom_scenario(void)
{
	const struct store_header h[] = { { "host", "h" }, { "x-amz-date", "20130524T000000Z" } };
	struct s3_sign_input in = { .method = "GET", .canonical_uri = "/", .headers = h, .nheaders = 2,
				    .payload_hash = EMPTY_SHA256, .amz_date = "20130524T000000Z", .region = "r",
				    .service = "s3", .access_key_id = "a", .secret = "s" };
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store *s = NULL;
	struct artifact_store_config cfg = { .backend = "s3", .confs = oom_confs };
	struct sbuf auth = SBUF_INIT, creq = SBUF_INIT;
	char *url = NULL, *http = NULL;
	int rc = artifact_store_open(&s, &cfg, &err);

	if (!rc)
		rc = artifact_store_url(s, "t/x.log", &url, &err);
	if (!rc && !(http = s3__http_url(s, "t/x.log")))
		rc = ALTS_ENOMEM;
	if (!rc)
		rc = s3__sigv4_authorization(&auth, &in, &creq, NULL);
	if (!rc && (!sbuf_ok(&auth) || !sbuf_ok(&creq)))
		rc = ALTS_ENOMEM;
	alts_free(url);
	alts_free(http);
	sbuf_release(&auth);
	sbuf_release(&creq);
	artifact_store_free(s);
	return rc;
}

static void test_store_s3__each_allocation_fails(void **state)
{
	unsigned long n;

	ALTS_UNUSED(state);
	oom_confs = STORE_CONFS("s3_bucket", "b", "s3_access_key_id", "a", "s3_secret_access_key", "s",
				"s3_addressing_style", "virtual");
	alts_alloc_fail_at(0);
	assert_int_equal(s3_oom_scenario(), 0);
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		int rc;

		alts_alloc_fail_at(i);
		rc = s3_oom_scenario();
		alts_alloc_fail_at(0);
		if (rc && rc != ALTS_ENOMEM)
			fail_msg("allocation %lu failing gave %d", i, rc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_s3__sigv4_get_object),
		cmocka_unit_test(test_store_s3__sigv4_put_object),
		cmocka_unit_test(test_store_s3__sigv4_queries),
		cmocka_unit_test(test_store_s3__urls),
		cmocka_unit_test(test_store_s3__config_errors),
		cmocka_unit_test(test_store_s3__addressing_style_checked),
		cmocka_unit_test(test_store_s3__unreachable_fails_fast_with_cause),
		cmocka_unit_test(test_store_s3__each_allocation_fails),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	store_test_confs_free();
	return failed;
}
