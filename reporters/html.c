#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <math.h>
#include <unistd.h>

/*
 * One self-contained HTML page for people: a summary line, an overview
 * table of suites with one coloured chip per check, and per suite a table
 * of its checks (status as colour and text, duration, message) with the
 * output tail in a <details> element. CSS and a little JS are inline; a
 * Content-Security-Policy forbids loading anything else, so the page is
 * the same offline, attached to a CI job or mailed. Written whole at
 * run_end; the file is opened at open so a bad path fails early.
 */

struct html_priv {
	FILE *out;
	const char *path;
};

#define HTML_DEFAULT_PATH "report.html"

static int html_open(struct reporter *r, struct alts_err *err)
{
	struct html_priv *hp = r->priv;

	hp->path = r->opts.path ? r->opts.path : HTML_DEFAULT_PATH;
	hp->out = reporter_open_out(r, HTML_DEFAULT_PATH, err);
	return hp->out ? 0 : ALTS_ERROR;
}

/*
 * Characters kept in text: tab, LF and everything printable. Other C0
 * controls, DEL, C1 controls and noncharacters are parse errors in HTML,
 * so they are dropped.
 */
static bool html_char_allowed(uint32_t cp)
{
	if (cp == '\t' || cp == '\n')
		return true;
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return false;
	if (cp >= 0xfdd0 && cp <= 0xfdef)
		return false;
	return (cp & 0xfffe) != 0xfffe;
}

/*
 * Appends n bytes of s escaped for HTML text and attribute values:
 * & < > " ' become references, invalid UTF-8 becomes U+FFFD, CR LF and
 * lone CR become LF, ANSI escape sequences and disallowed characters go.
 */
static void html_escape_n(struct sbuf *sb, const char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		if (s[i] == '\033') {
			i += reporter_ansi_len(s + i, n - i);
			continue;
		}
		if (s[i] == '\r') {
			i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
			sbuf_addch(sb, '\n');
			continue;
		}
		i += reporter_utf8_next(s + i, n - i, &cp);
		switch (cp) {
		case '&': sbuf_adds(sb, "&amp;"); break;
		case '<': sbuf_adds(sb, "&lt;"); break;
		case '>': sbuf_adds(sb, "&gt;"); break;
		case '"': sbuf_adds(sb, "&quot;"); break;
		case '\'': sbuf_adds(sb, "&#39;"); break;
		default:
			if (html_char_allowed(cp))
				reporter_add_utf8(sb, cp);
			break;
		}
	}
}

static void html_escape(struct sbuf *sb, const char *s)
{
	if (s)
		html_escape_n(sb, s, strlen(s));
}

/* The CSS class and label of a status: class "fail", label "FAIL". */
static const char *html_status_label(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return "PASS";
	case CHECK_FAIL: return "FAIL";
	case CHECK_SKIP: return "SKIP";
	case CHECK_ERROR: return "ERROR";
	case CHECK_XFAIL: return "XFAIL";
	case CHECK_XPASS: return "XPASS";
	}
	return "?";
}

static void html_badge(struct sbuf *sb, const char *cls, const char *label)
{
	sbuf_addf(sb, "<span class=\"badge %s\">%s</span>", cls, label);
}

static void html_duration(struct sbuf *sb, double seconds)
{
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	if (seconds < 60) {
		sbuf_addf(sb, "%.2fs", seconds);
		return;
	}
	if (seconds > 1e9)
		seconds = 1e9;
	sbuf_addf(sb, "%ldm %02lds", (long)seconds / 60, (long)seconds % 60);
}

enum html_verdict { HTML_PASSED, HTML_FAILED, HTML_ERROR };

static enum html_verdict html_suite_verdict(const struct suite_result *sr)
{
	if (sr->errors || sr->bail_out)
		return HTML_ERROR;
	return sr->failed ? HTML_FAILED : HTML_PASSED;
}

static const char *const html_verdict_class[] = { "pass", "fail", "error" };
static const char *const html_verdict_label[] = { "PASSED", "FAILED", "ERROR" };

static const char *html_suite_name(const struct suite_result *sr)
{
	if (sr->suite && sr->suite->name)
		return sr->suite->name;
	if (sr->suite && sr->suite->path)
		return sr->suite->path;
	return "suite";
}

/* "debian 12 x86_64", or what of it is known; nothing when none is. */
static void html_dist(struct sbuf *sb, const struct suite_result *sr)
{
	const char *parts[] = { sr->dist_name, sr->dist_version, sr->dist_arch };
	bool first = true;
	size_t i;

	for (i = 0; i < ALTS_ARRAY_SIZE(parts); i++) {
		if (!parts[i] || !*parts[i])
			continue;
		if (!first)
			sbuf_addch(sb, ' ');
		html_escape(sb, parts[i]);
		first = false;
	}
}

static const char html_style[] =
	"<style>\n"
	":root{--pass:#1a7f37;--fail:#cf222e;--error:#a40e26;--skip:#9a6700;--xfail:#1b7c83;"
	"--xpass:#cf222e;--line:#d0d7de;--muted:#57606a}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 -apple-system,\"Segoe UI\",\"DejaVu Sans\",Helvetica,Arial,sans-serif;"
	"color:#1f2328;background:#f6f8fa}\n"
	"header{padding:16px 24px;background:#fff;border-bottom:4px solid var(--line)}\n"
	"header.pass{border-color:var(--pass)}header.fail{border-color:var(--fail)}"
	"header.error{border-color:var(--error)}\n"
	"h1{margin:0 0 4px;font-size:22px}h2{margin:0 0 6px;font-size:18px}\n"
	"main{padding:16px 24px}\n"
	".summary{margin:4px 0;font-size:16px;font-weight:600}\n"
	".meta,.suite-meta{margin:2px 0;color:var(--muted)}\n"
	"section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;"
	"margin:0 0 16px}\n"
	"section.fail{border-left:6px solid var(--fail)}section.error{border-left:6px solid var(--error)}"
	"section.pass{border-left:6px solid var(--pass)}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}\n"
	"th{font-size:12px;text-transform:uppercase;color:var(--muted)}\n"
	"td.num,td.duration{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	"td.name{min-width:12em;word-break:break-word}\n"
	"td.duration,th.duration{text-align:right}\n"
	"tr.fail,tr.xpass,tr.error{background:#ffebe9}tr.skip{background:#fff8c5}\n"
	"tr.part td{font-size:13px}tr.part td.name{color:#424a53}\n"
	".badge{display:inline-block;min-width:54px;padding:1px 6px;border-radius:10px;color:#fff;"
	"font-size:12px;font-weight:700;text-align:center;letter-spacing:.03em}\n"
	".badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}"
	".badge.error{background:var(--error)}.badge.skip{background:var(--skip)}"
	".badge.xfail{background:var(--xfail)}.badge.xpass{background:var(--xpass)}\n"
	".chips{display:flex;flex-wrap:wrap;gap:3px}\n"
	".chip{display:inline-block;min-width:22px;padding:0 4px;border-radius:3px;color:#fff;"
	"font-size:11px;text-align:center;text-decoration:none}\n"
	".chip.pass{background:var(--pass)}.chip.fail{background:var(--fail)}.chip.error{background:var(--error)}"
	".chip.skip{background:var(--skip)}.chip.xfail{background:var(--xfail)}.chip.xpass{background:var(--xpass)}\n"
	".message{white-space:pre-wrap;word-break:break-word}\n"
	"tr.fail .message,tr.error .message,tr.xpass .message{color:#82071e;font-weight:600}\n"
	".bail{color:var(--error);font-weight:600}\n"
	"details,div.log{margin-top:4px}summary{cursor:pointer;color:var(--muted)}div.log{color:var(--muted)}\n"
	"pre{margin:4px 0 0;padding:8px;max-height:480px;overflow:auto;background:#0d1117;color:#e6edf3;"
	"border-radius:4px;font:12px/1.4 \"DejaVu Sans Mono\",Menlo,Consolas,monospace;white-space:pre-wrap;"
	"word-break:break-all}\n"
	"nav button{margin-right:6px;padding:3px 10px;border:1px solid var(--line);border-radius:4px;"
	"background:#f6f8fa;cursor:pointer}\n"
	"body.only-problems tr.ok{display:none}body.only-problems section.pass{display:none}\n"
	"</style>\n";

static const char html_script[] =
	"<script>\n"
	"(function () {\n"
	"  var body = document.body, nav = document.getElementById('controls');\n"
	"  function logs(open) {\n"
	"    document.querySelectorAll('details.log').forEach(function (d) { d.open = open; });\n"
	"  }\n"
	"  function reveal() {\n"
	"    var t = location.hash && document.getElementById(location.hash.slice(1));\n"
	"    var d = t && t.querySelector('details.log');\n"
	"    if (d) d.open = true;\n"
	"  }\n"
	"  nav.hidden = false;\n"
	"  nav.addEventListener('click', function (e) {\n"
	"    var a = e.target.getAttribute('data-action');\n"
	"    if (a === 'problems') body.classList.add('only-problems');\n"
	"    if (a === 'all') body.classList.remove('only-problems');\n"
	"    if (a === 'expand') logs(true);\n"
	"    if (a === 'collapse') logs(false);\n"
	"  });\n"
	"  window.addEventListener('hashchange', reveal);\n"
	"  reveal();\n"
	"})();\n"
	"</script>\n";

static const char *html_status_class(enum check_status s)
{
	return check_status_name(s);
}

/* "ok" rows are hidden by the "only problems" filter. */
static const char *html_row_kind(enum check_status s)
{
	return check_status_is_failure(s) ? "problem" : "ok";
}

/* The output tail, at most cap bytes, in a <details> element, open when asked. */
static void html_add_output(struct sbuf *sb, const char *output, size_t before, const char *log, bool open,
			    size_t cap)
{
	size_t omitted = 0;
	const char *tail = NULL;

	if (output && *output)
		tail = reporter_tail(output, cap, before, &omitted);
	if (!tail) {
		if (log) {
			sbuf_adds(sb, "<div class=\"log\">no output · log <code>");
			html_escape(sb, log);
			sbuf_adds(sb, "</code></div>");
		}
		return;
	}
	sbuf_adds(sb, open ? "<details class=\"log\" open><summary>" : "<details class=\"log\"><summary>");
	sbuf_addf(sb, "output (%zu bytes%s)", strlen(output) + before, omitted ? ", tail shown" : "");
	if (log) {
		sbuf_adds(sb, " · log <code>");
		html_escape(sb, log);
		sbuf_adds(sb, "</code>");
	}
	sbuf_adds(sb, "</summary><pre>");
	if (omitted)
		sbuf_addf(sb, "[alts: %zu bytes of output omitted]\n", omitted);
	html_escape(sb, tail);
	sbuf_adds(sb, "</pre></details>");
}

/* What a row shows, whether it comes from a check or a part. */
struct html_row {
	const char *id;       /* anchor, or NULL */
	size_t number;        /* 0: none (parts) */
	const char *name;
	const char *type;     /* NULL for parts */
	enum check_status status;
	double duration;
	const char *reason;   /* never NULL */
	const char *output;
	size_t output_omitted;  /* bytes cut before output */
	const char *log;
	size_t depth;         /* 0 for checks */
};

static void html_add_row(struct sbuf *sb, const struct html_row *row, size_t cap)
{
	const char *cls = html_status_class(row->status);

	sbuf_addf(sb, "<tr class=\"%s %s %s\" data-status=\"%s\"", row->depth ? "part" : "check", cls,
		  html_row_kind(row->status), cls);
	if (row->id)
		sbuf_addf(sb, " id=\"%s\"", row->id);
	sbuf_adds(sb, ">");
	if (row->number)
		sbuf_addf(sb, "<td class=\"num\">%zu</td>", row->number);
	else
		sbuf_adds(sb, "<td class=\"num\"></td>");
	if (row->depth)
		sbuf_addf(sb, "<td class=\"name\" style=\"padding-left:%zuem\">", 1 + 2 * row->depth);
	else
		sbuf_adds(sb, "<td class=\"name\">");
	html_escape(sb, row->name);
	sbuf_adds(sb, "</td><td class=\"type\">");
	html_escape(sb, row->type);
	sbuf_adds(sb, "</td><td class=\"status\">");
	html_badge(sb, cls, html_status_label(row->status));
	sbuf_adds(sb, "</td><td class=\"duration\">");
	html_duration(sb, row->duration);
	sbuf_adds(sb, "</td><td class=\"details\">");
	if (*row->reason) {
		sbuf_adds(sb, "<div class=\"message\">");
		if (row->status == CHECK_XFAIL)
			sbuf_adds(sb, "expected failure: ");
		html_escape(sb, row->reason);
		sbuf_adds(sb, "</div>");
	}
	/* a failed check shows its output at once; its parts stay folded */
	html_add_output(sb, row->output, row->output_omitted, row->log, !row->depth && check_status_is_failure(row->status), cap);
	sbuf_adds(sb, "</td></tr>\n");
}

static void html_add_subs(struct sbuf *sb, const struct check_sub *subs, size_t n, size_t depth, size_t cap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct html_row row = {
			.name = subs[i].name ? subs[i].name : "",
			.status = subs[i].status,
			.duration = subs[i].duration,
			.reason = reporter_sub_reason(&subs[i]),
			.output = subs[i].output,
			.depth = depth,
		};

		html_add_row(sb, &row, cap);
		html_add_subs(sb, subs[i].subs, subs[i].nsubs, depth + 1, cap);
	}
}

static void html_add_check(struct sbuf *sb, size_t suite_no, size_t check_no, const struct check_result *cr,
			   size_t cap)
{
	char id[64], buf[128];
	struct html_row row = {
		.id = id,
		.number = check_no,
		.name = cr->name ? cr->name : reporter_check_type(cr),
		.type = reporter_check_type(cr),
		.status = cr->status,
		.duration = cr->duration,
		.reason = reporter_check_reason(cr, buf, sizeof(buf)),
		.output = cr->output,
		.output_omitted = cr->output_omitted,
		.log = cr->log_path ? cr->log_path : cr->log_name,
	};

	snprintf(id, sizeof(id), "s%zu-c%zu", suite_no, check_no);
	html_add_row(sb, &row, cap);
	html_add_subs(sb, cr->subs, cr->nsubs, 1, cap);
}

static void html_add_counts(struct sbuf *sb, size_t passed, size_t failed, size_t skipped, size_t errors)
{
	sbuf_addf(sb, "%zu passed, %zu failed, %zu skipped", passed, failed, skipped);
	if (errors)
		sbuf_addf(sb, ", %zu error%s", errors, errors == 1 ? "" : "s");
}

static void html_add_packages(struct sbuf *sb, const struct suite *s)
{
	size_t i;

	if (!s || !s->npackages)
		return;
	sbuf_adds(sb, " · packages: ");
	for (i = 0; i < s->npackages; i++) {
		if (i)
			sbuf_adds(sb, ", ");
		html_escape(sb, s->packages[i].name);
		if (s->packages[i].version) {
			sbuf_addch(sb, ' ');
			html_escape(sb, s->packages[i].version);
		}
	}
}

static void html_add_suite(struct sbuf *sb, size_t suite_no, const struct suite_result *sr, size_t cap)
{
	enum html_verdict v = html_suite_verdict(sr);
	size_t i;

	sbuf_addf(sb, "<section class=\"suite %s\" id=\"s%zu\">\n<h2>", html_verdict_class[v], suite_no);
	html_escape(sb, html_suite_name(sr));
	sbuf_addch(sb, ' ');
	html_badge(sb, html_verdict_class[v], html_verdict_label[v]);
	sbuf_adds(sb, "</h2>\n<p class=\"suite-meta\">");
	if (sr->suite && sr->suite->path) {
		html_escape(sb, sr->suite->path);
		sbuf_adds(sb, " · ");
	}
	sbuf_adds(sb, "runner ");
	html_escape(sb, sr->runner ? sr->runner : "?");
	if (sr->dist_name) {
		sbuf_adds(sb, " · ");
		html_dist(sb, sr);
	}
	html_add_packages(sb, sr->suite);
	sbuf_adds(sb, " · ");
	html_duration(sb, sr->duration);
	sbuf_adds(sb, " · ");
	html_add_counts(sb, sr->passed, sr->failed, sr->skipped, sr->errors);
	sbuf_adds(sb, "</p>\n");
	if (sr->bail_out) {
		sbuf_adds(sb, "<p class=\"bail\">bail out: ");
		html_escape(sb, sr->bail_out);
		sbuf_adds(sb, "</p>\n");
	}
	sbuf_adds(sb, "<table class=\"checks\">\n<thead><tr><th>#</th><th>Check</th><th>Type</th><th>Status</th>"
		      "<th class=\"duration\">Duration</th><th>Message and output</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < sr->nchecks; i++)
		html_add_check(sb, suite_no, i + 1, &sr->checks[i], cap);
	sbuf_adds(sb, "</tbody>\n</table>\n</section>\n");
}

/* One row per suite: where it ran, its counts, and a chip per check. */
static void html_add_overview(struct sbuf *sb, const struct run_result *rr)
{
	size_t i, j;

	sbuf_adds(sb, "<section class=\"overview\">\n<h2>Suites</h2>\n<table class=\"matrix\">\n"
		      "<thead><tr><th>Suite</th><th>Distribution</th><th>Runner</th><th>Checks</th>"
		      "<th>Result</th><th class=\"duration\">Duration</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < rr->nsuites; i++) {
		const struct suite_result *sr = rr->suites[i];
		enum html_verdict v;

		if (!sr)
			continue;
		v = html_suite_verdict(sr);
		sbuf_addf(sb, "<tr class=\"%s %s\"><td><a href=\"#s%zu\">", html_verdict_class[v],
			  v == HTML_PASSED ? "ok" : "problem", i + 1);
		html_escape(sb, html_suite_name(sr));
		sbuf_adds(sb, "</a></td><td>");
		html_dist(sb, sr);
		sbuf_adds(sb, "</td><td>");
		html_escape(sb, sr->runner);
		sbuf_adds(sb, "</td><td><div class=\"chips\">");
		for (j = 0; j < sr->nchecks; j++) {
			const struct check_result *cr = &sr->checks[j];
			const char *cls = html_status_class(cr->status);

			sbuf_addf(sb, "<a class=\"chip %s\" href=\"#s%zu-c%zu\" title=\"", cls, i + 1, j + 1);
			html_escape(sb, cr->name ? cr->name : reporter_check_type(cr));
			sbuf_addf(sb, ": %s\">%zu</a>", cls, j + 1);
		}
		sbuf_adds(sb, "</div></td><td>");
		html_badge(sb, html_verdict_class[v], html_verdict_label[v]);
		sbuf_adds(sb, " ");
		html_add_counts(sb, sr->passed, sr->failed, sr->skipped, sr->errors);
		sbuf_adds(sb, "</td><td class=\"duration\">");
		html_duration(sb, sr->duration);
		sbuf_adds(sb, "</td></tr>\n");
	}
	sbuf_adds(sb, "</tbody>\n</table>\n</section>\n");
}

static enum html_verdict html_run_verdict(const struct run_result *rr)
{
	if (rr->exit_code == 0)
		return HTML_PASSED;
	return rr->exit_code == 1 ? HTML_FAILED : HTML_ERROR;
}

static void html_add_head(struct sbuf *sb, const struct run_result *rr)
{
	sbuf_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
		      "<meta name=\"generator\" content=\"alts " ALTS_VERSION "\">\n<title>alts: ");
	sbuf_adds(sb, html_verdict_label[html_run_verdict(rr)]);
	sbuf_adds(sb, ", ");
	html_add_counts(sb, rr->passed, rr->failed, rr->skipped, rr->errors);
	sbuf_adds(sb, "</title>\n");
	sbuf_adds(sb, html_style);
	sbuf_adds(sb, "</head>\n");
}

static void html_add_header(struct sbuf *sb, const struct run_result *rr)
{
	enum html_verdict v = html_run_verdict(rr);
	char host[256] = "localhost", stamp[64];

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	reporter_iso8601(stamp, sizeof(stamp), rr->started);
	sbuf_addf(sb, "<header class=\"%s\">\n<h1>alts report ", html_verdict_class[v]);
	html_badge(sb, html_verdict_class[v], html_verdict_label[v]);
	sbuf_addf(sb, "</h1>\n<p class=\"summary\" id=\"summary\">%zu suite%s: ", rr->nsuites,
		  rr->nsuites == 1 ? "" : "s");
	html_add_counts(sb, rr->passed, rr->failed, rr->skipped, rr->errors);
	sbuf_adds(sb, " in ");
	html_duration(sb, rr->duration);
	sbuf_adds(sb, "</p>\n<p class=\"meta\">started ");
	sbuf_adds(sb, stamp);
	sbuf_adds(sb, " on ");
	html_escape(sb, host);
	sbuf_adds(sb, " · alts " ALTS_VERSION);
	if (rr->artifacts_dir) {
		sbuf_adds(sb, " · logs <code>");
		html_escape(sb, rr->artifacts_dir);
		sbuf_adds(sb, "</code>");
	}
	sbuf_adds(sb, "</p>\n<nav id=\"controls\" hidden>"
		      "<button type=\"button\" data-action=\"all\">All checks</button>"
		      "<button type=\"button\" data-action=\"problems\">Only problems</button>"
		      "<button type=\"button\" data-action=\"expand\">Expand all output</button>"
		      "<button type=\"button\" data-action=\"collapse\">Collapse all output</button></nav>\n"
		      "</header>\n");
}

static void html_add_document(struct sbuf *sb, const struct run_result *rr, size_t cap)
{
	size_t i;

	html_add_head(sb, rr);
	sbuf_adds(sb, "<body>\n");
	html_add_header(sb, rr);
	sbuf_adds(sb, "<main>\n");
	html_add_overview(sb, rr);
	for (i = 0; i < rr->nsuites; i++)
		if (rr->suites[i])
			html_add_suite(sb, i + 1, rr->suites[i], cap);
	sbuf_adds(sb, "</main>\n");
	sbuf_adds(sb, html_script);
	sbuf_adds(sb, "</body>\n</html>\n");
}

static int html_run_end(struct reporter *r, const struct run_result *rr, struct alts_err *err)
{
	struct html_priv *hp = r->priv;
	struct sbuf sb = SBUF_INIT;
	FILE *out = hp->out;
	int rc;

	hp->out = NULL;
	html_add_document(&sb, rr, reporter_output_cap(r));
	if (!sbuf_ok(&sb)) {
		reporter_close_out(out, hp->path, NULL);
		sbuf_release(&sb);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory writing '%s'", hp->path);
	}
	fwrite(sb.buf, 1, sb.len, out);
	rc = reporter_close_out(out, hp->path, err);
	sbuf_release(&sb);
	return rc;
}

static void html_destroy(struct reporter *r)
{
	struct html_priv *hp = r->priv;

	if (hp && hp->out)
		reporter_close_out(hp->out, hp->path, NULL);
}

const struct reporter_ops reporter_html_ops = {
	.name = "html",
	.abi = REPORTER_ABI,
	.priv_size = sizeof(struct html_priv),
	.open = html_open,
	.run_end = html_run_end,
	.destroy = html_destroy,
};
