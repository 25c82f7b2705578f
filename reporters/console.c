#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <math.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * Human output, one line per check as it ends. The closing line is
 * "N passed, N failed, N skipped" alone, the shape CI log readers parse;
 * errors get a line of their own so that shape never changes.
 */

#define CONSOLE_LINE_MAX 4096  /* a partial output line longer than this is printed as is */

/* Output of a check not yet ended by a newline, per suite: suites run in parallel. */
struct console_partial {
	const struct suite *suite;
	struct sbuf line;
};

/* A suite running now, for the live status line. */
struct console_running {
	const struct suite *suite;
	const char *check;  /* the check it is in, borrowed from the suite; NULL between checks */
};

struct console_priv {
	FILE *out;
	/* The live status line (opts.live): "[3/10 done] running: a (install), b (launch)". */
	struct console_running *running;
	size_t nrunning, nsuites, ndone;
	bool status_shown;
	bool multi;
	int name_width;   /* check name column, over every suite; 0: per suite */
	int suite_width;  /* suite name prefix column with several suites */
	struct console_partial *partials;
	size_t npartials;
};

static const char *const console_words[] = {
	[CHECK_PASS] = "PASS",   [CHECK_FAIL] = "FAIL",   [CHECK_SKIP] = "SKIP",
	[CHECK_ERROR] = "ERROR", [CHECK_XFAIL] = "XFAIL", [CHECK_XPASS] = "XPASS",
};

static const char *const console_colors[] = {
	[CHECK_PASS] = "\033[32m",  [CHECK_FAIL] = "\033[31m",  [CHECK_SKIP] = "\033[33m",
	[CHECK_ERROR] = "\033[31m", [CHECK_XFAIL] = "\033[36m", [CHECK_XPASS] = "\033[31m",
};

static int console_open(struct reporter *r, struct alts_err *err)
{
	struct console_priv *cp = r->priv;

	cp->out = reporter_open_out(r, "-", err);
	return cp->out ? 0 : ALTS_ERROR;
}

/* Appends s on one line, without control characters or escape sequences from check output. */
static void console_clean(struct sbuf *sb, const char *s, size_t n)
{
	size_t i = 0;
	uint32_t c;

	while (i < n) {
		if (s[i] == '\033') {
			i += reporter_ansi_len(s + i, n - i);
			continue;
		}
		i += reporter_utf8_next(s + i, n - i, &c);
		if (c == '\t' || c == '\n' || c == '\r')
			sbuf_addch(sb, ' ');
		else if (c >= 0x20 && !(c >= 0x7f && c <= 0x9f))
			reporter_add_utf8(sb, c);
	}
}

static void console_cleans(struct sbuf *sb, const char *s)
{
	if (s)
		console_clean(sb, s, strlen(s));
}

/* The name padded to width columns, counting characters rather than bytes. */
static void console_add_name(struct sbuf *sb, const char *name, int width)
{
	size_t start = sb->len, i;
	int cols = 0;

	console_cleans(sb, name);
	for (i = start; i < sb->len; i++)
		if (((unsigned char)sb->buf[i] & 0xc0) != 0x80)
			cols++;
	if (cols < width)
		sbuf_addf(sb, "%*s", width - cols, "");
}

static const char *console_suite_name(const struct suite *s)
{
	if (s && s->name)
		return s->name;
	if (s && s->path)
		return s->path;
	return "suite";
}

static int console_columns(FILE *out)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	char *end;
	long n;

	if (!ioctl(fileno(out), TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	n = env ? strtol(env, &end, 10) : 0;
	return env && *env && !*end && n >= 20 && n <= 1000 ? (int)n : 80;
}

static void console_status_clear(struct console_priv *cp)
{
	if (cp->status_shown) {
		fputs("\r\033[K", cp->out);
		cp->status_shown = false;
	}
}

/* Redraws the status line, cut to the terminal's width (without wrapping). */
static void console_status_draw(struct console_priv *cp)
{
	struct sbuf sb = SBUF_INIT;
	int cols;

	if (!cp->running || !cp->nrunning)
		return;
	cols = console_columns(cp->out);
	sbuf_addf(&sb, "[%zu/%zu done] running:", cp->ndone, cp->nsuites);
	for (size_t i = 0; i < cp->nrunning; i++) {
		sbuf_adds(&sb, i ? ", " : " ");
		console_cleans(&sb, console_suite_name(cp->running[i].suite));
		if (cp->running[i].check) {
			sbuf_adds(&sb, " (");
			console_cleans(&sb, cp->running[i].check);
			sbuf_addch(&sb, ')');
		}
	}
	if (sb.len >= (size_t)cols) {
		fwrite(sb.buf, 1, (size_t)cols - 4, cp->out);
		fputs("...", cp->out);
	} else {
		fwrite(sb.buf, 1, sb.len, cp->out);
	}
	fflush(cp->out);
	cp->status_shown = true;
	sbuf_release(&sb);
}

static void console_flush(struct console_priv *cp, struct sbuf *sb)
{
	console_status_clear(cp);
	fwrite(sb->buf, 1, sb->len, cp->out);
	console_status_draw(cp);
	fflush(cp->out);
}

static struct console_running *console_running_find(struct console_priv *cp, const struct suite *s)
{
	for (size_t i = 0; i < cp->nrunning; i++)
		if (cp->running[i].suite == s)
			return &cp->running[i];
	return NULL;
}

static int console_clamp(size_t w, int lo, int hi)
{
	return w < (size_t)lo ? lo : w > (size_t)hi ? hi : (int)w;
}

/* Column widths from every suite, so checks of different suites line up. */
static void console_run_start(struct reporter *r, const struct run_info *info)
{
	struct console_priv *cp = r->priv;
	size_t i, j, names = 0, suites = 0;

	cp->multi = info->nsuites > 1;
	for (i = 0; i < info->nsuites; i++) {
		const struct suite *s = info->suites[i];

		if (strlen(console_suite_name(s)) > suites)
			suites = strlen(console_suite_name(s));
		for (j = 0; j < s->nchecks; j++)
			if (s->checks[j].name && strlen(s->checks[j].name) > names)
				names = strlen(s->checks[j].name);
	}
	cp->name_width = console_clamp(names, 16, 40);
	cp->suite_width = console_clamp(suites, 1, 24);
	cp->nsuites = info->nsuites;
	if (r->opts.live && info->nsuites > 1)
		cp->running = alts_calloc(info->nsuites, sizeof(*cp->running));
}

static void console_suite_start(struct reporter *r, const struct suite *s)
{
	struct console_priv *cp = r->priv;
	const struct suite_environment *env = &s->env;
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "suite ");
	console_cleans(&sb, console_suite_name(s));
	sbuf_adds(&sb, " (");
	console_cleans(&sb, env->runner ? env->runner : "local");
	if (env->dist_name) {
		sbuf_adds(&sb, ", ");
		console_cleans(&sb, env->dist_name);
		if (env->dist_version) {
			sbuf_addch(&sb, ' ');
			console_cleans(&sb, env->dist_version);
		}
	}
	sbuf_adds(&sb, ")\n");
	if (cp->running && cp->nrunning < cp->nsuites) {
		cp->running[cp->nrunning].suite = s;
		cp->running[cp->nrunning++].check = NULL;
	}
	console_flush(cp, &sb);
	sbuf_release(&sb);
}

static void console_check_start(struct reporter *r, const struct suite *s, const struct suite_check *c)
{
	struct console_priv *cp = r->priv;
	struct console_running *run = console_running_find(cp, s);

	if (!run)
		return;
	run->check = c->name;
	console_status_clear(cp);
	console_status_draw(cp);
}

static struct console_partial *console_partial(struct console_priv *cp, const struct suite *s, bool create)
{
	struct console_partial *v;
	size_t i;

	for (i = 0; i < cp->npartials; i++)
		if (cp->partials[i].suite == s)
			return &cp->partials[i];
	if (!create)
		return NULL;
	v = alts_reallocarray(cp->partials, cp->npartials + 1, sizeof(*v));
	if (!v)
		return NULL;
	cp->partials = v;
	v[cp->npartials].suite = s;
	sbuf_init(&v[cp->npartials].line, 0);
	return &v[cp->npartials++];
}

static void console_output_prefix(struct sbuf *sb, const struct console_priv *cp, const struct suite *s)
{
	if (cp->multi) {
		console_add_name(sb, console_suite_name(s), cp->suite_width);
		sbuf_addch(sb, ' ');
	}
	sbuf_adds(sb, "    | ");
}

static void console_output_line(struct console_priv *cp, struct sbuf *sb, const struct suite *s,
				const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	console_output_prefix(sb, cp, s);
	console_clean(sb, line, len);
	sbuf_addch(sb, '\n');
}

/* Prints whatever is left of a suite's partial line. */
static void console_output_drain(struct console_priv *cp, const struct suite *s)
{
	struct console_partial *p = console_partial(cp, s, false);
	struct sbuf sb = SBUF_INIT;

	if (!p || !p->line.len)
		return;
	console_output_line(cp, &sb, s, p->line.buf, p->line.len);
	sbuf_reset(&p->line);
	console_flush(cp, &sb);
	sbuf_release(&sb);
}

static void console_check_output(struct reporter *r, const struct suite *s, const struct suite_check *c,
				 const char *buf, size_t len)
{
	struct console_priv *cp = r->priv;
	struct console_partial *p;
	struct sbuf sb = SBUF_INIT;
	const char *nl;

	ALTS_UNUSED(c);
	if (!r->opts.verbose || !(p = console_partial(cp, s, true)))
		return;
	while (len && (nl = memchr(buf, '\n', len))) {
		size_t n = (size_t)(nl - buf);

		sbuf_add(&p->line, buf, n);
		console_output_line(cp, &sb, s, p->line.buf, p->line.len);
		sbuf_reset(&p->line);
		len -= n + 1;
		buf = nl + 1;
	}
	sbuf_add(&p->line, buf, len);
	if (p->line.len > CONSOLE_LINE_MAX) {
		console_output_line(cp, &sb, s, p->line.buf, p->line.len);
		sbuf_reset(&p->line);
	}
	console_flush(cp, &sb);
	sbuf_release(&sb);
}

static const char *console_word(enum check_status st)
{
	return (size_t)st < ALTS_ARRAY_SIZE(console_words) ? console_words[st] : "?";
}

static void console_status(struct sbuf *sb, bool color, enum check_status st)
{
	const char *word = console_word(st);

	if (color && (size_t)st < ALTS_ARRAY_SIZE(console_colors))
		sbuf_addf(sb, "%s%s\033[0m%*s", console_colors[st], word, (int)(5 - strlen(word)), "");
	else
		sbuf_addf(sb, "%-5s", word);
}

/* Name column width: from run_start, else the longest check name of the suite. */
static int console_name_width(const struct console_priv *cp, const struct suite_result *sr)
{
	size_t i, w = 0;

	if (cp->name_width)
		return cp->name_width;
	for (i = 0; i < sr->nchecks; i++)
		if (sr->checks[i].name && strlen(sr->checks[i].name) > w)
			w = strlen(sr->checks[i].name);
	return console_clamp(w, 16, 40);
}

static void console_detail(struct sbuf *sb, int indent, const char *label, const char *text)
{
	if (!text || !*text)
		return;
	sbuf_addf(sb, "%*s", indent, "");
	if (label)
		sbuf_addf(sb, "%s", label);
	console_cleans(sb, text);
	sbuf_addch(sb, '\n');
}

/* Parts that failed, so a red line says which of its parts broke. */
static void console_failed_subs(struct sbuf *sb, const struct check_sub *subs, size_t n, int indent)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sbuf line = SBUF_INIT;

		if (!check_status_is_failure(subs[i].status))
			continue;
		sbuf_addf(&line, "- %s %s", console_word(subs[i].status), subs[i].name ? subs[i].name : "");
		if (*reporter_sub_reason(&subs[i]))
			sbuf_addf(&line, ": %s", reporter_sub_reason(&subs[i]));
		console_detail(sb, indent, NULL, line.buf);
		sbuf_release(&line);
		console_failed_subs(sb, subs[i].subs, subs[i].nsubs, indent + 2);
	}
}

static void console_check_end(struct reporter *r, const struct suite_result *sr, const struct check_result *cr)
{
	struct console_priv *cp = r->priv;
	struct sbuf sb = SBUF_INIT;
	char buf[128];
	const char *reason = reporter_check_reason(cr, buf, sizeof(buf));
	int width = console_name_width(cp, sr);

	console_output_drain(cp, sr->suite);
	if (cp->multi) {
		console_add_name(&sb, console_suite_name(sr->suite), cp->suite_width);
		sbuf_addch(&sb, ' ');
	}
	sbuf_adds(&sb, "  ");
	console_status(&sb, r->opts.color, cr->status);
	sbuf_adds(&sb, "  ");
	console_add_name(&sb, cr->name ? cr->name : reporter_check_type(cr), width);
	sbuf_addf(&sb, " %.2fs\n", isfinite(cr->duration) ? cr->duration : 0.0);
	if (cr->status != CHECK_PASS)
		console_detail(&sb, 8, NULL, reason);
	if (check_status_is_failure(cr->status)) {
		console_failed_subs(&sb, cr->subs, cr->nsubs, 8);
		console_detail(&sb, 8, "log: ", cr->log_path ? cr->log_path : cr->log_name);
	}
	console_flush(cp, &sb);
	sbuf_release(&sb);
}

static void console_suite_end(struct reporter *r, const struct suite_result *sr)
{
	struct console_priv *cp = r->priv;
	struct sbuf sb = SBUF_INIT;

	console_output_drain(cp, sr->suite);
	if (sr->bail_out)
		console_detail(&sb, 2, "bail out: ", sr->bail_out);
	sbuf_adds(&sb, "suite ");
	console_cleans(&sb, console_suite_name(sr->suite));
	sbuf_addf(&sb, " finished in %.2fs: %zu passed, %zu failed, %zu skipped, %zu errors\n",
		  isfinite(sr->duration) ? sr->duration : 0.0, sr->passed, sr->failed, sr->skipped,
		  sr->errors);
	{
		struct console_running *run = console_running_find(cp, sr->suite);

		if (run) {
			*run = cp->running[--cp->nrunning];
			cp->ndone++;
		}
	}
	console_flush(cp, &sb);
	sbuf_release(&sb);
}

static int console_run_end(struct reporter *r, const struct run_result *rr, struct alts_err *err)
{
	struct console_priv *cp = r->priv;
	FILE *out = cp->out;

	console_status_clear(cp);
	fprintf(out, "total time %.2fs, %zu suite%s\n", isfinite(rr->duration) ? rr->duration : 0.0,
		rr->nsuites, rr->nsuites == 1 ? "" : "s");
	if (rr->errors)
		fprintf(out, "%zu error%s\n", rr->errors, rr->errors == 1 ? "" : "s");
	fprintf(out, "%zu passed, %zu failed, %zu skipped\n", rr->passed, rr->failed, rr->skipped);
	cp->out = NULL;
	return reporter_close_out(out, r->opts.path, err);
}

static void console_destroy(struct reporter *r)
{
	struct console_priv *cp = r->priv;
	size_t i;

	if (!cp)
		return;
	for (i = 0; i < cp->npartials; i++)
		sbuf_release(&cp->partials[i].line);
	alts_free(cp->partials);
	alts_free(cp->running);
	if (cp->out)
		reporter_close_out(cp->out, r->opts.path, NULL);
}

const struct reporter_ops reporter_console_ops = {
	.name = "console",
	.abi = REPORTER_ABI,
	.priv_size = sizeof(struct console_priv),
	.open = console_open,
	.run_start = console_run_start,
	.suite_start = console_suite_start,
	.check_start = console_check_start,
	.check_output = console_check_output,
	.check_end = console_check_end,
	.suite_end = console_suite_end,
	.run_end = console_run_end,
	.destroy = console_destroy,
};
