/*
 * The sandbox's privileges: Docker's default capability set and a seccomp
 * filter modeled on Docker's default profile (moby/profiles/seccomp
 * default.json). Docker's profile is an allow-list; this one is the
 * matching deny-list: the system calls Docker refuses to a container
 * without extra capabilities fail with EPERM here, every other one is
 * allowed (the capability set already refuses most of what they guard).
 */
#include "framework/common.h"
#include "runners/sandbox_sec.h"

#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Docker's default capabilities (moby oci/caps/defaults.go). */
static const int kept_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
	CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

const char *sandbox_sec_caps_kept(void)
{
	return "CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE "
	       "SYS_CHROOT KILL AUDIT_WRITE";
}

/*
 * Refused with EPERM: what Docker's default profile leaves out (or allows
 * only with CAP_SYS_ADMIN, SYS_MODULE, SYS_BOOT, SYS_TIME, SYS_PTRACE,
 * SYSLOG, SYS_PACCT, SYS_RAWIO, which the sandbox does not have), plus
 * io_uring (refused by Docker since 25.0) and ptrace (refused here so a
 * test cannot inspect other processes of the sandbox either).
 */
static const char *const denied[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "settimeofday", "adjtimex", "create_module",
	"delete_module", "finit_module", "init_module", "get_kernel_syms", "query_module", "fanotify_init",
	"ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "request_key", "lookup_dcookie",
	"mount", "umount", "umount2", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "name_to_handle_at", "open_by_handle_at", "nfsservctl", "perf_event_open", "pivot_root",
	"process_vm_readv", "process_vm_writev", "ptrace", "quotactl", "quotactl_fd", "reboot", "setns",
	"swapon", "swapoff", "sysfs", "_sysctl", "syslog", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
	"vm86old", "vhangup", "pidfd_getfd", "process_madvise", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "setdomainname", "sethostname", "lsm_set_self_attr",
};

/* clone() may not make namespaces (Docker's profile: only with CAP_SYS_ADMIN). */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
	CLONE_NEWTIME,
#endif
};

/* The compiled program, the same for every sandbox: built once per process (0.4 ms each with libseccomp). */
static struct {
	pthread_mutex_t lock;
	struct sock_filter *filter;
	unsigned short len;
} compiled = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };

static int export_filter(scmp_filter_ctx ctx, struct alts_err *err)
{
	int p[2], rc;
	char buf[65536];
	ssize_t n, total = 0;

	if (pipe(p) < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
	rc = seccomp_export_bpf(ctx, p[1]);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return alts_err_errno(err, ALTS_EENV, -rc, "cannot compile the seccomp filter");
	}
	while ((n = read(p[0], buf + total, sizeof(buf) - (size_t)total)) > 0)
		total += n;
	close(p[0]);
	if (n < 0 || total == (ssize_t)sizeof(buf) || total % (ssize_t)sizeof(struct sock_filter))
		return alts_err_set(err, ALTS_EENV, "cannot read the compiled seccomp filter");
	compiled.filter = malloc((size_t)total);
	if (!compiled.filter)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memcpy(compiled.filter, buf, (size_t)total);
	compiled.len = (unsigned short)(total / (ssize_t)sizeof(struct sock_filter));
	return 0;
}

/* Fills compiled.filter; called with compiled.lock held. */
static int sec_compile(struct alts_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;

	if (!ctx)
		return alts_err_set(err, ALTS_EENV, "cannot initialise libseccomp");
	/* 32-bit programs in the image get the same filter (x86_64 hosts). */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	/* Not no_new_privs: setuid programs such as sudo must work inside. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; !rc && i < ALTS_ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;  /* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc == -EDOM || rc == -EOPNOTSUPP)
			rc = 0;
		if (rc)
			alts_err_errno(err, ALTS_EENV, -rc, "cannot add seccomp rule for %s", denied[i]);
	}
	for (size_t i = 0; !rc && i < ALTS_ARRAY_SIZE(ns_flags); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (rc)
			alts_err_errno(err, ALTS_EENV, -rc, "cannot add the seccomp rule for clone");
	}
	/* clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes libc fall back to clone. */
	if (!rc && seccomp_syscall_resolve_name("clone3") != __NR_SCMP_ERROR) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
		if (rc)
			alts_err_errno(err, ALTS_EENV, -rc, "cannot add the seccomp rule for clone3");
	}
	if (!rc)
		rc = export_filter(ctx, err);
	seccomp_release(ctx);
	return rc;
}

int sandbox_sec_prepare(struct sandbox_sec *sec, struct alts_err *err)
{
	int rc = 0;

	memset(sec, 0, sizeof(*sec));
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(kept_caps); i++)
		sec->keep_caps |= 1ULL << kept_caps[i];
	pthread_mutex_lock(&compiled.lock);
	if (!compiled.filter)
		rc = sec_compile(err);
	if (!rc) {
		/* Each sandbox owns a copy: release and apply stay per sandbox. */
		sec->filter = malloc(compiled.len * sizeof(struct sock_filter));
		if (sec->filter) {
			memcpy(sec->filter, compiled.filter, compiled.len * sizeof(struct sock_filter));
			sec->len = compiled.len;
		} else {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
	}
	pthread_mutex_unlock(&compiled.lock);
	return rc;
}

void sandbox_sec_release(struct sandbox_sec *sec)
{
	free(sec->filter);
	sec->filter = NULL;
	sec->len = 0;
}

int sandbox_sec_apply(const struct sandbox_sec *sec)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct sock_fprog prog = { sec->len, sec->filter };

	/* Loading a filter without no_new_privs needs CAP_SYS_ADMIN: before the drop. */
	if (sec->filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	for (int cap = 0; cap < 64; cap++) {
		if (!(sec->keep_caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
				break;  /* past the kernel's last capability: the rest are unknown to it too */
			if (errno != EINVAL)
				return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)sec->keep_caps;
	data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(sec->keep_caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int sandbox_sec_apply_nnp(const struct sandbox_sec *sec)
{
	struct sock_fprog prog = { sec->len, sec->filter };

	if (sec->filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}
