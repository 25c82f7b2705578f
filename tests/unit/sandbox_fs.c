/*
 * runners/sandbox_fs.c: copies resolved inside a root directory. Any
 * directory can stand in for a sandbox's root: links planted in it
 * (absolute, '..') must resolve inside it, never on the host.
 */
#include "tests/unit/helpers.h"
#include "framework/sbuf.h"
#include "runners/sandbox_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct fs_fixture {
	char root[PATH_MAX];     /* the stand-in sandbox root */
	char host[PATH_MAX];     /* a host directory the links aim at */
	char src[PATH_MAX];      /* a host file to copy in */
	int root_fd;
};

static int setup(void **state)
{
	static struct fs_fixture f;
	const char *base = test_sandbox_init();
	char path[PATH_MAX];

	str_fmt(f.root, sizeof(f.root), "%s/root", base);
	str_fmt(f.host, sizeof(f.host), "%s/host", base);
	mkdir(f.root, 0755);
	mkdir(f.host, 0755);
	{
		char *written = test_write_file("payload.txt", "payload\n");

		str_fmt(f.src, sizeof(f.src), "%s", written);
		free(written);
	}
	/* Planted by "the sandbox": an absolute link to the host directory, a climbing one, a link to /. */
	symlink(f.host, (str_fmt(path, sizeof(path), "%s/abs", f.root), path));
	symlink("../../../../../..", (str_fmt(path, sizeof(path), "%s/up", f.root), path));
	symlink("/", (str_fmt(path, sizeof(path), "%s/slash", f.root), path));
	mkdir((str_fmt(path, sizeof(path), "%s/work", f.root), path), 0755);
	f.root_fd = open(f.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f.root_fd >= 0);
	*state = &f;
	return 0;
}

/* valgrind (3.19) does not know openat2 and answers ENOSYS: nothing to test there. */
static void need_openat2(const struct fs_fixture *f)
{
	int fd = sandbox_fs_open(f->root_fd, "/", 0);

	if (fd == -ENOSYS)
		skip();
	if (fd >= 0)
		close(fd);
}

static int teardown(void **state)
{
	struct fs_fixture *f = *state;

	close(f->root_fd);
	test_sandbox_cleanup();
	return 0;
}

static bool host_dir_empty(const struct fs_fixture *f)
{
	char path[PATH_MAX];

	str_fmt(path, sizeof(path), "%s/payload.txt", f->host);
	return access(path, F_OK) < 0;
}

static void test_sandbox_fs__links_resolve_inside(void **state)
{
	struct fs_fixture *f = *state;
	struct alts_err err = ALTS_ERR_INIT;
	char path[PATH_MAX];

	need_openat2(f);
	/* Through an absolute link to the host directory: it names <root><host>, which does not exist. */
	assert_int_not_equal(sandbox_fs_copy_in(f->root_fd, f->src, "/abs/payload.txt", &err), 0);
	assert_true(host_dir_empty(f));
	/* A climbing link stops at the root: the file lands in <root>/payload.txt. */
	assert_ok_err(sandbox_fs_copy_in(f->root_fd, f->src, "/up/payload.txt", &err), &err);
	str_fmt(path, sizeof(path), "%s/payload.txt", f->root);
	assert_int_equal(access(path, F_OK), 0);
	/* "/" is the root too; missing directories are made inside it. */
	assert_ok_err(sandbox_fs_copy_in(f->root_fd, f->src, "/slash/new/dir/payload.txt", &err), &err);
	str_fmt(path, sizeof(path), "%s/new/dir/payload.txt", f->root);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_not_equal(access("/new/dir/payload.txt", F_OK), 0);
	/* '..' in the path itself is clamped the same way. */
	assert_ok_err(sandbox_fs_copy_in(f->root_fd, f->src, "/work/../../../../x.txt", &err), &err);
	str_fmt(path, sizeof(path), "%s/x.txt", f->root);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(host_dir_empty(f));
}

static void test_sandbox_fs__an_existing_directory_receives_the_source(void **state)
{
	struct fs_fixture *f = *state;
	struct alts_err err = ALTS_ERR_INIT;
	struct sbuf text = SBUF_INIT;
	char path[PATH_MAX];

	need_openat2(f);
	assert_ok_err(sandbox_fs_copy_in(f->root_fd, f->src, "/work", &err), &err);
	str_fmt(path, sizeof(path), "%s/work/payload.txt", f->root);
	assert_int_equal(sbuf_read_file(&text, path, 4096), 0);
	assert_string_equal(text.buf, "payload\n");
	sbuf_release(&text);
}

static void test_sandbox_fs__copy_out_copies_links_as_links(void **state)
{
	struct fs_fixture *f = *state;
	struct alts_err err = ALTS_ERR_INIT;
	char out[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	struct stat st;

	need_openat2(f);
	/* The planted link comes out as a link, its target is not read. */
	str_fmt(out, sizeof(out), "%s/out-link", f->host);
	assert_ok_err(sandbox_fs_copy_out(f->root_fd, "/slash", out, &err), &err);
	assert_int_equal(lstat(out, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(out, link, sizeof(link) - 1);
	assert_true(n == 1 && link[0] == '/');
	unlink(out);
	/* A missing path fails and leaves nothing. */
	str_fmt(out, sizeof(out), "%s/never", f->host);
	assert_int_not_equal(sandbox_fs_copy_out(f->root_fd, "/no/such", out, &err), 0);
	assert_int_not_equal(access(out, F_OK), 0);
	/* Relative paths are refused. */
	assert_int_equal(sandbox_fs_copy_in(f->root_fd, f->src, "work/x", &err), ALTS_EINVALID);
}

/* What root in the sandbox makes is not trusted on the host: no setuid bit comes out, and a copy has a byte budget. */
static void test_sandbox_fs__copy_out_drops_setuid_and_is_capped(void **state)
{
	struct fs_fixture *f = *state;
	struct alts_err err = ALTS_ERR_INIT;
	char path[PATH_MAX], out[PATH_MAX];
	uint64_t saved = sandbox_fs__copy_out_max;
	struct stat st;
	int fd;

	need_openat2(f);
	str_fmt(path, sizeof(path), "%s/work/suid", f->root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(chmod(path, 06755), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 1000, 1000), 0);
	str_fmt(out, sizeof(out), "%s/out-suid", f->host);
	assert_ok_err(sandbox_fs_copy_out(f->root_fd, "/work/suid", out, &err), &err);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	unlink(out);
	unlink(path);
	/* A sparse file takes no room in the sandbox; its copy out stops at the budget. */
	str_fmt(path, sizeof(path), "%s/work/sparse", f->root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	sandbox_fs__copy_out_max = 64 * 1024;
	str_fmt(out, sizeof(out), "%s/out-sparse", f->host);
	assert_int_equal(sandbox_fs_copy_out(f->root_fd, "/work/sparse", out, &err), ALTS_EENV);
	assert_non_null(strstr(err.msg, "size limit"));
	assert_int_equal(stat(out, &st), 0);
	assert_true(st.st_size <= 64 * 1024);
	sandbox_fs__copy_out_max = saved;
	unlink(out);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_fs__links_resolve_inside),
		cmocka_unit_test(test_sandbox_fs__an_existing_directory_receives_the_source),
		cmocka_unit_test(test_sandbox_fs__copy_out_copies_links_as_links),
		cmocka_unit_test(test_sandbox_fs__copy_out_drops_setuid_and_is_capped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
