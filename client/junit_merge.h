#ifndef ALTS_CLIENT_JUNIT_MERGE_H
#define ALTS_CLIENT_JUNIT_MERGE_H

#include <stddef.h>

/*
 * Merges JUnit XML files (alts-run's, or any valid against the Jenkins
 * xunit junit-10.xsd: a <testsuites> root or a bare <testsuite> root) into
 * one <testsuites> document that keeps every <testsuite>, in input order.
 *
 * When two or more testsuites share a name (one suite run on a matrix of
 * distributions), each of them is renamed "<name> [<dist_name>-
 * <dist_version>-<dist_arch>]" from its <property> elements (the parts
 * that are present), or "<name> [<input file name>]" when it has none of
 * them; a name still not unique gets " #2", " #3" ... Testcase classnames
 * that start with "<name>." follow the rename, so Jenkins, which keys
 * cases by classname, keeps the distributions apart. Testsuites are
 * otherwise copied untouched; the root's tests, failures, errors and time
 * are recomputed from them (testcases with a <failure> or an <error>
 * child; the sum of the testsuites' time attributes).
 */

struct junit_merge_opts {
	const char *name;    /* the root's name attribute; NULL: "alts" */
	const char *schema;  /* an XSD file to validate the result against, or NULL */
};

#define JUNIT_MERGE_OPTS_INIT { NULL, NULL }

struct junit_merge_stats {
	size_t suites;    /* testsuites written */
	size_t renamed;   /* of which renamed */
	size_t tests, failures, errors;
	double time;
};

/*
 * Reads the n files in inputs and writes the merged document to out_path
 * ("-": stdout) through a temporary file renamed into place, so a failed
 * merge leaves no half-written report. stats (may be NULL) is written on
 * success. Returns 0; ALTS_EINVALID when an input cannot be read or parsed,
 * is not JUnit, or the result is not valid against opts->schema;
 * ALTS_ERROR when the output cannot be written; ALTS_ENOMEM.
 */
int junit_merge_files(const char *out_path, const char *const *inputs, size_t n,
		      const struct junit_merge_opts *opts, struct junit_merge_stats *stats, struct alts_err *err);

#endif
