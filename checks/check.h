#ifndef ALTS_CHECK_H
#define ALTS_CHECK_H

#include <stddef.h>

/* Check kinds: install, launch, integrity, script, uninstall, upgrade. */

struct check_ops;

/* The check kind called name, or NULL. */
const struct check_ops *check_lookup(const char *name);
/* Names of all check kinds, NULL-terminated. */
const char *const *check_names(void);

#endif
