#include "framework/common.h"
#include "framework/log.h"
#include "scheduler/albs.h"
#include "scheduler/callback.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define CALLBACK_BATCH 32

struct callbacks {
	struct store *store;
	struct callback_opts opts;
	pthread_t thread;
	bool started;
	atomic_bool stop;
};

static size_t discard(char *ptr, size_t size, size_t n, void *payload)
{
	ALTS_UNUSED(ptr);
	ALTS_UNUSED(payload);
	return size * n;
}

/* POSTs body to url; true on a 2xx answer. */
static bool callback_post(CURL *curl, const char *url, const char *body, const char *token)
{
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	char *auth = token ? alts_asprintf("Authorization: Bearer %s", token) : NULL;

	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	long code = 0;
	CURLcode rc;

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		alts_free(auth);
	}
	if (rc != CURLE_OK)
		alts_log(ALTS_LOG_WARN, "callback", "callback POST failed: %s", curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		alts_log(ALTS_LOG_WARN, "callback", "callback POST answered %ld", code);
	return rc == CURLE_OK && code >= 200 && code <= 299;
}

struct cb_ctx {
	struct callbacks *c;
	CURL *curl;
};

/* The native body: {"api_version":"1","task_id","bs_task_id","state","result"}. */
static char *native_body(const struct store_task *t)
{
	json_t *result = t->result ? json_loads(t->result, 0, NULL) : NULL;
	json_t *body = json_pack("{s:s,s:s,s:o,s:s,s:o}", "api_version", "1", "task_id", t->id, "bs_task_id",
				 t->bs_task_id ? json_string(t->bs_task_id) : json_null(), "state", t->state, "result",
				 result ? result : json_null());
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	return text;
}

/* Seconds before attempt n+1: 1, 2, 4, ... capped. */
static int64_t backoff_ms(int attempt, bool albs)
{
	int64_t ms = 1000L << (attempt - 1 < 16 ? attempt - 1 : 16);
	int64_t cap = albs ? CALLBACK_ALBS_BACKOFF_MAX_MS : ms;

	return ms < cap ? ms : cap;
}

static int callback_one(const struct store_task *t, void *payload)
{
	struct cb_ctx *ctx = payload;
	const struct callback_opts *o = &ctx->c->opts;
	struct alts_err err = ALTS_ERR_INIT;
	bool albs = o->format == CALLBACK_ALBS;
	int attempt = t->callback_attempts + 1, done, max = albs ? CALLBACK_ALBS_MAX_ATTEMPTS : CALLBACK_MAX_ATTEMPTS;
	char *text = NULL, *url = NULL;

	if (albs) {
		struct albs_task at = { t->state, t->result, t->artifacts, t->error, t->created_ms, t->started_ms,
					t->finished_ms };

		text = albs_callback_body(&at);
	} else {
		text = native_body(t);
	}
	if (!text)
		return 0;
	if (albs_join_url(&url, o->bs_host, t->callback_href, &err)) {
		/* A relative href with no bs_host: nothing to retry. */
		alts_log(ALTS_LOG_ERROR, "callback", "task %s: %s; callback given up", t->id, err.msg);
		done = -1;
	} else if (callback_post(ctx->curl, url, text, albs ? o->bs_token : NULL)) {
		done = 1;
	} else {
		done = attempt >= max ? -1 : 0;
	}
	free(text);
	alts_free(url);
	if (done)
		alts_log(ALTS_LOG_INFO, "callback", "task %s: callback %s after %d attempt(s)", t->id,
			 done > 0 ? "delivered" : "given up", attempt);
	if (store_callback_result(ctx->c->store, t->id, done, store_now_ms() + backoff_ms(attempt, albs), &err))
		alts_log(ALTS_LOG_ERROR, "callback", "%s", err.msg);
	return atomic_load(&ctx->c->stop) ? 1 : 0;
}

static void *callbacks_main(void *arg)
{
	struct callbacks *c = arg;
	struct cb_ctx ctx = { c, curl_easy_init() };

	if (!ctx.curl) {
		alts_log(ALTS_LOG_ERROR, "callback", "cannot initialise libcurl; callbacks are disabled");
		return NULL;
	}
	while (!atomic_load(&c->stop)) {
		struct alts_err err = ALTS_ERR_INIT;
		int rc = store_pending_callbacks(c->store, store_now_ms(), CALLBACK_BATCH, callback_one, &ctx, &err);

		if (rc < 0)
			alts_log(ALTS_LOG_ERROR, "callback", "%s", err.msg);
		for (int i = 0; i < 5 && !atomic_load(&c->stop); i++)
			usleep(100000);
	}
	curl_easy_cleanup(ctx.curl);
	return NULL;
}

int callbacks_start(struct callbacks **out, struct store *store, const struct callback_opts *opts,
		    struct alts_err *err)
{
	struct callbacks *c = alts_calloc(1, sizeof(*c));
	int e;

	if (!c)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	c->store = store;
	if (opts)
		c->opts = *opts;
	e = pthread_create(&c->thread, NULL, callbacks_main, c);
	if (e) {
		alts_free(c);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the callback thread");
	}
	c->started = true;
	*out = c;
	return 0;
}

void callbacks_stop(struct callbacks *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	if (c->started)
		pthread_join(c->thread, NULL);
	alts_free(c);
}
