/* DEP-8 test metadata: see checks/dep8_control.h. */
#include "framework/common.h"
#include "checks/dep8_control.h"
#include "framework/sbuf.h"

#define DEP8_FIELD_MAX 64

/* ---- words and growing arrays ----------------------------------------- */

/* Appends s to l, whose capacity follows from l->n (powers of two from 8). */
static int list_push(struct strlist *l, const char *s, struct arena *a)
{
	if (!s)
		return ALTS_ENOMEM;
	if (l->n == 0 || (l->n >= 8 && !(l->n & (l->n - 1)))) {
		size_t want = l->n ? 2 * l->n : 8;
		const char **v = arena_alloc(a, want * sizeof(*v));

		if (!v)
			return ALTS_ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
	}
	l->v[l->n++] = s;
	return 0;
}

/* Splits s at commas and whitespace (empty words left out). */
static int split_words(struct strlist *out, const char *s, struct arena *a)
{
	while (s && *s) {
		size_t n;

		while (*s && (*s == ',' || isspace((unsigned char)*s)))
			s++;
		n = strcspn(s, ", \t\n\r\f\v");
		if (n && list_push(out, arena_strndup(a, s, n), a))
			return ALTS_ENOMEM;
		s += n;
	}
	return 0;
}

/* s[0..n) without the whitespace around it, as an arena string. */
static char *trimmed(struct arena *a, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return arena_strndup(a, s, n);
}

/* Splits s at sep into trimmed parts, empty ones included. */
static int split_at(struct strlist *out, const char *s, char sep, struct arena *a)
{
	for (;;) {
		const char *e = strchr(s, sep);
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (list_push(out, trimmed(a, s, n), a))
			return ALTS_ENOMEM;
		if (!e)
			return 0;
		s = e + 1;
	}
}

/* ---- RFC 822 stanzas, as autopkgtest's parse_rfc822 reads them --------- */

struct field {
	const char *name;
	struct sbuf value;
	int line;
};

struct stanza {
	struct field f[DEP8_FIELD_MAX];
	size_t n;
	int line;
};

struct stanzas {
	struct stanza *v;
	size_t n, alloc;
};

static void stanzas_release(struct stanzas *st)
{
	for (size_t i = 0; i < st->n; i++) {
		for (size_t j = 0; j < st->v[i].n; j++)
			sbuf_release(&st->v[i].f[j].value);
	}
	alts_free(st->v);
	memset(st, 0, sizeof(*st));
}

static int fail_at(struct alts_err *err, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct alts_err *err, const char *file, int line, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	alts_err_set(err, ALTS_EINVALID, "%s:%d: %s", file, line, sbuf_ok(&sb) ? sb.buf : "invalid input");
	sbuf_release(&sb);
	return ALTS_EINVALID;
}

/* The field called name (any case) of a stanza, or NULL. */
static const struct field *stanza_get(const struct stanza *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!strcasecmp(s->f[i].name, name))
			return &s->f[i];
	}
	return NULL;
}

static const char *stanza_value(const struct stanza *s, const char *name)
{
	const struct field *f = stanza_get(s, name);

	return f ? f->value.buf : NULL;
}

/*
 * Comments are cut first ('#' to the end of the line; a line left blank
 * by that is removed, so it neither ends a stanza nor a continuation),
 * then stanzas are split at blank lines; continuation lines are joined
 * to their field without the line break and double spaces become one.
 */
static int rfc822_parse(struct stanzas *out, const char *text, size_t len, const char *file, struct arena *a,
			struct alts_err *err)
{
	struct stanzas st = { NULL, 0, 0 };
	struct stanza *cur = NULL;
	const char *p = text, *end = text + len;
	int line = 0, rc = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash;
		size_t n;

		line++;
		if (memchr(p, '\0', (size_t)(le - p))) {
			rc = fail_at(err, file, line, "NUL byte in the file");
			goto out;
		}
		hash = memchr(p, '#', (size_t)(le - p));
		if (hash)
			le = hash;
		while (le > p && (le[-1] == '\r' || isspace((unsigned char)le[-1])))
			le--;
		n = (size_t)(le - p);
		if (hash && !n)
			goto next;  /* a comment line: removed */
		if (!n) {
			cur = NULL;  /* a blank line ends the stanza */
			goto next;
		}
		if (*p == ' ' || *p == '\t') {
			struct field *f;

			if (!cur) {
				rc = fail_at(err, file, line, "continuation line outside a field: '%.*s'", (int)n, p);
				goto out;
			}
			f = &cur->f[cur->n - 1];
			sbuf_add(&f->value, p, n);
		} else {
			const char *colon = memchr(p, ':', n);
			size_t name_len = colon ? (size_t)(colon - p) : 0;
			struct field *f;

			if (!colon || !name_len || memchr(p, ' ', name_len) || memchr(p, '\t', name_len)) {
				rc = fail_at(err, file, line, "expected 'Field: value', got '%.*s'", (int)(n > 60 ? 60 : n), p);
				goto out;
			}
			if (!cur) {
				if (st.n == st.alloc) {
					size_t want = st.alloc ? 2 * st.alloc : 8;
					struct stanza *v = alts_realloc(st.v, want * sizeof(*v));

					if (!v) {
						rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
						goto out;
					}
					st.v = v;
					st.alloc = want;
				}
				cur = &st.v[st.n++];
				cur->n = 0;
				cur->line = line;
			}
			for (size_t i = 0; i < cur->n; i++) {
				if (strlen(cur->f[i].name) == name_len && !strncasecmp(cur->f[i].name, p, name_len)) {
					rc = fail_at(err, file, line, "duplicate field '%.*s' (first on line %d)", (int)name_len,
						     p, cur->f[i].line);
					goto out;
				}
			}
			if (cur->n == DEP8_FIELD_MAX) {
				rc = fail_at(err, file, line, "more than %d fields in one stanza", DEP8_FIELD_MAX);
				goto out;
			}
			f = &cur->f[cur->n++];
			sbuf_init(&f->value, 1u << 20);
			f->line = line;
			f->name = arena_strndup(a, p, name_len);
			if (!f->name) {
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
				goto out;
			}
			colon++;
			while (colon < le && isspace((unsigned char)*colon))
				colon++;
			sbuf_add(&f->value, colon, (size_t)(le - colon));
		}
next:
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < st.n; i++) {
		for (size_t j = 0; j < st.v[i].n; j++) {
			struct sbuf *v = &st.v[i].f[j].value;
			char *s = v->buf, *d = v->buf;

			if (!sbuf_ok(v)) {
				rc = fail_at(err, file, st.v[i].f[j].line, "field '%s' is too long or out of memory",
					     st.v[i].f[j].name);
				goto out;
			}
			/* Python's str.replace('  ', ' '): pairs from the left, not repeated. */
			while (*s) {
				if (s[0] == ' ' && s[1] == ' ') {
					*d++ = ' ';
					s += 2;
				} else {
					*d++ = *s++;
				}
			}
			*d = '\0';
			v->len = (size_t)(d - v->buf);
		}
	}
out:
	if (rc)
		stanzas_release(&st);
	else
		*out = st;
	return rc;
}

/* ---- relations (dpkg dependency syntax) -------------------------------- */

struct relation {
	const char *name;        /* may hold '@' in a test's Depends */
	const char *archqual;    /* after ':', or NULL */
	const char *op;          /* "<<", "<=", "=", ">=", ">>", or NULL */
	const char *version;
	struct strlist arches;   /* [..] words, '!' kept */
	struct strlist profiles; /* one "<...>" group per entry, words space-separated */
};

static bool pkg_char(char c, bool dep8)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '+' || c == '-' || c == '.' ||
	       (dep8 && c == '@');
}

static const char *skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* Parses one alternative ("foo:any (>= 1.0) [amd64] <!nocheck>"); *why on failure. */
static bool relation_parse(struct relation *r, const char *s, bool dep8, const char **why, struct arena *a)
{
	const char *p = s, *q;

	memset(r, 0, sizeof(*r));
	*why = NULL;
	for (q = p; pkg_char(*q, dep8); q++)
		;
	if (q == p || (!dep8 && !isalnum((unsigned char)*p)) || (dep8 && !isalnum((unsigned char)*p) && *p != '@')) {
		*why = "invalid package name";
		return false;
	}
	r->name = arena_strndup(a, p, (size_t)(q - p));
	p = q;
	if (*p == ':') {
		for (q = ++p; islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '-' || *q == '_'; q++)
			;
		if (q == p) {
			*why = "empty architecture qualifier after ':'";
			return false;
		}
		r->archqual = arena_strndup(a, p, (size_t)(q - p));
		p = q;
	}
	p = skip_ws(p);
	if (*p == '(') {
		static const char *const ops[] = { "<<", "<=", ">=", ">>", "=", NULL };
		size_t i;

		p = skip_ws(p + 1);
		for (i = 0; ops[i] && strncmp(p, ops[i], strlen(ops[i])); i++)
			;
		if (!ops[i]) {
			*why = "version relation must be one of << <= = >= >>";
			return false;
		}
		r->op = ops[i];
		p = skip_ws(p + strlen(ops[i]));
		for (q = p; isalnum((unsigned char)*q) || (*q && strchr(".+~:-", *q)); q++)
			;
		if (q == p || !isdigit((unsigned char)*p)) {
			*why = "invalid version";
			return false;
		}
		r->version = arena_strndup(a, p, (size_t)(q - p));
		p = skip_ws(q);
		if (*p != ')') {
			*why = "expected ')' after the version";
			return false;
		}
		p = skip_ws(p + 1);
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');
		size_t neg = 0;

		if (!close) {
			*why = "missing ']' after the architectures";
			return false;
		}
		if (split_words(&r->arches, arena_strndup(a, p + 1, (size_t)(close - p - 1)), a))
			return false;
		if (!r->arches.n) {
			*why = "empty architecture list";
			return false;
		}
		for (size_t i = 0; i < r->arches.n; i++) {
			const char *w = r->arches.v[i] + (r->arches.v[i][0] == '!');

			neg += r->arches.v[i][0] == '!';
			if (!*w || strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(w)) {
				*why = "invalid architecture in [...]";
				return false;
			}
		}
		if (neg && neg != r->arches.n) {
			*why = "architectures in [...] must be all negated or none";
			return false;
		}
		p = skip_ws(close + 1);
	}
	while (*p == '<') {
		const char *close = strchr(p, '>');
		struct strlist words = { NULL, 0 };

		if (!close) {
			*why = "missing '>' after the build profiles";
			return false;
		}
		if (split_words(&words, arena_strndup(a, p + 1, (size_t)(close - p - 1)), a))
			return false;
		if (!words.n) {
			*why = "empty build profile list";
			return false;
		}
		for (size_t i = 0; i < words.n; i++) {
			const char *w = words.v[i] + (words.v[i][0] == '!');

			if (!*w || strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(w)) {
				*why = "invalid build profile in <...>";
				return false;
			}
		}
		if (list_push(&r->profiles, arena_strndup(a, p + 1, (size_t)(close - p - 1)), a))
			return false;
		p = skip_ws(close + 1);
	}
	if (*p) {
		*why = "unexpected text after the relation";
		return false;
	}
	return r->name != NULL;
}

bool dep8_relations_ok(const char *field, bool dep8, const char **why, struct arena *a)
{
	struct strlist groups = { NULL, 0 };

	*why = "out of memory";
	if (split_at(&groups, field, ',', a))
		return false;
	for (size_t i = 0; i < groups.n; i++) {
		struct strlist alts = { NULL, 0 };

		if (!*groups.v[i] || (dep8 && (!strcmp(groups.v[i], "@builddeps@") || !strcmp(groups.v[i], "@recommends@"))))
			continue;
		if (split_at(&alts, groups.v[i], '|', a))
			return false;
		for (size_t j = 0; j < alts.n; j++) {
			struct relation r;
			const char *w;

			if (!*alts.v[j]) {
				*why = arena_printf(a, "empty alternative in '%s'", groups.v[i]);
				return false;
			}
			if (!relation_parse(&r, alts.v[j], dep8, &w, a)) {
				*why = arena_printf(a, "invalid dependency '%s': %s", alts.v[j], w ? w : "out of memory");
				return false;
			}
		}
	}
	return true;
}

/* ---- architectures ----------------------------------------------------- */

/* The CPU part of a Debian architecture on Linux (armel, armhf: arm). */
static const char *arch_cpu(const char *arch)
{
	if (!strcmp(arch, "armel") || !strcmp(arch, "armhf"))
		return "arm";
	if (!strcmp(arch, "ppc64el"))
		return "ppc64el";
	return arch;
}

bool dep8_arch_matches(const char *arch, const char *pattern)
{
	if (!strcmp(pattern, "any") || !strcmp(pattern, arch) || !strcmp(pattern, "linux-any"))
		return true;
	if (!strncmp(pattern, "any-", 4))
		return !strcmp(pattern + 4, arch_cpu(arch)) || !strcmp(pattern + 4, arch);
	if (!strncmp(pattern, "linux-", 6))
		return !strcmp(pattern + 6, arch_cpu(arch)) || !strcmp(pattern + 6, arch);
	return false;
}

const char *dep8_arch_excluded(const struct dep8_test *t, const char *arch, struct arena *a)
{
	size_t neg = 0;
	bool matched = false;

	for (size_t i = 0; i < t->architectures.n; i++) {
		const char *w = t->architectures.v[i];

		if (!strcmp(w, "all"))
			return "Arch 'all' not allowed in Architecture field";
		if (w[0] == '!') {
			neg++;
			if (dep8_arch_matches(arch, w + 1))
				return arena_printf(a, "Test declares architecture as not supported: %s", arch);
		} else if (dep8_arch_matches(arch, w)) {
			matched = true;
		}
	}
	if (!t->architectures.n || neg == t->architectures.n)
		return NULL;
	if (neg)
		return "It is not permitted for some archs to be prepended by an exclamation mark while others aren't";
	if (!matched)
		return arena_printf(a, "Test lists explicitly supported architectures, but the current architecture %s "
				    "isn't listed.", arch);
	return NULL;
}

/* True when a relation's [arches] admit arch (none given: yes). */
static bool arches_admit(const struct relation *r, const char *arch)
{
	bool neg = r->arches.n && r->arches.v[0][0] == '!';

	if (!r->arches.n)
		return true;
	for (size_t i = 0; i < r->arches.n; i++) {
		if (dep8_arch_matches(arch, r->arches.v[i] + neg))
			return !neg;
	}
	return neg;
}

/* True when a relation's build profiles hold with no profile active: one group whose terms are all negated. */
static bool profiles_admit(const struct relation *r, struct arena *a)
{
	if (!r->profiles.n)
		return true;
	for (size_t i = 0; i < r->profiles.n; i++) {
		struct strlist words = { NULL, 0 };
		bool all = true;

		if (split_words(&words, r->profiles.v[i], a))
			return false;
		for (size_t j = 0; j < words.n; j++)
			all = all && words.v[j][0] == '!';
		if (all)
			return true;
	}
	return false;
}

/* ---- expansion --------------------------------------------------------- */

/* A binary built on arch (Architecture all, any, or a list that matches). */
static bool binary_built(const struct dep8_binary *b, const char *arch, struct arena *a)
{
	struct strlist words = { NULL, 0 };

	if (split_words(&words, b->arch, a))
		return false;
	for (size_t i = 0; i < words.n; i++) {
		if (!strcmp(words.v[i], "all") || dep8_arch_matches(arch, words.v[i]))
			return true;
	}
	return false;
}

/* Resolves one or-group for arch and adds what is left (if anything) to out. */
static int add_group(struct strlist *out, const char *group, const char *arch, bool dep8, const char **why,
		     struct arena *a)
{
	struct strlist alts = { NULL, 0 };
	struct sbuf sb = SBUF_INIT;
	int rc = 0;

	if (!*group)
		return 0;
	if (split_at(&alts, group, '|', a))
		return ALTS_ENOMEM;
	for (size_t i = 0; i < alts.n; i++) {
		struct relation r;

		if (!relation_parse(&r, alts.v[i], dep8, why, a)) {
			if (!*why)
				*why = "out of memory";
			else
				*why = arena_printf(a, "invalid dependency '%s': %s", alts.v[i], *why);
			rc = ALTS_EINVALID;
			goto out;
		}
		if (!arches_admit(&r, arch) || !profiles_admit(&r, a))
			continue;
		sbuf_addf(&sb, "%s%s%s%s", sb.len ? " | " : "", r.name, r.archqual ? ":" : "", r.archqual ? r.archqual : "");
		if (r.op)
			sbuf_addf(&sb, " (%s %s)", r.op, r.version);
	}
	if (!sbuf_ok(&sb))
		rc = ALTS_ENOMEM;
	else if (sb.len && list_push(out, arena_strndup(a, sb.buf, sb.len), a))
		rc = ALTS_ENOMEM;
out:
	sbuf_release(&sb);
	return rc;
}

/* Adds every or-group of a field (a Build-Depends, a Recommends) to out. */
static int add_field(struct strlist *out, const char *field, const char *arch, const char **why, struct arena *a)
{
	struct strlist groups = { NULL, 0 };
	int rc;

	if (!field)
		return 0;
	if (split_at(&groups, field, ',', a))
		return ALTS_ENOMEM;
	for (size_t i = 0; i < groups.n; i++) {
		rc = add_group(out, groups.v[i], arch, false, why, a);
		if (rc)
			return rc;
	}
	return 0;
}

/* group with every '@' replaced by name. */
static char *substitute(const char *group, const char *name, struct arena *a)
{
	struct sbuf sb = SBUF_INIT;
	char *s;

	for (const char *p = group; *p; p++) {
		if (*p == '@')
			sbuf_adds(&sb, name);
		else
			sbuf_addch(&sb, *p);
	}
	s = sbuf_ok(&sb) ? arena_strndup(a, sb.buf, sb.len) : NULL;
	sbuf_release(&sb);
	return s;
}

int dep8_depends_expand(struct strlist *out, const struct dep8_test *t, const struct dep8_source *src,
			const char *arch, const char *file, struct arena *a, struct alts_err *err)
{
	struct strlist groups = { NULL, 0 }, deps = { NULL, 0 };
	const char *why = NULL;
	int rc = 0;

	if (split_at(&groups, t->depends, ',', a))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < groups.n; i++) {
		const char *g = groups.v[i];

		if (!strcmp(g, "@builddeps@")) {
			rc = add_field(&deps, src->build_depends, arch, &why, a);
			if (!rc)
				rc = list_push(&deps, "build-essential", a);
		} else if (!strcmp(g, "@recommends@")) {
			for (size_t b = 0; !rc && b < src->nbins; b++) {
				if (binary_built(&src->bins[b], arch, a))
					rc = add_field(&deps, src->bins[b].recommends, arch, &why, a);
			}
		} else if (strchr(g, '@')) {
			for (size_t b = 0; !rc && b < src->nbins; b++) {
				if (binary_built(&src->bins[b], arch, a))
					rc = add_group(&deps, substitute(g, src->bins[b].name, a), arch, true, &why, a);
			}
		} else {
			rc = add_group(&deps, g, arch, true, &why, a);
		}
	}
	if (rc == ALTS_EINVALID)
		return fail_at(err, file, t->depends_line, "Depends: %s", why);
	if (rc)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	*out = deps;
	return 0;
}

/* ---- debian/tests/control ---------------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} restrictions[] = {
	{ "allow-stderr", DEP8_ALLOW_STDERR },
	{ "breaks-testbed", DEP8_BREAKS_TESTBED },
	{ "build-needed", DEP8_BUILD_NEEDED },
	{ "flaky", DEP8_FLAKY },
	{ "hint-testsuite-triggers", DEP8_HINT_TESTSUITE_TRIGGERS },
	{ "isolation-container", DEP8_ISOLATION_CONTAINER },
	{ "isolation-machine", DEP8_ISOLATION_MACHINE },
	{ "needs-internet", DEP8_NEEDS_INTERNET },
	{ "needs-reboot", DEP8_NEEDS_REBOOT },
	{ "needs-recommends", DEP8_NEEDS_RECOMMENDS },
	{ "needs-root", DEP8_NEEDS_ROOT },
	{ "needs-sudo", DEP8_NEEDS_SUDO },
	{ "rw-build-tree", DEP8_RW_BUILD_TREE },
	{ "skip-foreign-architecture", DEP8_SKIP_FOREIGN_ARCHITECTURE },
	{ "skip-not-installable", DEP8_SKIP_NOT_INSTALLABLE },
	{ "skippable", DEP8_SKIPPABLE },
	{ "superficial", DEP8_SUPERFICIAL },
};

unsigned dep8_restriction_lookup(const char *name)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(restrictions); i++) {
		if (!strcmp(restrictions[i].name, name))
			return restrictions[i].bit;
	}
	return 0;
}

static const char *const known_fields[] = { "Tests", "Test-Command", "Restrictions", "Features", "Depends",
					    "Tests-Directory", "Classes", "Architecture", NULL };

/* A relative path without '..' components. */
static bool relative_inside(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		while (*s == '/')
			s++;
	}
	return true;
}

/* Fills what every test of a stanza shares; the caller sets name, path, command, skip. */
static int stanza_common(struct dep8_test *t, const struct stanza *s, const char *file, struct arena *a,
			 struct alts_err *err)
{
	const struct field *dep = stanza_get(s, "Depends");
	struct strlist words = { NULL, 0 };
	const char *why;

	t->line = s->line;
	t->depends = dep ? arena_strdup(a, dep->value.buf) : "@";
	t->depends_line = dep ? dep->line : s->line;
	if (!t->depends || split_words(&words, stanza_value(s, "Restrictions"), a) ||
	    split_words(&t->architectures, stanza_value(s, "Architecture"), a) ||
	    split_words(&t->classes, stanza_value(s, "Classes"), a) || split_words(&t->features, stanza_value(s, "Features"), a))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (!dep8_relations_ok(t->depends, true, &why, a))
		return fail_at(err, file, t->depends_line, "Depends: %s", why);
	for (size_t i = 0; i < words.n; i++) {
		unsigned bit = dep8_restriction_lookup(words.v[i]);

		if (!bit && !t->skip)
			t->skip = arena_printf(a, "unknown restriction %s", words.v[i]);
		t->restrictions |= bit;
	}
	/* autopkgtest's order: an unknown field is reported before an unknown restriction. */
	for (size_t i = 0; i < s->n; i++) {
		size_t k;

		for (k = 0; known_fields[k] && strcasecmp(known_fields[k], s->f[i].name); k++)
			;
		if (!known_fields[k]) {
			t->skip = arena_printf(a, "unknown field %s", s->f[i].name);
			break;
		}
	}
	return 0;
}

/* The test-name= feature of a stanza (*name NULL when none). */
static int feature_test_name(const struct stanza *s, const char **name, const char *file, struct arena *a,
			     struct alts_err *err)
{
	const struct field *f = stanza_get(s, "Features");
	struct strlist words = { NULL, 0 };

	*name = NULL;
	if (!f)
		return 0;
	if (split_words(&words, f->value.buf, a))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < words.n; i++) {
		const char *w = words.v[i];

		if (strncmp(w, "test-name", 9) || (w[9] && w[9] != '='))
			continue;
		if (!w[9] || !w[10])
			return fail_at(err, file, f->line, "test-name feature with no argument");
		if (*name)
			return fail_at(err, file, f->line, "only one test-name feature allowed");
		*name = w + 10;
	}
	return 0;
}

static int push_test(struct dep8_control *c, size_t *alloc, struct arena *a, struct dep8_test **t)
{
	if (c->ntests == *alloc) {
		size_t want = *alloc ? 2 * *alloc : 8;
		struct dep8_test *v = arena_alloc(a, want * sizeof(*v));

		if (!v)
			return ALTS_ENOMEM;
		if (c->ntests)
			memcpy(v, c->tests, c->ntests * sizeof(*v));
		c->tests = v;
		*alloc = want;
	}
	*t = &c->tests[c->ntests++];
	memset(*t, 0, sizeof(**t));
	return 0;
}

static int control_stanza(struct dep8_control *c, size_t *alloc, const struct stanza *s, int *ncommands,
			  const char *file, struct arena *a, struct alts_err *err)
{
	const struct field *tests = stanza_get(s, "Tests"), *command = stanza_get(s, "Test-Command");
	const char *dir = stanza_value(s, "Tests-Directory"), *tname;
	struct dep8_test *t;
	int rc = feature_test_name(s, &tname, file, a, err);

	if (rc)
		return rc;
	if (tests && command)
		return fail_at(err, file, command->line, "only one of \"Tests\" or \"Test-Command\" may be given");
	if (!tests && !command)
		return fail_at(err, file, s->line, "missing \"Tests\" or \"Test-Command\" field");
	if (command) {
		if (!*command->value.buf)
			return fail_at(err, file, command->line, "\"Test-Command\" field is empty");
		if (push_test(c, alloc, a, &t))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		t->name = tname ? arena_strdup(a, tname) : arena_printf(a, "command%d", ++*ncommands);
		t->command = arena_strdup(a, command->value.buf);
		if (!t->name || !t->command)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		rc = stanza_common(t, s, file, a, err);
		if (!rc && !t->skip && strchr(t->name, '/'))
			t->skip = "test name may not contain / character";
		return rc;
	}
	if (tname)
		return fail_at(err, file, stanza_get(s, "Features")->line, "test-name feature incompatible with Tests");
	if (dir && !relative_inside(dir))
		return fail_at(err, file, stanza_get(s, "Tests-Directory")->line,
			       "Tests-Directory '%s' must be a relative path inside the source tree", dir);
	{
		struct strlist names = { NULL, 0 };

		if (split_words(&names, tests->value.buf, a))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		if (!names.n)
			return fail_at(err, file, tests->line, "\"Tests\" field is empty");
		for (size_t i = 0; i < names.n; i++) {
			if (push_test(c, alloc, a, &t))
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			t->name = names.v[i];
			t->path = arena_printf(a, "%s/%s", dir ? dir : "debian/tests", names.v[i]);
			if (!t->path)
				return alts_err_set(err, ALTS_ENOMEM, "out of memory");
			rc = stanza_common(t, s, file, a, err);
			if (rc)
				return rc;
			if (!t->skip && (strchr(t->name, '/') || !strcmp(t->name, "..") || !strcmp(t->name, ".")))
				t->skip = "test name may not contain / character";
		}
	}
	return 0;
}

int dep8_control_parse(struct dep8_control *out, const char *text, size_t len, const char *file, struct arena *a,
		       struct alts_err *err)
{
	struct stanzas st;
	struct dep8_control c = { NULL, 0 };
	size_t alloc = 0;
	int ncommands = 0;
	int rc = rfc822_parse(&st, text, len, file, a, err);

	if (rc)
		return rc;
	if (!st.n)
		rc = fail_at(err, file, 1, "no test stanza (a DEP-8 control file names at least one test)");
	for (size_t i = 0; !rc && i < st.n; i++)
		rc = control_stanza(&c, &alloc, &st.v[i], &ncommands, file, a, err);
	stanzas_release(&st);
	if (!rc)
		*out = c;
	return rc;
}

/* ---- debian/control ---------------------------------------------------- */

/* A Debian package name: lower-case letters, digits, + - . (two or more, starting alphanumeric). */
static bool binary_name_ok(const char *s)
{
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++) {
		if (!pkg_char(*p, false))
			return false;
	}
	return strlen(s) >= 2 && strlen(s) <= 255;
}

int dep8_source_parse(struct dep8_source *out, const char *text, size_t len, const char *file, struct arena *a,
		      struct alts_err *err)
{
	static const char *const bd_fields[] = { "Build-Depends", "Build-Depends-Indep", "Build-Depends-Arch", NULL };
	struct dep8_source src;
	struct stanzas st;
	struct sbuf bd = SBUF_INIT;
	size_t alloc = 0;
	int rc = rfc822_parse(&st, text, len, file, a, err);

	if (rc)
		return rc;
	memset(&src, 0, sizeof(src));
	for (size_t i = 0; !rc && i < st.n; i++) {
		const struct stanza *s = &st.v[i];
		const char *pkg = stanza_value(s, "Package"), *type, *why;

		if (!pkg) {
			if (!src.name && stanza_value(s, "Source"))
				src.name = arena_strdup(a, stanza_value(s, "Source"));
			for (size_t k = 0; bd_fields[k]; k++) {
				const struct field *f = stanza_get(s, bd_fields[k]);

				if (!f || !*f->value.buf)
					continue;
				if (!dep8_relations_ok(f->value.buf, false, &why, a)) {
					rc = fail_at(err, file, f->line, "%s: %s", bd_fields[k], why);
					break;
				}
				sbuf_addf(&bd, "%s%s", bd.len ? ", " : "", f->value.buf);
			}
			continue;
		}
		type = stanza_value(s, "Package-Type");
		if (!type)
			type = stanza_value(s, "XC-Package-Type");
		if (type && strcmp(type, "deb"))
			continue;
		if (src.nbins == alloc) {
			size_t want = alloc ? 2 * alloc : 8;
			struct dep8_binary *v = arena_alloc(a, want * sizeof(*v));

			if (!v) {
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
				break;
			}
			if (src.nbins)
				memcpy(v, src.bins, src.nbins * sizeof(*v));
			src.bins = v;
			alloc = want;
		}
		if (!binary_name_ok(pkg)) {
			rc = fail_at(err, file, stanza_get(s, "Package")->line, "invalid package name '%s'", pkg);
			break;
		}
		src.bins[src.nbins].name = arena_strdup(a, pkg);
		src.bins[src.nbins].arch = arena_strdup(a, stanza_value(s, "Architecture") ? stanza_value(s, "Architecture")
											  : "any");
		src.bins[src.nbins].recommends =
			stanza_value(s, "Recommends") ? arena_strdup(a, stanza_value(s, "Recommends")) : NULL;
		if (stanza_value(s, "Recommends") && !dep8_relations_ok(stanza_value(s, "Recommends"), false, &why, a)) {
			rc = fail_at(err, file, stanza_get(s, "Recommends")->line, "Recommends: %s", why);
			break;
		}
		src.nbins++;
	}
	if (!rc) {
		src.build_depends = sbuf_ok(&bd) ? arena_strndup(a, bd.buf, bd.len) : NULL;
		if (!src.build_depends)
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	sbuf_release(&bd);
	stanzas_release(&st);
	if (!rc)
		*out = src;
	return rc;
}
