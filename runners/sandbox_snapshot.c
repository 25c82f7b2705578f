/*
 * Snapshots of an overlay sandbox: see runners/sandbox_snapshot.h and
 * docs/internals/sandbox.md (Snapshots).
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

/* The keeper: makes the mount namespace that holds the layers' tmpfs, and opens it for us. */
struct snap_keeper {
	const char *rw, *tmpfs_opts;
	int ns_fd, rw_fd;
	int errnum;
	bool mounted;
};

#define SNAP_KEEPER_STACK (64 * 1024)

/*
 * Runs with our memory and descriptor table (CLONE_VM | CLONE_FILES |
 * CLONE_VFORK: no copy of a large parent's page tables) in a mount
 * namespace of its own: the descriptors it opens are ours, and hold the
 * namespace after it exits.
 */
static int snap_keeper_main(void *payload)
{
	struct snap_keeper *k = payload;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", k->rw, "tmpfs", MS_NOSUID | MS_NODEV, k->tmpfs_opts) < 0) {
		k->errnum = errno ? errno : EIO;
		return 1;
	}
	k->mounted = true;
	k->ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (k->ns_fd >= 0)
		k->rw_fd = open(k->rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->ns_fd < 0 || k->rw_fd < 0)
		k->errnum = errno;
	return 0;
}

int sandbox_snap_start(struct sandbox_snap *s, const char *rw, bool rw_tmpfs, const char *tmpfs_opts,
		       struct alts_err *err)
{
	struct snap_keeper k = { rw, tmpfs_opts, -1, -1, 0, false };
	char *stack;
	int status, rc = 0;
	pid_t pid;

	if (!rw_tmpfs) {
		s->rw_fd = open(rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->rw_fd < 0)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", rw);
		s->on = true;
		return 0;
	}
	stack = alts_malloc(SNAP_KEEPER_STACK);
	if (!stack)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	pid = clone(snap_keeper_main, stack + SNAP_KEEPER_STACK,
		    CLONE_VM | CLONE_FILES | CLONE_VFORK | CLONE_NEWNS | SIGCHLD, &k);
	if (pid < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot start the snapshot namespace's keeper");
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		s->ns_fd = k.ns_fd;
		s->rw_fd = k.rw_fd;
		if (!k.mounted)
			rc = alts_err_errno(err, ALTS_EENV, k.errnum,
					    "cannot mount a tmpfs at '%s' in a mount namespace of its own", rw);
		else if (k.errnum)
			rc = alts_err_errno(err, ALTS_EENV, k.errnum, "cannot open the snapshot namespace of '%s'", rw);
	}
	alts_free(stack);
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

int sandbox_snap_drop(struct sandbox_snap *s, struct alts_err *err)
{
	char name[32];

	if (!s->nlayers)
		return alts_err_set(err, ALTS_EINTERNAL, "no snapshot to drop");
	snprintf(name, sizeof(name), "layer%u", s->nlayers - 1);
	if (sandbox_snap__rmtree(s->rw_fd, name) < 0)
		alts_log(ALTS_LOG_WARN, "sandbox", "cannot remove the old layer rw/%s (it stays until teardown)", name);
	s->nlayers--;
	return sandbox_snap_discard(s, err);
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
