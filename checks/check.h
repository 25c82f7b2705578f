#ifndef ALTS_CHECK_H
#define ALTS_CHECK_H

#include <stddef.h>

/* Check kinds: install, launch, integrity, script, uninstall, upgrade, dep8 (alias autopkgtest). */

struct check_ops;

/* The check kind called name (a kind's name or an alias), or NULL. */
const struct check_ops *check_lookup(const char *name);
/*
 * check_lookup() that also gives, in *kind (when not NULL and found), the
 * registry's static copy of name: the suite's spelling, an alias included.
 */
const struct check_ops *check_lookup_as(const char *name, const char **kind);
/* Names of all check kinds and aliases, NULL-terminated. */
const char *const *check_names(void);

#endif
