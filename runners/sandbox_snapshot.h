#ifndef ALTS_SANDBOX_SNAPSHOT_H
#define ALTS_SANDBOX_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/err.h"

/*
 * Snapshots of an overlay sandbox (runner_snapshot, runner_reset).
 *
 * The sandbox's writable layer lives in <state>/rw: upper/ and work/. A
 * snapshot stops the sandbox, renames the upper layer to layer<N> (a
 * read-only lower layer from then on) and starts the sandbox again over a
 * new, empty upper<G>; a reset stops it, removes upper<G> and work<G> and
 * starts it over empty ones. Each start is a new PID 1 with new
 * namespaces, as at prepare time: milliseconds.
 *
 * For the layers to outlive a sandbox's mount namespace, the tmpfs that
 * holds rw/ is not mounted by PID 1 (whose namespace dies with it) but in
 * a keeper mount namespace that only alts-run holds, by a descriptor:
 * each sandbox's outer process enters it before making its own, so the
 * tmpfs is in every sandbox's namespace and in none of the host's. When
 * alts-run ends, even by SIGKILL, the descriptor closes and the tmpfs is
 * freed: nothing is left on the host. With --keep-env, rw/ is a host
 * directory and the layers stay there.
 */

struct sandbox_snap {
	bool on;           /* snapshots work for this sandbox (overlay mode) */
	int ns_fd;         /* the keeper mount namespace; -1: none (rw/ is a host directory) */
	int rw_fd;         /* rw/ as alts-run sees it; -1 when off */
	unsigned nlayers;  /* frozen layers: rw/layer0 (oldest) .. rw/layer<nlayers-1> */
	unsigned gen;      /* the upper layer is rw/upper<gen> (gen 0: rw/upper), work rw/work<gen> */
	double last_ms;    /* how long the last snapshot or reset took */
};

#define SANDBOX_SNAP_MAX_LAYERS 16

/* Sets the descriptors to -1, snapshots off. Call before anything else. */
void sandbox_snap_init(struct sandbox_snap *s);

/*
 * Called by prepare in overlay mode, before the first sandbox starts.
 * rw is the host path of <state>/rw. With rw_tmpfs (the default, not
 * --keep-env), makes the keeper namespace and mounts the tmpfs with
 * tmpfs_opts at rw in it; the caller must then not mount one in PID 1.
 * A failure leaves snapshots off and is returned for the caller to log.
 */
int sandbox_snap_start(struct sandbox_snap *s, const char *rw, bool rw_tmpfs, const char *tmpfs_opts,
		       struct alts_err *err);

/*
 * In a sandbox's outer process (async-signal-safe), before it unshares
 * its namespaces: enters the keeper namespace. 0 or -errno.
 */
int sandbox_snap_enter(const struct sandbox_snap *s);

/*
 * With the sandbox stopped: freeze (the upper layer becomes a lower one)
 * or discard (the upper layer is removed), then a new empty upper layer.
 * Then sandbox_snap_plan() gives the paths of the next start.
 */
int sandbox_snap_freeze(struct sandbox_snap *s, struct alts_err *err);
int sandbox_snap_discard(struct sandbox_snap *s, struct alts_err *err);
/* As discard, and the last frozen layer goes too. */
int sandbox_snap_drop(struct sandbox_snap *s, struct alts_err *err);

/*
 * The upper and work directories and the overlay mount options of the
 * current generation: lowerdir=<rw>/layer<n-1>:...:<rw>/layer0:<lower>.
 */
int sandbox_snap_plan(const struct sandbox_snap *s, const char *rw, const char *lower, char *upper, size_t upper_size,
		      char *work, size_t work_size, char *opts, size_t opts_size, struct alts_err *err);

/* For tests: removes the tree name in parent_fd without following symbolic links; 0 or -errno. */
int sandbox_snap__rmtree(int parent_fd, const char *name);

/* Closes the descriptors: the keeper's tmpfs and its layers are freed. Idempotent. */
void sandbox_snap_release(struct sandbox_snap *s);

#endif
