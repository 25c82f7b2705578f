/* Unit tests for framework/notify.c: the sd_notify datagram, to a path and to an abstract socket. */
#include "helpers.h"
#include "framework/err.h"
#include "framework/notify.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Binds a datagram socket at name (a path, or "@name" for the abstract namespace). */
static int bind_dgram(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'))),
			 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_notify__no_socket_is_a_no_op(void **state)
{
	ALTS_UNUSED(state);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(alts_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(alts_notify("READY=1"), 0);
}

static void test_notify__path_socket(void **state)
{
	const char *dir = test_sandbox_init();
	char path[512];
	int fd;

	ALTS_UNUSED(state);
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(alts_notify("READY=1"), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(alts_notify("STATUS=listening on 127.0.0.1:8000"), 1);
	expect_datagram(fd, "STATUS=listening on 127.0.0.1:8000");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
	test_sandbox_cleanup();
}

static void test_notify__abstract_socket(void **state)
{
	char name[64];
	int fd;

	ALTS_UNUSED(state);
	snprintf(name, sizeof(name), "@alts-notify-test-%ld", (long)getpid());
	fd = bind_dgram(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(alts_notify("STOPPING=1"), 1);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify__bad_socket_is_an_error(void **state)
{
	ALTS_UNUSED(state);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(alts_notify("READY=1"), ALTS_EINVALID);
	setenv("NOTIFY_SOCKET", "/nonexistent/alts/notify", 1);
	assert_int_equal(alts_notify("READY=1"), ALTS_EENV);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify__no_socket_is_a_no_op),
		cmocka_unit_test(test_notify__path_socket),
		cmocka_unit_test(test_notify__abstract_socket),
		cmocka_unit_test(test_notify__bad_socket_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
