#ifndef ALTS_ENGINE_H
#define ALTS_ENGINE_H

#include <stdbool.h>

#include "framework/config.h"
#include "framework/result.h"
#include "framework/suite.h"
#include "reporters/reporter.h"

/*
 * Runs suites: for each, a runner environment is prepared, the checks run
 * in order with their deadlines, every outcome goes to the reporters, and
 * the environment is torn down. Suites run in parallel with jobs > 1.
 */

struct engine_opts {
	const char *runner;          /* overrides environment.runner; NULL: the suite's */
	const char *dist_name;       /* overrides environment.dist_name */
	const char *dist_version;    /* overrides environment.dist_version */
	const char *artifacts_dir;   /* logs go to <dir>/<suite>/logs; NULL: a new temporary dir */
	const char *filter;          /* run only checks whose name or kind matches this glob */
	bool keep_env;               /* leave the environment in place after the run */
	int jobs;                    /* suites in parallel; < 1 means 1 */
	const struct alts_config *config;
	volatile const int *cancel;  /* set (by a signal handler) to stop early */
};

#define ENGINE_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, false, 1, NULL, NULL }

/*
 * Runs every suite and returns the results in *out (free with
 * run_result_free). Failed checks are results, not errors: the return
 * value is negative only when the run could not be done at all
 * (artifacts directory, memory). out->exit_code says how it went.
 */
int engine_run(struct run_result **out, struct suite *const *suites, size_t nsuites,
	       const struct engine_opts *opts, struct reporter_set *reporters, struct alts_err *err);

void run_result_free(struct run_result *rr);

/*
 * The runner a suite runs on: --runner, else environment.runner, else
 * "sandbox" when environment.image is set or an image exists for the
 * suite's distribution, else "local". Borrowed.
 */
const char *engine_pick_runner(const struct suite *s, const struct engine_opts *opts);

/* True when the check matches the --filter glob (by name or kind). */
bool engine_check_selected(const struct suite_check *c, const char *filter);

/* For tests: the log name of check number index named name (see engine.c). */
struct arena;
char *engine__log_name(struct arena *a, size_t index, const char *name);

#endif
