#ifndef ALTS_SCHED_RESULTS_H
#define ALTS_SCHED_RESULTS_H

#include "scheduler/sched_config.h"
#include "scheduler/store.h"

/*
 * The results consumer: one thread that consumes cfg->results_queue
 * (durable, manual acks) and records each worker report in the store
 * (store_report) before acking it. A report is JSON:
 *   {"task_id": "<uuid>", "state": "running"|"finished"|"failed", "result": {...}?}
 * Malformed reports are logged and dropped (acked); a store failure
 * leaves the report unacked, so the broker redelivers it. Reconnects
 * with backoff like the outbox.
 */
struct results;

/* Starts the thread; cfg and store are borrowed until results_stop(). */
int results_start(struct results **out, struct store *store, const struct sched_config *cfg, struct alts_err *err);
/* Stops and joins the thread, frees r (NULL-safe). */
void results_stop(struct results *r);

#endif
