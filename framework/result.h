#ifndef ALTS_RESULT_H
#define ALTS_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"

/*
 * What a run found. A failed check is data here, not an error code.
 * Strings and arrays live in the suite result's arena.
 */

enum check_status {
	CHECK_PASS = 0,
	CHECK_FAIL,
	CHECK_SKIP,
	CHECK_ERROR,  /* the environment failed, not the package */
	CHECK_XFAIL,  /* failed, and expect_failure was set: counts as passed */
	CHECK_XPASS,  /* passed, but expect_failure was set: counts as failed */
};

/* "pass", "fail", "skip", "error", "xfail", "xpass". */
const char *check_status_name(enum check_status s);
/* True for statuses that make the run fail (FAIL, ERROR, XPASS). */
bool check_status_is_failure(enum check_status s);

/* One part of a multi-part check (an integrity sub-check, a script's TAP test). */
struct check_sub {
	const char *name;
	enum check_status status;
	const char *message;   /* why it failed or was skipped; NULL when passed */
	const char *output;    /* relevant output, may be NULL */
	double duration;
	struct check_sub *subs;  /* nested parts (a script's TAP subtests); may be NULL */
	size_t nsubs;
};

struct check_result {
	const struct suite_check *check;  /* borrowed from the suite */
	const char *name;                 /* display name */
	enum check_status status;
	const char *message;   /* one line: why it failed/was skipped; NULL when passed */
	int exit_code;         /* of the main command, -1 when none ran */
	int term_signal;
	bool timed_out;
	double started;        /* epoch seconds */
	double duration;       /* seconds */
	const char *log_path;  /* host path of the full log, or NULL */
	const char *log_name;  /* file name of the log inside the artifacts dir */
	const char *output;    /* tail of the output (capped), may be NULL */
	size_t output_omitted; /* bytes of the log before that tail (the engine keeps output_tail bytes) */
	struct check_sub *subs;
	size_t nsubs;
};

struct suite_result {
	struct arena *arena;
	const struct suite *suite;       /* borrowed */
	struct check_result *checks;     /* one per suite check, in order */
	size_t nchecks;
	double started, duration;
	const char *runner;              /* runner used */
	const char *dist_name, *dist_version, *dist_arch;
	const char *bail_out;            /* environment failure reason, or NULL */
	const char *artifacts_dir;       /* where logs were written, or NULL */
	size_t passed, failed, skipped, errors;
};

struct run_result {
	struct suite_result **suites;
	size_t nsuites;
	double started, duration;
	size_t passed, failed, skipped, errors;
	int exit_code;  /* enum alts_exit */
	char *artifacts_dir;  /* where the logs are (alts_malloc'd, freed with the result) */
};

/*
 * Appends a sub-result to an array in arena a; returns it, or NULL on OOM.
 * name and message are copied into a. Grow an array only through this
 * function (its capacity follows from *nsubs), and do not keep the
 * returned pointer across the next add: the array may move.
 */
struct check_sub *check_sub_add(struct arena *a, struct check_sub **subs, size_t *nsubs,
				const char *name, enum check_status status, const char *message);

/* Recounts passed/failed/skipped/errors from the checks. */
void suite_result_count(struct suite_result *sr);

#endif
