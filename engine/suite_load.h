#ifndef ALTS_SUITE_LOAD_H
#define ALTS_SUITE_LOAD_H

/*
 * The suite loader: YAML or JSON text into a struct suite (framework/suite.h),
 * validated whole before anything runs. Runner sections and check options
 * are decoded with the key tables their plugins declare.
 */

#include "framework/suite.h"

/* Loads and validates a suite file. */
int suite_load_file(struct suite **out, const char *path, struct alts_err *err);

/*
 * Loads a suite from memory. label names it in messages; dir is the base
 * for relative paths (NULL: the current directory).
 */
int suite_load_buffer(struct suite **out, const char *label, const char *dir, const char *data,
		      size_t len, struct alts_err *err);

/* As suite_load_buffer(), with SUITE_LOAD_* flags (framework/suite.h): farm suites, the scheduler. */
int suite_load_buffer_flags(struct suite **out, const char *label, const char *dir, const char *data, size_t len,
			    unsigned flags, struct alts_err *err);

#endif
