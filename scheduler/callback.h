#ifndef ALTS_SCHED_CALLBACK_H
#define ALTS_SCHED_CALLBACK_H

#include "scheduler/store.h"

/*
 * The callback thread: when a task with a callback_href ends (finished
 * or failed, reported on the results queue; or canceled: at once when it
 * never ran, else once its worker stopped it), POSTs its result to it
 * (libcurl; http/https only, no redirects, 10 s timeout). A relative
 * href is joined with bs_host as ALTS does (urljoin). Bodies:
 *   native  {"api_version":"1","task_id","bs_task_id","state","result"};
 *           retried after 1, 2, 4, 8 s, given up after 5 attempts
 *   albs    ALTS's {"api_version":"20210512","result","stats"}
 *           (scheduler/albs.h) with "Authorization: Bearer <bs_token>";
 *           retried with a backoff capped at 60 s for a week, so a Build
 *           System outage loses no callback
 * A 2xx answer delivers it. Progress lives in the store (the outbox), so
 * a restart resumes pending callbacks.
 */
struct callbacks;

enum callback_format { CALLBACK_NATIVE, CALLBACK_ALBS };

struct callback_opts {
	enum callback_format format;
	const char *bs_host;   /* base of relative hrefs; NULL: none */
	const char *bs_token;  /* albs: the Bearer token; NULL: none */
};

/* opts is copied (its strings are borrowed for the thread's life); NULL: native, no bs_host. */
int callbacks_start(struct callbacks **out, struct store *store, const struct callback_opts *opts,
		    struct alts_err *err);
/* Stops and joins the thread, frees c (NULL-safe). */
void callbacks_stop(struct callbacks *c);

#define CALLBACK_MAX_ATTEMPTS 5
#define CALLBACK_ALBS_BACKOFF_MAX_MS ((int64_t)60000)
#define CALLBACK_ALBS_MAX_ATTEMPTS (7 * 24 * 60)

#endif
