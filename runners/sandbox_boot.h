#ifndef ALTS_SANDBOX_BOOT_H
#define ALTS_SANDBOX_BOOT_H

#include "framework/err.h"
#include "runners/sandbox_cgroup.h"
#include "framework/sbuf.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * The sandbox's boot mode (environment: {boot: systemd}): systemd is PID 1
 * of the sandbox, as under systemd-nspawn. PID 1 still builds the mounts
 * and drops the privileges (runners/sandbox.c), then adds what systemd
 * needs and execs it:
 *   - a read-only sysfs on /sys (firmware and powercap hidden, as Docker does);
 *   - a cgroup namespace rooted at a cgroup of the sandbox's own in the
 *     cgroup v2 hierarchy, mounted writable on /sys/fs/cgroup: pure v2
 *     (/sys/fs/cgroup is cgroup2: <sandbox cgroup>/payload) or the unified
 *     hierarchy of a hybrid v1 host (/sys/fs/cgroup/unified/alts/<name>);
 *   - a fresh /etc/machine-id and container=alts, container_uuid in PID 1's
 *     environment;
 *   - /dev/console: a file on the sandbox's /run (SANDBOX_BOOT_CONSOLE), so
 *     what systemd prints stays inside the sandbox's size limit and a boot
 *     that fails can be explained.
 * /run, /tmp (tmpfs), /proc/sys (read-only) and the masked /proc files come
 * from the plain sandbox. Commands join the cgroup and its namespace too.
 */
struct sandbox_boot {
	bool on;
	char init[64];                 /* systemd's path inside the image */
	char cg_dir[PATH_MAX];         /* host path of the container's root cgroup (v2) */
	char cg_made[PATH_MAX];        /* the directory made for it, removed with everything below */
	int cg_procs_fd;               /* cg_dir/cgroup.procs */
	char sys[PATH_MAX];            /* <root>/sys */
	char cgroup[PATH_MAX];         /* <root>/sys/fs/cgroup */
	char masked[2][PATH_MAX];      /* <root>/sys/firmware ... */
	char machine_id_path[PATH_MAX];
	char console_dir[PATH_MAX];    /* <root>/run/alts */
	char console_file[PATH_MAX];   /* <root>/run/alts/console: what systemd writes to /dev/console */
	char console[PATH_MAX];        /* <root>/dev/console */
	char run_lock[PATH_MAX];       /* <root>/run/lock: systemd stops when it cannot mount it itself */
	char run_lock_opts[32];
	char machine_id[34];           /* 32 hex digits and a newline */
	char env_uuid[64];             /* container_uuid=... */
};

#define SANDBOX_BOOT_CONSOLE "/run/alts/console"

/* ALTS_BOOT_TIMEOUT: seconds to reach the default target; ALTS_BOOT_STOP_TIMEOUT: seconds to halt. */
#define SANDBOX_BOOT_TIMEOUT 60.0
#define SANDBOX_BOOT_STOP_TIMEOUT 10.0

/*
 * Parent side, before the sandbox starts. Checks that the image (its tree
 * at lower) has systemd, makes the cgroup, computes what PID 1 needs.
 * image names the image in messages; name is the sandbox's (sb-XXXXXX).
 */
int sandbox_boot_plan(struct sandbox_boot *b, const char *image, const char *lower, const char *root,
		      const char *name, const struct sandbox_cgroup *cg, struct alts_err *err);

/* Moves the calling process into the container's cgroup. Async-signal-safe; 0 or -errno. */
int sandbox_boot_join(const struct sandbox_boot *b);

/*
 * PID 1, after the plain sandbox's mounts, before pivot_root: joins the
 * cgroup, makes the cgroup namespace, mounts /sys and /sys/fs/cgroup,
 * writes /etc/machine-id. Async-signal-safe; 0, or -1 with errno set.
 */
int sandbox_boot_mounts(const struct sandbox_boot *b);

/* PID 1, after pivot_root and the privilege drop: becomes systemd. Never returns. */
void sandbox_boot_exec(const struct sandbox_boot *b) __attribute__((noreturn));

/*
 * Runs argv inside the sandbox (a callback of the runner: it joins the
 * namespaces); out gets stdout and stderr. 0 when it ran, whatever its status.
 */
typedef int (*sandbox_boot_run_fn)(void *payload, const char *const *argv, double timeout, struct sbuf *out,
				   int *exit_code, struct alts_err *err);

/*
 * Waits until systemd reports its default target reached: 'systemctl
 * is-system-running' says running or degraded (the failed units are
 * logged). Fails with the state and the console's last lines when PID 1
 * dies, the state is maintenance or stopping, or timeout passes.
 */
int sandbox_boot_wait(const struct sandbox_boot *b, pid_t outer, int root_fd, double timeout,
		      sandbox_boot_run_fn run, void *payload, struct alts_err *err);

/*
 * Halts systemd (SIGRTMIN+3, what nspawn sends) and waits up to timeout
 * for outer, its parent, to end; true when it did (outer is reaped). The
 * caller SIGKILLs what is left otherwise.
 */
bool sandbox_boot_halt(pid_t init, pid_t outer, double timeout);

/* Once the sandbox's processes are gone: removes the cgroups systemd made and the container's. */
void sandbox_boot_release(struct sandbox_boot *b);

/* Removes what is left of the boot cgroup of a sandbox whose alts-run died. */
void sandbox_boot_forget(const char *name);

/* ALTS_BOOT_TIMEOUT or ALTS_BOOT_STOP_TIMEOUT over its default; a bad value is an error. */
int sandbox_boot_timeout(double *out, const char *env, double def, struct alts_err *err);

#endif
