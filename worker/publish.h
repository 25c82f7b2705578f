#ifndef ALTS_WORKER_PUBLISH_H
#define ALTS_WORKER_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/err.h"

/*
 * The report publisher: one thread with its own RabbitMQ connection
 * (publisher confirms on channel 1) that sends reports to the results
 * queue (durable), in order. A report that is not
 * confirmed (the broker went away, a nack) is sent again after a
 * reconnect with backoff. rabbitmq-c connections are not thread-safe, so
 * only this thread touches its connection; task threads hand reports
 * over with publisher_send().
 *
 * With scheduler_url set, reports go straight to the scheduler first
 * (worker/report_http.h): a final one from the sending thread, with a
 * short bounded retry; a held one from the thread when it is due, once.
 * Only what the scheduler did not take (refused, unreachable, 5xx, a bad
 * token: logged) goes the broker's way as above, so a scheduler outage
 * loses nothing; for 3 s after the scheduler could not be reached, reports
 * go there at once. The connection to the broker is opened only then.
 */
struct publisher;
struct worker;

/* Starts the thread; w is borrowed until publisher_stop() (its config is read on every connect). */
int publisher_start(struct publisher **out, struct worker *w, struct alts_err *err);

/*
 * Queues body (copied) for the results queue. durable with scheduler_url:
 * first posts it to the scheduler (0 once it committed it; at most
 * REPORT_HTTP_BUDGET_MS). wait_s > 0: blocks until the
 * broker confirmed it (0), or wait_s passed or the publisher stopped
 * (ALTS_ETIMEOUT; the report stays queued and is still sent when it can
 * be). wait_s == 0: returns at once (0). durable: a persistent message
 * (final reports); else transient, for reports a later one supersedes
 * (the broker confirms those without writing them to disk).
 */
int publisher_send(struct publisher *p, const char *task_id, const char *body, size_t len, double wait_s,
		   bool durable);

/*
 * Holds a transient report (body copied) that a later one of the same
 * task may supersede: for up to hold_ms it is not sent; a later report of
 * the task (held or sent) absorbs it (report_merge: its live-log text and
 * progress travel in the later one), else it is queued when the time is
 * up. A short task's received and running reports thus ride in its final
 * report: one message to the broker instead of four. Returns at once: 0,
 * ALTS_ENOMEM, or ALTS_ECANCELED once the publisher stopped.
 */
int publisher_hold(struct publisher *p, const char *task_id, const char *body, size_t len, long hold_ms);

/* Reports waiting to be confirmed (held ones included). */
size_t publisher_backlog(struct publisher *p);

/*
 * Stops the thread: what is queued gets up to linger_s more seconds to be
 * confirmed, the rest is dropped (and logged); senders still waiting get
 * ALTS_ECANCELED, later sends too. p stays valid until publisher_free.
 * NULL-safe.
 */
void publisher_stop(struct publisher *p, double linger_s);
/* Stops (if needed) and frees p. NULL-safe. */
void publisher_free(struct publisher *p);

/* Drops the connection (e.g. after a config reload); the thread reconnects. */
void publisher_reconnect(struct publisher *p);

#endif
