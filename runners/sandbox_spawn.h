#ifndef ALTS_SANDBOX_SPAWN_H
#define ALTS_SANDBOX_SPAWN_H

/*
 * The sandbox's spawner: a small process of alts-run's, already in the
 * sandbox's cgroup, namespaces and privileges, that starts each command
 * as alts-run's own child (clone with CLONE_PARENT, sharing the spawner's
 * memory until the exec). A command then costs one vfork-like clone
 * instead of a fork of alts-run, a cgroup migration (an RCU grace period,
 * 3 to 17 ms here), five setns, a seccomp load and a second fork to enter
 * the PID namespace. See docs/internals/sandbox.md.
 */
#include "framework/err.h"
#include "framework/proc.h"
#include "runners/sandbox_cgroup.h"
#include "runners/sandbox_sec.h"

#include <stdbool.h>
#include <sys/types.h>

struct sandbox_spawner {
	pid_t pid;      /* the spawner, our child; -1: none */
	int sock;       /* requests and replies; -1: none */
	int go_fd;      /* write end: the sandbox is ready to be joined */
	int report_fd;  /* read end: the spawner's setup result */
};

#define SANDBOX_SPAWNER_INIT { -1, -1, -1, -1 }

/*
 * Starts the spawner for the sandbox whose PID 1 is init (a host pid):
 * it joins cg (NULL: none) at once, then waits for sandbox_spawner_enter.
 * join_net: the sandbox has a network namespace of its own.
 */
int sandbox_spawner_start(struct sandbox_spawner *sp, pid_t init, bool join_net, const struct sandbox_cgroup *cg,
			  const struct sandbox_sec *sec, struct alts_err *err);

/* Once PID 1 is set up: the spawner joins its namespaces and drops privileges (sec). */
int sandbox_spawner_enter(struct sandbox_spawner *sp, struct alts_err *err);

/* True when spec's request fits in one message (else the caller starts the program itself). */
bool sandbox_spawner_fits(const struct proc_spec *spec);

/* The proc_spec spawn hook; payload is the struct sandbox_spawner. */
int sandbox_spawner_spawn(void *payload, pid_t *pid, const struct proc_spec *spec, const int fds[4]);

/* Ends the spawner and waits for it. NULL-safe and idempotent. */
void sandbox_spawner_stop(struct sandbox_spawner *sp);

#endif
