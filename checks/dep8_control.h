#ifndef ALTS_DEP8_CONTROL_H
#define ALTS_DEP8_CONTROL_H

/*
 * DEP-8 (autopkgtest) test metadata: debian/tests/control and the parts
 * of debian/control it refers to, parsed as autopkgtest reads them
 * (doc/README.package-tests.rst and lib/testdesc.py of autopkgtest).
 * Pure text in, arena data out: nothing here runs a command or touches
 * a file, so every rule is unit-tested (tests/unit/check_dep8_control.c).
 * See docs/checks.md, "dep8".
 */

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"
#include "framework/conf.h"
#include "framework/err.h"

/* The restrictions autopkgtest knows; any other makes its test skipped. */
enum dep8_restriction {
	DEP8_ALLOW_STDERR = 1u << 0,
	DEP8_BREAKS_TESTBED = 1u << 1,
	DEP8_BUILD_NEEDED = 1u << 2,
	DEP8_FLAKY = 1u << 3,
	DEP8_HINT_TESTSUITE_TRIGGERS = 1u << 4,
	DEP8_ISOLATION_CONTAINER = 1u << 5,
	DEP8_ISOLATION_MACHINE = 1u << 6,
	DEP8_NEEDS_INTERNET = 1u << 7,
	DEP8_NEEDS_REBOOT = 1u << 8,
	DEP8_NEEDS_RECOMMENDS = 1u << 9,
	DEP8_NEEDS_ROOT = 1u << 10,
	DEP8_NEEDS_SUDO = 1u << 11,
	DEP8_RW_BUILD_TREE = 1u << 12,
	DEP8_SKIP_FOREIGN_ARCHITECTURE = 1u << 13,
	DEP8_SKIP_NOT_INSTALLABLE = 1u << 14,
	DEP8_SKIPPABLE = 1u << 15,
	DEP8_SUPERFICIAL = 1u << 16,
};

/* The restriction called name (enum dep8_restriction bit), or 0 when unknown. */
unsigned dep8_restriction_lookup(const char *name);

struct dep8_test {
	const char *name;       /* the Tests entry, test-name=, or "commandN" */
	const char *path;       /* Tests: Tests-Directory/name, relative to the tree; NULL for a command */
	const char *command;    /* Test-Command, run with bash -ec; NULL for Tests */
	unsigned restrictions;  /* enum dep8_restriction bits */
	const char *skip;       /* why it never runs, known from the file alone (an unknown restriction
	                           or field, a bad Architecture, a bad name); NULL */
	const char *depends;    /* the Depends field, continuation lines joined; "@" when absent */
	int depends_line;       /* where it is (the stanza's line when absent) */
	struct strlist architectures;  /* the Architecture field's words; empty: any */
	struct strlist features;
	struct strlist classes;
	int line;               /* the stanza's first line */
};

struct dep8_control {
	struct dep8_test *tests;
	size_t ntests;
};

/*
 * Parses a debian/tests/control text (len bytes). Errors are
 * ALTS_EINVALID with "FILE:LINE: message" in err (file names the text
 * in messages): lines that are not fields, a stanza with neither or both
 * of Tests and Test-Command, an empty Tests, a bad test-name feature, a
 * Depends that is not dpkg syntax, an absolute or '..' Tests-Directory,
 * a NUL byte, no stanza at all. Unknown fields and restrictions are not
 * errors: they set the test's skip, as autopkgtest skips such tests.
 * Strings live in arena a; *out is written only on success.
 */
int dep8_control_parse(struct dep8_control *out, const char *text, size_t len, const char *file, struct arena *a,
		       struct alts_err *err);

/* A binary package of the source (a Package: stanza of debian/control). */
struct dep8_binary {
	const char *name;
	const char *arch;        /* its Architecture field ("any", "all", "amd64 arm64", "linux-any") */
	const char *recommends;  /* its Recommends field, or NULL */
};

struct dep8_source {
	const char *name;            /* Source:, or NULL */
	struct dep8_binary *bins;    /* udebs left out, as autopkgtest does */
	size_t nbins;
	const char *build_depends;   /* Build-Depends, -Indep and -Arch joined with ", "; "" when none */
};

/* Parses debian/control (same rules and errors as dep8_control_parse()). */
int dep8_source_parse(struct dep8_source *out, const char *text, size_t len, const char *file, struct arena *a,
		      struct alts_err *err);

/*
 * True when the Debian architecture arch (dpkg --print-architecture:
 * amd64, i386, arm64 ...) matches the wildcard or name pattern ("any",
 * "linux-any", "any-amd64", "amd64").
 */
bool dep8_arch_matches(const char *arch, const char *pattern);

/*
 * Why a test's Architecture field rules out arch ("Test declares
 * architecture as not supported: i386"), or NULL when the test runs
 * there. Static or arena text.
 */
const char *dep8_arch_excluded(const struct dep8_test *t, const char *arch, struct arena *a);

/*
 * The test's dependencies for the testbed architecture arch: one
 * or-group per entry ("foo (>= 1.0) | bar"), as `apt-get satisfy` takes
 * them, with '@' replaced by each binary of src built on arch,
 * @builddeps@ by the build dependencies plus build-essential, and
 * @recommends@ by the binaries' Recommends; architecture qualifiers
 * ([amd64], [!i386]) and build profiles (<!nocheck>: no profile is
 * active) are resolved and removed, alternatives they rule out dropped.
 * ALTS_EINVALID "FILE:LINE: message" when a field is not dpkg syntax.
 */
int dep8_depends_expand(struct strlist *out, const struct dep8_test *t, const struct dep8_source *src,
			const char *arch, const char *file, struct arena *a, struct alts_err *err);

/*
 * Checks a dependency field's syntax (a Depends with the '@' forms when
 * dep8, else a Build-Depends); *why (static or arena) says what is wrong.
 */
bool dep8_relations_ok(const char *field, bool dep8, const char **why, struct arena *a);

#endif
