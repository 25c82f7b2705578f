/*
 * uninstall: removes (or, with purge, purges) the suite's packages (never
 * protected ones) and confirms each one is gone; with purge, reports what
 * the package's life left behind (checks/leftovers.h) by the suite's
 * policy: fail, warn or ignore.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "checks/pkg_life.h"
#include "checks/leftovers.h"

/* Findings named in the one-line message; the log and the part's output list them all. */
#define UNINSTALL_FINDINGS_SHOWN 5

struct uninstall_conf {
	struct leftovers_conf life;  /* first: leftovers_wanted() reads it */
	struct strlist packages;     /* subset of the suite's packages; empty: all */
};

static const struct conf_key uninstall_keys[] = {
	{ "packages", CONF_STRLIST, offsetof(struct uninstall_conf, packages), CONF_NONEMPTY, NULL, NULL },
	{ "purge", CONF_BOOL, offsetof(struct uninstall_conf, life.purge), 0, NULL, NULL },
	{ "leftovers", CONF_STRING, offsetof(struct uninstall_conf, life.leftovers), CONF_NONEMPTY, NULL, NULL },
	{ "leftovers_ignore", CONF_STRLIST, offsetof(struct uninstall_conf, life.ignore), CONF_NONEMPTY, NULL, NULL },
	{ "process_grace", CONF_DURATION, offsetof(struct uninstall_conf, life.grace), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int uninstall_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			      struct suite_check *check)
{
	static const char *const policies[] = { "fail", "warn", "ignore", NULL };
	const struct uninstall_conf *conf = check->conf;
	int rc = pkg_validate_subset(ctx, node, path, suite, &conf->packages);

	if (rc)
		return rc;
	if (conf->life.leftovers) {
		rc = conf_check_one_of(ctx, check_conf_node(ctx, node, "leftovers"), conf_path_key(ctx, path, "leftovers"),
				       "leftovers policy", conf->life.leftovers, policies);
		if (rc)
			return rc;
	}
	if ((conf->life.leftovers || conf->life.ignore.n || conf->life.grace) && !conf->life.purge)
		return conf_fail(ctx, node, path, "leftovers, leftovers_ignore and process_grace need 'purge: true'");
	return 0;
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
	const struct uninstall_conf *conf = ctx->check->conf;
	const char **names = arena_alloc(ctx->arena, (n + 1) * sizeof(*names));

	*ok = true;
	if (!names)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = pkgs[i].name;
	if (conf && conf->life.purge)
		return pkg_purge_cmd(out, m, names, n, err);
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

/* Compares the environment with the walk from before the package's life; a part "leftovers". */
static int uninstall_leftovers(struct check_ctx *ctx, const struct uninstall_conf *conf,
			       enum leftovers_policy policy, struct alts_err *err)
{
	struct check_result *res = ctx->result;
	struct strlist findings = { NULL, 0 };
	struct sbuf msg = SBUF_INIT, all = SBUF_INIT;
	struct check_sub *sub;
	struct pkg_mgr m;
	bool nobefore = false;
	int rc = pkg_ctx_detect(ctx, &m, err);

	if (!rc)
		rc = leftovers_compare(ctx, &m, &conf->life, &findings, &nobefore, err);
	if (rc)
		return rc;
	if (nobefore) {
		if (!check_sub_add(ctx->arena, &res->subs, &res->nsubs, "leftovers", CHECK_SKIP,
				   "no walk from before the package's life (an install or upgrade check takes it)"))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < findings.n; i++) {
		if (i < UNINSTALL_FINDINGS_SHOWN)
			sbuf_addf(&msg, "%s%s", i ? "; " : "", findings.v[i]);
		sbuf_addf(&all, "%s\n", findings.v[i]);
	}
	if (findings.n > UNINSTALL_FINDINGS_SHOWN)
		sbuf_addf(&msg, "; and %zu more (see the log)", findings.n - UNINSTALL_FINDINGS_SHOWN);
	if (!sbuf_ok(&msg) || !sbuf_ok(&all)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	sub = check_sub_add(ctx->arena, &res->subs, &res->nsubs, "leftovers",
			    findings.n && policy == LEFTOVERS_FAIL ? CHECK_FAIL : CHECK_PASS,
			    findings.n ? msg.buf : NULL);
	if (!sub) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (findings.n)
		sub->output = arena_strndup(ctx->arena, all.buf, all.len);
	if (findings.n && policy == LEFTOVERS_FAIL)
		check_set(ctx, CHECK_FAIL, "%zu leftover%s: %s", findings.n, findings.n == 1 ? "" : "s", msg.buf);
	else if (findings.n)
		check_set(ctx, CHECK_PASS, "warning: %zu leftover%s: %s", findings.n, findings.n == 1 ? "" : "s",
			  msg.buf);
out:
	sbuf_release(&msg);
	sbuf_release(&all);
	return rc;
}

static const struct pkg_op uninstall_purge_op = {
	.verb = "purge",
	.want_installed = false,
	.skip_log = "not purging ",
	.none_left = "no package may be removed (protected or excluded)",
	.skip = uninstall_skip,
	.command = uninstall_command,
};

static int uninstall_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct uninstall_conf *conf = ctx->check->conf;
	enum leftovers_policy policy = leftovers_policy(conf ? &conf->life : NULL);
	int rc = pkg_op_run(ctx, conf && conf->life.purge ? &uninstall_purge_op : &uninstall_op,
			    conf ? &conf->packages : NULL, err);

	if (rc || policy == LEFTOVERS_IGNORE)
		return rc;
	if (ctx->result->status != CHECK_PASS) {
		check_logf(ctx, "alts: the removal did not pass; leftovers are not looked for");
		return 0;
	}
	return uninstall_leftovers(ctx, conf, policy, err);
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
