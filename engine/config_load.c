#include "framework/common.h"
#include "engine/config_load.h"
#include "framework/sbuf.h"
#include "checks/check.h"

#include <fnmatch.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1u << 20)

/* Removing any of these would break the environment the other checks run in. */
static const char *default_protected[] = {
	"apt", "base-files", "bash", "coreutils", "dash", "debianutils", "dnf", "dpkg", "filesystem",
	"glibc", "libc6", "python3", "rpm", "setup", "systemd", "yum", NULL,
};

struct config_fields {
	long output_tail;
};

static int validate_check_kinds(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (!check_lookup(l->v[i]))
			return conf_fail(ctx, node, path, "unknown check '%s'", l->v[i]);
	}
	return 0;
}

static const struct conf_key exclusion_keys[] = {
	{ "dist", CONF_STRING, offsetof(struct config_exclusion, dist), CONF_REQUIRED | CONF_NONEMPTY, NULL, NULL },
	{ "packages", CONF_STRLIST, offsetof(struct config_exclusion, packages), CONF_REQUIRED | CONF_NONEMPTY,
	  NULL, NULL },
	{ "checks", CONF_STRLIST, offsetof(struct config_exclusion, checks), 0, NULL, validate_check_kinds },
	{ "reason", CONF_STRING, offsetof(struct config_exclusion, reason), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int parse_exclusions(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct alts_config *c = field;
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (conf_is_null(node))
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of exclusions, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	c->exclusions = arena_alloc(ctx->arena, (n ? n : 1) * sizeof(*c->exclusions));
	if (!c->exclusions)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		struct conf_section sec = { exclusion_keys, &c->exclusions[i] };
		int rc = conf_decode_map(ctx, yaml_document_get_node(ctx->doc, *item), conf_path_index(ctx, path, i),
					 &sec, 1);

		if (rc)
			return rc;
	}
	c->nexclusions = n;
	return 0;
}

/* image_refresh: warn (the default) or rebuild. */
static int parse_image_refresh(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const values[] = { "warn", "rebuild", NULL };
	const char *s = conf_scalar(node);
	int rc;

	if (!s)
		return conf_fail(ctx, node, path, "expected warn or rebuild, got %s", conf_type_name(node));
	rc = conf_check_one_of(ctx, node, path, "image_refresh", s, values);
	if (!rc)
		*(bool *)field = !strcmp(s, "rebuild");
	return rc;
}

static const struct conf_key config_keys[] = {
	{ "protected_packages", CONF_STRLIST, offsetof(struct alts_config, protected_packages), 0, NULL, NULL },
	{ "exclusions", CONF_CUSTOM, 0, 0, parse_exclusions, NULL },
	{ "check_timeout", CONF_DURATION, offsetof(struct alts_config, check_timeout), 0, NULL, NULL },
	{ "suite_timeout", CONF_DURATION, offsetof(struct alts_config, suite_timeout), 0, NULL, NULL },
	{ "command_timeout", CONF_DURATION, offsetof(struct alts_config, command_timeout), 0, NULL, NULL },
	{ "index_max_age", CONF_DURATION, offsetof(struct alts_config, index_max_age), 0, NULL, NULL },
	{ "image_max_age", CONF_DURATION, offsetof(struct alts_config, image_max_age), 0, NULL, NULL },
	{ "image_refresh", CONF_CUSTOM, offsetof(struct alts_config, image_rebuild), 0, parse_image_refresh, NULL },
	{ "sandbox_disk", CONF_STRING, offsetof(struct alts_config, sandbox_disk), 0, NULL, NULL },
	{ "sandbox_memory", CONF_STRING, offsetof(struct alts_config, sandbox_memory), 0, NULL, NULL },
	{ "sandbox_pids", CONF_STRING, offsetof(struct alts_config, sandbox_pids), 0, NULL, NULL },
	CONF_KEYS_END,
};

static const struct conf_key config_extra_keys[] = {
	{ "output_tail", CONF_INT, offsetof(struct config_fields, output_tail), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int config_new(struct alts_config **out, const char *label, struct alts_err *err)
{
	struct alts_config *c = alts_calloc(1, sizeof(*c));

	if (!c || !(c->arena = arena_new()) || !(c->path = arena_strdup(c->arena, label))) {
		config_free(c);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	c->protected_packages.v = default_protected;
	c->protected_packages.n = ALTS_ARRAY_SIZE(default_protected) - 1;
	c->check_timeout = 1800;
	c->suite_timeout = 7200;
	c->command_timeout = 30;
	c->output_tail = 64 * 1024;
	c->index_max_age = 7 * 86400;
	*out = c;
	return 0;
}

int config_load_buffer(struct alts_config **out, const char *label, const char *data, size_t len,
		       struct alts_err *err)
{
	struct alts_config *c = NULL;
	struct config_fields extra = { -1 };
	struct conf_ctx ctx = { 0 };
	yaml_document_t doc;
	yaml_node_t *root;
	int rc;

	rc = config_new(&c, label, err);
	if (rc)
		return rc;
	rc = conf_load_document(&doc, label, data, len, err);
	if (rc)
		goto out_nodoc;
	ctx.doc = &doc;
	ctx.arena = c->arena;
	ctx.file = c->path;
	ctx.err = err;
	root = yaml_document_get_root_node(&doc);
	{
		struct conf_section sec[2] = { { config_keys, c }, { config_extra_keys, &extra } };

		rc = conf_decode_map(&ctx, root, "", sec, 2);
	}
	if (!rc && extra.output_tail != -1) {
		if (extra.output_tail < 1024 || extra.output_tail > (64L << 20))
			rc = conf_fail(&ctx, root, "output_tail", "must be between 1024 and 67108864 bytes");
		else
			c->output_tail = (size_t)extra.output_tail;
	}
	yaml_document_delete(&doc);
out_nodoc:
	if (rc) {
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int config_load(struct alts_config **out, const char *path, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	int rc;

	if (!path) {
		if (access(ALTS_DEFAULT_CONFIG_PATH, F_OK))
			return config_new(out, "<defaults>", err);
		path = ALTS_DEFAULT_CONFIG_PATH;
	}
	rc = sbuf_read_file(&data, path, CONFIG_MAX_BYTES);
	if (rc) {
		rc = alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read config '%s'", path);
	} else if (data.capped) {
		rc = alts_err_set(err, ALTS_EINVALID, "%s: config is larger than %u bytes", path, CONFIG_MAX_BYTES);
	} else {
		rc = config_load_buffer(out, path, data.buf, data.len, err);
	}
	sbuf_release(&data);
	return rc;
}
