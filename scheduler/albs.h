#ifndef ALTS_SCHED_ALBS_H
#define ALTS_SCHED_ALBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "scheduler/store.h"

/*
 * What the AlmaLinux Build System (albs-web-server) reads from ALTS: the
 * callback body {"api_version": "20210512", "result": SUMMARY, "stats":
 * STATS} built from alts's own result document (docs/albs.md has the
 * mapping). The Build System marks a task FAILED when any key of SUMMARY
 * but tests/logs/skipped_tests lacks a true .success, or any tests.* does;
 * CANCELLED on result.revoked; it hands every logs[].href to Pulp.
 */

#define ALBS_API_VERSION "20210512"

/*
 * SUMMARY and STATS for a task: state (finished, failed, canceled), its
 * result document (JSON text or NULL), its artifacts (JSON object name ->
 * URL, or NULL), the worker's error, its times (Unix ms, 0: unknown).
 * A canceled task without a result gives {"revoked": true} and {}.
 * *summary and *stats are the caller's (json_decref); NULL on ENOMEM.
 */
struct albs_task {
	const char *state;
	const char *result;
	const char *artifacts;
	const char *error;
	int64_t created_ms;
	int64_t started_ms;
	int64_t finished_ms;
};
int albs_summary(const struct albs_task *t, json_t **summary, json_t **stats);

/* The callback body for t as compact JSON text; the caller's (free()). NULL on ENOMEM. */
char *albs_callback_body(const struct albs_task *t);

/* ISO 8601 as Python's datetime.isoformat() of a naive UTC time: 2026-12-04T11:39:31.123456. */
void albs_iso(char buf[40], double epoch_seconds);

/*
 * urllib.parse.urljoin(base, href) for the hrefs the Build System sends:
 * an absolute http(s) href stays; "/path" replaces base's path; another
 * relative href is resolved against base's directory. *out is the
 * caller's (alts_free). ALTS_EINVALID when base is not http(s)://host...
 */
int albs_join_url(char **out, const char *base, const char *href, struct alts_err *err);

/* third_party_test_<name>: name with every character but [A-Za-z0-9._-] as '_'. */
char *albs_third_party_key(const char *name);

#endif
