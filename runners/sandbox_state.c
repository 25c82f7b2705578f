#include "framework/common.h"
#include "runners/sandbox_state.h"
#include "runners/sandbox_cgroup.h"
#include "runners/sandbox_boot.h"
#include "runners/runner_util.h"
#include "framework/fs.h"
#include "framework/log.h"
#include "framework/sbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_STATE_DEFAULT "/run/alts/sandboxes"

const char *sandbox_state_root(void)
{
	const char *d = getenv("ALTS_SANDBOX_DIR");

	return d && *d && strlen(d) < 1024 ? d : SANDBOX_STATE_DEFAULT;
}

/* True when dir's lock is free, i.e. its alts-run is gone. */
static bool state_is_stale(const char *dir)
{
	char path[PATH_MAX];
	int fd;
	bool stale;

	if (!str_fmt(path, sizeof(path), "%s/kept", dir) || !access(path, F_OK))
		return false;
	if (!str_fmt(path, sizeof(path), "%s/lock", dir))
		return false;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return stale;
}

static int state_remove_dir(const char *dir)
{
	char root[PATH_MAX];

	/* Mounts live in the sandbox's namespace; this only matters if one leaked to the host. */
	if (str_fmt(root, sizeof(root), "%s/root", dir))
		umount2(root, MNT_DETACH);
	/* A cgroup left by an alts-run that was killed (its processes are gone with it). */
	{
		const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

		sandbox_boot_forget(strncmp(name, ".stale-", 7) ? name : name + 7);  /* below the cgroup: first */
		sandbox_cgroup_forget(strncmp(name, ".stale-", 7) ? name : name + 7);
	}
	return runner_remove_tree(dir);
}

/*
 * Serializes sweeps with the creation of new directories in one state
 * root: a directory is locked before any sweep can see it, so a sweep
 * never takes a sandbox being created for a stale one. Returns the fd.
 */
static int state_root_lock(struct alts_err *err)
{
	char path[PATH_MAX];
	int fd, rc;

	if (!str_fmt(path, sizeof(path), "%s/.lock", sandbox_state_root()))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", sandbox_state_root());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot lock '%s'", path);
			close(fd);
			return rc;
		}
	}
	return fd;
}

/*
 * Under the root's lock: renames stale directories out of the way (they
 * are removed after it). Returns how many; *leftover is set when there is
 * something to remove (renamed now, or by an earlier sweep that did not
 * finish).
 */
static int sweep_rename(const char *root, bool *leftover, struct alts_err *err)
{
	struct dirent *e;
	int removed = 0;
	DIR *d = opendir(root);

	if (!d)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", root);
	while ((e = readdir(d)) != NULL) {
		char dir[PATH_MAX], gone[PATH_MAX];

		if (!strncmp(e->d_name, ".stale-", 7))
			*leftover = true;
		if (strncmp(e->d_name, "sb-", 3) || !str_fmt(dir, sizeof(dir), "%s/%s", root, e->d_name) ||
		    !str_fmt(gone, sizeof(gone), "%s/.stale-%s", root, e->d_name))
			continue;
		if (state_is_stale(dir) && rename(dir, gone) == 0) {
			alts_log(ALTS_LOG_INFO, "sandbox", "removing stale sandbox %s", dir);
			removed++;
			*leftover = true;
		}
	}
	closedir(d);
	return removed;
}

/* After the lock: removes the renamed directories; two sweepers removing one tree is harmless. */
static void sweep_remove(const char *root)
{
	struct dirent *e;
	DIR *d = opendir(root);

	while (d && (e = readdir(d)) != NULL) {
		char dir[PATH_MAX];

		if (!strncmp(e->d_name, ".stale-", 7) && str_fmt(dir, sizeof(dir), "%s/%s", root, e->d_name))
			state_remove_dir(dir);
	}
	if (d)
		closedir(d);
}

int sandbox_state_sweep(struct alts_err *err)
{
	const char *root = sandbox_state_root();
	bool leftover = false;
	int removed, lock;

	if (access(root, F_OK))
		return errno == ENOENT ? 0 : alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", root);
	lock = state_root_lock(err);
	if (lock < 0)
		return lock;
	removed = sweep_rename(root, &leftover, err);
	close(lock);
	if (leftover)
		sweep_remove(root);
	return removed;
}

int sandbox_state_create(struct sandbox_state *st, struct alts_err *err)
{
	char path[PATH_MAX];
	bool leftover = false;
	int rc, lock;

	st->lock_fd = -1;
	st->dir[0] = '\0';
	rc = fs_mkdir_p(sandbox_state_root(), 0700, err);
	if (rc)
		return rc;
	/* The sweep and the new directory under one hold of the lock. */
	lock = state_root_lock(err);
	if (lock < 0)
		return lock;
	rc = sweep_rename(sandbox_state_root(), &leftover, err);
	if (rc < 0) {
		close(lock);
		return rc;
	}
	if (!str_fmt(st->dir, sizeof(st->dir), "%s/sb-XXXXXX", sandbox_state_root()) || !mkdtemp(st->dir)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a sandbox directory in '%s'",
				    sandbox_state_root());
		st->dir[0] = '\0';
		close(lock);
		return rc;
	}
	str_fmt(path, sizeof(path), "%s/lock", st->dir);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot lock '%s'", path);
		goto fail;
	}
	close(lock);
	lock = -1;
	if (leftover)
		sweep_remove(sandbox_state_root());
	if (!str_fmt(path, sizeof(path), "%s/root", st->dir) || mkdir(path, 0755) < 0 ||
	    !str_fmt(path, sizeof(path), "%s/rw", st->dir) || mkdir(path, 0755) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", path);
		goto fail;
	}
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	sandbox_state_remove(st, NULL);
	return rc;
}

int sandbox_state_remove(struct sandbox_state *st, struct alts_err *err)
{
	int rc = 0;

	if (st->dir[0]) {
		rc = state_remove_dir(st->dir);
		if (rc)
			rc = alts_err_errno(err, ALTS_EENV, -rc, "cannot remove sandbox '%s'", st->dir);
	}
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	st->dir[0] = '\0';
	return rc;
}

int sandbox_state_remove_stopped(struct sandbox_state *st, struct alts_err *err)
{
	static const char *const dirs[] = { "root", "rw" };
	char path[PATH_MAX];

	for (size_t i = 0; st->dir[0] && i < ALTS_ARRAY_SIZE(dirs); i++) {
		if (!str_fmt(path, sizeof(path), "%s/%s", st->dir, dirs[i]) || rmdir(path) < 0)
			return sandbox_state_remove(st, err);
	}
	/* The lock goes last: a directory without one is a stale sandbox for any sweep. */
	if (st->dir[0] && (!str_fmt(path, sizeof(path), "%s/lock", st->dir) || unlink(path) < 0 || rmdir(st->dir) < 0))
		return sandbox_state_remove(st, err);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	st->dir[0] = '\0';
	return 0;
}

int sandbox_state_keep(struct sandbox_state *st, struct alts_err *err)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (str_fmt(path, sizeof(path), "%s/kept", st->dir)) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create '%s'", path);
		else
			close(fd);
	}
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	st->dir[0] = '\0';
	return rc;
}
