#ifndef ALTS_SCHED_SETTINGS_H
#define ALTS_SCHED_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "farm/farm_config.h"

/*
 * The scheduler's configuration: the farm's (farm/farm_config.h: broker,
 * queues, artifact stores, ...) and the scheduler's own keys, decoded from
 * one file as two key tables (configs/example_config.yaml documents every
 * key). The JWT secret may come from ALTS_JWT_SECRET (wins over the file)
 * or from jwt_secret_file. Everything lives in farm.arena until
 * settings_free().
 */
struct settings {
	struct farm_config farm;

	const char *jwt_secret;              /* secret */
	const char *jwt_secret_file;
	const char *hashing_algorithm;       /* HS256, HS384, HS512 */

	const char *database;                /* SQLite file; default <working_directory>/scheduler.db */
	struct strlist supported_architectures;
	struct strlist supported_runners;
	struct strlist supported_distributions;
	bool enable_integrity_tests;         /* ALTS payloads get the integrity check (true) */
	struct strmap runner_types;          /* ALTS runner_type -> alts runner, e.g. docker: sandbox */

	/* The AlmaLinux Build System (docs/albs.md): pull mode and callbacks in ALTS's shape. */
	const char *bs_host;                 /* pull mode on when set; base of relative callback_hrefs */
	const char *bs_token;                /* secret: Bearer for polls and callbacks */
	const char *bs_token_file;
	const char *bs_tasks_endpoint;       /* default /api/v1/tests/get_test_tasks/ */
	double bs_poll_interval;             /* seconds between polls (10) */
	bool bs_pull;                        /* poll bs_host (default: true when bs_host is set) */
	const char *callback_format;         /* "albs" (ALTS's shape) or "native"; default albs with bs_host */

	const char *listen_address;
	long listen_port;
	long max_body_size;                  /* bytes; larger bodies get 413 */
	long threads;                        /* HTTP worker threads */
	long connection_limit;
	double connection_timeout;           /* seconds */
};

/*
* Loads path (NULL: the defaults). ALTS_EINVALID with file:line:col on a bad config,
 * or when no JWT secret is set (the scheduler and alts-token need one).
 * *out is the caller's (settings_free).
 */
int settings_load(struct settings **out, const char *path, struct alts_err *err);
/* Loads from memory; label names it in messages. Reads the environment for secrets. */
int settings_load_buffer(struct settings **out, const char *label, const char *data, size_t len,
			 struct alts_err *err);
void settings_free(struct settings *c);

#endif
