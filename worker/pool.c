#include "framework/common.h"
#include "reporters/stores/artifact_store.h"
#include "reporters/stores/spool.h"
#include "worker/pool.h"
#include "worker/wctx.h"
#include "worker/wlog.h"

#include <time.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256
#define POOL_MONITOR_MS 100
#define POOL_SPOOL_FLUSH_MS 30000

struct pool {
	struct worker *w;
	pool_run_fn run;
	void *run_payload;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;     /* waiting */
	struct job **running;        /* one slot per thread */
	size_t nthreads, nrunning;
	pthread_t *threads;
	size_t started;
	pthread_t monitor;
	bool monitor_started;
	bool stop;
};

struct pool_slot {
	struct pool *p;
	size_t index;
};

void job_free(struct job *j)
{
	if (!j)
		return;
	alts_free(j->body);
	alts_free(j->message_id);
	alts_free(j->queue);
	alts_free(j);
}

void job_stop(struct job *j, enum job_stop why)
{
	int none = JOB_STOP_NONE;

	atomic_compare_exchange_strong(&j->stop, &none, (int)why);
	j->cancel = 1;
}

static void *pool_thread(void *arg)
{
	struct pool_slot *slot = arg;
	struct pool *p = slot->p;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job *j;

		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->head)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		j->next = NULL;
		if (atomic_load(&p->w->max_reached) || atomic_load(&p->w->phase) != WORKER_RUNNING) {
			/* Stopping or --max-tasks reached: what was prefetched goes back to the queue. */
			pthread_mutex_unlock(&p->lock);
			j->settle(j->gen, j->tag, SETTLE_REQUEUE, j->settle_payload);
			job_free(j);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		p->running[slot->index] = j;
		p->nrunning++;
		pthread_mutex_unlock(&p->lock);
		p->run(j, p->run_payload);
		pthread_mutex_lock(&p->lock);
		p->running[slot->index] = NULL;
		p->nrunning--;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		job_free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	alts_free(slot);
	return NULL;
}

static void flush_spool(struct pool *p)
{
	struct worker_cfg *wc = wctx_cfg_get(p->w);
	struct artifact_store_config sc;
	struct artifact_store *st = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	size_t delivered = 0, remaining = 0;

	farm_config_artifact_store(wc->c, &sc);
	if (artifact_store_open(&st, &sc, &err)) {
		wlog(ALTS_LOG_WARN, "spool.flush_failed", NULL, "msg=%s", err.msg);
		goto out;
	}
	if (artifact_spool_flush(st, wc->c->spool_directory, &delivered, &remaining, &err))
		wlog(ALTS_LOG_WARN, "spool.flush_failed", NULL, "delivered=%zu remaining=%zu msg=%s", delivered,
		     remaining, err.msg);
	else if (delivered)
		wlog(ALTS_LOG_INFO, "spool.flushed", NULL, "delivered=%zu", delivered);
out:
	artifact_store_free(st);
	wctx_cfg_put(p->w, wc);
}

/* Enforces deadlines; flushes the spool now and then. */
static void *pool_monitor(void *arg)
{
	struct pool *p = arg;
	int64_t next_flush = wctx_mono_ms() + POOL_SPOOL_FLUSH_MS;

	flush_spool(p);
	for (;;) {
		int64_t now = wctx_mono_ms();
		bool stop;

		pthread_mutex_lock(&p->lock);
		stop = p->stop;
		for (size_t i = 0; i < p->nthreads; i++) {
			struct job *j = p->running[i];
			long long d, pv;

			if (!j)
				continue;
			d = atomic_load(&j->deadline_ms);
			pv = atomic_load(&j->provision_ms);
			if (d && now >= d && !j->cancel) {
				wlog(ALTS_LOG_WARN, "task.timeout", j->task_id, "msg=task_timeout reached; aborting");
				job_stop(j, JOB_STOP_TIMEOUT);
			} else if (pv && now >= pv && !j->cancel) {
				wlog(ALTS_LOG_WARN, "task.provision_timeout", j->task_id,
				     "msg=provision_timeout reached; aborting");
				job_stop(j, JOB_STOP_PROVISION);
			}
		}
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		if (now >= next_flush) {
			flush_spool(p);
			next_flush = wctx_mono_ms() + POOL_SPOOL_FLUSH_MS;
		}
		usleep(POOL_MONITOR_MS * 1000);
	}
	return NULL;
}

int pool_start(struct pool **out, struct worker *w, int threads, pool_run_fn run, void *payload,
	       struct alts_err *err)
{
	struct pool *p = alts_calloc(1, sizeof(*p));
	int e = 0;

	if (threads < 1)
		threads = 1;
	if (threads > POOL_MAX_THREADS)
		threads = POOL_MAX_THREADS;
	if (!p)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	p->w = w;
	p->run = run;
	p->run_payload = payload;
	p->nthreads = (size_t)threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->running = alts_calloc(p->nthreads, sizeof(*p->running));
	p->threads = alts_calloc(p->nthreads, sizeof(*p->threads));
	if (!p->running || !p->threads) {
		pool_stop(p);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < p->nthreads && !e; i++) {
		struct pool_slot *slot = alts_calloc(1, sizeof(*slot));

		if (!slot) {
			e = ENOMEM;
			break;
		}
		slot->p = p;
		slot->index = i;
		e = pthread_create(&p->threads[i], NULL, pool_thread, slot);
		if (e)
			alts_free(slot);
		else
			p->started++;
	}
	if (!e) {
		e = pthread_create(&p->monitor, NULL, pool_monitor, p);
		p->monitor_started = !e;
	}
	if (e) {
		pool_stop(p);
		return alts_err_errno(err, ALTS_EENV, e, "cannot start the task threads");
	}
	*out = p;
	return 0;
}

void pool_submit(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->lock);
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void pool_cancel(struct pool *p, const char *id)
{
	bool running = false;

	idset_add(p->w->canceled, id, wctx_mono_ms());
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nthreads; i++) {
		struct job *j = p->running[i];

		if (j && !strcmp(j->task_id, id)) {
			job_stop(j, JOB_STOP_REVOKED);
			running = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	/* Every worker hears every cancel: only the one running the task says so at info. */
	wlog(running ? ALTS_LOG_INFO : ALTS_LOG_DEBUG, "task.cancel", id, "running=%s", running ? "true" : "false");
}

bool pool_alias(struct pool *p, struct job *dup)
{
	bool found = false;
	int settled = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nthreads && !found; i++) {
		struct job *j = p->running[i];

		if (!j || j == dup || strcmp(j->task_id, dup->task_id))
			continue;
		found = true;
		settled = j->settled;
		if (!settled && j->naliases < ALTS_ARRAY_SIZE(j->alias_tag)) {
			j->alias_gen[j->naliases] = dup->gen;
			j->alias_tag[j->naliases] = dup->tag;
			j->naliases++;
		} else if (!settled) {
			settled = 1 + SETTLE_ACK;  /* no room: ack it now, the running one reports */
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (settled)
		dup->settle(dup->gen, dup->tag, (enum settle)(settled - 1), dup->settle_payload);
	return found;
}

void pool_settle(struct pool *p, struct job *j, enum settle how)
{
	uint64_t gen[ALTS_ARRAY_SIZE(j->alias_tag)], tag[ALTS_ARRAY_SIZE(j->alias_tag)];
	size_t n;

	pthread_mutex_lock(&p->lock);
	j->settled = 1 + (int)how;
	n = j->naliases;
	memcpy(gen, j->alias_gen, sizeof(gen));
	memcpy(tag, j->alias_tag, sizeof(tag));
	j->naliases = 0;
	pthread_mutex_unlock(&p->lock);
	j->settle(j->gen, j->tag, how, j->settle_payload);
	for (size_t i = 0; i < n; i++)
		j->settle(gen[i], tag[i], how, j->settle_payload);
}

void pool_abort_all(struct pool *p, enum job_stop reason)
{
	struct job *waiting;

	pthread_mutex_lock(&p->lock);
	waiting = p->head;
	p->head = p->tail = NULL;
	for (size_t i = 0; i < p->nthreads; i++) {
		if (p->running[i])
			job_stop(p->running[i], reason);
	}
	pthread_mutex_unlock(&p->lock);
	while (waiting) {
		struct job *j = waiting;

		waiting = j->next;
		j->settle(j->gen, j->tag, SETTLE_REQUEUE, j->settle_payload);
		job_free(j);
	}
}

size_t pool_load(struct pool *p)
{
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (struct job *j = p->head; j; j = j->next)
		n++;
	n += p->nrunning;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void pool_stop(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	if (p->monitor_started)
		pthread_join(p->monitor, NULL);
	while (p->head) {
		struct job *j = p->head;

		p->head = j->next;
		job_free(j);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	alts_free(p->running);
	alts_free(p->threads);
	alts_free(p);
}
