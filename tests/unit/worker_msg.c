/* Unit tests for farm/msg.c: task and cancel messages, reports. */
#include "helpers.h"
#include "farm/msg.h"

#include <jansson.h>

static int parse(struct task_msg *m, char **id, const char *body, const char *message_id, struct alts_err *err)
{
	return task_msg_parse(m, id, body, strlen(body), message_id, err);
}

static void test_worker_msg__parses_a_task(void **state)
{
	struct task_msg m = TASK_MSG_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	char *id = NULL;
	json_t *suite;

	ALTS_UNUSED(state);
	assert_ok_err(parse(&m, &id, "{\"version\":1,\"task_id\":\"abc-1\",\"queue\":\"local-x86_64-0\",\"runner\":\"local\","
				    "\"suite\":{\"name\":\"s\",\"checks\":[\"install\"]},\"bs_task_id\":\"7\"}",
			    NULL, &err),
		      &err);
	assert_string_equal(m.task_id, "abc-1");
	assert_string_equal(m.runner, "local");
	assert_string_equal(m.queue, "local-x86_64-0");
	suite = json_loads(m.suite, 0, NULL);
	assert_non_null(suite);
	assert_string_equal(json_string_value(json_object_get(suite, "name")), "s");
	json_decref(suite);
	assert_null(id);
	task_msg_release(&m);
}

static void test_worker_msg__suite_as_text_and_message_id(void **state)
{
	struct task_msg m = TASK_MSG_INIT;
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	assert_ok_err(parse(&m, NULL, "{\"suite\":\"name: y\\nchecks: [install]\\n\"}", "from-prop", &err), &err);
	assert_string_equal(m.task_id, "from-prop");
	assert_string_equal(m.suite, "name: y\nchecks: [install]\n");
	assert_null(m.runner);
	task_msg_release(&m);
}

static void test_worker_msg__rejects_bad_messages(void **state)
{
	static const struct {
		const char *body, *message_id, *msg;
		const char *id;  /* identified despite the error */
	} cases[] = {
		{ "not json", NULL, "task message is not JSON", NULL },
		{ "[1]", NULL, "not a JSON object", NULL },
		{ "{\"suite\":{}}", NULL, "task_id: required", NULL },
		{ "{\"task_id\":7,\"suite\":{}}", NULL, "task_id: expected a string", NULL },
		{ "{\"task_id\":\"../etc\",\"suite\":{}}", NULL, "task_id: invalid id", NULL },
		{ "{\"task_id\":\"t1\"}", NULL, "suite: required", "t1" },
		{ "{\"task_id\":\"t2\",\"suite\":[1]}", NULL, "suite: expected an object or a string", "t2" },
		{ "{\"task_id\":\"t3\",\"runner\":5,\"suite\":{}}", NULL, "runner: expected a non-empty string", "t3" },
		{ "{\"suite\":null}", "t4", "suite: required", "t4" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct task_msg m = TASK_MSG_INIT;
		struct alts_err err = ALTS_ERR_INIT;
		char *id = NULL;
		int rc = parse(&m, &id, cases[i].body, cases[i].message_id, &err);

		if (rc != ALTS_EINVALID || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu (%s): rc %d, '%s'", i, cases[i].body, rc, err.msg);
		if (cases[i].id)
			assert_string_equal(id, cases[i].id);
		else
			assert_null(id);
		assert_null(m.task_id);
		alts_free(id);
	}
}

static void test_worker_msg__task_ids(void **state)
{
	ALTS_UNUSED(state);
	assert_true(task_msg_id_ok("0f1e2d3c-aaaa-4bbb-8ccc-0123456789ab"));
	assert_true(task_msg_id_ok("a.b_c-1"));
	assert_false(task_msg_id_ok(""));
	assert_false(task_msg_id_ok(NULL));
	assert_false(task_msg_id_ok(".hidden"));
	assert_false(task_msg_id_ok("a/b"));
	assert_false(task_msg_id_ok("a b"));
	assert_false(task_msg_id_ok("01234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_worker_msg__cancel(void **state)
{
	char *id;

	ALTS_UNUSED(state);
	id = cancel_msg_parse("{\"task_id\":\"x-1\"}", 17);
	assert_string_equal(id, "x-1");
	alts_free(id);
	assert_null(cancel_msg_parse("{\"task_id\":\"a/b\"}", 17));
	assert_null(cancel_msg_parse("{}", 2));
	assert_null(cancel_msg_parse("garbage", 7));
}

static json_t *build(const struct report *r)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *text = NULL;
	json_t *j;

	assert_ok_err(report_build(&text, r, &err), &err);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	alts_free(text);
	return j;
}

static void test_worker_msg__report_running(void **state)
{
	struct report r = REPORT_INIT;
	json_t *j;

	ALTS_UNUSED(state);
	r.task_id = "t";
	r.state = "running";
	r.worker = "host/1";
	r.time_ms = 1764000000000;
	r.done = 2;
	r.total = 5;
	j = build(&r);
	assert_string_equal(json_string_value(json_object_get(j, "task_id")), "t");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
	assert_string_equal(json_string_value(json_object_get(j, "worker")), "host/1");
	assert_int_equal(json_integer_value(json_object_get(j, "time_ms")), 1764000000000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "progress"), "done")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "progress"), "total")), 5);
	assert_null(json_object_get(j, "result"));
	assert_null(json_object_get(j, "artifacts"));
	assert_null(json_object_get(j, "error"));
	json_decref(j);
}

static void test_worker_msg__report_final(void **state)
{
	static const struct report_artifact arts[] = { { "report.tap", "file:///s/t/report.tap" },
						       { "logs/01-x.log", "file:///s/t/logs/01-x.log" } };
	static const char *const pending[] = { "logs/01-x.log" };
	struct report r = REPORT_INIT;
	json_t *j, *res;

	ALTS_UNUSED(state);
	r.task_id = "t";
	r.state = "finished";
	r.result = "{\"api_version\":\"1\",\"result\":{}}";
	r.success = 0;
	r.artifacts = arts;
	r.nartifacts = 2;
	r.pending = pending;
	r.npending = 1;
	j = build(&r);
	assert_null(json_object_get(j, "progress"));
	res = json_object_get(j, "result");
	assert_string_equal(json_string_value(json_object_get(res, "api_version")), "1");
	assert_true(json_is_false(json_object_get(res, "success")));
	assert_null(json_object_get(res, "revoked"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "artifacts"), "report.tap")),
			    "file:///s/t/report.tap");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "artifacts_pending"), 0)),
			    "logs/01-x.log");
	json_decref(j);
}

static void test_worker_msg__report_revoked_and_failed(void **state)
{
	struct report r = REPORT_INIT;
	json_t *j;

	ALTS_UNUSED(state);
	r.task_id = "t";
	r.state = "revoked";
	r.revoked = true;
	j = build(&r);
	assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "revoked")));
	json_decref(j);

	r = (struct report)REPORT_INIT;
	r.task_id = "t";
	r.state = "failed";
	r.error = "invalid suite: x";
	r.result = "not json";
	j = build(&r);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid suite: x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "result"), "raw")), "not json");
	json_decref(j);

	/* Invalid UTF-8 in an error (from a suite's bytes) still gives a report. */
	r.error = "bad \xff\xfe byte";
	r.result = NULL;
	j = build(&r);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "bad ?? byte");
	json_decref(j);
}

static void test_worker_msg__report_needs_id_and_state(void **state)
{
	struct report r = REPORT_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	char *text = NULL;

	ALTS_UNUSED(state);
	r.state = "running";
	assert_int_equal(report_build(&text, &r, &err), ALTS_EINVALID);
	assert_null(text);
}

static void count_warn(const char *task_id, const char *field, const char *expected, void *payload)
{
	ALTS_UNUSED(task_id);
	ALTS_UNUSED(field);
	ALTS_UNUSED(expected);
	(*(int *)payload)++;
}

/* What report_build writes, report_parse reads back; bad optional fields are left out. */
static void test_worker_msg__report_parse(void **state)
{
	static const struct report_artifact arts[] = { { "report.tap", "file:///s/t/report.tap" } };
	static const char bad[] = "{\"task_id\":\"t\",\"state\":\"failed\",\"worker\":7,\"error\":\"boom\","
				  "\"progress\":{\"done\":-1,\"total\":2},\"artifacts\":[1]}";
	struct report r = REPORT_INIT;
	struct report_in in = REPORT_IN_INIT;
	struct alts_err err = ALTS_ERR_INIT;
	char *text = NULL;
	int warned = 0;

	ALTS_UNUSED(state);
	r.task_id = "t";
	r.state = "finished";
	r.worker = "host/1";
	r.done = 1;
	r.total = 3;
	r.result = "{\"result\":{}}";
	r.artifacts = arts;
	r.nartifacts = 1;
	assert_ok_err(report_build(&text, &r, &err), &err);
	assert_int_equal(report_parse(&in, text, strlen(text), count_warn, &warned), 0);
	assert_int_equal(warned, 0);
	assert_string_equal(in.task_id, "t");
	assert_string_equal(in.state, "finished");
	assert_string_equal(in.worker, "host/1");
	assert_true(in.has_progress && in.progress_done == 1 && in.progress_total == 3);
	assert_string_equal(in.artifacts, "{\"report.tap\":\"file:///s/t/report.tap\"}");
	assert_non_null(strstr(in.result, "\"result\":{}"));
	assert_null(in.error);
	report_in_release(&in);
	alts_free(text);

	assert_int_equal(report_parse(&in, bad, strlen(bad), count_warn, &warned), 0);
	assert_int_equal(warned, 3);
	assert_null(in.worker);
	assert_null(in.artifacts);
	assert_false(in.has_progress);
	assert_string_equal(in.error, "boom");
	report_in_release(&in);
	assert_int_equal(report_parse(&in, "{\"state\":\"failed\"}", 18, NULL, NULL), ALTS_EINVALID);
	assert_int_equal(report_parse(&in, "[]", 2, NULL, NULL), ALTS_EINVALID);
}

/* A held report folds into the one that supersedes it: logs in order, progress and worker kept. */
static void test_worker_msg__report_merge(void **state)
{
	static const char recv[] = "{\"task_id\":\"t\",\"state\":\"received\",\"worker\":\"h/1\",\"time_ms\":1}";
	static const char run1[] = "{\"task_id\":\"t\",\"state\":\"running\",\"worker\":\"h/1\",\"time_ms\":2,"
				   "\"progress\":{\"done\":1,\"total\":2},\"log\":\"PASS a\\n\"}";
	static const char run2[] = "{\"task_id\":\"t\",\"state\":\"running\",\"time_ms\":3,"
				   "\"log\":\"FAIL b\\n\"}";
	static const char fin[] = "{\"task_id\":\"t\",\"state\":\"finished\",\"time_ms\":4,\"result\":{}}";
	static const char other[] = "{\"task_id\":\"u\",\"state\":\"finished\",\"time_ms\":4}";
	static const char revoked[] = "{\"task_id\":\"t\",\"state\":\"revoked\",\"time_ms\":4}";
	struct alts_err err = ALTS_ERR_INIT;
	struct report_in in = REPORT_IN_INIT;
	char *a = NULL, *b = NULL, *c = NULL, *x = NULL;

	ALTS_UNUSED(state);
	assert_ok_err(report_merge(&a, recv, strlen(recv), run1, strlen(run1), &err), &err);
	assert_ok_err(report_merge(&b, a, strlen(a), run2, strlen(run2), &err), &err);
	assert_ok_err(report_merge(&c, b, strlen(b), fin, strlen(fin), &err), &err);
	assert_int_equal(report_parse(&in, c, strlen(c), NULL, NULL), 0);
	assert_string_equal(in.state, "finished");
	assert_string_equal(in.log, "PASS a\nFAIL b\n");
	assert_string_equal(in.worker, "h/1");
	assert_true(in.has_progress && in.progress_done == 1 && in.progress_total == 2);
	assert_non_null(in.result);
	report_in_release(&in);
	/* Not merged: another task, a revoked end (it stores no log), a final report as the older one. */
	assert_int_equal(report_merge(&x, run1, strlen(run1), other, strlen(other), &err), ALTS_EINVALID);
	assert_int_equal(report_merge(&x, run1, strlen(run1), revoked, strlen(revoked), &err), ALTS_EINVALID);
	assert_int_equal(report_merge(&x, fin, strlen(fin), run1, strlen(run1), &err), ALTS_EINVALID);
	assert_int_equal(report_merge(&x, "{", 1, run1, strlen(run1), &err), ALTS_EINVALID);
	assert_null(x);
	alts_free(a);
	alts_free(b);
	alts_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_msg__parses_a_task),
		cmocka_unit_test(test_worker_msg__suite_as_text_and_message_id),
		cmocka_unit_test(test_worker_msg__rejects_bad_messages),
		cmocka_unit_test(test_worker_msg__task_ids),
		cmocka_unit_test(test_worker_msg__cancel),
		cmocka_unit_test(test_worker_msg__report_running),
		cmocka_unit_test(test_worker_msg__report_final),
		cmocka_unit_test(test_worker_msg__report_revoked_and_failed),
		cmocka_unit_test(test_worker_msg__report_needs_id_and_state),
		cmocka_unit_test(test_worker_msg__report_parse),
		cmocka_unit_test(test_worker_msg__report_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
