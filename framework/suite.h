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

/* environment.ssh: an existing host reached with the system ssh (runners/ssh.c). */
struct suite_env_ssh {
	const char *host;            /* name or address; required by the ssh runner */
	long port;                   /* 0: 22 */
	const char *user;            /* NULL: ssh's default */
	const char *identity_file;   /* private key; NULL: ssh's defaults and agent */
	const char *known_hosts;     /* NULL: ssh's defaults */
	const char *strict_host_key_checking; /* yes (default), accept-new or no */
	double connect_timeout;      /* seconds; 0: 30 */
	struct conf_argv reboot_command; /* run on the host for >>>VMRESTART<<<; argc 0: [reboot] */
	double reboot_timeout;       /* seconds to wait for the host to come back; 0: 600 */
};

/* environment.docker: the Docker Engine API (runners/docker.c). */
struct suite_env_docker {
	const char *url;             /* unix:///path, tcp://host:port, https://host:port; NULL: DOCKER_HOST or the default socket */
	const char *image;           /* one image for every distribution, or NULL */
	struct strmap images;        /* `image` given as a mapping: "<dist_name>-<dist_version>" -> image */
	const char *platform;        /* e.g. linux/arm64/v8; NULL: from dist_arch */
};

/* environment.command: an external provisioner (runners/command.c). */
struct suite_env_command {
	struct conf_argv create;     /* prints connection info as JSON on stdout; required by the command runner */
	struct conf_argv destroy;    /* gets that JSON on stdin; optional */
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
	struct suite_env_ssh ssh;
	struct suite_env_docker docker;
	struct suite_env_command command;
};

struct suite_check {
	const struct check_ops *ops;
	const char *type;          /* ops->name */
	const char *name;          /* display name; defaults to the type */
	double timeout;            /* seconds; 0: the suite's default */
	const char *skip;          /* reason, or NULL */
	bool expect_failure;
	void *conf;                /* check-specific, decoded with ops->keys */
	size_t index;              /* 0-based position in the suite */
	struct conf_loc loc;
};

struct suite {
	struct arena *arena;
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
	struct suite_check *checks;
	size_t nchecks;
};

void suite_free(struct suite *s);

/* True when name is a safe package name (letters, digits, + . _ - ~ :). */
bool suite_package_name_ok(const char *name);
/* True when a version/epoch string is safe. */
bool suite_version_ok(const char *version);

#define SUITE_DEFAULT_CHECK_TIMEOUT 1800.0

#endif
