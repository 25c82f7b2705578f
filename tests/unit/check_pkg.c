/* checks/pkg.c: manager choice, the exact argv of every operation, output parsing. */
#include "tests/unit/helpers.h"

#include "checks/pkg.h"
#include "engine/suite_load.h"
#include "framework/sbuf.h"

/* Joins argv with spaces (arguments here have no spaces unless a test says so). */
static const char *joined(const struct pkg_cmd *c)
{
	static char buf[4096];
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->argc; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? " " : "", c->argv[i]);
	assert_null(c->argv[c->argc]);
	return buf;
}

static const struct pkg_mgr mgr_apt = { PKG_FAMILY_DEB, PKG_TOOL_APT, NULL, "test" };
static const struct pkg_mgr mgr_dpkg = { PKG_FAMILY_DEB, PKG_TOOL_DPKG, NULL, "test" };
static const struct pkg_mgr mgr_dpkg_root = { PKG_FAMILY_DEB, PKG_TOOL_DPKG, "/scratch", "test" };
static const struct pkg_mgr mgr_dnf = { PKG_FAMILY_RPM, PKG_TOOL_DNF, NULL, "test" };
static const struct pkg_mgr mgr_yum = { PKG_FAMILY_RPM, PKG_TOOL_YUM, NULL, "test" };
static const struct pkg_mgr mgr_rpm = { PKG_FAMILY_RPM, PKG_TOOL_RPM, NULL, "test" };
static const struct pkg_mgr mgr_rpm_root = { PKG_FAMILY_RPM, PKG_TOOL_RPM, "/scratch", "test" };

static const struct suite_package pkgs[] = {
	{ "hello", NULL, NULL, NULL, { 0, 0 } },
	{ "world", "2.0-1", NULL, NULL, { 0, 0 } },
	{ "epochal", "3.1", "2", NULL, { 0, 0 } },
};

static const struct suite_package files_deb[] = {
	{ "hello", NULL, NULL, "/w/hello_1.0_all.deb", { 0, 0 } },
	{ "world", NULL, NULL, "/w/world_2.0_all.deb", { 0, 0 } },
};

static const struct suite_package files_rpm[] = {
	{ "hello", NULL, NULL, "/w/hello-1.0-1.noarch.rpm", { 0, 0 } },
};

static void expect_install(const struct pkg_mgr *m, const struct suite_package *p, size_t n, unsigned flags,
			   const char *want)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(pkg_install_cmd(&c, m, p, n, flags, &err), &err);
	assert_string_equal(joined(&c), want);
	pkg_cmd_release(&c);
}

static void test_check_pkg__install_apt_versions_and_epochs(void **state)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	expect_install(&mgr_apt, pkgs, 3, 0,
		       "apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
		       "hello world=2.0-1 epochal=2:3.1");
	expect_install(&mgr_apt, pkgs, 1, PKG_INSTALL_DOWNGRADE,
		       "apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
		       "--allow-downgrades hello");
	assert_ok_err(pkg_install_cmd(&c, &mgr_apt, pkgs, 1, 0, &err), &err);
	assert_non_null(c.env);
	assert_string_equal(c.env[0], "DEBIAN_FRONTEND=noninteractive");
	pkg_cmd_release(&c);
}

static void test_check_pkg__install_apt_local_files(void **state)
{
	ALTS_UNUSED(state);
	expect_install(&mgr_apt, files_deb, 2, 0,
		       "apt-get install -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
		       "/w/hello_1.0_all.deb /w/world_2.0_all.deb");
}

static void test_check_pkg__install_dnf_yum(void **state)
{
	ALTS_UNUSED(state);
	expect_install(&mgr_dnf, pkgs, 3, 0, "dnf install -y hello world-2.0-1 epochal-2:3.1");
	expect_install(&mgr_yum, pkgs, 2, 0, "yum install -y hello world-2.0-1");
	expect_install(&mgr_dnf, files_rpm, 1, 0, "dnf install -y /w/hello-1.0-1.noarch.rpm");
}

static void test_check_pkg__install_dpkg_rpm(void **state)
{
	ALTS_UNUSED(state);
	expect_install(&mgr_dpkg, files_deb, 2, 0,
		       "dpkg --force-confdef --force-confold -i /w/hello_1.0_all.deb /w/world_2.0_all.deb");
	expect_install(&mgr_rpm, files_rpm, 1, 0, "rpm -i /w/hello-1.0-1.noarch.rpm");
	expect_install(&mgr_rpm, files_rpm, 1, PKG_INSTALL_DOWNGRADE, "rpm -U --oldpackage /w/hello-1.0-1.noarch.rpm");
}

static void test_check_pkg__install_root_flags(void **state)
{
	ALTS_UNUSED(state);
	expect_install(&mgr_dpkg_root, files_deb, 1, 0,
		       "dpkg --root=/scratch --force-not-root --force-depends --force-confdef --force-confold "
		       "-i /w/hello_1.0_all.deb");
	expect_install(&mgr_rpm_root, files_rpm, 1, 0, "rpm --root /scratch -i --nodeps /w/hello-1.0-1.noarch.rpm");
}

static void test_check_pkg__install_low_level_needs_files(void **state)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_install_cmd(&c, &mgr_dpkg_root, pkgs, 1, 0, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "package 'hello' has no file"));
	assert_non_null(strstr(err.msg, "environment.root"));
	assert_null(c.argv);
	assert_int_equal(pkg_install_cmd(&c, &mgr_rpm, pkgs, 0, 0, &err), ALTS_EINVALID);
}

static void expect_remove(const struct pkg_mgr *m, const char *want)
{
	static const char *const names[] = { "hello", "world" };
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(pkg_remove_cmd(&c, m, names, 2, &err), &err);
	assert_string_equal(joined(&c), want);
	pkg_cmd_release(&c);
}

static void test_check_pkg__remove(void **state)
{
	ALTS_UNUSED(state);
	expect_remove(&mgr_apt, "apt-get remove -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef "
				"-o Dpkg::Options::=--force-confold hello world");
	expect_remove(&mgr_dpkg, "dpkg -r hello world");
	expect_remove(&mgr_dpkg_root, "dpkg --root=/scratch --force-not-root --force-depends -r hello world");
	expect_remove(&mgr_dnf, "dnf remove -y hello world");
	expect_remove(&mgr_yum, "yum remove -y hello world");
	expect_remove(&mgr_rpm, "rpm -e hello world");
	expect_remove(&mgr_rpm_root, "rpm --root /scratch -e --nodeps hello world");
}

typedef int (*name_cmd_fn)(struct pkg_cmd *, const struct pkg_mgr *, const char *, struct alts_err *);

static void expect_name_cmd(name_cmd_fn fn, const struct pkg_mgr *m, const char *want)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(fn(&c, m, "hello", &err), &err);
	assert_string_equal(joined(&c), want);
	pkg_cmd_release(&c);
}

static void test_check_pkg__query_and_list(void **state)
{
	ALTS_UNUSED(state);
	/* The format's \t and \n are for dpkg-query and rpm to expand, not C. */
	expect_name_cmd(pkg_query_cmd, &mgr_apt, "dpkg-query -W --showformat=${Status}\\t${Version}\\n hello");
	expect_name_cmd(pkg_query_cmd, &mgr_dpkg_root,
			"dpkg-query --root=/scratch -W --showformat=${Status}\\t${Version}\\n hello");
	expect_name_cmd(pkg_query_cmd, &mgr_dnf,
			"rpm -q --qf %{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n hello");
	expect_name_cmd(pkg_query_cmd, &mgr_rpm_root,
			"rpm --root /scratch -q --qf %{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n hello");
	expect_name_cmd(pkg_list_cmd, &mgr_apt, "dpkg-query -L hello");
	expect_name_cmd(pkg_list_cmd, &mgr_dpkg_root, "dpkg-query --root=/scratch -L hello");
	expect_name_cmd(pkg_list_cmd, &mgr_yum, "rpm -ql --noghost hello");
	expect_name_cmd(pkg_list_cmd, &mgr_rpm_root, "rpm --root /scratch -ql --noghost hello");
}

static void expect_verify(const struct pkg_mgr *m, enum pkg_verifier v, const char *want)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(pkg_verify_cmd(&c, m, v, "hello", &err), &err);
	assert_string_equal(joined(&c), want);
	pkg_cmd_release(&c);
}

static void test_check_pkg__verify_cmds(void **state)
{
	ALTS_UNUSED(state);
	expect_verify(&mgr_apt, PKG_VERIFY_DEBSUMS, "debsums -s hello");
	expect_verify(&mgr_dpkg_root, PKG_VERIFY_DEBSUMS, "debsums -s --root=/scratch hello");
	expect_verify(&mgr_apt, PKG_VERIFY_DPKG, "dpkg --verify hello");
	expect_verify(&mgr_dpkg_root, PKG_VERIFY_DPKG, "dpkg --root=/scratch --verify hello");
	expect_verify(&mgr_dnf, PKG_VERIFY_RPM, "rpm -V hello");
	expect_verify(&mgr_rpm_root, PKG_VERIFY_RPM, "rpm --root /scratch -V --nodeps hello");
}

static void test_check_pkg__query_parse(void **state)
{
	struct arena *a = arena_new();
	const char *v = NULL;

	ALTS_UNUSED(state);
	assert_true(pkg_query_parse(&mgr_apt, 0, "install ok installed\t1:2.0-1\n", a, &v));
	assert_string_equal(v, "1:2.0-1");
	assert_true(pkg_query_parse(&mgr_apt, 0, "hold ok installed\t1.0\n", a, NULL));
	assert_false(pkg_query_parse(&mgr_apt, 0, "deinstall ok config-files\t1.0\n", a, NULL));
	assert_false(pkg_query_parse(&mgr_apt, 0, "unknown ok not-installed\t\n", a, NULL));
	assert_false(pkg_query_parse(&mgr_apt, 1, "", a, NULL));
	assert_false(pkg_query_parse(&mgr_apt, 0, "garbage", a, NULL));
	assert_true(pkg_query_parse(&mgr_rpm, 0, "hello\t1.0-1\n", a, &v));
	assert_string_equal(v, "1.0-1");
	assert_true(pkg_query_parse(&mgr_dnf, 0, "hello\t2:1.0-1.el9\nhello\t2:1.1-1.el9\n", a, &v));
	assert_string_equal(v, "2:1.0-1.el9");
	assert_false(pkg_query_parse(&mgr_rpm, 1, "package hello is not installed\n", a, &v));
	arena_free(a);
}

static void test_check_pkg__list_parse(void **state)
{
	struct arena *a = arena_new();
	struct strlist l;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_list_parse(&l, "/.\n/usr\n/usr/bin/x\ndiverted by y to: /usr/bin/x.real\n"
					   "package diverts others to: /usr/bin/z\n/etc/with space\n",
					a),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "/usr");
	assert_string_equal(l.v[1], "/usr/bin/x");
	assert_string_equal(l.v[2], "/etc/with space");
	assert_null(l.v[3]);
	assert_int_equal(pkg_list_parse(&l, "(contains no files)\n", a), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(pkg_list_parse(&l, "/no/final/newline", a), 0);
	assert_int_equal(l.n, 1);
	arena_free(a);
}

static void test_check_pkg__verify_parse_rpm(void **state)
{
	struct arena *a = arena_new();
	struct strlist l;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_verify_parse(&l, PKG_VERIFY_RPM, NULL,
					  "S.5....T.    /usr/bin/alts-hello\n"
					  "missing   d /usr/share/doc/alts-hello/README\n"
					  ".M.......  c /etc/hello.conf\n"
					  "rpm: RPM should not be used directly install RPM packages, use Alien instead!\n"
					  "Unsatisfied dependencies for hello-1.0-1.noarch:\n",
					  a),
			 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "modified: /usr/bin/alts-hello");
	assert_string_equal(l.v[1], "missing: /usr/share/doc/alts-hello/README");
	assert_string_equal(l.v[2], "modified: /etc/hello.conf");
	assert_string_equal(l.v[3], "Unsatisfied dependencies for hello-1.0-1.noarch:");
	assert_int_equal(pkg_verify_parse(&l, PKG_VERIFY_RPM, NULL, "", a), 0);
	assert_int_equal(l.n, 0);
	arena_free(a);
}

static void test_check_pkg__verify_parse_dpkg(void **state)
{
	struct arena *a = arena_new();
	struct strlist l;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_verify_parse(&l, PKG_VERIFY_DPKG, "/scratch",
					  "??5??????   /usr/bin/alts-hello\nmissing     /usr/share/doc/x\n"
					  "dpkg: warning: something\n",
					  a),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "modified: /usr/bin/alts-hello");
	assert_string_equal(l.v[1], "missing: /usr/share/doc/x");
	arena_free(a);
}

static void test_check_pkg__verify_parse_debsums_strips_root(void **state)
{
	struct arena *a = arena_new();
	struct strlist l;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_verify_parse(&l, PKG_VERIFY_DEBSUMS, "/tmp/scr/",
					  "debsums: changed file /tmp/scr/usr/bin/alts-hello (from alts-hello package)\n"
					  "debsums: missing file /tmp/scr/usr/share/doc/a (from alts-hello package)\n"
					  "debsums: changed file /elsewhere/x (from y package)\n"
					  "debsums: package nosuch is not installed\n",
					  a),
			 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "modified: /usr/bin/alts-hello");
	assert_string_equal(l.v[1], "missing: /usr/share/doc/a");
	assert_string_equal(l.v[2], "modified: /elsewhere/x");
	assert_string_equal(l.v[3], "debsums: package nosuch is not installed");
	arena_free(a);
}

static void expect_repo(const struct pkg_mgr *m, const struct suite_repo *r, const char *want_path,
			const char *want)
{
	struct arena *a = arena_new();
	struct sbuf sb = SBUF_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	const char *path = NULL;

	assert_ok_err(pkg_repo_file(&sb, &path, m, r, a, &err), &err);
	assert_string_equal(path, want_path);
	assert_string_equal(sb.buf, want);
	sbuf_release(&sb);
	arena_free(a);
}

static void test_check_pkg__repo_files(void **state)
{
	const struct suite_repo plain = { "local", "http://repo.example/flat", false, { 0, 0 } };
	const struct suite_repo dir = { "dir", "/srv/repo", false, { 0, 0 } };
	const struct suite_repo line = { "main", "deb http://deb.example bookworm main", true, { 0, 0 } };
	struct arena *a = arena_new();
	struct sbuf sb = SBUF_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	const char *path = NULL;

	ALTS_UNUSED(state);
	expect_repo(&mgr_apt, &plain, "/etc/apt/sources.list.d/alts-local.list",
		    "deb [trusted=yes] http://repo.example/flat ./\n");
	expect_repo(&mgr_apt, &dir, "/etc/apt/sources.list.d/alts-dir.list", "deb [trusted=yes] file:/srv/repo ./\n");
	expect_repo(&mgr_apt, &line, "/etc/apt/sources.list.d/alts-main.list", "deb http://deb.example bookworm main\n");
	expect_repo(&mgr_dnf, &plain, "/etc/yum.repos.d/alts-local.repo",
		    "[alts-local]\nname=alts repository local\nbaseurl=http://repo.example/flat\nenabled=1\n"
		    "gpgcheck=0\nrepo_gpgcheck=0\nmodule_hotfixes=1\n");
	expect_repo(&mgr_yum, &dir, "/etc/yum.repos.d/alts-dir.repo",
		    "[alts-dir]\nname=alts repository dir\nbaseurl=file:///srv/repo\nenabled=1\ngpgcheck=0\n"
		    "repo_gpgcheck=0\n");
	assert_int_equal(pkg_repo_file(&sb, &path, &mgr_dnf, &line, a, &err), ALTS_EINVALID);
	assert_int_equal(pkg_repo_file(&sb, &path, &mgr_dpkg_root, &plain, a, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "scratch root"));
	sbuf_release(&sb);
	arena_free(a);
}

static void test_check_pkg__refresh_and_root_init(void **state)
{
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(pkg_refresh_cmd(&c, &mgr_apt, &err), &err);
	assert_string_equal(joined(&c), "apt-get update");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_refresh_cmd(&c, &mgr_dnf, &err), &err);
	assert_int_equal(c.argc, 0);
	pkg_cmd_release(&c);

	assert_int_equal(pkg_root_init_cmd(&c, &mgr_dpkg, 0, &err), ALTS_ENOTFOUND);
	assert_int_equal(pkg_root_init_cmd(&c, &mgr_rpm_root, 0, &err), ALTS_ENOTFOUND);
	assert_ok_err(pkg_root_init_cmd(&c, &mgr_dpkg_root, 0, &err), &err);
	assert_string_equal(joined(&c), "mkdir -p -- /scratch/var/lib/dpkg/info /scratch/var/lib/dpkg/updates");
	pkg_cmd_release(&c);
	assert_ok_err(pkg_root_init_cmd(&c, &mgr_dpkg_root, 1, &err), &err);
	assert_string_equal(joined(&c), "touch -- /scratch/var/lib/dpkg/status /scratch/var/lib/dpkg/available");
	pkg_cmd_release(&c);
	assert_int_equal(pkg_root_init_cmd(&c, &mgr_dpkg_root, 2, &err), ALTS_ENOTFOUND);
}

/* Loads a suite from text for pkg_detect. */
static struct suite *load(const char *yaml)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	if (suite_load_buffer(&s, "t.yaml", test_sandbox_init(), yaml, strlen(yaml), &err))
		fail_msg("%s", err.msg);
	return s;
}

static void expect_detect(const char *yaml, const struct runner_info *info, enum pkg_tool tool, const char *root)
{
	struct suite *s = load(yaml);
	struct pkg_mgr m;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(pkg_detect(&m, s, info, &err), &err);
	assert_string_equal(pkg_tool_name(m.tool), pkg_tool_name(tool));
	if (root)
		assert_string_equal(m.root, root);
	else
		assert_null(m.root);
	suite_free(s);
	test_sandbox_cleanup();
}

static void test_check_pkg__detect(void **state)
{
	struct runner_info debian = { "local", "debian", "", "12", "x86_64", NULL };
	struct runner_info alma8 = { "local", "almalinux", "rhel centos fedora", "8.9", "x86_64", NULL };
	struct runner_info centos7 = { "local", "centos", "rhel fedora", "7", "x86_64", NULL };
	struct runner_info mint = { "local", "linuxmint", "ubuntu debian", "21", "x86_64", NULL };
	struct runner_info odd = { "local", "myos", "rhel", "9", "x86_64", NULL };
	struct runner_info rooted = { "local", "debian", "", "12", "x86_64", "/abs/root" };

	ALTS_UNUSED(state);
	expect_detect("packages: [x]\nchecks: [install]\n", &debian, PKG_TOOL_APT, NULL);
	expect_detect("packages: [x]\nchecks: [install]\n", &alma8, PKG_TOOL_DNF, NULL);
	expect_detect("packages: [x]\nchecks: [install]\n", &centos7, PKG_TOOL_YUM, NULL);
	expect_detect("packages: [x]\nchecks: [install]\n", &mint, PKG_TOOL_APT, NULL);
	expect_detect("packages: [x]\nchecks: [install]\n", &odd, PKG_TOOL_DNF, NULL);
	/* The suite wins over the environment. */
	expect_detect("packages: [x]\nenvironment: {dist_name: almalinux, dist_version: '7'}\nchecks: [install]\n",
		      &debian, PKG_TOOL_YUM, NULL);
	expect_detect("packages: [x]\nenvironment: {dist_name: fedora}\nchecks: [install]\n", &debian, PKG_TOOL_DNF,
		      NULL);
	expect_detect("packages: [x]\nenvironment: {package_manager: yum}\nchecks: [install]\n", &debian,
		      PKG_TOOL_YUM, NULL);
	expect_detect("packages: [x]\nenvironment: {dist_name: ubuntu}\nchecks: [install]\n", NULL, PKG_TOOL_APT, NULL);
	expect_detect("packages: [x]\nenvironment: {dist_name: amzn, dist_version: '2'}\nchecks: [install]\n", NULL,
		      PKG_TOOL_YUM, NULL);
	/* Root mode: the low-level tool, with the runner's absolute root. */
	expect_detect("packages: [x]\nchecks: [install]\n", &rooted, PKG_TOOL_DPKG, "/abs/root");
	expect_detect("packages: [x]\nenvironment: {package_manager: dnf}\nchecks: [install]\n", &rooted,
		      PKG_TOOL_RPM, "/abs/root");
}

static void test_check_pkg__detect_from_files_and_errors(void **state)
{
	struct runner_info unknown = { "local", "plan9", "", "", "x86_64", NULL };
	struct runner_info rooted = { "local", "debian", "", "12", "x86_64", "/r" };
	const char *dir = test_sandbox_init();
	char yaml[1024];
	struct suite *s = NULL;
	struct pkg_mgr m;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	free(test_write_file("a.rpm", "x"));
	free(test_write_file("b.deb", "x"));
	snprintf(yaml, sizeof(yaml), "packages: [{name: a, file: a.rpm}]\nchecks: [install]\n");
	assert_ok_err(suite_load_buffer(&s, "t.yaml", dir, yaml, strlen(yaml), &err), &err);
	assert_ok_err(pkg_detect(&m, s, &unknown, &err), &err);
	assert_int_equal(m.tool, PKG_TOOL_RPM);
	/* In a scratch root the files decide before the host's os-release does. */
	assert_ok_err(pkg_detect(&m, s, &rooted, &err), &err);
	assert_int_equal(m.tool, PKG_TOOL_RPM);
	assert_string_equal(m.root, "/r");
	/* But not against an explicit manager. */
	suite_free(s);
	snprintf(yaml, sizeof(yaml),
		 "packages: [{name: a, file: a.rpm}]\nenvironment: {package_manager: apt}\nchecks: [install]\n");
	assert_ok_err(suite_load_buffer(&s, "t.yaml", dir, yaml, strlen(yaml), &err), &err);
	assert_int_equal(pkg_detect(&m, s, NULL, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, ".rpm files cannot be installed with apt-get"));
	suite_free(s);
	snprintf(yaml, sizeof(yaml), "packages: [{name: a, file: a.rpm}, {name: b, file: b.deb}]\nchecks: [install]\n");
	assert_ok_err(suite_load_buffer(&s, "t.yaml", dir, yaml, strlen(yaml), &err), &err);
	assert_int_equal(pkg_detect(&m, s, NULL, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "mixes"));
	suite_free(s);
	snprintf(yaml, sizeof(yaml), "packages: [a]\nchecks: [install]\n");
	assert_ok_err(suite_load_buffer(&s, "t.yaml", dir, yaml, strlen(yaml), &err), &err);
	assert_int_equal(pkg_detect(&m, s, &unknown, &err), ALTS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "plan9"));
	assert_non_null(strstr(err.msg, "environment.package_manager"));
	suite_free(s);
	test_sandbox_cleanup();
}

static void test_check_pkg__filters(void **state)
{
	struct arena *a = arena_new();
	struct pkg_filters f;
	struct pkg_cmd c = PKG_CMD_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_int_equal(pkg_filters_parse(&f,
					   "path-exclude=/usr/share/doc/*\n"
					   "# comment\n"
					   "path-include=/usr/share/doc/*/copyright\n"
					   "  path-exclude /usr/share/man/*  \n",
					   a),
			 0);
	assert_int_equal(f.n, 3);
	assert_true(pkg_filters_excluded(&f, "/usr/share/doc/hello/README"));
	assert_true(pkg_filters_excluded(&f, "/usr/share/doc/hello"));
	assert_false(pkg_filters_excluded(&f, "/usr/share/doc/hello/copyright"));
	assert_true(pkg_filters_excluded(&f, "/usr/share/man/man1/hello.1.gz"));
	assert_false(pkg_filters_excluded(&f, "/usr/bin/hello"));
	assert_false(pkg_filters_excluded(NULL, "/usr/bin/hello"));
	assert_ok_err(pkg_filters_cmd(&c, &mgr_dpkg_root, &err), &err);
	assert_string_equal(joined(&c), "grep -rhsE ^[[:space:]]*path-(exclude|include) -- "
					"/scratch/etc/dpkg/dpkg.cfg /scratch/etc/dpkg/dpkg.cfg.d");
	pkg_cmd_release(&c);
	assert_int_equal(pkg_filters_cmd(&c, &mgr_rpm, &err), ALTS_ENOTFOUND);
	arena_free(a);
}

static void test_check_pkg__install_survives_oom(void **state)
{
	unsigned long n = 0;

	ALTS_UNUSED(state);
	alts_alloc_fail_at(0);
	{
		struct pkg_cmd c = PKG_CMD_INIT;
		struct alts_err err = ALTS_ERR_INIT;

		assert_ok_err(pkg_install_cmd(&c, &mgr_dnf, pkgs, 3, 0, &err), &err);
		pkg_cmd_release(&c);
	}
	n = alts_alloc_fail_at(0);
	for (unsigned long i = 1; i <= n; i++) {
		struct pkg_cmd c = PKG_CMD_INIT;
		struct alts_err err = ALTS_ERR_INIT;
		int rc;

		alts_alloc_fail_at(i);
		rc = pkg_install_cmd(&c, &mgr_dnf, pkgs, 3, 0, &err);
		alts_alloc_fail_at(0);
		if (rc) {
			assert_int_equal(rc, ALTS_ENOMEM);
			assert_null(c.argv);
		} else {
			assert_string_equal(joined(&c), "dnf install -y hello world-2.0-1 epochal-2:3.1");
		}
		pkg_cmd_release(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_pkg__install_apt_versions_and_epochs),
		cmocka_unit_test(test_check_pkg__install_apt_local_files),
		cmocka_unit_test(test_check_pkg__install_dnf_yum),
		cmocka_unit_test(test_check_pkg__install_dpkg_rpm),
		cmocka_unit_test(test_check_pkg__install_root_flags),
		cmocka_unit_test(test_check_pkg__install_low_level_needs_files),
		cmocka_unit_test(test_check_pkg__remove),
		cmocka_unit_test(test_check_pkg__query_and_list),
		cmocka_unit_test(test_check_pkg__verify_cmds),
		cmocka_unit_test(test_check_pkg__query_parse),
		cmocka_unit_test(test_check_pkg__list_parse),
		cmocka_unit_test(test_check_pkg__verify_parse_rpm),
		cmocka_unit_test(test_check_pkg__verify_parse_dpkg),
		cmocka_unit_test(test_check_pkg__verify_parse_debsums_strips_root),
		cmocka_unit_test(test_check_pkg__repo_files),
		cmocka_unit_test(test_check_pkg__refresh_and_root_init),
		cmocka_unit_test(test_check_pkg__detect),
		cmocka_unit_test(test_check_pkg__detect_from_files_and_errors),
		cmocka_unit_test(test_check_pkg__filters),
		cmocka_unit_test(test_check_pkg__install_survives_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
