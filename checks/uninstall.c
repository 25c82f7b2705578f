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

/* Why pkg must not be removed, or NULL. */
static const char *uninstall_skip(struct check_ctx *ctx, const struct suite_package *pkg)
{
	if (ctx->config && config_is_protected(ctx->config, pkg->name))
		return "protected package";
	return pkg_ctx_excluded(ctx, pkg->name, "uninstall");
}

static int uninstall_command(struct check_ctx *ctx, const struct pkg_mgr *m, struct suite_package *pkgs, size_t n,
			     struct pkg_cmd *out, bool *ok, struct alts_err *err)
{
	const char **names = arena_alloc(ctx->arena, (n + 1) * sizeof(*names));

	*ok = true;
	if (!names)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = pkgs[i].name;
	return pkg_remove_cmd(out, m, names, n, err);
}

static const struct pkg_op uninstall_op = {
	.verb = "remove",
	.want_installed = false,
	.skip_log = "not removing ",
	.none_left = "no package may be removed (protected or excluded)",
	.skip = uninstall_skip,
	.command = uninstall_command,
};

static int uninstall_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct uninstall_conf *conf = ctx->check->conf;

	return pkg_op_run(ctx, &uninstall_op, conf ? &conf->packages : NULL, err);
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
