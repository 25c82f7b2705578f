#include "framework/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framework/alloc.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/s3.h"
#include "reporters/stores/store_util.h"

/*
 * S3 (and S3-compatible services) over libcurl with our own AWS Signature
 * V4 signer, so that x-amz-content-sha256 carries the real payload hash
 * and the signer can be checked against AWS's published examples.
 * Small objects are one PutObject; larger ones a multipart upload of
 * part_size parts, aborted when a part fails. The store is read-only
 * after open, and each request has its own curl handle: thread-safe.
 */

#define S3_ERROR_BODY_MAX (1u << 20)
#define S3_MIN_PART (5L << 20)  /* S3 refuses smaller parts (but the last) */

/* The settings of the s3 backend, decoded by s3_keys (s3_base_path is common: artifact_store.c). */
struct s3_conf {
	const char *access_key_id;
	const char *secret_access_key;       /* secret */
	const char *secret_access_key_file;
	const char *bucket;
	const char *region;                  /* NULL: us-east-1 */
	const char *endpoint_url;            /* NULL: https://s3.<region>.amazonaws.com */
	const char *addressing_style;        /* path, virtual, auto (NULL: auto) */
};

static int s3_validate_addressing(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (!strcmp(v, "path") || !strcmp(v, "virtual") || !strcmp(v, "auto"))
		return 0;
	return conf_fail(ctx, node, path, "unknown addressing style '%s' (allowed: path, virtual, auto)", v);
}

#define S3_KEY(name, field, flags, validate) \
	{ name, CONF_STRING, offsetof(struct s3_conf, field), flags, NULL, validate }

static const struct conf_key s3_keys[] = {
	S3_KEY("s3_addressing_style", addressing_style, 0, s3_validate_addressing),
	S3_KEY("s3_secret_access_key_file", secret_access_key_file, CONF_NONEMPTY, NULL),
	S3_KEY("s3_access_key_id", access_key_id, 0, NULL),
	S3_KEY("s3_secret_access_key", secret_access_key, 0, NULL),
	S3_KEY("s3_bucket", bucket, 0, NULL),
	S3_KEY("s3_region", region, 0, NULL),
	S3_KEY("s3_endpoint_url", endpoint_url, 0, NULL),
	CONF_KEYS_END,
};

static const struct artifact_store_secret s3_secrets[] = {
	{ "ALTS_S3_SECRET_ACCESS_KEY", "s3_secret_access_key_file", offsetof(struct s3_conf, secret_access_key_file),
	  offsetof(struct s3_conf, secret_access_key) },
	ARTIFACT_STORE_SECRETS_END,
};

struct s3_store {
	char *scheme;       /* http or https */
	char *host;         /* the Host header: name[:port], with the bucket for virtual-host style */
	char *path_prefix;  /* "/<bucket>" (path style) or "" */
	const char *bucket, *region, *access_key_id, *secret;
	long part_size;
	long retries;
	double timeout;
};

/* ---- Signature V4 ---- */

static int cmp_header(const void *a, const void *b)
{
	return strcmp(((const struct store_header *)a)->name, ((const struct store_header *)b)->name);
}

/* Header values are signed trimmed. */
static void add_trimmed(struct sbuf *sb, const char *v)
{
	const char *end = v + strlen(v);

	while (*v == ' ' || *v == '\t')
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	sbuf_add(sb, v, (size_t)(end - v));
}

ALTS_TESTABLE int s3__sigv4_authorization(struct sbuf *out, const struct s3_sign_input *in,
					  struct sbuf *canonical_request, struct sbuf *string_to_sign)
{
	struct store_header *sorted = alts_calloc(in->nheaders ? in->nheaders : 1, sizeof(*sorted));
	struct sbuf creq = SBUF_INIT, sts = SBUF_INIT, names = SBUF_INIT, secret = SBUF_INIT;
	unsigned char k[32];
	char hash[65], date[9], sig[65];
	int rc = ALTS_ENOMEM;

	if (!sorted)
		return ALTS_ENOMEM;
	if (in->nheaders)
		memcpy(sorted, in->headers, in->nheaders * sizeof(*sorted));
	qsort(sorted, in->nheaders, sizeof(*sorted), cmp_header);
	snprintf(date, sizeof(date), "%.8s", in->amz_date);

	sbuf_addf(&creq, "%s\n%s\n%s\n", in->method, in->canonical_uri, in->canonical_query ? in->canonical_query : "");
	for (size_t i = 0; i < in->nheaders; i++) {
		sbuf_addf(&creq, "%s:", sorted[i].name);
		add_trimmed(&creq, sorted[i].value);
		sbuf_addch(&creq, '\n');
		sbuf_addf(&names, "%s%s", i ? ";" : "", sorted[i].name);
	}
	sbuf_addf(&creq, "\n%s\n%s", names.buf, in->payload_hash);
	store_sha256_hex(hash, creq.buf, creq.len);
	sbuf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", in->amz_date, date, in->region,
		  in->service, hash);

	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
	sbuf_addf(&secret, "AWS4%s", in->secret);
	if (!sbuf_ok(&creq) || !sbuf_ok(&sts) || !sbuf_ok(&names) || !sbuf_ok(&secret))
		goto out;
	rc = ALTS_ERROR;
	if (store_hmac_sha256(k, secret.buf, secret.len, date, strlen(date)) ||
	    store_hmac_sha256(k, k, 32, in->region, strlen(in->region)) ||
	    store_hmac_sha256(k, k, 32, in->service, strlen(in->service)) ||
	    store_hmac_sha256(k, k, 32, "aws4_request", 12) || store_hmac_sha256(k, k, 32, sts.buf, sts.len))
		goto out;
	for (int i = 0; i < 32; i++)
		snprintf(sig + 2 * i, 3, "%02x", k[i]);
	sbuf_addf(out, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		  in->access_key_id, date, in->region, in->service, names.buf, sig);
	if (canonical_request)
		sbuf_add(canonical_request, creq.buf, creq.len);
	if (string_to_sign)
		sbuf_add(string_to_sign, sts.buf, sts.len);
	rc = sbuf_ok(out) ? 0 : ALTS_ENOMEM;
out:
	explicit_bzero(secret.buf, secret.len);
	explicit_bzero(k, sizeof(k));
	sbuf_release(&secret);
	sbuf_release(&names);
	sbuf_release(&sts);
	sbuf_release(&creq);
	alts_free(sorted);
	return rc;
}

/* ---- requests ---- */

#define S3_MAX_HEADERS 8

struct s3_call {
	struct s3_store *s3;
	const char *method;
	const char *key;    /* full object key */
	const char *query;  /* canonical query string (sorted, encoded) or NULL */
	const struct store_header *extra;  /* content-type, content-md5 ... (lowercase names) */
	size_t nextra;
	struct store_body body;    /* len 0 and no data: none */
	const char *payload_hash;  /* hex SHA-256 of body; NULL: computed here (memory bodies only) */
};

/* "/<bucket>/<escaped key>" or "/<escaped key>": both the canonical URI and the URL path. */
static void s3_path(struct sbuf *sb, const struct s3_store *s3, const char *key)
{
	sbuf_adds(sb, s3->path_prefix);
	sbuf_addch(sb, '/');
	store_url_escape(sb, key, true);
}

static void amz_date_now(char out[17])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* One signed attempt (store_http_with_retries calls it again for a retry, with a fresh date). */
static int s3_send_once(void *payload, struct store_response *resp)
{
	const struct s3_call *c = payload;
	struct store_header h[S3_MAX_HEADERS + 4];
	struct sbuf path = SBUF_INIT, url = SBUF_INIT, auth = SBUF_INIT;
	char amz_date[17];
	size_t n = 0;
	int rc = ALTS_ENOMEM;

	amz_date_now(amz_date);
	s3_path(&path, c->s3, c->key);
	sbuf_addf(&url, "%s://%s%s%s%s", c->s3->scheme, c->s3->host, path.buf, c->query ? "?" : "",
		  c->query ? c->query : "");
	h[n++] = (struct store_header){ "host", c->s3->host };
	h[n++] = (struct store_header){ "x-amz-content-sha256", c->payload_hash };
	h[n++] = (struct store_header){ "x-amz-date", amz_date };
	for (size_t i = 0; i < c->nextra && i < S3_MAX_HEADERS; i++)
		h[n++] = c->extra[i];
	if (sbuf_ok(&path) && sbuf_ok(&url)) {
		struct s3_sign_input in = {
			.method = c->method, .canonical_uri = path.buf, .canonical_query = c->query,
			.headers = h, .nheaders = n, .payload_hash = c->payload_hash, .amz_date = amz_date,
			.region = c->s3->region, .service = "s3", .access_key_id = c->s3->access_key_id,
			.secret = c->s3->secret,
		};

		rc = s3__sigv4_authorization(&auth, &in, NULL, NULL);
	}
	if (!rc) {
		struct store_request req = { .method = c->method, .url = url.buf, .headers = h,
					     .timeout = c->s3->timeout };

		store_request_set_body(&req, &c->body);
		h[n++] = (struct store_header){ "authorization", auth.buf };
		req.nheaders = n;
		rc = store_http_send(&req, resp);
	}
	sbuf_release(&auth);
	sbuf_release(&url);
	sbuf_release(&path);
	return rc;
}

static bool ok_status(long status)
{
	return status >= 200 && status < 300;
}

/*
 * Runs a call with retries; 0 on a 2xx answer (resp holds it), else err
 * says what failed ("s3 PUT 'key' failed: HTTP 403 SignatureDoesNotMatch: ...").
 */
static int s3_do(struct s3_call *c, struct store_response *resp, const char *what, struct alts_err *err)
{
	char hash[65];
	char label[512];
	int rc;

	if (!c->payload_hash) {
		store_sha256_hex(hash, c->body.data ? c->body.data : "", c->body.len);
		c->payload_hash = hash;
	}
	rc = store_http_with_retries(c->s3->retries, s3_send_once, c, resp);
	snprintf(label, sizeof(label), "%s '%s' in bucket '%s'", what, c->key, c->s3->bucket);
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (rc || !ok_status(resp->status))
		return store_http_fail(err, "s3", label, resp);
	return 0;
}

/* ---- uploads ---- */

/* The payload hash and Content-MD5 of a body; reading a file may fail. */
static int s3_digests(struct store_digests *d, const struct store_body *body, const char *key, struct alts_err *err)
{
	int rc = store_body_digests(d, body);

	return rc ? alts_err_errno(err, ALTS_EENV, -rc, "cannot read the data for '%s'", key) : 0;
}

static int s3_put_object(struct s3_store *s3, const char *key, const struct store_body *body,
			 const char *content_type, struct alts_err *err)
{
	struct store_digests d;
	struct store_response resp;
	struct store_header extra[2];
	struct s3_call c = { .s3 = s3, .method = "PUT", .key = key, .body = *body, .extra = extra, .nextra = 2 };
	int rc = s3_digests(&d, body, key, err);

	if (rc)
		return rc;
	extra[0] = (struct store_header){ "content-md5", d.md5_b64 };
	extra[1] = (struct store_header){ "content-type", content_type };
	c.payload_hash = d.sha256_hex;
	store_response_init(&resp, S3_ERROR_BODY_MAX);
	rc = s3_do(&c, &resp, "PUT", err);
	store_response_release(&resp);
	return rc;
}

/* The text of <tag> in an XML answer, in a new string; NULL when absent. */
static char *xml_value(const char *body, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!(a = strstr(body, open)))
		return NULL;
	a += strlen(open);
	if (!(b = strstr(a, close)))
		return NULL;
	return alts_strndup(a, (size_t)(b - a));
}

struct s3_multipart {
	struct s3_store *s3;
	const char *key;
	char *upload_id;
	char *escaped_id;  /* upload_id, URL-encoded for queries */
	struct sbuf complete;  /* the CompleteMultipartUpload body, grown part by part */
	int parts;
};

static int s3_mpu_create(struct s3_multipart *m, const char *content_type, struct alts_err *err)
{
	struct store_header extra[] = { { "content-type", content_type } };
	struct s3_call c = { .s3 = m->s3, .method = "POST", .key = m->key, .query = "uploads=", .extra = extra,
			     .nextra = 1 };
	struct store_response resp;
	struct sbuf esc = SBUF_INIT;
	int rc;

	store_response_init(&resp, S3_ERROR_BODY_MAX);
	rc = s3_do(&c, &resp, "CreateMultipartUpload", err);
	if (!rc && !(m->upload_id = xml_value(resp.body.buf, "UploadId")))
		rc = alts_err_set(err, ALTS_EENV, "s3 CreateMultipartUpload '%s' failed: no UploadId in the answer",
				  m->key);
	if (!rc) {
		store_url_escape(&esc, m->upload_id, false);
		m->escaped_id = sbuf_detach(&esc, NULL);
		if (!m->escaped_id)
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	sbuf_adds(&m->complete, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	store_response_release(&resp);
	return rc;
}

static int s3_mpu_part(struct s3_multipart *m, const struct store_body *part, struct alts_err *err)
{
	struct store_digests d;
	struct store_header extra[1];
	struct store_response resp;
	char *query = alts_asprintf("partNumber=%d&uploadId=%s", m->parts + 1, m->escaped_id);
	struct s3_call c = { .s3 = m->s3, .method = "PUT", .key = m->key, .query = query, .body = *part,
			     .extra = extra, .nextra = 1 };
	int rc;

	if (!query)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = s3_digests(&d, part, m->key, err);
	if (rc)
		goto out;
	extra[0] = (struct store_header){ "content-md5", d.md5_b64 };
	c.payload_hash = d.sha256_hex;
	store_response_init(&resp, S3_ERROR_BODY_MAX);
	rc = s3_do(&c, &resp, "UploadPart", err);
	if (!rc && !resp.etag)
		rc = alts_err_set(err, ALTS_EENV, "s3 UploadPart %d of '%s' failed: no ETag in the answer",
				  m->parts + 1, m->key);
	if (!rc) {
		m->parts++;
		sbuf_addf(&m->complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", m->parts,
			  resp.etag);
	}
	store_response_release(&resp);
out:
	alts_free(query);
	return rc;
}

static int s3_mpu_complete(struct s3_multipart *m, struct alts_err *err)
{
	char *query = alts_asprintf("uploadId=%s", m->escaped_id);
	struct store_header extra[] = { { "content-type", "application/xml" } };
	struct s3_call c = { .s3 = m->s3, .method = "POST", .key = m->key, .query = query, .extra = extra,
			     .nextra = 1 };
	struct store_response resp;
	int rc;

	sbuf_adds(&m->complete, "</CompleteMultipartUpload>");
	if (!query || !sbuf_ok(&m->complete)) {
		alts_free(query);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	c.body.data = m->complete.buf;
	c.body.len = m->complete.len;
	store_response_init(&resp, S3_ERROR_BODY_MAX);
	rc = s3_do(&c, &resp, "CompleteMultipartUpload", err);
	/* S3 may answer 200 and still fail: the error is then in the body. */
	if (!rc && strstr(resp.body.buf, "<Error>")) {
		resp.status = 500;
		rc = store_http_fail(err, "s3", "CompleteMultipartUpload", &resp);
	}
	store_response_release(&resp);
	alts_free(query);
	return rc;
}

/* Best effort: a failed abort leaves parts that a bucket lifecycle rule cleans up. */
static void s3_mpu_abort(struct s3_multipart *m)
{
	char *query = alts_asprintf("uploadId=%s", m->escaped_id);
	struct s3_call c = { .s3 = m->s3, .method = "DELETE", .key = m->key, .query = query };
	struct store_response resp;
	struct alts_err err = ALTS_ERR_INIT;

	if (!query)
		return;
	store_response_init(&resp, S3_ERROR_BODY_MAX);
	if (s3_do(&c, &resp, "AbortMultipartUpload", &err))
		alts_log(ALTS_LOG_WARN, "s3", "%s", err.msg);
	store_response_release(&resp);
	alts_free(query);
}

static void s3_mpu_release(struct s3_multipart *m)
{
	alts_free(m->upload_id);
	alts_free(m->escaped_id);
	sbuf_release(&m->complete);
}

/* A multipart upload of body, part_size at a time (each part streamed from the file, if it is one). */
static int s3_put_multipart(struct s3_store *s3, const char *key, const struct store_body *body,
			    const char *content_type, struct alts_err *err)
{
	struct s3_multipart m = { .s3 = s3, .key = key, .complete = SBUF_INIT };
	size_t part = (size_t)s3->part_size;
	int rc;

	rc = s3_mpu_create(&m, content_type, err);
	if (rc)
		goto out;
	for (size_t off = 0; off < body->len; off += part) {
		struct store_body p = store_body_part(body, off, body->len - off < part ? body->len - off : part);

		rc = s3_mpu_part(&m, &p, err);
		if (rc)
			goto abort;
	}
	rc = s3_mpu_complete(&m, err);
	if (!rc)
		goto out;
abort:
	s3_mpu_abort(&m);
out:
	s3_mpu_release(&m);
	return rc;
}

static int s3_put_body(struct s3_store *s3, const char *key, const struct store_body *body, const char *content_type,
		       struct alts_err *err)
{
	if (body->len > (size_t)s3->part_size)
		return s3_put_multipart(s3, key, body, content_type, err);
	return s3_put_object(s3, key, body, content_type, err);
}

static int s3_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			const char *content_type, struct alts_err *err)
{
	struct store_body body = { .data = data, .len = len };

	return s3_put_body(s->priv, key, &body, content_type, err);
}

static int s3_put_file(struct artifact_store *s, const char *key, const char *path, const char *content_type,
		       struct alts_err *err)
{
	struct store_body body = { .from_file = true };
	struct stat st;
	int rc;

	body.file.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (body.file.fd < 0)
		return alts_err_errno(err, errno == ENOENT ? ALTS_ENOTFOUND : ALTS_EENV, errno, "cannot open '%s'", path);
	if (fstat(body.file.fd, &st) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot stat '%s'", path);
	} else {
		body.len = (size_t)st.st_size;
		rc = s3_put_body(s->priv, key, &body, content_type, err);
	}
	close(body.file.fd);
	return rc;
}

static int s3_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	struct s3_call c = { .s3 = s->priv, .method = "GET", .key = key };
	struct store_response resp;
	int rc;

	/* One byte more than max tells "cut" from "exactly max"; the transfer stops there. */
	store_response_init(&resp, max ? max + 1 : 0);
	rc = s3_do(&c, &resp, "GET", err);
	if (!rc)
		rc = store_take_body(out, &resp, max, err);
	store_response_release(&resp);
	return rc;
}

static int s3_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	struct s3_store *s3 = s->priv;

	*out = alts_asprintf("s3://%s/%s", s3->bucket, key);
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

ALTS_TESTABLE char *s3__http_url(struct artifact_store *s, const char *key)
{
	struct s3_store *s3 = s->priv;
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s://%s", s3->scheme, s3->host);
	s3_path(&sb, s3, key);
	return sbuf_detach(&sb, NULL);
}

/* ---- open ---- */

/* Splits "scheme://host[:port][/]" */
static int s3_parse_endpoint(struct s3_store *s3, const char *url, struct alts_err *err)
{
	const char *sep = strstr(url, "://");
	const char *host, *slash;

	if (!sep || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return alts_err_set(err, ALTS_EINVALID, "s3_endpoint_url '%s' must start with http:// or https://", url);
	host = sep + 3;
	slash = strchr(host, '/');
	if (slash && slash[1])
		return alts_err_set(err, ALTS_EINVALID, "s3_endpoint_url '%s' must not have a path (use s3_base_path)",
				    url);
	if (host == slash || !*host)
		return alts_err_set(err, ALTS_EINVALID, "s3_endpoint_url '%s' has no host", url);
	s3->scheme = alts_strndup(url, (size_t)(sep - url));
	s3->host = slash ? alts_strndup(host, (size_t)(slash - host)) : alts_strdup(host);
	return s3->scheme && s3->host ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

/* Virtual-host style moves the bucket into the host name; path style keeps it in the path. */
static int s3_apply_style(struct s3_store *s3, const struct s3_conf *conf, struct alts_err *err)
{
	const char *style = conf->addressing_style && *conf->addressing_style ? conf->addressing_style : "auto";
	bool path_style;

	if (!strcmp(style, "auto"))
		path_style = conf->endpoint_url && *conf->endpoint_url;
	else if (!strcmp(style, "path") || !strcmp(style, "virtual"))
		path_style = !strcmp(style, "path");
	else
		return alts_err_set(err, ALTS_EINVALID, "unknown s3_addressing_style '%s' (allowed: path, virtual, auto)",
				    style);
	if (path_style) {
		s3->path_prefix = alts_asprintf("/%s", s3->bucket);
	} else {
		char *host = alts_asprintf("%s.%s", s3->bucket, s3->host);

		if (strchr(s3->bucket, '.') && !strcmp(s3->scheme, "https"))
			alts_log(ALTS_LOG_WARN, "s3",
				 "bucket '%s' has a dot: virtual-host style breaks TLS name checks, use path style",
				 s3->bucket);
		alts_free(s3->host);
		s3->host = host;
		s3->path_prefix = alts_strdup("");
	}
	return s3->host && s3->path_prefix ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

static void s3_close(struct artifact_store *s)
{
	struct s3_store *s3 = s->priv;

	if (!s3)
		return;
	alts_free(s3->scheme);
	alts_free(s3->host);
	alts_free(s3->path_prefix);
	s3->scheme = s3->host = s3->path_prefix = NULL;
}

static int s3_validate(const struct artifact_store *s, const void *conf, struct alts_err *err)
{
	const struct s3_conf *c = conf;

	ALTS_UNUSED(s);
	if (!c->bucket || !*c->bucket)
		return alts_err_set(err, ALTS_EINVALID, "result backend 's3' needs s3_bucket");
	if (strchr(c->bucket, '/'))
		return alts_err_set(err, ALTS_EINVALID, "s3_bucket '%s' must not contain '/' (use s3_base_path)",
				    c->bucket);
	if (!c->access_key_id || !*c->access_key_id)
		return alts_err_set(err, ALTS_EINVALID, "result backend 's3' needs s3_access_key_id");
	if (!c->secret_access_key || !*c->secret_access_key)
		return alts_err_set(err, ALTS_EINVALID,
				    "result backend 's3' needs s3_secret_access_key (or ALTS_S3_SECRET_ACCESS_KEY, "
				    "s3_secret_access_key_file)");
	return 0;
}

static int s3_open(struct artifact_store *s, struct alts_err *err)
{
	const struct artifact_store_config *cfg = &s->cfg;
	const struct s3_conf *conf = s->conf;
	struct s3_store *s3 = s->priv;
	char *endpoint = NULL;
	int rc;

	s3->bucket = conf->bucket;
	s3->region = conf->region && *conf->region ? conf->region : "us-east-1";
	s3->access_key_id = conf->access_key_id;
	s3->secret = conf->secret_access_key;
	s3->part_size = cfg->part_size > 0 ? cfg->part_size : 8L << 20;
	if (s3->part_size < S3_MIN_PART)
		s3->part_size = S3_MIN_PART;
	s3->retries = cfg->retries > 0 ? cfg->retries : 1;
	s3->timeout = cfg->timeout;
	if (conf->endpoint_url && *conf->endpoint_url)
		rc = s3_parse_endpoint(s3, conf->endpoint_url, err);
	else if (!(endpoint = alts_asprintf("https://s3.%s.amazonaws.com", s3->region)))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else
		rc = s3_parse_endpoint(s3, endpoint, err);
	if (!rc)
		rc = s3_apply_style(s3, conf, err);
	alts_free(endpoint);
	return rc;
}

const struct artifact_store_ops artifact_store_s3_ops = {
	.name = "s3",
	.abi = ARTIFACT_STORE_ABI,
	.keys = s3_keys,
	.conf_size = sizeof(struct s3_conf),
	.secrets = s3_secrets,
	.priv_size = sizeof(struct s3_store),
	.validate = s3_validate,
	.open = s3_open,
	.close = s3_close,
	.put_file = s3_put_file,
	.put_bytes = s3_put_bytes,
	.get = s3_get,
	.url = s3_url,
};
