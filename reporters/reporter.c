#include "framework/common.h"
#include "reporters/reporter_int.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

static const struct reporter_ops *const reporter_backends[] = {
	&reporter_tap_ops,
	&reporter_junit_ops,
	&reporter_json_ops,
	&reporter_console_ops,
	&reporter_html_ops,
};

static const char *const reporter_backend_names[] = {
	"tap", "junit", "json", "console", "html", NULL,
};

/* A reporter plus what the set owns for it. */
struct reporter_entry {
	struct reporter r;
	char *path;  /* copy of opts.path */
};

struct reporter_set {
	pthread_mutex_t lock;  /* suites run in parallel threads with -j */
	struct reporter_entry **v;
	size_t n;
};

const char *const *reporter_names(void)
{
	return reporter_backend_names;
}

static const struct reporter_ops *reporter_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ALTS_ARRAY_SIZE(reporter_backends); i++)
		if (!strcmp(reporter_backends[i]->name, name))
			return reporter_backends[i];
	return NULL;
}

int reporter_set_new(struct reporter_set **out)
{
	struct reporter_set *set = alts_calloc(1, sizeof(*set));

	if (!set)
		return ALTS_ENOMEM;
	if (pthread_mutex_init(&set->lock, NULL)) {
		alts_free(set);
		return ALTS_ENOMEM;
	}
	*out = set;
	return 0;
}

static void reporter_entry_free(struct reporter_entry *e)
{
	if (!e)
		return;
	e->r.ops->destroy(&e->r);
	alts_free(e->r.priv);
	alts_free(e->path);
	alts_free(e);
}

static int reporter_entry_new(struct reporter_entry **out, const struct reporter_ops *ops,
			      const struct reporter_opts *opts, struct alts_err *err)
{
	struct reporter_entry *e = alts_calloc(1, sizeof(*e));

	if (!e)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	e->r.ops = ops;
	if (opts)
		e->r.opts = *opts;
	e->r.opts.path = NULL;
	e->r.priv = alts_calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (opts && opts->path)
		e->path = alts_strdup(opts->path);
	if (!e->r.priv || (opts && opts->path && !e->path)) {
		alts_free(e->r.priv);
		alts_free(e->path);
		alts_free(e);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	e->r.opts.path = e->path;
	*out = e;
	return 0;
}

static void reporter_unknown(struct alts_err *err, const char *name)
{
	struct sbuf known = SBUF_INIT;
	size_t i;

	for (i = 0; reporter_backend_names[i]; i++)
		sbuf_addf(&known, "%s%s", i ? ", " : "", reporter_backend_names[i]);
	alts_err_set(err, ALTS_ENOTFOUND, "unknown reporter '%s' (known: %s)", name, known.buf);
	sbuf_release(&known);
}

static int reporter_set_push(struct reporter_set *set, struct reporter_entry *e)
{
	struct reporter_entry **v;

	v = alts_reallocarray(set->v, set->n + 1, sizeof(*v));
	if (!v)
		return ALTS_ENOMEM;
	v[set->n++] = e;
	set->v = v;
	return 0;
}

int reporter_set_add(struct reporter_set *set, const char *name, const struct reporter_opts *opts,
		     struct alts_err *err)
{
	const struct reporter_ops *ops;

	ALTS_ASSERT_ARG(set && name, err);
	ops = reporter_lookup(name);
	if (!ops) {
		reporter_unknown(err, name);
		return ALTS_ENOTFOUND;
	}
	return reporter_set_add_ops(set, ops, opts, err);
}

int reporter_set_add_ops(struct reporter_set *set, const struct reporter_ops *ops, const struct reporter_opts *opts,
			 struct alts_err *err)
{
	struct reporter_entry *e = NULL;
	int rc;

	ALTS_ASSERT_ARG(set && ops && ops->destroy, err);
	if (ops->abi != REPORTER_ABI)
		return alts_err_set(err, ALTS_EINTERNAL, "reporter '%s' has ABI %d, expected %d", ops->name,
				    ops->abi, REPORTER_ABI);
	rc = reporter_entry_new(&e, ops, opts, err);
	if (rc)
		return rc;
	if (ops->open && (rc = ops->open(&e->r, err)) != 0)
		goto out;
	pthread_mutex_lock(&set->lock);
	rc = reporter_set_push(set, e);
	pthread_mutex_unlock(&set->lock);
	if (rc)
		alts_err_set(err, rc, "out of memory");
out:
	if (rc)
		reporter_entry_free(e);
	return rc;
}

void reporter_set_free(struct reporter_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		reporter_entry_free(set->v[i]);
	alts_free(set->v);
	pthread_mutex_destroy(&set->lock);
	alts_free(set);
}

/* Calls slot(r, ...) on every reporter that has it, holding the lock. */
#define REPORTER_EACH(set, slot, ...)                                        \
	do {                                                                 \
		size_t i_;                                                   \
		if (!(set))                                                  \
			break;                                               \
		pthread_mutex_lock(&(set)->lock);                            \
		for (i_ = 0; i_ < (set)->n; i_++) {                          \
			struct reporter *r_ = &(set)->v[i_]->r;              \
			if (r_->ops->slot)                                   \
				r_->ops->slot(r_, __VA_ARGS__);              \
		}                                                            \
		pthread_mutex_unlock(&(set)->lock);                          \
	} while (0)

void reporter_set_run_start(struct reporter_set *set, const struct run_info *info)
{
	REPORTER_EACH(set, run_start, info);
}

void reporter_set_suite_start(struct reporter_set *set, const struct suite *s)
{
	REPORTER_EACH(set, suite_start, s);
}

void reporter_set_check_start(struct reporter_set *set, const struct suite *s, const struct suite_check *c)
{
	REPORTER_EACH(set, check_start, s, c);
}

void reporter_set_check_output(struct reporter_set *set, const struct suite *s, const struct suite_check *c,
			       const char *buf, size_t len)
{
	REPORTER_EACH(set, check_output, s, c, buf, len);
}

void reporter_set_check_end(struct reporter_set *set, const struct suite_result *sr, const struct check_result *cr)
{
	REPORTER_EACH(set, check_end, sr, cr);
}

void reporter_set_suite_end(struct reporter_set *set, const struct suite_result *sr)
{
	REPORTER_EACH(set, suite_end, sr);
}

int reporter_set_run_end(struct reporter_set *set, const struct run_result *rr, struct alts_err *err)
{
	int first = 0;
	size_t i;

	if (!set)
		return 0;
	pthread_mutex_lock(&set->lock);
	for (i = 0; i < set->n; i++) {
		struct reporter *r = &set->v[i]->r;
		struct alts_err e = ALTS_ERR_INIT;
		int rc;

		if (!r->ops->run_end)
			continue;
		rc = r->ops->run_end(r, rr, &e);
		if (rc && !first) {
			first = rc;
			alts_err_set(err, rc, "%s", e.msg);
			alts_err_prefix(err, "%s reporter", r->ops->name);
		}
	}
	pthread_mutex_unlock(&set->lock);
	return first;
}

static bool reporter_path_is(const char *path, const char *what)
{
	return path && !strcmp(path, what);
}

/* A stream's write into an sbuf: all of it, or 0 (a write error) once the sbuf is out of memory. */
static ssize_t sbuf_stream_write(void *cookie, const char *buf, size_t len)
{
	struct sbuf *sb = cookie;

	sbuf_add(sb, buf, len);
	return sbuf_ok(sb) ? (ssize_t)len : 0;
}

FILE *reporter_open_out(const struct reporter *r, const char *default_path, struct alts_err *err)
{
	const char *path = r->opts.path ? r->opts.path : default_path;
	FILE *f;

	if (r->opts.out) {
		f = fopencookie(r->opts.out, "w", (cookie_io_functions_t){ .write = sbuf_stream_write });
		if (!f)
			alts_err_set(err, ALTS_ENOMEM, "out of memory");
		return f;
	}
	if (!path || reporter_path_is(path, "-"))
		return stdout;
	if (reporter_path_is(path, "stderr"))
		return stderr;
	f = fopen(path, "we");
	if (!f)
		alts_err_errno(err, ALTS_ERROR, errno, "cannot open '%s' for writing", path);
	return f;
}

int reporter_close_out(FILE *f, const char *path, struct alts_err *err)
{
	bool shared = f == stdout || f == stderr;
	const char *name = path ? path : "-";
	int rc = 0;

	if (!f)
		return 0;
	if (fflush(f) != 0)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot write '%s'", name);
	else if (ferror(f))
		rc = alts_err_set(err, ALTS_ERROR, "cannot write '%s': write error", name);
	if (shared) {
		clearerr(f);
		return rc;
	}
	if (fclose(f) != 0 && !rc)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot close '%s'", name);
	return rc;
}

size_t reporter_output_cap(const struct reporter *r)
{
	return r->opts.output_cap ? r->opts.output_cap : REPORTER_OUTPUT_CAP_DEFAULT;
}

static size_t utf8_seq_len(unsigned char c, uint32_t *min, uint32_t *cp)
{
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		*min = 0x80;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		*cp = c & 0x0f;
		*min = 0x800;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*cp = c & 0x07;
		*min = 0x10000;
		return 4;
	}
	return 0;
}

size_t reporter_utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t min, v;
	size_t len, i;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	len = utf8_seq_len(u[0], &min, &v);
	if (!len || len > n)
		goto invalid;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto invalid;
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto invalid;
	*cp = v;
	return len;
invalid:
	*cp = 0xfffd;
	return 1;
}

void reporter_add_utf8(struct sbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		sbuf_addch(sb, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(sb, b, 4);
	}
}

size_t reporter_ansi_len(const char *s, size_t n)
{
	size_t i;

	if (n < 2)
		return 1;
	if (s[1] == '[') {  /* CSI: parameters, then one final byte @..~ */
		for (i = 2; i < n; i++)
			if (s[i] >= 0x40 && s[i] <= 0x7e)
				return i + 1;
		return n;
	}
	if (s[1] == ']') {  /* OSC: ends with BEL or ESC \ */
		for (i = 2; i < n; i++) {
			if (s[i] == '\a')
				return i + 1;
			if (s[i] == '\033' && i + 1 < n && s[i + 1] == '\\')
				return i + 2;
		}
		return n;
	}
	return 2;
}

const char *reporter_tail(const char *text, size_t cap, size_t before, size_t *omitted)
{
	size_t len = strlen(text), skip = 0;

	if (len > cap) {
		skip = len - cap;
		while (skip < len && ((unsigned char)text[skip] & 0xc0) == 0x80)
			skip++;
	}
	*omitted = before + skip;
	return text + skip;
}

const char *reporter_check_reason(const struct check_result *cr, char *buf, size_t size)
{
	if (cr->message && *cr->message)
		return cr->message;
	buf[0] = '\0';
	if (cr->timed_out)
		snprintf(buf, size, "timed out");
	else if (cr->term_signal > 0)
		snprintf(buf, size, "killed by signal %d", cr->term_signal);
	else if (cr->status == CHECK_XPASS)
		snprintf(buf, size, "expected to fail, but passed");
	else if (cr->exit_code > 0)
		snprintf(buf, size, "exit code %d", cr->exit_code);
	else if (cr->status != CHECK_PASS)
		snprintf(buf, size, "%s", check_status_name(cr->status));
	return buf;
}

const char *reporter_sub_reason(const struct check_sub *sub)
{
	if (sub->message && *sub->message)
		return sub->message;
	if (sub->status == CHECK_XPASS)
		return "expected to fail, but passed";
	return sub->status == CHECK_PASS ? "" : check_status_name(sub->status);
}

const char *reporter_check_type(const struct check_result *cr)
{
	if (cr->check && cr->check->type)
		return cr->check->type;
	return "check";
}

void reporter_iso8601(char *buf, size_t size, double epoch)
{
	time_t t = (time_t)(isfinite(epoch) && epoch > 0 ? epoch : 0);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm))
		snprintf(buf, size, "1970-01-01T00:00:00+00:00");
}
