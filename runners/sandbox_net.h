#ifndef ALTS_SANDBOX_NET_H
#define ALTS_SANDBOX_NET_H

#include "framework/err.h"
#include "framework/sbuf.h"

#include <stdint.h>
#include <sys/types.h>

struct suite;
struct mirror_proxy;

/*
 * The sandbox's network (environment.network):
 *   none     a new network namespace with only lo
 *   host     the host's network namespace
 *   private  a new network namespace with only lo, and an HTTP proxy on
 *            127.0.0.1:<port> inside it that reaches the repositories of
 *            the suite and of the image's own apt/dnf sources, nothing else
 *            (runners/mirror_proxy.h); apt and dnf are configured to use it.
 * Unset: private when the suite names a network repository, none otherwise.
 */
enum sandbox_net_mode { SANDBOX_NET_NONE, SANDBOX_NET_HOST, SANDBOX_NET_PRIVATE };

struct sandbox_net {
	pid_t proxy;              /* the proxy process; -1: none */
	int life_fd;              /* closing it ends the proxy */
	int log_fd;               /* the proxy's log lines (read end, non-blocking) */
	uint16_t port;            /* the proxy's port on the sandbox's 127.0.0.1 */
	struct mirror_proxy *mp;  /* the allow-list and connection table, owned; kept across restarts */
	void *filter;             /* the proxy's compiled seccomp program (struct sock_filter[]), owned */
	unsigned short filter_len;
};

enum sandbox_net_mode sandbox_net_mode(const struct suite *s);

/* No proxy yet: safe to stop. */
void sandbox_net_init(struct sandbox_net *n);

/*
 * Private mode, once the sandbox's PID 1 is up: builds the allow-list from
 * the suite's repositories and the image's sources under lower and resolves
 * it (the first time only: a restart of the sandbox after a snapshot or a
 * reset reuses them), forks the proxy (which listens in the namespace of net_ns_fd and
 * serves from the host's as nobody, under seccomp) and writes apt's and
 * dnf's proxy settings into the sandbox through root_fd.
 */
int sandbox_net_start(struct sandbox_net *n, int net_ns_fd, int root_fd, const char *lower, const struct suite *s,
		      struct alts_err *err);

/* Kills the proxy and logs what it refused; the allow-list stays for the next start. Idempotent. */
void sandbox_net_stop(struct sandbox_net *n);
/* sandbox_net_stop, then frees everything. Idempotent. */
void sandbox_net_release(struct sandbox_net *n);

/* The image's dnf.conf with "proxy=url" as the only proxy setting of [main]. */
ALTS_TESTABLE void sandbox_net__dnf_conf(struct sbuf *out, const char *image_conf, const char *url);
/* Adds the http(s) targets of one sources file's text (apt .list/.sources, yum .repo) to the allow-list. */
ALTS_TESTABLE int sandbox_net__allow_text(struct mirror_proxy *mp, const char *text, struct alts_err *err);

#endif
