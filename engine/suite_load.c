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

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++) {
		if (!strcmp(*list, s))
			return true;
	}
	return false;
}

static void join_list(struct sbuf *sb, const char *const *list)
{
	for (const char *const *p = list; *p; p++)
		sbuf_addf(sb, "%s%s", p == list ? "" : ", ", *p);
}

static int fail_not_in_list(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *what,
			    const char *value, const char *const *list)
{
	struct sbuf sb = SBUF_INIT;
	int rc;

	join_list(&sb, list);
	rc = conf_fail(ctx, node, path, "unknown %s '%s' (known: %s)", what, value, sb.buf);
	sbuf_release(&sb);
	return rc;
}

/* The first character of s that is not allowed, for the message. */
static char first_bad_char(const char *s, const char *extra)
{
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return *p;
	}
	return '?';
}

static const char *describe_char(char c, char *buf, size_t size)
{
	if (c == ' ')
		return "a space";
	if (isprint((unsigned char)c))
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned char)c);
	return buf;
}

static int validate_package_name(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;
	char cbuf[16];

	if (suite_package_name_ok(name))
		return 0;
	return conf_fail(ctx, node, path,
			 "package name '%s' contains %s, which cannot appear in a package name "
			 "(allowed: letters, digits and + . _ ~ -)",
			 name, describe_char(first_bad_char(name, "+._~-"), cbuf, sizeof(cbuf)));
}

static int validate_version(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;
	char cbuf[16];

	if (suite_version_ok(v))
		return 0;
	return conf_fail(ctx, node, path,
			 "version '%s' contains %s, which cannot appear in a version "
			 "(allowed: letters, digits and . + ~ _ : -, starting with a letter or digit)",
			 v, describe_char(first_bad_char(v, ".+~_:-"), cbuf, sizeof(cbuf)));
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

	return in_list(known_arches, arch) ? 0
					   : fail_not_in_list(ctx, node, path, "architecture", arch, known_arches);
}

static int validate_runner(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;

	return in_list(runner_names(), name) ? 0
					     : fail_not_in_list(ctx, node, path, "runner", name, runner_names());
}

static int validate_manager(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *name = *(const char **)field;

	return in_list(known_managers, name)
		       ? 0
		       : fail_not_in_list(ctx, node, path, "package manager", name, known_managers);
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
	static const char *const modes[] = { "none", "host", NULL };
	const char *mode = *(const char **)field;

	return in_list(modes, mode) ? 0 : fail_not_in_list(ctx, node, path, "network mode", mode, modes);
}

static int validate_dist_word(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;
	char cbuf[16];

	if (suite_version_ok(v))
		return 0;
	return conf_fail(ctx, node, path, "'%s' contains %s; use letters, digits and . _ -", v,
			 describe_char(first_bad_char(v, ".+~_:-"), cbuf, sizeof(cbuf)));
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
				 const char *dir)
{
	const char **file = field;
	const char *abs = absolute_path(ctx->arena, dir, *file);
	size_t len;
	struct stat st;

	if (!abs)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	len = strlen(abs);
	if (len < 4 || (strcmp(abs + len - 4, ".deb") && strcmp(abs + len - 4, ".rpm")))
		return conf_fail(ctx, node, path, "'%s' is not a .deb or .rpm file", *file);
	if (stat(abs, &st) || !S_ISREG(st.st_mode))
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
							   s->dir);
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
	return conf_fail(ctx, node, path,
			 "'%s' is not a repository URL (http://, https://, file://, an absolute path, "
			 "or an apt line starting with 'deb ')",
			 url);
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
		if (rc)
			return rc;
	}
	s->nrepos = n;
	return 0;
}

/* A host name or address for ssh: never an option ("-..."), no spaces, no user@. */
static int validate_ssh_host(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *host = *(const char **)field;
	char cbuf[16];

	if (host[0] == '-')
		return conf_fail(ctx, node, path, "host '%s' must not start with '-'", host);
	for (const char *p = host; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
			return conf_fail(ctx, node, path,
					 "host '%s' contains %s (allowed: letters, digits and . - _ : [ ]); "
					 "give the user in 'user'",
					 host, describe_char(*p, cbuf, sizeof(cbuf)));
	}
	return 0;
}

static int validate_ssh_user(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *user = *(const char **)field;
	char cbuf[16];

	if (user[0] == '-')
		return conf_fail(ctx, node, path, "user '%s' must not start with '-'", user);
	for (const char *p = user; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return conf_fail(ctx, node, path, "user '%s' contains %s (allowed: letters, digits and . _ -)",
					 user, describe_char(*p, cbuf, sizeof(cbuf)));
	}
	return 0;
}

static int validate_port(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long port = *(long *)field;

	if (port < 1 || port > 65535)
		return conf_fail(ctx, node, path, "port %ld is out of range (1-65535)", port);
	return 0;
}

/* ssh expands '%' and '${' in these paths and splits UserKnownHostsFile on spaces: refuse what it would change. */
static int validate_ssh_path(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *file = *(const char **)field;
	const char *bad = strpbrk(file, "%$\"'\t\n ");

	if (bad)
		return conf_fail(ctx, node, path,
				 "path '%s' contains '%c', which ssh would expand or split; use a path without "
				 "%%, $, quotes or spaces",
				 file, *bad == '\t' || *bad == '\n' ? ' ' : *bad);
	return 0;
}

static int validate_ssh_identity(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *file = *(const char **)field;
	const char *bad = strpbrk(file, "%$");

	if (bad)
		return conf_fail(ctx, node, path, "path '%s' contains '%c', which ssh would expand", file, *bad);
	return 0;
}

static int validate_host_key_checking(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const modes[] = { "yes", "accept-new", "no", NULL };
	const char *mode = *(const char **)field;

	return in_list(modes, mode) ? 0
				    : fail_not_in_list(ctx, node, path, "host key checking mode", mode, modes);
}

static const struct conf_key ssh_keys[] = {
	{ "host", CONF_STRING, offsetof(struct suite_env_ssh, host), CONF_NONEMPTY, NULL, validate_ssh_host },
	{ "port", CONF_INT, offsetof(struct suite_env_ssh, port), 0, NULL, validate_port },
	{ "user", CONF_STRING, offsetof(struct suite_env_ssh, user), CONF_NONEMPTY, NULL, validate_ssh_user },
	{ "identity_file", CONF_STRING, offsetof(struct suite_env_ssh, identity_file), CONF_NONEMPTY, NULL,
	  validate_ssh_identity },
	{ "known_hosts", CONF_STRING, offsetof(struct suite_env_ssh, known_hosts), CONF_NONEMPTY, NULL,
	  validate_ssh_path },
	{ "strict_host_key_checking", CONF_STRING, offsetof(struct suite_env_ssh, strict_host_key_checking),
	  CONF_NONEMPTY, NULL, validate_host_key_checking },
	{ "connect_timeout", CONF_DURATION, offsetof(struct suite_env_ssh, connect_timeout), 0, NULL, NULL },
	{ "reboot_command", CONF_ARGV, offsetof(struct suite_env_ssh, reboot_command), 0, NULL, NULL },
	{ "reboot_timeout", CONF_DURATION, offsetof(struct suite_env_ssh, reboot_timeout), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int validate_docker_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const schemes[] = { "unix://", "tcp://", "http://", "https://", NULL };
	const char *url = *(const char **)field;

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return conf_fail(ctx, node, path, "docker URL '%s' contains a space or control character", url);
	}
	for (const char *const *sc = schemes; *sc; sc++) {
		if (!strncmp(url, *sc, strlen(*sc)) && url[strlen(*sc)])
			return 0;
	}
	return conf_fail(ctx, node, path,
			 "'%s' is not a docker URL (unix:///path, tcp://host:port, http://host:port or https://host:port)",
			 url);
}

static bool docker_image_ok(const char *image)
{
	if (!*image || !isalnum((unsigned char)*image))
		return false;
	for (const char *p = image; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-/:@", *p))
			return false;
	}
	return true;
}

/* docker.image: one image name, or a mapping "<dist_name>-<dist_version>" -> image. */
static int parse_docker_image(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct suite_env_docker *d = field;
	const struct conf_key str = { "image", CONF_STRING, 0, CONF_NONEMPTY, NULL, NULL };
	const struct conf_key map = { "image", CONF_STRMAP, 0, CONF_NONEMPTY, NULL, NULL };
	int rc;

	if (conf_is_null(node))
		return 0;
	if (node->type == YAML_MAPPING_NODE) {
		rc = conf_decode_value(ctx, node, path, &map, &d->images);
		for (size_t i = 0; !rc && i < d->images.n; i++) {
			if (!docker_image_ok(d->images.values[i]))
				rc = conf_fail(ctx, node, conf_path_key(ctx, path, d->images.keys[i]),
					       "invalid image reference '%s'", d->images.values[i]);
		}
		return rc;
	}
	rc = conf_decode_value(ctx, node, path, &str, &d->image);
	if (!rc && !docker_image_ok(d->image))
		rc = conf_fail(ctx, node, path, "invalid image reference '%s'", d->image);
	return rc;
}

static int validate_platform(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *p = *(const char **)field;

	for (const char *c = p; *c; c++) {
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && !strchr("/_-", *c))
			return conf_fail(ctx, node, path, "invalid platform '%s' (like linux/amd64 or linux/arm64/v8)", p);
	}
	return 0;
}

static const struct conf_key docker_keys[] = {
	{ "url", CONF_STRING, offsetof(struct suite_env_docker, url), CONF_NONEMPTY, NULL, validate_docker_url },
	{ "image", CONF_CUSTOM, 0, 0, parse_docker_image, NULL },
	{ "platform", CONF_STRING, offsetof(struct suite_env_docker, platform), CONF_NONEMPTY, NULL,
	  validate_platform },
	CONF_KEYS_END,
};

static const struct conf_key command_keys[] = {
	{ "create", CONF_ARGV, offsetof(struct suite_env_command, create), CONF_REQUIRED, NULL, NULL },
	{ "destroy", CONF_ARGV, offsetof(struct suite_env_command, destroy), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int parse_env_section(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field,
			     const struct conf_key *keys)
{
	struct conf_section sec = { keys, field };

	if (conf_is_null(node))
		return 0;
	return conf_decode_map(ctx, node, path, &sec, 1);
}

static int parse_env_ssh(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	return parse_env_section(ctx, node, path, field, ssh_keys);
}

static int parse_env_docker(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	return parse_env_section(ctx, node, path, field, docker_keys);
}

static int parse_env_command(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	return parse_env_section(ctx, node, path, field, command_keys);
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
	{ "ssh", CONF_CUSTOM, offsetof(struct suite_environment, ssh), 0, parse_env_ssh, NULL },
	{ "docker", CONF_CUSTOM, offsetof(struct suite_environment, docker), 0, parse_env_docker, NULL },
	{ "command", CONF_CUSTOM, offsetof(struct suite_environment, command), 0, parse_env_command, NULL },
	CONF_KEYS_END,
};

static const struct conf_key check_common_keys[] = {
	{ "name", CONF_STRING, offsetof(struct suite_check, name), CONF_NONEMPTY, NULL, NULL },
	{ "timeout", CONF_DURATION, offsetof(struct suite_check, timeout), 0, NULL, NULL },
	{ "skip", CONF_STRING, offsetof(struct suite_check, skip), CONF_NONEMPTY, NULL, NULL },
	{ "expect_failure", CONF_BOOL, offsetof(struct suite_check, expect_failure), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int fail_unknown_check(struct conf_ctx *ctx, yaml_node_t *node, const char *path, const char *type)
{
	return fail_not_in_list(ctx, node, path, "check", type, check_names());
}

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
	c->ops = check_lookup(type);
	if (!c->ops)
		return fail_unknown_check(ctx, tnode, path, type);
	c->type = c->ops->name;
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

static int parse_environment(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct conf_section sec = { environment_keys, field };
	const struct suite_environment *env = field;
	int rc;

	if (conf_is_null(node))
		return 0;
	rc = conf_decode_map(ctx, node, path, &sec, 1);
	if (rc || !env->runner)
		return rc;
	/* What a runner cannot start without, named before anything runs. */
	if (!strcmp(env->runner, "ssh") && !env->ssh.host)
		return conf_fail(ctx, node, path, "the ssh runner needs 'ssh: {host: ...}'");
	if (!strcmp(env->runner, "command") && !env->command.create.argc)
		return conf_fail(ctx, node, path, "the command runner needs 'command: {create: [...]}'");
	return 0;
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
