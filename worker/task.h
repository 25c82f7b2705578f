#ifndef ALTS_WORKER_TASK_H
#define ALTS_WORKER_TASK_H

#include "farm/farm_config.h"
#include "framework/suite.h"
#include "worker/pool.h"

/*
 * Runs one task message through the same framework as alts-run: the
 * suite is loaded from the message, checks get the worker's timeouts,
 * engine_run writes TAP, JUnit XML and the JSON result into a per-task
 * temporary directory, the artifacts go to the artifact store (or the
 * spool), the final report is published and confirmed, and only then is
 * the message acked. Called on a pool thread; settles j's delivery.
 */
struct worker;

void task_run(struct worker *w, struct job *j);

/*
 * Applies the worker's limits to a loaded suite: every check gets at most
 * tests_timeout (script checks) or commands_timeout (the others); a
 * shorter timeout of the check or the suite's check_timeout is kept.
 */
void task_apply_timeouts(struct suite *s, const struct farm_config *c);

/* The runner for the task: the suite's environment.runner, else the message's, else NULL (engine default). */
const char *task_pick_runner(const struct suite *s, const char *msg_runner);

#endif
