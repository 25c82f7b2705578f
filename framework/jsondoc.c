#include "framework/common.h"
#include "framework/jsondoc.h"
#include "framework/sbuf.h"

#define JSONDOC_MAX_DEPTH 2048  /* jansson's own limit */

struct jsondoc {
	const char *p, *end;
	yaml_document_t *doc;
	struct sbuf text;  /* the string being decoded */
	int depth;
};

static void skip_ws(struct jsondoc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct sbuf *sb, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	sbuf_add(sb, b, n);
}

/* A string at j->p (its opening quote), decoded into j->text. */
static int read_string(struct jsondoc *j)
{
	sbuf_reset(&j->text);
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		const char *run = j->p;
		unsigned cp, lo;

		while (j->p < j->end && *j->p != '"' && *j->p != '\\')
			j->p++;
		sbuf_add(&j->text, run, (size_t)(j->p - run));
		if (j->p >= j->end || *j->p == '"')
			break;
		if (++j->p >= j->end)
			return -1;
		switch (*j->p++) {
		case '"': sbuf_addch(&j->text, '"'); break;
		case '\\': sbuf_addch(&j->text, '\\'); break;
		case '/': sbuf_addch(&j->text, '/'); break;
		case 'b': sbuf_addch(&j->text, '\b'); break;
		case 'f': sbuf_addch(&j->text, '\f'); break;
		case 'n': sbuf_addch(&j->text, '\n'); break;
		case 'r': sbuf_addch(&j->text, '\r'); break;
		case 't': sbuf_addch(&j->text, '\t'); break;
		case 'u':
			if (hex4(j->p, j->end, &cp))
				return -1;
			j->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, j->end, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				j->p += 6;
			} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || !cp) {
				return -1;  /* a lone low surrogate; NUL, which libyaml's strings cannot hold */
			}
			put_utf8(&j->text, cp);
			break;
		default:
			return -1;
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;  /* the closing quote */
	return sbuf_ok(&j->text) ? 0 : -1;
}

static int add_scalar(struct jsondoc *j, const char *text, size_t len, yaml_scalar_style_t style)
{
	return yaml_document_add_scalar(j->doc, NULL, (yaml_char_t *)(uintptr_t)text, (int)len, style);
}

/* One value at j->p: its node id, 0 on anything unexpected. */
static int read_value(struct jsondoc *j)
{
	int id = 0;

	skip_ws(j);
	if (j->p >= j->end || ++j->depth > JSONDOC_MAX_DEPTH)
		return 0;
	if (*j->p == '{' || *j->p == '[') {
		bool map = *j->p == '{';
		char close = map ? '}' : ']';

		id = map ? yaml_document_add_mapping(j->doc, NULL, YAML_FLOW_MAPPING_STYLE)
			 : yaml_document_add_sequence(j->doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
		j->p++;
		skip_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
		} else {
			for (;;) {
				int key = 0, value;

				if (map) {
					skip_ws(j);
					if (j->p >= j->end || *j->p != '"' || !(key = read_value(j)))
						return 0;
					skip_ws(j);
					if (j->p >= j->end || *j->p != ':')
						return 0;
					j->p++;
				}
				value = read_value(j);
				if (!id || !value ||
				    !(map ? yaml_document_append_mapping_pair(j->doc, id, key, value)
					  : yaml_document_append_sequence_item(j->doc, id, value)))
					return 0;
				skip_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == close) {
					j->p++;
					break;
				}
				return 0;
			}
		}
	} else if (*j->p == '"') {
		if (!read_string(j))
			id = add_scalar(j, j->text.buf, j->text.len, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	} else {
		const char *start = j->p;

		while (j->p < j->end && (isalnum((unsigned char)*j->p) || *j->p == '-' || *j->p == '+' || *j->p == '.'))
			j->p++;
		if (j->p > start)
			id = add_scalar(j, start, (size_t)(j->p - start), YAML_PLAIN_SCALAR_STYLE);
	}
	j->depth--;
	return id;
}

int jsondoc_load(yaml_document_t *doc, const char *data, size_t len)
{
	struct jsondoc j = { data, data + len, doc, SBUF_INIT, 0 };
	int root;

	if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
		return -1;
	root = read_value(&j);
	skip_ws(&j);
	sbuf_release(&j.text);
	if (!root || j.p != j.end) {
		yaml_document_delete(doc);
		return -1;
	}
	return 0;
}
