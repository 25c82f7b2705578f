/* checks/script.c against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

#include <sys/stat.h>

static const char *sandbox_with_tests(void)
{
	const char *dir = test_sandbox_init();
	char *p;

	p = alts_asprintf("%s/tests", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	alts_free(p);
	free(test_write_file("tests/10_second.sh", "echo two\n"));
	free(test_write_file("tests/0_init_setup.sh", "echo init\n"));
	free(test_write_file("tests/05_first.bats", "@test x { true; }\n"));
	free(test_write_file("tests/README", "not run\n"));
	free(test_write_file("tests/.hidden.sh", "not run\n"));
	p = test_write_file("tests/20_exec", "#!/bin/sh\n");
	assert_int_equal(chmod(p, 0755), 0);
	free(p);
	free(test_write_file("single.py", "print('1..1')\n"));
	return dir;
}

static void test_check_script__directory_order_and_interpreters(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "packages: [hello]\nchecks: [{script: {path: tests, args: [-v]}}]\n", NULL, dir, 0);
	fake_reply("bats", 0, "1..1\nok 1 x\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake.calls[0], "mkdir -p -- /work/scripts-1");
	assert_string_equal(fake.calls[1], "bash /work/scripts-1/tests/0_init_setup.sh -v");
	assert_string_equal(fake.calls[2], "bats --tap /work/scripts-1/tests/05_first.bats -v");
	assert_string_equal(fake.calls[3], "bash /work/scripts-1/tests/10_second.sh -v");
	assert_string_equal(fake.calls[4], "/work/scripts-1/tests/20_exec -v");
	assert_int_equal(fake.ncalls, 5);
	assert_string_equal(fake.call_cwd[1], "/work/scripts-1/tests");
	assert_non_null(strstr(fake.call_env[1], "ALTS_PACKAGES=hello"));
	assert_non_null(strstr(fake.copies[0], "/tests -> /work/scripts-1/tests"));
	assert_int_equal(fc.result.nsubs, 4);
	assert_string_equal(fc.result.subs[1].name, "05_first.bats");
	assert_int_equal(fc.result.subs[1].nsubs, 1);
	assert_string_equal(fc.result.subs[1].subs[0].name, "x");
	assert_non_null(strstr(fc.log_text, "leaving out 'README'"));
	fake_check_release(&fc);
}

static void test_check_script__tap_failure_fails_despite_exit_0(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: single.py}}]\n", NULL, dir, 0);
	fake_reply("python3", 0,
		   "TAP version 13\n1..3\nok 1 - a\nnot ok 2 - b\n  ---\n  message: boom\n  ...\n"
		   "not ok 3 - c # TODO later\n",
		   "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[1], "python3 /work/scripts-1/single.py");
	assert_string_equal(fake.call_cwd[1], "/work/scripts-1");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "1 of 3 tests failed: 'b'");
	assert_int_equal(fc.result.exit_code, 0);
	assert_int_equal(fc.result.nsubs, 3);
	assert_int_equal(fc.result.subs[1].status, CHECK_FAIL);
	assert_non_null(strstr(fc.result.subs[1].output, "message: boom"));
	assert_int_equal(fc.result.subs[2].status, CHECK_XFAIL);
	assert_string_equal(fc.result.subs[2].message, "TODO: later");
	fake_check_release(&fc);
}

/* TAP longer than the 1 MiB log capture is read whole: every test counts, a failure deep inside is named. */
static void test_check_script__long_tap_is_read_whole(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();
	struct sbuf out = SBUF_INIT;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: single.py}}]\n", NULL, dir, 0);
	sbuf_adds(&out, "1..100000\n");
	for (int i = 1; i <= 100000; i++)
		sbuf_addf(&out, "ok %d - a test with a description long enough\n", i);
	assert_true(out.len > (1u << 20));
	fake_reply("python3", 0, out.buf, "");
	assert_int_equal(fake_check_run(&fc), 0);
	if (fc.result.status != CHECK_PASS)
		fail_msg("status %d: %s", fc.result.status, fc.result.message ? fc.result.message : "");
	assert_int_equal(fc.result.nsubs, 100000);
	fake_check_release(&fc);

	sbuf_reset(&out);
	fake_reset();
	dir = sandbox_with_tests();
	fake_check_init_full(&fc, "checks: [{script: {path: single.py}}]\n", NULL, dir, 0);
	sbuf_adds(&out, "1..100000\n");
	for (int i = 1; i <= 100000; i++)
		sbuf_addf(&out, "%sok %d - test %d with a description long enough\n", i == 50000 ? "not " : "", i, i);
	fake_reply("python3", 0, out.buf, "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "1 of 100000 tests failed: 'test 50000 with a description long enough'");
	sbuf_release(&out);
	fake_check_release(&fc);
}

static void test_check_script__exit_code_and_tap_off(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: single.py, tap: false, interpreter: [python3, -u]}}]\n",
			     NULL, dir, 0);
	fake_reply("python3 -u", 3, "1..1\nnot ok 1\n", "Traceback: boom\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[1], "python3 -u /work/scripts-1/single.py");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "exit 3");
	assert_int_equal(fc.result.nsubs, 0);
	assert_int_equal(fc.result.exit_code, 3);
	fake_check_release(&fc);
}

static void test_check_script__directory_failures_are_listed(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: tests}}]\n", NULL, dir, 0);
	fake_reply("bash /work/scripts-1/tests/10_second.sh", 1, "", "");
	fake_reply("bats", 1, "1..2\nok 1 a\nnot ok 2 b\nBail out! gone\n", "");
	fake_missing("/work/scripts-1/tests/20_exec");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "3 of 4 scripts failed: '05_first.bats' (exit 1; bail out: gone), '10_second.sh' (exit 1), "
			    "'20_exec' (cannot execute '/work/scripts-1/tests/20_exec': No such file or directory)");
	assert_int_equal(fc.result.exit_code, 1);
	assert_int_equal(fc.result.subs[0].status, CHECK_PASS);
	fake_check_release(&fc);
}

static void test_check_script__skip_all(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_tests();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: single.py}}]\n", NULL, dir, 0);
	fake_reply("python3", 0, "1..0 # SKIP needs network\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_SKIP);
	assert_string_equal(fc.result.message, "needs network");
	fake_check_release(&fc);
}

static void test_check_script__load_time_errors(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const char *dir = sandbox_with_tests();
	static const char *const bad[][2] = {
		{ "checks: [{script: {path: tests/README}}]\n", "is not executable and has no known extension" },
		{ "checks: [{script: {path: nothere.sh}}]\n", "cannot find script" },
		{ "checks: [{script: {path: tests, git: 'https://x/y'}}]\n", "give either 'path' or 'git', not both" },
		{ "checks: [{script: {args: [x]}}]\n", "missing required key 'path' (or 'git')" },
		{ "checks: [{script: {git: '-oProxyCommand=x'}}]\n", "is not a git URL alts will clone" },
		{ "checks: [{script: {git: 'ext::sh -c x'}}]\n", "is not a git URL alts will clone" },
		{ "checks: [{script: {git: {url: 'https://x/y', ref: '--upload-pack=x'}}}]\n", "git ref" },
		{ "checks: [{script: {git: {url: 'https://x/y', path: '../../etc'}}}]\n", "relative path inside" },
		{ "checks: [{script: {git: {ref: main}}}]\n", "missing required key 'url'" },
		{ "checks: [{script: {path: tests, tap: sometimes}}]\n", "expected true, false or auto" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(suite_load_buffer(&s, "s.yaml", dir, bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i][1]);
	}
	/* README is fine with an interpreter. */
	{
		const char *ok = "checks: [{script: {path: tests/README, interpreter: cat}}]\n";

		assert_ok_err(suite_load_buffer(&s, "s.yaml", dir, ok, strlen(ok), &err), &err);
	}
	suite_free(s);
	test_sandbox_cleanup();
}

/* A directory of two playbooks and a shell script. */
static const char *sandbox_with_playbooks(void)
{
	const char *dir = test_sandbox_init();
	char *p = alts_asprintf("%s/plays", dir);

	assert_int_equal(mkdir(p, 0755), 0);
	alts_free(p);
	free(test_write_file("plays/0_init.yml", "- hosts: all\n  tasks: []\n"));
	free(test_write_file("plays/10_check.yaml", "- hosts: all\n  tasks: []\n"));
	free(test_write_file("plays/20_after.sh", "echo after\n"));
	return dir;
}

static void test_check_script__playbooks_run_inside_the_environment(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_playbooks();
	long init, check, sh;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: plays}}]\n", NULL, dir, 0);
	fake_reply("ansible-playbook --version", 0, "ansible-playbook [core 2.14.18]\n", "");
	fake_reply("ansible-playbook -i localhost, -c local /work/scripts-1/plays/10_check.yaml", 2,
		   "PLAY RECAP\nlocalhost : ok=1 failed=1\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	init = fake_find_call("ansible-playbook -i localhost, -c local /work/scripts-1/plays/0_init.yml");
	check = fake_find_call("ansible-playbook -i localhost, -c local /work/scripts-1/plays/10_check.yaml");
	sh = fake_find_call("bash /work/scripts-1/plays/20_after.sh");
	assert_true(init > 0 && check > init && sh > check);
	assert_int_equal(fake_find_call("ansible-playbook --version"), init - 1);
	/* Probed once for the check, not per playbook. */
	assert_int_equal(fake.ncalls, 5);
	assert_non_null(strstr(fake.call_env[init], "ANSIBLE_NOCOLOR=1"));
	assert_non_null(strstr(fake.call_env[init], "ALTS_PACKAGES="));
	assert_null(strstr(fake.call_env[sh], "ANSIBLE_NOCOLOR"));
	assert_string_equal(fake.call_cwd[init], "/work/scripts-1/plays");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "1 of 3 scripts failed: '10_check.yaml' (exit 2)");
	assert_int_equal(fc.result.exit_code, 2);
	assert_non_null(strstr(fc.log_text, "PLAY RECAP"));
	fake_check_release(&fc);
}

static void test_check_script__ansible_is_installed_when_missing(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_playbooks();
	long first, update, second;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: plays/0_init.yml}}]\n", NULL, dir, 0);
	fake_missing("ansible-playbook --version");
	fake.replies[fake.nreplies - 1].times = 1;
	/* No package lists yet: the first install fails, apt-get update, the second one works. */
	fake_reply("apt-get install", 100, "", "E: Unable to locate package ansible-core\n")->times = 1;
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	first = fake_find_call("apt-get install -y");
	update = fake_find_call("apt-get update");
	assert_true(first > 0 && update > first);
	assert_non_null(strstr(fake.calls[first], "--no-install-recommends ansible-core"));
	second = update + 1;
	assert_string_equal(fake.calls[second], fake.calls[first]);
	assert_string_equal(fake.calls[second + 1], "ansible-playbook --version");
	assert_string_equal(fake.calls[second + 2], "ansible-playbook -i localhost, -c local /work/scripts-1/0_init.yml");
	assert_non_null(strstr(fc.log_text, "ansible-playbook is not in the environment: installing ansible-core"));
	fake_check_release(&fc);
}

static void test_check_script__ansible_cannot_be_installed(void **state)
{
	struct fake_check fc;
	const char *dir = sandbox_with_playbooks();

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: plays, ansible_package: ansible}}]\n", NULL, dir, 0);
	fake_missing("ansible-playbook");
	fake_reply("apt-get install", 100, "", "E: Unable to locate package ansible\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_non_null(strstr(fc.result.message, "2 of 3 scripts failed: '0_init.yml' (ansible-playbook is not in the "
						  "environment and installing ansible failed: apt-get (exit 100): "
						  "E: Unable to locate package ansible)"));
	/* The shell script still ran; the install was tried once for both playbooks (and once more after update). */
	assert_true(fake_find_call("bash /work/scripts-1/plays/20_after.sh") > 0);
	assert_int_equal(fc.result.subs[2].status, CHECK_PASS);
	assert_int_equal(fc.result.exit_code, 127);
	fake_check_release(&fc);

	dir = sandbox_with_playbooks();
	fake_reset();
	fake_check_init_full(&fc, "checks: [{script: {path: plays/10_check.yaml, ansible_package: ''}}]\n", NULL, dir, 0);
	fake_missing("ansible-playbook");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "ansible-playbook is not in the environment (ansible_package is empty: alts installs nothing)");
	assert_int_equal(fake_find_call("apt-get"), -1);
	fake_check_release(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_script__directory_order_and_interpreters),
		cmocka_unit_test(test_check_script__tap_failure_fails_despite_exit_0),
		cmocka_unit_test(test_check_script__long_tap_is_read_whole),
		cmocka_unit_test(test_check_script__exit_code_and_tap_off),
		cmocka_unit_test(test_check_script__directory_failures_are_listed),
		cmocka_unit_test(test_check_script__skip_all),
		cmocka_unit_test(test_check_script__load_time_errors),
		cmocka_unit_test(test_check_script__playbooks_run_inside_the_environment),
		cmocka_unit_test(test_check_script__ansible_is_installed_when_missing),
		cmocka_unit_test(test_check_script__ansible_cannot_be_installed),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
