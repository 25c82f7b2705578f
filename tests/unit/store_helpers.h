#ifndef ALTS_TEST_STORE_HELPERS_H
#define ALTS_TEST_STORE_HELPERS_H

/*
 * Backend settings for the store tests, set by key as a config file
 * would (artifact_store_confs_set), so the tests go through the
 * backends' own key tables. Include after helpers.h.
 */

#include "framework/arena.h"
#include "reporters/stores/artifact_store.h"

#define STORE_TEST_MAX_ARENAS 64

static struct arena *store_test_arenas[STORE_TEST_MAX_ARENAS];
static size_t store_test_narenas;

/*
 * kv: "key", "value", ..., NULL; a NULL value leaves its key unset.
 * Fails the test on an error. The confs live until store_test_confs_free().
 */
static const struct artifact_store_confs *store_test_confs(const char *const *kv)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct artifact_store_confs *confs = NULL;
	struct arena *a = arena_new();

	assert_non_null(a);
	assert_true(store_test_narenas < STORE_TEST_MAX_ARENAS);
	store_test_arenas[store_test_narenas++] = a;
	assert_ok_err(artifact_store_confs_new(&confs, a, &err), &err);
	for (size_t i = 0; kv[i]; i += 2) {
		if (kv[i + 1])
			assert_ok_err(artifact_store_confs_set(confs, kv[i], kv[i + 1], &err), &err);
	}
	return confs;
}

#define STORE_CONFS(...) store_test_confs((const char *const[]){ __VA_ARGS__, NULL })

static void store_test_confs_free(void)
{
	while (store_test_narenas)
		arena_free(store_test_arenas[--store_test_narenas]);
}

#endif
