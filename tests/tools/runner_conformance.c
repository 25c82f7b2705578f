/*
 * The runner conformance test: drives one runner through the runner API
 * (runner_new, runner_prepare, runner_exec, runner_copy_in/out,
 * runner_snapshot, runner_reset, runner_free) on a suite loaded from
 * YAML, and prints TAP. Every runner must pass the same cases;
 * tests/integration/t_runner_conformance.sh runs it for each and checks
 * what must be gone after teardown.
 *
 *   runner_conformance RUNNER SUITE.yaml SCRATCH_DIR [MARK]
 *
 * MARK (digits) makes the timeout case's processes this run's own:
 * "sleep 3141.MARK", so that the script looks for those left over, not
 * another run's. The suite must set env: {ALTS_SUITE_VAR: "from the suite"}. Before the
 * teardown it prints "# workdir: PATH" (the work directory in the
 * environment) for the script's leftover checks. Exit status: 0 every
 * case passed, 1 some failed, 3 the runner could not be made ready.
 */
#include "framework/common.h"
#include "framework/sbuf.h"
#include "engine/suite_load.h"
#include "runners/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG (8u << 20)

struct conf_run {
	struct runner *r;
	const char *scratch;
	const char *workdir;
	const char *mark;  /* digits, in the timeout case's sleeps */
	int n, failed;
	unsigned long nfile;
};

static void tap(struct conf_run *c, bool ok, const char *fmt, ...) ALTS_PRINTF(3, 4);

static void tap(struct conf_run *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++c->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		c->failed++;
}

static void diag(const char *what, const char *text, size_t len)
{
	printf("# %s: '", what);
	for (size_t i = 0; i < len && i < 300; i++)
		putchar(isprint((unsigned char)text[i]) ? text[i] : '.');
	printf("'%s\n", len > 300 ? "..." : "");
}

/* Runs argv; output in out/errout (NULL: not kept). Returns the runner's code. */
static int run(struct conf_run *c, struct proc_result *res, const char *const *argv, const char *const *env,
	       const char *cwd, double timeout, const char *stdin_path, struct sbuf *out, struct sbuf *errout,
	       struct alts_err *err)
{
	struct runner_exec_req req = RUNNER_EXEC_REQ_INIT;
	char out_path[PATH_MAX], err_path[PATH_MAX];
	int rc;

	str_fmt(out_path, sizeof(out_path), "%s/out-%lu", c->scratch, ++c->nfile);
	str_fmt(err_path, sizeof(err_path), "%s/err-%lu", c->scratch, c->nfile);
	req.argv = argv;
	req.env = env;
	req.cwd = cwd;
	req.timeout = timeout;
	req.stdin_path = stdin_path;
	req.stdout_path = out_path;
	req.stderr_path = err_path;
	rc = runner_exec(c->r, res, &req, err);
	if (out) {
		sbuf_reset(out);
		sbuf_read_file(out, out_path, 0);
	}
	if (errout) {
		sbuf_reset(errout);
		sbuf_read_file(errout, err_path, 0);
	}
	unlink(out_path);
	unlink(err_path);
	return rc;
}

/* Runs argv and expects exit status want; says so in TAP. */
static void expect_exit(struct conf_run *c, const char *name, const char *const *argv, int want)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf errout = SBUF_INIT;
	int rc = run(c, &res, argv, NULL, NULL, 60, NULL, NULL, &errout, &err);

	tap(c, !rc && res.exit_code == want, "%s: exit %d", name, want);
	if (rc)
		printf("# runner error: %s\n", err.msg);
	else if (res.exit_code != want)
		printf("# got exit %d (signal %d)\n", res.exit_code, res.term_signal), diag("stderr", errout.buf, errout.len);
	sbuf_release(&errout);
}

static void case_exit_codes(struct conf_run *c)
{
	const char *t[] = { "true", NULL };
	const char *three[] = { "sh", "-c", "exit 3", NULL };
	const char *missing[] = { "alts-no-such-program", "arg", NULL };
	const char *term[] = { "sh", "-c", "kill -TERM $$", NULL };
	const char *kill9[] = { "sh", "-c", "kill -KILL $$", NULL };

	expect_exit(c, "true", t, 0);
	expect_exit(c, "sh -c 'exit 3'", three, 3);
	expect_exit(c, "a missing program", missing, 127);
	expect_exit(c, "killed by SIGTERM", term, 128 + 15);
	expect_exit(c, "killed by SIGKILL", kill9, 128 + 9);
}

static void case_timeout(struct conf_run *c)
{
	char script[128];
	const char *argv[] = { "sh", "-c", script, NULL };
	const char *check[] = {
		"sh", "-c",
		"p=$(cat bg.pid) || exit 2; i=0; while [ $i -lt 30 ]; do "
		"if [ ! -e /proc/$p ] || grep -q '^[0-9]* ([^)]*) Z' /proc/$p/stat 2>/dev/null; then echo gone; exit 0; fi; "
		"sleep 0.2; i=$((i + 1)); done; echo alive; exit 1",
		NULL,
	};
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT;
	int rc;

	snprintf(script, sizeof(script), "sleep 3141.%s & echo $! >bg.pid; sleep 3142.%s; echo not killed", c->mark,
		 c->mark);
	rc = run(c, &res, argv, NULL, NULL, 2, NULL, &out, NULL, &err);
	tap(c, !rc && res.timed_out && res.duration < 12 && !strstr(out.buf, "not killed"),
	    "a 2 s timeout ends a command that would sleep (%.1f s)", rc ? 0 : res.duration);
	if (rc)
		printf("# runner error: %s\n", err.msg);
	rc = run(c, &res, check, NULL, NULL, 60, NULL, &out, NULL, &err);
	tap(c, !rc && res.exit_code == 0, "the timeout killed the background child too (process group)");
	if (rc || res.exit_code)
		diag("check", out.buf, out.len);
	sbuf_release(&out);
}

static bool pattern_ok(const struct sbuf *sb, const char *unit, size_t size)
{
	size_t ulen = strlen(unit);

	if (sb->len != size)
		return false;
	for (size_t i = 0; i < sb->len; i++) {
		if (sb->buf[i] != unit[i % ulen])
			return false;
	}
	return true;
}

static void case_large_output(struct conf_run *c)
{
	const char *argv[] = { "sh", "-c",
			       "yes 0123456789abcde | head -c 8388608 & yes edcba9876543210 | head -c 8388608 >&2; wait",
			       NULL };
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT, errout = SBUF_INIT;
	int rc = run(c, &res, argv, NULL, NULL, 300, NULL, &out, &errout, &err);

	tap(c, !rc && !res.exit_code && pattern_ok(&out, "0123456789abcde\n", BIG),
	    "8 MiB on stdout while 8 MiB go to stderr (got %zu bytes)", out.len);
	tap(c, !rc && pattern_ok(&errout, "edcba9876543210\n", BIG), "8 MiB on stderr (got %zu bytes)", errout.len);
	if (rc)
		printf("# runner error: %s\n", err.msg);
	sbuf_release(&out);
	sbuf_release(&errout);
}

static void case_env_and_args(struct conf_run *c)
{
	const char *env[] = {
		"ALTS_Q1=it's \"quoted\"", "ALTS_Q2=a  b\tc ", "ALTS_Q3=$HOME `id` $(id) \\ * ;|&", "ALTS_Q4=line1\nline2\n",
		"ALTS_Q5=", NULL,
	};
	const char *show[] = {
		"sh", "-c",
		"printf '[%s]' \"$ALTS_Q1\" \"$ALTS_Q2\" \"$ALTS_Q3\" \"$ALTS_Q4\" \"${ALTS_Q5-unset}\" \"$ALTS_SUITE_VAR\"",
		NULL,
	};
	const char *want_env = "[it's \"quoted\"][a  b\tc ][$HOME `id` $(id) \\ * ;|&][line1\nline2\n][][from the suite]";
	const char *args[] = { "printf", "[%s]", "a b", "it's", "$HOME", "", "*", "x\ny", "-n", "'\"'", NULL };
	const char *want_args = "[a b][it's][$HOME][][*][x\ny][-n]['\"']";
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT;
	int rc = run(c, &res, show, env, NULL, 60, NULL, &out, NULL, &err);

	tap(c, !rc && !res.exit_code && !strcmp(out.buf, want_env),
	    "environment values with quotes, spaces, $, backquotes and newlines arrive intact");
	if (rc || strcmp(out.buf, want_env))
		diag("got", out.buf, out.len), printf("# %s\n", err.msg);
	rc = run(c, &res, args, NULL, NULL, 60, NULL, &out, NULL, &err);
	tap(c, !rc && !res.exit_code && !strcmp(out.buf, want_args), "arguments arrive intact, the empty one too");
	if (rc || strcmp(out.buf, want_args))
		diag("got", out.buf, out.len), printf("# %s\n", err.msg);
	sbuf_release(&out);
}

static void case_cwd(struct conf_run *c)
{
	char dir[PATH_MAX], want[PATH_MAX + 1];
	const char *mk[] = { "mkdir", "-p", dir, NULL };
	const char *pwd[] = { "sh", "-c", "pwd -P", NULL };
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT;
	int rc;

	str_fmt(dir, sizeof(dir), "%s/a dir 'q'", c->workdir);
	rc = run(c, &res, pwd, NULL, NULL, 60, NULL, &out, NULL, &err);
	str_fmt(want, sizeof(want), "%s\n", c->workdir);
	tap(c, !rc && !strcmp(out.buf, want), "the default directory is the work directory");
	if (rc || strcmp(out.buf, want))
		diag("got", out.buf, out.len);
	rc = run(c, &res, mk, NULL, NULL, 60, NULL, NULL, NULL, &err);
	if (!rc)
		rc = run(c, &res, pwd, NULL, dir, 60, NULL, &out, NULL, &err);
	str_fmt(want, sizeof(want), "%s\n", dir);
	tap(c, !rc && !strcmp(out.buf, want), "cwd with spaces and quotes");
	if (rc || strcmp(out.buf, want))
		diag("got", out.buf, out.len);
	str_fmt(dir, sizeof(dir), "%s/no such dir", c->workdir);
	rc = run(c, &res, pwd, NULL, dir, 60, NULL, &out, NULL, &err);
	tap(c, !rc && res.exit_code == 127, "a missing cwd fails like a failed exec (127, got %d)", rc ? rc : res.exit_code);
	sbuf_release(&out);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

static void random_bytes(char *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len) : -1;

	if (n != (ssize_t)len)
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(i * 131 + 7);
	for (size_t i = 0; i < 256 && i < len; i++)
		buf[i] = (char)i;  /* every byte value, NUL and newline included */
	if (fd >= 0)
		close(fd);
}

static bool same_file(const char *a, const char *b)
{
	struct sbuf x = SBUF_INIT, y = SBUF_INIT;
	bool same = !sbuf_read_file(&x, a, 0) && !sbuf_read_file(&y, b, 0) && x.len == y.len &&
		    !memcmp(x.buf, y.buf, x.len);

	sbuf_release(&x);
	sbuf_release(&y);
	return same;
}

static void case_stdin(struct conf_run *c)
{
	char path[PATH_MAX], buf[4096];
	const char *cat[] = { "cat", NULL };
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT;
	int rc;

	str_fmt(path, sizeof(path), "%s/stdin.bin", c->scratch);
	random_bytes(buf, sizeof(buf));
	write_file(path, buf, sizeof(buf));
	rc = run(c, &res, cat, NULL, NULL, 60, path, &out, NULL, &err);
	tap(c, !rc && !res.exit_code && out.len == sizeof(buf) && !memcmp(out.buf, buf, sizeof(buf)),
	    "stdin from a file, binary-safe (%zu bytes back)", out.len);
	sbuf_release(&out);
}

static void case_copy(struct conf_run *c)
{
	char src[PATH_MAX], f[PATH_MAX], g[PATH_MAX], back[PATH_MAX], env_dir[PATH_MAX], env_file[PATH_MAX];
	char host_file[PATH_MAX], a[PATH_MAX], b[PATH_MAX], link[PATH_MAX];
	const char *stat_cmd[] = { "sh", "-c", "cd \"$1\" && wc -c <'random file.bin' && readlink link", "sh", env_dir, NULL };
	static char big[1 << 20];
	struct alts_err err = ALTS_ERR_INIT;
	struct proc_result res;
	struct sbuf out = SBUF_INIT;
	ssize_t n;
	int rc;

	str_fmt(src, sizeof(src), "%s/src dir", c->scratch);
	str_fmt(f, sizeof(f), "%s/random file.bin", src);
	str_fmt(g, sizeof(g), "%s/sub -x/it's \"odd\" name\n.bin", src);
	str_fmt(link, sizeof(link), "%s/link", src);
	str_fmt(env_dir, sizeof(env_dir), "%s/copied dir", c->workdir);
	random_bytes(big, sizeof(big));
	mkdir(src, 0755);
	str_fmt(a, sizeof(a), "%s/sub -x", src);
	mkdir(a, 0755);
	write_file(f, big, sizeof(big));
	write_file(g, big + 5, 1000);
	if (symlink("random file.bin", link) < 0)
		perror("symlink");

	rc = runner_copy_in(c->r, src, env_dir, &err);
	tap(c, !rc, "copy in a directory (spaces, quotes, newline, '-' in names) to a new path");
	if (rc)
		printf("# %s\n", err.msg);
	rc = run(c, &res, stat_cmd, NULL, NULL, 60, NULL, &out, NULL, &err);
	tap(c, !rc && !strcmp(out.buf, "1048576\nrandom file.bin\n"), "the copy is complete in the environment");
	if (rc || strcmp(out.buf, "1048576\nrandom file.bin\n"))
		diag("got", out.buf, out.len);

	str_fmt(back, sizeof(back), "%s/back dir", c->scratch);
	rc = runner_copy_out(c->r, env_dir, back, &err);
	str_fmt(a, sizeof(a), "%s/random file.bin", back);
	str_fmt(b, sizeof(b), "%s/sub -x/it's \"odd\" name\n.bin", back);
	str_fmt(link, sizeof(link), "%s/link", back);
	n = readlink(link, host_file, sizeof(host_file) - 1);
	if (n >= 0)
		host_file[n] = '\0';
	tap(c, !rc && same_file(f, a) && same_file(g, b) && n >= 0 && !strcmp(host_file, "random file.bin"),
	    "copy out the directory: same bytes, same symlink");
	if (rc)
		printf("# %s\n", err.msg);

	/* A file into an existing directory, then out under a new name. */
	rc = runner_copy_in(c->r, f, c->workdir, &err);
	str_fmt(env_file, sizeof(env_file), "%s/random file.bin", c->workdir);
	str_fmt(host_file, sizeof(host_file), "%s/file back.bin", c->scratch);
	if (!rc)
		rc = runner_copy_out(c->r, env_file, host_file, &err);
	tap(c, !rc && same_file(f, host_file), "copy a file into a directory and out under a new name");
	if (rc)
		printf("# %s\n", err.msg);

	str_fmt(env_file, sizeof(env_file), "%s/no such file", c->workdir);
	str_fmt(host_file, sizeof(host_file), "%s/never", c->scratch);
	rc = runner_copy_out(c->r, env_file, host_file, &err);
	tap(c, rc < 0 && access(host_file, F_OK) < 0, "copying out a missing path fails");
	sbuf_release(&out);
}

/*
 * Snapshots: runners that have them bring files back and stack snapshots;
 * the others say "not supported" and stay usable.
 */
static void case_snapshot(struct conf_run *c, const char *name)
{
	const char *t[] = { "true", NULL };
	const char *write_a[] = { "sh", "-c", "echo a >/var/tmp/alts-snap-a", NULL };
	const char *change[] = { "sh", "-c", "echo b >/var/tmp/alts-snap-b && rm /var/tmp/alts-snap-a", NULL };
	const char *back[] = { "sh", "-c", "test -e /var/tmp/alts-snap-a && test ! -e /var/tmp/alts-snap-b", NULL };
	const char *bare[] = { "sh", "-c", "test ! -e /var/tmp/alts-snap-a", NULL };
	struct alts_err err = ALTS_ERR_INIT;
	int rc;

	if (!runner_name_can_reset(name)) {
		rc = runner_snapshot(c->r, &err);
		tap(c, rc == ALTS_ENOTSUP && strstr(err.msg, "has no snapshots"), "no snapshots: %s", err.msg);
		rc = runner_reset(c->r, &err);
		tap(c, rc == ALTS_ENOTSUP, "no resets either");
		expect_exit(c, "still usable after", t, 0);
		return;
	}
	expect_exit(c, "a file before the snapshot", write_a, 0);
	rc = runner_snapshot(c->r, &err);
	tap(c, !rc && runner_snapshot_depth(c->r) == 1, "snapshot%s%s", rc ? ": " : "", rc ? err.msg : "");
	expect_exit(c, "changes after it", change, 0);
	rc = runner_reset(c->r, &err);
	tap(c, !rc, "reset%s%s", rc ? ": " : "", rc ? err.msg : "");
	expect_exit(c, "the files are as at the snapshot", back, 0);
	expect_exit(c, "a second reset: the same files", (rc = runner_reset(c->r, &err)) ? t : back, 0);
	rc = runner_snapshot_drop(c->r, &err);
	tap(c, !rc && runner_snapshot_depth(c->r) == 0, "drop the snapshot%s%s", rc ? ": " : "", rc ? err.msg : "");
	expect_exit(c, "back to the state of prepare", bare, 0);
}

int main(int argc, char **argv)
{
	struct conf_run c = { 0 };
	struct suite *suite = NULL;
	struct alts_err err = ALTS_ERR_INIT;
	const struct runner_info *info;
	const char *true_argv[] = { "true", NULL };
	struct proc_result res;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: runner_conformance RUNNER SUITE.yaml SCRATCH_DIR [MARK]\n");
		return 2;
	}
	c.scratch = argv[3];
	c.mark = argc == 5 ? argv[4] : "0";
	if (!*c.mark || strspn(c.mark, "0123456789") != strlen(c.mark) || strlen(c.mark) > 20) {
		fprintf(stderr, "runner_conformance: MARK must be 1 to 20 digits, not '%s'\n", c.mark);
		return 2;
	}
	if (suite_load_file(&suite, argv[2], &err)) {
		fprintf(stderr, "runner_conformance: %s\n", err.msg);
		return 2;
	}
	if (!runner_new(&c.r, argv[1], suite, &err))
		runner_want_snapshots(c.r);
	if (!c.r || runner_prepare(c.r, &err)) {
		printf("Bail out! %s\n", err.msg);
		runner_free(c.r, false);
		suite_free(suite);
		return 3;
	}
	info = runner_info(c.r);
	c.workdir = runner_workdir(c.r);
	tap(&c, info->os_id && *info->os_id && info->arch && *info->arch && !run(&c, &res, true_argv, NULL, NULL, 60, NULL, NULL, NULL, &err),
	    "prepared: %s %s on %s, work directory %s", info->os_id, info->os_version, info->arch, c.workdir);
	case_exit_codes(&c);
	case_timeout(&c);
	case_large_output(&c);
	case_env_and_args(&c);
	case_cwd(&c);
	case_stdin(&c);
	case_copy(&c);
	case_snapshot(&c, argv[1]);
	printf("# workdir: %s\n", c.workdir);
	fflush(stdout);
	runner_free(c.r, false);
	suite_free(suite);
	printf("1..%d\n", c.n);
	return c.failed ? 1 : 0;
}
