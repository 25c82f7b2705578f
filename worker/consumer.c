#include "framework/common.h"
#include "framework/sbuf.h"
#include "farm/amqp_conn.h"
#include "worker/backoff.h"
#include "worker/consumer.h"
#include "farm/msg.h"
#include "worker/pool.h"
#include "worker/wlog.h"
#include "worker/wctx.h"

#include <amqp.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define CONSUMER_WAIT_MS 100
#define CONSUMER_MAX_QUEUES 64

struct settle_item {
	struct settle_item *next;
	uint64_t gen, tag;
	enum settle how;
};

struct consumer {
	struct worker *w;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	struct settle_item *settles, *settles_tail;
	bool stop, pause, reconnect;
	atomic_bool connected;
	int wake_fd;  /* eventfd: a settle or a flag above is waiting for the thread */

	/* Owned by the thread. */
	amqp_connection_state_t conn;
	uint64_t gen;
	bool consuming;
	char *tags[CONSUMER_MAX_QUEUES];   /* consumer tags of the task queues */
	char *queues[CONSUMER_MAX_QUEUES];
	size_t ntags;
	char *cancel_tag;
};

static char *bytes_dup(amqp_bytes_t b)
{
	return b.bytes ? alts_strndup(b.bytes, b.len) : NULL;
}

static void consumer_wake(struct consumer *c)
{
	uint64_t one = 1;

	if (c->wake_fd >= 0 && write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		wlog(ALTS_LOG_WARN, "consumer.wake_failed", NULL, "errno=%d", errno);
}

/*
 * Waits at most timeout_ms for a frame from the broker or a wake-up
 * (consumer_wake). A finished task's ack must not wait for the next
 * delivery or for the timeout: with every prefetch slot taken the broker
 * sends nothing until an ack comes, and the slot would idle meanwhile.
 * Frames already read (rabbitmq-c's buffer) need no wait; bytes held by
 * TLS are not seen by poll(), and the caller reads after the timeout as it
 * always did.
 */
static void consumer_wait(struct consumer *c, int timeout_ms)
{
	struct pollfd p[2] = { { amqp_get_sockfd(c->conn), POLLIN, 0 }, { c->wake_fd, POLLIN, 0 } };
	uint64_t n;

	if (amqp_frames_enqueued(c->conn) || amqp_data_in_buffer(c->conn))
		return;
	if (poll(p, 2, timeout_ms) > 0 && (p[1].revents & POLLIN) && read(c->wake_fd, &n, sizeof(n)) < 0 &&
	    errno != EAGAIN)
		wlog(ALTS_LOG_WARN, "consumer.wake_failed", NULL, "errno=%d", errno);
}

static void consumer_disconnect(struct consumer *c, bool clean)
{
	amqp_conn_close(&c->conn, clean);
	for (size_t i = 0; i < c->ntags; i++) {
		alts_free(c->tags[i]);
		alts_free(c->queues[i]);
	}
	c->ntags = 0;
	alts_free(c->cancel_tag);
	c->cancel_tag = NULL;
	c->consuming = false;
	atomic_store(&c->connected, false);
}

/* Declares and consumes the task queues. */
static int consume_tasks(struct consumer *c, const struct farm_config *cfg)
{
	const struct strlist *q = wctx_queues(c->w, cfg);

	for (size_t i = 0; i < q->n && i < CONSUMER_MAX_QUEUES; i++) {
		amqp_basic_consume_ok_t *ok;

		amqp_queue_declare(c->conn, 1, amqp_cstring_bytes(q->v[i]), 0, 1, 0, 0, amqp_empty_table);
		if (!amqp_conn_rpc_ok(c->conn, "worker.consume", "queue.declare"))
			return ALTS_ERROR;
		ok = amqp_basic_consume(c->conn, 1, amqp_cstring_bytes(q->v[i]), amqp_empty_bytes, 0, 0, 0,
					amqp_empty_table);
		if (!ok || !amqp_conn_rpc_ok(c->conn, "worker.consume", "basic.consume"))
			return ALTS_ERROR;
		c->tags[c->ntags] = bytes_dup(ok->consumer_tag);
		c->queues[c->ntags] = alts_strdup(q->v[i]);
		c->ntags++;
	}
	c->consuming = true;
	return 0;
}

/*
 * The exclusive queue bound to the cancel exchange, consumed without acks
 * on a channel of its own: channel 1's prefetch window (basic.qos global)
 * is full while every slot runs a task, and RabbitMQ then holds back
 * every delivery on that channel, cancels of the running tasks included.
 */
#define CANCEL_CHANNEL 2

static int consume_cancels(struct consumer *c, const struct farm_config *cfg)
{
	amqp_queue_declare_ok_t *q;
	amqp_basic_consume_ok_t *ok;
	amqp_bytes_t name;

	amqp_channel_open(c->conn, CANCEL_CHANNEL);
	if (!amqp_conn_rpc_ok(c->conn, "worker.consume", "channel.open (cancels)"))
		return ALTS_ERROR;
	amqp_exchange_declare(c->conn, CANCEL_CHANNEL, amqp_cstring_bytes(cfg->cancel_exchange),
			      amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
	if (!amqp_conn_rpc_ok(c->conn, "worker.consume", "exchange.declare"))
		return ALTS_ERROR;
	q = amqp_queue_declare(c->conn, CANCEL_CHANNEL, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
	if (!q || !amqp_conn_rpc_ok(c->conn, "worker.consume", "queue.declare (cancels)"))
		return ALTS_ERROR;
	name = amqp_bytes_malloc_dup(q->queue);
	if (!name.bytes)
		return ALTS_ENOMEM;
	amqp_queue_bind(c->conn, CANCEL_CHANNEL, name, amqp_cstring_bytes(cfg->cancel_exchange), amqp_empty_bytes,
			amqp_empty_table);
	if (!amqp_conn_rpc_ok(c->conn, "worker.consume", "queue.bind (cancels)")) {
		amqp_bytes_free(name);
		return ALTS_ERROR;
	}
	ok = amqp_basic_consume(c->conn, CANCEL_CHANNEL, name, amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
	amqp_bytes_free(name);
	if (!ok || !amqp_conn_rpc_ok(c->conn, "worker.consume", "basic.consume (cancels)"))
		return ALTS_ERROR;
	c->cancel_tag = bytes_dup(ok->consumer_tag);
	return c->cancel_tag ? 0 : ALTS_ENOMEM;
}

static int consumer_connect(struct consumer *c, bool take_tasks)
{
	struct worker_cfg *wc = wctx_cfg_get(c->w);
	const struct farm_config *cfg = wc->c;
	long prefetch = c->w->opts.concurrency > 0 ? c->w->opts.concurrency : cfg->worker_concurrency;
	int rc = amqp_conn_open(&c->conn, cfg, (int)cfg->worker_heartbeat, "worker.consume");

	if (rc)
		goto out;
	atomic_store(&c->connected, true);
	c->gen++;
	/* global: the limit is shared by the consumers of every queue on the channel. */
	amqp_basic_qos(c->conn, 1, 0, (uint16_t)(prefetch > 65535 ? 65535 : prefetch), 1);
	rc = amqp_conn_rpc_ok(c->conn, "worker.consume", "basic.qos") ? 0 : ALTS_ERROR;
	if (!rc)
		rc = consume_cancels(c, cfg);
	if (!rc && take_tasks)
		rc = consume_tasks(c, cfg);
	if (rc) {
		consumer_disconnect(c, false);
		rc = ALTS_ERROR;
		goto out;
	}
	{
		const struct strlist *q = wctx_queues(c->w, cfg);
		struct sbuf names = SBUF_INIT;

		for (size_t i = 0; i < q->n; i++)
			sbuf_addf(&names, "%s%s", i ? "," : "", q->v[i]);
		wlog(ALTS_LOG_INFO, "consumer.connected", NULL, "queues=%s prefetch=%ld cancel_exchange=%s heartbeat=%ld",
		     names.buf, prefetch, cfg->cancel_exchange, cfg->worker_heartbeat);
		sbuf_release(&names);
	}
out:
	wctx_cfg_put(c->w, wc);
	return rc;
}

/* Sends queued settles that belong to the current connection; drops the others. */
static void flush_settles(struct consumer *c)
{
	struct settle_item *list;

	pthread_mutex_lock(&c->lock);
	list = c->settles;
	c->settles = c->settles_tail = NULL;
	pthread_mutex_unlock(&c->lock);
	while (list) {
		struct settle_item *s = list;

		list = s->next;
		if (c->conn && s->gen == c->gen) {
			if (s->how == SETTLE_ACK)
				amqp_basic_ack(c->conn, 1, s->tag, 0);
			else
				amqp_basic_reject(c->conn, 1, s->tag, 1);
		} else {
			wlog(ALTS_LOG_DEBUG, "consumer.settle_dropped", NULL, "tag=%llu gen=%llu",
			     (unsigned long long)s->tag, (unsigned long long)s->gen);
		}
		alts_free(s);
	}
}

static void stop_consuming(struct consumer *c)
{
	for (size_t i = 0; i < c->ntags; i++) {
		amqp_basic_cancel(c->conn, 1, amqp_cstring_bytes(c->tags[i]));
		amqp_conn_rpc_ok(c->conn, "worker.consume", "basic.cancel");
	}
	c->consuming = false;
	wlog(ALTS_LOG_INFO, "consumer.paused", NULL, "msg=no new tasks");
}

static const char *queue_of(struct consumer *c, amqp_bytes_t tag)
{
	for (size_t i = 0; i < c->ntags; i++) {
		if (strlen(c->tags[i]) == tag.len && !memcmp(c->tags[i], tag.bytes, tag.len))
			return c->queues[i];
	}
	return NULL;
}

/* The jobs' settle callback (job_settle_fn). */
static void settle_job(uint64_t gen, uint64_t tag, enum settle how, void *payload)
{
	consumer_settle(payload, gen, tag, how);
}

static void on_delivery(struct consumer *c, amqp_envelope_t *env, bool take)
{
	amqp_bytes_t tag = env->consumer_tag;
	struct job *j;

	if (c->cancel_tag && strlen(c->cancel_tag) == tag.len && !memcmp(c->cancel_tag, tag.bytes, tag.len)) {
		char *id = cancel_msg_parse(env->message.body.bytes, env->message.body.len);

		if (id)
			pool_cancel(c->w->pool, id);
		else
			wlog(ALTS_LOG_WARN, "cancel.malformed", NULL, "bytes=%zu", env->message.body.len);
		alts_free(id);
		return;
	}
	if (!take) {
		amqp_basic_reject(c->conn, 1, env->delivery_tag, 1);
		return;
	}
	j = alts_calloc(1, sizeof(*j));
	if (j) {
		const char *q = queue_of(c, tag);

		j->body = alts_strndup(env->message.body.bytes ? env->message.body.bytes : "", env->message.body.len);
		j->len = env->message.body.len;
		if (env->message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
			j->message_id = bytes_dup(env->message.properties.message_id);
		j->queue = alts_strdup(q ? q : "?");
		j->tag = env->delivery_tag;
		j->gen = c->gen;
		j->redelivered = env->redelivered;
		j->settle = settle_job;
		j->settle_payload = c;
	}
	if (!j || !j->body || !j->queue) {
		job_free(j);
		wlog(ALTS_LOG_ERROR, "consumer.oom", NULL, "msg=cannot take a delivery; requeued");
		amqp_basic_reject(c->conn, 1, env->delivery_tag, 1);
		return;
	}
	pool_submit(c->w->pool, j);
}

/* A frame other than a delivery; false when it closes the channel or connection. */
static bool other_frame(const amqp_frame_t *f)
{
	amqp_frame_t frame = *f;

	if (frame.frame_type == AMQP_FRAME_METHOD) {
		switch (frame.payload.method.id) {
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			return false;
		case AMQP_BASIC_CANCEL_METHOD:
			/* The broker canceled a consumer (its queue was deleted): start over. */
			return false;
		default:
			break;
		}
	}
	return true;
}

/* What consume_one() read of one delivery; the caller releases it with delivery_release(). */
struct delivery {
	amqp_envelope_t env;
	struct sbuf body;
};

static void delivery_release(struct delivery *d)
{
	amqp_bytes_free(d->env.consumer_tag);
	if (d->env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
		amqp_bytes_free(d->env.message.properties.message_id);
	sbuf_release(&d->body);
	memset(d, 0, sizeof(*d));
}

/*
 * Reads the next delivery frame by frame (amqp_consume_message reads a
 * whole body, of any size, before anyone can look at it). The content
 * header says the body's size: a body over TASK_MSG_MAX_BYTES is read
 * and dropped frame by frame, never held, and handed on with its size and
 * no bytes, so the task is refused as too large (reported failed when its
 * message_id names it) with the worker's memory untouched.
 * Returns 0 with *got when a delivery was read; AMQP_STATUS_TIMEOUT when
 * nothing came; AMQP_STATUS_UNEXPECTED_STATE after another frame that
 * read_frame() took; another amqp status when the connection failed.
 */
static int consume_one(struct consumer *c, struct delivery *d, struct timeval *tv)
{
	amqp_frame_t frame;
	uint64_t size, got = 0;
	bool drop;
	int status = amqp_simple_wait_frame_noblock(c->conn, &frame, tv);

	memset(d, 0, sizeof(*d));
	if (status != AMQP_STATUS_OK)
		return status;
	if (frame.frame_type != AMQP_FRAME_METHOD || frame.payload.method.id != AMQP_BASIC_DELIVER_METHOD)
		return other_frame(&frame) ? AMQP_STATUS_UNEXPECTED_STATE : AMQP_STATUS_CONNECTION_CLOSED;
	{
		amqp_basic_deliver_t *m = frame.payload.method.decoded;

		d->env.channel = frame.channel;
		d->env.delivery_tag = m->delivery_tag;
		d->env.redelivered = m->redelivered;
		d->env.consumer_tag = amqp_bytes_malloc_dup(m->consumer_tag);
	}
	status = amqp_simple_wait_frame(c->conn, &frame);
	if (status != AMQP_STATUS_OK)
		goto fail;
	if (frame.frame_type != AMQP_FRAME_HEADER) {
		status = AMQP_STATUS_BAD_AMQP_DATA;
		goto fail;
	}
	size = frame.payload.properties.body_size;
	{
		amqp_basic_properties_t *p = frame.payload.properties.decoded;

		if (p && (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)) {
			d->env.message.properties._flags = AMQP_BASIC_MESSAGE_ID_FLAG;
			d->env.message.properties.message_id = amqp_bytes_malloc_dup(p->message_id);
		}
	}
	drop = size > TASK_MSG_MAX_BYTES;
	sbuf_init(&d->body, drop ? 1 : (size_t)size + 1);
	while (got < size) {
		amqp_maybe_release_buffers_on_channel(c->conn, d->env.channel);
		status = amqp_simple_wait_frame(c->conn, &frame);
		if (status != AMQP_STATUS_OK)
			goto fail;
		if (frame.frame_type != AMQP_FRAME_BODY) {
			status = AMQP_STATUS_BAD_AMQP_DATA;
			goto fail;
		}
		got += frame.payload.body_fragment.len;
		if (!drop)
			sbuf_add(&d->body, frame.payload.body_fragment.bytes, frame.payload.body_fragment.len);
	}
	if (!drop && !sbuf_ok(&d->body)) {
		status = AMQP_STATUS_NO_MEMORY;
		goto fail;
	}
	if (drop)
		wlog(ALTS_LOG_WARN, "consumer.too_large", NULL, "bytes=%llu max=%u msg=body dropped unread",
		     (unsigned long long)size, TASK_MSG_MAX_BYTES);
	d->env.message.body.len = (size_t)size;
	d->env.message.body.bytes = drop ? NULL : d->body.buf;
	return 0;
fail:
	delivery_release(d);
	return status;
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	long backoff = 0;

	for (;;) {
		struct timeval tv = { 0, 0 };  /* consumer_wait has waited */
		bool stop, pause, reconnect, take;
		struct delivery d;
		int rc;

		pthread_mutex_lock(&c->lock);
		stop = c->stop;
		pause = c->pause;
		reconnect = c->reconnect;
		c->reconnect = false;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		take = !pause && !atomic_load(&c->w->max_reached);
		if (reconnect && c->conn) {
			wlog(ALTS_LOG_INFO, "consumer.reconnect", NULL, "reason=reload");
			flush_settles(c);
			consumer_disconnect(c, true);
		}
		if (!c->conn) {
			if (consumer_connect(c, take)) {
				backoff = worker_backoff_next(backoff);
				wlog(ALTS_LOG_INFO, "consumer.retry", NULL, "backoff_ms=%ld", backoff);
				for (long slept = 0; slept < backoff; slept += 50) {
					pthread_mutex_lock(&c->lock);
					stop = c->stop;
					pthread_mutex_unlock(&c->lock);
					if (stop)
						break;
					usleep(50000);
				}
				flush_settles(c);  /* drops them: no connection */
				continue;
			}
			backoff = 0;
		}
		if (c->consuming && !take)
			stop_consuming(c);
		flush_settles(c);
		amqp_maybe_release_buffers(c->conn);
		consumer_wait(c, CONSUMER_WAIT_MS);
		flush_settles(c);
		rc = consume_one(c, &d, &tv);
		if (rc == AMQP_STATUS_TIMEOUT || rc == AMQP_STATUS_UNEXPECTED_STATE)
			continue;
		if (rc) {
			wlog(ALTS_LOG_WARN, "consumer.disconnected", NULL,
			     "msg=lost the broker; running tasks go on, their messages will be redelivered");
			consumer_disconnect(c, false);
			continue;
		}
		on_delivery(c, &d.env, take && c->consuming);
		delivery_release(&d);
	}
	flush_settles(c);
	consumer_disconnect(c, c->conn != NULL);
	return NULL;
}

int consumer_start(struct consumer **out, struct worker *w, struct alts_err *err)
{
	struct consumer *c = alts_calloc(1, sizeof(*c));
	int e;

	if (!c)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	c->w = w;
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->wake_fd < 0) {
		e = errno;
		alts_free(c);
		return alts_err_errno(err, ALTS_EENV, e, "cannot make the consumer's eventfd");
	}
	pthread_mutex_init(&c->lock, NULL);
	e = pthread_create(&c->thread, NULL, consumer_main, c);
	if (e) {
		pthread_mutex_destroy(&c->lock);
		close(c->wake_fd);
		alts_free(c);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the consumer thread");
	}
	c->started = true;
	*out = c;
	return 0;
}

void consumer_settle(struct consumer *c, uint64_t gen, uint64_t tag, enum settle how)
{
	struct settle_item *s = alts_calloc(1, sizeof(*s));

	if (!s)
		return;  /* not acked: the broker redelivers when the connection goes */
	s->gen = gen;
	s->tag = tag;
	s->how = how;
	pthread_mutex_lock(&c->lock);
	if (c->settles_tail)
		c->settles_tail->next = s;
	else
		c->settles = s;
	c->settles_tail = s;
	pthread_mutex_unlock(&c->lock);
	consumer_wake(c);
}

void consumer_pause(struct consumer *c)
{
	pthread_mutex_lock(&c->lock);
	c->pause = true;
	pthread_mutex_unlock(&c->lock);
	consumer_wake(c);
}

void consumer_reconnect(struct consumer *c)
{
	pthread_mutex_lock(&c->lock);
	c->reconnect = true;
	pthread_mutex_unlock(&c->lock);
	consumer_wake(c);
}

bool consumer_connected(struct consumer *c)
{
	return c && atomic_load(&c->connected);
}

void consumer_stop(struct consumer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_mutex_unlock(&c->lock);
	consumer_wake(c);
	if (c->started)
		pthread_join(c->thread, NULL);
	while (c->settles) {
		struct settle_item *s = c->settles;

		c->settles = s->next;
		alts_free(s);
	}
	pthread_mutex_destroy(&c->lock);
	close(c->wake_fd);
	alts_free(c);
}
