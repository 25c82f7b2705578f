#include "framework/common.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "scheduler/auth.h"
#include "scheduler/payload.h"
#include "scheduler/server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define API_VERSION "1"
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500
#define CANCEL_IDS_MAX 1000

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
	R_OTHER,
	R_MAX,
};

static const char *const route_names[R_MAX] = {
	"health", "metrics", "openapi", "schedule", "list", "get", "result", "cancel", "cancel_tasks", "other",
};

static const int status_codes[] = { 200, 201, 400, 401, 404, 405, 413, 415, 500, 503 };
#define NSTATUS ALTS_ARRAY_SIZE(status_codes)

struct sched_server {
	const struct sched_config *cfg;
	struct store *store;
	struct outbox *outbox;
	struct payload_rules rules;
	struct MHD_Daemon *daemon;
	int port;
	atomic_uint_fast64_t requests[R_MAX][NSTATUS];
};

/* One request: its body and everything parsed from it, freed at completion. */
struct request {
	struct arena *arena;
	struct sbuf body;
	bool too_large;
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

/* Maps an error code to its status: invalid input 400, not found 404, else 500. */
static enum MHD_Result send_err(struct sched_server *s, struct MHD_Connection *c, enum route r,
				const struct alts_err *err)
{
	if (err->code == ALTS_EINVALID)
		return send_error(s, c, r, 400, err->msg);
	if (err->code == ALTS_ENOTFOUND)
		return send_error(s, c, r, 404, err->msg);
	alts_log(ALTS_LOG_ERROR, "http", "%s", err->msg);
	return send_error(s, c, r, 500, "internal error; see the scheduler's log");
}

/* ---- helpers ----------------------------------------------------------- */

static int new_task_id(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return ALTS_EENV;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
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

static json_t *task_json(const struct store_task *t)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o,s:o}", "task_id", t->id, "state", t->state, "queue",
			 t->queue, "bs_task_id", json_str_or_null(t->bs_task_id), "published", t->published,
			 "created_at", iso_time(t->created_ms), "updated_at", iso_time(t->updated_ms), "published_at",
			 iso_time(t->published_ms), "started_at", iso_time(t->started_ms), "finished_at",
			 iso_time(t->finished_ms));
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

static enum MHD_Result h_schedule(struct sched_server *s, struct MHD_Connection *c, struct request *rq)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct task_request tr;
	char id[37], *msg = NULL;
	enum MHD_Result ret;

	if (!content_type_ok(c))
		return send_error(s, c, R_SCHEDULE, 415, "unsupported Content-Type: expected application/json");
	if (!rq->body.len)
		return send_error(s, c, R_SCHEDULE, 400, "body: expected a JSON object, got an empty body");
	if (!sbuf_ok(&rq->body))
		return send_error(s, c, R_SCHEDULE, 500, "out of memory");
	if (payload_parse(&tr, rq->arena, &s->rules, rq->body.buf, rq->body.len, &err))
		return send_err(s, c, R_SCHEDULE, &err);
	if (new_task_id(id))
		return send_error(s, c, R_SCHEDULE, 500, "cannot generate a task id");
	if (payload_message(&msg, &tr, id, &err) ||
	    store_insert(s->store, id, tr.queue, tr.bs_task_id, tr.callback_href, msg, &err)) {
		alts_free(msg);
		return send_err(s, c, R_SCHEDULE, &err);
	}
	alts_free(msg);
	outbox_kick(s->outbox);
	alts_log(ALTS_LOG_INFO, "http", "task %s accepted for queue %s", id, tr.queue);
	ret = send_json(s, c, R_SCHEDULE, 201,
			json_pack("{s:s,s:b,s:s}", "api_version", API_VERSION, "success", 1, "task_id", id));
	return ret;
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

		j = json_pack("{s:s,s:s,s:s,s:o}", "task_id", t.id, "state", t.state, "api_version", API_VERSION,
			      "result", res ? res : json_null());
	} else {
		j = task_json(&t);
	}
	store_task_release(&t);
	return send_json(s, c, r, 200, j);
}

static int list_add(const struct store_task *t, void *payload)
{
	json_t *arr = payload;

	return json_array_append_new(arr, task_json(t)) ? ALTS_ENOMEM : 0;
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
	if (store_list(s->store, state, cursor, (int)limit, list_add, arr, &err)) {
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
	return send_json(s, c, R_CANCEL_TASKS, 200, json_pack("{s:b,s:i}", "success", 1, "canceled", total));
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

struct match {
	enum route route;
	const char *allow;   /* the methods the route takes */
	bool auth;
	bool body;           /* reads a body */
	char id[37];
};

static bool match_route(struct match *m, const char *url)
{
	size_t n;

	memset(m, 0, sizeof(*m));
	if (!strcmp(url, "/health")) {
		*m = (struct match){ R_HEALTH, "GET", false, false, { 0 } };
	} else if (!strcmp(url, "/metrics")) {
		*m = (struct match){ R_METRICS, "GET", false, false, { 0 } };
	} else if (!strcmp(url, "/openapi.json")) {
		*m = (struct match){ R_OPENAPI, "GET", false, false, { 0 } };
	} else if (!strcmp(url, "/tasks/schedule")) {
		*m = (struct match){ R_SCHEDULE, "POST", true, true, { 0 } };
	} else if (!strcmp(url, "/tasks") || !strcmp(url, "/tasks/")) {
		*m = (struct match){ R_LIST, "GET", true, false, { 0 } };
	} else if (!strcmp(url, "/cancel_tasks")) {
		*m = (struct match){ R_CANCEL_TASKS, "POST", true, true, { 0 } };
	} else if (!strncmp(url, "/tasks/", 7)) {
		const char *id = url + 7, *rest;

		n = strcspn(id, "/");
		rest = id + n;
		if (!task_id_ok(id, n))
			return false;
		if (!*rest)
			*m = (struct match){ R_GET, "GET", true, false, { 0 } };
		else if (!strcmp(rest, "/result"))
			*m = (struct match){ R_RESULT, "GET", true, false, { 0 } };
		else if (!strcmp(rest, "/cancel"))
			*m = (struct match){ R_CANCEL, "POST", true, false, { 0 } };
		else
			return false;
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
	bool head;

	if (!match_route(&m, url))
		return send_error(s, c, R_OTHER, 404, "Not Found");
	head = !strcmp(method, "HEAD") && !strcmp(m.allow, "GET");
	if (strcmp(method, m.allow) && !head)
		return send_error_allow(s, c, m.route, 405, m.allow, "Method Not Allowed");
	if (m.auth && auth_verify_header(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
					 s->cfg->jwt_secret, s->cfg->hashing_algorithm, time(NULL), &err))
		return send_error(s, c, m.route, 401, err.msg);
	if (rq->too_large) {
		char detail[128];

		snprintf(detail, sizeof(detail), "request body too large (limit %ld bytes)", s->cfg->max_body_size);
		return send_error(s, c, m.route, 413, detail);
	}
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
	default: return send_error(s, c, R_OTHER, 404, "Not Found");
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct sched_server *s = cls;
	struct request *rq = *con_cls;

	ALTS_UNUSED(version);
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		long len;

		rq = alts_calloc(1, sizeof(*rq));
		if (!rq || !(rq->arena = arena_new())) {
			alts_free(rq);
			return MHD_NO;
		}
		sbuf_init(&rq->body, (size_t)s->cfg->max_body_size);
		*con_cls = rq;
		/* Refuse an announced oversized body before reading it. */
		if (cl && (!parse_long(cl, 0, LONG_MAX, &len) || len > s->cfg->max_body_size))
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
		return MHD_YES;
	}
	return dispatch(s, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	ALTS_UNUSED(cls);
	ALTS_UNUSED(c);
	ALTS_UNUSED(toe);
	if (!rq)
		return;
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

int server_start(struct sched_server **out, const struct sched_config *cfg, struct store *store,
		 struct outbox *outbox, struct alts_err *err)
{
	struct sched_server *s = alts_calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

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
	s->rules.architectures = &cfg->supported_architectures;
	s->rules.runners = &cfg->supported_runners;
	s->rules.distributions = &cfg->supported_distributions;
	s->rules.cost = cfg->default_cost;
	s->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)cfg->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->connection_timeout + 0.5),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
	if (!s->daemon) {
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
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	alts_free(s);
}
