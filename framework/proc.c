#include "framework/common.h"
#include "framework/proc.h"
#include "framework/log.h"
#include "framework/sbuf.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* How long to keep reading after the program exited, for output still in flight. */
#define PROC_DRAIN_GRACE 0.2


static void close_fd_range(int first, int last)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0) == 0)
		return;
#endif
	for (int fd = first; fd <= last && fd < 4096; fd++)
		close(fd);
}

void proc_close_fds_from(int first)
{
	close_fd_range(first, INT_MAX);
}

int proc_stdio_to_null(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), rc = 0;

	if (null < 0)
		return -1;
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(null, fd) < 0)
			rc = -1;
	}
	if (null > 2)
		close(null);
	return rc;
}

void proc_close_fds_keeping(int a, int b, int c)
{
	int keep[3] = { a, b, c }, next = 3;

	for (int i = 0; i < 3; i++) {
		for (int j = i + 1; j < 3; j++) {
			if (keep[j] < keep[i]) {
				int t = keep[i];

				keep[i] = keep[j];
				keep[j] = t;
			}
		}
	}
	for (int i = 0; i < 3; i++) {
		if (keep[i] < next)
			continue;
		if (keep[i] > next)
			close_fd_range(next, keep[i] - 1);
		next = keep[i] + 1;
	}
	close_fd_range(next, INT_MAX);
}

double proc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double proc_wallclock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *env_path(const char *const *envp)
{
	for (; envp && *envp; envp++) {
		if (!strncmp(*envp, "PATH=", 5))
			return *envp + 5;
	}
	return PROC_DEFAULT_PATH;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
_Noreturn void proc_child_exec(const struct proc_spec *spec, int err_fd)
{
	static const char *const empty_env[] = { NULL };
	char *const *envp = (char *const *)(spec->envp ? spec->envp : empty_env);
	char *const *argv = (char *const *)spec->argv;
	const char *file = spec->argv[0];
	int saved = ENOENT;

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		saved = errno;
	} else {
		const char *p = env_path(spec->envp);
		char buf[PATH_MAX];

		while (*p) {
			const char *colon = strchr(p, ':');
			size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
			size_t flen = strlen(file);

			if (dlen + flen + 2 <= sizeof(buf)) {
				memcpy(buf, dlen ? p : ".", dlen ? dlen : 1);
				if (!dlen)
					dlen = 1;
				buf[dlen] = '/';
				memcpy(buf + dlen + 1, file, flen + 1);
				execve(buf, argv, envp);
				if (errno != ENOENT && errno != ENOTDIR)
					saved = errno;
			}
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	if (write(err_fd, &saved, sizeof(saved)) < 0)
		_exit(127);
	_exit(127);
}

static int redirect(int fd, const char *path, int flags)
{
	int f = open(path, flags | O_CLOEXEC, 0644);

	if (f < 0)
		return -1;
	if (f != fd && dup2(f, fd) < 0)
		return -1;
	if (f != fd)
		close(f);
	return 0;
}

/*
 * Stands in for the program that runs in a forked grandchild: same process
 * group, so the group kill reaches both; ends the way the program ended.
 */
static void child_relay(pid_t pid, int out_w, int err_w, int err_fd)
{
	int status;

	ALTS_UNUSED(out_w);
	ALTS_UNUSED(err_w);
	ALTS_UNUSED(err_fd);
	/*
	 * It never execs, so it would keep every descriptor other threads had
	 * open at fork time (their pipes among them); keep only 0-2.
	 */
	proc_close_fds_from(3);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(127);
	}
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		kill(getpid(), WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

static void child_setup(const struct proc_spec *spec, int out_w, int err_w, int err_fd)
{
	sigset_t none;
	int e;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (redirect(STDIN_FILENO, spec->stdin_path ? spec->stdin_path : "/dev/null", O_RDONLY) < 0)
		goto fail;
	if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0)
		goto fail;
	/* After the redirections: a joined mount namespace no longer shows the host's files. */
	if (spec->child_enter) {
		int r = spec->child_enter(spec->enter_payload);

		if (r < 0) {
			errno = -r;
			goto fail;
		}
		if (r == 1) {
			pid_t pid = fork();

			if (pid < 0)
				goto fail;
			if (pid > 0)
				child_relay(pid, out_w, err_w, err_fd);
		}
	}
	if (spec->chroot_dir && (chroot(spec->chroot_dir) < 0 || chdir("/") < 0))
		goto fail;
	if (spec->cwd && chdir(spec->cwd) < 0)
		goto fail;
	/* The program gets 0-2 only: nothing alts-run inherited or opened (err_fd closes on exec). */
	proc_close_fds_keeping(err_fd, -1, -1);
	proc_child_exec(spec, err_fd);
fail:
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * The program file the child would exec: argv[0] when it has a '/', else
 * the first regular, executable file of that name on envp's PATH (as the
 * forked child's own search does). 0, or an errno: ENOENT, or EACCES when
 * only unexecutable ones exist.
 */
static int resolve_program(const struct proc_spec *spec, char *buf, size_t size)
{
	const char *file = spec->argv[0], *p = env_path(spec->envp);
	int found = ENOENT;

	if (strchr(file, '/'))
		return str_fmt(buf, size, "%s", file) ? 0 : ENAMETOOLONG;
	while (*p) {
		const char *colon = strchr(p, ':');
		int dlen = colon ? (int)(colon - p) : (int)strlen(p);
		struct stat st;

		if (snprintf(buf, size, "%.*s/%s", dlen ? dlen : 1, dlen ? p : ".", file) < (int)size &&
		    stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return 0;
			found = EACCES;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return found;
}

/*
 * Starts the program with posix_spawn (vfork-like: no copy of a large,
 * multi-threaded parent's page tables, which fork() pays for on every
 * check a worker runs). Same child state as child_setup: own process
 * group, default signals, empty mask, stdin, the two pipes, cwd, and no
 * inherited descriptor above 2. Only for specs without child_enter or
 * chroot_dir. 0 with *pid set, or an errno (a failed open, chdir or exec
 * comes back here: glibc reports them through posix_spawn).
 */
static int spawn_program(pid_t *pid, const struct proc_spec *spec, int out_w, int err_w)
{
	static const char *const empty_env[] = { NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char path[PATH_MAX];
	int e = resolve_program(spec, path, sizeof(path));

	if (e)
		return e;
	if ((e = posix_spawn_file_actions_init(&fa)))
		return e;
	if ((e = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if (!(e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, spec->stdin_path ? spec->stdin_path : "/dev/null",
						   O_RDONLY, 0)) &&
	    !(e = posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO)) &&
	    !(e = posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO)) &&
	    !(e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) &&
	    !(e = spec->cwd ? posix_spawn_file_actions_addchdir_np(&fa, spec->cwd) : 0) &&
	    !(e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							   POSIX_SPAWN_SETSIGDEF)) &&
	    !(e = posix_spawnattr_setpgroup(&attr, 0)) && !(e = posix_spawnattr_setsigmask(&attr, &none)) &&
	    !(e = posix_spawnattr_setsigdefault(&attr, &all)))
		e = posix_spawn(pid, path, &fa, &attr, (char *const *)spec->argv,
				(char *const *)(spec->envp ? spec->envp : empty_env));
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

/*
 * A program's output is untrusted and may be endless (`yes` for an hour):
 * a capture keeps its first head_max bytes (256 MiB by default) and its last
 * tail_max bytes (512 KiB), so neither the host's disk nor its memory is
 * the program's to fill.
 */
#define PROC_CAPTURE_MAX_DEFAULT (256ULL << 20)
#define PROC_CAPTURE_TAIL ((size_t)512 << 10)

struct proc_sink {
	int fd;           /* pipe read end, -1 when closed */
	FILE *file;       /* capture file (the head goes there, cap keeps the tail) or NULL */
	struct proc_capture *cap;  /* where the bytes are kept: the caller's, or own for a file */
	struct proc_capture own;
	enum proc_stream stream;
};

static unsigned long long capture_head_max(const struct proc_capture *c)
{
	return c->head_max ? c->head_max : PROC_CAPTURE_MAX_DEFAULT;
}

static size_t capture_tail_max(const struct proc_capture *c)
{
	return c->tail_max ? c->tail_max : PROC_CAPTURE_TAIL;
}

static void capture_keep_tail(struct proc_capture *c, const char *buf, size_t n)
{
	size_t size = capture_tail_max(c);

	if (!n)
		return;
	if (!c->tail && !(c->tail = alts_malloc(size))) {
		c->oom = true;
		return;
	}
	if (n >= size) {
		memcpy(c->tail, buf + n - size, size);
		c->tail_len = size;
		c->tail_at = 0;
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t room = size - c->tail_at, k = n - done < room ? n - done : room;

		memcpy(c->tail + c->tail_at, buf + done, k);
		done += k;
		c->tail_at = (c->tail_at + k) % size;
		c->tail_len = c->tail_len + k < size ? c->tail_len + k : size;
	}
}

static void capture_keep_head(struct proc_capture *c, const char *buf, size_t n)
{
	if (c->head_len + n > c->head_alloc) {
		size_t want = c->head_alloc ? c->head_alloc : 4096;
		char *p;

		while (want < c->head_len + n)
			want *= 2;
		if (want > capture_head_max(c))
			want = (size_t)capture_head_max(c);
		if (!(p = alts_realloc(c->head, want))) {
			c->oom = true;
			return;
		}
		c->head = p;
		c->head_alloc = want;
	}
	memcpy(c->head + c->head_len, buf, n);
	c->head_len += n;
}

/* Keeps n more bytes of the stream: the head in memory or, given a file, there. */
static void capture_keep(struct proc_capture *c, FILE *file, const char *buf, size_t n)
{
	unsigned long long before = c->total, max = capture_head_max(c);
	size_t head = before >= max ? 0 : max - before < n ? (size_t)(max - before) : n;

	c->total += n;
	if (head && file)
		fwrite(buf, 1, head, file);
	else if (head)
		capture_keep_head(c, buf, head);
	capture_keep_tail(c, buf + head, n - head);
}

void proc_capture_add(struct proc_capture *c, const char *buf, size_t n)
{
	capture_keep(c, NULL, buf, n);
}

void proc_capture_tail(const struct proc_capture *c, char *dst)
{
	size_t size = capture_tail_max(c);

	if (!c->tail)
		return;
	if (c->tail_len < size) {
		memcpy(dst, c->tail, c->tail_len);
		return;
	}
	memcpy(dst, c->tail + c->tail_at, size - c->tail_at);
	memcpy(dst + size - c->tail_at, c->tail, c->tail_at);
}

static ssize_t capture_cookie_write(void *cookie, const char *buf, size_t n)
{
	proc_capture_add(cookie, buf, n);
	return (ssize_t)n;
}

FILE *proc_capture_stream(struct proc_capture *c)
{
	cookie_io_functions_t io = { .write = capture_cookie_write };

	return fopencookie(c, "w", io);
}

/* The line a capture file gets past its head; its length. */
static size_t capture_note(char *buf, size_t size, unsigned long long total, unsigned long long max,
			   size_t tail_len, size_t tail_max)
{
	int n = snprintf(buf, size,
			 "\n[alts: %llu bytes of output left out: a capture keeps the first %llu MiB and the last %zu KiB]\n",
			 total - max - tail_len, max >> 20, tail_max >> 10);

	return n < 0 ? 0 : (size_t)n;
}

unsigned long long proc_capture_file_size(unsigned long long total)
{
	unsigned long long past = total - PROC_CAPTURE_MAX_DEFAULT;
	size_t tail = past < PROC_CAPTURE_TAIL ? (size_t)past : PROC_CAPTURE_TAIL;

	if (total <= PROC_CAPTURE_MAX_DEFAULT)
		return total;
	return PROC_CAPTURE_MAX_DEFAULT + tail +
	       capture_note(NULL, 0, total, PROC_CAPTURE_MAX_DEFAULT, tail, PROC_CAPTURE_TAIL);
}

char *proc_capture_file_text(const struct proc_capture *c, size_t *len)
{
	unsigned long long max = capture_head_max(c);
	char note[256];
	size_t nl = c->total > max ? capture_note(note, sizeof(note), c->total, max, c->tail_len, capture_tail_max(c)) : 0;
	char *text = alts_malloc(c->head_len + nl + c->tail_len + 1);

	if (!text)
		return NULL;
	if (c->head_len)
		memcpy(text, c->head, c->head_len);
	memcpy(text + c->head_len, note, nl);
	if (nl)
		proc_capture_tail(c, text + c->head_len + nl);
	*len = c->head_len + (nl ? nl + c->tail_len : 0);
	text[*len] = '\0';
	return text;
}

void proc_capture_release(struct proc_capture *c)
{
	alts_free(c->head);
	alts_free(c->tail);
	c->head = c->tail = NULL;
	c->head_len = c->head_alloc = c->tail_len = c->tail_at = 0;
	c->total = 0;
}

/* Writes what was left out and the kept tail to a capture file. */
static void sink_finish(struct proc_sink *s)
{
	struct proc_capture *c = &s->own;

	if (s->file && c->total > capture_head_max(c)) {
		char note[256], *tail = c->tail_len ? alts_malloc(c->tail_len) : NULL;

		fwrite(note, 1, capture_note(note, sizeof(note), c->total, capture_head_max(c), c->tail_len,
					     capture_tail_max(c)), s->file);
		if (tail) {
			proc_capture_tail(c, tail);
			fwrite(tail, 1, c->tail_len, s->file);
		}
		alts_free(tail);
	}
	proc_capture_release(c);
}

static FILE *open_capture(const char *path, bool append, struct alts_err *err)
{
	FILE *f = fopen(path, append ? "ae" : "we");

	if (!f)
		alts_err_errno(err, ALTS_EENV, errno, "cannot open output file '%s'", path);
	return f;
}

static void sink_read(struct proc_sink *s, const struct proc_spec *spec)
{
	char buf[65536];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (s->cap)
		capture_keep(s->cap, s->file, buf, (size_t)n);
	if (spec->on_output)
		spec->on_output(spec->payload, s->stream, buf, (size_t)n);
}

static int pidfd_for(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	ALTS_UNUSED(pid);
	errno = ENOSYS;
	return -1;
#endif
}

struct proc_wait {
	pid_t pid;
	int pidfd;
	bool exited;
	int status;
	bool timed_out, canceled;
	double kill_at;  /* SIGKILL time once SIGTERM was sent; 0 before */
};

static void wait_check_exit(struct proc_wait *w)
{
	int status;
	pid_t r;

	if (w->exited)
		return;
	do
		r = waitpid(w->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == w->pid) {
		w->exited = true;
		w->status = status;
	}
}

static void wait_kill_group(struct proc_wait *w, int sig)
{
	/* The group may outlive its leader; kill() on it is harmless when it is gone. */
	kill(-w->pid, sig);
}

static double poll_timeout_ms(double until, double now)
{
	double ms = (until - now) * 1000.0;

	return ms < 0 ? 0 : ms;
}

/* Reads output until the program exits (and its pipes close, briefly), enforcing the deadline. */
static void proc_loop(struct proc_wait *w, struct proc_sink *sinks, const struct proc_spec *spec,
		      double deadline, double grace)
{
	double drain_until = 0;

	for (;;) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		double now = proc_now(), until = now + 3600;
		int idx[3] = { -1, -1, -1 };

		wait_check_exit(w);
		if (w->exited && !drain_until)
			drain_until = now + PROC_DRAIN_GRACE;
		if (w->exited && (now >= drain_until || (sinks[0].fd < 0 && sinks[1].fd < 0)))
			break;
		if (!w->exited) {
			bool stop = deadline && now >= deadline;

			if (spec->cancel && *spec->cancel && !w->canceled) {
				w->canceled = true;
				stop = true;
			}
			if (stop && !w->kill_at) {
				w->timed_out = !w->canceled;
				wait_kill_group(w, SIGTERM);
				w->kill_at = now + grace;
			}
			if (w->kill_at && now >= w->kill_at) {
				wait_kill_group(w, SIGKILL);
				w->kill_at = now + 3600;
			}
			if (w->kill_at)
				until = w->kill_at;
			else if (deadline)
				until = deadline;
			if (spec->cancel && until > now + 0.1)
				until = now + 0.1;
			if (w->pidfd < 0 && until > now + 0.02)
				until = now + 0.02;
		} else {
			until = drain_until;
		}
		for (int i = 0; i < 2; i++) {
			if (sinks[i].fd >= 0) {
				pfd[n].fd = sinks[i].fd;
				pfd[n].events = POLLIN;
				idx[n++] = i;
			}
		}
		if (!w->exited && w->pidfd >= 0) {
			pfd[n].fd = w->pidfd;
			pfd[n].events = POLLIN;
			n++;
		}
		if (poll(pfd, n, (int)poll_timeout_ms(until, now) + 1) < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < n; i++) {
			if (idx[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				sink_read(&sinks[idx[i]], spec);
		}
	}
	if (!w->exited) {
		while (waitpid(w->pid, &w->status, 0) < 0 && errno == EINTR)
			;
		w->exited = true;
	}
	/* A killed group must not leave children behind holding resources. */
	if (w->timed_out || w->canceled)
		wait_kill_group(w, SIGKILL);
}

static void fill_result(struct proc_result *res, const struct proc_wait *w, int exec_errno, double started)
{
	memset(res, 0, sizeof(*res));
	res->duration = proc_now() - started;
	res->timed_out = w->timed_out;
	res->canceled = w->canceled;
	if (exec_errno) {
		res->exec_errno = exec_errno;
		res->exit_code = 127;
	} else if (WIFSIGNALED(w->status)) {
		res->term_signal = WTERMSIG(w->status);
		res->exit_code = 128 + res->term_signal;
	} else {
		res->exit_code = WEXITSTATUS(w->status);
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int proc_run(struct proc_result *out, const struct proc_spec *spec, struct alts_err *err)
{
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, exec_p[2] = { -1, -1 };
	struct proc_sink sinks[2] = { { .fd = -1, .stream = PROC_STDOUT }, { .fd = -1, .stream = PROC_STDERR } };
	struct proc_wait w = { .pid = -1, .pidfd = -1 };
	double started = proc_now(), deadline, grace;
	int exec_errno = 0, rc = 0;
	ssize_t n;

	ALTS_ASSERT_ARG(spec && spec->argv && spec->argv[0], err);
	grace = spec->kill_grace > 0 ? spec->kill_grace : 2.0;
	deadline = spec->timeout > 0 ? started + spec->timeout : 0;

	sinks[0].own.head_max = sinks[1].own.head_max = spec->capture_max;
	sinks[0].cap = spec->stdout_capture;
	sinks[1].cap = spec->stderr_capture;
	if (!sinks[0].cap && spec->stdout_path) {
		sinks[0].cap = &sinks[0].own;
		if (!(sinks[0].file = open_capture(spec->stdout_path, spec->append, err)))
			return ALTS_EENV;
	}
	if (!sinks[1].cap && spec->stderr_path) {
		sinks[1].cap = &sinks[1].own;
		if (spec->stdout_path && !spec->stdout_capture && !strcmp(spec->stderr_path, spec->stdout_path))
			sinks[1].file = sinks[0].file;
		else if (!(sinks[1].file = open_capture(spec->stderr_path, spec->append, err))) {
			rc = ALTS_EENV;
			goto out;
		}
	}
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 || pipe2(exec_p, O_CLOEXEC) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create pipes for '%s'", spec->argv[0]);
		goto out;
	}
	if (spec->spawn) {
		int in = open(spec->stdin_path ? spec->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
		int fds[4] = { in, out_p[1], err_p[1], exec_p[1] }, e;

		if (in < 0) {
			/* What the forked child would report: the redirection failed. */
			fill_result(out, &w, errno, started);
			goto out;
		}
		e = spec->spawn(spec->enter_payload, &w.pid, spec, fds);
		close(in);
		if (e < 0) {
			rc = alts_err_errno(err, ALTS_EENV, -e, "cannot start '%s'", spec->argv[0]);
			goto out;
		}
	} else if (!spec->child_enter && !spec->chroot_dir) {
		int e = spawn_program(&w.pid, spec, out_p[1], err_p[1]);

		if (e == EAGAIN || e == ENOMEM) {
			rc = alts_err_errno(err, ALTS_EENV, e, "cannot start '%s'", spec->argv[0]);
			goto out;
		}
		if (e) {
			/* What the forked child would report: the exec (or open, chdir) failed. */
			fill_result(out, &w, e, started);
			goto out;
		}
	} else {
		w.pid = fork();
		if (w.pid < 0) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot fork to run '%s'", spec->argv[0]);
			goto out;
		}
		if (w.pid == 0)
			child_setup(spec, out_p[1], err_p[1], exec_p[1]);
	}
	setpgid(w.pid, w.pid);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	close_fd(&exec_p[1]);
	do
		n = read(exec_p[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(exec_errno))
		exec_errno = 0;
	w.pidfd = pidfd_for(w.pid);
	sinks[0].fd = out_p[0];
	sinks[1].fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	proc_loop(&w, sinks, spec, deadline, grace);
	fill_result(out, &w, exec_errno, started);
	alts_log(ALTS_LOG_DEBUG, "proc", "'%s' exited %d after %.3fs%s", spec->argv[0], out->exit_code,
		 out->duration, out->timed_out ? " (timed out)" : "");
out:
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&exec_p[0]);
	close_fd(&exec_p[1]);
	close_fd(&sinks[0].fd);
	close_fd(&sinks[1].fd);
	close_fd(&w.pidfd);
	sink_finish(&sinks[0]);
	sink_finish(&sinks[1]);
	if (sinks[1].file && sinks[1].file != sinks[0].file)
		fclose(sinks[1].file);
	if (sinks[0].file)
		fclose(sinks[0].file);
	return rc;
}
