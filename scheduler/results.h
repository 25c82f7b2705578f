#ifndef ALTS_SCHED_RESULTS_H
#define ALTS_SCHED_RESULTS_H

#include "farm/farm_config.h"
#include "scheduler/store.h"

/*
 * The results consumer: one thread that consumes cfg->results_queue
 * (durable, manual acks) and records each worker report in the store
 * (store_report) before acking it. A report is JSON, as
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

/* Applies one report body (exported for tests): 0 to ack it, or an error to leave it for redelivery. */
int results__apply(struct store *store, const char *body, size_t len);

#endif
