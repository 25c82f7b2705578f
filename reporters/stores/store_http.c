#include "framework/common.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "framework/alloc.h"
#include "framework/sbuf.h"
#include "reporters/stores/store_util.h"

/*
 * One HTTP request per call on its own curl easy handle: no handle is
 * shared, so any number of threads may upload through one store at once.
 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe before 7.84: run it exactly once. */
static void store_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void store_response_init(struct store_response *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	sbuf_init(&r->body, cap);
}

void store_response_release(struct store_response *r)
{
	sbuf_release(&r->body);
	alts_free(r->etag);
	alts_free(r->request_id);
	alts_free(r->error_code);
	memset(r, 0, sizeof(*r));
	r->body = (struct sbuf)SBUF_INIT;
}

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	struct store_response *r = payload;

	sbuf_add(&r->body, data, size * n);
	/* Past the cap nothing more is kept: stop the transfer (store_http_send knows it is no failure). */
	return r->body.capped ? 0 : size * n;
}

/* The value of header line "Name: value\r\n" when its name is name, else NULL; a new string. */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || strncasecmp(line, name, nlen) || line[nlen] != ':')
		return NULL;
	for (v = line + nlen + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return alts_strndup(v, (size_t)(end - v));
}

static void keep_header(char **slot, char *value)
{
	if (!value)
		return;
	alts_free(*slot);
	*slot = value;
}

/* Error answers carry the service's code in their body: keep that much of it whatever the cap. */
#define STORE_ERROR_BODY_KEEP (64u << 10)

static size_t on_header(char *data, size_t size, size_t n, void *payload)
{
	struct store_response *r = payload;
	size_t len = size * n;
	int status;

	/* A status line; a redirect or 100 Continue may come before the final one. */
	if (len > 12 && !strncmp(data, "HTTP/", 5) && sscanf(data, "HTTP/%*s %d", &status) == 1) {
		if (status >= 300 && r->body.cap && r->body.cap < STORE_ERROR_BODY_KEEP)
			r->body.cap = STORE_ERROR_BODY_KEEP;
	}

	keep_header(&r->etag, header_value(data, len, "etag"));
	keep_header(&r->request_id, header_value(data, len, "x-amz-request-id"));
	keep_header(&r->request_id, header_value(data, len, "x-ms-request-id"));
	keep_header(&r->error_code, header_value(data, len, "x-ms-error-code"));
	return len;
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	/* "Name;" sends an empty header; "Name:" (value "") removes one curl would add. */
	char *line = value && *value ? alts_asprintf("%s: %s", name, value)
				     : alts_asprintf(value ? "%s:" : "%s;", name);
	struct curl_slist *n;

	if (!line)
		return ALTS_ENOMEM;
	n = curl_slist_append(*list, line);
	alts_free(line);
	if (!n)
		return ALTS_ENOMEM;
	*list = n;
	return 0;
}

/*
 * The signed headers, plus suppressions of what curl would add on its
 * own: a form Content-Type (Azure signs Content-Type, so an unsigned one
 * breaks the signature) and Expect: 100-continue.
 */
static int build_headers(struct curl_slist **out, const struct store_request *req)
{
	struct curl_slist *list = NULL;
	bool has_ct = false;
	int rc = 0;

	for (size_t i = 0; !rc && i < req->nheaders; i++) {
		if (!strcasecmp(req->headers[i].name, "content-type"))
			has_ct = true;
		rc = add_header(&list, req->headers[i].name, req->headers[i].value);
	}
	if (!rc && !has_ct && !req->form)
		rc = add_header(&list, "Content-Type", "");
	if (!rc)
		rc = add_header(&list, "Expect", "");
	if (rc) {
		curl_slist_free_all(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* Where the streamed body has got to; curl may rewind it (seek_body). */
struct body_reader {
	const struct store_file_range *file;
	size_t len;
	size_t pos;
};

static size_t read_body(char *buf, size_t size, size_t n, void *payload)
{
	struct body_reader *r = payload;
	size_t want = size * n;
	ssize_t got;

	if (want > r->len - r->pos)
		want = r->len - r->pos;
	if (!want)
		return 0;
	do
		got = pread(r->file->fd, buf, want, r->file->off + (off_t)r->pos);
	while (got < 0 && errno == EINTR);
	/* A short file makes curl fail the request ("read function returned..."): a retry reads again. */
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	r->pos += (size_t)got;
	return (size_t)got;
}

static int seek_body(void *payload, curl_off_t offset, int origin)
{
	struct body_reader *r = payload;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > r->len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* The multipart body of req->form; NULL when out of memory or a part cannot be built. */
static curl_mime *build_form(CURL *c, const struct store_request *req)
{
	curl_mime *mime = curl_mime_init(c);
	bool ok = mime != NULL;

	for (size_t i = 0; ok && i < req->nform; i++) {
		const struct store_form_part *f = &req->form[i];
		curl_mimepart *part = curl_mime_addpart(mime);

		ok = part && curl_mime_name(part, f->name) == CURLE_OK;
		if (ok && f->file_path)
			ok = curl_mime_filedata(part, f->file_path) == CURLE_OK;
		else if (ok && f->data)
			ok = curl_mime_data(part, f->data, f->data_len) == CURLE_OK;
		else if (ok)
			ok = curl_mime_data(part, f->value ? f->value : "", CURL_ZERO_TERMINATED) == CURLE_OK;
		if (ok && (f->file_path || f->data)) {
			ok = curl_mime_filename(part, f->filename ? f->filename : "file") == CURLE_OK &&
			     curl_mime_type(part, f->content_type ? f->content_type : "application/octet-stream") ==
				     CURLE_OK;
		}
	}
	if (!ok) {
		curl_mime_free(mime);
		return NULL;
	}
	return mime;
}

static void set_method(CURL *c, const struct store_request *req, struct body_reader *reader)
{
	if (req->form) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(req->method, "POST") ? req->method : NULL);
	} else if (req->body_file) {
		*reader = (struct body_reader){ .file = req->body_file, .len = req->body_len };
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c, CURLOPT_READDATA, reader);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, reader);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		/* Any other verb carries a body, possibly empty (Content-Length: 0). */
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
}

int store_http_send(const struct store_request *req, struct store_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body_reader reader;
	struct curl_slist *headers = NULL;
	curl_mime *mime = NULL;
	CURL *c;
	CURLcode cc;
	int rc;

	pthread_once(&curl_once, store_curl_init);
	resp->status = 0;
	resp->transport_error = false;
	c = curl_easy_init();
	if (!c)
		return ALTS_ENOMEM;
	rc = build_headers(&headers, req);
	if (rc) {
		curl_easy_cleanup(c);
		return rc;
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (req->timeout > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout * 1000));
	set_method(c, req, &reader);
	if (req->form) {
		mime = build_form(c, req);
		if (!mime) {
			curl_slist_free_all(headers);
			curl_easy_cleanup(c);
			return ALTS_ENOMEM;
		}
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_WRITE_ERROR && resp->body.capped)
		cc = CURLE_OK;  /* on_body stopped a body longer than wanted */
	if (cc != CURLE_OK) {
		resp->transport_error = true;
		snprintf(resp->transport_msg, sizeof(resp->transport_msg), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		resp->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	curl_mime_free(mime);
	return resp->transport_error ? ALTS_EENV : 0;
}

int store_http_with_retries(long attempts, int (*send_once)(void *payload, struct store_response *resp),
			    void *payload, struct store_response *resp)
{
	int rc = 0;

	if (attempts < 1)
		attempts = 1;
	for (long n = 1; n <= attempts; n++) {
		if (n > 1) {
			store_backoff((int)n);
			sbuf_reset(&resp->body);
			resp->body.capped = false;
		}
		rc = send_once(payload, resp);
		if (rc && !resp->transport_error)
			return rc;  /* a local failure (out of memory): retrying will not help */
		if (!store_http_retryable(resp))
			return 0;
	}
	return resp->transport_error ? ALTS_EENV : 0;
}

bool store_http_retryable(const struct store_response *resp)
{
	return resp->transport_error || resp->status == 408 || resp->status == 429 || resp->status >= 500;
}

void store_backoff(int attempt)
{
	const char *env = getenv("ALTS_STORE_BACKOFF_MS");
	long base_ms = 200, ms;
	struct timespec ts;
	int shift = attempt - 2;

	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (!*end && v >= 0)
			base_ms = v;
	}
	if (shift < 0)
		shift = 0;
	if (shift > 10)
		shift = 10;
	ms = base_ms << shift;
	if (ms > 10000)
		ms = 10000;
	/* Up to 25% jitter so that threads that failed together do not retry together. */
	if (ms > 4) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ms += (long)((unsigned long)ts.tv_nsec % (unsigned long)(ms / 4));
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The text between <tag> and </tag> in an XML error body, into out; false when absent. */
static bool xml_text(char *out, size_t size, const char *body, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(body, open);
	if (!a)
		return false;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return false;
	snprintf(out, size, "%.*s", (int)(b - a), a);
	return true;
}

int store_http_fail(struct alts_err *err, const char *service, const char *what, const struct store_response *resp)
{
	char code[128] = "", msg[512] = "", rid[192] = "";

	if (resp->transport_error)
		return alts_err_set(err, resp->timed_out ? ALTS_ETIMEOUT : ALTS_EENV, "%s %s failed: %s", service, what,
				    resp->transport_msg);
	if (!xml_text(code, sizeof(code), resp->body.buf, "Code") && resp->error_code)
		snprintf(code, sizeof(code), "%s", resp->error_code);
	xml_text(msg, sizeof(msg), resp->body.buf, "Message");
	/* Azure puts newlines and the request id into Message: keep the first line. */
	msg[strcspn(msg, "\r\n")] = '\0';
	if (resp->status == 404 && (!code[0] || !strcmp(code, "NoSuchKey") || !strcmp(code, "BlobNotFound")))
		return alts_err_set(err, ALTS_ENOTFOUND, "%s %s failed: HTTP 404 %s", service, what,
				    code[0] ? code : "not found");
	if (resp->request_id)
		snprintf(rid, sizeof(rid), " (request id %s)", resp->request_id);
	return alts_err_set(err, ALTS_EENV, "%s %s failed: HTTP %ld%s%s%s%s%s", service, what, resp->status,
			    code[0] ? " " : "", code, msg[0] ? ": " : "", msg, rid);
}

int store_take_body(struct sbuf *out, const struct store_response *resp, size_t max, struct alts_err *err)
{
	size_t n = resp->body.len;

	if (resp->body.oom)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (max && n > max) {
		n = max;
		out->capped = true;
	}
	sbuf_add(out, resp->body.buf, n);
	return sbuf_ok(out) ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}
