#ifndef ALTS_SCHED_AUTH_H
#define ALTS_SCHED_AUTH_H

#include <stddef.h>
#include <time.h>

/*
 * JWT bearer tokens as ALTS uses them: HMAC-signed (HS256, HS384 or
 * HS512) with a shared secret, claim `email`, optional `exp` and `nbf`,
 * and optional `scope` (space-separated names, RFC 8693 4.2): "worker"
 * lets a token deliver worker reports (POST /internal/tasks/{id}/report),
 * which an ordinary API token must not be able to forge.
 */

enum auth_scope_flags {
	AUTH_SCOPE_WORKER = 1 << 0,
};

/* True when name is one of HS256, HS384, HS512 (the only accepted algorithms). */
int auth_alg_valid(const char *name);

/*
 * Signs a token with claim email, `scope` when scope is not NULL (e.g.
 * "worker") and, when expires_in > 0, `exp` = now + expires_in seconds.
 * *out is the caller's (free with alts_free).
 */
int auth_token_create(char **out, const char *secret, const char *alg, const char *email, const char *scope,
		      long expires_in, time_t now, struct alts_err *err);

/*
 * Verifies an Authorization header value ("Bearer <token>"; header may be
 * NULL). Refuses a missing or malformed header, `alg` other than the
 * configured one (so also `none`), a bad signature, `exp` <= now, `nbf`
 * > now, and non-numeric `exp`/`nbf`. ALTS_EINVALID with a message that
 * never contains the token or the secret; 0 when the token is good.
 */
int auth_verify_header(const char *header, const char *secret, const char *alg, time_t now,
		       struct alts_err *err);

/*
 * A thread-safe memory of tokens verified before (256 of them), for
 * auth_verify_header_cached(): a token seen again is not decoded again,
 * only its `exp`/`nbf` are checked against now.
 */
struct auth_cache;
struct auth_cache *auth_cache_new(void);
void auth_cache_free(struct auth_cache *c);
/*
 * As auth_verify_header(), through cache (NULL: none). Same answers, same
 * messages. On success *scopes (may be NULL) gets the token's
 * enum auth_scope_flags; unknown scope names are ignored.
 */
int auth_verify_header_cached(struct auth_cache *cache, const char *header, const char *secret, const char *alg,
			      time_t now, unsigned *scopes, struct alts_err *err);

#endif
