#ifndef ALTS_SCHED_QUEUE_PROBE_H
#define ALTS_SCHED_QUEUE_PROBE_H

#include "farm/farm_config.h"

/*
 * How many workers consume a task queue, asked of the broker with a
 * passive queue.declare on a connection of its own (no management
 * plugin), so the task routes can say why a task waits: "no worker
 * consumes queue X". Thread-safe (the HTTP threads share one); answers
 * are cached for a second per queue, and a broker that cannot be reached
 * is not asked again for five seconds.
 */

struct queue_probe;

/* cfg is borrowed until queue_probe_free(). Connects on first use. NULL on OOM. */
struct queue_probe *queue_probe_new(const struct farm_config *cfg);
void queue_probe_free(struct queue_probe *p);

/*
 * The consumers and ready messages of queue. 0, ALTS_ENOTFOUND when the
 * broker has no such queue, ALTS_ERROR when the broker cannot be asked.
 */
int queue_probe_get(struct queue_probe *p, const char *queue, long *consumers, long *messages);

#endif
