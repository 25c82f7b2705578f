/*
 * Tries to get out of the sandbox, as a hostile package script or test
 * would, from inside a check of integration/t_sandbox_escape.sh. Every
 * attempt prints one TAP line: "ok" when it failed or was contained,
 * "not ok" when it got through. Runs as root inside the sandbox.
 *
 * Usage: sandbox_probe [HOST-PID [HOST-DIR]]: a process and a directory
 * of the host that must stay out of reach. Limits are tried with the
 * sizes the test gives (ALTS_SANDBOX_DISK=64M, MEMORY=256M, PIDS=256).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/reboot.h>
#include <time.h>
#include <unistd.h>

static int n;
static int failures;

static void tap(bool contained, const char *what, const char *detail)
{
	printf("%sok %d - %s%s%s\n", contained ? "" : "not ", ++n, what, detail ? ": " : "", detail ? detail : "");
	if (!contained)
		failures++;
	fflush(stdout);
}

/* A call that must fail: contained when it returned -1. */
static void refused(const char *what, long rc)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", rc < 0 ? strerror(errno) : "it succeeded");
	tap(rc < 0, what, buf);
}

static void write_file_refused(const char *what, const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w = -1;

	if (fd >= 0) {
		w = write(fd, data, strlen(data));
		close(fd);
	}
	refused(what, fd < 0 || w < 0 ? -1 : 0);
}

/* A /proc file hidden under /dev/null (or gone). */
static void masked(const char *path)
{
	struct stat st;
	char what[128];

	snprintf(what, sizeof(what), "%s is masked", path);
	tap(stat(path, &st) < 0 || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)), what, NULL);
}

/* mknod works (CAP_MKNOD, as in Docker), but nodev makes the node useless. */
static void mknod_useless(const char *what, const char *path, mode_t type, dev_t dev)
{
	int fd;

	unlink(path);
	if (mknod(path, type | 0600, dev) < 0) {
		refused(what, -1);
		return;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t w = write(fd, "alts-escape\n", 12);

		close(fd);
		unlink(path);
		tap(false, what, w > 0 ? "opened and written" : "opened");
		return;
	}
	unlink(path);
	refused(what, -1);
}

static void no_inherited_fds(void)
{
	int found = -1;

	for (int fd = 3; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			found = fd;
			break;
		}
	}
	tap(found < 0, "no descriptor above 2 is inherited (alts-run had 8 and 9 open)", NULL);
	{
		char buf[64];
		int fd = open("/proc/self/fd/9/etc/hostname", O_RDONLY);

		snprintf(buf, sizeof(buf), "%s", fd < 0 ? strerror(errno) : "opened");
		tap(fd < 0, "no host path through /proc/self/fd/9", buf);
		if (fd >= 0)
			close(fd);
	}
}

/* /proc/1/root is PID 1's root: the sandbox's own, not the host's. */
static void proc1_root(const char *host_dir)
{
	struct stat a, b;

	tap(stat("/proc/1/root/alts-work", &a) == 0 && stat("/alts-work", &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev,
	    "/proc/1/root is the sandbox's root", NULL);
	if (host_dir) {
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "/proc/1/root%s/escaped-proc1", host_dir);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		tap(fd < 0, "no write into the host directory through /proc/1/root", fd < 0 ? strerror(errno) : NULL);
		if (fd >= 0)
			close(fd);
	}
}

static void host_process(long host_pid)
{
	int visible = 0;

	if (host_pid > 0) {
		refused("ptrace attach to a host process", ptrace(PTRACE_ATTACH, (pid_t)host_pid, 0, 0));
		refused("kill a host process", kill((pid_t)host_pid, SIGKILL));
	}
	refused("ptrace attach to the sandbox's PID 1", ptrace(PTRACE_ATTACH, 1, 0, 0));
	/* The PID namespace shows only the sandbox: only a few low pids exist. */
	for (pid_t p = 1; p < 32768; p++) {
		if (kill(p, 0) == 0 || errno == EPERM)
			visible++;
	}
	{
		char buf[64];

		snprintf(buf, sizeof(buf), "%d visible", visible);
		tap(visible < 20, "only the sandbox's processes are visible", buf);
	}
}

static void raw_socket(void)
{
	struct if_nameindex *ifs, *i;
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), others = 0;

	/* CAP_NET_RAW stays (as in Docker): a raw socket opens, but with network none it only sees lo. */
	ifs = if_nameindex();
	for (i = ifs; i && i->if_name; i++) {
		if (strcmp(i->if_name, "lo"))
			others++;
	}
	if (ifs)
		if_freenameindex(ifs);
	if (fd >= 0)
		close(fd);
	tap(others == 0, "a raw socket sees no host interface (network none: lo only)", NULL);
}

static void setns_host(void)
{
	int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);

	refused("setns into /proc/1/ns/mnt", fd < 0 ? -1 : setns(fd, 0));
	if (fd >= 0)
		close(fd);
	fd = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);
	refused("setns into /proc/1/ns/net", fd < 0 ? -1 : setns(fd, CLONE_NEWNET));
	if (fd >= 0)
		close(fd);
	refused("unshare a user namespace", unshare(CLONE_NEWUSER));
	refused("unshare a mount namespace", unshare(CLONE_NEWNS));
	{
		pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);

		if (p == 0)
			_exit(0);
		if (p > 0)
			waitpid(p, NULL, 0);
		refused("clone a user namespace", p);
	}
}

static void mounts(void)
{
	mkdir("/tmp/mnt", 0755);
	refused("mount devtmpfs", mount("devtmpfs", "/tmp/mnt", "devtmpfs", 0, NULL));
	refused("mount sysfs", mount("sysfs", "/tmp/mnt", "sysfs", 0, NULL));
	refused("mount proc over /proc", mount("proc", "/proc", "proc", 0, NULL));
	refused("mount tmpfs over /proc", mount("tmpfs", "/proc", "tmpfs", 0, NULL));
	refused("mount a cgroup hierarchy (release_agent)", mount("cgroup", "/tmp/mnt", "cgroup", 0, "memory"));
	refused("remount / with dev", mount(NULL, "/", NULL, MS_REMOUNT, NULL));
	refused("bind the root somewhere", mount("/", "/tmp/mnt", NULL, MS_BIND, NULL));
	refused("umount /proc (to see what it masks)", umount2("/proc/kcore", MNT_DETACH));
	refused("fsopen (new mount API)", syscall(SYS_fsopen, "tmpfs", 0));
	refused("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
}

static void kernel_calls(void)
{
	union bpf_attr attr;
	struct perf_event_attr pe;
	struct timeval tv;
	struct {
		unsigned int bytes;
		int type;
		unsigned char f[128];
	} handle = { 128, 0, { 0 } };
	int mount_id;

	refused("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	refused("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
	refused("init_module", syscall(SYS_init_module, "", 0, ""));
	refused("finit_module", syscall(SYS_finit_module, 0, "", 0));
	refused("delete_module", syscall(SYS_delete_module, "ext4", O_NONBLOCK));
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	refused("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
	refused("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
	refused("add_key", syscall(SYS_add_key, "user", "alts", "x", 1, -3));
	refused("request_key", syscall(SYS_request_key, "user", "alts", NULL, 0));
	memset(&pe, 0, sizeof(pe));
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	refused("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	refused("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0));
	refused("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY));
	refused("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, RB_POWER_OFF, NULL));
	refused("swapoff", swapoff("/tmp/none"));
	gettimeofday(&tv, NULL);
	refused("settimeofday", settimeofday(&tv, NULL));
	refused("syslog (read the kernel log)", syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, NULL, 0));
	refused("iopl", syscall(SYS_iopl, 3));
	refused("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
	refused("userfaultfd", syscall(SYS_userfaultfd, 0));
	refused("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	refused("acct", syscall(SYS_acct, "/tmp/acct"));
	refused("pidfd_getfd", syscall(SYS_pidfd_getfd, 0, 0, 0));
	refused("process_vm_readv of PID 1", syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0));
	refused("sethostname", sethostname("escaped", 7));
}

static void privileges(void)
{
	char line[256];
	unsigned long long eff = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7))
			eff = strtoull(line + 7, NULL, 16);
	}
	if (f)
		fclose(f);
	tap(!(eff & (1ULL << 21)) && !(eff & (1ULL << 16)) && !(eff & (1ULL << 17)) && !(eff & (1ULL << 19)) &&
		    !(eff & (1ULL << 25)) && !(eff & (1ULL << 34)) && !(eff & (1ULL << 12)) && eff != ~0ULL,
	    "no SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_TIME, SYSLOG, NET_ADMIN", NULL);
	{
		struct {
			unsigned int version;
			int pid;
		} hdr = { 0x20080522, 0 };
		struct {
			unsigned int eff, perm, inh;
		} data[2] = { { ~0U, ~0U, ~0U }, { ~0U, ~0U, ~0U } };

		refused("capset to regain every capability", syscall(SYS_capset, &hdr, data));
	}
}

static void proc_sys(void)
{
	write_file_refused("write /proc/sys/fs/lease-break-time", "/proc/sys/fs/lease-break-time", "7\n");
	write_file_refused("write /proc/sys/kernel/core_pattern", "/proc/sys/kernel/core_pattern", "|/tmp/x\n");
	write_file_refused("write /proc/sys/kernel/modprobe", "/proc/sys/kernel/modprobe", "/tmp/x\n");
	write_file_refused("write /proc/sys/vm/drop_caches", "/proc/sys/vm/drop_caches", "3\n");
	masked("/proc/kcore");
	masked("/proc/kmsg");
	masked("/proc/sysrq-trigger");
	masked("/proc/timer_list");
	masked("/proc/keys");
	masked("/proc/kallsyms");
	{
		struct stat st;

		if (getenv("ALTS_PROBE_BOOTED")) {
			/* Boot mode (systemd as PID 1) shows a read-only sysfs, firmware hidden. */
			struct statvfs sv;
			int fd = open("/sys/kernel/uevent_helper", O_WRONLY | O_CLOEXEC);
			DIR *d = opendir("/sys/firmware");
			int entries = 0;

			tap(fd < 0, "booted: /sys/kernel/uevent_helper (run by the host's kernel) cannot be opened for writing",
			    NULL);
			if (fd >= 0)
				close(fd);
			tap(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "booted: /sys is read-only", NULL);
			while (d && readdir(d))
				entries++;
			if (d)
				closedir(d);
			tap(entries <= 2, "booted: /sys/firmware is empty", NULL);
		} else {
			tap(stat("/sys/kernel", &st) < 0, "no sysfs in the sandbox", NULL);
		}
		tap(stat("/dev/mem", &st) < 0 && stat("/dev/kmsg", &st) < 0 && stat("/dev/sda", &st) < 0,
		    "no /dev/mem, /dev/kmsg or disks in /dev", NULL);
	}
}

static void device_nodes(void)
{
	mknod_useless("mknod c 1 11 (kmsg) in /tmp, then write", "/tmp/kmsg", S_IFCHR, makedev(1, 11));
	mknod_useless("mknod c 1 1 (mem) in /, then open", "/alts-mem", S_IFCHR, makedev(1, 1));
	mknod_useless("mknod c 1 11 (kmsg) in /dev, then write", "/dev/kmsg2", S_IFCHR, makedev(1, 11));
	mknod_useless("mknod b 7 0 (loop0) in /alts-work, then open", "/alts-work/loop0", S_IFBLK, makedev(7, 0));
	mknod_useless("mknod b 8 0 (sda) in /run, then open", "/run/sda", S_IFBLK, makedev(8, 0));
}

/* The classic chroot escape: chroot into a subdirectory and climb; the top is still the sandbox's root. */
static void chroot_escape(const char *host_dir)
{
	pid_t p = fork();
	int status = 0;

	if (p == 0) {
		struct stat st;

		mkdir("/tmp/jail", 0755);
		if (chroot("/tmp/jail") < 0)
			_exit(2);
		for (int i = 0; i < 64; i++) {
			if (chdir("..") < 0)
				_exit(2);
		}
		if (chroot(".") < 0)
			_exit(2);
		/* At the top: the sandbox's /alts-work is there, the host's directory is not. */
		_exit(stat("/alts-work", &st) == 0 && (!host_dir || stat(host_dir, &st) < 0) ? 0 : 1);
	}
	waitpid(p, &status, 0);
	tap(WIFEXITED(status) && WEXITSTATUS(status) != 1, "chroot and climb: the top is the sandbox's root", NULL);
}

/* Disk: 10 GB into /tmp ends at the sandbox's size. */
static void fill(const char *what, const char *path)
{
	static char buf[1 << 20];
	long long total = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e = 0;
	char detail[128];

	memset(buf, 'x', sizeof(buf));
	while (fd >= 0 && total < 10LL << 30) {
		ssize_t w = write(fd, buf, sizeof(buf));

		if (w <= 0) {
			e = errno;
			break;
		}
		total += w;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	snprintf(detail, sizeof(detail), "stopped after %lld MiB (%s)", total >> 20, e ? strerror(e) : "no error");
	tap(total < 10LL << 30 && e == ENOSPC, what, detail);
}

/* Processes: 5000 forks end at the pids limit. */
static void fork_bomb(void)
{
	static pid_t kids[5000];
	int made = 0, e = 0;
	char detail[128];

	for (; made < 5000; made++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			e = errno;
			break;
		}
		kids[made] = p;
	}
	for (int i = 0; i < made; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < made; i++)
		waitpid(kids[i], NULL, 0);
	snprintf(detail, sizeof(detail), "%d processes, then %s", made, e ? strerror(e) : "no error");
	tap(made < 5000 && e == EAGAIN, "5000 processes end at the pids limit", detail);
}

/* Memory: a hog that touches 2 GiB is killed at the memory limit. */
static void memory_hog(void)
{
	pid_t p = fork();
	int status = 0;
	char detail[64];

	if (p == 0) {
		for (int i = 0; i < 2048; i++) {
			char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				_exit(3);
			memset(m, 1, 1 << 20);
		}
		_exit(0);
	}
	waitpid(p, &status, 0);
	snprintf(detail, sizeof(detail), "%s %d", WIFSIGNALED(status) ? "killed by signal" : "exit",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	tap(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "a 2 GiB memory hog is killed at the memory limit",
	    detail);
}

int main(int argc, char **argv)
{
	long host_pid = argc > 1 ? atol(argv[1]) : 0;
	const char *host_dir = argc > 2 ? argv[2] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	no_inherited_fds();
	privileges();
	proc_sys();
	device_nodes();
	mounts();
	kernel_calls();
	setns_host();
	host_process(host_pid);
	raw_socket();
	proc1_root(host_dir);
	chroot_escape(host_dir);
	fill("10 GB into /tmp end at the disk limit", "/tmp/fill");
	fill("10 GB into / (the overlay's upper layer) end at the disk limit", "/alts-fill");
	fork_bomb();
	memory_hog();
	printf("1..%d\n", n);
	return failures ? 1 : 0;
}
