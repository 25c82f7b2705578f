#include "framework/common.h"
#include "farm/msg.h"

#include <jansson.h>

bool task_msg_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (!n || n > 64 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
			return false;
	}
	return true;
}

void task_msg_release(struct task_msg *m)
{
	if (!m)
		return;
	alts_free(m->task_id);
	alts_free(m->runner);
	alts_free(m->queue);
	alts_free(m->suite);
	memset(m, 0, sizeof(*m));
}

/* A string member, or NULL; EINVALID when present but not a non-empty string. */
static int opt_string(char **out, json_t *obj, const char *key, struct alts_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_length(v))
		return alts_err_set(err, ALTS_EINVALID, "%s: expected a non-empty string", key);
	*out = alts_strdup(json_string_value(v));
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

int task_msg_parse(struct task_msg *out, char **id_out, const char *body, size_t len, const char *message_id,
		   struct alts_err *err)
{
	struct task_msg m = TASK_MSG_INIT;
	json_error_t jerr;
	json_t *j = NULL, *suite, *id;
	int rc = 0;

	if (id_out)
		*id_out = NULL;
	if (len > TASK_MSG_MAX_BYTES) {
		rc = alts_err_set(err, ALTS_EINVALID, "task message too large (%zu bytes, at most %u)", len,
				  TASK_MSG_MAX_BYTES);
		goto out;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		rc = alts_err_set(err, ALTS_EINVALID, "task message is not JSON: %d:%d: %s", jerr.line, jerr.column,
				  jerr.text);
		goto out;
	}
	if (!json_is_object(j)) {
		rc = alts_err_set(err, ALTS_EINVALID, "task message is not a JSON object");
		goto out;
	}
	id = json_object_get(j, "task_id");
	if (id && !json_is_string(id)) {
		rc = alts_err_set(err, ALTS_EINVALID, "task_id: expected a string");
		goto out;
	}
	if (id)
		m.task_id = alts_strdup(json_string_value(id));
	else if (message_id && *message_id)
		m.task_id = alts_strdup(message_id);
	else {
		rc = alts_err_set(err, ALTS_EINVALID, "task_id: required");
		goto out;
	}
	if (!m.task_id) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!task_msg_id_ok(m.task_id)) {
		rc = alts_err_set(err, ALTS_EINVALID, "task_id: invalid id '%.80s' (1 to 64 of A-Z a-z 0-9 . _ -)",
				  m.task_id);
		alts_free(m.task_id);
		m.task_id = NULL;
		goto out;
	}
	if ((rc = opt_string(&m.runner, j, "runner", err)) || (rc = opt_string(&m.queue, j, "queue", err)))
		goto out;
	suite = json_object_get(j, "suite");
	if (!suite || json_is_null(suite)) {
		rc = alts_err_set(err, ALTS_EINVALID, "suite: required");
		goto out;
	}
	if (json_is_string(suite))
		m.suite = alts_strndup(json_string_value(suite), json_string_length(suite));
	else if (json_is_object(suite)) {
		char *text = json_dumps(suite, JSON_COMPACT);

		m.suite = text ? alts_strdup(text) : NULL;
		free(text);
	} else {
		rc = alts_err_set(err, ALTS_EINVALID, "suite: expected an object or a string");
		goto out;
	}
	if (!m.suite)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	json_decref(j);
	if (rc) {
		if (id_out && m.task_id) {
			*id_out = m.task_id;
			m.task_id = NULL;
		}
		task_msg_release(&m);
		return rc;
	}
	*out = m;
	return 0;
}

char *cancel_msg_parse(const char *body, size_t len)
{
	json_t *j = len <= 65536 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "task_id"));
	char *out = task_msg_id_ok(id) ? alts_strdup(id) : NULL;

	json_decref(j);
	return out;
}

/* A JSON string of s; bytes that are not valid UTF-8 (jansson refuses them) become '?'. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v || !s)
		return v;
	copy = alts_strdup(s);
	for (char *p = copy; p && *p; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	v = copy ? json_string(copy) : NULL;
	alts_free(copy);
	return v;
}

/* Collects jansson failures in one flag, checked once. */
static void set_new(bool *bad, json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v))
		*bad = true;
}

static json_t *result_json(const struct report *r, bool *bad)
{
	json_t *res = NULL;

	if (r->result) {
		res = json_loads(r->result, JSON_DECODE_ANY, NULL);
		if (res && !json_is_object(res)) {
			json_decref(res);
			res = NULL;
		}
		if (!res) {
			res = json_object();
			if (res)
				set_new(bad, res, "raw", jstr(r->result));
		}
	} else if (r->revoked) {
		res = json_object();
	}
	if (res && r->revoked)
		set_new(bad, res, "revoked", json_true());
	if (res && r->result && r->success >= 0)
		set_new(bad, res, "success", json_boolean(r->success));
	if (!res && (r->result || r->revoked))
		*bad = true;
	return res;
}

int report_build(char **out, const struct report *r, struct alts_err *err)
{
	json_t *j, *res;
	char *text = NULL;
	bool bad;

	if (!r->task_id || !r->state)
		return alts_err_set(err, ALTS_EINVALID, "a report needs a task id and a state");
	j = json_object();
	bad = !j;
	if (!bad) {
		set_new(&bad, j, "task_id", jstr(r->task_id));
		set_new(&bad, j, "state", jstr(r->state));
		if (r->worker)
			set_new(&bad, j, "worker", jstr(r->worker));
		set_new(&bad, j, "time_ms", json_integer(r->time_ms));
		if (r->total >= 0)
			set_new(&bad, j, "progress", json_pack("{sIsI}", "done", (json_int_t)r->done, "total",
							       (json_int_t)r->total));
		res = result_json(r, &bad);
		if (res)
			set_new(&bad, j, "result", res);
		if (r->nartifacts) {
			json_t *a = json_object();

			for (size_t i = 0; a && i < r->nartifacts; i++)
				set_new(&bad, a, r->artifacts[i].name, jstr(r->artifacts[i].url));
			set_new(&bad, j, "artifacts", a);
		}
		if (r->npending) {
			json_t *p = json_array();

			for (size_t i = 0; p && i < r->npending; i++) {
				if (json_array_append_new(p, jstr(r->pending[i])))
					bad = true;
			}
			set_new(&bad, j, "artifacts_pending", p);
		}
		if (r->error)
			set_new(&bad, j, "error", jstr(r->error));
		if (r->log)
			set_new(&bad, j, "log", jstr(r->log));
	}
	if (!bad)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory building the report for task %s", r->task_id);
	*out = alts_strdup(text);
	free(text);
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

static bool state_in(json_t *j, const char *const *states, size_t n)
{
	const char *s = json_string_value(json_object_get(j, "state"));

	for (size_t i = 0; s && i < n; i++) {
		if (!strcmp(s, states[i]))
			return true;
	}
	return false;
}

int report_merge(char **out, const char *older, size_t olen, const char *newer, size_t nlen, struct alts_err *err)
{
	static const char *const absorbed[] = { "received", "running" };
	static const char *const absorbing[] = { "running", "finished", "failed" };
	json_t *o = json_loadb(older, olen, 0, NULL), *n = json_loadb(newer, nlen, 0, NULL);
	const char *olog, *nlog, *oid, *nid;
	char *text = NULL;
	int rc = 0;

	oid = json_string_value(json_object_get(o, "task_id"));
	nid = json_string_value(json_object_get(n, "task_id"));
	if (!json_is_object(o) || !json_is_object(n) || !oid || !nid || strcmp(oid, nid) ||
	    !state_in(o, absorbed, ALTS_ARRAY_SIZE(absorbed)) || !state_in(n, absorbing, ALTS_ARRAY_SIZE(absorbing))) {
		rc = alts_err_set(err, ALTS_EINVALID, "the reports cannot be merged");
		goto out;
	}
	olog = json_string_value(json_object_get(o, "log"));
	nlog = json_string_value(json_object_get(n, "log"));
	if (olog) {
		char *both = alts_asprintf("%s%s", olog, nlog ? nlog : "");

		if (!both || json_object_set_new(n, "log", json_string(both))) {
			alts_free(both);
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		alts_free(both);
	}
	if (!json_object_get(n, "progress") && json_object_get(o, "progress") &&
	    json_object_set(n, "progress", json_object_get(o, "progress")))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!rc && !json_object_get(n, "worker") && json_object_get(o, "worker") &&
	    json_object_set(n, "worker", json_object_get(o, "worker")))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!rc) {
		text = json_dumps(n, JSON_COMPACT);
		if (!text || !(*out = alts_strdup(text)))
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		free(text);
	}
out:
	json_decref(o);
	json_decref(n);
	return rc;
}

void report_in_release(struct report_in *r)
{
	char **texts[] = { &r->task_id, &r->state, &r->worker, &r->result, &r->artifacts, &r->artifacts_pending,
			   &r->error, &r->log };

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(texts); i++) {
		alts_free(*texts[i]);
		*texts[i] = NULL;
	}
}

/* json_dumps's text (malloc'd by jansson) copied into ours; NULL on OOM. */
static char *dump(json_t *v, bool *oom)
{
	char *text = json_dumps(v, JSON_COMPACT);
	char *copy = text ? alts_strdup(text) : NULL;

	free(text);
	*oom = *oom || !copy;
	return copy;
}

static char *dup_text(const char *s, size_t max, bool *oom)
{
	char *copy = alts_strndup(s, max);

	*oom = *oom || !copy;
	return copy;
}

static void warn_field(report_warn_fn warn, void *payload, const char *id, const char *field, const char *expected)
{
	if (warn)
		warn(id, field, expected, payload);
}

/* The optional fields, checked; a bad one is left out (the state still counts). */
static void report_fields(struct report_in *r, json_t *j, report_warn_fn warn, void *payload, bool *oom)
{
	json_t *worker = json_object_get(j, "worker");
	json_t *result = json_object_get(j, "result");
	json_t *artifacts = json_object_get(j, "artifacts");
	json_t *pending = json_object_get(j, "artifacts_pending");
	json_t *error = json_object_get(j, "error");
	json_t *progress = json_object_get(j, "progress");
	json_t *log = json_object_get(j, "log");
	const char *id = r->task_id, *key;
	char expected[64];
	json_t *v;
	size_t i;
	bool ok;

	if (json_is_string(worker) && json_string_length(worker) && json_string_length(worker) <= REPORT_WORKER_MAX)
		r->worker = dup_text(json_string_value(worker), SIZE_MAX, oom);
	else if (worker && !json_is_null(worker))
		warn_field(warn, payload, id, "worker", "a short string");
	if (json_is_object(result))
		r->result = dump(result, oom);
	else if (result && !json_is_null(result))
		warn_field(warn, payload, id, "result", "an object");
	ok = json_is_object(artifacts) && json_object_size(artifacts) <= REPORT_ARTIFACTS_MAX;
	json_object_foreach(ok ? artifacts : NULL, key, v)
		ok = ok && *key && json_is_string(v);
	if (ok)
		r->artifacts = dump(artifacts, oom);
	else if (artifacts && !json_is_null(artifacts))
		warn_field(warn, payload, id, "artifacts", "an object of URLs");
	ok = json_is_array(pending) && json_array_size(pending) <= REPORT_ARTIFACTS_MAX;
	json_array_foreach(ok ? pending : NULL, i, v)
		ok = ok && json_is_string(v);
	if (ok)
		r->artifacts_pending = dump(pending, oom);
	else if (pending && !json_is_null(pending))
		warn_field(warn, payload, id, "artifacts_pending", "a list of names");
	if (json_is_string(error))
		r->error = dup_text(json_string_value(error), REPORT_ERROR_MAX, oom);
	else if (error && !json_is_null(error))
		warn_field(warn, payload, id, "error", "a string");
	/* NUL bytes would end the text early in SQLite; a chunk is cut at the first one. */
	if (json_is_string(log) && json_string_length(log) <= REPORT_LOG_CHUNK_MAX) {
		r->log = dup_text(json_string_value(log), SIZE_MAX, oom);
	} else if (log && !json_is_null(log)) {
		snprintf(expected, sizeof(expected), "a string of at most %d bytes", REPORT_LOG_CHUNK_MAX);
		warn_field(warn, payload, id, "log", expected);
	}
	if (progress && !json_is_null(progress)) {
		json_t *done = json_object_get(progress, "done"), *total = json_object_get(progress, "total");

		if (json_is_integer(done) && json_is_integer(total) && json_integer_value(done) >= 0 &&
		    json_integer_value(total) >= 0) {
			r->has_progress = true;
			r->progress_done = json_integer_value(done);
			r->progress_total = json_integer_value(total);
		} else {
			warn_field(warn, payload, id, "progress", "{done, total} integers");
		}
	}
}

int report_parse(struct report_in *out, const char *body, size_t len, report_warn_fn warn, void *payload)
{
	struct report_in r = REPORT_IN_INIT;
	json_error_t jerr;
	json_t *j = len <= REPORT_MAX_BYTES ? json_loadb(body, len, 0, &jerr) : NULL;
	const char *id = json_string_value(json_object_get(j, "task_id"));
	const char *state = json_string_value(json_object_get(j, "state"));
	bool oom = false;

	if (!id || !state || !json_is_object(j)) {
		json_decref(j);
		return ALTS_EINVALID;
	}
	r.task_id = dup_text(id, SIZE_MAX, &oom);
	r.state = dup_text(state, SIZE_MAX, &oom);
	if (!oom)
		report_fields(&r, j, warn, payload, &oom);
	json_decref(j);
	if (oom) {
		report_in_release(&r);
		return ALTS_ENOMEM;
	}
	*out = r;
	return 0;
}
