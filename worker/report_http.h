#ifndef ALTS_WORKER_REPORT_HTTP_H
#define ALTS_WORKER_REPORT_HTTP_H

#include <stddef.h>

#include "framework/err.h"

/*
 * Reports straight to the scheduler: POST <scheduler_url>/internal/tasks/
 * <id>/report with the report JSON the results queue would carry and
 * "Authorization: Bearer <scheduler_token>". The scheduler answers 2xx
 * once the report is committed, so a final report then needs no broker
 * message. Requests go on kept-alive connections: a pool of libcurl easy
 * handles, each taken by one thread at a time, so any number of task
 * threads post at once.
 */
struct report_http;

int report_http_new(struct report_http **out, struct alts_err *err);
/* Closes the pooled connections, frees h (NULL-safe; no post may be running). */
void report_http_free(struct report_http *h);

/*
 * Posts body for task_id to base_url (http(s)://host:port, no trailing
 * path) with token. Up to attempts tries, and never past
 * REPORT_HTTP_BUDGET_MS: a connection failure, a timeout or a 5xx is
 * tried again after a short pause, any other answer is final. 0: the
 * scheduler committed the report (2xx). ALTS_EENV: it could not be
 * reached or failed (5xx); ALTS_EINVALID: it refused the report or the
 * token (4xx: *status tells which, 401/403 a bad token). err says why,
 * with the scheduler's detail. *status: the last HTTP status, 0 without.
 */
#define REPORT_HTTP_BUDGET_MS 10000
int report_http_post(struct report_http *h, const char *base_url, const char *token, const char *task_id,
		     const char *body, size_t len, int attempts, long *status, struct alts_err *err);

#endif
