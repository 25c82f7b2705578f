#ifndef ALTS_CONFIG_H
#define ALTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"

/*
 * alts configuration (alts-run --config, or /etc/alts/alts.yaml when it
 * exists, or the embedded defaults). Shared by alts-run and later by the
 * scheduler and workers, which add their own keys.
 */

/* Skip checks for packages of a distribution (ALTS "exclusions"). */
struct config_exclusion {
	const char *dist;             /* "debian", "debian-12", "almalinux-8*" (glob on name-version) */
	struct strlist packages;      /* package name prefixes; a trailing * is allowed */
	struct strlist checks;        /* check kinds to skip; empty: every check but install/uninstall */
	const char *reason;
};

struct alts_config {
	struct arena *arena;
	const char *path;                     /* where it came from, or "<defaults>" */
	struct strlist protected_packages;    /* never uninstalled (skipped) */
	struct config_exclusion *exclusions;
	size_t nexclusions;
	double check_timeout;                 /* default per check, seconds */
	double suite_timeout;                 /* default per suite, seconds (0: none) */
	double command_timeout;               /* default for one helper command, seconds */
	size_t output_tail;                   /* bytes of output kept in reports */
};

/* Loads path, or the default file if it exists, or the defaults (path NULL). */
int config_load(struct alts_config **out, const char *path, struct alts_err *err);
int config_load_buffer(struct alts_config **out, const char *label, const char *data, size_t len,
		       struct alts_err *err);
void config_free(struct alts_config *c);

#define ALTS_DEFAULT_CONFIG_PATH "/etc/alts/alts.yaml"

/* True when pkg is protected from removal. */
bool config_is_protected(const struct alts_config *c, const char *pkg);

/*
 * Returns the exclusion matching dist (name, version), package and check
 * kind, or NULL.
 */
const struct config_exclusion *config_find_exclusion(const struct alts_config *c, const char *dist_name,
						     const char *dist_version, const char *pkg,
						     const char *check_kind);

#endif
