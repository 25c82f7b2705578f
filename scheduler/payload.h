#ifndef ALTS_SCHED_PAYLOAD_H
#define ALTS_SCHED_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"

#include <jansson.h>

/*
 * The body of POST /tasks/schedule: either the ALTS payload (runner_type,
 * dist_name, dist_version, dist_arch, repositories, package_name, ...)
 * or a whole suite under `suite`. Parsing validates every field and
 * routes the task to its queue; an ALTS payload becomes the standard
 * suite (install, integrity, third-party tests, uninstall).
 */

/* What the scheduler accepts; borrowed from the config. */
struct payload_rules {
	const struct strlist *architectures;
	const struct strlist *runners;        /* configured runners; "any" picks the first */
	const struct strlist *distributions;
	long cost;                            /* the <cost> part of the queue name */
	bool relative_callbacks;              /* a callback_href "/path" is joined with bs_host (set) */
	const struct strmap *runner_map;      /* ALTS runner_type -> alts runner (docker: sandbox, ...); NULL: none */
	bool no_integrity;                    /* enable_integrity_tests: false */
	bool distribution_queues;             /* queues carry the image: <runner>-<arch>-<cost>.<image> */
};

/* A validated request; strings live in the arena given to payload_parse. */
struct task_request {
	const char *runner;        /* resolved: never "any" */
	const char *queue_arch;    /* x86_64, aarch64, ... */
	const char *queue;         /* <runner>-<queue_arch>-<cost>[.<image>] (farm/queue_name.h) */
	const char *dist_name;     /* may be NULL for suites that do not name it */
	const char *dist_version;
	const char *dist_arch;
	const char *package_name;  /* NULL for suites */
	const char *bs_task_id;
	const char *callback_href;
	const char *module_name;   /* modular package: name, stream, version (NULL when not) */
	const char *module_stream;
	const char *module_version;
	json_t *alts_request;      /* while building: ALTS's fields recorded in the message as "alts_request"
				      (package_channel, test_flavor, verbose, test_env); NULL afterwards */
	const char *message;       /* the queue message with a placeholder task id, see payload_message() */
	size_t task_id_at;         /* where in message the task id goes */
};

/*
 * Parses and validates body (JSON). On failure ALTS_EINVALID with a
 * message fit for the client ("body:1:40: dist_arch: unknown architecture
 * 'sparc' (allowed: ...)"); ALTS_ENOMEM on allocation failure.
 */
int payload_parse(struct task_request *out, struct arena *a, const struct payload_rules *rules, const char *body,
		  size_t len, struct alts_err *err);
/*
 * As payload_parse() on a body already known to be a JSON object, with
 * libyaml reading it (what payload_parse() falls back to for its
 * messages). The reference the fast path is tested against.
 */
int payload_parse_yaml(struct task_request *out, struct arena *a, const struct payload_rules *rules,
		       const char *body, size_t len, struct alts_err *err);

/*
 * The queue message for a task: {"task_id","queue","runner","dist_arch",
 * "bs_task_id"?,"callback_href"?,"module"?,"suite":{...}}. *out is the caller's
 * (alts_free).
 */
int payload_message(char **out, const struct task_request *r, const char *task_id, struct alts_err *err);

/* 0 when suite (a suite as JSON) loads as a suite file would; else the loader's error. */
int payload_suite_loads(json_t *suite, struct alts_err *err);

/* The queue architecture for a dist_arch (aarch64 for arm64, x86_64 for i686, ...), or NULL. */
const char *payload_queue_arch(const char *arch);
/* Every architecture payload_queue_arch() knows, comma-separated. */
const char *payload_known_archs(void);
/* runner_type through rules->runner_map (unmapped names stay). */
const char *payload_map_runner(const struct payload_rules *rules, const char *runner);
/* True for the registered runners (runner_names()) and the wildcard "any". */
bool payload_runner_known(const char *runner);
/*
 * Resolves runner ("any": the first configured runner) and arch into a
 * queue name written to buf. ALTS_EINVALID when either is not allowed.
 */
int payload_route(char *buf, size_t size, const struct payload_rules *rules, const char *runner, const char *arch,
		  const char **runner_out, struct alts_err *err);

#endif
