#ifndef ALTS_SCHED_INTAKE_H
#define ALTS_SCHED_INTAKE_H

#include "scheduler/outbox.h"
#include "scheduler/store.h"

/*
 * Group commit of accepted tasks. HTTP threads hand tasks in and go on
 * serving other connections; one thread commits everything handed in
 * meanwhile in a single transaction, kicks the outbox, then calls each
 * task's done callback. Under load one WAL commit then serves hundreds
 * of requests instead of one, and a request still gets its 201 only
 * after its task is on disk.
 */
struct intake;

struct intake_task {
	struct store_new_task row;  /* row.rc is set before done is called */
	/* Called on the intake's thread once the row is committed (or failed); no lock is held. */
	void (*done)(struct intake_task *t, void *payload);
	void *payload;
	struct intake_task *next;   /* owned by the intake while it holds the task */
};

/* outbox may be NULL (nothing to kick). store and outbox are borrowed until intake_stop(). */
int intake_start(struct intake **out, struct store *store, struct outbox *outbox, struct alts_err *err);

/*
 * Hands t in; its done callback follows. ALTS_ECANCELED (done not called)
 * once intake_stop() has begun.
 */
int intake_submit(struct intake *in, struct intake_task *t);

/*
 * Commits what was handed in (done callbacks included) and stops the
 * thread; later intake_submit() calls fail. NULL-safe.
 */
void intake_stop(struct intake *in);
/* Frees in, stopping it first if need be (NULL-safe). */
void intake_free(struct intake *in);

#endif
