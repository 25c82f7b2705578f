#include "tests/unit/helpers.h"

#include <pthread.h>

#include "reporters/reporter_int.h"
#include "tests/unit/report_fixture.h"

static int setup(void **state)
{
	ALTS_UNUSED(state);
	test_sandbox_init();
	return 0;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	test_sandbox_cleanup();
	return 0;
}

static char *sandbox_path(const char *name)
{
	char *p = test_write_file(name, "");

	remove(p);
	return p;
}

static void test_reporter__names_are_the_registry(void **state)
{
	const char *const *names = reporter_names();
	size_t i, j;

	ALTS_UNUSED(state);
	assert_string_equal(names[0], "tap");
	assert_string_equal(names[1], "junit");
	assert_string_equal(names[2], "json");
	assert_string_equal(names[3], "console");
	assert_string_equal(names[4], "html");
	assert_null(names[5]);
	for (i = 0; names[i]; i++)
		for (j = i + 1; names[j]; j++)
			assert_string_not_equal(names[i], names[j]);
}

static void test_reporter__unknown_name_lists_known(void **state)
{
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_int_equal(reporter_set_new(&set), 0);
	assert_int_equal(reporter_set_add(set, "pdf", NULL, &err), ALTS_ENOTFOUND);
	assert_string_equal(err.msg, "unknown reporter 'pdf' (known: tap, junit, json, console, html)");
	reporter_set_free(set);
}

static void test_reporter__open_error_names_path(void **state)
{
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_opts opts = { .path = "/nonexistent-dir/report.xml" };

	ALTS_UNUSED(state);
	assert_int_equal(reporter_set_new(&set), 0);
	assert_int_equal(reporter_set_add(set, "junit", &opts, &err), ALTS_ERROR);
	assert_non_null(strstr(err.msg, "cannot open '/nonexistent-dir/report.xml' for writing: "));
	reporter_set_free(set);
}

static void test_reporter__write_error_is_reported(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_opts opts = { 0 };

	ALTS_UNUSED(state);
	assert_int_equal(rf_report("json", opts, "/dev/full", 0, &err), ALTS_ERROR);
	assert_string_equal(err.msg, "json reporter: cannot write '/dev/full': No space left on device");
}

static void test_reporter__every_reporter_gets_events(void **state)
{
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_opts opts = { 0 };
	char *a = sandbox_path("a.txt"), *b = sandbox_path("b.txt"), *ca, *cb;
	struct rf_run run;

	ALTS_UNUSED(state);
	assert_int_equal(reporter_set_new(&set), 0);
	opts.path = "/dev/full";
	assert_ok_err(reporter_set_add(set, "console", &opts, &err), &err);
	opts.path = a;
	assert_ok_err(reporter_set_add(set, "console", &opts, &err), &err);
	opts.path = b;
	assert_ok_err(reporter_set_add(set, "tap", &opts, &err), &err);
	rf_run_init(&run, 0);
	/* the first reporter fails; the others still write everything */
	assert_int_equal(rf_emit(set, &run, &err), ALTS_ERROR);
	assert_non_null(strstr(err.msg, "console reporter: cannot write '/dev/full'"));
	reporter_set_free(set);
	rf_run_release(&run);
	ca = rf_slurp(a);
	cb = rf_slurp(b);
	assert_non_null(strstr(ca, "3 passed, 4 failed, 2 skipped\n"));
	assert_non_null(strstr(cb, "not ok 2 - beta\n"));
	alts_free(ca);
	alts_free(cb);
	alts_free(a);
	alts_free(b);
}

static void test_reporter__null_set_is_a_no_op(void **state)
{
	struct run_info info = { 0 };
	struct run_result rr = { 0 };

	ALTS_UNUSED(state);
	reporter_set_run_start(NULL, &info);
	assert_int_equal(reporter_set_run_end(NULL, &rr, NULL), 0);
	reporter_set_free(NULL);
}

static void test_reporter__stdout_and_stderr_paths(void **state)
{
	struct reporter r = { 0 };

	ALTS_UNUSED(state);
	assert_ptr_equal(reporter_open_out(&r, NULL, NULL), stdout);
	assert_ptr_equal(reporter_open_out(&r, "-", NULL), stdout);
	r.opts.path = "stderr";
	assert_ptr_equal(reporter_open_out(&r, "x.xml", NULL), stderr);
	assert_int_equal(reporter_close_out(stderr, "stderr", NULL), 0);
	assert_int_equal(reporter_close_out(NULL, "x", NULL), 0);
	/* still open */
	assert_true(fprintf(stderr, "%s", "") >= 0);
}

static void test_reporter__utf8_decoding(void **state)
{
	uint32_t cp;

	ALTS_UNUSED(state);
	assert_int_equal(reporter_utf8_next("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(reporter_utf8_next("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(reporter_utf8_next("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	/* overlong, surrogate, truncated, stray continuation, out of range */
	assert_int_equal(reporter_utf8_next("\xc0\xaf", 2, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(reporter_utf8_next("\xed\xa0\x80", 3, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(reporter_utf8_next("\xe6\x97", 2, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(reporter_utf8_next("\x80", 1, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(reporter_utf8_next("\xf4\x90\x80\x80", 4, &cp), 1);
	assert_int_equal(cp, 0xfffd);
}

static void test_reporter__utf8_encoding_round_trips(void **state)
{
	const uint32_t cps[] = { 0x24, 0xa2, 0x20ac, 0x10348, 0xfffd };
	struct sbuf sb = SBUF_INIT;
	size_t i, off = 0;

	ALTS_UNUSED(state);
	for (i = 0; i < ALTS_ARRAY_SIZE(cps); i++)
		reporter_add_utf8(&sb, cps[i]);
	assert_string_equal(sb.buf, "$\xc2\xa2\xe2\x82\xac\xf0\x90\x8d\x88\xef\xbf\xbd");
	for (i = 0; i < ALTS_ARRAY_SIZE(cps); i++) {
		uint32_t cp;

		off += reporter_utf8_next(sb.buf + off, sb.len - off, &cp);
		assert_int_equal(cp, cps[i]);
	}
	sbuf_release(&sb);
}

static void test_reporter__ansi_sequences_are_measured(void **state)
{
	ALTS_UNUSED(state);
	assert_int_equal(reporter_ansi_len("\033[1;31mX", 8), 7);
	assert_int_equal(reporter_ansi_len("\033]0;title\aX", 11), 10);
	assert_int_equal(reporter_ansi_len("\033]0;t\033\\X", 8), 7);
	assert_int_equal(reporter_ansi_len("\033(B", 3), 2);
	assert_int_equal(reporter_ansi_len("\033", 1), 1);
	assert_int_equal(reporter_ansi_len("\033[12", 4), 4);
}

static void test_reporter__tail_starts_on_a_character(void **state)
{
	size_t omitted;

	ALTS_UNUSED(state);
	assert_string_equal(reporter_tail("short", 64, 0, &omitted), "short");
	assert_int_equal(omitted, 0);
	assert_string_equal(reporter_tail("0123456789", 4, 0, &omitted), "6789");
	assert_int_equal(omitted, 6);
	/* "é" is 2 bytes: a cut through it moves forward */
	assert_string_equal(reporter_tail("ab\xc3\xa9xy", 3, 0, &omitted), "xy");
	assert_int_equal(omitted, 4);
	/* what the engine cut before counts too */
	assert_string_equal(reporter_tail("0123456789", 4, 100, &omitted), "6789");
	assert_int_equal(omitted, 106);
	assert_string_equal(reporter_tail("short", 64, 100, &omitted), "short");
	assert_int_equal(omitted, 100);
}

static void test_reporter__reasons_fill_in_missing_messages(void **state)
{
	struct check_result cr = { .status = CHECK_FAIL, .exit_code = 3 };
	struct check_sub sub = { .status = CHECK_XPASS };
	char buf[64];

	ALTS_UNUSED(state);
	assert_string_equal(reporter_check_reason(&cr, buf, sizeof(buf)), "exit code 3");
	cr.term_signal = 9;
	assert_string_equal(reporter_check_reason(&cr, buf, sizeof(buf)), "killed by signal 9");
	cr.timed_out = true;
	assert_string_equal(reporter_check_reason(&cr, buf, sizeof(buf)), "timed out");
	cr.message = "boom";
	assert_string_equal(reporter_check_reason(&cr, buf, sizeof(buf)), "boom");
	cr = (struct check_result){ .status = CHECK_PASS };
	assert_string_equal(reporter_check_reason(&cr, buf, sizeof(buf)), "");
	assert_string_equal(reporter_sub_reason(&sub), "expected to fail, but passed");
	assert_string_equal(reporter_check_type(&cr), "check");
}

static void test_reporter__iso8601_is_utc(void **state)
{
	char buf[64];

	ALTS_UNUSED(state);
	reporter_iso8601(buf, sizeof(buf), RF_T0);
	assert_string_equal(buf, "2024-05-01T10:40:00+00:00");
	reporter_iso8601(buf, sizeof(buf), -5);
	assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
}

struct flood {
	struct reporter_set *set;
	struct suite *suite;
	int id;
};

static void *flood_output(void *arg)
{
	struct flood *f = arg;
	char line[64];
	int i;

	for (i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof(line), "thread %d line %d\n", f->id, i);

		/* split each line in two events so only the per-suite buffer can rejoin it */
		reporter_set_check_output(f->set, f->suite, NULL, line, 5);
		reporter_set_check_output(f->set, f->suite, NULL, line + 5, (size_t)n - 5);
	}
	return NULL;
}

static void test_reporter__parallel_events_keep_lines_whole(void **state)
{
	struct reporter_set *set = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_opts opts = { .verbose = true };
	struct suite suites[4] = { { .name = "s0" }, { .name = "s1" }, { .name = "s2" }, { .name = "s3" } };
	struct suite *sp[4] = { &suites[0], &suites[1], &suites[2], &suites[3] };
	struct run_info info = { .suites = sp, .nsuites = 4 };
	struct flood f[4];
	pthread_t t[4];
	char *path = sandbox_path("flood.txt"), *out, *line, *save = NULL;
	int i, lines = 0;

	ALTS_UNUSED(state);
	opts.path = path;
	assert_int_equal(reporter_set_new(&set), 0);
	assert_ok_err(reporter_set_add(set, "console", &opts, &err), &err);
	reporter_set_run_start(set, &info);
	for (i = 0; i < 4; i++) {
		f[i] = (struct flood){ set, &suites[i], i };
		assert_int_equal(pthread_create(&t[i], NULL, flood_output, &f[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	reporter_set_free(set);
	out = rf_slurp(path);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int sid, tid, n;

		if (sscanf(line, "s%d     | thread %d line %d", &sid, &tid, &n) != 3 || sid != tid)
			fail_msg("torn line: '%s'", line);
		lines++;
	}
	assert_int_equal(lines, 800);
	alts_free(out);
	alts_free(path);
}

/* One report with the nth allocation failing (0: none); the fixture is built before. */
static int report_failing_at(const char *name, const char *path, unsigned long nth, unsigned long *made)
{
	struct reporter_opts opts = { .verbose = true, .path = path };
	struct alts_err err = ALTS_ERR_INIT;
	struct reporter_set *set = NULL;
	struct rf_run run;
	int rc;

	rf_run_init(&run, 0);
	alts_alloc_fail_at(nth);
	rc = reporter_set_new(&set);
	if (!rc)
		rc = reporter_set_add(set, name, &opts, &err);
	if (!rc)
		rc = rf_emit(set, &run, &err);
	reporter_set_free(set);
	*made = alts_alloc_fail_at(0);
	rf_run_release(&run);
	return rc;
}

/* Every allocation fails in turn: no crash and no leak (ASan, valgrind). */
static void test_reporter__survives_allocation_failures(void **state)
{
	const char *const *names = reporter_names();
	char *path = sandbox_path("oom.out");
	size_t i;

	ALTS_UNUSED(state);
	for (i = 0; names[i]; i++) {
		unsigned long n, made, ignored;

		assert_int_equal(report_failing_at(names[i], path, 0, &made), 0);
		assert_true(made > 0);
		for (n = 1; n <= made; n++)
			report_failing_at(names[i], path, n, &ignored);
	}
	alts_free(path);
}

/* With opts.out, a file reporter appends to that sbuf exactly what it writes to a file. */
static void test_reporter__output_into_an_sbuf_matches_the_file(void **state)
{
	static const char *const names[] = { "tap", "junit", "json", "html" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		struct reporter_opts opts = { .tap_version = 13 };
		struct alts_err err = ALTS_ERR_INIT;
		struct sbuf mem = SBUF_INIT;
		char *path = sandbox_path("out");
		char *file;

		assert_ok_err(rf_report(names[i], opts, path, 1, &err), &err);
		file = rf_slurp(path);
		alts_free(path);
		assert_non_null(file);
		opts.out = &mem;
		assert_ok_err(rf_report(names[i], opts, "/nonexistent/dir/unused", 1, &err), &err);
		assert_true(sbuf_ok(&mem));
		if (strcmp(mem.buf, file))
			fail_msg("%s: the sbuf differs from the file:\n%s\n--- file:\n%s", names[i], mem.buf, file);
		alts_free(file);
		sbuf_release(&mem);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reporter__names_are_the_registry),
		cmocka_unit_test_setup_teardown(test_reporter__output_into_an_sbuf_matches_the_file, setup, teardown),
		cmocka_unit_test(test_reporter__unknown_name_lists_known),
		cmocka_unit_test_setup_teardown(test_reporter__open_error_names_path, setup, teardown),
		cmocka_unit_test(test_reporter__write_error_is_reported),
		cmocka_unit_test_setup_teardown(test_reporter__every_reporter_gets_events, setup, teardown),
		cmocka_unit_test(test_reporter__null_set_is_a_no_op),
		cmocka_unit_test(test_reporter__stdout_and_stderr_paths),
		cmocka_unit_test(test_reporter__utf8_decoding),
		cmocka_unit_test(test_reporter__utf8_encoding_round_trips),
		cmocka_unit_test(test_reporter__ansi_sequences_are_measured),
		cmocka_unit_test(test_reporter__tail_starts_on_a_character),
		cmocka_unit_test(test_reporter__reasons_fill_in_missing_messages),
		cmocka_unit_test(test_reporter__iso8601_is_utc),
		cmocka_unit_test_setup_teardown(test_reporter__parallel_events_keep_lines_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reporter__survives_allocation_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
