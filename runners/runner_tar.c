#include "framework/common.h"
#include "runners/runner_tar.h"
#include "runners/runner_util.h"
#include "framework/sbuf.h"

#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

int runner_tar_split(char *dir, size_t dir_size, char *base, size_t base_size, const char *path,
		     struct alts_err *err)
{
	char buf[PATH_MAX];
	size_t len;
	char *slash;

	if (!str_fmt(buf, sizeof(buf), "%s", path))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	slash = strrchr(buf, '/');
	if (!len || !strcmp(buf, "/") || !strcmp(buf, ".") || !strcmp(buf, "..") ||
	    (slash && (!strcmp(slash, "/.") || !strcmp(slash, "/.."))))
		return alts_err_set(err, ALTS_EINVALID, "cannot copy '%s': name a file or directory", path);
	if (!slash) {
		if (!str_fmt(dir, dir_size, ".") || !str_fmt(base, base_size, "%s", buf))
			return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
		return 0;
	}
	*slash = '\0';
	if (!str_fmt(dir, dir_size, "%s", buf[0] ? buf : "/") || !str_fmt(base, base_size, "%s", slash + 1))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	return 0;
}

int runner_tar_tool(const char *const *argv, const char *stdin_path, const char *stdout_path, const char *what,
		    struct alts_err *err)
{
	const char *envp[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	char errfile[] = "/tmp/alts-tar-XXXXXX";
	struct sbuf msg = SBUF_INIT;
	int fd = mkstemp(errfile), rc;

	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a temporary file");
	close(fd);
	spec.argv = argv;
	spec.envp = envp;
	spec.stdin_path = stdin_path;
	spec.stdout_path = stdout_path;
	spec.stderr_path = errfile;
	spec.timeout = 3600;
	rc = proc_run(&res, &spec, err);
	if (!rc && res.exit_code) {
		sbuf_read_file(&msg, errfile, 4096);
		sbuf_trim_trailing(&msg);
		rc = alts_err_set(err, ALTS_EENV, "cannot %s: %s", what,
				  msg.len ? msg.buf : res.exec_errno ? strerror(res.exec_errno) : "tar failed");
	}
	unlink(errfile);
	sbuf_release(&msg);
	return rc;
}

int runner_tar_pack(const char *tar_path, const char *host_path, struct alts_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX], member[PATH_MAX + 2], what[PATH_MAX + 32];
	int rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), host_path, err);
	const char *argv[] = { "tar", "-cf", tar_path, "-C", dir, member, NULL };
	struct stat st;

	if (rc)
		return rc;
	if (lstat(host_path, &st) < 0)
		return alts_err_errno(err, ALTS_ENOTFOUND, errno, "cannot copy '%s'", host_path);
	snprintf(member, sizeof(member), "./%s", base);
	snprintf(what, sizeof(what), "pack '%s'", host_path);
	return runner_tar_tool(argv, NULL, NULL, what, err);
}

int runner_tar_unpack(const char *tar_path, const char *name, const char *host_path, struct alts_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX], from[2 * PATH_MAX], what[PATH_MAX + 32];
	const char *argv[] = { "tar", "-xpf", tar_path, "-C", NULL, NULL };
	struct stat st;
	int rc;

	snprintf(what, sizeof(what), "unpack into '%s'", host_path);
	if (!stat(host_path, &st) && S_ISDIR(st.st_mode)) {
		argv[4] = host_path;
		return runner_tar_tool(argv, NULL, NULL, what, err);
	}
	rc = runner_tar_split(dir, sizeof(dir), base, sizeof(base), host_path, err);
	if (rc)
		return rc;
	if (!str_fmt(tmp, sizeof(tmp), "%s/.alts-copy-XXXXXX", dir))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", host_path);
	if (!mkdtemp(tmp))
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a directory in '%s'", dir);
	argv[4] = tmp;
	rc = runner_tar_tool(argv, NULL, NULL, what, err);
	if (!rc) {
		snprintf(from, sizeof(from), "%s/%s", tmp, name);
		if (rename(from, host_path) < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot move '%s' to '%s'", from, host_path);
	}
	runner_remove_tree(tmp);
	return rc;
}
