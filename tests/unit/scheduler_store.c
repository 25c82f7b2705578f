/* Unit tests for scheduler/store.c: the task lifecycle in SQLite. */
#include "helpers.h"
#include "framework/sbuf.h"
#include "scheduler/results.h"
#include "scheduler/store.h"

#include <sqlite3.h>

/* A report with only a state and an optional result. */
static int report(struct store *s, const char *id, const char *state, const char *result, bool *applied,
		  struct alts_err *err)
{
	struct task_report r = { .state = state, .result = result };

	return store_report(s, id, &r, applied, err);
}

static struct store *open_store(void)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/tasks.db", test_sandbox_init());
	assert_ok_err(store_open(&s, path, &err), &err);
	return s;
}

static int count_cb(const struct store_task *t, void *payload)
{
	ALTS_UNUSED(t);
	(*(int *)payload)++;
	return 0;
}

static void test_scheduler_store__insert_get_list(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_task t;
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "id-1", "docker-x86_64-0", "42", NULL, "{\"m\":1}", &err), &err);
	assert_ok_err(store_insert(s, "id-2", "docker-aarch64-0", NULL, "https://cb", "{\"m\":2}", &err), &err);
	assert_int_equal(store_insert(s, "id-1", "q", NULL, NULL, "{}", &err), ALTS_ERROR);
	assert_ok_err(store_get(s, &t, "id-2", &err), &err);
	assert_string_equal(t.state, "queued");
	assert_string_equal(t.queue, "docker-aarch64-0");
	assert_null(t.bs_task_id);
	assert_string_equal(t.callback_href, "https://cb");
	assert_false(t.published);
	assert_true(t.created_ms > 0);
	store_task_release(&t);
	assert_int_equal(store_get(s, &t, "nope", &err), ALTS_ENOTFOUND);
	assert_ok_err(store_list(s, NULL, 0, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 2);
	n = 0;
	assert_ok_err(store_list(s, "queued", 1, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1);
	store_free(s);
	test_sandbox_cleanup();
}

static void test_scheduler_store__outbox_and_cancel(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	const char *st = NULL;
	bool changed = false;
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", "7", NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "b", "q", "7", NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "c", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_mark_published(s, "a", store_now_ms(), &err), &err);
	assert_ok_err(store_cancel(s, "c", &st, &changed, &err), &err);
	assert_string_equal(st, "canceled");
	assert_true(changed);
	assert_ok_err(store_cancel(s, "c", &st, &changed, &err), &err);
	assert_false(changed);
	/* Only b: a is published, c canceled (never published). */
	assert_ok_err(store_unpublished(s, 0, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_ok_err(store_cancel_bs(s, "7", &n, &err), &err);
	assert_int_equal(n, 2);
	assert_int_equal(store_cancel(s, "zz", &st, &changed, &err), ALTS_ENOTFOUND);
	store_free(s);
	test_sandbox_cleanup();
}

static void test_scheduler_store__mark_published_in_one_go(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	const char *const ids[] = { "a", "c", "d" };
	struct store_task t;
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "b", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "c", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "d", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_mark_published_many(s, ids, 3, 1234, &err), &err);
	assert_ok_err(store_mark_published_many(s, ids, 0, 1234, &err), &err);
	/* Only b is left to publish; the others carry the time. */
	assert_ok_err(store_unpublished(s, 0, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_ok_err(store_get(s, &t, "c", &err), &err);
	assert_true(t.published);
	assert_int_equal(t.published_ms, 1234);
	store_task_release(&t);
	store_free(s);
	test_sandbox_cleanup();
}

static void test_scheduler_store__reports(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_task t;
	bool applied = false;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(report(s, "a", "running", NULL, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(report(s, "a", "finished", "{\"ok\":true}", &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(report(s, "a", "failed", NULL, &applied, &err), &err);
	assert_false(applied);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "finished");
	assert_string_equal(t.result, "{\"ok\":true}");
	assert_true(t.started_ms > 0 && t.finished_ms >= t.started_ms);
	store_task_release(&t);
	assert_int_equal(report(s, "a", "exploded", NULL, &applied, &err), ALTS_EINVALID);
	assert_int_equal(report(s, "zz", "running", NULL, &applied, &err), ALTS_ENOTFOUND);
	store_free(s);
	test_sandbox_cleanup();
}

static void test_scheduler_store__callbacks_pending_until_done(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	bool applied = false;
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", NULL, "http://cb/", "{}", &err), &err);
	assert_ok_err(store_insert(s, "b", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_pending_callbacks(s, store_now_ms(), 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 0); /* not ended yet */
	assert_ok_err(report(s, "a", "finished", NULL, &applied, &err), &err);
	assert_ok_err(report(s, "b", "finished", NULL, &applied, &err), &err);
	assert_ok_err(store_pending_callbacks(s, store_now_ms(), 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1); /* only a has a callback_href */
	assert_ok_err(store_callback_result(s, "a", 0, store_now_ms() + 60000, &err), &err);
	n = 0;
	assert_ok_err(store_pending_callbacks(s, store_now_ms(), 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 0); /* not due */
	assert_ok_err(store_pending_callbacks(s, store_now_ms() + 61000, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_ok_err(store_callback_result(s, "a", 1, 0, &err), &err);
	n = 0;
	assert_ok_err(store_pending_callbacks(s, store_now_ms() + 61000, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 0); /* delivered */
	store_free(s);
	test_sandbox_cleanup();
}

/* Every state of the protocol, with worker, progress, artifacts and error. */
static void test_scheduler_store__report_fields(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_task t;
	bool applied = false;
	struct task_report r = { .state = "received", .worker = "host-1/42" };

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "queued"); /* received changes no state */
	assert_string_equal(t.worker, "host-1/42");
	assert_false(t.has_progress);
	assert_int_equal(t.started_ms, 0);
	store_task_release(&t);

	r = (struct task_report){ .state = "running", .has_progress = true, .progress_done = 0, .progress_total = 5 };
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_true(applied);
	r.progress_done = 2;
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_true(applied); /* progress while running */
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "running");
	assert_string_equal(t.worker, "host-1/42"); /* kept when a report names none */
	assert_true(t.has_progress);
	assert_int_equal(t.progress_done, 2);
	assert_int_equal(t.progress_total, 5);
	assert_true(t.started_ms > 0);
	store_task_release(&t);

	r = (struct task_report){ .state = "finished", .worker = "host-1/42", .result = "{\"success\":true}",
				  .artifacts = "{\"report.tap\":\"file:///x/a/report.tap\"}",
				  .artifacts_pending = "[\"logs/install.log\"]" };
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "finished");
	assert_string_equal(t.artifacts, "{\"report.tap\":\"file:///x/a/report.tap\"}");
	assert_string_equal(t.artifacts_pending, "[\"logs/install.log\"]");
	assert_int_equal(t.progress_done, 2);
	assert_null(t.error);
	store_task_release(&t);
	/* A second final report (redelivery) keeps the first. */
	r = (struct task_report){ .state = "failed", .error = "late" };
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_false(applied);
	r = (struct task_report){ .state = "received", .worker = "other/1" };
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_false(applied);

	/* failed carries the error. */
	assert_ok_err(store_insert(s, "b", "q", NULL, NULL, "{}", &err), &err);
	r = (struct task_report){ .state = "failed", .worker = "w/2", .error = "cannot pull image" };
	assert_ok_err(store_report(s, "b", &r, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_get(s, &t, "b", &err), &err);
	assert_string_equal(t.state, "failed");
	assert_string_equal(t.error, "cannot pull image");
	assert_null(t.result);
	assert_true(t.finished_ms > 0);
	store_task_release(&t);
	store_free(s);
	test_sandbox_cleanup();
}

/* revoked: canceled with the worker's result, also after the scheduler canceled; nothing else lands after. */
static void test_scheduler_store__revoked_and_canceled(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_task t;
	const char *st = NULL;
	bool applied = false, changed = false;
	struct task_report r = { .state = "revoked", .result = "{\"revoked\":true}" };

	ALTS_UNUSED(state);
	/* Revoked while running (the worker saw the cancel first). */
	assert_ok_err(store_insert(s, "a", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(report(s, "a", "running", NULL, &applied, &err), &err);
	assert_ok_err(store_report(s, "a", &r, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "canceled");
	assert_string_equal(t.result, "{\"revoked\":true}");
	store_task_release(&t);

	/* Canceled by the scheduler, then the worker's revoked report brings the result. */
	assert_ok_err(store_insert(s, "b", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_mark_published(s, "b", store_now_ms(), &err), &err);
	assert_ok_err(report(s, "b", "running", NULL, &applied, &err), &err);
	assert_ok_err(store_cancel(s, "b", &st, &changed, &err), &err);
	assert_true(changed);
	assert_ok_err(report(s, "b", "finished", "{\"late\":1}", &applied, &err), &err);
	assert_false(applied); /* reports for canceled tasks are ignored ... */
	r.worker = "w/1";
	assert_ok_err(store_report(s, "b", &r, &applied, &err), &err);
	assert_true(applied); /* ... except revoked */
	r.result = "{\"revoked\":true,\"second\":1}";
	assert_ok_err(store_report(s, "b", &r, &applied, &err), &err);
	assert_false(applied); /* the first result stays */
	assert_ok_err(store_get(s, &t, "b", &err), &err);
	assert_string_equal(t.state, "canceled");
	assert_string_equal(t.result, "{\"revoked\":true}");
	assert_string_equal(t.worker, "w/1");
	store_task_release(&t);

	/* A finished task is not revoked. */
	assert_ok_err(store_insert(s, "c", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(report(s, "c", "finished", "{}", &applied, &err), &err);
	assert_ok_err(store_report(s, "c", &r, &applied, &err), &err);
	assert_false(applied);
	assert_int_equal(report(s, "zz", "revoked", NULL, &applied, &err), ALTS_ENOTFOUND);
	assert_int_equal(report(s, "c", NULL, NULL, &applied, &err), ALTS_EINVALID);
	store_free(s);
	test_sandbox_cleanup();
}

static int collect_ids(const struct store_task *t, void *payload)
{
	struct sbuf *sb = payload;

	sbuf_addf(sb, "%s%s", sb->len ? "," : "", t->id);
	return 0;
}

static char *pending_cancels(struct store *s)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT;

	assert_ok_err(store_pending_cancels(s, 100, collect_ids, &sb, &err), &err);
	return sbuf_detach(&sb, NULL);
}

/* Only published (or running) tasks need their cancel announced; a cancel during the publish follows it. */
static void test_scheduler_store__cancel_pending(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	const char *st = NULL;
	bool changed = false, applied = false;
	char *ids;
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "unpub", "q", "9", NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "pub", "q", "9", NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "run", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "inflight", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_insert(s, "done", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_mark_published(s, "pub", store_now_ms(), &err), &err);
	assert_ok_err(store_mark_published(s, "done", store_now_ms(), &err), &err);
	assert_ok_err(report(s, "run", "running", NULL, &applied, &err), &err); /* running before the publish confirm */
	assert_ok_err(report(s, "done", "finished", NULL, &applied, &err), &err);
	ids = pending_cancels(s);
	assert_string_equal(ids, "");
	alts_free(ids);

	assert_ok_err(store_cancel_bs(s, "9", &n, &err), &err);
	assert_int_equal(n, 2);
	assert_ok_err(store_cancel(s, "run", &st, &changed, &err), &err);
	assert_ok_err(store_cancel(s, "done", &st, &changed, &err), &err);
	assert_false(changed);
	assert_ok_err(store_cancel(s, "inflight", &st, &changed, &err), &err);
	assert_true(changed);
	ids = pending_cancels(s);
	assert_string_equal(ids, "pub,run"); /* not unpub (never published), not done */
	alts_free(ids);
	/* The outbox had "inflight" on the wire when it was canceled: its confirm adds the cancel. */
	assert_ok_err(store_mark_published(s, "inflight", store_now_ms(), &err), &err);
	ids = pending_cancels(s);
	assert_string_equal(ids, "pub,run,inflight");
	alts_free(ids);
	assert_ok_err(store_unpublished(s, 0, 10, count_cb, &n, &err), &err);
	assert_ok_err(store_cancel_sent(s, "pub", &err), &err);
	assert_ok_err(store_cancel_sent(s, "inflight", &err), &err);
	/* A repeated publish confirm of a canceled task does not announce it twice. */
	assert_ok_err(store_mark_published(s, "pub", store_now_ms(), &err), &err);
	ids = pending_cancels(s);
	assert_string_equal(ids, "run");
	alts_free(ids);
	store_free(s);
	test_sandbox_cleanup();
}

/* A database from the first schema (no report columns) is migrated; its rows keep working. */
static void test_scheduler_store__migrates_old_schema(void **state)
{
	static const char old_schema[] =
		"CREATE TABLE tasks (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,"
		" queue TEXT NOT NULL, bs_task_id TEXT, callback_href TEXT, message TEXT NOT NULL, result TEXT,"
		" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, published_ms INTEGER, started_ms INTEGER,"
		" finished_ms INTEGER, published INTEGER NOT NULL DEFAULT 0, callback_done INTEGER NOT NULL DEFAULT 0,"
		" callback_attempts INTEGER NOT NULL DEFAULT 0, callback_next_ms INTEGER NOT NULL DEFAULT 0);"
		"INSERT INTO tasks (id, state, queue, message, result, created_ms, updated_ms, published)"
		" VALUES ('old-1', 'running', 'docker-x86_64-0', '{}', NULL, 1, 1, 1),"
		"        ('old-2', 'finished', 'docker-x86_64-0', '{}', '{\"ok\":1}', 1, 1, 1);";
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = NULL;
	struct store_task t;
	struct task_report r = { .state = "finished", .worker = "w/1", .artifacts = "{}" };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char path[4096];
	const char *cs = NULL;
	bool applied = false, changed = false;
	int cols = 0;

	ALTS_UNUSED(state);
	snprintf(path, sizeof(path), "%s/old.db", test_sandbox_init());
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, old_schema, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	for (int round = 0; round < 2; round++) {  /* the second open finds nothing to do */
		assert_ok_err(store_open(&s, path, &err), &err);
		assert_ok_err(store_get(s, &t, "old-2", &err), &err);
		assert_string_equal(t.result, "{\"ok\":1}");
		assert_null(t.worker);
		assert_false(t.cancel_pending);
		store_task_release(&t);
		store_free(s);
	}
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM pragma_table_info('tasks')", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	cols = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(cols, 17 + 8);  /* + worker, artifacts, artifacts_pending, error, progress x2, cancel_pending, live_log */

	assert_ok_err(store_open(&s, path, &err), &err);
	assert_ok_err(store_report(s, "old-1", &r, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_get(s, &t, "old-1", &err), &err);
	assert_string_equal(t.state, "finished");
	assert_string_equal(t.worker, "w/1");
	store_task_release(&t);
	assert_ok_err(store_insert(s, "new", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_mark_published(s, "new", store_now_ms(), &err), &err);
	assert_ok_err(store_cancel(s, "new", &cs, &changed, &err), &err);
	assert_ok_err(store_get(s, &t, "new", &err), &err);
	assert_true(t.cancel_pending);
	store_task_release(&t);
	store_free(s);
	test_sandbox_cleanup();
}

/* Applies body as the results consumer and the report route do; asserts the code. */
static void apply(struct store *s, const char *body, const char *task_id, int want, bool want_applied)
{
	struct alts_err err = ALTS_ERR_INIT;
	bool applied = !want_applied;
	int rc = results_apply(s, body, strlen(body), task_id, &applied, &err);

	if (rc != want)
		fail_msg("'%s': got %d (%s), want %d", body, rc, err.msg, want);
	assert_int_equal(applied, want_applied);
}

/* results_apply: the report JSON as workers send it, bad optional fields left out. */
static void test_scheduler_store__apply_report_json(void **state)
{
	static const struct {
		const char *body;
		int rc;
	} bad[] = {
		{ "not json", ALTS_EINVALID },
		{ "{\"state\":\"running\"}", ALTS_EINVALID },
		{ "{\"task_id\":\"a\",\"state\":\"exploded\"}", ALTS_EINVALID },
		{ "{\"task_id\":\"nope\",\"state\":\"running\"}", ALTS_ENOTFOUND },
		{ "[1,2]", ALTS_EINVALID },
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_task t;
	const char *body;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "a", "q", NULL, NULL, "{}", &err), &err);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++)
		apply(s, bad[i].body, NULL, bad[i].rc, false); /* dropped (the consumer acks them) */
	/* The report route's task must be the report's. */
	apply(s, "{\"task_id\":\"a\",\"state\":\"running\"}", "b", ALTS_EINVALID, false);
	apply(s, "{\"task_id\":\"a\",\"state\":\"received\",\"worker\":\"h/1\",\"time_ms\":1764000000000}", "a", 0,
	      true);
	apply(s, "{\"task_id\":\"a\",\"state\":\"running\",\"worker\":\"h/1\",\"progress\":{\"done\":1,\"total\":4}}", NULL, 0,
	      true);
	apply(s, "{\"task_id\":\"a\",\"state\":\"running\",\"progress\":{\"done\":-1,\"total\":\"x\"}}", NULL, 0, true);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "running");
	assert_string_equal(t.worker, "h/1");
	assert_int_equal(t.progress_done, 1); /* the bad progress was left out */
	assert_int_equal(t.progress_total, 4);
	store_task_release(&t);
	body = "{\"task_id\":\"a\",\"state\":\"failed\",\"worker\":7,\"result\":\"x\","
	       "\"artifacts\":{\"report.tap\":\"file:///r/a/report.tap\",\"bad\":1},"
	       "\"artifacts_pending\":[\"logs/install.log\"],\"error\":\"no space left\"}";
	apply(s, body, "a", 0, true);
	apply(s, body, "a", 0, false);  /* the same report again: nothing changes */
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "failed");
	assert_string_equal(t.worker, "h/1");
	assert_null(t.result);     /* not an object */
	assert_null(t.artifacts);  /* a non-string URL */
	assert_string_equal(t.artifacts_pending, "[\"logs/install.log\"]");
	assert_string_equal(t.error, "no space left");
	store_task_release(&t);
	store_free(s);
	test_sandbox_cleanup();
}

/* One transaction for many; a failing row (a duplicate id) fails alone and the rest are committed. */
static void test_scheduler_store__insert_many(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct store_new_task rows[] = {
		{ "m-1", "q", NULL, NULL, "{}", -1 },
		{ "m-2", "q", "9", NULL, "{}", -1 },
		{ "m-3", "q", NULL, NULL, "{}", -1 },
	};
	struct store_new_task again[] = {
		{ "m-4", "q", NULL, NULL, "{}", -1 },
		{ "m-2", "q", NULL, NULL, "{}", -1 },
		{ "m-5", "q", NULL, NULL, "{}", -1 },
	};
	int n = 0;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert_many(s, rows, 3, &err), &err);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(rows[i].rc, 0);
	assert_int_equal(store_insert_many(s, again, 3, &err), ALTS_ERROR);
	assert_non_null(strstr(err.msg, "insert a task"));
	assert_int_equal(again[0].rc, 0);
	assert_int_equal(again[1].rc, ALTS_ERROR);
	assert_int_equal(again[2].rc, 0);
	assert_ok_err(store_list(s, NULL, 0, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 5);
	n = 0;
	assert_ok_err(store_unpublished(s, 2, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 3);  /* seq > 2: m-3, m-4, m-5 */
	store_free(s);
	test_sandbox_cleanup();
}

/* Offsets past 2^31 and 2^32 give nothing, not the log from the start (substr takes 32-bit starts). */
static void test_scheduler_store__live_log_big_offsets(void **state)
{
	static const int64_t offsets[] = { 5, 6, 1000, (int64_t)1 << 31, ((int64_t)1 << 32), ((int64_t)1 << 32) + 2,
					   INT64_MAX - 1 };
	struct alts_err err = ALTS_ERR_INIT;
	struct store *s = open_store();
	struct task_report r = { .state = "running", .log = "hello" };
	struct sbuf sb = SBUF_INIT;
	bool applied;

	ALTS_UNUSED(state);
	assert_ok_err(store_insert(s, "t1", "q", NULL, NULL, "{}", &err), &err);
	assert_ok_err(store_report(s, "t1", &r, &applied, &err), &err);
	assert_ok_err(store_live_log(s, "t1", 2, 100, &sb, &err), &err);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.buf, "llo", 3);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(offsets); i++) {
		sbuf_reset(&sb);
		assert_ok_err(store_live_log(s, "t1", offsets[i], 100, &sb, &err), &err);
		if (sb.len)
			fail_msg("offset %lld gave %zu bytes", (long long)offsets[i], sb.len);
	}
	sbuf_release(&sb);
	store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_store__insert_get_list),
		cmocka_unit_test(test_scheduler_store__insert_many),
		cmocka_unit_test(test_scheduler_store__outbox_and_cancel),
		cmocka_unit_test(test_scheduler_store__mark_published_in_one_go),
		cmocka_unit_test(test_scheduler_store__reports),
		cmocka_unit_test(test_scheduler_store__callbacks_pending_until_done),
		cmocka_unit_test(test_scheduler_store__report_fields),
		cmocka_unit_test(test_scheduler_store__revoked_and_canceled),
		cmocka_unit_test(test_scheduler_store__cancel_pending),
		cmocka_unit_test(test_scheduler_store__migrates_old_schema),
		cmocka_unit_test(test_scheduler_store__apply_report_json),
		cmocka_unit_test(test_scheduler_store__live_log_big_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
