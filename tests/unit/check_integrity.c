/* checks/integrity.c against the fake runner. */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"

#define QUERY_FMT "--showformat=${Status}\\t${Version}\\n"

/* dpkg -L of a small package with a binary, a library, a link and a doc. */
static const char hello_list[] = "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/lib/libhello.so.1\n"
				 "/usr/share/doc/hello/README\n/usr/bin/hi\n";

static const char hello_stat[] = "directory\t755\t/usr\n"
				 "directory\t755\t/usr/bin\n"
				 "regular file\t755\t/usr/bin/hello\n"
				 "regular file\t644\t/usr/lib/libhello.so.1\n"
				 "regular file\t644\t/usr/share/doc/hello/README\n"
				 "symbolic link\t777\t/usr/bin/hi\n";

static void setup_clean(void)
{
	fake_reply("debsums -s hello", 0, "", "");
	fake_reply("dpkg-query -L hello", 0, hello_list, "");
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 1, hello_stat, "");
	fake_reply("stat -L --printf %F\\t%n\\n -- /usr/bin/hi", 0, "regular file\t/usr/bin/hi\n", "");
	fake_reply("ldd", 0, "/usr/bin/hello:\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n/usr/lib/libhello.so.1:\n"
			     "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", "");
	fake_reply("readelf -d -W", 0, "\nFile: /usr/bin/hello\n 0x1d (RUNPATH) Library runpath: [/usr/lib/hello]\n"
				      "\nFile: /usr/lib/libhello.so.1\n", "");
}

static void test_check_integrity__clean_package_passes_every_part(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [integrity]\n", 0);
	setup_clean();
	assert_int_equal(fake_check_run(&fc), 0);
	if (fc.result.status != CHECK_PASS)
		fail_msg("%s", fc.result.message);
	assert_int_equal(fc.result.nsubs, 5);
	assert_int_equal(fake_sub(&fc, "hello: debsums")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: files exist")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: symlinks")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: ldd")->status, CHECK_PASS);
	assert_int_equal(fake_sub(&fc, "hello: rpath")->status, CHECK_PASS);
	/* One stat for every file; the doc is not an ELF candidate, the library is. */
	assert_true(fake_find_call("stat --printf %F\\t%a\\t%n\\n -- /usr /usr/bin /usr/bin/hello "
				   "/usr/lib/libhello.so.1 /usr/share/doc/hello/README /usr/bin/hi") >= 0);
	assert_true(fake_find_call("ldd -- /usr/bin/hello /usr/lib/libhello.so.1") >= 0);
	assert_true(fake_find_call("readelf -d -W -- /usr/bin/hello /usr/lib/libhello.so.1") >= 0);
	fake_check_release(&fc);
}

static void test_check_integrity__each_problem_is_named(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [integrity]\n", 0);
	fake_reply("debsums -s hello", 2, "",
		   "debsums: changed file /usr/bin/hello (from hello package)\n"
		   "debsums: missing file /usr/share/doc/hello/README (from hello package)\n");
	fake_reply("dpkg-query -L hello", 0, hello_list, "");
	/* README is missing: stat prints nothing for it. */
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 1,
		   "directory\t755\t/usr\ndirectory\t755\t/usr/bin\nregular file\t755\t/usr/bin/hello\n"
		   "regular file\t644\t/usr/lib/libhello.so.1\nsymbolic link\t777\t/usr/bin/hi\n",
		   "stat: cannot statx '/usr/share/doc/hello/README': No such file or directory\n");
	fake_reply("stat -L", 1, "", "stat: cannot statx '/usr/bin/hi': No such file or directory\n");
	fake_reply("ldd", 1, "/usr/bin/hello:\n\tlibgone.so.2 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
			     "/usr/lib/libhello.so.1:\n\tlibc.so.6 => /lib/libc.so.6\n", "");
	fake_reply("readelf", 0, "File: /usr/bin/hello\n 0x0f (RPATH) Library rpath: [/opt/x::/usr/lib]\n"
				 "File: /usr/lib/libhello.so.1\n 0x1d (RUNPATH) Library runpath: [:/opt]\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: debsums: modified: /usr/bin/hello; missing: "
					       "/usr/share/doc/hello/README (and 4 more failed checks)");
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message, "missing: /usr/share/doc/hello/README");
	assert_string_equal(fake_sub(&fc, "hello: symlinks")->message, "dangling: /usr/bin/hi");
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message, "/usr/bin/hello: libgone.so.2 not found");
	assert_string_equal(fake_sub(&fc, "hello: rpath")->message,
			    "/usr/bin/hello: RPATH '/opt/x::/usr/lib' has an empty entry (the current directory); "
			    "/usr/lib/libhello.so.1: RUNPATH ':/opt' has an empty entry (the current directory)");
	fake_check_release(&fc);
}

static void test_check_integrity__rpm_verify_and_ignore(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.os_id = "rocky";
	fake.os_version = "9";
	fake_check_init(&fc,
			"packages: [hello]\nchecks:\n"
			"  - integrity: {checks: [verify], ignore: ['/etc/*']}\n",
			0);
	fake_reply("rpm -V hello", 1, "S.5....T.  c /etc/hello.conf\n.M.......    /usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	/* Only what the parts need: no probes, no file list. */
	assert_int_equal(fake.ncalls, 1);
	assert_string_equal(fake.calls[0], "rpm -V hello");
	assert_int_equal(fc.result.nsubs, 1);
	assert_string_equal(fc.result.message, "hello: rpm -V: modified: /usr/bin/hello");
	fake_check_release(&fc);
}

static void test_check_integrity__debsums_absent_uses_dpkg_verify(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [verify]}}]\n", 0);
	fake_missing("debsums");
	fake_reply("dpkg --verify hello", 0, "??5??????   /usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: dpkg --verify: modified: /usr/bin/hello");
	fake_check_release(&fc);
}

static void test_check_integrity__dpkg_path_exclude_is_not_missing(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [verify, files]}}]\n", 0);
	fake_reply("grep -rhsE", 0, "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n", "");
	fake_reply("debsums", 2, "", "debsums: missing file /usr/share/doc/hello/README (from hello package)\n");
	fake_reply("dpkg-query -L hello", 0, "/usr/share/doc/hello/README\n/usr/share/doc/hello/copyright\n", "");
	fake_reply("stat", 1, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_int_equal(fake_sub(&fc, "hello: debsums")->status, CHECK_PASS);
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message, "missing: /usr/share/doc/hello/copyright");
	fake_check_release(&fc);
}

static void test_check_integrity__root_mode_prefixes_and_follows_links(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake.root = "/scr";
	fake_check_init(&fc, "packages: [hello]\nenvironment: {root: /scr}\nchecks: [integrity]\n", 0);
	fake_reply("debsums -s --root=/scr hello", 0, "", "");
	fake_reply("dpkg-query --root=/scr -L hello", 0, "/usr/bin/hello\n/usr/bin/abs\n/usr/bin/rel\n", "");
	fake_reply("stat --printf %F\\t%a\\t%n\\n", 0,
		   "regular file\t755\t/scr/usr/bin/hello\nsymbolic link\t777\t/scr/usr/bin/abs\n"
		   "symbolic link\t777\t/scr/usr/bin/rel\n", "");
	fake_reply("readlink -- /scr/usr/bin/abs /scr/usr/bin/rel", 0, "/usr/bin/hello\n../gone\n", "");
	/* Absolute targets are looked up inside the root. */
	fake_reply("stat --printf %F\\t%n\\n -- /scr/usr/bin/hello /scr/usr/bin/../gone", 1,
		   "regular file\t/scr/usr/bin/hello\n", "");
	fake_reply("readelf", 0, "", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: symlinks: dangling: /usr/bin/rel");
	assert_int_equal(fake_sub(&fc, "hello: ldd")->status, CHECK_SKIP);
	assert_true(fake_find_call("readelf -d -W -- /scr/usr/bin/hello") >= 0);
	assert_int_equal(fake_find_call("ldd"), -1);
	fake_check_release(&fc);
}

static void test_check_integrity__missing_tools_skip(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [ldd, rpath]}}]\n", 0);
	fake_missing("ldd");
	fake_missing("readelf");
	fake_reply("dpkg-query -L hello", 0, "/usr/bin/hello\n", "");
	fake_reply("stat", 0, "regular file\t755\t/usr/bin/hello\n", "");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_PASS);
	assert_string_equal(fake_sub(&fc, "hello: ldd")->message, "ldd is not installed in the environment");
	assert_int_equal(fake_sub(&fc, "hello: rpath")->status, CHECK_SKIP);
	fake_check_release(&fc);
}

static void test_check_integrity__not_installed(void **state)
{
	struct fake_check fc;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [files, symlinks]}}]\n", 0);
	fake_reply("dpkg-query -L", 1, "", "dpkg-query: package 'hello' is not installed\n");
	assert_int_equal(fake_check_run(&fc), 0);
	assert_int_equal(fc.result.status, CHECK_FAIL);
	assert_string_equal(fc.result.message, "hello: files exist: cannot list the files (exit 1): dpkg-query: "
					       "package 'hello' is not installed");
	assert_int_equal(fc.result.nsubs, 1);
	fake_check_release(&fc);
}

static void test_check_integrity__many_files_are_batched(void **state)
{
	struct fake_check fc;
	struct sbuf list = SBUF_INIT;
	size_t nstat = 0;

	ALTS_UNUSED(state);
	fake_reset();
	for (int i = 0; i < 1200; i++)
		sbuf_addf(&list, "/usr/share/hello/f%04d\n", i);
	fake_check_init(&fc, "packages: [hello]\nchecks: [{integrity: {checks: [files]}}]\n", 0);
	fake_reply("dpkg-query -L", 0, list.buf, "");
	assert_int_equal(fake_check_run(&fc), 0);
	for (size_t i = 0; i < fake.ncalls; i++)
		nstat += !strncmp(fake.calls[i], "stat ", 5);
	assert_int_equal(nstat, 3);
	/* The fake printed nothing, so every file is missing; the message names three. */
	assert_string_equal(fake_sub(&fc, "hello: files exist")->message,
			    "missing: /usr/share/hello/f0000; missing: /usr/share/hello/f0001; "
			    "missing: /usr/share/hello/f0002 (and 1197 more)");
	sbuf_release(&list);
	fake_check_release(&fc);
}

static void test_check_integrity__load_time_errors(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	static const char *const bad[][2] = {
		{ "packages: [a]\nchecks: [{integrity: {checks: [md5]}}]\n", "unknown integrity check 'md5'" },
		{ "packages: [a]\nchecks: [{integrity: {ignore: [etc]}}]\n", "'etc' is not an absolute path pattern" },
		{ "packages: [a]\nchecks: [{integrity: {packages: [b]}}]\n", "'b' is not one of the suite's packages" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(suite_load_buffer(&s, "s.yaml", "/", bad[i][0], strlen(bad[i][0]), &err), ALTS_EINVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_integrity__clean_package_passes_every_part),
		cmocka_unit_test(test_check_integrity__each_problem_is_named),
		cmocka_unit_test(test_check_integrity__rpm_verify_and_ignore),
		cmocka_unit_test(test_check_integrity__debsums_absent_uses_dpkg_verify),
		cmocka_unit_test(test_check_integrity__dpkg_path_exclude_is_not_missing),
		cmocka_unit_test(test_check_integrity__root_mode_prefixes_and_follows_links),
		cmocka_unit_test(test_check_integrity__missing_tools_skip),
		cmocka_unit_test(test_check_integrity__not_installed),
		cmocka_unit_test(test_check_integrity__many_files_are_batched),
		cmocka_unit_test(test_check_integrity__load_time_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	fake_reset();
	return rc;
}
