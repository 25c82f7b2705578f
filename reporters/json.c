#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <jansson.h>
#include <math.h>

/*
 * The ALTS result document ({"api_version", "result", "stats"}) so that
 * ALTS consumers read it unchanged, plus an "alts" key with everything
 * we know. Several suites: {"api_version", "suites": [one such document
 * per suite], "summary"}. docs/report-formats.md has the shape.
 * Statics are rjson_, not json_: that prefix is jansson's.
 */

#define RJSON_API_VERSION "1"
#define RJSON_DEFAULT_PATH "result.json"

struct rjson_priv {
	FILE *out;
	const char *path;
	bool started;
	size_t planned;  /* suites announced at run_start */
};

/* Building state: jansson calls that fail set oom, checked once at the end. */
struct rjson_ctx {
	size_t cap;
	bool oom;
};

static int rjson_open(struct reporter *r, struct alts_err *err)
{
	struct rjson_priv *jp = r->priv;

	jp->path = r->opts.path ? r->opts.path : RJSON_DEFAULT_PATH;
	jp->out = reporter_open_out(r, RJSON_DEFAULT_PATH, err);
	return jp->out ? 0 : ALTS_ERROR;
}

static void rjson_run_start(struct reporter *r, const struct run_info *info)
{
	struct rjson_priv *jp = r->priv;

	jp->started = true;
	jp->planned = info->nsuites;
}

static void rjson_set(struct rjson_ctx *ctx, json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, value))
		ctx->oom = true;
}

static void rjson_push(struct rjson_ctx *ctx, json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, value))
		ctx->oom = true;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD, which jansson would refuse. NULL gives null. */
static json_t *rjson_str(const char *s)
{
	struct sbuf clean = SBUF_INIT;
	size_t n, i = 0;
	json_t *v;
	uint32_t cp;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	n = strlen(s);
	while (i < n) {
		i += reporter_utf8_next(s + i, n - i, &cp);
		reporter_add_utf8(&clean, cp);
	}
	v = sbuf_ok(&clean) ? json_stringn(clean.buf, clean.len) : NULL;
	sbuf_release(&clean);
	return v;
}

static json_t *rjson_seconds(double s)
{
	return json_real(isfinite(s) ? s : 0.0);
}

static json_t *rjson_output(const struct rjson_ctx *ctx, const char *output)
{
	size_t omitted;

	if (!output)
		return json_null();
	return rjson_str(reporter_tail(output, ctx->cap, 0, &omitted));
}

static const char *rjson_suite_name(const struct suite_result *sr)
{
	if (sr->suite && sr->suite->name)
		return sr->suite->name;
	if (sr->suite && sr->suite->path)
		return sr->suite->path;
	return "suite";
}

/* ---- the "alts" part: every field, subs recursive ---- */

static json_t *rjson_subs(struct rjson_ctx *ctx, const struct check_sub *subs, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o = json_object();

		rjson_set(ctx, o, "name", rjson_str(subs[i].name));
		rjson_set(ctx, o, "status", json_string(check_status_name(subs[i].status)));
		rjson_set(ctx, o, "message", rjson_str(subs[i].message));
		rjson_set(ctx, o, "duration", rjson_seconds(subs[i].duration));
		rjson_set(ctx, o, "output", rjson_output(ctx, subs[i].output));
		rjson_set(ctx, o, "subs", rjson_subs(ctx, subs[i].subs, subs[i].nsubs));
		rjson_push(ctx, arr, o);
	}
	return arr;
}

static json_t *rjson_full_check(struct rjson_ctx *ctx, const struct check_result *cr)
{
	json_t *o = json_object();
	size_t omitted = 0;

	if (cr->output)
		reporter_tail(cr->output, ctx->cap, cr->output_omitted, &omitted);
	rjson_set(ctx, o, "type", json_string(reporter_check_type(cr)));
	rjson_set(ctx, o, "name", rjson_str(cr->name));
	rjson_set(ctx, o, "status", json_string(check_status_name(cr->status)));
	rjson_set(ctx, o, "message", rjson_str(cr->message));
	rjson_set(ctx, o, "exit_code", cr->exit_code >= 0 ? json_integer(cr->exit_code) : json_null());
	rjson_set(ctx, o, "signal", cr->term_signal > 0 ? json_integer(cr->term_signal) : json_null());
	rjson_set(ctx, o, "timed_out", json_boolean(cr->timed_out));
	rjson_set(ctx, o, "started", rjson_seconds(cr->started));
	rjson_set(ctx, o, "duration", rjson_seconds(cr->duration));
	rjson_set(ctx, o, "log", rjson_str(cr->log_path));
	rjson_set(ctx, o, "log_name", rjson_str(cr->log_name));
	rjson_set(ctx, o, "output", rjson_output(ctx, cr->output));
	rjson_set(ctx, o, "output_omitted_bytes", json_integer((json_int_t)omitted));
	rjson_set(ctx, o, "subs", rjson_subs(ctx, cr->subs, cr->nsubs));
	return o;
}

static json_t *rjson_counts(size_t passed, size_t failed, size_t skipped, size_t errors)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "passed", (json_int_t)passed, "failed",
			 (json_int_t)failed, "skipped", (json_int_t)skipped, "errors", (json_int_t)errors);
}

static json_t *rjson_dist(struct rjson_ctx *ctx, const struct suite_result *sr)
{
	json_t *o = json_object();

	rjson_set(ctx, o, "name", rjson_str(sr->dist_name));
	rjson_set(ctx, o, "version", rjson_str(sr->dist_version));
	rjson_set(ctx, o, "arch", rjson_str(sr->dist_arch));
	return o;
}

static json_t *rjson_packages(struct rjson_ctx *ctx, const struct suite *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; s && i < s->npackages; i++) {
		json_t *o = json_object();

		rjson_set(ctx, o, "name", rjson_str(s->packages[i].name));
		rjson_set(ctx, o, "version", rjson_str(s->packages[i].version));
		rjson_push(ctx, arr, o);
	}
	return arr;
}

static json_t *rjson_full_suite(struct rjson_ctx *ctx, const struct suite_result *sr)
{
	json_t *o = json_object(), *checks = json_array();
	size_t i;

	rjson_set(ctx, o, "name", rjson_str(rjson_suite_name(sr)));
	rjson_set(ctx, o, "path", rjson_str(sr->suite ? sr->suite->path : NULL));
	rjson_set(ctx, o, "description", rjson_str(sr->suite ? sr->suite->description : NULL));
	rjson_set(ctx, o, "runner", rjson_str(sr->runner));
	rjson_set(ctx, o, "dist", rjson_dist(ctx, sr));
	rjson_set(ctx, o, "packages", rjson_packages(ctx, sr->suite));
	rjson_set(ctx, o, "started", rjson_seconds(sr->started));
	rjson_set(ctx, o, "duration", rjson_seconds(sr->duration));
	rjson_set(ctx, o, "counts", rjson_counts(sr->passed, sr->failed, sr->skipped, sr->errors));
	rjson_set(ctx, o, "bail_out", rjson_str(sr->bail_out));
	rjson_set(ctx, o, "artifacts_dir", rjson_str(sr->artifacts_dir));
	for (i = 0; i < sr->nchecks; i++)
		rjson_push(ctx, checks, rjson_full_check(ctx, &sr->checks[i]));
	rjson_set(ctx, o, "checks", checks);
	return o;
}

/* ---- the ALTS part: one entry per stage ---- */

/* The ALTS stage a check type reports as; NULL for script checks, which go under "tests". */
static const char *rjson_stage_name(const char *type)
{
	static const struct {
		const char *type, *stage;
	} stages[] = {
		{ "install", "install_package" },
		{ "uninstall", "uninstall_package" },
		{ "integrity", "package_integrity_tests" },
		{ "launch", "launch" },
	};
	size_t i;

	if (!strcmp(type, "script"))
		return NULL;
	for (i = 0; i < ALTS_ARRAY_SIZE(stages); i++)
		if (!strcmp(stages[i].type, type))
			return stages[i].stage;
	return type;
}

/* key, or key_2, key_3 ... when a check of the same kind already took it. */
static char *rjson_unique_key(json_t *obj, const char *key)
{
	unsigned n;

	if (!json_object_get(obj, key))
		return alts_strdup(key);
	for (n = 2;; n++) {
		char *k = alts_asprintf("%s_%u", key, n);

		if (!k || !json_object_get(obj, k))
			return k;
		alts_free(k);
	}
}

static bool rjson_success(enum check_status s)
{
	return !check_status_is_failure(s);
}

static const char *rjson_log(const struct check_result *cr)
{
	return cr->log_name ? cr->log_name : cr->log_path;
}

static void rjson_set_unique(struct rjson_ctx *ctx, json_t *obj, const char *key, json_t *value)
{
	char *k = rjson_unique_key(obj, key);

	if (!k) {
		json_decref(value);
		ctx->oom = true;
		return;
	}
	rjson_set(ctx, obj, k, value);
	alts_free(k);
}

/* ALTS always has a string there. */
static json_t *rjson_alts_output(const struct rjson_ctx *ctx, const char *output)
{
	return rjson_output(ctx, output ? output : "");
}

static json_t *rjson_stage_subs(struct rjson_ctx *ctx, const struct check_sub *subs, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *t = json_object();

		rjson_set(ctx, t, "success", json_boolean(rjson_success(subs[i].status)));
		rjson_set(ctx, t, "output", rjson_alts_output(ctx, subs[i].output ? subs[i].output : subs[i].message));
		rjson_set_unique(ctx, o, subs[i].name ? subs[i].name : "", t);
	}
	return o;
}

static json_t *rjson_stage(struct rjson_ctx *ctx, const struct check_result *cr, bool with_output)
{
	json_t *o = json_object();

	rjson_set(ctx, o, "success", json_boolean(rjson_success(cr->status)));
	if (with_output)
		rjson_set(ctx, o, "output", rjson_alts_output(ctx, cr->output));
	rjson_set(ctx, o, "log", rjson_str(rjson_log(cr)));
	if (cr->nsubs && !with_output)
		rjson_set(ctx, o, "tests", rjson_stage_subs(ctx, cr->subs, cr->nsubs));
	return o;
}

static json_t *rjson_stats_entry(const struct check_result *cr)
{
	return json_pack("{s:f, s:f, s:f}", "start_ts", isfinite(cr->started) ? cr->started : 0.0,
			 "finish_ts", isfinite(cr->started + cr->duration) ? cr->started + cr->duration : 0.0,
			 "delta", isfinite(cr->duration) ? cr->duration : 0.0);
}

static void rjson_add_script(struct rjson_ctx *ctx, json_t *result, json_t *stats,
			    const struct check_result *cr)
{
	const char *name = cr->name ? cr->name : "script";
	json_t *tests = json_object_get(result, "tests");
	json_t *third = json_object_get(result, "third_party");

	rjson_set_unique(ctx, tests, name, rjson_stage(ctx, cr, true));
	rjson_set_unique(ctx, third, name, rjson_stage(ctx, cr, true));
	rjson_set_unique(ctx, stats, name, rjson_stats_entry(cr));
}

static void rjson_add_logs(struct rjson_ctx *ctx, json_t *logs, const struct check_result *cr)
{
	const char *name = cr->log_name ? cr->log_name : cr->log_path;

	if (name)
		rjson_set_unique(ctx, logs, name, rjson_str(cr->log_path ? cr->log_path : cr->log_name));
}

static void rjson_add_alts_result(struct rjson_ctx *ctx, json_t *doc, const struct suite_result *sr)
{
	json_t *result = json_object(), *stats = json_object(), *logs = json_object();
	size_t i;

	rjson_set(ctx, result, "tests", json_object());
	rjson_set(ctx, result, "third_party", json_object());
	for (i = 0; i < sr->nchecks; i++) {
		const struct check_result *cr = &sr->checks[i];
		const char *stage = rjson_stage_name(reporter_check_type(cr));

		if (!stage) {
			rjson_add_script(ctx, result, stats, cr);
		} else {
			rjson_set_unique(ctx, result, stage, rjson_stage(ctx, cr, false));
			rjson_set_unique(ctx, stats, stage, rjson_stats_entry(cr));
		}
		rjson_add_logs(ctx, logs, cr);
	}
	rjson_set(ctx, result, "logs", logs);
	rjson_set(ctx, doc, "result", result);
	rjson_set(ctx, doc, "stats", stats);
}

static json_t *rjson_summary(const struct run_result *rr)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:i}", "suites", (json_int_t)rr->nsuites,
			 "passed", (json_int_t)rr->passed, "failed", (json_int_t)rr->failed, "skipped",
			 (json_int_t)rr->skipped, "errors", (json_int_t)rr->errors, "started",
			 isfinite(rr->started) ? rr->started : 0.0, "duration",
			 isfinite(rr->duration) ? rr->duration : 0.0, "exit_code", rr->exit_code);
}

/* The document for one suite; the whole file when the run has one suite. */
static json_t *rjson_suite_doc(struct rjson_ctx *ctx, const struct suite_result *sr, json_t *summary)
{
	json_t *doc = json_object(), *alts = json_object(), *suites = json_array();

	rjson_set(ctx, doc, "api_version", json_string(RJSON_API_VERSION));
	rjson_add_alts_result(ctx, doc, sr);
	rjson_set(ctx, alts, "version", json_string(ALTS_VERSION));
	rjson_push(ctx, suites, rjson_full_suite(ctx, sr));
	rjson_set(ctx, alts, "suites", suites);
	if (summary)
		rjson_set(ctx, alts, "summary", summary);
	rjson_set(ctx, doc, "alts", alts);
	return doc;
}

static json_t *rjson_run_doc(struct rjson_ctx *ctx, const struct run_result *rr, bool multi)
{
	json_t *doc, *suites;
	size_t i;

	if (!multi && rr->nsuites == 1 && rr->suites[0])
		return rjson_suite_doc(ctx, rr->suites[0], rjson_summary(rr));
	doc = json_object();
	suites = json_array();
	rjson_set(ctx, doc, "api_version", json_string(RJSON_API_VERSION));
	for (i = 0; i < rr->nsuites; i++)
		if (rr->suites[i])
			rjson_push(ctx, suites, rjson_suite_doc(ctx, rr->suites[i], NULL));
	rjson_set(ctx, doc, "suites", suites);
	rjson_set(ctx, doc, "summary", rjson_summary(rr));
	return doc;
}

static int rjson_run_end(struct reporter *r, const struct run_result *rr, struct alts_err *err)
{
	struct rjson_priv *jp = r->priv;
	struct rjson_ctx ctx = { reporter_output_cap(r), false };
	bool multi = jp->started ? jp->planned != 1 : rr->nsuites != 1;
	FILE *out = jp->out;
	json_t *doc;
	int rc = 0;

	jp->out = NULL;
	doc = rjson_run_doc(&ctx, rr, multi);
	if (!doc || ctx.oom) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory writing '%s'", jp->path);
		reporter_close_out(out, jp->path, NULL);
		goto out;
	}
	json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	fputc('\n', out);
	rc = reporter_close_out(out, jp->path, err);
out:
	json_decref(doc);
	return rc;
}

static void rjson_destroy(struct reporter *r)
{
	struct rjson_priv *jp = r->priv;

	if (jp && jp->out)
		reporter_close_out(jp->out, jp->path, NULL);
}

const struct reporter_ops reporter_json_ops = {
	.name = "json",
	.abi = REPORTER_ABI,
	.priv_size = sizeof(struct rjson_priv),
	.open = rjson_open,
	.run_start = rjson_run_start,
	.run_end = rjson_run_end,
	.destroy = rjson_destroy,
};
