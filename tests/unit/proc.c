/* framework/proc.c: argv execution, capture, deadlines and process groups. */
#include "tests/unit/helpers.h"
#include "framework/proc.h"
#include "framework/sbuf.h"

#include <signal.h>
#include <unistd.h>

static const char *const test_env[] = { "PATH=/usr/bin:/bin", "LANG=C", "ALTS_TEST_VAR=seen", NULL };

static int setup(void **state)
{
	ALTS_UNUSED(state);
	test_sandbox_init();
	return 0;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	test_sandbox_cleanup();
	return 0;
}

static char *sandbox_path(const char *name)
{
	char *p = test_write_file(name, "");

	return p;
}

static void run_ok(struct proc_result *res, struct proc_spec *spec)
{
	struct alts_err err = ALTS_ERR_INIT;

	if (!spec->envp)
		spec->envp = test_env;
	assert_ok_err(proc_run(res, spec, &err), &err);
}

static void read_file(struct sbuf *sb, const char *path)
{
	sbuf_reset(sb);
	assert_int_equal(sbuf_read_file(sb, path, 0), 0);
}

static void test_proc__captures_stdout_and_stderr_separately(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *out = sandbox_path("out"), *errp = sandbox_path("err");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	spec.stderr_path = errp;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.term_signal, 0);
	assert_false(res.timed_out);
	read_file(&sb, out);
	assert_string_equal(sb.buf, "out\n");
	read_file(&sb, errp);
	assert_string_equal(sb.buf, "err\n");
	sbuf_release(&sb);
	alts_free(out);
	alts_free(errp);
}

static void test_proc__argv_is_not_a_shell(void **state)
{
	const char *argv[] = { "echo", "a; touch injected", "$(id)", "`id`", NULL };
	char *out = sandbox_path("out");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	spec.cwd = "/tmp";
	run_ok(&res, &spec);
	read_file(&sb, out);
	assert_string_equal(sb.buf, "a; touch injected $(id) `id`\n");
	assert_int_equal(access("/tmp/injected", F_OK), -1);
	sbuf_release(&sb);
	alts_free(out);
}

static void test_proc__environment_is_exactly_the_given_one(void **state)
{
	const char *argv[] = { "env", NULL };
	char *out = sandbox_path("out");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	setenv("ALTS_LEAK_CHECK", "leaked", 1);
	spec.argv = argv;
	spec.stdout_path = out;
	run_ok(&res, &spec);
	read_file(&sb, out);
	assert_non_null(strstr(sb.buf, "ALTS_TEST_VAR=seen"));
	assert_null(strstr(sb.buf, "ALTS_LEAK_CHECK"));
	sbuf_release(&sb);
	alts_free(out);
}

static void test_proc__missing_program_is_exit_127_with_errno(void **state)
{
	const char *argv[] = { "alts-no-such-program", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;

	ALTS_UNUSED(state);
	spec.argv = argv;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 127);
	assert_int_equal(res.exec_errno, ENOENT);
}

static void test_proc__timeout_kills_the_whole_group(void **state)
{
	/* The grandchild writes its pid, then both sleep; the group must die at the deadline. */
	char *pidfile = sandbox_path("pid");
	char script[512];
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;
	long pid;

	ALTS_UNUSED(state);
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; trap '' TERM; sleep 30", pidfile);
	spec.argv = argv;
	spec.timeout = 0.5;
	spec.kill_grace = 0.3;
	run_ok(&res, &spec);
	assert_true(res.timed_out);
	assert_true(res.duration < 5.0);
	assert_int_equal(res.term_signal, SIGKILL);
	assert_int_equal(res.exit_code, 128 + SIGKILL);
	read_file(&sb, pidfile);
	pid = strtol(sb.buf, NULL, 10);
	assert_true(pid > 0);
	usleep(100000);
	assert_int_equal(kill((pid_t)pid, 0), -1);
	sbuf_release(&sb);
	alts_free(pidfile);
}

static void test_proc__large_output_does_not_deadlock(void **state)
{
	/* 8 MiB on each stream at once: more than any pipe buffer. */
	const char *argv[] = { "sh", "-c", "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2", NULL };
	char *out = sandbox_path("out"), *errp = sandbox_path("err");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	spec.stderr_path = errp;
	spec.timeout = 60;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	assert_false(res.timed_out);
	read_file(&sb, out);
	assert_int_equal(sb.len, 8388608);
	read_file(&sb, errp);
	assert_int_equal(sb.len, 8388608);
	sbuf_release(&sb);
	alts_free(out);
	alts_free(errp);
}

static void test_proc__endless_output_keeps_head_and_tail_only(void **state)
{
	/* 6.9 MB of numbered lines against a 1 MiB head: the file holds the head, a note and the last 512 KiB. */
	const char *argv[] = { "seq", "1", "1000000", NULL };
	char *out = sandbox_path("out");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	spec.capture_max = 1 << 20;
	spec.timeout = 60;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	read_file(&sb, out);
	assert_true(sb.len < (1 << 20) + (512 << 10) + 200);
	assert_memory_equal(sb.buf, "1\n2\n3\n", 6);
	assert_non_null(strstr(sb.buf, "bytes of output left out: a capture keeps the first 1 MiB and the last 512 KiB]"));
	assert_true(sb.len > 16);
	assert_memory_equal(sb.buf + sb.len - 15, "999999\n1000000\n", 15);
	sbuf_release(&sb);
	alts_free(out);
}

static void test_proc__signal_is_recorded(void **state)
{
	const char *argv[] = { "sh", "-c", "kill -SEGV $$", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;

	ALTS_UNUSED(state);
	spec.argv = argv;
	run_ok(&res, &spec);
	assert_int_equal(res.term_signal, SIGSEGV);
	assert_int_equal(res.exit_code, 128 + SIGSEGV);
	assert_false(res.timed_out);
}

static void test_proc__background_child_does_not_hold_us(void **state)
{
	/* A daemon that keeps stdout open must not make proc_run wait for it. */
	const char *argv[] = { "sh", "-c", "sleep 5 & echo started", NULL };
	char *out = sandbox_path("out");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.duration < 2.0);
	alts_free(out);
}

static void stream_counter(void *payload, enum proc_stream stream, const char *buf, size_t len)
{
	struct sbuf *sb = payload;

	sbuf_addf(sb, "%d:", (int)stream);
	sbuf_add(sb, buf, len);
}

static void test_proc__streams_output_and_merges_into_one_file(void **state)
{
	const char *argv[] = { "sh", "-c", "echo one; sleep 0.05; echo two >&2", NULL };
	char *out = sandbox_path("merged");
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf seen = SBUF_INIT, sb = SBUF_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_path = out;
	spec.stderr_path = out;
	spec.on_output = stream_counter;
	spec.payload = &seen;
	run_ok(&res, &spec);
	assert_string_equal(seen.buf, "1:one\n2:two\n");
	read_file(&sb, out);
	assert_string_equal(sb.buf, "one\ntwo\n");
	sbuf_release(&seen);
	sbuf_release(&sb);
	alts_free(out);
}

static void test_proc__unwritable_capture_file_is_an_error(void **state)
{
	const char *argv[] = { "true", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.envp = test_env;
	spec.stdout_path = "/nonexistent-dir/out";
	assert_int_equal(proc_run(&res, &spec, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "cannot open output file '/nonexistent-dir/out'"));
}

static void test_proc__cancel_stops_the_program(void **state)
{
	const char *argv[] = { "sleep", "30", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	int cancel = 1;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.cancel = &cancel;
	run_ok(&res, &spec);
	assert_true(res.canceled);
	assert_false(res.timed_out);
	assert_true(res.duration < 5.0);
}

static void test_proc__memory_capture_keeps_binary_output_of_each_stream(void **state)
{
	/* NUL bytes and a stream closed early: no file, the bytes as they were. */
	const char *argv[] = { "sh", "-c", "printf 'a\\000b\\377'; exec >&-; printf 'err' >&2; sleep 0.05; printf 'more' >&2", NULL };
	struct proc_capture out = PROC_CAPTURE_INIT, err = PROC_CAPTURE_INIT;
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_capture = &out;
	spec.stderr_capture = &err;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(out.total, 4);
	assert_int_equal(out.head_len, 4);
	assert_memory_equal(out.head, "a\0b\377", 4);
	assert_int_equal(err.total, 7);
	assert_memory_equal(err.head, "errmore", 7);
	assert_false(out.oom || err.oom);
	proc_capture_release(&out);
	proc_capture_release(&err);
}

static void test_proc__memory_capture_keeps_head_and_tail_within_bounds(void **state)
{
	/* 6.9 MB against 16 KiB of head and 8 KiB of tail: the memory held stays there. */
	const char *argv[] = { "seq", "1", "1000000", NULL };
	struct proc_capture out = { 16 << 10, 8 << 10 };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	char tail[8 << 10];

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_capture = &out;
	spec.timeout = 60;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(out.total, 6888896);
	assert_int_equal(out.head_len, 16 << 10);
	assert_true(out.head_alloc <= (16 << 10));
	assert_memory_equal(out.head, "1\n2\n3\n", 6);
	assert_int_equal(out.tail_len, sizeof(tail));
	proc_capture_tail(&out, tail);
	assert_memory_equal(tail + sizeof(tail) - 15, "999999\n1000000\n", 15);
	proc_capture_release(&out);
}

static void test_proc__memory_capture_reads_as_the_capture_file(void **state)
{
	/* The text a capture file would hold: the same bytes, note and tail. */
	const char *argv[] = { "seq", "1", "1000000", NULL };
	char *path = sandbox_path("out");
	struct proc_capture cap = { 1 << 20, 0 };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf sb = SBUF_INIT;
	size_t len;
	char *text;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.capture_max = 1 << 20;
	spec.stdout_path = path;
	run_ok(&res, &spec);
	read_file(&sb, path);
	spec.stdout_path = NULL;
	spec.stdout_capture = &cap;
	run_ok(&res, &spec);
	text = proc_capture_file_text(&cap, &len);
	assert_non_null(text);
	assert_int_equal(len, sb.len);
	assert_memory_equal(text, sb.buf, len);
	assert_int_equal(proc_capture_file_size(100), 100);
	alts_free(text);
	sbuf_release(&sb);
	proc_capture_release(&cap);
	alts_free(path);
}

static void test_proc__grandchild_holding_the_pipe_does_not_hold_a_memory_capture(void **state)
{
	/* The program exits; a child it left keeps stdout open: proc_run returns, its output kept. */
	const char *argv[] = { "sh", "-c", "sleep 5 & echo started", NULL };
	struct proc_capture out = PROC_CAPTURE_INIT;
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;

	ALTS_UNUSED(state);
	spec.argv = argv;
	spec.stdout_capture = &out;
	spec.timeout = 30;
	run_ok(&res, &spec);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.duration < 2.0);
	assert_int_equal(out.head_len, 8);
	assert_memory_equal(out.head, "started\n", 8);
	proc_capture_release(&out);
}

static void test_proc__memory_capture_stream_adds_what_is_written(void **state)
{
	struct proc_capture cap = { 4, 3 };
	FILE *f;
	char tail[3];

	ALTS_UNUSED(state);
	f = proc_capture_stream(&cap);
	assert_non_null(f);
	fputs("headXYZtail", f);
	fclose(f);
	assert_int_equal(cap.total, 11);
	assert_memory_equal(cap.head, "head", 4);
	assert_int_equal(cap.tail_len, 3);
	proc_capture_tail(&cap, tail);
	assert_memory_equal(tail, "ail", 3);
	proc_capture_release(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proc__captures_stdout_and_stderr_separately, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__argv_is_not_a_shell, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__environment_is_exactly_the_given_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__missing_program_is_exit_127_with_errno, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__timeout_kills_the_whole_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__large_output_does_not_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__endless_output_keeps_head_and_tail_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__signal_is_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__background_child_does_not_hold_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__streams_output_and_merges_into_one_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__unwritable_capture_file_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__cancel_stops_the_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__memory_capture_keeps_binary_output_of_each_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__memory_capture_keeps_head_and_tail_within_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__memory_capture_reads_as_the_capture_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__grandchild_holding_the_pipe_does_not_hold_a_memory_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc__memory_capture_stream_adds_what_is_written, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
