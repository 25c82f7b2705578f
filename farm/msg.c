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
