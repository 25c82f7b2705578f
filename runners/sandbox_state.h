#ifndef ALTS_SANDBOX_STATE_H
#define ALTS_SANDBOX_STATE_H

#include <limits.h>
#include <stdbool.h>

/*
 * A sandbox's directory on the host, <state>/sb-XXXXXX, with a lock file
 * that the owning alts-run holds (flock) while the sandbox lives. A
 * directory whose lock nobody holds is stale (its alts-run was killed) and
 * is removed by the next sandbox_state_create(), unless it was kept on
 * purpose (--keep-env writes a "kept" marker). Sweeps and creations in one
 * root take <state>/.lock in turn, so a directory is locked before a sweep
 * can see it; a sweep renames stale directories to .stale-sb-XXXXXX and
 * removes them after releasing that lock.
 *
 * The state root is $ALTS_SANDBOX_DIR, else /run/alts/sandboxes.
 */

struct sandbox_state {
	char dir[PATH_MAX];
	int lock_fd;
};

const char *sandbox_state_root(void);

/* Sweeps stale sandboxes, then creates and locks a new directory with root/ and rw/ in it. */
int sandbox_state_create(struct sandbox_state *st, struct alts_err *err);

/* Removes the directory and releases the lock. */
int sandbox_state_remove(struct sandbox_state *st, struct alts_err *err);
/*
 * The same for a sandbox this process stopped cleanly (its mounts went
 * with its namespace, its cgroups are removed): the directory's known
 * entries are removed by name, and only what else is left is swept.
 */
int sandbox_state_remove_stopped(struct sandbox_state *st, struct alts_err *err);

/* Marks the directory kept (never swept) and releases the lock. */
int sandbox_state_keep(struct sandbox_state *st, struct alts_err *err);

/* Removes every stale sandbox directory; returns how many, or a negative code. */
int sandbox_state_sweep(struct alts_err *err);

#endif
