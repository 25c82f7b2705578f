#ifndef ALTS_SCHED_STORE_H
#define ALTS_SCHED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framework/sbuf.h"

/*
 * The task store: one SQLite database in WAL mode, one connection behind
 * a mutex, prepared statements. Safe to call from any thread. A task is
 * committed here before it is published (the outbox), so an accepted task
 * survives a broker outage and a scheduler restart.
 *
 * States: queued (accepted; `published` says whether the broker has it),
 * running, finished, failed, canceled.
 */
struct store;

/* One task row; strings are owned by the struct until store_task_release(). */
struct store_task {
	int64_t seq;            /* insertion order, the list cursor */
	char *id;
	char *state;
	char *queue;
	char *bs_task_id;       /* NULL when none */
	char *callback_href;    /* NULL when none */
	char *message;          /* the queue message (JSON) */
	char *result;           /* JSON, NULL until finished */
	int64_t created_ms;     /* Unix time in milliseconds; 0: not yet */
	int64_t updated_ms;
	int64_t published_ms;
	int64_t started_ms;
	int64_t finished_ms;
	bool published;
	int callback_attempts;  /* POSTs to callback_href so far */
	/* From worker reports (docs/internals/worker-protocol.md); NULL/false until reported. */
	char *worker;             /* "<host>/<pid>" of the last worker that reported */
	char *artifacts;          /* JSON object name -> URL */
	char *artifacts_pending;  /* JSON array of names still spooled on the worker */
	char *error;              /* why the task could not be run (failed) */
	bool has_progress;
	int64_t progress_done;    /* checks done / total, while running */
	int64_t progress_total;
	bool cancel_pending;      /* canceled after publishing; the cancel message is not yet confirmed */
};

void store_task_release(struct store_task *t);

/*
 * Opens (creating) the database at path. A database written by an older
 * scheduler is migrated in place: missing columns are added (ALTER TABLE
 * ADD COLUMN), existing rows keep their data.
 */
int store_open(struct store **out, const char *path, struct alts_err *err);
void store_free(struct store *s);

/* Inserts a queued, unpublished task. */
int store_insert(struct store *s, const char *id, const char *queue, const char *bs_task_id,
		 const char *callback_href, const char *message, struct alts_err *err);

/* One task for store_insert_many(); rc is its outcome (0: committed). */
struct store_new_task {
	const char *id;
	const char *queue;
	const char *bs_task_id;     /* NULL when none */
	const char *callback_href;  /* NULL when none */
	const char *message;
	int rc;
	/* The request's Idempotency-Key and the SHA-256 (hex) of its body, or NULL: kept with the
	 * task in the same transaction; a key already kept makes rc ALTS_ECONFLICT. */
	const char *idem_key;
	const char *idem_hash;
};

/*
 * Inserts n tasks in one transaction (one WAL commit for all). When that
 * fails, each task is inserted on its own, so one bad row fails alone;
 * every task's rc tells, and err holds the first failure. Returns 0 when
 * every task was committed.
 */
int store_insert_many(struct store *s, struct store_new_task *tasks, size_t n, struct alts_err *err);

/* Fills *out (release it) or returns ALTS_ENOTFOUND. */
/* How long an Idempotency-Key is remembered. */
#define STORE_IDEM_TTL_MS ((int64_t)24 * 3600 * 1000)

/*
 * The task an Idempotency-Key was kept with (less than STORE_IDEM_TTL_MS
 * ago) and the hash of that request's body: 0, or ALTS_ENOTFOUND.
 */
int store_idem_get(struct store *s, const char *key, char task_id[64], char hash[65], struct alts_err *err);

int store_get(struct store *s, struct store_task *out, const char *id, struct alts_err *err);

typedef int (*store_task_fn)(const struct store_task *t, void *payload);

/*
 * Calls fn for up to limit tasks with seq > after, in seq order, whose
 * state is state (NULL: any). A non-zero return from fn stops and is
 * returned.
 */
int store_list(struct store *s, const char *state, int64_t after, int limit, store_task_fn fn, void *payload,
	       struct alts_err *err);

/*
 * Cancels a queued or running task. *state_out (static string) is the
 * state afterwards; ALTS_ENOTFOUND when no such task. A task that was
 * already published (or is running) gets cancel_pending: the outbox
 * announces the cancel to the workers (store_pending_cancels).
 */
int store_cancel(struct store *s, const char *id, const char **state_out, bool *changed, struct alts_err *err);
/* Cancels every queued or running task of a build system id; *count how many. */
int store_cancel_bs(struct store *s, const char *bs_task_id, int *count, struct alts_err *err);

/* Calls fn for up to limit tasks whose cancel must still be announced, oldest first. */
int store_pending_cancels(struct store *s, int limit, store_task_fn fn, void *payload, struct alts_err *err);
/* Clears cancel_pending: the broker confirmed the cancel message. */
int store_cancel_sent(struct store *s, const char *id, struct alts_err *err);

/* Calls fn for up to limit queued tasks not yet published with seq > after, oldest first. */
int store_unpublished(struct store *s, int64_t after, int limit, store_task_fn fn, void *payload,
		      struct alts_err *err);
/*
 * Marks a task published (confirmed by the broker). A task canceled while
 * its message was in flight gets cancel_pending, so the cancel follows it.
 */
int store_mark_published(struct store *s, const char *id, int64_t now_ms, struct alts_err *err);
/* As store_mark_published for n tasks, in one transaction (all or none). */
int store_mark_published_many(struct store *s, const char *const *ids, size_t n, int64_t now_ms,
			      struct alts_err *err);

/* One worker report (docs/internals/worker-protocol.md); every field but state may be NULL/unset. */
struct task_report {
	const char *state;              /* received, running, finished, failed, revoked */
	const char *worker;
	const char *result;             /* JSON text */
	const char *artifacts;          /* JSON object text */
	const char *artifacts_pending;  /* JSON array text */
	const char *error;
	bool has_progress;
	int64_t progress_done;
	int64_t progress_total;
	const char *log;                /* text appended to the task's live log (NUL-terminated) */
};

/* The live log keeps at most this many bytes; later text is dropped (the full logs are artifacts). */
#define STORE_LIVE_LOG_MAX ((int64_t)4 << 20)

/*
 * Records a worker's report:
 *   received  queued or running: records the worker, no state change
 *   running   queued -> running (sets started_ms); while running, updates
 *             the worker and progress
 *   finished, failed
 *             queued or running -> that state: finished_ms, result,
 *             artifacts, artifacts_pending, error
 *   revoked   queued, running or canceled (without a result yet) ->
 *             canceled, keeping result and artifacts
 * A report that does not apply (a finished task, a canceled one except
 * for revoked, the second final result) is left alone: *applied false.
 * ALTS_ENOTFOUND when no such task; ALTS_EINVALID for another state.
 */
int store_report(struct store *s, const char *id, const struct task_report *r, bool *applied, struct alts_err *err);

/*
 * Appends the task's live log from byte offset on to out (at most max
 * bytes). ALTS_ENOTFOUND when no such task; an offset past the end adds
 * nothing.
 */
int store_live_log(struct store *s, const char *id, int64_t offset, size_t max, struct sbuf *out,
		   struct alts_err *err);

/*
 * Calls fn for up to limit ended tasks with a callback_href whose
 * callback is neither delivered nor given up and is due at now_ms:
 * finished and failed ones; canceled ones at once when they never ran,
 * else once the worker's revoked report came (or
 * STORE_CANCEL_CALLBACK_GRACE_MS after the cancel, when none comes).
 */
#define STORE_CANCEL_CALLBACK_GRACE_MS ((int64_t)300000)
int store_pending_callbacks(struct store *s, int64_t now_ms, int limit, store_task_fn fn, void *payload,
			    struct alts_err *err);
/* Records a callback attempt: done 1 delivered, -1 given up, 0 retry at next_ms. */
int store_callback_result(struct store *s, const char *id, int done, int64_t next_ms, struct alts_err *err);

/* *id_out: the id of a queued or running task of bs_task_id (alts_free), or NULL when none. */
int store_bs_active(struct store *s, const char *bs_task_id, char **id_out, struct alts_err *err);

typedef void (*store_count_fn)(const char *state, int64_t count, void *payload);
/* Calls fn once per state with its task count. */
int store_count_states(struct store *s, store_count_fn fn, void *payload, struct alts_err *err);

/* Current time in Unix milliseconds. */
int64_t store_now_ms(void);

#endif
