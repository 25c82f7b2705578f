/*
 * Package-manager knowledge for upgrades, purges and leftovers: see
 * checks/pkg_life.h. Every argument is a separate argv element.
 */
#include "framework/common.h"
#include "checks/pkg_life.h"

static int finish(struct pkg_cmd *out, struct pkg_cmd *c, struct alts_err *err)
{
	if (c->oom || !c->argc) {
		pkg_cmd_release(c);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = *c;
	return 0;
}

/* "1:2.0-1" -> "2.0-1" when the epoch is 0 or not asked for. */
static const char *skip_epoch(const char *v, bool keep)
{
	const char *colon = strchr(v, ':');

	if (!colon || keep)
		return v;
	for (const char *p = v; p < colon; p++) {
		if (!isdigit((unsigned char)*p))
			return v;
	}
	return colon + 1;
}

bool pkg_version_matches(const char *installed, const char *requested)
{
	size_t n;

	if (!installed || !requested)
		return false;
	if (!strcmp(installed, requested))
		return true;
	if (!strncmp(installed, "0:", 2) && !strcmp(installed + 2, requested))
		return true;
	installed = skip_epoch(installed, strchr(requested, ':') != NULL);
	if (!strcmp(installed, requested))
		return true;
	/* The release is left out of the request: "2.0" is "2.0-1". */
	n = strlen(requested);
	return !strchr(requested, '-') && !strncmp(installed, requested, n) && installed[n] == '-' &&
	       !strchr(installed + n + 1, '-');
}

int pkg_purge_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *const *names, size_t n,
		  struct alts_err *err)
{
	struct pkg_cmd rm = PKG_CMD_INIT, c = PKG_CMD_INIT;
	bool done = false;
	int rc = pkg_remove_cmd(&rm, m, names, n, err);

	if (rc)
		return rc;
	/* The remove command with its action changed: apt-get remove -> purge --autoremove, dpkg -r -> --purge. */
	for (size_t i = 0; i < rm.argc; i++) {
		if (!done && m->tool == PKG_TOOL_APT && i == 1 && !strcmp(rm.argv[i], "remove")) {
			pkg_cmd_add(&c, "purge");
			/* What the package pulled in goes too (dnf does that on its own): the whole life. */
			pkg_cmd_add(&c, "--autoremove");
			done = true;
		} else if (!done && m->tool == PKG_TOOL_DPKG && !strcmp(rm.argv[i], "-r")) {
			pkg_cmd_add(&c, "--purge");
			done = true;
		} else {
			pkg_cmd_addf(&c, "%s", rm.argv[i]);
		}
	}
	c.env = rm.env;  /* static */
	pkg_cmd_release(&rm);
	return finish(out, &c, err);
}

int pkg_refresh_list_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *list, struct alts_err *err)
{
	static const char *const env[] = { "DEBIAN_FRONTEND=noninteractive", NULL };
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->tool != PKG_TOOL_APT || m->root) {
		*out = c;
		return 0;
	}
	pkg_cmd_add(&c, "apt-get");
	pkg_cmd_add(&c, "update");
	pkg_cmd_add(&c, "-o");
	pkg_cmd_addf(&c, "Dir::Etc::sourcelist=%s", list);
	pkg_cmd_add(&c, "-o");
	pkg_cmd_add(&c, "Dir::Etc::sourceparts=-");
	pkg_cmd_add(&c, "-o");
	pkg_cmd_add(&c, "APT::Get::List-Cleanup=0");
	c.env = env;
	return finish(out, &c, err);
}

int pkg_file_version_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *file, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->family == PKG_FAMILY_DEB) {
		pkg_cmd_add(&c, "dpkg-deb");
		pkg_cmd_add(&c, "-f");
		pkg_cmd_add(&c, file);
		pkg_cmd_add(&c, "Version");
	} else if (m->family == PKG_FAMILY_RPM) {
		pkg_cmd_add(&c, "rpm");
		pkg_cmd_add(&c, "-qp");
		pkg_cmd_add(&c, "--qf");
		pkg_cmd_add(&c, "%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n");
		pkg_cmd_add(&c, file);
	} else {
		return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	return finish(out, &c, err);
}

int pkg_origin_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err)
{
	static const char *const env[] = { "LC_ALL=C", NULL };
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->root || (m->tool != PKG_TOOL_APT && m->tool != PKG_TOOL_DNF))
		return alts_err_set(err, ALTS_ENOTFOUND, "%s cannot tell where a package came from",
				    pkg_tool_name(m->tool));
	if (m->tool == PKG_TOOL_APT) {
		pkg_cmd_add(&c, "apt-cache");
		pkg_cmd_add(&c, "policy");
	} else {
		pkg_cmd_add(&c, "dnf");
		pkg_cmd_add(&c, "-q");
		pkg_cmd_add(&c, "-C");
		pkg_cmd_add(&c, "repoquery");
		pkg_cmd_add(&c, "--installed");
		pkg_cmd_add(&c, "--qf");
		pkg_cmd_add(&c, "%{from_repo}");
	}
	pkg_cmd_add(&c, name);
	c.env = env;
	return finish(out, &c, err);
}

/* Appends the words of a line to sb, space-separated. */
static void add_word(struct sbuf *sb, const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return;
	if (sb->len)
		sbuf_addch(sb, ' ');
	sbuf_add(sb, s, len);
}

const char *pkg_origin_parse(const struct pkg_mgr *m, const char *text, struct arena *a)
{
	struct sbuf sb = SBUF_INIT;
	const char *res = NULL;
	bool in_installed = false, seen = false;

	if (!text)
		return NULL;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (m->tool == PKG_TOOL_APT) {
			/*
			 *  *** 2.0 500
			 *         500 file:/repo ./ Packages
			 *         100 /var/lib/dpkg/status
			 *      1.0 500
			 */
			const char *t = p;
			size_t tl = len;

			while (tl && *t == ' ') {
				t++;
				tl--;
			}
			if (tl >= 4 && !strncmp(t, "*** ", 4)) {
				in_installed = seen = true;
			} else if (in_installed && tl && isdigit((unsigned char)*t) && (size_t)(t - p) >= 8) {
				/* A source line: "<priority> <source>". */
				const char *sp = memchr(t, ' ', tl);

				if (sp) {
					size_t rest = tl - (size_t)(sp + 1 - t);

					if (!(rest >= 19 && !strncmp(sp + 1, "/var/lib/dpkg/status", 20)))
						add_word(&sb, sp + 1, rest);
				}
			} else if (in_installed) {
				in_installed = false;
			}
		} else {
			if (len) {
				add_word(&sb, p, len);
				seen = true;
			}
		}
		p = nl ? nl + 1 : p + len;
	}
	if (seen && sbuf_ok(&sb))
		res = arena_strndup(a, sb.len ? sb.buf : "", sb.len);
	sbuf_release(&sb);
	return res;
}

int pkg_conffiles_cmd(struct pkg_cmd *out, const struct pkg_mgr *m, const char *name, struct alts_err *err)
{
	struct pkg_cmd c = PKG_CMD_INIT;

	if (m->family == PKG_FAMILY_DEB) {
		pkg_cmd_add(&c, "dpkg-query");
		if (m->root)
			pkg_cmd_addf(&c, "--root=%s", m->root);
		pkg_cmd_add(&c, "-W");
		pkg_cmd_add(&c, "--showformat=${Conffiles}\\n");
	} else if (m->family == PKG_FAMILY_RPM) {
		pkg_cmd_add(&c, "rpm");
		if (m->root) {
			pkg_cmd_add(&c, "--root");
			pkg_cmd_add(&c, m->root);
		}
		pkg_cmd_add(&c, "-qc");
	} else {
		return alts_err_set(err, ALTS_EINTERNAL, "no package manager chosen");
	}
	pkg_cmd_add(&c, name);
	return finish(out, &c, err);
}

/* dpkg: " /etc/x 0123abcd... [obsolete]"; rpm: "/etc/x"; "(contains no files)". */
static int keep_conffile(const char *t, size_t len, const char **kept, struct arena *a, void *payload)
{
	const char *end;

	ALTS_UNUSED(payload);
	while (len && *t == ' ') {
		t++;
		len--;
	}
	end = memchr(t, ' ', len);
	if (!len || *t != '/' || (end && strstr(end, " obsolete") && (size_t)(strstr(end, " obsolete") - t) < len))
		return 0;
	*kept = arena_strndup(a, t, end ? (size_t)(end - t) : len);
	return *kept ? 1 : ALTS_ENOMEM;
}

int pkg_conffiles_parse(struct strlist *out, const char *text, struct arena *a)
{
	return pkg_lines_collect(out, text, keep_conffile, NULL, a);
}

/*
 * Failure lines by how much they tell: 3 says why (a maintainer script's
 * status, a refusal, a scriptlet), 2 says what failed, 1 is a generic
 * error line. 0: not a reason.
 */
static int reason_rank(const char *s, size_t len)
{
	static const struct {
		const char *needle;
		bool prefix;
		int rank;
	} pats[] = {
		{ "subprocess returned error exit status", false, 3 },
		{ "returned error exit status", false, 3 },
		{ "Refusing to remove", false, 3 },
		{ "scriptlet failed", false, 3 },
		{ "scriptlet in rpm package", false, 2 },
		{ "trying to overwrite", false, 3 },
		{ "conflicts with file from package", false, 3 },
		{ "file not found by glob", false, 3 },
		{ "dpkg: error processing", true, 2 },
		{ "dpkg: dependency problems", true, 2 },
		{ "dpkg: error", true, 2 },
		{ "E: Unable to locate package", true, 2 },
		{ "E: Version ", true, 2 },
		{ "No match for argument", true, 2 },
		{ "Problem: ", true, 2 },
		{ "nothing provides", false, 2 },
		{ "Depends: ", false, 2 },
		{ "E: Sub-process", true, 1 },
		{ "Errors were encountered", true, 0 },
		{ "E: ", true, 1 },
		{ "Error: ", true, 1 },
		{ "error: ", true, 1 },
		{ "fatal: ", true, 1 },
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(pats); i++) {
		size_t n = strlen(pats[i].needle);

		if (pats[i].prefix) {
			if (len >= n && !strncmp(s, pats[i].needle, n))
				return pats[i].rank;
		} else {
			for (size_t k = 0; k + n <= len; k++) {
				if (!strncmp(s + k, pats[i].needle, n))
					return pats[i].rank;
			}
		}
	}
	return 0;
}

struct reason_line {
	const char *s;
	size_t len;
	int rank;
	size_t order;
};

#define REASON_MAX_LINES 64

static void collect(const char *text, struct reason_line *v, size_t *n, size_t *order)
{
	const char *prev = NULL;
	size_t prev_len = 0;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool indented = len && (*p == ' ' || *p == '\t');
		const char *t = p;
		size_t tl = len;
		int rank;

		while (tl && isspace((unsigned char)*t)) {
			t++;
			tl--;
		}
		while (tl && isspace((unsigned char)t[tl - 1]))
			tl--;
		rank = tl ? reason_rank(t, tl) : 0;
		/* dpkg's "error processing X (--unpack):" is explained by the indented line after it. */
		if (indented && rank >= 3 && *n && prev && v[*n - 1].s == prev && v[*n - 1].len == prev_len &&
		    prev_len && prev[prev_len - 1] == ':') {
			v[*n - 1].len = (size_t)(t + tl - prev);
			v[*n - 1].rank = rank;
		} else if (rank && *n < REASON_MAX_LINES) {
			bool dup = false;

			for (size_t i = 0; i < *n && !dup; i++)
				dup = v[i].len == tl && !memcmp(v[i].s, t, tl);
			if (!dup) {
				v[*n].s = t;
				v[*n].len = tl;
				v[*n].rank = rank;
				v[*n].order = (*order)++;
				(*n)++;
			}
		}
		if (tl) {
			prev = t;
			prev_len = tl;
		}
		p = nl ? nl + 1 : p + len;
	}
}

const char *pkg_failure_reason(const char *out, const char *err, size_t max, struct arena *a)
{
	struct reason_line v[REASON_MAX_LINES];
	struct sbuf sb = SBUF_INIT;
	size_t n = 0, order = 0, taken = 0;
	const char *res = NULL;

	collect(err, v, &n, &order);
	collect(out, v, &n, &order);
	for (int rank = 3; rank >= 1 && taken < max; rank--) {
		for (size_t i = 0; i < n && taken < max; i++) {
			if (v[i].rank != rank)
				continue;
			if (taken++)
				sbuf_adds(&sb, " | ");
			/* A joined dpkg line keeps one space where its line break was. */
			for (size_t k = 0; k < v[i].len; k++) {
				char ch = v[i].s[k];

				if (ch == '\n' || ch == '\r' || ch == '\t') {
					sbuf_addch(&sb, ' ');
					while (k + 1 < v[i].len && isspace((unsigned char)v[i].s[k + 1]))
						k++;
				} else {
					sbuf_addch(&sb, ch);
				}
			}
		}
	}
	if (taken && sbuf_ok(&sb))
		res = arena_strndup(a, sb.buf, sb.len);
	sbuf_release(&sb);
	return res;
}
