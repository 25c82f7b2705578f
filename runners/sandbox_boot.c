/*
 * Boot mode of the sandbox runner: systemd as PID 1 (runners/sandbox_boot.h).
 * What systemd needs from its container is systemd's "Container Interface"
 * (systemd.io/CONTAINER_INTERFACE), which systemd-nspawn implements; this
 * file adds to the plain sandbox what it lacks of it. See docs/runners.md.
 */
#include "framework/common.h"
#include "runners/sandbox_boot.h"
#include "runners/sandbox_fs.h"
#include "framework/log.h"
#include "framework/proc.h"
#include "framework/sbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_HYBRID CG_ROOT "/unified"
/* Caps on what systemd (or a test) may create below the container's cgroup, set where it cannot change them. */
#define CG_MAX_DESCENDANTS "4096"
#define CG_MAX_DEPTH "32"
#define BOOT_POLL_INTERVAL 0.05

static void sleep_for(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int sandbox_boot_timeout(double *out, const char *env, double def, struct alts_err *err)
{
	const char *v = getenv(env);
	char *end;
	double d;

	*out = def;
	if (!v || !*v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d > 0) || d > 86400)
		return alts_err_set(err, ALTS_EINVALID, "invalid %s '%s' (seconds, more than 0)", env, v);
	*out = d;
	return 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

static void write_cg_file(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	int fd;

	if (!str_fmt(path, sizeof(path), "%s/%s", dir, file))
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0)
		alts_log(ALTS_LOG_DEBUG, "sandbox", "cannot write '%s' to %s: %s", value, path, strerror(errno));
	close(fd);
}

/* The image must have systemd; its path inside, resolved inside the image's tree. */
static int find_systemd(struct sandbox_boot *b, const char *image, const char *lower, struct alts_err *err)
{
	static const char *const inits[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };
	int root = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open image '%s' at '%s'", image, lower);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(inits); i++) {
		struct stat st;
		int fd = sandbox_fs_open(root, inits[i], O_PATH);

		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			snprintf(b->init, sizeof(b->init), "%s", inits[i]);
			close(fd);
			close(root);
			return 0;
		}
		close(fd);
	}
	close(root);
	return alts_err_set(err, ALTS_EINVALID,
			    "image '%s' has no systemd (no /usr/lib/systemd/systemd): 'boot: systemd' needs an image "
			    "with systemd, e.g. alts-image build --dist debian-12 --include systemd,systemd-sysv "
			    "debian-12-systemd",
			    image);
}

/*
 * The container's cgroup in the v2 hierarchy: <sandbox cgroup>/payload on a
 * pure v2 host, unified/alts/<name>/payload on a hybrid one. The directory
 * above payload is out of the container's sight: the caps go there.
 */
static int make_cgroup(struct sandbox_boot *b, const char *name, const struct sandbox_cgroup *cg, struct alts_err *err)
{
	char above[PATH_MAX], path[PATH_MAX];

	if (is_cgroup2(CG_ROOT)) {
		if (!cg->v2 || cg->n < 1)
			return alts_err_set(err, ALTS_EENV, "'boot: systemd' needs the sandbox's cgroup, and none could be "
							    "made under " CG_ROOT);
		snprintf(above, sizeof(above), "%s", cg->dirs[0]);
		if (!str_fmt(b->cg_made, sizeof(b->cg_made), "%s/payload", above))
			return alts_err_set(err, ALTS_EINVALID, "cgroup path too long");
	} else if (is_cgroup2(CG_HYBRID)) {
		if (mkdir(CG_HYBRID "/alts", 0755) < 0 && errno != EEXIST)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot create cgroup '%s'", CG_HYBRID "/alts");
		if (!str_fmt(above, sizeof(above), CG_HYBRID "/alts/%s", name) ||
		    !str_fmt(b->cg_made, sizeof(b->cg_made), "%s", above))
			return alts_err_set(err, ALTS_EINVALID, "cgroup path too long");
		if (mkdir(above, 0755) < 0 && errno != EEXIST)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot create cgroup '%s'", above);
	} else {
		return alts_err_set(err, ALTS_EENV,
				    "'boot: systemd' needs a cgroup v2 hierarchy (cgroup2 on " CG_ROOT ", or on " CG_HYBRID
				    " of a hybrid host); this host has neither");
	}
	write_cg_file(above, "cgroup.max.descendants", CG_MAX_DESCENDANTS);
	write_cg_file(above, "cgroup.max.depth", CG_MAX_DEPTH);
	if (!str_fmt(b->cg_dir, sizeof(b->cg_dir), "%s/payload", above) ||
	    !str_fmt(path, sizeof(path), "%s/cgroup.procs", b->cg_dir))
		return alts_err_set(err, ALTS_EINVALID, "cgroup path too long");
	if (mkdir(b->cg_dir, 0755) < 0 && errno != EEXIST)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create cgroup '%s'", b->cg_dir);
	b->cg_procs_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (b->cg_procs_fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	return 0;
}

/* A random machine ID, and the same 128 bits as container_uuid (a v4 UUID, as systemd makes them). */
static int make_ids(struct sandbox_boot *b, struct alts_err *err)
{
	unsigned char id[16];
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return alts_err_errno(err, ALTS_EENV, errno, "cannot read random bytes");
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < sizeof(id); i++) {
		b->machine_id[n++] = hex[id[i] >> 4];
		b->machine_id[n++] = hex[id[i] & 15];
	}
	b->machine_id[n++] = '\n';
	b->machine_id[n] = '\0';
	snprintf(b->env_uuid, sizeof(b->env_uuid), "container_uuid=%.8s-%.4s-%.4s-%.4s-%.12s", b->machine_id,
		 b->machine_id + 8, b->machine_id + 12, b->machine_id + 16, b->machine_id + 20);
	return 0;
}

int sandbox_boot_plan(struct sandbox_boot *b, const char *image, const char *lower, const char *root,
		      const char *name, const struct sandbox_cgroup *cg, struct alts_err *err)
{
	int rc;

	memset(b, 0, sizeof(*b));
	snprintf(b->run_lock_opts, sizeof(b->run_lock_opts), "mode=1777,size=5m");
	b->cg_procs_fd = -1;
	b->on = true;
	if (!str_fmt(b->sys, sizeof(b->sys), "%s/sys", root) ||
	    !str_fmt(b->cgroup, sizeof(b->cgroup), "%s/sys/fs/cgroup", root) ||
	    !str_fmt(b->masked[0], sizeof(b->masked[0]), "%s/sys/firmware", root) ||
	    !str_fmt(b->masked[1], sizeof(b->masked[1]), "%s/sys/devices/virtual/powercap", root) ||
	    !str_fmt(b->machine_id_path, sizeof(b->machine_id_path), "%s/etc/machine-id", root) ||
	    !str_fmt(b->console_dir, sizeof(b->console_dir), "%s/run/alts", root) ||
	    !str_fmt(b->console_file, sizeof(b->console_file), "%s" SANDBOX_BOOT_CONSOLE, root) ||
	    !str_fmt(b->console, sizeof(b->console), "%s/dev/console", root) ||
	    !str_fmt(b->run_lock, sizeof(b->run_lock), "%s/run/lock", root))
		return alts_err_set(err, ALTS_EINVALID, "sandbox paths are too long under '%s'", root);
	rc = find_systemd(b, image, lower, err);
	if (!rc)
		rc = make_ids(b, err);
	if (!rc)
		rc = make_cgroup(b, name, cg, err);
	return rc;
}

int sandbox_boot_join(const struct sandbox_boot *b)
{
	if (b->cg_procs_fd >= 0 && write(b->cg_procs_fd, "0", 1) < 0)
		return -errno;
	return 0;
}

int sandbox_boot_mounts(const struct sandbox_boot *b)
{
	int rc = sandbox_boot_join(b), fd;

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	/* From here on the cgroup above is out of sight: /proc/self/cgroup says "/". */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return -1;
	if ((mkdir(b->sys, 0555) < 0 && errno != EEXIST) ||
	    mount("sysfs", b->sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(b->masked); i++) {
		if (mount("tmpfs", b->masked[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0 &&
		    errno != ENOENT)
			return -1;
	}
	if (mount("cgroup2", b->cgroup, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	/* The image's ID is shared by every sandbox of it: each boot gets its own. */
	if (unlink(b->machine_id_path) < 0 && errno != ENOENT)
		return -1;
	fd = open(b->machine_id_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	if (write(fd, b->machine_id, 33) != 33) {
		close(fd);
		return -1;
	}
	close(fd);
	/* /run and /dev are the sandbox's fresh tmpfs: nothing there is the image's. */
	if (mkdir(b->run_lock, 01777) < 0 ||
	    mount("tmpfs", b->run_lock, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, b->run_lock_opts) < 0)
		return -1;
	if (mkdir(b->console_dir, 0700) < 0)
		return -1;
	fd = open(b->console_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	fd = open(b->console, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return mount(b->console_file, b->console, NULL, MS_BIND, NULL);
}

void sandbox_boot_exec(const struct sandbox_boot *b)
{
	const char *argv[] = { b->init, NULL };
	const char *envp[] = {
		"container=alts", b->env_uuid, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		NULL,
	};

	execve(b->init, (char *const *)argv, (char *const *)envp);
	_exit(127);
}

static bool outer_ended(pid_t outer)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)outer, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == outer;
}

/* The console's last lines, for a boot that failed (the sandbox's mounts outlive PID 1 while root_fd is open). */
static void add_console_tail(struct sbuf *msg, int root_fd)
{
	char buf[4096];
	int fd = sandbox_fs_open(root_fd, SANDBOX_BOOT_CONSOLE, O_RDONLY | O_NOFOLLOW);  /* O_RDONLY alone is 0: O_PATH */
	off_t size;
	ssize_t n;
	int lines = 0;
	char *p;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	n = size > 0 ? pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0)
		     : 0;
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	for (p = buf + n; p > buf && lines < 15; p--) {
		if (p[-1] == '\n')
			lines++;
	}
	if (lines == 15)
		p++;
	sbuf_adds(msg, "; the console's last lines:\n");
	sbuf_adds(msg, p);
}

static void log_failed_units(sandbox_boot_run_fn run, void *payload)
{
	const char *argv[] = { "systemctl", "--failed", "--no-legend", "--plain", "--no-pager", NULL };
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf out = SBUF_INIT;
	int code = 0;

	if (!run(payload, argv, 10, &out, &code, &err)) {
		sbuf_trim_trailing(&out);
		alts_log(ALTS_LOG_INFO, "sandbox", "systemd booted degraded; failed units:\n%s", out.buf);
	}
	sbuf_release(&out);
}

int sandbox_boot_wait(const struct sandbox_boot *b, pid_t outer, int root_fd, double timeout,
		      sandbox_boot_run_fn run, void *payload, struct alts_err *err)
{
	const char *argv[] = { "systemctl", "is-system-running", NULL };
	double start = proc_now(), until = start + timeout;
	struct sbuf out = SBUF_INIT, msg = SBUF_INIT;
	char state[64] = "";
	const char *why = NULL;
	unsigned polls = 0;
	int rc = 0;

	for (;;) {
		int code = 0;

		if (outer_ended(outer)) {
			why = "systemd (PID 1) ended";
			break;
		}
		sbuf_reset(&out);
		rc = run(payload, argv, 10, &out, &code, err);
		polls++;
		if (rc)
			goto out;
		snprintf(state, sizeof(state), "%.*s", (int)strcspn(out.buf, " \n"), out.buf);
		if (!strcmp(state, "running") || !strcmp(state, "degraded"))
			break;
		if (!strcmp(state, "maintenance") || !strcmp(state, "stopping")) {
			why = "systemd gave up";
			break;
		}
		if (proc_now() >= until) {
			why = "timed out";
			break;
		}
		sleep_for(BOOT_POLL_INTERVAL);
	}
	if (why) {
		sbuf_addf(&msg, "systemd (%s) did not reach its default target: %s after %.1fs (systemctl "
				"is-system-running: '%s')",
			  b->init, why, proc_now() - start, state[0] ? state : "no answer");
		add_console_tail(&msg, root_fd);
		rc = alts_err_set(err, ALTS_EENV, "%s", sbuf_ok(&msg) ? msg.buf : "systemd did not boot");
		goto out;
	}
	alts_log(ALTS_LOG_DEBUG, "sandbox", "systemd is %s after %.2fs (%u polls)", state, proc_now() - start, polls);
	if (!strcmp(state, "degraded"))
		log_failed_units(run, payload);
out:
	sbuf_release(&out);
	sbuf_release(&msg);
	return rc;
}

bool sandbox_boot_halt(pid_t init, pid_t outer, double timeout)
{
	double until = proc_now() + timeout;
	int status;

	if (init <= 0 || outer <= 0 || kill(init, SIGRTMIN + 3) < 0)
		return false;
	for (;;) {
		pid_t r = waitpid(outer, &status, WNOHANG);

		if (r == outer)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		if (proc_now() >= until) {
			alts_log(ALTS_LOG_WARN, "sandbox", "systemd did not halt within %.0fs: killing the sandbox",
				 timeout);
			return false;
		}
		sleep_for(0.02);
	}
}

/* Removes a cgroup tree, leaves first; its processes are gone but the kernel may take a moment to let them go. */
static void remove_cgroup_tree(const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 64)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (str_fmt(sub, sizeof(sub), "%s/%s", dir, e->d_name))
			remove_cgroup_tree(sub, depth + 1);
	}
	closedir(d);
	for (int tries = 0; tries < 200 && rmdir(dir) < 0 && errno == EBUSY; tries++)
		sleep_for(0.01);
}

void sandbox_boot_release(struct sandbox_boot *b)
{
	if (b->cg_procs_fd >= 0)
		close(b->cg_procs_fd);
	b->cg_procs_fd = -1;
	if (b->cg_made[0])
		remove_cgroup_tree(b->cg_made, 0);
	b->cg_made[0] = '\0';
}

void sandbox_boot_forget(const char *name)
{
	char path[PATH_MAX];

	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return;
	if (str_fmt(path, sizeof(path), CG_ROOT "/alts/%s/payload", name))
		remove_cgroup_tree(path, 0);
	if (str_fmt(path, sizeof(path), CG_HYBRID "/alts/%s", name))
		remove_cgroup_tree(path, 0);
}
