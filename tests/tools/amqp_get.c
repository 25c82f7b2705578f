/*
 * amqp_get: drains a RabbitMQ queue with basic.get and prints one message
 * body per line (tests only). Usage: amqp_get HOST PORT QUEUE [MAX]
 * or amqp_get HOST PORT QUEUE --publish BODY (declares QUEUE durable and
 * publishes BODY to it, persistent), or amqp_get HOST PORT QUEUE --publish-size N
 * (publishes a body of N bytes of 'x', for the worker's size limit).
 * (user/password guest/guest, vhost /). Exit 0, or 3 when the broker
 * cannot be reached or the queue does not exist.
 */
#include "framework/common.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

int main(int argc, char **argv)
{
	amqp_connection_state_t conn;
	amqp_socket_t *sock;
	struct timeval tv = { 5, 0 };
	long max = argc > 4 && strncmp(argv[4], "--publish", 9) ? strtol(argv[4], NULL, 10) : LONG_MAX;
	char *big = NULL;
	int status = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: amqp_get HOST PORT QUEUE [MAX]\n");
		return 2;
	}
	conn = amqp_new_connection();
	sock = amqp_tcp_socket_new(conn);
	if (!sock || amqp_socket_open_noblock(sock, argv[1], (int)strtol(argv[2], NULL, 10), &tv) != AMQP_STATUS_OK ||
	    amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
		    AMQP_RESPONSE_NORMAL) {
		fprintf(stderr, "amqp_get: cannot connect to %s:%s\n", argv[1], argv[2]);
		amqp_destroy_connection(conn);
		return 3;
	}
	amqp_channel_open(conn, 1);
	if (argc > 5 && !strcmp(argv[4], "--publish-size")) {
		size_t n = (size_t)strtoul(argv[5], NULL, 10);

		big = alts_malloc(n + 1);
		if (!big)
			return 3;
		memset(big, 'x', n);
		big[n] = '\0';
		argv[4] = (char *)"--publish";
		argv[5] = big;
	}
	if (argc > 5 && !strcmp(argv[4], "--publish")) {
		amqp_basic_properties_t props;

		memset(&props, 0, sizeof(props));
		props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
		props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
		amqp_queue_declare(conn, 1, amqp_cstring_bytes(argv[3]), 0, 1, 0, 0, amqp_empty_table);
		if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL ||
		    amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(argv[3]), 0, 0, &props,
				       amqp_cstring_bytes(argv[5])) != AMQP_STATUS_OK)
			status = 3;
		max = 0;
	}
	for (long n = 0; n < max; n++) {
		amqp_rpc_reply_t r = amqp_basic_get(conn, 1, amqp_cstring_bytes(argv[3]), 1);
		amqp_message_t msg;

		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			fprintf(stderr, "amqp_get: basic.get on '%s' failed\n", argv[3]);
			status = 3;
			break;
		}
		if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
			break;
		if (amqp_read_message(conn, 1, &msg, 0).reply_type != AMQP_RESPONSE_NORMAL) {
			status = 3;
			break;
		}
		fwrite(msg.body.bytes, 1, msg.body.len, stdout);
		fputc('\n', stdout);
		amqp_destroy_message(&msg);
	}
	if (status != 3) {
		amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(conn);
	alts_free(big);
	return status;
}
