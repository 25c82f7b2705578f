#ifndef ALTS_SUITE_H
#define ALTS_SUITE_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"

/*
 * A test suite: packages, an environment and an ordered list of checks,
 * loaded from YAML or JSON and validated whole before anything runs.
 * Everything hangs off the suite's arena and lives until suite_free().
 */

struct check_ops;

struct suite_package {
	const char *name;     /* required; checked against shell metacharacters */
	const char *version;  /* optional */
	const char *epoch;    /* optional, digits */
	const char *file;     /* optional local .deb/.rpm, absolute after loading */
	struct conf_loc loc;
};

struct suite_repo {
	const char *name;     /* optional; generated when absent */
	const char *url;      /* `url` or `baseurl`, or a whole apt "deb ..." line */
	bool apt_line;        /* url starts with "deb " or "deb-src " */
	struct conf_loc loc;
};

/*
 * environment.<runner>: the settings of one runner, decoded with that
 * runner's own key table (runners/runner_int.h, runner_ops.keys) into its
 * own struct. The suite model does not know their shape.
 */
struct suite_runner_conf {
	const char *runner;        /* the runner's name, the key in environment */
	void *conf;                /* the runner's conf struct, in the suite's arena */
};

struct suite_environment {
	const char *runner;        /* NULL: "sandbox" when an image for the distribution exists, else "local" */
	const char *dist_name;     /* e.g. debian, almalinux; NULL: detect */
	const char *dist_version;  /* e.g. 12, 9 */
	const char *dist_arch;     /* e.g. x86_64; NULL: the environment's */
	const char *root;          /* local runner: scratch root for package operations */
	const char *package_manager; /* apt, dnf, yum, dpkg, rpm; NULL: detect */
	const char *image;         /* sandbox runner: image name; NULL: <dist_name>-<dist_version> */
	const char *network;       /* sandbox runner: "none" (default) or "host" */
	const char *boot;          /* sandbox runner: "none" (default) or "systemd" (systemd as PID 1) */
	struct suite_runner_conf *runners;  /* the runner sections present, in registry order */
	size_t nrunners;
};

struct suite_check {
	const struct check_ops *ops;
	const char *type;          /* the kind as the suite names it: ops->name or an alias */
	const char *name;          /* display name; defaults to the type */
	double timeout;            /* seconds; 0: the suite's default */
	const char *skip;          /* reason, or NULL */
	bool expect_failure;
	int fresh_opt;             /* `fresh:` as written: 0 absent, SUITE_FRESH_YES or SUITE_FRESH_NO */
	bool fresh;                /* runs in a fresh copy of the environment (fresh:, else the suite's isolation) */
	struct strlist test_depends; /* installed as test dependencies right before this check */
	void *conf;                /* check-specific, decoded with ops->keys */
	size_t index;              /* 0-based position in the suite */
	struct conf_loc loc;
};

/*
 * How a suite was received (suite_load_buffer_flags): a farm suite (REST,
 * AMQP) may name no host path, and the scheduler validates one without
 * touching its own filesystem.
 */
#define SUITE_LOAD_FARM 1u   /* scripts and package files only inside the task folder; network URLs only */
#define SUITE_LOAD_NO_FS 2u  /* never stat the files the suite names (the scheduler) */

struct suite {
	struct arena *arena;
	unsigned load_flags;       /* SUITE_LOAD_* it was loaded with */
	const char *path;          /* as given; "<stdin>" or a label for buffers */
	const char *dir;           /* base for relative paths */
	const char *name;
	const char *description;
	struct suite_package *packages;
	size_t npackages;
	struct suite_repo *repos;
	size_t nrepos;
	struct suite_environment env;
	struct strmap vars;        /* `env`: extra environment for commands */
	double timeout;            /* whole suite, seconds; 0: none */
	double check_timeout;      /* default per check, seconds */
	struct strlist test_depends; /* packages the tests need, not under test (installed by `install`) */
	const char *isolation;     /* "suite" (default: the checks share one environment) or "check" */
	struct suite_check *checks;
	size_t nchecks;
};

void suite_free(struct suite *s);

/*
 * The decoded environment.<runner> section, or NULL when the suite has
 * none. Borrowed until suite_free().
 */
const void *suite_runner_conf(const struct suite *s, const char *runner);

/* The longest package name and version accepted (dpkg and rpm allow longer; nothing real is). */
#define SUITE_NAME_MAX 255

/*
 * True when name is a safe package name: 1 to SUITE_NAME_MAX letters,
 * digits, + . _ - ~, starting with a letter, digit or '_' (never '-', which
 * a package manager would read as an option).
 */
bool suite_package_name_ok(const char *name);
/* True when path is relative and has no '..' component (a path inside a farm task's folder). */
bool suite_inner_path_ok(const char *path);
/* True when a URL or apt line names a host path (file:, an absolute path) rather than the network. */
bool suite_url_is_local(const char *url);
/* True when a version/epoch string is safe. */
bool suite_version_ok(const char *version);

#define SUITE_DEFAULT_CHECK_TIMEOUT 1800.0

enum { SUITE_FRESH_YES = 1, SUITE_FRESH_NO = 2 };

#endif
