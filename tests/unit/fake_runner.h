#ifndef ALTS_TEST_FAKE_RUNNER_H
#define ALTS_TEST_FAKE_RUNNER_H

/*
 * A fake runner backend for unit tests of checks: it runs nothing. Each
 * exec is recorded (argv joined with spaces, extra env, stdin contents)
 * and answered from a script of replies matched by argv prefix; copies
 * are recorded too. Call counters per slot, as the style guide asks.
 *
 * Header-only (static functions) because every tests/unit/ .c file is its own
 * program: include it once, after tests/unit/helpers.h.
 *
 *   fake_reset();
 *   fake_reply("dpkg-query -W", 0, "install ok installed\t1.0\n", "");
 *   fake_check_init(&fc, yaml, 0);        // suite, runner, ctx of check 0
 *   fake_check_run(&fc);                  // ops->run
 *   assert_string_equal(fake.calls[2], "dpkg -i ...");
 *   fake_check_release(&fc);
 */

#include <sys/stat.h>
#include <unistd.h>

#include "checks/check_int.h"
#include "framework/proc.h"
#include "framework/sbuf.h"
#include "engine/config_load.h"
#include "engine/suite_load.h"
#include "runners/runner_int.h"

/* Not every test uses every helper. */
#define FAKE_HELPER __attribute__((unused)) static

#define FAKE_MAX_REPLIES 64
#define FAKE_MAX_CALLS 1024

struct fake_reply_spec {
	char *match;      /* prefix of the joined argv; "" matches everything */
	int exit_code;    /* 127 with exec_errno set: the program does not exist */
	int exec_errno;
	int term_signal;
	bool timed_out;
	char *out, *err;
	int times;        /* -1: forever; else answered this many more times, then skipped */
};

struct fake_state {
	struct fake_reply_spec replies[FAKE_MAX_REPLIES];
	size_t nreplies;
	char *calls[FAKE_MAX_CALLS];      /* joined argv of each exec */
	char *call_env[FAKE_MAX_CALLS];   /* the request's extra env, joined with spaces */
	char *call_stdin[FAKE_MAX_CALLS]; /* contents of req->stdin_path, or NULL */
	char *call_cwd[FAKE_MAX_CALLS];
	size_t ncalls;
	char *copies[FAKE_MAX_CALLS];     /* "HOST -> ENV" of each copy_in */
	size_t ncopies;
	/* call counters */
	unsigned nprepare, nexec, ncopy_in, ncopy_out, nteardown, ndestroy;
	/* what prepare reports */
	const char *os_id, *os_id_like, *os_version, *root, *workdir;
};

static struct fake_state fake;

FAKE_HELPER void fake_reset(void)
{
	for (size_t i = 0; i < fake.nreplies; i++) {
		free(fake.replies[i].match);
		free(fake.replies[i].out);
		free(fake.replies[i].err);
	}
	for (size_t i = 0; i < fake.ncalls; i++) {
		free(fake.calls[i]);
		free(fake.call_env[i]);
		free(fake.call_stdin[i]);
		free(fake.call_cwd[i]);
	}
	for (size_t i = 0; i < fake.ncopies; i++)
		free(fake.copies[i]);
	memset(&fake, 0, sizeof(fake));
	fake.os_id = "debian";
	fake.os_id_like = "";
	fake.os_version = "12";
	fake.workdir = "/work";
}

/* Answers execs whose joined argv starts with match; earlier replies win. */
FAKE_HELPER struct fake_reply_spec *fake_reply(const char *match, int exit_code, const char *out, const char *err)
{
	struct fake_reply_spec *r;

	assert_true(fake.nreplies < FAKE_MAX_REPLIES);
	r = &fake.replies[fake.nreplies++];
	r->match = strdup(match);
	r->exit_code = exit_code;
	r->out = strdup(out ? out : "");
	r->err = strdup(err ? err : "");
	r->times = -1;
	return r;
}

/* The program is missing: exec fails with ENOENT (exit 127). */
FAKE_HELPER void fake_missing(const char *match)
{
	struct fake_reply_spec *r = fake_reply(match, 127, "", "");

	r->exec_errno = ENOENT;
}

/* Index of the first recorded call starting with prefix, or -1. */
FAKE_HELPER long fake_find_call(const char *prefix)
{
	for (size_t i = 0; i < fake.ncalls; i++) {
		if (!strncmp(fake.calls[i], prefix, strlen(prefix)))
			return (long)i;
	}
	return -1;
}

static char *fake_join(const char *const *v)
{
	struct sbuf sb = SBUF_INIT;
	char *s;

	for (size_t i = 0; v && v[i]; i++)
		sbuf_addf(&sb, "%s%s", i ? " " : "", v[i]);
	s = strdup(sb.buf);
	sbuf_release(&sb);
	return s;
}

/* What a runner does with a command's output: into the capture when given, else the file. */
static void fake_write(struct proc_capture *cap, const char *path, const char *data)
{
	FILE *f;

	if (cap) {
		proc_capture_add(cap, data, strlen(data));
		return;
	}
	if (!path)
		return;
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static int fake_prepare(struct runner *r, struct alts_err *err)
{
	ALTS_UNUSED(err);
	fake.nprepare++;
	r->info.name = r->ops->name;
	r->info.os_id = alts_strdup(fake.os_id);
	r->info.os_id_like = alts_strdup(fake.os_id_like);
	r->info.os_version = alts_strdup(fake.os_version);
	r->info.arch = alts_strdup("x86_64");
	r->info.root = fake.root ? alts_strdup(fake.root) : NULL;
	r->workdir = alts_strdup(fake.workdir);
	return 0;
}

static int fake_exec(struct runner *r, struct proc_result *out, const struct runner_exec_req *req,
		     struct alts_err *err)
{
	char *joined = fake_join(req->argv);
	size_t i = fake.ncalls;

	ALTS_UNUSED(r);
	ALTS_UNUSED(err);
	fake.nexec++;
	assert_true(i < FAKE_MAX_CALLS);
	fake.calls[i] = joined;
	fake.call_env[i] = fake_join(req->env);
	fake.call_cwd[i] = req->cwd ? strdup(req->cwd) : NULL;
	if (req->stdin_path) {
		struct sbuf sb = SBUF_INIT;

		assert_int_equal(sbuf_read_file(&sb, req->stdin_path, 0), 0);
		fake.call_stdin[i] = strdup(sb.buf);
		sbuf_release(&sb);
	}
	fake.ncalls++;
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < fake.nreplies; k++) {
		struct fake_reply_spec *rep = &fake.replies[k];

		if (strncmp(joined, rep->match, strlen(rep->match)))
			continue;
		if (rep->times == 0)
			continue;
		if (rep->times > 0)
			rep->times--;
		out->exit_code = rep->exit_code;
		out->exec_errno = rep->exec_errno;
		out->term_signal = rep->term_signal;
		out->timed_out = rep->timed_out;
		out->duration = 0.01;
		fake_write(req->stdout_capture, req->stdout_path, rep->out);
		fake_write(req->stderr_capture, req->stderr_path, rep->err);
		return 0;
	}
	return 0;  /* unscripted: exit 0, no output */
}

static int fake_copy_in(struct runner *r, const char *host_path, const char *env_path, struct alts_err *err)
{
	char buf[PATH_MAX * 2 + 8];

	ALTS_UNUSED(r);
	ALTS_UNUSED(err);
	fake.ncopy_in++;
	snprintf(buf, sizeof(buf), "%s -> %s", host_path, env_path);
	assert_true(fake.ncopies < FAKE_MAX_CALLS);
	fake.copies[fake.ncopies++] = strdup(buf);
	return 0;
}

static int fake_copy_out(struct runner *r, const char *env_path, const char *host_path, struct alts_err *err)
{
	ALTS_UNUSED(r);
	ALTS_UNUSED(env_path);
	ALTS_UNUSED(host_path);
	ALTS_UNUSED(err);
	fake.ncopy_out++;
	return 0;
}

static int fake_teardown(struct runner *r, bool keep, struct alts_err *err)
{
	ALTS_UNUSED(r);
	ALTS_UNUSED(keep);
	ALTS_UNUSED(err);
	fake.nteardown++;
	return 0;
}

static void fake_destroy(struct runner *r)
{
	ALTS_UNUSED(r);
	fake.ndestroy++;
}

static const struct runner_ops fake_runner_ops = {
	.name = "fake",
	.abi = RUNNER_ABI,
	.caps = RUNNER_CAP_ISOLATED | RUNNER_CAP_ROOT_DIR,
	.priv_size = 0,
	.prepare = fake_prepare,
	.exec = fake_exec,
	.copy_in = fake_copy_in,
	.copy_out = fake_copy_out,
	.teardown = fake_teardown,
	.destroy = fake_destroy,
};

/* A check ready to run against the fake runner. */
struct fake_check {
	struct suite *suite;
	struct alts_config *config;
	struct runner *runner;
	struct arena *arena;
	struct check_result result;
	struct check_ctx ctx;
	FILE *log;
	char *log_text;
	size_t log_len;
	struct alts_err err;
};

/*
 * Loads yaml as a suite, config_yaml as the config (NULL: defaults) and
 * sets up check number index. dir is the suite's directory and the
 * check's scratch dir: a sandbox from test_sandbox_init(), or NULL to make
 * one. Any failure fails the test.
 */
FAKE_HELPER void fake_check_init_full(struct fake_check *fc, const char *yaml, const char *config_yaml, const char *dir,
				 size_t index)
{
	struct alts_err err = ALTS_ERR_INIT;

	memset(fc, 0, sizeof(*fc));
	if (!dir)
		dir = test_sandbox_init();
	if (suite_load_buffer(&fc->suite, "suite.yaml", dir, yaml, strlen(yaml), &err))
		fail_msg("suite: %s", err.msg);
	if (config_yaml) {
		if (config_load_buffer(&fc->config, "config.yaml", config_yaml, strlen(config_yaml), &err))
			fail_msg("config: %s", err.msg);
	} else if (config_load_buffer(&fc->config, "config.yaml", "{}", 2, &err)) {
		fail_msg("config: %s", err.msg);
	}
	assert_true(index < fc->suite->nchecks);
	assert_ok_err(runner_new_with_ops(&fc->runner, &fake_runner_ops, fc->suite, &err), &err);
	assert_ok_err(runner_prepare(fc->runner, &err), &err);
	fc->arena = arena_new();
	assert_non_null(fc->arena);
	fc->log = open_memstream(&fc->log_text, &fc->log_len);
	assert_non_null(fc->log);
	fc->result.check = &fc->suite->checks[index];
	fc->result.name = fc->suite->checks[index].name;
	fc->result.exit_code = -1;
	fc->ctx.suite = fc->suite;
	fc->ctx.check = &fc->suite->checks[index];
	fc->ctx.config = fc->config;
	fc->ctx.runner = fc->runner;
	fc->ctx.result = &fc->result;
	fc->ctx.arena = fc->arena;
	fc->ctx.log = fc->log;
	fc->ctx.scratch = dir;
	fc->ctx.deadline = proc_now() + 60;
}

FAKE_HELPER void fake_check_init(struct fake_check *fc, const char *yaml, size_t index)
{
	fake_check_init_full(fc, yaml, NULL, NULL, index);
}

/* Runs the check; returns what run returned. The log is readable in fc->log_text after. */
FAKE_HELPER int fake_check_run(struct fake_check *fc)
{
	int rc = fc->ctx.check->ops->run(&fc->ctx, &fc->err);

	fflush(fc->log);
	return rc;
}

FAKE_HELPER void fake_check_release(struct fake_check *fc)
{
	if (fc->log)
		fclose(fc->log);
	free(fc->log_text);
	runner_free(fc->runner, false);
	arena_free(fc->arena);
	config_free(fc->config);
	suite_free(fc->suite);
	test_sandbox_cleanup();
	memset(fc, 0, sizeof(*fc));
}

/* The sub-result called name, or NULL. */
FAKE_HELPER const struct check_sub *fake_sub(const struct fake_check *fc, const char *name)
{
	for (size_t i = 0; i < fc->result.nsubs; i++) {
		if (!strcmp(fc->result.subs[i].name, name))
			return &fc->result.subs[i];
	}
	return NULL;
}

#endif
