#ifndef ALTS_TESTDEPS_H
#define ALTS_TESTDEPS_H

#include <stddef.h>

#include "checks/check_int.h"

/*
 * Test dependencies: packages the tests need that are not under test
 * (test_depends in a suite or on a check; a DEP-8 test's Depends). They
 * are installed with the suite's package manager, and every package that
 * was not installed before (the dependencies and what they pulled in) is
 * recorded in the environment's runner (runner_add_test_deps()), so that
 * the checks that judge the packages under test leave them out: their
 * files are no leftovers, uninstall does not remove them. A runner_reset()
 * forgets those installed after the last snapshot.
 */

enum check_test_deps_flags {
	/*
	 * The entries are dependency relations ("a (>= 1.2) | b", "c:amd64"),
	 * installed with apt-get satisfy; without it, package names (apt-get
	 * install, dnf install).
	 */
	CHECK_TEST_DEPS_RELATIONS = 1 << 0,
};

/*
 * Installs deps[0..n) as test dependencies, logged in the check's log as
 * such. Returns 0 with *why NULL when they are installed, 0 with *why set
 * (arena; "apt-get install failed (exit 100): E: Unable to locate package
 * x") when the package manager could not, negative when the environment
 * failed. Packages already installed are not recorded (they were there
 * before the tests needed them).
 */
int check_test_deps_install(struct check_ctx *ctx, const char *const *deps, size_t n, unsigned flags,
			    const char **why, struct alts_err *err);

#endif
