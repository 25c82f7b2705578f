#ifndef ALTS_CONFIG_H
#define ALTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"

/*
 * alts configuration (alts-run --config, or /etc/alts/alts.yaml when it
 * exists, or the embedded defaults); engine/config_load.h reads it.
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
	double index_max_age;                 /* install refreshes an older package index, seconds; 0: always */
	double image_max_age;                 /* an older sandbox image is warned about or rebuilt, seconds; 0: never */
	bool image_rebuild;                   /* image_refresh: rebuild (true) or warn (false, the default) */
	const char *sandbox_disk;             /* per sandbox tmpfs size ("4G"); NULL: the runner's default */
	const char *sandbox_memory;           /* per sandbox memory ("2G"); NULL: half the RAM */
	const char *sandbox_pids;             /* per sandbox processes ("4096"); NULL: 4096 */
};

void config_free(struct alts_config *c);


/* True when pkg is protected from removal. */
bool config_is_protected(const struct alts_config *c, const char *pkg);

/*
 * Returns the exclusion matching dist (name, version), package and check
 * kind, or NULL.
 */
const struct config_exclusion *config_find_exclusion(const struct alts_config *c, const char *dist_name,
						     const char *dist_version, const char *pkg,
						     const char *check_kind);

/* Why e applies, for messages: its reason, or a stock one. */
const char *config_exclusion_reason(const struct config_exclusion *e);

#endif
