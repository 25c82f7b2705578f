/*
 * The sandbox's privileges: Docker's default capability set and a seccomp
 * filter modeled on Docker's default profile (moby/profiles/seccomp
 * default.json). Docker's profile is an allow-list; this one is the
 * matching deny-list: the system calls Docker refuses to a container
 * without extra capabilities fail with EPERM here, every other one is
 * allowed (the capability set already refuses most of what they guard).
 * The filter's rules are in runners/gen/sandbox_sec_gen.c, which compiles
 * them at build time.
 */
#include "framework/common.h"
#include "runners/sandbox_sec.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
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

/* The compiled filter, the same for every sandbox: made at build time (runners/gen/sandbox_sec_gen.c). */
extern const struct sock_filter sandbox_sec_filter[];
extern const unsigned short sandbox_sec_filter_len;

int sandbox_sec_prepare(struct sandbox_sec *sec, struct alts_err *err)
{
	memset(sec, 0, sizeof(*sec));
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(kept_caps); i++)
		sec->keep_caps |= 1ULL << kept_caps[i];
	/* Each sandbox owns a copy: release and apply stay per sandbox. */
	sec->filter = malloc(sandbox_sec_filter_len * sizeof(struct sock_filter));
	if (!sec->filter)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memcpy(sec->filter, sandbox_sec_filter, sandbox_sec_filter_len * sizeof(struct sock_filter));
	sec->len = sandbox_sec_filter_len;
	return 0;
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
