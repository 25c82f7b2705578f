#include "framework/common.h"
#include "engine/config_load.h"
#include "engine/engine.h"
#include "engine/isolation.h"
#include "framework/exitcode.h"
#include "framework/fs.h"
#include "runners/image.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "checks/check_int.h"
#include "checks/testdeps.h"
#include "runners/runner_util.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

struct engine {
	const struct engine_opts *opts;
	struct reporter_set *reporters;
	struct suite *const *suites;
	size_t nsuites;
	struct suite_result **results;
	const char *artifacts_dir;
	atomic_size_t next;
	struct alts_config *own_config;
	const struct alts_config *config;
};

/* What the engine knows while one suite runs. */
struct suite_run {
	struct engine *eng;
	const struct suite *suite;
	struct suite_result *sr;
	struct runner *runner;
	const char *logs_dir;
	double deadline;  /* proc_now() time of the suite timeout; 0: none */
	const struct suite_check *current;
	struct engine_isolation iso;  /* fresh checks (engine/isolation.h) */
	bool test_deps_done;          /* the suite's test dependencies were seen to */
};

bool engine_check_selected(const struct suite_check *c, const char *filter)
{
	if (!filter || !*filter)
		return true;
	if (!fnmatch(filter, c->name, 0) || !fnmatch(filter, c->type, 0))
		return true;
	return strstr(c->name, filter) != NULL;
}

/* A file-name-safe copy of s: letters, digits, '.', '_' and '-'; others become '_'. */
static char *safe_name(struct arena *a, const char *s)
{
	char *out = arena_strdup(a, s);

	for (char *p = out; p && *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
	}
	if (out && out[0] == '.')
		out[0] = '_';
	return out;
}

/*
 * The log name of check number index named name: "NN-<name>.log" with
 * every character but letters, digits, '.', '_', '-' made '_', no ".."
 * (the scheduler refuses such names when they are fetched) nor a leading
 * '.', at most 200 bytes of the name: a name that fits one path component
 * and that every store and the scheduler take as it is.
 */
#define LOG_NAME_PART_MAX 200

ALTS_TESTABLE char *engine__log_name(struct arena *a, size_t index, const char *name)
{
	char *out = arena_strndup(a, name, LOG_NAME_PART_MAX);

	for (char *p = out; p && *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
		else if (*p == '.' && (p == out || p[-1] == '.'))
			*p = '_';
	}
	return out ? arena_printf(a, "%02zu-%s.log", index, out) : NULL;
}

static void on_check_output(void *payload, enum proc_stream stream, const char *buf, size_t len)
{
	struct suite_run *run = payload;

	ALTS_UNUSED(stream);
	reporter_set_check_output(run->eng->reporters, run->suite, run->current, buf, len);
}

static void finish_status(struct check_result *cr)
{
	if (!cr->check || !cr->check->expect_failure)
		return;
	if (cr->status == CHECK_FAIL) {
		cr->status = CHECK_XFAIL;
	} else if (cr->status == CHECK_PASS) {
		cr->status = CHECK_XPASS;
		if (!cr->message)
			cr->message = "expected to fail, but passed";
	}
}

/* The log's last output_tail bytes, from a line start, read through the still open log (opened "w+"). */
static void fill_output_tail(struct suite_run *run, struct check_result *cr, FILE *log)
{
	size_t cap = run->eng->config->output_tail, len, start, got = 0;
	struct stat st;
	off_t from;
	char *buf;

	if (cr->output || fflush(log) || fstat(fileno(log), &st) < 0 || st.st_size <= 0)
		return;
	len = (size_t)st.st_size;
	start = len > cap ? len - cap : 0;
	/* One byte before start too: whether start is already a line's first. */
	from = start ? (off_t)start - 1 : 0;
	if (!(buf = alts_malloc(len - (size_t)from)))
		return;
	while (got < len - (size_t)from) {
		ssize_t n = pread(fileno(log), buf + got, len - (size_t)from - got, from + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len - (size_t)from) {
		/* Start on a line boundary so the tail reads cleanly. */
		while (start && start < len && buf[start - 1 - (size_t)from] != '\n')
			start++;
		cr->output = arena_strndup(run->sr->arena, buf + (start - (size_t)from), len - start);
		cr->output_omitted = start;
	}
	alts_free(buf);
}

static void skip_rest(struct suite_run *run, size_t from, const char *reason)
{
	for (size_t i = from; i < run->sr->nchecks; i++) {
		struct check_result *cr = &run->sr->checks[i];

		cr->status = CHECK_SKIP;
		cr->message = reason;
		cr->started = proc_wallclock();
		reporter_set_check_end(run->eng->reporters, run->sr, cr);
	}
}

static const char *skip_reason(struct suite_run *run, const struct suite_check *c)
{
	const struct alts_config *cfg = run->eng->config;
	const struct suite *s = run->suite;
	const struct config_exclusion *e = NULL;

	if (c->skip)
		return c->skip;
	if (!engine_check_selected(c, run->eng->opts->filter))
		return "not selected by --filter";
	/* A check is skipped whole only when every package is excluded; checks skip single packages themselves. */
	for (size_t i = 0; i < s->npackages; i++) {
		e = config_find_exclusion(cfg, run->sr->dist_name, run->sr->dist_version, s->packages[i].name, c->type);
		if (!e)
			return NULL;
	}
	if (e)
		return arena_printf(run->sr->arena, "every package is excluded on %s: %s", e->dist,
				    config_exclusion_reason(e));
	return NULL;
}

static double check_deadline(struct suite_run *run, const struct suite_check *c, double now)
{
	double t = c->timeout > 0 ? c->timeout : run->suite->check_timeout;
	double d;

	if (t <= 0)
		t = run->eng->config->check_timeout;
	d = t > 0 ? now + t : 0;
	if (run->deadline && (!d || run->deadline < d))
		d = run->deadline;
	return d;
}

/*
 * Test dependencies the engine installs itself: the check's own
 * (test_depends on the check) and, before the first check that runs, the
 * suite's when no install check does it. A failed installation fails the
 * check, which then does not run (ctx->result->status is set).
 */
static int engine_test_deps_before(struct suite_run *run, struct check_ctx *ctx, struct alts_err *err)
{
	const struct suite *s = run->suite;
	const struct suite_check *c = ctx->check;
	bool suite_deps = false;
	const char *why = NULL;
	int rc = 0;

	if (s->test_depends.n && !run->test_deps_done) {
		suite_deps = true;
		for (size_t i = 0; i < s->nchecks; i++)
			suite_deps &= strcmp(s->checks[i].type, "install") != 0;
	}
	run->test_deps_done = true;
	if (suite_deps)
		rc = check_test_deps_install(ctx, s->test_depends.v, s->test_depends.n, 0, &why, err);
	if (!rc && !why && c->test_depends.n)
		rc = check_test_deps_install(ctx, c->test_depends.v, c->test_depends.n, 0, &why, err);
	if (!rc && why)
		check_set(ctx, CHECK_FAIL, "cannot install the test dependencies: %s", why);
	return rc;
}

/* Runs one check; returns a negative code when the environment failed. */
static int run_one_check(struct suite_run *run, struct check_result *cr, struct alts_err *err)
{
	const struct suite_check *c = cr->check;
	struct check_ctx ctx = { 0 };
	const char *scratch;
	double t0;
	int rc;

	cr->log_name = engine__log_name(run->sr->arena, c->index + 1, c->name);
	cr->log_path = arena_printf(run->sr->arena, "%s/%s", run->logs_dir, cr->log_name);
	scratch = arena_printf(run->sr->arena, "%s/.scratch-%02zu", run->logs_dir, c->index + 1);
	if (!cr->log_name || !cr->log_path || !scratch)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	ctx.log = fopen(cr->log_path, "w+e");
	if (!ctx.log)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create log '%s'", cr->log_path);
	setvbuf(ctx.log, NULL, _IOLBF, 0);
	ctx.suite = run->suite;
	ctx.check = c;
	ctx.config = run->eng->config;
	ctx.runner = run->runner;
	ctx.result = cr;
	ctx.arena = run->sr->arena;
	ctx.cancel = run->eng->opts->cancel;
	ctx.on_output = on_check_output;
	ctx.payload = run;
	ctx.scratch = scratch;
	ctx.dist_name = run->sr->dist_name;
	ctx.dist_version = run->sr->dist_version;
	t0 = proc_now();
	ctx.deadline = check_deadline(run, c, t0);
	cr->started = proc_wallclock();
	cr->exit_code = -1;
	run->current = c;
	rc = engine_isolation_before(&run->iso, run->runner, c, ctx.log, err);
	if (!rc)
		rc = engine_test_deps_before(run, &ctx, err);
	if (!rc && !cr->status)
		rc = c->ops->run(&ctx, err);
	engine_isolation_after(&run->iso, c);
	cr->duration = proc_now() - t0;
	if (!rc && ctx.deadline && proc_now() >= ctx.deadline && cr->status != CHECK_FAIL) {
		cr->status = CHECK_FAIL;
		cr->timed_out = true;
		cr->message = "timed out";
	}
	if (rc) {
		fprintf(ctx.log, "alts: environment failure: %s\n", err->msg);
		cr->status = CHECK_ERROR;
		cr->message = arena_strdup(run->sr->arena, err->msg);
	}
	finish_status(cr);
	fill_output_tail(run, cr, ctx.log);
	fclose(ctx.log);
	if (ctx.scratch_made)
		runner_remove_tree(scratch);
	return rc;
}

static void set_dist(struct suite_run *run)
{
	const struct engine_opts *o = run->eng->opts;
	const struct suite_environment *env = &run->suite->env;
	const struct runner_info *info = run->runner ? runner_info(run->runner) : NULL;
	struct suite_result *sr = run->sr;

	sr->dist_name = o->dist_name ? o->dist_name : env->dist_name;
	sr->dist_version = o->dist_version ? o->dist_version : env->dist_version;
	sr->dist_arch = env->dist_arch;
	if (!sr->dist_name && info && info->os_id && *info->os_id)
		sr->dist_name = arena_strdup(sr->arena, info->os_id);
	if (!sr->dist_version && info && info->os_version && *info->os_version)
		sr->dist_version = arena_strdup(sr->arena, info->os_version);
	if (!sr->dist_arch && info && info->arch)
		sr->dist_arch = arena_strdup(sr->arena, info->arch);
}

static void run_checks(struct suite_run *run)
{
	struct suite_result *sr = run->sr;
	const struct engine_opts *o = run->eng->opts;

	for (size_t i = 0; i < sr->nchecks; i++) {
		struct check_result *cr = &sr->checks[i];
		struct alts_err err = ALTS_ERR_INIT;
		const char *why;

		if (o->cancel && *o->cancel) {
			sr->bail_out = "interrupted";
			skip_rest(run, i, "interrupted");
			return;
		}
		if (run->deadline && proc_now() >= run->deadline) {
			skip_rest(run, i, "suite timeout reached");
			return;
		}
		reporter_set_check_start(run->eng->reporters, run->suite, cr->check);
		why = skip_reason(run, cr->check);
		if (why) {
			cr->status = CHECK_SKIP;
			cr->message = why;
			cr->started = proc_wallclock();
			cr->exit_code = -1;
		} else if (run_one_check(run, cr, &err)) {
			sr->bail_out = cr->message;
			reporter_set_check_end(run->eng->reporters, sr, cr);
			skip_rest(run, i + 1, "environment failure");
			return;
		}
		reporter_set_check_end(run->eng->reporters, sr, cr);
	}
}

static int suite_result_new(struct suite_result **out, const struct suite *s)
{
	struct suite_result *sr = alts_calloc(1, sizeof(*sr));

	if (!sr)
		return ALTS_ENOMEM;
	sr->arena = arena_new();
	if (!sr->arena)
		goto fail;
	sr->suite = s;
	sr->nchecks = s->nchecks;
	sr->checks = arena_alloc(sr->arena, (s->nchecks ? s->nchecks : 1) * sizeof(*sr->checks));
	if (!sr->checks)
		goto fail;
	for (size_t i = 0; i < s->nchecks; i++) {
		sr->checks[i].check = &s->checks[i];
		sr->checks[i].name = s->checks[i].name;
		sr->checks[i].exit_code = -1;
	}
	*out = sr;
	return 0;
fail:
	arena_free(sr->arena);
	alts_free(sr);
	return ALTS_ENOMEM;
}

static const char *suite_dir_name(struct engine *eng, size_t index, struct arena *a)
{
	const char *base = safe_name(a, eng->suites[index]->name);

	for (size_t j = 0; j < eng->nsuites; j++) {
		if (j != index && !strcmp(eng->suites[j]->name, eng->suites[index]->name))
			return arena_printf(a, "%s-%zu", base, index + 1);
	}
	return base;
}

static void environment_failed(struct suite_run *run, const char *msg)
{
	struct check_result *first = &run->sr->checks[0];

	run->sr->bail_out = arena_strdup(run->sr->arena, msg);
	reporter_set_check_start(run->eng->reporters, run->suite, first->check);
	first->status = CHECK_ERROR;
	first->message = run->sr->bail_out;
	first->started = proc_wallclock();
	reporter_set_check_end(run->eng->reporters, run->sr, first);
	skip_rest(run, 1, "environment failure");
}

const char *engine_pick_runner(const struct suite *s, const struct engine_opts *opts)
{
	struct image_meta meta;
	struct alts_err ignored = ALTS_ERR_INIT;
	char name[160];

	if (opts->runner)
		return opts->runner;
	if (s->env.runner)
		return s->env.runner;
	if (s->env.image)
		return "sandbox";
	if (!s->env.dist_name)
		return "local";
	image_name_for(name, sizeof(name), s->env.dist_name, s->env.dist_version, s->env.dist_arch);
	return image_open(&meta, name, &ignored) == 0 ? "sandbox" : "local";
}

/*
 * alts.yaml's image_max_age: a sandbox image older than that is rebuilt
 * (image_refresh: rebuild; a failed rebuild keeps the old one serving) or
 * warned about.
 */
static void check_image_age(const struct engine *eng, const struct suite *s)
{
	struct alts_err err = ALTS_ERR_INIT;
	struct image_meta meta;
	char name[160];
	double age;

	if (eng->config->image_max_age <= 0)
		return;
	if (s->env.image)
		snprintf(name, sizeof(name), "%s", s->env.image);
	else if (s->env.dist_name)
		image_name_for(name, sizeof(name), s->env.dist_name, s->env.dist_version, s->env.dist_arch);
	else
		return;
	if (image_open(&meta, name, &err) || (age = image_age(&meta)) < eng->config->image_max_age)
		return;
	if (!eng->config->image_rebuild) {
		alts_log(ALTS_LOG_WARN, "engine", "image '%s' is %.1f days old, older than image_max_age (%.1f days): "
			 "refresh it with 'alts-image refresh %s'", name, age / 86400, eng->config->image_max_age / 86400,
			 name);
		return;
	}
	alts_log(ALTS_LOG_INFO, "engine", "image '%s' is %.1f days old: rebuilding it (image_refresh: rebuild)", name,
		 age / 86400);
	if (image_refresh(name, eng->config->image_max_age, true, &err))
		alts_log(ALTS_LOG_WARN, "engine", "cannot refresh image '%s', the old one is used: %s", name, err.msg);
}

static void run_suite(struct engine *eng, size_t index)
{
	struct suite *s = eng->suites[index];
	struct suite_run run = { eng, s, eng->results[index], NULL, NULL, 0, NULL, { 0 } };
	struct suite_result *sr = run.sr;
	struct alts_err err = ALTS_ERR_INIT;
	const char *runner = engine_pick_runner(s, eng->opts);
	const char *dir = suite_dir_name(eng, index, sr->arena);
	double t0 = proc_now();
	double timeout = s->timeout > 0 ? s->timeout : eng->config->suite_timeout;

	if (!strcmp(runner, "sandbox"))
		check_image_age(eng, s);
	sr->started = proc_wallclock();
	sr->runner = runner;
	/* Reporters name the runner the suite really ran on. */
	eng->suites[index]->env.runner = runner;
	sr->artifacts_dir = dir ? arena_printf(sr->arena, "%s/%s", eng->artifacts_dir, dir) : NULL;
	run.logs_dir = sr->artifacts_dir ? arena_printf(sr->arena, "%s/logs", sr->artifacts_dir) : NULL;
	run.deadline = timeout > 0 ? t0 + timeout : 0;
	reporter_set_suite_start(eng->reporters, s);
	if (!run.logs_dir) {
		alts_err_set(&err, ALTS_ENOMEM, "out of memory");
		goto failed;
	}
	if (fs_mkdir_p(run.logs_dir, 0755, &err) || runner_new(&run.runner, runner, s, &err))
		goto failed;
	if (eng->opts->keep_env)
		runner_keep_env(run.runner);
	for (size_t i = 0; i < s->nchecks; i++) {
		if (s->checks[i].fresh || (s->checks[i].ops->caps & CHECK_CAP_SNAPSHOTS))
			runner_want_snapshots(run.runner);
	}
	runner_set_limits(run.runner, &(struct runner_limits){ eng->config->sandbox_disk, eng->config->sandbox_memory,
							       eng->config->sandbox_pids });
	if (runner_prepare(run.runner, &err))
		goto failed;
	set_dist(&run);
	alts_log(ALTS_LOG_INFO, "engine", "suite '%s' on %s (%s %s %s)", s->name, runner,
		 sr->dist_name ? sr->dist_name : "?", sr->dist_version ? sr->dist_version : "?",
		 sr->dist_arch ? sr->dist_arch : "?");
	run_checks(&run);
	goto done;
failed:
	set_dist(&run);
	environment_failed(&run, err.msg);
done:
	if (eng->opts->keep_env && run.runner && run.runner->prepared)
		fprintf(stderr, "alts: kept the environment of '%s': work directory %s\n", s->name,
			runner_workdir(run.runner));
	runner_free(run.runner, eng->opts->keep_env);
	sr->duration = proc_now() - t0;
	suite_result_count(sr);
	reporter_set_suite_end(eng->reporters, sr);
}

static void *engine_worker(void *arg)
{
	struct engine *eng = arg;
	size_t i;

	while ((i = atomic_fetch_add(&eng->next, 1)) < eng->nsuites)
		run_suite(eng, i);
	return NULL;
}

static int make_artifacts_dir(struct engine *eng, struct run_result *rr, struct alts_err *err)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	if (eng->opts->artifacts_dir) {
		rc = fs_mkdir_p(eng->opts->artifacts_dir, 0755, err);
		if (rc)
			return rc;
		rr->artifacts_dir = alts_strdup(eng->opts->artifacts_dir);
	} else {
		rr->artifacts_dir = alts_asprintf("%s/alts-artifacts-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (rr->artifacts_dir && !mkdtemp(rr->artifacts_dir))
			return alts_err_errno(err, ALTS_EENV, errno, "cannot create an artifacts directory");
	}
	if (!rr->artifacts_dir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	eng->artifacts_dir = rr->artifacts_dir;
	return 0;
}

static void run_in_threads(struct engine *eng, int jobs)
{
	pthread_t threads[64];
	int started = 0;

	if (jobs > (int)ALTS_ARRAY_SIZE(threads))
		jobs = (int)ALTS_ARRAY_SIZE(threads);
	if (jobs > (int)eng->nsuites)
		jobs = (int)eng->nsuites;
	for (int i = 1; i < jobs; i++) {
		if (pthread_create(&threads[started], NULL, engine_worker, eng) == 0)
			started++;
	}
	engine_worker(eng);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

static void total_up(struct run_result *rr)
{
	bool env_failed = false;

	for (size_t i = 0; i < rr->nsuites; i++) {
		struct suite_result *sr = rr->suites[i];

		rr->passed += sr->passed;
		rr->failed += sr->failed;
		rr->skipped += sr->skipped;
		rr->errors += sr->errors;
		env_failed |= sr->bail_out != NULL;
	}
	if (env_failed || rr->errors)
		rr->exit_code = ALTS_EXIT_ENV;
	else if (rr->failed)
		rr->exit_code = ALTS_EXIT_FAIL;
	else
		rr->exit_code = ALTS_EXIT_PASS;
}

int engine_run(struct run_result **out, struct suite *const *suites, size_t nsuites,
	       const struct engine_opts *opts, struct reporter_set *reporters, struct alts_err *err)
{
	struct engine eng = { 0 };
	struct run_result *rr = NULL;
	struct run_info info;
	double t0 = proc_now();
	int rc;

	eng.opts = opts;
	eng.reporters = reporters;
	eng.suites = suites;
	eng.nsuites = nsuites;
	eng.config = opts->config;
	if (!eng.config) {
		rc = config_load_buffer(&eng.own_config, "<defaults>", "{}", 2, err);
		if (rc)
			return rc;
		eng.config = eng.own_config;
	}
	rr = alts_calloc(1, sizeof(*rr));
	if (!rr || !(rr->suites = alts_calloc(nsuites ? nsuites : 1, sizeof(*rr->suites)))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	rc = make_artifacts_dir(&eng, rr, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nsuites; i++) {
		rc = suite_result_new(&rr->suites[i], suites[i]);
		if (rc) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
		rr->nsuites++;
	}
	eng.results = rr->suites;
	rr->started = proc_wallclock();
	info.suites = suites;
	info.nsuites = nsuites;
	info.started = rr->started;
	reporter_set_run_start(reporters, &info);
	run_in_threads(&eng, opts->jobs < 1 ? 1 : opts->jobs);
	rr->duration = proc_now() - t0;
	total_up(rr);
	rc = reporter_set_run_end(reporters, rr, err);
	if (rc) {
		alts_err_prefix(err, "cannot write reports");
		rc = ALTS_EENV;
	}
out:
	if (rc)
		run_result_free(rr);
	else
		*out = rr;
	config_free(eng.own_config);
	return rc;
}

void run_result_free(struct run_result *rr)
{
	if (!rr)
		return;
	for (size_t i = 0; i < rr->nsuites; i++) {
		if (rr->suites[i]) {
			arena_free(rr->suites[i]->arena);
			alts_free(rr->suites[i]);
		}
	}
	alts_free(rr->suites);
	alts_free(rr->artifacts_dir);
	alts_free(rr);
}
