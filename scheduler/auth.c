#include "framework/common.h"
#include "scheduler/auth.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>

/* Longest Authorization header looked at; longer ones are refused unparsed. */
#define AUTH_MAX_TOKEN 8192
#define AUTH_CACHE_SLOTS 256

/*
 * Tokens verified before, by a keyed digest of (algorithm, token): a
 * client sends the same token with every request, and decoding it again
 * (base64, two JSON documents, the HMAC) was a tenth of the scheduler's
 * CPU per request. The time claims are checked again on every use; the
 * key covers the secret and the algorithm, so a new configuration misses.
 * Digests are compared in constant time.
 */
struct auth_cache_slot {
	unsigned char key[32];
	bool used;
	bool has_exp, has_nbf;
	double exp, nbf;
	unsigned scopes;
};

struct auth_cache {
	pthread_mutex_t lock;
	struct auth_cache_slot slot[AUTH_CACHE_SLOTS];
};

static const char *const auth_algs[] = { "HS256", "HS384", "HS512" };

int auth_alg_valid(const char *name)
{
	for (size_t i = 0; name && i < ALTS_ARRAY_SIZE(auth_algs); i++) {
		if (!strcmp(name, auth_algs[i]))
			return 1;
	}
	return 0;
}

int auth_token_create(char **out, const char *secret, const char *alg, const char *email, const char *scope,
		      long expires_in, time_t now, struct alts_err *err)
{
	jwt_t *jwt = NULL;
	char *token = NULL;
	int rc = 0;

	if (!auth_alg_valid(alg))
		return alts_err_set(err, ALTS_EINVALID, "unsupported algorithm '%s' (allowed: HS256, HS384, HS512)",
				    alg ? alg : "");
	if (!secret || !*secret)
		return alts_err_set(err, ALTS_EINVALID, "the JWT secret is empty");
	if (jwt_new(&jwt) || jwt_add_grant(jwt, "email", email) || (scope && jwt_add_grant(jwt, "scope", scope)) ||
	    (expires_in > 0 && jwt_add_grant_int(jwt, "exp", (long)now + expires_in)) ||
	    jwt_set_alg(jwt, jwt_str_alg(alg), (const unsigned char *)secret, (int)strlen(secret))) {
		rc = alts_err_set(err, ALTS_ERROR, "cannot build the token");
		goto out;
	}
	token = jwt_encode_str(jwt);
	if (!token) {
		rc = alts_err_set(err, ALTS_ENOMEM, "cannot encode the token");
		goto out;
	}
	*out = alts_strdup(token);
	free(token);
	if (!*out)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	jwt_free(jwt);
	return rc;
}

/*
 * True when token is three base64url segments (header and payload not
 * empty) of lengths base64 can have. libjwt 1.10's decoder writes past
 * its buffer on some malformed input, so nothing else reaches it.
 */
static bool token_shape_ok(const char *token)
{
	size_t seg = 0, len = 0;

	for (const char *p = token;; p++) {
		if (*p == '.' || !*p) {
			if (len % 4 == 1 || (seg < 2 && !len))
				return false;
			if (!*p)
				break;
			if (++seg > 2)
				return false;
			len = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
			len++;
		} else {
			return false;
		}
	}
	return seg == 2;
}

/* Reads a NumericDate claim: 1 present and numeric, 0 absent, -1 of a wrong type. */
static int claim_time(json_t *claims, const char *name, double *out)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 1;
}

/* The enum auth_scope_flags named in the `scope` claim (space-separated); 0 when absent or not a string. */
static unsigned claim_scopes(json_t *claims)
{
	json_t *v = json_object_get(claims, "scope");
	const char *p = json_is_string(v) ? json_string_value(v) : "";
	unsigned scopes = 0;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n == 6 && !strncmp(p, "worker", 6))
			scopes |= AUTH_SCOPE_WORKER;
		p += n;
		p += strspn(p, " ");
	}
	return scopes;
}

/* Checks exp/nbf (has_*: present) against now. */
static int check_times(bool has_exp, double exp, bool has_nbf, double nbf, time_t now, struct alts_err *err)
{
	if (has_exp && exp <= (double)now)
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: token expired");
	if (has_nbf && nbf > (double)now)
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: token not valid yet ('nbf')");
	return 0;
}

/* The token of a "Bearer <token>" header, or NULL with err set. */
static const char *bearer_token(const char *header, struct alts_err *err)
{
	const char *token;

	if (!header || !*header)
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: missing Authorization header"), NULL;
	if (strncasecmp(header, "Bearer ", 7))
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: expected 'Authorization: Bearer <token>'"),
		       NULL;
	token = header + 7;
	while (*token == ' ')
		token++;
	if (!*token)
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: empty bearer token"), NULL;
	if (strlen(token) > AUTH_MAX_TOKEN)
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: token too long"), NULL;
	if (!token_shape_ok(token))
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: malformed token"), NULL;
	return token;
}

/*
 * What libjwt 1.10 lets through in the protected header: it compares alg
 * names ignoring case ("hs256" decodes as HS256) and ignores "crit". Alg
 * names are case-sensitive (RFC 7515 4.1.1), and a token whose "crit"
 * lists extensions must be refused by a recipient that knows none of them
 * (4.1.11): this one knows none.
 */
static int check_header(jwt_t *jwt, const char *alg, struct alts_err *err)
{
	char *text = jwt_get_headers_json(jwt, NULL);
	json_t *head = text ? json_loads(text, 0, NULL) : NULL;
	json_t *a = json_object_get(head, "alg");
	int rc = 0;

	if (!json_is_object(head))
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: header is not an object");
	else if (json_object_get(head, "crit"))
		rc = alts_err_set(err, ALTS_EINVALID,
				  "could not validate credentials: token has a 'crit' header (no extension is supported)");
	else if (!json_is_string(a) || strcmp(json_string_value(a), alg))
		rc = alts_err_set(err, ALTS_EINVALID,
				  "could not validate credentials: token algorithm '%s' is not '%s' (names are case-sensitive)",
				  json_is_string(a) ? json_string_value(a) : "", alg);
	json_decref(head);
	free(text);
	return rc;
}

/* Verifies token with libjwt; the time claims and the scopes go to the out parameters. */
static int verify_token(const char *token, const char *secret, const char *alg, bool *has_exp, double *exp,
			bool *has_nbf, double *nbf, unsigned *scopes, struct alts_err *err)
{
	jwt_t *jwt = NULL;
	char *claims_text = NULL;
	json_t *claims = NULL;
	int k, rc = 0;

	/* libjwt refuses alg "none" when a key is given; the algorithm is compared below too. */
	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret))) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: malformed token or bad signature");
		goto out;
	}
	if (jwt_get_alg(jwt) != jwt_str_alg(alg)) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: token algorithm '%s' is not '%s'",
				  jwt_alg_str(jwt_get_alg(jwt)), alg);
		goto out;
	}
	rc = check_header(jwt, alg, err);
	if (rc)
		goto out;
	claims_text = jwt_get_grants_json(jwt, NULL);
	claims = claims_text ? json_loads(claims_text, 0, NULL) : NULL;
	if (!json_is_object(claims)) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: claims are not an object");
		goto out;
	}
	k = claim_time(claims, "exp", exp);
	if (k < 0) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: 'exp' is not a number");
		goto out;
	}
	*has_exp = k > 0;
	k = claim_time(claims, "nbf", nbf);
	if (k < 0) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: 'nbf' is not a number");
		goto out;
	}
	*has_nbf = k > 0;
	*scopes = claim_scopes(claims);
out:
	json_decref(claims);
	free(claims_text);
	jwt_free(jwt);
	return rc;
}

int auth_verify_header(const char *header, const char *secret, const char *alg, time_t now,
		       struct alts_err *err)
{
	return auth_verify_header_cached(NULL, header, secret, alg, now, NULL, err);
}

struct auth_cache *auth_cache_new(void)
{
	struct auth_cache *c = alts_calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void auth_cache_free(struct auth_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	OPENSSL_cleanse(c, sizeof(*c));
	alts_free(c);
}

/* HMAC-SHA256 under the secret of "<alg>.<token>"; false when it cannot be computed. */
static bool cache_key(unsigned char key[32], const char *secret, const char *alg, const char *token)
{
	char buf[16 + AUTH_MAX_TOKEN];
	unsigned int len = 32;
	int n = snprintf(buf, sizeof(buf), "%s.%s", alg, token);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return false;
	return HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)buf, (size_t)n, key, &len) &&
	       len == 32;
}

int auth_verify_header_cached(struct auth_cache *cache, const char *header, const char *secret, const char *alg,
			      time_t now, unsigned *scopes, struct alts_err *err)
{
	const char *token = bearer_token(header, err);
	struct auth_cache_slot *slot = NULL;
	unsigned char key[32];
	bool has_exp = false, has_nbf = false;
	double exp = 0, nbf = 0;
	unsigned got_scopes = 0;
	int rc;

	if (!token)
		return err ? err->code : ALTS_EINVALID;
	if (cache && cache_key(key, secret, alg, token)) {
		slot = &cache->slot[key[0] % AUTH_CACHE_SLOTS];
		pthread_mutex_lock(&cache->lock);
		if (slot->used && !CRYPTO_memcmp(slot->key, key, sizeof(key))) {
			has_exp = slot->has_exp, exp = slot->exp, has_nbf = slot->has_nbf, nbf = slot->nbf;
			got_scopes = slot->scopes;
			pthread_mutex_unlock(&cache->lock);
			goto times;
		}
		pthread_mutex_unlock(&cache->lock);
	}
	rc = verify_token(token, secret, alg, &has_exp, &exp, &has_nbf, &nbf, &got_scopes, err);
	if (rc)
		return rc;  /* only a genuine token is remembered */
	if (slot) {
		pthread_mutex_lock(&cache->lock);
		memcpy(slot->key, key, sizeof(key));
		slot->used = true;
		slot->has_exp = has_exp, slot->exp = exp, slot->has_nbf = has_nbf, slot->nbf = nbf;
		slot->scopes = got_scopes;
		pthread_mutex_unlock(&cache->lock);
	}
times:
	rc = check_times(has_exp, exp, has_nbf, nbf, now, err);
	if (!rc && scopes)
		*scopes = got_scopes;
	return rc;
}
