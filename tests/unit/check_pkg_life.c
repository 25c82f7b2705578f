/* checks/pkg_life.c: versions, purges, origins, conffiles and the package manager's failure reasons. */
#include "tests/unit/helpers.h"

#include "checks/pkg_life.h"

static const struct pkg_mgr mgr_apt = { PKG_FAMILY_DEB, PKG_TOOL_APT, NULL, "test" };
static const struct pkg_mgr mgr_dpkg = { PKG_FAMILY_DEB, PKG_TOOL_DPKG, NULL, "test" };
static const struct pkg_mgr mgr_dnf = { PKG_FAMILY_RPM, PKG_TOOL_DNF, NULL, "test" };
static const struct pkg_mgr mgr_rpm = { PKG_FAMILY_RPM, PKG_TOOL_RPM, NULL, "test" };

static const char *joined(const struct pkg_cmd *c)
{
	static char buf[4096];
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->argc; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? " " : "", c->argv[i]);
	return buf;
}

static void test_check_pkg_life__version_matches(void **state)
{
	ALTS_UNUSED(state);
	assert_true(pkg_version_matches("2.0", "2.0"));
	assert_true(pkg_version_matches("2.0-1", "2.0"));
	assert_true(pkg_version_matches("2.0-1", "2.0-1"));
	assert_true(pkg_version_matches("0:2.0-1", "2.0"));
	assert_true(pkg_version_matches("1:2.0-1", "1:2.0"));
	assert_true(pkg_version_matches("1:2.0", "2.0"));  /* an epoch not asked for */
	assert_false(pkg_version_matches("2.1", "2.0"));
	assert_false(pkg_version_matches("2.0.1", "2.0"));
	assert_false(pkg_version_matches("2.0-1-2", "2.0"));
	assert_false(pkg_version_matches("2.0-2", "2.0-1"));
	assert_false(pkg_version_matches("2:2.0", "1:2.0"));
	assert_false(pkg_version_matches(NULL, "2.0"));
}

static void test_check_pkg_life__purge_and_queries(void **state)
{
	const char *names[] = { "a", "b" };
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(pkg_purge_cmd(&c, &mgr_apt, names, 2, &err), &err);
	assert_string_equal(joined(&c), "apt-get purge --autoremove -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
					"-o Dpkg::Options::=--force-confold a b");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_purge_cmd(&c, &mgr_dpkg, names, 1, &err), &err);
	assert_string_equal(joined(&c), "dpkg --purge a");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_purge_cmd(&c, &mgr_rpm, names, 1, &err), &err);
	assert_string_equal(joined(&c), "rpm -e a");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_purge_cmd(&c, &mgr_dnf, names, 1, &err), &err);
	assert_string_equal(joined(&c), "dnf remove -y a");
	pkg_cmd_release(&c);

	assert_ok_err(pkg_file_version_cmd(&c, &mgr_apt, "/w/a.deb", &err), &err);
	assert_string_equal(joined(&c), "dpkg-deb -f /w/a.deb Version");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_file_version_cmd(&c, &mgr_dnf, "/w/a.rpm", &err), &err);
	assert_string_equal(joined(&c), "rpm -qp --qf %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n /w/a.rpm");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_origin_cmd(&c, &mgr_apt, "a", &err), &err);
	assert_string_equal(joined(&c), "apt-cache policy a");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_origin_cmd(&c, &mgr_dnf, "a", &err), &err);
	assert_string_equal(joined(&c), "dnf -q -C repoquery --installed --qf %{from_repo} a");
	pkg_cmd_release(&c);
	assert_int_equal(pkg_origin_cmd(&c, &mgr_rpm, "a", &err), ALTS_ENOTFOUND);
	alts_err_clear(&err);
	assert_ok_err(pkg_conffiles_cmd(&c, &mgr_apt, "a", &err), &err);
	assert_string_equal(joined(&c), "dpkg-query -W --showformat=${Conffiles}\\n a");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_conffiles_cmd(&c, &mgr_dnf, "a", &err), &err);
	assert_string_equal(joined(&c), "rpm -qc a");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_refresh_list_cmd(&c, &mgr_apt, "/etc/apt/sources.list.d/alts-x.list", &err), &err);
	assert_string_equal(joined(&c), "apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/alts-x.list "
					"-o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_refresh_list_cmd(&c, &mgr_dnf, "/etc/yum.repos.d/alts-x.repo", &err), &err);
	assert_int_equal(c.argc, 0);
	pkg_cmd_release(&c);
}

static void test_check_pkg_life__origin_parse(void **state)
{
	struct arena *a = arena_new();
	static const char policy[] = "alts-life:\n"
				     "  Installed: 2.0\n"
				     "  Candidate: 2.0\n"
				     "  Version table:\n"
				     " *** 2.0 500\n"
				     "        500 file:/tmp/repo ./ Packages\n"
				     "        100 /var/lib/dpkg/status\n"
				     "     1.0 500\n"
				     "        500 http://other.example/debian ./ Packages\n";
	static const char from_file[] = "x:\n  Installed: 3.0\n  Version table:\n *** 3.0 100\n"
					"        100 /var/lib/dpkg/status\n";

	ALTS_UNUSED(state);
	assert_string_equal(pkg_origin_parse(&mgr_apt, policy, a), "file:/tmp/repo ./ Packages");
	assert_string_equal(pkg_origin_parse(&mgr_apt, from_file, a), "");
	assert_null(pkg_origin_parse(&mgr_apt, "N: Unable to locate package x\n", a));
	assert_string_equal(pkg_origin_parse(&mgr_dnf, "alts-local\n", a), "alts-local");
	assert_string_equal(pkg_origin_parse(&mgr_dnf, "@commandline", a), "@commandline");
	assert_null(pkg_origin_parse(&mgr_dnf, "", a));
	arena_free(a);
}

static void test_check_pkg_life__conffiles_parse(void **state)
{
	struct arena *a = arena_new();
	struct strlist l;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_conffiles_parse(&l,
					     " /etc/a.conf 0123456789abcdef0123456789abcdef\n"
					     " /etc/old.conf 0123456789abcdef0123456789abcdef obsolete\n"
					     " /etc/b b\n\n",
					     a),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "/etc/a.conf");
	assert_string_equal(l.v[1], "/etc/b");
	assert_int_equal(pkg_conffiles_parse(&l, "/etc/x.conf\n/etc/y.conf\n", a), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1], "/etc/y.conf");
	assert_int_equal(pkg_conffiles_parse(&l, "(contains no files)\n", a), 0);
	assert_int_equal(l.n, 0);
	arena_free(a);
}

static void test_check_pkg_life__failure_reason_dpkg(void **state)
{
	struct arena *a = arena_new();
	/* apt-get upgrading to a package whose preinst fails (as on debian-12). */
	static const char out[] = "Preparing to unpack .../alts-fail_2.0_all.deb ...\n"
				  "preinst: refusing to upgrade: the frobnicator is busy\n"
				  "dpkg: error processing archive /tmp/alts-fail_2.0_all.deb (--unpack):\n"
				  " new alts-fail package pre-installation script subprocess returned error exit status 1\n"
				  "Errors were encountered while processing:\n"
				  " /tmp/alts-fail_2.0_all.deb\n";
	static const char err[] = "E: Sub-process /usr/bin/dpkg returned an error code (1)\n";
	/* sudo's removal (the example): the refusal, not apt's last line. */
	static const char sudo_out[] = "Removing sudo (1.9.13p3-1+deb12u1) ...\n"
				       "You have asked that the sudo package be removed,\n"
				       "but no root password has been set.\n"
				       "Without sudo, you may not be able to gain administrative privileges.\n"
				       "Refusing to remove sudo.\n"
				       "dpkg: error processing package sudo (--remove):\n"
				       " installed sudo package pre-removal script subprocess returned error exit status 1\n";

	ALTS_UNUSED(state);
	assert_string_equal(pkg_failure_reason(out, err, 1, a),
			    "dpkg: error processing archive /tmp/alts-fail_2.0_all.deb (--unpack): new alts-fail package "
			    "pre-installation script subprocess returned error exit status 1");
	assert_string_equal(pkg_failure_reason(out, err, 3, a),
			    "dpkg: error processing archive /tmp/alts-fail_2.0_all.deb (--unpack): new alts-fail package "
			    "pre-installation script subprocess returned error exit status 1 | "
			    "E: Sub-process /usr/bin/dpkg returned an error code (1)");
	assert_string_equal(pkg_failure_reason(sudo_out, err, 2, a),
			    "Refusing to remove sudo. | dpkg: error processing package sudo (--remove): installed sudo "
			    "package pre-removal script subprocess returned error exit status 1");
	assert_null(pkg_failure_reason("Reading package lists...\nDone\n", "", 3, a));
	assert_null(pkg_failure_reason(NULL, NULL, 3, a));
	arena_free(a);
}

static void test_check_pkg_life__failure_reason_rpm(void **state)
{
	struct arena *a = arena_new();
	static const char dnf_out[] = "Running transaction\n"
				      "  Preparing        :                                                        1/1\n"
				      "  Running scriptlet: alts-fail-2.0-1.noarch                                 1/2\n"
				      "preinst: refusing to upgrade: the frobnicator is busy\n"
				      "error: %prein(alts-fail-2.0-1.noarch) scriptlet failed, exit status 1\n"
				      "\n"
				      "Error in PREIN scriptlet in rpm package alts-fail\n";
	static const char dnf_err[] = "Error: Transaction failed\n";
	static const char nomatch[] = "No match for argument: alts-nope\n";

	ALTS_UNUSED(state);
	assert_string_equal(pkg_failure_reason(dnf_out, dnf_err, 2, a),
			    "error: %prein(alts-fail-2.0-1.noarch) scriptlet failed, exit status 1 | "
			    "Error in PREIN scriptlet in rpm package alts-fail");
	assert_string_equal(pkg_failure_reason(dnf_out, dnf_err, 3, a),
			    "error: %prein(alts-fail-2.0-1.noarch) scriptlet failed, exit status 1 | "
			    "Error in PREIN scriptlet in rpm package alts-fail | Error: Transaction failed");
	assert_string_equal(pkg_failure_reason("", nomatch, 3, a), "No match for argument: alts-nope");
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_pkg_life__version_matches),
		cmocka_unit_test(test_check_pkg_life__purge_and_queries),
		cmocka_unit_test(test_check_pkg_life__origin_parse),
		cmocka_unit_test(test_check_pkg_life__conffiles_parse),
		cmocka_unit_test(test_check_pkg_life__failure_reason_dpkg),
		cmocka_unit_test(test_check_pkg_life__failure_reason_rpm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
