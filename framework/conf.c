#include "framework/common.h"
#include "framework/conf.h"
#include "framework/sbuf.h"

#include <math.h>

struct conf_loc conf_node_loc(yaml_node_t *node)
{
	struct conf_loc loc = { 0, 0 };

	if (node) {
		loc.line = (int)node->start_mark.line + 1;
		loc.col = (int)node->start_mark.column + 1;
	}
	return loc;
}

int conf_fail(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	struct conf_loc loc = conf_node_loc(node);
	va_list ap;

	sbuf_adds(&sb, ctx->file ? ctx->file : "<input>");
	if (loc.line)
		sbuf_addf(&sb, ":%d:%d", loc.line, loc.col);
	sbuf_adds(&sb, ": ");
	if (path && *path)
		sbuf_addf(&sb, "%s: ", path);
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	alts_err_set(ctx->err, ALTS_EINVALID, "%s", sbuf_ok(&sb) ? sb.buf : "invalid input");
	sbuf_release(&sb);
	return ALTS_EINVALID;
}

static int conf_oom(struct conf_ctx *ctx)
{
	return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory while reading '%s'",
			    ctx->file ? ctx->file : "<input>");
}

const char *conf_scalar(yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

bool conf_is_null(yaml_node_t *node)
{
	const char *s;

	if (!node)
		return true;
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = conf_scalar(node);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *conf_type_name(yaml_node_t *node)
{
	if (!node || conf_is_null(node))
		return "null";
	switch (node->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a scalar";
	}
}

const char *conf_path_key(struct conf_ctx *ctx, const char *path, const char *key)
{
	const char *p = (path && *path) ? arena_printf(ctx->arena, "%s.%s", path, key)
					: arena_strdup(ctx->arena, key);

	return p ? p : key;
}

const char *conf_path_index(struct conf_ctx *ctx, const char *path, size_t index)
{
	const char *p = arena_printf(ctx->arena, "%s[%zu]", path ? path : "", index);

	return p ? p : "";
}

bool conf_parse_duration(const char *text, double *out)
{
	char *end;
	double v, mult = 1;

	if (!text || !*text)
		return false;
	/* Plain decimal only: strtod would also take signs, exponents and hex. */
	size_t len = strspn(text, "0123456789");

	if (!len)
		return false;
	if (text[len] == '.') {
		size_t frac = strspn(text + len + 1, "0123456789");

		if (!frac)
			return false;
		len += 1 + frac;
	}
	errno = 0;
	v = strtod(text, &end);
	if (end != text + len)
		return false;
	if (end == text || errno || !isfinite(v) || v < 0)
		return false;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1;
	else if (!strcmp(end, "ms"))
		mult = 0.001;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else
		return false;
	*out = v * mult;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int expect_scalar(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *what,
			 const char **out)
{
	const char *s = conf_scalar(node);

	if (!s || conf_is_null(node))
		return conf_fail(ctx, node, path, "expected %s, got %s", what, conf_type_name(node));
	*out = s;
	return 0;
}

static int decode_string(struct conf_ctx *ctx, yaml_node_t *node, const char *path, unsigned flags,
			 const char **field)
{
	const char *s;
	int rc = expect_scalar(ctx, node, path, "a string", &s);

	if (rc)
		return rc;
	if ((flags & CONF_NONEMPTY) && !*s)
		return conf_fail(ctx, node, path, "must not be empty");
	if (strlen(s) != node->data.scalar.length)
		return conf_fail(ctx, node, path, "contains a NUL character");
	if (!(flags & CONF_LONG) && node->data.scalar.length > CONF_STRING_MAX)
		return conf_fail(ctx, node, path, "'%.32s...' is %zu bytes long, more than the %u allowed", s,
				 node->data.scalar.length, CONF_STRING_MAX);
	*field = arena_strdup(ctx->arena, s);
	return *field ? 0 : conf_oom(ctx);
}

static int decode_int(struct conf_ctx *ctx, yaml_node_t *node, const char *path, long *field)
{
	const char *s;
	char *end;
	long v;
	int rc = expect_scalar(ctx, node, path, "an integer", &s);

	if (rc)
		return rc;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno)
		return conf_fail(ctx, node, path, "expected an integer, got '%s'", s);
	*field = v;
	return 0;
}

static int decode_bool(struct conf_ctx *ctx, yaml_node_t *node, const char *path, bool *field)
{
	const char *s;
	int rc = expect_scalar(ctx, node, path, "true or false", &s);

	if (rc)
		return rc;
	if (!parse_bool(s, field))
		return conf_fail(ctx, node, path, "expected true or false, got '%s'", s);
	return 0;
}

static int decode_duration(struct conf_ctx *ctx, yaml_node_t *node, const char *path, double *field)
{
	const char *s;
	int rc = expect_scalar(ctx, node, path, "a duration", &s);

	if (rc)
		return rc;
	if (!conf_parse_duration(s, field))
		return conf_fail(ctx, node, path,
				 "expected a duration (seconds, or a number with ms, s, m, h or d), got '%s'", s);
	return 0;
}

static int decode_strlist(struct conf_ctx *ctx, yaml_node_t *node, const char *path, unsigned flags,
			  struct strlist *field)
{
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (node->type == YAML_SCALAR_NODE && !conf_is_null(node)) {
		field->v = arena_alloc(ctx->arena, 2 * sizeof(char *));
		if (!field->v)
			return conf_oom(ctx);
		field->n = 1;
		return decode_string(ctx, node, path, flags, &field->v[0]);
	}
	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of strings, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (!n && (flags & CONF_NONEMPTY))
		return conf_fail(ctx, node, path, "must not be empty");
	field->v = arena_alloc(ctx->arena, (n + 1) * sizeof(char *));
	if (!field->v)
		return conf_oom(ctx);
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		yaml_node_t *child = yaml_document_get_node(ctx->doc, *item);
		int rc = decode_string(ctx, child, conf_path_index(ctx, path, i), 0, &field->v[i]);

		if (rc)
			return rc;
	}
	field->n = n;
	return 0;
}

static int decode_argv(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct conf_argv *field)
{
	struct strlist list = { 0 };
	int rc;

	if (node->type == YAML_SCALAR_NODE && !conf_is_null(node)) {
		const char *cmd;

		rc = decode_string(ctx, node, path, CONF_NONEMPTY, &cmd);
		if (rc)
			return rc;
		field->argv = arena_alloc(ctx->arena, 4 * sizeof(char *));
		if (!field->argv)
			return conf_oom(ctx);
		field->argv[0] = "/bin/sh";
		field->argv[1] = "-c";
		field->argv[2] = cmd;
		field->argc = 3;
		field->shell = true;
		return 0;
	}
	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a command (a string or a list of arguments), got %s",
				 conf_type_name(node));
	rc = decode_strlist(ctx, node, path, CONF_NONEMPTY, &list);
	if (rc)
		return rc;
	if (!*list.v[0])
		return conf_fail(ctx, node, path, "the program name must not be empty");
	field->argv = list.v;
	field->argc = list.n;
	field->shell = false;
	return 0;
}

static int decode_strmap(struct conf_ctx *ctx, yaml_node_t *node, const char *path, unsigned flags,
			 struct strmap *field)
{
	yaml_node_pair_t *pair;
	size_t n, i = 0;

	if (node->type != YAML_MAPPING_NODE)
		return conf_fail(ctx, node, path, "expected a mapping of names to strings, got %s",
				 conf_type_name(node));
	n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	if (!n && (flags & CONF_NONEMPTY))
		return conf_fail(ctx, node, path, "must not be empty");
	field->keys = arena_alloc(ctx->arena, (n + 1) * sizeof(char *));
	field->values = arena_alloc(ctx->arena, (n + 1) * sizeof(char *));
	if (!field->keys || !field->values)
		return conf_oom(ctx);
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++, i++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ctx->doc, pair->value);
		const char *name;
		int rc = decode_string(ctx, k, path, CONF_NONEMPTY, &name);

		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(field->keys[j], name))
				return conf_fail(ctx, k, path, "duplicate key '%s'", name);
		}
		field->keys[i] = name;
		rc = decode_string(ctx, v, conf_path_key(ctx, path, name), 0, &field->values[i]);
		if (rc)
			return rc;
	}
	field->n = n;
	return 0;
}

int conf_decode_value(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const struct conf_key *key,
		      void *field)
{
	int rc;

	switch (key->type) {
	case CONF_STRING: rc = decode_string(ctx, node, path, key->flags, field); break;
	case CONF_INT: rc = decode_int(ctx, node, path, field); break;
	case CONF_BOOL: rc = decode_bool(ctx, node, path, field); break;
	case CONF_DURATION: rc = decode_duration(ctx, node, path, field); break;
	case CONF_STRLIST: rc = decode_strlist(ctx, node, path, key->flags, field); break;
	case CONF_ARGV: rc = decode_argv(ctx, node, path, field); break;
	case CONF_STRMAP: rc = decode_strmap(ctx, node, path, key->flags, field); break;
	case CONF_CUSTOM:
		ALTS_ASSERT_ARG(key->parse, ctx->err);
		rc = key->parse(ctx, node, path, field);
		break;
	default: return alts_err_set(ctx->err, ALTS_EINTERNAL, "unknown conf type %d", (int)key->type);
	}
	if (!rc && key->validate)
		rc = key->validate(ctx, node, path, field);
	return rc;
}

static const struct conf_key *find_key(const struct conf_section *sections, size_t nsections,
				       const char *name, void **base)
{
	for (size_t s = 0; s < nsections; s++) {
		for (const struct conf_key *k = sections[s].keys; k && k->name; k++) {
			if (!strcmp(k->name, name)) {
				*base = sections[s].base;
				return k;
			}
		}
	}
	return NULL;
}

static void list_known_keys(struct sbuf *sb, const struct conf_section *sections, size_t nsections)
{
	bool first = true;

	for (size_t s = 0; s < nsections; s++) {
		for (const struct conf_key *k = sections[s].keys; k && k->name; k++) {
			sbuf_addf(sb, "%s%s", first ? "" : ", ", k->name);
			first = false;
		}
	}
}

static int fail_unknown_key(struct conf_ctx *ctx, yaml_node_t *knode, const char *path, const char *name,
			    const struct conf_section *sections, size_t nsections)
{
	struct sbuf known = SBUF_INIT;
	int rc;

	list_known_keys(&known, sections, nsections);
	rc = conf_fail(ctx, knode, path, "unknown key '%s' (known keys: %s)", name, known.buf);
	sbuf_release(&known);
	return rc;
}

int conf_decode_map(struct conf_ctx *ctx, yaml_node_t *node, const char *path,
		    const struct conf_section *sections, size_t nsections)
{
	const char *seen[128];
	size_t nseen = 0;
	yaml_node_pair_t *pair;

	if (node->type != YAML_MAPPING_NODE)
		return conf_fail(ctx, node, path, "expected a mapping, got %s", conf_type_name(node));
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *knode = yaml_document_get_node(ctx->doc, pair->key);
		yaml_node_t *vnode = yaml_document_get_node(ctx->doc, pair->value);
		const char *name = conf_scalar(knode);
		const struct conf_key *key;
		void *base = NULL;
		int rc;

		if (!name)
			return conf_fail(ctx, knode, path, "keys must be strings, got %s", conf_type_name(knode));
		key = find_key(sections, nsections, name, &base);
		if (!key)
			return fail_unknown_key(ctx, knode, path, name, sections, nsections);
		for (size_t i = 0; i < nseen; i++) {
			if (!strcmp(seen[i], name))
				return conf_fail(ctx, knode, path, "duplicate key '%s'", name);
		}
		if (nseen == ALTS_ARRAY_SIZE(seen))
			return conf_fail(ctx, knode, path, "too many keys");
		seen[nseen++] = name;
		if (conf_is_null(vnode) && key->type != CONF_CUSTOM) {
			if (key->flags & CONF_REQUIRED)
				return conf_fail(ctx, vnode, conf_path_key(ctx, path, name), "must not be null");
			continue;  /* an explicit null is the default */
		}
		rc = conf_decode_value(ctx, vnode, conf_path_key(ctx, path, name), key,
				       (char *)base + key->offset);
		if (rc)
			return rc;
	}
	for (size_t s = 0; s < nsections; s++) {
		for (const struct conf_key *k = sections[s].keys; k && k->name; k++) {
			bool found = false;

			if (!(k->flags & CONF_REQUIRED))
				continue;
			for (size_t i = 0; i < nseen && !found; i++)
				found = !strcmp(seen[i], k->name);
			if (!found)
				return conf_fail(ctx, node, path, "missing required key '%s'", k->name);
		}
	}
	return 0;
}

/*
 * Walks the event stream before the document is built and refuses
 * nesting deeper than CONF_DEPTH_MAX. libyaml's loader recurses once per
 * level, and its scanner visits every open flow level for each token, so
 * 100,000 '[' took minutes; stopping at the first level too deep reads a
 * few thousand bytes. A syntax error is left for the loader to report.
 */
static int conf_check_depth(const char *file, const char *data, size_t len, struct alts_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return alts_err_set(err, ALTS_ENOMEM, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !rc && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > CONF_DEPTH_MAX)
				rc = alts_err_set(err, ALTS_EINVALID, "%s:%zu:%zu: nesting deeper than %d levels", file,
						  ev.start_mark.line + 1, ev.start_mark.column + 1, CONF_DEPTH_MAX);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int conf_load_document(yaml_document_t *doc, const char *file, const char *data, size_t len,
		       struct alts_err *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int rc = conf_check_depth(file, data, len, err);

	if (rc)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return alts_err_set(err, ALTS_ENOMEM, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, doc)) {
		if (parser.context)
			rc = alts_err_set(err, ALTS_EINVALID,
					  "%s:%zu:%zu: invalid YAML: %s %s that starts at line %zu, column %zu", file,
					  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
					  parser.problem ? parser.problem : "syntax error", parser.context,
					  parser.context_mark.line + 1, parser.context_mark.column + 1);
		else
			rc = alts_err_set(err, ALTS_EINVALID, "%s:%zu:%zu: invalid YAML: %s", file,
					  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
					  parser.problem ? parser.problem : "syntax error");
		goto out;
	}
	if (!yaml_document_get_root_node(doc)) {
		yaml_document_delete(doc);
		rc = alts_err_set(err, ALTS_EINVALID, "%s: the document is empty", file);
		goto out;
	}
	/* A second document in the stream is a mistake, not something to ignore. */
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_document_delete(doc);
		rc = alts_err_set(err, ALTS_EINVALID, "%s:%zu:%zu: invalid YAML: %s", file,
				  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				  parser.problem ? parser.problem : "syntax error");
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		yaml_node_t *n = yaml_document_get_root_node(&extra);

		rc = alts_err_set(err, ALTS_EINVALID, "%s:%zu:%zu: expected one document, found another",
				  file, n->start_mark.line + 1, n->start_mark.column + 1);
		yaml_document_delete(doc);
	}
	yaml_document_delete(&extra);
out:
	yaml_parser_delete(&parser);
	return rc;
}

int conf_check_one_of(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *what,
		      const char *value, const char *const *list)
{
	struct sbuf known = SBUF_INIT;
	int rc;

	for (const char *const *p = list; *p; p++) {
		if (!strcmp(*p, value))
			return 0;
	}
	for (const char *const *p = list; *p; p++)
		sbuf_addf(&known, "%s%s", p == list ? "" : ", ", *p);
	rc = conf_fail(ctx, node, path, "unknown %s '%s' (known: %s)", what, value, known.buf);
	sbuf_release(&known);
	return rc;
}

int conf_validate_port(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	return v >= 0 && v <= 65535 ? 0 : conf_fail(ctx, node, path, "port %ld is out of range 0..65535", v);
}

int conf_validate_positive(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	return v > 0 ? 0 : conf_fail(ctx, node, path, "must be a positive number, got %ld", v);
}

const char *conf_describe_char(char c, char *buf, size_t size)
{
	if (c == ' ')
		return "a space";
	if (isprint((unsigned char)c))
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned char)c);
	return buf;
}

bool conf_strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}
