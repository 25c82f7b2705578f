#include "framework/common.h"
#include "engine/suite_load.h"
#include "framework/sbuf.h"
#include "checks/check_int.h"
#include "runners/image.h"
#include "runners/runner.h"

#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUITE_MAX_BYTES (8u << 20)

static const char *const known_arches[] = {
	"x86_64", "x86_64_v2", "amd64", "i386", "i486", "i586", "i686",
	"aarch64", "arm64", "ppc64le", "s390x", "noarch", NULL,
};

static const char *const known_managers[] = { "apt", "dpkg", "dnf", "yum", "rpm", NULL };

/* The first character of s that is not allowed, for the message. */
static char first_bad_char(const char *s, const char *extra)
{
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return *p;
	}
	return '?';
}

static int validate_package_name(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;
	char cbuf[16];

	if (suite_package_name_ok(name))
		return 0;
	if (strlen(name) > SUITE_NAME_MAX)
		return conf_fail(ctx, node, path, "package name '%.32s...' is %zu bytes long, more than the %d allowed",
				 name, strlen(name), SUITE_NAME_MAX);
	if (*name && !isalnum((unsigned char)*name) && *name != '_')
		return conf_fail(ctx, node, path,
				 "package name '%s' starts with %s: a package name starts with a letter, a digit or '_'%s",
				 name, conf_describe_char(*name, cbuf, sizeof(cbuf)),
				 *name == '-' ? " (a leading '-' would be read as an option)" : "");
	return conf_fail(ctx, node, path,
			 "package name '%s' contains %s, which cannot appear in a package name "
			 "(allowed: letters, digits and + . _ ~ -)",
			 name, conf_describe_char(first_bad_char(name, "+._~-"), cbuf, sizeof(cbuf)));
}

static int validate_version(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;
	char cbuf[16];

	if (suite_version_ok(v))
		return 0;
	if (strlen(v) > SUITE_NAME_MAX)
		return conf_fail(ctx, node, path, "version '%.32s...' is %zu bytes long, more than the %d allowed", v,
				 strlen(v), SUITE_NAME_MAX);
	if (*v && !isalnum((unsigned char)*v))
		return conf_fail(ctx, node, path, "version '%s' starts with %s: a version starts with a letter or digit", v,
				 conf_describe_char(*v, cbuf, sizeof(cbuf)));
	return conf_fail(ctx, node, path,
			 "version '%s' contains %s, which cannot appear in a version "
			 "(allowed: letters, digits and . + ~ _ : -, starting with a letter or digit)",
			 v, conf_describe_char(first_bad_char(v, ".+~_:-"), cbuf, sizeof(cbuf)));
}

static int validate_epoch(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return conf_fail(ctx, node, path, "epoch must be a whole number, got '%s'", v);
	}
	return 0;
}

static int validate_arch(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *arch = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "architecture", arch, known_arches);
}

static int validate_runner(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "runner", name, runner_names());
}

static int validate_manager(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "package manager", name, known_managers);
}

static int validate_image(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;

	if (image_name_ok(name))
		return 0;
	return conf_fail(ctx, node, path, "invalid image name '%s' (lowercase letters, digits, '.', '_' and '-')", name);
}

static int validate_network(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const modes[] = { "none", "host", "private", NULL };
	const char *mode = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "network mode", mode, modes);
}

static int validate_boot(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const modes[] = { "none", "systemd", NULL };
	const char *mode = *(const char **)field;

	return conf_check_one_of(ctx, node, path, "boot mode", mode, modes);
}

static int validate_isolation(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const modes[] = { "suite", "check", NULL };

	return conf_check_one_of(ctx, node, path, "isolation", *(const char **)field, modes);
}

/* The node of item i of a list key (a lone scalar is a list of one). */
static yaml_node_t *list_item_node(struct conf_ctx *ctx, yaml_node_t *node, size_t i)
{
	if (node->type != YAML_SEQUENCE_NODE)
		return node;
	if (node->data.sequence.items.start + i >= node->data.sequence.items.top)
		return node;
	return yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
}

/* test_depends: package names, as in `packages`, each once. */
static int validate_test_depends(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		yaml_node_t *item = list_item_node(ctx, node, i);
		const char *ipath = conf_path_index(ctx, path, i);
		const char *name = l->v[i];
		int rc = validate_package_name(ctx, item, ipath, &name);

		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(l->v[j], name))
				return conf_fail(ctx, item, ipath, "test dependency '%s' is listed twice", name);
		}
	}
	return 0;
}

/* fresh: a boolean kept with whether it was written, so that `fresh: false` can undo `isolation: check`. */
static int parse_fresh(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const struct conf_key as_bool = { "fresh", CONF_BOOL, 0, 0, NULL, NULL };
	bool value = false;
	int rc = conf_decode_value(ctx, node, path, &as_bool, &value);

	if (!rc)
		*(int *)field = value ? SUITE_FRESH_YES : SUITE_FRESH_NO;
	return rc;
}

static int validate_dist_word(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;
	char cbuf[16];

	if (suite_version_ok(v))
		return 0;
	return conf_fail(ctx, node, path, "'%s' contains %s; use letters, digits and . _ -", v,
			 conf_describe_char(first_bad_char(v, ".+~_:-"), cbuf, sizeof(cbuf)));
}

static int validate_env_names(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strmap *m = field;

	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->keys[i];
		bool ok = isalpha((unsigned char)k[0]) || k[0] == '_';

		for (const char *p = k; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok)
			return conf_fail(ctx, node, path,
					 "'%s' is not a valid environment variable name (letters, digits, _)", k);
	}
	return 0;
}

static char *absolute_path(struct arena *a, const char *dir, const char *path)
{
	if (path[0] == '/')
		return arena_strdup(a, path);
	return arena_printf(a, "%s/%s", dir, path);
}

static int validate_package_file(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field,
				 const char *dir, unsigned flags)
{
	const char **file = field;
	const char *abs = absolute_path(ctx->arena, dir, *file);
	size_t len;
	struct stat st;

	if ((flags & SUITE_LOAD_FARM) && !suite_inner_path_ok(*file))
		return conf_fail(ctx, node, path,
				 "package file '%s': a suite sent to the farm may only name files inside its own "
				 "folder (no absolute path, no '..')",
				 *file);
	if (!abs)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	len = strlen(abs);
	if (len < 4 || (strcmp(abs + len - 4, ".deb") && strcmp(abs + len - 4, ".rpm")))
		return conf_fail(ctx, node, path, "'%s' is not a .deb or .rpm file", *file);
	if (!(flags & SUITE_LOAD_NO_FS) && (stat(abs, &st) || !S_ISREG(st.st_mode)))
		return conf_fail(ctx, node, path, "cannot read package file '%s': %s", abs,
				 errno ? strerror(errno) : "not a regular file");
	*file = abs;
	return 0;
}

struct suite_loader {
	struct conf_ctx ctx;
	struct suite *suite;
	/* Checks are decoded last, whatever their place in the file: they refer to packages and environment. */
	yaml_node_t *checks_node;
	const char *checks_path;
};

static const struct conf_key package_keys[] = {
	{ "name", CONF_STRING, offsetof(struct suite_package, name), CONF_REQUIRED | CONF_NONEMPTY, NULL,
	  validate_package_name },
	{ "version", CONF_STRING, offsetof(struct suite_package, version), CONF_NONEMPTY, NULL, validate_version },
	{ "epoch", CONF_STRING, offsetof(struct suite_package, epoch), CONF_NONEMPTY, NULL, validate_epoch },
	{ "file", CONF_STRING, offsetof(struct suite_package, file), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

static int load_packages(struct suite_loader *l, yaml_node_t *node, const char *path)
{
	struct conf_ctx *ctx = &l->ctx;
	struct suite *s = l->suite;
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of packages, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	s->packages = arena_alloc(s->arena, (n ? n : 1) * sizeof(*s->packages));
	if (!s->packages)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		yaml_node_t *child = yaml_document_get_node(ctx->doc, *item);
		struct suite_package *pkg = &s->packages[i];
		const char *ipath = conf_path_index(ctx, path, i);
		int rc;

		pkg->loc = conf_node_loc(child);
		if (child->type == YAML_SCALAR_NODE) {
			rc = conf_decode_value(ctx, child, ipath, &package_keys[0], &pkg->name);
		} else {
			struct conf_section sec = { package_keys, pkg };

			rc = conf_decode_map(ctx, child, ipath, &sec, 1);
			if (!rc && pkg->file)
				rc = validate_package_file(ctx, child, conf_path_key(ctx, ipath, "file"), &pkg->file,
							   s->dir, s->load_flags);
		}
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(s->packages[j].name, pkg->name))
				return conf_fail(ctx, child, ipath, "package '%s' is listed twice", pkg->name);
		}
	}
	s->npackages = n;
	return 0;
}

struct repo_fields {
	const char *name, *url, *baseurl;
};

static const struct conf_key repo_keys[] = {
	{ "name", CONF_STRING, offsetof(struct repo_fields, name), CONF_NONEMPTY, NULL, NULL },
	{ "url", CONF_STRING, offsetof(struct repo_fields, url), CONF_NONEMPTY, NULL, NULL },
	{ "baseurl", CONF_STRING, offsetof(struct repo_fields, baseurl), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

static bool repo_name_ok(const char *name)
{
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	}
	return *name != '\0' && *name != '.' && *name != '-';
}

static int check_repo_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct suite_repo *r)
{
	static const char *const schemes[] = { "http://", "https://", "file://", "ftp://", "copy://",
					       "mirror://", "mirror+http://", "mirror+https://", NULL };
	const char *url = r->url;

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return conf_fail(ctx, node, path, "repository URL contains a control character");
	}
	r->apt_line = !strncmp(url, "deb ", 4) || !strncmp(url, "deb-src ", 8);
	if (r->apt_line)
		return 0;
	if (url[0] == '/')
		return 0;
	for (const char *const *sc = schemes; *sc; sc++) {
		if (!strncmp(url, *sc, strlen(*sc)))
			return strchr(url, ' ') ? conf_fail(ctx, node, path, "repository URL '%s' contains a space", url)
						: 0;
	}
	{
		struct sbuf known = SBUF_INIT;
		int rc;

		for (const char *const *sc = schemes; *sc; sc++)
			sbuf_addf(&known, "%s, ", *sc);
		rc = conf_fail(ctx, node, path,
			       "'%s' is not a repository URL (accepted: %san absolute path, or an apt line starting with "
			       "'deb ' or 'deb-src ')",
			       url, known.buf);
		sbuf_release(&known);
		return rc;
	}
}

static int load_repos(struct suite_loader *l, yaml_node_t *node, const char *path)
{
	struct conf_ctx *ctx = &l->ctx;
	struct suite *s = l->suite;
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of repositories, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	s->repos = arena_alloc(s->arena, (n ? n : 1) * sizeof(*s->repos));
	if (!s->repos)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		yaml_node_t *child = yaml_document_get_node(ctx->doc, *item);
		struct suite_repo *r = &s->repos[i];
		struct repo_fields f = { 0 };
		const char *ipath = conf_path_index(ctx, path, i);
		int rc;

		r->loc = conf_node_loc(child);
		if (child->type == YAML_SCALAR_NODE) {
			rc = conf_decode_value(ctx, child, ipath, &repo_keys[1], &f.url);
		} else {
			struct conf_section sec = { repo_keys, &f };

			rc = conf_decode_map(ctx, child, ipath, &sec, 1);
		}
		if (rc)
			return rc;
		if (f.url && f.baseurl)
			return conf_fail(ctx, child, ipath, "give either 'url' or 'baseurl', not both");
		if (!f.url && !f.baseurl)
			return conf_fail(ctx, child, ipath, "missing required key 'url' (or 'baseurl')");
		r->url = f.url ? f.url : f.baseurl;
		r->name = f.name ? f.name : arena_printf(s->arena, "repo%zu", i + 1);
		if (!r->name)
			return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
		if (!repo_name_ok(r->name))
			return conf_fail(ctx, child, ipath,
					 "repository name '%s' may only contain letters, digits, '.', '_' and '-'",
					 r->name);
		rc = check_repo_url(ctx, child, ipath, r);
		if (!rc && (s->load_flags & SUITE_LOAD_FARM) && suite_url_is_local(r->url))
			rc = conf_fail(ctx, child, ipath,
				       "repository '%s': a suite sent to the farm may only name network repositories "
				       "(http://, https://, ftp://), not a path on the worker",
				       r->url);
		if (rc)
			return rc;
	}
	s->nrepos = n;
	return 0;
}

static const struct conf_key environment_keys[] = {
	{ "runner", CONF_STRING, offsetof(struct suite_environment, runner), CONF_NONEMPTY, NULL, validate_runner },
	{ "dist_name", CONF_STRING, offsetof(struct suite_environment, dist_name), CONF_NONEMPTY, NULL,
	  validate_dist_word },
	{ "dist_version", CONF_STRING, offsetof(struct suite_environment, dist_version), CONF_NONEMPTY, NULL,
	  validate_dist_word },
	{ "dist_arch", CONF_STRING, offsetof(struct suite_environment, dist_arch), CONF_NONEMPTY, NULL,
	  validate_arch },
	{ "root", CONF_STRING, offsetof(struct suite_environment, root), CONF_NONEMPTY, NULL, NULL },
	{ "package_manager", CONF_STRING, offsetof(struct suite_environment, package_manager), CONF_NONEMPTY,
	  NULL, validate_manager },
	{ "image", CONF_STRING, offsetof(struct suite_environment, image), CONF_NONEMPTY, NULL, validate_image },
	{ "network", CONF_STRING, offsetof(struct suite_environment, network), CONF_NONEMPTY, NULL, validate_network },
	{ "boot", CONF_STRING, offsetof(struct suite_environment, boot), CONF_NONEMPTY, NULL, validate_boot },
	CONF_KEYS_END,
};

static const struct conf_key check_common_keys[] = {
	{ "name", CONF_STRING, offsetof(struct suite_check, name), CONF_NONEMPTY, NULL, NULL },
	{ "timeout", CONF_DURATION, offsetof(struct suite_check, timeout), 0, NULL, NULL },
	{ "skip", CONF_STRING, offsetof(struct suite_check, skip), CONF_NONEMPTY, NULL, NULL },
	{ "expect_failure", CONF_BOOL, offsetof(struct suite_check, expect_failure), 0, NULL, NULL },
	{ "fresh", CONF_CUSTOM, offsetof(struct suite_check, fresh_opt), 0, parse_fresh, NULL },
	{ "test_depends", CONF_STRLIST, offsetof(struct suite_check, test_depends), CONF_NONEMPTY, NULL,
	  validate_test_depends },
	CONF_KEYS_END,
};

static int load_check(struct suite_loader *l, yaml_node_t *node, const char *path, struct suite_check *c)
{
	struct conf_ctx *ctx = &l->ctx;
	yaml_node_t *body = NULL, *tnode = node;
	const char *type;
	int rc;

	c->loc = conf_node_loc(node);
	if (node->type == YAML_SCALAR_NODE) {
		type = conf_scalar(node);
		if (conf_is_null(node))
			return conf_fail(ctx, node, path, "expected a check, got null");
	} else if (node->type == YAML_MAPPING_NODE) {
		size_t npairs = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
		yaml_node_pair_t *pair = node->data.mapping.pairs.start;

		if (npairs != 1) {
			tnode = npairs ? yaml_document_get_node(ctx->doc, pair[1].key) : node;
			return conf_fail(ctx, tnode, path,
					 "a check is a mapping with exactly one key, its kind (e.g. 'launch:'), "
					 "with its options indented below it; found %zu keys",
					 npairs);
		}
		tnode = yaml_document_get_node(ctx->doc, pair->key);
		body = yaml_document_get_node(ctx->doc, pair->value);
		type = conf_scalar(tnode);
		if (!type)
			return conf_fail(ctx, tnode, path, "the check kind must be a string");
	} else {
		return conf_fail(ctx, node, path, "expected a check (a kind name or a mapping), got a list");
	}
	c->ops = check_lookup_as(type, &c->type);
	if (!c->ops) {
		rc = conf_check_one_of(ctx, tnode, path, "check", type, check_names());
		return rc ? rc : conf_fail(ctx, tnode, path, "unknown check '%s'", type);  /* another ABI */
	}
	path = conf_path_key(ctx, path, c->type);
	if (c->ops->conf_size) {
		c->conf = arena_alloc(l->suite->arena, c->ops->conf_size);
		if (!c->conf)
			return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	}
	if (body && !conf_is_null(body)) {
		struct conf_section sec[2] = { { check_common_keys, c }, { c->ops->keys, c->conf } };

		rc = conf_decode_map(ctx, body, path, sec, 2);
	} else {
		/* No options: still enforce the kind's required keys. */
		struct conf_section sec = { c->ops->keys, c->conf };
		yaml_node_t empty = { 0 };

		empty.type = YAML_MAPPING_NODE;
		empty.start_mark = (body ? body : tnode)->start_mark;
		rc = conf_decode_map(ctx, &empty, path, &sec, 1);
	}
	if (rc)
		return rc;
	if (!c->name)
		c->name = c->type;
	if (c->ops->validate)
		rc = c->ops->validate(ctx, body ? body : node, path, l->suite, c);
	return rc;
}

static int load_checks(struct suite_loader *l, yaml_node_t *node, const char *path)
{
	struct conf_ctx *ctx = &l->ctx;
	struct suite *s = l->suite;
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of checks, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (!n)
		return conf_fail(ctx, node, path, "a suite needs at least one check");
	s->checks = arena_alloc(s->arena, n * sizeof(*s->checks));
	if (!s->checks)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		yaml_node_t *child = yaml_document_get_node(ctx->doc, *item);
		int rc;

		s->checks[i].index = i;
		rc = load_check(l, child, conf_path_index(ctx, path, i), &s->checks[i]);
		if (rc)
			return rc;
	}
	s->nchecks = n;
	return 0;
}

static int parse_packages(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_loader *l = (struct suite_loader *)((char *)ctx - offsetof(struct suite_loader, ctx));

	ALTS_UNUSED(field);
	return load_packages(l, node, path);
}

static int parse_repos(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_loader *l = (struct suite_loader *)((char *)ctx - offsetof(struct suite_loader, ctx));

	ALTS_UNUSED(field);
	return load_repos(l, node, path);
}

static int parse_checks(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_loader *l = (struct suite_loader *)((char *)ctx - offsetof(struct suite_loader, ctx));

	ALTS_UNUSED(field);
	l->checks_node = node;
	l->checks_path = path;
	return 0;
}

/* environment.<runner>: decoded with that runner's own table; field is its struct suite_runner_conf. */
static int parse_runner_section(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_runner_conf *rc = field;
	size_t size;
	const struct conf_key *keys = runner_conf_keys(rc->runner, &size);
	struct conf_section sec;

	rc->conf = arena_alloc(ctx->arena, size ? size : 1);
	if (!rc->conf)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	if (conf_is_null(node))
		return 0;
	sec.keys = keys;
	sec.base = rc->conf;
	return conf_decode_map(ctx, node, path, &sec, 1);
}

/*
 * Decodes the environment: its common keys, and one key per registered
 * runner that declares some, in registry order (as nginx modules declare
 * their directives), whose offset points to that runner's slot.
 */
static int parse_environment(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_loader *l = (struct suite_loader *)((char *)ctx - offsetof(struct suite_loader, ctx));
	struct suite_environment *env = field;
	const char *const *names = runner_names();
	struct conf_section sec[2] = { { environment_keys, env }, { NULL, NULL } };
	struct conf_key *keys;
	struct suite_runner_conf *slots;
	const void *conf;
	size_t total = 0, n = 0, size;
	int rc;

	if (conf_is_null(node))
		return 0;
	while (names[total])
		total++;
	keys = arena_alloc(ctx->arena, (total + 1) * sizeof(*keys));  /* zeroed: ends with CONF_KEYS_END */
	slots = arena_alloc(ctx->arena, (total + 1) * sizeof(*slots));
	if (!keys || !slots)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < total; i++) {
		if (!runner_conf_keys(names[i], &size))
			continue;
		slots[n].runner = names[i];
		keys[n] = (struct conf_key){ names[i], CONF_CUSTOM, n * sizeof(*slots), 0, parse_runner_section, NULL };
		n++;
	}
	sec[1].keys = keys;
	sec[1].base = slots;
	rc = conf_decode_map(ctx, node, path, sec, 2);
	if (rc)
		return rc;
	env->runners = slots;
	for (size_t i = 0; i < n; i++) {
		if (slots[i].conf)  /* the sections present */
			slots[env->nrunners++] = slots[i];
	}
	if (env->boot && !strcmp(env->boot, "systemd") && env->runner && strcmp(env->runner, "sandbox")) {
		yaml_node_t *at = node;

		for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
			const char *k = conf_scalar(yaml_document_get_node(ctx->doc, p->key));

			if (k && !strcmp(k, "boot"))
				at = yaml_document_get_node(ctx->doc, p->value);
		}
		return conf_fail(ctx, at, conf_path_key(ctx, path, "boot"),
				 "boot: systemd needs the sandbox runner (runner is '%s')", env->runner);
	}
	if (!env->runner)
		return 0;
	/* What the chosen runner cannot start without, named before anything runs. */
	conf = suite_runner_conf(l->suite, env->runner);
	if (!conf && runner_conf_keys(env->runner, &size) && !(conf = arena_alloc(ctx->arena, size ? size : 1)))
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	return runner_conf_validate(env->runner, ctx, node, path, l->suite, conf);
}

static const struct conf_key suite_keys[] = {
	{ "name", CONF_STRING, offsetof(struct suite, name), CONF_NONEMPTY, NULL, NULL },
	{ "description", CONF_STRING, offsetof(struct suite, description), 0, NULL, NULL },
	{ "packages", CONF_CUSTOM, 0, 0, parse_packages, NULL },
	{ "repositories", CONF_CUSTOM, 0, 0, parse_repos, NULL },
	{ "environment", CONF_CUSTOM, offsetof(struct suite, env), 0, parse_environment, NULL },
	{ "env", CONF_STRMAP, offsetof(struct suite, vars), 0, NULL, validate_env_names },
	{ "timeout", CONF_DURATION, offsetof(struct suite, timeout), 0, NULL, NULL },
	{ "check_timeout", CONF_DURATION, offsetof(struct suite, check_timeout), 0, NULL, NULL },
	{ "checks", CONF_CUSTOM, 0, CONF_REQUIRED, parse_checks, NULL },
	{ "test_depends", CONF_STRLIST, offsetof(struct suite, test_depends), CONF_NONEMPTY, NULL,
	  validate_test_depends },
	{ "isolation", CONF_STRING, offsetof(struct suite, isolation), CONF_NONEMPTY, NULL, validate_isolation },
	CONF_KEYS_END,
};

static int suite_check_packages_needed(struct suite_loader *l, yaml_node_t *root)
{
	struct suite *s = l->suite;

	if (s->npackages)
		return 0;
	for (size_t i = 0; i < s->nchecks; i++) {
		if (s->checks[i].ops->caps & CHECK_CAP_NEEDS_PACKAGES)
			return conf_fail(&l->ctx, root, "packages",
					 "check '%s' needs packages, but the suite lists none", s->checks[i].name);
	}
	return 0;
}

/* The mapping of check i's options (its kind's value), or the check's node. */
static yaml_node_t *check_body(struct conf_ctx *ctx, yaml_node_t *checks, size_t i)
{
	yaml_node_t *c = list_item_node(ctx, checks, i);

	if (c->type == YAML_MAPPING_NODE && c->data.mapping.pairs.start < c->data.mapping.pairs.top)
		return yaml_document_get_node(ctx->doc, c->data.mapping.pairs.start->value);
	return c;
}

/* A test dependency may not be a package under test: one would be judged, the other left out. */
static int check_test_dep_list(struct suite_loader *l, const struct strlist *deps, yaml_node_t *node,
			       const char *path)
{
	const struct suite *s = l->suite;

	for (size_t i = 0; i < deps->n; i++) {
		for (size_t j = 0; j < s->npackages; j++) {
			if (!strcmp(deps->v[i], s->packages[j].name))
				return conf_fail(&l->ctx, list_item_node(&l->ctx, node, i),
						 conf_path_index(&l->ctx, path, i),
						 "'%s' is a package under test; a test dependency is a package the tests "
						 "need but that is not judged (list it in one place only)",
						 deps->v[i]);
		}
	}
	return 0;
}

/*
 * Resolves each check's `fresh` (its own, else isolation: check) and
 * refuses what cannot work: a fresh install check (installing is what
 * fresh checks start from), a runner without snapshots.
 */
static int suite_check_isolation(struct suite_loader *l, yaml_node_t *root)
{
	struct conf_ctx *ctx = &l->ctx;
	struct suite *s = l->suite;
	bool by_suite = s->isolation && !strcmp(s->isolation, "check");
	const char *runner = s->env.runner;
	int rc = check_test_dep_list(l, &s->test_depends, check_conf_node(ctx, root, "test_depends"), "test_depends");

	for (size_t i = 0; !rc && i < s->nchecks; i++) {
		struct suite_check *c = &s->checks[i];
		yaml_node_t *body = check_body(ctx, l->checks_node, i);
		const char *path = conf_path_key(ctx, conf_path_index(ctx, l->checks_path, i), c->type);
		bool is_install = !strcmp(c->type, "install");

		rc = check_test_dep_list(l, &c->test_depends, check_conf_node(ctx, body, "test_depends"),
					 conf_path_key(ctx, path, "test_depends"));
		if (rc)
			break;
		c->fresh = c->fresh_opt ? c->fresh_opt == SUITE_FRESH_YES : by_suite && !is_install;
		if (c->fresh && is_install)
			return conf_fail(ctx, check_conf_node(ctx, body, "fresh"), conf_path_key(ctx, path, "fresh"),
					 "an install check cannot be fresh: what it installs is what fresh checks start "
					 "from");
		if (c->fresh && runner && !runner_name_can_reset(runner)) {
			if (c->fresh_opt)
				return conf_fail(ctx, check_conf_node(ctx, body, "fresh"), conf_path_key(ctx, path, "fresh"),
						 "a fresh environment per check needs the sandbox runner; the '%s' runner "
						 "has no snapshots",
						 runner);
			return conf_fail(ctx, check_conf_node(ctx, root, "isolation"), "isolation",
					 "isolation: check needs the sandbox runner; the '%s' runner has no snapshots",
					 runner);
		}
	}
	return rc;
}

static char *default_name(struct arena *a, const char *label)
{
	const char *base = strrchr(label, '/');
	const char *dot;

	base = base ? base + 1 : label;
	dot = strrchr(base, '.');
	return dot && dot != base ? arena_strndup(a, base, (size_t)(dot - base)) : arena_strdup(a, base);
}

int suite_load_buffer(struct suite **out, const char *label, const char *dir, const char *data, size_t len,
		      struct alts_err *err)
{
	return suite_load_buffer_flags(out, label, dir, data, len, 0, err);
}

int suite_load_buffer_flags(struct suite **out, const char *label, const char *dir, const char *data, size_t len,
			    unsigned flags, struct alts_err *err)
{
	struct suite_loader l = { 0 };
	struct suite *s = NULL;
	yaml_document_t doc;
	yaml_node_t *root;
	char cwd[PATH_MAX];
	int rc;

	if (len > SUITE_MAX_BYTES)
		return alts_err_set(err, ALTS_EINVALID, "%s: suite is larger than %u bytes", label, SUITE_MAX_BYTES);
	if (memchr(data, '\0', len))
		return alts_err_set(err, ALTS_EINVALID, "%s: suite contains a NUL byte; is it a text file?", label);
	rc = conf_load_document(&doc, label, data, len, err);
	if (rc)
		return rc;
	s = alts_calloc(1, sizeof(*s));
	if (!s || !(s->arena = arena_new())) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!dir)
		dir = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
	s->path = arena_strdup(s->arena, label);
	s->dir = arena_strdup(s->arena, dir);
	s->load_flags = flags;
	l.suite = s;
	l.ctx.doc = &doc;
	l.ctx.arena = s->arena;
	l.ctx.file = s->path;
	l.ctx.err = err;
	root = yaml_document_get_root_node(&doc);
	if (root->type != YAML_MAPPING_NODE) {
		rc = conf_fail(&l.ctx, root, "", "a suite is a mapping (name:, packages:, checks: ...), got %s",
			       conf_type_name(root));
		goto out;
	}
	{
		struct conf_section sec = { suite_keys, s };

		rc = conf_decode_map(&l.ctx, root, "", &sec, 1);
	}
	if (!rc)
		rc = load_checks(&l, l.checks_node, l.checks_path);
	if (!rc)
		rc = suite_check_packages_needed(&l, root);
	if (!rc)
		rc = suite_check_isolation(&l, root);
	if (rc)
		goto out;
	if (!s->name)
		s->name = default_name(s->arena, label);
	if (!s->path || !s->dir || !s->name) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	suite_free(s);
	yaml_document_delete(&doc);
	return rc;
}

int suite_load_file(struct suite **out, const char *path, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	char *copy = NULL, *dir;
	char real[PATH_MAX];
	int rc;

	rc = sbuf_read_file(&data, path, SUITE_MAX_BYTES + 1);
	if (rc) {
		rc = alts_err_errno(err, rc == -ENOENT ? ALTS_ENOTFOUND : ALTS_EINVALID, -rc,
				    "cannot read suite '%s'", path);
		goto out;
	}
	copy = alts_strdup(realpath(path, real) ? real : path);
	if (!copy) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	dir = dirname(copy);
	rc = suite_load_buffer(out, path, dir, data.buf, data.len, err);
out:
	alts_free(copy);
	sbuf_release(&data);
	return rc;
}
