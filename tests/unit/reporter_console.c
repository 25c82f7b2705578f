#include "tests/unit/helpers.h"

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

RF_OUTPUT_FILE_FIXTURE(txt_path, "console.txt")

#define assert_contains(hay, needle)                                                 \
	do {                                                                         \
		if (!strstr((hay), (needle)))                                        \
			fail_msg("missing:\n%s\n--- in:\n%s", (needle), (hay));      \
	} while (0)

static char *console_of(int only, bool color, bool verbose)
{
	struct reporter_opts opts = { .color = color, .verbose = verbose };
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	assert_ok_err(rf_report("console", opts, txt_path, only, &err), &err);
	out = rf_slurp(txt_path);
	assert_non_null(out);
	return out;
}

static void assert_ends_with(const char *text, const char *tail)
{
	size_t n = strlen(text), m = strlen(tail);

	if (n < m || strcmp(text + n - m, tail))
		fail_msg("expected the end:\n%s\n--- got:\n%s", tail, text);
}

static void test_reporter_console__one_line_per_check(void **state)
{
	char *out = console_of(1, false, false);

	ALTS_UNUSED(state);
	assert_contains(out, "suite alpha (local)\n");
	assert_contains(out, "\n  PASS   install           0.25s\n");
	assert_contains(out, "\n  FAIL   launch hello      0.75s\n        exit code 1\n"
			     "        log: /var/tmp/alts/alpha/01-launch.log\n");
	assert_contains(out, "\n  SKIP   optional #feature 1.25s\n        needs:root\n");
	assert_contains(out, "\n  XFAIL  known bug         1.75s\n        exit code 2\n");
	assert_contains(out, "\n  XPASS  flaky fixed       2.25s\n        expected to fail, but passed\n");
	assert_null(strstr(out, "\033"));
	assert_null(strstr(out, "    | "));
	alts_free(out);
}

static void test_reporter_console__failed_parts_are_named(void **state)
{
	char *out = console_of(1, false, false);

	ALTS_UNUSED(state);
	assert_contains(out, "\n  FAIL   upstream tests    3.25s\n        2 of 3 tests failed\n"
			     "        - FAIL t/adv.t: 1 of 2 subtests failed\n"
			     "          - FAIL localized #2: got 'hello', expected 'bonjour'\n"
			     "        log: /var/tmp/alts/alpha/06-script.log\n");
	assert_null(strstr(out, "parses"));
	alts_free(out);
}

static void test_reporter_console__summary_closes_the_output(void **state)
{
	char *out = console_of(1, false, false);

	ALTS_UNUSED(state);
	assert_contains(out, "\nsuite alpha finished in 12.50s: 3 passed, 4 failed, 1 skipped, 0 errors\n");
	assert_ends_with(out, "\ntotal time 14.00s, 1 suite\n3 passed, 4 failed, 1 skipped\n");
	assert_null(strstr(out, "error\n"));
	alts_free(out);
}

static void test_reporter_console__errors_get_their_own_line(void **state)
{
	char *out = console_of(0, false, false);

	ALTS_UNUSED(state);
	assert_ends_with(out, "\ntotal time 14.00s, 2 suites\n1 error\n3 passed, 4 failed, 2 skipped\n");
	assert_contains(out, "\n  bail out: docker daemon not reachable\n"
			     "suite beta finished in 13.50s: 0 passed, 0 failed, 1 skipped, 1 errors\n");
	alts_free(out);
}

static void test_reporter_console__several_suites_prefix_checks(void **state)
{
	char *out = console_of(0, false, false);

	ALTS_UNUSED(state);
	assert_contains(out, "suite beta (docker, almalinux 9)\n");
	assert_contains(out, "\nalpha   PASS   install           0.25s\n");
	assert_contains(out, "\nbeta    ERROR  install           0.25s\n"
			     "        runner 'docker' failed: cannot start container\n");
	alts_free(out);
}

static void test_reporter_console__colors_only_the_status_word(void **state)
{
	char *out = console_of(0, true, false);

	ALTS_UNUSED(state);
	assert_contains(out, "  \033[32mPASS\033[0m   install");
	assert_contains(out, "  \033[31mFAIL\033[0m   launch hello");
	assert_contains(out, "  \033[33mSKIP\033[0m   optional #feature");
	assert_contains(out, "  \033[36mXFAIL\033[0m  known bug");
	assert_contains(out, "  \033[31mXPASS\033[0m  flaky fixed");
	assert_contains(out, "  \033[31mERROR\033[0m  install");
	assert_ends_with(out, "\n3 passed, 4 failed, 2 skipped\n");
	alts_free(out);
}

static void test_reporter_console__verbose_streams_output_lines(void **state)
{
	char *out = console_of(1, false, true);

	ALTS_UNUSED(state);
	/* pieces of 7 bytes come back as whole lines, before the check's line */
	assert_contains(out, "suite alpha (local)\n    | Setting up hello (2.10-3) ...\n  PASS   install");
	assert_contains(out, "\n    | Bail out! this is output, not TAP\n    | not ok 99 - also output\n");
	assert_contains(out, "\n    |  line with a tab, a bell , esc red, ctrl , del \n");
	assert_contains(out, "\n    | formfeed and vt and nul-free end\n    | hello: error: cannot open display\n"
			     "  FAIL   launch hello");
	assert_null(strstr(out, "\033"));
	alts_free(out);
}

static void test_reporter_console__partial_line_is_flushed_at_check_end(void **state)
{
	struct reporter_opts opts = { .verbose = true, .path = txt_path };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 1);
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "console", &opts, &err), &err);
	reporter_set_run_start(set, &run.info);
	reporter_set_check_output(set, run.suites[0], &run.suites[0]->checks[0], "no newline", 10);
	reporter_set_check_end(set, run.results[0], &run.results[0]->checks[0]);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(txt_path);
	assert_string_equal(out, "    | no newline\n  PASS   install           0.25s\n");
	alts_free(out);
}

/* alts-run on a terminal: a status line of the running suites, cleared before every other line. */
static void test_reporter_console__live_status_line(void **state)
{
	struct reporter_opts opts = { .live = true };
	struct alts_err err = ALTS_ERR_INIT;
	char *out, *plain;

	ALTS_UNUSED(state);
	setenv("COLUMNS", "200", 1);
	assert_ok_err(rf_report("console", opts, txt_path, 0, &err), &err);
	out = rf_slurp(txt_path);
	assert_non_null(out);
	assert_contains(out, "suite alpha (local)\n[0/2 done] running: alpha");
	assert_contains(out, "[0/2 done] running: alpha (install)\r\033[K");
	assert_contains(out, " errors\nsuite beta (docker, almalinux 9)\n[1/2 done] running: beta");
	/* The line is gone before the summary, which stays the last line. */
	assert_ends_with(out, "\ntotal time 14.00s, 2 suites\n1 error\n3 passed, 4 failed, 2 skipped\n");
	assert_null(strstr(strstr(out, "total time"), "running:"));
	/* Cut to the terminal's width. */
	setenv("COLUMNS", "24", 1);
	alts_free(out);
	assert_ok_err(rf_report("console", opts, txt_path, 0, &err), &err);
	out = rf_slurp(txt_path);
	assert_contains(out, "[0/2 done] running: ...\r");
	/* One suite, or not a terminal: no status line. */
	unsetenv("COLUMNS");
	alts_free(out);
	assert_ok_err(rf_report("console", opts, txt_path, 1, &err), &err);
	out = rf_slurp(txt_path);
	assert_null(strstr(out, "running:"));
	plain = console_of(0, false, false);
	assert_null(strstr(plain, "running:"));
	assert_null(strstr(plain, "\033"));
	alts_free(plain);
	alts_free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_reporter_console__one_line_per_check),
		T(test_reporter_console__failed_parts_are_named),
		T(test_reporter_console__summary_closes_the_output),
		T(test_reporter_console__errors_get_their_own_line),
		T(test_reporter_console__several_suites_prefix_checks),
		T(test_reporter_console__colors_only_the_status_word),
		T(test_reporter_console__verbose_streams_output_lines),
		T(test_reporter_console__partial_line_is_flushed_at_check_end),
		T(test_reporter_console__live_status_line),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
