/*
 * sandbox_bench: how long a sandbox takes to make, use and throw away,
 * measured through the runner API exactly as alts-run drives it.
 *
 *   cycle   runner_new + runner_prepare + runner_exec({"true"}) + runner_free
 *   bare    runner_new + runner_prepare + runner_free (no exec)
 *   exec    runner_exec({"true"}) alone, repeated in one prepared sandbox
 *   host    proc_run({"true"}) on the host: the cost of any process, the
 *           floor under exec
 *
 * cycle and bare are also split into their phases (create = new+prepare,
 * exec, teardown = free). Each series prints min, median and p90 in
 * milliseconds; the first column is a stable key that bench/sandbox.sh
 * reads. Needs root (the sandbox runner makes namespaces and mounts).
 *
 * A cycle whose create or exec fails with an environment error is retried
 * (its time is not counted) up to -f times in all; the count and the first
 * message are printed on the "failures" line, because an intermittent
 * failure is itself a finding.
 *
 * usage: sandbox_bench [-n RUNS] [-w WARMUP] [-f MAX_FAILURES] [-i IMAGE] [-l LOG_LEVEL]
 */
#include "framework/common.h"
#include "framework/exitcode.h"
#include "runners/image.h"
#include "framework/log.h"
#include "framework/proc.h"
#include "engine/suite_load.h"
#include "runners/runner.h"

#include <unistd.h>

#define BENCH_MAX_RUNS 100000

enum bench_series {
	S_CYCLE, S_CYCLE_CREATE, S_CYCLE_EXEC, S_CYCLE_TEARDOWN,
	S_BARE, S_BARE_CREATE, S_BARE_TEARDOWN,
	S_EXEC,
	S_HOST,
	S_COUNT,
};

static const struct {
	const char *key;
	const char *what;
} series_info[S_COUNT] = {
	[S_CYCLE] = { "cycle", "create + exec(true) + teardown" },
	[S_CYCLE_CREATE] = { "cycle.create", "  runner_new + runner_prepare" },
	[S_CYCLE_EXEC] = { "cycle.exec", "  runner_exec(true), first in a fresh sandbox" },
	[S_CYCLE_TEARDOWN] = { "cycle.teardown", "  runner_free (teardown)" },
	[S_BARE] = { "bare", "create + teardown, no exec" },
	[S_BARE_CREATE] = { "bare.create", "  runner_new + runner_prepare" },
	[S_BARE_TEARDOWN] = { "bare.teardown", "  runner_free (teardown)" },
	[S_EXEC] = { "exec", "runner_exec(true) alone, in one sandbox" },
	[S_HOST] = { "host", "proc_run(true) on the host, no sandbox" },
};

struct bench {
	struct suite *suite;
	size_t runs;
	size_t warmup;
	double *ms[S_COUNT];   /* runs samples per series, milliseconds */
	size_t failures;       /* retried cycles */
	size_t max_failures;
	struct alts_err first_failure;
};

struct bench_opts {
	size_t runs;
	size_t warmup;
	size_t max_failures;
	const char *image;
	const char *log_level;
};

static const char *const true_argv[] = { "true", NULL };
static const char *const host_envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

static int parse_count(size_t *out, const char *arg, size_t min, size_t max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < (long)min || v > (long)max)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int bench_load_suite(struct suite **out, const char *image, struct alts_err *err)
{
	char yaml[512];
	int len;

	if (!image_name_ok(image))
		return alts_err_set(err, ALTS_EINVALID, "invalid image name '%s'", image);
	len = snprintf(yaml, sizeof(yaml),
		       "name: sandbox-bench\n"
		       "environment: {runner: sandbox, image: %s}\n"
		       "checks:\n"
		       "  - launch: {command: [true]}\n",
		       image);
	return suite_load_buffer(out, "<sandbox-bench>", NULL, yaml, (size_t)len, err);
}

/* Runs true in r; a command that ran but did not exit 0 is an environment failure here. */
static int bench_exec_true(struct runner *r, struct alts_err *err)
{
	struct runner_exec_req req = RUNNER_EXEC_REQ_INIT;
	struct proc_result res;
	int rc;

	req.argv = true_argv;
	req.timeout = 30;
	rc = runner_exec(r, &res, &req, err);
	if (rc)
		return rc;
	if (res.exit_code)
		return alts_err_set(err, ALTS_EENV, "'true' in the sandbox exited %d%s%s", res.exit_code,
				    res.exec_errno ? ": " : "", res.exec_errno ? strerror(res.exec_errno) : "");
	return 0;
}

/*
 * One create [+ exec] + teardown; the phase times go to t[0..2] (create,
 * exec, teardown) in milliseconds.
 */
static int bench_one(struct bench *b, bool exec, double t[3], struct alts_err *err)
{
	struct runner *r = NULL;
	double t0, t1, t2, t3;
	int rc;

	t0 = proc_now();
	rc = runner_new(&r, "sandbox", b->suite, err);
	if (!rc)
		rc = runner_prepare(r, err);
	t1 = proc_now();
	if (!rc && exec)
		rc = bench_exec_true(r, err);
	t2 = proc_now();
	runner_free(r, false);
	t3 = proc_now();
	if (rc)
		return rc;
	t[0] = (t1 - t0) * 1e3;
	t[1] = (t2 - t1) * 1e3;
	t[2] = (t3 - t2) * 1e3;
	return 0;
}

static int bench_cycles(struct bench *b, bool exec, struct alts_err *err)
{
	for (size_t i = 0; i < b->warmup + b->runs; i++) {
		double t[3];
		size_t k;
		int rc = bench_one(b, exec, t, err);

		if (rc) {
			alts_err_prefix(err, "%s run %zu", exec ? "cycle" : "bare", i + 1);
			if (rc != ALTS_EENV || b->failures == b->max_failures)
				return rc;
			if (!b->failures++)
				b->first_failure = *err;
			alts_err_clear(err);
			i--;  /* the same run again */
			continue;
		}
		if (i < b->warmup)
			continue;
		k = i - b->warmup;
		if (exec) {
			b->ms[S_CYCLE][k] = t[0] + t[1] + t[2];
			b->ms[S_CYCLE_CREATE][k] = t[0];
			b->ms[S_CYCLE_EXEC][k] = t[1];
			b->ms[S_CYCLE_TEARDOWN][k] = t[2];
		} else {
			b->ms[S_BARE][k] = t[0] + t[2];
			b->ms[S_BARE_CREATE][k] = t[0];
			b->ms[S_BARE_TEARDOWN][k] = t[2];
		}
	}
	return 0;
}

static int bench_exec_only(struct bench *b, struct alts_err *err)
{
	struct runner *r = NULL;
	int rc = runner_new(&r, "sandbox", b->suite, err);

	if (!rc)
		rc = runner_prepare(r, err);
	for (size_t i = 0; !rc && i < b->warmup + b->runs; i++) {
		double t0 = proc_now();

		rc = bench_exec_true(r, err);
		if (!rc && i >= b->warmup)
			b->ms[S_EXEC][i - b->warmup] = (proc_now() - t0) * 1e3;
	}
	runner_free(r, false);
	if (rc)
		alts_err_prefix(err, "exec series");
	return rc;
}

static int bench_host(struct bench *b, struct alts_err *err)
{
	struct proc_spec spec = PROC_SPEC_INIT;

	spec.argv = true_argv;
	spec.envp = host_envp;
	spec.timeout = 30;
	for (size_t i = 0; i < b->warmup + b->runs; i++) {
		struct proc_result res;
		double t0 = proc_now();
		int rc = proc_run(&res, &spec, err);

		if (!rc && res.exit_code)
			rc = alts_err_set(err, ALTS_EENV, "'true' on the host exited %d", res.exit_code);
		if (rc) {
			alts_err_prefix(err, "host series");
			return rc;
		}
		if (i >= b->warmup)
			b->ms[S_HOST][i - b->warmup] = (proc_now() - t0) * 1e3;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v; writes min, median (mean of the middle two for even n) and p90 (nearest rank). */
static void stats(double *v, size_t n, double *min, double *median, double *p90)
{
	size_t rank;

	qsort(v, n, sizeof(*v), cmp_double);
	*min = v[0];
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	rank = (9 * n + 9) / 10;  /* ceil(0.9 n) */
	*p90 = v[rank ? rank - 1 : 0];
}

static void bench_print(struct bench *b, const struct bench_opts *o)
{
	printf("sandbox_bench: image %s, %zu runs per series (+%zu warm-up), %ld CPUs\n", o->image, b->runs,
	       b->warmup, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-15s %9s %9s %9s   %s\n", "series", "min_ms", "median_ms", "p90_ms", "what");
	for (int s = 0; s < S_COUNT; s++) {
		double min, med, p90;

		stats(b->ms[s], b->runs, &min, &med, &p90);
		printf("%-15s %9.2f %9.2f %9.2f   %s\n", series_info[s].key, min, med, p90, series_info[s].what);
	}
	printf("failures %zu%s%s\n", b->failures, b->failures ? " retried; first: " : "",
	       b->failures ? b->first_failure.msg : "");
}

static void bench_release(struct bench *b)
{
	for (int s = 0; s < S_COUNT; s++)
		alts_free(b->ms[s]);
	suite_free(b->suite);
	memset(b, 0, sizeof(*b));
}

static int bench_run(const struct bench_opts *o, struct alts_err *err)
{
	struct bench b = { 0 };
	int rc;

	b.runs = o->runs;
	b.warmup = o->warmup;
	b.max_failures = o->max_failures;
	for (int s = 0; s < S_COUNT; s++) {
		b.ms[s] = alts_calloc(o->runs, sizeof(double));
		if (!b.ms[s]) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = bench_load_suite(&b.suite, o->image, err);
	if (!rc)
		rc = bench_cycles(&b, true, err);
	if (!rc)
		rc = bench_cycles(&b, false, err);
	if (!rc)
		rc = bench_exec_only(&b, err);
	if (!rc)
		rc = bench_host(&b, err);
	if (!rc)
		bench_print(&b, o);
out:
	bench_release(&b);
	return rc;
}

static void usage(FILE *f)
{
	fputs("usage: sandbox_bench [-n RUNS] [-w WARMUP] [-f MAX_FAILURES] [-i IMAGE] [-l LOG_LEVEL]\n"
	      "\n"
	      "Times sandbox create+exec(true)+teardown, create+teardown and exec alone\n"
	      "through the runner API, and true on the host for reference; prints min,\n"
	      "median and p90 in ms. Needs root.\n"
	      "  -n RUNS       timed runs per series (default 100)\n"
	      "  -w WARMUP     untimed runs before each series (default 2)\n"
	      "  -f N          retry up to N failed cycles in all, then give up (default 10)\n"
	      "  -i IMAGE      sandbox image (default debian-12; see alts-image list)\n"
	      "  -l LEVEL      log level (default warn)\n",
	      f);
}

int main(int argc, char **argv)
{
	struct bench_opts o = { 100, 2, 10, "debian-12", NULL };
	struct alts_err err = ALTS_ERR_INIT;
	int c, rc;

	while ((c = getopt(argc, argv, "n:w:f:i:l:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(&o.runs, optarg, 1, BENCH_MAX_RUNS)) {
				fprintf(stderr, "sandbox_bench: invalid run count '%s' (1..%d)\n", optarg,
					BENCH_MAX_RUNS);
				return ALTS_EXIT_INVALID;
			}
			break;
		case 'w':
			if (parse_count(&o.warmup, optarg, 0, BENCH_MAX_RUNS)) {
				fprintf(stderr, "sandbox_bench: invalid warm-up count '%s'\n", optarg);
				return ALTS_EXIT_INVALID;
			}
			break;
		case 'f':
			if (parse_count(&o.max_failures, optarg, 0, BENCH_MAX_RUNS)) {
				fprintf(stderr, "sandbox_bench: invalid failure count '%s'\n", optarg);
				return ALTS_EXIT_INVALID;
			}
			break;
		case 'i':
			o.image = optarg;
			break;
		case 'l':
			o.log_level = optarg;
			break;
		case 'h':
			usage(stdout);
			return ALTS_EXIT_PASS;
		default:
			usage(stderr);
			return ALTS_EXIT_INVALID;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return ALTS_EXIT_INVALID;
	}
	if (o.log_level && alts_log_set_level(o.log_level)) {
		fprintf(stderr, "sandbox_bench: unknown log level '%s'\n", o.log_level);
		return ALTS_EXIT_INVALID;
	}
	rc = bench_run(&o, &err);
	if (rc) {
		fprintf(stderr, "sandbox_bench: %s\n", err.msg);
		return alts_err_exit_code(rc);
	}
	return ALTS_EXIT_PASS;
}
