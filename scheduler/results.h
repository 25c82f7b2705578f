#ifndef ALTS_SCHED_RESULTS_H
#define ALTS_SCHED_RESULTS_H

#include "farm/farm_config.h"
#include "scheduler/store.h"

/*
 * Worker reports reach the scheduler two ways, handled by the same
 * results_apply(): the results consumer (here), one thread that consumes
 * cfg->results_queue (durable, manual acks) and acks a report once it is
 * committed; and POST /internal/tasks/{id}/report (scheduler/server.c),
 * which answers 2xx once it is committed. A report is JSON, as
 * docs/internals/worker-protocol.md describes:
 *   {"task_id", "state": received|running|finished|failed|revoked, "worker"?,
 *    "progress"?: {done, total}, "result"?, "artifacts"?, "artifacts_pending"?, "error"?}
 * Malformed reports (not JSON, no task_id/state, unknown state or task)
 * are logged and dropped (acked); a malformed optional field is logged
 * and left out while the state still applies. A store failure
 * leaves the report unacked, so the broker redelivers it. Reconnects
 * with backoff like the outbox.
 */
struct results;

/* Starts the thread; cfg and store are borrowed until results_stop(). */
int results_start(struct results **out, struct store *store, const struct farm_config *cfg, struct alts_err *err);
/* Stops and joins the thread, frees r (NULL-safe). */
void results_stop(struct results *r);

/*
 * Records one report body in the store (store_report) and logs it.
 * task_id: the task the report must name (the route's), NULL: any.
 * 0: committed, or left alone as a duplicate or a report that no longer
 * applies (*applied false; idempotent: a report sent twice changes
 * nothing the second time). ALTS_EINVALID: malformed, an unknown state or
 * another task than task_id; ALTS_ENOTFOUND: no such task (both are
 * logged: the report is dropped). Anything else (ALTS_ENOMEM, a store
 * failure): nothing was recorded, try again later. err says why.
 */
int results_apply(struct store *store, const char *body, size_t len, const char *task_id, bool *applied,
		  struct alts_err *err);

#endif
