/*
 * The sandbox runner: every suite gets a fresh system in milliseconds,
 * with no daemon. A cached image (runners/image.h) is the read-only lower
 * layer of an overlay whose upper layer is a tmpfs that exists only in the
 * sandbox's own mount namespace; PID, UTS, IPC and (by default) network
 * namespaces are new too.
 *
 * One process holds a sandbox: PID 1, cloned with every namespace flag at
 * once, which builds the mounts, pivots into the overlay and then only
 * reaps orphans. It dies with alts-run (PR_SET_PDEATHSIG), and when PID 1
 * dies the kernel kills everything in the sandbox and drops its mounts:
 * nothing is left behind even after a SIGKILL. Commands are started by
 * the sandbox's spawner (runners/sandbox_spawn.h), a process already in
 * the sandbox's cgroup, namespaces and privileges; those too big for its
 * messages join the namespaces with setns() in a forked child.
 *
 * The code between fork() and exec()/_exit() is async-signal-safe: every
 * string it needs is prepared in the parent first (struct sandbox_plan).
 *
 * Where overlayfs is unavailable (the mount fails with ENODEV, EINVAL or
 * EPERM: no module, a lower layer stacked too deep, a kernel that refuses
 * it in this namespace) or ALTS_SANDBOX_MODE=copy asks for it, the parent
 * copies the image (cp -a --reflink=auto) into the sandbox's directory and
 * PID 1 bind-mounts the copy as the root instead. See docs/runners.md.
 */
#include "framework/common.h"
#include "runners/runner_util.h"
#include "runners/sandbox_state.h"
#include "runners/sandbox_cgroup.h"
#include "runners/sandbox_boot.h"
#include "runners/sandbox_fs.h"
#include "runners/sandbox_sec.h"
#include "runners/sandbox_net.h"
#include "runners/sandbox_snapshot.h"
#include "runners/sandbox_spawn.h"
#include "runners/image.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "framework/suite.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_MAX_BINDS 32
#define SANDBOX_MAX_PROXY_FILES 8
#define SANDBOX_SMALL_FILE_MAX 16384  /* what PID 1 copies in one read */
#define SANDBOX_WORKDIR "/alts-work"

/* NS_CGROUP: boot mode only (runners/sandbox_boot.h) */
enum sandbox_ns { NS_IPC, NS_UTS, NS_NET, NS_PID, NS_CGROUP, NS_MNT, NS_COUNT };

static const char *const ns_names[NS_COUNT] = { "ipc", "uts", "net", "pid", "cgroup", "mnt" };
static const int ns_types[NS_COUNT] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWCGROUP,
					CLONE_NEWNS };

struct sandbox_bind {
	char source[PATH_MAX];  /* host path */
	char target[PATH_MAX];  /* <root>/<same path> */
	bool is_dir;
};

/* Everything PID 1 needs, computed before fork. */
struct sandbox_plan {
	char root[PATH_MAX];      /* mount point of the overlay */
	char rw[PATH_MAX];        /* tmpfs (or directory) for upper and work */
	char upper[PATH_MAX];
	char work[PATH_MAX];
	char overlay_opts[3 * PATH_MAX + 64];
	char proc[PATH_MAX], dev[PATH_MAX], pts[PATH_MAX], shm[PATH_MAX], tmp[PATH_MAX], run[PATH_MAX];
	char workdir[PATH_MAX];
	char dev_nodes[6][2][PATH_MAX];  /* host node, target */
	char dev_links[5][2][PATH_MAX];  /* link path, link text */
	char resolv_src[64], resolv_dst[PATH_MAX], hosts_dst[PATH_MAX];
	char copy[PATH_MAX];      /* copy mode: the image's copy, bind-mounted as the root */
	/* network host: the host's apt proxy files (host path, target) and the image's dnf.conf with its proxy lines */
	char apt_proxy[SANDBOX_MAX_PROXY_FILES][2][PATH_MAX];
	size_t napt_proxy;
	char dnf_conf_dst[PATH_MAX];
	char dnf_conf[SANDBOX_SMALL_FILE_MAX];
	size_t dnf_conf_len;      /* 0: dnf.conf is left alone */
	struct sandbox_bind binds[SANDBOX_MAX_BINDS];
	size_t nbinds;
	/* /proc: files hidden under /dev/null, directories made read-only, directories hidden under an empty tmpfs */
	char proc_masked[9][PATH_MAX];
	char proc_ro[5][PATH_MAX];
	char proc_empty[2][PATH_MAX];
	char opts_rw[64], opts_tmp[64], opts_run[64], opts_shm[64];  /* tmpfs options with size= */
	bool rw_is_tmpfs;
	bool network_host;
	bool copy_mode;
};

/* ALTS_SANDBOX_MODE: how the root is made. */
enum sandbox_mode {
	SANDBOX_MODE_AUTO,     /* overlay, a copy when overlayfs is unavailable (default) */
	SANDBOX_MODE_OVERLAY,  /* overlay only */
	SANDBOX_MODE_COPY,     /* always a copy */
};

struct sandbox {
	struct sandbox_plan plan;
	struct sandbox_state state;   /* the state directory and its lock */
	struct image_meta image;
	char lower[PATH_MAX];         /* the image's rootfs */
	int image_hold;               /* image_hold()'s fd while the image is in use, or -1 */
	bool keep;                    /* --keep-env: the state directory stays */
	bool prepared;                /* the fields below are set (priv starts zeroed: fd 0 is not ours) */
	pid_t init;                   /* PID 1 of the sandbox, as the host sees it; our child */
	int ctl_fd;                   /* closing it ends the sandbox */
	int ns_fds[NS_COUNT];
	int failed_step;              /* the setup step PID 1 reported failed, and its errno */
	int failed_errno;
	int root_fd;                  /* the sandbox's root directory: copies resolve inside it */
	struct sandbox_sec sec;       /* capabilities and seccomp filter of everything inside */
	struct sandbox_limits limits;
	struct sandbox_cgroup cgroup;
	bool have_cgroup;
	struct sandbox_boot boot;     /* boot: systemd */
	double boot_timeout, boot_stop_timeout;
	struct sandbox_snap snap;     /* runner_snapshot, runner_reset (runners/sandbox_snapshot.c) */
	struct sandbox_net net;       /* network: private: the mirror proxy */
	struct sandbox_spawner spawner;  /* starts the commands, from inside (runners/sandbox_spawn.h) */
};

/* What PID 1 reports when a setup step fails. */
struct sandbox_setup_error {
	int step;
	int errnum;
};

enum setup_step {
	STEP_OK = 0, STEP_PRIVATE, STEP_RW, STEP_DIRS, STEP_OVERLAY, STEP_PROC, STEP_DEV, STEP_DEVNODES, STEP_PTS,
	STEP_TMPFS, STEP_BINDS, STEP_RESOLV, STEP_HOSTNAME, STEP_LOOPBACK, STEP_PIVOT, STEP_WORKDIR, STEP_COPY,
	STEP_PROXY, STEP_PROCMASK, STEP_PRIVS, STEP_BOOT,
};

static const char *const step_names[] = {
	"ok", "make mounts private", "mount the tmpfs for the upper layer", "create the overlay directories",
	"mount the overlay (is the image on a filesystem overlayfs accepts?)", "mount /proc", "mount /dev",
	"create device nodes", "mount /dev/pts", "mount tmpfs on /tmp, /run or /dev/shm",
	"bind-mount local packages and repositories", "copy the resolver configuration", "set the host name",
	"bring up the loopback interface", "switch root into the overlay", "create the work directory",
	"bind-mount the image's copy as the root", "copy the host's apt and dnf proxy settings",
	"mask /proc files and make /proc/sys read-only", "drop privileges (capabilities, seccomp)",
	"prepare the boot (cgroup namespace, /sys, /sys/fs/cgroup, /etc/machine-id)",
};

static void sandbox_stop(struct sandbox *sb);
static int sandbox_enter(void *payload);

static int ns_enter_fds_close(struct sandbox *sb)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (sb->ns_fds[i] >= 0)
			close(sb->ns_fds[i]);
		sb->ns_fds[i] = -1;
	}
	return 0;
}

/* --- code run by PID 1 (async-signal-safe) --- */

static int make_node_target(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int write_small_file(const char *to, const char *buf, size_t len)
{
	int out;

	unlink(to);  /* it may be a symlink into /run, which is ours now */
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return -1;
	if (write(out, buf, len) != (ssize_t)len) {
		close(out);
		return -1;
	}
	return close(out);
}

static int copy_small_file(const char *from, const char *to)
{
	char buf[SANDBOX_SMALL_FILE_MAX];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n < 0)
		return -1;
	return write_small_file(to, buf, (size_t)n);
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		close(fd);
		return -1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int mount_tmpfs(const char *target, const char *opts)
{
	return mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static int bind_ro(const struct sandbox_bind *b)
{
	if (b->is_dir ? mkdir(b->target, 0755) < 0 && errno != EEXIST : make_node_target(b->target) < 0)
		return -1;
	if (mount(b->source, b->target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return mount(NULL, b->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static int mkdirs_in_root(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return 0;
}

/*
 * As Docker does: /proc files that show or change the host's kernel are
 * hidden under /dev/null (or an empty read-only tmpfs), /proc/sys and a few
 * directories are read-only. Missing ones are skipped.
 */
static int mask_proc(const struct sandbox_plan *p)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(p->proc_masked); i++) {
		if (mount("/dev/null", p->proc_masked[i], NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
			return -1;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(p->proc_empty); i++) {
		if (mount("tmpfs", p->proc_empty[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0 &&
		    errno != ENOENT)
			return -1;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(p->proc_ro); i++) {
		if (mount(p->proc_ro[i], p->proc_ro[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (mount(NULL, p->proc_ro[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return -1;
	}
	return 0;
}

static int setup_mounts(const struct sandbox_plan *p)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return STEP_PRIVATE;
	if (p->copy_mode) {
		if (mount(p->copy, p->root, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p->root, NULL, MS_BIND | MS_REMOUNT | MS_NODEV, NULL) < 0)
			return STEP_COPY;
	} else {
		if (p->rw_is_tmpfs && mount_tmpfs(p->rw, p->opts_rw) < 0)
			return STEP_RW;
		if ((mkdir(p->upper, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(p->work, 0755) < 0 && errno != EEXIST))
			return STEP_DIRS;
		if (mount("overlay", p->root, "overlay", MS_NODEV, p->overlay_opts) < 0)
			return STEP_OVERLAY;
	}
	if ((mkdir(p->proc, 0555) < 0 && errno != EEXIST) ||
	    mount("proc", p->proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return STEP_PROC;
	if (mask_proc(p) < 0)
		return STEP_PROCMASK;
	if ((mkdir(p->dev, 0755) < 0 && errno != EEXIST) || mount_tmpfs(p->dev, "mode=0755,size=64k") < 0)
		return STEP_DEV;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(p->dev_nodes); i++) {
		if (make_node_target(p->dev_nodes[i][1]) < 0 ||
		    mount(p->dev_nodes[i][0], p->dev_nodes[i][1], NULL, MS_BIND, NULL) < 0)
			return STEP_DEVNODES;
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(p->dev_links); i++) {
		if (symlinkat(p->dev_links[i][1], -1, p->dev_links[i][0]) < 0 && errno != EEXIST)
			return STEP_DEVNODES;
	}
	if (mkdir(p->pts, 0755) < 0 ||
	    mount("devpts", p->pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
		return STEP_PTS;
	if (mkdir(p->shm, 01777) < 0 || mount_tmpfs(p->shm, p->opts_shm) < 0 ||
	    (mkdir(p->tmp, 01777) < 0 && errno != EEXIST) || mount_tmpfs(p->tmp, p->opts_tmp) < 0 ||
	    (mkdir(p->run, 0755) < 0 && errno != EEXIST) || mount_tmpfs(p->run, p->opts_run) < 0)
		return STEP_TMPFS;
	for (size_t i = 0; i < p->nbinds; i++) {
		if (mkdirs_in_root(p->binds[i].target) < 0 || bind_ro(&p->binds[i]) < 0)
			return STEP_BINDS;
	}
	if (p->network_host &&
	    (copy_small_file(p->resolv_src, p->resolv_dst) < 0 || copy_small_file("/etc/hosts", p->hosts_dst) < 0))
		return STEP_RESOLV;
	for (size_t i = 0; i < p->napt_proxy; i++) {
		if (copy_small_file(p->apt_proxy[i][0], p->apt_proxy[i][1]) < 0)
			return STEP_PROXY;
	}
	if (p->dnf_conf_len && write_small_file(p->dnf_conf_dst, p->dnf_conf, p->dnf_conf_len) < 0)
		return STEP_PROXY;
	if (mkdir(p->workdir, 0755) < 0 && errno != EEXIST)
		return STEP_WORKDIR;
	return STEP_OK;
}

static int setup_root(const struct sandbox_plan *p, const struct sandbox_boot *boot)
{
	int step = setup_mounts(p);

	if (step)
		return step;
	if (boot->on && sandbox_boot_mounts(boot) < 0)
		return STEP_BOOT;
	if (sethostname("alts-sandbox", 12) < 0)
		return STEP_HOSTNAME;
	if (!p->network_host && loopback_up() < 0)
		return STEP_LOOPBACK;
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the overlay. */
	if (chdir(p->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		return STEP_PIVOT;
	return STEP_OK;
}

static void report_setup(int fd, int step, int errnum)
{
	struct sandbox_setup_error e = { step, errnum };

	if (write(fd, &e, sizeof(e)) < 0)
		_exit(126);
}

/* What clone() hands PID 1 (a copy of the parent's, as after fork). */
struct sandbox_init_args {
	const struct sandbox *sb;
	int ctl_fd, report_fd;
};

/*
 * PID 1: set up, report, then reap orphans until the control pipe closes.
 * It stays out of the sandbox's cgroup (joining costs an RCU grace period):
 * it starts nothing, and every command descends from the spawner, which
 * is in it.
 */
static int sandbox_init_main(void *payload)
{
	const struct sandbox_init_args *a = payload;
	const struct sandbox *sb = a->sb;
	int ctl_fd = a->ctl_fd, report_fd = a->report_fd;
	int step = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Booted, PID 1 is systemd and starts the services: it must be in the sandbox's cgroup. */
	if (sb->boot.on && sb->have_cgroup) {
		int e = -sandbox_cgroup_join(&sb->cgroup);

		if (e > 0) {
			report_setup(report_fd, -4, e);
			_exit(1);
		}
	}
	/* Snapshots: our mount namespace is a copy of the one that holds the layers' tmpfs. */
	if (sb->snap.ns_fd >= 0) {
		int e = -sandbox_snap_enter(&sb->snap);

		if (!e && unshare(CLONE_NEWNS) < 0)
			e = errno;
		if (e) {
			report_setup(report_fd, -5, e);
			_exit(1);
		}
	}
	/*
	 * PID 1 never execs, so it would hold every descriptor other threads had
	 * open at clone time (their pipes, other sandboxes' control pipes), and
	 * alts-run's stdio: it keeps only its own (and the boot cgroup's procs
	 * file, to join it).
	 */
	proc_close_fds_keeping(ctl_fd, report_fd, sb->boot.cg_procs_fd);
	proc_stdio_to_null();
	step = setup_root(&sb->plan, &sb->boot);
	if (!step && sandbox_sec_apply(&sb->sec) < 0)
		step = STEP_PRIVS;
	report_setup(report_fd, step, step ? errno : 0);
	close(report_fd);
	if (step)
		_exit(1);
	if (sb->boot.on)
		sandbox_boot_exec(&sb->boot);
	for (;;) {
		struct pollfd pfd = { ctl_fd, POLLIN, 0 };
		int status;

		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		if (poll(&pfd, 1, 200) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			char c;

			if (read(ctl_fd, &c, 1) <= 0)
				_exit(0);
		}
	}
}

/* --- the parent side --- */

static bool plan_path(char *buf, size_t size, const char *a, const char *b)
{
	return str_fmt(buf, size, "%s%s", a, b);
}

static int plan_bind(struct sandbox_plan *p, const char *source, bool is_dir, struct alts_err *err)
{
	struct sandbox_bind *b;

	for (size_t i = 0; i < p->nbinds; i++) {
		if (!strcmp(p->binds[i].source, source))
			return 0;
	}
	if (p->nbinds == SANDBOX_MAX_BINDS)
		return alts_err_set(err, ALTS_EINVALID, "too many local paths to bind (at most %d)", SANDBOX_MAX_BINDS);
	b = &p->binds[p->nbinds];
	if (!str_fmt(b->source, sizeof(b->source), "%s", source) || !plan_path(b->target, sizeof(b->target), p->root, source))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", source);
	b->is_dir = is_dir;
	p->nbinds++;
	return 0;
}

/* A local repository path in a URL or apt line ("file:/srv/repo", "/srv/repo"), or NULL. */
static const char *local_repo_path(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "file:");

	if (p) {
		p += 5;
		while (p[0] == '/' && p[1] == '/')
			p++;
	} else if (url[0] == '/') {
		p = url;
	} else {
		return NULL;
	}
	snprintf(buf, size, "%.*s", (int)strcspn(p, " \t"), p);
	while (strlen(buf) > 1 && buf[strlen(buf) - 1] == '/')
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

/* Local package files and repositories become read-only bind mounts at the same paths. */
static int plan_binds(struct sandbox_plan *p, const struct suite *s, struct alts_err *err)
{
	char path[PATH_MAX];
	int rc = 0;

	for (size_t i = 0; !rc && s && i < s->npackages; i++) {
		if (s->packages[i].file)
			rc = plan_bind(p, s->packages[i].file, false, err);
	}
	for (size_t i = 0; !rc && s && i < s->nrepos; i++) {
		struct stat st;

		if (local_repo_path(s->repos[i].url, path, sizeof(path)) && !stat(path, &st))
			rc = plan_bind(p, path, S_ISDIR(st.st_mode), err);
	}
	return rc;
}

/* True when a line of dnf.conf sets one of the proxy options ("proxy = ...", "proxy_username=..."). */
static bool dnf_proxy_line(const char *line, size_t len)
{
	static const char *const keys[] = { "proxy", "proxy_username", "proxy_password", "proxy_auth_method" };
	size_t k;

	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	k = 0;
	while (k < len && (isalnum((unsigned char)line[k]) || line[k] == '_'))
		k++;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(keys); i++) {
		if (k == strlen(keys[i]) && !strncasecmp(line, keys[i], k)) {
			while (k < len && (line[k] == ' ' || line[k] == '\t'))
				k++;
			return k < len && line[k] == '=';
		}
	}
	return false;
}

/*
 * Calls fn for every line of text in section [main] (or in no section, for
 * files that start without one); a line "[main]" itself gets section 1.
 */
static void dnf_main_lines(const char *text, void (*fn)(const char *line, size_t len, int kind, void *payload),
			   void *payload)
{
	bool in_main = true;

	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		const char *t = text;

		while (t < text + len && (*t == ' ' || *t == '\t'))
			t++;
		if (*t == '[') {
			in_main = len - (size_t)(t - text) >= 6 && !strncmp(t, "[main]", 6);
			fn(text, len, in_main ? 1 : 2, payload);
		} else {
			fn(text, len, in_main ? 0 : 2, payload);
		}
		text += len + (nl ? 1 : 0);
	}
}

struct dnf_merge {
	struct sbuf host;     /* the host's proxy lines */
	struct sbuf out;      /* the image's dnf.conf with them */
	bool inserted;
};

static void dnf_collect(const char *line, size_t len, int kind, void *payload)
{
	struct dnf_merge *m = payload;

	if (kind == 0 && dnf_proxy_line(line, len)) {
		sbuf_add(&m->host, line, len);
		sbuf_addch(&m->host, '\n');
	}
}

static void dnf_rewrite(const char *line, size_t len, int kind, void *payload)
{
	struct dnf_merge *m = payload;

	if (kind == 0 && dnf_proxy_line(line, len))
		return;  /* the host's settings replace the image's */
	sbuf_add(&m->out, line, len);
	sbuf_addch(&m->out, '\n');
	if (kind == 1 && !m->inserted) {
		sbuf_add(&m->out, m->host.buf, m->host.len);
		m->inserted = true;
	}
}

/* The image's dnf.conf with the host's proxy lines in [main]; nothing when the host has none. */
static int plan_dnf_proxy(struct sandbox_plan *p, const char *lower, struct alts_err *err)
{
	struct dnf_merge m = { SBUF_INIT, SBUF_INIT, false };
	struct sbuf host = SBUF_INIT, image = SBUF_INIT;
	char path[PATH_MAX];
	struct stat st;
	int rc = 0;

	if (!str_fmt(path, sizeof(path), "%s/etc/dnf", lower) || stat(path, &st) || !S_ISDIR(st.st_mode) ||
	    sbuf_read_file(&host, "/etc/dnf/dnf.conf", 1 << 20))
		goto out;
	dnf_main_lines(host.buf, dnf_collect, &m);
	if (!m.host.len)
		goto out;
	str_fmt(path, sizeof(path), "%s/etc/dnf/dnf.conf", lower);
	if (sbuf_read_file(&image, path, 1 << 20))
		sbuf_reset(&image);
	dnf_main_lines(image.buf, dnf_rewrite, &m);
	if (!m.inserted) {
		struct sbuf whole = SBUF_INIT;

		sbuf_adds(&whole, "[main]\n");
		sbuf_add(&whole, m.host.buf, m.host.len);
		sbuf_add(&whole, m.out.buf, m.out.len);
		sbuf_release(&m.out);
		m.out = whole;
	}
	if (!sbuf_ok(&m.out) || !sbuf_ok(&m.host)) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	} else if (m.out.len > sizeof(p->dnf_conf) || !plan_path(p->dnf_conf_dst, sizeof(p->dnf_conf_dst), p->root,
								  "/etc/dnf/dnf.conf")) {
		alts_log(ALTS_LOG_WARN, "sandbox", "not copying the host's dnf proxy: %s would be over %zu bytes", path,
			 sizeof(p->dnf_conf));
	} else {
		memcpy(p->dnf_conf, m.out.buf, m.out.len);
		p->dnf_conf_len = m.out.len;
		alts_log(ALTS_LOG_DEBUG, "sandbox", "the sandbox's dnf.conf gets the host's proxy settings");
	}
out:
	sbuf_release(&host);
	sbuf_release(&image);
	sbuf_release(&m.host);
	sbuf_release(&m.out);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The host's /etc/apt/apt.conf.d files that set Acquire::http(s)::Proxy, when the image has apt. */
static int plan_apt_proxy(struct sandbox_plan *p, const char *lower, struct alts_err *err)
{
	static const char host_dir[] = "/etc/apt/apt.conf.d";
	struct dirent **entries = NULL;
	char path[PATH_MAX];
	struct stat st;
	int n, rc = 0;

	if (!str_fmt(path, sizeof(path), "%s%s", lower, host_dir) || stat(path, &st) || !S_ISDIR(st.st_mode))
		return 0;
	n = scandir(host_dir, &entries, NULL, by_name);
	for (int i = 0; i < n; i++) {
		struct sbuf text = SBUF_INIT;
		const char *name = entries[i]->d_name;

		if (!rc && name[0] != '.' && str_fmt(path, sizeof(path), "%s/%s", host_dir, name) && !stat(path, &st) &&
		    S_ISREG(st.st_mode) && !sbuf_read_file(&text, path, 1 << 20) &&
		    (strcasestr(text.buf, "Acquire::http::Proxy") || strcasestr(text.buf, "Acquire::https::Proxy"))) {
			if (text.len > SANDBOX_SMALL_FILE_MAX || p->napt_proxy == SANDBOX_MAX_PROXY_FILES) {
				alts_log(ALTS_LOG_WARN, "sandbox", "not copying the apt proxy settings of %s: %s", path,
					 text.len > SANDBOX_SMALL_FILE_MAX ? "over 16 KiB" : "too many proxy files");
			} else if (!str_fmt(p->apt_proxy[p->napt_proxy][0], PATH_MAX, "%s", path) ||
				   !str_fmt(p->apt_proxy[p->napt_proxy][1], PATH_MAX, "%s%s", p->root, path)) {
				rc = alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
			} else {
				alts_log(ALTS_LOG_DEBUG, "sandbox", "copying the host's apt proxy settings %s", path);
				p->napt_proxy++;
			}
		}
		sbuf_release(&text);
		free(entries[i]);
	}
	free(entries);
	return rc;
}

static int plan_make(struct sandbox_plan *p, const char *state_dir, const char *lower, bool keep, bool copy_mode,
		     bool network_host, uint64_t disk, const struct suite *s, struct alts_err *err)
{
	static const char *const masked[] = {
		"/proc/kcore", "/proc/kmsg", "/proc/sysrq-trigger", "/proc/timer_list", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/timer_stats", "/proc/kallsyms",
	};
	static const char *const ro[] = { "/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/asound" };
	static const char *const empty[] = { "/proc/acpi", "/proc/scsi" };
	char size[40] = "";
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
	};
	bool ok;

	int rc;

	/* p starts zeroed (the runner's state is mapped zeroed; sandbox_prepare clears it before a second plan). */
	/* A copy lives on the host's side of rw/, which a tmpfs would hide. */
	p->rw_is_tmpfs = !keep && !copy_mode;
	p->copy_mode = copy_mode;
	p->network_host = network_host;
	ok = str_fmt(p->root, sizeof(p->root), "%s/root", state_dir) &&
	     str_fmt(p->rw, sizeof(p->rw), "%s/rw", state_dir) &&
	     str_fmt(p->copy, sizeof(p->copy), "%s/rw/copy", state_dir) &&
	     str_fmt(p->upper, sizeof(p->upper), "%s/rw/upper", state_dir) &&
	     str_fmt(p->work, sizeof(p->work), "%s/rw/work", state_dir) &&
	     str_fmt(p->overlay_opts, sizeof(p->overlay_opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, p->upper,
		     p->work) &&
	     plan_path(p->proc, sizeof(p->proc), p->root, "/proc") && plan_path(p->dev, sizeof(p->dev), p->root, "/dev") &&
	     plan_path(p->pts, sizeof(p->pts), p->root, "/dev/pts") &&
	     plan_path(p->shm, sizeof(p->shm), p->root, "/dev/shm") && plan_path(p->tmp, sizeof(p->tmp), p->root, "/tmp") &&
	     plan_path(p->run, sizeof(p->run), p->root, "/run") &&
	     plan_path(p->workdir, sizeof(p->workdir), p->root, SANDBOX_WORKDIR) &&
	     plan_path(p->resolv_dst, sizeof(p->resolv_dst), p->root, "/etc/resolv.conf") &&
	     plan_path(p->hosts_dst, sizeof(p->hosts_dst), p->root, "/etc/hosts");
	for (size_t i = 0; ok && i < ALTS_ARRAY_SIZE(nodes); i++) {
		ok = str_fmt(p->dev_nodes[i][0], sizeof(p->dev_nodes[i][0]), "/dev/%s", nodes[i]) &&
		     str_fmt(p->dev_nodes[i][1], sizeof(p->dev_nodes[i][1]), "%s/%s", p->dev, nodes[i]);
	}
	for (size_t i = 0; ok && i < ALTS_ARRAY_SIZE(links); i++) {
		ok = str_fmt(p->dev_links[i][0], sizeof(p->dev_links[i][0]), "%s/%s", p->dev, links[i][0]) &&
		     str_fmt(p->dev_links[i][1], sizeof(p->dev_links[i][1]), "%s", links[i][1]);
	}
	for (size_t i = 0; ok && i < ALTS_ARRAY_SIZE(masked); i++)
		ok = plan_path(p->proc_masked[i], PATH_MAX, p->root, masked[i]);
	for (size_t i = 0; ok && i < ALTS_ARRAY_SIZE(ro); i++)
		ok = plan_path(p->proc_ro[i], PATH_MAX, p->root, ro[i]);
	for (size_t i = 0; ok && i < ALTS_ARRAY_SIZE(empty); i++)
		ok = plan_path(p->proc_empty[i], PATH_MAX, p->root, empty[i]);
	if (!ok)
		return alts_err_set(err, ALTS_EINVALID, "sandbox paths are too long under '%s'", state_dir);
	if (disk)
		snprintf(size, sizeof(size), ",size=%llu", (unsigned long long)disk);
	snprintf(p->opts_rw, sizeof(p->opts_rw), "mode=0755%s", size);
	snprintf(p->opts_tmp, sizeof(p->opts_tmp), "mode=1777%s", size);
	snprintf(p->opts_run, sizeof(p->opts_run), "mode=0755%s", size);
	snprintf(p->opts_shm, sizeof(p->opts_shm), "mode=1777%s", size);
	if (strpbrk(lower, ",:") || strpbrk(state_dir, ",:"))
		return alts_err_set(err, ALTS_EINVALID, "overlay paths may not contain ',' or ':' ('%s', '%s')", lower,
				    state_dir);
	snprintf(p->resolv_src, sizeof(p->resolv_src), "/etc/resolv.conf");
	rc = plan_binds(p, s, err);
	if (!rc && network_host)
		rc = plan_apt_proxy(p, lower, err);
	if (!rc && network_host)
		rc = plan_dnf_proxy(p, lower, err);
	return rc;
}

static int sandbox_open_ns(struct sandbox *sb, struct alts_err *err)
{
	for (int i = 0; i < NS_COUNT; i++) {
		char path[64];

		if ((i == NS_NET && sb->plan.network_host) || (i == NS_CGROUP && !sb->boot.on))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)sb->init, ns_names[i]);
		sb->ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (sb->ns_fds[i] < 0)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	}
	return 0;
}

static int sandbox_read_report(struct sandbox *sb, int fd, struct alts_err *err)
{
	struct sandbox_setup_error e = { -3, 0 };
	ssize_t n;

	do
		n = read(fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(e) || e.step) {
		const char *what = e.step == -4 ? "join the sandbox's cgroup"
				 : e.step == -5 ? "enter the mount namespace of the snapshot layers"
				 : e.step > 0 && e.step < (int)ALTS_ARRAY_SIZE(step_names) ? step_names[e.step]
											: "start";

		if (n != (ssize_t)sizeof(e))
			return alts_err_set(err, ALTS_EENV, "sandbox setup ended without a report");
		sb->failed_step = e.step;
		sb->failed_errno = e.errnum;
		return alts_err_set(err, ALTS_EENV, "cannot %s: %s", what, strerror(e.errnum));
	}
	return 0;
}

/* PID 1's stack in its copy of our memory: what setup_root's file copies need, with room to spare. */
#define SANDBOX_INIT_STACK (256 * 1024)

static int sandbox_spawn(struct sandbox *sb, struct alts_err *err)
{
	const struct sandbox_plan *p = &sb->plan;
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (p->network_host ? 0 : CLONE_NEWNET);
	struct sandbox_init_args args = { sb, -1, -1 };
	int ctl[2], report[2], rc = 0;
	char *stack;

	if (pipe2(ctl, O_CLOEXEC) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
	if (pipe2(report, O_CLOEXEC) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
		close(ctl[0]);
		close(ctl[1]);
		return rc;
	}
	sb->ctl_fd = ctl[1];
	args.ctl_fd = ctl[0];
	args.report_fd = report[1];
	/* Never written here: the child's copy of it is faulted in as it is used. */
	stack = alts_malloc(SANDBOX_INIT_STACK);
	if (!stack) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		sb->init = -1;
	} else {
		/*
		 * One clone with every namespace flag, as fork() would (no CLONE_VM):
		 * the child is PID 1 of the new PID namespace, no process between.
		 */
		sb->init = clone(sandbox_init_main, stack + SANDBOX_INIT_STACK, flags | SIGCHLD, &args);
		if (sb->init < 0)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create namespaces%s",
					    errno == EPERM ? " (needs root: CAP_SYS_ADMIN)" : "");
		alts_free(stack);
	}
	close(ctl[0]);
	close(report[1]);
	if (sb->init < 0) {
		close(report[0]);
		return rc;
	}
	/* The spawner joins the cgroup (an RCU grace period's wait) while PID 1 builds the mounts. */
	if (!sb->boot.on)
		rc = sandbox_spawner_start(&sb->spawner, sb->init, !p->network_host,
					   sb->have_cgroup ? &sb->cgroup : NULL, &sb->sec, err);
	if (!rc)
		rc = sandbox_read_report(sb, report[0], err);
	close(report[0]);
	if (!rc)
		rc = sandbox_open_ns(sb, err);
	if (!rc && sb->spawner.pid > 0)
		rc = sandbox_spawner_enter(&sb->spawner, err);
	return rc;
}

static int sandbox_pick_image(struct sandbox *sb, const struct suite *s, struct alts_err *err)
{
	char name[160];

	if (s && s->env.image) {
		snprintf(name, sizeof(name), "%s", s->env.image);
	} else {
		if (!s || !s->env.dist_name)
			return alts_err_set(err, ALTS_EINVALID,
					    "the sandbox runner needs environment.image, or dist_name and dist_version "
					    "(or --dist NAME-VERSION)");
		image_name_for(name, sizeof(name), s->env.dist_name, s->env.dist_version, s->env.dist_arch);
	}
	return image_open(&sb->image, name, err);
}

static int sandbox_fill_info(struct runner *r, const char *lower, struct alts_err *err)
{
	struct sandbox *sb = r->priv;
	char path[PATH_MAX];
	struct sbuf text = SBUF_INIT;
	int rc;

	if (!str_fmt(path, sizeof(path), "%s/etc/os-release", lower) || sbuf_read_file(&text, path, 65536)) {
		sbuf_reset(&text);
		if (str_fmt(path, sizeof(path), "%s/usr/lib/os-release", lower))
			sbuf_read_file(&text, path, 65536);
	}
	r->info.name = r->ops->name;
	rc = runner_parse_os_release(&r->info, text.buf, err);
	sbuf_release(&text);
	if (rc)
		return rc;
	r->info.arch = alts_strdup(sb->image.arch[0] ? sb->image.arch : "x86_64");
	r->workdir = alts_strdup(SANDBOX_WORKDIR);
	if (!r->info.arch || !r->workdir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

static int sandbox_mode(enum sandbox_mode *out, struct alts_err *err)
{
	const char *v = getenv("ALTS_SANDBOX_MODE");

	if (!v || !*v || !strcmp(v, "auto"))
		*out = SANDBOX_MODE_AUTO;
	else if (!strcmp(v, "overlay"))
		*out = SANDBOX_MODE_OVERLAY;
	else if (!strcmp(v, "copy"))
		*out = SANDBOX_MODE_COPY;
	else
		return alts_err_set(err, ALTS_EINVALID, "invalid ALTS_SANDBOX_MODE '%s' (auto, overlay or copy)", v);
	return 0;
}

static int die_with_parent(void *payload)
{
	ALTS_UNUSED(payload);
	return prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ? -errno : 0;
}

/* Copy mode: the image's tree into rw/copy, shared blocks where the filesystem can (reflink). */
static int sandbox_copy_image(struct sandbox *sb, struct alts_err *err)
{
	const char *argv[] = { "cp", "-a", "--reflink=auto", "--", sb->lower, sb->plan.copy, NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	char log_path[PATH_MAX];
	struct sbuf tail = SBUF_INIT;
	int rc;

	if (!str_fmt(log_path, sizeof(log_path), "%s/copy.log", sb->state.dir))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", sb->state.dir);
	spec.argv = argv;
	spec.envp = envp;
	spec.stdout_path = log_path;
	spec.stderr_path = log_path;
	spec.timeout = 1800;
	spec.child_enter = die_with_parent;  /* the copy stops when alts-run dies */
	rc = proc_run(&res, &spec, err);
	if (!rc && res.exit_code) {
		sbuf_read_file(&tail, log_path, 4096);
		sbuf_trim_trailing(&tail);
		rc = alts_err_set(err, ALTS_EENV, "cannot copy image '%s' to '%s' (cp exit %d)%s%s", sb->image.name,
				  sb->plan.copy, res.exit_code, tail.len ? ": " : "", tail.buf);
		sbuf_release(&tail);
	}
	unlink(log_path);
	return rc;
}

/* Ends a sandbox whose setup failed, so that another can be started in the same directory. */
static void sandbox_reset(struct sandbox *sb)
{
	sandbox_stop(sb);
	sb->failed_step = 0;
	sb->failed_errno = 0;
}

static bool overlay_unavailable(const struct sandbox *sb)
{
	return sb->failed_step == STEP_OVERLAY &&
	       (sb->failed_errno == ENODEV || sb->failed_errno == EINVAL || sb->failed_errno == EPERM);
}

static void capture_output(void *payload, enum proc_stream stream, const char *buf, size_t len)
{
	struct sbuf *out = payload;

	ALTS_UNUSED(stream);
	if (out->len < 65536)
		sbuf_add(out, buf, len);
}

/* Runs argv inside the sandbox for the boot mode's own queries (systemctl, journalctl); out gets its output. */
static int sandbox_run_captured(void *payload, const char *const *argv, double timeout, struct sbuf *out,
				int *exit_code, struct alts_err *err)
{
	static const char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "SYSTEMD_PAGER=",
		"SYSTEMD_COLORS=0", NULL,
	};
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	int rc;

	spec.argv = argv;
	spec.envp = envp;
	spec.cwd = "/";
	spec.timeout = timeout;
	spec.on_output = capture_output;
	spec.payload = out;
	spec.child_enter = sandbox_enter;
	spec.enter_payload = payload;
	rc = proc_run(&res, &spec, err);
	if (!rc)
		*exit_code = res.exit_code;
	return rc;
}

/* boot: systemd (runners/sandbox_boot.h): the image must have systemd; the cgroup and timeouts are set. */
static int sandbox_boot_prepare(struct sandbox *sb, struct alts_err *err)
{
	const char *name = strrchr(sb->state.dir, '/') ? strrchr(sb->state.dir, '/') + 1 : sb->state.dir;
	int rc = sandbox_boot_timeout(&sb->boot_timeout, "ALTS_BOOT_TIMEOUT", SANDBOX_BOOT_TIMEOUT, err);

	if (!rc)
		rc = sandbox_boot_timeout(&sb->boot_stop_timeout, "ALTS_BOOT_STOP_TIMEOUT", SANDBOX_BOOT_STOP_TIMEOUT,
					  err);
	if (!rc)
		rc = sandbox_boot_plan(&sb->boot, sb->image.name, sb->lower, sb->plan.root, name, &sb->cgroup, err);
	return rc;
}

static int sandbox_open_root(struct sandbox *sb, struct alts_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root", (int)sb->init);
	sb->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sb->root_fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open '%s'", path);
	return 0;
}

/* network: private: the mirror proxy of this PID 1's network namespace (runners/sandbox_net.h). */
static int sandbox_start_net(struct sandbox *sb, const struct suite *s, struct alts_err *err)
{
	if (sandbox_net_mode(s) != SANDBOX_NET_PRIVATE)
		return 0;
	return sandbox_net_start(&sb->net, sb->ns_fds[NS_NET], sb->root_fd, sb->lower, s, err);
}

/*
 * Overlay mode: the layers' tmpfs goes into a namespace that outlives each
 * PID 1 (runners/sandbox_snapshot.h), so that runner_snapshot() and
 * runner_reset() work. Without it the sandbox runs as before, no resets.
 */
static void sandbox_snap_plan_start(struct sandbox *sb)
{
	struct alts_err err = ALTS_ERR_INIT;

	if (sandbox_snap_start(&sb->snap, sb->plan.rw, sb->plan.rw_is_tmpfs, sb->plan.opts_rw, &err)) {
		alts_log(ALTS_LOG_WARN, "sandbox", "no snapshots for this sandbox: %s", err.msg);
		return;
	}
	sb->plan.rw_is_tmpfs = false;  /* the keeper namespace has it mounted */
}

/* Stops the sandbox, lets step change its layers, and starts it again over them. */
static int sandbox_restart(struct runner *r, int (*step)(struct sandbox_snap *, struct alts_err *), const char *what,
			   struct alts_err *err)
{
	struct sandbox *sb = r->priv;
	double t0 = proc_now();
	int rc;

	if (!sb->snap.on)
		return alts_err_set(err, ALTS_ENOTSUP, "this sandbox cannot %s: %s", what,
				    sb->plan.copy_mode ? "it is a copy of the image, not an overlay (overlayfs is unavailable "
							 "or ALTS_SANDBOX_MODE=copy)"
						       : r->want_snapshots ? "its layers could not be kept apart (see the warning above)"
									   : "it was not asked for snapshots before it was prepared "
									     "(runner_want_snapshots)");
	if (sb->boot.on && sandbox_boot_halt(sb->init, sb->init, sb->boot_stop_timeout))
		sb->init = -1;  /* reaped: its pid may be someone else's now */
	sandbox_stop(sb);
	rc = step(&sb->snap, err);
	if (!rc)
		rc = sandbox_snap_plan(&sb->snap, sb->plan.rw, sb->lower, sb->plan.upper, sizeof(sb->plan.upper),
				       sb->plan.work, sizeof(sb->plan.work), sb->plan.overlay_opts,
				       sizeof(sb->plan.overlay_opts), err);
	if (!rc)
		rc = sandbox_spawn(sb, err);
	if (!rc)
		rc = sandbox_open_root(sb, err);
	if (!rc)
		rc = sandbox_start_net(sb, r->suite, err);
	if (!rc && sb->boot.on)
		rc = sandbox_boot_wait(&sb->boot, sb->init, sb->root_fd, sb->boot_timeout, sandbox_run_captured, sb, err);
	if (rc) {
		alts_err_prefix(err, "cannot %s the sandbox", what);
		return rc == ALTS_ENOTSUP ? ALTS_EENV : rc;  /* it is stopped now: not usable as it was */
	}
	sb->snap.last_ms = (proc_now() - t0) * 1000;
	alts_log(ALTS_LOG_INFO, "sandbox", "%s of %s in %.1f ms (%u snapshot layers)", what, sb->state.dir,
		 sb->snap.last_ms, sb->snap.nlayers);
	return 0;
}

static int sandbox_snapshot(struct runner *r, struct alts_err *err)
{
	return sandbox_restart(r, sandbox_snap_freeze, "snapshot", err);
}

static int sandbox_reset_to_snapshot(struct runner *r, struct alts_err *err)
{
	return sandbox_restart(r, sandbox_snap_discard, "reset", err);
}

static int sandbox_drop_snapshot(struct runner *r, struct alts_err *err)
{
	return sandbox_restart(r, sandbox_snap_drop, "roll back", err);
}

static int sandbox_prepare(struct runner *r, struct alts_err *err)
{
	struct sandbox *sb = r->priv;
	const struct suite *s = r->suite;
	bool network_host = sandbox_net_mode(s) == SANDBOX_NET_HOST;
	enum sandbox_mode mode = SANDBOX_MODE_AUTO;
	int rc;

	for (int i = 0; i < NS_COUNT; i++)
		sb->ns_fds[i] = -1;
	sb->ctl_fd = -1;
	sb->init = -1;
	sb->spawner = (struct sandbox_spawner)SANDBOX_SPAWNER_INIT;
	sb->state.lock_fd = -1;
	sb->root_fd = -1;
	sb->image_hold = -1;
	sb->boot.cg_procs_fd = -1;
	sandbox_snap_init(&sb->snap);
	sandbox_net_init(&sb->net);
	sb->keep = r->keep_env;
	sb->prepared = true;
	rc = sandbox_mode(&mode, err);
	if (!rc)
		rc = sandbox_limits_get(&sb->limits, &r->limits, err);
	if (!rc)
		rc = sandbox_sec_prepare(&sb->sec, err);
	if (rc)
		return rc;
	rc = sandbox_pick_image(sb, s, err);
	if (rc)
		return rc;
	sb->image_hold = image_hold(sb->image.name);
	image_rootfs(sb->lower, sizeof(sb->lower), sb->image.name);
	rc = sandbox_state_create(&sb->state, err);
	if (rc)
		return rc;
	{
		const char *name = strrchr(sb->state.dir, '/');

		rc = sandbox_cgroup_create(&sb->cgroup, name ? name + 1 : sb->state.dir, &sb->limits, err);
		if (rc)
			return rc;
		sb->have_cgroup = true;
	}
	rc = plan_make(&sb->plan, sb->state.dir, sb->lower, sb->keep, mode == SANDBOX_MODE_COPY, network_host,
		       sb->limits.disk, s, err);
	if (!rc && s && s->env.boot && !strcmp(s->env.boot, "systemd"))
		rc = sandbox_boot_prepare(sb, err);
	if (!rc)
		rc = sandbox_fill_info(r, sb->lower, err);
	if (!rc && !sb->plan.copy_mode && r->want_snapshots)
		sandbox_snap_plan_start(sb);
	if (!rc && sb->plan.copy_mode)
		rc = sandbox_copy_image(sb, err);
	if (!rc)
		rc = sandbox_spawn(sb, err);
	if (rc && mode == SANDBOX_MODE_AUTO && overlay_unavailable(sb)) {
		alts_log(ALTS_LOG_WARN, "sandbox", "overlayfs is unavailable (%s); copying image '%s' instead",
			 strerror(sb->failed_errno), sb->image.name);
		sandbox_reset(sb);
		sandbox_snap_release(&sb->snap);
		alts_err_clear(err);
		memset(&sb->plan, 0, sizeof(sb->plan));
		rc = plan_make(&sb->plan, sb->state.dir, sb->lower, sb->keep, true, network_host, sb->limits.disk, s,
			       err);
		if (!rc)
			rc = sandbox_copy_image(sb, err);
		if (!rc)
			rc = sandbox_spawn(sb, err);
	}
	if (!rc)
		rc = sandbox_open_root(sb, err);
	if (!rc)
		rc = sandbox_start_net(sb, s, err);
	if (!rc && sb->boot.on)
		rc = sandbox_boot_wait(&sb->boot, sb->init, sb->root_fd, sb->boot_timeout, sandbox_run_captured, sb, err);
	if (rc) {
		alts_err_prefix(err, "sandbox from image '%s'", sb->image.name);
		return rc;
	}
	alts_log(ALTS_LOG_DEBUG, "sandbox", "sandbox %s ready (%s): image %s, PID 1 is %d", sb->state.dir,
		 sb->plan.copy_mode ? "copy" : "overlay", sb->image.name, (int)sb->init);
	return 0;
}

/* Joins the sandbox in the forked child; the program then runs in a child of its own, inside the PID namespace. */
static int sandbox_enter(void *payload)
{
	const struct sandbox *sb = payload;
	int rc;

	/* The cgroup first: its files are out of sight once in the mount namespace. */
	if (sb->have_cgroup && (rc = sandbox_cgroup_join(&sb->cgroup)) < 0)
		return rc;
	if (sb->boot.on && (rc = sandbox_boot_join(&sb->boot)) < 0)
		return rc;
	for (int i = 0; i < NS_COUNT; i++) {
		if (sb->ns_fds[i] >= 0 && setns(sb->ns_fds[i], ns_types[i]) < 0)
			return -errno;
	}
	rc = sandbox_sec_apply(&sb->sec);
	return rc < 0 ? rc : 1;
}

/* True when the tmpfs behind path (inside the sandbox) has no space left. */
static bool sandbox_fs_full(const struct sandbox *sb, const char *path)
{
	struct statfs st;
	int fd = sandbox_fs_open(sb->root_fd, path, O_PATH);
	bool full;

	if (fd < 0)
		return false;
	full = fstatfs(fd, &st) == 0 && st.f_blocks && st.f_bavail == 0;
	close(fd);
	return full;
}

/*
 * A command that failed after the sandbox hit one of its limits: the
 * reason goes to the end of its stderr, where the check's report shows it.
 */
static void sandbox_note_limits(const struct sandbox *sb, const struct runner_exec_req *req, long oom0, long pids0)
{
	char msg[512], size[32];
	size_t len = 0;
	long oom = 0, pids = 0;

	if (sb->have_cgroup)
		sandbox_cgroup_counters(&sb->cgroup, &oom, &pids);
	if (oom > oom0) {
		sandbox_size_str(size, sizeof(size), sb->limits.memory);
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "alts: sandbox memory limit (%s) reached: a process was killed\n", size);
	}
	if (pids > pids0 && len < sizeof(msg))
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "alts: sandbox pids limit (%ld processes) reached: fork failed\n",
					sb->limits.pids);
	if (sb->limits.disk && len < sizeof(msg) && (sandbox_fs_full(sb, "/") || sandbox_fs_full(sb, "/tmp") ||
						     sandbox_fs_full(sb, "/run") || sandbox_fs_full(sb, "/dev/shm"))) {
		sandbox_size_str(size, sizeof(size), sb->limits.disk);
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "alts: sandbox disk full (%s)\n", size);
	}
	if (!len || len >= sizeof(msg))
		return;
	alts_log(ALTS_LOG_WARN, "sandbox", "%.*s", (int)len - 1, msg);
	if (req->stderr_capture) {
		proc_capture_add(req->stderr_capture, msg, len);
	} else if (req->stderr_path) {
		int fd = open(req->stderr_path, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, msg, len) < 0) {
				/* the warning above still says it */
			}
			close(fd);
		}
	}
	if (req->on_output)
		req->on_output(req->payload, PROC_STDERR, msg, len);
}

static int sandbox_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
			struct alts_err *err)
{
	struct sandbox *sb = r->priv;
	long oom0 = 0, pids0 = 0;
	struct proc_spec spec;
	char **env = NULL;
	int rc = runner_env_build(&env, r, req, err);

	if (rc)
		return rc;
	runner_proc_spec(&spec, req, env, SANDBOX_WORKDIR);
	if (sb->spawner.pid > 0 && sandbox_spawner_fits(&spec)) {
		spec.spawn = sandbox_spawner_spawn;
		spec.enter_payload = &sb->spawner;
	} else {
		spec.child_enter = sandbox_enter;
		spec.enter_payload = sb;
	}
	if (sb->have_cgroup)
		sandbox_cgroup_counters(&sb->cgroup, &oom0, &pids0);
	rc = proc_run(out, &spec, err);
	runner_env_free(env);
	if (!rc && out->exit_code)
		sandbox_note_limits(sb, req, oom0, pids0);
	return rc;
}

/* Copies resolve every path inside the sandbox's root (runners/sandbox_fs.c): nothing planted there leads out. */
static int sandbox_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	const struct sandbox *sb = r->priv;

	return sandbox_fs_copy_in(sb->root_fd, host_path, env_path, err);
}

static int sandbox_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	const struct sandbox *sb = r->priv;

	return sandbox_fs_copy_out(sb->root_fd, env_path, host_path, err);
}

static void sandbox_stop(struct sandbox *sb)
{
	int status;

	sandbox_net_stop(&sb->net);
	sandbox_spawner_stop(&sb->spawner);
	ns_enter_fds_close(sb);
	if (sb->root_fd >= 0)
		close(sb->root_fd);
	sb->root_fd = -1;
	if (sb->ctl_fd >= 0)
		close(sb->ctl_fd);
	sb->ctl_fd = -1;
	if (sb->init > 0) {
		kill(sb->init, SIGKILL);
		while (waitpid(sb->init, &status, 0) < 0 && errno == EINTR)
			;
	}
	sb->init = -1;
}

/* After sandbox_stop(): the cgroup and the filter go too. */
static void sandbox_release(struct sandbox *sb)
{
	sandbox_boot_release(&sb->boot);
	if (sb->have_cgroup)
		sandbox_cgroup_remove(&sb->cgroup);
	sb->have_cgroup = false;
	sandbox_sec_release(&sb->sec);
	sandbox_snap_release(&sb->snap);
	sandbox_net_release(&sb->net);
	image_release(sb->image_hold);
	sb->image_hold = -1;
}

static int sandbox_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	struct sandbox *sb = r->priv;

	if (sb->boot.on && sandbox_boot_halt(sb->init, sb->init, sb->boot_stop_timeout))
		sb->init = -1;  /* reaped: its pid may be someone else's now */
	sandbox_stop(sb);
	sandbox_release(sb);
	if ((keep || sb->keep) && sb->plan.copy_mode) {
		fprintf(stderr,
			"alts: kept the sandbox's tree (a copy of image '%s') in %s; enter it with:\n"
			"  chroot %s\n",
			sb->image.name, sb->plan.copy, sb->plan.copy);
		return sandbox_state_keep(&sb->state, err);
	}
	if (keep || sb->keep) {
		fprintf(stderr,
			"alts: kept the sandbox's upper layer in %s (lower: image '%s'%s); enter it with:\n"
			"  unshare -m sh -c 'mount -t overlay overlay -o %s %s && chroot %s'\n",
			sb->plan.upper, sb->image.name, sb->snap.nlayers ? " and the snapshot layers rw/layer*" : "",
			sb->plan.overlay_opts, sb->plan.root, sb->plan.root);
		return sandbox_state_keep(&sb->state, err);
	}
	/* Boot mode's own cgroup tree is swept with the directory. */
	return sb->boot.on ? sandbox_state_remove(&sb->state, err) : sandbox_state_remove_stopped(&sb->state, err);
}

static void sandbox_destroy(struct runner *r)
{
	struct sandbox *sb = r->priv;

	if (!sb || !sb->prepared)
		return;
	if (sb->init > 0 || sb->ctl_fd >= 0 || sb->spawner.pid > 0)
		sandbox_stop(sb);
	sandbox_release(sb);
	if (sb->state.dir[0] && sb->state.lock_fd >= 0) {
		struct alts_err err = ALTS_ERR_INIT;

		sandbox_state_remove(&sb->state, &err);
	}
}

const struct runner_ops runner_sandbox_ops = {
	.name = "sandbox",
	.abi = RUNNER_ABI,
	.caps = RUNNER_CAP_ISOLATED | RUNNER_CAP_RESET,
	.priv_size = sizeof(struct sandbox),
	.prepare = sandbox_prepare,
	.exec = sandbox_exec,
	.copy_in = sandbox_copy_in,
	.copy_out = sandbox_copy_out,
	.snapshot = sandbox_snapshot,
	.reset = sandbox_reset_to_snapshot,
	.drop = sandbox_drop_snapshot,
	.teardown = sandbox_teardown,
	.destroy = sandbox_destroy,
};
