/* The environment.<runner> sections, each decoded with its runner's own key table. */
#include "tests/unit/helpers.h"
#include "engine/suite_load.h"
#include "runners/docker.h"
#include "runners/runner_int.h"
#include "runners/ssh.h"

static struct suite *load(const char *yaml, struct alts_err *err)
{
	struct suite *s = NULL;

	if (suite_load_buffer(&s, "t.yaml", "/srv", yaml, strlen(yaml), err))
		return NULL;
	return s;
}

/* The field of a runner's conf found through its key table (command's struct is private). */
static const void *conf_field(const void *conf, const char *runner, const char *key)
{
	size_t size;
	const struct conf_key *k = runner_conf_keys(runner, &size);

	assert_non_null(conf);
	assert_non_null(k);
	for (; k->name; k++) {
		if (!strcmp(k->name, key))
			return (const char *)conf + k->offset;
	}
	fail_msg("runner '%s' has no key '%s'", runner, key);
	return NULL;
}

static void test_runner_keys__ssh_docker_command_decode(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	const struct ssh_conf *ssh;
	const struct docker_conf *docker;
	const struct conf_argv *create, *destroy;
	struct suite *s = load("environment:\n"
			       "  runner: ssh\n"
			       "  ssh: {host: vm1.example.org, port: 2222, user: alma, identity_file: /k/id,\n"
			       "        known_hosts: /k/known, strict_host_key_checking: accept-new, connect_timeout: 5s,\n"
			       "        reboot_command: [systemctl, reboot], reboot_timeout: 10m}\n"
			       "  docker: {url: \"unix:///run/podman.sock\", image: {debian-12: \"debian:12\", almalinux-9: \"almalinux:9\"},\n"
			       "           platform: linux/arm64/v8}\n"
			       "  command: {create: [terraform, apply], destroy: \"terraform destroy\"}\n"
			       "checks: [launch: {command: [true]}]\n",
			       &err);

	ALTS_UNUSED(state);
	if (!s)
		fail_msg("%s", err.msg);
	ssh = suite_runner_conf(s, "ssh");
	docker = suite_runner_conf(s, "docker");
	create = conf_field(suite_runner_conf(s, "command"), "command", "create");
	destroy = conf_field(suite_runner_conf(s, "command"), "command", "destroy");
	assert_non_null(ssh);
	assert_non_null(docker);
	assert_int_equal(s->env.nrunners, 3);
	assert_string_equal(ssh->host, "vm1.example.org");
	assert_int_equal(ssh->port, 2222);
	assert_string_equal(ssh->user, "alma");
	assert_string_equal(ssh->strict_host_key_checking, "accept-new");
	assert_true(ssh->connect_timeout == 5.0);
	assert_int_equal(ssh->reboot_command.argc, 2);
	assert_true(ssh->reboot_timeout == 600.0);
	assert_string_equal(docker->url, "unix:///run/podman.sock");
	assert_null(docker->image);
	assert_int_equal(docker->images.n, 2);
	assert_string_equal(docker->images.values[1], "almalinux:9");
	assert_string_equal(docker->platform, "linux/arm64/v8");
	assert_int_equal(create->argc, 2);
	assert_true(destroy->shell);
	suite_free(s);

	s = load("environment: {runner: docker, docker: {image: \"quay.io/almalinuxorg/almalinux:9\"}}\n"
		 "checks: [launch: {command: [true]}]\n", &err);
	if (!s)
		fail_msg("%s", err.msg);
	docker = suite_runner_conf(s, "docker");
	assert_non_null(docker);
	assert_string_equal(docker->image, "quay.io/almalinuxorg/almalinux:9");
	assert_null(suite_runner_conf(s, "ssh"));
	assert_int_equal(s->env.nrunners, 1);
	suite_free(s);
}

static void test_runner_keys__errors_name_the_key(void **state)
{
	static const struct { const char *env, *msg; } cases[] = {
		{ "{runner: ssh}", "environment: the ssh runner needs" },
		{ "{runner: command}", "the command runner needs" },
		{ "{ssh: {host: \"-oProxyCommand=sh\"}}", "environment.ssh.host: host '-oProxyCommand=sh' must not start with '-'" },
		{ "{ssh: {host: \"root@h\"}}", "contains '@'" },
		{ "{ssh: {host: h, port: 70000}}", "environment.ssh.port: port 70000 is out of range" },
		{ "{ssh: {host: h, user: \"a b\"}}", "contains a space" },
		{ "{ssh: {host: h, known_hosts: \"/a b\"}}", "which ssh would expand or split" },
		{ "{ssh: {host: h, identity_file: \"/k/%h\"}}", "which ssh would expand" },
		{ "{ssh: {host: h, strict_host_key_checking: off}}", "unknown host key checking mode 'off'" },
		{ "{ssh: {host: h, hostname: x}}", "unknown key 'hostname'" },
		{ "{docker: {url: \"docker.sock\"}}", "is not a docker URL" },
		{ "{docker: {image: \"debian 12\"}}", "invalid image reference 'debian 12'" },
		{ "{docker: {image: {debian-12: \"a;b\"}}}", "environment.docker.image.debian-12: invalid image reference" },
		{ "{docker: {platform: \"Linux/AMD64\"}}", "invalid platform" },
		{ "{command: {destroy: [x]}}", "missing required key 'create'" },
		{ "{command: {create: []}}", "must not be empty" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		char yaml[512];
		struct alts_err err = ALTS_ERR_INIT;
		struct suite *s;

		snprintf(yaml, sizeof(yaml), "environment: %s\nchecks: [launch: {command: [true]}]\n", cases[i].env);
		s = load(yaml, &err);
		if (s)
			fail_msg("case %zu loaded: %s", i, cases[i].env);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, cases[i].msg);
		assert_int_equal(err.code, ALTS_EINVALID);
	}
}

/* The core hands each runner its own section, or a zeroed one; a caller may give another. */
static void test_runner_keys__runner_gets_its_section(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct ssh_conf mine = { .host = "elsewhere" };
	struct runner *r = NULL;
	struct suite *s = load("environment: {runner: docker, ssh: {host: vm1}, docker: {platform: linux/amd64}}\n"
			       "checks: [launch: {command: [true]}]\n",
			       &err);

	ALTS_UNUSED(state);
	if (!s)
		fail_msg("%s", err.msg);
	assert_ok_err(runner_new(&r, "ssh", s, &err), &err);
	assert_ptr_equal(r->conf, suite_runner_conf(s, "ssh"));
	assert_string_equal(((const struct ssh_conf *)r->conf)->host, "vm1");
	runner_free(r, false);
	assert_ok_err(runner_new(&r, "command", s, &err), &err);  /* no section: zeroed */
	assert_non_null(r->conf);
	assert_null(suite_runner_conf(s, "command"));
	assert_int_equal(((const struct conf_argv *)conf_field(r->conf, "command", "create"))->argc, 0);
	runner_free(r, false);
	assert_ok_err(runner_new(&r, "local", s, &err), &err);  /* no settings */
	assert_null(r->conf);
	runner_free(r, false);
	assert_ok_err(runner_new_with_conf(&r, &runner_ssh_ops, s, &mine, &err), &err);
	assert_ptr_equal(r->conf, &mine);
	runner_free(r, false);
	suite_free(s);
}

static void test_runner_keys__runners_are_registered(void **state)
{
	const char *const want[] = { "local", "sandbox", "ssh", "docker", "command" };
	const char *const *names = runner_names();

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(want); i++) {
		bool found = false;

		for (const char *const *n = names; *n; n++)
			found |= !strcmp(*n, want[i]);
		if (!found)
			fail_msg("runner '%s' is not registered", want[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_keys__ssh_docker_command_decode),
		cmocka_unit_test(test_runner_keys__errors_name_the_key),
		cmocka_unit_test(test_runner_keys__runner_gets_its_section),
		cmocka_unit_test(test_runner_keys__runners_are_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
