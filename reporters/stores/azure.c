#include "framework/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framework/alloc.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/azure.h"
#include "reporters/stores/store_util.h"

/*
 * Azure Blob Storage over the REST API with SharedKey authorization from
 * a connection string. Artifacts go to azure_logs_container, summaries to
 * azureblockblob_container_name. Small objects are one Put Blob; larger ones Put Block
 * per part_size and a Put Block List. A missing container is created on
 * the first upload that meets it. Read-only after open: thread-safe.
 */

#define AZURE_ERROR_BODY_MAX (1u << 20)
/* Azurite's documented development account (public, not a secret). */
#define AZURITE_ACCOUNT "devstoreaccount1"
#define AZURITE_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define AZURITE_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"
/* Azure allows at most 50,000 blocks in a blob. */
#define AZURE_MAX_BLOCKS 50000

/* The settings of the azureblockblob backend, decoded by azure_keys. */
struct azure_conf {
	const char *connection_string;       /* secret: AccountName=..;AccountKey=..;BlobEndpoint=.. */
	const char *connection_string_file;
	const char *container;               /* summaries (azureblockblob_container_name) */
	const char *base_path;               /* prefix of artifact blobs */
	const char *logs_container;          /* artifacts; NULL: container */
};

#define AZURE_KEY(name, field, flags) \
	{ name, CONF_STRING, offsetof(struct azure_conf, field), flags, NULL, NULL }

static const struct conf_key azure_keys[] = {
	AZURE_KEY("azure_connection_string_file", connection_string_file, CONF_NONEMPTY),
	AZURE_KEY("azureblockblob_container_name", container, 0),
	AZURE_KEY("azureblockblob_base_path", base_path, 0),
	AZURE_KEY("azure_connection_string", connection_string, 0),
	AZURE_KEY("azure_logs_container", logs_container, 0),
	CONF_KEYS_END,
};

static const struct artifact_store_secret azure_secrets[] = {
	{ "ALTS_AZURE_CONNECTION_STRING", "azure_connection_string_file",
	  offsetof(struct azure_conf, connection_string_file), offsetof(struct azure_conf, connection_string) },
	ARTIFACT_STORE_SECRETS_END,
};

struct azure_store {
	struct azure_conn conn;
	const char *endpoint_path;  /* the path part of conn.endpoint ("" or "/devstoreaccount1") */
	const char *logs_container;
	const char *container;
	long part_size;
	long retries;
	double timeout;
};

/* ---- connection strings ---- */

void azure__conn_release(struct azure_conn *c)
{
	alts_free(c->account);
	if (c->key.alloc)
		explicit_bzero(c->key.buf, c->key.alloc);
	sbuf_release(&c->key);
	alts_free(c->endpoint);
	memset(c, 0, sizeof(*c));
	c->key = (struct sbuf)SBUF_INIT;
}

struct conn_fields {
	const char *account, *key, *endpoint, *protocol, *suffix;
	size_t account_len, key_len, endpoint_len, protocol_len, suffix_len;
	bool dev;
};

/* Records one "Name=Value" element; unknown names (QueueEndpoint ...) are ignored. */
static int conn_field(struct conn_fields *f, const char *el, size_t len, struct alts_err *err)
{
	static const struct {
		const char *name;
		size_t off_value, off_len;
	} names[] = {
		{ "AccountName", offsetof(struct conn_fields, account), offsetof(struct conn_fields, account_len) },
		{ "AccountKey", offsetof(struct conn_fields, key), offsetof(struct conn_fields, key_len) },
		{ "BlobEndpoint", offsetof(struct conn_fields, endpoint), offsetof(struct conn_fields, endpoint_len) },
		{ "DefaultEndpointsProtocol", offsetof(struct conn_fields, protocol),
		  offsetof(struct conn_fields, protocol_len) },
		{ "EndpointSuffix", offsetof(struct conn_fields, suffix), offsetof(struct conn_fields, suffix_len) },
	};
	const char *eq = memchr(el, '=', len);
	size_t nlen;

	if (!eq || eq == el)
		return alts_err_set(err, ALTS_EINVALID,
				    "azure connection string element %zu bytes long is not Name=Value", len);
	nlen = (size_t)(eq - el);
	if (nlen == 21 && !strncasecmp(el, "UseDevelopmentStorage", nlen)) {
		f->dev = len - nlen - 1 == 4 && !strncasecmp(eq + 1, "true", 4);
		return 0;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		if (strlen(names[i].name) == nlen && !strncasecmp(el, names[i].name, nlen)) {
			*(const char **)((char *)f + names[i].off_value) = eq + 1;
			*(size_t *)((char *)f + names[i].off_len) = len - nlen - 1;
		}
	}
	return 0;
}

static int conn_split(struct conn_fields *f, const char *s, struct alts_err *err)
{
	while (*s) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		int rc;

		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		if (len) {
			rc = conn_field(f, s, len, err);
			if (rc)
				return rc;
		}
		s += len;
		if (*s == ';')
			s++;
	}
	return 0;
}

/* Fills out from the fields; the defaults are Azure's public cloud. */
static int conn_build(struct azure_conn *out, const struct conn_fields *f, struct alts_err *err)
{
	char *key = NULL;
	int rc;

	if (!f->account_len)
		return alts_err_set(err, ALTS_EINVALID, "azure connection string has no AccountName");
	if (!f->key_len)
		return alts_err_set(err, ALTS_EINVALID,
				    "azure connection string has no AccountKey (SharedAccessSignature is not supported)");
	if (f->protocol_len && !(f->protocol_len == 4 && !strncasecmp(f->protocol, "http", 4)) &&
	    !(f->protocol_len == 5 && !strncasecmp(f->protocol, "https", 5)))
		return alts_err_set(err, ALTS_EINVALID,
				    "azure connection string DefaultEndpointsProtocol must be http or https");
	out->account = alts_strndup(f->account, f->account_len);
	key = alts_strndup(f->key, f->key_len);
	if (f->endpoint_len) {
		out->endpoint = alts_strndup(f->endpoint, f->endpoint_len);
	} else {
		out->endpoint = alts_asprintf("%.*s://%.*s.blob.%.*s", f->protocol_len ? (int)f->protocol_len : 5,
					      f->protocol_len ? f->protocol : "https", (int)f->account_len, f->account,
					      f->suffix_len ? (int)f->suffix_len : 16,
					      f->suffix_len ? f->suffix : "core.windows.net");
	}
	if (!out->account || !key || !out->endpoint) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_base64_decode(&out->key, key, "azure connection string AccountKey", err);
	if (!rc && strncmp(out->endpoint, "http://", 7) && strncmp(out->endpoint, "https://", 8))
		rc = alts_err_set(err, ALTS_EINVALID, "azure BlobEndpoint '%s' must start with http:// or https://",
				  out->endpoint);
	/* No trailing '/': paths are appended as "/container/blob". */
	for (size_t n = out->endpoint ? strlen(out->endpoint) : 0; !rc && n && out->endpoint[n - 1] == '/'; n--)
		out->endpoint[n - 1] = '\0';
out:
	if (key)
		explicit_bzero(key, f->key_len);
	alts_free(key);
	return rc;
}

int azure__parse_connection_string(struct azure_conn *out, const char *s, struct alts_err *err)
{
	struct conn_fields f = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->key = (struct sbuf)SBUF_INIT;
	if (!s || !*s)
		return alts_err_set(err, ALTS_EINVALID, "azure connection string is empty");
	rc = conn_split(&f, s, err);
	if (rc)
		return rc;
	if (f.dev && !f.account_len) {
		f.account = AZURITE_ACCOUNT;
		f.account_len = strlen(AZURITE_ACCOUNT);
		f.key = AZURITE_KEY;
		f.key_len = strlen(AZURITE_KEY);
		if (!f.endpoint_len) {
			f.endpoint = AZURITE_ENDPOINT;
			f.endpoint_len = strlen(AZURITE_ENDPOINT);
		}
	}
	return conn_build(out, &f, err);
}

/* ---- SharedKey ---- */

static int cmp_header(const void *a, const void *b)
{
	return strcmp(((const struct store_header *)a)->name, ((const struct store_header *)b)->name);
}

static const char *find_header(const struct azure_sign_input *in, const char *name)
{
	for (size_t i = 0; i < in->nheaders; i++) {
		if (!strcmp(in->headers[i].name, name))
			return in->headers[i].value;
	}
	return "";
}

int azure__string_to_sign(struct sbuf *out, const struct azure_sign_input *in)
{
	static const char *const standard[] = { "content-encoding", "content-language", "content-length",
						"content-md5",      "content-type",     "date",
						"if-modified-since", "if-match",        "if-none-match",
						"if-unmodified-since", "range" };
	size_t n = in->nheaders > in->nquery ? in->nheaders : in->nquery;
	struct store_header *sorted = alts_calloc(n ? n : 1, sizeof(*sorted));

	if (!sorted)
		return ALTS_ENOMEM;
	sbuf_addf(out, "%s\n", in->method);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(standard); i++) {
		const char *v = find_header(in, standard[i]);

		/* Since version 2015-02-21 a zero Content-Length is signed as empty. */
		if (!strcmp(standard[i], "content-length") && !strcmp(v, "0"))
			v = "";
		sbuf_addf(out, "%s\n", v);
	}
	/* CanonicalizedHeaders: every x-ms-* header, sorted, "name:value\n". */
	if (in->nheaders)
		memcpy(sorted, in->headers, in->nheaders * sizeof(*sorted));
	qsort(sorted, in->nheaders, sizeof(*sorted), cmp_header);
	for (size_t i = 0; i < in->nheaders; i++) {
		if (!strncmp(sorted[i].name, "x-ms-", 5))
			sbuf_addf(out, "%s:%s\n", sorted[i].name, sorted[i].value);
	}
	/* CanonicalizedResource: /account/path, then "\nname:value" per query parameter, sorted. */
	sbuf_addf(out, "/%s%s", in->account, in->path);
	if (in->nquery)
		memcpy(sorted, in->query, in->nquery * sizeof(*sorted));
	qsort(sorted, in->nquery, sizeof(*sorted), cmp_header);
	for (size_t i = 0; i < in->nquery; i++)
		sbuf_addf(out, "\n%s:%s", sorted[i].name, sorted[i].value);
	alts_free(sorted);
	return sbuf_ok(out) ? 0 : ALTS_ENOMEM;
}

int azure__authorization(struct sbuf *out, const char *account, const struct sbuf *key, const char *string_to_sign)
{
	unsigned char mac[32];

	if (store_hmac_sha256(mac, key->buf, key->len, string_to_sign, strlen(string_to_sign)))
		return ALTS_ERROR;
	sbuf_addf(out, "SharedKey %s:", account);
	store_base64(out, mac, sizeof(mac));
	return sbuf_ok(out) ? 0 : ALTS_ENOMEM;
}

/* ---- requests ---- */

#define AZURE_MAX_HEADERS 8

struct azure_call {
	struct azure_store *az;
	const char *method;
	const char *container;
	const char *blob;                  /* full blob name; NULL for a container request */
	const struct store_header *query;  /* decoded */
	size_t nquery;
	const struct store_header *extra;  /* content-type, content-md5, x-ms-blob-type ... */
	size_t nextra;
	struct store_body body;
};

static void rfc1123_now(char out[40])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The URL path: [endpoint path]/container[/escaped blob]. */
static void azure_path(struct sbuf *sb, const struct azure_call *c)
{
	sbuf_addf(sb, "%s/", c->az->endpoint_path);
	store_url_escape(sb, c->container, false);
	if (c->blob) {
		sbuf_addch(sb, '/');
		store_url_escape(sb, c->blob, true);
	}
}

static void azure_url(struct sbuf *url, const struct azure_call *c, const char *path)
{
	size_t origin = strlen(c->az->conn.endpoint) - strlen(c->az->endpoint_path);

	sbuf_add(url, c->az->conn.endpoint, origin);
	sbuf_adds(url, path);
	for (size_t i = 0; i < c->nquery; i++) {
		sbuf_addch(url, i ? '&' : '?');
		store_url_escape(url, c->query[i].name, false);
		sbuf_addch(url, '=');
		store_url_escape(url, c->query[i].value, false);
	}
}

/* One signed attempt; a retry signs again with a fresh x-ms-date. */
static int azure_send_once(void *payload, struct store_response *resp)
{
	const struct azure_call *c = payload;
	struct store_header h[AZURE_MAX_HEADERS + 4];
	struct sbuf path = SBUF_INIT, url = SBUF_INIT, sts = SBUF_INIT, auth = SBUF_INIT;
	char date[40], length[32];
	size_t n = 0;
	int rc = ALTS_ENOMEM;

	rfc1123_now(date);
	snprintf(length, sizeof(length), "%zu", c->body.len);
	azure_path(&path, c);
	azure_url(&url, c, path.buf);
	h[n++] = (struct store_header){ "x-ms-date", date };
	h[n++] = (struct store_header){ "x-ms-version", AZURE_API_VERSION };
	for (size_t i = 0; i < c->nextra && i < AZURE_MAX_HEADERS; i++)
		h[n++] = c->extra[i];
	/* Signed but not sent by us: curl writes the Content-Length header itself. */
	h[n] = (struct store_header){ "content-length", strcmp(c->method, "GET") ? length : "" };
	if (sbuf_ok(&path) && sbuf_ok(&url)) {
		struct azure_sign_input in = { .method = c->method, .account = c->az->conn.account, .path = path.buf,
					       .query = c->query, .nquery = c->nquery, .headers = h,
					       .nheaders = n + 1 };

		rc = azure__string_to_sign(&sts, &in);
		if (!rc)
			rc = azure__authorization(&auth, c->az->conn.account, &c->az->conn.key, sts.buf);
	}
	if (!rc) {
		struct store_request req = { .method = c->method, .url = url.buf, .headers = h,
					     .timeout = c->az->timeout };

		store_request_set_body(&req, &c->body);
		h[n++] = (struct store_header){ "authorization", auth.buf };
		req.nheaders = n;
		rc = store_http_send(&req, resp);
	}
	sbuf_release(&auth);
	sbuf_release(&sts);
	sbuf_release(&url);
	sbuf_release(&path);
	return rc;
}

static bool container_missing(const struct store_response *resp)
{
	return resp->status == 404 && ((resp->error_code && !strcmp(resp->error_code, "ContainerNotFound")) ||
				       strstr(resp->body.buf, "<Code>ContainerNotFound</Code>"));
}

/* Runs a call with retries; 0 on a 2xx answer, else err names the blob and Azure's error code. */
static int azure_do(struct azure_call *c, struct store_response *resp, const char *what, struct alts_err *err)
{
	char label[600];
	int rc = store_http_with_retries(c->az->retries, azure_send_once, c, resp);

	if (c->blob)
		snprintf(label, sizeof(label), "%s '%s' in container '%s'", what, c->blob, c->container);
	else
		snprintf(label, sizeof(label), "%s container '%s'", what, c->container);
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (rc || resp->status < 200 || resp->status >= 300)
		return store_http_fail(err, "azure", label, resp);
	return 0;
}

/* Creates container; one that already exists (409) is fine. */
static int azure_create_container(struct azure_store *az, const char *container, struct alts_err *err)
{
	static const struct store_header q[] = { { "restype", "container" } };
	struct azure_call c = { .az = az, .method = "PUT", .container = container, .query = q, .nquery = 1 };
	struct store_response resp;
	int rc;

	store_response_init(&resp, AZURE_ERROR_BODY_MAX);
	rc = azure_do(&c, &resp, "create", err);
	if (rc && resp.status == 409) {
		alts_err_clear(err);
		rc = 0;
	}
	if (!rc)
		alts_log(ALTS_LOG_INFO, "azure", "created container '%s'", container);
	store_response_release(&resp);
	return rc;
}

/* An upload call that creates the container when Azure says it is missing, then tries once more. */
static int azure_upload(struct azure_call *c, const char *what, struct store_response *resp, struct alts_err *err)
{
	int rc = azure_do(c, resp, what, err);

	if (rc && container_missing(resp)) {
		alts_err_clear(err);
		rc = azure_create_container(c->az, c->container, err);
		if (!rc) {
			sbuf_reset(&resp->body);
			rc = azure_do(c, resp, what, err);
		}
	}
	return rc;
}

/* Content-MD5 of a body; reading a file may fail. */
static int azure_digests(struct store_digests *d, const struct store_body *body, const char *blob,
			 struct alts_err *err)
{
	int rc = store_body_digests(d, body);

	return rc ? alts_err_errno(err, ALTS_EENV, -rc, "cannot read the data for '%s'", blob) : 0;
}

static int azure_put_blob(struct azure_store *az, const char *container, const char *blob,
			  const struct store_body *body, const char *content_type, struct alts_err *err)
{
	struct store_digests d;
	struct store_header extra[3];
	struct azure_call c = { .az = az, .method = "PUT", .container = container, .blob = blob, .extra = extra,
				.nextra = 3, .body = *body };
	struct store_response resp;
	int rc = azure_digests(&d, body, blob, err);

	if (rc)
		return rc;
	extra[0] = (struct store_header){ "content-type", content_type };
	extra[1] = (struct store_header){ "content-md5", d.md5_b64 };
	extra[2] = (struct store_header){ "x-ms-blob-type", "BlockBlob" };
	store_response_init(&resp, AZURE_ERROR_BODY_MAX);
	rc = azure_upload(&c, "Put Blob", &resp, err);
	store_response_release(&resp);
	return rc;
}

/* Block ids must all have the same length: base64 of 18 bytes has no padding. */
static void block_id(char out[32], int n)
{
	char raw[19];
	struct sbuf sb = SBUF_INIT;

	/* Azure allows 50000 blocks per blob: seven digits always suffice. */
	snprintf(raw, sizeof(raw), "alts-block-%07u", (unsigned)n % 10000000u);
	store_base64(&sb, raw, 18);
	snprintf(out, 32, "%s", sb.len ? sb.buf : "");
	sbuf_release(&sb);
}

static int azure_put_block(struct azure_store *az, const char *container, const char *blob, int n,
			   const struct store_body *part, struct sbuf *list, struct alts_err *err)
{
	char id[32];
	struct store_digests d;
	struct store_header q[2], extra[1];
	struct azure_call c = { .az = az, .method = "PUT", .container = container, .blob = blob, .query = q,
				.nquery = 2, .extra = extra, .nextra = 1, .body = *part };
	struct store_response resp;
	int rc = azure_digests(&d, part, blob, err);

	if (rc)
		return rc;
	block_id(id, n);
	q[0] = (struct store_header){ "comp", "block" };
	q[1] = (struct store_header){ "blockid", id };
	extra[0] = (struct store_header){ "content-md5", d.md5_b64 };
	store_response_init(&resp, AZURE_ERROR_BODY_MAX);
	rc = azure_upload(&c, "Put Block", &resp, err);
	if (!rc)
		sbuf_addf(list, "<Latest>%s</Latest>", id);
	store_response_release(&resp);
	return rc;
}

static int azure_put_block_list(struct azure_store *az, const char *container, const char *blob, struct sbuf *list,
				const char *content_type, struct alts_err *err)
{
	static const struct store_header q[] = { { "comp", "blocklist" } };
	struct store_header extra[] = { { "content-type", "application/xml" },
					{ "x-ms-blob-content-type", content_type } };
	struct azure_call c = { .az = az, .method = "PUT", .container = container, .blob = blob, .query = q,
				.nquery = 1, .extra = extra, .nextra = 2 };
	struct store_response resp;
	int rc;

	sbuf_adds(list, "</BlockList>");
	if (!sbuf_ok(list))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	c.body.data = list->buf;
	c.body.len = list->len;
	store_response_init(&resp, AZURE_ERROR_BODY_MAX);
	rc = azure_do(&c, &resp, "Put Block List", err);
	store_response_release(&resp);
	return rc;
}

/*
 * Blocks of part_size (each streamed from the file, if it is one), then
 * the block list. Blocks never committed are discarded by Azure (after a
 * week): no abort call.
 */
static int azure_put_blocks(struct azure_store *az, const char *container, const char *blob,
			    const struct store_body *body, const char *content_type, struct alts_err *err)
{
	struct sbuf list = SBUF_INIT;
	size_t part = (size_t)az->part_size;
	int rc = 0, n = 0;

	if ((body->len + part - 1) / part > AZURE_MAX_BLOCKS)
		return alts_err_set(err, ALTS_EINVALID, "'%s' needs more than %d blocks: raise upload_part_size", blob,
				    AZURE_MAX_BLOCKS);
	sbuf_adds(&list, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (size_t off = 0; !rc && off < body->len; off += part) {
		struct store_body p = store_body_part(body, off, body->len - off < part ? body->len - off : part);

		rc = azure_put_block(az, container, blob, n++, &p, &list, err);
	}
	if (!rc)
		rc = azure_put_block_list(az, container, blob, &list, content_type, err);
	sbuf_release(&list);
	return rc;
}

static int azure_put_in(struct azure_store *az, const char *container, const char *key, const struct store_body *body,
			const char *content_type, struct alts_err *err)
{
	if (body->len > (size_t)az->part_size)
		return azure_put_blocks(az, container, key, body, content_type, err);
	return azure_put_blob(az, container, key, body, content_type, err);
}

static int azure_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			   const char *content_type, struct alts_err *err)
{
	struct azure_store *az = s->priv;
	struct store_body body = { .data = data, .len = len };

	return azure_put_in(az, az->logs_container, key, &body, content_type, err);
}

static int azure_put_summary(struct artifact_store *s, const char *key, const void *data, size_t len,
			     struct alts_err *err)
{
	struct azure_store *az = s->priv;
	struct store_body body = { .data = data, .len = len };

	return azure_put_in(az, az->container, key, &body, "application/json", err);
}

static int azure_put_file(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			  struct alts_err *err)
{
	struct azure_store *az = s->priv;
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
		rc = azure_put_in(az, az->logs_container, key, &body, content_type, err);
	}
	close(body.file.fd);
	return rc;
}

static int azure_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	struct azure_store *az = s->priv;
	struct azure_call c = { .az = az, .method = "GET", .container = az->logs_container, .blob = key };
	struct store_response resp;
	int rc;

	/* One byte more than max tells "cut" from "exactly max"; the transfer stops there. */
	store_response_init(&resp, max ? max + 1 : 0);
	rc = azure_do(&c, &resp, "Get Blob", err);
	if (!rc)
		rc = store_take_body(out, &resp, max, err);
	else if (rc != ALTS_ENOTFOUND && container_missing(&resp))
		rc = alts_err_set(err, ALTS_ENOTFOUND, "azure blob '%s' not found: container '%s' does not exist", key,
				  az->logs_container);
	store_response_release(&resp);
	return rc;
}

static int azure_url_op(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	struct azure_store *az = s->priv;
	struct azure_call c = { .az = az, .container = az->logs_container, .blob = key };
	struct sbuf path = SBUF_INIT, url = SBUF_INIT;

	azure_path(&path, &c);
	azure_url(&url, &c, path.buf);
	sbuf_release(&path);
	if (!sbuf_ok(&url)) {
		sbuf_release(&url);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = sbuf_detach(&url, NULL);
	return 0;
}

/* ---- open ---- */

static void azure_close(struct artifact_store *s)
{
	struct azure_store *az = s->priv;

	if (!az)
		return;
	azure__conn_release(&az->conn);
}

/* azure_connection_string, else what follows "azureblockblob://" in the backend (ALTS's form). */
static const char *azure_conn_string(const struct artifact_store *s, const struct azure_conf *c)
{
	if (c->connection_string && *c->connection_string)
		return c->connection_string;
	return s->backend_arg;
}

static int azure_validate(const struct artifact_store *s, const void *conf, struct alts_err *err)
{
	const struct azure_conf *c = conf;
	const char *conn = azure_conn_string(s, c);

	if (!conn || !*conn)
		return alts_err_set(err, ALTS_EINVALID,
				    "result backend 'azureblockblob' needs azure_connection_string (or "
				    "ALTS_AZURE_CONNECTION_STRING, azure_connection_string_file, azureblockblob://<connection string>)");
	if (!c->container || !*c->container)
		return alts_err_set(err, ALTS_EINVALID, "result backend 'azureblockblob' needs azureblockblob_container_name");
	return 0;
}

static const char *azure_base_path(const void *conf)
{
	const struct azure_conf *c = conf;

	return c->base_path ? c->base_path : "";
}

static int azure_open(struct artifact_store *s, struct alts_err *err)
{
	const struct artifact_store_config *cfg = &s->cfg;
	const struct azure_conf *c = s->conf;
	struct azure_store *az = s->priv;
	const char *host;
	int rc;

	rc = azure__parse_connection_string(&az->conn, azure_conn_string(s, c), err);
	if (rc)
		return rc;
	host = strstr(az->conn.endpoint, "://") + 3;
	az->endpoint_path = strchr(host, '/') ? strchr(host, '/') : host + strlen(host);
	az->container = c->container;
	az->logs_container = c->logs_container && *c->logs_container ? c->logs_container : c->container;
	az->part_size = cfg->part_size > 0 ? cfg->part_size : 8L << 20;
	az->retries = cfg->retries > 0 ? cfg->retries : 1;
	az->timeout = cfg->timeout;
	return 0;
}

const struct artifact_store_ops artifact_store_azure_ops = {
	.name = "azureblockblob",
	.abi = ARTIFACT_STORE_ABI,
	.url_form = "<connection string>",
	.keys = azure_keys,
	.conf_size = sizeof(struct azure_conf),
	.secrets = azure_secrets,
	.priv_size = sizeof(struct azure_store),
	.validate = azure_validate,
	.base_path = azure_base_path,
	.open = azure_open,
	.close = azure_close,
	.put_file = azure_put_file,
	.put_bytes = azure_put_bytes,
	.get = azure_get,
	.url = azure_url_op,
	.put_summary = azure_put_summary,
};
