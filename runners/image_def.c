#include "framework/common.h"
#include "runners/image_def.h"
#include "framework/fs.h"
#include "framework/sbuf.h"

#include <unistd.h>

#define IMAGE_DEF_MAX_BYTES (256u << 10)

/* The architectures dnf and the ALMA Build System name. */
static const char *const def_arches[] = {
	"x86_64", "x86_64_v2", "aarch64", "ppc64le", "s390x", "i686", "armv7hl", "riscv64", NULL,
};

/* [a-z0-9][a-z0-9_.-]*: a distribution name, a version, a repository id. */
static bool word_ok(const char *s, bool upper)
{
	if (!*s || !(isalnum((unsigned char)*s)))
		return false;
	for (const char *p = s; *p; p++) {
		if (!(isdigit((unsigned char)*p) || islower((unsigned char)*p) || (upper && isupper((unsigned char)*p)) ||
		      strchr("_.-", *p)))
			return false;
	}
	return strlen(s) < 64;
}

static int validate_word(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;

	if (!word_ok(s, false))
		return conf_fail(ctx, node, path,
				 "invalid value '%s' (lowercase letters, digits, '_', '.' and '-', starting with a letter "
				 "or digit, at most 63 bytes)",
				 s);
	return 0;
}

static int validate_repo_id(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;

	if (!word_ok(s, true))
		return conf_fail(ctx, node, path,
				 "invalid repository name '%s' (letters, digits, '_', '.' and '-', at most 63 bytes)", s);
	return 0;
}

static int validate_arch(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	return conf_check_one_of(ctx, node, path, "architecture", *(const char **)field, def_arches);
}

/*
 * A URL dnf reads: http(s)://, ftp:// or file:/, printable, without
 * spaces or quotes. The value goes into an INI file, so a newline would
 * add keys of its own: refused here, not escaped.
 */
static bool url_ok(const char *s)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "file:/" };
	bool scheme = false;

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(schemes); i++)
		scheme = scheme || !strncmp(s, schemes[i], strlen(schemes[i]));
	for (const unsigned char *p = (const unsigned char *)s; scheme && *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("\"'\\`", *p))
			scheme = false;
	}
	return scheme && strlen(s) < 1024;
}

static int validate_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;

	if (!url_ok(s))
		return conf_fail(ctx, node, path,
				 "invalid URL '%s' (http://, https://, ftp:// or file:/, without spaces or quotes)", s);
	return 0;
}

/* The node of item i of a list (a lone scalar is a list of one). */
static yaml_node_t *item_node(struct conf_ctx *ctx, yaml_node_t *node, size_t i)
{
	if (node->type != YAML_SEQUENCE_NODE || node->data.sequence.items.start + i >= node->data.sequence.items.top)
		return node;
	return yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
}

static int validate_urls(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (!url_ok(l->v[i]))
			return conf_fail(ctx, item_node(ctx, node, i), conf_path_index(ctx, path, i),
					 "invalid key URL '%s' (http://, https://, ftp:// or file:/, without spaces or quotes)",
					 l->v[i]);
	}
	return 0;
}

/*
 * A package spec dnf takes as one argument: a name, name-version, a glob,
 * a provide (/usr/bin/sh) or a group (@core); never an option (no leading
 * '-').
 */
static bool package_ok(const char *s)
{
	if (!*s || !(isalnum((unsigned char)*s) || *s == '@' || *s == '/') || strlen(s) > 200)
		return false;
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._+:@/-*()", *p))
			return false;
	}
	return true;
}

static int validate_package(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;

	if (!package_ok(s))
		return conf_fail(ctx, node, path,
				 "invalid package '%s' (letters, digits and '._+:@/-*()', not starting with '-')", s);
	return 0;
}

static int validate_packages(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (!package_ok(l->v[i]))
			return conf_fail(ctx, item_node(ctx, node, i), conf_path_index(ctx, path, i),
					 "invalid package '%s' (letters, digits and '._+:@/-*()', not starting with '-')",
					 l->v[i]);
	}
	return 0;
}

/* An absolute path without '..', spaces or control characters. */
static int validate_abs_path(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;
	bool ok = s[0] == '/' && !strstr(s, "/..") && strlen(s) < 256;

	for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++)
		ok = *p > ' ' && *p < 0x7f && !strchr("\"'\\`%", *p);
	if (!ok)
		return conf_fail(ctx, node, path, "invalid path '%s' (absolute, without '..', spaces or '%%')", s);
	return 0;
}

static int validate_platform(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *s = *(const char **)field;
	bool ok = strlen(s) < 64 && *s;

	for (const char *p = s; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr(":._-", *p);
	if (!ok)
		return conf_fail(ctx, node, path, "invalid module platform '%s' (like platform:el9)", s);
	return 0;
}

static const struct conf_key repo_keys[] = {
	{ "name", CONF_STRING, offsetof(struct image_def_repo, name), CONF_REQUIRED, NULL, validate_repo_id },
	{ "baseurl", CONF_STRING, offsetof(struct image_def_repo, baseurl), 0, NULL, validate_url },
	{ "mirrorlist", CONF_STRING, offsetof(struct image_def_repo, mirrorlist), 0, NULL, validate_url },
	{ "gpg_keys", CONF_STRLIST, offsetof(struct image_def_repo, gpg_keys), CONF_NONEMPTY, NULL, validate_urls },
	{ "gpgcheck", CONF_BOOL, offsetof(struct image_def_repo, gpgcheck), 0, NULL, NULL },
	{ "enabled", CONF_BOOL, offsetof(struct image_def_repo, enabled), 0, NULL, NULL },
	CONF_KEYS_END,
};

/* Remembers the list; decoded after the top level, when gpgcheck's default is known. */
static int keep_node(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	ALTS_UNUSED(ctx);
	ALTS_UNUSED(path);
	*(yaml_node_t **)field = node;
	return 0;
}

struct def_fields {
	struct image_def def;
	yaml_node_t *repos_node;
};

static const struct conf_key def_keys[] = {
	{ "dist_name", CONF_STRING, offsetof(struct image_def, dist_name), CONF_REQUIRED, NULL, validate_word },
	{ "dist_version", CONF_STRING, offsetof(struct image_def, dist_version), CONF_REQUIRED, NULL, validate_word },
	{ "arch", CONF_STRING, offsetof(struct image_def, arch), 0, NULL, validate_arch },
	{ "releasever", CONF_STRING, offsetof(struct image_def, releasever), 0, NULL, validate_word },
	{ "release_package", CONF_STRING, offsetof(struct image_def, release_package), 0, NULL, validate_package },
	{ "module_platform_id", CONF_STRING, offsetof(struct image_def, module_platform_id), 0, NULL,
	  validate_platform },
	{ "rpm_dbpath", CONF_STRING, offsetof(struct image_def, rpm_dbpath), 0, NULL, validate_abs_path },
	{ "packages", CONF_STRLIST, offsetof(struct image_def, packages), CONF_REQUIRED | CONF_NONEMPTY, NULL,
	  validate_packages },
	{ "gpg_keys", CONF_STRLIST, offsetof(struct image_def, gpg_keys), 0, NULL, validate_urls },
	{ "gpgcheck", CONF_BOOL, offsetof(struct image_def, gpgcheck), 0, NULL, NULL },
	{ "install_weak_deps", CONF_BOOL, offsetof(struct image_def, install_weak_deps), 0, NULL, NULL },
	{ "nodocs", CONF_BOOL, offsetof(struct image_def, nodocs), 0, NULL, NULL },
	{ "repositories", CONF_CUSTOM, offsetof(struct def_fields, repos_node), CONF_REQUIRED, keep_node, NULL },
	CONF_KEYS_END,
};

static int load_repos(struct conf_ctx *ctx, struct image_def *def, yaml_node_t *node, const char *path)
{
	yaml_node_item_t *item;
	size_t n, i = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of repositories, got %s", conf_type_name(node));
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (!n)
		return conf_fail(ctx, node, path, "at least one repository is needed");
	def->repos = arena_alloc(def->arena, n * sizeof(*def->repos));
	if (!def->repos)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++, i++) {
		yaml_node_t *child = yaml_document_get_node(ctx->doc, *item);
		struct image_def_repo *r = &def->repos[i];
		struct conf_section sec = { repo_keys, r };
		const char *ipath = conf_path_index(ctx, path, i);
		int rc;

		memset(r, 0, sizeof(*r));
		r->gpgcheck = def->gpgcheck;
		r->enabled = true;
		r->loc = conf_node_loc(child);
		rc = conf_decode_map(ctx, child, ipath, &sec, 1);
		if (rc)
			return rc;
		if (!r->baseurl && !r->mirrorlist)
			return conf_fail(ctx, child, ipath, "repository '%s' needs baseurl or mirrorlist", r->name);
		if (r->gpgcheck && !r->gpg_keys.n && !def->gpg_keys.n)
			return conf_fail(ctx, child, ipath,
					 "repository '%s' checks signatures (gpgcheck) but no gpg_keys are given, here or "
					 "at the top",
					 r->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(def->repos[j].name, r->name))
				return conf_fail(ctx, child, ipath, "repository '%s' is listed twice", r->name);
		}
	}
	def->nrepos = n;
	return 0;
}

void image_def_free(struct image_def *def)
{
	if (def)
		arena_free(def->arena);
}

int image_def_load_buffer(struct image_def **out, const char *label, const char *data, size_t len,
			  struct alts_err *err)
{
	struct conf_ctx ctx = { 0 };
	struct arena *arena = NULL;
	struct def_fields *f;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc;

	if (len > IMAGE_DEF_MAX_BYTES)
		return alts_err_set(err, ALTS_EINVALID, "%s: definition is larger than %u bytes", label,
				    IMAGE_DEF_MAX_BYTES);
	if (memchr(data, '\0', len))
		return alts_err_set(err, ALTS_EINVALID, "%s: definition contains a NUL byte; is it a text file?", label);
	rc = conf_load_document(&doc, label, data, len, err);
	if (rc)
		return rc;
	arena = arena_new();
	f = arena ? arena_alloc(arena, sizeof(*f)) : NULL;
	if (!f) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	memset(f, 0, sizeof(*f));
	f->def.arena = arena;
	f->def.path = arena_strdup(arena, label);
	f->def.gpgcheck = true;
	f->def.nodocs = true;
	ctx.doc = &doc;
	ctx.arena = arena;
	ctx.file = f->def.path;
	ctx.err = err;
	root = yaml_document_get_root_node(&doc);
	if (root->type != YAML_MAPPING_NODE) {
		rc = conf_fail(&ctx, root, "", "an image definition is a mapping (dist_name:, repositories: ...), got %s",
			       conf_type_name(root));
		goto out;
	}
	{
		struct conf_section sec = { def_keys, f };

		rc = conf_decode_map(&ctx, root, "", &sec, 1);
	}
	if (!rc)
		rc = load_repos(&ctx, &f->def, f->repos_node, "repositories");
	if (rc)
		goto out;
	if (!f->def.releasever)
		f->def.releasever = f->def.dist_version;
	if (!f->def.rpm_dbpath)
		f->def.rpm_dbpath = "/var/lib/rpm";
	*out = &f->def;
	arena = NULL;
out:
	arena_free(arena);
	yaml_document_delete(&doc);
	return rc;
}

int image_def_load(struct image_def **out, const char *path, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	int rc;

	if (sbuf_read_file(&data, path, IMAGE_DEF_MAX_BYTES + 1)) {
		rc = alts_err_errno(err, ALTS_EINVALID, errno, "cannot read image definition '%s'", path);
		sbuf_release(&data);
		return rc;
	}
	rc = image_def_load_buffer(out, path, data.buf, data.len, err);
	sbuf_release(&data);
	return rc;
}

static bool find_in(char *buf, size_t size, const char *dir, size_t dirlen, const char *name)
{
	if (!dirlen)
		return false;
	str_fmt(buf, size, "%.*s/%s.yaml", (int)dirlen, dir, name);
	return access(buf, F_OK) == 0;
}

int image_def_find(char *buf, size_t size, const char *name, struct alts_err *err)
{
	const char *dirs = getenv("ALTS_IMAGE_DEFINITIONS");

	if (dirs && *dirs) {
		for (const char *p = dirs;;) {
			size_t n = strcspn(p, ":");

			if (find_in(buf, size, p, n, name))
				return 0;
			if (!p[n])
				break;
			p += n + 1;
		}
	} else if (find_in(buf, size, IMAGE_DEF_ETC_DIR, strlen(IMAGE_DEF_ETC_DIR), name) ||
		   find_in(buf, size, IMAGE_DEF_SHIPPED_DIR, strlen(IMAGE_DEF_SHIPPED_DIR), name)) {
		return 0;
	}
	return alts_err_set(err, ALTS_ENOTFOUND, "no image definition '%s.yaml' in %s", name,
			    dirs && *dirs ? dirs : IMAGE_DEF_ETC_DIR " or " IMAGE_DEF_SHIPPED_DIR);
}

static void add_keys(struct sbuf *out, const struct strlist *keys)
{
	sbuf_adds(out, "gpgkey=");
	for (size_t i = 0; i < keys->n; i++)
		sbuf_addf(out, "%s%s", i ? " " : "", keys->v[i]);
	sbuf_addch(out, '\n');
}

void image_def_dnf_conf(struct sbuf *out, const struct image_def *def)
{
	sbuf_addf(out,
		  "# written by alts-image from %s\n[main]\ngpgcheck=%d\nreposdir=/dev/null\nkeepcache=0\n"
		  "install_weak_deps=%d\nbest=1\nskip_if_unavailable=0\nassumeyes=1\n",
		  def->path, def->gpgcheck, def->install_weak_deps);
	if (def->nodocs)
		sbuf_adds(out, "tsflags=nodocs\n");
	if (def->module_platform_id)
		sbuf_addf(out, "module_platform_id=%s\n", def->module_platform_id);
	for (size_t i = 0; i < def->nrepos; i++) {
		const struct image_def_repo *r = &def->repos[i];

		sbuf_addf(out, "\n[%s]\nname=%s\nenabled=%d\ngpgcheck=%d\n", r->name, r->name, r->enabled, r->gpgcheck);
		if (r->baseurl)
			sbuf_addf(out, "baseurl=%s\n", r->baseurl);
		if (r->mirrorlist)
			sbuf_addf(out, "mirrorlist=%s\n", r->mirrorlist);
		if (r->gpg_keys.n || def->gpg_keys.n)
			add_keys(out, r->gpg_keys.n ? &r->gpg_keys : &def->gpg_keys);
	}
}

const char **image_def_dnf_argv(const struct image_def *def, const char *conf_path, const char *installroot,
				const char *forcearch)
{
	size_t n = 0, max = 10 + def->packages.n;
	const char **argv = arena_alloc(def->arena, max * sizeof(*argv));

	if (!argv)
		return NULL;
	argv[n++] = "dnf";
	argv[n++] = "-y";
	argv[n++] = "--noplugins";
	argv[n++] = arena_printf(def->arena, "--config=%s", conf_path);
	argv[n++] = arena_printf(def->arena, "--installroot=%s", installroot);
	argv[n++] = arena_printf(def->arena, "--releasever=%s", def->releasever);
	if (forcearch)
		argv[n++] = arena_printf(def->arena, "--forcearch=%s", forcearch);
	argv[n++] = "install";
	if (def->release_package)
		argv[n++] = def->release_package;
	for (size_t i = 0; i < def->packages.n; i++)
		argv[n++] = def->packages.v[i];
	argv[n] = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!argv[i])
			return NULL;
	}
	return argv;
}
