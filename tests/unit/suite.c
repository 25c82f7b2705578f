/* engine/suite_load.c and framework/conf.c: loading and validating suites. */
#include "tests/unit/helpers.h"
#include "engine/suite_load.h"
#include "engine/engine.h"
#include "framework/arena.h"
#include "engine/config_load.h"
#include "checks/check_int.h"

#include <time.h>

static const char full_suite[] =
	"name: hello suite\n"
	"description: every part of the format\n"
	"packages:\n"
	"  - bash\n"
	"  - name: hello\n"
	"    version: '2.10-3'\n"
	"    epoch: 1\n"
	"repositories:\n"
	"  - https://deb.example.org/debian\n"
	"  - name: extra\n"
	"    baseurl: https://repo.example.org/el9/\n"
	"  - url: deb [trusted=yes] file:/srv/repo ./\n"
	"environment:\n"
	"  runner: local\n"
	"  dist_name: debian\n"
	"  dist_version: 12\n"
	"  dist_arch: x86_64\n"
	"env:\n"
	"  GREETING: hi\n"
	"timeout: 10m\n"
	"check_timeout: 90\n"
	"checks:\n"
	"  - install\n"
	"  - launch:\n"
	"      name: says hello\n"
	"      command: [hello, --greeting, x]\n"
	"      timeout: 1.5s\n"
	"      expect_failure: yes\n"
	"  - launch:\n"
	"      command: echo hi | grep hi\n"
	"      skip: not today\n"
	"  - integrity: ~\n"
	"  - uninstall\n";

static void test_suite__loads_every_field(void **state)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const struct conf_argv *cmd;

	ALTS_UNUSED(state);
	assert_ok_err(suite_load_buffer(&s, "full.yaml", "/srv/suites", full_suite, sizeof(full_suite) - 1, &err),
		      &err);
	assert_string_equal(s->name, "hello suite");
	assert_string_equal(s->dir, "/srv/suites");
	assert_int_equal(s->npackages, 2);
	assert_string_equal(s->packages[0].name, "bash");
	assert_null(s->packages[0].version);
	assert_string_equal(s->packages[1].version, "2.10-3");
	assert_string_equal(s->packages[1].epoch, "1");
	assert_int_equal(s->nrepos, 3);
	assert_string_equal(s->repos[0].name, "repo1");
	assert_false(s->repos[0].apt_line);
	assert_string_equal(s->repos[1].name, "extra");
	assert_string_equal(s->repos[1].url, "https://repo.example.org/el9/");
	assert_true(s->repos[2].apt_line);
	assert_string_equal(s->env.runner, "local");
	assert_string_equal(s->env.dist_version, "12");
	assert_int_equal(s->vars.n, 1);
	assert_string_equal(s->vars.values[0], "hi");
	assert_true(s->timeout == 600.0);
	assert_true(s->check_timeout == 90.0);
	assert_int_equal(s->nchecks, 5);
	assert_string_equal(s->checks[0].type, "install");
	assert_string_equal(s->checks[0].name, "install");
	assert_string_equal(s->checks[1].name, "says hello");
	assert_true(s->checks[1].timeout == 1.5);
	assert_true(s->checks[1].expect_failure);
	cmd = s->checks[1].conf;
	assert_false(cmd->shell);
	assert_int_equal(cmd->argc, 3);
	assert_string_equal(cmd->argv[2], "x");
	assert_null(cmd->argv[3]);
	cmd = s->checks[2].conf;
	assert_true(cmd->shell);
	assert_string_equal(cmd->argv[0], "/bin/sh");
	assert_string_equal(cmd->argv[2], "echo hi | grep hi");
	assert_string_equal(s->checks[2].skip, "not today");
	assert_int_equal(s->checks[4].index, 4);
	assert_int_equal(s->checks[1].loc.line, 24);
	suite_free(s);
}

static void test_suite__json_is_accepted(void **state)
{
	static const char json[] = "{\"name\": \"j\", \"packages\": [\"bash\"],"
				   " \"checks\": [\"install\", {\"launch\": {\"command\": [\"true\"]}}]}";
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(suite_load_buffer(&s, "j.json", NULL, json, sizeof(json) - 1, &err), &err);
	assert_int_equal(s->nchecks, 2);
	assert_null(s->env.runner);
	suite_free(s);
}

static void test_suite__an_alias_keeps_the_suites_spelling(void **state)
{
	static const char good[] = "name: a\nchecks:\n  - autopkgtest: {source: hello}\n";
	static const char bad[] = "name: a\nchecks:\n  - autopkgtest: {source: 'a;b'}\n";
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(suite_load_buffer(&s, "a.yaml", NULL, good, sizeof(good) - 1, &err), &err);
	assert_ptr_equal(s->checks[0].ops, check_lookup("dep8"));
	assert_string_equal(s->checks[0].type, "autopkgtest");
	assert_string_equal(s->checks[0].name, "autopkgtest");
	suite_free(s);
	s = NULL;
	assert_int_equal(suite_load_buffer(&s, "a.yaml", NULL, bad, sizeof(bad) - 1, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "autopkgtest.source"));
	suite_free(s);
}

static void test_suite__checks_may_come_before_packages(void **state)
{
	static const char text[] = "checks: [install, {install: {packages: [b]}}]\npackages: [a, b]\n";
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(suite_load_buffer(&s, "order.yaml", NULL, text, sizeof(text) - 1, &err), &err);
	assert_int_equal(s->nchecks, 2);
	suite_free(s);
}

static void test_suite__name_defaults_to_the_file_name(void **state)
{
	static const char text[] = "checks: [{launch: {command: [\"true\"]}}]\n";
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(suite_load_buffer(&s, "dir/smoke-test.yaml", NULL, text, sizeof(text) - 1, &err), &err);
	assert_string_equal(s->name, "smoke-test");
	suite_free(s);
}

static void test_suite__package_names_refuse_shell_metacharacters(void **state)
{
	static const char *const bad[] = { "a;b", "a b", "$(x)", "`x`", "a|b", "a&b", "a>b", "-rf", "", "a\nb",
					   "a'b", "a\"b", "a*", "../x", "a/b" };
	static const char *const good[] = { "bash", "libstdc++6", "python3.11", "g++", "perl-Text_Wrap", "0ad" };

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		if (suite_package_name_ok(bad[i]))
			fail_msg("'%s' was accepted", bad[i]);
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(good); i++) {
		if (!suite_package_name_ok(good[i]))
			fail_msg("'%s' was refused", good[i]);
	}
	assert_true(suite_version_ok("1:2.10-3+deb12u1~bpo"));
	assert_false(suite_version_ok("1.0;id"));
	assert_false(suite_version_ok("-1"));
}

static void test_suite__durations(void **state)
{
	double d = -1;

	ALTS_UNUSED(state);
	assert_true(conf_parse_duration("90", &d) && d == 90);
	assert_true(conf_parse_duration("1.5s", &d) && d == 1.5);
	assert_true(conf_parse_duration("250ms", &d) && d == 0.25);
	assert_true(conf_parse_duration("5m", &d) && d == 300);
	assert_true(conf_parse_duration("2h", &d) && d == 7200);
	assert_true(conf_parse_duration("1d", &d) && d == 86400);
	assert_false(conf_parse_duration("soon", &d));
	assert_false(conf_parse_duration("-1", &d));
	assert_false(conf_parse_duration("5 m", &d));
	assert_false(conf_parse_duration("nan", &d));
	assert_false(conf_parse_duration("", &d));
	assert_false(conf_parse_duration("1e3", &d));
	assert_false(conf_parse_duration("+5", &d));
	assert_false(conf_parse_duration(".5s", &d));
	assert_false(conf_parse_duration("0x10", &d));
	assert_false(conf_parse_duration("1.", &d));
}

/* Every allocation the loader makes may fail: it must report ENOMEM (or succeed) and leak nothing. */
static void test_suite__survives_each_allocation_failure(void **state)
{
	unsigned long total, n;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	{
		struct suite *s = NULL;
		struct alts_err err = ALTS_ERR_INIT;

		assert_ok_err(suite_load_buffer(&s, "full.yaml", "/x", full_suite, sizeof(full_suite) - 1, &err),
			      &err);
		suite_free(s);
	}
	total = alts_alloc_fail_at(0);
	assert_true(total >= 3);
	for (n = 1; n <= total; n++) {
		struct suite *s = NULL;
		struct alts_err err = ALTS_ERR_INIT;
		int rc;

		alts_alloc_fail_at(n);
		rc = suite_load_buffer(&s, "full.yaml", "/x", full_suite, sizeof(full_suite) - 1, &err);
		alts_alloc_fail_at(0);
		if (rc == 0)
			suite_free(s);
		else if (rc != ALTS_ENOMEM)
			fail_msg("allocation %lu: expected ENOMEM, got %d: %s", n, rc, err.msg);
	}
}

static void test_suite__config_exclusions_and_protected(void **state)
{
	static const char text[] =
		"protected_packages: [bash, 'kernel*']\n"
		"exclusions:\n"
		"  - dist: almalinux-8*\n"
		"    packages: [kernel-rt, 'dotnet*']\n"
		"    checks: [integrity]\n"
		"    reason: known broken rpath\n"
		"  - dist: debian\n"
		"    packages: [libc6]\n";
	struct alts_config *c = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const struct config_exclusion *e;

	ALTS_UNUSED(state);
	assert_ok_err(config_load_buffer(&c, "cfg.yaml", text, sizeof(text) - 1, &err), &err);
	assert_true(config_is_protected(c, "bash"));
	assert_true(config_is_protected(c, "kernel-core"));
	assert_false(config_is_protected(c, "hello"));
	e = config_find_exclusion(c, "almalinux", "8.10", "dotnet-sdk-8.0", "integrity");
	assert_non_null(e);
	assert_string_equal(e->reason, "known broken rpath");
	assert_null(config_find_exclusion(c, "almalinux", "9.4", "dotnet-sdk-8.0", "integrity"));
	assert_null(config_find_exclusion(c, "almalinux", "8.10", "dotnet-sdk-8.0", "launch"));
	/* No checks listed: everything but install and uninstall. */
	assert_non_null(config_find_exclusion(c, "debian", "12", "libc6", "launch"));
	assert_null(config_find_exclusion(c, "debian", "12", "libc6", "install"));
	config_free(c);
}

static void test_suite__config_rejects_unknown_keys(void **state)
{
	static const char text[] = "exclusions:\n  - dist: x\n    packages: [a]\n    chekcs: [launch]\n";
	struct alts_config *c = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_int_equal(config_load_buffer(&c, "cfg.yaml", text, sizeof(text) - 1, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "cfg.yaml:4:5: exclusions[0]: unknown key 'chekcs'"));
}

#define ALTS_STR_LEN(lit) lit, sizeof(lit) - 1

/* Loads text (len bytes) and asserts it is refused with a message containing want. */
static void assert_load_refused(const char *text, size_t len, const char *want)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct suite *s = NULL;

	assert_int_equal(suite_load_buffer(&s, "t.yaml", NULL, text, len, &err), ALTS_EINVALID);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_null(s);
}

/* 100,000 nested '[' are refused at level 65, at once (libyaml alone took minutes: quadratic). */
static void test_suite__deep_nesting_refused_fast(void **state)
{
	size_t n = 100000;
	char *text = alts_malloc(n + 8);
	clock_t t0;
	double cpu;

	ALTS_UNUSED(state);
	memcpy(text, "x: ", 3);
	memset(text + 3, '[', n);
	t0 = clock();
	assert_load_refused(text, n + 3, "nesting deeper than 64 levels");
	cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (cpu > 1.0)  /* measured: a few ms; generous for valgrind */
		fail_msg("refusing took %.3f s of CPU", cpu);
	memcpy(text, "{a: ", 4);
	memset(text + 4, '{', 70);
	assert_load_refused(text, 74, "nesting deeper than 64 levels");
	alts_free(text);
	/* 64 levels are fine for the parser (the suite's keys decide the rest). */
	{
		char ok[200];
		int m = snprintf(ok, sizeof(ok), "checks: %.63s%.63s\n",
				 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
				 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");

		assert_load_refused(ok, (size_t)m, "checks");
	}
}

/* Every string that may reach argv or the environment has a length limit, and clear messages. */
static void test_suite__strings_bounded_and_clear(void **state)
{
	struct sbuf sb = SBUF_INIT;

	ALTS_UNUSED(state);
	sbuf_adds(&sb, "packages:\n  - name: ");
	for (int i = 0; i < 300; i++)
		sbuf_addch(&sb, 'a');
	sbuf_adds(&sb, "\nchecks: [install]\n");
	assert_load_refused(sb.buf, sb.len, "is 300 bytes long, more than the 255 allowed");
	sbuf_reset(&sb);
	sbuf_adds(&sb, "packages:\n  - name: bash\n    version: '");
	for (int i = 0; i < 300; i++)
		sbuf_addch(&sb, '1');
	sbuf_adds(&sb, "'\nchecks: [install]\n");
	assert_load_refused(sb.buf, sb.len, "version '1111");
	sbuf_reset(&sb);
	sbuf_adds(&sb, "packages: [bash]\nenv:\n  A: ");
	for (int i = 0; i < 1 << 20; i++)
		sbuf_addch(&sb, 'x');
	sbuf_adds(&sb, "\nchecks: [install]\n");
	assert_load_refused(sb.buf, sb.len, "env.A: 'xxxx");
	assert_load_refused(sb.buf, sb.len, "is 1048576 bytes long, more than the 32768 allowed");
	sbuf_reset(&sb);
	sbuf_adds(&sb, "packages: [bash]\nchecks:\n  - launch:\n      command: [echo, ");
	for (int i = 0; i < 200000; i++)
		sbuf_addch(&sb, 'y');
	sbuf_adds(&sb, "]\n");
	assert_load_refused(sb.buf, sb.len, "command[1]");
	sbuf_release(&sb);
	assert_load_refused(ALTS_STR_LEN("packages: [--force-all]\nchecks: [install]\n"), "package name '--force-all' starts with '-'");
	assert_load_refused(ALTS_STR_LEN("packages: [bash]\nrepositories: [gopher://x]\nchecks: [install]\n"),
			    "accepted: http://, https://, file://, ftp://, copy://, mirror://");
	assert_false(suite_package_name_ok("-x"));
}

/* Log names never hold "..": the scheduler refuses those when fetched, so they would be stored unreachable. */
static void test_suite__log_names_fetchable(void **state)
{
	struct arena *a = arena_new();
	char long_name[400];

	ALTS_UNUSED(state);
	assert_string_equal(engine__log_name(a, 3, "upgrade 1..2"), "03-upgrade_1._2.log");
	assert_string_equal(engine__log_name(a, 1, "..."), "01-_._.log");
	assert_string_equal(engine__log_name(a, 1, ".hidden"), "01-_hidden.log");
	assert_string_equal(engine__log_name(a, 12, "a/b\\c"), "12-a_b_c.log");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_true(strlen(engine__log_name(a, 1, long_name)) <= 255);
	assert_null(strstr(engine__log_name(a, 1, "x..y...z"), ".."));
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite__loads_every_field),
		cmocka_unit_test(test_suite__json_is_accepted),
		cmocka_unit_test(test_suite__name_defaults_to_the_file_name),
		cmocka_unit_test(test_suite__an_alias_keeps_the_suites_spelling),
		cmocka_unit_test(test_suite__checks_may_come_before_packages),
		cmocka_unit_test(test_suite__package_names_refuse_shell_metacharacters),
		cmocka_unit_test(test_suite__durations),
		cmocka_unit_test(test_suite__log_names_fetchable),
		cmocka_unit_test(test_suite__deep_nesting_refused_fast),
		cmocka_unit_test(test_suite__strings_bounded_and_clear),
		cmocka_unit_test(test_suite__survives_each_allocation_failure),
		cmocka_unit_test(test_suite__config_exclusions_and_protected),
		cmocka_unit_test(test_suite__config_rejects_unknown_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
