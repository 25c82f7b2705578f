#ifndef ALTS_WORKER_H
#define ALTS_WORKER_H

#include <stdbool.h>

#include "framework/err.h"
#include "worker/worker_opts.h"

/*
 * alts-worker: consumes task queues from RabbitMQ, runs each task's suite
 * with the framework (as alts-run does), stores the reports and logs in
 * the artifact store and reports every state change to the scheduler's
 * results queue (docs/internals/worker-protocol.md). docs/worker.md is
 * the user's guide.
 *
 * Threads: a consumer (owns the consuming connection, heartbeats, acks),
 * a publisher (own connection, publisher confirms), N task threads and a
 * monitor (deadlines, spool flushes). The caller's thread handles
 * signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config.
 */

/*
 * Loads the config and runs until a signal (or max_tasks) stops it.
 * Returns 0 after a clean stop; ALTS_EINVALID (config, options: message in
 * err, "file:line:col: ..." for the config) or another negative code
 * when it could not start.
 */
int worker_run(const struct worker_opts *o, struct alts_err *err);

#endif
