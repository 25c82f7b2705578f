/* Unit tests for framework/fs.c: mkdir -p and tree removal. */
#include "helpers.h"
#include "framework/err.h"
#include "framework/fs.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
	ALTS_UNUSED(state);
	test_sandbox_init();
	return 0;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	test_sandbox_cleanup();
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	return st.st_mode & 07777;
}

static void test_fs__mkdir_p_makes_missing_parents_and_accepts_existing(void **state)
{
	const char *base = test_sandbox_init();
	char deep[PATH_MAX], mid[PATH_MAX];
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	snprintf(mid, sizeof(mid), "%s/a/b", base);
	snprintf(deep, sizeof(deep), "%s/a/b/c/", base);
	assert_ok_err(fs_mkdir_p(deep, 0700, &err), &err);
	assert_int_equal(mode_of(mid) & 0700, 0700);
	snprintf(deep, sizeof(deep), "%s/a/b/c", base);
	assert_int_equal(mode_of(deep), 0700);
	/* Again: nothing to do, no error. */
	assert_ok_err(fs_mkdir_p(deep, 0700, &err), &err);
	assert_int_equal(fs_remove_tree(mid), 0);
	assert_int_not_equal(access(mid, F_OK), 0);
}

static void test_fs__mkdir_p_names_the_directory_it_cannot_make(void **state)
{
	const char *base = test_sandbox_init();
	char file[PATH_MAX], below[PATH_MAX];
	struct alts_err err = ALTS_ERR_INIT;
	FILE *f;

	ALTS_UNUSED(state);
	snprintf(file, sizeof(file), "%s/plain", base);
	snprintf(below, sizeof(below), "%s/plain/x/y", base);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(fs_mkdir_p(below, 0755, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "cannot create directory '"));
	assert_non_null(strstr(err.msg, "/plain/x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fs__mkdir_p_makes_missing_parents_and_accepts_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fs__mkdir_p_names_the_directory_it_cannot_make, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
