#ifndef ALTS_STORE_S3_H
#define ALTS_STORE_S3_H

#include <stddef.h>

#include "framework/sbuf.h"
#include "reporters/stores/store_util.h"

/* Internals of the s3 backend, exported for tests/unit/store_s3.c. */

struct artifact_store;

/* Everything AWS Signature V4 signs. */
struct s3_sign_input {
	const char *method;
	const char *canonical_uri;    /* the URL path, each segment URI-encoded once ("/test%24file.text") */
	const char *canonical_query;  /* "a=1&b=2": sorted by name, names and values URI-encoded; NULL: none */
	const struct store_header *headers;  /* lowercase names, any order; all of them are signed */
	size_t nheaders;
	const char *payload_hash;     /* hex SHA-256 of the body (or UNSIGNED-PAYLOAD) */
	const char *amz_date;         /* 20130524T000000Z */
	const char *region;
	const char *service;          /* s3 */
	const char *access_key_id;
	const char *secret;
};

/*
 * Appends the Authorization header value for in to out. The canonical
 * request and the string to sign are appended to the optional sbufs (for
 * tests and debugging; they hold no secret). 0 or ALTS_ENOMEM/ALTS_ERROR.
 */
int s3__sigv4_authorization(struct sbuf *out, const struct s3_sign_input *in, struct sbuf *canonical_request,
			    struct sbuf *string_to_sign);

/* The https URL an object is requested at (path or virtual-host style); the caller frees it. */
char *s3__http_url(struct artifact_store *s, const char *key);

#endif
