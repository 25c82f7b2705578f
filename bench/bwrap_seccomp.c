/*
 * Writes a compiled seccomp filter (BPF) to stdout for `bwrap --seccomp FD`
 * in bench/sandbox.sh: the deny-list of the alts sandbox (modeled on
 * Docker's default profile: the system calls Docker refuses to a container
 * without extra capabilities fail with EPERM, clone may not make
 * namespaces, clone3 gets ENOSYS), so that bwrap does the same work as the
 * sandbox it is compared with.
 *
 * usage: bwrap_seccomp > filter.bpf        Exit status: 0, or 3 when libseccomp fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

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

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
	CLONE_NEWTIME,
#endif
};

int main(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;

	if (!ctx)
		return 3;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	for (size_t i = 0; !rc && i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc == -EDOM || rc == -EOPNOTSUPP)
			rc = 0;
	}
	for (size_t i = 0; !rc && i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (!rc && seccomp_syscall_resolve_name("clone3") != __NR_SCMP_ERROR)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
	if (!rc)
		rc = seccomp_export_bpf(ctx, STDOUT_FILENO);
	seccomp_release(ctx);
	if (rc) {
		fprintf(stderr, "bwrap_seccomp: libseccomp failed: %d\n", rc);
		return 3;
	}
	return 0;
}
