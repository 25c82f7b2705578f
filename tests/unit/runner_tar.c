/* runners/runner_tar.c: the host's half of tar-stream copies (ssh and docker runners). */
#include "tests/unit/helpers.h"
#include "framework/sbuf.h"
#include "runners/runner_tar.h"

#include <sys/stat.h>
#include <unistd.h>

static void test_runner_tar__split(void **state)
{
	static const struct { const char *in, *dir, *base; } ok[] = {
		{ "/a/b", "/a", "b" }, { "/a/b/", "/a", "b" }, { "/b", "/", "b" }, { "b", ".", "b" },
		{ "/a/it's a b", "/a", "it's a b" }, { "/a/-x", "/a", "-x" },
	};
	static const char *const bad[] = { "/", "", ".", "..", "/a/..", "/a/." };
	char dir[PATH_MAX], base[PATH_MAX];
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(ok); i++) {
		assert_ok_err(runner_tar_split(dir, sizeof(dir), base, sizeof(base), ok[i].in, &err), &err);
		assert_string_equal(dir, ok[i].dir);
		assert_string_equal(base, ok[i].base);
	}
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++)
		assert_int_equal(runner_tar_split(dir, sizeof(dir), base, sizeof(base), bad[i], &err), ALTS_EINVALID);
}

static void write_to(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

/* cp -a semantics: into an existing directory, else as the new name; names starting with '-' stay names. */
static void test_runner_tar__unpack_like_cp(void **state)
{
	const char *dir = test_sandbox_init();
	char src[PATH_MAX], tar[PATH_MAX], into[PATH_MAX], as[PATH_MAX], check[PATH_MAX * 2];
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf sb = SBUF_INIT;
	struct stat st;

	ALTS_UNUSED(state);
	snprintf(src, sizeof(src), "%s/-src dir", dir);
	snprintf(tar, sizeof(tar), "%s/a.tar", dir);
	snprintf(into, sizeof(into), "%s/into", dir);
	snprintf(as, sizeof(as), "%s/renamed", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(into, 0755), 0);
	snprintf(check, sizeof(check), "%s/f 1", src);
	write_to(check, "one\n");
	assert_ok_err(runner_tar_pack(tar, src, &err), &err);
	assert_ok_err(runner_tar_unpack(tar, "-src dir", into, &err), &err);
	snprintf(check, sizeof(check), "%s/-src dir/f 1", into);
	assert_int_equal(sbuf_read_file(&sb, check, 0), 0);
	assert_string_equal(sb.buf, "one\n");
	assert_ok_err(runner_tar_unpack(tar, "-src dir", as, &err), &err);
	snprintf(check, sizeof(check), "%s/f 1", as);
	assert_int_equal(stat(check, &st), 0);
	/* no temporary directory is left beside it */
	snprintf(check, sizeof(check), "test -z \"$(ls -A '%s' | grep alts-copy)\"", dir);
	assert_int_equal(system(check), 0);
	assert_int_equal(runner_tar_pack(tar, "/nonexistent/x", &err), ALTS_ENOTFOUND);
	sbuf_release(&sb);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_tar__split),
		cmocka_unit_test(test_runner_tar__unpack_like_cp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
