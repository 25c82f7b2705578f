#ifndef ALTS_REPORTER_H
#define ALTS_REPORTER_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/result.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

/*
 * Reporters are event sinks: the engine sends run, suite and check events
 * to every open reporter, one event at a time (serialized even with -j).
 */

struct reporter;
struct reporter_set;

struct reporter_opts {
	const char *path;     /* output file; "-" is stdout; NULL: the reporter's default */
	int tap_version;      /* 13 (default) or 14 */
	bool color;           /* console: ANSI colour */
	bool verbose;         /* console: stream check output */
	bool live;            /* console: keep a status line of the running suites (alts-run sets it on a terminal) */
	size_t output_cap;    /* bytes of output embedded per check (JUnit system-out ...) */
	void *payload;        /* reporters added with reporter_set_add_ops: the caller's data */
	/*
	 * File reporters (tap, junit, json, html): when set, the output is appended here instead
	 * of written to path (the worker stores its reports from memory). Borrowed: it must outlive
	 * the reporter; after an allocation failure sbuf_ok() is false and run_end fails.
	 */
	struct sbuf *out;
};

struct run_info {
	struct suite *const *suites;
	size_t nsuites;
	double started;  /* epoch seconds */
};

int reporter_set_new(struct reporter_set **out);
/* Opens reporter `name` with opts and adds it. ALTS_ENOTFOUND for an unknown name. */
int reporter_set_add(struct reporter_set *set, const char *name, const struct reporter_opts *opts,
		     struct alts_err *err);
/* Closes and frees every reporter. NULL-safe. */
void reporter_set_free(struct reporter_set *set);

void reporter_set_run_start(struct reporter_set *set, const struct run_info *info);
void reporter_set_suite_start(struct reporter_set *set, const struct suite *s);
void reporter_set_check_start(struct reporter_set *set, const struct suite *s, const struct suite_check *c);
void reporter_set_check_output(struct reporter_set *set, const struct suite *s, const struct suite_check *c,
			       const char *buf, size_t len);
void reporter_set_check_end(struct reporter_set *set, const struct suite_result *sr, const struct check_result *cr);
void reporter_set_suite_end(struct reporter_set *set, const struct suite_result *sr);
/* Writes final outputs; the first error is returned, every reporter still runs. */
int reporter_set_run_end(struct reporter_set *set, const struct run_result *rr, struct alts_err *err);

const char *const *reporter_names(void);

#endif
