#ifndef ALTS_SCHED_PULL_H
#define ALTS_SCHED_PULL_H

#include <stddef.h>

#include <jansson.h>

#include "scheduler/outbox.h"
#include "scheduler/payload.h"
#include "scheduler/settings.h"
#include "scheduler/store.h"

/*
 * Pull mode, as ALTS's scheduler does it since late 2023: every
 * bs_poll_interval seconds, GET {bs_host}{bs_tasks_endpoint} with
 * "Authorization: Bearer {bs_token}"; the Build System answers a JSON
 * list of task payloads (the ALTS request model) and marks them started.
 * Each payload is validated as a pushed one would be, skipped when a
 * queued or running task of its bs_task_id exists (the Build System
 * served it twice), and the batch is committed to the task store in one
 * transaction before the outbox publishes it, exactly like pushed tasks.
 * A Build System that is down, slow (30 s timeout), answers garbage or
 * 401 is logged and polled again with a doubling backoff (capped at
 * 5 minutes). The one window that can lose tasks: a scheduler killed
 * between the Build System's answer and the commit (milliseconds); the
 * Build System has marked them started by then (docs/albs.md).
 */
struct pull;

int pull_start(struct pull **out, const struct settings *cfg, struct store *store, struct outbox *outbox,
	       struct alts_err *err);
/* Stops and joins the thread, frees p (NULL-safe). */
void pull_stop(struct pull *p);

/*
 * Commits one answer of the Build System (JSON text): every valid
 * payload not already queued or running. *queued and *skipped count;
 * invalid payloads are logged and counted in *invalid. ALTS_EINVALID when
 * the text is not a JSON list. For tests.
 */
int pull_commit(struct store *store, const struct payload_rules *rules, const char *text, size_t len, int *queued,
		int *skipped, int *invalid, struct alts_err *err);

#endif
