/*
 * Host <-> sandbox copies resolved inside the sandbox's root (see
 * sandbox_fs.h). The host side is trusted (alts-run's own files); the
 * sandbox side is not: nothing there is followed out of its root.
 */
#include "framework/common.h"
#include "runners/sandbox_fs.h"
#include "framework/sbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define COPY_BUF 65536

int sandbox_fs_open(int root_fd, const char *path, int flags)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags ? flags : O_PATH) | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*path == '/')
		path++;
	do
		fd = (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

/*
 * One copy's direction and budget. Out of the sandbox, what root there
 * made is not trusted: no setuid or setgid bit reaches the host (a setuid
 * root program in the log directory would be the sandbox's way to root),
 * the copy belongs to alts-run's user rather than to whichever host user
 * has the sandbox user's uid, and the bytes written are capped (a sparse
 * file or hard links of one file take little of the sandbox's disk but
 * would be copied in full).
 */
uint64_t sandbox_fs__copy_out_max = (uint64_t)4 << 30;

struct copy_job {
	bool out;
	uint64_t left;  /* bytes the copy may still write */
};

static int copy_tree(int sdir, const char *sname, int ddir, const char *dname, const char *what,
		     struct copy_job *job, struct alts_err *err);

static void copy_meta(int fd, const struct stat *st, const struct copy_job *job)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	/* Out on the host, a sandbox's uid would be a host user's (no user namespace): the copy stays ours. */
	if (!job->out && fchown(fd, st->st_uid, st->st_gid) < 0) {
		/* not root: the copy keeps our ownership */
	}
	fchmod(fd, st->st_mode & (job->out ? 01777 : 07777));
	futimens(fd, t);
}

static int copy_file(int sdir, const char *sname, int ddir, const char *dname, const char *what,
		     struct copy_job *job, struct alts_err *err)
{
	char *buf;
	struct stat st;
	int in, out, rc = 0;
	ssize_t n;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", what);
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return 0;  /* replaced by something else meanwhile: skipped like any special file */
	}
	if (unlinkat(ddir, dname, 0) < 0 && errno != ENOENT && errno != EISDIR) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot replace '%s'", dname);
		close(in);
		return rc;
	}
	out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", dname);
		close(in);
		return rc;
	}
	buf = malloc(COPY_BUF);
	if (!buf)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	while (!rc && (n = read(in, buf, COPY_BUF)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", what);
			break;
		}
		if ((uint64_t)n > job->left) {
			rc = alts_err_set(err, ALTS_EENV, "cannot copy '%s': the copy is over its size limit (%llu MiB)",
					  what, (unsigned long long)(sandbox_fs__copy_out_max >> 20));
			break;
		}
		job->left -= (uint64_t)n;
		for (ssize_t off = 0; !rc && off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno != EINTR)
				rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'%s", dname,
						    errno == ENOSPC ? " (sandbox disk full)" : "");
			else if (w > 0)
				off += w;
		}
	}
	free(buf);
	if (!rc)
		copy_meta(out, &st, job);
	close(in);
	if (close(out) < 0 && !rc)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", dname);
	return rc;
}

static int copy_link(int sdir, const char *sname, int ddir, const char *dname, const struct stat *st,
		     struct alts_err *err)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	if (n < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot read link '%s'", sname);
	target[n] = '\0';
	if (unlinkat(ddir, dname, 0) < 0 && errno != ENOENT)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot replace '%s'", dname);
	if (symlinkat(target, ddir, dname) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create link '%s'", dname);
	if (fchownat(ddir, dname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		/* not root */
	}
	utimensat(ddir, dname, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_dir(int sdir, const char *sname, int ddir, const char *dname, const struct stat *st,
		    const char *what, struct copy_job *job, struct alts_err *err)
{
	struct stat dst;
	int in, out, rc = 0;
	DIR *d;
	struct dirent *e;

	in = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open directory '%s'", what);
	if (fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst.st_mode) && unlinkat(ddir, dname, 0) < 0)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot replace '%s'", dname);
	if (!rc && mkdirat(ddir, dname, 0700) < 0 && errno != EEXIST)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create directory '%s'", dname);
	out = rc ? -1 : openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!rc && out < 0)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot open directory '%s'", dname);
	d = rc ? NULL : fdopendir(in);
	if (!rc && !d)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read directory '%s'", what);
	if (d)
		in = -1;
	while (!rc && d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		rc = copy_tree(dirfd(d), e->d_name, out, e->d_name, e->d_name, job, err);
	}
	if (!rc)
		copy_meta(out, st, job);
	if (d)
		closedir(d);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int copy_tree(int sdir, const char *sname, int ddir, const char *dname, const char *what,
		     struct copy_job *job, struct alts_err *err)
{
	struct stat st;

	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot copy '%s'", what);
	if (S_ISDIR(st.st_mode))
		return copy_dir(sdir, sname, ddir, dname, &st, what, job, err);
	if (S_ISLNK(st.st_mode))
		return copy_link(sdir, sname, ddir, dname, &st, err);
	if (S_ISREG(st.st_mode))
		return copy_file(sdir, sname, ddir, dname, what, job, err);
	return 0;  /* devices, fifos, sockets: not copied */
}

/* "a/b/c" -> parent "a/b", base "c"; "/c" -> "/", "c". */
static int split(const char *path, char *parent, size_t size, const char **base, struct alts_err *err)
{
	const char *slash;
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= size)
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	memcpy(parent, path, len);
	parent[len] = '\0';
	slash = strrchr(parent, '/');
	if (!slash) {
		*base = path;
		snprintf(parent, size, ".");
		return 0;
	}
	*base = path + (slash - parent) + 1;
	if (slash == parent)
		parent[1] = '\0';
	else
		parent[slash - parent] = '\0';
	return 0;
}

/* The directory env_dir inside the sandbox, made with its parents when missing. */
static int open_dir_in(int root_fd, const char *env_dir, struct alts_err *err)
{
	char buf[PATH_MAX];
	int fd;

	if (!str_fmt(buf, sizeof(buf), "%s", env_dir))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", env_dir);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			char *slash;
			int parent;

			*p = '\0';
			slash = strrchr(buf, '/');
			if (slash && slash[1]) {
				/* mkdir of the last component, in its parent resolved inside the root */
				*slash = '\0';
				parent = sandbox_fs_open(root_fd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
				*slash = '/';
				if (parent < 0)
					return alts_err_errno(err, ALTS_EENV, -parent, "cannot open '%s' in the sandbox", buf);
				if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) {
					int e = errno;

					close(parent);
					return alts_err_errno(err, ALTS_EENV, e, "cannot create '%s' in the sandbox", buf);
				}
				close(parent);
			}
			*p = c;
			if (!c)
				break;
		}
	}
	fd = sandbox_fs_open(root_fd, env_dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, -fd, "cannot open '%s' in the sandbox", env_dir);
	return fd;
}

static int check_env_path(const char *env_path, struct alts_err *err)
{
	if (env_path[0] != '/')
		return alts_err_set(err, ALTS_EINVALID, "sandbox path '%s' is not absolute", env_path);
	return 0;
}

int sandbox_fs_copy_in(int root_fd, const char *host_path, const char *env_path, struct alts_err *err)
{
	char sparent[PATH_MAX], dparent[PATH_MAX];
	const char *sbase, *dbase;
	int sdir = -1, ddir = -1, rc, target;

	if ((rc = check_env_path(env_path, err)) || (rc = split(host_path, sparent, sizeof(sparent), &sbase, err)) ||
	    (rc = split(env_path, dparent, sizeof(dparent), &dbase, err)))
		return rc;
	sdir = open(sparent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sdir < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", sparent);
	/* An existing directory receives the source under its own name, as with cp. */
	target = sandbox_fs_open(root_fd, env_path, O_RDONLY | O_DIRECTORY);
	if (target >= 0) {
		ddir = target;
		dbase = sbase;
	} else {
		ddir = open_dir_in(root_fd, dparent, err);
		if (ddir < 0) {
			close(sdir);
			return ddir;
		}
	}
	rc = copy_tree(sdir, sbase, ddir, dbase, host_path, &(struct copy_job){ false, UINT64_MAX }, err);
	if (rc)
		alts_err_prefix(err, "copying '%s' to '%s' in the sandbox", host_path, env_path);
	close(sdir);
	close(ddir);
	return rc;
}

int sandbox_fs_copy_out(int root_fd, const char *env_path, const char *host_path, struct alts_err *err)
{
	char sparent[PATH_MAX], dparent[PATH_MAX];
	const char *sbase, *dbase;
	struct stat st;
	int sdir = -1, ddir = -1, rc;

	if ((rc = check_env_path(env_path, err)) || (rc = split(env_path, sparent, sizeof(sparent), &sbase, err)) ||
	    (rc = split(host_path, dparent, sizeof(dparent), &dbase, err)))
		return rc;
	sdir = sandbox_fs_open(root_fd, sparent, O_RDONLY | O_DIRECTORY);
	if (sdir < 0)
		return alts_err_errno(err, ALTS_EENV, -sdir, "cannot open '%s' in the sandbox", sparent);
	if (!*sbase || !strcmp(sbase, "..") || !strcmp(sbase, ".")) {
		close(sdir);
		return alts_err_set(err, ALTS_EINVALID, "cannot copy out '%s': name a file or directory", env_path);
	}
	if (stat(host_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		ddir = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dbase = sbase;
	} else {
		ddir = open(dparent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (ddir < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", dparent);
		close(sdir);
		return rc;
	}
	rc = copy_tree(sdir, sbase, ddir, dbase, env_path, &(struct copy_job){ true, sandbox_fs__copy_out_max }, err);
	if (rc)
		alts_err_prefix(err, "copying '%s' out of the sandbox to '%s'", env_path, host_path);
	close(sdir);
	close(ddir);
	return rc;
}
