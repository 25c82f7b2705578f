#ifndef ALTS_RUNNER_INT_H
#define ALTS_RUNNER_INT_H

/* For runner backends only. Callers use runners/runner.h. */

#include "runners/runner.h"

#define RUNNER_ABI 2
#define RUNNER_MAX_SNAPSHOTS 16

enum runner_caps {
	RUNNER_CAP_ISOLATED = 1 << 0,  /* changes do not reach the host */
	RUNNER_CAP_ROOT_DIR = 1 << 1,  /* supports environment.root (scratch root) */
	RUNNER_CAP_RESET = 1 << 2,     /* has snapshot and reset (runner_snapshot, runner_reset) */
};

struct runner_ops {
	const char *name;  /* the value of environment.runner */
	int abi;           /* RUNNER_ABI */
	unsigned caps;     /* enum runner_caps */
	size_t priv_size;  /* runtime state: zeroed bytes allocated by the core at r->priv */
	size_t conf_size;  /* settings: zeroed bytes of the struct keys decode into, at r->conf */
	/*
	 * Decodes the mapping environment.<name> of a suite into conf_size
	 * bytes from the suite's arena; NULL: the runner has no settings.
	 * Decoded and validated whatever runner the suite chooses.
	 */
	const struct conf_key *keys;

	/*
	 * Optional. Called at load time, after the environment is decoded, only
	 * when the suite's environment.runner is this runner, to check what the
	 * key table cannot ("the ssh runner needs 'ssh: {host: ...}'"). node
	 * and path are the environment mapping's; conf is the decoded section
	 * (zeroed when the suite has none). The suite is decoded up to its
	 * environment. Errors go through conf_fail().
	 */
	int (*validate)(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct suite *suite,
			const void *conf);

	/*
	 * Required. Builds the environment; fills r->info strings and r->workdir,
	 * allocated with alts_malloc (the core frees them in runner_free).
	 */
	int (*prepare)(struct runner *r, struct alts_err *err);
	/* Required. See runner_exec(). */
	int (*exec)(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		    struct alts_err *err);
	/* Required. See runner_copy_in() and runner_copy_out(). */
	int (*copy_in)(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err);
	int (*copy_out)(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err);
	/*
	 * Optional (NULL: ALTS_ENOTSUP). See runner_snapshot() and
	 * runner_reset(); called only after a successful prepare. After a
	 * failed one the environment may be gone: the core lets no more
	 * exec through.
	 */
	int (*snapshot)(struct runner *r, struct alts_err *err);
	int (*reset)(struct runner *r, struct alts_err *err);
	/* Optional with snapshot: forgets the last snapshot and resets to the one below it (or to prepare's state). */
	int (*drop)(struct runner *r, struct alts_err *err);
	/* Optional. Removes the environment; called once, only after a successful prepare. */
	int (*teardown)(struct runner *r, bool keep, struct alts_err *err);
	/* Required. Frees r->priv contents; must accept a half-built runner. */
	void (*destroy)(struct runner *r);
};

struct runner {
	const struct runner_ops *ops;
	const struct suite *suite;
	void *priv;
	const void *conf; /* decoded environment.<name>, see runner_ops.keys; NULL when conf_size is 0 */
	void *own_conf;   /* the zeroed conf the core made when none was given; freed by the core */
	struct runner_info info;
	char *workdir;   /* freed by the core */
	bool prepared;
	bool keep_env;   /* the environment will be kept: backends keep state on disk */
	bool want_snapshots; /* runner_want_snapshots(): prepare so that snapshots work */
	struct runner_limits limits; /* the host's limits per environment (runner_set_limits) */
	const char *log; /* log component name */
	bool broken;     /* a snapshot or reset failed: the environment is unusable */
	/* runner_add_test_deps(): names (alts_malloc'd); how many of them each snapshot holds */
	char **test_deps;
	size_t ntest_deps, test_deps_cap;
	size_t test_deps_snap[RUNNER_MAX_SNAPSHOTS];
	unsigned nsnapshots;  /* runner_snapshot_depth() */
};

extern const struct runner_ops runner_local_ops;
extern const struct runner_ops runner_sandbox_ops;
extern const struct runner_ops runner_ssh_ops;
extern const struct runner_ops runner_docker_ops;
extern const struct runner_ops runner_command_ops;

/*
 * Creates a runner from a backend that is not in the registry (tests, plugins).
 * r->conf is the suite's environment.<ops->name> section, else zeroed.
 */
int runner_new_with_ops(struct runner **out, const struct runner_ops *ops, const struct suite *suite,
			struct alts_err *err);

/*
 * As runner_new_with_ops(), with the runner's settings given by the caller:
 * conf points to ops' conf struct (conf_size bytes), is borrowed and must
 * outlive the runner; NULL: as runner_new_with_ops(). For runners that
 * drive another one (runners/command.c).
 */
int runner_new_with_conf(struct runner **out, const struct runner_ops *ops, const struct suite *suite,
			 const void *conf, struct alts_err *err);

#endif
