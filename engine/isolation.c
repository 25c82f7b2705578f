#include "framework/common.h"
#include "engine/isolation.h"
#include "framework/log.h"
#include "framework/proc.h"

int engine_isolation_before(struct engine_isolation *iso, struct runner *r, const struct suite_check *c, FILE *log,
			    struct alts_err *err)
{
	bool snapshot = c->fresh && (!iso->have_snapshot || iso->shared_changed);
	double t0;
	int rc;

	if (!snapshot && !iso->dirty)
		return 0;
	t0 = proc_now();
	if (snapshot) {
		rc = runner_snapshot(r, err);
	} else if (iso->dirty && runner_snapshot_depth(r) > iso->depth) {
		rc = 0;
		while (!rc && runner_snapshot_depth(r) > iso->depth)
			rc = runner_snapshot_drop(r, err);
	} else {
		rc = runner_reset(r, err);
	}
	if (rc) {
		alts_err_prefix(err, "%s needs a fresh environment", c->name);
		return rc;
	}
	iso->resets++;
	iso->reset_ms += (proc_now() - t0) * 1000;
	if (snapshot) {
		iso->have_snapshot = true;
		iso->shared_changed = false;
		iso->depth = runner_snapshot_depth(r);
	}
	iso->dirty = false;
	if (log)
		fprintf(log, "alts: %s (%.1f ms)\n",
			snapshot ? "fresh environment: snapshot of the shared environment taken, this check runs on a copy"
			: c->fresh ? "fresh environment: back to the snapshot, this check runs on a copy"
				   : "shared environment: back to the snapshot, the last fresh check's changes are gone",
			(proc_now() - t0) * 1000);
	return 0;
}

void engine_isolation_after(struct engine_isolation *iso, const struct suite_check *c)
{
	if (c->fresh)
		iso->dirty = true;
	else
		iso->shared_changed = true;
}
