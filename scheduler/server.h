#ifndef ALTS_SCHED_SERVER_H
#define ALTS_SCHED_SERVER_H

#include "scheduler/outbox.h"
#include "scheduler/sched_config.h"
#include "scheduler/store.h"

/*
 * The scheduler's HTTP API on libmicrohttpd: epoll with a pool of
 * cfg->threads threads, cfg->connection_limit connections,
 * cfg->connection_timeout idle timeout, bodies over cfg->max_body_size
 * refused with 413. Routes and payloads: docs/rest-api.md.
 */
struct sched_server;

/*
 * Starts listening on cfg->listen_address:cfg->listen_port (0: any free
 * port, see server_port()). cfg, store and outbox are borrowed until
 * server_stop(); outbox may be NULL (tasks then stay unpublished).
 */
int server_start(struct sched_server **out, const struct sched_config *cfg, struct store *store,
		 struct outbox *outbox, struct alts_err *err);
/* The port actually bound. */
int server_port(const struct sched_server *s);
/* Stops accepting, finishes in-flight requests, frees s (NULL-safe). */
void server_stop(struct sched_server *s);

#endif
