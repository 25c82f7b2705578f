/* Unit tests for worker/task.c's pure parts: timeouts and the runner choice. */
#include "helpers.h"
#include "engine/suite_load.h"
#include "worker/task.h"

static struct suite *load(const char *text)
{
	struct suite *s = NULL;
	struct alts_err err = ALTS_ERR_INIT;

	assert_ok_err(suite_load_buffer(&s, "suite", "/nonexistent", text, strlen(text), &err), &err);
	return s;
}

static void test_worker_task__timeouts_by_kind(void **state)
{
	struct farm_config c;
	struct suite *s = load("name: t\n"
			       "checks:\n"
			       "  - launch: {command: 'true'}\n"
			       "  - launch: {command: 'true', timeout: 5s}\n"
			       "  - launch: {command: 'true', timeout: 1h}\n"
			       "  - script: {path: /bin/true}\n"
			       "  - script: {path: /bin/true, timeout: 10s}\n");

	ALTS_UNUSED(state);
	memset(&c, 0, sizeof(c));
	c.commands_timeout = 30;
	c.tests_timeout = 1800;
	task_apply_timeouts(s, &c);
	assert_true(s->checks[0].timeout == 30);
	assert_true(s->checks[1].timeout == 5);    /* shorter: kept */
	assert_true(s->checks[2].timeout == 30);   /* longer: capped */
	assert_true(s->checks[3].timeout == 1800);
	assert_true(s->checks[4].timeout == 10);
	suite_free(s);
}

static void test_worker_task__suite_check_timeout_kept_when_shorter(void **state)
{
	struct farm_config c;
	struct suite *s = load("name: t\ncheck_timeout: 7s\nchecks:\n  - launch: {command: 'true'}\n");

	ALTS_UNUSED(state);
	memset(&c, 0, sizeof(c));
	c.commands_timeout = 30;
	c.tests_timeout = 0;  /* no limit */
	task_apply_timeouts(s, &c);
	assert_true(s->checks[0].timeout == 7);
	suite_free(s);
}

static void test_worker_task__runner_choice(void **state)
{
	struct suite *own = load("name: t\nenvironment: {runner: local}\nchecks: [{launch: {command: 'true'}}]\n");
	struct suite *none = load("name: t\nchecks: [{launch: {command: 'true'}}]\n");

	ALTS_UNUSED(state);
	assert_null(task_pick_runner(own, "docker"));    /* the suite's environment wins */
	assert_string_equal(task_pick_runner(none, "docker"), "docker");
	assert_null(task_pick_runner(none, NULL));
	suite_free(own);
	suite_free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_task__timeouts_by_kind),
		cmocka_unit_test(test_worker_task__suite_check_timeout_kept_when_shorter),
		cmocka_unit_test(test_worker_task__runner_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
