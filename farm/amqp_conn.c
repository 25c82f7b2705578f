#include "framework/common.h"
#include "framework/log.h"
#include "farm/amqp_conn.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#define AMQP_CONN_TIMEOUT_S 5
#define AMQP_CONN_FRAME_MAX 131072

int amqp_conn_port(const struct farm_config *c)
{
	return (int)(c->use_ssl ? c->rabbitmq_ssl_port : c->rabbitmq_port);
}

bool amqp_conn_rpc_ok(amqp_connection_state_t conn, const char *who, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return true;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		alts_log(ALTS_LOG_WARN, who, "%s failed: %s", what, amqp_error_string2(r.library_error));
	else
		alts_log(ALTS_LOG_WARN, who, "%s failed: broker error (method 0x%08x)", what, (unsigned)r.reply.id);
	return false;
}

void amqp_conn_close(amqp_connection_state_t *conn, bool clean)
{
	if (!*conn)
		return;
	if (clean) {
		amqp_channel_close(*conn, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(*conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(*conn);
	*conn = NULL;
}

static amqp_socket_t *new_socket(amqp_connection_state_t conn, const struct farm_config *c, const char *who)
{
	amqp_socket_t *sock;

	if (!c->use_ssl)
		return amqp_tcp_socket_new(conn);
	sock = amqp_ssl_socket_new(conn);
	if (!sock)
		return NULL;
	amqp_ssl_socket_set_verify_peer(sock, c->rabbitmq_ssl_verify_peer);
	amqp_ssl_socket_set_verify_hostname(sock, c->rabbitmq_ssl_verify_peer);
	if ((c->rabbitmq_ssl_cacert && amqp_ssl_socket_set_cacert(sock, c->rabbitmq_ssl_cacert)) ||
	    (c->rabbitmq_ssl_cert && c->rabbitmq_ssl_key &&
	     amqp_ssl_socket_set_key(sock, c->rabbitmq_ssl_cert, c->rabbitmq_ssl_key))) {
		alts_log(ALTS_LOG_ERROR, who, "cannot load the TLS CA, certificate or key");
		return NULL;
	}
	return sock;
}

int amqp_conn_open(amqp_connection_state_t *out, const struct farm_config *c, int heartbeat, const char *who)
{
	struct timeval tv = { AMQP_CONN_TIMEOUT_S, 0 };
	int port = amqp_conn_port(c);
	amqp_connection_state_t conn = amqp_new_connection();
	amqp_socket_t *sock;
	amqp_rpc_reply_t r;
	int status;

	*out = NULL;
	if (!conn)
		return ALTS_ENOMEM;
	sock = new_socket(conn, c, who);
	if (!sock)
		goto fail;
	amqp_set_handshake_timeout(conn, &tv);
	amqp_set_rpc_timeout(conn, &tv);
	status = amqp_socket_open_noblock(sock, c->rabbitmq_host, port, &tv);
	if (status != AMQP_STATUS_OK) {
		alts_log(ALTS_LOG_INFO, who, "cannot connect to %s:%d: %s", c->rabbitmq_host, port,
			 amqp_error_string2(status));
		goto fail;
	}
	r = amqp_login(conn, c->rabbitmq_vhost, 0, AMQP_CONN_FRAME_MAX, heartbeat, AMQP_SASL_METHOD_PLAIN,
		       c->rabbitmq_user, c->rabbitmq_password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		alts_log(ALTS_LOG_WARN, who, "cannot log in to %s:%d as '%s' (vhost '%s')", c->rabbitmq_host, port,
			 c->rabbitmq_user, c->rabbitmq_vhost);
		goto fail;
	}
	amqp_channel_open(conn, 1);
	if (!amqp_conn_rpc_ok(conn, who, "channel.open")) {
		amqp_conn_close(&conn, false);
		return ALTS_ERROR;
	}
	alts_log(ALTS_LOG_INFO, who, "connected to %s:%d", c->rabbitmq_host, port);
	*out = conn;
	return 0;
fail:
	amqp_destroy_connection(conn);
	return ALTS_ERROR;
}
