#ifndef ALTS_TAP_PARSE_H
#define ALTS_TAP_PARSE_H

/*
 * A tolerant parser for the Test Anything Protocol (versions 12 to 14),
 * as written by bats --tap, prove-style scripts and TAP libraries:
 *   TAP version 14
 *   1..3
 *   ok 1 - starts
 *   not ok 2 - answers # TODO not yet
 *   ok 3 # SKIP no network
 *       # Subtest: nested            (indented by 4: a subtest of the
 *       1..1                          test point that follows it)
 *       ok 1 - inner
 *   ok 4 - nested
 *   Bail out! reason
 * YAML diagnostics ("  ---" ... "  ...") after a test point are kept as
 * text; other lines (comments, stray output) are ignored. Everything is
 * allocated in the caller's arena.
 */

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"

enum tap_directive {
	TAP_NONE = 0,
	TAP_SKIP,
	TAP_TODO,
};

struct tap_doc;

struct tap_test {
	long number;                  /* as written, else its position (1-based) */
	bool ok;
	enum tap_directive directive;
	const char *description;      /* without the leading "- "; "" when none */
	const char *reason;           /* directive text ("no network"); NULL when none */
	const char *diag;             /* YAML block and "#" lines that follow; NULL when none */
	struct tap_doc *subtest;      /* indented block before this point; NULL when none */
};

struct tap_doc {
	int version;              /* 12 when no version line */
	long planned;             /* from "1..N"; -1 without a plan */
	bool skip_all;            /* "1..0 # SKIP reason" */
	const char *skip_reason;  /* of a skip_all plan */
	const char *name;         /* "# Subtest: name" of a subtest, else NULL */
	struct tap_test *tests;
	size_t ntests;
	const char *bail_out;     /* reason after "Bail out!" ("" when none given), or NULL */
	size_t nfailed;           /* not ok, unless TODO; plus failed subtests */
};

/* True when text looks like TAP: its first non-blank line is "TAP version N" or a plan "1..N". */
bool tap_detect(const char *text, size_t len);

/* Parses text (len bytes; may lack a final newline). NULL on allocation failure only. */
struct tap_doc *tap_parse(struct arena *a, const char *text, size_t len);

/*
 * Why the document fails, in one line ("2 of 5 tests failed: 'a', 'b'",
 * "planned 5 tests, ran 3", "no plan", "bail out: reason"), or NULL when
 * it passes. Arena string.
 */
const char *tap_failure(struct arena *a, const struct tap_doc *doc);

/* The display name of a test: "description", else "test N". Arena string. */
const char *tap_test_name(struct arena *a, const struct tap_test *t);

#endif
