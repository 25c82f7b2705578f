#ifndef ALTS_ISOLATION_H
#define ALTS_ISOLATION_H

#include <stdbool.h>
#include <stdio.h>

#include "framework/suite.h"
#include "runners/runner.h"

/*
 * Fresh checks (`fresh: true`, `isolation: check`): each runs in a copy of
 * the shared environment that is thrown away after it, so that no check's
 * side effects decide another's verdict. The shared environment advances
 * only through the checks that are not fresh (install, and any with
 * `fresh: false`); before a fresh check it is snapshotted when it changed
 * since the last snapshot (so the first snapshot holds what install put
 * there, test dependencies included), else reset to that snapshot.
 * Before a shared check that follows a fresh one, it is reset too.
 */
struct engine_isolation {
	bool have_snapshot;   /* a snapshot of the shared environment exists */
	bool shared_changed;  /* a shared check ran since that snapshot */
	bool dirty;           /* the last check that ran was fresh: its changes must go */
	unsigned depth;       /* the runner's snapshot depth right after the engine's last snapshot */
	unsigned resets;      /* counts, for the log */
	double reset_ms;      /* total time of snapshots and resets */
};
/*
 * A fresh check may take snapshots of its own (the DEP-8 check does, for
 * breaks-testbed tests): after it, those above the engine's are dropped,
 * which lands on the engine's snapshot as a reset would.
 */

/*
 * Before check c runs: snapshots or resets the environment as above, and
 * says so in log. 0, or the runner's error (ALTS_ENOTSUP when it has no
 * snapshots): the check cannot run.
 */
int engine_isolation_before(struct engine_isolation *iso, struct runner *r, const struct suite_check *c, FILE *log,
			    struct alts_err *err);

/* After check c ran (whatever its outcome). */
void engine_isolation_after(struct engine_isolation *iso, const struct suite_check *c);

#endif
