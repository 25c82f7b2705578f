/* Unit tests for scheduler/auth.c: token creation and every way a bearer token is refused. */
#include "helpers.h"
#include "framework/sbuf.h"
#include "scheduler/auth.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#define SECRET "unit-test-secret"
#define NOW ((time_t)1700000000)

static char *make_token(const char *alg, const char *secret, const char *claims)
{
	jwt_t *jwt = NULL;
	char *tok, *copy;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
	assert_int_equal(jwt_set_alg(jwt, jwt_str_alg(alg), (const unsigned char *)secret, (int)strlen(secret)), 0);
	tok = jwt_encode_str(jwt);
	assert_non_null(tok);
	copy = alts_asprintf("Bearer %s", tok);
	free(tok);
	jwt_free(jwt);
	return copy;
}

static void assert_refused_at(const char *header, const char *alg, time_t now, const char *want)
{
	struct alts_err err = ALTS_ERR_INIT;

	assert_int_equal(auth_verify_header(header, SECRET, alg, now, &err), ALTS_EINVALID);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_null(strstr(err.msg, SECRET));
}

static void assert_refused(const char *header, const char *alg, const char *want)
{
	assert_refused_at(header, alg, NOW, want);
}

static void test_scheduler_auth__create_and_verify_each_alg(void **state)
{
	static const char *algs[] = { "HS256", "HS384", "HS512" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(algs); i++) {
		struct alts_err err = ALTS_ERR_INIT;
		char *tok = NULL, *hdr;

		assert_ok_err(auth_token_create(&tok, SECRET, algs[i], "a@example.com", NULL, 3600, NOW, &err), &err);
		hdr = alts_asprintf("Bearer %s", tok);
		assert_ok_err(auth_verify_header(hdr, SECRET, algs[i], NOW, &err), &err);
		assert_ok_err(auth_verify_header(hdr, SECRET, algs[i], NOW + 3599, &err), &err);
		assert_refused_at(hdr, algs[i], NOW + 3600, "expired");
		alts_free(hdr);
		alts_free(tok);
	}
}

static void test_scheduler_auth__claims_match_generate_jwt_token(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *tok = NULL;
	jwt_t *jwt = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(auth_token_create(&tok, SECRET, "HS256", "user@example.com", NULL, 0, NOW, &err), &err);
	assert_int_equal(jwt_decode(&jwt, tok, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
	assert_string_equal(jwt_get_grant(jwt, "email"), "user@example.com");
	assert_null(jwt_get_grants_json(jwt, "exp"));
	jwt_free(jwt);
	alts_free(tok);
}

static void test_scheduler_auth__create_refuses_bad_alg_and_empty_secret(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *tok = NULL;

	ALTS_UNUSED(state);
	assert_int_equal(auth_token_create(&tok, SECRET, "none", "a", NULL, 0, NOW, &err), ALTS_EINVALID);
	assert_int_equal(auth_token_create(&tok, SECRET, "RS256", "a", NULL, 0, NOW, &err), ALTS_EINVALID);
	assert_int_equal(auth_token_create(&tok, "", "HS256", "a", NULL, 0, NOW, &err), ALTS_EINVALID);
	assert_null(tok);
}

static void test_scheduler_auth__refuses_missing_and_malformed(void **state)
{
	ALTS_UNUSED(state);
	assert_refused(NULL, "HS256", "missing");
	assert_refused("", "HS256", "missing");
	assert_refused("Basic dXNlcjpwYXNz", "HS256", "Bearer");
	assert_refused("Bearer ", "HS256", "empty");
	assert_refused("Bearer abc", "HS256", "malformed");
	assert_refused("Bearer a.b.c", "HS256", "malformed");
	assert_refused("Bearer ....", "HS256", "malformed");
}

/* Shapes that crash libjwt 1.10's base64 decoder never reach it (run under valgrind/ASan). */
static void test_scheduler_auth__refuses_bad_shapes_before_decoding(void **state)
{
	static const char *const bad[] = {
		"Bearer a.b.c", "Bearer abcde.abcde.abcde", "Bearer eyJhbGciOiJIUzI1NiJ9.e.x", "Bearer .eyJh.",
		"Bearer eyJh..", "Bearer eyJh.eyJh.sig.extra", "Bearer eyJh.eyJh", "Bearer eyJh+/.eyJh.", "Bearer e\"J.eyJh.",
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++)
		assert_refused(bad[i], "HS256", "malformed");
}

static void test_scheduler_auth__refuses_alg_none(void **state)
{
	/* {"alg":"none","typ":"JWT"} . {"email":"a@example.com"} . (no signature) */
	static const char none[] = "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20ifQ.";

	ALTS_UNUSED(state);
	assert_refused(none, "HS256", "credentials");
	assert_refused("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20ifQ", "HS256",
		       "credentials");
}

static void test_scheduler_auth__refuses_wrong_alg_and_signature(void **state)
{
	char *h384 = make_token("HS384", SECRET, "{\"email\":\"a@example.com\"}");
	char *other = make_token("HS256", "another-secret", "{\"email\":\"a@example.com\"}");
	char *good = make_token("HS256", SECRET, "{\"email\":\"a@example.com\"}");
	char *tampered = alts_strdup(good);

	ALTS_UNUSED(state);
	assert_refused(h384, "HS256", "algorithm 'HS384' is not 'HS256'");
	assert_refused(other, "HS256", "signature");
	/* Flip one character of the signature. */
	tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
	assert_refused(tampered, "HS256", "signature");
	alts_free(h384);
	alts_free(other);
	alts_free(good);
	alts_free(tampered);
}

static void test_scheduler_auth__time_claims(void **state)
{
	char claims[128];
	char *expired, *future, *ok, *bad_exp, *bad_nbf;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	snprintf(claims, sizeof(claims), "{\"email\":\"a\",\"exp\":%ld}", (long)NOW - 1);
	expired = make_token("HS256", SECRET, claims);
	snprintf(claims, sizeof(claims), "{\"email\":\"a\",\"nbf\":%ld}", (long)NOW + 60);
	future = make_token("HS256", SECRET, claims);
	snprintf(claims, sizeof(claims), "{\"email\":\"a\",\"nbf\":%ld,\"exp\":%ld}", (long)NOW, (long)NOW + 1);
	ok = make_token("HS256", SECRET, claims);
	bad_exp = make_token("HS256", SECRET, "{\"email\":\"a\",\"exp\":\"tomorrow\"}");
	bad_nbf = make_token("HS256", SECRET, "{\"email\":\"a\",\"nbf\":[1]}");
	assert_refused(expired, "HS256", "expired");
	assert_refused(future, "HS256", "not valid yet");
	assert_ok_err(auth_verify_header(ok, SECRET, "HS256", NOW, &err), &err);
	assert_refused(bad_exp, "HS256", "'exp' is not a number");
	assert_refused(bad_nbf, "HS256", "'nbf' is not a number");
	alts_free(expired);
	alts_free(future);
	alts_free(ok);
	alts_free(bad_exp);
	alts_free(bad_nbf);
}

/* base64url without padding of len bytes of in, appended to out. */
static void b64url(struct sbuf *out, const unsigned char *in, size_t len)
{
	unsigned char enc[1024];
	int n;

	assert_true(len <= 700);
	n = EVP_EncodeBlock(enc, in, (int)len);
	for (int i = 0; i < n; i++) {
		if (enc[i] == '=')
			break;
		sbuf_addch(out, enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : (char)enc[i]);
	}
}

/* A "Bearer" header with a token of any header, signed with HMAC-SHA256: what libjwt would not write. */
static char *forge_token(const char *header, const char *claims, const char *secret)
{
	struct sbuf sb = SBUF_INIT;
	unsigned char mac[32];
	unsigned int len = sizeof(mac);
	size_t start;

	sbuf_adds(&sb, "Bearer ");
	start = sb.len;
	b64url(&sb, (const unsigned char *)header, strlen(header));
	sbuf_addch(&sb, '.');
	b64url(&sb, (const unsigned char *)claims, strlen(claims));
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)sb.buf + start,
			     sb.len - start, mac, &len));
	sbuf_addch(&sb, '.');
	b64url(&sb, mac, len);
	return sbuf_detach(&sb, NULL);
}

/* RFC 7515: a "crit" header this verifier does not understand is refused; alg names are case-sensitive. */
static void test_scheduler_auth__refuses_crit_and_alg_case(void **state)
{
	char *plain = forge_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"email\":\"a\"}", SECRET);
	char *crit = forge_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", "{\"email\":\"a\"}", SECRET);
	char *lower = forge_token("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", "{\"email\":\"a\"}", SECRET);
	char *mixed = forge_token("{\"alg\":\"Hs256\"}", "{\"email\":\"a\"}", SECRET);
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(auth_verify_header(plain, SECRET, "HS256", NOW, &err), &err);  /* the forger is right */
	assert_refused(crit, "HS256", "'crit'");
	assert_refused(lower, "HS256", "'hs256' is not 'HS256'");
	assert_refused(mixed, "HS256", "case-sensitive");
	alts_free(plain);
	alts_free(crit);
	alts_free(lower);
	alts_free(mixed);
}

static void test_scheduler_auth__alg_names(void **state)
{
	ALTS_UNUSED(state);
	assert_true(auth_alg_valid("HS256"));
	assert_true(auth_alg_valid("HS512"));
	assert_false(auth_alg_valid("hs256"));
	assert_false(auth_alg_valid("none"));
	assert_false(auth_alg_valid(NULL));
}

/* The cache answers as the decoder would: times checked on each use, other secrets and algorithms miss. */
static void test_scheduler_auth__cache_rechecks_times_and_keys(void **state)
{
	struct auth_cache *cache = auth_cache_new();
	struct alts_err err = ALTS_ERR_INIT;
	char *exp = make_token("HS256", SECRET, "{\"email\":\"a\",\"exp\":1700000100}");
	char *nbf = make_token("HS256", SECRET, "{\"email\":\"a\",\"nbf\":1700000100}");
	char *other = make_token("HS256", "another-secret", "{\"email\":\"a\"}");

	ALTS_UNUSED(state);
	assert_non_null(cache);
	for (int round = 0; round < 2; round++) {  /* the first decodes, the second is remembered */
		assert_ok_err(auth_verify_header_cached(cache, exp, SECRET, "HS256", NOW, NULL, &err), &err);
		assert_int_equal(auth_verify_header_cached(cache, exp, SECRET, "HS256", NOW + 100, NULL, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "token expired"));
		assert_int_equal(auth_verify_header_cached(cache, nbf, SECRET, "HS256", NOW, NULL, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "not valid yet"));
		assert_ok_err(auth_verify_header_cached(cache, nbf, SECRET, "HS256", NOW + 100, NULL, &err), &err);
		/* A remembered token under another configuration is decoded again, and refused. */
		assert_int_equal(auth_verify_header_cached(cache, exp, "another-secret", "HS256", NOW, NULL, &err), ALTS_EINVALID);
		assert_int_equal(auth_verify_header_cached(cache, exp, SECRET, "HS384", NOW, NULL, &err), ALTS_EINVALID);
		assert_int_equal(auth_verify_header_cached(cache, other, SECRET, "HS256", NOW, NULL, &err), ALTS_EINVALID);
		assert_non_null(strstr(err.msg, "bad signature"));
	}
	/* More tokens than slots: every one still verifies. */
	for (int i = 0; i < 600; i++) {
		char claims[64], *tok;

		snprintf(claims, sizeof(claims), "{\"email\":\"u%d\"}", i);
		tok = make_token("HS256", SECRET, claims);
		assert_ok_err(auth_verify_header_cached(cache, tok, SECRET, "HS256", NOW, NULL, &err), &err);
		assert_ok_err(auth_verify_header_cached(cache, tok, SECRET, "HS256", NOW, NULL, &err), &err);
		alts_free(tok);
	}
	alts_free(exp);
	alts_free(nbf);
	alts_free(other);
	auth_cache_free(cache);
}

/* The worker scope: named in `scope` among others, remembered by the cache; a plain token has none. */
static void test_scheduler_auth__worker_scope(void **state)
{
	struct auth_cache *cache = auth_cache_new();
	struct alts_err err = ALTS_ERR_INIT;
	char *tok = NULL, *hdr;
	char *listed = make_token("HS256", SECRET, "{\"email\":\"w\",\"scope\":\"read  worker\"}");
	char *plain = make_token("HS256", SECRET, "{\"email\":\"u\"}");
	char *near = make_token("HS256", SECRET, "{\"email\":\"u\",\"scope\":\"workers worke\"}");
	char *typed = make_token("HS256", SECRET, "{\"email\":\"u\",\"scope\":[\"worker\"]}");
	unsigned scopes;

	ALTS_UNUSED(state);
	assert_ok_err(auth_token_create(&tok, SECRET, "HS256", "w@example.com", "worker", 0, NOW, &err), &err);
	hdr = alts_asprintf("Bearer %s", tok);
	for (int round = 0; round < 2; round++) {  /* decoded, then remembered */
		scopes = 0;
		assert_ok_err(auth_verify_header_cached(cache, hdr, SECRET, "HS256", NOW, &scopes, &err), &err);
		assert_int_equal(scopes, AUTH_SCOPE_WORKER);
		scopes = 0;
		assert_ok_err(auth_verify_header_cached(cache, listed, SECRET, "HS256", NOW, &scopes, &err), &err);
		assert_int_equal(scopes, AUTH_SCOPE_WORKER);
		for (char **t = (char *[]){ plain, near, typed, NULL }; *t; t++) {
			scopes = 99;
			assert_ok_err(auth_verify_header_cached(cache, *t, SECRET, "HS256", NOW, &scopes, &err), &err);
			assert_int_equal(scopes, 0);
		}
	}
	alts_free(hdr);
	alts_free(tok);
	alts_free(listed);
	alts_free(plain);
	alts_free(near);
	alts_free(typed);
	auth_cache_free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_auth__create_and_verify_each_alg),
		cmocka_unit_test(test_scheduler_auth__claims_match_generate_jwt_token),
		cmocka_unit_test(test_scheduler_auth__create_refuses_bad_alg_and_empty_secret),
		cmocka_unit_test(test_scheduler_auth__refuses_missing_and_malformed),
		cmocka_unit_test(test_scheduler_auth__refuses_bad_shapes_before_decoding),
		cmocka_unit_test(test_scheduler_auth__refuses_alg_none),
		cmocka_unit_test(test_scheduler_auth__refuses_wrong_alg_and_signature),
		cmocka_unit_test(test_scheduler_auth__time_claims),
		cmocka_unit_test(test_scheduler_auth__refuses_crit_and_alg_case),
		cmocka_unit_test(test_scheduler_auth__alg_names),
		cmocka_unit_test(test_scheduler_auth__cache_rechecks_times_and_keys),
		cmocka_unit_test(test_scheduler_auth__worker_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
