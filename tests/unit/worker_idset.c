/* Unit tests for worker/idset.c (dedupe and canceled ids) and worker/backoff.c. */
#include "helpers.h"
#include "worker/backoff.h"
#include "worker/idset.h"

static void test_worker_idset__add_has_remove(void **state)
{
	struct idset *s = idset_new(8, 0);

	ALTS_UNUSED(state);
	assert_non_null(s);
	assert_true(idset_add(s, "a", 0));
	assert_false(idset_add(s, "a", 1));
	assert_true(idset_has(s, "a", 2));
	assert_false(idset_has(s, "b", 2));
	assert_int_equal(idset_count(s, 3), 1);
	assert_true(idset_remove(s, "a"));
	assert_false(idset_remove(s, "a"));
	assert_false(idset_has(s, "a", 4));
	assert_true(idset_add(s, "a", 5));
	idset_free(s);
}

static void test_worker_idset__bounded_oldest_goes(void **state)
{
	struct idset *s = idset_new(3, 0);

	ALTS_UNUSED(state);
	assert_true(idset_add(s, "1", 0));
	assert_true(idset_add(s, "2", 0));
	assert_true(idset_add(s, "3", 0));
	assert_true(idset_add(s, "4", 0));
	assert_false(idset_has(s, "1", 0));
	assert_true(idset_has(s, "2", 0));
	assert_true(idset_has(s, "4", 0));
	assert_int_equal(idset_count(s, 0), 3);
	idset_free(s);
}

static void test_worker_idset__expiry(void **state)
{
	struct idset *s = idset_new(4, 1000);

	ALTS_UNUSED(state);
	assert_true(idset_add(s, "x", 100));
	assert_true(idset_has(s, "x", 1099));
	assert_false(idset_has(s, "x", 1100));
	assert_int_equal(idset_count(s, 1100), 0);
	assert_true(idset_add(s, "x", 1200));  /* expired: added again */
	assert_true(idset_has(s, "x", 1300));
	idset_free(s);
}

static void test_worker_idset__refuses_long_ids(void **state)
{
	struct idset *s = idset_new(2, 0);
	char id[IDSET_ID_MAX + 2];

	ALTS_UNUSED(state);
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_false(idset_add(s, id, 0));
	id[IDSET_ID_MAX] = '\0';
	assert_true(idset_add(s, id, 0));
	assert_true(idset_has(s, id, 0));
	assert_false(idset_add(NULL, "a", 0));
	assert_null(idset_new(0, 0));
	idset_free(NULL);
	idset_free(s);
}

static void test_worker_backoff__doubles_to_ten_seconds(void **state)
{
	static const long want[] = { 250, 500, 1000, 2000, 4000, 8000, 10000, 10000 };
	long d = 0;

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(want); i++) {
		d = worker_backoff_next(d);
		assert_int_equal(d, want[i]);
	}
	assert_int_equal(worker_backoff_next(-5), 250);
	assert_int_equal(worker_backoff_next(7000), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_idset__add_has_remove),
		cmocka_unit_test(test_worker_idset__bounded_oldest_goes),
		cmocka_unit_test(test_worker_idset__expiry),
		cmocka_unit_test(test_worker_idset__refuses_long_ids),
		cmocka_unit_test(test_worker_backoff__doubles_to_ten_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
