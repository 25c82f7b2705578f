/* checks/upgrade.c and uninstall's purge against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

static const char apt_suite[] = "packages: [hello]\n"
				"repositories: [{name: local, url: /srv/repo}]\n"
				"checks: [{upgrade: {from: '1.0', downgrade: true}}]\n";

static const char policy_local[] = "hello:\n Version table:\n *** %s 500\n        500 file:/srv/repo ./ Packages\n";

static void reply_installed(const char *version, int times)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "install ok installed\t%s\n", version);
	fake_reply("dpkg-query -W --showformat=${Status}", 0, buf, "")->times = times;
	snprintf(buf, sizeof(buf), policy_local, version);
	fake_reply("apt-cache policy hello", 0, buf, "")->times = times;
}

static void test_check_upgrade__apt_three_steps(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	reply_installed("1.0", 1);
	reply_installed("2.0", 1);
	reply_installed("1.0", 1);
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_int_equal(fc.result.nsubs, 3);
	assert_string_equal(fc.result.subs[0].name, "install hello 1.0");
	assert_string_equal(fc.result.subs[1].name, "upgrade to hello");
	assert_string_equal(fc.result.subs[2].name, "downgrade to hello 1.0");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(fc.result.subs[i].status, CHECK_PASS);
	assert_true(fake_find_call("apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/alts-local.list") >= 0);
	assert_true(fake_find_call("apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
				   "-o Dpkg::Options::=--force-confold hello=1.0") >= 0);
	assert_true(fake_find_call("apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
				   "-o Dpkg::Options::=--force-confold --allow-downgrades hello=1.0") >= 0);
	assert_non_null(strstr(fc.log_text, "alts: == step: upgrade to hello =="));
	fake_check_release(&fc);
}

static void test_check_upgrade__nothing_upgraded_fails(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	reply_installed("1.0", -1);
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "upgrade: hello: nothing was upgraded, 1.0 is still installed");
	assert_int_equal(fc.result.nsubs, 2);
	assert_int_equal(fc.result.subs[1].status, CHECK_FAIL);
	/* No downgrade after a failed upgrade. */
	assert_int_equal(fake_find_call("apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
					"-o Dpkg::Options::=--force-confold --allow-downgrades"),
			 -1);
	fake_check_release(&fc);
}

static void test_check_upgrade__failure_names_the_reason(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "almalinux";
	fake.os_version = "9.3";
	fake_check_init(&fc,
			"packages: [hello]\nrepositories: [{name: local, url: /srv/repo}]\n"
			"checks: [{upgrade: {from: distribution}}]\n",
			0);
	fake_reply("rpm -q --qf", 0, "hello\t1.0-1\n", "");
	fake_reply("dnf upgrade", 1, "error: %prein(hello-2.0-1.noarch) scriptlet failed, exit status 1\n",
		   "Error: Transaction failed\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "upgrade: dnf failed (exit 1): error: %prein(hello-2.0-1.noarch) scriptlet "
					       "failed, exit status 1 | Error: Transaction failed");
	/* From the distribution: installed by name before the suite's repositories are added. */
	assert_true(fake_find_call("dnf install -y hello") < fake_find_call("dnf upgrade -y hello"));
	assert_true(fake.ncopy_in == 1);
	assert_string_equal(fc.result.subs[0].name, "install hello");
	fake_check_release(&fc);
}

static void test_check_upgrade__load_time_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "packages: [hello]\nchecks: [{upgrade: {downgrade: true}}]\n", "from" },
		{ "packages: [hello]\nchecks: [{upgrade: {from: '1.0;x'}}]\n", "is not a version" },
		{ "packages: [{name: hello, file: h.deb}]\nenvironment: {package_manager: dpkg}\n"
		  "checks: [{upgrade: {from: '1.0'}}]\n",
		  "not dpkg" },
		{ "packages: [hello]\nchecks: [{uninstall: {leftovers: warn}}]\n", "need 'purge: true'" },
		{ "packages: [hello]\nchecks: [{uninstall: {purge: true, leftovers: maybe}}]\n", "maybe" },
	};
	const char *dir = test_sandbox_init();

	ALTS_UNUSED(state);
	free(test_write_file("h.deb", "x"));
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		struct suite *s = NULL;
		struct alts_err err = ALTS_ERR_INIT;

		assert_int_equal(suite_load_buffer(&s, "s.yaml", dir, bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i][1]);
		suite_free(s);
	}
}

static void test_check_uninstall__purge_without_before_walk(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{uninstall: {purge: true}}]\n", 0);
	fake_reply("dpkg-query", 1, "", "dpkg-query: no packages found matching hello\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[0], "apt-get purge --autoremove -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
					   "-o Dpkg::Options::=--force-confold hello");
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "leftovers")->status, CHECK_SKIP);
	fake_check_release(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_upgrade__apt_three_steps),
		cmocka_unit_test(test_check_upgrade__nothing_upgraded_fails),
		cmocka_unit_test(test_check_upgrade__failure_names_the_reason),
		cmocka_unit_test(test_check_upgrade__load_time_errors),
		cmocka_unit_test(test_check_uninstall__purge_without_before_walk),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
