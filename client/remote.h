#ifndef ALTS_CLIENT_REMOTE_H
#define ALTS_CLIENT_REMOTE_H

#include <stdbool.h>
#include <stdio.h>

/*
 * A client of the scheduler's REST API (ALTS-compatible, libcurl):
 *   POST {url}/tasks/schedule      body: the request      -> 201 {"task_id"}
 *   GET  {url}/tasks/{id}          {"state", optional "checks_done", "checks_total"}
 *        until state is finished, failed or canceled
 *   GET  {url}/tasks/{id}/log?offset=N   the log from byte N (with follow; 404: not offered)
 *   GET  {url}/tasks/{id}/report.xml, /report.tap    saved as is (404: skipped)
 *   GET  {url}/tasks/{id}/result   {"result": {...}}  saved as result.json
 *   GET  {url}/tasks/{id}/logs/{name}   each log named in the result, under logs/
 * Every request carries "Authorization: Bearer <token>" when a token is set.
 */

struct remote_opts {
	const char *url;        /* scheduler base URL, http or https */
	const char *token;      /* bearer token, or NULL; never logged or printed */
	const char *out_dir;    /* where reports and logs go; created */
	bool follow;            /* stream the task's log to stdout */
	FILE *progress;         /* progress lines go here; NULL: none */
	bool progress_tty;      /* rewrite one line (\r) instead of printing changes */
	double poll_interval;   /* seconds between polls; <= 0: 2 */
	double timeout;         /* give up after this many seconds; <= 0: never */
	volatile const int *cancel;  /* set (by a signal handler) to stop waiting */
};

#define REMOTE_OPTS_INIT { NULL, NULL, NULL, false, NULL, false, 2.0, 0, NULL }

/*
 * Submits body (a JSON object: {"suite": "<yaml>"} or an ALTS payload),
 * waits for the task to end, and downloads what it left into out_dir.
 * *status gets the run's exit status (0 pass, 1 a check failed, 3 the
 * environment failed), from the result's summary when there is one.
 * Returns 0 when the task ended and *status is set; ALTS_EINVALID when
 * the scheduler refused the request or the token (4xx); ALTS_ETIMEOUT,
 * ALTS_ECANCELED; ALTS_EENV when the scheduler cannot be reached or
 * fails (5xx, unreadable answers); ALTS_ERROR when out_dir cannot be
 * written.
 */
int remote_run(int *status, const struct remote_opts *opts, const char *body, struct alts_err *err);

#endif
