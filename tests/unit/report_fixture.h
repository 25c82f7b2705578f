#ifndef ALTS_TEST_REPORT_FIXTURE_H
#define ALTS_TEST_REPORT_FIXTURE_H

/*
 * A synthetic run for the reporter tests and tests/tools/report_sample:
 * suites and results built by hand, no parser or engine involved.
 *
 * Suite "alpha" (8 checks): install PASS, "launch hello" FAIL with
 * hostile output, "optional #feature" SKIP, "known bug" XFAIL,
 * "flaky fixed" XPASS, integrity FAIL with 5 parts (1 failing),
 * "upstream tests" FAIL whose parts have parts, uninstall PASS.
 * Suite "beta" (2 checks): install ERROR with a bail out, launch SKIP.
 */

#include "framework/common.h"
#include "framework/result.h"
#include "framework/sbuf.h"
#include "framework/suite.h"
#include "reporters/reporter.h"

#define RF_MAX_CHECKS 16
#define RF_T0 1714560000.0  /* 2024-05-01T10:40:00Z */

/* Output of "launch hello": what a JUnit, TAP or JSON writer must survive. */
#define RF_HOSTILE_OUTPUT                                                          \
	"Starting hello & <friends> \"quoted\" 'single'\n"                         \
	"<![CDATA[]]> and ]]> and <![CDATA[ nested ]]>\n"                          \
	"...\n"                                                                    \
	"---\n"                                                                    \
	"Bail out! this is output, not TAP\n"                                      \
	"not ok 99 - also output\n"                                                \
	"# Subtest: fake\n"                                                        \
	"\n"                                                                       \
	"\tline with a tab, a bell \a, esc \033[31mred\033[0m, ctrl \001\002\037, del \177\n" \
	"bad utf-8 \xff\xfe \xc3\x28 | good: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\n" \
	"form\ffeed and vt\v and nul-free end\r\n"                                 \
	"hello: error: cannot open display\n"

/*
 * A cmocka setup/teardown pair for a reporter test: a scratch directory
 * (test_sandbox_init) with an empty output file whose path is in `var`.
 */
#define RF_OUTPUT_FILE_FIXTURE(var, name)                  \
	static char *var;                                  \
	static int setup(void **state)                     \
	{                                                  \
		ALTS_UNUSED(state);                        \
		test_sandbox_init();                       \
		var = test_write_file(name, "");           \
		return 0;                                  \
	}                                                  \
	static int teardown(void **state)                  \
	{                                                  \
		ALTS_UNUSED(state);                        \
		alts_free(var);                            \
		test_sandbox_cleanup();                    \
		return 0;                                  \
	}

struct rf_run {
	struct arena *arena;
	struct suite *suites[2];
	struct suite_result *results[2];
	size_t nsuites;
	struct run_info info;
	struct run_result rr;
};

static inline struct suite *rf_suite_new(struct arena *a, const char *name, const char *path)
{
	struct suite *s = arena_alloc(a, sizeof(*s));

	s->arena = a;
	s->name = name;
	s->path = path;
	s->dir = ".";
	s->checks = arena_alloc(a, RF_MAX_CHECKS * sizeof(*s->checks));
	return s;
}

static inline struct suite_result *rf_result_new(struct arena *a, const struct suite *s, const char *runner,
						 const char *dist, const char *version, const char *arch)
{
	struct suite_result *sr = arena_alloc(a, sizeof(*sr));

	sr->arena = a;
	sr->suite = s;
	sr->checks = arena_alloc(a, RF_MAX_CHECKS * sizeof(*sr->checks));
	sr->runner = runner;
	sr->dist_name = dist;
	sr->dist_version = version;
	sr->dist_arch = arch;
	return sr;
}

/* Adds a check to the suite and its result; started and log follow from its position. */
static inline struct check_result *rf_check(struct suite *s, struct suite_result *sr, const char *type,
					    const char *name, enum check_status status, const char *message)
{
	struct suite_check *c = &s->checks[s->nchecks];
	struct check_result *cr = &sr->checks[sr->nchecks];

	c->type = type;
	c->name = name;
	c->index = s->nchecks++;
	c->expect_failure = status == CHECK_XFAIL || status == CHECK_XPASS;
	cr->check = c;
	cr->name = name;
	cr->status = status;
	cr->message = message;
	cr->exit_code = status == CHECK_SKIP ? -1 : status == CHECK_PASS || status == CHECK_XPASS ? 0 : 1;
	cr->started = RF_T0 + (double)sr->nchecks;
	cr->duration = 0.25 + 0.5 * (double)sr->nchecks;
	cr->log_name = arena_printf(sr->arena, "%02zu-%s.log", sr->nchecks, type);
	cr->log_path = arena_printf(sr->arena, "/var/tmp/alts/%s/%s", s->name, cr->log_name);
	sr->nchecks++;
	return cr;
}

static inline struct check_sub *rf_sub(struct arena *a, struct check_sub **subs, size_t *n, const char *name,
				       enum check_status status, const char *message)
{
	struct check_sub *sub = check_sub_add(a, subs, n, name, status, message);

	sub->duration = 0.01;
	return sub;
}

static inline void rf_alpha_checks(struct suite *s, struct suite_result *sr)
{
	struct arena *a = sr->arena;
	struct check_result *cr;
	struct check_sub *sub;

	cr = rf_check(s, sr, "install", "install", CHECK_PASS, NULL);
	cr->output = "Setting up hello (2.10-3) ...\n";
	cr = rf_check(s, sr, "launch", "launch hello", CHECK_FAIL, "exit code 1");
	cr->output = RF_HOSTILE_OUTPUT;
	rf_check(s, sr, "launch", "optional #feature", CHECK_SKIP, "needs:root");
	cr = rf_check(s, sr, "script", "known bug", CHECK_XFAIL, "exit code 2");
	cr->exit_code = 2;
	cr->output = "known failure\n";
	rf_check(s, sr, "script", "flaky fixed", CHECK_XPASS, NULL);

	cr = rf_check(s, sr, "integrity", "integrity", CHECK_FAIL, "1 of 5 integrity checks failed");
	rf_sub(a, &cr->subs, &cr->nsubs, "files present", CHECK_PASS, NULL);
	rf_sub(a, &cr->subs, &cr->nsubs, "checksums", CHECK_PASS, NULL);
	sub = rf_sub(a, &cr->subs, &cr->nsubs, "file modes", CHECK_FAIL, "/usr/bin/hello: mode 0777, expected 0755");
	sub->output = "  mode mismatch: /usr/bin/hello\n";
	rf_sub(a, &cr->subs, &cr->nsubs, "dependencies", CHECK_PASS, NULL);
	rf_sub(a, &cr->subs, &cr->nsubs, "scriptlets", CHECK_PASS, NULL);

	cr = rf_check(s, sr, "script", "upstream tests", CHECK_FAIL, "2 of 3 tests failed");
	cr->output = "1..3\nok 1 - t/basic.t\nnot ok 2 - t/adv.t\nok 3 - t/skip.t # SKIP no network\n";
	sub = rf_sub(a, &cr->subs, &cr->nsubs, "t/basic.t", CHECK_PASS, NULL);
	rf_sub(a, &sub->subs, &sub->nsubs, "parses", CHECK_PASS, NULL);
	rf_sub(a, &sub->subs, &sub->nsubs, "prints", CHECK_PASS, NULL);
	sub = rf_sub(a, &cr->subs, &cr->nsubs, "t/adv.t", CHECK_FAIL, "1 of 2 subtests failed");
	rf_sub(a, &sub->subs, &sub->nsubs, "greets", CHECK_PASS, NULL);
	rf_sub(a, &sub->subs, &sub->nsubs, "localized #2", CHECK_FAIL, "got 'hello', expected 'bonjour'");
	rf_sub(a, &cr->subs, &cr->nsubs, "t/skip.t", CHECK_SKIP, "no network");

	cr = rf_check(s, sr, "uninstall", "uninstall", CHECK_PASS, NULL);
	cr->output = "  Removing hello (2.10-3) ...\n...\n";
}

static inline void rf_beta_checks(struct suite *s, struct suite_result *sr)
{
	struct check_result *cr;

	cr = rf_check(s, sr, "install", "install", CHECK_ERROR, "runner 'docker' failed: cannot start container");
	cr->exit_code = -1;
	cr->timed_out = true;
	cr->output = "docker: Cannot connect to the Docker daemon\n";
	cr = rf_check(s, sr, "launch", "launch", CHECK_SKIP, "not run: bail out");
	cr->exit_code = -1;
	cr->log_name = NULL;
	cr->log_path = NULL;
	sr->bail_out = "docker daemon not reachable";
}

static inline void rf_run_totals(struct rf_run *run)
{
	size_t i;

	run->rr.suites = run->results;
	run->rr.nsuites = run->nsuites;
	run->rr.started = RF_T0;
	for (i = 0; i < run->nsuites; i++) {
		struct suite_result *sr = run->results[i];

		suite_result_count(sr);
		sr->started = RF_T0;
		sr->duration = 12.5 + (double)i;
		run->rr.passed += sr->passed;
		run->rr.failed += sr->failed;
		run->rr.skipped += sr->skipped;
		run->rr.errors += sr->errors;
	}
	run->rr.duration = 14.0;
	run->rr.exit_code = run->rr.errors ? 3 : run->rr.failed ? 1 : 0;
	run->info.suites = run->suites;
	run->info.nsuites = run->nsuites;
	run->info.started = RF_T0;
}

/* Builds the run; only = 0 keeps both suites, 1 or 2 keeps that one. */
static inline void rf_run_init(struct rf_run *run, int only)
{
	struct suite *s;
	struct suite_result *sr;

	memset(run, 0, sizeof(*run));
	run->arena = arena_new();
	if (only != 2) {
		s = rf_suite_new(run->arena, "alpha", "suites/alpha.yaml");
		s->npackages = 1;
		s->packages = arena_alloc(run->arena, sizeof(*s->packages));
		s->packages[0].name = "hello";
		s->packages[0].version = "2.10";
		s->env.runner = "local";
		sr = rf_result_new(run->arena, s, "local", "debian", "12", "x86_64");
		sr->artifacts_dir = "/var/tmp/alts/alpha";
		rf_alpha_checks(s, sr);
		run->suites[run->nsuites] = s;
		run->results[run->nsuites++] = sr;
	}
	if (only != 1) {
		s = rf_suite_new(run->arena, "beta", "suites/beta.yaml");
		s->env.runner = "docker";
		s->env.dist_name = "almalinux";
		s->env.dist_version = "9";
		sr = rf_result_new(run->arena, s, "docker", "almalinux", "9", "aarch64");
		rf_beta_checks(s, sr);
		run->suites[run->nsuites] = s;
		run->results[run->nsuites++] = sr;
	}
	rf_run_totals(run);
}

static inline void rf_run_release(struct rf_run *run)
{
	arena_free(run->arena);
	run->arena = NULL;
}

/* Streams a check's output in pieces that split lines, as a pipe would. */
static inline void rf_emit_output(struct reporter_set *set, const struct suite *s, const struct suite_check *c,
				  const char *output)
{
	size_t len = output ? strlen(output) : 0, off = 0;

	while (off < len) {
		size_t n = len - off < 7 ? len - off : 7;

		reporter_set_check_output(set, s, c, output + off, n);
		off += n;
	}
}

/* Sends the whole run through set, suite after suite; returns run_end's code. */
static inline int rf_emit(struct reporter_set *set, struct rf_run *run, struct alts_err *err)
{
	size_t i, j;

	reporter_set_run_start(set, &run->info);
	for (i = 0; i < run->nsuites; i++) {
		struct suite *s = run->suites[i];
		struct suite_result *sr = run->results[i];

		reporter_set_suite_start(set, s);
		for (j = 0; j < sr->nchecks; j++) {
			reporter_set_check_start(set, s, &s->checks[j]);
			rf_emit_output(set, s, &s->checks[j], sr->checks[j].output);
			reporter_set_check_end(set, sr, &sr->checks[j]);
		}
		reporter_set_suite_end(set, sr);
	}
	return reporter_set_run_end(set, &run->rr, err);
}

/* Sends the fixture (only: as for rf_run_init) through one reporter writing to path. */
static inline int rf_report(const char *name, struct reporter_opts opts, const char *path, int only,
			    struct alts_err *err)
{
	struct reporter_set *set = NULL;
	struct rf_run run;
	int rc;

	opts.path = path;
	rc = reporter_set_new(&set);
	if (!rc)
		rc = reporter_set_add(set, name, &opts, err);
	if (!rc) {
		rf_run_init(&run, only);
		rc = rf_emit(set, &run, err);
		rf_run_release(&run);
	}
	reporter_set_free(set);
	return rc;
}

/* The whole file, to free with alts_free; NULL when it cannot be read. */
static inline char *rf_slurp(const char *path)
{
	struct sbuf sb = SBUF_INIT;

	if (sbuf_read_file(&sb, path, 0)) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, NULL);
}

#endif
