#ifndef ALTS_CONFIG_LOAD_H
#define ALTS_CONFIG_LOAD_H

/* Reads the alts configuration (framework/config.h) from a file or memory. */

#include "framework/config.h"

/* Loads path, or the default file if it exists, or the defaults (path NULL). */
int config_load(struct alts_config **out, const char *path, struct alts_err *err);
int config_load_buffer(struct alts_config **out, const char *label, const char *data, size_t len,
		       struct alts_err *err);
#define ALTS_DEFAULT_CONFIG_PATH "/etc/alts/alts.yaml"

#endif
