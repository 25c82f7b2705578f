#include "framework/common.h"
#include "framework/sbuf.h"
#include "scheduler/auth.h"
#include "scheduler/payload.h"
#include "scheduler/settings.h"
#include "runners/runner.h"

static const char *default_archs[] = { "x86_64", "x86_64_v2", "i686", "i386", "i486", "i586", "amd64",
				       "aarch64", "arm64", "ppc64le", "s390x" };
static const char *default_runners[] = { "docker" };
static const char *default_dists[] = { "almalinux", "centos", "centos-stream", "cloudlinux", "debian", "fedora",
				       "oraclelinux", "rhel", "rocky", "ubuntu" };

static int validate_alg(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *alg = *(const char **)field;

	return auth_alg_valid(alg) ? 0
				   : conf_fail(ctx, node, path, "unsupported algorithm '%s' (allowed: HS256, HS384, HS512)", alg);
}

static int validate_archs(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (!payload_queue_arch(l->v[i]))
			return conf_fail(ctx, node, path, "unknown architecture '%s' (known: %s)", l->v[i],
					 payload_known_archs());
	}
	return 0;
}

static int validate_runners(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	/* Names of the runner registry; not "any", the wildcard of payloads. */
	for (size_t i = 0; i < l->n; i++) {
		int rc = conf_check_one_of(ctx, node, path, "runner", l->v[i], runner_names());

		if (rc)
			return rc;
	}
	return 0;
}

static int validate_bs_host(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (!*v || !strncasecmp(v, "http://", 7) || !strncasecmp(v, "https://", 8))
		return 0;
	return conf_fail(ctx, node, path, "expected an http:// or https:// URL, got '%s'", v);
}

static int validate_callback_format(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	static const char *const formats[] = { "albs", "native", NULL };

	return conf_check_one_of(ctx, node, path, "callback format", *(const char **)field, formats);
}

static int validate_runner_types(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strmap *m = field;

	for (size_t i = 0; i < m->n; i++) {
		int rc = conf_check_one_of(ctx, node, path, "runner", m->values[i], runner_names());

		if (rc)
			return rc;
	}
	return 0;
}

#define K(name, type, flags, validate) \
	{ #name, type, offsetof(struct settings, name), flags, NULL, validate }

/* The farm's keys are in farm/farm_config.c; farm_config.c's list of the scheduler's keys names these. */
static const struct conf_key settings_keys[] = {
	K(jwt_secret, CONF_STRING, 0, NULL),
	K(jwt_secret_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(hashing_algorithm, CONF_STRING, 0, validate_alg),
	K(database, CONF_STRING, CONF_NONEMPTY, NULL),
	K(supported_architectures, CONF_STRLIST, CONF_NONEMPTY, validate_archs),
	K(supported_runners, CONF_STRLIST, CONF_NONEMPTY, validate_runners),
	K(supported_distributions, CONF_STRLIST, CONF_NONEMPTY, NULL),
	K(runner_types, CONF_STRMAP, 0, validate_runner_types),
	K(enable_integrity_tests, CONF_BOOL, 0, NULL),
	K(bs_host, CONF_STRING, 0, validate_bs_host),
	K(bs_token, CONF_STRING, 0, NULL),
	K(bs_token_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(bs_tasks_endpoint, CONF_STRING, CONF_NONEMPTY, NULL),
	K(bs_poll_interval, CONF_DURATION, 0, NULL),
	K(bs_pull, CONF_BOOL, 0, NULL),
	K(callback_format, CONF_STRING, CONF_NONEMPTY, validate_callback_format),
	K(listen_address, CONF_STRING, CONF_NONEMPTY, NULL),
	K(listen_port, CONF_INT, 0, conf_validate_port),
	K(max_body_size, CONF_INT, 0, conf_validate_positive),
	K(threads, CONF_INT, 0, conf_validate_positive),
	K(connection_limit, CONF_INT, 0, conf_validate_positive),
	K(connection_timeout, CONF_DURATION, 0, NULL),
	CONF_KEYS_END,
};

static void settings_defaults(struct settings *c)
{
	c->hashing_algorithm = "HS256";
	c->supported_architectures.v = default_archs;
	c->supported_architectures.n = ALTS_ARRAY_SIZE(default_archs);
	c->supported_runners.v = default_runners;
	c->supported_runners.n = ALTS_ARRAY_SIZE(default_runners);
	c->supported_distributions.v = default_dists;
	c->supported_distributions.n = ALTS_ARRAY_SIZE(default_dists);
	c->bs_tasks_endpoint = "/api/v1/tests/get_test_tasks/";
	c->bs_poll_interval = 10;
	c->bs_pull = true;
	c->enable_integrity_tests = true;
	c->listen_address = "127.0.0.1";
	c->listen_port = 8000;
	c->max_body_size = 1 << 20;
	c->threads = 4;
	c->connection_limit = 1024;
	c->connection_timeout = 30;
}

int settings_load_buffer(struct settings **out, const char *label, const char *data, size_t len,
			 struct alts_err *err)
{
	struct settings *c = alts_calloc(1, sizeof(*c));
	struct conf_section sec = { settings_keys, c };
	int rc;

	if (!c)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = farm_config_init(&c->farm, label, err);
	if (rc)
		goto out;
	settings_defaults(c);
	rc = farm_config_decode(&c->farm, data, len, &sec, 1, err);
	if (rc)
		goto out;
	rc = farm_config_secret(&c->farm, &c->jwt_secret, "ALTS_JWT_SECRET", "jwt_secret_file", c->jwt_secret_file,
				err);
	if (rc)
		goto out;
	rc = farm_config_secret(&c->farm, &c->bs_token, "ALTS_BS_TOKEN", "bs_token_file", c->bs_token_file, err);
	if (rc)
		goto out;
	if (c->bs_host && !*c->bs_host)
		c->bs_host = NULL;  /* ALTS's files carry an empty bs_host: */
	if (c->bs_token && !*c->bs_token)
		c->bs_token = NULL;
	if (!c->callback_format)
		c->callback_format = c->bs_host ? "albs" : "native";
	if (c->bs_poll_interval < 0.1) {
		rc = alts_err_set(err, ALTS_EINVALID, "%s: bs_poll_interval: must be at least 0.1 s", label);
		goto out;
	}
	if (!c->jwt_secret || !*c->jwt_secret) {
		rc = alts_err_set(err, ALTS_EINVALID,
				  "%s: no JWT secret: set jwt_secret, jwt_secret_file or ALTS_JWT_SECRET", label);
		goto out;
	}
	if (!c->database &&
	    !(c->database = arena_printf(c->farm.arena, "%s/scheduler.db", c->farm.working_directory)))
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	if (rc) {
		settings_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int settings_load(struct settings **out, const char *path, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	int rc;

	if (!path)
		return settings_load_buffer(out, "(defaults)", "{}", 2, err);
	rc = farm_config_read(&data, path, err);
	if (!rc)
		rc = settings_load_buffer(out, path, data.buf, data.len, err);
	sbuf_release(&data);
	return rc;
}

void settings_free(struct settings *c)
{
	if (!c)
		return;
	farm_config_release(&c->farm);
	alts_free(c);
}
