#ifndef ALTS_TEST_HELPERS_H
#define ALTS_TEST_HELPERS_H

/* Shared by the cmocka unit tests; include it first (it includes framework/common.h). */

#include "framework/common.h"

#include <setjmp.h>
#include <cmocka.h>

/* Asserts a call returned 0, printing err.msg when it did not. */
#define assert_ok_err(call, errp)                                                      \
	do {                                                                           \
		int rc_ = (call);                                                      \
		if (rc_ != 0)                                                          \
			fail_msg("%s returned %d: %s", #call, rc_, (errp)->msg);        \
	} while (0)

/* A fresh temporary directory, removed (recursively) by test_sandbox_cleanup. */
const char *test_sandbox_init(void);
void test_sandbox_cleanup(void);

/* Writes data to sandbox/name; returns the full path (static buffer per call site is not kept). */
char *test_write_file(const char *name, const char *data);

/* Path of a fixture file under tests/fixtures. */
const char *test_fixture(const char *name);

#endif
