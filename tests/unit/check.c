/* checks/check.c: the registry and the command helpers. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

static void test_check__registry(void **state)
{
	const char *const *names = check_names();
	size_t n = 0;

	ALTS_UNUSED(state);
	for (; names[n]; n++) {
		const char *kind = NULL;
		const struct check_ops *ops = check_lookup_as(names[n], &kind);

		assert_non_null(ops);
		assert_ptr_equal(kind, names[n]);
		if (strcmp(names[n], "autopkgtest"))
			assert_string_equal(ops->name, names[n]);
		assert_int_equal(ops->abi, CHECK_ABI);
		assert_non_null(ops->run);
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(names[j], names[n]);
	}
	assert_int_equal(n, 8);
	assert_null(check_lookup("Install"));
	assert_null(check_lookup(""));
	assert_null(check_lookup(NULL));
	/* An alias: the same ops, no second table. */
	assert_ptr_equal(check_lookup("autopkgtest"), check_lookup("dep8"));
	assert_true(check_lookup("install")->caps & CHECK_CAP_NEEDS_PACKAGES);
	assert_false(check_lookup("launch")->caps & CHECK_CAP_NEEDS_PACKAGES);
}

static void test_check__cmd_logs_quoted_argv_output_and_status(void **state)
{
	struct fake_check fc;
	struct check_cmd_out o;
	const char *argv[] = { "printf", "%s\\n", "two words", "it's", "", "plain-arg=1", NULL };
	const char *extra[] = { "EXTRA=1", NULL };

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "env: {A: b}\nchecks: [{launch: {command: [x]}}]\n", 0);
	fake_reply("printf", 4, "out line\n", "err line");
	assert_ok_err(check_cmd(&fc.ctx, &o, argv, extra, 5, &fc.err), &fc.err);
	assert_int_equal(o.proc.exit_code, 4);
	assert_string_equal(o.out.buf, "out line\n");
	assert_string_equal(o.err.buf, "err line");
	assert_string_equal(fake.call_env[0], "A=b EXTRA=1");
	fflush(fc.log);
	assert_string_equal(fc.log_text, "$ printf '%s\\n' 'two words' 'it'\\''s' '' plain-arg=1\n"
					 "out line\nerr line\n[exit 4, 0.0s]\n");
	assert_string_equal(check_cmd_status(&fc.ctx, &o), "exit 4");
	assert_string_equal(check_cmd_summary(&fc.ctx, &o), "err line");
	check_cmd_out_release(&o);
	fake_check_release(&fc);
}

static void test_check__summary_prefers_error_lines(void **state)
{
	struct fake_check fc;
	struct check_cmd_out o;
	const char *argv[] = { "apt-get", "install", NULL };

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks: [{launch: {command: [x]}}]\n", 0);
	fake_reply("apt-get", 100, "Reading package lists...\n",
		   "W: something\nE: Unable to locate package foo\nE: second\n");
	assert_ok_err(check_cmd(&fc.ctx, &o, argv, NULL, 0, &fc.err), &fc.err);
	assert_string_equal(check_cmd_summary(&fc.ctx, &o), "E: Unable to locate package foo");
	check_cmd_out_release(&o);
	/* Nothing on stderr: the last line of stdout. */
	fake_reset();
	fake_reply("apt-get", 1, "first\nlast one\n\n", "");
	assert_ok_err(check_cmd(&fc.ctx, &o, argv, NULL, 0, &fc.err), &fc.err);
	assert_string_equal(check_cmd_summary(&fc.ctx, &o), "last one");
	check_cmd_out_release(&o);
	fake_reset();
	fake_reply("apt-get", 1, "", "");
	assert_ok_err(check_cmd(&fc.ctx, &o, argv, NULL, 0, &fc.err), &fc.err);
	assert_string_equal(check_cmd_summary(&fc.ctx, &o), "no output");
	check_cmd_out_release(&o);
	fake_check_release(&fc);
}

static void test_check__output_is_capped_keeping_head_and_tail(void **state)
{
	struct fake_check fc;
	struct check_cmd_out o;
	const char *argv[] = { "big", NULL };
	size_t size = 3u << 20;
	char *big = malloc(size + 1);

	ALTS_UNUSED(state);
	assert_non_null(big);
	memset(big, 'x', size);
	memcpy(big, "HEAD", 4);
	memcpy(big + size - 4, "TAIL", 4);
	big[size] = '\0';
	fake_reset();
	fake_check_init(&fc, "checks: [{launch: {command: [x]}}]\n", 0);
	fake_reply("big", 0, big, "");
	assert_ok_err(check_cmd(&fc.ctx, &o, argv, NULL, 0, &fc.err), &fc.err);
	assert_true(o.out.capped);
	assert_true(o.out.len <= (1u << 20) + 128);
	assert_memory_equal(o.out.buf, "HEAD", 4);
	assert_memory_equal(o.out.buf + o.out.len - 4, "TAIL", 4);
	assert_non_null(strstr(o.out.buf, "bytes left out"));
	check_cmd_out_release(&o);
	fake_check_release(&fc);
	free(big);
}

static void test_check__quiet_keeps_stdout_out_of_the_log(void **state)
{
	struct fake_check fc;
	struct check_cmd_out o;
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	const char *argv[] = { "stat", NULL };

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks: [{launch: {command: [x]}}]\n", 0);
	fake_reply("stat", 1, "many\nlines\n", "stat: cannot statx\n");
	opts.quiet = true;
	opts.cwd = "/somewhere";
	assert_ok_err(check_cmd_ex(&fc.ctx, &o, argv, &opts, &fc.err), &fc.err);
	fflush(fc.log);
	assert_null(strstr(fc.log_text, "many"));
	assert_non_null(strstr(fc.log_text, "stat: cannot statx"));
	assert_string_equal(fake.call_cwd[0], "/somewhere");
	check_cmd_out_release(&o);
	fake_check_release(&fc);
}

static void test_check__set_makes_one_line(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks: [{launch: {command: [x]}}]\n", 0);
	check_set(&fc.ctx, CHECK_FAIL, "first\nsecond\tthird  \n");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "first second third");
	check_set(&fc.ctx, CHECK_PASS, NULL);
	assert_null(fc.result.message);
	fake_check_release(&fc);
}

static void test_check__time_left(void **state)
{
	struct check_ctx ctx = { 0 };

	ALTS_UNUSED(state);
	assert_true(check_time_left(&ctx) > 1e8);
	ctx.deadline = proc_now() + 10;
	assert_true(check_time_left(&ctx) > 9 && check_time_left(&ctx) <= 10);
	ctx.deadline = proc_now() - 1;
	assert_true(check_time_left(&ctx) < 0);
}

static void test_check__write_file_and_alts_env(void **state)
{
	struct fake_check fc;
	const char *path = NULL;
	const char *const *env;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	fake_reset();
	fake.root = "/scr";
	fake_check_init(&fc, "packages: [a, b]\nchecks: [{launch: {command: [x]}}]\n", 0);
	assert_ok_err(check_write_file(&fc.ctx, &path, "stdin", "abc\0def", 7, &fc.err), &fc.err);
	assert_int_equal(sbuf_read_file(&sb, path, 0), 0);
	assert_int_equal(sb.len, 7);
	assert_memory_equal(sb.buf, "abc\0def", 7);
	sbuf_release(&sb);
	env = check_alts_env(&fc.ctx);
	assert_string_equal(env[0], "ALTS_PACKAGES=a b");
	assert_string_equal(env[1], "ALTS_ROOT=/scr");
	assert_null(env[2]);
	fake_check_release(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check__registry),
		cmocka_unit_test(test_check__cmd_logs_quoted_argv_output_and_status),
		cmocka_unit_test(test_check__summary_prefers_error_lines),
		cmocka_unit_test(test_check__output_is_capped_keeping_head_and_tail),
		cmocka_unit_test(test_check__quiet_keeps_stdout_out_of_the_log),
		cmocka_unit_test(test_check__set_makes_one_line),
		cmocka_unit_test(test_check__time_left),
		cmocka_unit_test(test_check__write_file_and_alts_env),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
