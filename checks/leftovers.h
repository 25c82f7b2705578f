#ifndef ALTS_LEFTOVERS_H
#define ALTS_LEFTOVERS_H

/*
 * What a package's life leaves behind: a walk of the environment's file
 * system and its process list before the first package change of the
 * suite (install or upgrade take it), compared after `uninstall` with
 * `purge: true`. The "before" lists are kept inside the environment
 * (RUNNER_WORKDIR/alts-life/), so every runner that can run find and ps
 * and copy files out supports it. See docs/checks.md (uninstall).
 */

#include <stdbool.h>
#include <stddef.h>

#include "checks/check_int.h"
#include "checks/pkg.h"

enum leftovers_policy {
	LEFTOVERS_FAIL = 0,
	LEFTOVERS_WARN,
	LEFTOVERS_IGNORE,
};

/* The life options of `uninstall` (its conf struct starts with this). */
struct leftovers_conf {
	bool purge;
	const char *leftovers;       /* "fail" (default with purge), "warn", "ignore" */
	struct strlist ignore;       /* extra glob patterns for paths not to report */
	double grace;                /* seconds processes get to stop; 0: LEFTOVERS_GRACE */
};

#define LEFTOVERS_GRACE 2.0

/* The policy a conf names; LEFTOVERS_IGNORE without purge. */
enum leftovers_policy leftovers_policy(const struct leftovers_conf *c);

/* True when a check of the suite will compare leftovers (so install must take the "before" walk). */
bool leftovers_wanted(const struct suite *s);

/* Takes the "before" walk unless it was taken already in this environment. */
int leftovers_snapshot(struct check_ctx *ctx, const struct pkg_mgr *m, struct alts_err *err);

/*
 * Compares now with the "before" walk: one finding a path or process,
 * "left behind: /var/lib/x", "removed: /etc/y", "still running: 123 food
 * (/usr/sbin/food -f)"; in *findings (arena). *nobefore is set (and
 * nothing compared) when no walk was taken.
 */
int leftovers_compare(struct check_ctx *ctx, const struct pkg_mgr *m, const struct leftovers_conf *conf,
		      struct strlist *findings, bool *nobefore, struct alts_err *err);

/*
 * Pure parts, for unit tests.
 */

/* True when path is an expected change on family (logs, caches, databases) or matches extra. */
bool leftovers_excluded(enum pkg_family family, const char *path, const struct strlist *extra);

/* The built-in exclusion patterns of family (NULL-terminated, static). */
const char *const *leftovers_exclusions(enum pkg_family family);

/*
 * Diffs two walks ("TYPE PATH" records separated by NUL; root, when not
 * NULL, is stripped from paths): new paths become "left behind: P",
 * vanished ones "removed: P"; a new directory's contents are not listed
 * separately. Excluded paths are left out. Strings in arena a.
 */
int leftovers_diff(const char *before, size_t before_len, const char *after, size_t after_len,
		   enum pkg_family family, const char *root, const struct strlist *extra, struct strlist *out,
		   struct arena *a);

/*
 * Processes in after ("PID COMM ARGS" lines of ps) whose PID is not in
 * before, without ps itself: "still running: PID COMM (ARGS)".
 */
int leftovers_procs(const char *before, const char *after, struct strlist *out, struct arena *a);

#endif
