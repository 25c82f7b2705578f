#ifndef ALTS_STORE_UTIL_H
#define ALTS_STORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "framework/err.h"
#include "framework/sbuf.h"

/*
 * Helpers shared by the artifact store backends (not for other callers):
 * atomic file writes, URL escaping, hashes and the HTTP request loop with
 * retries. Everything here is thread-safe: no shared mutable state.
 */

/*
 * Writes path atomically: into a temporary file next to it, fsync, then
 * rename(). The content is data/len, or (src_fd >= 0) everything read
 * from src_fd. On failure the temporary file is removed and path is
 * untouched.
 */
int store_write_atomic(const char *path, const void *data, size_t len, int src_fd, mode_t mode, struct alts_err *err);

/*
 * Writes a new file "<name>.tmp.<pid>.<n>" in the directory dirfd (AT_FDCWD: name is a
 * path) with data/len, or (src_fd >= 0) everything read from src_fd, and sets mode; fsync'd
 * when sync. *tmp_out gets its name, relative to dirfd (alts_free). The file is removed
 * on failure; a symbolic link is never followed.
 */
int store_write_tmp(int dirfd, const char *name, const void *data, size_t len, int src_fd, mode_t mode, bool sync,
		    char **tmp_out, struct alts_err *err);

/* Appends s percent-encoded (RFC 3986: all but A-Z a-z 0-9 -._~, and '/' when keep_slash). */
void store_url_escape(struct sbuf *out, const char *s, bool keep_slash);

/* Hex SHA-256 of data: out gets 64 characters and a NUL. */
void store_sha256_hex(char out[65], const void *data, size_t len);
/* HMAC-SHA256; out gets 32 bytes. */
int store_hmac_sha256(unsigned char out[32], const void *key, size_t keylen, const void *data, size_t len);
/* Base64 of data, appended to out (no newlines). */
void store_base64(struct sbuf *out, const void *data, size_t len);
/* Decodes base64 into out; ALTS_EINVALID (message names what) when s is not base64. */
int store_base64_decode(struct sbuf *out, const char *s, const char *what, struct alts_err *err);

/*
 * Streaming digests over one piece of data (a file part): MD5 (for
 * Content-MD5, base64) and SHA-256 (hex, for x-amz-content-sha256).
 */
struct store_digests {
	char md5_b64[32];
	char sha256_hex[65];
};
void store_digests_of(struct store_digests *out, const void *data, size_t len);

/*
 * A body streamed from a file: body_len bytes from off. Read again on a
 * retry, so a large upload never sits in memory.
 */
struct store_file_range {
	int fd;
	off_t off;
};

/* Digests of len bytes of fd from off (pread: the file offset is untouched); -errno on a read failure. */
int store_digests_of_file(struct store_digests *out, const struct store_file_range *f, size_t len);

/* An upload's body: bytes in memory or a range of a file. */
struct store_body {
	const void *data;             /* when !from_file */
	struct store_file_range file; /* when from_file */
	bool from_file;
	size_t len;
};

/* The part [off, off + len) of whole. */
struct store_body store_body_part(const struct store_body *whole, size_t off, size_t len);
/* Digests of the body; 0 or -errno (reading the file failed). */
int store_body_digests(struct store_digests *out, const struct store_body *b);
/* Points req's body fields at b (which must outlive the request). */
struct store_request;
void store_request_set_body(struct store_request *req, const struct store_body *b);

/* ---- HTTP requests (store_http.c) ---- */

struct store_header {
	const char *name;   /* lowercase for signing */
	const char *value;  /* "": sent empty (Azure signs empty values) */
};

/* One part of a multipart/form-data body (Pulp's uploads): a field, bytes as a file, or a file streamed from disk. */
struct store_form_part {
	const char *name;       /* the form field */
	const char *value;      /* a plain field's value (when data and file_path are NULL) */
	const void *data;       /* bytes sent as a file part (data_len of them) */
	size_t data_len;
	const char *file_path;  /* a file streamed as the part (read again on a retry) */
	const char *filename;   /* the part's filename for file parts */
	const char *content_type;  /* of a file part; NULL: application/octet-stream */
};

struct store_request {
	const char *method;    /* GET, PUT, POST, DELETE, HEAD */
	const char *url;
	const struct store_header *headers;  /* already signed */
	size_t nheaders;
	const void *body;      /* NULL: none (or body_file) */
	const struct store_file_range *body_file;  /* the body read from a file instead (PUT only) */
	size_t body_len;
	const struct store_form_part *form;  /* POST multipart/form-data instead of body (curl sets Content-Type) */
	size_t nform;
	double timeout;        /* seconds; 0: none */
};

struct store_response {
	long status;           /* 0 on a transport error */
	struct sbuf body;
	char *etag;            /* the ETag header, quotes kept; NULL when absent */
	char *request_id;      /* x-amz-request-id / x-ms-request-id when present */
	char *error_code;      /* x-ms-error-code when present (HEAD answers carry no body) */
	bool transport_error;  /* connection refused, timeout, DNS ... */
	bool timed_out;
	char transport_msg[256];
};

/*
 * cap: most body bytes kept (0: no limit; error bodies are small, use e.g.
 * 1 MiB). A body longer than cap ends the transfer early with body.capped
 * set; the request still counts as answered.
 */
void store_response_init(struct store_response *r, size_t cap);
void store_response_release(struct store_response *r);

/* Sends one request; 0 when a response arrived (any status), else transport_error is set. */
int store_http_send(const struct store_request *req, struct store_response *resp);

/*
 * Records a failed request in err: "<service> <what> failed: HTTP 403
 * SignatureDoesNotMatch: <message> (request id ..)" from the XML error
 * body (<Code>, <Message>) or x-ms-error-code; or the transport error.
 * Returns ALTS_ENOTFOUND for a 404 NoSuchKey/BlobNotFound, ALTS_ETIMEOUT
 * for a timeout, else ALTS_EENV.
 */
int store_http_fail(struct alts_err *err, const char *service, const char *what, const struct store_response *resp);

/*
 * Calls send_once (which signs afresh and sends one request) up to
 * attempts times, with store_backoff() between, while the answer is
 * retryable. Returns 0 when the last answer arrived (resp->status says
 * which; the caller judges it), ALTS_EENV when the last attempt was a
 * transport error, or send_once's own local failure code.
 */
int store_http_with_retries(long attempts, int (*send_once)(void *payload, struct store_response *resp),
			    void *payload, struct store_response *resp);

/*
 * Appends a GET's body to out, at most max bytes (0: all); a longer body
 * (the response's cap is max + 1) sets out->capped.
 */
int store_take_body(struct sbuf *out, const struct store_response *resp, size_t max, struct alts_err *err);

/* True for statuses worth another attempt: 408, 429, 5xx; and transport errors. */
bool store_http_retryable(const struct store_response *resp);

/*
 * Sleeps before attempt n (1-based, n >= 2): 0.2 s * 2^(n-2), at most 10 s,
 * with jitter. ALTS_STORE_BACKOFF_MS in the environment overrides the base
 * (tests use a few milliseconds).
 */
void store_backoff(int attempt);

#endif
