/*
 * install: adds the suite's repositories, installs its packages with the
 * environment's package manager and confirms each one is installed.
 */
#include "framework/common.h"
#include "checks/check_int.h"
#include "checks/pkg.h"
#include "checks/leftovers.h"
#include "checks/pkg_life.h"
#include "checks/testdeps.h"

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
 * True when the image's package index is older than the config's
 * index_max_age (0: always). No config (library use): never.
 */
static int install_index_stale(struct check_ctx *ctx, const struct pkg_mgr *m, bool *stale, struct alts_err *err)
{
	double max_age = ctx->config ? ctx->config->index_max_age : 0;
	const char *minutes = arena_printf(ctx->arena, "-%.0f", max_age / 60 > 1 ? max_age / 60 : 1);
	const char *apt_age[] = { "find", "/var/lib/apt/lists", "-maxdepth", "1", "-name", "*Packages*", "-mmin",
				  minutes, NULL };
	const char *dnf_age[] = { "find", "/var/cache/dnf", "-maxdepth", "3", "-name", "repomd.xml", "-mmin",
				  minutes, NULL };
	struct check_cmd_out o;
	int rc;

	*stale = false;
	if (!minutes)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!ctx->config || m->root || (m->tool != PKG_TOOL_APT && m->tool != PKG_TOOL_DNF))
		return 0;
	if (max_age <= 0) {
		check_logf(ctx, "alts: index_max_age is 0: the package index is refreshed");
		*stale = true;
		return 0;
	}
	rc = check_cmd(ctx, &o, m->tool == PKG_TOOL_APT ? apt_age : dnf_age, NULL, 60, err);
	*stale = !rc && !(o.proc.exit_code == 0 && o.out.len);
	check_logf(ctx, "alts: the package index is %s than index_max_age (%.0fs)", *stale ? "older" : "newer",
		   max_age);
	check_cmd_out_release(&o);
	return rc;
}

/*
 * Refreshes the whole index (apt-get update, dnf makecache --refresh).
 * A failure (no network in the environment) is logged, not fatal, unless
 * strict (the suite's repositories depend on it).
 */
static int install_refresh_all(struct check_ctx *ctx, const struct pkg_mgr *m, bool strict, bool *ok,
			       struct alts_err *err)
{
	const char *apt_update[] = { "apt-get", "update", "-o", "Acquire::Retries=0", NULL };
	const char *dnf_refresh[] = { "dnf", "makecache", "--refresh", NULL };
	static const char *const apt_env[] = { "DEBIAN_FRONTEND=noninteractive", NULL };
	struct check_cmd_out o;
	int rc = check_cmd(ctx, &o, m->tool == PKG_TOOL_APT ? apt_update : dnf_refresh,
			   m->tool == PKG_TOOL_APT ? apt_env : NULL, 600, err);

	if (!rc && o.proc.exit_code != 0) {
		if (strict) {
			check_set(ctx, CHECK_FAIL, "%s update failed (%s): %s", pkg_tool_name(m->tool),
				  check_cmd_status(ctx, &o), pkg_ctx_failure(ctx, &o));
			*ok = false;
		} else {
			check_logf(ctx, "alts: warning: the index refresh failed (%s): %s; using the image's index",
				   check_cmd_status(ctx, &o), pkg_ctx_failure(ctx, &o));
		}
	}
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

/*
 * Adds the suite's repositories and makes them known: a whole refresh
 * when the image's index is stale (index_max_age), else apt-get update of
 * each new list alone.
 */
static int install_add_repos(struct check_ctx *ctx, const struct pkg_mgr *m, bool *ok, struct alts_err *err)
{
	const struct suite *s = ctx->suite;
	bool stale = false;
	int rc;

	*ok = true;
	rc = install_index_stale(ctx, m, &stale, err);
	for (size_t i = 0; !rc && i < s->nrepos && *ok; i++) {
		struct sbuf content = SBUF_INIT;
		const char *env_path = NULL, *host_path = NULL;
		struct alts_err perr = ALTS_ERR_INIT;
		struct pkg_cmd refresh = PKG_CMD_INIT;
		struct check_cmd_out o;

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
		if (!rc && !stale)
			rc = pkg_refresh_list_cmd(&refresh, m, env_path, err);
		if (rc || !refresh.argc) {
			pkg_cmd_release(&refresh);
			continue;
		}
		rc = pkg_ctx_run(ctx, &o, &refresh, err);
		if (!rc && o.proc.exit_code != 0) {
			check_set(ctx, CHECK_FAIL, "%s update failed (%s): %s", pkg_tool_name(m->tool),
				  check_cmd_status(ctx, &o), pkg_ctx_failure(ctx, &o));
			*ok = false;
		}
		check_cmd_out_release(&o);
		pkg_cmd_release(&refresh);
	}
	if (!rc && *ok && stale)
		rc = install_refresh_all(ctx, m, s->nrepos > 0 && m->tool == PKG_TOOL_APT, ok, err);
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

/* The suite's test_depends, before the packages under test (checks/testdeps.h). */
static int install_test_deps(struct check_ctx *ctx, bool *ok, struct alts_err *err)
{
	const struct strlist *deps = &ctx->suite->test_depends;
	const char *why = NULL;
	int rc = check_test_deps_install(ctx, deps->v, deps->n, 0, &why, err);

	if (!rc && why) {
		check_set(ctx, CHECK_FAIL, "cannot install the test dependencies: %s", why);
		*ok = false;
	}
	return rc;
}

static const char *install_skip(struct check_ctx *ctx, const struct suite_package *pkg)
{
	return pkg_ctx_excluded(ctx, pkg->name, "install");
}

static int install_command(struct check_ctx *ctx, const struct pkg_mgr *m, struct suite_package *pkgs, size_t n,
			   struct pkg_cmd *out, bool *ok, struct alts_err *err)
{
	const struct install_conf *conf = ctx->check->conf;
	const struct strlist *deps = &ctx->suite->test_depends;
	int rc = install_root_init(ctx, m, err);

	/* With test dependencies, the "before" walk is taken once they are in: their files are no leftovers. */
	if (!rc && !deps->n && leftovers_wanted(ctx->suite))
		rc = leftovers_snapshot(ctx, m, err);
	if (!rc && conf && conf->start_services)
		rc = install_allow_services(ctx, m, err);
	if (!rc)
		rc = install_add_repos(ctx, m, ok, err);
	if (!rc && *ok && deps->n)
		rc = install_test_deps(ctx, ok, err);
	if (!rc && *ok && deps->n && leftovers_wanted(ctx->suite))
		rc = leftovers_snapshot(ctx, m, err);
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
