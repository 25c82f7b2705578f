/* checks/leftovers.c: the walk diff, the exclusions, the process list, and the checks that use them. */
#include "tests/unit/helpers.h"

#include "checks/leftovers.h"

/* A walk as find -printf '%y %p\0' writes it. */
static size_t walk(char *buf, size_t size, const char *const *recs)
{
	size_t n = 0;

	for (size_t i = 0; recs[i]; i++) {
		size_t len = strlen(recs[i]);

		assert_true(n + len + 1 <= size);
		memcpy(buf + n, recs[i], len + 1);
		n += len + 1;
	}
	return n;
}

static void test_check_leftovers__diff_names_files_not_their_dirs(void **state)
{
	static const char *const before[] = { "d /", "d /etc", "f /etc/passwd", "d /var", "d /var/lib", "d /var/log",
					      "f /etc/gone.conf", NULL };
	static const char *const after[] = { "d /", "d /etc", "f /etc/passwd", "d /var", "d /var/lib",
					     "d /var/lib/alts-life", "f /var/lib/alts-life/format", "d /var/lib/empty",
					     "d /var/log", "f /var/log/apt/term.log", "f /var/lib/dpkg/status-old",
					     "f /etc/apt/sources.list.d/alts-local.list", "l /usr/bin/foo", NULL };
	char b[1024], a[1024];
	size_t nb = walk(b, sizeof(b), before), na = walk(a, sizeof(a), after);
	struct arena *ar = arena_new();
	struct strlist out;

	ALTS_UNUSED(state);
	assert_int_equal(leftovers_diff(b, nb, a, na, PKG_FAMILY_DEB, NULL, NULL, &out, ar), 0);
	assert_int_equal(out.n, 4);
	assert_string_equal(out.v[0], "left behind: /usr/bin/foo");
	assert_string_equal(out.v[1], "left behind: /var/lib/alts-life/format");
	assert_string_equal(out.v[2], "left behind: /var/lib/empty/");
	assert_string_equal(out.v[3], "removed: /etc/gone.conf");
	assert_null(out.v[4]);
	arena_free(ar);
}

static void test_check_leftovers__diff_extra_patterns_and_root(void **state)
{
	static const char *const before[] = { "d /scr", "d /scr/etc", NULL };
	static const char *const after[] = { "d /scr", "d /scr/etc", "f /scr/etc/x.conf.rpmsave", "f /scr/etc/keep",
					     "f /outside", "f /scr/var/lib/rpm/rpmdb.sqlite", "d /scr/etc/yum.repos.d",
					     "f /scr/etc/yum.repos.d/alts-local.repo", NULL };
	static const char *pats[] = { "/etc/keep" };
	struct strlist extra = { pats, 1 };
	char b[1024], a[1024];
	size_t nb = walk(b, sizeof(b), before), na = walk(a, sizeof(a), after);
	struct arena *ar = arena_new();
	struct strlist out;

	ALTS_UNUSED(state);
	assert_int_equal(leftovers_diff(b, nb, a, na, PKG_FAMILY_RPM, "/scr", &extra, &out, ar), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0], "left behind: /etc/x.conf.rpmsave");
	arena_free(ar);
}

static void test_check_leftovers__exclusions(void **state)
{
	ALTS_UNUSED(state);
	assert_true(leftovers_excluded(PKG_FAMILY_DEB, "/var/log/dpkg.log", NULL));
	assert_true(leftovers_excluded(PKG_FAMILY_DEB, "/var/cache/apt/pkgcache.bin", NULL));
	assert_true(leftovers_excluded(PKG_FAMILY_DEB, "/var/lib/dpkg/info/x.list", NULL));
	assert_false(leftovers_excluded(PKG_FAMILY_DEB, "/var/lib/dpkgx", NULL));
	assert_false(leftovers_excluded(PKG_FAMILY_DEB, "/var/lib/rpm/Packages", NULL));
	assert_true(leftovers_excluded(PKG_FAMILY_RPM, "/var/lib/rpm/Packages", NULL));
	assert_true(leftovers_excluded(PKG_FAMILY_RPM, "/var/lib/dnf/history.sqlite", NULL));
	assert_true(leftovers_excluded(PKG_FAMILY_RPM, "/etc/yum.repos.d/alts-local.repo", NULL));
	assert_false(leftovers_excluded(PKG_FAMILY_RPM, "/etc/yum.repos.d/other.repo", NULL));
	assert_false(leftovers_excluded(PKG_FAMILY_RPM, "/var/lib/alts-life/format", NULL));
	assert_non_null(leftovers_exclusions(PKG_FAMILY_DEB));
	assert_null(leftovers_exclusions(PKG_FAMILY_NONE));
}

static void test_check_leftovers__procs(void **state)
{
	struct arena *ar = arena_new();
	struct strlist out;

	ALTS_UNUSED(state);
	assert_int_equal(leftovers_procs("    1 alts-sandbox /sbin/init\n   12 sh sh\n",
					 "    1 alts-sandbox /sbin/init\n   40 alts-lifed /bin/sh /usr/sbin/alts-lifed\n"
					 "   41 sleep sleep 1\n   45 ps ps -e -o pid=,comm=,args=\n",
					 &out, ar),
			 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "still running: 40 alts-lifed (/bin/sh /usr/sbin/alts-lifed)");
	assert_string_equal(out.v[1], "still running: 41 sleep (sleep 1)");
	assert_int_equal(leftovers_procs("1 init init\n", "1 init init\n", &out, ar), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(leftovers_procs(NULL, "garbage\n", &out, ar), 0);
	assert_int_equal(out.n, 0);
	arena_free(ar);
}

static void test_check_leftovers__policy(void **state)
{
	struct leftovers_conf c = { 0 };

	ALTS_UNUSED(state);
	assert_int_equal(leftovers_policy(NULL), LEFTOVERS_IGNORE);
	assert_int_equal(leftovers_policy(&c), LEFTOVERS_IGNORE);
	c.purge = true;
	assert_int_equal(leftovers_policy(&c), LEFTOVERS_FAIL);
	c.leftovers = "warn";
	assert_int_equal(leftovers_policy(&c), LEFTOVERS_WARN);
	c.leftovers = "ignore";
	assert_int_equal(leftovers_policy(&c), LEFTOVERS_IGNORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_leftovers__diff_names_files_not_their_dirs),
		cmocka_unit_test(test_check_leftovers__diff_extra_patterns_and_root),
		cmocka_unit_test(test_check_leftovers__exclusions),
		cmocka_unit_test(test_check_leftovers__procs),
		cmocka_unit_test(test_check_leftovers__policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
