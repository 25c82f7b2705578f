/*
 * The local runner: commands run on this host, for CI jobs that already
 * run in a throw-away machine or container. Package operations can be
 * pointed at a scratch root (environment.root) instead of the host.
 */
#include "framework/common.h"
#include "runners/runner_util.h"
#include "framework/fs.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static int local_set_root(struct runner *r, struct alts_err *err)
{
	const char *root = r->suite ? r->suite->env.root : NULL;
	char *abs;
	int rc;

	if (!root)
		return 0;
	abs = root[0] == '/' ? alts_strdup(root) : alts_asprintf("%s/%s", r->suite->dir, root);
	if (!abs)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = fs_mkdir_p(abs, 0755, err);
	if (rc) {
		alts_free(abs);
		return rc;
	}
	r->info.root = abs;
	return 0;
}

/* The host's os-release and machine name do not change while alts runs: read once per process. */
static struct {
	pthread_once_t once;
	struct sbuf os_release;
	struct utsname uts;
	bool have_uts;
} host = { PTHREAD_ONCE_INIT, SBUF_INIT, { { 0 } }, false };

static void host_read(void)
{
	if (sbuf_read_file(&host.os_release, "/etc/os-release", 65536) &&
	    sbuf_read_file(&host.os_release, "/usr/lib/os-release", 65536))
		sbuf_reset(&host.os_release);
	host.have_uts = uname(&host.uts) == 0;
}

static int local_read_host(struct runner *r, struct alts_err *err)
{
	int rc;

	pthread_once(&host.once, host_read);
	if (!sbuf_ok(&host.os_release))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = runner_parse_os_release(&r->info, host.os_release.buf, err);
	if (!rc && (!host.have_uts || !(r->info.arch = alts_strdup(host.uts.machine))))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return rc;
}

static int local_prepare(struct runner *r, struct alts_err *err)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	r->workdir = alts_asprintf("%s/alts-local-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!r->workdir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!mkdtemp(r->workdir)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a work directory like '%s'", r->workdir);
		alts_free(r->workdir);
		r->workdir = NULL;
		return rc;
	}
	r->info.name = r->ops->name;
	rc = local_read_host(r, err);
	if (!rc)
		rc = local_set_root(r, err);
	if (rc)
		goto fail;
	return 0;
fail:
	runner_remove_tree(r->workdir);
	return rc;
}

static int local_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		      struct alts_err *err)
{
	struct proc_spec spec;
	char **env = NULL;
	int rc = runner_env_build(&env, r, req, err);

	if (rc)
		return rc;
	runner_proc_spec(&spec, req, env, r->workdir);
	rc = proc_run(out, &spec, err);
	runner_env_free(env);
	return rc;
}

/* As in the other runners, missing parent directories of env_path are made. */
static int local_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	char parent[PATH_MAX];
	char *slash;
	int rc;

	ALTS_UNUSED(r);
	if (!str_fmt(parent, sizeof(parent), "%s", env_path))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", env_path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		rc = fs_mkdir_p(parent, 0755, err);
		if (rc)
			return rc;
	}
	return runner_host_copy(host_path, env_path, err);
}

static int local_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	ALTS_UNUSED(r);
	return runner_host_copy(env_path, host_path, err);
}

static int local_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	int rc;

	if (keep || !r->workdir)
		return 0;
	rc = runner_remove_tree(r->workdir);
	if (rc)
		return alts_err_errno(err, ALTS_EENV, -rc, "cannot remove '%s'", r->workdir);
	return 0;
}

static void local_destroy(struct runner *r)
{
	ALTS_UNUSED(r);
}

const struct runner_ops runner_local_ops = {
	.name = "local",
	.abi = RUNNER_ABI,
	.caps = RUNNER_CAP_ROOT_DIR,
	.priv_size = 0,
	.prepare = local_prepare,
	.exec = local_exec,
	.copy_in = local_copy_in,
	.copy_out = local_copy_out,
	.teardown = local_teardown,
	.destroy = local_destroy,
};
