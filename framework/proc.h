#ifndef ALTS_PROC_H
#define ALTS_PROC_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Runs one program to completion: fork/exec of an argv (never a shell
 * string), in its own process group, with a deadline that kills the
 * whole group (SIGTERM, then SIGKILL after kill_grace), output captured
 * to files through pipes (no deadlock on large output) and optionally
 * streamed to a callback.
 */

enum proc_stream { PROC_STDOUT = 1, PROC_STDERR = 2 };

/*
 * A stream kept in memory instead of a capture file, no file on disk: its
 * first head_max bytes and, past them, a ring of its last tail_max bytes.
 * The caller sets the two bounds (0 and 0: what a capture file keeps,
 * 256 MiB and 512 KiB) and releases it with proc_capture_release().
 */
struct proc_capture {
	unsigned long long head_max;
	size_t tail_max;
	unsigned long long total;  /* bytes the stream had */
	char *head;                /* min(total, head_max) bytes */
	size_t head_len, head_alloc;
	char *tail;                /* ring of the last bytes past head_max */
	size_t tail_len, tail_at;
	bool oom;                  /* bytes were lost for want of memory */
};

#define PROC_CAPTURE_INIT { 0 }

/* Keeps buf in c as a capture of proc_run does (for runners that capture by other means). */
void proc_capture_add(struct proc_capture *c, const char *buf, size_t n);
/* Copies the ring's bytes past the head, oldest first, to dst (tail_len bytes). */
void proc_capture_tail(const struct proc_capture *c, char *dst);
/*
 * What a capture file (stdout_path) of the same stream would hold: the
 * head, then past head_max the note of what was left out and the tail.
 * Allocated (alts_free), *len its length; NULL on oom.
 */
char *proc_capture_file_text(const struct proc_capture *c, size_t *len);
/* The size in bytes of a capture file of a stream of total bytes. */
unsigned long long proc_capture_file_size(unsigned long long total);
void proc_capture_release(struct proc_capture *c);
/* A write-only stream into c (proc_capture_add), for code that writes to a FILE; fclose() it. */
FILE *proc_capture_stream(struct proc_capture *c);

typedef void (*proc_output_fn)(void *payload, enum proc_stream stream, const char *buf, size_t len);

struct proc_spec {
	const char *const *argv;  /* argv[0] is looked up in PATH of envp */
	const char *const *envp;  /* the child's whole environment; NULL: empty */
	const char *cwd;          /* NULL: inherit */
	const char *chroot_dir;   /* NULL: none (the child chroots before exec) */
	const char *stdin_path;   /* NULL: /dev/null */
	const char *stdout_path;  /* NULL: discard; file is created/truncated */
	const char *stderr_path;  /* NULL: discard; may equal stdout_path to merge */
	struct proc_capture *stdout_capture; /* non-NULL: stdout kept in memory here (stdout_path unused) */
	struct proc_capture *stderr_capture; /* the same for stderr; may equal stdout_capture to merge */
	bool append;              /* append to the output files instead of truncating */
	unsigned long long capture_max; /* bytes kept at the head of each capture file; 0: 256 MiB (the last 512 KiB are kept too) */
	double timeout;           /* seconds; <= 0: none */
	double kill_grace;        /* seconds between SIGTERM and SIGKILL; <= 0: 2 */
	volatile const int *cancel; /* non-NULL and set: treated like a timeout */
	proc_output_fn on_output; /* NULL: none; called from proc_run's thread */
	void *payload;
	/*
	 * Runs in the child right after fork (async-signal-safe code only), to
	 * join namespaces and the like. Returns a negative errno on failure,
	 * 0 to go on, or 1 when the program must run in a child of its own
	 * (after joining a PID namespace); the child then stands in for it,
	 * ending as it ends.
	 */
	int (*child_enter)(void *enter_payload);
	void *enter_payload;
	/*
	 * Instead of fork (and child_enter): starts the program as a child of
	 * the calling process by other means (the sandbox's spawner, already
	 * inside it). fds are what the program gets as 0, 1 and 2, and the
	 * close-on-exec descriptor its failed exec writes its errno (an int)
	 * to; the callee duplicates what it keeps. The program is the leader
	 * of its own process group. Writes its pid; 0 or a negative errno
	 * (nothing started). Its stdin is opened here, on the host.
	 */
	int (*spawn)(void *enter_payload, pid_t *pid, const struct proc_spec *spec, const int fds[4]);
};

#define PROC_SPEC_INIT { 0 }

/*
 * In a child about to exec (async-signal-safe): execs spec->argv with
 * spec->envp, looking argv[0] up in envp's PATH; on failure writes the
 * errno (an int) to err_fd and exits 127. Never returns.
 */
_Noreturn void proc_child_exec(const struct proc_spec *spec, int err_fd);

struct proc_result {
	int exit_code;    /* exit status; 128+n when killed by signal n; 127 when exec failed */
	int term_signal;  /* signal that ended it, 0 if it exited */
	int exec_errno;   /* errno of a failed exec (exit_code is then 127), else 0 */
	bool timed_out;   /* the deadline passed and the group was killed */
	bool canceled;    /* *cancel was set and the group was killed */
	double duration;  /* wall-clock seconds */
};

/*
 * Returns 0 when the program ran (whatever its exit status, including a
 * failed exec, which is reported in out) or a negative code when it could
 * not be started (fork, pipe, output file). out is written only on 0.
 */
int proc_run(struct proc_result *out, const struct proc_spec *spec, struct alts_err *err);

/*
 * Closes every descriptor >= first. Async-signal-safe: for forked children
 * that never exec (they would otherwise keep other threads' pipes open).
 */
void proc_close_fds_from(int first);
/* Closes every descriptor >= 3 but a, b and c (-1: none); one close_range per gap. */
void proc_close_fds_keeping(int a, int b, int c);
/*
 * Points descriptors 0, 1 and 2 at /dev/null: for children that must hold
 * nothing of their parent's stdio. Async-signal-safe. 0, or -1 when
 * /dev/null cannot be opened or a dup2 fails.
 */
int proc_stdio_to_null(void);

/* Seconds from a monotonic clock, for deadlines and durations. */
double proc_now(void);
/* Seconds since the epoch, for timestamps in reports. */
double proc_wallclock(void);

#endif
