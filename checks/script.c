/*
 * script: runs third-party test scripts (a file, a directory of them, or
 * a git repository) inside the environment. TAP output becomes
 * sub-results; a failing TAP test fails the script even when it exits 0.
 * Ansible playbooks (.yml, .yaml) run with ansible-playbook inside the
 * environment against itself (-i localhost, -c local): the controller is
 * never the host, so an untrusted playbook's lookups and local_action stay
 * in the environment too. ansible-core is installed there when missing.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "checks/tap_parse.h"
#include "framework/proc.h"
#include "runners/sandbox_sec.h"
#include "runners/runner_util.h"
#include "framework/fs.h"

#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCRIPT_GIT_TIMEOUT 600.0
#define SCRIPT_FAILS_SHOWN 3

enum script_tap { SCRIPT_TAP_AUTO = 0, SCRIPT_TAP_YES, SCRIPT_TAP_NO };

struct script_conf {
	const char *path;               /* relative to the suite's directory */
	struct check_git_source git;
	struct strlist args;
	struct strlist interpreter;     /* overrides the choice by extension */
	int tap;                        /* enum script_tap */
	const char *ansible_package;    /* installed when a playbook runs and ansible-playbook is missing; "" never */
	const char *host_path;          /* path made absolute by validate */
};

static int parse_tap(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL };
	const char *s = conf_scalar(node);

	if (!s || conf_is_null(node))
		return conf_fail(ctx, node, path, "expected true, false or auto, got %s", conf_type_name(node));
	if (!strcmp(s, "auto")) {
		*(int *)field = SCRIPT_TAP_AUTO;
		return 0;
	}
	for (size_t i = 0; yes[i]; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*(int *)field = !strcmp(s, yes[i]) ? SCRIPT_TAP_YES : SCRIPT_TAP_NO;
			return 0;
		}
	}
	return conf_fail(ctx, node, path, "expected true, false or auto, got '%s'", s);
}

static const struct conf_key git_keys[] = {
	{ "url", CONF_STRING, offsetof(struct check_git_source, url), CONF_REQUIRED | CONF_NONEMPTY, NULL, NULL },
	{ "ref", CONF_STRING, offsetof(struct check_git_source, ref), CONF_NONEMPTY, NULL, NULL },
	{ "path", CONF_STRING, offsetof(struct check_git_source, path), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

int check_git_parse(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct check_git_source *git = field;
	struct conf_section sec = { git_keys, git };
	int rc;

	if (node->type == YAML_SCALAR_NODE)
		rc = conf_decode_value(ctx, node, path, &git_keys[0], &git->url);
	else
		rc = conf_decode_map(ctx, node, path, &sec, 1);
	if (!rc)
		git->given = true;
	return rc;
}

static const struct conf_key script_keys[] = {
	{ "path", CONF_STRING, offsetof(struct script_conf, path), CONF_NONEMPTY, NULL, NULL },
	{ "git", CONF_CUSTOM, offsetof(struct script_conf, git), 0, check_git_parse, NULL },
	{ "args", CONF_STRLIST, offsetof(struct script_conf, args), 0, NULL, NULL },
	{ "interpreter", CONF_STRLIST, offsetof(struct script_conf, interpreter), CONF_NONEMPTY, NULL, NULL },
	{ "tap", CONF_CUSTOM, offsetof(struct script_conf, tap), 0, parse_tap, NULL },
	{ "ansible_package", CONF_STRING, offsetof(struct script_conf, ansible_package), 0, NULL, NULL },
	CONF_KEYS_END,
};

static const char *extension(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return dot && dot != base ? dot : "";
}

static bool known_extension(const char *path)
{
	static const char *const exts[] = { ".sh", ".bash", ".bats", ".py", ".yml", ".yaml", NULL };
	const char *ext = extension(path);

	for (const char *const *e = exts; *e; e++) {
		if (!strcmp(ext, *e))
			return true;
	}
	return false;
}

/* An Ansible playbook, by its extension (as ALTS tells them). */
static bool is_playbook(const char *path)
{
	const char *ext = extension(path);

	return !strcmp(ext, ".yml") || !strcmp(ext, ".yaml");
}

/* A file the check knows how to run: a known extension, executable, or an interpreter given. */
static bool runnable(const struct script_conf *conf, const char *host_path, const struct stat *st)
{
	return conf->interpreter.n || known_extension(host_path) || (st->st_mode & 0111);
}

/* A relative path inside a repository, without ".." components. */
static bool repo_path_ok(const char *p)
{
	return !p[0] || suite_inner_path_ok(p);
}

bool check_git_url_ok(const char *url)
{
	if (url[0] == '-' || !strncmp(url, "ext::", 5) || !strncmp(url, "fd::", 4))
		return false;
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

int check_git_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct suite *suite,
		       const struct check_git_source *git)
{
	if (!check_git_url_ok(git->url))
		return conf_fail(ctx, node, path, "'%s' is not a git URL alts will clone", git->url);
	if (git->ref && !check_git_ref_ok(git->ref))
		return conf_fail(ctx, node, path, "git ref '%s' may only contain letters, digits and . _ / - + (not first)",
				 git->ref);
	if (git->path && !repo_path_ok(git->path))
		return conf_fail(ctx, node, path, "'%s' must be a relative path inside the repository", git->path);
	if ((suite->load_flags & SUITE_LOAD_FARM) && suite_url_is_local(git->url))
		return conf_fail(ctx, node, path,
				 "'%s': a suite sent to the farm may only clone network git URLs (https://, "
				 "http://, git://, ssh://), not a path or file:// URL on the worker",
				 git->url);
	return 0;
}

bool check_git_ref_ok(const char *ref)
{
	if (ref[0] == '-')
		return false;
	for (const char *p = ref; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._/-+", *p))
			return false;
	}
	return true;
}

static int script_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			   struct suite_check *check)
{
	struct script_conf *conf = check->conf;
	struct stat st;

	if (!!conf->path == conf->git.given)
		return conf_fail(ctx, node, path, conf->path ? "give either 'path' or 'git', not both"
							     : "missing required key 'path' (or 'git')");
	if (conf->git.given)
		return check_git_validate(ctx, check_conf_node(ctx, node, "git"), conf_path_key(ctx, path, "git"), suite,
					  &conf->git);
	if ((suite->load_flags & SUITE_LOAD_FARM) && !suite_inner_path_ok(conf->path))
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "script '%s': a suite sent to the farm may only run scripts from its git sources or "
				 "from inside its own task folder (no absolute path, no '..')",
				 conf->path);
	conf->host_path = conf->path[0] == '/' ? conf->path : arena_printf(suite->arena, "%s/%s", suite->dir, conf->path);
	if (!conf->host_path)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	if (suite->load_flags & SUITE_LOAD_NO_FS)
		return 0;  /* the scheduler: the worker checks the file exists */
	if (stat(conf->host_path, &st) < 0)
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "cannot find script '%s': %s", conf->host_path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "'%s' is neither a file nor a directory", conf->host_path);
	if (S_ISREG(st.st_mode) && !runnable(conf, conf->host_path, &st))
		return conf_fail(ctx, check_conf_node(ctx, node, "path"), conf_path_key(ctx, path, "path"),
				 "'%s' is not executable and has no known extension (.sh, .bash, .bats, .py, .yml, .yaml); "
				 "make it executable or set 'interpreter'",
				 conf->host_path);
	return 0;
}

/* ---- running ----------------------------------------------------------- */

struct script_file {
	const char *name;      /* file name, for results */
	const char *env_path;  /* where it is in the environment */
};

/* 0_init* first, then by name (ALTS runs set-up scripts first). */
static int script_order(const void *a, const void *b)
{
	const struct script_file *x = a, *y = b;
	bool xi = !strncmp(x->name, "0_init", 6), yi = !strncmp(y->name, "0_init", 6);

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The runnable files of a host directory, sorted; others are logged and left out. */
static int list_dir(struct check_ctx *ctx, const struct script_conf *conf, const char *host_dir,
		    const char *env_dir, struct script_file **out, size_t *n, struct alts_err *err)
{
	DIR *d = opendir(host_dir);
	struct script_file *v = NULL;
	size_t k = 0, alloc = 0;
	struct dirent *de;
	int rc = 0;

	if (!d)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", host_dir);
	while ((de = readdir(d))) {
		char *hp;
		struct stat st;
		bool ok;

		if (de->d_name[0] == '.')
			continue;
		hp = alts_asprintf("%s/%s", host_dir, de->d_name);
		if (!hp) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			break;
		}
		ok = stat(hp, &st) == 0 && S_ISREG(st.st_mode);
		if (ok && !runnable(conf, hp, &st)) {
			check_logf(ctx, "alts: leaving out '%s': not executable and no known extension", de->d_name);
			ok = false;
		}
		alts_free(hp);
		if (!ok)
			continue;
		if (k == alloc) {
			size_t want = alloc ? 2 * alloc : 16;
			struct script_file *nv = arena_alloc(ctx->arena, want * sizeof(*nv));

			if (!nv) {
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
				break;
			}
			if (k)
				memcpy(nv, v, k * sizeof(*nv));
			v = nv;
			alloc = want;
		}
		v[k].name = arena_strdup(ctx->arena, de->d_name);
		v[k].env_path = arena_printf(ctx->arena, "%s/%s", env_dir, de->d_name);
		if (!v[k].name || !v[k].env_path) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			break;
		}
		k++;
	}
	closedir(d);
	if (rc)
		return rc;
	if (k)
		qsort(v, k, sizeof(*v), script_order);
	*out = v;
	*n = k;
	return 0;
}

/* The argv for one script: interpreter by extension (or the override), path, args. */
static const char **script_argv(struct check_ctx *ctx, const struct script_conf *conf, const char *env_path,
				bool *bats)
{
	const char *ext = extension(env_path);
	const char **argv = arena_alloc(ctx->arena, (conf->interpreter.n + conf->args.n + 8) * sizeof(*argv));
	size_t n = 0;

	*bats = false;
	if (!argv)
		return NULL;
	if (conf->interpreter.n) {
		for (size_t i = 0; i < conf->interpreter.n; i++)
			argv[n++] = conf->interpreter.v[i];
	} else if (!strcmp(ext, ".sh") || !strcmp(ext, ".bash")) {
		argv[n++] = "bash";
	} else if (!strcmp(ext, ".bats")) {
		argv[n++] = "bats";
		argv[n++] = "--tap";
		*bats = true;
	} else if (!strcmp(ext, ".py")) {
		argv[n++] = "python3";
	} else if (is_playbook(env_path)) {
		/* Inside the environment, against itself: the controller is the environment, not the host. */
		argv[n++] = "ansible-playbook";
		argv[n++] = "-i";
		argv[n++] = "localhost,";
		argv[n++] = "-c";
		argv[n++] = "local";
	}
	argv[n++] = env_path;
	for (size_t i = 0; i < conf->args.n; i++)
		argv[n++] = conf->args.v[i];
	argv[n] = NULL;
	return argv;
}

/* TAP tests as sub-results, nested subtests included. */
static int tap_to_subs(struct check_ctx *ctx, const struct tap_doc *doc, struct check_sub **subs, size_t *nsubs)
{
	for (size_t i = 0; i < doc->ntests; i++) {
		const struct tap_test *t = &doc->tests[i];
		enum check_status status = CHECK_PASS;
		const char *msg = NULL;
		struct check_sub *sub;

		if (t->directive == TAP_SKIP) {
			status = CHECK_SKIP;
			msg = t->reason && *t->reason ? t->reason : "skipped";
		} else if (t->directive == TAP_TODO && !t->ok) {
			status = CHECK_XFAIL;
			msg = arena_printf(ctx->arena, "TODO%s%s", t->reason && *t->reason ? ": " : "",
					   t->reason ? t->reason : "");
		} else if (!t->ok) {
			status = CHECK_FAIL;
			msg = t->subtest ? tap_failure(ctx->arena, t->subtest) : NULL;
			if (!msg)
				msg = "not ok";
		}
		sub = check_sub_add(ctx->arena, subs, nsubs, tap_test_name(ctx->arena, t), status, msg);
		if (!sub)
			return ALTS_ENOMEM;
		sub->output = t->diag;
		if (t->subtest && tap_to_subs(ctx, t->subtest, &sub->subs, &sub->nsubs))
			return ALTS_ENOMEM;
	}
	return 0;
}

/* The outcome of one script. */
struct script_outcome {
	enum check_status status;
	const char *message;      /* why it failed or was skipped */
	struct check_sub *subs;   /* its TAP tests */
	size_t nsubs;
	struct proc_result proc;
};

/* The scripts' environment plus plain output for ansible-playbook (no colours, no .retry files). */
static const char *const *playbook_env(struct check_ctx *ctx, const char *const *env)
{
	static const char *const ansible[] = { "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
					       "ANSIBLE_LOCALHOST_WARNING=0", NULL };
	size_t n = 0, k = 0;
	const char **v;

	while (env && env[n])
		n++;
	v = arena_alloc(ctx->arena, (n + ALTS_ARRAY_SIZE(ansible)) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[k++] = env[i];
	for (size_t i = 0; ansible[i]; i++)
		v[k++] = ansible[i];
	v[k] = NULL;
	return v;
}

static int script_run_one(struct check_ctx *ctx, const struct script_conf *conf, const struct script_file *f,
			  const char *cwd, const char *const *env, struct script_outcome *out, struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	const struct tap_doc *doc = NULL;
	const char *tap_fail = NULL, *exit_fail = NULL;
	bool bats = false, tap;
	const char *text;
	size_t text_len;
	const char **argv = script_argv(ctx, conf, f->env_path, &bats);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!argv)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!conf->interpreter.n && is_playbook(f->env_path)) {
		env = playbook_env(ctx, env);
		if (!env)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	opts.cwd = cwd;
	opts.extra_env = env;
	opts.whole_stdout = true;
	check_logf(ctx, "alts: running %s", f->name);
	rc = check_cmd_ex(ctx, &o, argv, &opts, err);
	if (rc)
		goto out;
	out->proc = o.proc;
	/* The log keeps 1 MiB of the output; the TAP is read whole (o.whole when longer). */
	text = o.whole ? o.whole : o.out.buf;
	text_len = o.whole ? o.whole_len : o.out.len;
	tap = conf->tap == SCRIPT_TAP_YES || (conf->tap == SCRIPT_TAP_AUTO && (bats || tap_detect(text, text_len)));
	if (tap) {
		doc = tap_parse(ctx->arena, text, text_len);
		if (!doc || tap_to_subs(ctx, doc, &out->subs, &out->nsubs)) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		tap_fail = tap_failure(ctx->arena, doc);
		/* Past proc's capture (256 MiB), or when it could not be mapped, the middle is gone: say so. */
		if (tap_fail && o.out.capped && (!o.whole || memmem(o.whole, o.whole_len, "bytes of output left out", 24)))
			tap_fail = arena_printf(ctx->arena,
						"%s (the script's output passed the capture limit and was cut in "
						"the middle: the TAP read is incomplete)",
						tap_fail);
	}
	if (o.proc.exit_code != 0 || o.proc.timed_out || o.proc.canceled)
		exit_fail = o.proc.exec_errno ? arena_printf(ctx->arena, "cannot execute '%s': %s", argv[0],
							     strerror(o.proc.exec_errno))
					      : check_cmd_status(ctx, &o);
	if (exit_fail || tap_fail) {
		out->status = CHECK_FAIL;
		if (exit_fail && tap_fail)
			out->message = arena_printf(ctx->arena, "%s; %s", exit_fail, tap_fail);
		else
			out->message = exit_fail ? exit_fail : tap_fail;
	} else if (doc && doc->skip_all) {
		out->status = CHECK_SKIP;
		out->message = doc->skip_reason && *doc->skip_reason ? doc->skip_reason : "skipped by the script";
	} else {
		out->status = CHECK_PASS;
	}
out:
	check_cmd_out_release(&o);
	return rc;
}

/* Runs a package command; *why (arena) says how it failed, NULL when it succeeded. */
static int ansible_pkg_run(struct check_ctx *ctx, const struct pkg_cmd *cmd, const char **why, struct alts_err *err)
{
	struct check_cmd_out o;
	int rc = pkg_ctx_run(ctx, &o, cmd, err);

	*why = NULL;
	if (!rc && o.proc.exit_code != 0)
		*why = arena_printf(ctx->arena, "%s (%s): %s", cmd->argv[0], check_cmd_status(ctx, &o),
				    check_cmd_summary(ctx, &o));
	check_cmd_out_release(&o);
	return rc;
}

static int ansible_present(struct check_ctx *ctx, bool *present, struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	struct check_cmd_out o;
	int rc;

	opts.timeout = 120;
	opts.quiet = true;
	rc = check_cmd_ex(ctx, &o, pkg_probe_argv("ansible-playbook"), &opts, err);
	*present = !rc && o.proc.exit_code != 127 && !o.proc.exec_errno;
	check_cmd_out_release(&o);
	return rc;
}

/*
 * Makes sure ansible-playbook runs in the environment: present, or
 * ansible_package (default ansible-core) installed now without recommended
 * packages (apt-get update and again when the package is unknown). *why
 * (arena) is NULL when ready, else why not, for the playbooks' failures.
 */
static int ansible_ready(struct check_ctx *ctx, const struct script_conf *conf, const char **why,
			 struct alts_err *err)
{
	const char *name = conf->ansible_package ? conf->ansible_package : "ansible-core";
	struct suite_package pkg = { .name = name };
	struct pkg_cmd install = PKG_CMD_INIT, refresh = PKG_CMD_INIT;
	struct alts_err perr = ALTS_ERR_INIT;
	struct pkg_mgr m;
	bool present = false;
	int rc = ansible_present(ctx, &present, err);

	*why = NULL;
	if (rc || present)
		return rc;
	if (!*name) {
		*why = "ansible-playbook is not in the environment (ansible_package is empty: alts installs nothing)";
		return 0;
	}
	rc = pkg_ctx_detect(ctx, &m, &perr);
	if (rc == ALTS_ENOTFOUND || rc == ALTS_EINVALID || (!rc && m.root)) {
		*why = arena_printf(ctx->arena, "ansible-playbook is not in the environment and alts cannot install %s: %s",
				    name, rc ? perr.msg : "environment.root is set");
		return 0;
	}
	if (rc)
		return alts_err_set(err, rc, "%s", perr.msg);
	check_logf(ctx, "alts: ansible-playbook is not in the environment: installing %s", name);
	rc = pkg_install_cmd(&install, &m, &pkg, 1, PKG_INSTALL_NO_RECOMMENDS, err);
	if (!rc)
		rc = ansible_pkg_run(ctx, &install, why, err);
	if (!rc && *why && m.tool == PKG_TOOL_APT) {
		/* A fresh image has no package lists: fetch them and try once more. */
		rc = pkg_refresh_cmd(&refresh, &m, err);
		if (!rc)
			rc = ansible_pkg_run(ctx, &refresh, why, err);
		if (!rc && !*why)
			rc = ansible_pkg_run(ctx, &install, why, err);
	}
	if (!rc && *why)
		*why = arena_printf(ctx->arena, "ansible-playbook is not in the environment and installing %s failed: %s",
				    name, *why);
	if (!rc && !*why) {
		rc = ansible_present(ctx, &present, err);
		if (!rc && !present)
			*why = arena_printf(ctx->arena, "%s is installed but ansible-playbook still does not run", name);
	}
	pkg_cmd_release(&install);
	pkg_cmd_release(&refresh);
	return rc;
}

/* True when path, links resolved, is dir or under it. */
static bool resolves_inside(const char *path, const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t n;

	if (!realpath(path, a) || !realpath(dir, b))
		return false;
	n = strlen(b);
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/' || (n == 1 && b[0] == '/'));
}

#define SCRIPT_CLONE_UID 65534  /* nobody */

struct clone_confine {
	const struct sandbox_sec *sec;
	const char *dir;  /* the clone's directory: entered as root, so nobody needs no way through its parents */
	bool drop;
};

/*
 * The clone runs a network client on input from the suite: as nobody,
 * without a way back to root (no_new_privs), under the sandbox's seccomp
 * filter, with no descriptor of alts-run's (proc_run closes them).
 */
static int clone_enter(void *payload)
{
	const struct clone_confine *c = payload;
	gid_t gid = SCRIPT_CLONE_UID;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (chdir(c->dir) < 0)
		return -errno;
	if (c->drop && (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
			setresuid(SCRIPT_CLONE_UID, SCRIPT_CLONE_UID, SCRIPT_CLONE_UID) < 0))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	rc = sandbox_sec_apply_nnp(c->sec);
	return rc < 0 ? rc : 0;
}

/* Clones the repository on the host into the scratch dir; *dir gets the checkout. */
static int script_clone(struct check_ctx *ctx, const struct script_conf *conf, const char **dir, bool *ok,
			struct alts_err *err)
{
	static const char *const pass[] = { "PATH", "HOME", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
					    "HTTPS_PROXY", "NO_PROXY", "GIT_SSL_CAINFO", "SSL_CERT_FILE", NULL };
	const char *base = check_scratch_dir(ctx, err);
	const char *dest = base ? arena_printf(ctx->arena, "%s/git-%zu", base, ctx->check->index + 1) : NULL;
	const char *errfile = base ? arena_printf(ctx->arena, "%s/git-clone.log", base) : NULL;
	const char *argv[13], *envp[ALTS_ARRAY_SIZE(pass) + 5];
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct sbuf text = SBUF_INIT;
	struct sandbox_sec sec;
	struct clone_confine confine = { NULL, NULL, false };
	char tmp[] = "/tmp/alts-clone-XXXXXX", home[64], clone_dir[64];
	double timeout = ctx->config && ctx->config->command_timeout > 0 ? ctx->config->command_timeout
									 : SCRIPT_GIT_TIMEOUT;
	size_t n = 0, ne = 0;
	int rc;

	*ok = false;
	if (!base)
		return err->code;
	if (!dest || !errfile)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	argv[n++] = "git";
	argv[n++] = "clone";
	argv[n++] = "--quiet";
	argv[n++] = "--no-local";  /* a local path is cloned like file://: no hard links into the host's repository */
	argv[n++] = "--depth";
	argv[n++] = "1";
	if (conf->git.ref) {
		argv[n++] = "--branch";
		argv[n++] = conf->git.ref;
	}
	argv[n++] = "--";
	argv[n++] = conf->git.url;
	argv[n++] = "repo";  /* in the clone's own folder (moved to dest afterwards) */
	argv[n] = NULL;
	/* The host's environment is not passed whole: only what git needs to reach the server. */
	for (const char *const *p = pass; *p; p++) {
		const char *v = getenv(*p);
		char *e;

		if (!v)
			continue;
		e = arena_printf(ctx->arena, "%s=%s", *p, v);
		if (!e)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		envp[ne++] = e;
	}
	envp[ne++] = "GIT_TERMINAL_PROMPT=0";
	/* Nothing of root's: no ~/.gitconfig or credentials; HOME is the clone's own folder. */
	envp[ne++] = home;
	envp[ne++] = "LANG=C";
	envp[ne] = NULL;
	if (check_time_left(ctx) < timeout)
		timeout = check_time_left(ctx);
	check_logf(ctx, "alts: on the host, as nobody under seccomp: $ %s", check_argv_display(ctx, argv));
	spec.argv = argv;
	spec.envp = envp;
	spec.stdout_path = errfile;
	spec.stderr_path = errfile;
	spec.timeout = timeout;
	spec.cancel = ctx->cancel;
	/*
	 * The clone is made by nobody, in a directory of its own under /tmp
	 * (which nobody can reach, unlike the run's scratch folder); it is
	 * moved to dest afterwards.
	 */
	confine.drop = geteuid() == 0;
	if (!mkdtemp(tmp))
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a directory for the clone");
	if (confine.drop && chown(tmp, SCRIPT_CLONE_UID, SCRIPT_CLONE_UID) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot give '%s' to nobody", tmp);
		fs_remove_tree(tmp);
		return rc;
	}
	/*
	 * A local repository (alts-run on the user's own suite; the farm
	 * refuses them) belongs to another user than nobody: git needs
	 * safe.directory from a global config to read it.
	 */
	if (!(ctx->suite->load_flags & SUITE_LOAD_FARM)) {
		char cfg[64];
		FILE *f;

		snprintf(cfg, sizeof(cfg), "%s/.gitconfig", tmp);
		f = fopen(cfg, "we");
		if (f) {
			fputs("[safe]\n\tdirectory = *\n", f);
			fclose(f);
		}
	}
	snprintf(home, sizeof(home), "HOME=%s", tmp);
	snprintf(clone_dir, sizeof(clone_dir), "%s/repo", tmp);
	rc = sandbox_sec_prepare(&sec, err);
	if (rc)
		return rc;
	confine.sec = &sec;
	confine.dir = tmp;
	spec.child_enter = clone_enter;
	spec.enter_payload = &confine;
	rc = proc_run(&res, &spec, err);
	sandbox_sec_release(&sec);
	if (!rc && !res.exit_code && !res.timed_out && rename(clone_dir, dest) < 0) {
		rc = errno == EXDEV ? runner_host_copy(clone_dir, dest, err)
				    : alts_err_errno(err, ALTS_EENV, errno, "cannot move the clone to '%s'", dest);
	}
	fs_remove_tree(tmp);
	if (rc)
		return rc;
	sbuf_read_file(&text, errfile, 65536);
	unlink(errfile);
	if (text.len && ctx->log)
		fwrite(text.buf, 1, text.len, ctx->log);
	if (res.exit_code != 0 || res.timed_out) {
		struct check_cmd_out fake;

		memset(&fake, 0, sizeof(fake));
		fake.proc = res;
		fake.err = text;
		check_set(ctx, CHECK_FAIL, "git clone of '%s' failed (%s): %s", conf->git.url, check_cmd_status(ctx, &fake),
			  check_cmd_summary(ctx, &fake));
		sbuf_release(&text);
		return 0;
	}
	sbuf_release(&text);
	*dir = conf->git.path ? arena_printf(ctx->arena, "%s/%s", dest, conf->git.path) : dest;
	if (!*dir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	/* A link in the repository may not lead the copy to the host's files. */
	if (conf->git.path && !resolves_inside(*dir, dest)) {
		check_set(ctx, CHECK_FAIL, "'%s' in the repository leads out of it (a symbolic link?)", conf->git.path);
		return 0;
	}
	*ok = true;
	return 0;
}

int check_git_clone(struct check_ctx *ctx, const char *url, const char *ref, const char *path, const char **dir,
		    bool *ok, struct alts_err *err)
{
	struct script_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.git.url = url;
	conf.git.ref = ref;
	conf.git.path = path;
	conf.git.given = true;
	return script_clone(ctx, &conf, dir, ok, err);
}

static int script_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct script_conf *conf = ctx->check->conf;
	struct check_result *res = ctx->result;
	const char *src = conf->host_path, *base, *env_dir, *env_src;
	const char *const *env;
	struct script_file *files = NULL, single;
	struct sbuf failed = SBUF_INIT;
	size_t n = 0, nfailed = 0, nskipped = 0;
	struct stat st;
	bool is_dir, ok = true, ansible_checked = false;
	const char *no_ansible = NULL;
	int rc;

	if (conf->git.given) {
		rc = script_clone(ctx, conf, &src, &ok, err);
		if (rc || !ok)
			return rc;
	} else if (!src) {
		src = conf->path[0] == '/' ? conf->path : arena_printf(ctx->arena, "%s/%s", ctx->suite->dir, conf->path);
		if (!src)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	if (!conf->git.given && (ctx->suite->load_flags & SUITE_LOAD_FARM) && !resolves_inside(src, ctx->suite->dir)) {
		check_set(ctx, CHECK_FAIL, "script '%s' leads out of the task's folder (a symbolic link?)", conf->path);
		return 0;
	}
	if (stat(src, &st) < 0) {
		check_set(ctx, CHECK_FAIL, "cannot find script '%s': %s", src, strerror(errno));
		return 0;
	}
	is_dir = S_ISDIR(st.st_mode);
	if (!is_dir && !runnable(conf, src, &st)) {
		check_set(ctx, CHECK_FAIL, "'%s' is not executable and has no known extension; set 'interpreter'", src);
		return 0;
	}
	base = strrchr(src, '/');
	base = base && base[1] ? base + 1 : "script";
	env_dir = arena_printf(ctx->arena, "%s/scripts-%zu", runner_workdir(ctx->runner), ctx->check->index + 1);
	env_src = env_dir ? arena_printf(ctx->arena, "%s/%s", env_dir, base) : NULL;
	env = check_alts_env(ctx);
	if (!env_src || !env)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = check_env_mkdir(ctx, env_dir, err);
	if (!rc)
		rc = runner_copy_in(ctx->runner, src, env_src, err);
	if (rc)
		return rc;

	if (is_dir) {
		rc = list_dir(ctx, conf, src, env_src, &files, &n, err);
		if (rc)
			return rc;
		if (!n) {
			check_set(ctx, CHECK_FAIL, "no runnable scripts in '%s'", src);
			return 0;
		}
	} else {
		single.name = base;
		single.env_path = env_src;
		files = &single;
		n = 1;
	}

	for (size_t i = 0; i < n; i++) {
		struct script_outcome so;
		struct check_sub *sub;

		if (!conf->interpreter.n && is_playbook(files[i].name) && !ansible_checked) {
			rc = ansible_ready(ctx, conf, &no_ansible, err);
			if (rc)
				goto out;
			ansible_checked = true;
		}
		if (!conf->interpreter.n && is_playbook(files[i].name) && no_ansible) {
			memset(&so, 0, sizeof(so));
			so.status = CHECK_FAIL;
			so.message = no_ansible;
			so.proc.exit_code = 127;
		} else {
			rc = script_run_one(ctx, conf, &files[i], is_dir ? env_src : env_dir, env, &so, err);
			if (rc)
				goto out;
		}
		if (so.status == CHECK_FAIL && nfailed++ == 0) {
			res->exit_code = so.proc.exit_code;
			res->term_signal = so.proc.term_signal;
			res->timed_out = so.proc.timed_out;
		} else if (!nfailed) {
			res->exit_code = so.proc.exit_code;
		}
		if (so.status == CHECK_FAIL && nfailed <= SCRIPT_FAILS_SHOWN)
			sbuf_addf(&failed, "%s'%s' (%s)", nfailed > 1 ? ", " : "", files[i].name, so.message);
		nskipped += so.status == CHECK_SKIP;
		if (!is_dir) {
			res->subs = so.subs;
			res->nsubs = so.nsubs;
			if (so.status == CHECK_PASS)
				check_set(ctx, CHECK_PASS, NULL);
			else
				check_set(ctx, so.status, "%s", so.message);
			goto out;
		}
		sub = check_sub_add(ctx->arena, &res->subs, &res->nsubs, files[i].name, so.status, so.message);
		if (!sub) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		sub->subs = so.subs;
		sub->nsubs = so.nsubs;
		if (so.proc.timed_out || so.proc.canceled)
			break;
	}
	if (nfailed > SCRIPT_FAILS_SHOWN)
		sbuf_addf(&failed, " and %zu more", nfailed - SCRIPT_FAILS_SHOWN);
	if (nfailed)
		check_set(ctx, CHECK_FAIL, "%zu of %zu scripts failed: %s", nfailed, n, failed.buf);
	else if (nskipped == n)
		check_set(ctx, CHECK_SKIP, "every script skipped itself");
	else
		check_set(ctx, CHECK_PASS, NULL);
out:
	sbuf_release(&failed);
	return rc;
}

const struct check_ops check_script_ops = {
	.name = "script",
	.abi = CHECK_ABI,
	.caps = 0,
	.conf_size = sizeof(struct script_conf),
	.keys = script_keys,
	.validate = script_validate,
	.run = script_run,
};
