#include "framework/common.h"
#include "framework/sbuf.h"
#include "worker/report_http.h"
#include "worker/wctx.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#define REPORT_HTTP_POOL 16              /* idle handles kept (their connections stay open) */
#define REPORT_HTTP_CONNECT_MS 2000L
#define REPORT_HTTP_DETAIL_MAX 512       /* of the scheduler's answer, for the message */

struct report_http {
	pthread_mutex_t lock;
	CURL *idle[REPORT_HTTP_POOL];
	size_t nidle;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe before 7.84: run it exactly once. */
static void report_http_curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int report_http_new(struct report_http **out, struct alts_err *err)
{
	struct report_http *h;

	pthread_once(&curl_once, report_http_curl_init);
	if (curl_init_rc != CURLE_OK)
		return alts_err_set(err, ALTS_EENV, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
	h = alts_calloc(1, sizeof(*h));
	if (!h)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

void report_http_free(struct report_http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	pthread_mutex_destroy(&h->lock);
	alts_free(h);
}

/* An idle handle (its connection kept), or a new one; NULL when out of memory. */
static CURL *handle_take(struct report_http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->nidle)
		c = h->idle[--h->nidle];
	pthread_mutex_unlock(&h->lock);
	return c ? c : curl_easy_init();
}

static void handle_put(struct report_http *h, CURL *c)
{
	pthread_mutex_lock(&h->lock);
	if (h->nidle < REPORT_HTTP_POOL) {
		h->idle[h->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (c)
		curl_easy_cleanup(c);
}

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	sbuf_add(payload, data, size * n);
	return size * n;  /* past the cap the rest is read and dropped: the connection stays usable */
}

/* One request on c: 0 with *status set, or the transport's failure in err. */
static int post_once(CURL *c, const char *url, struct curl_slist *headers, const char *body, size_t len,
		     long timeout_ms, long *status, struct sbuf *answer, struct alts_err *err)
{
	CURLcode cc;

	sbuf_reset(answer);
	curl_easy_reset(c);  /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, REPORT_HTTP_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		return alts_err_set(err, ALTS_EENV, "cannot reach the scheduler at '%s': %s", url, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int report_http_post(struct report_http *h, const char *base_url, const char *token, const char *task_id,
		     const char *body, size_t len, int attempts, long *status, struct alts_err *err)
{
	struct sbuf answer = SBUF_INIT;
	struct curl_slist *headers = NULL, *more;
	char *url = NULL, *auth = NULL;
	int64_t deadline = wctx_mono_ms() + REPORT_HTTP_BUDGET_MS;
	long pause_ms = 100;
	CURL *c = NULL;
	int rc;

	*status = 0;
	sbuf_init(&answer, REPORT_HTTP_DETAIL_MAX);
	url = alts_asprintf("%s/internal/tasks/%s/report", base_url, task_id);
	auth = alts_asprintf("Authorization: Bearer %s", token);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	more = headers ? curl_slist_append(headers, "Expect:") : NULL;  /* no 100-continue round trip */
	more = more ? curl_slist_append(more, auth ? auth : "") : NULL;
	if (!url || !auth || !more || !(c = handle_take(h))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 1;; i++) {
		int64_t left = deadline - wctx_mono_ms();

		rc = post_once(c, url, headers, body, len, (long)(left > 1 ? left : 1), status, &answer, err);
		if (!rc && *status >= 200 && *status < 300)
			break;
		if (!rc) {
			rc = alts_err_set(err, *status >= 500 ? ALTS_EENV : ALTS_EINVALID, "the scheduler answered %ld: %.*s",
					  *status, (int)answer.len, answer.buf);
		}
		if (rc == ALTS_EINVALID || i >= attempts || wctx_mono_ms() + pause_ms >= deadline)
			break;
		nanosleep(&(struct timespec){ pause_ms / 1000, (pause_ms % 1000) * 1000000L }, NULL);
		pause_ms *= 4;
	}
out:
	if (c)
		handle_put(h, c);
	curl_slist_free_all(headers);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	alts_free(auth);
	alts_free(url);
	sbuf_release(&answer);
	return rc;
}
