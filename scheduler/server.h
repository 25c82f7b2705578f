#ifndef ALTS_SCHED_SERVER_H
#define ALTS_SCHED_SERVER_H

#include "scheduler/outbox.h"
#include "scheduler/settings.h"
#include "scheduler/store.h"

/*
 * The scheduler's HTTP API on libmicrohttpd: epoll with a pool of
 * cfg->threads threads, cfg->connection_limit connections,
 * cfg->connection_timeout idle timeout, bodies over cfg->max_body_size
 * refused with 413. Routes and payloads: docs/rest-api.md.
 */
struct sched_server;

struct artifact_store;

/* What the server serves besides the task store; everything borrowed until server_stop(). */
struct server_options {
	struct artifact_store *artifacts;  /* reports and logs (GET /tasks/{id}/report.tap ...); NULL: 503 */
	const char *ui_dir;                /* swagger-ui-dist files for GET /docs; NULL: 404 */
};

/*
 * Starts listening on cfg->listen_address:cfg->listen_port (0: any free
 * port, see server_port()). cfg, store, outbox and opts' members are
 * borrowed until server_stop(); outbox may be NULL (tasks then stay
 * unpublished), opts may be NULL (no artifacts, no /docs). The artifact
 * store is read from several HTTP threads at once.
 */
int server_start(struct sched_server **out, const struct settings *cfg, struct store *store,
		 struct outbox *outbox, const struct server_options *opts, struct alts_err *err);
/* The port actually bound. */
int server_port(const struct sched_server *s);
/* Stops accepting, finishes in-flight requests, frees s (NULL-safe). */
void server_stop(struct sched_server *s);

#endif
