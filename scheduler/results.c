#include "framework/common.h"
#include "framework/log.h"
#include "farm/amqp_conn.h"
#include "scheduler/results.h"

#include <amqp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESULTS_BACKOFF_MAX_MS 10000
#define RESULTS_MAX_BYTES (4u << 20)

struct results {
	struct store *store;
	const struct farm_config *cfg;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	amqp_connection_state_t conn;
};

static int results_connect(struct results *r)
{
	const char *q = r->cfg->results_queue;
	int rc = amqp_conn_open(&r->conn, r->cfg, 0, "results");

	if (rc)
		return rc;
	amqp_queue_declare(r->conn, 1, amqp_cstring_bytes(q), 0, 1, 0, 0, amqp_empty_table);
	if (!amqp_conn_rpc_ok(r->conn, "results", "queue.declare"))
		goto fail;
	amqp_basic_qos(r->conn, 1, 0, 64, 0);
	if (!amqp_conn_rpc_ok(r->conn, "results", "basic.qos"))
		goto fail;
	amqp_basic_consume(r->conn, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if (!amqp_conn_rpc_ok(r->conn, "results", "basic.consume"))
		goto fail;
	alts_log(ALTS_LOG_INFO, "results", "consuming '%s'", q);
	return 0;
fail:
	amqp_conn_close(&r->conn, false);
	return ALTS_ERROR;
}

#define RESULTS_WORKER_MAX 256
#define RESULTS_ERROR_MAX 4096
#define RESULTS_ARTIFACTS_MAX 1024
#define RESULTS_LOG_CHUNK_MAX (256 << 10)

/* The optional fields of a report, checked; a bad one is logged and left out (the state still counts). */
static void report_fields(struct task_report *tr, json_t *j, const char *id, char **texts)
{
	json_t *worker = json_object_get(j, "worker");
	json_t *result = json_object_get(j, "result");
	json_t *artifacts = json_object_get(j, "artifacts");
	json_t *pending = json_object_get(j, "artifacts_pending");
	json_t *error = json_object_get(j, "error");
	json_t *progress = json_object_get(j, "progress");
	json_t *log = json_object_get(j, "log");
	const char *key;
	json_t *v;
	size_t i;
	bool ok;

	if (json_is_string(worker) && json_string_length(worker) && json_string_length(worker) <= RESULTS_WORKER_MAX)
		tr->worker = json_string_value(worker);
	else if (worker && !json_is_null(worker))
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'worker': expected a short string", id);
	if (json_is_object(result))
		tr->result = texts[0] = json_dumps(result, JSON_COMPACT);
	else if (result && !json_is_null(result))
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'result': expected an object", id);
	ok = json_is_object(artifacts) && json_object_size(artifacts) <= RESULTS_ARTIFACTS_MAX;
	json_object_foreach(ok ? artifacts : NULL, key, v)
		ok = ok && *key && json_is_string(v);
	if (ok)
		tr->artifacts = texts[1] = json_dumps(artifacts, JSON_COMPACT);
	else if (artifacts && !json_is_null(artifacts))
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'artifacts': expected an object of URLs", id);
	ok = json_is_array(pending) && json_array_size(pending) <= RESULTS_ARTIFACTS_MAX;
	json_array_foreach(ok ? pending : NULL, i, v)
		ok = ok && json_is_string(v);
	if (ok)
		tr->artifacts_pending = texts[2] = json_dumps(pending, JSON_COMPACT);
	else if (pending && !json_is_null(pending))
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'artifacts_pending': expected a list of names", id);
	if (json_is_string(error)) {
		/* Kept whole up to a bound; a longer one is cut (it is a message, not data). */
		texts[3] = alts_strndup(json_string_value(error), RESULTS_ERROR_MAX);
		tr->error = texts[3];
	} else if (error && !json_is_null(error)) {
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'error': expected a string", id);
	}
	/* NUL bytes would end the text early in SQLite; a chunk is cut at the first one. */
	if (json_is_string(log) && json_string_length(log) <= RESULTS_LOG_CHUNK_MAX)
		tr->log = json_string_value(log);
	else if (log && !json_is_null(log))
		alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'log': expected a string of at most %d bytes", id,
			 RESULTS_LOG_CHUNK_MAX);
	if (progress && !json_is_null(progress)) {
		json_t *done = json_object_get(progress, "done"), *total = json_object_get(progress, "total");

		if (json_is_integer(done) && json_is_integer(total) && json_integer_value(done) >= 0 &&
		    json_integer_value(total) >= 0) {
			tr->has_progress = true;
			tr->progress_done = json_integer_value(done);
			tr->progress_total = json_integer_value(total);
		} else {
			alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring 'progress': expected {done, total} integers",
				 id);
		}
	}
}

ALTS_TESTABLE int results__apply(struct store *store, const char *body, size_t len)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct task_report tr = { 0 };
	json_error_t jerr;
	json_t *j = len <= RESULTS_MAX_BYTES ? json_loadb(body, len, 0, &jerr) : NULL;
	const char *id = json_string_value(json_object_get(j, "task_id"));
	const char *state = json_string_value(json_object_get(j, "state"));
	char *texts[4] = { NULL, NULL, NULL, NULL };
	bool applied = false;
	int rc;

	if (!id || !state || !json_is_object(j)) {
		alts_log(ALTS_LOG_WARN, "results", "dropping a malformed report (%zu bytes)", len);
		json_decref(j);
		return 0;
	}
	tr.state = state;
	report_fields(&tr, j, id, texts);
	rc = store_report(store, id, &tr, &applied, &err);
	if (rc == ALTS_EINVALID || rc == ALTS_ENOTFOUND) {
		alts_log(ALTS_LOG_WARN, "results", "dropping report for task %s: %s", id, err.msg);
		rc = 0;
	} else if (rc) {
		alts_log(ALTS_LOG_ERROR, "results", "%s", err.msg);
	} else {
		alts_log(ALTS_LOG_INFO, "results", "task %s: %s%s%s%s", id, state, tr.worker ? " by " : "",
			 tr.worker ? tr.worker : "", applied ? "" : " (ignored: the task has ended or was canceled)");
	}
	free(texts[0]);
	free(texts[1]);
	free(texts[2]);
	alts_free(texts[3]);
	json_decref(j);
	return rc;
}

static void *results_main(void *arg)
{
	struct results *r = arg;
	long backoff = 250;

	while (!atomic_load(&r->stop)) {
		struct timeval tv = { 0, 500000 };
		amqp_envelope_t env;
		amqp_rpc_reply_t rep;

		if (!r->conn) {
			if (results_connect(r)) {
				for (long slept = 0; slept < backoff && !atomic_load(&r->stop); slept += 50)
					usleep(50000);
				backoff = backoff * 2 > RESULTS_BACKOFF_MAX_MS ? RESULTS_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = 250;
		}
		amqp_maybe_release_buffers(r->conn);
		rep = amqp_consume_message(r->conn, &env, &tv, 0);
		if (rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && rep.library_error == AMQP_STATUS_TIMEOUT)
			continue;
		if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
			alts_log(ALTS_LOG_WARN, "results", "lost the broker; reconnecting");
			amqp_conn_close(&r->conn, false);
			continue;
		}
		if (!results__apply(r->store, env.message.body.bytes, env.message.body.len))
			amqp_basic_ack(r->conn, 1, env.delivery_tag, 0);
		else
			amqp_basic_reject(r->conn, 1, env.delivery_tag, 1);
		amqp_destroy_envelope(&env);
	}
	amqp_conn_close(&r->conn, true);
	return NULL;
}

int results_start(struct results **out, struct store *store, const struct farm_config *cfg, struct alts_err *err)
{
	struct results *r = alts_calloc(1, sizeof(*r));
	int e;

	if (!r)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	r->store = store;
	r->cfg = cfg;
	e = pthread_create(&r->thread, NULL, results_main, r);
	if (e) {
		alts_free(r);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the results thread");
	}
	r->started = true;
	*out = r;
	return 0;
}

void results_stop(struct results *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	if (r->started)
		pthread_join(r->thread, NULL);
	alts_free(r);
}
