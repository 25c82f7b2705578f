/* Package operations from inside a check: see the end of checks/pkg.h. */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "checks/pkg_life.h"

int pkg_ctx_detect(struct check_ctx *ctx, struct pkg_mgr *out, struct alts_err *err)
{
	const struct runner_info *info = ctx->runner ? runner_info(ctx->runner) : NULL;
	int rc = pkg_detect(out, ctx->suite, info, err);

	if (rc)
		return rc;
	check_logf(ctx, "alts: package manager %s (from %s)%s%s", pkg_tool_name(out->tool), out->reason,
		   out->root ? ", scratch root " : "", out->root ? out->root : "");
	return 0;
}

int pkg_ctx_run(struct check_ctx *ctx, struct check_cmd_out *out, const struct pkg_cmd *cmd,
		struct alts_err *err)
{
	return check_cmd(ctx, out, cmd->argv, cmd->env, 0, err);
}

int pkg_ctx_run_list(struct check_ctx *ctx, struct check_cmd_out *out, const struct pkg_cmd *cmd, const char **text,
		     struct alts_err *err)
{
	struct check_cmd_opts opts = CHECK_CMD_OPTS_INIT;
	int rc;

	opts.extra_env = cmd->env;
	opts.quiet = true;
	opts.whole_stdout = true;
	rc = check_cmd_ex(ctx, out, cmd->argv, &opts, err);
	if (!rc)
		*text = out->whole ? out->whole : out->out.buf;
	return rc;
}

const char *pkg_ctx_failure(struct check_ctx *ctx, const struct check_cmd_out *o)
{
	const char *why = pkg_failure_reason(o->out.buf, o->err.buf, 3, ctx->arena);

	return why ? why : check_cmd_summary(ctx, o);
}

int pkg_ctx_installed(struct check_ctx *ctx, const struct pkg_mgr *m, const char *name, bool *installed,
		      const char **version, struct alts_err *err)
{
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	int rc = pkg_query_cmd(&cmd, m, name, err);

	if (rc)
		return rc;
	rc = pkg_ctx_run(ctx, &o, &cmd, err);
	if (!rc)
		*installed = pkg_query_parse(m, o.proc.exit_code, o.out.buf, ctx->arena, version);
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

/* The repository's location as apt-cache policy shows it, without scheme and trailing '/'. */
static const char *repo_location(struct check_ctx *ctx, const struct suite_repo *r)
{
	const char *u = r->url;
	size_t n;

	if (r->apt_line) {
		/* "deb [opts] URL suite ...": the first word after the type and the options. */
		u = strchr(u, ' ');
		while (u && *u == ' ')
			u++;
		if (u && *u == '[') {
			u = strchr(u, ']');
			u = u ? u + 1 : NULL;
			while (u && *u == ' ')
				u++;
		}
		if (!u)
			return NULL;
	}
	if (!strncmp(u, "file://", 7))
		u += 7;
	else if (!strncmp(u, "file:", 5))
		u += 5;
	n = strcspn(u, " ");
	while (n > 1 && u[n - 1] == '/')
		n--;
	return arena_strndup(ctx->arena, u, n);
}

/* True when origin (pkg_origin_parse()) is one of repos. */
static bool origin_in(struct check_ctx *ctx, const struct pkg_mgr *m, const char *origin,
		      const struct suite_repo *repos, size_t nrepos)
{
	for (size_t i = 0; i < nrepos; i++) {
		if (m->tool == PKG_TOOL_DNF) {
			const char *id = arena_printf(ctx->arena, "alts-%s", repos[i].name);

			if (id && !strcmp(origin, id))
				return true;
		} else {
			const char *loc = repo_location(ctx, &repos[i]);

			if (loc && *loc && strstr(origin, loc))
				return true;
		}
	}
	return false;
}

int pkg_ctx_verify(struct check_ctx *ctx, const struct pkg_mgr *m, const struct suite_package *pkg,
		   const char *installed, const struct suite_repo *repos, size_t nrepos, const char **why,
		   struct alts_err *err)
{
	const char *want = NULL;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	int rc = 0;

	*why = NULL;
	memset(&o, 0, sizeof(o));
	if (pkg->version) {
		want = pkg->epoch ? arena_printf(ctx->arena, "%s:%s", pkg->epoch, pkg->version) : pkg->version;
	} else if (pkg->file) {
		rc = pkg_file_version_cmd(&cmd, m, pkg->file, err);
		if (!rc)
			rc = pkg_ctx_run(ctx, &o, &cmd, err);
		if (!rc && o.proc.exit_code == 0 && o.out.len) {
			sbuf_trim_trailing(&o.out);
			want = arena_strndup(ctx->arena, o.out.buf, o.out.len);
		}
		check_cmd_out_release(&o);
		pkg_cmd_release(&cmd);
		if (rc)
			return rc;
	}
	if (want && !pkg_version_matches(installed, want)) {
		*why = arena_printf(ctx->arena, "version %s is installed, %s was requested", installed ? installed : "?",
				    want);
		return 0;
	}
	if (want)
		check_logf(ctx, "alts: %s %s is the requested version", pkg->name, installed);
	if (pkg->file || !nrepos)
		return 0;
	rc = pkg_origin_cmd(&cmd, m, pkg->name, err);
	if (rc == ALTS_ENOTFOUND) {
		alts_err_clear(err);
		return 0;
	}
	if (!rc)
		rc = pkg_ctx_run(ctx, &o, &cmd, err);
	if (!rc && o.proc.exit_code == 0) {
		const char *origin = pkg_origin_parse(m, o.out.buf, ctx->arena);
		struct sbuf names = SBUF_INIT;

		for (size_t i = 0; i < nrepos; i++)
			sbuf_addf(&names, "%s%s", i ? ", " : "", repos[i].name);
		if (origin && !origin_in(ctx, m, origin, repos, nrepos))
			*why = arena_printf(ctx->arena, "installed from %s, not from the repository %s",
					    *origin ? origin : "a package file or an unknown source",
					    names.buf ? names.buf : "?");
		else if (origin)
			check_logf(ctx, "alts: %s came from %s", pkg->name, origin);
		sbuf_release(&names);
	}
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

int pkg_ctx_select(struct check_ctx *ctx, const struct strlist *subset, const struct suite_package ***out,
		   size_t *n, struct alts_err *err)
{
	const struct suite *s = ctx->suite;
	const struct suite_package **v;
	size_t k = 0;

	v = arena_alloc(ctx->arena, (s->npackages + 1) * sizeof(*v));
	if (!v)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->npackages; i++) {
		bool want = !subset || !subset->n;

		for (size_t j = 0; !want && j < subset->n; j++)
			want = !strcmp(subset->v[j], s->packages[i].name);
		if (want)
			v[k++] = &s->packages[i];
	}
	for (size_t j = 0; subset && j < subset->n; j++) {
		bool found = false;

		for (size_t i = 0; i < k && !found; i++)
			found = !strcmp(v[i]->name, subset->v[j]);
		if (!found)
			return alts_err_set(err, ALTS_EINVALID, "'%s' is not one of the suite's packages", subset->v[j]);
	}
	*out = v;
	*n = k;
	return 0;
}

const char *pkg_ctx_dist_name(struct check_ctx *ctx)
{
	const struct runner_info *info = ctx->runner ? runner_info(ctx->runner) : NULL;

	if (ctx->dist_name)
		return ctx->dist_name;
	if (ctx->suite->env.dist_name)
		return ctx->suite->env.dist_name;
	return info && info->os_id ? info->os_id : "";
}

const char *pkg_ctx_dist_version(struct check_ctx *ctx)
{
	const struct runner_info *info = ctx->runner ? runner_info(ctx->runner) : NULL;

	if (ctx->dist_name)
		return ctx->dist_version ? ctx->dist_version : "";
	if (ctx->suite->env.dist_version)
		return ctx->suite->env.dist_version;
	return info && info->os_version ? info->os_version : "";
}

int pkg_validate_subset(struct conf_ctx *ctx, yaml_node_t *body, const char *path, const struct suite *suite,
			const struct strlist *names)
{
	/* Packages may come after the checks in the file; then pkg_ctx_select() checks at run time. */
	if (!suite->npackages)
		return 0;
	for (size_t i = 0; i < names->n; i++) {
		bool found = false;

		for (size_t j = 0; j < suite->npackages && !found; j++)
			found = !strcmp(suite->packages[j].name, names->v[i]);
		if (!found)
			return conf_fail(ctx, check_conf_node(ctx, body, "packages"), conf_path_key(ctx, path, "packages"),
					 "'%s' is not one of the suite's packages", names->v[i]);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(names->v[j], names->v[i]))
				return conf_fail(ctx, check_conf_node(ctx, body, "packages"),
						 conf_path_key(ctx, path, "packages"), "'%s' is listed twice",
						 names->v[i]);
		}
	}
	return 0;
}

const char *pkg_ctx_excluded(struct check_ctx *ctx, const char *pkg, const char *kind)
{
	const struct config_exclusion *e;
	const char *why;

	if (!ctx->config)
		return NULL;
	e = config_find_exclusion(ctx->config, pkg_ctx_dist_name(ctx), pkg_ctx_dist_version(ctx), pkg, kind);
	if (!e)
		return NULL;
	why = arena_printf(ctx->arena, "excluded on %s: %s", e->dist, config_exclusion_reason(e));
	return why ? why : "excluded";
}

/* Leaves out what op->skip names; *out gets copies of the rest. */
static int pkg_op_keep(struct check_ctx *ctx, const struct pkg_op *op, const struct suite_package **sel, size_t nsel,
		       struct suite_package **out, size_t *n, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	struct suite_package *kept = arena_alloc(ctx->arena, (nsel + 1) * sizeof(*kept));

	if (!kept)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	*n = 0;
	for (size_t i = 0; i < nsel; i++) {
		const char *why = op->skip ? op->skip(ctx, sel[i]) : NULL;

		if (!why) {
			kept[(*n)++] = *sel[i];
			continue;
		}
		check_logf(ctx, "alts: %s%s: %s", op->skip_log, sel[i]->name, why);
		if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs, sel[i]->name, CHECK_SKIP, why))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = kept;
	return 0;
}

/* One sub-result a package: is it in the state op wants? The ones that are not go into wrong. */
static int pkg_op_confirm(struct check_ctx *ctx, const struct pkg_op *op, const struct pkg_mgr *m,
			  const struct suite_package *pkgs, size_t n, struct sbuf *wrong, size_t *nwrong,
			  size_t *nverify, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	const char *state = op->want_installed ? "not installed" : "still installed";

	for (size_t i = 0; i < n; i++) {
		bool installed = !op->want_installed, ok;
		const char *version = NULL;
		int rc = pkg_ctx_installed(ctx, m, pkgs[i].name, &installed, op->want_installed ? &version : NULL, err);

		if (rc)
			return rc;
		const char *why = NULL;

		ok = installed == op->want_installed;
		if (ok && installed)
			check_logf(ctx, "alts: %s %s is installed", pkgs[i].name, version ? version : "");
		if (ok && installed && op->verify) {
			rc = pkg_ctx_verify(ctx, m, &pkgs[i], version, ctx->suite->repos, ctx->suite->nrepos, &why, err);
			if (rc)
				return rc;
			ok = !why;
		}
		if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs, pkgs[i].name, ok ? CHECK_PASS : CHECK_FAIL,
				   ok ? NULL : why ? why : state))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		if (!ok)
			sbuf_addf(wrong, "%s%s%s%s", (*nwrong)++ ? ", " : "", pkgs[i].name, why ? ": " : "",
				  why ? why : "");
		if (why)
			(*nverify)++;
	}
	return 0;
}

int pkg_op_run(struct check_ctx *ctx, const struct pkg_op *op, const struct strlist *subset, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	const struct suite_package **sel = NULL;
	struct suite_package *pkgs = NULL;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	struct pkg_mgr m;
	struct sbuf wrong = SBUF_INIT;
	size_t nsel = 0, n = 0, nwrong = 0, nverify = 0;
	bool ok = true;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = pkg_ctx_select(ctx, subset, &sel, &nsel, err);
	if (!rc)
		rc = pkg_op_keep(ctx, op, sel, nsel, &pkgs, &n, err);
	if (rc == ALTS_EINVALID)
		goto fail_with_err;
	if (rc)
		return rc;
	if (!n) {
		if (op->none_left)
			check_set(ctx, CHECK_SKIP, "%s", op->none_left);
		else
			check_set(ctx, CHECK_SKIP, "every package is excluded on %s", pkg_ctx_dist_name(ctx));
		return 0;
	}
	rc = pkg_ctx_detect(ctx, &m, err);
	if (!rc)
		rc = op->command(ctx, &m, pkgs, n, &cmd, &ok, err);
	if (rc == ALTS_EINVALID)
		goto fail_with_err;
	if (!rc && ok)
		rc = pkg_ctx_run(ctx, &o, &cmd, err);
	if (rc || !ok)
		goto out;
	res->exit_code = o.proc.exit_code;
	res->term_signal = o.proc.term_signal;
	res->timed_out = o.proc.timed_out;
	rc = pkg_op_confirm(ctx, op, &m, pkgs, n, &wrong, &nwrong, &nverify, err);
	if (rc)
		goto out;
	if (o.proc.exit_code != 0 || o.proc.timed_out)
		check_set(ctx, CHECK_FAIL, "%s %s failed (%s): %s", pkg_tool_name(m.tool), op->verb,
			  check_cmd_status(ctx, &o), pkg_ctx_failure(ctx, &o));
	else if (nwrong && nverify)
		check_set(ctx, CHECK_FAIL, "%s reported success, but %s", pkg_tool_name(m.tool), wrong.buf);
	else if (nwrong)
		check_set(ctx, CHECK_FAIL, "%s reported success, but %s %s %s", pkg_tool_name(m.tool), wrong.buf,
			  nwrong == 1 ? "is" : "are", op->want_installed ? "not installed" : "still installed");
	else
		check_set(ctx, CHECK_PASS, NULL);
	goto out;
fail_with_err:
	check_set(ctx, CHECK_FAIL, "%s", err->msg);
	alts_err_clear(err);
	rc = 0;
out:
	sbuf_release(&wrong);
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}
