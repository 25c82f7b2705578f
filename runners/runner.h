#ifndef ALTS_RUNNER_H
#define ALTS_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"
#include "framework/proc.h"

/*
 * A runner makes a clean environment, runs commands in it and tears it
 * down. Checks use only these wrappers. An environment is a handle: it is
 * prepared once, and runner_free() tears it down (if prepared) exactly once.
 */

struct runner;
struct suite;

struct runner_exec_req {
	const char *const *argv;  /* program and arguments, run without a shell */
	const char *const *env;   /* extra "NAME=value" entries, NULL-terminated; may be NULL */
	const char *cwd;          /* in the environment; NULL: its default */
	double timeout;           /* seconds; <= 0: none */
	const char *stdout_path;  /* host file for stdout; NULL: discard */
	const char *stderr_path;  /* host file for stderr; NULL: discard; may equal stdout_path */
	struct proc_capture *stdout_capture; /* non-NULL: stdout kept in memory there, no file (stdout_path unused) */
	struct proc_capture *stderr_capture; /* the same for stderr */
	bool append;              /* append to the capture files */
	const char *stdin_path;   /* host file fed to stdin; NULL: empty */
	volatile const int *cancel;
	proc_output_fn on_output; /* streams output as it comes (for -v) */
	void *payload;
};

#define RUNNER_EXEC_REQ_INIT { 0 }

struct runner_info {
	const char *name;         /* backend name, as in suites */
	const char *os_id;        /* /etc/os-release ID in the environment, "" if unknown */
	const char *os_id_like;   /* ID_LIKE */
	const char *os_version;   /* VERSION_ID */
	const char *arch;         /* uname -m in the environment */
	const char *root;         /* scratch root for package operations, or NULL */
};

/*
 * Creates (but does not prepare) the runner `name` for suite. ALTS_ENOTFOUND
 * with the list of known runners when name is unknown. The suite must
 * outlive the runner.
 */
int runner_new(struct runner **out, const char *name, const struct suite *suite, struct alts_err *err);

/* Says, before runner_prepare(), that the environment will be kept after the run. */
void runner_keep_env(struct runner *r);

/*
 * Says, before runner_prepare(), that runner_snapshot() will be called
 * (fresh checks, a check that resets between its parts): the sandbox then
 * keeps its layers where a snapshot can reach them, which costs a few
 * milliseconds per environment that need not be paid otherwise. Without
 * it runner_snapshot() is ALTS_ENOTSUP.
 */
void runner_want_snapshots(struct runner *r);

/*
 * The host's resource limits for each environment (alts.yaml's sandbox_disk,
 * sandbox_memory, sandbox_pids: sizes such as "4G", or NULL for the
 * default), set before runner_prepare(). Runners that enforce no limits
 * ignore them; the ALTS_SANDBOX_* environment variables win over them.
 */
struct runner_limits {
	const char *disk;
	const char *memory;
	const char *pids;
};
void runner_set_limits(struct runner *r, const struct runner_limits *limits);

/* Makes the environment ready for exec. Called once. */
int runner_prepare(struct runner *r, struct alts_err *err);

/*
 * Runs a command. Returns 0 when it ran (its status is in out, including a
 * non-zero exit, a timeout or a failed exec) and a negative code when the
 * environment itself failed.
 */
int runner_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		struct alts_err *err);

/* Copies a host file or directory (recursively) to env_path in the environment. */
int runner_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err);
/* Copies env_path from the environment to a host path. */
int runner_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err);

/* Facts about the environment, valid after runner_prepare(); borrowed until runner_free(). */
const struct runner_info *runner_info(const struct runner *r);

/* A directory inside the environment for scratch files of this run. */
const char *runner_workdir(const struct runner *r);

/*
 * Snapshots and resets: a fresh environment per check without a new
 * install. runner_snapshot() freezes the environment's files as they are
 * now; runner_reset() brings them back to the last snapshot (or, when none
 * was taken, to the state runner_prepare() made). Both end every process
 * running in the environment (a snapshot holds files, not processes) and
 * may be called at any time after runner_prepare(), also by a check
 * between two of its commands. A second snapshot stacks on the first.
 * Files copied in before a reset are gone after it, work directory
 * included (it is made again, empty). ALTS_ENOTSUP, with the reason in
 * err, when the runner cannot (only the sandbox can, on overlayfs).
 */
int runner_snapshot(struct runner *r, struct alts_err *err);
int runner_reset(struct runner *r, struct alts_err *err);

/*
 * How many snapshots are stacked, and runner_snapshot_drop(): forget the
 * last one and reset to the one below it (or to prepare's state). A check
 * that snapshots for its own parts (DEP-8 breaks-testbed tests) may leave
 * its snapshots; the engine drops those above its own before the next
 * check, so that a fresh check starts from the engine's snapshot.
 */
unsigned runner_snapshot_depth(const struct runner *r);
int runner_snapshot_drop(struct runner *r, struct alts_err *err);

/*
 * True when the runner `name` has snapshots and resets at all (for the
 * suite loader; the sandbox may still refuse at run time when overlayfs
 * is unavailable and it copies the image instead).
 */
bool runner_name_can_reset(const char *name);

/*
 * Test dependencies: packages installed in the environment for the tests
 * but not under test (suite test_depends, DEP-8 Depends), with whatever
 * they pulled in. Checks that judge the packages under test (integrity,
 * uninstall, leftovers) leave them out. runner_add_test_deps() records
 * names (copied); a runner_reset() forgets those recorded after the last
 * runner_snapshot(), as the packages themselves are gone.
 * runner_test_deps() returns the list, borrowed until the next add, reset
 * or runner_free(); *n gets its length.
 */
int runner_add_test_deps(struct runner *r, const char *const *names, size_t n, struct alts_err *err);
const char *const *runner_test_deps(const struct runner *r, size_t *n);
/* True when name was recorded by runner_add_test_deps(). */
bool runner_is_test_dep(const struct runner *r, const char *name);

/* Tears down (unless keep) and frees. NULL-safe. Teardown errors are logged. */
void runner_free(struct runner *r, bool keep);

/* Names of the compiled-in runners, NULL-terminated, in registry order. */
const char *const *runner_names(void);

/*
 * For the suite loader: each runner owns the mapping environment.<name>.
 * runner_conf_keys() gives the key table of the runner `name` and, in
 * *conf_size, the size of the struct it decodes into; NULL when the
 * runner has no settings (or is unknown). Static, never freed.
 */
const struct conf_key *runner_conf_keys(const char *name, size_t *conf_size);

/*
 * For the suite loader: checks what the runner `name` cannot start
 * without, when it is the suite's environment.runner. node and path are
 * the environment mapping's; conf is its decoded section (zeroed when the
 * suite has none). 0 when the runner has no such check.
 */
int runner_conf_validate(const char *name, struct conf_ctx *ctx, yaml_node_t *node, const char *path,
			 const struct suite *suite, const void *conf);

#endif
