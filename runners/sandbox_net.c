/*
 * network: private. The sandbox keeps a network namespace of its own, with
 * only lo (so test daemons of parallel sandboxes never meet on a port), and
 * gets one way out: an allow-list HTTP proxy (runners/mirror_proxy.c) on
 * its 127.0.0.1, served by a process of the host's.
 *
 * The proxy process enters the sandbox's network namespace only to make its
 * listening socket, goes back to the host's, then drops everything before
 * it reads a byte from the sandbox: every descriptor but three, root (to
 * nobody), the ability to regain privileges (no_new_privs), to be traced
 * (not dumpable), to open files or fork (a seccomp allow-list of the calls
 * a poll loop on sockets needs). It dies with alts-run (PR_SET_PDEATHSIG)
 * and with the sandbox (sandbox_net_stop). Names are resolved here, on the
 * host, before the fork: the sandbox's DNS plays no part.
 */
#include "framework/common.h"
#include "runners/sandbox_net.h"
#include "runners/mirror_proxy.h"
#include "runners/sandbox_fs.h"
#include "framework/log.h"
#include "framework/proc.h"
#include "framework/suite.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NET_PROXY_UID 65534  /* nobody */
#define NET_PROXY_GID 65534
#define NET_SOURCES_MAX (1 << 20)

enum sandbox_net_mode sandbox_net_mode(const struct suite *s)
{
	const char *mode = s ? s->env.network : NULL;

	if (mode)
		return !strcmp(mode, "host") ? SANDBOX_NET_HOST : !strcmp(mode, "private") ? SANDBOX_NET_PRIVATE
											     : SANDBOX_NET_NONE;
	for (size_t i = 0; s && i < s->nrepos; i++) {
		if (!suite_url_is_local(s->repos[i].url))
			return SANDBOX_NET_PRIVATE;
	}
	return SANDBOX_NET_NONE;
}

void sandbox_net_init(struct sandbox_net *n)
{
	n->proxy = -1;
	n->life_fd = n->log_fd = -1;
	n->port = 0;
	n->mp = NULL;
	n->filter = NULL;
	n->filter_len = 0;
}

/* --- the allow-list --- */

int sandbox_net__allow_text(struct mirror_proxy *mp, const char *text, struct alts_err *err)
{
	while (text && *text) {
		size_t len = strcspn(text, "\n");
		const char *t = text;

		while (*t == ' ' || *t == '\t')
			t++;
		/* apt and yum comments; in a .sources file "#" starts one too */
		if (*t != '#' && *t != ';') {
			const char *end = text + len;

			/* every URL of the line: baseurl, mirrorlist, metalink, gpgkey, apt's URIs */
			for (const char *u = t; u < end;) {
				int rc = mirror_proxy_allow_url(mp, u, (size_t)(end - u), err);
				const char *next;

				if (rc < 0)
					return rc;
				next = strcasestr(u, "://");
				if (!next || next >= end)
					break;
				u = next + 3;
			}
		}
		text += len + (text[len] ? 1 : 0);
	}
	return 0;
}

static int allow_file(struct mirror_proxy *mp, const char *path, struct alts_err *err)
{
	struct sbuf text = SBUF_INIT;
	int rc = 0;

	if (!sbuf_read_file(&text, path, NET_SOURCES_MAX))
		rc = sandbox_net__allow_text(mp, text.buf, err);
	sbuf_release(&text);
	return rc;
}

static bool name_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && !strcmp(name + n - k, suffix);
}

/* Every file of dir (in the image) whose name ends in one of the suffixes. */
static int allow_dir(struct mirror_proxy *mp, const char *lower, const char *dir, const char *const *suffixes,
		     struct alts_err *err)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (!str_fmt(path, sizeof(path), "%s%s", lower, dir) || !(d = opendir(path)))
		return 0;
	while (!rc && (e = readdir(d))) {
		for (const char *const *s = suffixes; *s; s++) {
			if (name_ends(e->d_name, *s) && str_fmt(path, sizeof(path), "%s%s/%s", lower, dir, e->d_name)) {
				rc = allow_file(mp, path, err);
				break;
			}
		}
	}
	closedir(d);
	return rc;
}

static int build_allow_list(struct mirror_proxy *mp, const char *lower, const struct suite *s, struct alts_err *err)
{
	static const char *const apt_suffixes[] = { ".list", ".sources", NULL };
	static const char *const repo_suffixes[] = { ".repo", NULL };
	char path[PATH_MAX];
	int rc = 0;

	for (size_t i = 0; !rc && s && i < s->nrepos; i++) {
		const char *url = s->repos[i].url;

		if (!suite_url_is_local(url)) {
			rc = mirror_proxy_allow_url(mp, url, strlen(url), err);
			rc = rc < 0 ? rc : 0;
		}
	}
	if (!rc && str_fmt(path, sizeof(path), "%s/etc/apt/sources.list", lower))
		rc = allow_file(mp, path, err);
	if (!rc)
		rc = allow_dir(mp, lower, "/etc/apt/sources.list.d", apt_suffixes, err);
	if (!rc)
		rc = allow_dir(mp, lower, "/etc/yum.repos.d", repo_suffixes, err);
	if (!rc)
		rc = allow_dir(mp, lower, "/etc/distro.repos.d", repo_suffixes, err);
	return rc;
}

/* --- the proxy's seccomp filter --- */

static const char *const proxy_syscalls[] = {
	"read", "write", "close", "poll", "ppoll", "accept", "accept4", "connect", "getsockopt", "setsockopt",
	"shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "getsockname", "getpeername", "fcntl",
	"clock_gettime", "clock_nanosleep", "gettimeofday", "nanosleep", "exit", "exit_group", "rt_sigreturn",
	"restart_syscall", "getpid", "gettid", "futex", "rt_sigprocmask", "sigaltstack", "mmap", "munmap", "brk",
	"madvise",
};

/*
 * Allowed: the calls above, and socket() for TCP over IPv4 or IPv6 only;
 * anything else (open, fork, exec, setns, ptrace...) fails with EPERM.
 */
static int proxy_filter(struct sock_fprog *out, struct alts_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	char buf[16384];
	ssize_t n, total = 0;
	int p[2] = { -1, -1 }, rc = 0;

	if (!ctx)
		return alts_err_set(err, ALTS_EENV, "cannot initialise libseccomp");
	for (size_t i = 0; !rc && i < ALTS_ARRAY_SIZE(proxy_syscalls); i++) {
		int nr = seccomp_syscall_resolve_name(proxy_syscalls[i]);

		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	if (rc) {
		seccomp_release(ctx);
		return alts_err_errno(err, ALTS_EENV, -rc, "cannot build the proxy's seccomp filter");
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		seccomp_release(ctx);
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
	}
	rc = seccomp_export_bpf(ctx, p[1]);
	close(p[1]);
	seccomp_release(ctx);
	while (!rc && (n = read(p[0], buf + total, sizeof(buf) - (size_t)total)) > 0)
		total += n;
	close(p[0]);
	if (rc || total == 0 || total == (ssize_t)sizeof(buf) || total % (ssize_t)sizeof(struct sock_filter))
		return alts_err_set(err, ALTS_EENV, "cannot compile the proxy's seccomp filter");
	out->filter = alts_malloc((size_t)total);
	if (!out->filter)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memcpy(out->filter, buf, (size_t)total);
	out->len = (unsigned short)(total / (ssize_t)sizeof(struct sock_filter));
	return 0;
}

/* --- the proxy process (async-signal-safe: forked from a threaded alts-run, it never execs) --- */

static void report_line(int fd, const char *what, unsigned long v)
{
	char buf[48], digits[24];
	size_t len = strlen(what), n = 0;

	memcpy(buf, what, len);
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	if (write(fd, buf, len) < 0)
		_exit(1);
}

static int proxy_listen(int net_ns_fd, uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;

	if (host_ns < 0 || setns(net_ns_fd, CLONE_NEWNET) < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -errno;  /* the caller reports and exits: nothing more is done in the sandbox's namespace */
	/* Serve from the host's namespace: the connections it makes leave from there. */
	if (setns(host_ns, CLONE_NEWNET) < 0)
		return -errno;
	close(host_ns);
	*port = ntohs(a.sin_port);
	return fd;
}

static int proxy_drop(const struct sock_fprog *filter, pid_t parent)
{
	struct rlimit files = { 2 * MIRROR_PROXY_MAX_CONNS + 16, 2 * MIRROR_PROXY_MAX_CONNS + 16 };
	struct rlimit none = { 0, 0 };
	struct sigaction ign;

	if (proc_stdio_to_null() < 0)
		return -1;
	if (syscall(SYS_setgroups, 0, NULL) < 0 || setresgid(NET_PROXY_GID, NET_PROXY_GID, NET_PROXY_GID) < 0 ||
	    setresuid(NET_PROXY_UID, NET_PROXY_UID, NET_PROXY_UID) < 0 || getuid() != NET_PROXY_UID ||
	    geteuid() != NET_PROXY_UID)
		return -2;
	/* Set after the uid change, which clears it; then make sure the parent did not already go. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return -3;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -4;
	if (setrlimit(RLIMIT_NOFILE, &files) < 0 || setrlimit(RLIMIT_FSIZE, &none) < 0 ||
	    setrlimit(RLIMIT_CORE, &none) < 0)
		return -5;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter) < 0)
		return -6;
	return 0;
}

static void proxy_main(struct mirror_proxy *mp, const struct sock_fprog *filter, int net_ns_fd, int life_rd,
		       int log_wr, pid_t parent)
{
	uint16_t port = 0;
	int fd, rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = proxy_listen(net_ns_fd, &port);
	if (fd < 0) {
		report_line(log_wr, "fail listen ", (unsigned long)-fd);
		_exit(1);
	}
	proc_close_fds_keeping(fd, life_rd, log_wr);
	rc = proxy_drop(filter, parent);
	if (rc < 0) {
		report_line(log_wr, "fail drop ", (unsigned long)-rc);
		_exit(1);
	}
	report_line(log_wr, "port ", port);
	mirror_proxy_serve(mp, fd, life_rd, log_wr);
	_exit(0);
}

/* --- the parent side --- */

/* The proxy's first line: "port N" or "fail <what> <n>". */
static int read_report(struct sandbox_net *n, struct alts_err *err)
{
	char line[64];
	size_t len = 0;
	unsigned long port = 0;

	while (len + 1 < sizeof(line)) {
		ssize_t r = read(n->log_fd, line + len, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	for (size_t i = 5; !strncmp(line, "port ", 5) && i < len && isdigit((unsigned char)line[i]) && port < 65536; i++)
		port = port * 10 + (unsigned long)(line[i] - '0');
	if (strncmp(line, "port ", 5) || !port || port > 65535)
		return alts_err_set(err, ALTS_EENV, "the sandbox's mirror proxy did not start%s%s", len ? ": " : "",
				    line);
	n->port = (uint16_t)port;
	return 0;
}

/* Writes name in dir (inside the sandbox), replacing what is there; a link planted there is replaced, not followed. */
static int write_in_sandbox(int root_fd, const char *dir, const char *name, const char *text, size_t len,
			    struct alts_err *err)
{
	int dfd = sandbox_fs_open(root_fd, dir, O_RDONLY | O_DIRECTORY), fd, rc = 0;

	if (dfd < 0)
		return alts_err_errno(err, ALTS_EENV, -dfd, "cannot open '%s' in the sandbox", dir);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot replace '%s/%s' in the sandbox", dir, name);
		goto out;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s/%s' in the sandbox", dir, name);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
out:
	close(dfd);
	return rc;
}

void sandbox_net__dnf_conf(struct sbuf *out, const char *image_conf, const char *url)
{
	const char *text = image_conf ? image_conf : "";
	bool in_main = false, inserted = false;

	while (*text) {
		size_t len = strcspn(text, "\n");
		const char *t = text;

		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '[') {
			in_main = !strncmp(t, "[main]", 6);
		} else if (in_main && !strncasecmp(t, "proxy", 5)) {
			size_t k = 5;

			while (isalnum((unsigned char)t[k]) || t[k] == '_')
				k++;
			while (t[k] == ' ' || t[k] == '\t')
				k++;
			if (t[k] == '=') {
				text += len + (text[len] ? 1 : 0);
				continue;  /* the image's proxy settings give way to ours */
			}
		}
		sbuf_add(out, text, len);
		sbuf_addch(out, '\n');
		if (in_main && !inserted && *t == '[') {
			sbuf_addf(out, "proxy=%s\n", url);
			inserted = true;
		}
		text += len + (text[len] ? 1 : 0);
	}
	if (!inserted) {
		struct sbuf whole = SBUF_INIT;

		sbuf_addf(&whole, "[main]\nproxy=%s\n", url);
		sbuf_add(&whole, out->buf, out->len);
		sbuf_release(out);
		*out = whole;
	}
}

static int write_settings(struct sandbox_net *n, int root_fd, const char *lower, struct alts_err *err)
{
	char path[PATH_MAX], url[64];
	struct stat st;
	int rc = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)n->port);
	if (str_fmt(path, sizeof(path), "%s/etc/apt/apt.conf.d", lower) && !stat(path, &st) && S_ISDIR(st.st_mode)) {
		struct sbuf text = SBUF_INIT;

		sbuf_addf(&text,
			  "// network: private: the sandbox's way to its repositories (alts, runners/sandbox_net.c)\n"
			  "Acquire::http::Proxy \"%s\";\nAcquire::https::Proxy \"%s\";\n",
			  url, url);
		rc = sbuf_ok(&text) ? write_in_sandbox(root_fd, "/etc/apt/apt.conf.d", "99alts-proxy", text.buf,
							text.len, err)
				    : alts_err_set(err, ALTS_ENOMEM, "out of memory");
		sbuf_release(&text);
	}
	if (!rc && str_fmt(path, sizeof(path), "%s/etc/dnf/dnf.conf", lower) && !stat(path, &st)) {
		struct sbuf image = SBUF_INIT, text = SBUF_INIT;

		if (sbuf_read_file(&image, path, NET_SOURCES_MAX))
			sbuf_reset(&image);
		sandbox_net__dnf_conf(&text, image.buf, url);
		rc = sbuf_ok(&text) ? write_in_sandbox(root_fd, "/etc/dnf", "dnf.conf", text.buf, text.len, err)
				    : alts_err_set(err, ALTS_ENOMEM, "out of memory");
		sbuf_release(&image);
		sbuf_release(&text);
	}
	return rc;
}

int sandbox_net_start(struct sandbox_net *n, int net_ns_fd, int root_fd, const char *lower, const struct suite *s,
		      struct alts_err *err)
{
	struct sock_fprog filter = { 0, NULL };
	int life[2] = { -1, -1 }, log[2] = { -1, -1 }, rc = 0;
	pid_t parent = getpid();

	if (!n->mp) {
		n->mp = alts_malloc(sizeof(*n->mp));
		if (!n->mp)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = mirror_proxy_init(n->mp, err);
		if (!rc)
			rc = build_allow_list(n->mp, lower, s, err);
		if (rc) {
			mirror_proxy_release(n->mp);
			free(n->mp);
			n->mp = NULL;
			goto out;
		}
		mirror_proxy_resolve(n->mp);
		for (size_t i = 0; i < n->mp->ntargets; i++)
			alts_log(ALTS_LOG_DEBUG, "sandbox", "network private: the proxy allows %s %s:%u (%zu addresses)",
				 n->mp->targets[i].tls ? "CONNECT" : "GET", n->mp->targets[i].host,
				 (unsigned)n->mp->targets[i].port, n->mp->targets[i].naddrs);
	}
	if (!n->filter) {
		rc = proxy_filter(&filter, err);
		if (rc)
			goto out;
		n->filter = filter.filter;
		n->filter_len = filter.len;
	}
	filter.filter = n->filter;
	filter.len = n->filter_len;
	if (pipe2(life, O_CLOEXEC) < 0 || pipe2(log, O_CLOEXEC) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a pipe");
		goto out;
	}
	/* A full log pipe drops lines rather than stall the proxy. */
	fcntl(log[1], F_SETFL, O_NONBLOCK);
	n->proxy = fork();
	if (n->proxy == 0) {
		close(life[1]);
		close(log[0]);
		proxy_main(n->mp, &filter, net_ns_fd, life[0], log[1], parent);
	}
	if (n->proxy < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot fork the mirror proxy");
		goto out;
	}
	n->life_fd = life[1];
	n->log_fd = log[0];
	life[1] = log[0] = -1;
	close(life[0]);
	close(log[1]);
	life[0] = log[1] = -1;
	rc = read_report(n, err);
	if (!rc)
		fcntl(n->log_fd, F_SETFL, O_NONBLOCK);
	if (!rc)
		rc = write_settings(n, root_fd, lower, err);
	if (!rc)
		alts_log(ALTS_LOG_DEBUG, "sandbox", "network private: mirror proxy %d on 127.0.0.1:%u in the sandbox",
			 (int)n->proxy, (unsigned)n->port);
out:
	for (int i = 0; i < 2; i++) {
		if (life[i] >= 0)
			close(life[i]);
		if (log[i] >= 0)
			close(log[i]);
	}
	if (rc)
		alts_err_prefix(err, "network private");
	return rc;
}

/* The proxy's refusals and errors, one log line each. */
static void log_proxy_lines(struct sandbox_net *n)
{
	char buf[4096];
	struct sbuf pending = SBUF_INIT;
	ssize_t r;

	while ((r = read(n->log_fd, buf, sizeof(buf))) > 0 && pending.len < 128 * 1024)
		sbuf_add(&pending, buf, (size_t)r);
	for (const char *s = pending.buf; *s;) {
		size_t len = strcspn(s, "\n");

		alts_log(!strncmp(s, "refused", 7) ? ALTS_LOG_WARN : ALTS_LOG_INFO, "sandbox",
			 "network private: the mirror proxy %.*s", (int)len, s);
		s += len + (s[len] ? 1 : 0);
	}
	sbuf_release(&pending);
}

void sandbox_net_stop(struct sandbox_net *n)
{
	if (n->proxy > 0) {
		int status;

		kill(n->proxy, SIGKILL);
		while (waitpid(n->proxy, &status, 0) < 0 && errno == EINTR)
			;
	}
	n->proxy = -1;
	if (n->life_fd >= 0)
		close(n->life_fd);
	if (n->log_fd >= 0) {
		log_proxy_lines(n);
		close(n->log_fd);
	}
	n->life_fd = n->log_fd = -1;
}

void sandbox_net_release(struct sandbox_net *n)
{
	sandbox_net_stop(n);
	if (n->mp) {
		mirror_proxy_release(n->mp);
		free(n->mp);
	}
	n->mp = NULL;
	free(n->filter);
	n->filter = NULL;
	n->filter_len = 0;
}
