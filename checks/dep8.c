/*
 * dep8 (alias autopkgtest): runs a Debian source tree's own tests, as
 * debian/tests/control declares them (DEP-8), inside the environment with
 * autopkgtest's environment and verdicts. The tree is a directory of the
 * suite, a git repository (cloned on the host as nobody, like the script
 * check) or a source package that apt fetches and dpkg-source unpacks
 * inside the environment (untrusted patches never touch the host). Each
 * test is a part of the result. The parsing is in checks/dep8_control.c.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/dep8_control.h"
#include "checks/pkg.h"
#include "framework/proc.h"

#include <sys/stat.h>

#define DEP8_USER "alts-dep8"
#define DEP8_FAILS_SHOWN 3
#define DEP8_STDERR_SHOWN 3
#define DEP8_TEXT_MAX (1u << 20)

struct dep8_conf {
	const char *path;          /* a source tree, relative to the suite's directory */
	struct check_git_source git;
	const char *source;        /* a source package apt fetches in the environment */
	struct strlist tests;      /* run only these; empty: all */
	const char *host_path;     /* path made absolute by validate */
};

static const struct conf_key dep8_keys[] = {
	{ "path", CONF_STRING, offsetof(struct dep8_conf, path), CONF_NONEMPTY, NULL, NULL },
	{ "git", CONF_CUSTOM, offsetof(struct dep8_conf, git), 0, check_git_parse, NULL },
	{ "source", CONF_STRING, offsetof(struct dep8_conf, source), CONF_NONEMPTY, NULL, NULL },
	{ "tests", CONF_STRLIST, offsetof(struct dep8_conf, tests), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

/* Reads a control file of a host tree; *text NULL (no error) when it is absent. */
static int read_host_file(struct sbuf *text, const char *tree, const char *rel, const char **file,
			  struct arena *a, struct alts_err *err)
{
	char real_tree[PATH_MAX], real_file[PATH_MAX];
	size_t n;
	struct stat st;

	*file = arena_printf(a, "%s/%s", tree, rel);
	if (!*file)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	/*
	 * A cloned tree is someone else's: a control file that is a link out of
	 * the tree (to /etc/shadow, say) or a fifo is refused, not read on the host.
	 */
	if (!realpath(*file, real_file)) {
		if (errno == ENOENT)
			return ALTS_ENOTFOUND;
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot read '%s'", *file);
	}
	if (!realpath(tree, real_tree))
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot read '%s'", tree);
	n = strlen(real_tree);
	if (strncmp(real_file, real_tree, n) || (n > 1 && real_file[n] != '/'))
		return alts_err_set(err, ALTS_EINVALID, "'%s' leads out of the source tree (to '%s')", *file, real_file);
	if (stat(real_file, &st) < 0 || !S_ISREG(st.st_mode))
		return alts_err_set(err, ALTS_EINVALID, "'%s' is not a regular file", *file);
	if (sbuf_read_file(text, real_file, DEP8_TEXT_MAX) < 0) {
		if (errno == ENOENT)
			return ALTS_ENOTFOUND;
		return alts_err_errno(err, ALTS_EINVALID, errno, "cannot read '%s'", *file);
	}
	return 0;
}

/* Parses the control files of a host tree: the load-time check of a local tree and the run's own. */
static int parse_host_tree(const char *tree, struct dep8_control *c, struct dep8_source *src, struct arena *a,
			   struct alts_err *err)
{
	struct sbuf text = SBUF_INIT;
	const char *file;
	int rc = read_host_file(&text, tree, "debian/tests/control", &file, a, err);

	if (rc == ALTS_ENOTFOUND)
		rc = alts_err_set(err, ALTS_EINVALID, "'%s': no debian/tests/control (not a DEP-8 source tree)", tree);
	if (!rc)
		rc = dep8_control_parse(c, text.buf, text.len, file, a, err);
	sbuf_reset(&text);
	if (!rc) {
		rc = read_host_file(&text, tree, "debian/control", &file, a, err);
		if (rc == ALTS_ENOTFOUND) {
			memset(src, 0, sizeof(*src));
			src->build_depends = "";
			rc = 0;
		} else if (!rc) {
			rc = dep8_source_parse(src, text.buf, text.len, file, a, err);
		}
	}
	sbuf_release(&text);
	return rc;
}

static int dep8_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			 struct suite_check *check)
{
	struct dep8_conf *conf = check->conf;
	int given = !!conf->path + conf->git.given + !!conf->source;
	struct dep8_control c;
	struct dep8_source src;
	struct stat st;

	if (given != 1)
		return conf_fail(ctx, node, path, given ? "give one of 'path', 'git' or 'source', not several"
							: "missing required key 'path' (or 'git' or 'source')");
	if (conf->source) {
		if (!suite_package_name_ok(conf->source))
			return conf_fail(ctx, check_conf_node(ctx, node, "source"), conf_path_key(ctx, path, "source"),
					 "'%s' is not a source package name", conf->source);
		return 0;
	}
	if (conf->git.given)
		return check_git_validate(ctx, check_conf_node(ctx, node, "git"), conf_path_key(ctx, path, "git"), suite,
					  &conf->git);
	if ((suite->load_flags & SUITE_LOAD_FARM) && !suite_inner_path_ok(conf->path))
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "'%s': a suite sent to the farm may only take a source tree from its git sources, an apt "
				 "source package or inside its own task folder (no absolute path, no '..')",
				 conf->path);
	conf->host_path = conf->path[0] == '/' ? conf->path : arena_printf(suite->arena, "%s/%s", suite->dir, conf->path);
	if (!conf->host_path)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	if (suite->load_flags & SUITE_LOAD_NO_FS)
		return 0;
	if (stat(conf->host_path, &st) < 0 || !S_ISDIR(st.st_mode))
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "'%s' is not a directory (a Debian source tree with debian/tests/control)",
				 conf->host_path);
	/* A local tree is read now, so a broken control file stops the run before anything starts. */
	return parse_host_tree(conf->host_path, &c, &src, suite->arena, ctx->err);
}

/* ---- running ------------------------------------------------------------ */

/*
 * What the run knows about the environment's files, which a reset to a
 * snapshot takes back to what it was when the snapshot was taken.
 */
struct dep8_state {
	const char *user_home;
	bool user_ready;
	struct strlist installed;  /* dependencies installed by earlier tests */
	size_t installed_alloc;
	bool built;
	const char *build_failed;  /* why build-needed tests cannot run */
	bool ran;                  /* a test's dependencies were installed: */
	struct strlist last_deps;  /* the last test's (autopkgtest's deps_installed) */
	bool last_recommends;      /* and whether it asked for recommends */
};

struct dep8_run {
	struct check_ctx *ctx;
	const struct dep8_conf *conf;
	const char *tree;        /* the source tree in the environment */
	const char *dir;         /* the check's directory in the environment */
	const char *arch;        /* dpkg --print-architecture */
	const char *art;         /* AUTOPKGTEST_ARTIFACTS in the environment */
	struct dep8_state st;
	struct dep8_control control;
	struct dep8_source src;
	/* autopkgtest's revert between tests (dep8_revert): */
	bool have_base;            /* a snapshot from before the first test */
	unsigned base_depth;       /* runner_snapshot_depth() with it */
	struct dep8_state base;    /* st when it was taken */
	const char *no_revert;     /* why there is none, for the tests' notes */
	unsigned nreverts;         /* reverts so far: each stashes the artifacts in its own directory */
};

/* Runs argv as root in the environment; *why (arena) says how it failed, NULL when it exited 0. */
static int run_root(struct dep8_run *r, const char *const *argv, const char *const *env, const char *cwd,
		    const char **why, const char **out, struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	int rc;

	opts.extra_env = env;
	opts.cwd = cwd;
	rc = check_cmd_ex(r->ctx, &o, argv, &opts, err);
	*why = NULL;
	if (!rc && (o.proc.exit_code != 0 || o.proc.timed_out || o.proc.canceled))
		*why = arena_printf(r->ctx->arena, "%s (%s): %s", argv[0], check_cmd_status(r->ctx, &o),
				    check_cmd_summary(r->ctx, &o));
	if (!rc && out)
		*out = arena_strndup(r->ctx->arena, o.out.buf, o.out.len);
	check_cmd_out_release(&o);
	return rc;
}

/* The first line of s without its line end (arena). */
static const char *first_line(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strcspn(s, "\r\n"));
}

/*
 * The source package inside the environment: deb-src lines are added for
 * the repositories apt knows, then apt-get source downloads and unpacks it
 * (dpkg-source applies its patches there, never on the host). A constant
 * script; the package name is an argument.
 */
static const char fetch_source_script[] =
	"set -e\n"
	"dir=$1 pkg=$2 d=/etc/apt/sources.list.d\n"
	"out=$d/alts-dep8-src.list\n"
	": >\"$out\"\n"
	"for f in /etc/apt/sources.list $d/*.list; do\n"
	"  [ -f \"$f\" ] && [ \"$f\" != \"$out\" ] || continue\n"
	"  sed -n 's/^[[:space:]]*deb\\([[:space:]]\\)/deb-src\\1/p' \"$f\" >>\"$out\"\n"
	"done\n"
	"for f in $d/*.sources; do\n"
	"  case $f in */alts-dep8-src-*) continue;; esac\n"
	"  [ -f \"$f\" ] && sed 's/^Types:.*/Types: deb-src/' \"$f\" >\"$d/alts-dep8-src-${f##*/}\"\n"
	"done\n"
	"export DEBIAN_FRONTEND=noninteractive\n"
	"apt-get update -q >&2 || true\n"
	"command -v dpkg-source >/dev/null || apt-get install -y -q --no-install-recommends dpkg-dev >&2\n"
	"mkdir -p \"$dir\" && cd \"$dir\"\n"
	"apt-get source -q --only-source \"$pkg\" >&2\n"
	"for t in \"$dir\"/*/; do [ -f \"$t/debian/tests/control\" ] && { echo \"${t%/}\"; exit 0; }; done\n"
	"echo \"the source package $pkg has no debian/tests/control\" >&2; exit 1\n";

static int cat_env_file(struct dep8_run *r, const char *path, const char **text, bool *absent, struct alts_err *err)
{
	const char *argv[] = { "cat", "--", path, NULL };
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	int rc;

	opts.quiet = true;
	rc = check_cmd_ex(r->ctx, &o, argv, &opts, err);
	*absent = !rc && o.proc.exit_code != 0;
	*text = !rc ? arena_strndup(r->ctx->arena, o.out.buf, o.out.len) : NULL;
	check_cmd_out_release(&o);
	if (!rc && !*text)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return rc;
}

/* Brings the tree into the environment and parses its control files. *ok false: the result says why. */
static int dep8_get_tree(struct dep8_run *r, bool *ok, struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	const struct dep8_conf *conf = r->conf;
	struct alts_err perr = ALTS_ERR_INIT;
	const char *why, *host = conf->host_path;
	int rc;

	*ok = false;
	if (conf->source) {
		const char *argv[] = { "sh", "-c", fetch_source_script, "sh", NULL, conf->source, NULL };
		const char *env[] = { NULL };
		const char *out = NULL, *ctl, *dctl, *file;
		bool absent;

		argv[4] = arena_printf(ctx->arena, "%s/src", r->dir);
		if (!argv[4])
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		check_logf(ctx, "alts: fetching the source package %s with apt in the environment", conf->source);
		rc = run_root(r, argv, env, NULL, &why, &out, err);
		if (rc)
			return rc;
		if (why) {
			check_set(ctx, CHECK_FAIL, "cannot fetch the source package '%s': %s", conf->source, why);
			return 0;
		}
		r->tree = first_line(ctx->arena, out);
		file = arena_printf(ctx->arena, "%s/debian/tests/control", r->tree);
		rc = cat_env_file(r, file, &ctl, &absent, err);
		if (!rc)
			rc = cat_env_file(r, arena_printf(ctx->arena, "%s/debian/control", r->tree), &dctl, &absent, err);
		if (rc)
			return rc;
		rc = dep8_control_parse(&r->control, ctl, strlen(ctl), arena_printf(ctx->arena, "%s (source %s)", file,
										 conf->source),
					ctx->arena, &perr);
		if (!rc && !absent)
			rc = dep8_source_parse(&r->src, dctl, strlen(dctl), "debian/control", ctx->arena, &perr);
		else if (!rc)
			r->src.build_depends = "";
	} else {
		if (conf->git.given) {
			rc = check_git_clone(ctx, conf->git.url, conf->git.ref, conf->git.path, &host, ok, err);
			if (rc || !*ok)
				return rc;
			*ok = false;
		} else if (!host) {
			host = conf->path[0] == '/' ? conf->path : arena_printf(ctx->arena, "%s/%s", ctx->suite->dir, conf->path);
		}
		if (!host)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		r->tree = arena_printf(ctx->arena, "%s/tree", r->dir);
		if (!r->tree)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = parse_host_tree(host, &r->control, &r->src, ctx->arena, &perr);
		if (!rc) {
			rc = runner_copy_in(ctx->runner, host, r->tree, err);
			if (rc)
				return rc;
		}
	}
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, rc, "%s", perr.msg);
	if (rc) {
		check_set(ctx, CHECK_FAIL, "%s", perr.msg);
		return 0;
	}
	*ok = true;
	return 0;
}

/*
 * The user tests without needs-root run as, made once; with passwordless
 * sudo for needs-sudo. The host name becomes resolvable, as autopkgtest's
 * setup-testbed makes it (sudo warns on stderr otherwise).
 */
static int dep8_user(struct dep8_run *r, bool sudo, const char **why, struct alts_err *err)
{
	static const char script[] =
		"set -e\n"
		"getent passwd \"$1\" >/dev/null || useradd --create-home --shell /bin/bash \"$1\"\n"
		"h=$(uname -n)\n"
		"getent hosts \"$h\" >/dev/null || echo \"127.0.1.1 $h\" >>/etc/hosts\n"
		"if [ \"$2\" = sudo ]; then\n"
		"  mkdir -p /etc/sudoers.d\n"
		"  echo \"$1 ALL=(ALL:ALL) NOPASSWD: ALL\" >/etc/sudoers.d/alts-dep8\n"
		"  chmod 0440 /etc/sudoers.d/alts-dep8\n"
		"fi\n"
		"getent passwd \"$1\" | cut -d: -f6\n";
	const char *argv[] = { "sh", "-c", script, "sh", DEP8_USER, sudo ? "sudo" : "", NULL };
	const char *out = NULL;
	int rc;

	*why = NULL;
	if (r->st.user_ready && !sudo)
		return 0;
	rc = run_root(r, argv, NULL, NULL, why, &out, err);
	if (!rc && !*why) {
		r->st.user_home = first_line(r->ctx->arena, out);
		r->st.user_ready = true;
	}
	return rc;
}

/*
 * Tells the runner which packages are test dependencies (integrity and
 * uninstall leave them out): every package an or-group names, except the
 * suite's own packages (what '@' brings are the packages under test).
 */
static int dep8_record_test_deps(struct dep8_run *r, const struct strlist *deps, struct alts_err *err)
{
	const struct suite *s = r->ctx->suite;
	const char **names = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < deps->n; i++) {
		const char *p = deps->v[i];

		while (*p) {
			size_t len;
			bool ours = false;
			const char *name;

			p += strspn(p, " |");
			len = strcspn(p, " :(|");
			if (!len)
				break;
			name = arena_strndup(r->ctx->arena, p, len);
			if (!name)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			for (size_t k = 0; k < s->npackages; k++)
				ours = ours || !strcmp(s->packages[k].name, name);
			if (!ours) {
				if (n == alloc) {
					size_t want = alloc ? 2 * alloc : 16;
					const char **v = arena_alloc(r->ctx->arena, want * sizeof(*v));

					if (!v)
						return alts_err_set(err, ALTS_ENOMEM, "out of memory");
					if (n)
						memcpy(v, names, n * sizeof(*v));
					names = v;
					alloc = want;
				}
				names[n++] = name;
			}
			p += strcspn(p, "|");
		}
	}
	return n ? runner_add_test_deps(r->ctx->runner, names, n, err) : 0;
}

/* True when every entry of deps is in have. */
static bool deps_known(const struct strlist *have, const struct strlist *deps)
{
	for (size_t i = 0; i < deps->n; i++) {
		if (!conf_strlist_has(have, deps->v[i]))
			return false;
	}
	return true;
}

/*
 * apt-get satisfy with the test's dependencies, from the package lists apt
 * has (the install check refreshes them); *why (arena) when they cannot be
 * installed. Dependencies an earlier test of the check got installed are
 * not asked for again (most tests share Depends: @).
 */
static int dep8_install(struct dep8_run *r, const struct strlist *deps, bool recommends, const char **why,
			struct alts_err *err)
{
	static const char *const env[] = { "DEBIAN_FRONTEND=noninteractive", NULL };
	const char **argv;
	size_t n = 0;
	int rc;

	*why = NULL;
	if (!deps->n || (!recommends && deps_known(&r->st.installed, deps)))
		return 0;
	argv = arena_alloc(r->ctx->arena, (deps->n + 6) * sizeof(*argv));
	if (!argv)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	argv[n++] = "apt-get";
	argv[n++] = "satisfy";
	argv[n++] = "-y";
	argv[n++] = "-q";
	argv[n++] = recommends ? "--install-recommends" : "--no-install-recommends";
	for (size_t i = 0; i < deps->n; i++)
		argv[n++] = deps->v[i];
	argv[n] = NULL;
	rc = run_root(r, argv, env, NULL, why, NULL, err);
	if (!rc && !*why)
		rc = dep8_record_test_deps(r, deps, err);
	for (size_t i = 0; !rc && !*why && i < deps->n; i++) {
		if (conf_strlist_has(&r->st.installed, deps->v[i]))
			continue;
		if (r->st.installed.n == r->st.installed_alloc) {
			size_t want = r->st.installed_alloc ? 2 * r->st.installed_alloc : 16;
			const char **v = arena_alloc(r->ctx->arena, want * sizeof(*v));

			if (!v)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			if (r->st.installed.n)
				memcpy(v, r->st.installed.v, r->st.installed.n * sizeof(*v));
			r->st.installed.v = v;
			r->st.installed_alloc = want;
		}
		r->st.installed.v[r->st.installed.n++] = deps->v[i];
	}
	return rc;
}

/* One test's outcome. */
struct dep8_outcome {
	enum check_status status;
	const char *message;
	int exit_code;
};

static bool runner_is(const struct dep8_run *r, const char *name)
{
	const struct runner_info *info = runner_info(r->ctx->runner);

	return info && info->name && !strcmp(info->name, name);
}

static bool dep8_can_reset(const struct dep8_run *r)
{
	const struct runner_info *info = runner_info(r->ctx->runner);

	return info && info->name && runner_name_can_reset(info->name);
}

/* Why the environment cannot give what a test's restrictions ask, or NULL. */
static const char *dep8_unsupported(struct dep8_run *r, const struct dep8_test *t)
{
	struct check_ctx *ctx = r->ctx;
	const char *net = ctx->suite->env.network;
	const char *arch_why;

	if (t->skip)
		return t->skip;
	arch_why = dep8_arch_excluded(t, r->arch, ctx->arena);
	if (arch_why)
		return arch_why;
	if (t->restrictions & DEP8_HINT_TESTSUITE_TRIGGERS)
		return "hint-testsuite-triggers: a hint for dpkg-source, not a test to run";
	if ((t->restrictions & DEP8_ISOLATION_MACHINE) && !runner_is(r, "ssh"))
		return "isolation-machine: the test needs a machine of its own (the ssh runner), not a container";
	if ((t->restrictions & DEP8_NEEDS_REBOOT) && !runner_is(r, "ssh"))
		return "needs-reboot: the test reboots its machine; only the ssh runner gives a machine";
	if ((t->restrictions & DEP8_NEEDS_REBOOT))
		return "needs-reboot: alts does not provide /tmp/autopkgtest-reboot yet";
	if ((t->restrictions & DEP8_BREAKS_TESTBED) && !dep8_can_reset(r))
		return "breaks-testbed: the test needs an environment reset after it, which this runner cannot do "
		       "(only the sandbox has snapshots)";
	if ((t->restrictions & DEP8_ISOLATION_CONTAINER) && !dep8_can_reset(r) && !runner_is(r, "ssh") &&
	    !runner_is(r, "docker"))
		return "isolation-container: the test needs a container of its own, which this runner cannot give "
		       "(no snapshot to reset to)";
	if ((t->restrictions & DEP8_NEEDS_INTERNET) && runner_is(r, "sandbox") && !(net && !strcmp(net, "host")))
		return "needs-internet: the sandbox has no internet access (environment.network is not 'host')";
	return NULL;
}

/* debian/rules build in the tree, once, for build-needed tests (as autopkgtest builds it). */
static int dep8_build(struct dep8_run *r, struct alts_err *err)
{
	static const char *const env[] = { "DEBIAN_FRONTEND=noninteractive", NULL };
	const char *argv[] = { "debian/rules", "build", NULL };
	const char *chmod_argv[] = { "chmod", "a+x", "debian/rules", NULL };
	struct dep8_test bd;
	struct strlist deps = { NULL, 0 };
	struct alts_err perr = ALTS_ERR_INIT;
	const char *why;
	int rc;

	if (r->st.built || r->st.build_failed)
		return 0;
	memset(&bd, 0, sizeof(bd));
	bd.depends = "@builddeps@";
	check_logf(r->ctx, "alts: build-needed: building the tree (debian/rules build) with its build dependencies");
	rc = dep8_depends_expand(&deps, &bd, &r->src, r->arch, "debian/control", r->ctx->arena, &perr);
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, rc, "out of memory");
	if (rc) {
		r->st.build_failed = arena_strdup(r->ctx->arena, perr.msg);
		return 0;
	}
	rc = dep8_install(r, &deps, false, &why, err);
	if (!rc && why)
		r->st.build_failed = arena_printf(r->ctx->arena, "cannot install the build dependencies: %s", why);
	if (!rc && !why)
		rc = run_root(r, chmod_argv, NULL, r->tree, &why, NULL, err);
	if (!rc && !why)
		rc = run_root(r, argv, env, r->tree, &why, NULL, err);
	if (!rc && why && !r->st.build_failed)
		r->st.build_failed = arena_printf(r->ctx->arena, "the build failed: %s", why);
	r->st.built = !rc && !r->st.build_failed;
	return rc;
}

/* The variables autopkgtest gives a test, plus the suite's and alts's own. */
static const char *const *dep8_env(struct dep8_run *r, const char *tmp, bool root)
{
	const char *const *base = check_alts_env(r->ctx);
	struct arena *a = r->ctx->arena;
	size_t n = 0, k = 0;
	const char **v;

	while (base && base[n])
		n++;
	v = arena_alloc(a, (n + 14) * sizeof(*v));
	if (!base || !v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[k++] = base[i];
	v[k++] = arena_printf(a, "AUTOPKGTEST_TMP=%s", tmp);
	v[k++] = arena_printf(a, "ADT_TMP=%s", tmp);
	v[k++] = arena_printf(a, "AUTOPKGTEST_ARTIFACTS=%s", r->art);
	v[k++] = arena_printf(a, "ADT_ARTIFACTS=%s", r->art);
	v[k++] = arena_printf(a, "AUTOPKGTEST_TESTBED_ARCH=%s", r->arch);
	v[k++] = arena_printf(a, "DEB_HOST_ARCH=%s", r->arch);
	v[k++] = "DEBIAN_FRONTEND=noninteractive";
	if (root) {
		v[k++] = "AUTOPKGTEST_NORMAL_USER=" DEP8_USER;
		v[k++] = "ADT_NORMAL_USER=" DEP8_USER;
		v[k++] = "HOME=/root";
	} else {
		v[k++] = arena_printf(a, "HOME=%s", r->st.user_home ? r->st.user_home : "/tmp");
	}
	v[k] = NULL;
	for (size_t i = n; i < k; i++) {
		if (!v[i])
			return NULL;
	}
	return v;
}

/* The first lines of stderr, for the message. */
static const char *stderr_lines(struct arena *a, const struct sbuf *err)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = err->buf, *s;
	size_t shown = 0;

	while (*p && shown < DEP8_STDERR_SHOWN) {
		size_t n = strcspn(p, "\n");

		if (n) {
			sbuf_addf(&sb, "%s%.*s", shown ? " | " : "", (int)(n > 200 ? 200 : n), p);
			shown++;
		}
		p += n + (p[n] == '\n');
	}
	if (*p)
		sbuf_adds(&sb, " | ...");
	s = sbuf_ok(&sb) ? arena_strndup(a, sb.buf, sb.len) : "stderr output";
	sbuf_release(&sb);
	return s;
}

/*
 * The packages a test needs, Depends expanded, sudo for needs-sudo.
 * *ok false: the outcome says why there are none.
 */
static int dep8_test_deps(struct dep8_run *r, const struct dep8_test *t, struct strlist *deps, bool *ok,
			  struct dep8_outcome *out, struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	struct alts_err perr = ALTS_ERR_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	*ok = false;
	rc = dep8_depends_expand(deps, t, &r->src, r->arch, "debian/tests/control", ctx->arena, &perr);
	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, rc, "out of memory");
	if (rc) {
		out->status = CHECK_FAIL;
		out->message = arena_strdup(ctx->arena, perr.msg);
		return 0;
	}
	if ((t->restrictions & DEP8_NEEDS_SUDO) && !(t->restrictions & DEP8_NEEDS_ROOT)) {
		const char **v = arena_alloc(ctx->arena, (deps->n + 1) * sizeof(*v));

		if (!v)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		if (deps->n)
			memcpy(v, deps->v, deps->n * sizeof(*v));
		v[deps->n] = "sudo";
		deps->v = v;
		deps->n++;
	}
	*ok = true;
	return 0;
}

static int dep8_run_test(struct dep8_run *r, size_t i, const struct dep8_test *t, const struct strlist *deps,
			 struct dep8_outcome *out, struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	bool root = t->restrictions & DEP8_NEEDS_ROOT;
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	const char *why = NULL, *tmp, *exe = NULL, *const *env;
	const char *argv[10];
	size_t n = 0;
	int rc;

	check_logf(ctx, "alts: test dependencies: %s", deps->n ? "" : "none");
	for (size_t k = 0; k < deps->n; k++)
		check_logf(ctx, "alts:   %s", deps->v[k]);
	rc = dep8_install(r, deps, t->restrictions & DEP8_NEEDS_RECOMMENDS, &why, err);
	if (rc)
		return rc;
	if (why) {
		out->status = (t->restrictions & DEP8_SKIP_NOT_INSTALLABLE) ? CHECK_SKIP : CHECK_FAIL;
		out->message = arena_printf(ctx->arena, "%scannot install the test dependencies: %s",
					    out->status == CHECK_SKIP ? "skip-not-installable: " : "", why);
		return 0;
	}
	if (t->restrictions & DEP8_BUILD_NEEDED) {
		rc = dep8_build(r, err);
		if (rc)
			return rc;
		if (r->st.build_failed) {
			out->status = CHECK_FAIL;
			out->message = arena_printf(ctx->arena, "build-needed: %s", r->st.build_failed);
			return 0;
		}
	}
	if (!root || (t->restrictions & DEP8_NEEDS_SUDO)) {
		rc = dep8_user(r, (t->restrictions & DEP8_NEEDS_SUDO) && !root, &why, err);
		if (rc)
			return rc;
		if (why) {
			out->status = CHECK_FAIL;
			out->message = arena_printf(ctx->arena, "cannot make the test user %s: %s", DEP8_USER, why);
			return 0;
		}
	}
	/*
	 * A fresh, empty AUTOPKGTEST_TMP, owned by whoever runs the test. The tree belongs to the test
	 * user, as autopkgtest's copydown leaves it (chown -R to the normal user, rw-build-tree or not):
	 * real tests write into their cwd (hello's upstream-tests writes its .ok/.out files there).
	 */
	tmp = arena_printf(ctx->arena, "%s/tmp-%zu", r->dir, i + 1);
	if (!tmp)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	{
		const char *mk[] = { "mkdir", "-p", "--", tmp, r->art, NULL };
		const char *own[] = { "chown", "-R", root ? "root:" : DEP8_USER ":", "--", tmp, r->art, NULL, NULL };
		const char *tree_own[] = { "chown", "-R", root ? "root:" : DEP8_USER ":", "--", r->tree, NULL };

		rc = run_root(r, mk, NULL, NULL, &why, NULL, err);
		if (!rc && !why)
			rc = run_root(r, own, NULL, NULL, &why, NULL, err);
		if (!rc && !why)
			rc = run_root(r, tree_own, NULL, NULL, &why, NULL, err);
		if (rc)
			return rc;
		if (why) {
			out->status = CHECK_FAIL;
			out->message = why;
			return 0;
		}
	}
	if (t->path) {
		/* autopkgtest applies chmod a+x, so tests added by patches need no mode. */
		const char *chmod_argv[] = { "chmod", "a+x", "--", NULL, NULL };

		exe = arena_printf(ctx->arena, "%s/%s", r->tree, t->path);
		chmod_argv[3] = exe;
		if (!exe)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = run_root(r, chmod_argv, NULL, NULL, &why, NULL, err);
		if (rc)
			return rc;
		if (why) {
			out->status = CHECK_FAIL;
			out->message = arena_printf(ctx->arena, "cannot find the test '%s' in the tree: %s", t->path, why);
			return 0;
		}
	}
	if (!root) {
		argv[n++] = "runuser";
		argv[n++] = "-u";
		argv[n++] = DEP8_USER;
		argv[n++] = "--";
	}
	if (t->path) {
		argv[n++] = exe;
	} else {
		argv[n++] = "bash";
		argv[n++] = "-ec";
		argv[n++] = t->command;
	}
	argv[n] = NULL;
	env = dep8_env(r, tmp, root);
	if (!env)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	opts.extra_env = env;
	opts.cwd = r->tree;
	check_logf(ctx, "alts: running the test %s as %s", t->name, root ? "root" : DEP8_USER);
	rc = check_cmd_ex(ctx, &o, argv, &opts, err);
	if (rc)
		return rc;
	out->exit_code = o.proc.exit_code;
	if (o.proc.timed_out || o.proc.canceled || o.proc.term_signal || o.proc.exec_errno) {
		out->status = CHECK_FAIL;
		out->message = o.proc.exec_errno ? arena_printf(ctx->arena, "cannot execute '%s': %s", argv[0],
								strerror(o.proc.exec_errno))
						 : check_cmd_status(ctx, &o);
	} else if (o.proc.exit_code == 77 && (t->restrictions & DEP8_SKIPPABLE)) {
		out->status = CHECK_SKIP;
		out->message = "skippable: the test exited with status 77";
	} else if (o.proc.exit_code != 0) {
		out->status = CHECK_FAIL;
		out->message = arena_printf(ctx->arena, "non-zero exit status %d", o.proc.exit_code);
	} else if (o.err.len && !(t->restrictions & DEP8_ALLOW_STDERR)) {
		out->status = CHECK_FAIL;
		out->message = arena_printf(ctx->arena, "stderr: %s", stderr_lines(ctx->arena, &o.err));
	} else {
		out->status = CHECK_PASS;
	}
	if (out->status == CHECK_FAIL && (t->restrictions & DEP8_FLAKY)) {
		/* autopkgtest: a flaky failure counts as skipped; alts shows it as an expected failure. */
		out->status = CHECK_XFAIL;
		out->message = arena_printf(ctx->arena, "flaky: %s", out->message);
	}
	check_cmd_out_release(&o);
	return 0;
}

/* Makes AUTOPKGTEST_ARTIFACTS: a run whose tests were all skipped, or reset away, has none yet. */
static int dep8_art_mkdir(struct dep8_run *r, struct alts_err *err)
{
	const char *mk[] = { "mkdir", "-p", "--", r->art, NULL };
	const char *why;

	return run_root(r, mk, NULL, NULL, &why, NULL, err);
}

/* Copies AUTOPKGTEST_ARTIFACTS out beside the check's log, when the run keeps artifacts. */
static int dep8_collect_artifacts(struct dep8_run *r, const char *suffix, struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	const char *log = ctx->result->log_path, *slash, *dest;
	const char *base = ctx->result->log_name ? ctx->result->log_name : "dep8.log";
	size_t blen = strlen(base);
	int rc;

	if (!log || !(slash = strrchr(log, '/')))
		return 0;
	if (blen > 4 && !strcmp(base + blen - 4, ".log"))
		blen -= 4;
	dest = arena_printf(ctx->arena, "%.*s/%.*s-artifacts%s", (int)(slash - log), log, (int)blen, base, suffix);
	if (!dest)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = dep8_art_mkdir(r, err);
	if (rc)
		return rc;
	check_logf(ctx, "alts: artifacts of the tests -> %s", dest);
	return runner_copy_out(ctx->runner, r->art, dest, err);
}

/*
 * The snapshot dep8_revert() goes back to, taken before the first test
 * when more than one will run (what the tests do comes after it); without one (no snapshots on this runner)
 * r->no_revert says why.
 */
static int dep8_take_base(struct dep8_run *r, size_t nrunnable, struct alts_err *err)
{
	struct alts_err perr = ALTS_ERR_INIT;
	int rc;

	if (nrunnable < 2)
		return 0;
	if (!dep8_can_reset(r)) {
		r->no_revert = "this runner has no snapshots";
		return 0;
	}
	check_logf(r->ctx, "alts: snapshot of the environment before the first test (to revert to when a test's "
			   "dependencies are not a superset of the previous test's, as autopkgtest does)");
	rc = runner_snapshot(r->ctx->runner, &perr);
	if (rc == ALTS_ENOTSUP) {
		r->no_revert = arena_strdup(r->ctx->arena, perr.msg);
		return r->no_revert ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	if (rc)
		return alts_err_set(err, rc, "%s", perr.msg);
	r->have_base = true;
	r->base_depth = runner_snapshot_depth(r->ctx->runner);
	r->base = r->st;
	return 0;
}

/*
 * autopkgtest's rule (adt_testbed.py, Testbed.reset): the testbed is
 * reverted before a test when a dependency of the previous test is not
 * among this test's, or one of the two asked for recommends and the other
 * not; a test never sees what an earlier one installed that it did not
 * ask for. *why (arena) says which, NULL when no revert is due.
 */
static int dep8_revert_reason(struct dep8_run *r, const struct strlist *deps, bool recommends, const char **why,
			      struct alts_err *err)
{
	struct sbuf gone = SBUF_INIT;

	*why = NULL;
	if (!r->st.ran)
		return 0;
	for (size_t i = 0; i < r->st.last_deps.n; i++) {
		if (!conf_strlist_has(deps, r->st.last_deps.v[i]))
			sbuf_addf(&gone, "%s'%s'", gone.len ? ", " : "", r->st.last_deps.v[i]);
	}
	if (!sbuf_ok(&gone)) {
		sbuf_release(&gone);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	if (gone.len) {
		*why = arena_printf(r->ctx->arena, "the previous test's %s %s not among this test's dependencies",
				    gone.buf, strchr(gone.buf, ',') ? "are" : "is");
		sbuf_release(&gone);
		return *why ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	sbuf_release(&gone);
	if (recommends != r->st.last_recommends)
		*why = recommends ? "this test needs recommends, the previous test did not"
				  : "the previous test installed recommends, this test does not";
	return 0;
}

/*
 * Takes the environment back to the base snapshot, for the reason why.
 * The artifacts of the tests so far wait on the host meanwhile and come
 * back after. Without a base snapshot *note (arena) says what differs from
 * autopkgtest, for the test's message.
 */
static int dep8_revert(struct dep8_run *r, const char *why, const char **note, struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	struct alts_err perr = ALTS_ERR_INIT;
	const char *stash, *scratch;
	int rc;

	*note = NULL;
	if (!r->have_base) {
		*note = arena_printf(ctx->arena, "note: autopkgtest would revert the testbed before this test (%s); %s, "
						 "so what the earlier tests installed is still there",
				     why, r->no_revert ? r->no_revert : "there is no snapshot to revert to");
		if (!*note)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		check_logf(ctx, "alts: %s", *note);
		return 0;
	}
	check_logf(ctx, "alts: reverting the environment to before the first test: %s", why);
	scratch = check_scratch_dir(ctx, err);
	if (!scratch)
		return err->code;
	stash = arena_printf(ctx->arena, "%s/dep8-%zu-artifacts-%u", scratch, ctx->check->index + 1, ++r->nreverts);
	if (!stash)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (mkdir(stash, 0700) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", stash);
	rc = dep8_art_mkdir(r, err);
	if (!rc)
		rc = runner_copy_out(ctx->runner, r->art, stash, err);
	if (rc)
		return rc;
	if (runner_snapshot_depth(ctx->runner) == r->base_depth)
		rc = runner_reset(ctx->runner, &perr);
	/* Snapshots of isolated tests above the base go first. */
	while (!rc && runner_snapshot_depth(ctx->runner) > r->base_depth)
		rc = runner_snapshot_drop(ctx->runner, &perr);
	if (rc)
		return alts_err_set(err, rc, "%s", perr.msg);
	r->st = r->base;
	stash = arena_printf(ctx->arena, "%s/artifacts", stash);
	if (!stash)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return runner_copy_in(ctx->runner, stash, r->dir, err);
}

/*
 * Runs a test: its dependencies, a revert when autopkgtest would revert,
 * the test. Breaks-testbed and isolation-container tests on a runner that
 * can reset get a snapshot before (after the earlier tests' changes) and a
 * reset after, so that what they did is gone for the next tests. Their
 * artifacts are collected before the reset (NN-<name>-artifacts-<test>).
 */
static int dep8_run_one(struct dep8_run *r, size_t i, const struct dep8_test *t, struct dep8_outcome *o,
			struct alts_err *err)
{
	struct check_ctx *ctx = r->ctx;
	struct dep8_state saved;
	struct strlist deps = { NULL, 0 };
	struct alts_err perr = ALTS_ERR_INIT;
	bool recommends = t->restrictions & DEP8_NEEDS_RECOMMENDS;
	bool isolated = (t->restrictions & (DEP8_BREAKS_TESTBED | DEP8_ISOLATION_CONTAINER)) && dep8_can_reset(r);
	const char *why, *note = NULL, *suffix;
	bool ok;
	int rc, rc2;

	rc = dep8_test_deps(r, t, &deps, &ok, o, err);
	if (rc || !ok)
		return rc;
	rc = dep8_revert_reason(r, &deps, recommends, &why, err);
	if (!rc && why)
		rc = dep8_revert(r, why, &note, err);
	if (rc)
		return rc;
	saved = r->st;
	if (isolated) {
		check_logf(ctx, "alts: %s: snapshot of the environment before the test",
			   (t->restrictions & DEP8_BREAKS_TESTBED) ? "breaks-testbed" : "isolation-container");
		rc = runner_snapshot(ctx->runner, &perr);
		if (rc == ALTS_ENOTSUP) {
			o->status = CHECK_SKIP;
			o->message = arena_printf(ctx->arena, "%s: no snapshot to reset to: %s",
						  (t->restrictions & DEP8_BREAKS_TESTBED) ? "breaks-testbed"
											  : "isolation-container",
						  perr.msg);
			return o->message ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
		if (rc)
			return alts_err_set(err, rc, "%s", perr.msg);
	}
	rc = dep8_run_test(r, i, t, &deps, o, err);
	r->st.ran = true;
	r->st.last_deps = deps;
	r->st.last_recommends = recommends;
	if (isolated) {
		suffix = arena_printf(ctx->arena, "-%s", t->name);
		if (!rc && suffix)
			rc = dep8_collect_artifacts(r, suffix, err);
		check_logf(ctx, "alts: resetting the environment to the snapshot after %s", t->name);
		rc2 = runner_reset(ctx->runner, &perr);
		if (rc2 && !rc)
			rc = alts_err_set(err, rc2, "%s", perr.msg);
		/* What the test installed, built or made is gone with the reset. */
		r->st = saved;
	}
	if (!rc && note) {
		o->message = o->message ? arena_printf(ctx->arena, "%s (%s)", o->message, note) : note;
		if (!o->message)
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	return rc;
}

static int dep8_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct dep8_conf *conf = ctx->check->conf;
	struct check_result *res = ctx->result;
	struct dep8_run r;
	struct pkg_mgr m;
	struct alts_err perr = ALTS_ERR_INIT;
	struct sbuf failed = SBUF_INIT;
	const char *arch_argv[] = { "dpkg", "--print-architecture", NULL };
	const char *why = NULL, *out = NULL;
	size_t nrun = 0, nrunnable = 0, nfailed = 0, nskipped = 0, nsuperficial = 0;
	bool ok;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.conf = conf;
	rc = pkg_ctx_detect(ctx, &m, &perr);
	if (rc == ALTS_ENOTFOUND || rc == ALTS_EINVALID || (!rc && (m.tool != PKG_TOOL_APT || m.root))) {
		check_set(ctx, CHECK_FAIL, "DEP-8 tests need a Debian environment with apt%s%s", rc ? ": " : "",
			  rc ? perr.msg : "");
		return 0;
	}
	if (rc)
		return alts_err_set(err, rc, "%s", perr.msg);
	/*
	 * Where the runner can reset, outside its work directory, which a reset
	 * empties: a snapshot taken for an isolated test then holds the tree, and
	 * the reset keeps it. (Not on the local runner: /var/tmp is the host's.)
	 */
	if (dep8_can_reset(&r))
		r.dir = arena_printf(ctx->arena, "/var/tmp/alts-dep8-%zu", ctx->check->index + 1);
	else
		r.dir = arena_printf(ctx->arena, "%s/dep8-%zu", runner_workdir(ctx->runner), ctx->check->index + 1);
	r.art = r.dir ? arena_printf(ctx->arena, "%s/artifacts", r.dir) : NULL;
	if (!r.art)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = check_env_mkdir(ctx, r.dir, err);
	if (!rc)
		rc = run_root(&r, arch_argv, NULL, NULL, &why, &out, err);
	if (rc)
		return rc;
	if (why) {
		check_set(ctx, CHECK_FAIL, "cannot tell the environment's architecture: %s", why);
		return 0;
	}
	r.arch = first_line(ctx->arena, out);
	rc = dep8_get_tree(&r, &ok, err);
	if (rc || !ok)
		return rc;
	/* The tree is readable by all; each test's run gives it to the user the test runs as. */
	{
		const char *mode[] = { "chmod", "-R", "a+rX", "--", r.tree, NULL };

		rc = run_root(&r, mode, NULL, NULL, &why, NULL, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < conf->tests.n; i++) {
		size_t k;

		for (k = 0; k < r.control.ntests && strcmp(r.control.tests[k].name, conf->tests.v[i]); k++)
			;
		if (k == r.control.ntests) {
			check_set(ctx, CHECK_FAIL, "tests: '%s' is not a test of debian/tests/control", conf->tests.v[i]);
			return 0;
		}
	}
	for (size_t i = 0; i < r.control.ntests; i++) {
		const struct dep8_test *t = &r.control.tests[i];

		nrunnable += (!conf->tests.n || conf_strlist_has(&conf->tests, t->name)) && !dep8_unsupported(&r, t);
	}
	rc = dep8_take_base(&r, nrunnable, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.control.ntests; i++) {
		const struct dep8_test *t = &r.control.tests[i];
		bool superficial = t->restrictions & DEP8_SUPERFICIAL;
		struct dep8_outcome o;
		struct check_sub *sub;
		const char *skip, *name;
		long from;
		double started = proc_now();

		if (conf->tests.n && !conf_strlist_has(&conf->tests, t->name))
			continue;
		name = superficial ? arena_printf(ctx->arena, "%s (superficial)", t->name) : t->name;
		if (!name)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		if (ctx->log)
			fflush(ctx->log);
		from = ctx->log ? ftell(ctx->log) : -1;
		check_logf(ctx, "alts: == test: %s ==", name);
		skip = dep8_unsupported(&r, t);
		if (skip) {
			memset(&o, 0, sizeof(o));
			o.status = CHECK_SKIP;
			o.message = skip;
			check_logf(ctx, "alts: SKIP %s", skip);
		} else {
			rc = dep8_run_one(&r, i, t, &o, err);
			if (rc)
				goto out;
			nrun++;
			check_logf(ctx, "alts: %s %s%s%s", check_status_name(o.status), t->name, o.message ? ": " : "",
				   o.message ? o.message : "");
		}
		sub = check_sub_add(ctx->arena, &res->subs, &res->nsubs, name, o.status, o.message);
		if (!sub) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		sub->duration = proc_now() - started;
		sub->output = check_log_since(ctx, from);
		nskipped += o.status == CHECK_SKIP;
		nsuperficial += superficial && o.status == CHECK_PASS;
		if (o.status == CHECK_FAIL && nfailed++ == 0)
			res->exit_code = o.exit_code;
		if (o.status == CHECK_FAIL && nfailed <= DEP8_FAILS_SHOWN)
			sbuf_addf(&failed, "%s'%s' (%s)", nfailed > 1 ? ", " : "", t->name, o.message);
		if (check_time_left(ctx) <= 0 || (ctx->cancel && *ctx->cancel))
			break;
	}
	if (nrun) {
		rc = dep8_collect_artifacts(&r, "", err);
		if (rc)
			goto out;
	}
	if (nfailed > DEP8_FAILS_SHOWN)
		sbuf_addf(&failed, " and %zu more", nfailed - DEP8_FAILS_SHOWN);
	if (nfailed)
		check_set(ctx, CHECK_FAIL, "%zu of %zu tests failed: %s", nfailed, res->nsubs, failed.buf);
	else if (nskipped == res->nsubs)
		check_set(ctx, CHECK_SKIP, "every test was skipped");
	else if (nsuperficial + nskipped == res->nsubs)
		check_set(ctx, CHECK_PASS, "only superficial tests passed");
	else
		check_set(ctx, CHECK_PASS, NULL);
out:
	sbuf_release(&failed);
	return rc;
}

const struct check_ops check_dep8_ops = {
	.name = "dep8",
	.abi = CHECK_ABI,
	.caps = CHECK_CAP_SNAPSHOTS,  /* breaks-testbed, isolation-container, the revert between tests */
	.conf_size = sizeof(struct dep8_conf),
	.keys = dep8_keys,
	.validate = dep8_validate,
	.run = dep8_run,
};
