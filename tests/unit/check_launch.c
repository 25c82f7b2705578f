/* checks/launch.c against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

static void test_check_launch__passes_and_gets_env_and_stdin(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc,
			"packages: [hello]\n"
			"env: {GREETING: hi}\n"
			"checks:\n"
			"  - launch:\n"
			"      command: [hello, --name, \"it's me\"]\n"
			"      stdin: \"line one\\n\"\n"
			"      stdout: '^Hello, .*!$'\n"
			"      stderr_not: 'warn(ing)?'\n",
			0);
	fake_reply("hello", 0, "banner\nHello, it's me!\n", "note: fine\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_int_equal(fake.ncalls, 1);
	assert_string_equal(fake.calls[0], "hello --name it's me");
	assert_string_equal(fake.call_stdin[0], "line one\n");
	assert_non_null(strstr(fake.call_env[0], "GREETING=hi"));
	assert_non_null(strstr(fake.call_env[0], "ALTS_PACKAGES=hello"));
	assert_non_null(strstr(fc.log_text, "$ hello --name 'it'\\''s me'\n"));
	assert_non_null(strstr(fc.log_text, "Hello, it's me!\n"));
	fake_check_release(&fc);
}

static void test_check_launch__shell_form_runs_sh_c(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: 'echo $HOME | tr a-z A-Z', exit_code: 3}\n", 0);
	fake_reply("/bin/sh -c", 3, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[0], "/bin/sh -c echo $HOME | tr a-z A-Z");
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_int_equal(fc.result.exit_code, 3);
	fake_check_release(&fc);
}

static void test_check_launch__names_every_mismatch(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc,
			"checks:\n  - launch: {command: [hello], stdout: '^Hello', stderr: 'x', stdout_not: 'oops',"
			" stderr_not: 'error'}\n",
			0);
	fake_reply("hello", 2, "oops\n", "error: broken\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "exit code 2, expected 0; stdout did not match /^Hello/; stderr did not match /x/; "
			    "stdout matched /oops/, which it must not; stderr matched /error/, which it must not");
	assert_int_equal(fc.result.exit_code, 2);
	fake_check_release(&fc);
}

static void test_check_launch__regex_is_multiline(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [v], stdout: '^version [0-9]+\\.[0-9]+$'}\n", 0);
	fake_reply("v", 0, "program\nversion 1.22\ncopyright\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	fake_check_release(&fc);
}

static void test_check_launch__exec_failure_and_signal(void **state)
{
	struct fake_check fc;
	struct fake_reply_spec *r;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [nope]}\n  - launch: {command: [crash]}\n", 0);
	fake_missing("nope");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "cannot execute 'nope': No such file or directory");
	fake_check_release(&fc);

	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [nope]}\n  - launch: {command: [crash]}\n", 1);
	r = fake_reply("crash", 128 + 11, "", "");
	r->term_signal = 11;
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fc.result.message, "killed by signal 11, expected exit code 0");
	assert_int_equal(fc.result.term_signal, 11);
	assert_non_null(strstr(fc.log_text, "[killed by signal 11 (SIGSEGV)"));
	fake_check_release(&fc);
}

static void test_check_launch__timeout(void **state)
{
	struct fake_check fc;
	struct fake_reply_spec *r;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [sleep, '100'], service: sleepd}\n", 0);
	r = fake_reply("sleep", 143, "", "");
	r->timed_out = true;
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_true(fc.result.timed_out);
	assert_non_null(strstr(fc.result.message, "command timed out"));
	/* No service polling after a timeout. */
	assert_int_equal(fake_find_call("pgrep"), -1);
	fake_check_release(&fc);
}

static void test_check_launch__service_pgrep_polls_until_up(void **state)
{
	struct fake_check fc;
	struct fake_reply_spec *r;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [mydaemon, -d], service: a-very-long-daemon-name}\n", 0);
	r = fake_reply("pgrep", 1, "", "");
	r->times = 3;
	fake_reply("pgrep", 0, "4242\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	/* comm names are cut at 15 bytes, so is the pattern. */
	assert_string_equal(fake.calls[1], "pgrep -x -- a-very-long-dae");
	assert_int_equal(fake.ncalls, 1 + 4);
	assert_int_equal(fake_sub(&fc, "service a-very-long-daemon-name")->status, CHECK_PASS);
	fake_check_release(&fc);
}

static void test_check_launch__service_systemd_or_fallback(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [systemctl, start, web.service], service: web.service}\n", 0);
	fake_reply("systemctl is-active --quiet", 0, "", "");
	fake_reply("systemctl is-active", 3, "inactive\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_true(fake_find_call("systemctl is-active --quiet -- web.service") >= 0);
	fake_check_release(&fc);

	/* Inside a container systemctl exists but systemd does not run: fall back to pgrep. */
	fake_reset();
	fake_check_init(&fc,
			"checks:\n  - launch: {command: [web, --daemon], service: web.service, service_timeout: 0.3}\n", 0);
	fake_reply("systemctl is-active", 1, "", "System has not been booted with systemd as init system (PID 1).\n");
	fake_reply("pgrep", 1, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "service 'web.service' is not running after 0s (pgrep -x)");
	assert_true(fake_find_call("pgrep -x -- web") >= 0);
	assert_int_equal(fake_find_call("systemctl is-active --quiet"), -1);
	/* Only the first and the last poll are logged. */
	assert_non_null(strstr(fc.log_text, "did not come up after"));
	fake_check_release(&fc);
}

static void test_check_launch__booted_service_alone_starts_and_logs_journal(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "environment: {boot: systemd}\nchecks:\n  - launch: {service: web}\n", 0);
	fake_reply("systemctl start", 0, "", "");
	fake_reply("systemctl is-active", 0, "active\n", "");
	fake_reply("journalctl -u web", 0,
		   "Dec 04 15:15:08 alts-sandbox systemd[1]: Starting web.service - web...\n"
		   "Dec 04 15:15:08 alts-sandbox web[12]: listening on :80\n",
		   "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake.calls[0], "systemctl start -- web");
	/* A unit name without .service is still a unit: systemctl, not pgrep. */
	assert_true(fake_find_call("systemctl is-active --quiet -- web") >= 0);
	assert_int_equal(fake_find_call("pgrep"), -1);
	assert_true(fake_find_call("journalctl -u web --no-pager -b") >= 0);
	assert_non_null(strstr(fc.log_text, "alts: the journal of web:"));
	assert_non_null(strstr(fc.log_text, "web[12]: listening on :80"));
	assert_int_equal(fake_sub(&fc, "service web")->status, CHECK_PASS);
	fake_check_release(&fc);
}

static void test_check_launch__booted_failing_unit_names_its_journal(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "environment: {boot: systemd}\nchecks:\n  - launch: {service: web}\n", 0);
	fake_reply("systemctl start", 1, "",
		   "Job for web.service failed because the control process exited with error code.\n"
		   "See \"systemctl status web.service\" and \"journalctl -xeu web.service\" for details.\n");
	fake_reply("journalctl -u web", 0,
		   "Dec 04 15:15:08 alts-sandbox systemd[1]: Starting web.service - web...\n"
		   "Dec 04 15:15:08 alts-sandbox sh[12]: web: cannot bind port 80: Address already in use\n"
		   "Dec 04 15:15:08 alts-sandbox systemd[1]: web.service: Control process exited, code=exited, status=1/FAILURE\n"
		   "Dec 04 15:15:08 alts-sandbox systemd[1]: Failed to start web.service - web.\n",
		   "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "service 'web' failed to start (exit 1): Job for web.service failed because the control "
			    "process exited with error code; the unit's last journal line: sh[12]: web: cannot bind "
			    "port 80: Address already in use");
	assert_int_equal(fake_find_call("systemctl is-active"), -1);
	assert_non_null(strstr(fc.log_text, "Failed to start web.service"));
	fake_check_release(&fc);
}

static void test_check_launch__service_alone_needs_the_boot(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {service: web}\n", 0);
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_non_null(strstr(fc.result.message, "needs environment boot: systemd"));
	assert_int_equal(fake.nexec, 0);
	fake_check_release(&fc);
}

static void test_check_launch__load_time_errors(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	static const char *const bad[][2] = {
		{ "checks:\n  - launch: {command: [x], stdout: '(unclosed'}\n",
		  "s.yaml:2:36: checks[0].launch.stdout: invalid regular expression '(unclosed'" },
		/* Repetitions that would make regcomp take gigabytes (found by the suite_load fuzzer). */
		{ "checks:\n  - launch: {command: [x], stdout: 'ls ++++++++++++++++++++++++++++++++++++++++x'}\n",
		  "checks[0].launch.stdout: regular expression too complex" },
		{ "checks:\n  - launch: {command: [x], stderr: 'a{1000}{1000}'}\n",
		  "checks[0].launch.stderr: regular expression too complex" },
		{ "checks:\n  - launch: {command: [x], stdout: '((a{99}){99}){99}'}\n", "regular expression too complex" },
		{ "checks:\n  - launch: {command: [x], exit_code: 300}\n", "exit code 300 is out of range" },
		{ "checks:\n  - launch: {command: [x], service: 'a b'}\n", "is not a service or process name" },
		{ "checks:\n  - launch: {command: [x], service_timeout: 5}\n", "service_timeout needs 'service'" },
		{ "checks:\n  - launch: {stdout: x}\n", "missing required key 'command'" },
		{ "checks:\n  - launch: {command: []}\n", "must not be empty" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(suite_load_buffer(&s, "s.yaml", "/", bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i][1]);
	}
}

static void test_check_launch__deadline_passed_runs_nothing(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "checks:\n  - launch: {command: [hello]}\n", 0);
	fc.ctx.deadline = proc_now() - 1;
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fake.nexec, 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_true(fc.result.timed_out);
	fake_check_release(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_launch__passes_and_gets_env_and_stdin),
		cmocka_unit_test(test_check_launch__shell_form_runs_sh_c),
		cmocka_unit_test(test_check_launch__names_every_mismatch),
		cmocka_unit_test(test_check_launch__regex_is_multiline),
		cmocka_unit_test(test_check_launch__exec_failure_and_signal),
		cmocka_unit_test(test_check_launch__timeout),
		cmocka_unit_test(test_check_launch__service_pgrep_polls_until_up),
		cmocka_unit_test(test_check_launch__service_systemd_or_fallback),
		cmocka_unit_test(test_check_launch__booted_service_alone_starts_and_logs_journal),
		cmocka_unit_test(test_check_launch__booted_failing_unit_names_its_journal),
		cmocka_unit_test(test_check_launch__service_alone_needs_the_boot),
		cmocka_unit_test(test_check_launch__load_time_errors),
		cmocka_unit_test(test_check_launch__deadline_passed_runs_nothing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
