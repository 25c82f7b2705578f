#ifndef ALTS_RUNNER_SSH_H
#define ALTS_RUNNER_SSH_H

/*
 * Pieces of the ssh runner (runners/ssh.c) exported for its unit tests.
 *
 * ssh joins its remote arguments with spaces and the remote login shell
 * parses the result again. The runner therefore sends one string, built
 * here by a fixed algorithm in which every value from input (arguments,
 * environment, paths) is a single-quoted word: the only place alts makes
 * a shell string, and one that keeps every byte of its input inert.
 */

#include <stdbool.h>
#include <stddef.h>

#include "framework/sbuf.h"

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
