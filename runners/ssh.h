#ifndef ALTS_RUNNER_SSH_H
#define ALTS_RUNNER_SSH_H

/*
 * Pieces of the ssh runner (runners/ssh.c): its settings, and what is
 * exported for its unit tests.
 *
 * ssh joins its remote arguments with spaces and the remote login shell
 * parses the result again. The runner therefore sends one string, built
 * here by a fixed algorithm in which every value from input (arguments,
 * environment, paths) is a single-quoted word: the only place alts makes
 * a shell string, and one that keeps every byte of its input inert.
 */

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"
#include "framework/sbuf.h"

/*
 * environment.ssh: an existing host reached with the system ssh, decoded
 * with the ssh runner's key table. Also filled by runners/command.c from
 * what a provisioner printed.
 */
struct ssh_conf {
	const char *host;            /* name or address; required by the ssh runner */
	long port;                   /* 0: 22 */
	const char *user;            /* NULL: ssh's default */
	const char *identity_file;   /* private key; NULL: ssh's defaults and agent */
	const char *known_hosts;     /* NULL: ssh's defaults */
	const char *strict_host_key_checking; /* yes (default), accept-new or no */
	double connect_timeout;      /* seconds; 0: 30 */
	struct conf_argv reboot_command; /* run on the host for >>>VMRESTART<<<; argc 0: [reboot] */
	double reboot_timeout;       /* seconds to wait for the host to come back; 0: 600 */
};

/* The marker a check prints to have the host rebooted (as ALTS does). */
#define SSH_REBOOT_MARKER ">>>VMRESTART<<<"

/*
 * Appends arg as one word for a POSIX shell: inside single quotes, with
 * each ' written as '\'' (close, escaped quote, reopen). The empty string
 * becomes ''. Every other byte, newlines included, stands for itself.
 */
void ssh__quote(struct sbuf *sb, const char *arg);

/* Appends each element of the NULL-terminated argv quoted, separated by spaces. */
void ssh__quote_argv(struct sbuf *sb, const char *const *argv);

/*
 * Appends the remote script of one exec: records the shell's pid (the
 * process group sshd made for the session) in pid_file, changes to cwd,
 * runs argv under `env -i` with exactly env, writes the exit status to
 * rc_file and exits with it (128+n when the command was killed by signal
 * n, as the remote shell reports it).
 */
void ssh__exec_script(struct sbuf *sb, const char *pid_file, const char *rc_file, const char *cwd,
		      const char *const *env, const char *const *argv);

/* Finds SSH_REBOOT_MARKER in output that arrives in pieces. */
struct ssh_marker_scan {
	char tail[sizeof(SSH_REBOOT_MARKER)];  /* the last bytes seen, for a marker split across pieces */
	size_t len;
	bool found;
};

void ssh__marker_scan(struct ssh_marker_scan *scan, const char *buf, size_t len);

#endif
