/* checks/install.c and checks/uninstall.c against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

static const char root_suite[] = "packages:\n"
				 "  - name: hello\n"
				 "    file: hello_1.0_all.deb\n"
				 "environment: {root: /scr}\n"
				 "checks: [install, uninstall]\n";

static void setup_root(struct fake_check *fc, const char *config)
{
	const char *dir;

	fake_reset();
	fake.root = "/scr";
	dir = test_sandbox_init();
	free(test_write_file("hello_1.0_all.deb", "not really a deb"));
	fake_check_init_full(fc, root_suite, config, dir, 0);
}

static void test_check_install__root_mode_runs_dpkg_with_root_flags(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	setup_root(&fc, NULL);
	fake_reply("dpkg-query", 0, "install ok installed\t1.0\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_null(fc.result.message);
	assert_int_equal(fake.ncalls, 6);
	assert_string_equal(fake.calls[0], "mkdir -p -- /scr/var/lib/dpkg/info /scr/var/lib/dpkg/updates");
	assert_string_equal(fake.calls[1], "touch -- /scr/var/lib/dpkg/status /scr/var/lib/dpkg/available");
	assert_string_equal(fake.calls[2], "mkdir -p -- /work/packages-1");
	assert_string_equal(fake.calls[3], "dpkg --root=/scr --force-not-root --force-depends --force-confdef "
					   "--force-confold -i /work/packages-1/hello_1.0_all.deb");
	assert_non_null(strstr(fake.call_env[3], "DEBIAN_FRONTEND=noninteractive"));
	assert_string_equal(fake.calls[4], "dpkg-query --root=/scr -W --showformat=${Status}\\t${Version}\\n hello");
	/* The version installed is the file's. */
	assert_string_equal(fake.calls[5], "dpkg-deb -f /work/packages-1/hello_1.0_all.deb Version");
	assert_int_equal(fake.ncopy_in, 1);
	assert_non_null(strstr(fake.copies[0], "/hello_1.0_all.deb -> /work/packages-1/hello_1.0_all.deb"));
	assert_int_equal(fc.result.nsubs, 1);
	assert_string_equal(fc.result.subs[0].name, "hello");
	assert_int_equal(fc.result.subs[0].status, CHECK_PASS);
	assert_int_equal(fc.result.exit_code, 0);
	/* The log shows each command, quoted for display. */
	assert_non_null(strstr(fc.log_text, "$ dpkg-query --root=/scr -W '--showformat=${Status}\\t${Version}\\n' hello"));
	fake_check_release(&fc);
}

static void test_check_install__failure_names_the_tool_and_error(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	setup_root(&fc, NULL);
	fake_reply("dpkg --root", 1, "Selecting previously unselected package hello.\n",
		   "dpkg: error processing archive /work/packages-1/hello_1.0_all.deb (--install):\n"
		   " cannot access archive\nErrors were encountered while processing:\n");
	fake_reply("dpkg-query", 1, "", "dpkg-query: no packages found matching hello\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "dpkg install failed (exit 1): dpkg: error processing archive "
			    "/work/packages-1/hello_1.0_all.deb (--install):");
	assert_int_equal(fc.result.exit_code, 1);
	assert_int_equal(fc.result.subs[0].status, CHECK_FAIL);
	assert_string_equal(fc.result.subs[0].message, "not installed");
	fake_check_release(&fc);
}

static void test_check_install__apt_repos_then_versions(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc,
			"packages:\n  - {name: hello, version: '1.1', epoch: '2'}\n"
			"repositories:\n  - {name: local, url: 'http://repo.example/flat'}\n"
			"checks: [install]\n",
			0);
	fake_reply("apt-get install", 100, "", "E: Unable to locate package hello\n");
	fake_reply("find /var/lib/apt/lists", 0, "/var/lib/apt/lists/x_Packages\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fake.ncopy_in, 1);
	assert_non_null(strstr(fake.copies[0], " -> /etc/apt/sources.list.d/alts-local.list"));
	assert_string_equal(fake.calls[0], "find /var/lib/apt/lists -maxdepth 1 -name *Packages* -mmin -10080");
	/* A fresh index: only the new list is fetched. */
	assert_string_equal(fake.calls[1], "apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/alts-local.list "
					   "-o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0");
	assert_string_equal(fake.calls[2], "apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
					   "-o Dpkg::Options::=--force-confold hello=2:1.1");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "apt-get install failed (exit 100): E: Unable to locate package hello");
	assert_non_null(strstr(fc.log_text, "deb [trusted=yes] http://repo.example/flat ./"));
	fake_check_release(&fc);
}

static void test_check_install__update_failure_stops(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nrepositories: ['http://x.example/r']\nchecks: [install]\n", 0);
	fake_reply("apt-get update", 100, "", "E: The repository 'http://x.example/r ./ Release' does not exist\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message,
			    "apt-get update failed (exit 100): E: The repository 'http://x.example/r ./ Release' "
			    "does not exist");
	assert_int_equal(fake_find_call("apt-get install"), -1);
	fake_check_release(&fc);
}

static void test_check_install__success_but_not_installed(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "almalinux";
	fake.os_version = "9.3";
	fake_check_init(&fc, "packages: [hello, world]\nchecks: [install]\n", 0);
	fake_reply("find /var/cache/dnf", 0, "/var/cache/dnf/x/repodata/repomd.xml\n", "");
	fake_reply("rpm -q --qf %{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n hello", 0, "hello\t1.0-1\n",
		   "");
	fake_reply("rpm -q", 1, "package world is not installed\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[1], "dnf install -y hello world");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "dnf reported success, but world is not installed");
	assert_int_equal(fake_sub(&fc, "hello")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "world")->status, CHECK_FAIL);
	fake_check_release(&fc);
}

static void test_check_install__subset_and_exclusions(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "packages: [a, b, c]\nchecks: [{install: {packages: [a, b]}}]\n",
			     "exclusions:\n  - {dist: 'debian-12', packages: [b], checks: [install], reason: broken}\n",
			     NULL, 0);
	fake_reply("dpkg-query", 0, "install ok installed\t1\n", "");
	fake_reply("find /var/lib/apt/lists", 0, "/var/lib/apt/lists/x_Packages\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake.calls[1], "apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
					   "-o Dpkg::Options::=--force-confold a");
	assert_int_equal(fake_sub(&fc, "b")->status, CHECK_SKIP);
	assert_string_equal(fake_sub(&fc, "b")->message, "excluded on debian-12: broken");
	assert_null(fake_sub(&fc, "c"));
	fake_check_release(&fc);
}

static void test_check_install__load_time_errors(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const char *dir = test_sandbox_init();
	static const char *const bad[][2] = {
		{ "packages: [a]\nchecks: [{install: {packages: [zz]}}]\n", "'zz' is not one of the suite's packages" },
		{ "packages: [a]\nenvironment: {root: /r}\nchecks: [install]\n", "package 'a' needs a 'file'" },
		{ "packages: [a]\nrepositories: ['http://x/y']\nenvironment: {package_manager: rpm}\nchecks: [install]\n",
		  "repositories cannot be used with rpm" },
		{ "checks: [install]\n", "needs packages" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(suite_load_buffer(&s, "s.yaml", dir, bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i][1]);
	}
	test_sandbox_cleanup();
}

static void test_check_uninstall__removes_and_confirms(void **state)
{
	struct fake_check fc;
	const char *dir;

	ALTS_UNUSED(state);
	fake_reset();
	fake.root = "/scr";
	dir = test_sandbox_init();
	free(test_write_file("h.deb", "x"));
	fake_check_init_full(&fc, "packages: [{name: hello, file: h.deb}, bash]\nchecks: [install, uninstall]\n",
			     "protected_packages: [bash]\n", dir, 1);
	fake_reply("dpkg-query", 1, "", "dpkg-query: no packages found matching hello\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake.calls[0], "dpkg --root=/scr --force-not-root --force-depends -r hello");
	assert_int_equal(fake_sub(&fc, "bash")->status, CHECK_SKIP);
	assert_string_equal(fake_sub(&fc, "bash")->message, "protected package");
	assert_int_equal(fake_sub(&fc, "hello")->status, CHECK_PASS);
	fake_check_release(&fc);
}

static void test_check_uninstall__still_installed_fails(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "centos";
	fake.os_version = "7";
	fake_check_init(&fc, "packages: [hello]\nchecks: [uninstall]\n", 0);
	fake_reply("rpm -q", 0, "hello\t1.0-1\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_string_equal(fake.calls[0], "yum remove -y hello");
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "yum reported success, but hello is still installed");
	fake_check_release(&fc);
}

static void test_check_uninstall__all_protected_skips(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init_full(&fc, "packages: [bash]\nchecks: [uninstall]\n", "protected_packages: ['ba*']\n", NULL, 0);
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_SKIP);
	assert_int_equal(fake.ncalls, 0);
	fake_check_release(&fc);
}

static void test_check_install__stale_index_is_refreshed_once(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	/* find prints nothing: no index newer than 7 days. */
	fake_check_init(&fc, "packages: [hello]\nrepositories: ['http://x.example/r']\nchecks: [install]\n", 0);
	fake_reply("dpkg-query", 0, "install ok installed\t1\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake.calls[0], "find /var/lib/apt/lists -maxdepth 1 -name *Packages* -mmin -10080");
	/* One whole update, which also fetches the new list. */
	assert_string_equal(fake.calls[1], "apt-get update -o Acquire::Retries=0");
	assert_non_null(strstr(fake.calls[2], "apt-get install"));
	assert_int_equal(fake_find_call("apt-get update -o Dir::Etc"), -1);
	fake_check_release(&fc);
}

static void test_check_install__index_max_age_zero_always_refreshes(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "almalinux";
	fake.os_version = "9.3";
	fake_check_init_full(&fc, "packages: [hello]\nchecks: [install]\n", "index_max_age: 0\n", NULL, 0);
	fake_reply("dnf makecache", 1, "", "Error: Failed to download metadata for repo 'baseos'\n");
	fake_reply("rpm -q", 0, "hello\t1.0-1\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	/* No age check; a failed refresh without the suite's repositories is only a warning. */
	assert_string_equal(fake.calls[0], "dnf makecache --refresh");
	assert_string_equal(fake.calls[1], "dnf install -y hello");
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_non_null(strstr(fc.log_text, "warning: the index refresh failed"));
	fake_check_release(&fc);
}

static void test_check_install__wrong_version_and_origin_fail(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc,
			"packages: [{name: hello, version: '2.0'}, world]\n"
			"repositories: [{name: local, url: /srv/repo}]\nchecks: [install]\n",
			0);
	fake_reply("find", 0, "/var/lib/apt/lists/x_Packages\n", "");
	fake_reply("dpkg-query -W --showformat=${Status}\\t${Version}\\n hello", 0, "install ok installed\t2.1\n", "");
	fake_reply("dpkg-query", 0, "install ok installed\t1.0\n", "");
	fake_reply("apt-cache policy world", 0,
		   "world:\n  Installed: 1.0\n  Version table:\n *** 1.0 500\n        500 http://elsewhere.example ./ "
		   "Packages\n        100 /var/lib/dpkg/status\n",
		   "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fake_sub(&fc, "hello")->message, "version 2.1 is installed, 2.0 was requested");
	assert_string_equal(fake_sub(&fc, "world")->message,
			    "installed from http://elsewhere.example ./ Packages, not from the repository local");
	assert_non_null(strstr(fc.result.message, "apt-get reported success, but hello: version 2.1 is installed"));
	fake_check_release(&fc);
}

static void test_check_install__start_services_writes_the_policy(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{install: {start_services: true}}]\n", 0);
	fake_reply("find", 0, "/var/lib/apt/lists/x_Packages\n", "");
	fake_reply("dpkg-query", 0, "install ok installed\t1\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_non_null(strstr(fake.copies[0], " -> /usr/sbin/policy-rc.d"));
	assert_true(fake_find_call("chmod 0755 /usr/sbin/policy-rc.d") >= 0);
	assert_true(fake_find_call("chmod") < fake_find_call("apt-get install"));
	fake_check_release(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_install__root_mode_runs_dpkg_with_root_flags),
		cmocka_unit_test(test_check_install__failure_names_the_tool_and_error),
		cmocka_unit_test(test_check_install__apt_repos_then_versions),
		cmocka_unit_test(test_check_install__update_failure_stops),
		cmocka_unit_test(test_check_install__success_but_not_installed),
		cmocka_unit_test(test_check_install__subset_and_exclusions),
		cmocka_unit_test(test_check_install__load_time_errors),
		cmocka_unit_test(test_check_install__stale_index_is_refreshed_once),
		cmocka_unit_test(test_check_install__index_max_age_zero_always_refreshes),
		cmocka_unit_test(test_check_install__wrong_version_and_origin_fail),
		cmocka_unit_test(test_check_install__start_services_writes_the_policy),
		cmocka_unit_test(test_check_uninstall__removes_and_confirms),
		cmocka_unit_test(test_check_uninstall__still_installed_fails),
		cmocka_unit_test(test_check_uninstall__all_protected_skips),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
