/* The TAP parser: see checks/tap_parse.h. */
#include "framework/common.h"
#include "checks/tap_parse.h"
#include "framework/sbuf.h"

#define TAP_NAMES_SHOWN 3
#define TAP_MAX_DEPTH 16

struct tap_line {
	const char *s;   /* after the indentation */
	size_t len;      /* without the line end */
	size_t indent;   /* leading spaces (a tab counts 4) */
	bool blank;
};

struct tap_parser {
	struct arena *a;
	struct tap_line *lines;
	size_t n;
	bool oom;
	bool bailed;     /* a Bail out! anywhere stops everything */
};

bool tap_detect(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *s = p;

		while (s < e && isspace((unsigned char)*s))
			s++;
		if (s < e) {
			size_t l = (size_t)(e - s);

			if (l >= 12 && !strncmp(s, "TAP version ", 12))
				return true;
			if (l >= 4 && s[0] == '1' && s[1] == '.' && s[2] == '.' && isdigit((unsigned char)s[3]))
				return true;
			return false;
		}
		p = nl ? nl + 1 : end;
	}
	return false;
}

static bool starts(const struct tap_line *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->len >= n && !strncmp(l->s, prefix, n);
}

static bool starts_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !strncasecmp(s, prefix, n);
}

/* Copies s[0..len) trimmed, with TAP's "\#" and "\\" escapes undone. */
static char *tap_unescape(struct tap_parser *p, const char *s, size_t len)
{
	char *out;
	size_t j = 0;

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	out = arena_alloc(p->a, 3 * len + 1);  /* a NUL may become 3 bytes */
	if (!out) {
		p->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '#' || s[i + 1] == '\\'))
			i++;
		if (!s[i]) {  /* a NUL would end the description here: U+FFFD stands for it */
			memcpy(out + j, "\xef\xbf\xbd", 3);
			j += 3;
			continue;
		}
		out[j++] = s[i];
	}
	out[j] = '\0';
	return out;
}

/*
 * Reads the decimal digits at s, never past end (the text need not be
 * NUL-terminated: strtol would read on). False when there is none or the
 * number overflows a long.
 */
static bool parse_num(const char *s, const char *end, long *out, const char **after)
{
	long n = 0;
	const char *q = s;

	for (; q < end && isdigit((unsigned char)*q); q++) {
		if (n > (LONG_MAX - (*q - '0')) / 10)
			return false;
		n = n * 10 + (*q - '0');
	}
	if (q == s)
		return false;
	*out = n;
	*after = q;
	return true;
}

/* "1..N" with an optional "# SKIP reason". */
static bool parse_plan(struct tap_parser *p, const struct tap_line *l, struct tap_doc *doc)
{
	const char *s = l->s, *end = l->s + l->len, *q;
	long n;

	if (l->len < 4 || s[0] != '1' || s[1] != '.' || s[2] != '.' || !isdigit((unsigned char)s[3]))
		return false;
	if (!parse_num(s + 3, end, &n, &q))
		return false;
	while (q < end && isspace((unsigned char)*q))
		q++;
	if (q < end && *q != '#')
		return false;
	doc->planned = n;
	if (q < end && *q == '#') {
		q++;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (n == 0 && starts_nocase(q, (size_t)(end - q), "skip")) {
			q += 4;
			while (q < end && isalpha((unsigned char)*q))
				q++;
			while (q < end && (isspace((unsigned char)*q) || *q == ':'))
				q++;
			doc->skip_reason = tap_unescape(p, q, (size_t)(end - q));
		}
	}
	if (n == 0)
		doc->skip_all = true;
	return true;
}

/* The first '#' not escaped by a backslash, or NULL. */
static const char *find_hash(const char *s, const char *end)
{
	for (const char *q = s; q < end; q++) {
		if (*q == '\\' && q + 1 < end) {
			q++;
			continue;
		}
		if (*q == '#')
			return q;
	}
	return NULL;
}

/* "ok", "not ok", then an optional number, "- description" and "# DIRECTIVE reason". */
static bool parse_test_point(struct tap_parser *p, const struct tap_line *l, struct tap_test *t, long position)
{
	const char *s = l->s, *end = l->s + l->len, *hash;
	bool ok;

	if (starts(l, "ok") && (l->len == 2 || isspace((unsigned char)s[2]))) {
		ok = true;
		s += 2;
	} else if (starts(l, "not ok") && (l->len == 6 || isspace((unsigned char)s[6]))) {
		ok = false;
		s += 6;
	} else {
		return false;
	}
	memset(t, 0, sizeof(*t));
	t->ok = ok;
	t->number = position;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s < end && isdigit((unsigned char)*s)) {
		const char *num_end;
		long n;

		if (parse_num(s, end, &n, &num_end)) {
			t->number = n;
			s = num_end;
		}
	}
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s < end && *s == '-' && (s + 1 == end || isspace((unsigned char)s[1])))
		s++;
	hash = find_hash(s, end);
	t->description = tap_unescape(p, s, (size_t)((hash ? hash : end) - s));
	if (hash) {
		const char *d = hash + 1;
		size_t dl;

		while (d < end && isspace((unsigned char)*d))
			d++;
		dl = (size_t)(end - d);
		if (starts_nocase(d, dl, "skip"))
			t->directive = TAP_SKIP;
		else if (starts_nocase(d, dl, "todo"))
			t->directive = TAP_TODO;
		if (t->directive) {
			d += 4;
			while (d < end && isalpha((unsigned char)*d))  /* SKIPPED, TODO: */
				d++;
			while (d < end && (isspace((unsigned char)*d) || *d == ':'))
				d++;
			t->reason = tap_unescape(p, d, (size_t)(end - d));
		}
	}
	return true;
}

static struct tap_doc *new_doc(struct tap_parser *p)
{
	struct tap_doc *d = arena_alloc(p->a, sizeof(*d));

	if (!d) {
		p->oom = true;
		return NULL;
	}
	d->version = 12;
	d->planned = -1;
	return d;
}

static struct tap_test *add_test(struct tap_parser *p, struct tap_doc *doc, size_t *alloc)
{
	if (doc->ntests == *alloc) {
		size_t want = *alloc ? 2 * *alloc : 8;
		struct tap_test *v = arena_alloc(p->a, want * sizeof(*v));

		if (!v) {
			p->oom = true;
			return NULL;
		}
		if (doc->ntests)
			memcpy(v, doc->tests, doc->ntests * sizeof(*v));
		doc->tests = v;
		*alloc = want;
	}
	return &doc->tests[doc->ntests++];
}

/* Appends lines [from, to) to a test's diagnostics, keeping their text as written. */
static void append_diag(struct tap_parser *p, struct tap_test *t, size_t from, size_t to, size_t strip)
{
	struct sbuf sb = SBUF_INIT;

	if (!t)
		return;
	if (t->diag)
		sbuf_addf(&sb, "%s\n", t->diag);
	for (size_t i = from; i < to; i++) {
		const struct tap_line *l = &p->lines[i];
		size_t extra = l->indent > strip ? l->indent - strip : 0;

		if (i > from)
			sbuf_addch(&sb, '\n');
		for (size_t k = 0; k < extra; k++)
			sbuf_addch(&sb, ' ');
		sbuf_add(&sb, l->s, l->len);
	}
	if (sb.oom)
		p->oom = true;
	else
		t->diag = arena_strndup(p->a, sb.buf, sb.len);
	sbuf_release(&sb);
}

/* Parses lines [*i, to) at the given indentation into doc. */
static void parse_block(struct tap_parser *p, struct tap_doc *doc, size_t *i, size_t to, size_t indent, int depth)
{
	struct tap_doc *pending = NULL;   /* a subtest waiting for its test point */
	struct tap_test *last = NULL;     /* the latest test point, for diagnostics */
	size_t alloc = 0;

	while (*i < to && !p->oom && !p->bailed) {
		const struct tap_line *l = &p->lines[*i];
		struct tap_test t;

		if (l->blank) {
			(*i)++;
			continue;
		}
		/* A YAML diagnostic block right after a test point: "  ---" to "  ...". */
		if (last && l->indent > indent && l->indent < indent + 4 && starts(l, "---")) {
			size_t start = *i, yindent = l->indent;

			for ((*i)++; *i < to; (*i)++) {
				const struct tap_line *y = &p->lines[*i];

				if (!y->blank && y->indent <= yindent && starts(y, "...")) {
					(*i)++;
					break;
				}
				if (!y->blank && y->indent < yindent)
					break;
			}
			append_diag(p, last, start, *i, yindent);
			continue;
		}
		/* Deeper lines: a subtest of the test point that follows them. */
		if (l->indent >= indent + 4 && depth < TAP_MAX_DEPTH) {
			size_t end = *i;

			while (end < to && (p->lines[end].blank || p->lines[end].indent >= indent + 4))
				end++;
			pending = new_doc(p);
			if (!pending)
				return;
			parse_block(p, pending, i, end, indent + 4, depth + 1);
			*i = end;
			if (pending->bail_out && !doc->bail_out)
				doc->bail_out = pending->bail_out;
			continue;
		}
		(*i)++;
		if (starts(l, "TAP version ")) {
			const char *after;
			long v = 0;

			if (!parse_num(l->s + 12, l->s + l->len, &v, &after))
				v = 0;
			doc->version = v > 0 && v < 1000 ? (int)v : 12;
		} else if (starts(l, "Bail out!")) {
			doc->bail_out = tap_unescape(p, l->s + 9, l->len - 9);
			p->bailed = true;
		} else if (parse_plan(p, l, doc)) {
			last = NULL;
		} else if (parse_test_point(p, l, &t, (long)doc->ntests + 1)) {
			struct tap_test *slot = add_test(p, doc, &alloc);

			if (!slot)
				return;
			*slot = t;
			if (pending) {
				slot->subtest = pending;
				if (!slot->description[0] && pending->name)
					slot->description = pending->name;
				pending = NULL;
			}
			if (!slot->ok && slot->directive != TAP_TODO && slot->directive != TAP_SKIP)
				doc->nfailed++;
			last = slot;
		} else if (starts(l, "# Subtest:") || starts(l, "# Subtest ")) {
			if (!doc->ntests && !doc->name)
				doc->name = tap_unescape(p, l->s + 10, l->len - 10);
		} else if (l->s[0] == '#') {
			append_diag(p, last, *i - 1, *i, l->indent);
		}
		/* Anything else is output that is not TAP: ignored. */
	}
}

struct tap_doc *tap_parse(struct arena *a, const char *text, size_t len)
{
	struct tap_parser p = { 0 };
	struct tap_doc *doc;
	const char *s = text, *end = text + len;
	size_t n = 1, i = 0;

	p.a = a;
	for (size_t k = 0; k < len; k++)
		n += text[k] == '\n';
	p.lines = arena_alloc(a, n * sizeof(*p.lines));
	if (!p.lines)
		return NULL;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		struct tap_line *l = &p.lines[p.n++];

		l->indent = 0;
		while (s < e && (*s == ' ' || *s == '\t')) {
			l->indent += *s == '\t' ? 4 : 1;
			s++;
		}
		if (e > s && e[-1] == '\r')
			e--;
		l->s = s;
		l->len = (size_t)(e - s);
		l->blank = l->len == 0;
		s = nl ? nl + 1 : end;
	}
	doc = new_doc(&p);
	if (!doc)
		return NULL;
	parse_block(&p, doc, &i, p.n, 0, 0);
	return p.oom ? NULL : doc;
}

const char *tap_test_name(struct arena *a, const struct tap_test *t)
{
	if (t->description && *t->description)
		return arena_strdup(a, t->description);
	return arena_printf(a, "test %ld", t->number);
}

const char *tap_failure(struct arena *a, const struct tap_doc *doc)
{
	struct sbuf sb = SBUF_INIT;
	const char *out = NULL;
	size_t shown = 0;

	if (doc->bail_out)
		return *doc->bail_out ? arena_printf(a, "bail out: %s", doc->bail_out) : arena_strdup(a, "bail out");
	if (doc->nfailed) {
		sbuf_addf(&sb, "%zu of %zu test%s failed: ", doc->nfailed, doc->ntests, doc->ntests == 1 ? "" : "s");
		for (size_t i = 0; i < doc->ntests; i++) {
			const struct tap_test *t = &doc->tests[i];

			if (t->ok || t->directive == TAP_TODO || t->directive == TAP_SKIP)
				continue;
			if (shown == TAP_NAMES_SHOWN) {
				sbuf_addf(&sb, " and %zu more", doc->nfailed - shown);
				break;
			}
			if (t->description && *t->description)
				sbuf_addf(&sb, "%s'%s'", shown ? ", " : "", t->description);
			else
				sbuf_addf(&sb, "%stest %ld", shown ? ", " : "", t->number);
			shown++;
		}
	} else if (doc->planned < 0) {
		sbuf_adds(&sb, doc->ntests ? "no plan (the output may be cut short)" : "no plan and no tests");
	} else if ((size_t)doc->planned != doc->ntests) {
		sbuf_addf(&sb, "planned %ld test%s, ran %zu", doc->planned, doc->planned == 1 ? "" : "s", doc->ntests);
	} else {
		return NULL;
	}
	out = sb.oom ? "TAP output failed" : arena_strndup(a, sb.buf, sb.len);
	sbuf_release(&sb);
	return out;
}
