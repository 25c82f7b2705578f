/*
 * Snapshots of an overlay sandbox: see runners/sandbox_snapshot.h and
 * docs/internals/sandbox-snapshots.md.
 */
#include "framework/common.h"
#include "runners/sandbox_snapshot.h"
#include "framework/log.h"
#include "framework/sbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void sandbox_snap_init(struct sandbox_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->ns_fd = -1;
	s->rw_fd = -1;
}

/* The keeper: a mount namespace of its own with the tmpfs at rw, held open until the parent has its descriptors. */
static void snap_keeper_main(const char *rw, const char *tmpfs_opts, int ready_fd, int hold_fd)
{
	int errnum = 0;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", rw, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts) < 0)
		errnum = errno ? errno : EIO;
	if (write(ready_fd, &errnum, sizeof(errnum)) != (ssize_t)sizeof(errnum))
		_exit(1);
	while (read(hold_fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static int snap_open_keeper(struct sandbox_snap *s, pid_t pid, const char *rw, struct alts_err *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	s->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->ns_fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	/* /proc/PID/root resolves in the keeper's namespace: rw is its tmpfs there. */
	if (!str_fmt(path, sizeof(path), "/proc/%d/root%s", (int)pid, rw))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", rw);
	s->rw_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rw_fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	return 0;
}

int sandbox_snap_start(struct sandbox_snap *s, const char *rw, bool rw_tmpfs, const char *tmpfs_opts,
		       struct alts_err *err)
{
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
	int errnum = 0, status, rc = 0;
	ssize_t n;
	pid_t pid;

	if (!rw_tmpfs) {
		s->rw_fd = open(rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->rw_fd < 0)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", rw);
		s->on = true;
		return 0;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		/* Its own copy of the write end would keep the read below from ever seeing the end. */
		close(hold[1]);
		snap_keeper_main(rw, tmpfs_opts, ready[1], hold[0]);
	}
	if (pid < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot fork");
		goto out;
	}
	close(ready[1]);
	ready[1] = -1;
	do
		n = read(ready[0], &errnum, sizeof(errnum));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(errnum))
		rc = alts_err_set(err, ALTS_EENV, "the snapshot namespace's keeper ended without a report");
	else if (errnum)
		rc = alts_err_errno(err, ALTS_EENV, errnum, "cannot mount a tmpfs at '%s' in a mount namespace of its own",
				    rw);
	else
		rc = snap_open_keeper(s, pid, rw, err);
	close(hold[1]);  /* the keeper exits; its namespace lives on in ns_fd */
	hold[1] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	if (rc)
		sandbox_snap_release(s);
	else
		s->on = true;
	return rc;
}

int sandbox_snap_enter(const struct sandbox_snap *s)
{
	if (s->ns_fd >= 0 && setns(s->ns_fd, CLONE_NEWNS) < 0)
		return -errno;
	return 0;
}

static void snap_name(char *buf, size_t size, const char *what, unsigned n)
{
	if (n)
		snprintf(buf, size, "%s%u", what, n);
	else
		snprintf(buf, size, "%s", what);
}

/*
 * Removes the directory name in parent_fd and everything under it, never
 * following a symbolic link. The tree was written by the sandbox, which is
 * stopped: nothing changes it meanwhile. Walks with one descriptor at a
 * time (down into a non-empty directory, up by "..", never above the top),
 * so no depth of tree runs out of descriptors or stack.
 */
ALTS_TESTABLE int sandbox_snap__rmtree(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	unsigned long depth = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		char sub[NAME_MAX + 1] = "";
		int dfd = dup(fd), next, e = 0;
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (!d) {
			e = errno;
			if (dfd >= 0)
				close(dfd);
			close(fd);
			return -e;
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (!unlinkat(fd, de->d_name, 0))
				continue;
			if (errno == EISDIR && !unlinkat(fd, de->d_name, AT_REMOVEDIR))
				continue;
			if (errno == ENOTEMPTY || errno == EEXIST) {
				snprintf(sub, sizeof(sub), "%s", de->d_name);
				break;
			}
			e = errno;
			break;
		}
		closedir(d);
		if (e) {
			close(fd);
			return -e;
		}
		if (sub[0]) {
			next = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			depth++;
		} else if (depth == 0) {
			close(fd);
			return unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
		} else {
			next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			depth--;
		}
		e = errno;
		close(fd);
		if (next < 0)
			return -e;
		fd = next;
	}
}

static void snap_remove(struct sandbox_snap *s, const char *what, unsigned gen)
{
	char name[32];
	int rc;

	snap_name(name, sizeof(name), what, gen);
	rc = sandbox_snap__rmtree(s->rw_fd, name);
	if (rc < 0)
		alts_log(ALTS_LOG_WARN, "sandbox", "cannot remove the old layer rw/%s (it stays until teardown): %s", name,
			 strerror(-rc));
}

int sandbox_snap_freeze(struct sandbox_snap *s, struct alts_err *err)
{
	char from[32], to[32];

	if (s->nlayers == SANDBOX_SNAP_MAX_LAYERS)
		return alts_err_set(err, ALTS_ENOTSUP, "too many snapshots of one sandbox (at most %d)",
				    SANDBOX_SNAP_MAX_LAYERS);
	snap_name(from, sizeof(from), "upper", s->gen);
	snprintf(to, sizeof(to), "layer%u", s->nlayers);
	if (renameat(s->rw_fd, from, s->rw_fd, to) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot freeze the sandbox's upper layer rw/%s as rw/%s", from,
				      to);
	s->nlayers++;
	snap_remove(s, "work", s->gen);
	s->gen++;
	return 0;
}

int sandbox_snap_discard(struct sandbox_snap *s, struct alts_err *err)
{
	ALTS_UNUSED(err);
	snap_remove(s, "upper", s->gen);
	snap_remove(s, "work", s->gen);
	s->gen++;
	return 0;
}

int sandbox_snap_plan(const struct sandbox_snap *s, const char *rw, const char *lower, char *upper, size_t upper_size,
		      char *work, size_t work_size, char *opts, size_t opts_size, struct alts_err *err)
{
	struct sbuf o = SBUF_INIT;
	char name[32];
	int rc = 0;

	sbuf_adds(&o, "lowerdir=");
	for (unsigned i = s->nlayers; i-- > 0;)
		sbuf_addf(&o, "%s/layer%u:", rw, i);
	sbuf_adds(&o, lower);
	snap_name(name, sizeof(name), "upper", s->gen);
	if (!str_fmt(upper, upper_size, "%s/%s", rw, name))
		rc = ALTS_EINVALID;
	snap_name(name, sizeof(name), "work", s->gen);
	if (!str_fmt(work, work_size, "%s/%s", rw, name))
		rc = ALTS_EINVALID;
	sbuf_addf(&o, ",upperdir=%s,workdir=%s", upper, work);
	/* mount(2) takes at most a page of options */
	if (!rc && sbuf_ok(&o) && (o.len >= opts_size || o.len >= 4096))
		rc = ALTS_EINVALID;
	if (!sbuf_ok(&o))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else if (rc)
		rc = alts_err_set(err, ALTS_EINVALID, "overlay options too long for %u snapshot layers under '%s'",
				  s->nlayers, rw);
	else
		memcpy(opts, o.buf, o.len + 1);
	sbuf_release(&o);
	return rc;
}

void sandbox_snap_release(struct sandbox_snap *s)
{
	if (s->ns_fd >= 0)
		close(s->ns_fd);
	if (s->rw_fd >= 0)
		close(s->rw_fd);
	s->ns_fd = s->rw_fd = -1;
	s->on = false;
}
