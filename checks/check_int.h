#ifndef ALTS_CHECK_INT_H
#define ALTS_CHECK_INT_H

/* For check implementations and the engine that drives them. */

#include <stdio.h>

#include "checks/check.h"
#include "framework/conf.h"
#include "framework/config.h"
#include "framework/result.h"
#include "framework/sbuf.h"
#include "framework/suite.h"
#include "runners/runner.h"

#define CHECK_ABI 1

enum check_caps {
	CHECK_CAP_NEEDS_PACKAGES = 1 << 0,  /* the suite must name packages */
	CHECK_CAP_SNAPSHOTS = 1 << 1,       /* may call runner_snapshot() (the engine then asks the runner for them) */
};

struct check_ctx {
	const struct suite *suite;
	const struct suite_check *check;
	const struct alts_config *config;
	struct runner *runner;
	struct check_result *result;  /* fill status, message, subs, exit_code ... */
	struct arena *arena;          /* for result strings (the suite result's) */
	FILE *log;                    /* the check's log; commands and output go here */
	double deadline;              /* proc_now() time by which the check must end; 0: none */
	volatile const int *cancel;
	proc_output_fn on_output;     /* streams command output (-v); may be NULL */
	void *payload;
	const char *scratch;          /* host directory for temporary files of this check (NULL: /tmp),
	                                 made on demand: use check_scratch_dir() */
	bool scratch_made;            /* check_scratch_dir() made it: the engine removes it */
	const char *dist_name;        /* the run's distribution (--dist, else the suite's, else the
	                                 environment's) for config exclusions; NULL: checks work it out */
	const char *dist_version;
};

struct check_ops {
	const char *name;       /* the YAML key */
	int abi;                /* CHECK_ABI */
	unsigned caps;          /* enum check_caps */
	size_t conf_size;       /* bytes of check-specific config, zeroed, from the suite arena */
	const struct conf_key *keys;  /* decodes the check's mapping into conf; may be NULL */

	/*
	 * Optional. Called at load time after decoding, to check what the key
	 * table cannot (one of two keys required, a file that must exist).
	 * Errors go through conf_fail() on node.
	 */
	int (*validate)(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite *suite,
			struct suite_check *check);

	/*
	 * Required. Runs the check and records its outcome in ctx->result
	 * (status PASS/FAIL/SKIP; the engine applies expect_failure).
	 * Returns 0, or a negative code when the environment failed (the
	 * engine then records ERROR and bails out of the suite).
	 */
	int (*run)(struct check_ctx *ctx, struct alts_err *err);
};

extern const struct check_ops check_install_ops;
extern const struct check_ops check_launch_ops;
extern const struct check_ops check_integrity_ops;
extern const struct check_ops check_script_ops;
extern const struct check_ops check_uninstall_ops;
extern const struct check_ops check_upgrade_ops;
extern const struct check_ops check_dep8_ops;  /* also under the alias autopkgtest (checks/check.c) */

/*
 * Helpers for implementations (checks/check.c).
 */

/* What check_cmd() captured. */
struct check_cmd_out {
	struct proc_result proc;
	struct sbuf out;   /* stdout (capped at 1 MiB) */
	struct sbuf err;   /* stderr (capped at 1 MiB) */
	const char *whole; /* with whole_stdout and more than 1 MiB: all of stdout (allocated), else NULL */
	size_t whole_len;
};

void check_cmd_out_release(struct check_cmd_out *o);

/*
 * Runs argv in the environment with the suite's env and extra (may be
 * NULL), bounded by timeout (<= 0: the check's deadline only), writes
 * "$ argv" and the output to the check's log, and captures stdout and
 * stderr into out. Returns 0 when the command ran (see out->proc for its
 * status), negative when the environment failed. out is initialised
 * first thing, so check_cmd_out_release(out) is always safe afterwards.
 * When the deadline has already passed nothing runs: out->proc.timed_out
 * is set, exit_code is -1 and 0 is returned.
 */
int check_cmd(struct check_ctx *ctx, struct check_cmd_out *out, const char *const *argv,
	      const char *const *extra_env, double timeout, struct alts_err *err);

/* Less common settings of check_cmd_ex(). */
struct check_cmd_opts {
	const char *const *extra_env;  /* "NAME=value", NULL-terminated; may be NULL */
	double timeout;                /* seconds; <= 0: the check's deadline only */
	const char *stdin_path;        /* host file fed to stdin; NULL: empty */
	const char *cwd;               /* in the environment; NULL: the runner's default */
	bool quiet;                    /* log stderr but not stdout (long file lists) */
	bool whole_stdout;             /* keep all of a longer stdout (up to proc's 256 MiB capture) into out->whole, for parsers */
};

#define CHECK_CMD_OPTS_INIT { NULL, 0, NULL, NULL, false }

/* check_cmd() with the settings above; opts may be NULL. */
int check_cmd_ex(struct check_ctx *ctx, struct check_cmd_out *out, const char *const *argv,
		 const struct check_cmd_opts *opts, struct alts_err *err);

/* The first line worth showing from a failed command ("E: ...", "error: ..."), or its last line. */
const char *check_cmd_summary(struct check_ctx *ctx, const struct check_cmd_out *o);

/* Describes how a command ended, for messages: "exit 100", "killed by signal 9", "timed out after 30s". */
const char *check_cmd_status(struct check_ctx *ctx, const struct check_cmd_out *o);

/*
 * The check's host directory for temporary files, made on first use (most
 * checks never need one); NULL with err set when it cannot be made.
 */
const char *check_scratch_dir(struct check_ctx *ctx, struct alts_err *err);

/*
 * Writes data to a new host file in the check's scratch directory, named
 * after name; *path (arena) gets its path. Removed with the scratch dir.
 */
int check_write_file(struct check_ctx *ctx, const char **path, const char *name, const char *data, size_t len,
		     struct alts_err *err);

/*
 * What the check's log got from offset from on (ftell() of ctx->log when
 * a part began): a part's own log, capped at 256 KiB, in the arena; NULL
 * when there is no log.
 */
const char *check_log_since(struct check_ctx *ctx, long from);

/*
 * Clones a git repository (url at ref, NULL: the default branch) on the
 * host into the check's scratch directory, as nobody under the sandbox's
 * seccomp filter (see the script check); *dir gets the checkout, or its
 * subdirectory path (NULL: the top). When the clone fails the check's
 * result is set to FAIL and *ok is false; negative when the host failed.
 */
int check_git_clone(struct check_ctx *ctx, const char *url, const char *ref, const char *path, const char **dir,
		    bool *ok, struct alts_err *err);

/* A test tree to clone: a suite's `git: URL` or `git: {url, ref, path}`. */
struct check_git_source {
	const char *url;
	const char *ref;   /* branch or tag; NULL: the default branch */
	const char *path;  /* file or directory in the repository; NULL: its top */
	bool given;
};

/* conf_key parser (CONF_CUSTOM) of a struct check_git_source field. */
int check_git_parse(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field);
/* Validates a parsed git source at node (the URL, ref and path, and a farm suite's local URL). */
int check_git_validate(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct suite *suite,
		       const struct check_git_source *git);

/* True when url is a git URL alts clones (no option, no ext::/fd:: transport, no control character). */
bool check_git_url_ok(const char *url);
/* True when ref is a branch or tag name alts passes to git (letters, digits, . _ / - +, not first '-'). */
bool check_git_ref_ok(const char *ref);

/* Creates a directory (and its parents) in the environment; ALTS_EENV when that fails. */
int check_env_mkdir(struct check_ctx *ctx, const char *dir, struct alts_err *err);

/*
 * Variables alts gives to the commands of launch and script checks:
 * ALTS_PACKAGES (the suite's package names, space-separated) and, in
 * root mode, ALTS_ROOT. NULL-terminated, in the check's arena; NULL on OOM.
 */
const char *const *check_alts_env(struct check_ctx *ctx);

/* For validate(): the value node of key in the mapping map, or map itself (for locations). */
yaml_node_t *check_conf_node(struct conf_ctx *ctx, yaml_node_t *map, const char *key);

/* Shell-quotes argv for display (logs, messages); never executed. Arena copy. */
const char *check_argv_display(struct check_ctx *ctx, const char *const *argv);

/* Sets result status and a formatted one-line message (arena copy). */
void check_set(struct check_ctx *ctx, enum check_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes a formatted line to the check's log. */
void check_logf(struct check_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds left before the deadline (a large number if none). */
double check_time_left(const struct check_ctx *ctx);

#endif
