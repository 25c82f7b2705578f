/* framework/suite.c: the environment keys of the ssh, docker and command runners. */
#include "tests/unit/helpers.h"
#include "engine/suite_load.h"
#include "runners/runner.h"

static struct suite *load(const char *yaml, struct alts_err *err)
{
	struct suite *s = NULL;

	if (suite_load_buffer(&s, "t.yaml", "/srv", yaml, strlen(yaml), err))
		return NULL;
	return s;
}

static void test_runner_keys__ssh_docker_command_decode(void **state)
{
	struct alts_err err = ALTS_ERR_INIT;
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
	assert_string_equal(s->env.ssh.host, "vm1.example.org");
	assert_int_equal(s->env.ssh.port, 2222);
	assert_string_equal(s->env.ssh.user, "alma");
	assert_string_equal(s->env.ssh.strict_host_key_checking, "accept-new");
	assert_true(s->env.ssh.connect_timeout == 5.0);
	assert_int_equal(s->env.ssh.reboot_command.argc, 2);
	assert_true(s->env.ssh.reboot_timeout == 600.0);
	assert_string_equal(s->env.docker.url, "unix:///run/podman.sock");
	assert_null(s->env.docker.image);
	assert_int_equal(s->env.docker.images.n, 2);
	assert_string_equal(s->env.docker.images.values[1], "almalinux:9");
	assert_string_equal(s->env.docker.platform, "linux/arm64/v8");
	assert_int_equal(s->env.command.create.argc, 2);
	assert_true(s->env.command.destroy.shell);
	suite_free(s);

	s = load("environment: {runner: docker, docker: {image: \"quay.io/almalinuxorg/almalinux:9\"}}\n"
		 "checks: [launch: {command: [true]}]\n", &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_string_equal(s->env.docker.image, "quay.io/almalinuxorg/almalinux:9");
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
		cmocka_unit_test(test_runner_keys__runners_are_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
