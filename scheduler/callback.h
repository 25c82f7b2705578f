#ifndef ALTS_SCHED_CALLBACK_H
#define ALTS_SCHED_CALLBACK_H

#include "scheduler/store.h"

/*
 * The callback thread: when a task with a callback_href ends (finished
 * or failed, reported on the results queue), POSTs
 *   {"api_version":"1","task_id","bs_task_id","state","result"}
 * to it (libcurl; http/https only, no redirects, 10 s timeout). A 2xx
 * answer delivers it; anything else is retried after 1, 2, 4, 8 s and
 * given up after 5 attempts. Progress lives in the store, so a restart
 * resumes pending callbacks.
 */
struct callbacks;

int callbacks_start(struct callbacks **out, struct store *store, struct alts_err *err);
/* Stops and joins the thread, frees c (NULL-safe). */
void callbacks_stop(struct callbacks *c);

#define CALLBACK_MAX_ATTEMPTS 5

#endif
