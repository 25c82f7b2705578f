/*
 * upgrade: installs a previous version of the suite's packages (a given
 * version, whatever a given repository ships, or what the distribution
 * ships), upgrades to the packages under test and, optionally, downgrades
 * back. Each step runs the maintainer scripts and is a part of the result
 * with its own log; install and upgrade steps verify the version and the
 * origin that ended up installed. With modify_conffiles, the package's
 * conffiles get a local change before the upgrade, and the upgrade must
 * keep it (or say where it went).
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/leftovers.h"
#include "checks/pkg.h"
#include "checks/pkg_life.h"
#include "framework/proc.h"

#define UPGRADE_MARK "# local change made by alts (upgrade: modify_conffiles)"

struct upgrade_conf {
	const char *from;          /* "distribution", a repository URL/apt line, or a version */
	bool downgrade;
	bool modify_conffiles;
	struct strlist packages;   /* subset of the suite's packages; empty: all */
};

static const struct conf_key upgrade_keys[] = {
	{ "from", CONF_STRING, offsetof(struct upgrade_conf, from), CONF_REQUIRED | CONF_NONEMPTY, NULL, NULL },
	{ "downgrade", CONF_BOOL, offsetof(struct upgrade_conf, downgrade), 0, NULL, NULL },
	{ "modify_conffiles", CONF_BOOL, offsetof(struct upgrade_conf, modify_conffiles), 0, NULL, NULL },
	{ "packages", CONF_STRLIST, offsetof(struct upgrade_conf, packages), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

enum from_kind { FROM_VERSION, FROM_REPOSITORY, FROM_DISTRIBUTION };

static enum from_kind from_kind(const char *from)
{
	if (!strcmp(from, "distribution"))
		return FROM_DISTRIBUTION;
	if (from[0] == '/' || strstr(from, "://") || !strncmp(from, "deb ", 4))
		return FROM_REPOSITORY;
	return FROM_VERSION;
}

static bool version_chars_ok(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".+~:-_", *p))
			return false;
	}
	return *v != '-';
}

static int upgrade_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			    struct suite_check *check)
{
	const struct upgrade_conf *conf = check->conf;
	const char *pm = suite->env.package_manager;
	int rc = pkg_validate_subset(ctx, node, path, suite, &conf->packages);

	if (rc)
		return rc;
	if (suite->env.root || (pm && (!strcmp(pm, "dpkg") || !strcmp(pm, "rpm"))))
		return conf_fail(ctx, node, path, "upgrade needs a package manager that resolves versions (apt, dnf, "
				 "yum), not %s", suite->env.root ? "environment.root" : pm);
	if (from_kind(conf->from) == FROM_VERSION && !version_chars_ok(conf->from))
		return conf_fail(ctx, check_conf_node(ctx, node, "from"), conf_path_key(ctx, path, "from"),
				 "'%s' is not a version, a repository URL or 'distribution'", conf->from);
	return 0;
}

/* One step's outcome, before it becomes a part of the result. */
struct step {
	const char *name;
	enum check_status status;
	const char *message;
	long log_from;     /* offset of the step's first log line */
	double started;
};

static void step_begin(struct check_ctx *ctx, struct step *st, const char *name)
{
	st->name = name;
	st->status = CHECK_PASS;
	st->message = NULL;
	st->started = proc_now();
	if (ctx->log)
		fflush(ctx->log);
	st->log_from = ctx->log ? ftell(ctx->log) : -1;
	check_logf(ctx, "alts: == step: %s ==", name);
}

static int step_end(struct check_ctx *ctx, struct step *st, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	struct check_sub *sub = check_sub_add(ctx->arena, &res->subs, &res->nsubs, st->name, st->status, st->message);

	if (!sub)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	sub->duration = proc_now() - st->started;
	sub->output = check_log_since(ctx, st->log_from);
	return 0;
}

static void step_fail(struct check_ctx *ctx, struct step *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void step_fail(struct check_ctx *ctx, struct step *st, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	st->status = CHECK_FAIL;
	st->message = sb.oom ? "out of memory" : arena_strndup(ctx->arena, sb.buf, sb.len);
	check_logf(ctx, "alts: step failed: %s", st->message ? st->message : "?");
	sbuf_release(&sb);
}

/* Writes repos into the environment and makes each known. *ok false: the step failed (recorded). */
static int add_repos(struct check_ctx *ctx, struct step *st, const struct pkg_mgr *m, const struct suite_repo *repos,
		     size_t n, bool *ok, struct alts_err *err)
{
	int rc = 0;

	*ok = true;
	for (size_t i = 0; i < n && *ok; i++) {
		struct sbuf content = SBUF_INIT;
		const char *env_path = NULL, *host_path = NULL;
		struct alts_err perr = ALTS_ERR_INIT;
		struct pkg_cmd refresh = PKG_CMD_INIT;
		struct check_cmd_out o;

		rc = pkg_repo_file(&content, &env_path, m, &repos[i], ctx->arena, &perr);
		if (rc) {
			sbuf_release(&content);
			if (rc != ALTS_EINVALID)
				return alts_err_set(err, rc, "%s", perr.msg);
			step_fail(ctx, st, "%s", perr.msg);
			*ok = false;
			return 0;
		}
		check_logf(ctx, "alts: repository '%s' -> %s:\n%s", repos[i].name, env_path, content.buf);
		rc = check_write_file(ctx, &host_path, "repo", content.buf, content.len, err);
		sbuf_release(&content);
		if (!rc)
			rc = runner_copy_in(ctx->runner, host_path, env_path, err);
		if (!rc)
			rc = pkg_refresh_list_cmd(&refresh, m, env_path, err);
		if (rc || !refresh.argc) {
			pkg_cmd_release(&refresh);
			if (rc)
				return rc;
			continue;
		}
		rc = pkg_ctx_run(ctx, &o, &refresh, err);
		if (!rc && o.proc.exit_code != 0) {
			step_fail(ctx, st, "%s update failed (%s): %s", pkg_tool_name(m->tool), check_cmd_status(ctx, &o),
				  pkg_ctx_failure(ctx, &o));
			*ok = false;
		}
		check_cmd_out_release(&o);
		pkg_cmd_release(&refresh);
		if (rc)
			return rc;
	}
	return rc;
}

/* Copies package files into the environment; pkgs[i].file becomes the environment's path. */
static int copy_files(struct check_ctx *ctx, struct suite_package *pkgs, size_t n, struct alts_err *err)
{
	const char *dir = arena_printf(ctx->arena, "%s/upgrade-%zu", runner_workdir(ctx->runner), ctx->check->index + 1);
	bool made = false;
	int rc;

	if (!dir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *base, *dest;

		if (!pkgs[i].file)
			continue;
		if (!made) {
			rc = check_env_mkdir(ctx, dir, err);
			if (rc)
				return rc;
			made = true;
		}
		base = strrchr(pkgs[i].file, '/');
		dest = arena_printf(ctx->arena, "%s/%s", dir, base ? base + 1 : pkgs[i].file);
		if (!dest)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = runner_copy_in(ctx->runner, pkgs[i].file, dest, err);
		if (rc)
			return rc;
		pkgs[i].file = dest;
	}
	return 0;
}

/*
 * Runs the package command of a step and verifies each package: installed,
 * at the version in want[i] (NULL: pkg_ctx_verify()'s own idea), from
 * repos. got[i] receives the installed version.
 */
static int run_step_cmd(struct check_ctx *ctx, struct step *st, const struct pkg_mgr *m, struct pkg_cmd *cmd,
			const struct suite_package *pkgs, size_t n, const char *const *want,
			const struct suite_repo *repos, size_t nrepos, const char **got, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	struct check_cmd_out o;
	int rc = pkg_ctx_run(ctx, &o, cmd, err);

	if (rc)
		goto out;
	res->exit_code = o.proc.exit_code;
	res->term_signal = o.proc.term_signal;
	res->timed_out = o.proc.timed_out;
	if (o.proc.exit_code != 0 || o.proc.timed_out) {
		step_fail(ctx, st, "%s failed (%s): %s", pkg_tool_name(m->tool), check_cmd_status(ctx, &o),
			  pkg_ctx_failure(ctx, &o));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct suite_package p = pkgs[i];
		const char *why = NULL;
		bool installed = false;

		got[i] = NULL;
		rc = pkg_ctx_installed(ctx, m, p.name, &installed, &got[i], err);
		if (rc)
			goto out;
		if (!installed) {
			step_fail(ctx, st, "%s reported success, but %s is not installed", pkg_tool_name(m->tool), p.name);
			goto out;
		}
		if (want && want[i]) {
			p.version = want[i];
			p.epoch = NULL;
			p.file = NULL;
		}
		rc = pkg_ctx_verify(ctx, m, &p, got[i], repos, nrepos, &why, err);
		if (rc)
			goto out;
		if (why) {
			step_fail(ctx, st, "%s: %s", p.name, why);
			goto out;
		}
	}
out:
	check_cmd_out_release(&o);
	return rc;
}

/* dnf/yum downgrade NAME-VERSION...; apt and the rest through pkg_install_cmd() with the downgrade flag. */
static int downgrade_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const struct suite_package *pkgs, size_t n,
			 struct alts_err *err)
{
	if (m->tool != PKG_TOOL_DNF && m->tool != PKG_TOOL_YUM)
		return pkg_install_cmd(out, m, pkgs, n, PKG_INSTALL_DOWNGRADE, err);
	memset(out, 0, sizeof(*out));
	pkg_cmd_add(out, pkg_tool_name(m->tool));
	pkg_cmd_add(out, "downgrade");
	pkg_cmd_add(out, "-y");
	for (size_t i = 0; i < n; i++) {
		if (pkgs[i].file)
			pkg_cmd_add(out, pkgs[i].file);
		else
			pkg_cmd_addf(out, "%s-%s", pkgs[i].name, pkgs[i].version);
	}
	if (out->oom) {
		pkg_cmd_release(out);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	return 0;
}

/* A conffile with the local change, and where the change went after the upgrade. */
struct conffile {
	const char *path;
};

static bool env_file_has(struct check_ctx *ctx, const char *path, const char *text, bool *exists,
			 struct alts_err *err, int *rc)
{
	const char *argv[] = { "grep", "-qF", "--", text, path, NULL };
	struct check_cmd_out o;
	bool has;

	*rc = check_cmd(ctx, &o, argv, NULL, 30, err);
	has = !*rc && o.proc.exit_code == 0;
	if (exists)
		*exists = !*rc && o.proc.exit_code != 2;
	check_cmd_out_release(&o);
	return has;
}

/* Adds the local change to every conffile of pkgs; *out gets the changed ones. */
static int modify_conffiles(struct check_ctx *ctx, struct step *st, const struct pkg_mgr *m,
			    const struct suite_package *pkgs, size_t n, struct strlist *out, struct alts_err *err)
{
	const char **v = NULL;
	size_t k = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct pkg_cmd cmd = PKG_CMD_INIT;
		struct check_cmd_out o;
		struct strlist files = { NULL, 0 };

		rc = pkg_conffiles_cmd(&cmd, m, pkgs[i].name, err);
		if (!rc)
			rc = pkg_ctx_run(ctx, &o, &cmd, err);
		pkg_cmd_release(&cmd);
		if (rc)
			return rc;
		if (o.proc.exit_code == 0 && pkg_conffiles_parse(&files, o.out.buf ? o.out.buf : "", ctx->arena)) {
			check_cmd_out_release(&o);
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
		check_cmd_out_release(&o);
		for (size_t j = 0; j < files.n; j++) {
			/* sed appends the line after the last one; argv only, the path is data. */
			const char *argv[] = { "sed", "-i", "-e", "$a" UPGRADE_MARK, "--", files.v[j], NULL };

			rc = check_cmd(ctx, &o, argv, NULL, 30, err);
			if (!rc && o.proc.exit_code != 0)
				step_fail(ctx, st, "cannot change the conffile %s (%s)", files.v[j], check_cmd_status(ctx, &o));
			check_cmd_out_release(&o);
			if (rc || st->status != CHECK_PASS)
				return rc;
			if (k + 2 > cap) {
				const char **nv = arena_alloc(ctx->arena, (cap * 2 + 8) * sizeof(*nv));

				if (!nv)
					return alts_err_set(err, ALTS_ENOMEM, "out of memory");
				if (k)
					memcpy(nv, v, k * sizeof(*nv));
				v = nv;
				cap = cap * 2 + 8;
			}
			v[k++] = files.v[j];
			v[k] = NULL;
		}
	}
	check_logf(ctx, "alts: %zu conffile%s changed locally", k, k == 1 ? "" : "s");
	out->v = v;
	out->n = k;
	return 0;
}

/*
 * After the upgrade: a changed conffile must still have the local change,
 * or the package manager must have saved it (.dpkg-old, .rpmsave). A new
 * version left aside (.dpkg-dist, .rpmnew) is reported; a .dpkg-new means
 * dpkg did not finish. Findings go to notes (reported) or fail the step.
 */
static int check_conffiles(struct check_ctx *ctx, struct step *st, const struct strlist *files, struct sbuf *notes,
			   struct alts_err *err)
{
	static const char *const saved[] = { ".dpkg-old", ".rpmsave", NULL };
	static const char *const aside[] = { ".dpkg-dist", ".rpmnew", ".ucf-dist", NULL };
	int rc = 0;

	for (size_t i = 0; i < files->n && st->status == CHECK_PASS; i++) {
		const char *path = files->v[i];
		bool exists = false, kept = env_file_has(ctx, path, UPGRADE_MARK, &exists, err, &rc);
		const char *where = NULL;

		if (rc)
			return rc;
		for (size_t s = 0; !kept && saved[s] && !where; s++) {
			const char *alt = arena_printf(ctx->arena, "%s%s", path, saved[s]);

			if (!alt)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			if (env_file_has(ctx, alt, UPGRADE_MARK, NULL, err, &rc))
				where = alt;
			if (rc)
				return rc;
		}
		if (!kept && !where) {
			step_fail(ctx, st, "conffile %s: the local change was overwritten silently%s", path,
				  exists ? "" : " (the file is gone)");
			break;
		}
		if (where)
			sbuf_addf(notes, "%sconffile %s: replaced, the local change saved in %s", notes->len ? "; " : "",
				  path, where);
		{
			const char *dn = arena_printf(ctx->arena, "%s.dpkg-new", path);
			const char *argv[] = { "test", "-e", dn, NULL };
			struct check_cmd_out o;

			if (!dn)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			rc = check_cmd(ctx, &o, argv, NULL, 30, err);
			if (!rc && o.proc.exit_code == 0)
				step_fail(ctx, st, "conffile %s: %s was left (dpkg did not finish)", path, dn);
			check_cmd_out_release(&o);
			if (rc)
				return rc;
		}
		for (size_t s = 0; aside[s]; s++) {
			const char *alt = arena_printf(ctx->arena, "%s%s", path, aside[s]);
			const char *argv[] = { "test", "-e", alt, NULL };
			struct check_cmd_out o;

			if (!alt)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			rc = check_cmd(ctx, &o, argv, NULL, 30, err);
			if (!rc && o.proc.exit_code == 0)
				sbuf_addf(notes, "%sconffile %s: local change kept, the new version is in %s",
					  notes->len ? "; " : "", path, alt);
			check_cmd_out_release(&o);
			if (rc)
				return rc;
		}
		if (kept)
			check_logf(ctx, "alts: conffile %s kept the local change", path);
	}
	return rc;
}

static const char *step_label(struct check_ctx *ctx, const char *verb, const struct suite_package *pkgs, size_t n,
			      const char *const *versions)
{
	struct sbuf sb = SBUF_INIT;
	const char *s;

	sbuf_adds(&sb, verb);
	for (size_t i = 0; i < n; i++) {
		sbuf_addf(&sb, "%s %s", i ? "," : "", pkgs[i].name);
		if (versions && versions[i])
			sbuf_addf(&sb, " %s", versions[i]);
		else if (pkgs[i].version)
			sbuf_addf(&sb, " %s", pkgs[i].version);
		else if (pkgs[i].file) {
			const char *b = strrchr(pkgs[i].file, '/');

			sbuf_addf(&sb, " (%s)", b ? b + 1 : pkgs[i].file);
		}
	}
	s = sb.oom ? verb : arena_strndup(ctx->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s ? s : verb;
}

static int upgrade_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct upgrade_conf *conf = ctx->check->conf;
	const struct suite *s = ctx->suite;
	enum from_kind kind = from_kind(conf->from);
	const struct suite_package **sel = NULL;
	struct suite_package *old = NULL, *cur = NULL;
	const char **old_ver = NULL, **new_ver = NULL, **got = NULL;
	struct suite_repo from_repo;
	struct strlist changed = { NULL, 0 };
	struct sbuf notes = SBUF_INIT;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct pkg_mgr m;
	struct step st;
	size_t n = 0;
	bool ok = true;
	int rc;

	rc = pkg_ctx_select(ctx, &conf->packages, &sel, &n, err);
	if (rc == ALTS_EINVALID) {
		check_set(ctx, CHECK_FAIL, "%s", err->msg);
		alts_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	rc = pkg_ctx_detect(ctx, &m, err);
	if (rc == ALTS_EINVALID || rc == ALTS_ENOTFOUND) {
		check_set(ctx, CHECK_FAIL, "%s", err->msg);
		alts_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	old = arena_alloc(ctx->arena, (n + 1) * sizeof(*old));
	cur = arena_alloc(ctx->arena, (n + 1) * sizeof(*cur));
	old_ver = arena_alloc(ctx->arena, (n + 1) * sizeof(*old_ver));
	new_ver = arena_alloc(ctx->arena, (n + 1) * sizeof(*new_ver));
	got = arena_alloc(ctx->arena, (n + 1) * sizeof(*got));
	if (!old || !cur || !old_ver || !new_ver || !got)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		cur[i] = *sel[i];
		old[i] = *sel[i];
		old[i].file = NULL;
		old[i].epoch = NULL;
		old[i].version = kind == FROM_VERSION ? conf->from : NULL;
		old_ver[i] = old[i].version;
	}
	memset(&from_repo, 0, sizeof(from_repo));
	from_repo.name = "upgrade-from";
	from_repo.url = conf->from;
	from_repo.apt_line = !strncmp(conf->from, "deb ", 4);

	/* Step 1: the previous version. */
	step_begin(ctx, &st, step_label(ctx, "install", old, n,
					kind == FROM_DISTRIBUTION ? NULL : kind == FROM_REPOSITORY ? NULL : old_ver));
	if (kind == FROM_DISTRIBUTION)
		check_logf(ctx, "alts: the previous version is what the environment's repositories ship");
	if (leftovers_wanted(s))
		rc = leftovers_snapshot(ctx, &m, err);
	if (!rc && kind == FROM_VERSION)
		rc = add_repos(ctx, &st, &m, s->repos, s->nrepos, &ok, err);
	else if (!rc && kind == FROM_REPOSITORY)
		rc = add_repos(ctx, &st, &m, &from_repo, 1, &ok, err);
	if (!rc && ok)
		rc = pkg_install_cmd(&cmd, &m, old, n, 0, err);
	if (!rc && ok)
		rc = run_step_cmd(ctx, &st, &m, &cmd, old, n, old_ver, kind == FROM_VERSION ? s->repos : &from_repo,
				  kind == FROM_VERSION ? s->nrepos : kind == FROM_REPOSITORY ? 1 : 0, got, err);
	pkg_cmd_release(&cmd);
	if (rc == ALTS_EINVALID) {
		step_fail(ctx, &st, "%s", err->msg);
		alts_err_clear(err);
		rc = 0;
	}
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++)
		old_ver[i] = got[i];
	if (st.status == CHECK_PASS && conf->modify_conffiles)
		rc = modify_conffiles(ctx, &st, &m, old, n, &changed, err);
	if (rc || (rc = step_end(ctx, &st, err)))
		goto out;
	if (st.status != CHECK_PASS) {
		check_set(ctx, CHECK_FAIL, "the previous version: %s", st.message);
		goto out;
	}

	/* Step 2: the packages under test. */
	step_begin(ctx, &st, step_label(ctx, "upgrade to", cur, n, NULL));
	if (kind != FROM_VERSION)
		rc = add_repos(ctx, &st, &m, s->repos, s->nrepos, &ok, err);
	if (!rc && ok)
		rc = copy_files(ctx, cur, n, err);
	if (!rc && ok)
		rc = pkg_install_cmd(&cmd, &m, cur, n, 0, err);
	/* dnf and yum leave an installed name alone on install: upgrade it is. */
	if (!rc && ok && (m.tool == PKG_TOOL_DNF || m.tool == PKG_TOOL_YUM) && cmd.argc > 1)
		cmd.argv[1] = "upgrade";
	if (!rc && ok)
		rc = run_step_cmd(ctx, &st, &m, &cmd, cur, n, NULL, s->repos, s->nrepos, new_ver, err);
	pkg_cmd_release(&cmd);
	if (rc == ALTS_EINVALID) {
		step_fail(ctx, &st, "%s", err->msg);
		alts_err_clear(err);
		rc = 0;
	}
	if (rc)
		goto out;
	for (size_t i = 0; i < n && st.status == CHECK_PASS; i++) {
		if (old_ver[i] && new_ver[i] && !strcmp(old_ver[i], new_ver[i]))
			step_fail(ctx, &st, "%s: nothing was upgraded, %s is still installed", cur[i].name, new_ver[i]);
	}
	if (st.status == CHECK_PASS && changed.n)
		rc = check_conffiles(ctx, &st, &changed, &notes, err);
	if (!rc && st.status == CHECK_PASS && notes.len)
		st.message = arena_strndup(ctx->arena, notes.buf, notes.len);
	if (rc || (rc = step_end(ctx, &st, err)))
		goto out;
	if (st.status != CHECK_PASS) {
		check_set(ctx, CHECK_FAIL, "upgrade: %s", st.message);
		goto out;
	}

	/* Step 3: back to the previous version. */
	if (conf->downgrade) {
		for (size_t i = 0; i < n; i++)
			old[i].version = old_ver[i];
		step_begin(ctx, &st, step_label(ctx, "downgrade to", old, n, NULL));
		rc = downgrade_cmd(&cmd, &m, old, n, err);
		if (!rc)
			rc = run_step_cmd(ctx, &st, &m, &cmd, old, n, old_ver, NULL, 0, got, err);
		pkg_cmd_release(&cmd);
		if (rc == ALTS_EINVALID) {
			step_fail(ctx, &st, "%s", err->msg);
			alts_err_clear(err);
			rc = 0;
		}
		if (rc || (rc = step_end(ctx, &st, err)))
			goto out;
		if (st.status != CHECK_PASS) {
			check_set(ctx, CHECK_FAIL, "downgrade: %s", st.message);
			goto out;
		}
	}
	if (notes.len)
		check_set(ctx, CHECK_PASS, "%s", notes.buf);
	else
		check_set(ctx, CHECK_PASS, NULL);
out:
	sbuf_release(&notes);
	return rc;
}

const struct check_ops check_upgrade_ops = {
	.name = "upgrade",
	.abi = CHECK_ABI,
	.caps = CHECK_CAP_NEEDS_PACKAGES,
	.conf_size = sizeof(struct upgrade_conf),
	.keys = upgrade_keys,
	.validate = upgrade_validate,
	.run = upgrade_run,
};
