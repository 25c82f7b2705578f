#ifndef ALTS_SANDBOX_SEC_H
#define ALTS_SANDBOX_SEC_H

#include "framework/err.h"

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The sandbox's privileges, modeled on Docker's defaults: the capability
 * bounding set is Docker's default set, and a seccomp filter (built with
 * libseccomp) makes the system calls Docker's default profile refuses fail
 * with EPERM. No no_new_privs: setuid programs (sudo) keep working inside.
 * See docs/runners.md, "What the sandbox promises".
 */
struct sandbox_sec {
	struct sock_filter *filter;  /* the compiled seccomp program */
	unsigned short len;
	uint64_t keep_caps;          /* the capabilities that stay */
};

/* Gives the sandbox its copy of the filter (compiled at build time) and the capabilities kept. */
int sandbox_sec_prepare(struct sandbox_sec *sec, struct alts_err *err);
void sandbox_sec_release(struct sandbox_sec *sec);

/*
 * In a forked child, after it joined the namespaces: loads the filter and
 * drops every capability but keep_caps from the bounding, permitted,
 * effective, inheritable and ambient sets. Async-signal-safe. 0 or -errno.
 */
int sandbox_sec_apply(const struct sandbox_sec *sec);

/*
 * Loads the filter alone, in a process that set no_new_privs (and so needs
 * no capability): for helpers that run on the host (git clone). Async-signal-safe.
 */
int sandbox_sec_apply_nnp(const struct sandbox_sec *sec);

/* The capability names kept, for documentation and logs ("CHOWN DAC_OVERRIDE ..."). */
const char *sandbox_sec_caps_kept(void);

#endif
