#ifndef ALTS_MIRROR_PROXY_H
#define ALTS_MIRROR_PROXY_H

#include "framework/err.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The HTTP proxy of a sandbox with `network: private` (runners/sandbox_net.c
 * starts it): apt and dnf inside reach the allowed repositories through it,
 * and nothing else. It serves two kinds of request, for hosts and ports on
 * its allow-list only:
 *   GET/HEAD http://host[:port]/path HTTP/1.x   to the targets of http:// URLs
 *   CONNECT host:port HTTP/1.x                  to the targets of https:// URLs
 * Everything else gets an error status (400, 403, 405, 431, 502, 503, 504)
 * with the reason, and a line in the log. Names were resolved on the host
 * when the list was made (mirror_proxy_resolve): what the sandbox sends is
 * never resolved, so an IP literal, a host's own port or a name that would
 * resolve to 127.0.0.1 later are refused unless written in the list.
 *
 * Bounded: MIRROR_PROXY_MAX_CONNS connections at a time (more are answered
 * 503 and closed), a request head of at most MIRROR_PROXY_HEAD_MAX bytes
 * that must arrive within head_timeout_ms, upstream connects and idle
 * connections timed out. A GET is one request per connection (the upstream
 * gets "Connection: close" and Host set from the URL); request bodies are
 * refused. All memory is allocated by mirror_proxy_init, before the fork:
 * mirror_proxy_serve allocates nothing and makes only system calls.
 */

#define MIRROR_PROXY_MAX_TARGETS 32
#define MIRROR_PROXY_MAX_ADDRS 8
#define MIRROR_PROXY_HOST_MAX 256
#define MIRROR_PROXY_MAX_CONNS 32
#define MIRROR_PROXY_HEAD_MAX 8192
#define MIRROR_PROXY_BUF 16384

struct mirror_proxy_target {
	char host[MIRROR_PROXY_HOST_MAX];  /* lowercase, as in the URL (IPv6 without brackets) */
	uint16_t port;
	bool tls;                          /* from an https:// URL: reached with CONNECT; else with GET/HEAD */
	size_t naddrs;
	struct sockaddr_storage addrs[MIRROR_PROXY_MAX_ADDRS];
	socklen_t addr_lens[MIRROR_PROXY_MAX_ADDRS];
};

struct mirror_proxy_conn;

struct mirror_proxy {
	struct mirror_proxy_target targets[MIRROR_PROXY_MAX_TARGETS];
	size_t ntargets;
	int head_timeout_ms;     /* the request head must be in by then (slowloris) */
	int connect_timeout_ms;  /* per upstream address */
	int idle_timeout_ms;     /* a relay with no byte either way is closed */
	struct mirror_proxy_conn *conns;  /* MIRROR_PROXY_MAX_CONNS, from mirror_proxy_init */
	size_t log_bytes;        /* written to the log so far (capped) */
};

/* A parsed request head. Strings point into the head given to mirror_proxy_parse_head. */
struct mirror_proxy_request {
	enum { MIRROR_GET, MIRROR_HEAD, MIRROR_CONNECT } method;
	char host[MIRROR_PROXY_HOST_MAX];  /* lowercase */
	uint16_t port;
	const char *path;        /* GET/HEAD: origin-form path ("/" when the URL has none) */
	size_t path_len;
	const char *headers;     /* the header lines after the request line, each ending in CRLF */
	size_t headers_len;
	int minor;               /* HTTP/1.<minor> */
};

/* Zeroes p, sets the default timeouts and allocates the connection table. */
int mirror_proxy_init(struct mirror_proxy *p, struct alts_err *err);
void mirror_proxy_release(struct mirror_proxy *p);

/*
 * Adds the target of an http:// or https:// URL (default ports 80 and 443)
 * found in text (a URL, an apt line, a .repo line). Returns 1 when one was
 * added, 0 when text names no usable URL (no scheme, a '$' variable in the
 * host) or the target is already there, ALTS_EINVALID when the list is full.
 */
int mirror_proxy_allow_url(struct mirror_proxy *p, const char *text, size_t len, struct alts_err *err);

/* Resolves every target's name on the host (getaddrinfo). A name that does not resolve keeps no address (502). */
void mirror_proxy_resolve(struct mirror_proxy *p);

/*
 * Parses a complete request head (the request line and header lines, each
 * ending in CRLF, then an empty line; len counts up to and including it).
 * Returns 0, or the HTTP status to refuse with and *why a reason.
 */
int mirror_proxy_parse_head(struct mirror_proxy_request *out, const char *head, size_t len, const char **why);

/* The target a request may reach, or NULL. */
const struct mirror_proxy_target *mirror_proxy_match(const struct mirror_proxy *p,
						     const struct mirror_proxy_request *req);

/*
 * Serves connections accepted on listen_fd until life_fd (a pipe's read end)
 * hangs up; log_fd (non-blocking, or -1) gets a line per refusal and error.
 * Async-signal-safe: for a forked child that dropped its privileges.
 */
void mirror_proxy_serve(struct mirror_proxy *p, int listen_fd, int life_fd, int log_fd);

#endif
