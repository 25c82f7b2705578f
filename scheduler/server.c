#include "framework/common.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "farm/msg.h"
#include "reporters/stores/artifact_store.h"
#include "scheduler/auth.h"
#include "scheduler/intake.h"
#include "scheduler/payload.h"
#include "scheduler/queue_probe.h"
#include "scheduler/results.h"
#include "scheduler/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define API_VERSION "20210512"  /* ALTS's */
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500
#define CANCEL_IDS_MAX 1000
#define ARTIFACT_MAX ((size_t)64 << 20)  /* reports and logs served whole, up to this size */
#define NAME_MAX_LEN 255
#define INTERNAL_ERROR_DETAIL "internal error; see the scheduler's log"  /* the cause is logged, not sent */
#define STOP_DRAIN_MS 2000  /* answers to committed tasks may take this long at shutdown */

extern const unsigned char sched_openapi_json[];
extern const size_t sched_openapi_json_len;

enum route {
	R_HEALTH,
	R_METRICS,
	R_OPENAPI,
	R_SCHEDULE,
	R_LIST,
	R_GET,
	R_RESULT,
	R_CANCEL,
	R_CANCEL_TASKS,
	R_REPORT,
	R_LOGS,
	R_LIVE_LOG,
	R_DOCS,
	R_WORKER_REPORT,
	R_OTHER,
	R_MAX,
};

static const char *const route_names[R_MAX] = {
	"health", "metrics", "openapi", "schedule", "list", "get", "result", "cancel", "cancel_tasks", "report", "logs",
	"live_log", "docs", "worker_report", "other",
};

static const int status_codes[] = { 200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 502, 503 };
#define NSTATUS ALTS_ARRAY_SIZE(status_codes)

struct sched_server {
	const struct settings *cfg;
	struct store *store;
	struct outbox *outbox;
	struct intake *intake;  /* group commit of POST /tasks/schedule */
	struct auth_cache *auth_cache;
	struct queue_probe *probe;  /* consumers of a queue, for queued tasks; NULL without an outbox */
	atomic_int in_intake;   /* requests handed to it and not yet answered */
	struct artifact_store *artifacts;  /* shared by the HTTP threads: every backend is thread-safe after open */
	const char *ui_dir;
	struct payload_rules rules;
	struct MHD_Daemon *daemon;
	int port;
	atomic_uint_fast64_t requests[R_MAX][NSTATUS];
};

enum intake_state { NOT_HANDED, VALIDATED, COMMITTING, COMMITTED };

/* One request: its body and everything parsed from it, freed at completion. */
struct request {
	struct arena *arena;
	struct sbuf body;
	long limit;  /* body bytes taken: max_body_size, or REPORT_MAX_BYTES for a worker's report */
	bool too_large;
	enum { NOT_ANSWERED, ANSWERED, ANSWERED_RAW } answered;  /* a response went before the body's end */
	size_t discarded;  /* body bytes read after an ANSWERED_RAW answer */
	/* POST /tasks/schedule: suspended while its task is in the intake. */
	enum intake_state intake;
	struct intake_task task;
	struct MHD_Connection *conn;
	char id[37];
	char *message;
	const char *idem_key;  /* Idempotency-Key (in arena), or NULL */
	char idem_hash[65];    /* SHA-256 of the body, hex */
};

/* ---- responses --------------------------------------------------------- */

static void count_request(struct sched_server *s, enum route r, unsigned status)
{
	for (size_t i = 0; i < NSTATUS; i++) {
		if ((unsigned)status_codes[i] == status) {
			atomic_fetch_add(&s->requests[r][i], 1);
			return;
		}
	}
}

static enum MHD_Result send_body(struct sched_server *s, struct MHD_Connection *c, enum route r, unsigned status,
				 const char *type, const char *body, size_t len, const char *allow)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	count_request(s, r, status);
	return ret;
}

/* Sends j (stolen) as JSON. */
static enum MHD_Result send_json(struct sched_server *s, struct MHD_Connection *c, enum route r, unsigned status,
				 json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(j);
	if (!text)
		return send_body(s, c, r, 500, "application/json", "{\"detail\":\"out of memory\"}", 26, NULL);
	ret = send_body(s, c, r, status, "application/json", text, strlen(text), NULL);
	free(text);
	return ret;
}

static enum MHD_Result send_error_allow(struct sched_server *s, struct MHD_Connection *c, enum route r,
					unsigned status, const char *allow, const char *detail)
{
	json_t *j = json_pack("{s:s}", "detail", detail);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(j);
	if (!text)
		return send_body(s, c, r, 500, "application/json", "{\"detail\":\"out of memory\"}", 26, NULL);
	ret = send_body(s, c, r, status, "application/json", text, strlen(text), allow);
	free(text);
	return ret;
}

static enum MHD_Result send_error(struct sched_server *s, struct MHD_Connection *c, enum route r, unsigned status,
				  const char *detail)
{
	return send_error_allow(s, c, r, status, NULL, detail);
}

/*
 * Sends status with detail and closes the connection after it: what
 * follows a request of doubtful framing (RFC 9112 6.3) or an unread body
 * is not a request to serve.
 */
static enum MHD_Result send_error_close(struct sched_server *s, struct MHD_Connection *c, enum route r,
					unsigned status, const char *detail)
{
	json_t *j = json_pack("{s:s}", "detail", detail);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(j);
	resp = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY) : NULL;
	free(text);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	count_request(s, r, status);
	return ret;
}

/* Maps an error code to its status: invalid input 400, not found 404, else 500. */
static enum MHD_Result send_err(struct sched_server *s, struct MHD_Connection *c, enum route r,
				const struct alts_err *err)
{
	if (err->code == ALTS_EINVALID)
		return send_error(s, c, r, 400, err->msg);
	if (err->code == ALTS_ENOTFOUND)
		return send_error(s, c, r, 404, err->msg);
	alts_log(ALTS_LOG_ERROR, "http", "%s", err->msg);
	return send_error(s, c, r, 500, INTERNAL_ERROR_DETAIL);
}

/* ---- helpers ----------------------------------------------------------- */

/*
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74
 * random bits. Ids of successive tasks sort by time, so each one lands at
 * the right edge of the store's id index instead of on a random page: a
 * group commit then writes a few index pages, not one per task.
 * Randomness comes from getrandom() in blocks, per thread.
 */
static int new_task_id(char out[37])
{
	static _Thread_local unsigned char pool[256];
	static _Thread_local size_t used = sizeof(pool);
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;

	if (used + 10 > sizeof(pool)) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			return ALTS_EENV;
		used = 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	memcpy(b + 6, pool + used, 10);
	memset(pool + used, 0, 10);  /* used once */
	used += 10;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static bool task_id_ok(const char *id, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i])) {
			return false;
		}
	}
	return true;
}

static json_t *iso_time(int64_t ms)
{
	char buf[96];
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&secs, &tm))
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return json_string(buf);
}

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Stored JSON text, or fallback (stolen) when absent or unreadable. */
static json_t *stored_json(const char *text, json_t *fallback)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (!j)
		return fallback;
	json_decref(fallback);
	return j;
}

/*
 * Why a published, queued task waits when no worker can take it: extra
 * keys "consumers" and "reason" (ALTS's clients ignore keys they do not
 * know). Nothing when the broker cannot be asked.
 */
static int add_waiting(struct sched_server *s, const struct store_task *t, json_t *j)
{
	long consumers = 0, messages = 0;
	int rc;

	if (!s->probe || strcmp(t->state, "queued") || !t->published)
		return 0;
	rc = queue_probe_get(s->probe, t->queue, &consumers, &messages);
	if (rc == ALTS_ERROR)
		return 0;
	if (json_object_set_new(j, "consumers", json_integer(rc ? 0 : consumers)))
		return ALTS_ENOMEM;
	if (!rc && consumers > 0)
		return 0;
	return json_object_set_new(j, "reason",
				   rc ? json_sprintf("queue '%s' does not exist on the broker", t->queue)
				      : json_sprintf("no worker consumes queue '%s'", t->queue))
		       ? ALTS_ENOMEM
		       : 0;
}

static json_t *task_json(struct sched_server *s, const struct store_task *t)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o,s:o}", "task_id", t->id, "state", t->state,
			      "queue", t->queue, "bs_task_id", json_str_or_null(t->bs_task_id), "published",
			      t->published, "created_at", iso_time(t->created_ms), "updated_at", iso_time(t->updated_ms),
			      "published_at", iso_time(t->published_ms), "started_at", iso_time(t->started_ms),
			      "finished_at", iso_time(t->finished_ms));

	if (!j)
		return NULL;
	if (json_object_set_new(j, "worker", json_str_or_null(t->worker)) ||
	    json_object_set_new(j, "progress",
				t->has_progress ? json_pack("{s:I,s:I}", "done", (json_int_t)t->progress_done, "total",
							    (json_int_t)t->progress_total)
						: json_null()) ||
	    json_object_set_new(j, "artifacts", stored_json(t->artifacts, json_object())) ||
	    json_object_set_new(j, "artifacts_pending", stored_json(t->artifacts_pending, json_array())) ||
	    json_object_set_new(j, "error", json_str_or_null(t->error)) || add_waiting(s, t, j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static bool content_type_ok(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n;

	if (!ct)
		return true;
	n = strcspn(ct, ";");
	while (n && ct[n - 1] == ' ')
		n--;
	return (n == 16 && !strncasecmp(ct, "application/json", 16)) || (n > 5 && !strncasecmp(ct + n - 5, "+json", 5));
}

/* ---- handlers ---------------------------------------------------------- */

/* ---- Idempotency-Key ---------------------------------------------------- */

#define IDEM_KEY_MAX 255

/* NULL when key is 1..255 visible ASCII characters, else why not. */
static const char *idem_key_problem(const char *key)
{
	size_t n = strlen(key);

	if (!n || n > IDEM_KEY_MAX)
		return "Idempotency-Key: expected 1 to 255 characters";
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return "Idempotency-Key: expected visible ASCII characters only (a UUID, for one)";
	}
	return NULL;
}

static bool body_sha256(char hex[65], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return false;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return true;
}

static enum MHD_Result schedule_accepted(struct sched_server *s, struct MHD_Connection *c, const char *id)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"api_version\":\"%s\",\"success\":true,\"task_id\":\"%s\"}",
			 API_VERSION, id);

	return send_body(s, c, R_SCHEDULE, 201, "application/json", body, (size_t)n, NULL);
}

/*
 * A request whose Idempotency-Key was used before gets the first one's
 * answer (same body) or a 422 (another body); *answered says whether it
 * was answered here.
 */
static enum MHD_Result idem_replay(struct sched_server *s, struct MHD_Connection *c, struct request *rq,
				   bool *answered)
{
	struct alts_err err = ALTS_ERR_INIT;
	char task_id[64], hash[65], detail[512];
	int rc = store_idem_get(s->store, rq->idem_key, task_id, hash, &err);

	*answered = rc != ALTS_ENOTFOUND;
	if (rc == ALTS_ENOTFOUND)
		return MHD_YES;
	if (rc)
		return send_err(s, c, R_SCHEDULE, &err);
	if (!strcmp(hash, rq->idem_hash)) {
		alts_log(ALTS_LOG_DEBUG, "http", "Idempotency-Key '%s': task %s again", rq->idem_key, task_id);
		return schedule_accepted(s, c, task_id);
	}
	snprintf(detail, sizeof(detail),
		 "Idempotency-Key '%.255s' was used for task %s with a different body; send a new key for a new task",
		 rq->idem_key, task_id);
	return send_error(s, c, R_SCHEDULE, 422, detail);
}

/* The intake committed (or failed) rq's task: its connection may answer now. */
static void schedule_committed(struct intake_task *t, void *payload)
{
	struct request *rq = payload;

	ALTS_UNUSED(t);
	rq->intake = COMMITTED;  /* published to the HTTP thread by MHD_resume_connection's lock */
	MHD_resume_connection(rq->conn);
}

/*
 * Validates the task, then suspends the connection and hands the task to
 * the intake: the answer (schedule_answer) follows its commit.
 */
static enum MHD_Result h_schedule(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct task_request tr;
	const char *key;

	if (!content_type_ok(c))
		return send_error(s, c, R_SCHEDULE, 415, "unsupported Content-Type: expected application/json");
	if (!rq->body.len)
		return send_error(s, c, R_SCHEDULE, 400, "body: expected a JSON object, got an empty body");
	if (!sbuf_ok(&rq->body))
		return send_error(s, c, R_SCHEDULE, 500, "out of memory");
	if (payload_parse(&tr, rq->arena, &s->rules, rq->body.buf, rq->body.len, &err))
		return send_err(s, c, R_SCHEDULE, &err);
	key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	if (key) {
		const char *bad = idem_key_problem(key);
		enum MHD_Result ret;
		bool answered;

		if (bad)
			return send_error(s, c, R_SCHEDULE, 400, bad);
		rq->idem_key = arena_strdup(rq->arena, key);
		if (!rq->idem_key || !body_sha256(rq->idem_hash, rq->body.buf, rq->body.len))
			return send_error(s, c, R_SCHEDULE, 500, "out of memory");
		ret = idem_replay(s, c, rq, &answered);
		if (answered)
			return ret;
	}
	if (new_task_id(rq->id))
		return send_error(s, c, R_SCHEDULE, 500, "cannot generate a task id");
	if (payload_message(&rq->message, &tr, rq->id, &err))
		return send_err(s, c, R_SCHEDULE, &err);
	/* tr's strings live in rq->arena until the request completes. */
	rq->task = (struct intake_task){
		.row = { rq->id, tr.queue, tr.bs_task_id, tr.callback_href, rq->message, 0, rq->idem_key,
			 rq->idem_key ? rq->idem_hash : NULL },
		.done = schedule_committed,
		.payload = rq,
	};
	rq->conn = c;
	/*
	 * Handed in at the next call, not now: libmicrohttpd 0.9.75 keeps the
	 * reading state of a connection suspended in the call that read its
	 * body, reads again at resume, and closes with no answer when that
	 * read sees the end of a client that half-closed after its request.
	 * Returning without a response lets it mark the connection as waiting
	 * (no read); it calls again in the same loop.
	 */
	rq->intake = VALIDATED;
	return MHD_YES;
}

/* The second call of a valid POST /tasks/schedule: suspend, hand the task to the intake. */
static enum MHD_Result schedule_hand_in(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	rq->intake = COMMITTING;
	atomic_fetch_add(&s->in_intake, 1);
	/* Suspended before it is handed in: the intake may resume it at once. */
	MHD_suspend_connection(c);
	if (intake_submit(s->intake, &rq->task)) {
		rq->task.row.rc = ALTS_ECANCELED;
		rq->intake = COMMITTED;
		MHD_resume_connection(c);
	}
	return MHD_YES;
}

static enum MHD_Result schedule_answer(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	if (rq->task.row.rc == ALTS_ECANCELED)
		return send_error(s, c, R_SCHEDULE, 503, "the scheduler is shutting down; submit again");
	if (rq->task.row.rc == ALTS_ECONFLICT) {  /* the same key came twice at once: the other one won */
		bool answered;
		enum MHD_Result ret = idem_replay(s, c, rq, &answered);

		return answered ? ret : send_error(s, c, R_SCHEDULE, 409, "Idempotency-Key in use; retry");
	}
	if (rq->task.row.rc)  /* the intake logged why */
		return send_error(s, c, R_SCHEDULE, 500, INTERNAL_ERROR_DETAIL);
	alts_log(ALTS_LOG_DEBUG, "http", "task %s accepted for queue %s", rq->id, rq->task.row.queue);
	return schedule_accepted(s, c, rq->id);
}

static enum MHD_Result h_get(struct sched_server *s, struct MHD_Connection *c, const char *id, bool result)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store_task t;
	json_t *j;
	enum route r = result ? R_RESULT : R_GET;

	if (store_get(s->store, &t, id, &err))
		return send_err(s, c, r, &err);
	if (result) {
		json_t *res = t.result ? json_loads(t.result, 0, NULL) : NULL;

		j = json_pack("{s:s,s:s,s:s,s:o,s:s}", "task_id", t.id, "state", t.state, "api_version", API_VERSION,
			      "result", res ? res : json_null(), "queue", t.queue);
		if (j && add_waiting(s, &t, j)) {
			json_decref(j);
			j = NULL;
		}
	} else {
		j = task_json(s, &t);
	}
	store_task_release(&t);
	return send_json(s, c, r, 200, j);
}

struct list_ctx {
	struct sched_server *s;
	json_t *arr;
};

static int list_add(const struct store_task *t, void *payload)
{
	struct list_ctx *l = payload;

	return json_array_append_new(l->arr, task_json(l->s, t)) ? ALTS_ENOMEM : 0;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static enum MHD_Result h_list(struct sched_server *s, struct MHD_Connection *c)
{
	static const char *const states[] = { "queued", "running", "finished", "failed", "canceled" };
	const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *cursor_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	struct alts_err err = ALTS_ERR_INIT;
	long limit = LIST_LIMIT_DEFAULT, cursor = 0;
	json_t *arr, *last;
	bool known = !state;

	for (size_t i = 0; state && i < ALTS_ARRAY_SIZE(states); i++)
		known = known || !strcmp(states[i], state);
	if (!known)
		return send_error(s, c, R_LIST, 400,
				  "state: unknown state (allowed: queued, running, finished, failed, canceled)");
	if (limit_s && !parse_long(limit_s, 1, LIST_LIMIT_MAX, &limit))
		return send_error(s, c, R_LIST, 400, "limit: expected an integer from 1 to 500");
	if (cursor_s && !parse_long(cursor_s, 0, LONG_MAX, &cursor))
		return send_error(s, c, R_LIST, 400, "cursor: expected the next_cursor of a previous page");
	arr = json_array();
	if (!arr)
		return send_error(s, c, R_LIST, 500, "out of memory");
	if (store_list(s->store, state, cursor, (int)limit, list_add, &(struct list_ctx){ s, arr }, &err)) {
		json_decref(arr);
		return send_err(s, c, R_LIST, &err);
	}
	last = json_array_size(arr) == (size_t)limit ? json_array_get(arr, json_array_size(arr) - 1) : NULL;
	{
		/* The cursor is the seq of the last task, kept out of the task objects. */
		int64_t next = 0;

		if (last) {
			struct store_task t;

			if (!store_get(s->store, &t, json_string_value(json_object_get(last, "task_id")), &err)) {
				next = t.seq;
				store_task_release(&t);
			}
		}
		return send_json(s, c, R_LIST, 200,
				 json_pack("{s:o,s:o}", "tasks", arr,
					   "next_cursor", next ? json_sprintf("%lld", (long long)next) : json_null()));
	}
}

static enum MHD_Result h_cancel(struct sched_server *s, struct MHD_Connection *c, const char *id)
{
	struct alts_err err = ALTS_ERR_INIT;
	const char *state = NULL;
	bool changed = false;

	if (store_cancel(s->store, id, &state, &changed, &err))
		return send_err(s, c, R_CANCEL, &err);
	if (changed)
		outbox_kick(s->outbox);  /* a published task's cancel goes to the workers */
	return send_json(s, c, R_CANCEL, 200,
			 json_pack("{s:s,s:s,s:b}", "task_id", id, "state", state, "canceled", changed));
}

static enum MHD_Result h_cancel_tasks(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	struct alts_err err = ALTS_ERR_INIT;
	json_error_t jerr;
	json_t *body, *ids, *v;
	const char *key;
	size_t i;
	int total = 0;
	char detail[256];

	if (!content_type_ok(c))
		return send_error(s, c, R_CANCEL_TASKS, 415, "unsupported Content-Type: expected application/json");
	body = json_loadb(rq->body.buf, rq->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body) {
		snprintf(detail, sizeof(detail), "body:%d:%d: invalid JSON: %s", jerr.line, jerr.column, jerr.text);
		return send_error(s, c, R_CANCEL_TASKS, 400, detail);
	}
	json_object_foreach(body, key, v) {
		if (strcmp(key, "bs_task_ids")) {
			snprintf(detail, sizeof(detail), "body: unknown key '%.64s' (known keys: bs_task_ids)", key);
			json_decref(body);
			return send_error(s, c, R_CANCEL_TASKS, 400, detail);
		}
	}
	ids = json_object_get(body, "bs_task_ids");
	if (!json_is_object(body) || !json_is_array(ids) || json_array_size(ids) > CANCEL_IDS_MAX) {
		json_decref(body);
		return send_error(s, c, R_CANCEL_TASKS, 400, "bs_task_ids: expected a list of at most 1000 ids");
	}
	json_array_foreach(ids, i, v) {
		char buf[72];

		if (json_is_integer(v) && json_integer_value(v) >= 0)
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v) && json_string_length(v) && json_string_length(v) <= 64)
			snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		else {
			snprintf(detail, sizeof(detail), "bs_task_ids[%zu]: expected a non-negative integer or a string id", i);
			json_decref(body);
			return send_error(s, c, R_CANCEL_TASKS, 400, detail);
		}
		{
			int n = 0;

			if (store_cancel_bs(s->store, buf, &n, &err)) {
				json_decref(body);
				return send_err(s, c, R_CANCEL_TASKS, &err);
			}
			total += n;
		}
	}
	json_decref(body);
	if (total)
		outbox_kick(s->outbox);
	return send_json(s, c, R_CANCEL_TASKS, 200, json_pack("{s:b,s:i}", "success", 1, "canceled", total));
}

/*
 * A worker's report, as the results queue carries it: committed by the
 * results consumer's own code before the answer, so a 2xx means the
 * worker may ack the task. {"task_id", "applied"}: applied false for a
 * duplicate or a report that no longer applies (the task ended).
 */
static enum MHD_Result h_worker_report(struct sched_server *s, struct MHD_Connection *c, struct request *rq,
				       const char *id)
{
	struct alts_err err = ALTS_ERR_INIT;
	bool applied = false;

	if (!content_type_ok(c))
		return send_error(s, c, R_WORKER_REPORT, 415, "unsupported Content-Type: expected application/json");
	if (results_apply(s->store, rq->body.buf, rq->body.len, id, &applied, &err))
		return send_err(s, c, R_WORKER_REPORT, &err);
	return send_json(s, c, R_WORKER_REPORT, 200, json_pack("{s:s,s:b}", "task_id", id, "applied", applied));
}

/* ---- reports, logs and the Swagger UI --------------------------------- */

/* Adds the headers every stored artifact gets: its type, and no sniffing into HTML. */
static void artifact_headers(struct MHD_Response *resp, const char *type, const char *encoding)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
	if (encoding) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, encoding);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	}
}

static enum MHD_Result send_artifact(struct sched_server *s, struct MHD_Connection *c, enum route r,
				     struct sbuf *sb, const char *type, const char *encoding)
{
	size_t len = sb->len;
	char *data = sbuf_detach(sb, &len);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!data)
		return send_error(s, c, r, 500, "out of memory");
	resp = MHD_create_response_from_buffer_with_free_callback(len, data, alts_free);
	if (!resp) {
		alts_free(data);
		return MHD_NO;
	}
	artifact_headers(resp, type, encoding);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	count_request(s, r, 200);
	return ret;
}

/* The Content-Type of a report or log: text for logs whatever their name says, so nothing runs as HTML. */
static const char *artifact_type(const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(name, "logs/", 5))
		return n > 3 && !strcmp(name + n - 3, ".gz") ? "application/gzip" : "text/plain; charset=utf-8";
	if (!strcmp(name, "report.xml"))
		return "application/xml";
	if (!strcmp(name, "result.json"))
		return "application/json";
	return "text/plain; charset=utf-8";
}

/*
 * GET /tasks/{id}/log?offset=N: the live log the worker sends while the
 * task runs (one line per check with its status, and failures' output),
 * from byte N on. Clients poll with the offset they have read up to.
 */
#define LIVE_LOG_READ_MAX (1u << 20)

static enum MHD_Result h_live_log(struct sched_server *s, struct MHD_Connection *c, const char *id)
{
	const char *offset_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset");
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT;
	long offset = 0;

	if (offset_s && !parse_long(offset_s, 0, LONG_MAX, &offset))
		return send_error(s, c, R_LIVE_LOG, 400, "offset: expected a byte offset (0 or more)");
	if (store_live_log(s->store, id, offset, LIVE_LOG_READ_MAX, &sb, &err)) {
		sbuf_release(&sb);
		return send_err(s, c, R_LIVE_LOG, &err);
	}
	return send_artifact(s, c, R_LIVE_LOG, &sb, "text/plain; charset=utf-8", NULL);
}

/*
 * A log name (one path component): 1..255 bytes, no '/', '\', "..",
 * control characters, nor a leading '.'. NULL when fine, else why not.
 */
static const char *log_name_problem(const char *name)
{
	size_t n = strlen(name);

	if (!n)
		return "log name: expected a name (logs/<check>.log)";
	if (n > NAME_MAX_LEN)
		return "log name: longer than 255 bytes";
	if (name[0] == '.' || strstr(name, ".."))
		return "log name: must not start with '.' or contain '..'";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch == '\\')
			return "log name: must not contain '/' or '\\'";
		if (ch < 0x20 || ch == 0x7f)
			return "log name: must not contain control characters";
	}
	return NULL;
}

/* Reads <task_id>/<name> from the artifact store into sb (capped); the store's code. */
static int artifact_read(struct sched_server *s, const char *id, const char *name, struct sbuf *sb,
			 struct alts_err *err)
{
	char key[400];
	int rc;

	if (!str_fmt(key, sizeof(key), "%s/%s", id, name))
		return alts_err_set(err, ALTS_EINVALID, "artifact name too long");
	sbuf_reset(sb);
	rc = artifact_store_get(s->artifacts, key, sb, ARTIFACT_MAX, err);
	if (!rc && !sbuf_ok(sb))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else if (!rc && (sb->capped || sb->len > ARTIFACT_MAX))
		rc = alts_err_set(err, ALTS_ERROR, "artifact '%s' is larger than the %zu MiB the scheduler serves", name,
				  ARTIFACT_MAX >> 20);
	return rc;
}

/* Inflates gzip data into out (capped at ARTIFACT_MAX); false on corrupt or oversized data. */
static bool gunzip(struct sbuf *out, const struct sbuf *in)
{
	z_stream z;
	unsigned char buf[65536];
	int zrc = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return false;
	z.next_in = (unsigned char *)in->buf;
	z.avail_in = (uInt)in->len;
	while (zrc != Z_STREAM_END) {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END)
			break;
		sbuf_add(out, buf, sizeof(buf) - z.avail_out);
		if (!sbuf_ok(out) || out->len > ARTIFACT_MAX)
			break;
		if (zrc == Z_OK && !z.avail_in && z.avail_out)
			break;  /* truncated input */
	}
	inflateEnd(&z);
	return zrc == Z_STREAM_END && sbuf_ok(out) && out->len <= ARTIFACT_MAX;
}

static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);

	return ae && strstr(ae, "gzip") && !strstr(ae, "gzip;q=0");
}

/* True when the task's report lists name (or name.gz) as still spooled on its worker. */
static bool artifact_pending(const struct store_task *t, const char *name)
{
	json_t *arr = t->artifacts_pending ? json_loads(t->artifacts_pending, 0, NULL) : NULL, *v;
	size_t i, n = strlen(name);
	bool found = false;

	json_array_foreach(arr, i, v) {
		const char *p = json_string_value(v);

		found = found || (p && !strncmp(p, name, n) && (!p[n] || !strcmp(p + n, ".gz")));
	}
	json_decref(arr);
	return found;
}

/*
 * GET /tasks/{id}/report.tap, report.xml, result.json, logs/{name}: the
 * file the worker stored as <task_id>/<name>, once the task has ended.
 * logs/<x>.log falls back to logs/<x>.log.gz (gzip_logs), sent with
 * Content-Encoding: gzip to clients that accept it, inflated otherwise.
 */
static enum MHD_Result h_artifact(struct sched_server *s, struct MHD_Connection *c, enum route r, const char *id,
				  const char *name)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT, plain = SBUF_INIT;
	struct store_task t;
	char detail[512], gz[300];
	const char *type = artifact_type(name), *encoding = NULL;
	enum MHD_Result ret;
	int rc;

	if (store_get(s->store, &t, id, &err))
		return send_err(s, c, r, &err);
	if (!strcmp(t.state, "queued") || !strcmp(t.state, "running")) {
		snprintf(detail, sizeof(detail), "task '%s' has not finished yet (state %s); '%s' is stored when it ends",
			 id, t.state, name);
		store_task_release(&t);
		return send_error(s, c, r, 409, detail);
	}
	if (!s->artifacts) {
		store_task_release(&t);
		return send_error(s, c, r, 503, "no artifact store is configured");
	}
	rc = artifact_read(s, id, name, &sb, &err);
	if (rc == ALTS_ENOTFOUND && r == R_LOGS && strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".log") &&
	    str_fmt(gz, sizeof(gz), "%s.gz", name)) {
		struct alts_err gz_err = ALTS_ERR_INIT;

		if (!artifact_read(s, id, gz, &sb, &gz_err)) {
			rc = 0;
			if (accepts_gzip(c)) {
				encoding = "gzip";
			} else if (gunzip(&plain, &sb)) {
				sbuf_release(&sb);
				sb = plain;
				plain = (struct sbuf)SBUF_INIT;
			} else {
				rc = alts_err_set(&err, ALTS_ERROR, "stored '%s' is not valid gzip or inflates past %zu MiB",
						  gz, ARTIFACT_MAX >> 20);
			}
		}
	}
	if (rc == ALTS_ENOTFOUND) {
		snprintf(detail, sizeof(detail), "task '%s' has no '%s'%s", id, name,
			 artifact_pending(&t, name) ? " yet: its worker has not uploaded it (artifacts_pending)" : "");
		ret = send_error(s, c, r, 404, detail);
	} else if (rc == ALTS_EINVALID) {
		ret = send_error(s, c, r, 400, err.msg);
	} else if (rc) {
		alts_log(ALTS_LOG_ERROR, "http", "task %s: %s: %s", id, name, err.msg);
		snprintf(detail, sizeof(detail), "cannot read '%.100s' from the artifact store: %.300s", name, err.msg);
		ret = send_error(s, c, r, 502, detail);
	} else {
		ret = send_artifact(s, c, r, &sb, type, encoding);
	}
	sbuf_release(&sb);
	sbuf_release(&plain);
	store_task_release(&t);
	return ret;
}

static const char docs_index[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<title>alts-scheduler API</title>\n"
	"<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
	"<link rel=\"icon\" type=\"image/png\" href=\"/docs/favicon-32x32.png\">\n"
	"</head>\n"
	"<body>\n"
	"<div id=\"swagger-ui\"></div>\n"
	"<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
	"<script src=\"/docs/swagger-ui-standalone-preset.js\"></script>\n"
	"<script>\n"
	"window.onload = function () {\n"
	"  window.ui = SwaggerUIBundle({\n"
	"    url: \"/openapi.json\",\n"
	"    dom_id: \"#swagger-ui\",\n"
	"    deepLinking: true,\n"
	"    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n"
	"    plugins: [SwaggerUIBundle.plugins.DownloadUrl],\n"
	"    layout: \"BaseLayout\"\n"
	"  });\n"
	"};\n"
	"</script>\n"
	"</body>\n"
	"</html>\n";

static const char *docs_type(const char *file)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ ".js", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".html", "text/html; charset=utf-8" },     { ".png", "image/png" },
		{ ".map", "application/json" },              { ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },     { ".md", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(file, '.');

	for (size_t i = 0; dot && i < ALTS_ARRAY_SIZE(types); i++) {
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}

/*
 * GET /docs: the Swagger UI page for /openapi.json; GET /docs/<file>: a
 * file of the swagger-ui-dist directory (one path component of letters,
 * digits, '.', '_', '-'; never a symlink or anything but a regular file).
 */
static enum MHD_Result h_docs(struct sched_server *s, struct MHD_Connection *c, const char *file)
{
	struct MHD_Response *resp;
	struct stat st;
	char path[4096];
	enum MHD_Result ret;
	int fd;

	if (!s->ui_dir)
		return send_error(s, c, R_DOCS, 404, "the Swagger UI is not installed (alts-scheduler --ui-dir DIR)");
	if (!*file || !strcmp(file, "index.html"))
		return send_body(s, c, R_DOCS, 200, "text/html; charset=utf-8", docs_index, sizeof(docs_index) - 1, NULL);
	if (file[0] == '.' || strspn(file, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
				      strlen(file) ||
	    !str_fmt(path, sizeof(path), "%s/%s", s->ui_dir, file))
		return send_error(s, c, R_DOCS, 404, "Not Found");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			alts_log(ALTS_LOG_WARN, "http", "cannot open '%s': %s", path, strerror(errno));
		return send_error(s, c, R_DOCS, 404, "Not Found");
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return send_error(s, c, R_DOCS, 404, "Not Found");
	}
	resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);  /* takes fd */
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, docs_type(file));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=3600");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	count_request(s, R_DOCS, 200);
	return ret;
}

static void metric_state(const char *state, int64_t count, void *payload)
{
	sbuf_addf(payload, "alts_tasks{state=\"%s\"} %lld\n", state, (long long)count);
}

static enum MHD_Result h_metrics(struct sched_server *s, struct MHD_Connection *c)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT;
	enum MHD_Result ret;

	sbuf_adds(&sb, "# HELP alts_http_requests_total HTTP requests by route and status.\n"
		       "# TYPE alts_http_requests_total counter\n");
	for (int r = 0; r < R_MAX; r++) {
		for (size_t i = 0; i < NSTATUS; i++) {
			uint64_t n = atomic_load(&s->requests[r][i]);

			if (n)
				sbuf_addf(&sb, "alts_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_names[r],
					  status_codes[i], (unsigned long long)n);
		}
	}
	sbuf_adds(&sb, "# HELP alts_tasks Tasks in the store by state.\n# TYPE alts_tasks gauge\n");
	if (store_count_states(s->store, metric_state, &sb, &err))
		alts_log(ALTS_LOG_ERROR, "http", "%s", err.msg);
	outbox_metrics(s->outbox, &sb);
	if (!sbuf_ok(&sb)) {
		sbuf_release(&sb);
		return send_error(s, c, R_METRICS, 500, "out of memory");
	}
	ret = send_body(s, c, R_METRICS, 200, "text/plain; version=0.0.4", sb.buf, sb.len, NULL);
	sbuf_release(&sb);
	return ret;
}

static void count_total(const char *state, int64_t count, void *payload)
{
	ALTS_UNUSED(state);
	*(int64_t *)payload += count;
}

static enum MHD_Result h_health(struct sched_server *s, struct MHD_Connection *c)
{
	struct alts_err err = ALTS_ERR_INIT;
	int64_t total = 0;
	bool db_ok = !store_count_states(s->store, count_total, &total, &err);

	if (!db_ok)
		alts_log(ALTS_LOG_ERROR, "http", "health: %s", err.msg);
	return send_json(s, c, R_HEALTH, db_ok ? 200 : 503,
			 json_pack("{s:s,s:s,s:s,s:s}", "status", db_ok ? "ok" : "degraded", "database",
				   db_ok ? "ok" : "error", "broker", outbox_connected(s->outbox) ? "connected" : "disconnected",
				   "version", ALTS_VERSION));
}

/* ---- dispatch ---------------------------------------------------------- */

/*
 * Decodes %XX in the path and query in place, but %00: a NUL would cut
 * the string short ("/logs/x%00.txt" serving "x"), so it stays as the text
 * "%00" and dispatch() refuses the request.
 */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	ALTS_UNUSED(cls);
	ALTS_UNUSED(c);
	for (const char *r = s; *r; r++) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2]) &&
		    !(r[1] == '0' && r[2] == '0')) {
			char hex[3] = { r[1], r[2], 0 };

			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static enum MHD_Result find_nul_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	ALTS_UNUSED(kind);
	if (strstr(key, "%00") || (value && strstr(value, "%00"))) {
		*(bool *)cls = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* True when the path or a query argument had %00 (kept encoded by unescape_url). */
static bool url_has_nul(struct MHD_Connection *c, const char *url)
{
	bool found = strstr(url, "%00") != NULL;

	if (!found)
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, find_nul_arg, &found);
	return found;
}


struct match {
	enum route route;
	const char *allow;   /* the methods the route takes */
	bool auth;
	unsigned scopes;     /* enum auth_scope_flags the token must carry (403 without) */
	bool body;           /* reads a body */
	char id[37];
	const char *name;    /* report/log name (borrowed from the URL or static); the docs file */
	char name_buf[NAME_MAX_LEN + 6];
	const char *bad;     /* a malformed log name: 400 with this detail */
};

static bool match_route(struct match *m, const char *url)
{
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!strcmp(url, "/health")) {
		*m = (struct match){ .route = R_HEALTH, .allow = "GET" };
	} else if (!strcmp(url, "/metrics")) {
		*m = (struct match){ .route = R_METRICS, .allow = "GET" };
	} else if (!strcmp(url, "/openapi.json")) {
		*m = (struct match){ .route = R_OPENAPI, .allow = "GET" };
	} else if (!strcmp(url, "/docs") || !strncmp(url, "/docs/", 6)) {
		*m = (struct match){ .route = R_DOCS, .allow = "GET", .name = url[5] ? url + 6 : "" };
	} else if (!strcmp(url, "/tasks/schedule")) {
		*m = (struct match){ .route = R_SCHEDULE, .allow = "POST", .auth = true, .body = true };
	} else if (!strcmp(url, "/tasks") || !strcmp(url, "/tasks/")) {
		*m = (struct match){ .route = R_LIST, .allow = "GET", .auth = true };
	} else if (!strcmp(url, "/cancel_tasks")) {
		*m = (struct match){ .route = R_CANCEL_TASKS, .allow = "POST", .auth = true, .body = true };
	} else if (!strncmp(url, "/internal/tasks/", 16)) {
		const char *id = url + 16;

		n = strcspn(id, "/");
		if (!task_id_ok(id, n) || strcmp(id + n, "/report"))
			return false;
		*m = (struct match){ .route = R_WORKER_REPORT, .allow = "POST", .auth = true, .scopes = AUTH_SCOPE_WORKER,
				     .body = true };
		memcpy(m->id, id, 36);
		m->id[36] = '\0';
	} else if (!strncmp(url, "/tasks/", 7)) {
		const char *id = url + 7, *rest;

		n = strcspn(id, "/");
		rest = id + n;
		if (!task_id_ok(id, n))
			return false;
		if (!*rest) {
			*m = (struct match){ .route = R_GET, .allow = "GET", .auth = true };
		} else if (!strcmp(rest, "/result")) {
			*m = (struct match){ .route = R_RESULT, .allow = "GET", .auth = true };
		} else if (!strcmp(rest, "/log")) {
			*m = (struct match){ .route = R_LIVE_LOG, .allow = "GET", .auth = true };
		} else if (!strcmp(rest, "/cancel")) {
			*m = (struct match){ .route = R_CANCEL, .allow = "POST", .auth = true };
		} else if (!strcmp(rest, "/report.tap") || !strcmp(rest, "/report.xml") || !strcmp(rest, "/result.json")) {
			*m = (struct match){ .route = R_REPORT, .allow = "GET", .auth = true, .name = rest + 1 };
		} else if (!strncmp(rest, "/logs/", 6)) {
			*m = (struct match){ .route = R_LOGS, .allow = "GET", .auth = true };
			m->bad = log_name_problem(rest + 6);
			if (!m->bad) {
				snprintf(m->name_buf, sizeof(m->name_buf), "logs/%s", rest + 6);
				m->name = m->name_buf;
			}
		} else {
			return false;
		}
		memcpy(m->id, id, 36);
		m->id[36] = '\0';
	} else {
		return false;
	}
	return true;
}

static enum MHD_Result dispatch(struct sched_server *s, struct MHD_Connection *c, const char *url,
				const char *method, struct request *rq)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct match m;
	unsigned scopes = 0;
	bool head;

	if (url_has_nul(c, url))
		return send_error(s, c, R_OTHER, 400, "the URL contains a NUL byte (%00)");
	if (!match_route(&m, url))
		return send_error(s, c, R_OTHER, 404, "Not Found");
	head = !strcmp(method, "HEAD") && !strcmp(m.allow, "GET");
	if (strcmp(method, m.allow) && !head)
		return send_error_allow(s, c, m.route, 405, m.allow, "Method Not Allowed");
	if (m.auth && auth_verify_header_cached(s->auth_cache,
						MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
					 s->cfg->jwt_secret, s->cfg->hashing_algorithm, time(NULL), &scopes, &err))
		return send_error(s, c, m.route, 401, err.msg);
	if ((scopes & m.scopes) != m.scopes)
		return send_error(s, c, m.route, 403,
				  "forbidden: this route takes a worker's token (alts-token --scope worker)");
	if (rq->too_large) {
		char detail[128];

		snprintf(detail, sizeof(detail), "request body too large (limit %ld bytes)", rq->limit);
		return send_error(s, c, m.route, 413, detail);
	}
	if (m.bad)
		return send_error(s, c, m.route, 400, m.bad);
	switch (m.route) {
	case R_HEALTH: return h_health(s, c);
	case R_METRICS: return h_metrics(s, c);
	case R_OPENAPI:
		return send_body(s, c, R_OPENAPI, 200, "application/json", (const char *)sched_openapi_json,
				 sched_openapi_json_len, NULL);
	case R_SCHEDULE: return h_schedule(s, c, rq);
	case R_LIST: return h_list(s, c);
	case R_GET: return h_get(s, c, m.id, false);
	case R_RESULT: return h_get(s, c, m.id, true);
	case R_CANCEL: return h_cancel(s, c, m.id);
	case R_CANCEL_TASKS: return h_cancel_tasks(s, c, rq);
	case R_REPORT:
	case R_LOGS: return h_artifact(s, c, m.route, m.id, m.name);
	case R_LIVE_LOG: return h_live_log(s, c, m.id);
	case R_DOCS: return h_docs(s, c, m.name);
	case R_WORKER_REPORT: return h_worker_report(s, c, rq, m.id);
	default: return send_error(s, c, R_OTHER, 404, "Not Found");
	}
}

/* The framing headers of a request, counted (RFC 9112 6.3). */
struct framing {
	int content_lengths;
	bool lengths_differ;
	bool transfer_encoding;
	const char *first_length;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;

	ALTS_UNUSED(kind);
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		if (f->content_lengths++ && strcmp(f->first_length, value ? value : ""))
			f->lengths_differ = true;
		if (!f->first_length)
			f->first_length = value ? value : "";
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->transfer_encoding = true;
	}
	return MHD_YES;
}

/*
 * NULL when the request's length is told one way, else why not: both
 * Content-Length and Transfer-Encoding, or several Content-Lengths (RFC
 * 9112 6.3 says a server must refuse or close; a proxy in front may have
 * read the request the other way, and what it took as a second request
 * would be served).
 */
static const char *framing_problem(struct MHD_Connection *c)
{
	struct framing f = { 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_header, &f);
	if (f.content_lengths && f.transfer_encoding)
		return "request has both Content-Length and Transfer-Encoding (RFC 9112 6.3): refused";
	if (f.lengths_differ)
		return "request has Content-Length headers that differ (RFC 9112 6.3): refused";
	if (f.content_lengths > 1)
		return "request has more than one Content-Length header (RFC 9112 6.3): refused";
	return NULL;
}

/*
 * A body of no announced length (chunked) passed the limit: the 413 goes
 * now, not after the body's end (an endless upload would get no answer).
 * libmicrohttpd 0.9.75 takes no response while a body is being read, so
 * the answer is written to the socket here, with Connection: close; what
 * follows is read and dropped, up to DISCARD_MAX, then the connection
 * closes (at once would reset it, and the client could lose its 413).
 */
#define DISCARD_MAX ((size_t)16 << 20)

static enum MHD_Result answer_too_large_now(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	char body[160], msg[512];
	int blen, n;

	rq->answered = ANSWERED_RAW;
	count_request(s, R_OTHER, 413);
	if (!ci)
		return MHD_NO;
	blen = snprintf(body, sizeof(body), "{\"detail\":\"request body too large (limit %ld bytes)\"}", rq->limit);
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     blen, body);
	if (send(ci->connect_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		return MHD_NO;
	return MHD_YES;
}

/*
 * A worker's report carries a task's result and log text: the results queue's
 * bound, not the API's; and only under a worker's token, so that no one else
 * makes the scheduler buffer that much before the 401 or 403.
 */
static long body_limit(struct sched_server *s, struct MHD_Connection *c, const char *url)
{
	struct alts_err err = ALTS_ERR_INIT;
	unsigned scopes = 0;

	if (strncmp(url, "/internal/", 10) ||
	    auth_verify_header_cached(s->auth_cache,
				      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
				      s->cfg->jwt_secret, s->cfg->hashing_algorithm, time(NULL), &scopes, &err) ||
	    !(scopes & AUTH_SCOPE_WORKER))
		return s->cfg->max_body_size;
	return (long)REPORT_MAX_BYTES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct sched_server *s = cls;
	struct request *rq = *con_cls;

	ALTS_UNUSED(version);
	if (rq && rq->intake == COMMITTED)
		return schedule_answer(s, c, rq);
	if (rq && rq->intake == COMMITTING)
		return MHD_YES;  /* suspended; nothing to do until the intake resumes it */
	if (rq && rq->intake == VALIDATED)
		return schedule_hand_in(s, c, rq);
	if (rq && rq->answered == ANSWERED_RAW) {
		/* Its 413 is sent: the rest is discarded, up to a bound, then the connection closes. */
		size_t n = *upload_data_size;

		rq->discarded += n;
		*upload_data_size = 0;
		return n && rq->discarded < DISCARD_MAX ? MHD_YES : MHD_NO;
	}
	if (rq && rq->answered) {  /* the rest of the body is discarded */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH), *bad;
		long len;

		rq = alts_calloc(1, sizeof(*rq));
		if (!rq || !(rq->arena = arena_new())) {
			alts_free(rq);
			return MHD_NO;
		}
		rq->limit = body_limit(s, c, url);
		sbuf_init(&rq->body, (size_t)rq->limit);
		*con_cls = rq;
		bad = framing_problem(c);
		if (bad) {
			rq->answered = ANSWERED;
			return send_error_close(s, c, R_OTHER, 400, bad);
		}
		/* Refuse an announced oversized body before reading it. */
		if (cl && (!parse_long(cl, 0, LONG_MAX, &len) || len > rq->limit))
			rq->too_large = true;
		if (rq->too_large)
			return dispatch(s, c, url, method, rq);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_large) {
			sbuf_add(&rq->body, upload_data, *upload_data_size);
			rq->too_large = rq->body.capped;
		}
		*upload_data_size = 0;
		if (rq->too_large)
			return answer_too_large_now(s, c, rq);
		return MHD_YES;
	}
	return dispatch(s, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct sched_server *s = cls;
	struct request *rq = *con_cls;

	ALTS_UNUSED(c);
	ALTS_UNUSED(toe);
	if (!rq)
		return;
	if (rq->intake == COMMITTING || rq->intake == COMMITTED)
		atomic_fetch_sub(&s->in_intake, 1);
	alts_free(rq->message);
	sbuf_release(&rq->body);
	arena_free(rq->arena);
	alts_free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	ALTS_UNUSED(cls);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	alts_log(ALTS_LOG_DEBUG, "http", "%s", buf);
}

int server_start(struct sched_server **out, const struct settings *cfg, struct store *store,
		 struct outbox *outbox, const struct server_options *opts, struct alts_err *err)
{
	struct sched_server *s = alts_calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *info;
	int rc;

	if (!s)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memset(&ss, 0, sizeof(ss));
	{
		struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET, cfg->listen_address, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)cfg->listen_port);
		} else if (inet_pton(AF_INET6, cfg->listen_address, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)cfg->listen_port);
			flags |= MHD_USE_IPv6;
		} else {
			alts_free(s);
			return alts_err_set(err, ALTS_EINVALID, "listen_address: '%s' is not an IPv4 or IPv6 address",
					    cfg->listen_address);
		}
	}
	s->cfg = cfg;
	s->store = store;
	s->outbox = outbox;
	s->artifacts = opts ? opts->artifacts : NULL;
	s->ui_dir = opts ? opts->ui_dir : NULL;
	s->rules.architectures = &cfg->supported_architectures;
	s->rules.runners = &cfg->supported_runners;
	s->rules.distributions = &cfg->supported_distributions;
	s->rules.cost = cfg->farm.default_cost;
	s->rules.relative_callbacks = cfg->bs_host != NULL;
	s->rules.runner_map = &cfg->runner_types;
	s->rules.no_integrity = !cfg->enable_integrity_tests;
	s->rules.distribution_queues = cfg->farm.distribution_queues;
	s->auth_cache = auth_cache_new();
	s->probe = outbox ? queue_probe_new(&cfg->farm) : NULL;
	if (!s->auth_cache || (outbox && !s->probe)) {
		auth_cache_free(s->auth_cache);
		queue_probe_free(s->probe);
		alts_free(s);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	rc = intake_start(&s->intake, store, outbox, err);
	if (rc) {
		queue_probe_free(s->probe);
		auth_cache_free(s->auth_cache);
		alts_free(s);
		return rc;
	}
	s->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)cfg->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->connection_timeout + 0.5),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, NULL, MHD_OPTION_END);
	if (!s->daemon) {
		intake_free(s->intake);
		queue_probe_free(s->probe);
		auth_cache_free(s->auth_cache);
		alts_free(s);
		return alts_err_set(err, ALTS_EENV, "cannot listen on %s:%ld", cfg->listen_address, cfg->listen_port);
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : (int)cfg->listen_port;
	*out = s;
	return 0;
}

int server_port(const struct sched_server *s)
{
	return s->port;
}

void server_stop(struct sched_server *s)
{
	MHD_socket listener;

	if (!s)
		return;
	/*
	 * No new connections; every task handed in is committed and answered
	 * before the connections close (a suspended one would close unanswered).
	 */
	listener = MHD_quiesce_daemon(s->daemon);
	intake_stop(s->intake);
	for (int waited = 0; atomic_load(&s->in_intake) > 0 && waited < STOP_DRAIN_MS; waited += 10)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	MHD_stop_daemon(s->daemon);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	intake_free(s->intake);
	queue_probe_free(s->probe);
	auth_cache_free(s->auth_cache);
	alts_free(s);
}
