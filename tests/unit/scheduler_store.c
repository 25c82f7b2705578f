/* Unit tests for scheduler/store.c: the task lifecycle in SQLite. */
#include "helpers.h"
#include "scheduler/store.h"

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
	assert_ok_err(store_unpublished(s, 10, count_cb, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_ok_err(store_cancel_bs(s, "7", &n, &err), &err);
	assert_int_equal(n, 2);
	assert_int_equal(store_cancel(s, "zz", &st, &changed, &err), ALTS_ENOTFOUND);
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
	assert_ok_err(store_report(s, "a", "running", NULL, &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_report(s, "a", "finished", "{\"ok\":true}", &applied, &err), &err);
	assert_true(applied);
	assert_ok_err(store_report(s, "a", "failed", NULL, &applied, &err), &err);
	assert_false(applied);
	assert_ok_err(store_get(s, &t, "a", &err), &err);
	assert_string_equal(t.state, "finished");
	assert_string_equal(t.result, "{\"ok\":true}");
	assert_true(t.started_ms > 0 && t.finished_ms >= t.started_ms);
	store_task_release(&t);
	assert_int_equal(store_report(s, "a", "exploded", NULL, &applied, &err), ALTS_EINVALID);
	assert_int_equal(store_report(s, "zz", "running", NULL, &applied, &err), ALTS_ENOTFOUND);
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
	assert_ok_err(store_report(s, "a", "finished", NULL, &applied, &err), &err);
	assert_ok_err(store_report(s, "b", "finished", NULL, &applied, &err), &err);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scheduler_store__insert_get_list),
		cmocka_unit_test(test_scheduler_store__outbox_and_cancel),
		cmocka_unit_test(test_scheduler_store__reports),
		cmocka_unit_test(test_scheduler_store__callbacks_pending_until_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
