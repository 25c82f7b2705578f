#include "tests/unit/helpers.h"

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

RF_OUTPUT_FILE_FIXTURE(tap_path, "out.tap")

/* The TAP of the fixture (only: see rf_run_init) for a TAP version. */
static char *tap_of(int only, int version)
{
	struct reporter_opts opts = { .tap_version = version };
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	assert_ok_err(rf_report("tap", opts, tap_path, only, &err), &err);
	out = rf_slurp(tap_path);
	assert_non_null(out);
	return out;
}

#define assert_starts_with(text, prefix)                                              \
	do {                                                                          \
		if (strncmp((text), (prefix), strlen(prefix)))                        \
			fail_msg("expected start:\n%s\n--- got:\n%.300s", (prefix), (text)); \
	} while (0)

#define assert_contains(hay, needle)                                                 \
	do {                                                                         \
		if (!strstr((hay), (needle)))                                        \
			fail_msg("missing:\n%s\n--- in:\n%s", (needle), (hay));      \
	} while (0)

/* a comes before b in text, both present. */
static void assert_before(const char *text, const char *a, const char *b)
{
	const char *pa = strstr(text, a), *pb = strstr(text, b);

	if (!pa || !pb || pa > pb)
		fail_msg("expected '%s' before '%s' in:\n%s", a, b, text);
}

static void test_reporter_tap__single_suite_plans_its_checks(void **state)
{
	char *out = tap_of(1, 0);

	ALTS_UNUSED(state);
	assert_starts_with(out, "TAP version 13\n1..8\n");
	alts_free(out);
}

static void test_reporter_tap__statuses_map_to_points(void **state)
{
	char *out = tap_of(1, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "\nok 1 - install\n");
	assert_contains(out, "\nnot ok 2 - launch hello\n");
	assert_contains(out, "\nok 3 - optional \\#feature # SKIP needs:root\n");
	assert_contains(out, "\nnot ok 4 - known bug # TODO expected failure: exit code 2\n");
	assert_contains(out, "\nnot ok 5 - flaky fixed\n  ---\n  duration_ms: 2250\n  exit_code: 0\n"
			     "  timed_out: false\n  message: \"expected to fail, but passed\"\n");
	assert_contains(out, "\nok 8 - uninstall\n");
	alts_free(out);
}

static void test_reporter_tap__diagnostics_are_yaml_under_the_point(void **state)
{
	char *out = tap_of(1, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "\nnot ok 2 - launch hello\n"
			     "  ---\n"
			     "  duration_ms: 750\n"
			     "  exit_code: 1\n"
			     "  timed_out: false\n"
			     "  message: \"exit code 1\"\n"
			     "  log: \"/var/tmp/alts/alpha/01-launch.log\"\n"
			     "  output: |\n"
			     "    Starting hello & <friends> \"quoted\" 'single'\n");
	alts_free(out);
}

/* Nothing in output can end the block or pass for TAP: every line is indented. */
static void test_reporter_tap__output_cannot_escape_the_block(void **state)
{
	char *out = tap_of(1, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "\n    ...\n    ---\n    Bail out! this is output, not TAP\n"
			     "    not ok 99 - also output\n    # Subtest: fake\n    \n");
	assert_contains(out, "\n    hello: error: cannot open display\n  ...\n");
	assert_null(strstr(out, "\nBail out!"));
	assert_null(strstr(out, "\nnot ok 99"));
	alts_free(out);
}

static void test_reporter_tap__output_is_clean_utf8(void **state)
{
	char *out = tap_of(1, 0);
	size_t i, n = strlen(out);

	ALTS_UNUSED(state);
	for (i = 0; i < n;) {
		uint32_t cp;
		size_t len = reporter_utf8_next(out + i, n - i, &cp);

		if (cp == 0xfffd && len == 1)
			fail_msg("invalid UTF-8 at byte %zu", i);
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f)
			fail_msg("control character 0x%02x at byte %zu", cp, i);
		i += len;
	}
	assert_contains(out, "    \tline with a tab, a bell , esc red, ctrl , del \n");
	assert_contains(out, "    bad utf-8 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( | good: caf\xc3\xa9 ");
	assert_contains(out, "    formfeed and vt and nul-free end\n");
	alts_free(out);
}

static void test_reporter_tap__leading_blank_output_is_quoted(void **state)
{
	char *out = tap_of(1, 0);

	ALTS_UNUSED(state);
	assert_contains(out, "  output: \"  Removing hello (2.10-3) ...\\n...\"\n");
	alts_free(out);
}

static void test_reporter_tap__tap13_subtests_precede_parent(void **state)
{
	char *out = tap_of(1, 13);

	ALTS_UNUSED(state);
	assert_contains(out, "\n    # Subtest: integrity\n    1..5\n    ok 1 - files present\n"
			     "    ok 2 - checksums\n    not ok 3 - file modes\n      ---\n");
	assert_contains(out, "      message: \"/usr/bin/hello: mode 0777, expected 0755\"\n"
			     "      output: \"  mode mismatch: /usr/bin/hello\"\n      ...\n");
	assert_before(out, "# Subtest: integrity", "\nnot ok 6 - integrity\n");
	assert_before(out, "    ok 5 - scriptlets\n", "\nnot ok 6 - integrity\n");
	alts_free(out);
}

static void test_reporter_tap__tap14_subtest_comment_at_parent_level(void **state)
{
	char *out = tap_of(1, 14);

	ALTS_UNUSED(state);
	assert_starts_with(out, "TAP version 14\n1..8\n");
	assert_contains(out, "\n# Subtest: integrity\n    1..5\n    ok 1 - files present\n");
	assert_contains(out, "\n    # Subtest: t/adv.t\n        1..2\n");
	alts_free(out);
}

static void test_reporter_tap__nested_subs_recurse(void **state)
{
	char *out = tap_of(1, 13);

	ALTS_UNUSED(state);
	assert_contains(out, "\n    # Subtest: upstream tests\n    1..3\n"
			     "        # Subtest: t/basic.t\n        1..2\n        ok 1 - parses\n"
			     "        ok 2 - prints\n    ok 1 - t/basic.t\n");
	assert_contains(out, "        not ok 2 - localized \\#2\n          ---\n          duration_ms: 10\n"
			     "          message: \"got 'hello', expected 'bonjour'\"\n          ...\n"
			     "    not ok 2 - t/adv.t\n");
	assert_contains(out, "    ok 3 - t/skip.t # SKIP no network\n");
	assert_before(out, "    ok 3 - t/skip.t", "\nnot ok 7 - upstream tests\n");
	alts_free(out);
}

static void test_reporter_tap__several_suites_are_points_with_subtests(void **state)
{
	char *out = tap_of(0, 13);

	ALTS_UNUSED(state);
	assert_starts_with(out, "TAP version 13\n1..2\n    # Subtest: alpha\n    1..8\n    ok 1 - install\n");
	assert_contains(out, "\n        # Subtest: integrity\n        1..5\n");
	assert_contains(out, "\n    not ok 6 - integrity\n");
	assert_contains(out, "\nnot ok 1 - alpha\n  ---\n  duration_ms: 12500\n  path: \"suites/alpha.yaml\"\n"
			     "  runner: \"local\"\n  dist: \"debian 12 x86_64\"\n  passed: 3\n  failed: 4\n"
			     "  skipped: 1\n  errors: 0\n  ...\n");
	assert_before(out, "not ok 1 - alpha", "# Subtest: beta");
	alts_free(out);
}

static void test_reporter_tap__bail_out_in_several_suites_is_a_diagnostic(void **state)
{
	char *out = tap_of(0, 13);

	ALTS_UNUSED(state);
	assert_contains(out, "\nnot ok 2 - beta\n");
	assert_contains(out, "  message: \"bail out: docker daemon not reachable\"\n"
			     "  bail_out: \"docker daemon not reachable\"\n  ...\n");
	assert_null(strstr(out, "\nBail out!"));
	alts_free(out);
}

static void test_reporter_tap__bail_out_ends_a_single_suite(void **state)
{
	char *out = tap_of(2, 13);
	const char *tail = "ok 2 - launch # SKIP not run: bail out\n  ---\n  duration_ms: 750\n"
			   "  timed_out: false\n  message: \"not run: bail out\"\n  ...\n"
			   "Bail out! docker daemon not reachable\n";

	ALTS_UNUSED(state);
	assert_true(strlen(out) > strlen(tail));
	assert_string_equal(out + strlen(out) - strlen(tail), tail);
	assert_contains(out, "not ok 1 - install\n  ---\n  duration_ms: 250\n  timed_out: true\n");
	alts_free(out);
}

static void test_reporter_tap__names_are_escaped_on_one_line(void **state)
{
	struct reporter_opts opts = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 1);
	run.results[0]->checks[0].name = "a # b \\ c\nd\re\033[1mf";
	run.results[0]->checks[2].message = "why\nnot";
	opts.path = tap_path;
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "tap", &opts, &err), &err);
	rf_emit(set, &run, &err);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(tap_path);
	assert_contains(out, "\nok 1 - a \\# b \\\\ c d ef\n");
	assert_contains(out, "\nok 3 - optional \\#feature # SKIP why not\n");
	assert_contains(out, "  message: \"why\\nnot\"\n");
	alts_free(out);
}

static void test_reporter_tap__output_cap_keeps_the_tail(void **state)
{
	struct reporter_opts opts = { .output_cap = 12 };
	struct alts_err err = ALTS_ERR_INIT;
	char *out;

	ALTS_UNUSED(state);
	assert_ok_err(rf_report("tap", opts, tap_path, 1, &err), &err);
	out = rf_slurp(tap_path);
	assert_contains(out, "  output_omitted_bytes: 18\n  output: |\n    2.10-3) ...\n");
	alts_free(out);
}

/* With -j, suite events interleave; each suite's part is still written whole. */
static void test_reporter_tap__interleaved_suites_stay_whole(void **state)
{
	struct reporter_opts opts = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	struct suite_result *a, *b;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 0);
	a = run.results[0];
	b = run.results[1];
	opts.path = tap_path;
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "tap", &opts, &err), &err);
	reporter_set_run_start(set, &run.info);
	reporter_set_suite_start(set, run.suites[0]);
	reporter_set_suite_start(set, run.suites[1]);
	reporter_set_check_end(set, a, &a->checks[0]);
	reporter_set_check_end(set, b, &b->checks[0]);
	reporter_set_check_end(set, a, &a->checks[1]);
	reporter_set_suite_end(set, b);
	reporter_set_suite_end(set, a);
	assert_ok_err(reporter_set_run_end(set, &run.rr, &err), &err);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(tap_path);
	assert_contains(out, "\nnot ok 1 - beta\n");
	assert_contains(out, "\nnot ok 2 - alpha\n");
	assert_before(out, "    # Subtest: beta\n    1..2\n    not ok 1 - install\n", "not ok 1 - beta");
	assert_before(out, "not ok 1 - beta", "    # Subtest: alpha\n    1..8\n    ok 1 - install\n");
	alts_free(out);
}

/* Without run_start (an engine that could not plan), the plan goes last. */
static void test_reporter_tap__plan_at_end_without_run_start(void **state)
{
	struct reporter_opts opts = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	char *out;

	ALTS_UNUSED(state);
	rf_run_init(&run, 1);
	opts.path = tap_path;
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "tap", &opts, &err), &err);
	reporter_set_suite_end(set, run.results[0]);
	assert_ok_err(reporter_set_run_end(set, &run.rr, &err), &err);
	reporter_set_free(set);
	rf_run_release(&run);
	out = rf_slurp(tap_path);
	assert_starts_with(out, "TAP version 13\nok 1 - install\n");
	assert_string_equal(out + strlen(out) - 11, "  ...\n1..8\n");
	alts_free(out);
}

static void test_reporter_tap__rejects_unknown_version(void **state)
{
	struct reporter_opts opts = { .tap_version = 12 };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;

	ALTS_UNUSED(state);
	opts.path = tap_path;
	assert_int_equal(reporter_set_new(&set), 0);
	assert_int_equal(reporter_set_add(set, "tap", &opts, &err), ALTS_EINVALID);
	assert_string_equal(err.msg, "unsupported TAP version 12 (use 13 or 14)");
	reporter_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_reporter_tap__single_suite_plans_its_checks),
		T(test_reporter_tap__statuses_map_to_points),
		T(test_reporter_tap__diagnostics_are_yaml_under_the_point),
		T(test_reporter_tap__output_cannot_escape_the_block),
		T(test_reporter_tap__output_is_clean_utf8),
		T(test_reporter_tap__leading_blank_output_is_quoted),
		T(test_reporter_tap__tap13_subtests_precede_parent),
		T(test_reporter_tap__tap14_subtest_comment_at_parent_level),
		T(test_reporter_tap__nested_subs_recurse),
		T(test_reporter_tap__several_suites_are_points_with_subtests),
		T(test_reporter_tap__bail_out_in_several_suites_is_a_diagnostic),
		T(test_reporter_tap__bail_out_ends_a_single_suite),
		T(test_reporter_tap__names_are_escaped_on_one_line),
		T(test_reporter_tap__output_cap_keeps_the_tail),
		T(test_reporter_tap__interleaved_suites_stay_whole),
		T(test_reporter_tap__plan_at_end_without_run_start),
		T(test_reporter_tap__rejects_unknown_version),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
