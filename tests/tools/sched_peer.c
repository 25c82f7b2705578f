/*
 * sched_peer: plays the worker's side of docs/internals/worker-protocol.md
 * for the scheduler's integration tests (tests only).
 *
 *   sched_peer bind HOST PORT QUEUE EXCHANGE
 *       declares EXCHANGE (durable fanout, as the scheduler does) and the
 *       durable QUEUE, and binds them: cancels published afterwards wait in
 *       QUEUE for amqp_get. guest/guest, vhost /.
 *   sched_peer put CONFIG KEY FILE
 *       stores FILE as KEY in the artifact store CONFIG (a scheduler or
 *       worker config) names, as a worker would.
 *
 * Exit 0, 2 on usage, 3 when the broker or the store fails.
 */
#include "framework/common.h"
#include "engine/config_load.h"
#include "reporters/stores/artifact_store.h"
#include "farm/farm_config.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

static int peer_bind(const char *host, const char *port, const char *queue, const char *exchange)
{
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(conn);
	struct timeval tv = { 5, 0 };
	int status = 0;

	if (!sock || amqp_socket_open_noblock(sock, host, (int)strtol(port, NULL, 10), &tv) != AMQP_STATUS_OK ||
	    amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
		    AMQP_RESPONSE_NORMAL) {
		fprintf(stderr, "sched_peer: cannot connect to %s:%s\n", host, port);
		amqp_destroy_connection(conn);
		return 3;
	}
	amqp_channel_open(conn, 1);
	amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
			      amqp_empty_table);
	if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
		status = 3;
	if (!status) {
		amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
		if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
			status = 3;
	}
	if (!status) {
		amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_empty_bytes,
				amqp_empty_table);
		if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
			status = 3;
	}
	if (status) {
		fprintf(stderr, "sched_peer: cannot bind '%s' to '%s'\n", queue, exchange);
	} else {
		amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(conn);
	return status;
}

static int peer_put(const char *config, const char *key, const char *file)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct farm_config *cfg = NULL;
	struct artifact_store *store = NULL;
	struct artifact_store_config scfg;
	int rc;

	rc = farm_config_load(&cfg, config, &err);
	if (!rc) {
		farm_config_artifact_store(cfg, &scfg);
		rc = artifact_store_open(&store, &scfg, &err);
	}
	if (!rc)
		rc = artifact_store_put_file(store, key, file, NULL, &err);
	if (rc)
		fprintf(stderr, "sched_peer: %s\n", err.msg);
	artifact_store_free(store);
	farm_config_free(cfg);
	return rc ? 3 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "bind"))
		return peer_bind(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 5 && !strcmp(argv[1], "put"))
		return peer_put(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: sched_peer bind HOST PORT QUEUE EXCHANGE | put CONFIG KEY FILE\n");
	return 2;
}
