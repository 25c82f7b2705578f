#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <math.h>

/*
 * TAP 13 (default) or 14. A suite's part is written at suite_end, so
 * suites that finish in parallel never interleave. One suite: its checks
 * are the top-level test points. Several: each suite is a test point and
 * its checks a subtest. Checks with parts get a subtest of their own.
 */

struct tap_priv {
	FILE *out;
	int version;
	size_t cap;       /* output bytes embedded per check */
	bool multi;       /* one test point per suite */
	bool started;     /* version line written */
	bool plan_at_end; /* run_start never came: plan after the points */
	bool bailed;
	size_t next;      /* number of the last top-level point */
};

static int tap_open(struct reporter *r, struct alts_err *err)
{
	struct tap_priv *tp = r->priv;

	tp->version = r->opts.tap_version ? r->opts.tap_version : 13;
	if (tp->version != 13 && tp->version != 14)
		return alts_err_set(err, ALTS_EINVALID, "unsupported TAP version %d (use 13 or 14)",
				    r->opts.tap_version);
	tp->cap = reporter_output_cap(r);
	tp->out = reporter_open_out(r, "-", err);
	return tp->out ? 0 : ALTS_ERROR;
}

static void tap_write(struct tap_priv *tp, struct sbuf *sb)
{
	if (!sbuf_ok(sb)) {
		sbuf_reset(sb);
		sbuf_adds(sb, "# alts: out of memory while formatting this part\n");
	}
	fwrite(sb->buf, 1, sb->len, tp->out);
	fflush(tp->out);
}

static void tap_header(struct tap_priv *tp, struct sbuf *sb)
{
	sbuf_addf(sb, "TAP version %d\n", tp->version);
	tp->started = true;
}

static void tap_run_start(struct reporter *r, const struct run_info *info)
{
	struct tap_priv *tp = r->priv;
	struct sbuf sb = SBUF_INIT;
	size_t i, plan = 0;

	tp->multi = info->nsuites > 1;
	for (i = 0; i < info->nsuites; i++)
		plan += tp->multi ? 1 : info->suites[i]->nchecks;
	tap_header(tp, &sb);
	sbuf_addf(&sb, "1..%zu\n", plan);
	tap_write(tp, &sb);
	sbuf_release(&sb);
}

static bool tap_drop_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfeff || cp == 0xfffe ||
	       cp == 0xffff;
}

/*
 * Appends s as valid UTF-8 without ANSI escapes or control characters.
 * multiline keeps tabs and newlines (CR LF and lone CR become LF); else
 * they become spaces, so the text fits on one TAP line.
 */
static void tap_clean(struct sbuf *sb, const char *s, bool multiline)
{
	size_t n = strlen(s), i = 0;
	uint32_t cp;

	while (i < n) {
		if (s[i] == '\033') {
			i += reporter_ansi_len(s + i, n - i);
			continue;
		}
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		i += reporter_utf8_next(s + i, n - i, &cp);
		if (cp == '\n' || cp == '\r' || cp == '\t')
			sbuf_addch(sb, multiline ? (cp == '\t' ? '\t' : '\n') : ' ');
		else if (!tap_drop_char(cp))
			reporter_add_utf8(sb, cp);
	}
}

static void tap_indent(struct sbuf *sb, int depth)
{
	sbuf_addf(sb, "%*s", depth * 4, "");
}

/* A test point description: one line, with \ and # escaped (TAP 14; TAP::Parser reads it too). */
static void tap_add_desc(struct sbuf *sb, const char *name)
{
	struct sbuf clean = SBUF_INIT;
	size_t i;

	tap_clean(&clean, name, false);
	for (i = 0; i < clean.len; i++) {
		if (clean.buf[i] == '\\' || clean.buf[i] == '#')
			sbuf_addch(sb, '\\');
		sbuf_addch(sb, clean.buf[i]);
	}
	if (!sbuf_ok(&clean))
		sb->oom = true;
	sbuf_release(&clean);
}

static void tap_add_point(struct sbuf *sb, int depth, bool ok, size_t num, const char *name,
			  const char *directive, const char *reason)
{
	tap_indent(sb, depth);
	sbuf_addf(sb, "%s %zu", ok ? "ok" : "not ok", num);
	if (name && *name) {
		sbuf_adds(sb, " - ");
		tap_add_desc(sb, name);
	}
	if (directive) {
		sbuf_addf(sb, " # %s", directive);
		if (reason && *reason) {
			sbuf_addch(sb, ' ');
			tap_clean(sb, reason, false);
		}
	}
	sbuf_addch(sb, '\n');
}

/* Lines of a YAML diagnostic block sit 2 spaces under their test point. */
static void tap_yaml_key(struct sbuf *sb, int depth, const char *key)
{
	tap_indent(sb, depth);
	sbuf_addf(sb, "  %s:", key);
}

/* A double-quoted scalar: the one form both TAP::Parser's YAMLish and full YAML read alike. */
static void tap_yaml_quoted(struct sbuf *sb, const char *text)
{
	struct sbuf clean = SBUF_INIT;
	size_t i;

	tap_clean(&clean, text, true);
	sbuf_addch(sb, '"');
	for (i = 0; i < clean.len; i++) {
		char c = clean.buf[i];

		if (c == '\n')
			sbuf_adds(sb, "\\n");
		else if (c == '\t')
			sbuf_adds(sb, "\\t");
		else if (c == '"' || c == '\\')
			sbuf_addf(sb, "\\%c", c);
		else
			sbuf_addch(sb, c);
	}
	sbuf_addch(sb, '"');
	if (!sbuf_ok(&clean))
		sb->oom = true;
	sbuf_release(&clean);
}

static void tap_yaml_str(struct sbuf *sb, int depth, const char *key, const char *value)
{
	if (!value)
		return;
	tap_yaml_key(sb, depth, key);
	sbuf_addch(sb, ' ');
	tap_yaml_quoted(sb, value);
	sbuf_addch(sb, '\n');
}

static void tap_yaml_long(struct sbuf *sb, int depth, const char *key, long long value)
{
	tap_yaml_key(sb, depth, key);
	sbuf_addf(sb, " %lld\n", value);
}

static void tap_yaml_bool(struct sbuf *sb, int depth, const char *key, bool value)
{
	tap_yaml_key(sb, depth, key);
	sbuf_addf(sb, " %s\n", value ? "true" : "false");
}

static long long tap_ms(double seconds)
{
	return isfinite(seconds) && seconds > 0 ? (long long)(seconds * 1000.0 + 0.5) : 0;
}

/*
 * Output as a literal block: every line indented (blank ones too, or
 * TAP::Parser ends the block there), so "...", "---" or "Bail out!" in
 * it stay content. A first line starting with a blank would set a deeper
 * indentation that later lines break, and YAMLish has no indentation
 * indicator, so such text is written double-quoted instead.
 */
static void tap_yaml_block(struct sbuf *sb, int depth, const char *key, const char *text)
{
	struct sbuf clean = SBUF_INIT;
	const char *line, *end;

	tap_clean(&clean, text, true);
	while (clean.len && clean.buf[clean.len - 1] == '\n')
		clean.buf[--clean.len] = '\0';
	if (!clean.len)
		goto out;
	if (clean.buf[0] == ' ' || clean.buf[0] == '\t') {
		tap_yaml_str(sb, depth, key, clean.buf);
		goto out;
	}
	tap_yaml_key(sb, depth, key);
	sbuf_adds(sb, " |\n");
	for (line = clean.buf; line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		tap_indent(sb, depth);
		sbuf_adds(sb, "    ");
		sbuf_add(sb, line, end ? (size_t)(end - line) : strlen(line));
		sbuf_addch(sb, '\n');
	}
out:
	if (!sbuf_ok(&clean))
		sb->oom = true;
	sbuf_release(&clean);
}

static void tap_yaml_output(struct sbuf *sb, int depth, const char *output, size_t before, size_t cap)
{
	size_t omitted;
	const char *tail;

	if (!output || !*output)
		return;
	tail = reporter_tail(output, cap, before, &omitted);
	if (omitted)
		tap_yaml_long(sb, depth, "output_omitted_bytes", (long long)omitted);
	tap_yaml_block(sb, depth, "output", tail);
}

static void tap_yaml_begin(struct sbuf *sb, int depth)
{
	tap_indent(sb, depth);
	sbuf_adds(sb, "  ---\n");
}

static void tap_yaml_end(struct sbuf *sb, int depth)
{
	tap_indent(sb, depth);
	sbuf_adds(sb, "  ...\n");
}

/* How a status reads in TAP: ok or not, and the directive if any. */
static bool tap_status_ok(enum check_status s, const char **directive)
{
	*directive = NULL;
	switch (s) {
	case CHECK_PASS:
		return true;
	case CHECK_SKIP:
		*directive = "SKIP";
		return true;
	case CHECK_XFAIL:
		*directive = "TODO expected failure:";
		return false;
	default:
		return false;
	}
}

static void tap_add_subtest(struct sbuf *sb, const struct tap_priv *tp, int depth,
			    const char *name, const struct check_sub *subs, size_t nsubs);

static void tap_add_sub(struct sbuf *sb, const struct tap_priv *tp, int depth, size_t num,
			const struct check_sub *sub)
{
	const char *directive, *reason = reporter_sub_reason(sub);
	bool ok = tap_status_ok(sub->status, &directive);

	if (sub->nsubs)
		tap_add_subtest(sb, tp, depth, sub->name, sub->subs, sub->nsubs);
	tap_add_point(sb, depth, ok, num, sub->name, directive, directive ? reason : NULL);
	if (!*reason && !(sub->output && *sub->output))
		return;
	tap_yaml_begin(sb, depth);
	tap_yaml_long(sb, depth, "duration_ms", tap_ms(sub->duration));
	if (*reason)
		tap_yaml_str(sb, depth, "message", reason);
	tap_yaml_output(sb, depth, sub->output, 0, tp->cap);
	tap_yaml_end(sb, depth);
}

/*
 * Parts go before their parent's test point, 4 spaces deeper, with their
 * own plan. TAP 13 puts "# Subtest" at the child's indentation (as
 * Test::More does), TAP 14 at the parent's.
 */
static void tap_add_subtest_head(struct sbuf *sb, const struct tap_priv *tp, int depth, const char *name,
				 size_t plan)
{
	tap_indent(sb, tp->version == 13 ? depth + 1 : depth);
	sbuf_adds(sb, "# Subtest: ");
	tap_clean(sb, name, false);
	sbuf_addch(sb, '\n');
	tap_indent(sb, depth + 1);
	sbuf_addf(sb, "1..%zu\n", plan);
}

static void tap_add_subtest(struct sbuf *sb, const struct tap_priv *tp, int depth,
			    const char *name, const struct check_sub *subs, size_t nsubs)
{
	size_t i;

	tap_add_subtest_head(sb, tp, depth, name, nsubs);
	for (i = 0; i < nsubs; i++)
		tap_add_sub(sb, tp, depth + 1, i + 1, &subs[i]);
}

static void tap_add_check(struct sbuf *sb, const struct tap_priv *tp, int depth, size_t num,
			  const struct check_result *cr)
{
	char buf[128];
	const char *directive, *reason = reporter_check_reason(cr, buf, sizeof(buf));
	bool ok = tap_status_ok(cr->status, &directive);

	if (cr->nsubs)
		tap_add_subtest(sb, tp, depth, cr->name, cr->subs, cr->nsubs);
	tap_add_point(sb, depth, ok, num, cr->name, directive, directive ? reason : NULL);
	tap_yaml_begin(sb, depth);
	tap_yaml_long(sb, depth, "duration_ms", tap_ms(cr->duration));
	if (cr->exit_code >= 0)
		tap_yaml_long(sb, depth, "exit_code", cr->exit_code);
	if (cr->term_signal > 0)
		tap_yaml_long(sb, depth, "signal", cr->term_signal);
	tap_yaml_bool(sb, depth, "timed_out", cr->timed_out);
	if (*reason)
		tap_yaml_str(sb, depth, "message", reason);
	tap_yaml_str(sb, depth, "log", cr->log_path ? cr->log_path : cr->log_name);
	tap_yaml_output(sb, depth, cr->output, cr->output_omitted, tp->cap);
	tap_yaml_end(sb, depth);
}

static void tap_add_suite_checks(struct sbuf *sb, const struct tap_priv *tp, int depth,
				 const struct suite_result *sr)
{
	size_t i;

	for (i = 0; i < sr->nchecks; i++)
		tap_add_check(sb, tp, depth, i + 1, &sr->checks[i]);
}

static const char *tap_suite_name(const struct suite_result *sr)
{
	if (sr->suite && sr->suite->name)
		return sr->suite->name;
	if (sr->suite && sr->suite->path)
		return sr->suite->path;
	return "suite";
}

static void tap_add_dist(struct sbuf *sb, int depth, const struct suite_result *sr)
{
	struct sbuf dist = SBUF_INIT;

	if (!sr->dist_name)
		return;
	sbuf_adds(&dist, sr->dist_name);
	if (sr->dist_version)
		sbuf_addf(&dist, " %s", sr->dist_version);
	if (sr->dist_arch)
		sbuf_addf(&dist, " %s", sr->dist_arch);
	tap_yaml_str(sb, depth, "dist", dist.buf);
	sbuf_release(&dist);
}

/* Several suites: a bail out cannot stop the others, so it is told here. */
static void tap_add_bail_out_diag(struct sbuf *sb, const char *reason)
{
	struct sbuf msg = SBUF_INIT;

	sbuf_addf(&msg, "bail out: %s", reason);
	tap_yaml_str(sb, 0, "message", msg.buf);
	tap_yaml_str(sb, 0, "bail_out", reason);
	if (!sbuf_ok(&msg))
		sb->oom = true;
	sbuf_release(&msg);
}

/* Several suites: the suite is one test point, its checks a subtest. */
static void tap_add_suite_point(struct sbuf *sb, const struct tap_priv *tp, size_t num,
				const struct suite_result *sr)
{
	const char *name = tap_suite_name(sr);
	bool ok = !sr->failed && !sr->errors && !sr->bail_out;

	tap_add_subtest_head(sb, tp, 0, name, sr->nchecks);
	tap_add_suite_checks(sb, tp, 1, sr);
	tap_add_point(sb, 0, ok, num, name, NULL, NULL);
	tap_yaml_begin(sb, 0);
	tap_yaml_long(sb, 0, "duration_ms", tap_ms(sr->duration));
	tap_yaml_str(sb, 0, "path", sr->suite ? sr->suite->path : NULL);
	tap_yaml_str(sb, 0, "runner", sr->runner);
	tap_add_dist(sb, 0, sr);
	tap_yaml_long(sb, 0, "passed", (long long)sr->passed);
	tap_yaml_long(sb, 0, "failed", (long long)sr->failed);
	tap_yaml_long(sb, 0, "skipped", (long long)sr->skipped);
	tap_yaml_long(sb, 0, "errors", (long long)sr->errors);
	if (sr->bail_out)
		tap_add_bail_out_diag(sb, sr->bail_out);
	tap_yaml_end(sb, 0);
}

static void tap_suite_end(struct reporter *r, const struct suite_result *sr)
{
	struct tap_priv *tp = r->priv;
	struct sbuf sb = SBUF_INIT;

	if (tp->bailed)
		return;
	if (!tp->started) {
		tap_header(tp, &sb);
		tp->plan_at_end = true;
	}
	if (tp->multi) {
		tap_add_suite_point(&sb, tp, ++tp->next, sr);
	} else {
		tap_add_suite_checks(&sb, tp, 0, sr);
		tp->next += sr->nchecks;
		if (sr->bail_out) {
			sbuf_adds(&sb, "Bail out! ");
			tap_clean(&sb, sr->bail_out, false);
			sbuf_addch(&sb, '\n');
			tp->bailed = true;
		}
	}
	tap_write(tp, &sb);
	sbuf_release(&sb);
}

static int tap_run_end(struct reporter *r, const struct run_result *rr, struct alts_err *err)
{
	struct tap_priv *tp = r->priv;
	FILE *out = tp->out;

	ALTS_UNUSED(rr);
	if (tp->plan_at_end && !tp->bailed)
		fprintf(out, "1..%zu\n", tp->next);
	tp->out = NULL;
	return reporter_close_out(out, r->opts.path, err);
}

static void tap_destroy(struct reporter *r)
{
	struct tap_priv *tp = r->priv;

	if (tp && tp->out)
		reporter_close_out(tp->out, r->opts.path, NULL);
}

const struct reporter_ops reporter_tap_ops = {
	.name = "tap",
	.abi = REPORTER_ABI,
	.priv_size = sizeof(struct tap_priv),
	.open = tap_open,
	.run_start = tap_run_start,
	.suite_end = tap_suite_end,
	.run_end = tap_run_end,
	.destroy = tap_destroy,
};
