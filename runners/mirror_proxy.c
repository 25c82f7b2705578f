/*
 * The allow-list HTTP proxy of `network: private` (see mirror_proxy.h).
 * The parent builds the list and resolves it; the serving half below runs
 * in a forked child with no privileges and allocates nothing.
 */
#include "framework/common.h"
#include "runners/mirror_proxy.h"
#include "framework/log.h"

#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

enum conn_state {
	CONN_FREE,
	CONN_HEAD,        /* reading the request head from the client */
	CONN_CONNECTING,  /* non-blocking connect to the target's current address */
	CONN_RELAY,       /* bytes both ways (CONNECT) or the response back (GET) */
	CONN_REPLY,       /* sending an error status, then closing */
};

struct mirror_proxy_conn {
	enum conn_state state;
	int client, upstream;
	bool tunnel;                  /* CONNECT: relay both ways */
	bool client_eof, upstream_eof;
	int64_t deadline;             /* ms on the monotonic clock */
	const struct mirror_proxy_target *target;
	size_t addr;                  /* the address being tried */
	struct mirror_proxy_request req;
	char line[320];               /* "GET host:port" for the log */
	char head[MIRROR_PROXY_HEAD_MAX];
	size_t head_len;
	char up[MIRROR_PROXY_BUF];    /* to the upstream */
	size_t up_len, up_off;
	char down[MIRROR_PROXY_BUF];  /* to the client */
	size_t down_len, down_off;
};

int mirror_proxy_init(struct mirror_proxy *p, struct alts_err *err)
{
	memset(p, 0, sizeof(*p));
	p->head_timeout_ms = 15000;
	p->connect_timeout_ms = 15000;
	p->idle_timeout_ms = 120000;
	p->conns = alts_calloc(MIRROR_PROXY_MAX_CONNS, sizeof(*p->conns));
	if (!p->conns)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

void mirror_proxy_release(struct mirror_proxy *p)
{
	free(p->conns);
	p->conns = NULL;
}

/* --- text --- */

static bool is_name_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static bool is_v6_char(int c)
{
	return isxdigit(c) || c == ':' || c == '.';
}

/*
 * host[:port] or [v6][:port] of exactly n bytes into host (lowercase) and
 * *port; def is the port when none is written (0: one is required).
 */
static int parse_authority(const char *s, size_t n, char *host, uint16_t *port, uint16_t def)
{
	size_t hlen = 0, i = 0;
	unsigned long v = 0;

	if (n && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++) {
			if (!is_v6_char((unsigned char)s[i]) || hlen + 1 >= MIRROR_PROXY_HOST_MAX)
				return -1;
			host[hlen++] = (char)tolower((unsigned char)s[i]);
		}
		if (i == n || hlen < 2)
			return -1;
		i++;
	} else {
		for (; i < n && s[i] != ':'; i++) {
			if (!is_name_char((unsigned char)s[i]) || hlen + 1 >= MIRROR_PROXY_HOST_MAX || hlen == 253)
				return -1;
			host[hlen++] = (char)tolower((unsigned char)s[i]);
		}
		if (!hlen)
			return -1;
	}
	host[hlen] = '\0';
	if (i == n) {
		*port = def;
		return def ? 0 : -1;
	}
	if (s[i] != ':' || n - i - 1 < 1 || n - i - 1 > 5)
		return -1;
	for (i++; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static bool prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && !strncasecmp(s, prefix, k);
}

int mirror_proxy_allow_url(struct mirror_proxy *p, const char *text, size_t len, struct alts_err *err)
{
	struct mirror_proxy_target t;
	const char *s = NULL, *end = text + len, *auth, *at;
	size_t alen;

	for (const char *c = text; c < end; c++) {
		if (prefix_ci(c, (size_t)(end - c), "http://") || prefix_ci(c, (size_t)(end - c), "https://")) {
			s = c;
			break;
		}
	}
	if (!s)
		return 0;
	memset(&t, 0, sizeof(t));
	t.tls = prefix_ci(s, (size_t)(end - s), "https://");
	auth = s + (t.tls ? 8 : 7);
	alen = 0;
	while (auth + alen < end && !strchr("/ \t\r\n?#\"'", auth[alen]))
		alen++;
	at = memrchr(auth, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (memchr(auth, '$', alen) || parse_authority(auth, alen, t.host, &t.port, t.tls ? 443 : 80) < 0)
		return 0;
	for (size_t i = 0; i < p->ntargets; i++) {
		if (!strcmp(p->targets[i].host, t.host) && p->targets[i].port == t.port && p->targets[i].tls == t.tls)
			return 0;
	}
	if (p->ntargets == MIRROR_PROXY_MAX_TARGETS)
		return alts_err_set(err, ALTS_EINVALID, "too many repository hosts for the proxy (at most %d)",
				    MIRROR_PROXY_MAX_TARGETS);
	p->targets[p->ntargets++] = t;
	return 1;
}

void mirror_proxy_resolve(struct mirror_proxy *p)
{
	for (size_t i = 0; i < p->ntargets; i++) {
		struct mirror_proxy_target *t = &p->targets[i];
		struct addrinfo hints, *res = NULL;
		char port[8];
		int rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		snprintf(port, sizeof(port), "%u", (unsigned)t->port);
		t->naddrs = 0;
		rc = getaddrinfo(t->host, port, &hints, &res);
		if (rc) {
			alts_log(ALTS_LOG_WARN, "proxy", "cannot resolve repository host '%s': %s", t->host,
				 gai_strerror(rc));
			continue;
		}
		for (struct addrinfo *a = res; a && t->naddrs < MIRROR_PROXY_MAX_ADDRS; a = a->ai_next) {
			if (a->ai_addrlen > sizeof(t->addrs[0]))
				continue;
			memcpy(&t->addrs[t->naddrs], a->ai_addr, a->ai_addrlen);
			t->addr_lens[t->naddrs++] = a->ai_addrlen;
		}
		freeaddrinfo(res);
	}
}

static int parse_headers(struct mirror_proxy_request *out, const char *s, size_t n, const char **why)
{
	const char *end = s + n;

	out->headers = s;
	out->headers_len = n;
	while (s < end) {
		const char *eol = memchr(s, '\r', (size_t)(end - s));
		size_t name_len = 0;

		if (!eol || eol + 1 >= end || eol[1] != '\n')
			return *why = "malformed header line", 400;
		if (*s == ' ' || *s == '\t')
			return *why = "folded header lines are refused", 400;
		while (s + name_len < eol && s[name_len] != ':') {
			unsigned char c = (unsigned char)s[name_len];

			if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
				return *why = "malformed header name", 400;
			name_len++;
		}
		if (!name_len || s + name_len == eol)
			return *why = "malformed header line", 400;
		for (const char *v = s + name_len + 1; v < eol; v++) {
			if ((unsigned char)*v < 0x20 && *v != '\t')
				return *why = "control character in a header", 400;
			if (*v == 0x7f)
				return *why = "control character in a header", 400;
		}
		if (name_len == 17 && !strncasecmp(s, "transfer-encoding", 17))
			return *why = "request bodies are refused", 400;
		if (name_len == 14 && !strncasecmp(s, "content-length", 14)) {
			const char *v = s + 15;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (eol - v != 1 || *v != '0')
				return *why = "request bodies are refused", 400;
		}
		s = eol + 2;
	}
	return 0;
}

int mirror_proxy_parse_head(struct mirror_proxy_request *out, const char *head, size_t len, const char **why)
{
	const char *eol, *sp1, *sp2, *target;
	size_t tlen, mlen;

	memset(out, 0, sizeof(*out));
	*why = "";
	if (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4))
		return *why = "incomplete request head", 400;
	for (size_t i = 0; i < len; i++) {
		if (head[i] == '\0')
			return *why = "NUL byte in the request", 400;
		if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r'))
			return *why = "bare LF in the request", 400;
	}
	eol = memmem(head, len, "\r\n", 2);
	sp1 = memchr(head, ' ', (size_t)(eol - head));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)))
		return *why = "malformed request line", 400;
	mlen = (size_t)(sp1 - head);
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
		return *why = "not HTTP/1.0 or HTTP/1.1", 400;
	out->minor = sp2[8] - '0';
	if (mlen == 3 && !memcmp(head, "GET", 3))
		out->method = MIRROR_GET;
	else if (mlen == 4 && !memcmp(head, "HEAD", 4))
		out->method = MIRROR_HEAD;
	else if (mlen == 7 && !memcmp(head, "CONNECT", 7))
		out->method = MIRROR_CONNECT;
	else
		return *why = "only GET, HEAD and CONNECT are served", 405;
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	for (size_t i = 0; i < tlen; i++) {
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return *why = "malformed request target", 400;
	}
	if (out->method == MIRROR_CONNECT) {
		if (memchr(target, '@', tlen) || parse_authority(target, tlen, out->host, &out->port, 0) < 0)
			return *why = "CONNECT needs host:port", 400;
	} else {
		size_t alen = 0;
		const char *auth;

		if (!prefix_ci(target, tlen, "http://"))
			return *why = "GET and HEAD need an absolute http:// URL (https goes through CONNECT)", 400;
		auth = target + 7;
		tlen -= 7;
		while (alen < tlen && auth[alen] != '/' && auth[alen] != '?')
			alen++;
		if (memchr(auth, '@', alen) || parse_authority(auth, alen, out->host, &out->port, 80) < 0)
			return *why = "malformed host in the URL", 400;
		out->path = auth + alen;
		out->path_len = tlen - alen;
		if (out->path_len && out->path[0] != '/')
			return *why = "malformed request target", 400;
		if (!out->path_len) {
			out->path = "/";
			out->path_len = 1;
		}
	}
	return parse_headers(out, eol + 2, (size_t)(head + len - 2 - (eol + 2)), why);
}

const struct mirror_proxy_target *mirror_proxy_match(const struct mirror_proxy *p,
						     const struct mirror_proxy_request *req)
{
	bool tls = req->method == MIRROR_CONNECT;

	for (size_t i = 0; i < p->ntargets; i++) {
		const struct mirror_proxy_target *t = &p->targets[i];

		if (t->tls == tls && t->port == req->port && !strcmp(t->host, req->host))
			return t;
	}
	return NULL;
}

/* --- serving (async-signal-safe from here on: no allocation, no stdio) --- */

/* Appends a string or a number to buf[*len..size), truncating. */
static void put_str(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	while (n-- && *len + 1 < size)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void put_cstr(char *buf, size_t size, size_t *len, const char *s)
{
	put_str(buf, size, len, s, strlen(s));
}

static void put_num(char *buf, size_t size, size_t *len, unsigned long v)
{
	char digits[24];
	size_t n = 0;

	do
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	put_str(buf, size, len, digits + sizeof(digits) - n, n);
}

#define MIRROR_PROXY_LOG_MAX (64 * 1024)

static void proxy_log(struct mirror_proxy *p, int log_fd, const char *what, const char *line, const char *why)
{
	char buf[512];
	size_t len = 0;

	if (log_fd < 0 || p->log_bytes >= MIRROR_PROXY_LOG_MAX)
		return;
	put_cstr(buf, sizeof(buf), &len, what);
	if (line[0]) {
		put_cstr(buf, sizeof(buf), &len, " ");
		put_cstr(buf, sizeof(buf), &len, line);
	}
	put_cstr(buf, sizeof(buf), &len, ": ");
	put_cstr(buf, sizeof(buf), &len, why);
	if (len + 1 < sizeof(buf))
		buf[len++] = '\n';
	else
		buf[len - 1] = '\n';
	if (write(log_fd, buf, len) > 0)
		p->log_bytes += len;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(struct mirror_proxy_conn *c)
{
	if (c->client >= 0)
		close(c->client);
	if (c->upstream >= 0)
		close(c->upstream);
	c->client = c->upstream = -1;
	c->state = CONN_FREE;
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Gateway Timeout";
	}
}

/* Replaces whatever was to go to the client with an error status, then the connection closes. */
static void conn_refuse(struct mirror_proxy *p, struct mirror_proxy_conn *c, int log_fd, int status, const char *why)
{
	char body[320];
	size_t blen = 0, len = 0;

	put_cstr(body, sizeof(body), &blen, "alts sandbox proxy (network: private): ");
	put_cstr(body, sizeof(body), &blen, why);
	put_cstr(body, sizeof(body), &blen, "\n");
	put_cstr(c->down, sizeof(c->down), &len, "HTTP/1.1 ");
	put_num(c->down, sizeof(c->down), &len, (unsigned long)status);
	put_cstr(c->down, sizeof(c->down), &len, " ");
	/* apt shows the reason phrase: it says why */
	put_cstr(c->down, sizeof(c->down), &len, status == 403 ? why : status_text(status));
	put_cstr(c->down, sizeof(c->down), &len, "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ");
	put_num(c->down, sizeof(c->down), &len, blen);
	put_cstr(c->down, sizeof(c->down), &len, "\r\n\r\n");
	put_str(c->down, sizeof(c->down), &len, body, blen);
	c->down_len = len;
	c->down_off = 0;
	if (c->upstream >= 0)
		close(c->upstream);
	c->upstream = -1;
	c->state = CONN_REPLY;
	c->deadline = now_ms() + p->head_timeout_ms;
	proxy_log(p, log_fd, status == 403 ? "refused" : "error", c->line, why);
}

static bool hop_by_hop(const char *name, size_t n)
{
	static const char *const names[] = {
		"host", "connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
		"te", "trailer", "upgrade",
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) == n && !strncasecmp(name, names[i], n))
			return true;
	}
	return false;
}

/* The request the upstream gets: origin-form, Host from the URL, hop-by-hop headers dropped, one request only. */
static void build_upstream_head(struct mirror_proxy_conn *c)
{
	const struct mirror_proxy_request *r = &c->req;
	size_t len = 0, size = sizeof(c->up);
	const char *s = r->headers, *end = r->headers + r->headers_len;
	bool v6 = strchr(r->host, ':') != NULL;

	put_cstr(c->up, size, &len, r->method == MIRROR_HEAD ? "HEAD " : "GET ");
	put_str(c->up, size, &len, r->path, r->path_len);
	put_cstr(c->up, size, &len, " HTTP/1.1\r\nHost: ");
	put_cstr(c->up, size, &len, v6 ? "[" : "");
	put_cstr(c->up, size, &len, r->host);
	put_cstr(c->up, size, &len, v6 ? "]" : "");
	if (r->port != 80) {
		put_cstr(c->up, size, &len, ":");
		put_num(c->up, size, &len, r->port);
	}
	put_cstr(c->up, size, &len, "\r\n");
	while (s < end) {
		const char *eol = memchr(s, '\r', (size_t)(end - s));
		const char *colon = memchr(s, ':', (size_t)(eol - s));

		if (!hop_by_hop(s, (size_t)(colon - s)))
			put_str(c->up, size, &len, s, (size_t)(eol + 2 - s));
		s = eol + 2;
	}
	put_cstr(c->up, size, &len, "Connection: close\r\n\r\n");
	c->up_len = len;
	c->up_off = 0;
}

/* Starts a non-blocking connect to the next address of the target; false when none is left. */
static bool conn_connect_next(struct mirror_proxy *p, struct mirror_proxy_conn *c)
{
	while (c->addr < c->target->naddrs) {
		const struct sockaddr_storage *a = &c->target->addrs[c->addr];
		int fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd >= 0 && (connect(fd, (const struct sockaddr *)a, c->target->addr_lens[c->addr]) == 0 ||
				errno == EINPROGRESS)) {
			c->upstream = fd;
			c->state = CONN_CONNECTING;
			c->deadline = now_ms() + p->connect_timeout_ms;
			return true;
		}
		if (fd >= 0)
			close(fd);
		c->addr++;
	}
	return false;
}

static void conn_head_done(struct mirror_proxy *p, struct mirror_proxy_conn *c, int log_fd, size_t head_len)
{
	static const char *const methods[] = { "GET", "HEAD", "CONNECT" };
	const char *why;
	size_t len = 0;
	int status;

	status = mirror_proxy_parse_head(&c->req, c->head, head_len, &why);
	if (!status) {
		put_cstr(c->line, sizeof(c->line), &len, methods[c->req.method]);
		put_cstr(c->line, sizeof(c->line), &len, " ");
		put_cstr(c->line, sizeof(c->line), &len, c->req.host);
		put_cstr(c->line, sizeof(c->line), &len, ":");
		put_num(c->line, sizeof(c->line), &len, c->req.port);
	}
	if (status) {
		conn_refuse(p, c, log_fd, status, why);
		return;
	}
	c->target = mirror_proxy_match(p, &c->req);
	if (!c->target) {
		conn_refuse(p, c, log_fd, 403, c->req.method == MIRROR_CONNECT
							? "not an allowed https repository host and port"
							: "not an allowed http repository host and port");
		return;
	}
	c->tunnel = c->req.method == MIRROR_CONNECT;
	if (c->tunnel) {
		/* what the client sent after the head goes to the upstream once connected */
		c->up_len = c->head_len - head_len;
		memcpy(c->up, c->head + head_len, c->up_len);
		c->up_off = 0;
	} else {
		build_upstream_head(c);
	}
	c->addr = 0;
	if (!conn_connect_next(p, c))
		conn_refuse(p, c, log_fd, 502, "the repository host has no address that accepts connections");
}

static void conn_read_head(struct mirror_proxy *p, struct mirror_proxy_conn *c, int log_fd)
{
	ssize_t n = recv(c->client, c->head + c->head_len, sizeof(c->head) - 1 - c->head_len, 0);
	const char *end;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	c->head_len += (size_t)n;
	c->head[c->head_len] = '\0';
	end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
	if (end) {
		conn_head_done(p, c, log_fd, (size_t)(end + 4 - c->head));
		if (c->state == CONN_HEAD)
			conn_close(c);
	} else if (c->head_len == sizeof(c->head) - 1) {
		conn_refuse(p, c, log_fd, 431, "request head over 8 KiB");
	}
}

static void conn_connected(struct mirror_proxy *p, struct mirror_proxy_conn *c, int log_fd)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	if (getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e) {
		close(c->upstream);
		c->upstream = -1;
		c->addr++;
		if (!conn_connect_next(p, c))
			conn_refuse(p, c, log_fd, 502, "cannot connect to the repository host");
		return;
	}
	c->state = CONN_RELAY;
	c->deadline = now_ms() + p->idle_timeout_ms;
	if (c->tunnel) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

		memcpy(c->down, ok, sizeof(ok) - 1);
		c->down_len = sizeof(ok) - 1;
		c->down_off = 0;
	}
}

/* Moves bytes between the two sockets as poll said; false when the connection is over. */
static bool conn_relay(struct mirror_proxy *p, struct mirror_proxy_conn *c, short cev, short uev)
{
	bool moved = false;
	ssize_t n;

	/* Hung up both ways or reset: nothing more can reach the client (and its POLLHUP would spin the loop). */
	if (cev & (POLLHUP | POLLERR))
		return false;
	if ((cev & POLLOUT) && c->down_off < c->down_len) {
		n = send(c->client, c->down + c->down_off, c->down_len - c->down_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			c->down_off += (size_t)n;
			moved = true;
		}
		if (c->down_off == c->down_len)
			c->down_off = c->down_len = 0;
	}
	if (c->state == CONN_REPLY)
		return c->down_len != 0;
	if ((uev & POLLOUT) && c->up_off < c->up_len) {
		n = send(c->upstream, c->up + c->up_off, c->up_len - c->up_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			c->up_off += (size_t)n;
			moved = true;
		}
		if (c->up_off == c->up_len) {
			c->up_off = c->up_len = 0;
			if (c->client_eof)
				shutdown(c->upstream, SHUT_WR);
		}
	}
	if ((uev & (POLLIN | POLLHUP | POLLERR)) && !c->down_len && !c->upstream_eof) {
		n = recv(c->upstream, c->down, sizeof(c->down), MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n == 0)
			c->upstream_eof = true;
		if (n > 0) {
			c->down_len = (size_t)n;
			moved = true;
		}
	}
	if (c->tunnel && (cev & (POLLIN | POLLHUP | POLLERR)) && !c->up_len && !c->client_eof) {
		n = recv(c->client, c->up, sizeof(c->up), MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n == 0) {
			c->client_eof = true;
			shutdown(c->upstream, SHUT_WR);
		}
		if (n > 0) {
			c->up_len = (size_t)n;
			moved = true;
		}
	}
	if (c->upstream_eof && !c->down_len)
		return false;
	if (moved)
		c->deadline = now_ms() + p->idle_timeout_ms;
	return true;
}

static void accept_one(struct mirror_proxy *p, int listen_fd, int log_fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (size_t i = 0; i < MIRROR_PROXY_MAX_CONNS; i++) {
		struct mirror_proxy_conn *c = &p->conns[i];

		if (c->state == CONN_FREE) {
			c->state = CONN_HEAD;
			c->client = fd;
			c->upstream = -1;
			c->tunnel = c->client_eof = c->upstream_eof = false;
			c->head_len = c->up_len = c->up_off = c->down_len = c->down_off = 0;
			c->line[0] = '\0';
			c->target = NULL;
			c->deadline = now_ms() + p->head_timeout_ms;
			return;
		}
	}
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* it is closed just below either way */
	}
	close(fd);
	proxy_log(p, log_fd, "error", "", "too many connections: one refused");
}

static void conn_timeout(struct mirror_proxy *p, struct mirror_proxy_conn *c, int log_fd)
{
	switch (c->state) {
	case CONN_HEAD:
		conn_refuse(p, c, log_fd, 408, "the request head did not arrive in time");
		break;
	case CONN_CONNECTING:
		close(c->upstream);
		c->upstream = -1;
		c->addr++;
		if (!conn_connect_next(p, c))
			conn_refuse(p, c, log_fd, 504, "connecting to the repository host timed out");
		break;
	default:
		conn_close(c);
		break;
	}
}

void mirror_proxy_serve(struct mirror_proxy *p, int listen_fd, int life_fd, int log_fd)
{
	struct pollfd pfds[2 + 2 * MIRROR_PROXY_MAX_CONNS];

	for (size_t i = 0; i < MIRROR_PROXY_MAX_CONNS; i++) {
		p->conns[i].state = CONN_FREE;
		p->conns[i].client = p->conns[i].upstream = -1;
	}
	for (;;) {
		int64_t now = now_ms(), next = now + 1000;
		size_t n = 2;
		int timeout;

		pfds[0] = (struct pollfd){ life_fd, POLLIN, 0 };
		pfds[1] = (struct pollfd){ listen_fd, POLLIN, 0 };
		for (size_t i = 0; i < MIRROR_PROXY_MAX_CONNS; i++) {
			struct mirror_proxy_conn *c = &p->conns[i];
			short cev = 0, uev = 0;

			if (c->state == CONN_FREE)
				continue;
			if (c->deadline < next)
				next = c->deadline;
			if (c->state == CONN_HEAD)
				cev = POLLIN;
			if (c->down_off < c->down_len)
				cev |= POLLOUT;
			if (c->state == CONN_CONNECTING)
				uev = POLLOUT;
			if (c->state == CONN_RELAY) {
				if (c->tunnel && !c->up_len && !c->client_eof)
					cev |= POLLIN;
				if (!c->down_len && !c->upstream_eof)
					uev |= POLLIN;
				if (c->up_off < c->up_len)
					uev |= POLLOUT;
			}
			pfds[n++] = (struct pollfd){ c->client, cev, 0 };
			/* an upstream that said EOF is done with: its POLLHUP is not polled again */
			pfds[n++] = (struct pollfd){ c->state == CONN_REPLY || c->upstream_eof ? -1 : c->upstream, uev, 0 };
		}
		timeout = next > now ? (int)(next - now) : 0;
		if (poll(pfds, n, timeout) < 0 && errno != EINTR)
			return;
		if (pfds[0].revents)
			return;  /* the sandbox is gone */
		now = now_ms();
		n = 2;
		for (size_t i = 0; i < MIRROR_PROXY_MAX_CONNS; i++) {
			struct mirror_proxy_conn *c = &p->conns[i];
			short cev, uev;

			if (c->state == CONN_FREE)
				continue;
			cev = pfds[n++].revents;
			uev = pfds[n++].revents;
			/* A trickle of bytes does not hold a head, a connect or an error reply open past its deadline. */
			if (c->deadline <= now && (c->state != CONN_RELAY || (!cev && !uev)))
				conn_timeout(p, c, log_fd);
			else if (c->state == CONN_HEAD && (cev & (POLLIN | POLLHUP | POLLERR)))
				conn_read_head(p, c, log_fd);
			else if (c->state == CONN_CONNECTING && uev)
				conn_connected(p, c, log_fd);
			else if ((c->state == CONN_RELAY || c->state == CONN_REPLY) && (cev || uev) &&
				 !conn_relay(p, c, cev, uev))
				conn_close(c);
		}
		if (pfds[1].revents & POLLIN)
			accept_one(p, listen_fd, log_fd);
	}
}
