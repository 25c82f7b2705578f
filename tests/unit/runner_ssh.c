/* runners/ssh.c: the remote-string quoting, the exec script and the reboot marker scanner. */
#include "tests/unit/helpers.h"
#include "framework/proc.h"
#include "framework/sbuf.h"
#include "runners/ssh.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *const nasty[] = {
	"", "plain", "two words", "it's", "''", "'\\''", "\"double\"", "$HOME", "${HOME}", "`id`", "$(id)",
	"a\nb", "\n", "\\", "*", "?[a]", ";|&<>", "~root", "-n", "--", "#comment", "tab\there", "\x01\x7f\xff",
	"é ü 漢", NULL,
};

static void test_runner_ssh__quote_table(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "''" },
		{ "abc", "'abc'" },
		{ "a b", "'a b'" },
		{ "it's", "'it'\\''s'" },
		{ "'", "''\\'''" },
		{ "$x `y` \\z", "'$x `y` \\z'" },
		{ "a\nb", "'a\nb'" },
	};

	ALTS_UNUSED(state);
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(cases); i++) {
		struct sbuf sb = SBUF_INIT;

		ssh__quote(&sb, cases[i].in);
		assert_string_equal(sb.buf, cases[i].out);
		sbuf_release(&sb);
	}
}

/* Runs "sh -c SCRIPT" on this host; returns its stdout. */
static void run_sh(struct sbuf *out, const char *script, int want_exit)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct proc_result res;
	struct alts_err err = ALTS_ERR_INIT;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sh.out", test_sandbox_init());
	spec.argv = argv;
	spec.envp = envp;
	spec.stdout_path = path;
	spec.timeout = 30;
	assert_ok_err(proc_run(&res, &spec, &err), &err);
	assert_int_equal(res.exit_code, want_exit);
	sbuf_reset(out);
	assert_int_equal(sbuf_read_file(out, path, 0), 0);
}

/* Every string survives a real POSIX shell unchanged: the quoted argv is what printf receives. */
static void test_runner_ssh__quote_round_trips_through_sh(void **state)
{
	struct sbuf script = SBUF_INIT, out = SBUF_INIT, want = SBUF_INIT;

	ALTS_UNUSED(state);
	sbuf_adds(&script, "printf '[%s]' ");
	ssh__quote_argv(&script, nasty);
	for (const char *const *s = nasty; *s; s++)
		sbuf_addf(&want, "[%s]", *s);
	run_sh(&out, script.buf, 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.buf, want.buf, want.len);
	/* and through two shells, as ssh's remote login shell adds one */
	{
		struct sbuf outer = SBUF_INIT;
		const char *inner[] = { "sh", "-c", script.buf, NULL };

		ssh__quote_argv(&outer, inner);
		run_sh(&out, outer.buf, 0);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.buf, want.buf, want.len);
		sbuf_release(&outer);
	}
	sbuf_release(&script);
	sbuf_release(&out);
	sbuf_release(&want);
}

static void test_runner_ssh__exec_script_runs_argv_with_exact_env(void **state)
{
	const char *dir = test_sandbox_init();
	char pid_file[PATH_MAX], rc_file[PATH_MAX], cwd[PATH_MAX];
	const char *env[] = { "PATH=/usr/bin:/bin", "Q=it's $HOME\n`x`", NULL };
	const char *argv[] = { "sh", "-c", "pwd; printf '%s|' \"$Q\" \"$@\"; env | grep -c . ; exit 7", "sh", "a b", "'", "", NULL };
	struct sbuf script = SBUF_INIT, out = SBUF_INIT, rc = SBUF_INIT;

	ALTS_UNUSED(state);
	snprintf(pid_file, sizeof(pid_file), "%s/pid 1", dir);
	snprintf(rc_file, sizeof(rc_file), "%s/rc 1", dir);
	snprintf(cwd, sizeof(cwd), "%s/it's a dir", dir);
	assert_int_equal(mkdir(cwd, 0755), 0);
	ssh__exec_script(&script, pid_file, rc_file, cwd, env, argv);
	assert_true(sbuf_ok(&script));
	run_sh(&out, script.buf, 7);
	{
		struct sbuf want = SBUF_INIT;

		/* env -i: only PATH and Q (and PWD, which sh sets) are in the environment */
		sbuf_addf(&want, "%s\nit's $HOME\n`x`|a b|'||", cwd);
		assert_true(!strncmp(out.buf, want.buf, want.len));
		assert_true(strtol(out.buf + want.len, NULL, 10) <= 4);
		sbuf_release(&want);
	}
	assert_int_equal(sbuf_read_file(&rc, rc_file, 0), 0);
	assert_string_equal(rc.buf, "7\n");
	assert_int_not_equal(access(pid_file, F_OK), 0);  /* removed when the command ended */
	/* A missing cwd is a failed exec: 127 */
	sbuf_reset(&script);
	ssh__exec_script(&script, pid_file, rc_file, "/nonexistent dir", env, argv);
	run_sh(&out, script.buf, 127);
	sbuf_release(&script);
	sbuf_release(&out);
	sbuf_release(&rc);
	test_sandbox_cleanup();
}

static void test_runner_ssh__marker_found_across_pieces(void **state)
{
	const char *m = SSH_REBOOT_MARKER;
	size_t mlen = strlen(m);

	ALTS_UNUSED(state);
	for (size_t split = 0; split <= mlen; split++) {
		struct ssh_marker_scan scan = { { 0 }, 0, false };

		ssh__marker_scan(&scan, "some output\n", 12);
		ssh__marker_scan(&scan, m, split);
		ssh__marker_scan(&scan, m + split, mlen - split);
		assert_true(scan.found);
	}
	/* one byte at a time */
	{
		struct ssh_marker_scan scan = { { 0 }, 0, false };

		for (size_t i = 0; i < mlen; i++)
			ssh__marker_scan(&scan, m + i, 1);
		assert_true(scan.found);
	}
	/* near misses */
	{
		struct ssh_marker_scan scan = { { 0 }, 0, false };

		ssh__marker_scan(&scan, ">>>VMRESTART<<", 14);
		ssh__marker_scan(&scan, "\n>>>VMRESTART", 13);
		ssh__marker_scan(&scan, " <<<", 4);
		assert_false(scan.found);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_ssh__quote_table),
		cmocka_unit_test(test_runner_ssh__quote_round_trips_through_sh),
		cmocka_unit_test(test_runner_ssh__exec_script_runs_argv_with_exact_env),
		cmocka_unit_test(test_runner_ssh__marker_found_across_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
