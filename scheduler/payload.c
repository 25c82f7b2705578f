#include "framework/common.h"
#include "framework/jsondoc.h"
#include "framework/sbuf.h"
#include "engine/suite_load.h"
#include "farm/queue_name.h"
#include "runners/runner.h"
#include "scheduler/payload.h"

#include <jansson.h>

#define PAYLOAD_LABEL "body"
#define PAYLOAD_FIELD_MAX 256
#define PAYLOAD_URL_MAX 2048

const char *payload_queue_arch(const char *arch)
{
	return queue_name_arch(arch);
}

const char *payload_known_archs(void)
{
	return queue_name_known_archs();
}

bool payload_runner_known(const char *runner)
{
	if (runner && !strcmp(runner, "any"))
		return true;
	for (const char *const *n = runner_names(); runner && *n; n++) {
		if (!strcmp(*n, runner))
			return true;
	}
	return false;
}

const char *payload_map_runner(const struct payload_rules *rules, const char *runner)
{
	for (size_t i = 0; runner && rules->runner_map && i < rules->runner_map->n; i++) {
		if (!strcmp(rules->runner_map->keys[i], runner))
			return rules->runner_map->values[i];
	}
	return runner;
}

static void join_list(struct sbuf *sb, const struct strlist *l, const char *extra)
{
	for (size_t i = 0; i < l->n; i++)
		sbuf_addf(sb, "%s%s", i ? ", " : "", l->v[i]);
	if (extra)
		sbuf_addf(sb, "%s%s", l->n ? ", " : "", extra);
}

int payload_route(char *buf, size_t size, const struct payload_rules *rules, const char *runner, const char *arch,
		  const char **runner_out, struct alts_err *err)
{
	struct sbuf allowed = SBUF_INIT;
	const char *qarch = payload_queue_arch(arch);
	int rc = 0;

	runner = payload_map_runner(rules, runner);
	if (!strcmp(runner, "any") && rules->runners->n) {
		runner = rules->runners->v[0];
	} else if (!payload_runner_known(runner) || !conf_strlist_has(rules->runners, runner)) {
		join_list(&allowed, rules->runners, "any");
		rc = alts_err_set(err, ALTS_EINVALID, "unknown runner '%s' (allowed: %s)", runner, allowed.buf);
		goto out;
	}
	if (!qarch || !conf_strlist_has(rules->architectures, arch)) {
		join_list(&allowed, rules->architectures, NULL);
		rc = alts_err_set(err, ALTS_EINVALID, "unknown architecture '%s' (allowed: %s)", arch, allowed.buf);
		goto out;
	}
	if (!queue_name_format(buf, size, runner, qarch, rules->cost, NULL)) {
		rc = alts_err_set(err, ALTS_EINVALID, "queue name too long");
		goto out;
	}
	*runner_out = runner;
out:
	sbuf_release(&allowed);
	return rc;
}

/* ---- decoding ---------------------------------------------------------- */

struct payload_repo {
	const char *name;
	const char *url;
	const char *baseurl;
};

struct payload_test {
	const char *url;
	const char *git_ref;
	const char *test_dir;
	struct strlist tests_to_run;
};

struct payload {
	const char *runner_type;
	const char *dist_name;
	const char *dist_version;
	const char *dist_arch;
	struct payload_repo *repos;
	size_t nrepos;
	bool have_repos;
	const char *package_name;
	const char *package_version;
	const char *package_epoch;
	const char *module_name;
	const char *module_stream;
	const char *module_version;
	struct payload_test *tests;
	size_t ntests;
	bool have_tests;
	const char *callback_href;
	const char *bs_task_id;
	const char *package_channel;
	bool verbose, have_verbose;
	yaml_node_t *test_flavor;
	yaml_node_t *test_env;
	struct strlist extra_env;   /* test_env.extra_env_vars: NAME=value */
	yaml_node_t *suite;
	const struct payload_rules *rules;
};

static bool text_ok(const char *s, const char *extra)
{
	if (!*s || strlen(s) > PAYLOAD_FIELD_MAX)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	}
	return true;
}

static bool url_ok(const char *s)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "file://" };
	bool scheme = false;

	if (strlen(s) > PAYLOAD_URL_MAX)
		return false;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(schemes); i++)
		scheme = scheme || !strncasecmp(s, schemes[i], strlen(schemes[i]));
	if (!scheme && strncmp(s, "deb ", 4))
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static int v_runner(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct payload *p = (struct payload *)((char *)field - offsetof(struct payload, runner_type));
	const char *r = payload_map_runner(p->rules, *(const char **)field);
	struct sbuf allowed = SBUF_INIT;
	int rc = 0;

	if (strcmp(r, "any") && (!payload_runner_known(r) || !conf_strlist_has(p->rules->runners, r))) {
		join_list(&allowed, p->rules->runners, "any");
		rc = conf_fail(ctx, node, path, "unknown runner '%s' (allowed: %s)", r, allowed.buf);
	}
	sbuf_release(&allowed);
	return rc;
}

static int v_dist_name(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *d = *(const char **)field;
	struct payload *p = (struct payload *)((char *)field - offsetof(struct payload, dist_name));
	struct sbuf allowed = SBUF_INIT;
	int rc = 0;

	if (!conf_strlist_has(p->rules->distributions, d)) {
		join_list(&allowed, p->rules->distributions, NULL);
		rc = conf_fail(ctx, node, path, "unknown distribution '%s' (allowed: %s)", d, allowed.buf);
	}
	sbuf_release(&allowed);
	return rc;
}

static int v_arch(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *a = *(const char **)field;
	struct payload *p = (struct payload *)((char *)field - offsetof(struct payload, dist_arch));
	struct sbuf allowed = SBUF_INIT;
	int rc = 0;

	if (!payload_queue_arch(a) || !conf_strlist_has(p->rules->architectures, a)) {
		join_list(&allowed, p->rules->architectures, NULL);
		rc = conf_fail(ctx, node, path, "unknown architecture '%s' (allowed: %s)", a, allowed.buf);
	}
	sbuf_release(&allowed);
	return rc;
}

static int v_dist_version(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (node->type != YAML_SCALAR_NODE || (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					       (!strcmp(v, "true") || !strcmp(v, "false"))))
		return conf_fail(ctx, node, path, "expected a string or a number");
	return text_ok(v, "._-") && strlen(v) <= 32
		       ? 0
		       : conf_fail(ctx, node, path, "invalid version '%s' (letters, digits, '.', '_', '-'; at most 32)", v);
}

static int v_package(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *n = *(const char **)field;

	/* A JSON number is a plain scalar once parsed; a name is a JSON string (quoted). */
	if (node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return conf_fail(ctx, node, path, "expected a string (a package name), got the number %s", n);
	return strlen(n) <= PAYLOAD_FIELD_MAX && suite_package_name_ok(n)
		       ? 0
		       : conf_fail(ctx, node, path, "invalid package name '%s' (allowed: letters, digits and + . _ ~ -)", n);
}

static int v_version(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	return strlen(v) <= PAYLOAD_FIELD_MAX && suite_version_ok(v)
		       ? 0
		       : conf_fail(ctx, node, path, "invalid version '%s' (allowed: letters, digits and . + ~ _ : -)", v);
}

static int v_digits(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	size_t n = strspn(v, "0123456789");

	return n && !v[n] && n <= 10 ? 0 : conf_fail(ctx, node, path, "expected digits, got '%s'", v);
}

static int v_name(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	return text_ok(v, "._+:-") ? 0
				   : conf_fail(ctx, node, path, "invalid value '%s' (letters, digits and . _ + : -)", v);
}

static int v_bs_task_id(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	/* An integer id (a plain scalar once parsed) must not be negative: ALTS's ids count from 1. */
	if (node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*v || strspn(v, "0123456789") != strlen(v)))
		return conf_fail(ctx, node, path, "expected a non-negative integer or a string id, got %s", v);
	return text_ok(v, "_-") && strlen(v) <= 64
		       ? 0
		       : conf_fail(ctx, node, path, "invalid id '%s' (letters, digits, '_', '-'; at most 64)", v);
}

static int v_callback(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;
	struct payload *p = (struct payload *)((char *)field - offsetof(struct payload, callback_href));

	/* The Build System sends "/api/v1/tests/<id>/result/"; ALTS joins it with bs_host. */
	if (v[0] == '/' && v[1] != '/' && p->rules->relative_callbacks) {
		if (strlen(v) > PAYLOAD_URL_MAX || !text_ok(v, "/._-~%?=&+:"))
			return conf_fail(ctx, node, path, "invalid relative callback_href '%s'", v);
		return 0;
	}
	if ((strncasecmp(v, "http://", 7) && strncasecmp(v, "https://", 8)) || !url_ok(v) || strchr(v, ' '))
		return conf_fail(ctx, node, path, "expected an http:// or https:// URL%s, got '%s'",
				 p->rules->relative_callbacks ? " or a path joined with bs_host" : "", v);
	return 0;
}

static int v_channel(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const channels[] = { "stable", "beta", NULL };

	return conf_check_one_of(ctx, node, path, "package channel", *(const char **)field, channels);
}

static int v_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	return url_ok(v) ? 0
			 : conf_fail(ctx, node, path,
				     "invalid URL '%s' (http://, https://, ftp://, file:// or an apt 'deb ...' line)", v);
}

static int v_git_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (*v == '-' || strstr(v, "::") || strlen(v) > PAYLOAD_URL_MAX || strchr(v, ' '))
		return conf_fail(ctx, node, path, "invalid git URL '%s'", v);
	return 0;
}

static int v_relpath(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (*v == '/' || strstr(v, "..") || !text_ok(v, "._+-/"))
		return conf_fail(ctx, node, path, "invalid path '%s' (relative, letters, digits and . _ + - /)", v);
	return 0;
}

static int v_relpaths(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		int rc = v_relpath(ctx, node, path, &l->v[i]);

		if (rc)
			return rc;
	}
	return 0;
}

static const struct conf_key repo_keys[] = {
	{ "name", CONF_STRING, offsetof(struct payload_repo, name), 0, NULL, v_name },
	{ "url", CONF_STRING, offsetof(struct payload_repo, url), CONF_NONEMPTY, NULL, v_url },
	{ "baseurl", CONF_STRING, offsetof(struct payload_repo, baseurl), CONF_NONEMPTY, NULL, v_url },
	CONF_KEYS_END,
};

static const struct conf_key test_keys[] = {
	{ "url", CONF_STRING, offsetof(struct payload_test, url), CONF_REQUIRED | CONF_NONEMPTY, NULL, v_git_url },
	{ "git_ref", CONF_STRING, offsetof(struct payload_test, git_ref), CONF_NONEMPTY, NULL, v_name },
	{ "test_dir", CONF_STRING, offsetof(struct payload_test, test_dir), CONF_NONEMPTY, NULL, v_relpath },
	{ "tests_to_run", CONF_STRLIST, offsetof(struct payload_test, tests_to_run), 0, NULL, v_relpaths },
	CONF_KEYS_END,
};

static size_t seq_len(yaml_node_t *node)
{
	return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
}

static int parse_repos(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct payload *p = field;
	size_t n, i = 0;

	if (conf_is_null(node))
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a list of repositories, got %s", conf_type_name(node));
	n = seq_len(node);
	if (n > 64)
		return conf_fail(ctx, node, path, "too many repositories (at most 64)");
	p->repos = arena_alloc(ctx->arena, (n ? n : 1) * sizeof(*p->repos));
	if (!p->repos)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
		const char *ipath = conf_path_index(ctx, path, i);
		struct conf_section sec = { repo_keys, &p->repos[i] };
		int rc = conf_decode_map(ctx, item, ipath, &sec, 1);

		if (rc)
			return rc;
		if (!p->repos[i].url == !p->repos[i].baseurl)
			return conf_fail(ctx, item, ipath, "expected exactly one of 'url' and 'baseurl'");
	}
	p->nrepos = n;
	p->have_repos = true;
	return 0;
}

/* test_env: null or ALTS's dict; extra_env_vars ["NAME=value"] reach the tests, the rest is recorded. */
struct test_env_conf {
	struct strlist extra_env_vars;
	bool pytest_is_needed, use_deprecated_ansible;
	long vm_disk_size, vm_ram_size;
};

static int v_env_vars(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');

		if (!eq || eq == l->v[i] || strchr(eq + 1, '='))
			return conf_fail(ctx, node, path, "expected NAME=value, got '%s'", l->v[i]);
	}
	return 0;
}

static const struct conf_key test_env_keys[] = {
	{ "extra_env_vars", CONF_STRLIST, offsetof(struct test_env_conf, extra_env_vars), 0, NULL, v_env_vars },
	{ "pytest_is_needed", CONF_BOOL, offsetof(struct test_env_conf, pytest_is_needed), 0, NULL, NULL },
	{ "use_deprecated_ansible", CONF_BOOL, offsetof(struct test_env_conf, use_deprecated_ansible), 0, NULL, NULL },
	{ "vm_disk_size", CONF_INT, offsetof(struct test_env_conf, vm_disk_size), 0, NULL, NULL },
	{ "vm_ram_size", CONF_INT, offsetof(struct test_env_conf, vm_ram_size), 0, NULL, NULL },
	CONF_KEYS_END,
};

static int parse_test_env(struct conf_ctx *ctx, yaml_node_t *node, const char *path, struct payload *p)
{
	struct test_env_conf te = { 0 };
	struct conf_section sec = { test_env_keys, &te };
	int rc;

	if (!node || conf_is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return conf_fail(ctx, node, path, "expected null or a mapping, got %s", conf_type_name(node));
	rc = conf_decode_map(ctx, node, path, &sec, 1);
	if (rc)
		return rc;
	p->test_env = node;
	p->extra_env = te.extra_env_vars;
	return 0;
}

static int parse_flavor(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const struct conf_key flavor_keys[] = {
		{ "name", CONF_STRING, 0, CONF_NONEMPTY, NULL, v_name },
		{ "version", CONF_STRING, sizeof(const char *), CONF_NONEMPTY, NULL, v_name },
		CONF_KEYS_END,
	};
	const char *f[2] = { NULL, NULL };
	struct conf_section sec = { flavor_keys, f };
	struct payload *p = field;
	int rc;

	if (conf_is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return conf_fail(ctx, node, path, "expected null or {name, version}, got %s", conf_type_name(node));
	rc = conf_decode_map(ctx, node, path, &sec, 1);
	if (!rc)
		p->test_flavor = node;
	return rc;
}

static int parse_tests(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct payload *p = field;
	const char *tpath = conf_path_key(ctx, path, "tests");
	yaml_node_t *tests = NULL;
	size_t n, i = 0;

	if (conf_is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return conf_fail(ctx, node, path, "expected a mapping with 'tests', got %s", conf_type_name(node));
	for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top; pr++) {
		const char *k = conf_scalar(yaml_document_get_node(ctx->doc, pr->key));

		if (k && !strcmp(k, "test_env")) {
			int rc = parse_test_env(ctx, yaml_document_get_node(ctx->doc, pr->value),
						conf_path_key(ctx, path, "test_env"), p);

			if (rc)
				return rc;
			continue;
		}
		if (!k || strcmp(k, "tests"))
			return conf_fail(ctx, yaml_document_get_node(ctx->doc, pr->key), path,
					 "unknown key '%s' (known keys: tests, test_env)", k ? k : "?");
		tests = yaml_document_get_node(ctx->doc, pr->value);
	}
	if (!tests || conf_is_null(tests))
		return 0;
	if (tests->type != YAML_SEQUENCE_NODE)
		return conf_fail(ctx, tests, tpath, "expected a list of tests, got %s", conf_type_name(tests));
	n = seq_len(tests);
	if (n > 64)
		return conf_fail(ctx, tests, tpath, "too many tests (at most 64)");
	p->tests = arena_alloc(ctx->arena, (n ? n : 1) * sizeof(*p->tests));
	if (!p->tests)
		return alts_err_set(ctx->err, ALTS_ENOMEM, "out of memory");
	for (yaml_node_item_t *it = tests->data.sequence.items.start; it < tests->data.sequence.items.top; it++, i++) {
		struct conf_section sec = { test_keys, &p->tests[i] };
		int rc = conf_decode_map(ctx, yaml_document_get_node(ctx->doc, *it), conf_path_index(ctx, tpath, i),
					 &sec, 1);

		if (rc)
			return rc;
	}
	p->ntests = n;
	p->have_tests = true;
	return 0;
}

static int parse_verbose(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct payload *p = field;
	const char *v = conf_scalar(node);

	if (conf_is_null(node))
		return 0;
	if (!v || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (strcmp(v, "true") && strcmp(v, "false")))
		return conf_fail(ctx, node, path, "expected true or false");
	p->verbose = *v == 't';
	p->have_verbose = true;
	return 0;
}

static int parse_suite(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	struct payload *p = field;

	if (conf_is_null(node))
		return 0;
	if (node->type == YAML_SEQUENCE_NODE)
		return conf_fail(ctx, node, path, "expected a suite (a YAML/JSON string or an object), got a list");
	p->suite = node;
	return 0;
}

#define P(name, type, flags, validate) { #name, type, offsetof(struct payload, name), flags, NULL, validate }

static const struct conf_key payload_keys[] = {
	P(runner_type, CONF_STRING, CONF_NONEMPTY, v_runner),
	P(dist_name, CONF_STRING, CONF_NONEMPTY, v_dist_name),
	P(dist_version, CONF_STRING, CONF_NONEMPTY, v_dist_version),
	P(dist_arch, CONF_STRING, CONF_NONEMPTY, v_arch),
	{ "repositories", CONF_CUSTOM, 0, 0, parse_repos, NULL },
	P(package_name, CONF_STRING, CONF_NONEMPTY, v_package),
	P(package_version, CONF_STRING, CONF_NONEMPTY, v_version),
	P(package_epoch, CONF_STRING, CONF_NONEMPTY, v_digits),
	P(module_name, CONF_STRING, CONF_NONEMPTY, v_name),
	P(module_stream, CONF_STRING, CONF_NONEMPTY, v_name),
	P(module_version, CONF_STRING, CONF_NONEMPTY, v_name),
	{ "test_configuration", CONF_CUSTOM, 0, 0, parse_tests, NULL },
	P(callback_href, CONF_STRING, CONF_NONEMPTY, v_callback),
	P(package_channel, CONF_STRING, CONF_NONEMPTY, v_channel),
	{ "test_flavor", CONF_CUSTOM, 0, 0, parse_flavor, NULL },
	{ "verbose", CONF_CUSTOM, 0, 0, parse_verbose, NULL },
	P(bs_task_id, CONF_STRING, CONF_NONEMPTY, v_bs_task_id),
	{ "suite", CONF_CUSTOM, 0, 0, parse_suite, NULL },
	CONF_KEYS_END,
};

/* ---- YAML to JSON ------------------------------------------------------ */

static bool is_json_int(const char *s)
{
	const char *d = s + (*s == '-');

	if (!*d || strlen(d) > 18 || (d[0] == '0' && d[1]))
		return false;
	for (; *d; d++) {
		if (!isdigit((unsigned char)*d))
			return false;
	}
	return true;
}

/*
 * Converts a node to JSON. Plain scalars keep their YAML meaning for
 * null, booleans and integers; every other scalar stays a string as
 * written (so "2.10" keeps its zero). Depth is bounded.
 */
static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	json_t *j = NULL;

	if (!node || depth > 64)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)node->data.scalar.value;

		if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_stringn(s, node->data.scalar.length);
		if (!*s || !strcmp(s, "~") || !strcmp(s, "null"))
			return json_null();
		if (!strcmp(s, "true") || !strcmp(s, "false"))
			return json_boolean(*s == 't');
		if (is_json_int(s))
			return json_integer(strtoll(s, NULL, 10));
		return json_stringn(s, node->data.scalar.length);
	}
	case YAML_SEQUENCE_NODE:
		j = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start; j && it < node->data.sequence.items.top;
		     it++) {
			json_t *v = node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1);

			if (!v || json_array_append_new(j, v)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case YAML_MAPPING_NODE:
		j = json_object();
		for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; j && pr < node->data.mapping.pairs.top; pr++) {
			const char *k = conf_scalar(yaml_document_get_node(doc, pr->key));
			json_t *v = node_to_json(doc, yaml_document_get_node(doc, pr->value), depth + 1);

			if (!k || !v || json_object_set_new(j, k, v)) {
				json_decref(v);
				json_decref(j);
				return NULL;
			}
		}
		return j;
	default:
		return NULL;
	}
}

/* ---- building the request ---------------------------------------------- */

static int set_str(json_t *obj, const char *key, const char *val)
{
	return val ? json_object_set_new(obj, key, json_string(val)) : 0;
}

/* The standard suite for an ALTS payload: install, integrity, third-party tests, uninstall. */
static json_t *payload_to_suite(const struct payload *p)
{
	json_t *suite = json_object(), *pkg = json_object(), *pkgs = json_array(), *repos = json_array();
	json_t *env = json_object(), *checks = json_array();
	int bad = !suite || !pkg || !pkgs || !repos || !env || !checks;

	bad = bad || set_str(suite, "name", p->package_name) || set_str(pkg, "name", p->package_name) ||
	      set_str(pkg, "version", p->package_version) || set_str(pkg, "epoch", p->package_epoch) ||
	      json_array_append(pkgs, pkg);
	for (size_t i = 0; !bad && i < p->nrepos; i++) {
		json_t *r = json_object();

		bad = !r || set_str(r, "name", p->repos[i].name) ||
		      set_str(r, p->repos[i].url ? "url" : "baseurl", p->repos[i].url ? p->repos[i].url : p->repos[i].baseurl) ||
		      json_array_append_new(repos, r);
	}
	bad = bad || set_str(env, "dist_name", p->dist_name) || set_str(env, "dist_version", p->dist_version) ||
	      set_str(env, "dist_arch", p->dist_arch) || json_array_append_new(checks, json_string("install")) ||
	      (!p->rules->no_integrity && json_array_append_new(checks, json_string("integrity")));
	for (size_t i = 0; !bad && i < p->ntests; i++) {
		const struct payload_test *t = &p->tests[i];
		size_t nrun = t->tests_to_run.n ? t->tests_to_run.n : 1;

		for (size_t k = 0; !bad && k < nrun; k++) {
			json_t *git = json_object(), *opts = json_object(), *check = json_object();
			char *sub = NULL;

			if (t->tests_to_run.n)
				sub = t->test_dir ? alts_asprintf("%s/%s", t->test_dir, t->tests_to_run.v[k])
						  : alts_strdup(t->tests_to_run.v[k]);
			bad = !git || !opts || !check || (t->tests_to_run.n && !sub) || set_str(git, "url", t->url) ||
			      set_str(git, "ref", t->git_ref) || set_str(git, "path", sub ? sub : t->test_dir) ||
			      json_object_set(opts, "git", git) || json_object_set(check, "script", opts);
			if (!bad) {
				char *name = alts_asprintf("third-party tests %zu%s%s", i + 1, sub ? ": " : "", sub ? sub : "");

				bad = !name || set_str(opts, "name", name) || json_array_append(checks, check);
				alts_free(name);
			}
			alts_free(sub);
			json_decref(git);
			json_decref(opts);
			json_decref(check);
		}
	}
	if (!bad && p->extra_env.n) {
		json_t *vars = json_object();

		bad = !vars || json_object_set_new(suite, "env", vars);
		for (size_t i = 0; !bad && i < p->extra_env.n; i++) {
			const char *kv = p->extra_env.v[i], *eq = strchr(kv, '=');
			char *name = alts_strndup(kv, (size_t)(eq - kv));

			bad = !name || json_object_set_new(vars, name, json_string(eq + 1));
			alts_free(name);
		}
	}
	bad = bad || json_array_append_new(checks, json_string("uninstall")) ||
	      json_object_set(suite, "packages", pkgs) || (p->nrepos && json_object_set(suite, "repositories", repos)) ||
	      json_object_set(suite, "environment", env) || json_object_set(suite, "checks", checks);
	json_decref(pkg);
	json_decref(pkgs);
	json_decref(repos);
	json_decref(env);
	json_decref(checks);
	if (bad) {
		json_decref(suite);
		return NULL;
	}
	return suite;
}

/* Validates a suite given as text (YAML or JSON) and converts it to JSON. */
static int suite_from_text(json_t **out, const char *text, size_t len, struct alts_err *err)
{
	struct suite *s = NULL;
	yaml_document_t doc;
	/* Validated as the worker will load it, without touching this machine's files. */
	int rc = suite_load_buffer_flags(&s, "suite", "/nonexistent/alts-rest-suite", text, len,
					 SUITE_LOAD_FARM | SUITE_LOAD_NO_FS, err);

	if (rc)
		return rc;
	suite_free(s);
	rc = conf_load_document(&doc, "suite", text, len, err);
	if (rc)
		return rc;
	*out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0);
	yaml_document_delete(&doc);
	return *out ? 0 : alts_err_set(err, ALTS_EINVALID, "suite: cannot convert the suite to JSON (nested too deep?)");
}

static const char *json_env_str(json_t *suite, const char *key, struct arena *a)
{
	json_t *v = json_object_get(json_object_get(suite, "environment"), key);

	if (json_is_string(v))
		return arena_strdup(a, json_string_value(v));
	if (json_is_integer(v))
		return arena_printf(a, "%lld", (long long)json_integer_value(v));
	return NULL;
}

static int reject_with_suite(struct conf_ctx *ctx, yaml_node_t *root, const struct payload *p)
{
	const char *bad = p->dist_name ? "dist_name" : p->dist_version ? "dist_version" : p->package_name ? "package_name"
			  : p->package_version ? "package_version" : p->package_epoch ? "package_epoch"
			  : p->module_name ? "module_name" : p->module_stream ? "module_stream"
			  : p->module_version ? "module_version" : p->have_repos ? "repositories"
			  : p->have_tests ? "test_configuration" : NULL;

	return bad ? conf_fail(ctx, root, bad, "cannot be combined with 'suite' (put it in the suite)") : 0;
}

static int check_required(struct conf_ctx *ctx, yaml_node_t *root, const struct payload *p)
{
	static const struct {
		const char *name;
		size_t off;
	} req[] = {
		{ "runner_type", offsetof(struct payload, runner_type) },
		{ "dist_name", offsetof(struct payload, dist_name) },
		{ "dist_version", offsetof(struct payload, dist_version) },
		{ "dist_arch", offsetof(struct payload, dist_arch) },
		{ "package_name", offsetof(struct payload, package_name) },
	};

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(req); i++) {
		if (!*(const char *const *)((const char *)p + req[i].off))
			return conf_fail(ctx, root, "", "missing required key '%s'", req[i].name);
	}
	if ((p->module_stream || p->module_version) && !p->module_name)
		return conf_fail(ctx, root, "module_name", "required with module_stream or module_version");
	if (p->module_name && !p->module_stream)
		return conf_fail(ctx, root, "module_stream", "required with module_name");
	return 0;
}

int payload_suite_loads(json_t *suite, struct alts_err *err)
{
	struct suite *s = NULL;
	char *text = json_dumps(suite, JSON_COMPACT);
	int rc;

	if (!text)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = suite_load_buffer_flags(&s, "generated suite", "/nonexistent/alts-rest-suite", text, strlen(text),
				     SUITE_LOAD_FARM | SUITE_LOAD_NO_FS, err);
	suite_free(s);
	free(text);
	return rc;
}

#define TASK_ID_KEY ",\"task_id\":\""
#define TASK_ID_PLACEHOLDER "00000000-0000-0000-0000-000000000000"

/*
 * The queue message with a placeholder task id (the id is drawn after
 * validation): r->message and r->task_id_at, where payload_message()
 * writes the id. Keys are sorted and "task_id" is the last key but
 * "version", so its place is the last ',"task_id":"' of the text (a
 * quote inside a string value is escaped, so no value can fake it).
 */
static int message_template(struct task_request *r, struct arena *a, json_t *suite)
{
	json_t *msg = json_object();
	char *text = NULL;
	const char *at = NULL;
	int bad = !msg;

	bad = bad || set_str(msg, "task_id", TASK_ID_PLACEHOLDER) || set_str(msg, "queue", r->queue) ||
	      set_str(msg, "runner", r->runner) || set_str(msg, "dist_name", r->dist_name) ||
	      set_str(msg, "dist_version", r->dist_version) || set_str(msg, "dist_arch", r->dist_arch) ||
	      set_str(msg, "package_name", r->package_name) || set_str(msg, "bs_task_id", r->bs_task_id) ||
	      set_str(msg, "callback_href", r->callback_href) || json_object_set_new(msg, "version", json_integer(1)) ||
	      json_object_set(msg, "suite", suite);
	if (!bad && r->alts_request)
		bad = json_object_set(msg, "alts_request", r->alts_request);
	if (!bad && r->module_name) {
		json_t *mod = json_object();

		bad = !mod || set_str(mod, "name", r->module_name) || set_str(mod, "stream", r->module_stream) ||
		      set_str(mod, "version", r->module_version) || json_object_set_new(msg, "module", mod);
	}
	if (!bad)
		text = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(msg);
	for (const char *p = text; p && (p = strstr(p, TASK_ID_KEY)); p++)
		at = p;
	r->message = text && at ? arena_strdup(a, text) : NULL;
	r->task_id_at = r->message ? (size_t)(at - text) + strlen(TASK_ID_KEY) : 0;
	free(text);
	return r->message ? 0 : ALTS_ENOMEM;
}

static int build_request(struct task_request *r, struct arena *a, struct payload *p, struct conf_ctx *ctx,
			 yaml_node_t *root, struct alts_err *err)
{
	json_t *suite = NULL;
	char *text = NULL, queue[QUEUE_NAME_MAX + 1], dist[QUEUE_NAME_MAX + 1];
	const char *arch = p->dist_arch, *image = NULL;
	int rc;

	if (p->suite) {
		rc = reject_with_suite(ctx, root, p);
		if (rc)
			return rc;
		if (p->suite->type == YAML_SCALAR_NODE) {
			rc = suite_from_text(&suite, (const char *)p->suite->data.scalar.value, p->suite->data.scalar.length,
					     err);
		} else {
			json_t *j = node_to_json(ctx->doc, p->suite, 0);

			text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
			json_decref(j);
			rc = text ? suite_from_text(&suite, text, strlen(text), err)
				  : alts_err_set(err, ALTS_EINVALID, "suite: cannot read the suite (nested too deep?)");
			free(text);
			text = NULL;
		}
		if (rc)
			return rc;
		r->dist_name = json_env_str(suite, "dist_name", a);
		r->dist_version = json_env_str(suite, "dist_version", a);
		image = json_env_str(suite, "image", a);
		if (!arch)
			arch = json_env_str(suite, "dist_arch", a);
		if (!arch) {
			rc = alts_err_set(err, ALTS_EINVALID,
					  "dist_arch: required, in the body or in the suite's environment.dist_arch");
			goto out;
		}
	} else {
		rc = check_required(ctx, root, p);
		if (rc)
			return rc;
		suite = payload_to_suite(p);
		if (!suite)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
#ifndef NDEBUG
		/*
		 * The generated suite must load as a hand-written one would. The
		 * fields were validated with the suite loader's own rules, so a
		 * release build does not pay for a second parse on every request;
		 * debug builds (all tests under the sanitizers) check each one, and
		 * so does the unit test of every payload shape.
		 */
		rc = payload_suite_loads(suite, err);
		if (rc)
			goto out;
#endif
		r->dist_name = p->dist_name;
		r->dist_version = p->dist_version;
		r->package_name = p->package_name;
	}
	rc = payload_route(queue, sizeof(queue), p->rules, p->runner_type ? p->runner_type : "any", arch, &r->runner,
			   err);
	if (rc)
		goto out;
	queue_name_dist(dist, sizeof(dist), image, r->dist_name, r->dist_version);
	if (p->rules->distribution_queues && *dist && !text_ok(dist, "._-")) {
		rc = alts_err_set(err, ALTS_EINVALID,
				  "environment.dist_name: '%s' cannot name a queue (letters, digits, '.', '_', '-')", dist);
		goto out;
	}
	if (p->rules->distribution_queues && *dist &&
	    !queue_name_format(queue, sizeof(queue), r->runner, payload_queue_arch(arch), p->rules->cost, dist)) {
		rc = alts_err_set(err, ALTS_EINVALID, "queue name too long (the distribution '%s')", dist);
		goto out;
	}
	r->queue = arena_strdup(a, queue);
	r->queue_arch = payload_queue_arch(arch);
	r->dist_arch = arch;
	r->bs_task_id = p->bs_task_id;
	r->callback_href = p->callback_href;
	r->module_name = p->module_name;
	r->module_stream = p->module_stream;
	r->module_version = p->module_version;
	if (p->package_channel || p->have_verbose || p->test_flavor || p->test_env) {
		json_t *req = json_object();

		rc = !req || (p->package_channel && json_object_set_new(req, "package_channel",
									 json_string(p->package_channel))) ||
		     (p->have_verbose && json_object_set_new(req, "verbose", json_boolean(p->verbose))) ||
		     (p->test_flavor && json_object_set_new(req, "test_flavor", node_to_json(ctx->doc, p->test_flavor, 0))) ||
		     (p->test_env && json_object_set_new(req, "test_env", node_to_json(ctx->doc, p->test_env, 0)));
		r->alts_request = req;
		if (rc) {
			json_decref(req);
			r->alts_request = NULL;
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = r->queue ? message_template(r, a, suite) : ALTS_ENOMEM;
	json_decref(r->alts_request);
	r->alts_request = NULL;
	if (rc)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(suite);
	return rc;
}

/* Decodes and validates doc into *out; messages name positions when doc has them. */
static int parse_document(struct task_request *out, struct arena *a, const struct payload_rules *rules,
			  yaml_document_t *doc, struct alts_err *err)
{
	struct payload p = { 0 };
	struct task_request r = { 0 };
	struct conf_ctx ctx = { 0 };
	struct conf_section sec = { payload_keys, &p };
	yaml_node_t *root = yaml_document_get_root_node(doc);
	int rc;

	ctx.doc = doc;
	ctx.arena = a;
	ctx.file = PAYLOAD_LABEL;
	ctx.err = err;
	p.rules = rules;
	rc = conf_decode_map(&ctx, root, "", &sec, 1);
	if (!rc)
		rc = build_request(&r, a, &p, &ctx, root, err);
	if (!rc)
		*out = r;
	return rc;
}

int payload_parse(struct task_request *out, struct arena *a, const struct payload_rules *rules, const char *body,
		  size_t len, struct alts_err *err)
{
	json_error_t jerr;
	json_t *strict;
	yaml_document_t doc;
	int rc;

	/* Strict JSON first: libyaml would take YAML-only syntax too. */
	strict = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!strict)
		return alts_err_set(err, ALTS_EINVALID, "%s:%d:%d: invalid JSON: %s", PAYLOAD_LABEL, jerr.line,
				    jerr.column, jerr.text);
	rc = json_is_object(strict) ? 0
				    : alts_err_set(err, ALTS_EINVALID, "%s: expected a JSON object, got %s", PAYLOAD_LABEL,
						   json_is_array(strict) ? "an array" : "a scalar");
	json_decref(strict);
	if (rc)
		return rc;
	/*
	 * The document without libyaml's parser first; a body it refuses, or
	 * one that fails validation, is read again by libyaml, so the message
	 * names a line and a column.
	 */
	if (!jsondoc_load(&doc, body, len)) {
		rc = parse_document(out, a, rules, &doc, err);
		yaml_document_delete(&doc);
		if (!rc || rc == ALTS_ENOMEM)
			return rc;
		if (err)
			memset(err, 0, sizeof(*err));
	}
	return payload_parse_yaml(out, a, rules, body, len, err);
}

int payload_parse_yaml(struct task_request *out, struct arena *a, const struct payload_rules *rules,
		       const char *body, size_t len, struct alts_err *err)
{
	yaml_document_t doc;
	int rc = conf_load_document(&doc, PAYLOAD_LABEL, body, len, err);

	if (rc)
		return rc;
	rc = parse_document(out, a, rules, &doc, err);
	yaml_document_delete(&doc);
	return rc;
}

int payload_message(char **out, const struct task_request *r, const char *task_id, struct alts_err *err)
{
	if (strlen(task_id) != strlen(TASK_ID_PLACEHOLDER))
		return alts_err_set(err, ALTS_EINTERNAL, "task id '%s' is not a UUID", task_id);
	*out = alts_strdup(r->message);
	if (!*out)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memcpy(*out + r->task_id_at, task_id, strlen(TASK_ID_PLACEHOLDER));
	return 0;
}
