/* Unit tests for runners/image_progress.c: debootstrap and tar output summarised in one line. */
#include "helpers.h"
#include "runners/image_progress.h"

#include <stdio.h>
#include <unistd.h>

static void feed_lines(struct image_progress_state *s, const char *const *lines)
{
	for (; *lines; lines++)
		image_progress_state_line(s, *lines);
}

static void test_image_progress__debootstrap_phases(void **state)
{
	static const char *const lines[] = {
		"I: Retrieving InRelease", "I: Checking Release signature", "I: Valid Release signature (key id X)",
		"I: Retrieving Packages", "I: Validating Packages", "I: Resolving dependencies of required packages...",
		"I: Retrieving adduser 3.134", "I: Validating adduser 3.134", "I: Retrieving apt 2.6.1",
		"I: Retrieving libc6 2.36-9+deb12u4", NULL,
	};
	struct image_progress_state s = { 0 };
	char buf[256];

	ALTS_UNUSED(state);
	feed_lines(&s, lines);
	assert_string_equal(s.phase, "retrieving");
	assert_int_equal(s.packages, 2);
	assert_string_equal(s.current, "libc6");
	assert_string_equal(image_progress_state_render(&s, "debian-12", 83.4, buf, sizeof(buf)),
			    "alts-image: debian-12: retrieving 2 packages (libc6), 1:23");
	image_progress_state_line(&s, "I: Unpacking required packages...");
	assert_string_equal(s.phase, "unpacking");
	assert_int_equal(s.packages, 0);
	image_progress_state_line(&s, "I: Unpacking base-files...");
	assert_int_equal(s.packages, 1);
	assert_string_equal(s.current, "base-files");
	image_progress_state_line(&s, "I: Configuring libc-bin...");
	assert_string_equal(image_progress_state_render(&s, "debian-12", 125, buf, sizeof(buf)),
			    "alts-image: debian-12: configuring 1 package (libc-bin), 2:05");
	image_progress_state_line(&s, "W: something unrelated");
	assert_string_equal(s.phase, "configuring");
	image_progress_state_line(&s, "I: Base system installed successfully.");
	assert_string_equal(s.phase, "done");
}

static void test_image_progress__dnf_phases(void **state)
{
	static const char *const lines[] = {
		"baseos                                          2.8 MB/s |  59 kB     00:00", "Dependencies resolved.",
		"Downloading Packages:", "(1/215): bash-5.1.8-9.el9.x86_64.rpm      1.2 MB/s | 1.7 MB     00:01",
		"(2/215): coreutils-8.32-35.el9.x86_64.rpm 1.0 MB/s | 1.2 MB     00:01", NULL,
	};
	struct image_progress_state s = { 0 };
	char buf[256];

	ALTS_UNUSED(state);
	feed_lines(&s, lines);
	assert_string_equal(s.phase, "retrieving");
	assert_int_equal(s.packages, 2);
	assert_string_equal(s.current, "coreutils-8.32-35.el9.x86_64.rpm");
	image_progress_state_line(&s, "  Preparing        :                                                        1/1 ");
	image_progress_state_line(&s, "  Installing       : bash-5.1.8-9.el9.x86_64                          12/215 ");
	assert_string_equal(s.phase, "installing");
	assert_int_equal(s.packages, 12);
	assert_string_equal(image_progress_state_render(&s, "almalinux-9", 61, buf, sizeof(buf)),
			    "alts-image: almalinux-9: installing 12 packages (bash-5.1.8-9.el9.x86_64), 1:01");
	image_progress_state_line(&s, "warning: group shadow does not exist - using root");
	assert_string_equal(s.phase, "installing");
	image_progress_state_line(&s, "  Verifying        : bash-5.1.8-9.el9.x86_64                           1/215 ");
	assert_string_equal(s.phase, "verifying");
	assert_int_equal(s.packages, 1);
}

static void test_image_progress__tar_bytes(void **state)
{
	struct image_progress_state s = { 0 };
	char buf[256];

	ALTS_UNUSED(state);
	assert_string_equal(image_progress_state_render(&s, "alma-9", 0, buf, sizeof(buf)),
			    "alts-image: alma-9: starting, 0:00");
	image_progress_state_line(&s, "tar: alts-progress 1000");
	assert_string_equal(image_progress_state_render(&s, "alma-9", 7, buf, sizeof(buf)),
			    "alts-image: alma-9: unpacking 9.8 MiB, 0:07");
	s.total_bytes = 4.0 * 10240 * 1000;
	image_progress_state_line(&s, "tar: alts-progress 2000");
	assert_string_equal(image_progress_state_render(&s, "alma-9", 7, buf, sizeof(buf)),
			    "alts-image: alma-9: unpacking 19.5 MiB of 39.1 MiB (50%), 0:07");
	image_progress_state_line(&s, "tar: alts-progress x");
	assert_true(s.bytes == 2000 * 10240.0);
}

static void test_image_progress__quiet_off_a_terminal(void **state)
{
	ALTS_UNUSED(state);
	/* ctest's stdin is not a terminal; neither is a pipe. */
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_false(image_progress_wanted(false, fds[1]));
	assert_false(image_progress_wanted(true, fds[1]));
	close(fds[0]);
	close(fds[1]);
	assert_null(image_progress_start("x", stderr, false, 0));
	image_progress_feed(NULL, "I: Retrieving a 1\n", 18);
	image_progress_finish(NULL);
}

/* A live display on a file: lines fed in chunks, cleared at the end. */
static void test_image_progress__draws_and_clears(void **state)
{
	const char *dir = test_sandbox_init();
	char path[512], text[4096];
	struct image_progress *p;
	FILE *f;
	size_t n;

	ALTS_UNUSED(state);
	snprintf(path, sizeof(path), "%s/out", dir);
	f = fopen(path, "w+");
	assert_non_null(f);
	p = image_progress_start("debian-12", f, true, 0);
	assert_non_null(p);
	image_progress_feed(p, "I: Retrieving li", 16);
	image_progress_feed(p, "bc6 2.36\nI: Retr", 16);
	/* The ticker redraws twice a second; give a slow machine (valgrind) up to 10 s. */
	for (int i = 0; i < 100; i++) {
		FILE *r = fopen(path, "r");

		n = r ? fread(text, 1, sizeof(text) - 1, r) : 0;
		text[n] = '\0';
		if (r)
			fclose(r);
		if (strstr(text, "(libc6)"))
			break;
		usleep(100 * 1000);
	}
	image_progress_finish(p);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "\ralts-image: debian-12: retrieving 1 package (libc6), 0:0"));
	assert_int_equal(text[n - 1], '\r');
	test_sandbox_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_progress__debootstrap_phases),
		cmocka_unit_test(test_image_progress__dnf_phases),
		cmocka_unit_test(test_image_progress__tar_bytes),
		cmocka_unit_test(test_image_progress__quiet_off_a_terminal),
		cmocka_unit_test(test_image_progress__draws_and_clears),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
