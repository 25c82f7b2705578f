/*
 * The local runner: commands run on this host, for CI jobs that already
 * run in a throw-away machine or container. Package operations can be
 * pointed at a scratch root (environment.root) instead of the host.
 */
#include "framework/common.h"
#include "runners/runner_util.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static int local_mkdirs(const char *path, struct alts_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", buf);
	return 0;
}

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
	rc = local_mkdirs(abs, err);
	if (rc) {
		alts_free(abs);
		return rc;
	}
	r->info.root = abs;
	return 0;
}

static int local_read_os_release(struct runner *r, struct alts_err *err)
{
	struct sbuf text = SBUF_INIT;
	int rc;

	if (sbuf_read_file(&text, "/etc/os-release", 65536) && sbuf_read_file(&text, "/usr/lib/os-release", 65536))
		sbuf_reset(&text);
	rc = runner_parse_os_release(&r->info, text.buf, err);
	sbuf_release(&text);
	return rc;
}

static int local_prepare(struct runner *r, struct alts_err *err)
{
	const char *tmp = getenv("TMPDIR");
	struct utsname uts;
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
	rc = local_read_os_release(r, err);
	if (!rc)
		rc = local_set_root(r, err);
	if (rc)
		goto fail;
	if (uname(&uts) < 0 || !(r->info.arch = alts_strdup(uts.machine))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	runner_remove_tree(r->workdir);
	return rc;
}

static int local_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		      struct alts_err *err)
{
	struct proc_spec spec = PROC_SPEC_INIT;
	char **env = NULL;
	int rc = runner_env_build(&env, r, req, err);

	if (rc)
		return rc;
	spec.argv = req->argv;
	spec.envp = (const char *const *)env;
	spec.cwd = req->cwd ? req->cwd : r->workdir;
	spec.stdin_path = req->stdin_path;
	spec.stdout_path = req->stdout_path;
	spec.stderr_path = req->stderr_path;
	spec.append = req->append;
	spec.timeout = req->timeout;
	spec.cancel = req->cancel;
	spec.on_output = req->on_output;
	spec.payload = req->payload;
	rc = proc_run(out, &spec, err);
	runner_env_free(env);
	return rc;
}

/* On this host "copying in" is a plain recursive copy; cp keeps modes and links. */
static int local_copy(struct runner *r, const char *from, const char *to, struct alts_err *err)
{
	const char *argv[] = { "cp", "-a", "--", from, to, NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	char errfile[PATH_MAX];
	struct sbuf msg = SBUF_INIT;
	int rc;

	snprintf(errfile, sizeof(errfile), "%s/.cp-stderr", r->workdir);
	spec.argv = argv;
	spec.envp = envp;
	spec.stderr_path = errfile;
	spec.timeout = 600;
	rc = proc_run(&res, &spec, err);
	if (rc)
		return rc;
	if (res.exit_code) {
		sbuf_read_file(&msg, errfile, 4096);
		sbuf_trim_trailing(&msg);
		rc = alts_err_set(err, ALTS_EENV, "cannot copy '%s' to '%s': %s", from, to,
				  msg.len ? msg.buf : "cp failed");
	}
	unlink(errfile);
	sbuf_release(&msg);
	return rc;
}

static int local_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	return local_copy(r, host_path, env_path, err);
}

static int local_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	return local_copy(r, env_path, host_path, err);
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
