#ifndef ALTS_STORE_AZURE_H
#define ALTS_STORE_AZURE_H

#include <stddef.h>

#include "framework/err.h"
#include "framework/sbuf.h"
#include "reporters/stores/store_util.h"

/* Internals of the azureblockblob backend, exported for tests/unit/store_azure.c. */

#define AZURE_API_VERSION "2021-08-06"

/* What a connection string names. */
struct azure_conn {
	char *account;
	struct sbuf key;  /* AccountKey, base64-decoded: the HMAC key */
	char *endpoint;   /* blob service URL without trailing '/': https://<account>.blob.<suffix> or BlobEndpoint */
};

/*
 * Parses "Name=Value;..." (names case-insensitive): AccountName and
 * AccountKey are required; BlobEndpoint, or DefaultEndpointsProtocol
 * (default https) + EndpointSuffix (default core.windows.net); or
 * UseDevelopmentStorage=true (Azurite's well-known account on
 * 127.0.0.1:10000). ALTS_EINVALID with a message that never contains the
 * key. Release *out with azure__conn_release (also after a failure).
 */
int azure__parse_connection_string(struct azure_conn *out, const char *s, struct alts_err *err);
void azure__conn_release(struct azure_conn *c);

/* Everything SharedKey signs. */
struct azure_sign_input {
	const char *method;
	const char *account;
	const char *path;                 /* the URL path as sent ("/container/a%20b.log"; Azurite: "/devstoreaccount1/...") */
	const struct store_header *query; /* decoded names and values, any order */
	size_t nquery;
	const struct store_header *headers; /* lowercase names: the standard ones used and every x-ms-* */
	size_t nheaders;
};

/* Appends the SharedKey string to sign (Blob service, version 2009-09-19 and later). */
int azure__string_to_sign(struct sbuf *out, const struct azure_sign_input *in);

/* Appends "SharedKey <account>:<base64 HMAC-SHA256 of string_to_sign>". */
int azure__authorization(struct sbuf *out, const char *account, const struct sbuf *key, const char *string_to_sign);

#endif
