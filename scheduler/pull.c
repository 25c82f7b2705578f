#include "framework/common.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "scheduler/pull.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <unistd.h>

#define PULL_ANSWER_MAX ((size_t)16 << 20)
#define PULL_BATCH_MAX 1000
#define PULL_TIMEOUT_S 30L
#define PULL_BACKOFF_MAX_S 300.0

struct pull {
	const struct settings *cfg;
	struct store *store;
	struct outbox *outbox;
	struct payload_rules rules;
	char *url;
	pthread_t thread;
	bool started;
	atomic_bool stop;
};

static int new_id(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* One payload: validated into a row (strings in a), or a reason. 1: skipped (active already). */
static int pull_one(struct store *store, const struct payload_rules *rules, json_t *item, struct arena *a,
		    struct store_new_task *row, struct alts_err *err)
{
	struct task_request tr;
	char *text = json_dumps(item, JSON_COMPACT), *msg = NULL, *active = NULL, id[37];
	int rc;

	if (!text)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = payload_parse(&tr, a, rules, text, strlen(text), err);
	free(text);
	if (rc)
		return rc;
	if (!tr.bs_task_id)
		return alts_err_set(err, ALTS_EINVALID, "bs_task_id: required in pull mode");
	rc = store_bs_active(store, tr.bs_task_id, &active, err);
	if (rc)
		return rc;
	if (active) {
		alts_log(ALTS_LOG_INFO, "pull", "bs_task_id %s: already task %s; skipped", tr.bs_task_id, active);
		alts_free(active);
		return 1;
	}
	if (new_id(id))
		return alts_err_set(err, ALTS_EENV, "cannot generate a task id");
	rc = payload_message(&msg, &tr, id, err);
	if (rc)
		return rc;
	*row = (struct store_new_task){ arena_strdup(a, id), tr.queue, tr.bs_task_id, tr.callback_href,
					arena_strdup(a, msg), 0 };
	alts_free(msg);
	return row->id && row->message ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

int pull_commit(struct store *store, const struct payload_rules *rules, const char *text, size_t len, int *queued,
		int *skipped, int *invalid, struct alts_err *err)
{
	json_error_t jerr;
	json_t *list = json_loadb(text, len, 0, &jerr), *item;
	struct store_new_task *rows = NULL;
	struct arena *a = NULL;
	size_t i, n = 0;
	int rc = 0;

	*queued = *skipped = *invalid = 0;
	if (!json_is_array(list)) {
		rc = alts_err_set(err, ALTS_EINVALID, "expected a JSON list of tasks%s%s", list ? "" : ": ",
				  list ? "" : jerr.text);
		goto out;
	}
	if (json_array_size(list) > PULL_BATCH_MAX) {
		rc = alts_err_set(err, ALTS_EINVALID, "%zu tasks in one answer (at most %d)", json_array_size(list),
				  PULL_BATCH_MAX);
		goto out;
	}
	a = arena_new();
	rows = alts_calloc(json_array_size(list) + 1, sizeof(*rows));
	if (!a || !rows) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, item) {
		struct alts_err e = ALTS_ERR_INIT;
		json_t *bid = json_object_get(item, "bs_task_id");
		int r = json_is_object(item) ? pull_one(store, rules, item, a, &rows[n], &e)
					    : alts_err_set(&e, ALTS_EINVALID, "expected an object");

		for (size_t k = 0; !r && k < n; k++) {
			if (!strcmp(rows[k].bs_task_id, rows[n].bs_task_id))
				r = 1;  /* twice in one answer */
		}
		if (r == 1) {
			(*skipped)++;
		} else if (r == ALTS_ENOMEM) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		} else if (r) {
			/* The Build System marked it started; it stays so there (docs/albs.md). */
			(*invalid)++;
			alts_log(ALTS_LOG_ERROR, "pull", "task %zu (bs_task_id %lld) refused: %s", i,
				 json_is_integer(bid) ? (long long)json_integer_value(bid) : -1LL, e.msg);
		} else {
			n++;
		}
	}
	if (n && store_insert_many(store, rows, n, err)) {
		for (i = 0; i < n; i++)
			*queued += rows[i].rc == 0;
		rc = *queued ? 0 : ALTS_ERROR;
		goto out;
	}
	*queued = (int)n;
out:
	alts_free(rows);
	arena_free(a);
	json_decref(list);
	return rc;
}

static size_t collect(char *ptr, size_t size, size_t n, void *payload)
{
	struct sbuf *sb = payload;

	sbuf_add(sb, ptr, size * n);
	return sb->capped || !sbuf_ok(sb) ? 0 : size * n;
}

/* One poll; 0 when the Build System answered a list (committed). */
static int poll_once(struct pull *p, CURL *curl)
{
	struct sbuf body = SBUF_INIT;
	struct curl_slist *hdrs = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	char *auth = p->cfg->bs_token ? alts_asprintf("Authorization: Bearer %s", p->cfg->bs_token) : NULL;
	long code = 0;
	int rc = ALTS_ERROR, queued, skipped, invalid;
	CURLcode cr;

	sbuf_init(&body, PULL_ANSWER_MAX);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, p->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, PULL_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	cr = curl_easy_perform(curl);
	if (cr == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		alts_free(auth);
	}
	if (cr != CURLE_OK) {
		alts_log(ALTS_LOG_WARN, "pull", "GET %s failed: %s", p->url,
			 body.capped ? "answer larger than 16 MiB" : curl_easy_strerror(cr));
	} else if (code != 200) {
		alts_log(ALTS_LOG_WARN, "pull", "GET %s answered %ld%s", p->url, code,
			 code == 401 || code == 403 ? " (check bs_token)" : "");
	} else if ((rc = pull_commit(p->store, &p->rules, body.buf ? body.buf : "", body.len, &queued, &skipped,
				     &invalid, &err))) {
		alts_log(ALTS_LOG_WARN, "pull", "GET %s: %s", p->url, err.msg);
	} else {
		if (queued || skipped || invalid)
			alts_log(ALTS_LOG_INFO, "pull", "%d task(s) queued, %d already queued, %d refused", queued,
				 skipped, invalid);
		if (queued && p->outbox)
			outbox_kick(p->outbox);
	}
	sbuf_release(&body);
	return rc;
}

static void *pull_main(void *arg)
{
	struct pull *p = arg;
	CURL *curl = curl_easy_init();
	double wait = p->cfg->bs_poll_interval;

	if (!curl) {
		alts_log(ALTS_LOG_ERROR, "pull", "cannot initialise libcurl; pull mode is off");
		return NULL;
	}
	alts_log(ALTS_LOG_WARN, "pull", "polling %s every %g s", p->url, p->cfg->bs_poll_interval);
	while (!atomic_load(&p->stop)) {
		if (poll_once(p, curl))
			wait = wait * 2 > PULL_BACKOFF_MAX_S ? PULL_BACKOFF_MAX_S : wait * 2;
		else
			wait = p->cfg->bs_poll_interval;
		for (long slept = 0; slept < (long)(wait * 1000) && !atomic_load(&p->stop); slept += 50)
			usleep(50000);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

int pull_start(struct pull **out, const struct settings *cfg, struct store *store, struct outbox *outbox,
	       struct alts_err *err)
{
	struct pull *p = alts_calloc(1, sizeof(*p));
	const char *host = cfg->bs_host, *ep = cfg->bs_tasks_endpoint;
	size_t hl;
	int e;

	if (!p)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	hl = strlen(host);
	while (hl && host[hl - 1] == '/')
		hl--;
	p->url = alts_asprintf("%.*s%s%s", (int)hl, host, *ep == '/' ? "" : "/", ep);
	p->cfg = cfg;
	p->store = store;
	p->outbox = outbox;
	p->rules = (struct payload_rules){ &cfg->supported_architectures, &cfg->supported_runners,
					   &cfg->supported_distributions, cfg->farm.default_cost, true,
					   &cfg->runner_types, !cfg->enable_integrity_tests,
					   cfg->farm.distribution_queues };
	if (!p->url) {
		alts_free(p);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	e = pthread_create(&p->thread, NULL, pull_main, p);
	if (e) {
		alts_free(p->url);
		alts_free(p);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the pull thread");
	}
	p->started = true;
	*out = p;
	return 0;
}

void pull_stop(struct pull *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, true);
	if (p->started)
		pthread_join(p->thread, NULL);
	alts_free(p->url);
	alts_free(p);
}
