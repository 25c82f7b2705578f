#ifndef ALTS_SCHED_OUTBOX_H
#define ALTS_SCHED_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "framework/sbuf.h"
#include "farm/farm_config.h"
#include "scheduler/store.h"

/*
 * The outbox: one thread that publishes committed, unpublished tasks to
 * RabbitMQ (durable queue named by the task's route, persistent message,
 * publisher confirms) and marks them published once the broker confirms.
 * When the broker is away it reconnects with backoff (0.25 s doubling to
 * 10 s) and republishes whatever was not confirmed: a task may reach its
 * queue twice after a broker crash (workers dedupe by task_id), never
 * zero times.
 *
 * It also announces cancels: a task canceled after it was published (or
 * while running) has cancel_pending in the store; the outbox publishes
 * {"task_id"} to the durable fanout exchange cfg->cancel_exchange
 * (persistent, confirmed) and clears the flag on confirm, so a cancel
 * made while the broker is away is sent when it comes back.
 */
struct outbox;

/* Starts the thread. cfg and store are borrowed until outbox_stop(). */
int outbox_start(struct outbox **out, struct store *store, const struct farm_config *cfg, struct alts_err *err);
/* Wakes the thread: a task was committed or canceled. Thread-safe, cheap. */
void outbox_kick(struct outbox *o);
/* Stops and joins the thread, frees o (NULL-safe). */
void outbox_stop(struct outbox *o);
/* True while connected to the broker. */
bool outbox_connected(struct outbox *o);
/* Appends the outbox's Prometheus metrics to sb. */
void outbox_metrics(struct outbox *o, struct sbuf *sb);

#endif
