#include "framework/common.h"
#include "framework/log.h"
#include "farm/amqp_conn.h"
#include "farm/msg.h"
#include "scheduler/results.h"

#include <amqp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESULTS_BACKOFF_MAX_MS 10000
#define RESULTS_ACK_BATCH 32  /* at most this many committed reports before an ack (basic.qos is 64) */

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

/* A bad optional field is logged and left out (the state still counts). */
static void warn_field(const char *id, const char *field, const char *expected, void *payload)
{
	ALTS_UNUSED(payload);
	alts_log(ALTS_LOG_WARN, "results", "task %s: ignoring '%s': expected %s", id, field, expected);
}

int results_apply(struct store *store, const char *body, size_t len, const char *task_id, bool *applied,
		  struct alts_err *err)
{
	struct report_in in = REPORT_IN_INIT;
	struct task_report tr = { 0 };
	int rc = report_parse(&in, body, len, warn_field, NULL);

	*applied = false;
	if (rc == ALTS_ENOMEM) {
		alts_log(ALTS_LOG_ERROR, "results", "out of memory");
		return alts_err_set(err, rc, "out of memory");
	}
	if (rc) {
		alts_log(ALTS_LOG_WARN, "results", "dropping a malformed report (%zu bytes)", len);
		return alts_err_set(err, ALTS_EINVALID, "malformed report: expected a JSON object with task_id and state");
	}
	if (task_id && strcmp(task_id, in.task_id)) {
		alts_log(ALTS_LOG_WARN, "results", "dropping a report for task %s sent as one of %s", in.task_id, task_id);
		rc = alts_err_set(err, ALTS_EINVALID, "the report's task_id '%s' is not the task '%s' of the path",
				  in.task_id, task_id);
		goto out;
	}
	tr = (struct task_report){
		.state = in.state,
		.worker = in.worker,
		.result = in.result,
		.artifacts = in.artifacts,
		.artifacts_pending = in.artifacts_pending,
		.error = in.error,
		.has_progress = in.has_progress,
		.progress_done = in.progress_done,
		.progress_total = in.progress_total,
		.log = in.log,
	};
	rc = store_report(store, in.task_id, &tr, applied, err);
	if (rc == ALTS_EINVALID || rc == ALTS_ENOTFOUND)
		alts_log(ALTS_LOG_WARN, "results", "dropping report for task %s: %s", in.task_id, err->msg);
	else if (rc)
		alts_log(ALTS_LOG_ERROR, "results", "%s", err->msg);
	else
		alts_log(ALTS_LOG_INFO, "results", "task %s: %s%s%s%s", in.task_id, in.state, tr.worker ? " by " : "",
			 tr.worker ? tr.worker : "", *applied ? "" : " (ignored: the task has ended or was canceled)");
out:
	report_in_release(&in);
	return rc;
}

/* A report off the queue: 0 to ack it (committed, or dropped as malformed), else left for redelivery. */
static int results_consume(struct store *store, const char *body, size_t len)
{
	struct alts_err err = ALTS_ERR_INIT;
	bool applied;
	int rc = results_apply(store, body, len, NULL, &applied, &err);

	return rc == ALTS_EINVALID || rc == ALTS_ENOTFOUND ? 0 : rc;
}

static void *results_main(void *arg)
{
	struct results *r = arg;
	long backoff = 250;

	/*
	 * Acks are batched: a report is acked (multiple) once it is committed and no
	 * further delivery is already buffered, or every RESULTS_ACK_BATCH reports;
	 * never before its own commit. One ack frame for a burst instead of one each.
	 */
	uint64_t unacked = 0;
	unsigned pending = 0;

	while (!atomic_load(&r->stop)) {
		struct timeval tv = { 0, 500000 };
		amqp_envelope_t env;
		amqp_rpc_reply_t rep;

		if (r->conn && pending &&
		    (pending >= RESULTS_ACK_BATCH || (!amqp_data_in_buffer(r->conn) && !amqp_frames_enqueued(r->conn)))) {
			amqp_basic_ack(r->conn, 1, unacked, 1);
			pending = 0;
		}
		if (!r->conn) {
			pending = 0;  /* unacked deliveries of a lost connection come again */
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
		if (!results_consume(r->store, env.message.body.bytes, env.message.body.len)) {
			unacked = env.delivery_tag;
			pending++;
		} else {
			if (pending)
				amqp_basic_ack(r->conn, 1, unacked, 1);
			pending = 0;
			amqp_basic_reject(r->conn, 1, env.delivery_tag, 1);
		}
		amqp_destroy_envelope(&env);
	}
	if (r->conn && pending)
		amqp_basic_ack(r->conn, 1, unacked, 1);
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
