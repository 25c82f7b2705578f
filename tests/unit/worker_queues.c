/* Unit tests for farm/queue_name.c (queue names) and worker/queues.c (a worker's queues from its images). */
#include "helpers.h"
#include "framework/arena.h"
#include "farm/queue_name.h"
#include "worker/queues.h"

#include <sys/stat.h>
#include <sys/utsname.h>

static void test_worker_queues__names_parse(void **state)
{
	struct queue_name_parts p;

	ALTS_UNUSED(state);
	assert_true(queue_name_parse(&p, "docker-x86_64-0"));
	assert_string_equal(p.runner, "docker");
	assert_string_equal(p.arch, "x86_64");
	assert_int_equal(p.cost, 0);
	assert_string_equal(p.dist, "");
	assert_true(queue_name_parse(&p, "sandbox-x86_64_v2-3.almalinux-10-kitten"));
	assert_string_equal(p.runner, "sandbox");
	assert_string_equal(p.arch, "x86_64_v2");
	assert_int_equal(p.cost, 3);
	assert_string_equal(p.dist, "almalinux-10-kitten");
	assert_true(queue_name_parse(&p, "my-runner-s390x-12.debian-12-rpm"));
	assert_string_equal(p.runner, "my-runner");
	assert_string_equal(p.arch, "s390x");
	assert_int_equal(p.cost, 12);
	assert_string_equal(p.dist, "debian-12-rpm");
	/* Not ALTS's shape: an operator's own name, nothing known about it. */
	static const char *const bad[] = { "alts-results", "docker-sparc-0", "docker-amd64-0", "docker-x86_64-x",
					   "docker-x86_64-0.", "-x86_64-0", "x86_64-0", "docker-x86_64-", "" };
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(bad); i++) {
		if (queue_name_parse(&p, bad[i]))
			fail_msg("'%s' parsed as a task queue", bad[i]);
	}
}

static void test_worker_queues__names_format(void **state)
{
	char buf[QUEUE_NAME_MAX + 1], dist[64], tiny[16];
	char long_dist[300];

	ALTS_UNUSED(state);
	queue_name_dist(dist, sizeof(dist), NULL, "AlmaLinux", "10-kitten");
	assert_string_equal(dist, "almalinux-10-kitten");
	queue_name_dist(dist, sizeof(dist), "debian-12-rpm", "debian", "12");
	assert_string_equal(dist, "debian-12-rpm");
	queue_name_dist(dist, sizeof(dist), NULL, NULL, NULL);
	assert_string_equal(dist, "");
	queue_name_image_dist(dist, sizeof(dist), "almalinux-9-aarch64", "aarch64");
	assert_string_equal(dist, "almalinux-9");
	queue_name_image_dist(dist, sizeof(dist), "debian-12", "x86_64");
	assert_string_equal(dist, "debian-12");
	queue_name_image_dist(dist, sizeof(dist), "aarch64", "aarch64");
	assert_string_equal(dist, "aarch64");
	assert_true(queue_name_format(buf, sizeof(buf), "sandbox", "x86_64", 0, "almalinux-9"));
	assert_string_equal(buf, "sandbox-x86_64-0.almalinux-9");
	assert_true(queue_name_format(buf, sizeof(buf), "docker", "aarch64", 2, ""));
	assert_string_equal(buf, "docker-aarch64-2");
	assert_false(queue_name_format(tiny, sizeof(tiny), "sandbox", "x86_64", 0, "almalinux-9"));
	memset(long_dist, 'a', sizeof(long_dist) - 1);
	long_dist[sizeof(long_dist) - 1] = '\0';
	assert_false(queue_name_format(buf, sizeof(buf), "sandbox", "x86_64", 0, long_dist));
}

static bool host_is_x86_64(void)
{
	struct utsname u;

	return !uname(&u) && !strcmp(u.machine, "x86_64");
}

static void add_image(const char *dir, const char *name, const char *arch)
{
	char *path = alts_asprintf("%s/%s", dir, name), *meta;

	assert_int_equal(mkdir(path, 0755), 0);
	alts_free(path);
	path = alts_asprintf("images/%s/meta.json", name);
	meta = alts_asprintf("{\"name\":\"%s\",\"dist_name\":\"x\",\"dist_version\":\"1\",\"arch\":\"%s\"}", name, arch);
	alts_free(test_write_file(path, meta));
	alts_free(path);
	alts_free(meta);
}

static void assert_queues(const struct strlist *l, const char *joined)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < l->n; i++)
		sbuf_addf(&sb, "%s%s", i ? "," : "", l->v[i]);
	assert_string_equal(sb.buf, joined);
	sbuf_release(&sb);
}

static void test_worker_queues__from_images_and_host(void **state)
{
	const char *box = test_sandbox_init();
	char *cache = alts_asprintf("%s/images", box), *binfmt = alts_asprintf("%s/binfmt", box);
	struct farm_config c;
	struct strlist out;
	struct alts_err err = ALTS_ERR_INIT;
	struct arena *a = arena_new();
	const char *img[] = { "debian-12", "debian-13" };
	const char *refused[] = { "custom-queue", "sandbox-x86_64-0", "sandbox-s390x-0.debian-12" };
	struct strlist refused_l = { refused, ALTS_ARRAY_SIZE(refused) };

	ALTS_UNUSED(state);
	if (!host_is_x86_64()) {
		test_sandbox_cleanup();
		skip();
	}
	assert_int_equal(mkdir(cache, 0755), 0);
	assert_int_equal(mkdir(binfmt, 0755), 0);
	setenv("ALTS_IMAGE_CACHE", cache, 1);
	setenv("ALTS_BINFMT_DIR", binfmt, 1);
	add_image(cache, "debian-12", "x86_64");
	add_image(cache, "debian-12-rpm", "amd64");
	add_image(cache, "almalinux-9-s390x", "s390x");
	memset(&c, 0, sizeof(c));
	c.distribution_queues = true;

	/* The foreign image is left out: no binfmt handler. */
	assert_ok_err(queues_from_images(&out, a, &c, &err), &err);
	assert_queues(&out, "sandbox-x86_64-0.debian-12,sandbox-x86_64-0.debian-12-rpm");
	assert_int_equal(queues_check_host(&refused_l, &err), ALTS_EINVALID);
	assert_non_null(strstr(err.msg, "queue 'sandbox-s390x-0.debian-12': architecture s390x refused"));
	assert_non_null(strstr(err.msg, "no qemu-user binfmt handler 'qemu-s390x' is registered"));

	/* A disabled handler does not count; an enabled one does. */
	alts_free(test_write_file("binfmt/qemu-s390x", "disabled\ninterpreter /usr/libexec/qemu-binfmt/s390x\n"));
	assert_int_equal(queues_check_host(&refused_l, &err), ALTS_EINVALID);
	alts_free(test_write_file("binfmt/qemu-s390x", "enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x\n"));
	assert_ok_err(queues_check_host(&refused_l, &err), &err);
	assert_ok_err(queues_from_images(&out, a, &c, &err), &err);
	assert_queues(&out, "sandbox-s390x-0.almalinux-9,sandbox-x86_64-0.debian-12,sandbox-x86_64-0.debian-12-rpm");

	/* ALTS's names: one queue per architecture. */
	c.distribution_queues = false;
	c.default_cost = 1;
	assert_ok_err(queues_from_images(&out, a, &c, &err), &err);
	assert_queues(&out, "sandbox-s390x-1,sandbox-x86_64-1");

	/* worker_images: those only; one not built yet is the host's. */
	c.distribution_queues = true;
	c.default_cost = 0;
	c.worker_images.v = img;
	c.worker_images.n = ALTS_ARRAY_SIZE(img);
	assert_ok_err(queues_from_images(&out, a, &c, &err), &err);
	assert_queues(&out, "sandbox-x86_64-0.debian-12,sandbox-x86_64-0.debian-13");

	assert_true(queues_arch_runnable("x86_64", NULL, 0));
	assert_true(queues_arch_runnable("x86_64_v2", NULL, 0));
	unsetenv("ALTS_IMAGE_CACHE");
	unsetenv("ALTS_BINFMT_DIR");
	arena_free(a);
	alts_free(cache);
	alts_free(binfmt);
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_queues__names_parse),
		cmocka_unit_test(test_worker_queues__names_format),
		cmocka_unit_test(test_worker_queues__from_images_and_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
