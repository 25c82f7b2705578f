/*
 * install: adds the suite's repositories, installs its packages with the
 * environment's package manager and confirms each one is installed.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "checks/leftovers.h"

struct install_conf {
	struct strlist packages;  /* subset of the suite's packages; empty: all */
	bool allow_downgrade;
	bool start_services;
};

static const struct conf_key install_keys[] = {
	{ "packages", CONF_STRLIST, offsetof(struct install_conf, packages), CONF_NONEMPTY, NULL, NULL },
	{ "allow_downgrade", CONF_BOOL, offsetof(struct install_conf, allow_downgrade), 0, NULL, NULL },
	{ "start_services", CONF_BOOL, offsetof(struct install_conf, start_services), 0, NULL, NULL },
	CONF_KEYS_END,
};

static bool low_level_only(const struct suite *s)
{
	const char *pm = s->env.package_manager;

	return s->env.root || (pm && (!strcmp(pm, "dpkg") || !strcmp(pm, "rpm")));
}

static int install_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			    struct suite_check *check)
{
	const struct install_conf *conf = check->conf;
	int rc = pkg_validate_subset(ctx, node, path, suite, &conf->packages);

	if (rc)
		return rc;
	if (!low_level_only(suite))
		return 0;
	if (suite->nrepos)
		return conf_fail(ctx, node, path, "repositories cannot be used with %s; give package files instead",
				 suite->env.root ? "environment.root" : suite->env.package_manager);
	for (size_t i = 0; i < suite->npackages; i++) {
		const struct suite_package *p = &suite->packages[i];
		bool wanted = !conf->packages.n;

		for (size_t j = 0; j < conf->packages.n && !wanted; j++)
			wanted = !strcmp(conf->packages.v[j], p->name);
		if (wanted && !p->file)
			return conf_fail(ctx, node, path, "package '%s' needs a 'file' with %s", p->name,
					 suite->env.root ? "environment.root" : suite->env.package_manager);
	}
	return 0;
}

/*
 * Refreshes the package index when it is older than the config's
 * index_max_age (0: always), so an old image still installs. A failed
 * refresh (no network in the environment) is logged, not fatal: the
 * image's index is then used.
 */
static int install_refresh_stale(struct check_ctx *ctx, const struct pkg_mgr *m, struct alts_err *err)
{
	double max_age = ctx->config ? ctx->config->index_max_age : 86400;
	const char *minutes = arena_printf(ctx->arena, "-%.0f", max_age / 60 > 1 ? max_age / 60 : 1);
	const char *apt_age[] = { "find", "/var/lib/apt/lists", "-maxdepth", "1", "-name", "*Packages*", "-mmin",
				  minutes, NULL };
	const char *dnf_age[] = { "find", "/var/cache/dnf", "-maxdepth", "3", "-name", "repomd.xml", "-mmin",
				  minutes, NULL };
	const char *apt_update[] = { "apt-get", "update", NULL };
	const char *dnf_refresh[] = { "dnf", "makecache", "--refresh", NULL };
	struct check_cmd_out o;
	int rc;

	if (!minutes)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (m->root || (m->tool != PKG_TOOL_APT && m->tool != PKG_TOOL_DNF))
		return 0;
	if (max_age > 0) {
		rc = check_cmd(ctx, &o, m->tool == PKG_TOOL_APT ? apt_age : dnf_age, NULL, 60, err);
		if (!rc && o.proc.exit_code == 0 && o.out.len) {
			check_logf(ctx, "alts: the package index is newer than index_max_age (%.0fs)", max_age);
			check_cmd_out_release(&o);
			return 0;
		}
		check_cmd_out_release(&o);
		if (rc)
			return rc;
	}
	check_logf(ctx, "alts: refreshing the package index (older than index_max_age %.0fs)", max_age);
	rc = check_cmd(ctx, &o, m->tool == PKG_TOOL_APT ? apt_update : dnf_refresh, NULL, 600, err);
	if (!rc && o.proc.exit_code != 0)
		check_logf(ctx, "alts: warning: the index refresh failed (%s): %s; using the image's index",
			   check_cmd_status(ctx, &o), check_cmd_summary(ctx, &o));
	check_cmd_out_release(&o);
	return rc;
}

/*
 * start_services: lets maintainer scripts start daemons. Debian images
 * without an init system make invoke-rc.d block every start ("policy-rc.d
 * missing! Defaulting to block"); an allowing /usr/sbin/policy-rc.d
 * (exit 0) replaces whatever policy was there. RPM scriptlets only
 * preset units: a preset file enabling every unit goes to
 * /etc/systemd/system-preset.
 */
static int install_allow_services(struct check_ctx *ctx, const struct pkg_mgr *m, struct alts_err *err)
{
	static const char policy[] = "#!/bin/sh\n# written by alts (install: start_services)\nexit 0\n";
	static const char preset[] = "# written by alts (install: start_services)\nenable *\n";
	const char *host = NULL, *dest;
	const char *chmod_argv[] = { "chmod", "0755", "/usr/sbin/policy-rc.d", NULL };
	struct check_cmd_out o;
	int rc;

	if (m->root)
		return 0;
	if (m->family == PKG_FAMILY_DEB) {
		dest = "/usr/sbin/policy-rc.d";
		rc = check_write_file(ctx, &host, "policy-rc.d", policy, sizeof(policy) - 1, err);
	} else {
		rc = check_env_mkdir(ctx, "/etc/systemd/system-preset", err);
		dest = "/etc/systemd/system-preset/00-alts.preset";
		if (!rc)
			rc = check_write_file(ctx, &host, "preset", preset, sizeof(preset) - 1, err);
	}
	if (!rc)
		rc = runner_copy_in(ctx->runner, host, dest, err);
	if (rc)
		return rc;
	check_logf(ctx, "alts: start_services: %s lets services start", dest);
	if (m->family != PKG_FAMILY_DEB)
		return 0;
	rc = check_cmd(ctx, &o, chmod_argv, NULL, 30, err);
	if (!rc && o.proc.exit_code != 0)
		rc = alts_err_set(err, ALTS_EENV, "cannot make %s executable", dest);
	check_cmd_out_release(&o);
	return rc;
}

/* Adds the suite's repositories and refreshes the index. false: the check failed (recorded). */
static int install_add_repos(struct check_ctx *ctx, const struct pkg_mgr *m, bool *ok, struct alts_err *err)
{
	const struct suite *s = ctx->suite;
	struct pkg_cmd refresh = PKG_CMD_INIT;
	struct check_cmd_out o;
	int rc = 0;

	*ok = true;
	if (!s->nrepos)
		return install_refresh_stale(ctx, m, err);
	for (size_t i = 0; i < s->nrepos; i++) {
		struct sbuf content = SBUF_INIT;
		const char *env_path = NULL, *host_path = NULL;
		struct alts_err perr = ALTS_ERR_INIT;

		rc = pkg_repo_file(&content, &env_path, m, &s->repos[i], ctx->arena, &perr);
		if (rc == ALTS_EINVALID) {
			sbuf_release(&content);
			check_set(ctx, CHECK_FAIL, "%s", perr.msg);
			*ok = false;
			return 0;
		}
		if (rc) {
			sbuf_release(&content);
			return alts_err_set(err, rc, "%s", perr.msg);
		}
		check_logf(ctx, "alts: repository '%s' -> %s:\n%s", s->repos[i].name, env_path, content.buf);
		rc = check_write_file(ctx, &host_path, "repo", content.buf, content.len, err);
		sbuf_release(&content);
		if (!rc)
			rc = runner_copy_in(ctx->runner, host_path, env_path, err);
		if (rc)
			return rc;
	}
	rc = pkg_refresh_cmd(&refresh, m, err);
	if (rc || !refresh.argc)
		goto out;
	rc = pkg_ctx_run(ctx, &o, &refresh, err);
	if (!rc && o.proc.exit_code != 0) {
		check_set(ctx, CHECK_FAIL, "%s update failed (%s): %s", pkg_tool_name(m->tool), check_cmd_status(ctx, &o),
			  check_cmd_summary(ctx, &o));
		*ok = false;
	}
	check_cmd_out_release(&o);
out:
	pkg_cmd_release(&refresh);
	return rc;
}

/* Copies package files into the environment; specs[i].file becomes the environment's path. */
static int install_copy_files(struct check_ctx *ctx, struct suite_package *specs, size_t n, struct alts_err *err)
{
	const char *dir = NULL;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *base, *dest;

		if (!specs[i].file)
			continue;
		if (!dir) {
			dir = arena_printf(ctx->arena, "%s/packages-%zu", runner_workdir(ctx->runner), ctx->check->index + 1);
			if (!dir)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			rc = check_env_mkdir(ctx, dir, err);
			if (rc)
				return rc;
		}
		base = strrchr(specs[i].file, '/');
		base = base ? base + 1 : specs[i].file;
		dest = arena_printf(ctx->arena, "%s/%s", dir, base);
		if (!dest)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = runner_copy_in(ctx->runner, specs[i].file, dest, err);
		if (rc)
			return rc;
		specs[i].file = dest;
	}
	return 0;
}

static int install_root_init(struct check_ctx *ctx, const struct pkg_mgr *m, struct alts_err *err)
{
	for (size_t i = 0;; i++) {
		struct pkg_cmd cmd = PKG_CMD_INIT;
		struct check_cmd_out o;
		int rc = pkg_root_init_cmd(&cmd, m, i, err);

		if (rc == ALTS_ENOTFOUND)
			return 0;
		if (rc)
			return rc;
		rc = pkg_ctx_run(ctx, &o, &cmd, err);
		if (!rc && o.proc.exit_code != 0)
			rc = alts_err_set(err, ALTS_EENV, "cannot prepare the scratch root '%s' (%s): %s", m->root,
					  check_cmd_status(ctx, &o), check_cmd_summary(ctx, &o));
		check_cmd_out_release(&o);
		pkg_cmd_release(&cmd);
		if (rc)
			return rc;
	}
}

static const char *install_skip(struct check_ctx *ctx, const struct suite_package *pkg)
{
	return pkg_ctx_excluded(ctx, pkg->name, "install");
}

static int install_command(struct check_ctx *ctx, const struct pkg_mgr *m, struct suite_package *pkgs, size_t n,
			   struct pkg_cmd *out, bool *ok, struct alts_err *err)
{
	const struct install_conf *conf = ctx->check->conf;
	int rc = install_root_init(ctx, m, err);

	if (!rc && leftovers_wanted(ctx->suite))
		rc = leftovers_snapshot(ctx, m, err);
	if (!rc && conf && conf->start_services)
		rc = install_allow_services(ctx, m, err);
	if (!rc)
		rc = install_add_repos(ctx, m, ok, err);
	if (rc || !*ok)
		return rc;
	rc = install_copy_files(ctx, pkgs, n, err);
	if (!rc)
		rc = pkg_install_cmd(out, m, pkgs, n, conf && conf->allow_downgrade ? PKG_INSTALL_DOWNGRADE : 0, err);
	return rc;
}

static const struct pkg_op install_op = {
	.verb = "install",
	.want_installed = true,
	.verify = true,
	.skip_log = "",
	.skip = install_skip,
	.command = install_command,
};

static int install_run(struct check_ctx *ctx, struct alts_err *err)
{
	const struct install_conf *conf = ctx->check->conf;

	return pkg_op_run(ctx, &install_op, conf ? &conf->packages : NULL, err);
}

const struct check_ops check_install_ops = {
	.name = "install",
	.abi = CHECK_ABI,
	.caps = CHECK_CAP_NEEDS_PACKAGES,
	.conf_size = sizeof(struct install_conf),
	.keys = install_keys,
	.validate = install_validate,
	.run = install_run,
};
