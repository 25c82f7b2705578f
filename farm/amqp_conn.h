#ifndef ALTS_FARM_AMQP_CONN_H
#define ALTS_FARM_AMQP_CONN_H

#include <amqp.h>
#include <stdbool.h>

#include "farm/farm_config.h"

/*
 * One RabbitMQ connection as the config describes it (host, port or TLS
 * port with CA/cert/key, user, password, vhost), with channel 1 open.
 * Shared by the scheduler's outbox and results consumer and by the
 * worker. The password is never logged; `who` names the caller in logs.
 */

/*
 * Connects, logs in and opens channel 1. heartbeat is in seconds (0:
 * none). 0 with *out set, or ALTS_ERROR (logged at INFO/WARN, since
 * callers retry with backoff) or ALTS_ENOMEM.
 */
int amqp_conn_open(amqp_connection_state_t *out, const struct farm_config *c, int heartbeat, const char *who);

/* Closes (cleanly when `clean`: the socket is believed alive) and destroys *conn; sets it NULL. */
void amqp_conn_close(amqp_connection_state_t *conn, bool clean);

/* True when the last RPC on conn succeeded; logs what failed otherwise. */
bool amqp_conn_rpc_ok(amqp_connection_state_t conn, const char *who, const char *what);

/* The port the config connects to (the TLS port when use_ssl). */
int amqp_conn_port(const struct farm_config *c);

#endif
