/* Package operations from inside a check: see the end of checks/pkg.h. */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"

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
