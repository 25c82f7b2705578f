#include "framework/common.h"
#include "framework/log.h"
#include "farm/amqp_conn.h"
#include "scheduler/outbox.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define OUTBOX_WINDOW 4096  /* messages in flight (published, confirm awaited) */
#define OUTBOX_FETCH 1024   /* tasks read from the store at a time */
#define OUTBOX_CONFIRM_TIMEOUT_MS 10000
#define OUTBOX_BACKOFF_MIN_MS 250
#define OUTBOX_BACKOFF_MAX_MS 10000
#define OUTBOX_MAX_QUEUES 64

static const double latency_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };

struct outbox {
	struct store *store;
	const struct farm_config *cfg;
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
	/*
	 * The window: messages published and not yet retired, a ring in
	 * delivery-tag order (win[win_head] has tag first_tag). Up to
	 * OUTBOX_WINDOW in flight, so the broker always has work while
	 * confirms come back, instead of one batch at a time.
	 */
	struct inflight *win;
	size_t win_head, win_count;
	uint64_t first_tag;
	int64_t cursor;           /* the last task (seq) published on this connection */
	size_t cancels_in_flight;
	int64_t oldest_wait_ms;   /* since when the window's head has waited for its confirm */
	/*
	 * Plain TCP: the frames of a burst of publishes, written with one
	 * send() (rabbitmq-c sends each frame of each message on its own:
	 * three system calls a task). TLS goes through rabbitmq-c.
	 */
	struct sbuf frames;
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

/* A message published on this connection and not yet retired (confirmed or refused). */
struct inflight {
	bool cancel;        /* the cancel of task id, else the task itself */
	char *id;
	int64_t created_ms;
	int state;          /* 0 waiting, 1 acked, -1 nacked */
};

/* Rows read from the store for publishing, in seq order. */
struct fetched {
	struct store_task *t;
	size_t n, cap;
};

static void inflight_release(struct inflight *f)
{
	alts_free(f->id);
	memset(f, 0, sizeof(*f));
}

/* Forgets every message in flight: after a reconnect they are fetched and published again. */
static void window_clear(struct outbox *o)
{
	for (size_t i = 0; i < o->win_count; i++)
		inflight_release(&o->win[(o->win_head + i) % OUTBOX_WINDOW]);
	o->win_head = o->win_count = 0;
	o->first_tag = 1;
	o->cursor = 0;
	o->cancels_in_flight = 0;
	sbuf_reset(&o->frames);
	o->oldest_wait_ms = 0;
}

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
	window_clear(o);
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
	struct fetched *f = payload;
	struct store_task *d = &f->t[f->n];

	/* Only what publishing needs; run_rows releases the original afterwards. */
	memset(d, 0, sizeof(*d));
	d->seq = t->seq;
	d->created_ms = t->created_ms;
	d->id = alts_strdup(t->id);
	d->queue = t->queue ? alts_strdup(t->queue) : NULL;
	d->message = t->message ? alts_strdup(t->message) : NULL;
	if (!d->id || (t->queue && !d->queue) || (t->message && !d->message)) {
		store_task_release(d);
		return ALTS_ENOMEM;
	}
	f->n++;
	return 0;
}

static void fetched_release(struct fetched *f)
{
	for (size_t i = 0; i < f->n; i++)
		store_task_release(&f->t[i]);
	f->n = 0;
}

#define FRAME_HEADER_SIZE 7
#define FRAME_END 0xCE

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Appends one frame whose payload is head (head_len bytes) then tail. */
static void add_frame(struct sbuf *sb, uint8_t type, uint16_t channel, const void *head, size_t head_len,
		      const void *tail, size_t tail_len)
{
	unsigned char h[FRAME_HEADER_SIZE], end = FRAME_END;

	h[0] = type;
	put16(h + 1, channel);
	put32(h + 3, (uint32_t)(head_len + tail_len));
	sbuf_add(sb, h, sizeof(h));
	sbuf_add(sb, head, head_len);
	sbuf_add(sb, tail, tail_len);
	sbuf_add(sb, &end, 1);
}

/*
 * The frames of basic.publish as rabbitmq-c's amqp_basic_publish() sends
 * them (AMQP 0-9-1 section 4.2.6): method, content header, body frames of
 * at most frame_max bytes.
 */
static int encode_publish(struct outbox *o, amqp_bytes_t exchange, amqp_bytes_t routing_key,
			  amqp_basic_properties_t *props, amqp_bytes_t body)
{
	unsigned char buf[4096];
	amqp_basic_publish_t m = { 0, exchange, routing_key, 0, 0 };
	size_t frame_max = (size_t)amqp_get_frame_max(o->conn), chunk;
	int n;

	if (frame_max <= FRAME_HEADER_SIZE + 1 || !frame_max)
		frame_max = 131072;
	chunk = frame_max - FRAME_HEADER_SIZE - 1;
	put32(buf, AMQP_BASIC_PUBLISH_METHOD);
	n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m, (amqp_bytes_t){ sizeof(buf) - 4, buf + 4 });
	if (n < 0)
		return ALTS_ERROR;
	add_frame(&o->frames, AMQP_FRAME_METHOD, 1, buf, (size_t)n + 4, NULL, 0);
	put16(buf, AMQP_BASIC_CLASS);
	put16(buf + 2, 0);  /* weight */
	put64(buf + 4, body.len);
	n = amqp_encode_properties(AMQP_BASIC_CLASS, props, (amqp_bytes_t){ sizeof(buf) - 12, buf + 12 });
	if (n < 0)
		return ALTS_ERROR;
	add_frame(&o->frames, AMQP_FRAME_HEADER, 1, buf, (size_t)n + 12, NULL, 0);
	for (size_t off = 0; off < body.len; off += chunk)
		add_frame(&o->frames, AMQP_FRAME_BODY, 1, NULL, 0, (const char *)body.bytes + off,
			  body.len - off < chunk ? body.len - off : chunk);
	return sbuf_ok(&o->frames) ? 0 : ALTS_ENOMEM;
}

/* Writes the frames gathered by encode_publish(); an error means reconnect. */
static int flush_frames(struct outbox *o)
{
	int fd = amqp_get_sockfd(o->conn);
	size_t off = 0;
	int rc = 0;

	while (off < o->frames.len) {
		ssize_t n = send(fd, o->frames.buf + off, o->frames.len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			/* The broker reads slower than we write: wait for room, not forever. */
			if (poll(&pfd, 1, OUTBOX_CONFIRM_TIMEOUT_MS) <= 0) {
				alts_log(ALTS_LOG_WARN, "outbox", "the broker took no data for %d ms",
					 OUTBOX_CONFIRM_TIMEOUT_MS);
				rc = ALTS_ETIMEOUT;
				break;
			}
		} else {
			alts_log(ALTS_LOG_WARN, "outbox", "cannot send to the broker: %s", strerror(errno));
			rc = ALTS_ERROR;
			break;
		}
	}
	sbuf_reset(&o->frames);
	if (rc)
		atomic_store(&o->connected, false);
	return rc;
}

/*
 * Publishes one message (persistent JSON, message_id = task id) and puts
 * it at the tail of the window. exchange "" routes by queue. On plain TCP
 * the frames wait in o->frames for flush_frames().
 */
static int publish_one(struct outbox *o, amqp_bytes_t exchange, const char *routing_key, const char *id,
		       const char *body, bool cancel, int64_t created_ms)
{
	struct inflight *f = &o->win[(o->win_head + o->win_count) % OUTBOX_WINDOW];
	amqp_basic_properties_t props;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	props.message_id = amqp_cstring_bytes(id);
	f->id = alts_strdup(id);
	if (!f->id)
		return ALTS_ENOMEM;
	if (!o->cfg->use_ssl) {
		if (encode_publish(o, exchange, routing_key ? amqp_cstring_bytes(routing_key) : amqp_empty_bytes, &props,
				   amqp_cstring_bytes(body))) {
			inflight_release(f);
			return ALTS_ENOMEM;
		}
	} else if (amqp_basic_publish(o->conn, 1, exchange,
				      routing_key ? amqp_cstring_bytes(routing_key) : amqp_empty_bytes, 0, 0, &props,
				      amqp_cstring_bytes(body)) != AMQP_STATUS_OK) {
		alts_log(ALTS_LOG_WARN, "outbox", "cannot publish %s %s", cancel ? "the cancel of task" : "task", id);
		inflight_release(f);
		atomic_store(&o->connected, false);
		return ALTS_ERROR;
	}
	f->cancel = cancel;
	f->created_ms = created_ms;
	o->cancels_in_flight += cancel;
	f->state = 0;
	if (!o->win_count)
		o->oldest_wait_ms = store_now_ms();
	o->win_count++;
	return 0;
}

/* Publishes the next unpublished tasks, as many as the window has room for. *count: how many. */
static int publish_tasks(struct outbox *o, size_t *count)
{
	struct alts_err err = ALTS_ERR_INIT;
	size_t room = OUTBOX_WINDOW - o->win_count;
	struct fetched f = { NULL, 0, 0 };
	int rc;

	*count = 0;
	if (room < OUTBOX_FETCH / 4)
		return 0;  /* wait for confirms rather than read the store for a handful */
	f.cap = room < OUTBOX_FETCH ? room : OUTBOX_FETCH;
	f.t = alts_calloc(f.cap, sizeof(*f.t));
	if (!f.t)
		return ALTS_ENOMEM;
	rc = store_unpublished(o->store, o->cursor, (int)f.cap, collect, &f, &err);
	if (rc)
		alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
	for (size_t i = 0; i < f.n && !rc; i++) {
		rc = declare_queue(o, f.t[i].queue);
		if (!rc)
			rc = publish_one(o, amqp_empty_bytes, f.t[i].queue, f.t[i].id, f.t[i].message, false,
					 f.t[i].created_ms);
		if (!rc) {
			o->cursor = f.t[i].seq;
			(*count)++;
		}
	}
	if (o->frames.len && !rc)
		rc = flush_frames(o);
	fetched_release(&f);
	alts_free(f.t);
	return rc;
}

static int collect_cancel(const struct store_task *t, void *payload)
{
	struct fetched *f = payload;
	struct store_task *d = &f->t[f->n];
	json_t *j = json_pack("{s:s}", "task_id", t->id);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	memset(d, 0, sizeof(*d));
	d->id = alts_strdup(t->id);
	d->message = body ? alts_strdup(body) : NULL;
	free(body);
	if (!d->id || !d->message) {
		store_task_release(d);
		return ALTS_ENOMEM;
	}
	f->n++;
	return 0;
}

/*
 * Announces the cancels of published tasks on the fanout exchange
 * cfg->cancel_exchange ({"task_id"}, persistent, confirmed). One round at
 * a time: the next is read once this one is retired (cancel_pending is
 * cleared on confirm, so a round in flight would be read again).
 */
static int publish_cancels(struct outbox *o)
{
	struct alts_err err = ALTS_ERR_INIT;
	amqp_bytes_t exchange = amqp_cstring_bytes(o->cfg->cancel_exchange);
	struct fetched f = { NULL, 0, 0 };
	int rc;

	if (o->cancels_in_flight || store_now_ms() < o->cancel_after_ms || OUTBOX_WINDOW - o->win_count < 64)
		return 0;
	f.cap = 64;
	f.t = alts_calloc(f.cap, sizeof(*f.t));
	if (!f.t)
		return ALTS_ENOMEM;
	rc = store_pending_cancels(o->store, (int)f.cap, collect_cancel, &f, &err);
	if (rc) {
		alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
		goto out;
	}
	if (f.n && !o->cancel_declared) {
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
	for (size_t i = 0; i < f.n && !rc; i++)
		rc = publish_one(o, exchange, NULL, f.t[i].id, f.t[i].message, true, 0);
	if (o->frames.len && !rc)
		rc = flush_frames(o);
out:
	fetched_release(&f);
	alts_free(f.t);
	return rc;
}

/* Applies a confirm (ack or nack) for delivery tag, every tag up to it when multiple. */
static void resolve(struct outbox *o, uint64_t tag, bool multiple, int state)
{
	uint64_t from, to;

	if (tag < o->first_tag || tag >= o->first_tag + o->win_count)
		return;  /* not ours, or already retired */
	to = tag - o->first_tag;
	from = multiple ? 0 : to;
	for (uint64_t i = from; i <= to; i++) {
		struct inflight *f = &o->win[(o->win_head + i) % OUTBOX_WINDOW];

		if (!f->state)
			f->state = state;
	}
}

/*
 * Reads the confirms that have arrived, waiting up to wait_ms for the
 * first one. An error means reconnect.
 */
static int read_confirms(struct outbox *o, long wait_ms)
{
	for (;;) {
		struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
		amqp_frame_t frame;
		int status;

		amqp_maybe_release_buffers(o->conn);
		status = amqp_simple_wait_frame_noblock(o->conn, &frame, &tv);
		if (status == AMQP_STATUS_TIMEOUT)
			return 0;
		if (status != AMQP_STATUS_OK) {
			alts_log(ALTS_LOG_WARN, "outbox", "lost the broker while waiting for confirms: %s",
				 amqp_error_string2(status));
			atomic_store(&o->connected, false);
			return ALTS_ERROR;
		}
		wait_ms = 0;  /* then only what is already there */
		if (frame.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (frame.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *ack = frame.payload.method.decoded;

			resolve(o, ack->delivery_tag, ack->multiple, 1);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *nack = frame.payload.method.decoded;

			resolve(o, nack->delivery_tag, nack->multiple, -1);
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

#define RETIRE_MAX 1024

/*
 * Retires up to RETIRE_MAX of the confirmed head of the window: acked
 * tasks are marked published (one transaction), acked cancels cleared. A
 * refused message means reconnect: what was not confirmed is then
 * published again.
 */
static int retire_some(struct outbox *o, size_t *retired)
{
	struct alts_err err = ALTS_ERR_INIT;
	const char *ids[RETIRE_MAX];
	struct inflight done[ALTS_ARRAY_SIZE(ids)];
	size_t n = 0, nids = 0;
	int64_t now = store_now_ms();
	int rc = 0;

	while (o->win_count && n < ALTS_ARRAY_SIZE(ids)) {
		struct inflight *f = &o->win[o->win_head];

		if (!f->state)
			break;
		done[n++] = *f;
		memset(f, 0, sizeof(*f));
		o->win_head = (o->win_head + 1) % OUTBOX_WINDOW;
		o->win_count--;
		o->first_tag++;
		o->oldest_wait_ms = now;  /* the new head's wait is counted from the last progress */
	}
	for (size_t i = 0; i < n; i++) {
		if (done[i].state == 1 && !done[i].cancel)
			ids[nids++] = done[i].id;
	}
	if (nids && store_mark_published_many(o->store, ids, nids, now, &err))
		alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		struct inflight *f = &done[i];

		if (f->cancel)
			o->cancels_in_flight--;
		if (f->state == 1 && !f->cancel) {
			record_latency(o, f->created_ms, now);
			atomic_fetch_add(&o->published, 1);
		} else if (f->state == 1) {
			if (store_cancel_sent(o->store, f->id, &err))
				alts_log(ALTS_LOG_ERROR, "outbox", "%s", err.msg);
			atomic_fetch_add(&o->cancels, 1);
			alts_log(ALTS_LOG_INFO, "outbox", "announced the cancel of task %s", f->id);
		} else {
			atomic_fetch_add(&o->failures, 1);
			alts_log(ALTS_LOG_WARN, "outbox", "the broker refused %s %s; will retry",
				 f->cancel ? "the cancel of task" : "task", f->id);
			rc = ALTS_ERROR;
		}
		inflight_release(f);
	}
	*retired = n;
	return rc;
}

/* Retires the whole confirmed head of the window, a transaction per 1024 tasks. */
static int retire(struct outbox *o)
{
	size_t n;
	int rc;

	do
		rc = retire_some(o, &n);
	while (!rc && n == RETIRE_MAX);
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

	while (!outbox_stopping(o)) {
		size_t count = 0;
		int rc;

		if (!o->conn) {
			if (outbox_connect(o)) {
				outbox_wait(o, backoff);
				backoff = backoff * 2 > OUTBOX_BACKOFF_MAX_MS ? OUTBOX_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			atomic_fetch_add(&o->reconnects, 1);
			backoff = OUTBOX_BACKOFF_MIN_MS;
			window_clear(o);
		}
		/* Tasks first: a cancel then follows a task canceled while its message was in flight. */
		rc = publish_tasks(o, &count);
		if (!rc)
			rc = publish_cancels(o);
		/* Confirms: a short wait while the window is busy, so new tasks are not held up long. */
		if (!rc && o->win_count)
			rc = read_confirms(o, count ? 0 : 50);
		if (!rc)
			rc = retire(o);
		if (!rc && o->win_count && store_now_ms() - o->oldest_wait_ms > OUTBOX_CONFIRM_TIMEOUT_MS) {
			alts_log(ALTS_LOG_WARN, "outbox", "no publisher confirm within %d ms", OUTBOX_CONFIRM_TIMEOUT_MS);
			rc = ALTS_ETIMEOUT;
		}
		if (rc) {
			outbox_disconnect(o);
			continue;
		}
		if (!o->win_count && !count)
			outbox_wait(o, 1000);
	}
	outbox_disconnect(o);
	return NULL;
}

int outbox_start(struct outbox **out, struct store *store, const struct farm_config *cfg, struct alts_err *err)
{
	struct outbox *o = alts_calloc(1, sizeof(*o));
	int e;

	if (!o)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	o->store = store;
	o->cfg = cfg;
	o->first_tag = 1;
	sbuf_init(&o->frames, 0);
	o->win = alts_calloc(OUTBOX_WINDOW, sizeof(*o->win));
	if (!o->win) {
		alts_free(o);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
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
	window_clear(o);
	sbuf_release(&o->frames);
	alts_free(o->win);
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
