#include "framework/common.h"
#include "scheduler/auth.h"

#include <jansson.h>
#include <jwt.h>

/* Longest Authorization header looked at; longer ones are refused unparsed. */
#define AUTH_MAX_TOKEN 8192

static const char *const auth_algs[] = { "HS256", "HS384", "HS512" };

int auth_alg_valid(const char *name)
{
	for (size_t i = 0; name && i < ALTS_ARRAY_SIZE(auth_algs); i++) {
		if (!strcmp(name, auth_algs[i]))
			return 1;
	}
	return 0;
}

int auth_token_create(char **out, const char *secret, const char *alg, const char *email, long expires_in,
		      time_t now, struct alts_err *err)
{
	jwt_t *jwt = NULL;
	char *token = NULL;
	int rc = 0;

	if (!auth_alg_valid(alg))
		return alts_err_set(err, ALTS_EINVALID, "unsupported algorithm '%s' (allowed: HS256, HS384, HS512)",
				    alg ? alg : "");
	if (!secret || !*secret)
		return alts_err_set(err, ALTS_EINVALID, "the JWT secret is empty");
	if (jwt_new(&jwt) || jwt_add_grant(jwt, "email", email) ||
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

int auth_verify_header(const char *header, const char *secret, const char *alg, time_t now,
		       struct alts_err *err)
{
	const char *token;
	jwt_t *jwt = NULL;
	char *claims_text = NULL;
	json_t *claims = NULL;
	double t;
	int k, rc = 0;

	if (!header || !*header)
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: missing Authorization header");
	if (strncasecmp(header, "Bearer ", 7))
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: expected 'Authorization: Bearer <token>'");
	token = header + 7;
	while (*token == ' ')
		token++;
	if (!*token)
		return alts_err_set(err, ALTS_EINVALID, "not authenticated: empty bearer token");
	if (strlen(token) > AUTH_MAX_TOKEN)
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: token too long");
	if (!token_shape_ok(token))
		return alts_err_set(err, ALTS_EINVALID, "could not validate credentials: malformed token");
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
	claims_text = jwt_get_grants_json(jwt, NULL);
	claims = claims_text ? json_loads(claims_text, 0, NULL) : NULL;
	if (!json_is_object(claims)) {
		rc = alts_err_set(err, ALTS_EINVALID, "could not validate credentials: claims are not an object");
		goto out;
	}
	k = claim_time(claims, "exp", &t);
	if (k < 0 || (k > 0 && t <= (double)now)) {
		rc = alts_err_set(err, ALTS_EINVALID, k < 0 ? "could not validate credentials: 'exp' is not a number"
							      : "could not validate credentials: token expired");
		goto out;
	}
	k = claim_time(claims, "nbf", &t);
	if (k < 0 || (k > 0 && t > (double)now)) {
		rc = alts_err_set(err, ALTS_EINVALID, k < 0 ? "could not validate credentials: 'nbf' is not a number"
							      : "could not validate credentials: token not valid yet ('nbf')");
		goto out;
	}
out:
	json_decref(claims);
	free(claims_text);
	jwt_free(jwt);
	return rc;
}
