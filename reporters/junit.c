#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <math.h>
#include <unistd.h>

/*
 * JUnit XML as Jenkins and GitLab read it, valid against the Jenkins
 * xunit junit-10.xsd: <testsuites> of one <testsuite> per suite, one
 * <testcase> per check and one more per part of a check. Written whole
 * at run_end; the file is opened at open so a bad path fails early.
 */

struct junit_priv {
	FILE *out;
	const char *path;
};

struct junit_counts {
	size_t tests, failures, errors, skipped;
};

#define JUNIT_DEFAULT_PATH "report.xml"

static int junit_open(struct reporter *r, struct alts_err *err)
{
	struct junit_priv *jp = r->priv;

	jp->path = r->opts.path ? r->opts.path : JUNIT_DEFAULT_PATH;
	jp->out = reporter_open_out(r, JUNIT_DEFAULT_PATH, err);
	return jp->out ? 0 : ALTS_ERROR;
}

static bool junit_char_allowed(uint32_t cp)
{
	/* XML 1.0 Char production, less DEL and C1 controls (allowed but discouraged) */
	if (cp >= 0x7f && cp <= 0x9f)
		return false;
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

static void junit_escape_char(struct sbuf *sb, uint32_t cp, bool attr)
{
	switch (cp) {
	case '&': sbuf_adds(sb, "&amp;"); return;
	case '<': sbuf_adds(sb, "&lt;"); return;
	case '>': sbuf_adds(sb, "&gt;"); return;
	default: break;
	}
	if (attr) {
		/* attribute value normalization would turn these into spaces */
		switch (cp) {
		case '"': sbuf_adds(sb, "&quot;"); return;
		case '\'': sbuf_adds(sb, "&apos;"); return;
		case '\t': sbuf_adds(sb, "&#9;"); return;
		case '\n': sbuf_adds(sb, "&#10;"); return;
		default: break;
		}
	}
	reporter_add_utf8(sb, cp);
}

/*
 * Appends text escaped for XML: invalid UTF-8 becomes U+FFFD; characters
 * XML 1.0 forbids and ANSI escape sequences are dropped.
 */
static void junit_escape(struct sbuf *sb, const char *s, bool attr)
{
	size_t n, i = 0;
	uint32_t cp;

	if (!s)
		return;
	n = strlen(s);
	while (i < n) {
		if (s[i] == '\033') {
			i += reporter_ansi_len(s + i, n - i);
			continue;
		}
		if (s[i] == '\r') {
			/*
			 * Line ends are LF: CR LF becomes LF, a lone CR (apt's progress
			 * redrawing its line) starts a new line. "&#13;" would keep them,
			 * and CI viewers show it as text.
			 */
			i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
			junit_escape_char(sb, '\n', attr);
			continue;
		}
		i += reporter_utf8_next(s + i, n - i, &cp);
		if (junit_char_allowed(cp))
			junit_escape_char(sb, cp, attr);
	}
}

static void junit_attr(struct sbuf *sb, const char *name, const char *value)
{
	sbuf_addf(sb, " %s=\"", name);
	junit_escape(sb, value, true);
	sbuf_addch(sb, '"');
}

static void junit_attr_count(struct sbuf *sb, const char *name, size_t value)
{
	sbuf_addf(sb, " %s=\"%zu\"", name, value);
}

/* Seconds with 3 decimals; the SUREFIRE_TIME pattern allows no sign or exponent. */
static void junit_attr_time(struct sbuf *sb, double seconds)
{
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	sbuf_addf(sb, " time=\"%.3f\"", seconds);
}

static bool junit_is_failure(enum check_status s)
{
	return s == CHECK_FAIL || s == CHECK_XPASS;
}

static void junit_count_status(struct junit_counts *c, enum check_status s)
{
	c->tests++;
	if (junit_is_failure(s))
		c->failures++;
	else if (s == CHECK_ERROR)
		c->errors++;
	else if (s == CHECK_SKIP)
		c->skipped++;
}

static void junit_count_subs(struct junit_counts *c, const struct check_sub *subs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		junit_count_status(c, subs[i].status);
		junit_count_subs(c, subs[i].subs, subs[i].nsubs);
	}
}

static void junit_count_suite(struct junit_counts *c, const struct suite_result *sr)
{
	size_t i;

	for (i = 0; i < sr->nchecks; i++) {
		junit_count_status(c, sr->checks[i].status);
		junit_count_subs(c, sr->checks[i].subs, sr->checks[i].nsubs);
	}
}

static const char *junit_suite_name(const struct suite_result *sr)
{
	if (sr->suite && sr->suite->name)
		return sr->suite->name;
	if (sr->suite && sr->suite->path)
		return sr->suite->path;
	return "suite";
}

/* The output tail, cut to the cap, with a note of what was cut. */
static void junit_add_output(struct sbuf *sb, const char *output, size_t before, size_t cap)
{
	size_t omitted;
	const char *tail;

	if (!output || !*output)
		return;
	tail = reporter_tail(output, cap, before, &omitted);
	if (omitted)
		sbuf_addf(sb, "[alts: %zu bytes of output omitted]\n", omitted);
	junit_escape(sb, tail, false);
}

/* What a testcase holds, whether it comes from a check or a part. */
struct junit_case {
	const char *classname;
	const char *name;
	enum check_status status;
	double duration;
	const char *reason;    /* message, never NULL */
	const char *fail_type; /* failure type attribute */
	const char *output;
	size_t output_omitted;  /* bytes cut before output */
	const char *log;
};

static void junit_add_verdict(struct sbuf *sb, const struct junit_case *jc, size_t cap)
{
	const char *elem = jc->status == CHECK_ERROR ? "error" : "failure";

	if (jc->status == CHECK_SKIP) {
		sbuf_adds(sb, "      <skipped");
		junit_attr(sb, "message", jc->reason);
		sbuf_adds(sb, "/>\n");
		return;
	}
	if (!junit_is_failure(jc->status) && jc->status != CHECK_ERROR)
		return;
	sbuf_addf(sb, "      <%s", elem);
	junit_attr(sb, "message", jc->reason);
	junit_attr(sb, "type", jc->status == CHECK_ERROR ? "error" : jc->fail_type);
	sbuf_adds(sb, ">");
	junit_add_output(sb, jc->output, jc->output_omitted, cap);
	sbuf_addf(sb, "</%s>\n", elem);
}

/* system-out: notes, the log path, and the output unless the failure element holds it. */
static void junit_add_system_out(struct sbuf *sb, const struct junit_case *jc, size_t cap)
{
	bool output_shown = junit_is_failure(jc->status) || jc->status == CHECK_ERROR;
	bool has_output = jc->output && *jc->output && !output_shown;

	if (jc->status != CHECK_XFAIL && !jc->log && !has_output)
		return;
	sbuf_adds(sb, "      <system-out>");
	if (jc->status == CHECK_XFAIL) {
		sbuf_adds(sb, "alts: expected failure");
		if (*jc->reason) {
			sbuf_adds(sb, ": ");
			junit_escape(sb, jc->reason, false);
		}
		sbuf_addch(sb, '\n');
	}
	if (jc->log) {
		sbuf_adds(sb, "alts: log ");
		junit_escape(sb, jc->log, false);
		sbuf_addch(sb, '\n');
	}
	if (has_output)
		junit_add_output(sb, jc->output, jc->output_omitted, cap);
	sbuf_adds(sb, "</system-out>\n");
}

static void junit_add_case(struct sbuf *sb, const struct junit_case *jc, size_t cap)
{
	sbuf_adds(sb, "    <testcase");
	junit_attr(sb, "name", jc->name);
	junit_attr(sb, "classname", jc->classname);
	junit_attr_time(sb, jc->duration);
	sbuf_adds(sb, ">\n");
	junit_add_verdict(sb, jc, cap);
	junit_add_system_out(sb, jc, cap);
	sbuf_adds(sb, "    </testcase>\n");
}

static void junit_add_subs(struct sbuf *sb, const char *classname, const char *parent,
			   const struct check_sub *subs, size_t n, size_t cap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sbuf name = SBUF_INIT;
		struct junit_case jc = {
			.classname = classname,
			.status = subs[i].status,
			.duration = subs[i].duration,
			.reason = reporter_sub_reason(&subs[i]),
			.fail_type = subs[i].status == CHECK_XPASS ? "xpass" : "fail",
			.output = subs[i].output,
		};

		sbuf_addf(&name, "%s / %s", parent, subs[i].name ? subs[i].name : "");
		jc.name = name.buf;
		junit_add_case(sb, &jc, cap);
		junit_add_subs(sb, classname, name.buf, subs[i].subs, subs[i].nsubs, cap);
		if (!sbuf_ok(&name))
			sb->oom = true;
		sbuf_release(&name);
	}
}

static const char *junit_fail_type(const struct check_result *cr)
{
	if (cr->status == CHECK_XPASS)
		return "xpass";
	if (cr->timed_out)
		return "timeout";
	if (cr->term_signal > 0)
		return "signal";
	return "fail";
}

static void junit_add_check(struct sbuf *sb, const char *suite_name, const struct check_result *cr,
			    size_t cap)
{
	struct sbuf classname = SBUF_INIT;
	char buf[128];
	struct junit_case jc = {
		.name = cr->name ? cr->name : reporter_check_type(cr),
		.status = cr->status,
		.duration = cr->duration,
		.reason = reporter_check_reason(cr, buf, sizeof(buf)),
		.fail_type = junit_fail_type(cr),
		.output = cr->output,
		.output_omitted = cr->output_omitted,
		.log = cr->log_path ? cr->log_path : cr->log_name,
	};

	sbuf_addf(&classname, "%s.%s", suite_name, reporter_check_type(cr));
	jc.classname = classname.buf;
	junit_add_case(sb, &jc, cap);
	junit_add_subs(sb, classname.buf, jc.name, cr->subs, cr->nsubs, cap);
	if (!sbuf_ok(&classname))
		sb->oom = true;
	sbuf_release(&classname);
}

static void junit_add_property(struct sbuf *sb, const char *name, const char *value)
{
	if (!value)
		return;
	sbuf_adds(sb, "      <property");
	junit_attr(sb, "name", name);
	junit_attr(sb, "value", value);
	sbuf_adds(sb, "/>\n");
}

static void junit_add_packages(struct sbuf *sb, const struct suite *s)
{
	struct sbuf names = SBUF_INIT;
	size_t i;

	for (i = 0; s && i < s->npackages; i++)
		sbuf_addf(&names, "%s%s", i ? " " : "", s->packages[i].name ? s->packages[i].name : "");
	if (names.len)
		junit_add_property(sb, "packages", names.buf);
	if (!sbuf_ok(&names))
		sb->oom = true;
	sbuf_release(&names);
}

static void junit_add_properties(struct sbuf *sb, const struct suite_result *sr)
{
	sbuf_adds(sb, "    <properties>\n");
	junit_add_property(sb, "dist_name", sr->dist_name);
	junit_add_property(sb, "dist_version", sr->dist_version);
	junit_add_property(sb, "dist_arch", sr->dist_arch);
	junit_add_property(sb, "runner", sr->runner);
	junit_add_packages(sb, sr->suite);
	junit_add_property(sb, "bail_out", sr->bail_out);
	sbuf_adds(sb, "    </properties>\n");
}

static void junit_add_suite(struct sbuf *sb, const struct suite_result *sr, const char *hostname,
			    size_t cap)
{
	const char *name = junit_suite_name(sr);
	struct junit_counts c = { 0 };
	char stamp[64];
	size_t i;

	junit_count_suite(&c, sr);
	reporter_iso8601(stamp, sizeof(stamp), sr->started);
	sbuf_adds(sb, "  <testsuite");
	junit_attr(sb, "name", name);
	junit_attr_count(sb, "tests", c.tests);
	junit_attr_count(sb, "failures", c.failures);
	junit_attr_count(sb, "errors", c.errors);
	junit_attr_count(sb, "skipped", c.skipped);
	junit_attr_time(sb, sr->duration);
	junit_attr(sb, "timestamp", stamp);
	junit_attr(sb, "hostname", hostname);
	if (sr->suite && sr->suite->path)
		junit_attr(sb, "file", sr->suite->path);
	sbuf_adds(sb, ">\n");
	junit_add_properties(sb, sr);
	for (i = 0; i < sr->nchecks; i++)
		junit_add_check(sb, name, &sr->checks[i], cap);
	if (sr->bail_out) {
		sbuf_adds(sb, "    <system-err>alts: bail out: ");
		junit_escape(sb, sr->bail_out, false);
		sbuf_adds(sb, "</system-err>\n");
	}
	sbuf_adds(sb, "  </testsuite>\n");
}

static void junit_add_document(struct sbuf *sb, const struct run_result *rr, size_t cap)
{
	struct junit_counts total = { 0 };
	char hostname[256] = "localhost";
	size_t i;

	if (gethostname(hostname, sizeof(hostname) - 1) != 0)
		snprintf(hostname, sizeof(hostname), "localhost");
	hostname[sizeof(hostname) - 1] = '\0';
	for (i = 0; i < rr->nsuites; i++)
		if (rr->suites[i])
			junit_count_suite(&total, rr->suites[i]);
	sbuf_adds(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"alts\"");
	junit_attr_count(sb, "tests", total.tests);
	junit_attr_count(sb, "failures", total.failures);
	junit_attr_count(sb, "errors", total.errors);
	junit_attr_time(sb, rr->duration);
	sbuf_adds(sb, ">\n");
	for (i = 0; i < rr->nsuites; i++)
		if (rr->suites[i])
			junit_add_suite(sb, rr->suites[i], hostname, cap);
	sbuf_adds(sb, "</testsuites>\n");
}

static int junit_run_end(struct reporter *r, const struct run_result *rr, struct alts_err *err)
{
	struct junit_priv *jp = r->priv;
	struct sbuf sb = SBUF_INIT;
	FILE *out = jp->out;
	int rc;

	jp->out = NULL;
	junit_add_document(&sb, rr, reporter_output_cap(r));
	if (!sbuf_ok(&sb)) {
		reporter_close_out(out, jp->path, NULL);
		sbuf_release(&sb);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory writing '%s'", jp->path);
	}
	fwrite(sb.buf, 1, sb.len, out);
	rc = reporter_close_out(out, jp->path, err);
	sbuf_release(&sb);
	return rc;
}

static void junit_destroy(struct reporter *r)
{
	struct junit_priv *jp = r->priv;

	if (jp && jp->out)
		reporter_close_out(jp->out, jp->path, NULL);
}

const struct reporter_ops reporter_junit_ops = {
	.name = "junit",
	.abi = REPORTER_ABI,
	.priv_size = sizeof(struct junit_priv),
	.open = junit_open,
	.run_end = junit_run_end,
	.destroy = junit_destroy,
};
