#ifndef ALTS_WORKER_POOL_H
#define ALTS_WORKER_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framework/err.h"
#include "worker/idset.h"

/*
 * The task pool: N threads that run deliveries handed over by the
 * consumer, plus a monitor thread that enforces the whole-task and
 * provisioning deadlines (by setting the task's engine cancel flag) and
 * flushes the artifact spool periodically.
 */
struct worker;
struct pool;

/* How a delivery is settled. */
enum settle {
	SETTLE_ACK,
	SETTLE_REQUEUE,   /* basic.reject, requeue */
};

/*
 * Acks or rejects delivery tag of connection generation gen. Set on each
 * job by whoever hands it over (the consumer), so the pool and the task
 * threads settle without knowing who consumes.
 */
typedef void (*job_settle_fn)(uint64_t gen, uint64_t tag, enum settle how, void *payload);

/* Why a running task was stopped. */
enum job_stop {
	JOB_STOP_NONE = 0,
	JOB_STOP_REVOKED,    /* a cancel for its id: reported revoked */
	JOB_STOP_TIMEOUT,    /* task_timeout passed: reported failed */
	JOB_STOP_PROVISION,  /* provision_timeout passed before the first check: failed */
	JOB_STOP_SHUTDOWN,   /* the grace period ran out: not reported, requeued */
};

/* One delivery from a task queue; owned by the pool once submitted. */
struct job {
	struct job *next;
	char *body;
	size_t len;
	char *message_id;       /* AMQP message_id, or NULL */
	char *queue;            /* the queue it came from */
	uint64_t tag;           /* delivery tag ... */
	uint64_t gen;           /* ... on this connection generation */
	bool redelivered;
	job_settle_fn settle;   /* settles tag (and the aliases below) */
	void *settle_payload;

	/* While it runs. */
	char task_id[IDSET_ID_MAX + 1];
	volatile int cancel;    /* engine_opts.cancel */
	atomic_int stop;        /* enum job_stop; the first reason wins */
	atomic_llong deadline_ms;      /* wctx_mono_ms() of task_timeout; 0 none */
	atomic_llong provision_ms;     /* wctx_mono_ms() of provision_timeout while provisioning; 0 none */

	/* Redeliveries of this task that arrived while it ran (under the pool's lock): settled with it. */
	uint64_t alias_gen[8], alias_tag[8];
	size_t naliases;
	int settled;            /* 0 not yet, else 1 + enum settle */
};

/* Runs j on a pool thread; settles it (pool_settle) before returning. j is the pool's. */
typedef void (*pool_run_fn)(struct job *j, void *payload);

/* run (with payload) runs each job; payload is borrowed until pool_stop(). */
int pool_start(struct pool **out, struct worker *w, int threads, pool_run_fn run, void *payload,
	       struct alts_err *err);
/* Hands j over (always taken; freed by the pool). */
void pool_submit(struct pool *p, struct job *j);
/* A cancel for id: remembered, and a running task with that id is stopped. */
void pool_cancel(struct pool *p, const char *id);
/*
 * dup is a redelivery of a task running here: its delivery is settled
 * the way the running one's is, when that happens (true). False when no
 * task with that id runs; when it has already been settled, dup is
 * settled the same way at once (true).
 */
bool pool_alias(struct pool *p, struct job *dup);
/* Settles j's delivery and its aliases through j->settle (task threads call this once per job). */
void pool_settle(struct pool *p, struct job *j, enum settle how);
/* Stops every running task (reason) and requeues the waiting ones. */
void pool_abort_all(struct pool *p, enum job_stop reason);
/* Tasks running plus waiting. */
size_t pool_load(struct pool *p);
/* Sets why (if none yet) and raises j's cancel flag. */
void job_stop(struct job *j, enum job_stop why);
void job_free(struct job *j);
/* Stops and joins every thread (running tasks are let finish); frees p. NULL-safe. */
void pool_stop(struct pool *p);

#endif
