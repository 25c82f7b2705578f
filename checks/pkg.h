#ifndef ALTS_PKG_H
#define ALTS_PKG_H

/*
 * Package-manager knowledge, in one place: which tool a suite uses and
 * the argv of every package operation. Nothing here runs a command or
 * builds a shell string; the checks run what these functions build
 * through check_cmd(). See docs/internals/packages.md.
 *
 * Root mode: when the environment has a scratch root (environment.root,
 * made absolute by the runner), every operation goes through the low
 * level tool with root flags: `dpkg --root=DIR`, `dpkg-query --root=DIR`,
 * `debsums --root=DIR`, `rpm --root DIR`. Dependencies are not resolved
 * there (a scratch root is not a whole system): dpkg gets
 * --force-depends and rpm --nodeps. Packages must then be files, and
 * repositories cannot be used.
 */

#include <stdbool.h>
#include <stddef.h>

#include "framework/arena.h"
#include "framework/conf.h"
#include "framework/sbuf.h"
#include "framework/suite.h"
#include "runners/runner.h"

enum pkg_family {
	PKG_FAMILY_NONE = 0,
	PKG_FAMILY_DEB,
	PKG_FAMILY_RPM,
};

enum pkg_tool {
	PKG_TOOL_NONE = 0,
	PKG_TOOL_APT,   /* apt-get, with dpkg underneath */
	PKG_TOOL_DPKG,
	PKG_TOOL_DNF,
	PKG_TOOL_YUM,
	PKG_TOOL_RPM,
};

/* How package files are verified against the package database. */
enum pkg_verifier {
	PKG_VERIFY_DEBSUMS = 1,   /* debsums -s NAME */
	PKG_VERIFY_DPKG,          /* dpkg --verify NAME (when debsums is absent) */
	PKG_VERIFY_RPM,           /* rpm -V NAME */
};

struct pkg_mgr {
	enum pkg_family family;
	enum pkg_tool tool;  /* installs and removals; queries use dpkg/rpm */
	const char *root;    /* absolute scratch root, or NULL; borrowed */
	const char *reason;  /* how the tool was chosen, for the log; static */
};

/*
 * Chooses the package manager for a suite, from (first match wins):
 * environment.package_manager; environment.dist_name (and dist_version);
 * in root mode the package files' extensions; the environment's os-release
 * ID, then ID_LIKE (info may be NULL); the package files' extensions.
 * EL 7 and older (rhel, centos, almalinux, rocky, ol, amzn 2) get yum,
 * newer ones and fedora dnf; debian, ubuntu and their likes apt. With a
 * scratch root (info->root, else suite->env.root) the tool is dpkg or
 * rpm. ALTS_ENOTFOUND when nothing tells; ALTS_EINVALID when the suite
 * contradicts itself (an .rpm file for apt).
 */
int pkg_detect(struct pkg_mgr *out, const struct suite *suite, const struct runner_info *info,
	       struct alts_err *err);

/* "apt-get", "dpkg", "dnf", "yum", "rpm" (the program name); "none". */
const char *pkg_tool_name(enum pkg_tool t);

/*
 * One command: argv (NULL-terminated) and extra environment entries
 * (NULL-terminated, may be NULL). Strings belong to the command and live
 * until pkg_cmd_release(), or are static / borrowed from the suite.
 */
struct pkg_cmd {
	const char **argv;
	size_t argc;
	const char *const *env;
	struct arena *arena;  /* created on first use */
	size_t alloc;
	bool oom;
};

#define PKG_CMD_INIT { NULL, 0, NULL, NULL, 0, false }

void pkg_cmd_release(struct pkg_cmd *c);
/* Appends a borrowed string (must outlive the command). */
void pkg_cmd_add(struct pkg_cmd *c, const char *arg);
/* Appends a formatted string owned by the command. */
void pkg_cmd_addf(struct pkg_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum pkg_install_flags {
	PKG_INSTALL_DOWNGRADE = 1 << 0,  /* apt --allow-downgrades, rpm --oldpackage */
	PKG_INSTALL_NO_RECOMMENDS = 1 << 1,  /* apt --no-install-recommends, dnf --setopt=install_weak_deps=False */
};

/*
 * Installs pkgs (an array of n packages) in one command. A package with a
 * `file` is installed from that path, which must be valid in the
 * environment (the check copies host files in first); others by name,
 * with `name=[epoch:]version` (apt) or `name-[epoch:]version` (dnf, yum).
 * ALTS_EINVALID, message in err, when dpkg or rpm would need a package by
 * name. *out is written only on success.
 */
int pkg_install_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const struct suite_package *pkgs, size_t n,
		    unsigned flags, struct alts_err *err);

/* Removes the packages called names[0..n). */
int pkg_remove_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *names, size_t n,
		   struct alts_err *err);

/*
 * Asks whether name is installed: dpkg-query -W '--showformat=${Status}\t${Version}\n'
 * or rpm -q --qf '%{NAME}\t[epoch:]version-release\n'. Read the answer
 * with pkg_query_parse().
 */
int pkg_query_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err);

/*
 * True when the query's exit code and stdout say the package is installed;
 * then *version (may be NULL) gets its version in arena a ("1:2.0-1").
 */
bool pkg_query_parse(const struct pkg_mgr *m, int exit_code, const char *out, struct arena *a,
		     const char **version);

/* Lists the files of an installed package: dpkg-query -L / rpm -ql --noghost. */
int pkg_list_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err);

/*
 * Paths from a file listing, in order, without "/." and lines that are
 * not absolute paths (dpkg's diversion notes, rpm's "(contains no
 * files)"). Strings in arena a.
 */
int pkg_list_parse(struct strlist *out, const char *text, struct arena *a);

/*
 * Collects what keep makes of each line of text (NULL: none) into out,
 * in order. keep returns 1 with *kept set (arena string) to keep a line,
 * 0 to leave it out, or ALTS_ENOMEM.
 */
typedef int (*pkg_line_fn)(const char *line, size_t len, const char **kept, struct arena *a, void *payload);
int pkg_lines_collect(struct strlist *out, const char *text, pkg_line_fn keep, void *payload, struct arena *a);

/*
 * The argv that tells whether a tool exists: {"debsums", "--version"},
 * {"readelf", "--version"}, {"ansible-playbook", "--version"} ... exit 127
 * (a failed exec) means absent.
 */
const char *const *pkg_probe_argv(const char *program);

/* Verifies an installed package's files against the database. */
int pkg_verify_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, enum pkg_verifier v, const char *name,
		   struct alts_err *err);

/*
 * Turns a verifier's output (stdout and stderr together) into problems,
 * one per file: "modified: /usr/bin/x" or "missing: /usr/bin/x", with
 * the scratch root (may be NULL) stripped from paths; other complaints
 * are kept as they are. Strings in arena a. 0 or ALTS_ENOMEM.
 */
int pkg_verify_parse(struct strlist *out, enum pkg_verifier v, const char *root, const char *text,
		     struct arena *a);

/*
 * A repository definition for the manager: its path in the environment
 * (/etc/apt/sources.list.d/alts-NAME.list, /etc/yum.repos.d/alts-NAME.repo)
 * and its contents. A plain URL becomes `deb [trusted=yes] URL ./` for
 * apt (a flat repository), a "deb ..." line is used as it is; dnf and yum
 * get baseurl=URL with gpgcheck=0. Absolute paths become file: URLs.
 * ALTS_EINVALID for root mode, dpkg, rpm, or an apt line with dnf/yum.
 */
int pkg_repo_file(struct sbuf *content, const char **env_path, const struct pkg_mgr *m,
		  const struct suite_repo *repo, struct arena *a, struct alts_err *err);

/*
 * The command that makes new repositories known (apt-get update), or an
 * empty command (argc 0) when the manager reads them on its own.
 */
int pkg_refresh_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err);

/*
 * Root mode with dpkg: the database files a fresh scratch root needs
 * (DIR/var/lib/dpkg/{status,available} and the info and updates
 * directories). Builds `mkdir -p` (i == 0) and `touch` (i == 1) commands;
 * ALTS_ENOTFOUND past the last one or when nothing is needed.
 */
int pkg_root_init_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, size_t i, struct alts_err *err);

/*
 * dpkg's path filters (path-exclude=GLOB / path-include=GLOB in
 * /etc/dpkg/dpkg.cfg and dpkg.cfg.d/), which minimal container images use
 * to leave out documentation: files they exclude are listed by dpkg -L
 * but may be absent.
 */
struct pkg_filters {
	const char **patterns;
	bool *include;  /* true: path-include */
	size_t n;
};

/* grep for the filter lines (deb family; ALTS_ENOTFOUND for rpm). */
int pkg_filters_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err);
/* Parses the grep output into f (arena a). 0 or ALTS_ENOMEM. */
int pkg_filters_parse(struct pkg_filters *f, const char *text, struct arena *a);
/* True when dpkg would not have unpacked path (the last matching filter excludes it). */
bool pkg_filters_excluded(const struct pkg_filters *f, const char *path);

/*
 * Installs dependency relations: `apt-get satisfy` (Debian syntax with
 * versions, alternatives "a | b" and arch qualifiers, no recommends), or
 * `dnf|yum install` of each (names or "name >= version"). ALTS_EINVALID
 * for dpkg, rpm and root mode.
 */
int pkg_satisfy_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *relations, size_t n,
		    struct alts_err *err);
/* Lists the installed packages: "STATUS\tNAME" lines (dpkg-query -W, rpm -qa); read with the parser below. */
int pkg_installed_names_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, struct alts_err *err);
/* The names of the fully installed packages in the listing, in order (arena a). 0 or ALTS_ENOMEM. */
int pkg_installed_names_parse(struct strlist *out, const char *text, struct arena *a);

/*
 * Glue for checks (checks/pkg_run.c): package operations run through
 * check_cmd(), so they are logged and bounded by the check's deadline.
 */
struct check_ctx;
struct check_cmd_out;

/* pkg_detect() for the check's suite and runner; the reason goes to the log. */
int pkg_ctx_detect(struct check_ctx *ctx, struct pkg_mgr *out, struct alts_err *err);

/* Runs a built command with its environment. See check_cmd(). */
int pkg_ctx_run(struct check_ctx *ctx, struct check_cmd_out *out, const struct pkg_cmd *cmd,
		struct alts_err *err);

/*
 * Runs a built listing command (a package's files, the installed packages)
 * for a parser: stdout whole (check_cmd_opts.whole_stdout, not cut at the
 * log's cap) and kept out of the log (quiet). On 0, *text gets all of
 * stdout, borrowed from out until check_cmd_out_release(out).
 */
int pkg_ctx_run_list(struct check_ctx *ctx, struct check_cmd_out *out, const struct pkg_cmd *cmd, const char **text,
		     struct alts_err *err);

/*
 * Why a package operation failed: the package manager's telling lines
 * (pkg_failure_reason() in checks/pkg_life.h), else check_cmd_summary().
 */
const char *pkg_ctx_failure(struct check_ctx *ctx, const struct check_cmd_out *o);

/*
 * Asks whether name is installed; *version (may be NULL) gets the
 * installed version in the check's arena. Negative when the environment
 * failed.
 */
int pkg_ctx_installed(struct check_ctx *ctx, const struct pkg_mgr *m, const char *name, bool *installed,
		      const char **version, struct alts_err *err);

/*
 * Checks that pkg's installed version (installed, as pkg_ctx_installed()
 * gave it) is the one requested (pkg->version and epoch, else the
 * version inside pkg->file) and, for a package by name when repos are
 * given, that it came from one of them (apt-cache policy / dnf repoquery
 * --installed --qf '%{from_repo}'). *why (arena) names both sides of a
 * mismatch; NULL when it matches. Negative when the environment failed.
 */
int pkg_ctx_verify(struct check_ctx *ctx, const struct pkg_mgr *m, const struct suite_package *pkg,
		   const char *installed, const struct suite_repo *repos, size_t nrepos, const char **why,
		   struct alts_err *err);

/*
 * The suite packages a check works on: those named in subset (a `packages`
 * option), or all. *out is an arena array. ALTS_EINVALID when subset
 * names a package the suite does not have.
 */
int pkg_ctx_select(struct check_ctx *ctx, const struct strlist *subset, const struct suite_package ***out,
		   size_t *n, struct alts_err *err);

/*
 * The distribution name and version for config exclusions: ctx->dist_name
 * (set by the engine), else the suite's, else the environment's.
 */
const char *pkg_ctx_dist_name(struct check_ctx *ctx);
const char *pkg_ctx_dist_version(struct check_ctx *ctx);

/*
 * Load-time check of a `packages` option: every name must be one of the
 * suite's packages. body is the check's mapping (for the location).
 * Passes when the suite's packages are not decoded yet (they come later
 * in the file); pkg_ctx_select() repeats the check at run time.
 */
int pkg_validate_subset(struct conf_ctx *ctx, yaml_node_t *body, const char *path, const struct suite *suite,
			const struct strlist *names);


/*
 * Why the config leaves pkg out of checks of kind `kind` on the run's
 * distribution: "excluded on <dist>: <reason>" (arena), or NULL.
 */
const char *pkg_ctx_excluded(struct check_ctx *ctx, const char *pkg, const char *kind);

/*
 * The skeleton of a check that changes packages (install, uninstall):
 * select the packages, leave out those op->skip names (a SKIP sub-result
 * each), run the command op->command builds, then confirm each package
 * is in the state op->want_installed says (a sub-result each).
 */
struct pkg_op {
	const char *verb;          /* the tool's action in messages: "install", "remove" */
	bool want_installed;       /* the state each package must be in afterwards */
	const char *skip_log;      /* before a left-out package's name in the log: "" or "not removing " */
	bool verify;               /* also check each installed version and origin (pkg_ctx_verify()) */
	const char *none_left;     /* SKIP message when every package is left out; NULL: "every package is excluded on <dist>" */
	/* Why pkg is left out (arena or static text), or NULL. */
	const char *(*skip)(struct check_ctx *ctx, const struct suite_package *pkg);
	/*
	 * Required. Prepares the environment and builds the command for
	 * pkgs[0..n) (copies of the suite's packages, which it may change).
	 * ALTS_EINVALID fails the check with err's message; *ok = false means
	 * it recorded the failure itself. Either way nothing more runs.
	 */
	int (*command)(struct check_ctx *ctx, const struct pkg_mgr *m, struct suite_package *pkgs, size_t n,
		       struct pkg_cmd *out, bool *ok, struct alts_err *err);
};

/* Runs op on the suite's packages, or on subset when it names some. See check_ops.run. */
int pkg_op_run(struct check_ctx *ctx, const struct pkg_op *op, const struct strlist *subset, struct alts_err *err);

#endif
