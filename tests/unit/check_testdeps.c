/*
 * Test dependencies (checks/testdeps.c, the runner's record of them) and
 * fresh checks (engine/isolation.c) against fake runners; the sandbox
 * snapshot's tree removal (runners/sandbox_snapshot.c) on real files.
 */
#include "tests/unit/helpers.h"

#include "tests/unit/fake_runner.h"
#include "checks/testdeps.h"
#include "engine/isolation.h"
#include "runners/sandbox_snapshot.h"

#include <fcntl.h>

static const char apt_suite[] = "packages: [hello]\n"
				"environment: {package_manager: apt}\n"
				"checks: [{launch: {command: [true]}}]\n";

#define LIST "dpkg-query -W --showformat=${db:Status-Abbrev}\\t${Package}\\n"

static void test_check_testdeps__records_what_the_installation_added(void **state)
{
	struct fake_check fc;
	const char *deps[] = { "curl", "adduser" };
	const char *why = NULL;
	const char *const *rec;
	size_t n;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	fake_reply(LIST, 0, "ii \tbase-files\nii \tadduser\nrc \tcurl\n", "")->times = 1;
	fake_reply(LIST, 0, "ii \tbase-files\nii \tadduser\nii \tcurl\nii \tlibcurl4\niU \thalf\n", "");
	assert_ok_err(check_test_deps_install(&fc.ctx, deps, 2, 0, &why, &fc.err), &fc.err);
	assert_null(why);
	assert_string_equal(fake.calls[1], "apt-get install -y -o DPkg::Lock::Timeout=600 -o "
					   "Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
					   "--no-install-recommends curl adduser");
	rec = runner_test_deps(fc.runner, &n);
	/* adduser was there before: not the tests' doing; a half-installed package is not installed */
	assert_int_equal(n, 2);
	assert_string_equal(rec[0], "curl");
	assert_string_equal(rec[1], "libcurl4");
	assert_true(runner_is_test_dep(fc.runner, "libcurl4"));
	assert_false(runner_is_test_dep(fc.runner, "adduser"));
	fflush(fc.log);
	assert_non_null(strstr(fc.log_text, "installing test dependencies (not under test): curl, adduser"));
	assert_non_null(strstr(fc.log_text, "test dependency: libcurl4"));
	fake_check_release(&fc);
}

static void test_check_testdeps__relations_use_apt_get_satisfy(void **state)
{
	struct fake_check fc;
	const char *deps[] = { "python3 (>= 3.9) | python3-minimal", "gcc:amd64" };
	const char *why = NULL;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	fake_reply(LIST, 0, "", "");
	assert_ok_err(check_test_deps_install(&fc.ctx, deps, 2, CHECK_TEST_DEPS_RELATIONS, &why, &fc.err), &fc.err);
	assert_null(why);
	assert_int_equal(fake_find_call("apt-get satisfy -y "), 1);
	assert_non_null(strstr(fake.calls[1], "--no-install-recommends python3 (>= 3.9) | python3-minimal gcc:amd64"));
	fake_check_release(&fc);
}

static void test_check_testdeps__a_failed_installation_is_a_reason_not_an_error(void **state)
{
	struct fake_check fc;
	const char *deps[] = { "nope" };
	const char *why = NULL;
	size_t n;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	fake_reply(LIST, 0, "ii \tbase-files\n", "");
	fake_reply("apt-get install", 100, "", "E: Unable to locate package nope\n");
	assert_ok_err(check_test_deps_install(&fc.ctx, deps, 1, 0, &why, &fc.err), &fc.err);
	assert_non_null(why);
	assert_non_null(strstr(why, "apt-get failed (exit 100)"));
	assert_non_null(strstr(why, "Unable to locate package nope"));
	runner_test_deps(fc.runner, &n);
	assert_int_equal(n, 0);
	fake_check_release(&fc);
}

static void test_check_testdeps__dpkg_cannot_install_by_name(void **state)
{
	struct fake_check fc;
	const char *deps[] = { "curl" };
	const char *why = NULL;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, "packages: [hello]\nenvironment: {package_manager: dpkg}\n"
			     "checks: [{launch: {command: [true]}}]\n", 0);
	assert_ok_err(check_test_deps_install(&fc.ctx, deps, 1, 0, &why, &fc.err), &fc.err);
	assert_non_null(why);
	assert_non_null(strstr(why, "dpkg cannot install dependencies by name"));
	assert_int_equal(fake.ncalls, 0);
	fake_check_release(&fc);
}

/* A runner with snapshots that counts them: the order of calls is what fresh checks promise. */
static char reset_log[256];

static void log_call(const char *what)
{
	size_t len = strlen(reset_log);

	snprintf(reset_log + len, sizeof(reset_log) - len, "%s", what);
}

static int counting_snapshot(struct runner *r, struct alts_err *err)
{
	ALTS_UNUSED(r);
	ALTS_UNUSED(err);
	log_call("S");
	return 0;
}

static int counting_reset(struct runner *r, struct alts_err *err)
{
	ALTS_UNUSED(r);
	ALTS_UNUSED(err);
	log_call("R");
	return 0;
}

static int counting_drop(struct runner *r, struct alts_err *err)
{
	ALTS_UNUSED(r);
	ALTS_UNUSED(err);
	log_call("D");
	return 0;
}

static struct runner_ops counting_ops;

static struct runner *counting_runner(struct suite *s)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct runner *r = NULL;

	counting_ops = fake_runner_ops;
	counting_ops.snapshot = counting_snapshot;
	counting_ops.reset = counting_reset;
	counting_ops.drop = counting_drop;
	counting_ops.caps |= RUNNER_CAP_RESET;
	reset_log[0] = '\0';
	assert_ok_err(runner_new_with_ops(&r, &counting_ops, s, &err), &err);
	assert_ok_err(runner_prepare(r, &err), &err);
	return r;
}

static struct suite *load(const char *yaml)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct suite *s = NULL;

	if (suite_load_buffer(&s, "suite.yaml", "/", yaml, strlen(yaml), &err))
		fail_msg("suite: %s", err.msg);
	return s;
}

static void test_check_testdeps__reset_forgets_deps_after_the_snapshot(void **state)
{
	struct suite *s = load("checks: [{launch: {command: [true]}}]\n");
	struct runner *r;
	struct alts_err err = ALTS_ERR_INIT;
	const char *a[] = { "curl", "libcurl4" }, *b[] = { "wget" };
	size_t n;

	ALTS_UNUSED(state);
	fake_reset();
	r = counting_runner(s);
	assert_ok_err(runner_add_test_deps(r, a, 2, &err), &err);
	assert_ok_err(runner_snapshot(r, &err), &err);
	assert_ok_err(runner_add_test_deps(r, b, 1, &err), &err);
	assert_ok_err(runner_add_test_deps(r, a, 1, &err), &err);  /* recorded once */
	runner_test_deps(r, &n);
	assert_int_equal(n, 3);
	assert_ok_err(runner_reset(r, &err), &err);
	runner_test_deps(r, &n);
	assert_int_equal(n, 2);
	assert_false(runner_is_test_dep(r, "wget"));
	assert_true(runner_is_test_dep(r, "libcurl4"));
	runner_free(r, false);
	suite_free(s);
}

static void test_check_testdeps__runners_without_snapshots_say_so(void **state)
{
	struct fake_check fc;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	fake_reset();
	fake_check_init(&fc, apt_suite, 0);
	assert_int_equal(runner_reset(fc.runner, &err), ALTS_ENOTSUP);
	assert_non_null(strstr(err.msg, "the 'fake' runner has no snapshots"));
	assert_int_equal(runner_snapshot(fc.runner, &err), ALTS_ENOTSUP);
	assert_false(runner_name_can_reset("local"));
	assert_false(runner_name_can_reset("docker"));
	assert_true(runner_name_can_reset("sandbox"));
	fake_check_release(&fc);
}

/* Runs the engine's isolation steps over the suite's checks; returns the calls made. */
static const char *isolate_all(const char *yaml)
{
	struct suite *s = load(yaml);
	struct runner *r;
	struct engine_isolation iso = { 0 };
	struct alts_err err = ALTS_ERR_INIT;

	fake_reset();
	r = counting_runner(s);
	for (size_t i = 0; i < s->nchecks; i++) {
		assert_ok_err(engine_isolation_before(&iso, r, &s->checks[i], NULL, &err), &err);
		log_call(s->checks[i].fresh ? "f" : "s");
		engine_isolation_after(&iso, &s->checks[i]);
	}
	runner_free(r, false);
	suite_free(s);
	return reset_log;
}

static void test_check_testdeps__fresh_checks_start_from_the_snapshot(void **state)
{
	ALTS_UNUSED(state);
	/* one snapshot after install, a reset before each later fresh check */
	assert_string_equal(isolate_all("packages: [a]\nisolation: check\n"
					"checks: [install, {launch: {command: [true]}}, integrity, uninstall]\n"),
			    "sSfRfRf");
	/* a shared check after a fresh one is back in the shared state; then a new snapshot */
	assert_string_equal(isolate_all("packages: [a]\n"
					"checks: [install, {launch: {command: [true], fresh: true}},\n"
					"  {launch: {command: [true]}}, {launch: {command: [true], fresh: true}}]\n"),
			    "sSfRsSf");
	/* fresh: false opts out; no fresh check, no snapshot */
	assert_string_equal(isolate_all("packages: [a]\nisolation: check\n"
					"checks: [install, {integrity: {fresh: false}}]\n"),
			    "ss");
	assert_string_equal(isolate_all("packages: [a]\nchecks: [install, integrity]\n"), "ss");
}

static void test_check_testdeps__a_check_s_own_snapshots_are_dropped(void **state)
{
	struct suite *s = load("packages: [a]\nisolation: check\n"
			       "checks: [install, {launch: {command: [true]}}, {launch: {command: [true]}}]\n");
	struct engine_isolation iso = { 0 };
	struct alts_err err = ALTS_ERR_INIT;
	const char *a[] = { "curl" }, *b[] = { "wget" };
	struct runner *r;
	size_t n;

	ALTS_UNUSED(state);
	fake_reset();
	r = counting_runner(s);
	engine_isolation_after(&iso, &s->checks[0]);
	assert_ok_err(runner_add_test_deps(r, a, 1, &err), &err);
	assert_ok_err(engine_isolation_before(&iso, r, &s->checks[1], NULL, &err), &err);
	/* the check snapshots for its parts (as DEP-8 breaks-testbed tests do) and adds a dependency */
	assert_ok_err(runner_snapshot(r, &err), &err);
	assert_ok_err(runner_add_test_deps(r, b, 1, &err), &err);
	assert_int_equal(runner_snapshot_depth(r), 2);
	engine_isolation_after(&iso, &s->checks[1]);
	assert_ok_err(engine_isolation_before(&iso, r, &s->checks[2], NULL, &err), &err);
	/* dropped back to the engine's snapshot: no reset needed on top */
	assert_string_equal(reset_log, "SSD");
	assert_int_equal(runner_snapshot_depth(r), 1);
	runner_test_deps(r, &n);
	assert_int_equal(n, 1);
	assert_true(runner_is_test_dep(r, "curl"));
	runner_free(r, false);
	suite_free(s);
}

static void test_check_testdeps__rmtree_stays_inside(void **state)
{
	const char *dir = test_sandbox_init();
	char path[4096];
	int fd;

	ALTS_UNUSED(state);
	snprintf(path, sizeof(path), "%s/outside", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/outside/keep", dir);
	free(test_write_file("outside/keep", "keep me"));
	snprintf(path, sizeof(path), "%s/tree", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* deep enough that a walk by path or by recursion would give up */
	fd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	for (int i = 0; i < 300; i++) {
		int next;

		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		if (i == 150) {
			snprintf(path, sizeof(path), "%s/outside", dir);
			assert_int_equal(symlinkat(path, next, "link-to-outside"), 0);
			assert_int_equal(mknodat(next, "whiteout", S_IFCHR | 0, 0), 0);
		}
		close(fd);
		fd = next;
	}
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(sandbox_snap__rmtree(fd, "tree"), 0);
	assert_int_equal(faccessat(fd, "tree", F_OK, 0), -1);
	assert_int_equal(faccessat(fd, "outside/keep", F_OK, 0), 0);
	assert_int_equal(sandbox_snap__rmtree(fd, "no-such-tree"), 0);
	close(fd);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_testdeps__records_what_the_installation_added),
		cmocka_unit_test(test_check_testdeps__relations_use_apt_get_satisfy),
		cmocka_unit_test(test_check_testdeps__a_failed_installation_is_a_reason_not_an_error),
		cmocka_unit_test(test_check_testdeps__dpkg_cannot_install_by_name),
		cmocka_unit_test(test_check_testdeps__reset_forgets_deps_after_the_snapshot),
		cmocka_unit_test(test_check_testdeps__runners_without_snapshots_say_so),
		cmocka_unit_test(test_check_testdeps__fresh_checks_start_from_the_snapshot),
		cmocka_unit_test(test_check_testdeps__a_check_s_own_snapshots_are_dropped),
		cmocka_unit_test(test_check_testdeps__rmtree_stays_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
