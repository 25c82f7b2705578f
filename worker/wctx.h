#ifndef ALTS_WORKER_WCTX_H
#define ALTS_WORKER_WCTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "framework/config.h"
#include "farm/farm_config.h"
#include "worker/idset.h"
#include "worker/worker_opts.h"

/*
 * What the worker's modules share: the configuration (reloadable, so
 * counted references), the id sets, the threads' handles and the stop
 * flags. One per process, passed to every module (no globals).
 */

/* A loaded configuration; task threads hold a reference while they run. */
struct worker_cfg {
	struct farm_config *c;
	int refs;
};

enum worker_phase {
	WORKER_RUNNING = 0,
	WORKER_DRAINING,   /* SIGTERM: no new tasks, running ones finish */
	WORKER_ABORTING,   /* grace period over: running tasks are aborted and requeued */
	WORKER_STOPPED,
};

struct consumer;
struct publisher;
struct pool;

struct worker {
	struct worker_opts opts;
	char ident[160];               /* <host>/<pid> */
	struct alts_config *engine_config;  /* alts.yaml for the engine (exclusions, protected packages) */
	struct arena *image_queues_arena;
	struct strlist image_queues;   /* from the images at start (worker/queues.h), when nothing names queues */

	pthread_mutex_t cfg_lock;
	struct worker_cfg *cfg;        /* current */

	struct idset *canceled;        /* ids from the cancel exchange, 24 h */
	struct idset *done;            /* tasks finished here recently (dedupe) */
	struct idset *active;          /* tasks running or waiting here (dedupe) */

	struct consumer *consumer;
	struct publisher *publisher;
	struct pool *pool;

	atomic_int phase;              /* enum worker_phase */
	atomic_long tasks_done;        /* final reports (and drops) so far */
	atomic_bool max_reached;       /* --max-tasks/--once: stop taking tasks */
};

/* A counted reference to the current config; release with wctx_cfg_put. */
struct worker_cfg *wctx_cfg_get(struct worker *w);
void wctx_cfg_put(struct worker *w, struct worker_cfg *wc);

/* Milliseconds since the epoch (reports) and of the monotonic clock (sets, deadlines). */
int64_t wctx_now_ms(void);
int64_t wctx_mono_ms(void);

/*
 * The queues to consume: --queues, else worker_queues, else those of the
 * images (found at start); never empty after worker_run's checks.
 */
const struct strlist *wctx_queues(struct worker *w, const struct farm_config *c);

/* Called by the pool when a task reached its end (reported or dropped). */
void wctx_task_done(struct worker *w);

#endif
