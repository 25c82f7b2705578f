#ifndef ALTS_WORKER_CONSUMER_H
#define ALTS_WORKER_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "framework/err.h"
#include "worker/pool.h"

/*
 * The consumer: one thread owning the RabbitMQ connection that consumes
 * the task queues (durable, prefetch = concurrency, manual acks) and the
 * worker's exclusive cancel queue (bound to the fanout cancel_exchange).
 * Task deliveries go to the pool, each job carrying consumer_settle() as
 * its settle callback (the pool and the task threads never call up into
 * the consumer); acks and rejects are queued and sent by this thread, on
 * the connection the delivery came from (a settle for an older connection is dropped: the
 * broker already requeued that delivery). Heartbeats run on this
 * connection: the thread waits for deliveries at most 100 ms at a time.
 * Reconnects with backoff (250 ms doubling to 10 s).
 */
struct consumer;
struct worker;

int consumer_start(struct consumer **out, struct worker *w, struct alts_err *err);
/* Queues an ack or reject of delivery tag on connection generation gen. */
void consumer_settle(struct consumer *c, uint64_t gen, uint64_t tag, enum settle how);
/* Stops taking tasks (basic.cancel); acks still flow. */
void consumer_pause(struct consumer *c);
/* Reconnects (a reload changed the queues or the broker settings). */
void consumer_reconnect(struct consumer *c);
/* True while connected. */
bool consumer_connected(struct consumer *c);
/* Sends the settles still queued, closes the connection, joins; frees c. NULL-safe. */
void consumer_stop(struct consumer *c);

#endif
