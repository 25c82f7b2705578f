#include "framework/common.h"
#include "worker/wctx.h"

#include <sys/time.h>
#include <time.h>

int64_t wctx_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t wctx_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct worker_cfg *wctx_cfg_get(struct worker *w)
{
	struct worker_cfg *wc;

	pthread_mutex_lock(&w->cfg_lock);
	wc = w->cfg;
	wc->refs++;
	pthread_mutex_unlock(&w->cfg_lock);
	return wc;
}

void wctx_cfg_put(struct worker *w, struct worker_cfg *wc)
{
	bool last;

	if (!wc)
		return;
	pthread_mutex_lock(&w->cfg_lock);
	last = --wc->refs == 0;
	pthread_mutex_unlock(&w->cfg_lock);
	if (last) {
		farm_config_free(wc->c);
		alts_free(wc);
	}
}

const struct strlist *wctx_queues(struct worker *w, const struct farm_config *c)
{
	if (w->opts.queues.n)
		return &w->opts.queues;
	return c->worker_queues.n ? &c->worker_queues : &w->image_queues;
}

void wctx_task_done(struct worker *w)
{
	long n = atomic_fetch_add(&w->tasks_done, 1) + 1;

	if (w->opts.max_tasks > 0 && n >= w->opts.max_tasks)
		atomic_store(&w->max_reached, true);
}
