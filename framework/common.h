/*
 * Included first by every .c file: feature macros, the system headers
 * most modules need, then banned.h (which must come after every system
 * header that declares a banned function).
 */
#ifndef ALTS_COMMON_H
#define ALTS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALTS_VERSION "0.1.0"

#define ALTS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALTS_UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define ALTS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ALTS_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define ALTS_PRINTF(f, a)
#define ALTS_WARN_UNUSED
#endif

/* Functions exported only so unit tests can reach them. */
#define ALTS_TESTABLE

#include "framework/err.h"
#include "framework/alloc.h"
#include "framework/banned.h"

#endif
