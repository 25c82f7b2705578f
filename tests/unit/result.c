#include "tests/unit/helpers.h"

#include "framework/result.h"

static void test_result__status_names(void **state)
{
	ALTS_UNUSED(state);
	assert_string_equal(check_status_name(CHECK_PASS), "pass");
	assert_string_equal(check_status_name(CHECK_FAIL), "fail");
	assert_string_equal(check_status_name(CHECK_SKIP), "skip");
	assert_string_equal(check_status_name(CHECK_ERROR), "error");
	assert_string_equal(check_status_name(CHECK_XFAIL), "xfail");
	assert_string_equal(check_status_name(CHECK_XPASS), "xpass");
	assert_string_equal(check_status_name((enum check_status)42), "unknown");
}

static void test_result__failure_statuses(void **state)
{
	ALTS_UNUSED(state);
	assert_false(check_status_is_failure(CHECK_PASS));
	assert_true(check_status_is_failure(CHECK_FAIL));
	assert_false(check_status_is_failure(CHECK_SKIP));
	assert_true(check_status_is_failure(CHECK_ERROR));
	assert_false(check_status_is_failure(CHECK_XFAIL));
	assert_true(check_status_is_failure(CHECK_XPASS));
}

static void test_result__sub_add_grows_and_copies(void **state)
{
	struct arena *a = arena_new();
	struct check_sub *subs = NULL;
	size_t n = 0, i;
	char name[32];

	ALTS_UNUSED(state);
	for (i = 0; i < 100; i++) {
		struct check_sub *sub;

		snprintf(name, sizeof(name), "sub %zu", i);
		sub = check_sub_add(a, &subs, &n, name, i % 2 ? CHECK_FAIL : CHECK_PASS, i % 2 ? name : NULL);
		assert_non_null(sub);
		assert_ptr_equal(sub, &subs[i]);
		memset(name, 'x', sizeof(name) - 1);  /* the sub must own a copy */
	}
	assert_int_equal(n, 100);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "sub %zu", i);
		assert_string_equal(subs[i].name, name);
		assert_int_equal(subs[i].status, i % 2 ? CHECK_FAIL : CHECK_PASS);
		if (i % 2)
			assert_string_equal(subs[i].message, name);
		else
			assert_null(subs[i].message);
		assert_null(subs[i].subs);
		assert_int_equal(subs[i].nsubs, 0);
	}
	arena_free(a);
}

static void test_result__sub_add_nests(void **state)
{
	struct arena *a = arena_new();
	struct check_sub *subs = NULL, *parent;
	size_t n = 0;

	ALTS_UNUSED(state);
	parent = check_sub_add(a, &subs, &n, "t/a.t", CHECK_FAIL, "1 failed");
	assert_non_null(check_sub_add(a, &parent->subs, &parent->nsubs, "inner", CHECK_FAIL, NULL));
	/* growing the outer array keeps the nested one */
	for (int i = 0; i < 9; i++)
		assert_non_null(check_sub_add(a, &subs, &n, "more", CHECK_PASS, NULL));
	assert_int_equal(subs[0].nsubs, 1);
	assert_string_equal(subs[0].subs[0].name, "inner");
	arena_free(a);
}

static void test_result__sub_add_reports_oom(void **state)
{
	struct arena *a = arena_new();
	struct check_sub *subs = NULL;
	size_t n = 0, made, i;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	assert_non_null(check_sub_add(a, &subs, &n, "probe", CHECK_PASS, "m"));
	made = alts_alloc_fail_at(0);
	arena_free(a);
	for (i = 1; i <= made + 1; i++) {
		a = arena_new();
		subs = NULL;
		n = 0;
		alts_alloc_fail_at(i);
		if (!check_sub_add(a, &subs, &n, "probe", CHECK_PASS, "m"))
			assert_int_equal(n, 0);
		alts_alloc_fail_at(0);
		arena_free(a);
	}
}

static void test_result__count_maps_statuses(void **state)
{
	struct check_result checks[7] = {
		{ .status = CHECK_PASS },  { .status = CHECK_XFAIL }, { .status = CHECK_FAIL },
		{ .status = CHECK_XPASS }, { .status = CHECK_SKIP },  { .status = CHECK_ERROR },
		{ .status = CHECK_PASS },
	};
	struct suite_result sr = { .checks = checks, .nchecks = 7, .passed = 99, .errors = 99 };

	ALTS_UNUSED(state);
	suite_result_count(&sr);
	assert_int_equal(sr.passed, 3);
	assert_int_equal(sr.failed, 2);
	assert_int_equal(sr.skipped, 1);
	assert_int_equal(sr.errors, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result__status_names),
		cmocka_unit_test(test_result__failure_statuses),
		cmocka_unit_test(test_result__sub_add_grows_and_copies),
		cmocka_unit_test(test_result__sub_add_nests),
		cmocka_unit_test(test_result__sub_add_reports_oom),
		cmocka_unit_test(test_result__count_maps_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
