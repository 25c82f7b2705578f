#include "tests/unit/helpers.h"

#include "framework/err.h"
#include "runners/image.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

static int setup(void **state)
{
	ALTS_UNUSED(state);
	setenv("ALTS_IMAGE_CACHE", test_sandbox_init(), 1);
	return 0;
}

static int teardown(void **state)
{
	ALTS_UNUSED(state);
	unsetenv("ALTS_IMAGE_CACHE");
	test_sandbox_cleanup();
	return 0;
}

/* Asserts that the options are refused as invalid with a message containing want. */
static void assert_build_invalid(const struct image_build_opts *o, const char *want)
{
	struct alts_err err = ALTS_ERR_INIT;
	int rc = image_build_check(o, &err);

	if (rc != ALTS_EINVALID || !strstr(err.msg, want))
		fail_msg("expected ALTS_EINVALID with '%s', got %d: '%s'", want, rc, err.msg);
}

static void test_image__build_check_accepts_dist(void **state)
{
	struct image_build_opts o = { 0 };
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	o.name = "debian-12";
	assert_ok_err(image_build_check(&o, &err), &err);
	o.name = "debian-12-rpm";
	o.dist = "debian-12";
	o.include = "debsums,procps,rpm,dnf,createrepo-c,libstdc++6";
	o.mirror = "http://deb.debian.org/debian";
	o.variant = "buildd";
	assert_ok_err(image_build_check(&o, &err), &err);
	o.name = "my.image_2";
	o.dist = "ubuntu-24.04";
	o.mirror = "file:/srv/mirror";
	assert_ok_err(image_build_check(&o, &err), &err);
}

static void test_image__build_check_refuses_bad_values(void **state)
{
	struct image_build_opts o = { 0 };

	ALTS_UNUSED(state);
	o.name = "debian-12-rpm";
	assert_build_invalid(&o, "cannot build 'debian-12-rpm'");
	o.dist = "fedora-40";
	assert_build_invalid(&o, "cannot build 'fedora-40'");
	o.dist = "debian";
	assert_build_invalid(&o, "cannot build 'debian'");
	o.dist = "-12";
	assert_build_invalid(&o, "cannot build '-12'");
	o.dist = "debian-12";
	o.name = "a/b";
	assert_build_invalid(&o, "invalid image name 'a/b'");
	o.name = "";
	assert_build_invalid(&o, "invalid image name ''");
	o.name = ".hidden";
	assert_build_invalid(&o, "invalid image name '.hidden'");
	o.name = "x";
	o.include = "rpm,,dnf";
	assert_build_invalid(&o, "invalid --include");
	o.include = "rpm dnf";
	assert_build_invalid(&o, "invalid --include");
	o.include = "rpm,";
	assert_build_invalid(&o, "invalid --include");
	o.include = "-rpm";
	assert_build_invalid(&o, "invalid --include");
	o.include = NULL;
	o.mirror = "deb.debian.org/debian";
	assert_build_invalid(&o, "invalid mirror");
	o.mirror = "http://deb.debian.org/debian extra";
	assert_build_invalid(&o, "invalid mirror");
	o.mirror = "http://x/'$(reboot)'";
	assert_build_invalid(&o, "invalid mirror");
	o.mirror = NULL;
	o.variant = "";
	assert_build_invalid(&o, "unknown variant ''");
	o.variant = "--foreign";
	assert_build_invalid(&o, "unknown variant '--foreign'");
}

static void test_image__import_refuses_bad_files(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	char *junk = test_write_file("junk.tar.gz", "not a tarball\n");
	char dir[PATH_MAX];

	ALTS_UNUSED(state);
	assert_int_equal(image_import("x", "/nonexistent/rootfs.tar", false, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "cannot read '/nonexistent/rootfs.tar'"));
	assert_int_equal(image_import("x", junk, false, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "is not a tar archive"));
	snprintf(dir, sizeof(dir), "%s", image_cache_dir());
	assert_int_equal(image_import("x", dir, false, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	assert_int_equal(image_import("../x", junk, false, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "invalid image name '../x'"));
	alts_free(junk);
}

static void test_image__remove_and_open_missing(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct image_meta m;

	ALTS_UNUSED(state);
	assert_int_equal(image_remove("nothing-here", &err), ALTS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no image 'nothing-here'"));
	assert_int_equal(image_open(&m, "nothing-here", &err), ALTS_ENOTFOUND);
	assert_int_equal(image_remove("a/b", &err), ALTS_EINVALID);
}

static void make_dir(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", image_cache_dir(), name);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/file", image_cache_dir(), name);
	assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
}

static bool dir_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", image_cache_dir(), name);
	return access(path, F_OK) == 0;
}

static void test_image__sweep_removes_unlocked_leftovers_only(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	char lock[PATH_MAX];
	int fd;

	ALTS_UNUSED(state);
	make_dir(".tmp-debian-12-Ab12Cd");
	make_dir(".old-debian-12-Ef34Gh");
	make_dir(".tmp-busy-Ij56Kl");
	make_dir(".tmp-x");              /* not mkdtemp's shape: kept */
	make_dir("debian-12");           /* an image (without meta.json): never touched */
	snprintf(lock, sizeof(lock), "%s/busy.lock", image_cache_dir());
	fd = open(lock, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(image_sweep(&err), 2);
	assert_false(dir_exists(".tmp-debian-12-Ab12Cd"));
	assert_false(dir_exists(".old-debian-12-Ef34Gh"));
	assert_true(dir_exists(".tmp-busy-Ij56Kl"));
	assert_true(dir_exists(".tmp-x"));
	assert_true(dir_exists("debian-12"));
	close(fd);
	assert_int_equal(image_sweep(&err), 1);
	assert_false(dir_exists(".tmp-busy-Ij56Kl"));
}

static void test_image__sweep_of_missing_cache(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;

	ALTS_UNUSED(state);
	setenv("ALTS_IMAGE_CACHE", "/nonexistent/alts-cache", 1);
	assert_int_equal(image_sweep(&err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_image__build_check_accepts_dist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image__build_check_refuses_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image__import_refuses_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image__remove_and_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image__sweep_removes_unlocked_leftovers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image__sweep_of_missing_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
