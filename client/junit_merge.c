#include "framework/common.h"
#include "framework/sbuf.h"
#include "client/junit_merge.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A real XML parser (libxml2) reads the inputs, so any well-formed JUnit
 * works whatever its formatting, entities, CDATA sections or comments.
 * Parsing never touches the network (XML_PARSE_NONET) and substitutes no
 * external entities.
 */

#define JUNIT_MERGE_INPUT_MAX ((size_t)512 << 20)

/* One testsuite of the result, with what renaming needs. */
struct merge_suite {
	xmlNodePtr node;     /* in the output document */
	const char *file;    /* input path, borrowed */
	char *name;          /* original name (alts_malloc'd) */
	char *final;         /* name written (alts_malloc'd), NULL: unchanged */
};

struct merge {
	xmlDocPtr doc;
	xmlNodePtr root;
	struct merge_suite *v;
	size_t n, alloc;
};

static bool merge_is(xmlNodePtr node, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && !xmlStrcmp(node->name, (const xmlChar *)name);
}

/* The attribute's value, alts_malloc'd ("" when absent); NULL on OOM. */
static char *merge_prop(xmlNodePtr node, const char *name)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	char *s = alts_strdup(v ? (const char *)v : "");

	xmlFree(v);
	return s;
}

/* The value of <properties><property name=NAME value=.../></properties>, or NULL. */
static xmlChar *merge_property(xmlNodePtr suite, const char *name)
{
	xmlNodePtr props, p;

	for (props = suite->children; props; props = props->next) {
		if (!merge_is(props, "properties"))
			continue;
		for (p = props->children; p; p = p->next) {
			xmlChar *n;
			bool match;

			if (!merge_is(p, "property"))
				continue;
			n = xmlGetProp(p, (const xmlChar *)"name");
			match = n && !xmlStrcmp(n, (const xmlChar *)name);
			xmlFree(n);
			if (match)
				return xmlGetProp(p, (const xmlChar *)"value");
		}
	}
	return NULL;
}

static int merge_push(struct merge *m, xmlNodePtr node, const char *file, struct alts_err *err)
{
	struct merge_suite *s;

	if (m->n == m->alloc) {
		size_t want = m->alloc ? 2 * m->alloc : 8;
		struct merge_suite *v = alts_reallocarray(m->v, want, sizeof(*v));

		if (!v)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		m->v = v;
		m->alloc = want;
	}
	s = &m->v[m->n];
	memset(s, 0, sizeof(*s));
	s->name = merge_prop(node, "name");
	if (!s->name)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	s->node = node;
	s->file = file;
	m->n++;
	return 0;
}

/* Copies suite (from another document) to the end of the result. */
static int merge_add_suite(struct merge *m, xmlNodePtr suite, const char *file, struct alts_err *err)
{
	xmlNodePtr copy = xmlDocCopyNode(suite, m->doc, 1);
	xmlNodePtr indent = xmlNewDocText(m->doc, (const xmlChar *)"\n  ");

	if (!copy || !indent) {
		xmlFreeNode(indent);
		xmlFreeNode(copy);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory copying a testsuite of '%s'", file);
	}
	/* with both nodes and a parent, xmlAddChild cannot fail */
	xmlAddChild(m->root, indent);
	xmlAddChild(m->root, copy);
	return merge_push(m, copy, file, err);
}

static int merge_parse_error(xmlParserCtxtPtr ctxt, const char *path, struct alts_err *err)
{
	xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
	struct sbuf msg = SBUF_INIT;
	int rc;

	if (e && e->message) {
		sbuf_adds(&msg, e->message);
		sbuf_trim_trailing(&msg);
	}
	rc = alts_err_set(err, ALTS_EINVALID, "cannot parse '%s': line %d: %s", path, e ? e->line : 0,
			  msg.len ? msg.buf : "not well-formed XML");
	sbuf_release(&msg);
	return rc;
}

static int merge_read_input(struct merge *m, const char *path, struct alts_err *err)
{
	struct sbuf text = SBUF_INIT;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr in = NULL;
	xmlNodePtr root, child;
	int rc;

	rc = sbuf_read_file(&text, path, JUNIT_MERGE_INPUT_MAX);
	if (rc) {
		rc = alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read '%s'", path);
		goto out;
	}
	if (text.len > INT_MAX) {
		rc = alts_err_set(err, ALTS_EINVALID, "cannot read '%s': too large", path);
		goto out;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	in = xmlCtxtReadMemory(ctxt, text.buf, (int)text.len, path, NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!in) {
		rc = merge_parse_error(ctxt, path, err);
		goto out;
	}
	root = xmlDocGetRootElement(in);
	if (merge_is(root, "testsuite")) {
		rc = merge_add_suite(m, root, path, err);
		goto out;
	}
	if (!merge_is(root, "testsuites")) {
		rc = alts_err_set(err, ALTS_EINVALID, "'%s' is not JUnit XML: the root element is <%s>, expected "
				  "<testsuites> or <testsuite>", path, root ? (const char *)root->name : "");
		goto out;
	}
	for (child = root->children; child && !rc; child = child->next) {
		if (child->type != XML_ELEMENT_NODE)
			continue;
		if (!merge_is(child, "testsuite"))
			rc = alts_err_set(err, ALTS_EINVALID, "'%s': line %ld: <%s> in <testsuites>, expected <testsuite>",
					  path, xmlGetLineNo(child), (const char *)child->name);
		else
			rc = merge_add_suite(m, child, path, err);
	}
out:
	xmlFreeDoc(in);
	xmlFreeParserCtxt(ctxt);
	sbuf_release(&text);
	return rc;
}

/* "debian-12-x86_64" from the suite's properties, else the input's file name. */
static void merge_label(struct sbuf *sb, const struct merge_suite *s)
{
	static const char *const keys[] = { "dist_name", "dist_version", "dist_arch" };
	const char *base;
	size_t i;

	for (i = 0; i < ALTS_ARRAY_SIZE(keys); i++) {
		xmlChar *v = merge_property(s->node, keys[i]);

		if (v && *v)
			sbuf_addf(sb, "%s%s", sb->len ? "-" : "", (const char *)v);
		xmlFree(v);
	}
	if (sb->len)
		return;
	base = strrchr(s->file, '/');
	sbuf_adds(sb, base ? base + 1 : s->file);
}

static bool merge_name_taken(const struct merge *m, size_t upto, const char *name)
{
	size_t i;

	for (i = 0; i < upto; i++)
		if (!strcmp(m->v[i].final ? m->v[i].final : m->v[i].name, name))
			return true;
	return false;
}

static size_t merge_name_count(const struct merge *m, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		n += !strcmp(m->v[i].name, name);
	return n;
}

/* Rewrites classnames "<from>.<rest>" to "<to>.<rest>" in every testcase under node. */
static int merge_rename_classes(xmlNodePtr node, const char *from, const char *to)
{
	size_t flen = strlen(from);
	xmlNodePtr c;

	for (c = node->children; c; c = c->next) {
		xmlChar *cls;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (merge_is(c, "testsuite")) {
			if (merge_rename_classes(c, from, to))
				return ALTS_ENOMEM;
			continue;
		}
		if (!merge_is(c, "testcase"))
			continue;
		cls = xmlGetProp(c, (const xmlChar *)"classname");
		if (cls && !strncmp((const char *)cls, from, flen) && cls[flen] == '.') {
			char *renamed = alts_asprintf("%s%s", to, (const char *)cls + flen);

			if (!renamed || !xmlSetProp(c, (const xmlChar *)"classname", (const xmlChar *)renamed)) {
				alts_free(renamed);
				xmlFree(cls);
				return ALTS_ENOMEM;
			}
			alts_free(renamed);
		}
		xmlFree(cls);
	}
	return 0;
}

static int merge_rename(struct merge *m, size_t *renamed, struct alts_err *err)
{
	size_t i, k;

	*renamed = 0;
	for (i = 0; i < m->n; i++) {
		struct merge_suite *s = &m->v[i];
		struct sbuf name = SBUF_INIT, label = SBUF_INIT;
		bool clash = merge_name_count(m, s->name) > 1;

		sbuf_adds(&name, s->name);
		if (clash) {
			merge_label(&label, s);
			sbuf_addf(&name, " [%s]", label.buf);
		}
		for (k = 2; merge_name_taken(m, i, name.buf); k++) {
			sbuf_reset(&name);
			sbuf_addf(&name, "%s%s%s%s #%zu", s->name, clash ? " [" : "", clash ? label.buf : "",
				  clash ? "]" : "", k);
		}
		sbuf_release(&label);
		if (!sbuf_ok(&name)) {
			sbuf_release(&name);
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
		if (!strcmp(name.buf, s->name)) {
			sbuf_release(&name);
			continue;
		}
		s->final = sbuf_detach(&name, NULL);
		if (!s->final || !xmlSetProp(s->node, (const xmlChar *)"name", (const xmlChar *)s->final) ||
		    merge_rename_classes(s->node, s->name, s->final))
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		(*renamed)++;
	}
	return 0;
}

static void merge_count_cases(xmlNodePtr node, struct junit_merge_stats *st)
{
	xmlNodePtr c, v;

	for (c = node->children; c; c = c->next) {
		if (merge_is(c, "testsuite")) {
			merge_count_cases(c, st);
			continue;
		}
		if (!merge_is(c, "testcase"))
			continue;
		st->tests++;
		for (v = c->children; v; v = v->next) {
			if (merge_is(v, "failure")) {
				st->failures++;
				break;
			}
			if (merge_is(v, "error")) {
				st->errors++;
				break;
			}
		}
	}
}

/* A SUREFIRE_TIME value ("1,234.5"): seconds, 0 when absent or unreadable. */
static double merge_time(xmlNodePtr suite)
{
	xmlChar *v = xmlGetProp(suite, (const xmlChar *)"time");
	char buf[64];
	size_t i, n = 0;
	double t = 0;
	char *end;

	for (i = 0; v && v[i] && n + 1 < sizeof(buf); i++)
		if (v[i] != ',')
			buf[n++] = (char)v[i];
	buf[n] = '\0';
	xmlFree(v);
	if (n) {
		t = strtod(buf, &end);
		if (*end || !(t >= 0) || t > 1e12)
			t = 0;
	}
	return t;
}

static int merge_totals(struct merge *m, const struct junit_merge_opts *opts, struct junit_merge_stats *st,
			struct alts_err *err)
{
	char buf[64];
	size_t i;

	for (i = 0; i < m->n; i++) {
		merge_count_cases(m->v[i].node, st);
		st->time += merge_time(m->v[i].node);
	}
	st->suites = m->n;
	if (!xmlSetProp(m->root, (const xmlChar *)"name", (const xmlChar *)(opts->name ? opts->name : "alts")))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(buf, sizeof(buf), "%zu", st->tests);
	if (!xmlSetProp(m->root, (const xmlChar *)"tests", (const xmlChar *)buf))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(buf, sizeof(buf), "%zu", st->failures);
	if (!xmlSetProp(m->root, (const xmlChar *)"failures", (const xmlChar *)buf))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(buf, sizeof(buf), "%zu", st->errors);
	if (!xmlSetProp(m->root, (const xmlChar *)"errors", (const xmlChar *)buf))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(buf, sizeof(buf), "%.3f", st->time);
	if (!xmlSetProp(m->root, (const xmlChar *)"time", (const xmlChar *)buf))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (m->n && !xmlAddChild(m->root, xmlNewDocText(m->doc, (const xmlChar *)"\n")))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

/* libxml2 reports schema problems one by one; the first is kept. */
static void merge_schema_error(void *payload, xmlErrorPtr e)
{
	struct sbuf *sb = payload;

	if (sb->len || !e || !e->message)
		return;
	sbuf_adds(sb, e->message);
	sbuf_trim_trailing(sb);
}

static int merge_validate(xmlDocPtr doc, const char *schema, struct alts_err *err)
{
	xmlSchemaParserCtxtPtr pctxt = NULL;
	xmlSchemaValidCtxtPtr vctxt = NULL;
	xmlSchemaPtr xsd = NULL;
	struct sbuf msg = SBUF_INIT;
	int rc = 0;

	pctxt = xmlSchemaNewParserCtxt(schema);
	if (pctxt) {
		xmlSchemaSetParserStructuredErrors(pctxt, merge_schema_error, &msg);
		xsd = xmlSchemaParse(pctxt);
	}
	if (!xsd) {
		rc = alts_err_set(err, ALTS_EINVALID, "cannot load the schema '%s': %s", schema,
				  msg.len ? msg.buf : "unreadable");
		goto out;
	}
	vctxt = xmlSchemaNewValidCtxt(xsd);
	if (!vctxt) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctxt, merge_schema_error, &msg);
	if (xmlSchemaValidateDoc(vctxt, doc) != 0)
		rc = alts_err_set(err, ALTS_EINVALID, "the merged report is not valid against '%s': %s", schema,
				  msg.len ? msg.buf : "invalid");
out:
	xmlSchemaFreeValidCtxt(vctxt);
	xmlSchemaFree(xsd);
	xmlSchemaFreeParserCtxt(pctxt);
	sbuf_release(&msg);
	return rc;
}

static int merge_write_fd(int fd, const char *data, size_t len, const char *path, struct alts_err *err)
{
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return alts_err_errno(err, ALTS_ERROR, errno, "cannot write '%s'", path);
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes data to path through a temporary file in the same directory. */
static int merge_write(const char *path, const char *data, size_t len, struct alts_err *err)
{
	char *tmp = NULL;
	int fd = -1, rc;

	if (!strcmp(path, "-"))
		return merge_write_fd(STDOUT_FILENO, data, len, "-", err);
	tmp = alts_asprintf("%s.tmp.XXXXXX", path);
	if (!tmp)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot create '%s'", tmp);
		goto out;
	}
	rc = merge_write_fd(fd, data, len, tmp, err);
	if (!rc && fchmod(fd, 0644) != 0)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot chmod '%s'", tmp);
	if (close(fd) != 0 && !rc)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot write '%s'", tmp);
	if (!rc && rename(tmp, path) != 0)
		rc = alts_err_errno(err, ALTS_ERROR, errno, "cannot rename '%s' to '%s'", tmp, path);
	if (rc)
		unlink(tmp);
out:
	alts_free(tmp);
	return rc;
}

static void merge_release(struct merge *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		alts_free(m->v[i].name);
		alts_free(m->v[i].final);
	}
	alts_free(m->v);
	xmlFreeDoc(m->doc);
}

int junit_merge_files(const char *out_path, const char *const *inputs, size_t n,
		      const struct junit_merge_opts *opts, struct junit_merge_stats *stats, struct alts_err *err)
{
	static const struct junit_merge_opts defaults = JUNIT_MERGE_OPTS_INIT;
	struct junit_merge_stats st = { 0 };
	struct merge m = { 0 };
	xmlChar *mem = NULL;
	int len = 0, rc = 0;
	size_t i;

	ALTS_ASSERT_ARG(out_path && (inputs || !n), err);
	if (!opts)
		opts = &defaults;
	xmlInitParser();
	m.doc = xmlNewDoc((const xmlChar *)"1.0");
	m.root = m.doc ? xmlNewDocNode(m.doc, NULL, (const xmlChar *)"testsuites", NULL) : NULL;
	if (!m.root) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	xmlDocSetRootElement(m.doc, m.root);
	for (i = 0; i < n && !rc; i++)
		rc = merge_read_input(&m, inputs[i], err);
	if (!rc)
		rc = merge_rename(&m, &st.renamed, err);
	if (!rc)
		rc = merge_totals(&m, opts, &st, err);
	if (!rc && opts->schema)
		rc = merge_validate(m.doc, opts->schema, err);
	if (rc)
		goto out;
	xmlDocDumpFormatMemoryEnc(m.doc, &mem, &len, "UTF-8", 0);
	if (!mem || len <= 0) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory writing '%s'", out_path);
		goto out;
	}
	rc = merge_write(out_path, (const char *)mem, (size_t)len, err);
	if (!rc && stats)
		*stats = st;
out:
	xmlFree(mem);
	merge_release(&m);
	return rc;
}
