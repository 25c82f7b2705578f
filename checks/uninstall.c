/*
 * uninstall: removes the suite's packages (never protected ones) and
 * confirms each one is gone.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"

struct uninstall_conf {
	struct strlist packages;  /* subset of the suite's packages; empty: all */
};

static const struct conf_key uninstall_keys[] = {
	{ "packages", CONF_STRLIST, offsetof(struct uninstall_conf, packages), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

static int uninstall_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			      struct suite_check *check)
{
	const struct uninstall_conf *conf = check->conf;

	return pkg_validate_subset(ctx, node, path, suite, &conf->packages);
}

/* Why name must not be removed, or NULL. */
static const char *uninstall_skip_reason(struct check_ctx *ctx, const char *name)
{
	const struct config_exclusion *e;

	if (!ctx->config)
		return NULL;
	if (config_is_protected(ctx->config, name))
		return "protected package";
	e = config_find_exclusion(ctx->config, pkg_ctx_dist_name(ctx), pkg_ctx_dist_version(ctx), name, "uninstall");
	if (e)
		return arena_printf(ctx->arena, "excluded on %s: %s", e->dist,
				    e->reason ? e->reason : "listed in the config's exclusions");
	return NULL;
}

static int uninstall_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct uninstall_conf *conf = ctx->check->conf;
	struct check_result *res = ctx->result;
	const struct suite_package **sel = NULL;
	const char **names;
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	struct pkg_mgr m;
	struct sbuf left = SBUF_INIT;
	size_t nsel = 0, n = 0, nleft = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = pkg_ctx_select(ctx, conf ? &conf->packages : NULL, &sel, &nsel, err);
	if (rc == ALTS_EINVALID) {
		check_set(ctx, CHECK_FAIL, "%s", err->msg);
		alts_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	names = arena_alloc(ctx->arena, (nsel + 1) * sizeof(*names));
	if (!names)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < nsel; i++) {
		const char *why = uninstall_skip_reason(ctx, sel[i]->name);

		if (why) {
			check_logf(ctx, "alts: not removing %s: %s", sel[i]->name, why);
			if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs, sel[i]->name, CHECK_SKIP, why))
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			continue;
		}
		names[n++] = sel[i]->name;
	}
	if (!n) {
		check_set(ctx, CHECK_SKIP, "no package may be removed (protected or excluded)");
		return 0;
	}

	rc = pkg_ctx_detect(ctx, &m, err);
	if (!rc)
		rc = pkg_remove_cmd(&cmd, &m, names, n, err);
	if (!rc)
		rc = pkg_ctx_run(ctx, &o, &cmd, err);
	if (rc)
		goto out;
	res->exit_code = o.proc.exit_code;
	res->term_signal = o.proc.term_signal;
	res->timed_out = o.proc.timed_out;

	for (size_t i = 0; i < n; i++) {
		bool installed = true;

		rc = pkg_ctx_installed(ctx, &m, names[i], &installed, NULL, err);
		if (rc)
			goto out;
		if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs, names[i], installed ? CHECK_FAIL : CHECK_PASS,
				   installed ? "still installed" : NULL)) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		if (installed) {
			sbuf_addf(&left, "%s%s", nleft ? ", " : "", names[i]);
			nleft++;
		}
	}
	if (o.proc.exit_code != 0 || o.proc.timed_out)
		check_set(ctx, CHECK_FAIL, "%s remove failed (%s): %s", pkg_tool_name(m.tool), check_cmd_status(ctx, &o),
			  check_cmd_summary(ctx, &o));
	else if (nleft)
		check_set(ctx, CHECK_FAIL, "%s reported success, but %s %s still installed", pkg_tool_name(m.tool),
			  left.buf, nleft == 1 ? "is" : "are");
	else
		check_set(ctx, CHECK_PASS, NULL);
out:
	sbuf_release(&left);
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

const struct check_ops check_uninstall_ops = {
	.name = "uninstall",
	.abi = CHECK_ABI,
	.caps = CHECK_CAP_NEEDS_PACKAGES,
	.conf_size = sizeof(struct uninstall_conf),
	.keys = uninstall_keys,
	.validate = uninstall_validate,
	.run = uninstall_run,
};
