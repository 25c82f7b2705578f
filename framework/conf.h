#ifndef ALTS_CONF_H
#define ALTS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "framework/arena.h"

/*
 * Declarative decoding of YAML (and JSON, which libyaml reads too) into
 * structs. Each mapping is described by a table of struct conf_key, so
 * every unknown key, wrong type and missing field fails the same way:
 *   suite.yaml:12:5: checks[2].launch.timeout: expected a duration, got 'soon'
 */

struct conf_loc {
	int line;  /* 1-based; 0 when unknown */
	int col;   /* 1-based */
};

struct strlist {
	const char **v;
	size_t n;
};

struct strmap {
	const char **keys;
	const char **values;
	size_t n;
};

/* A command: a list runs as argv; a string runs as /bin/sh -c STRING. */
struct conf_argv {
	const char **argv;  /* NULL-terminated */
	size_t argc;
	bool shell;         /* given as one string */
};

enum conf_type {
	CONF_STRING,    /* const char *: a scalar (numbers and booleans are taken as written) */
	CONF_INT,       /* long */
	CONF_BOOL,      /* bool: true/false/yes/no/on/off */
	CONF_DURATION,  /* double seconds: 30, 1.5, "90s", "5m", "2h", "1d" */
	CONF_STRLIST,   /* struct strlist: a sequence of scalars (a lone scalar is a list of one) */
	CONF_ARGV,      /* struct conf_argv */
	CONF_STRMAP,    /* struct strmap: a mapping of scalars */
	CONF_CUSTOM,    /* decoded by key->parse */
};

enum conf_flags {
	CONF_REQUIRED = 1 << 0,
	CONF_NONEMPTY = 1 << 1,  /* strings, lists and maps may not be empty */
	CONF_LONG = 1 << 2,      /* a string that never reaches argv or the environment: no CONF_STRING_MAX */
};

struct conf_ctx {
	yaml_document_t *doc;
	struct arena *arena;
	const char *file;      /* for messages */
	struct alts_err *err;
};

struct conf_key;

/* Validates a decoded field; returns 0 or conf_fail()'s result. */
typedef int (*conf_validate_fn)(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field);
/* Decodes node into field for CONF_CUSTOM keys. */
typedef int (*conf_parse_fn)(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field);

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;              /* of the field in the struct being decoded */
	unsigned flags;             /* enum conf_flags */
	conf_parse_fn parse;        /* CONF_CUSTOM only */
	conf_validate_fn validate;  /* optional, after decoding */
};

/* A NULL name ends a key table. */
#define CONF_KEYS_END { NULL, 0, 0, 0, NULL, NULL }

/* One key table and the struct its offsets point into. */
struct conf_section {
	const struct conf_key *keys;
	void *base;
};

/*
 * Decodes the mapping `node` through one or more sections: each key must
 * belong to exactly one table. path names the mapping in messages ("" for
 * the top). Sets required flags as it goes and checks them at the end.
 */
int conf_decode_map(struct conf_ctx *ctx, yaml_node_t *node, const char *path,
		    const struct conf_section *sections, size_t nsections);

/* Decodes one value of the given type (as conf_decode_map does for a key). */
int conf_decode_value(struct conf_ctx *ctx, yaml_node_t *node, const char *path,
		      const struct conf_key *key, void *field);

/* Records "file:line:col: path: message" in ctx->err; returns ALTS_EINVALID. */
int conf_fail(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * 0 when value is in the NULL-terminated list, else fails with
 * "unknown WHAT 'value' (known: a, b, c)" on node.
 */
int conf_check_one_of(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *what,
		      const char *value, const char *const *list);

/* conf_key validators of a CONF_INT field: a TCP port (0..65535); a number above zero. */
int conf_validate_port(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field);
int conf_validate_positive(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field);

/* Names c for messages: "a space", "'@'" or "byte 0x07", in buf (16 bytes are enough). */
const char *conf_describe_char(char c, char *buf, size_t size);

/* The node's scalar text, or NULL when it is not a scalar. Borrowed from the document. */
const char *conf_scalar(yaml_node_t *node);
bool conf_is_null(yaml_node_t *node);
struct conf_loc conf_node_loc(yaml_node_t *node);
const char *conf_type_name(yaml_node_t *node);

/* "a.b" or "a[3]", allocated in the arena. */
const char *conf_path_key(struct conf_ctx *ctx, const char *path, const char *key);
const char *conf_path_index(struct conf_ctx *ctx, const char *path, size_t index);

/* True when s is in l. */
bool conf_strlist_has(const struct strlist *l, const char *s);

/* Parses "90", "1.5", "90s", "5m", "2h", "1d" into seconds; false if malformed. */
bool conf_parse_duration(const char *text, double *out);

/*
 * The longest string a document may hold (but CONF_LONG keys): every
 * string may end up as one argument or environment value of a command,
 * and Linux refuses any longer than 128 KiB (MAX_ARG_STRLEN) with "Argument
 * list too long" at run time; here it is refused at load with its place.
 */
#define CONF_STRING_MAX (32u << 10)

/* The deepest nesting of lists and mappings a document may have. */
#define CONF_DEPTH_MAX 64

/*
 * Parses a whole YAML or JSON document from memory into doc. On a syntax
 * error fills err with "file:line:col: message". An empty document is an
 * error, and so is nesting deeper than CONF_DEPTH_MAX (refused before the
 * document is built, in time bounded by the depth, not the size). The caller deletes doc with yaml_document_delete() on success.
 */
int conf_load_document(yaml_document_t *doc, const char *file, const char *data, size_t len,
		       struct alts_err *err);

#endif
