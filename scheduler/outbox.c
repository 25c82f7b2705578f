#include "framework/common.h"
#include "framework/log.h"
#include "scheduler/amqp_conn.h"
#include "scheduler/outbox.h"

#include <amqp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>

#define OUTBOX_BATCH 256
#define OUTBOX_CONFIRM_TIMEOUT_MS 10000
#define OUTBOX_BACKOFF_MIN_MS 250
#define OUTBOX_BACKOFF_MAX_MS 10000
#define OUTBOX_MAX_QUEUES 64

static const double latency_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };

struct outbox {
	struct store *store;
	const struct sched_config *cfg;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool kicked;

	/* Owned by the thread. */
	amqp_connection_state_t conn;
	char *declared[OUTBOX_MAX_QUEUES];
	size_t ndeclared;
	bool cancel_declared;  /* the cancel exchange, on this connection */
	int64_t cancel_after_ms;  /* declaring it failed: no cancels before then (tasks go on) */

	atomic_bool connected;
	atomic_uint_fast64_t published;
	atomic_uint_fast64_t failures;
	atomic_uint_fast64_t reconnects;
	atomic_uint_fast64_t cancels;
	/* Publish latency (commit to confirm), under lock. */
	uint64_t latency_count;
	double latency_sum;
	uint64_t latency_bucket[ALTS_ARRAY_SIZE(latency_buckets)];
};

struct pending {
	struct store_task task;
	uint64_t tag;
	int state;  /* 0 waiting, 1 acked, -1 nacked */
};

struct batch {
	struct pending *p;
	size_t n;
};

static void outbox_disconnect(struct outbox *o)
{
	if (!o->conn)
		return;
	/* A clean close when we can; a dead socket just gets destroyed. */
	amqp_conn_close(&o->conn, atomic_load(&o->connected));
	for (size_t i = 0; i < o->ndeclared; i++)
		alts_free(o->declared[i]);
	o->ndeclared = 0;
	o->cancel_declared = false;
	atomic_store(&o->connected, false);
}

static int outbox_connect(struct outbox *o)
{
	int rc = amqp_conn_open(&o->conn, o->cfg, 0, "outbox");

	if (rc)
		return rc;
	atomic_store(&o->connected, true);
	amqp_confirm_select(o->conn, 1);
	if (!amqp_conn_rpc_ok(o->conn, "outbox", "confirm.select")) {
		atomic_store(&o->connected, false);
		outbox_disconnect(o);
		return ALTS_ERROR;
	}
	return 0;
}

static int declare_queue(struct outbox *o, const char *queue)
{
	for (size_t i = 0; i < o->ndeclared; i++) {
		if (!strcmp(o->declared[i], queue))
			return 0;
	}
	amqp_queue_declare(o->conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
	if (!amqp_conn_rpc_ok(o->conn, "outbox", "queue.declare"))
		return ALTS_ERROR;
	if (o->ndeclared < OUTBOX_MAX_QUEUES)
		o->declared[o->ndeclared++] = alts_strdup(queue);
	return 0;
}

static int collect(const struct store_task *t, void *payload)
{
	struct batch *b = payload;
	struct pending *p = &b->p[b->n++];

	/* Take the strings over: run_rows releases the original afterwards. */
	p->task = *t;
	p->task.id = alts_strdup(t->id);
	p->task.queue = alts_strdup(t->queue);
	p->task.message = alts_strdup(t->message);
	p->task.state = p->task.bs_task_id = p->task.callback_href = p->task.result = NULL;
	if (!p->task.id || !p->task.queue || !p->task.message) {
		store_task_release(&p->task);
		b->n--;
		return ALTS_ENOMEM;
	}
	return 0;
}

static void resolve(struct batch *b, uint64_t tag, bool multiple, int state)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->p[i].state == 0 && (b->p[i].tag == tag || (multiple && b->p[i].tag <= tag)))
			b->p[i].state = state;
	}
}

static size_t waiting(const struct batch *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		n += b->p[i].state == 0;
	return n;
}

/* Reads confirms until every message of the batch is acked or nacked. */
static int wait_confirms(struct outbox *o, struct batch *b)
{
	int64_t deadline = store_now_ms() + OUTBOX_CONFIRM_TIMEOUT_MS;

	while (waiting(b)) {
		struct timeval tv = { 1, 0 };
		amqp_frame_t frame;
		int status;

		if (store_now_ms() > deadline) {
			alts_log(ALTS_LOG_WARN, "outbox", "no publisher confirm within %d ms", OUTBOX_CONFIRM_TIMEOUT_MS);
			return ALTS_ETIMEOUT;
		}
		amqp_maybe_release_buffers(o->conn);
		status = amqp_simple_wait_frame_noblock(o->conn, &frame, &tv);
		if (status == AMQP_STATUS_TIMEOUT)
			continue;
		if (status != AMQP_STATUS_OK) {
			alts_log(ALTS_LOG_WARN, "outbox", "lost the broker while waiting for confirms: %s",
				 amqp_error_string2(status));
			atomic_store(&o->connected, false);
			return ALTS_ERROR;
		}
		if (frame.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (frame.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *ack = frame.payload.method.decoded;

			resolve(b, ack->delivery_tag, ack->multiple, 1);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *nack = frame.payload.method.decoded;

			resolve(b, nack->delivery_tag, nack->multiple, -1);
			break;
		}
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			alts_log(ALTS_LOG_WARN, "outbox", "the broker closed the channel");
			atomic_store(&o->connected, false);
			return ALTS_ERROR;
		default:
			break;
		}
	}
	return 0;
}

static void record_latency(struct outbox *o, int64_t created_ms, int64_t now_ms)
{
	double s = (double)(now_ms - created_ms) / 1000.0;

	pthread_mutex_lock(&o->lock);
	o->latency_count++;
	o->latency_sum += s;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(latency_buckets); i++) {
		if (s <= latency_buckets[i])
			o->latency_bucket[i]++;
	}
	pthread_mutex_unlock(&o->lock);
}

/*
 * Publishes every message of the batch (persistent JSON, message_id = task
 * id) to exchange, routed by each task's queue when by_queue, and waits for
 * the broker's confirms (each entry's state). An error means reconnect.
 */
static int publish_confirmed(struct outbox *o, struct batch *b, amqp_bytes_t exchange, bool by_queue,
			     const char *what, uint64_t *next_tag)
{
	for (size_t i = 0; i < b->n; i++) {
		amqp_basic_properties_t props;

		memset(&props, 0, sizeof(props));
		props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
		props.content_type = amqp_cstring_bytes("application/json");
		props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
		props.message_id = amqp_cstring_bytes(b->p[i].task.id);
		if (amqp_basic_publish(o->conn, 1, exchange,
				       by_queue ? amqp_cstring_bytes(b->p[i].task.queue) : amqp_empty_bytes, 0, 0, &props,
				       amqp_cstring_bytes(b->p[i].task.message)) != AMQP_STATUS_OK) {
			alts_log(ALTS_LOG_WARN, "outbox", "cannot publish %s %s", what, b->p[i].task.id);
			atomic_store(&o->connected, false);
			return ALTS_ERROR;
		}
		b->p[i].tag = ++*next_tag;
	}
	return b->n ? wait_confirms(o, b) : 0;
}

/* Publishes one batch; 0 with *count set, or an error (reconnect). */
static int publish_batch(struct outbox *o, uint64_t *next_tag, size_t *count)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct batch b = { NULL, 0 };
	int rc;

	*count = 0;
	b.p = alts_calloc(OUTBOX_BATCH, sizeof(*b.p));
	if (!b.p)
		return ALTS_ENOMEM;
	rc = store_unpublished(o->store, OUTBOX_BATCH, collect, &b, &err);
	if (rc) {
		alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < b.n && !rc; i++)
		rc = declare_queue(o, b.p[i].task.queue);
	if (!rc)
		rc = publish_confirmed(o, &b, amqp_empty_bytes, true, "task", next_tag);
	if (b.n) {
		const char *ids[OUTBOX_BATCH];
		size_t nids = 0;

		for (size_t i = 0; i < b.n; i++) {
			if (b.p[i].state == 1)
				ids[nids++] = b.p[i].task.id;
		}
		if (store_mark_published_many(o->store, ids, nids, store_now_ms(), &err))
			alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
	}
	for (size_t i = 0; i < b.n; i++) {
		if (b.p[i].state == 1) {
			record_latency(o, b.p[i].task.created_ms, store_now_ms());
			atomic_fetch_add(&o->published, 1);
			(*count)++;
		} else if (b.p[i].state == -1) {
			atomic_fetch_add(&o->failures, 1);
			alts_log(ALTS_LOG_WARN, "outbox", "the broker refused task %s; will retry", b.p[i].task.id);
		}
	}
out:
	for (size_t i = 0; i < b.n; i++)
		store_task_release(&b.p[i].task);
	alts_free(b.p);
	return rc;
}

static int collect_cancel(const struct store_task *t, void *payload)
{
	struct batch *b = payload;
	struct pending *p = &b->p[b->n];
	json_t *j = json_pack("{s:s}", "task_id", t->id);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	memset(p, 0, sizeof(*p));
	p->task.id = alts_strdup(t->id);
	p->task.message = body ? alts_strdup(body) : NULL;
	free(body);
	if (!p->task.id || !p->task.message) {
		store_task_release(&p->task);
		return ALTS_ENOMEM;
	}
	b->n++;
	return 0;
}

/*
 * Announces the cancels of published tasks on the fanout exchange
 * cfg->cancel_exchange ({"task_id"}, persistent, confirmed) and clears
 * cancel_pending for each one the broker confirmed; the rest is retried
 * on the next round. 0, or an error (reconnect).
 */
static int publish_cancels(struct outbox *o, uint64_t *next_tag)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct batch b = { NULL, 0 };
	amqp_bytes_t exchange = amqp_cstring_bytes(o->cfg->cancel_exchange);
	int rc;

	if (store_now_ms() < o->cancel_after_ms)
		return 0;
	b.p = alts_calloc(OUTBOX_BATCH, sizeof(*b.p));
	if (!b.p)
		return ALTS_ENOMEM;
	rc = store_pending_cancels(o->store, OUTBOX_BATCH, collect_cancel, &b, &err);
	if (rc) {
		alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
		goto out;
	}
	if (b.n && !o->cancel_declared) {
		amqp_exchange_declare(o->conn, 1, exchange, amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
		if (!amqp_conn_rpc_ok(o->conn, "outbox", "exchange.declare")) {
			alts_log(ALTS_LOG_ERROR, "outbox",
				 "cannot declare the cancel exchange '%s' (fanout, durable); retrying in %d s",
				 o->cfg->cancel_exchange, OUTBOX_BACKOFF_MAX_MS / 1000);
			/* The broker closed the channel: reconnect for the tasks, but do not spin on this. */
			o->cancel_after_ms = store_now_ms() + OUTBOX_BACKOFF_MAX_MS;
			rc = ALTS_ERROR;
			goto out;
		}
		o->cancel_declared = true;
	}
	if (!rc)
		rc = publish_confirmed(o, &b, exchange, false, "the cancel of task", next_tag);
	for (size_t i = 0; i < b.n; i++) {
		if (b.p[i].state == 1) {
			if (store_cancel_sent(o->store, b.p[i].task.id, &err))
				alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
			atomic_fetch_add(&o->cancels, 1);
			alts_log(ALTS_LOG_INFO, "outbox", "announced the cancel of task %s", b.p[i].task.id);
		} else if (b.p[i].state == -1) {
			atomic_fetch_add(&o->failures, 1);
			alts_log(ALTS_LOG_WARN, "outbox", "the broker refused the cancel of task %s; will retry",
				 b.p[i].task.id);
		}
	}
out:
	for (size_t i = 0; i < b.n; i++)
		store_task_release(&b.p[i].task);
	alts_free(b.p);
	return rc;
}

/* Sleeps up to ms or until kicked or stopped. */
static void outbox_wait(struct outbox *o, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->lock);
	while (!o->stop && !o->kicked) {
		if (pthread_cond_timedwait(&o->cond, &o->lock, &ts))
			break;
	}
	o->kicked = false;
	pthread_mutex_unlock(&o->lock);
}

static bool outbox_stopping(struct outbox *o)
{
	bool stop;

	pthread_mutex_lock(&o->lock);
	stop = o->stop;
	pthread_mutex_unlock(&o->lock);
	return stop;
}

static void *outbox_main(void *arg)
{
	struct outbox *o = arg;
	long backoff = OUTBOX_BACKOFF_MIN_MS;
	uint64_t next_tag = 0;

	while (!outbox_stopping(o)) {
		size_t count = 0;

		if (!o->conn) {
			if (outbox_connect(o)) {
				outbox_wait(o, backoff);
				backoff = backoff * 2 > OUTBOX_BACKOFF_MAX_MS ? OUTBOX_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			atomic_fetch_add(&o->reconnects, 1);
			backoff = OUTBOX_BACKOFF_MIN_MS;
			next_tag = 0;
		}
		/* Tasks first: a cancel then follows a task canceled while its message was in flight. */
		if (publish_batch(o, &next_tag, &count) || publish_cancels(o, &next_tag)) {
			outbox_disconnect(o);
			continue;
		}
		if (count < OUTBOX_BATCH)
			outbox_wait(o, 1000);
	}
	outbox_disconnect(o);
	return NULL;
}

int outbox_start(struct outbox **out, struct store *store, const struct sched_config *cfg, struct alts_err *err)
{
	struct outbox *o = alts_calloc(1, sizeof(*o));
	int e;

	if (!o)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	o->store = store;
	o->cfg = cfg;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	e = pthread_create(&o->thread, NULL, outbox_main, o);
	if (e) {
		outbox_stop(o);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the outbox thread");
	}
	o->started = true;
	*out = o;
	return 0;
}

void outbox_kick(struct outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->kicked = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

void outbox_stop(struct outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stop = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (o->started)
		pthread_join(o->thread, NULL);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	alts_free(o);
}

bool outbox_connected(struct outbox *o)
{
	return o && atomic_load(&o->connected);
}

void outbox_metrics(struct outbox *o, struct sbuf *sb)
{
	if (!o)
		return;
	sbuf_addf(sb, "# HELP alts_broker_connected 1 while the scheduler is connected to RabbitMQ.\n"
		      "# TYPE alts_broker_connected gauge\nalts_broker_connected %d\n",
		  outbox_connected(o) ? 1 : 0);
	sbuf_addf(sb, "# HELP alts_tasks_published_total Tasks confirmed by the broker.\n"
		      "# TYPE alts_tasks_published_total counter\nalts_tasks_published_total %llu\n",
		  (unsigned long long)atomic_load(&o->published));
	sbuf_addf(sb, "# HELP alts_publish_nacks_total Publishes the broker refused (retried).\n"
		      "# TYPE alts_publish_nacks_total counter\nalts_publish_nacks_total %llu\n",
		  (unsigned long long)atomic_load(&o->failures));
	sbuf_addf(sb, "# HELP alts_broker_connections_total Successful connections to the broker.\n"
		      "# TYPE alts_broker_connections_total counter\nalts_broker_connections_total %llu\n",
		  (unsigned long long)atomic_load(&o->reconnects));
	sbuf_addf(sb, "# HELP alts_cancels_published_total Cancels of published tasks confirmed by the broker.\n"
		      "# TYPE alts_cancels_published_total counter\nalts_cancels_published_total %llu\n",
		  (unsigned long long)atomic_load(&o->cancels));
	pthread_mutex_lock(&o->lock);
	sbuf_adds(sb, "# HELP alts_queue_publish_latency_seconds Time from commit to broker confirm.\n"
		      "# TYPE alts_queue_publish_latency_seconds histogram\n");
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(latency_buckets); i++)
		sbuf_addf(sb, "alts_queue_publish_latency_seconds_bucket{le=\"%g\"} %llu\n", latency_buckets[i],
			  (unsigned long long)o->latency_bucket[i]);
	sbuf_addf(sb, "alts_queue_publish_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
		  (unsigned long long)o->latency_count);
	sbuf_addf(sb, "alts_queue_publish_latency_seconds_sum %.6f\nalts_queue_publish_latency_seconds_count %llu\n",
		  o->latency_sum, (unsigned long long)o->latency_count);
	pthread_mutex_unlock(&o->lock);
}
