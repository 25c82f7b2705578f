#include "framework/common.h"
#include "checks/testdeps.h"
#include "checks/pkg.h"

/* The fully installed packages' names, in the check's arena. */
static int testdeps_installed(struct check_ctx *ctx, const struct pkg_mgr *m, struct strlist *out,
			      struct alts_err *err)
{
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	const char *text;
	int rc = pkg_installed_names_cmd(&cmd, m, err);

	if (rc)
		return rc;
	rc = pkg_ctx_run_list(ctx, &o, &cmd, &text, err);
	if (!rc && o.proc.exit_code != 0)
		rc = alts_err_set(err, ALTS_EENV, "cannot list the installed packages (%s): %s", check_cmd_status(ctx, &o),
				  check_cmd_summary(ctx, &o));
	if (!rc && pkg_installed_names_parse(out, text, ctx->arena))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	check_cmd_out_release(&o);
	pkg_cmd_release(&cmd);
	return rc;
}

static int testdeps_command(struct pkg_cmd *cmd, const struct pkg_mgr *m, const char *const *deps, size_t n,
			    unsigned flags, struct arena *a, struct alts_err *err)
{
	struct suite_package *pkgs;

	if ((flags & CHECK_TEST_DEPS_RELATIONS) || m->tool == PKG_TOOL_DPKG || m->tool == PKG_TOOL_RPM)
		return pkg_satisfy_cmd(cmd, m, deps, n, err);
	pkgs = arena_alloc(a, n * sizeof(*pkgs));
	if (!pkgs)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		pkgs[i].name = deps[i];
	return pkg_install_cmd(cmd, m, pkgs, n, PKG_INSTALL_NO_RECOMMENDS, err);
}

int check_test_deps_install(struct check_ctx *ctx, const char *const *deps, size_t n, unsigned flags,
			    const char **why, struct alts_err *err)
{
	struct strlist before = { 0 }, after = { 0 };
	struct pkg_cmd cmd = PKG_CMD_INIT;
	struct check_cmd_out o;
	struct alts_err perr = ALTS_ERR_INIT;
	struct pkg_mgr m;
	int rc;

	*why = NULL;
	if (!n)
		return 0;
	rc = pkg_ctx_detect(ctx, &m, err);
	if (rc)
		return rc;
	{
		struct sbuf list = SBUF_INIT;

		for (size_t i = 0; i < n; i++)
			sbuf_addf(&list, "%s%s", i ? ", " : "", deps[i]);
		check_logf(ctx, "alts: installing test dependencies (not under test): %s", list.buf);
		sbuf_release(&list);
	}
	rc = testdeps_command(&cmd, &m, deps, n, flags, ctx->arena, &perr);
	if (rc == ALTS_EINVALID) {
		*why = arena_strdup(ctx->arena, perr.msg);
		return 0;
	}
	if (rc)
		return alts_err_set(err, rc, "%s", perr.msg);
	rc = testdeps_installed(ctx, &m, &before, err);
	if (!rc)
		rc = pkg_ctx_run(ctx, &o, &cmd, err);
	pkg_cmd_release(&cmd);
	if (rc)
		return rc;
	if (o.proc.exit_code != 0)
		*why = arena_printf(ctx->arena, "%s failed (%s): %s", pkg_tool_name(m.tool), check_cmd_status(ctx, &o),
				    pkg_ctx_failure(ctx, &o));
	check_cmd_out_release(&o);
	if (*why) {
		check_logf(ctx, "alts: cannot install the test dependencies: %s", *why);
		return 0;
	}
	rc = testdeps_installed(ctx, &m, &after, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < after.n; i++) {
		if (conf_strlist_has(&before, after.v[i]))
			continue;
		check_logf(ctx, "alts: test dependency: %s", after.v[i]);
		rc = runner_add_test_deps(ctx->runner, &after.v[i], 1, err);
		if (rc)
			return rc;
	}
	return 0;
}
