#include "framework/common.h"
#include "framework/log.h"
#include "farm/amqp_conn.h"
#include "farm/queue_name.h"
#include "scheduler/queue_probe.h"

#include <pthread.h>
#include <sys/time.h>
#include <time.h>

#define PROBE_CACHE 64
#define PROBE_TTL_MS 1000
#define PROBE_RETRY_MS 5000  /* after a failed connect */
#define PROBE_RPC_TIMEOUT_S 2

struct probe_entry {
	char queue[QUEUE_NAME_MAX + 1];
	int rc;
	long consumers, messages;
	int64_t at_ms;
};

struct queue_probe {
	const struct farm_config *cfg;
	pthread_mutex_t lock;
	amqp_connection_state_t conn;
	int64_t down_until_ms;
	struct probe_entry cache[PROBE_CACHE];
	size_t next;  /* the entry replaced next (round robin) */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct queue_probe *queue_probe_new(const struct farm_config *cfg)
{
	struct queue_probe *p = alts_calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = cfg;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void queue_probe_free(struct queue_probe *p)
{
	if (!p)
		return;
	if (p->conn)
		amqp_conn_close(&p->conn, true);
	pthread_mutex_destroy(&p->lock);
	alts_free(p);
}

/* A 404 closes the channel, not the connection: acknowledge and reopen it. */
static bool reopen_channel(struct queue_probe *p)
{
	amqp_channel_close_ok_t ok = { 0 };

	if (amqp_send_method(p->conn, 1, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK)
		return false;
	amqp_channel_open(p->conn, 1);
	return amqp_get_rpc_reply(p->conn).reply_type == AMQP_RESPONSE_NORMAL;
}

/* Asks the broker; called with the lock held. */
static int ask(struct queue_probe *p, const char *queue, long *consumers, long *messages)
{
	amqp_queue_declare_ok_t *ok;
	amqp_rpc_reply_t reply;
	int64_t now = mono_ms();

	if (!p->conn) {
		if (now < p->down_until_ms)
			return ALTS_ERROR;
		if (amqp_conn_open(&p->conn, p->cfg, 0, "probe")) {
			p->conn = NULL;
			p->down_until_ms = now + PROBE_RETRY_MS;
			return ALTS_ERROR;
		}
		/* An HTTP answer waits on this: a broker that does not answer soon is "cannot be asked". */
		amqp_set_rpc_timeout(p->conn, &(struct timeval){ PROBE_RPC_TIMEOUT_S, 0 });
	}
	ok = amqp_queue_declare(p->conn, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
	if (ok) {
		*consumers = (long)ok->consumer_count;
		*messages = (long)ok->message_count;
		return 0;
	}
	reply = amqp_get_rpc_reply(p->conn);
	if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
	    ((amqp_channel_close_t *)reply.reply.decoded)->reply_code == AMQP_NOT_FOUND) {
		if (reopen_channel(p))
			return ALTS_ENOTFOUND;
	}
	alts_log(ALTS_LOG_INFO, "probe", "cannot ask the broker about queue '%s'; reconnecting on next use", queue);
	amqp_conn_close(&p->conn, false);
	return ALTS_ERROR;
}

int queue_probe_get(struct queue_probe *p, const char *queue, long *consumers, long *messages)
{
	struct probe_entry *e = NULL;
	int64_t now = mono_ms();
	int rc;

	if (!p || strlen(queue) > QUEUE_NAME_MAX)
		return ALTS_ERROR;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < PROBE_CACHE; i++) {
		if (p->cache[i].at_ms && !strcmp(p->cache[i].queue, queue))
			e = &p->cache[i];
	}
	if (!e || now - e->at_ms > PROBE_TTL_MS) {
		if (!e) {
			e = &p->cache[p->next];
			p->next = (p->next + 1) % PROBE_CACHE;
			snprintf(e->queue, sizeof(e->queue), "%s", queue);
		}
		e->consumers = e->messages = 0;
		e->rc = ask(p, queue, &e->consumers, &e->messages);
		e->at_ms = mono_ms();
	}
	rc = e->rc;
	*consumers = e->consumers;
	*messages = e->messages;
	pthread_mutex_unlock(&p->lock);
	return rc;
}
