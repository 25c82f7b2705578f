#include "framework/common.h"
#include "farm/amqp_conn.h"
#include "farm/msg.h"
#include "worker/backoff.h"
#include "worker/publish.h"
#include "worker/report_http.h"
#include "worker/wlog.h"
#include "worker/wctx.h"

#include <amqp.h>
#include <stdatomic.h>
#include <time.h>

#define PUBLISH_CONFIRM_TIMEOUT_MS 10000
/*
 * Reports published before their confirms are awaited: every task thread's
 * reports share one connection, and waiting for each confirm in turn (the
 * broker syncs persistent messages to disk before it confirms) made the
 * publisher the farm's bottleneck.
 */
#define PUBLISH_BATCH 256
/* Tries of a final report straight to the scheduler before it goes the broker's way (non-final: one). */
#define PUBLISH_DIRECT_ATTEMPTS 3
/*
 * After the scheduler could not be reached (or failed: 5xx), reports go
 * the broker's way at once for this long: while it is down, each task
 * would otherwise spend the retries (a connect timeout each, when its host
 * is unreachable) before its report goes there.
 */
#define PUBLISH_DIRECT_PAUSE_MS 3000

struct pub_item {
	struct pub_item *next;
	char *task_id;
	char *body;
	size_t len;
	int state;       /* 0 queued, 1 confirmed */
	bool waited;     /* a sender waits: it frees the item */
	bool durable;    /* persistent (delivery mode 2), else transient */
	bool abandoned;  /* the sender stopped waiting: the thread frees it */
	int64_t due_ms;  /* held: when it joins the queue (mono ms) */
};

struct publisher {
	struct worker *w;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* new item, stop, reconnect */
	pthread_cond_t done;     /* an item was confirmed */
	struct pub_item *head, *tail;
	struct pub_item *held;   /* superseded-report candidates, not yet queued (publisher_hold) */
	size_t backlog;
	bool stop;
	bool exited;             /* the thread is gone: nothing more is sent */
	bool reconnect;
	int64_t linger_until;    /* mono ms; while stopping */
	struct pub_item *due;    /* held reports come due, that the thread posts to the scheduler (in order) */
	struct report_http *http;  /* scheduler_url set: reports go straight to the scheduler first */
	_Atomic int64_t direct_paused_until;  /* mono ms: PUBLISH_DIRECT_PAUSE_MS after the scheduler failed */

	/* Owned by the thread. */
	bool direct;             /* scheduler_url was set at the thread's last look */
	amqp_connection_state_t conn;
	uint64_t tag;
	char *queue;
};

static void item_free(struct pub_item *it)
{
	if (!it)
		return;
	alts_free(it->task_id);
	alts_free(it->body);
	alts_free(it);
}

static void items_free(struct pub_item *list)
{
	while (list) {
		struct pub_item *next = list->next;

		item_free(list);
		list = next;
	}
}

/* Appends it to the queue. Under the lock. */
static void queue_item(struct publisher *p, struct pub_item *it)
{
	it->next = NULL;
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
}

/* Takes the held report of task_id off the held list; NULL when none. Under the lock. */
static struct pub_item *held_take(struct publisher *p, const char *task_id)
{
	for (struct pub_item **pp = &p->held; *pp; pp = &(*pp)->next) {
		struct pub_item *it = *pp;

		if (!strcmp(it->task_id, task_id)) {
			*pp = it->next;
			it->next = NULL;
			return it;
		}
	}
	return NULL;
}

/*
 * A later report of the same task arrives while an earlier one is held:
 * the earlier one is folded into it (report_merge) and freed. When they
 * cannot be merged, the earlier one is returned, to be sent first. Under
 * the lock.
 */
static struct pub_item *held_fold(struct publisher *p, struct pub_item *it)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct pub_item *old = held_take(p, it->task_id);
	char *merged = NULL;

	if (!old)
		return NULL;
	if (report_merge(&merged, old->body, old->len, it->body, it->len, &err))
		return old;
	alts_free(it->body);
	it->body = merged;
	it->len = strlen(merged);
	p->backlog--;
	item_free(old);
	return NULL;
}

/* True when a report of task_id is among those the thread posts to the scheduler. Under the lock. */
static bool due_has(struct publisher *p, const char *task_id)
{
	for (struct pub_item *it = p->due; it; it = it->next) {
		if (!strcmp(it->task_id, task_id))
			return true;
	}
	return false;
}

/*
 * Moves the held reports that are due (all of them when stopping) to the
 * queue, or to p->due (for the scheduler) when direct is set and the
 * publisher is not stopping; the earliest due time left, or -1. Under
 * the lock.
 */
static int64_t held_release(struct publisher *p, int64_t now, bool direct)
{
	int64_t next = -1;

	for (struct pub_item **pp = &p->held; *pp;) {
		struct pub_item *it = *pp;

		if (p->stop || it->due_ms <= now) {
			*pp = it->next;
			if (direct && !p->stop) {
				it->next = p->due;
				p->due = it;
			} else {
				queue_item(p, it);
			}
			continue;
		}
		if (next < 0 || it->due_ms < next)
			next = it->due_ms;
		pp = &it->next;
	}
	return next;
}

static void deadline_ts(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Posts a report straight to the scheduler (scheduler_url): 0 when it
 * committed it. ALTS_ENOTSUP without scheduler_url; any other failure is
 * logged, and the caller sends the report the broker's way.
 */
static int pub_direct(struct publisher *p, const struct pub_item *it, int attempts)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct worker_cfg *wc = wctx_cfg_get(p->w);
	const struct farm_config *c = wc->c;
	long status = 0;
	int rc = ALTS_ENOTSUP;

	if (c->scheduler_url && wctx_mono_ms() < atomic_load(&p->direct_paused_until)) {
		wlog(ALTS_LOG_DEBUG, "report.direct_paused", it->task_id, "msg=the scheduler failed a moment ago");
		rc = ALTS_ETIMEOUT;
	} else if (c->scheduler_url) {
		rc = report_http_post(p->http, c->scheduler_url, c->scheduler_token, it->task_id, it->body, it->len,
				      attempts, &status, &err);
		if (rc == ALTS_EENV)
			atomic_store(&p->direct_paused_until, wctx_mono_ms() + PUBLISH_DIRECT_PAUSE_MS);
	}
	if (!rc)
		wlog(ALTS_LOG_DEBUG, "report.delivered", it->task_id, "bytes=%zu via=scheduler", it->len);
	else if (status == 401 || status == 403)
		wlog(ALTS_LOG_ERROR, "report.refused", it->task_id,
		     "status=%ld msg=the scheduler refused the worker's token (scheduler_token needs the worker scope: "
		     "alts-token --scope worker); reporting through the broker",
		     status);
	else if (rc != ALTS_ENOTSUP && rc != ALTS_ETIMEOUT)
		wlog(ALTS_LOG_WARN, "report.direct_failed", it->task_id, "status=%ld durable=%s msg=%s; %s", status,
		     it->durable ? "true" : "false", err.msg,
		     it->durable ? "reporting through the broker" : "sending it through the broker");
	wctx_cfg_put(p->w, wc);
	return rc;
}

/*
 * The thread posts the held reports that came due (p->due) straight to
 * the scheduler, one attempt each (a later report supersedes them); one
 * that does not get through goes to the broker queue as before. Each
 * stays on p->due while it is posted, so that a later report of its task
 * waits for it (due_has). Called and returns under the lock.
 */
static void pub_direct_due(struct publisher *p)
{
	while (p->due) {
		struct pub_item *it = p->due;
		int rc;

		pthread_mutex_unlock(&p->lock);
		rc = pub_direct(p, it, 1);
		pthread_mutex_lock(&p->lock);
		p->due = it->next;
		it->next = NULL;
		if (rc) {
			queue_item(p, it);
		} else {
			p->backlog--;
			item_free(it);
		}
		pthread_cond_broadcast(&p->done);  /* a final report of the task may wait for this one */
	}
}

static void pub_disconnect(struct publisher *p, bool clean)
{
	amqp_conn_close(&p->conn, clean);
	alts_free(p->queue);
	p->queue = NULL;
}

static int pub_connect(struct publisher *p)
{
	struct worker_cfg *wc = wctx_cfg_get(p->w);
	const struct farm_config *c = wc->c;
	int rc = amqp_conn_open(&p->conn, c, (int)c->worker_heartbeat, "worker.publish");

	if (rc)
		goto out;
	p->tag = 0;
	amqp_confirm_select(p->conn, 1);
	if (!amqp_conn_rpc_ok(p->conn, "worker.publish", "confirm.select"))
		goto fail;
	amqp_queue_declare(p->conn, 1, amqp_cstring_bytes(c->results_queue), 0, 1, 0, 0, amqp_empty_table);
	if (!amqp_conn_rpc_ok(p->conn, "worker.publish", "queue.declare"))
		goto fail;
	p->queue = alts_strdup(c->results_queue);
	if (!p->queue)
		goto fail;
	wlog(ALTS_LOG_INFO, "publish.connected", NULL, "queue=%s", c->results_queue);
	goto out;
fail:
	pub_disconnect(p, false);
	rc = ALTS_ERROR;
out:
	wctx_cfg_put(p->w, wc);
	return rc;
}

/*
 * Publishes items (in order) and waits for their confirms: state[i] is 1
 * confirmed, 0 refused (resent). -1 when the connection is lost (every
 * unconfirmed item is resent after the reconnect).
 */
static int pub_batch(struct publisher *p, struct pub_item *const *items, size_t n, int *state)
{
	int64_t deadline = wctx_mono_ms() + PUBLISH_CONFIRM_TIMEOUT_MS;
	uint64_t first = p->tag + 1;
	size_t waiting = n;

	for (size_t i = 0; i < n; i++) {
		amqp_basic_properties_t props;

		memset(&props, 0, sizeof(props));
		props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
		props.content_type = amqp_cstring_bytes("application/json");
		props.delivery_mode = items[i]->durable ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
		props.message_id = amqp_cstring_bytes(items[i]->task_id);
		if (amqp_basic_publish(p->conn, 1, amqp_empty_bytes, amqp_cstring_bytes(p->queue), 0, 0, &props,
				       (amqp_bytes_t){ items[i]->len, items[i]->body }) != AMQP_STATUS_OK)
			return -1;
		p->tag++;
		state[i] = -1;
	}
	while (waiting) {
		struct timeval tv = { 1, 0 };
		amqp_frame_t frame;
		int status, result;
		uint64_t tag;
		bool multiple;

		if (wctx_mono_ms() > deadline) {
			wlog(ALTS_LOG_WARN, "publish.confirm_timeout", items[0]->task_id, "ms=%d",
			     PUBLISH_CONFIRM_TIMEOUT_MS);
			return -1;
		}
		amqp_maybe_release_buffers(p->conn);
		status = amqp_simple_wait_frame_noblock(p->conn, &frame, &tv);
		if (status == AMQP_STATUS_TIMEOUT)
			continue;
		if (status != AMQP_STATUS_OK)
			return -1;
		if (frame.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (frame.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *ack = frame.payload.method.decoded;

			tag = ack->delivery_tag, multiple = ack->multiple, result = 1;
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *nack = frame.payload.method.decoded;

			tag = nack->delivery_tag, multiple = nack->multiple, result = 0;
			break;
		}
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			return -1;
		default:
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t t = first + i;

			if (state[i] < 0 && (t == tag || (multiple && t <= tag))) {
				state[i] = result;
				waiting--;
			}
		}
	}
	return 0;
}

/* Keeps the idle connection alive: reads (and answers) heartbeats. */
static bool pub_idle(struct publisher *p)
{
	struct timeval tv = { 0, 0 };
	amqp_frame_t frame;
	int status;

	if (!p->conn)
		return true;
	amqp_maybe_release_buffers(p->conn);
	status = amqp_simple_wait_frame_noblock(p->conn, &frame, &tv);
	if (status == AMQP_STATUS_OK || status == AMQP_STATUS_TIMEOUT)
		return true;
	return false;
}

static bool pub_should_exit(struct publisher *p)
{
	return p->stop && ((!p->head && !p->held) || wctx_mono_ms() >= p->linger_until);
}

static void *pub_main(void *arg)
{
	struct publisher *p = arg;
	long backoff = 0;

	pthread_mutex_lock(&p->lock);
	while (!pub_should_exit(p)) {
		struct pub_item *it, *batch[PUBLISH_BATCH];
		int state[PUBLISH_BATCH];
		struct timespec ts;
		bool reconnect = p->reconnect;
		int64_t next_due = held_release(p, wctx_mono_ms(), p->direct);
		size_t n;
		int r;

		if (p->due) {
			pub_direct_due(p);
			continue;  /* what did not get through is queued now */
		}
		it = p->head;
		p->reconnect = false;
		pthread_mutex_unlock(&p->lock);
		{
			struct worker_cfg *wc = wctx_cfg_get(p->w);

			p->direct = wc->c->scheduler_url != NULL;
			wctx_cfg_put(p->w, wc);
		}
		if (reconnect && p->conn) {
			wlog(ALTS_LOG_INFO, "publish.reconnect", NULL, "reason=reload");
			pub_disconnect(p, true);
		}
		if (!it) {
			if (!pub_idle(p)) {
				wlog(ALTS_LOG_WARN, "publish.disconnected", NULL, "msg=lost the broker");
				pub_disconnect(p, false);
			}
			pthread_mutex_lock(&p->lock);
			if (next_due >= 0) {
				int64_t wait = next_due - wctx_mono_ms();

				deadline_ts(&ts, wait < 1 ? 1 : wait > 1000 ? 1000 : (long)wait);
			} else {
				deadline_ts(&ts, 1000);
			}
			if (!p->head && !p->stop && !p->reconnect)
				pthread_cond_timedwait(&p->cond, &p->lock, &ts);
			continue;
		}
		if (!p->conn && pub_connect(p)) {
			backoff = worker_backoff_next(backoff);
			pthread_mutex_lock(&p->lock);
			deadline_ts(&ts, backoff);
			if (!pub_should_exit(p))
				pthread_cond_timedwait(&p->cond, &p->lock, &ts);
			continue;
		}
		backoff = 0;
		pthread_mutex_lock(&p->lock);
		/* Items before the tail are not touched by senders: safe to use unlocked. */
		for (n = 0; it && n < PUBLISH_BATCH; it = it->next)
			batch[n++] = it;
		pthread_mutex_unlock(&p->lock);
		r = pub_batch(p, batch, n, state);
		if (r < 0) {
			wlog(ALTS_LOG_WARN, "publish.disconnected", batch[0]->task_id, "msg=lost the broker; will resend");
			pub_disconnect(p, false);
		}
		pthread_mutex_lock(&p->lock);
		/* The confirmed run at the head leaves the queue, in order; from a refused one on, all is resent. */
		for (size_t i = 0; r == 0 && i < n; i++) {
			it = batch[i];
			if (state[i] != 1) {
				wlog(ALTS_LOG_WARN, "publish.nacked", it->task_id,
				     "msg=the broker refused the report; will resend");
				break;
			}
			p->head = it->next;
			if (!p->head)
				p->tail = NULL;
			p->backlog--;
			wlog(ALTS_LOG_DEBUG, "publish.confirmed", it->task_id, "bytes=%zu", it->len);
			it->state = 1;
			if (it->waited && !it->abandoned)
				pthread_cond_broadcast(&p->done);
			else
				item_free(it);
		}
	}
	/* Whatever is left is dropped: the task's message was not acked, so the broker redelivers it. */
	held_release(p, INT64_MAX, false);
	while (p->head) {
		struct pub_item *it = p->head;

		p->head = it->next;
		wlog(ALTS_LOG_WARN, "publish.dropped", it->task_id, "msg=report not confirmed before exit");
		if (it->waited && !it->abandoned)
			it->state = -1;
		else
			item_free(it);
	}
	p->tail = NULL;
	p->exited = true;
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->lock);
	pub_disconnect(p, p->conn != NULL);
	return NULL;
}

int publisher_start(struct publisher **out, struct worker *w, struct alts_err *err)
{
	struct publisher *p = alts_calloc(1, sizeof(*p));
	int e;

	if (!p)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	p->w = w;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->done, NULL);
	e = report_http_new(&p->http, err);
	if (e) {
		publisher_free(p);
		return e;
	}
	e = pthread_create(&p->thread, NULL, pub_main, p);
	if (e) {
		publisher_free(p);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the publisher thread");
	}
	p->started = true;
	*out = p;
	return 0;
}

int publisher_send(struct publisher *p, const char *task_id, const char *body, size_t len, double wait_s,
		   bool durable)
{
	struct pub_item *it = alts_calloc(1, sizeof(*it)), *old;
	struct worker_cfg *wc = wctx_cfg_get(p->w);
	bool direct = durable && wc->c->scheduler_url;
	struct timespec ts;
	int rc = 0;

	wctx_cfg_put(p->w, wc);
	if (!it || !(it->task_id = alts_strdup(task_id ? task_id : "-")) || !(it->body = alts_strndup(body, len))) {
		item_free(it);
		return ALTS_ENOMEM;
	}
	it->len = len;
	it->waited = wait_s > 0;
	it->durable = durable;
	pthread_mutex_lock(&p->lock);
	if (p->exited) {
		pthread_mutex_unlock(&p->lock);
		item_free(it);
		return ALTS_ECANCELED;
	}
	p->backlog++;
	old = held_fold(p, it);
	if (direct) {
		/* Straight to the scheduler, after the task's report the thread may be posting (in order). */
		while (due_has(p, it->task_id))
			pthread_cond_wait(&p->done, &p->lock);
		pthread_mutex_unlock(&p->lock);
		if (old && !pub_direct(p, old, 1)) {
			item_free(old);
			old = NULL;
			pthread_mutex_lock(&p->lock);
			p->backlog--;
			pthread_mutex_unlock(&p->lock);
		}
		/* When the earlier report did not get through, this one follows it the broker's way. */
		rc = !old ? pub_direct(p, it, PUBLISH_DIRECT_ATTEMPTS) : ALTS_ERROR;
		pthread_mutex_lock(&p->lock);
		if (!rc || p->exited) {
			p->backlog -= 1 + (old != NULL);
			pthread_mutex_unlock(&p->lock);
			item_free(old);
			item_free(it);
			return rc ? ALTS_ECANCELED : 0;
		}
		rc = 0;
		if (old)
			queue_item(p, old);
	} else if (old) {
		queue_item(p, old);
	}
	queue_item(p, it);
	pthread_cond_signal(&p->cond);
	if (wait_s > 0) {
		deadline_ts(&ts, (long)(wait_s * 1000));
		while (it->state == 0) {
			if (pthread_cond_timedwait(&p->done, &p->lock, &ts))
				break;
		}
		if (it->state == 1) {
			item_free(it);
		} else if (it->state == -1) {
			item_free(it);
			rc = ALTS_ECANCELED;
		} else {
			it->abandoned = true;  /* still queued: the thread frees it */
			rc = ALTS_ETIMEOUT;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int publisher_hold(struct publisher *p, const char *task_id, const char *body, size_t len, long hold_ms)
{
	struct pub_item *it = alts_calloc(1, sizeof(*it)), *old;

	if (!it || !(it->task_id = alts_strdup(task_id ? task_id : "-")) || !(it->body = alts_strndup(body, len))) {
		item_free(it);
		return ALTS_ENOMEM;
	}
	it->len = len;
	it->due_ms = wctx_mono_ms() + hold_ms;
	pthread_mutex_lock(&p->lock);
	if (p->exited) {
		pthread_mutex_unlock(&p->lock);
		item_free(it);
		return ALTS_ECANCELED;
	}
	p->backlog++;
	/* The first report of a burst sets the due time: a stream of reports is delayed at most hold_ms. */
	for (struct pub_item *h = p->held; h; h = h->next) {
		if (!strcmp(h->task_id, it->task_id)) {
			it->due_ms = h->due_ms;
			break;
		}
	}
	old = held_fold(p, it);
	if (old)
		queue_item(p, old);
	it->next = p->held;
	p->held = it;
	pthread_cond_signal(&p->cond);  /* the thread's next wake-up may be later than this due time */
	pthread_mutex_unlock(&p->lock);
	return 0;
}

size_t publisher_backlog(struct publisher *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->backlog;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void publisher_reconnect(struct publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->reconnect = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void publisher_stop(struct publisher *p, double linger_s)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	p->linger_until = wctx_mono_ms() + (int64_t)(linger_s * 1000);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started) {
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	pthread_mutex_lock(&p->lock);
	p->exited = true;
	pthread_mutex_unlock(&p->lock);
}

void publisher_free(struct publisher *p)
{
	if (!p)
		return;
	publisher_stop(p, 0);
	items_free(p->head);
	items_free(p->held);
	items_free(p->due);
	report_http_free(p->http);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	alts_free(p);
}
