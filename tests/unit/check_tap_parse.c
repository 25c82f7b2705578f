/* checks/tap_parse.c: TAP as bats, Test::More, node-tap and hand-written scripts print it. */
#include "tests/unit/helpers.h"

#include "checks/tap_parse.h"

static struct arena *arena;

static int setup(void **state)
{
	ALTS_UNUSED(state);
	arena = arena_new();
	return arena ? 0 : -1;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	arena_free(arena);
	arena = NULL;
	return 0;
}

static struct tap_doc *parse(const char *text)
{
	struct tap_doc *d = tap_parse(arena, text, strlen(text));

	assert_non_null(d);
	return d;
}

static void test_check_tap_parse__detect(void **state)
{
	ALTS_UNUSED(state);
	assert_true(tap_detect("TAP version 13\n1..1\nok\n", 22));
	assert_true(tap_detect("\n\n1..3\nok 1\n", 12));
	assert_true(tap_detect("  1..0 # SKIP x\n", 16));
	assert_false(tap_detect("hello\n1..3\n", 11));
	assert_false(tap_detect("", 0));
	assert_false(tap_detect("1..\n", 4));
	assert_false(tap_detect("ok 1\n", 5));
}

static void test_check_tap_parse__basic_plan_and_points(void **state)
{
	struct tap_doc *d = parse("TAP version 14\n1..4\nok 1 - first\nnot ok 2 - second\nok third\nok\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->version, 14);
	assert_int_equal(d->planned, 4);
	assert_int_equal(d->ntests, 4);
	assert_true(d->tests[0].ok);
	assert_int_equal(d->tests[0].number, 1);
	assert_string_equal(d->tests[0].description, "first");
	assert_false(d->tests[1].ok);
	assert_string_equal(d->tests[1].description, "second");
	/* No number: the position; description without a dash. */
	assert_int_equal(d->tests[2].number, 3);
	assert_string_equal(d->tests[2].description, "third");
	assert_string_equal(d->tests[3].description, "");
	assert_string_equal(tap_test_name(arena, &d->tests[3]), "test 4");
	assert_int_equal(d->nfailed, 1);
	assert_string_equal(tap_failure(arena, d), "1 of 4 tests failed: 'second'");
}

static void test_check_tap_parse__passing_document(void **state)
{
	struct tap_doc *d = parse("1..2\nok 1 - a\nok 2 - b\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->version, 12);
	assert_null(tap_failure(arena, d));
}

static void test_check_tap_parse__directives(void **state)
{
	struct tap_doc *d = parse("1..5\n"
				  "ok 1 - skipped # SKIP no network\n"
				  "not ok 2 - todo # TODO not yet\n"
				  "ok 3 # skip\n"
				  "not ok 4 - escaped \\# hash # todo: later\n"
				  "ok 5 - not a directive # just a comment\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->tests[0].directive, TAP_SKIP);
	assert_string_equal(d->tests[0].reason, "no network");
	assert_string_equal(d->tests[0].description, "skipped");
	assert_int_equal(d->tests[1].directive, TAP_TODO);
	assert_string_equal(d->tests[1].reason, "not yet");
	assert_int_equal(d->tests[2].directive, TAP_SKIP);
	assert_string_equal(d->tests[2].reason, "");
	assert_int_equal(d->tests[3].directive, TAP_TODO);
	assert_string_equal(d->tests[3].description, "escaped # hash");
	assert_string_equal(d->tests[3].reason, "later");
	assert_int_equal(d->tests[4].directive, TAP_NONE);
	assert_string_equal(d->tests[4].description, "not a directive");
	/* TODO failures do not count. */
	assert_int_equal(d->nfailed, 0);
	assert_null(tap_failure(arena, d));
}

static void test_check_tap_parse__plan_at_end_and_mismatch(void **state)
{
	struct tap_doc *d = parse("ok 1\nok 2\n1..2\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->planned, 2);
	assert_null(tap_failure(arena, d));
	d = parse("1..5\nok 1\nok 2\n");
	assert_string_equal(tap_failure(arena, d), "planned 5 tests, ran 2");
	d = parse("TAP version 13\nok 1\n");
	assert_int_equal(d->planned, -1);
	assert_string_equal(tap_failure(arena, d), "no plan (the output may be cut short)");
}

static void test_check_tap_parse__skip_all(void **state)
{
	struct tap_doc *d = parse("1..0 # Skipped: no root\n");

	ALTS_UNUSED(state);
	assert_true(d->skip_all);
	assert_string_equal(d->skip_reason, "no root");
	assert_null(tap_failure(arena, d));
	d = parse("1..0 # SKIP no root\n");
	assert_string_equal(d->skip_reason, "no root");
}

static void test_check_tap_parse__bail_out(void **state)
{
	struct tap_doc *d = parse("1..3\nok 1\nBail out! database down\nok 2\nok 3\n");

	ALTS_UNUSED(state);
	assert_string_equal(d->bail_out, "database down");
	assert_int_equal(d->ntests, 1);
	assert_string_equal(tap_failure(arena, d), "bail out: database down");
	d = parse("1..1\nBail out!\n");
	assert_string_equal(d->bail_out, "");
	assert_string_equal(tap_failure(arena, d), "bail out");
}

static void test_check_tap_parse__nested_subtests(void **state)
{
	struct tap_doc *d = parse("TAP version 14\n"
				  "1..2\n"
				  "    # Subtest: outer\n"
				  "    1..2\n"
				  "    ok 1 - inner a\n"
				  "        # Subtest: deeper\n"
				  "        not ok 1 - deepest\n"
				  "        1..1\n"
				  "    not ok 2 - inner b\n"
				  "not ok 1 - outer\n"
				  "ok 2 - after\n");
	const struct tap_test *outer;

	ALTS_UNUSED(state);
	assert_int_equal(d->ntests, 2);
	outer = &d->tests[0];
	assert_false(outer->ok);
	assert_non_null(outer->subtest);
	assert_string_equal(outer->subtest->name, "outer");
	assert_int_equal(outer->subtest->planned, 2);
	assert_int_equal(outer->subtest->ntests, 2);
	assert_non_null(outer->subtest->tests[1].subtest);
	assert_string_equal(outer->subtest->tests[1].subtest->tests[0].description, "deepest");
	assert_int_equal(outer->subtest->tests[1].subtest->planned, 1);
	assert_null(d->tests[1].subtest);
	assert_int_equal(d->nfailed, 1);
	assert_string_equal(tap_failure(arena, outer->subtest), "1 of 2 tests failed: 'inner b'");
}

static void test_check_tap_parse__subtest_names_a_bare_point(void **state)
{
	struct tap_doc *d = parse("1..1\n    # Subtest: named\n    ok 1\n    1..1\nok 1\n");

	ALTS_UNUSED(state);
	assert_string_equal(d->tests[0].description, "named");
}

static void test_check_tap_parse__yaml_and_comments_are_diagnostics(void **state)
{
	struct tap_doc *d = parse("1..2\n"
				  "not ok 1 - with yaml\n"
				  "  ---\n"
				  "  message: boom\n"
				  "  data:\n"
				  "      - deep: 1\n"
				  "  ...\n"
				  "not ok 2 - with comments\n"
				  "# (in test file a.bats, line 5)\n"
				  "#   `false' failed\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->ntests, 2);
	/* The deeper YAML lines are not a subtest. */
	assert_null(d->tests[0].subtest);
	assert_non_null(strstr(d->tests[0].diag, "message: boom"));
	assert_non_null(strstr(d->tests[0].diag, "    - deep: 1"));
	assert_string_equal(d->tests[1].diag, "# (in test file a.bats, line 5)\n#   `false' failed");
	assert_string_equal(tap_failure(arena, d), "2 of 2 tests failed: 'with yaml', 'with comments'");
}

static void test_check_tap_parse__names_shown_are_capped(void **state)
{
	struct tap_doc *d = parse("1..5\nnot ok 1 - a\nnot ok 2 - b\nnot ok 3\nnot ok 4 - d\nnot ok 5 - e\n");

	ALTS_UNUSED(state);
	assert_string_equal(tap_failure(arena, d), "5 of 5 tests failed: 'a', 'b', test 3 and 2 more");
}

static void test_check_tap_parse__tolerates_noise(void **state)
{
	struct tap_doc *d = parse("1..2\r\n"
				  "some program output\r\n"
				  "okay this is not a test\n"
				  "ok 1 - crlf\r\n"
				  "  ok 2 - slightly indented\n"
				  "not okay\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->ntests, 2);
	assert_string_equal(d->tests[0].description, "crlf");
	assert_string_equal(d->tests[1].description, "slightly indented");
	assert_null(tap_failure(arena, d));
	d = parse("1..1\nok 1 - no newline at end");
	assert_string_equal(d->tests[0].description, "no newline at end");
	d = tap_parse(arena, "", 0);
	assert_non_null(d);
	assert_string_equal(tap_failure(arena, d), "no plan and no tests");
}

static void test_check_tap_parse__bats_output(void **state)
{
	struct tap_doc *d = parse("1..3\n"
				  "ok 1 addition\n"
				  "not ok 2 fails\n"
				  "# (in test file a.bats, line 5)\n"
				  "#   `false' failed\n"
				  "ok 3 skipped # skip not today\n");

	ALTS_UNUSED(state);
	assert_int_equal(d->ntests, 3);
	assert_string_equal(d->tests[0].description, "addition");
	assert_int_equal(d->tests[2].directive, TAP_SKIP);
	assert_string_equal(d->tests[2].reason, "not today");
	assert_string_equal(tap_failure(arena, d), "1 of 3 tests failed: 'fails'");
}

static void test_check_tap_parse__deep_nesting_is_bounded(void **state)
{
	char text[8192];
	size_t at = 0;

	ALTS_UNUSED(state);
	for (int depth = 40; depth >= 0; depth--)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%*sok 1 - level %d\n", depth * 4, "", depth);
	assert_non_null(tap_parse(arena, text, at));
}

static void test_check_tap_parse__survives_oom(void **state)
{
	const char *text = "TAP version 14\n1..2\n    # Subtest: s\n    ok 1 - x\n    1..1\nok 1 - s\n"
			   "not ok 2 - y # TODO z\n  ---\n  a: b\n  ...\n";
	unsigned long n;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	{
		struct arena *a = arena_new();

		assert_non_null(tap_parse(a, text, strlen(text)));
		arena_free(a);
	}
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		struct arena *a;
		struct tap_doc *d;

		alts_alloc_fail_at(i);
		a = arena_new();
		d = a ? tap_parse(a, text, strlen(text)) : NULL;
		alts_alloc_fail_at(0);
		if (d)
			assert_int_equal(d->ntests, 2);
		arena_free(a);
	}
}

/* A NUL byte in a description stands as U+FFFD; the rest of the description is kept. */
static void test_check_tap_parse__nul_in_description(void **state)
{
	static const char text[] = "1..1\nok 1 - before\0after # SKIP why\n";
	struct tap_doc *d = tap_parse(arena, text, sizeof(text) - 1);

	ALTS_UNUSED(state);
	assert_non_null(d);
	assert_int_equal(d->ntests, 1);
	assert_string_equal(d->tests[0].description, "before\xef\xbf\xbd" "after");
	assert_string_equal(d->tests[0].reason, "why");
}

/* Text that is not NUL-terminated is read up to len only (numbers at the very end included). */
static void test_check_tap_parse__reads_only_len(void **state)
{
	static const char *const texts[] = { "TAP version 1", "1..3", "1..1\nok 12", "1..1\nnot ok 99999999999999999999" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(texts); i++) {
		size_t n = strlen(texts[i]);
		char *exact = alts_malloc(n);  /* no room for a NUL: ASan sees any read past it */

		memcpy(exact, texts[i], n);
		assert_non_null(tap_parse(arena, exact, n));
		alts_free(exact);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_tap_parse__detect),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__nul_in_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__reads_only_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__basic_plan_and_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__passing_document, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__directives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__plan_at_end_and_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__skip_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__bail_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__nested_subtests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__subtest_names_a_bare_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__yaml_and_comments_are_diagnostics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__names_shown_are_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__tolerates_noise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__bats_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_tap_parse__deep_nesting_is_bounded, setup, teardown),
		cmocka_unit_test(test_check_tap_parse__survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
