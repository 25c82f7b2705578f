#ifndef ALTS_SANDBOX_CGROUP_H
#define ALTS_SANDBOX_CGROUP_H

#include "framework/err.h"
#include "runners/runner.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Per-sandbox resource limits: the size of the sandbox's tmpfs file
 * systems (disk) and, through a cgroup of its own, its memory and number
 * of processes, plus a device allow-list (cgroup v1 devices controller).
 * cgroup v1 (pids, memory, devices controllers) and v2 are supported; with
 * neither, no memory or process limit holds and a warning says so.
 */
struct sandbox_limits {
	uint64_t disk;    /* bytes per tmpfs (upper layer, /tmp, /run, /dev/shm); 0: no size= */
	uint64_t memory;  /* bytes; 0: none */
	long pids;        /* 0: none */
};

#define SANDBOX_CG_MAX 3

struct sandbox_cgroup {
	char dirs[SANDBOX_CG_MAX][PATH_MAX];  /* the cgroup directories made (one per v1 controller, or one v2) */
	int procs_fd[SANDBOX_CG_MAX];          /* their cgroup.procs, open for joining */
	int oom_fd[SANDBOX_CG_MAX];            /* memory.oom_control (v1) or memory.events, open for counters; -1: none */
	int pids_fd[SANDBOX_CG_MAX];           /* pids.events, the same */
	int n;
	bool v2;
	bool has_memory, has_pids;
};

/* ALTS_SANDBOX_DISK, ALTS_SANDBOX_MEMORY, ALTS_SANDBOX_PIDS over the defaults. */
int sandbox_limits_get(struct sandbox_limits *l, const struct runner_limits *conf, struct alts_err *err);

/* Creates the cgroup 'alts/<name>' and sets the limits; without cgroups, warns and makes none. */
int sandbox_cgroup_create(struct sandbox_cgroup *cg, const char *name, const struct sandbox_limits *l,
			  struct alts_err *err);
/* Moves the calling process into the cgroup. Async-signal-safe; 0 or -errno. */
int sandbox_cgroup_join(const struct sandbox_cgroup *cg);
/* How many times the memory limit killed a process, and process creation hit the pids limit. */
void sandbox_cgroup_counters(const struct sandbox_cgroup *cg, long *oom_kills, long *pids_max);
/* Removes the cgroup once its processes are gone. */
void sandbox_cgroup_remove(struct sandbox_cgroup *cg);

/* Removes what is left of the cgroup 'alts/<name>' of a sandbox whose alts-run died. */
void sandbox_cgroup_forget(const char *name);

/* "4 GiB", "512 MiB" */
void sandbox_size_str(char *buf, size_t size, uint64_t bytes);

#endif
