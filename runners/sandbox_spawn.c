/*
 * The sandbox's spawner (runners/sandbox_spawn.h). The code that runs in
 * the spawner and in the programs it starts is async-signal-safe: the
 * spawner is a copy of a process that may have had other threads (no
 * malloc, no stdio); its buffers are mapped once.
 */
#include "framework/common.h"
#include "runners/sandbox_spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* Each started program runs on the same stack and execs without returning: its frames' poison would stay. */
#define SPAWN_STACK_CLEAN(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define SPAWN_STACK_CLEAN(p, n) ((void)(p), (void)(n))
#endif

#define SPAWN_MSG_MAX (64 * 1024)       /* one request: cwd, argv and envp */
#define SPAWN_STRINGS_MAX 4096          /* argv and envp entries of one request */
#define SPAWN_STACK (64 * 1024)         /* the started program's, until its exec */
#define SPAWN_STARTER_STACK (128 * 1024)

struct spawn_req {
	uint32_t argc, envc;  /* followed by cwd ("" for none), argv[], envp[], each NUL-terminated */
};

struct spawner_args {
	pid_t init;
	bool join_net;
	const struct sandbox_cgroup *cg;
	const struct sandbox_sec *sec;
	int sock, go_fd, report_fd;
};

/* What a started program needs until its exec (it shares the spawner's memory). */
struct spawn_child {
	struct proc_spec spec;
	const char *cwd;
	int fds[4];
};

static void report_errno(int fd, int e)
{
	if (write(fd, &e, sizeof(e)) < 0)
		_exit(1);
}

/* The started program, between clone and exec. */
static int spawn_child_main(void *payload)
{
	const struct spawn_child *c = payload;
	sigset_t none;
	int e;

	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(c->fds[0], STDIN_FILENO) < 0 || dup2(c->fds[1], STDOUT_FILENO) < 0 ||
	    dup2(c->fds[2], STDERR_FILENO) < 0 || (c->cwd && chdir(c->cwd) < 0)) {
		e = errno;
		if (write(c->fds[3], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	proc_close_fds_keeping(c->fds[3], -1, -1);
	proc_child_exec(&c->spec, c->fds[3]);
}

/* Receives one request with its four descriptors; 1, 0 at the end of the stream, -1 on a bad one. */
static int spawner_recv(int sock, char *buf, int fds[4], ssize_t *len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, SPAWN_MSG_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(4 * sizeof(int))) {
		/* Close whatever came with it. */
		for (; c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int *f = (int *)(void *)CMSG_DATA(c);

				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(f[i]);
			}
		}
		return -1;
	}
	memcpy(fds, CMSG_DATA(c), 4 * sizeof(int));
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(struct spawn_req)) {
		for (int i = 0; i < 4; i++)
			close(fds[i]);
		return -1;
	}
	*len = n;
	return 1;
}

/* Points out[] at count NUL-terminated strings from *p (below end), then a NULL. */
static bool spawner_split(char **p, const char *end, char **out, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		char *nul = memchr(*p, '\0', (size_t)(end - *p));

		if (!nul)
			return false;
		out[i] = *p;
		*p = nul + 1;
	}
	out[count] = NULL;
	return true;
}

/* Starts one program; its pid (in our PID namespace, the host's) or -errno. */
static pid_t spawner_start(char *buf, ssize_t len, const int fds[4], char **strings, char *stack)
{
	struct spawn_req req;
	struct spawn_child c;
	char *p = buf + sizeof(req), *end = buf + len, *cwd;
	pid_t pid;

	memcpy(&req, buf, sizeof(req));
	if (req.argc < 1 || req.argc + req.envc + 2 > SPAWN_STRINGS_MAX || len >= SPAWN_MSG_MAX)
		return -E2BIG;
	buf[len] = '\0';
	cwd = p;
	p += strlen(cwd) + 1;
	if (p > end || !spawner_split(&p, end, strings, req.argc) ||
	    !spawner_split(&p, end, strings + req.argc + 1, req.envc))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.spec.argv = (const char *const *)strings;
	c.spec.envp = (const char *const *)(strings + req.argc + 1);
	c.cwd = *cwd ? cwd : NULL;
	memcpy(c.fds, fds, sizeof(c.fds));
	SPAWN_STACK_CLEAN(stack, SPAWN_STACK);
	/* Our parent's child (CLONE_PARENT), in our memory until it execs (CLONE_VM | CLONE_VFORK). */
	pid = clone(spawn_child_main, stack + SPAWN_STACK, CLONE_PARENT | CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	return pid < 0 ? -errno : pid;
}

static int spawner_join(const struct spawner_args *a)
{
	static const char *const names[] = { "ipc", "uts", "net", "pid", "mnt" };
	static const int types[] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS };

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		char path[64];
		int fd;

		if (types[i] == CLONE_NEWNET && !a->join_net)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)a->init, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (setns(fd, types[i]) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		close(fd);
	}
	return 0;
}

static int spawner_main(void *payload)
{
	const struct spawner_args *a = payload;
	char *buf, *stack, **strings;
	int e = 0;
	char go = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (a->cg && (e = -sandbox_cgroup_join(a->cg)) > 0) {
		report_errno(a->report_fd, e);
		_exit(1);
	}
	proc_close_fds_keeping(a->sock, a->go_fd, a->report_fd);
	proc_stdio_to_null();
	while (read(a->go_fd, &go, 1) < 0 && errno == EINTR)
		;
	close(a->go_fd);
	/* The message (and its terminating NUL), then a page-aligned stack, then the string pointers. */
	buf = mmap(NULL, SPAWN_MSG_MAX + 4096 + SPAWN_STACK + SPAWN_STRINGS_MAX * sizeof(char *), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (go != 'g')
		_exit(0);
	if (buf == MAP_FAILED)
		e = errno;
	else if ((e = -spawner_join(a)) == 0 && sandbox_sec_apply(a->sec) < 0)
		e = errno;
	report_errno(a->report_fd, e);
	close(a->report_fd);
	if (e)
		_exit(1);
	stack = buf + SPAWN_MSG_MAX + 4096;
	strings = (char **)(void *)(stack + SPAWN_STACK);
	for (;;) {
		int fds[4], r;
		ssize_t len = 0;
		pid_t pid;

		r = spawner_recv(a->sock, buf, fds, &len);
		if (r == 0)
			_exit(0);
		pid = r < 0 ? -EINVAL : spawner_start(buf, len, fds, strings, stack);
		if (r > 0) {
			for (int i = 0; i < 4; i++)
				close(fds[i]);
		}
		if (send(a->sock, &pid, sizeof(pid), MSG_NOSIGNAL) != (ssize_t)sizeof(pid))
			_exit(0);
	}
}

int sandbox_spawner_start(struct sandbox_spawner *sp, pid_t init, bool join_net, const struct sandbox_cgroup *cg,
			  const struct sandbox_sec *sec, struct alts_err *err)
{
	struct spawner_args a = { init, join_net, cg, sec, -1, -1, -1 };
	int sv[2] = { -1, -1 }, go[2] = { -1, -1 }, rep[2] = { -1, -1 }, rc = 0;
	char *stack = NULL;

	sp->pid = -1;
	sp->sock = sp->go_fd = sp->report_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create the sandbox's spawner channels");
		goto out;
	}
	stack = alts_malloc(SPAWN_STARTER_STACK);
	if (!stack) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	a.sock = sv[1];
	a.go_fd = go[0];
	a.report_fd = rep[1];
	/* As fork() would: its own copy of our memory, in which the stack above is unused until now. */
	sp->pid = clone(spawner_main, stack + SPAWN_STARTER_STACK, SIGCHLD, &a);
	if (sp->pid < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot start the sandbox's spawner");
		goto out;
	}
	sp->sock = sv[0];
	sp->go_fd = go[1];
	sp->report_fd = rep[0];
	sv[0] = go[1] = rep[0] = -1;
out:
	alts_free(stack);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	return rc;
}

int sandbox_spawner_enter(struct sandbox_spawner *sp, struct alts_err *err)
{
	int e = -1;
	ssize_t n;

	if (write(sp->go_fd, "g", 1) != 1)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot start the sandbox's spawner");
	close(sp->go_fd);
	sp->go_fd = -1;
	do
		n = read(sp->report_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(sp->report_fd);
	sp->report_fd = -1;
	if (n != (ssize_t)sizeof(e))
		return alts_err_set(err, ALTS_EENV, "the sandbox's spawner ended without a report");
	if (e)
		return alts_err_errno(err, ALTS_EENV, e, "the sandbox's spawner cannot enter the sandbox");
	return 0;
}

static size_t strings_size(const char *const *v, uint32_t *count)
{
	size_t size = 0;

	*count = 0;
	for (; v && *v; v++, (*count)++)
		size += strlen(*v) + 1;
	return size;
}

bool sandbox_spawner_fits(const struct proc_spec *spec)
{
	uint32_t argc, envc;
	size_t size = sizeof(struct spawn_req) + (spec->cwd ? strlen(spec->cwd) : 0) + 1 +
		      strings_size(spec->argv, &argc) + strings_size(spec->envp, &envc);

	return !spec->chroot_dir && size < SPAWN_MSG_MAX && argc + envc + 2 <= SPAWN_STRINGS_MAX;
}

static void put_strings(char **p, const char *const *v)
{
	for (; v && *v; v++) {
		size_t n = strlen(*v) + 1;

		memcpy(*p, *v, n);
		*p += n;
	}
}

int sandbox_spawner_spawn(void *payload, pid_t *pid, const struct proc_spec *spec, const int fds[4])
{
	const struct sandbox_spawner *sp = payload;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct spawn_req req;
	size_t cwd_len = spec->cwd ? strlen(spec->cwd) : 0;
	size_t size = sizeof(req) + cwd_len + 1 + strings_size(spec->argv, &req.argc) + strings_size(spec->envp, &req.envc);
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	char *buf, *p;
	pid_t got = -EPIPE;
	ssize_t n;

	if (sp->sock < 0)
		return -ENOTCONN;
	buf = alts_malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &req, sizeof(req));
	p = buf + sizeof(req);
	memcpy(p, spec->cwd ? spec->cwd : "", cwd_len + 1);
	p += cwd_len + 1;
	put_strings(&p, spec->argv);
	put_strings(&p, spec->envp);
	iov.iov_base = buf;
	iov.iov_len = size;
	memset(ctl.buf, 0, sizeof(ctl.buf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(4 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, 4 * sizeof(int));
	do
		n = sendmsg(sp->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	alts_free(buf);
	if (n != (ssize_t)size)
		return n < 0 ? -errno : -EPIPE;
	do
		n = recv(sp->sock, &got, sizeof(got), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(got))
		return -EPIPE;
	if (got < 0)
		return got;
	*pid = got;
	return 0;
}

void sandbox_spawner_stop(struct sandbox_spawner *sp)
{
	int status;

	if (sp->sock >= 0)
		close(sp->sock);
	if (sp->go_fd >= 0)
		close(sp->go_fd);
	if (sp->report_fd >= 0)
		close(sp->report_fd);
	sp->sock = sp->go_fd = sp->report_fd = -1;
	if (sp->pid > 0) {
		kill(sp->pid, SIGKILL);
		while (waitpid(sp->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	sp->pid = -1;
}
