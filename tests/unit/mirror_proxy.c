/*
 * runners/mirror_proxy.c and the allow-list text of runners/sandbox_net.c:
 * what a request may reach, and the proxy served for real on loopback
 * against a real upstream, with the abuse an untrusted sandbox can send
 * (bad request lines, oversized heads, slow heads, CONNECT to a port that
 * is not allowed, more connections than slots).
 */
#include "tests/unit/helpers.h"
#include "framework/proc.h"
#include "framework/sbuf.h"
#include "runners/mirror_proxy.h"
#include "runners/sandbox_net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct parse_case {
	const char *head;
	int status;  /* 0: accepted */
};

static void test_mirror_proxy__parse_table(void **state)
{
	static const struct parse_case cases[] = {
		{ "GET http://deb.debian.org/debian/dists/bookworm/InRelease HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n", 0 },
		{ "HEAD http://Deb.Debian.ORG:8080 HTTP/1.0\r\n\r\n", 0 },
		{ "CONNECT deb.debian.org:443 HTTP/1.1\r\nHost: deb.debian.org:443\r\n\r\n", 0 },
		{ "CONNECT [2a04:4e42::644]:443 HTTP/1.1\r\n\r\n", 0 },
		{ "GET http://a/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },                       /* origin-form: not a proxy request */
		{ "GET https://a/ HTTP/1.1\r\n\r\n", 400 },                          /* https only through CONNECT */
		{ "POST http://a/ HTTP/1.1\r\n\r\n", 405 },
		{ "get http://a/ HTTP/1.1\r\n\r\n", 405 },
		{ "GET http://a/ HTTP/2.0\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1 x\r\n\r\n", 400 },
		{ "GET  http://a/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a/\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "CONNECT a HTTP/1.1\r\n\r\n", 400 },                               /* no port */
		{ "CONNECT a:0 HTTP/1.1\r\n\r\n", 400 },
		{ "CONNECT a:65536 HTTP/1.1\r\n\r\n", 400 },
		{ "CONNECT a:443x HTTP/1.1\r\n\r\n", 400 },
		{ "CONNECT user@a:443 HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://user:pw@a/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a$b/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://[::1/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a?x HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a/\x01 HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\nHost: a\r\n\r\n", 400 },                  /* bare LF */
		{ "GET http://a/ HTTP/1.1\r\nHost a\r\n\r\n", 400 },                 /* no colon */
		{ "GET http://a/ HTTP/1.1\r\nHo st: a\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400 },             /* folded */
		{ "GET http://a/ HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400 },  /* no complete head either */
		{ "GET http://a/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\n", 400 },                               /* incomplete */
	};
	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct mirror_proxy_request req;
		const char *why = NULL;
		int status = mirror_proxy_parse_head(&req, cases[i].head, strlen(cases[i].head), &why);

		if (status != cases[i].status)
			fail_msg("case %zu (%s): status %d (%s), expected %d", i, cases[i].head, status, why,
				 cases[i].status);
	}
	{
		struct mirror_proxy_request req;
		const char *why, *head = "GET http://Deb.Debian.ORG:8080 HTTP/1.0\r\nA: b\r\n\r\n";

		assert_int_equal(mirror_proxy_parse_head(&req, head, strlen(head), &why), 0);
		assert_string_equal(req.host, "deb.debian.org");
		assert_int_equal(req.port, 8080);
		assert_int_equal(req.path_len, 1);
		assert_int_equal(req.headers_len, 6);
	}
	/* A NUL inside the head is refused (the length says where it ends, not the NUL). */
	{
		struct mirror_proxy_request req;
		const char *why;
		const char head[] = "GET http://a/\0 HTTP/1.1\r\n\r\n";

		assert_int_equal(mirror_proxy_parse_head(&req, head, sizeof(head) - 1, &why), 400);
	}
}

static void test_mirror_proxy__allow_list_from_sources(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct mirror_proxy p;
	struct sbuf dnf = SBUF_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(mirror_proxy_init(&p, &err), &err);
	assert_ok_err(sandbox_net__allow_text(&p,
					      "deb [trusted=yes] http://deb.debian.org/debian bookworm main\n"
					      "# deb http://commented.example/debian bookworm main\n"
					      "Types: deb\nURIs: https://Security.Debian.org/debian-security\n"
					      "deb http://deb.debian.org/debian bookworm-updates main\n"
					      "baseurl=http://mirror.example:8080/$releasever/ https://user:pw@m2.example:8443/x\n"
					      "mirrorlist=https://mirrors.example/metalink?repo=$basearch\n"
					      "baseurl=http://$mirror/x\n",
					      &err),
		      &err);
	assert_int_equal(p.ntargets, 5);
	assert_string_equal(p.targets[0].host, "deb.debian.org");
	assert_int_equal(p.targets[0].port, 80);
	assert_false(p.targets[0].tls);
	assert_string_equal(p.targets[1].host, "security.debian.org");
	assert_int_equal(p.targets[1].port, 443);
	assert_true(p.targets[1].tls);
	assert_string_equal(p.targets[2].host, "mirror.example");
	assert_int_equal(p.targets[2].port, 8080);
	assert_string_equal(p.targets[3].host, "m2.example");
	assert_int_equal(p.targets[3].port, 8443);
	assert_string_equal(p.targets[4].host, "mirrors.example");
	/* A full list is an error, not a silent drop. */
	for (int i = 0; p.ntargets < MIRROR_PROXY_MAX_TARGETS; i++) {
		char url[64];

		snprintf(url, sizeof(url), "http://h%d.example/", i);
		assert_int_equal(mirror_proxy_allow_url(&p, url, strlen(url), &err), 1);
	}
	assert_int_equal(mirror_proxy_allow_url(&p, "http://one-more.example/", 25, &err), ALTS_EINVALID);
	mirror_proxy_release(&p);

	sandbox_net__dnf_conf(&dnf, "# comment\n[main]\ngpgcheck=1\nproxy=http://corp:3128\nproxy_username=u\n[other]\nproxy=x\n",
			      "http://127.0.0.1:9/");
	assert_string_equal(dnf.buf, "# comment\n[main]\nproxy=http://127.0.0.1:9/\ngpgcheck=1\n[other]\nproxy=x\n");
	sbuf_reset(&dnf);
	sandbox_net__dnf_conf(&dnf, "", "http://127.0.0.1:9/");
	assert_string_equal(dnf.buf, "[main]\nproxy=http://127.0.0.1:9/\n");
	sbuf_release(&dnf);
}

/* --- the proxy served for real --- */

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int dial(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Reads until EOF, a full buffer or 5 s of silence. */
static size_t recv_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = recv(fd, buf + len, size - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return len;
}

/* The upstream: answers each connection with what it received (up to the head's end) as the body. */
static pid_t start_upstream(int lfd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		char head[8192], reply[9000];
		size_t len = 0;
		int fd = accept(lfd, NULL, NULL);
		int n;

		if (fd < 0)
			_exit(0);
		while (len + 1 < sizeof(head)) {
			ssize_t r = recv(fd, head + len, sizeof(head) - 1 - len, 0);

			if (r <= 0)
				break;
			len += (size_t)r;
			head[len] = '\0';
			if (strstr(head, "\r\n\r\n"))
				break;
		}
		n = snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
			     len, (int)len, head);
		send_all(fd, reply, (size_t)n);
		close(fd);
	}
}

struct live {
	struct mirror_proxy p;
	uint16_t proxy_port, http_port, tls_port, closed_port;
	int proxy_fd, http_fd, tls_fd, life_w, log_r;
	pid_t proxy, http, tls;
};

static void live_start(struct live *l, int head_timeout_ms)
{
	struct alts_err err = ALTS_ERR_INIT;
	char url[64];
	int life[2], log[2];

	assert_ok_err(mirror_proxy_init(&l->p, &err), &err);
	l->p.head_timeout_ms = head_timeout_ms;
	l->http_fd = listen_loopback(&l->http_port);
	l->tls_fd = listen_loopback(&l->tls_port);
	{
		int c = listen_loopback(&l->closed_port);

		close(c);  /* a port where nothing listens */
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", l->http_port);
	assert_int_equal(mirror_proxy_allow_url(&l->p, url, strlen(url), &err), 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", l->tls_port);
	assert_int_equal(mirror_proxy_allow_url(&l->p, url, strlen(url), &err), 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", l->closed_port);
	assert_int_equal(mirror_proxy_allow_url(&l->p, url, strlen(url), &err), 1);
	mirror_proxy_resolve(&l->p);
	assert_int_equal(l->p.targets[0].naddrs, 1);
	l->proxy_fd = listen_loopback(&l->proxy_port);
	fcntl(l->proxy_fd, F_SETFL, O_NONBLOCK);
	l->http = start_upstream(l->http_fd);
	l->tls = start_upstream(l->tls_fd);
	assert_int_equal(pipe(life), 0);
	assert_int_equal(pipe(log), 0);
	fcntl(log[1], F_SETFL, O_NONBLOCK);
	l->proxy = fork();
	if (l->proxy == 0) {
		close(life[1]);
		close(log[0]);
		mirror_proxy_serve(&l->p, l->proxy_fd, life[0], log[1]);
		_exit(0);
	}
	close(life[0]);
	close(log[1]);
	l->life_w = life[1];
	l->log_r = log[0];
}

static void live_stop(struct live *l)
{
	int status;

	close(l->life_w);  /* the proxy ends by itself when its life pipe hangs up */
	assert_int_equal(waitpid(l->proxy, &status, 0), l->proxy);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	kill(l->http, SIGKILL);
	kill(l->tls, SIGKILL);
	waitpid(l->http, &status, 0);
	waitpid(l->tls, &status, 0);
	close(l->proxy_fd);
	close(l->http_fd);
	close(l->tls_fd);
	close(l->log_r);
	mirror_proxy_release(&l->p);
}

/* Sends head through the proxy and returns the whole answer in buf. */
static const char *ask(const struct live *l, const char *head, char *buf, size_t size)
{
	int fd = dial(l->proxy_port);

	send_all(fd, head, strlen(head));
	recv_all(fd, buf, size);
	close(fd);
	return buf;
}

static void test_mirror_proxy__serves_only_the_allow_list(void **state)
{
	static struct live l;
	char head[512], buf[16384];

	ALTS_UNUSED(state);
	live_start(&l, 15000);
	/* An allowed GET: origin-form upstream, Host from the URL, hop-by-hop headers gone, one request. */
	snprintf(head, sizeof(head),
		 "GET http://127.0.0.1:%u/debian/InRelease HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: x\r\n"
		 "Connection: keep-alive\r\nUser-Agent: Debian APT-HTTP/1.3\r\n\r\n",
		 l.http_port);
	ask(&l, head, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
	assert_non_null(strstr(buf, "GET /debian/InRelease HTTP/1.1\r\n"));
	snprintf(head, sizeof(head), "Host: 127.0.0.1:%u\r\n", l.http_port);
	assert_non_null(strstr(buf, head));
	assert_non_null(strstr(buf, "User-Agent: Debian APT-HTTP/1.3\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_null(strstr(buf, "evil.example"));
	assert_null(strstr(buf, "Proxy-Authorization"));
	assert_null(strstr(buf, "keep-alive"));

	/* The proxy's own port, a port of the host that is not listed, a name not listed: 403. */
	snprintf(head, sizeof(head), "GET http://127.0.0.1:%u/ HTTP/1.1\r\n\r\n", l.proxy_port);
	assert_non_null(strstr(ask(&l, head, buf, sizeof(buf)), "HTTP/1.1 403 "));
	assert_non_null(strstr(ask(&l, "GET http://example.org/ HTTP/1.1\r\n\r\n", buf, sizeof(buf)), "HTTP/1.1 403 "));
	assert_non_null(strstr(ask(&l, "GET http://localhost:22/ HTTP/1.1\r\n\r\n", buf, sizeof(buf)), "HTTP/1.1 403 "));
	/* CONNECT to the http target's port (allowed for GET only), to ssh: 403. */
	snprintf(head, sizeof(head), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", l.http_port);
	assert_non_null(strstr(ask(&l, head, buf, sizeof(buf)), "HTTP/1.1 403 "));
	assert_non_null(strstr(ask(&l, "CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n", buf, sizeof(buf)), "HTTP/1.1 403 "));
	assert_non_null(strstr(ask(&l, "CONNECT [::1]:443 HTTP/1.1\r\n\r\n", buf, sizeof(buf)), "HTTP/1.1 403 "));
	/* An allowed CONNECT tunnels bytes both ways, those sent with the head included. */
	snprintf(head, sizeof(head), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\nPING through\r\n\r\n", l.tls_port);
	ask(&l, head, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK"));
	assert_non_null(strstr(buf, "PING through"));
	/* An allowed target where nothing listens: 502. */
	snprintf(head, sizeof(head), "GET http://127.0.0.1:%u/ HTTP/1.1\r\n\r\n", l.closed_port);
	assert_non_null(strstr(ask(&l, head, buf, sizeof(buf)), "HTTP/1.1 502 "));
	/* Garbage and a head over 8 KiB. */
	assert_non_null(strstr(ask(&l, "\x16\x03\x01\x02\xff\x01\xfc\x03\x03 junk\r\n\r\n", buf, sizeof(buf)),
			       "HTTP/1.1 400 "));
	{
		struct sbuf big = SBUF_INIT;

		sbuf_adds(&big, "GET http://example.org/ HTTP/1.1\r\n");
		for (int i = 0; i < 400; i++)
			sbuf_adds(&big, "X-Padding: aaaaaaaaaaaaaaaaaaaa\r\n");
		sbuf_adds(&big, "\r\n");
		assert_non_null(strstr(ask(&l, big.buf, buf, sizeof(buf)), "HTTP/1.1 431 "));
		sbuf_release(&big);
	}
	/* Each refusal is a log line. */
	{
		char log[8192];
		ssize_t n = read(l.log_r, log, sizeof(log) - 1);

		assert_true(n > 0);
		log[n] = '\0';
		assert_non_null(strstr(log, "refused GET example.org:80: not an allowed http repository host and port\n"));
		assert_non_null(strstr(log, "refused CONNECT 127.0.0.1:22: "));
		assert_non_null(strstr(log, "error: request head over 8 KiB\n"));
	}
	live_stop(&l);
}

static void test_mirror_proxy__bounded_in_time_and_connections(void **state)
{
	static struct live l;
	int fds[MIRROR_PROXY_MAX_CONNS + 8];
	char buf[4096], head[256];
	double t0;
	size_t busy = 0;

	ALTS_UNUSED(state);
	live_start(&l, 400);
	/* Slowloris: a head that trickles in is cut at its deadline with 408, trickle or not. */
	{
		int fd = dial(l.proxy_port);
		size_t len = 0;

		t0 = proc_now();
		for (int i = 0; i < 20; i++) {
			send_all(fd, "X", 1);
			usleep(50 * 1000);
		}
		len = recv_all(fd, buf, sizeof(buf));
		assert_true(len > 0);
		assert_non_null(strstr(buf, "HTTP/1.1 408 "));
		assert_true(proc_now() - t0 < 3.0);
		close(fd);
	}
	/* More connections than slots: the extra ones get 503 at once; the slots free up when they time out. */
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(fds); i++)
		fds[i] = dial(l.proxy_port);
	for (size_t i = MIRROR_PROXY_MAX_CONNS; i < ALTS_ARRAY_SIZE(fds); i++) {
		recv_all(fds[i], buf, sizeof(buf));
		busy += strstr(buf, "HTTP/1.1 503 ") != NULL;
	}
	assert_int_equal(busy, ALTS_ARRAY_SIZE(fds) - MIRROR_PROXY_MAX_CONNS);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(fds); i++)
		close(fds[i]);
	usleep(600 * 1000);
	snprintf(head, sizeof(head), "GET http://127.0.0.1:%u/after HTTP/1.1\r\n\r\n", l.http_port);
	assert_non_null(strstr(ask(&l, head, buf, sizeof(buf)), "GET /after HTTP/1.1"));
	live_stop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirror_proxy__parse_table),
		cmocka_unit_test(test_mirror_proxy__allow_list_from_sources),
		cmocka_unit_test(test_mirror_proxy__serves_only_the_allow_list),
		cmocka_unit_test(test_mirror_proxy__bounded_in_time_and_connections),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
