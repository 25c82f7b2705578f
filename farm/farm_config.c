#include "framework/common.h"
#include "framework/sbuf.h"
#include "scheduler/auth.h"
#include "scheduler/payload.h"
#include "scheduler/sched_config.h"
#include "reporters/stores/artifact_store.h"

#define SCHED_CONFIG_MAX_BYTES (1u << 20)
#define SCHED_SECRET_MAX_BYTES (64u << 10)

static const char *default_archs[] = { "x86_64", "x86_64_v2", "i686", "i386", "i486", "i586", "amd64",
				       "aarch64", "arm64", "ppc64le", "s390x" };
static const char *default_runners[] = { "docker" };
static const char *default_dists[] = { "almalinux", "centos", "centos-stream", "cloudlinux", "debian", "fedora",
				       "oraclelinux", "rhel", "rocky", "ubuntu" };

bool sched_strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], s))
			return true;
	}
	return false;
}

static int validate_alg(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *alg = *(const char **)field;

	return auth_alg_valid(alg) ? 0
				   : conf_fail(ctx, node, path, "unsupported algorithm '%s' (allowed: HS256, HS384, HS512)", alg);
}

static int validate_port(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	return v >= 0 && v <= 65535 ? 0 : conf_fail(ctx, node, path, "port %ld is out of range 0..65535", v);
}

static int validate_positive(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	return v > 0 ? 0 : conf_fail(ctx, node, path, "must be a positive number, got %ld", v);
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

	for (size_t i = 0; i < l->n; i++) {
		if (!payload_runner_known(l->v[i]) || !strcmp(l->v[i], "any"))
			return conf_fail(ctx, node, path, "unknown runner '%s' (known: docker, sandbox, ssh, local)",
					 l->v[i]);
	}
	return 0;
}

static int validate_backend(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *b = *(const char **)field;

	if (!strcmp(b, "file") || !strcmp(b, "s3") || !strcmp(b, "azureblockblob") ||
	    !strncmp(b, "azureblockblob://", 17))
		return 0;
	return conf_fail(ctx, node, path, "unknown result backend '%s' (allowed: file, s3, azureblockblob, "
			 "azureblockblob://<connection string>)", b);
}

static int validate_addressing(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (!strcmp(v, "path") || !strcmp(v, "virtual") || !strcmp(v, "auto"))
		return 0;
	return conf_fail(ctx, node, path, "unknown addressing style '%s' (allowed: path, virtual, auto)", v);
}

/* S3 parts are at least 5 MiB (except the last); Azure blocks at most 4000 MiB. */
static int validate_part_size(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	if (v >= 5L << 20 && v <= 4000L << 20)
		return 0;
	return conf_fail(ctx, node, path, "must be between 5 MiB and 4000 MiB (in bytes), got %ld", v);
}

#define K(name, type, flags, validate) \
	{ #name, type, offsetof(struct sched_config, name), flags, NULL, validate }

static const struct conf_key sched_config_keys[] = {
	K(rabbitmq_host, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_port, CONF_INT, 0, validate_port),
	K(rabbitmq_ssl_port, CONF_INT, 0, validate_port),
	K(use_ssl, CONF_BOOL, 0, NULL),
	K(rabbitmq_ssl_cacert, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_cert, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_key, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_verify_peer, CONF_BOOL, 0, NULL),
	K(rabbitmq_user, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_password, CONF_STRING, 0, NULL),
	K(rabbitmq_password_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_vhost, CONF_STRING, CONF_NONEMPTY, NULL),
	K(default_cost, CONF_INT, 0, NULL),
	K(results_queue, CONF_STRING, 0, NULL),
	K(jwt_secret, CONF_STRING, 0, NULL),
	K(jwt_secret_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(hashing_algorithm, CONF_STRING, 0, validate_alg),
	K(working_directory, CONF_STRING, CONF_NONEMPTY, NULL),
	K(database, CONF_STRING, CONF_NONEMPTY, NULL),
	K(supported_architectures, CONF_STRLIST, CONF_NONEMPTY, validate_archs),
	K(supported_runners, CONF_STRLIST, CONF_NONEMPTY, validate_runners),
	K(supported_distributions, CONF_STRLIST, CONF_NONEMPTY, NULL),
	K(listen_address, CONF_STRING, CONF_NONEMPTY, NULL),
	K(listen_port, CONF_INT, 0, validate_port),
	K(max_body_size, CONF_INT, 0, validate_positive),
	K(threads, CONF_INT, 0, validate_positive),
	K(connection_limit, CONF_INT, 0, validate_positive),
	K(connection_timeout, CONF_DURATION, 0, NULL),
	K(worker_queues, CONF_STRLIST, CONF_NONEMPTY, NULL),
	K(worker_concurrency, CONF_INT, 0, validate_positive),
	K(worker_heartbeat, CONF_INT, 0, NULL),
	K(worker_grace_period, CONF_DURATION, 0, NULL),
	K(task_timeout, CONF_DURATION, 0, NULL),
	K(provision_timeout, CONF_DURATION, 0, NULL),
	K(tests_timeout, CONF_DURATION, 0, NULL),
	K(commands_timeout, CONF_DURATION, 0, NULL),
	K(spool_directory, CONF_STRING, CONF_NONEMPTY, NULL),
	K(cancel_exchange, CONF_STRING, CONF_NONEMPTY, NULL),
	K(result_backend, CONF_STRING, CONF_NONEMPTY, validate_backend),
	K(file_store_directory, CONF_STRING, CONF_NONEMPTY, NULL),
	K(results_base_path, CONF_STRING, 0, NULL),
	K(gzip_logs, CONF_BOOL, 0, NULL),
	K(upload_part_size, CONF_INT, 0, validate_part_size),
	K(upload_retries, CONF_INT, 0, validate_positive),
	K(upload_timeout, CONF_DURATION, 0, NULL),
	K(s3_addressing_style, CONF_STRING, 0, validate_addressing),
	K(s3_secret_access_key_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(azure_connection_string_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(s3_access_key_id, CONF_STRING, 0, NULL),
	K(s3_secret_access_key, CONF_STRING, 0, NULL),
	K(s3_bucket, CONF_STRING, 0, NULL),
	K(s3_base_path, CONF_STRING, 0, NULL),
	K(s3_region, CONF_STRING, 0, NULL),
	K(s3_endpoint_url, CONF_STRING, 0, NULL),
	K(azureblockblob_container_name, CONF_STRING, 0, NULL),
	K(azureblockblob_base_path, CONF_STRING, 0, NULL),
	K(azure_connection_string, CONF_STRING, 0, NULL),
	K(azure_logs_container, CONF_STRING, 0, NULL),
	CONF_KEYS_END,
};

static void sched_config_defaults(struct sched_config *c)
{
	c->rabbitmq_host = "localhost";
	c->rabbitmq_port = 5672;
	c->rabbitmq_ssl_port = 5671;
	c->rabbitmq_ssl_verify_peer = true;
	c->rabbitmq_user = "guest";
	c->rabbitmq_password = "guest";
	c->rabbitmq_vhost = "/";
	c->results_queue = "alts-results";
	c->hashing_algorithm = "HS256";
	c->working_directory = "/var/lib/alts";
	c->supported_architectures.v = default_archs;
	c->supported_architectures.n = ALTS_ARRAY_SIZE(default_archs);
	c->supported_runners.v = default_runners;
	c->supported_runners.n = ALTS_ARRAY_SIZE(default_runners);
	c->supported_distributions.v = default_dists;
	c->supported_distributions.n = ALTS_ARRAY_SIZE(default_dists);
	c->listen_address = "127.0.0.1";
	c->listen_port = 8000;
	c->max_body_size = 1 << 20;
	c->threads = 4;
	c->connection_limit = 1024;
	c->connection_timeout = 30;
	c->worker_concurrency = 4;
	c->worker_heartbeat = 30;
	c->worker_grace_period = 60;
	c->task_timeout = 7200;
	c->provision_timeout = 600;
	c->tests_timeout = 1800;
	c->commands_timeout = 30;
	c->cancel_exchange = "alts-cancel";
	c->result_backend = "file";
	c->results_base_path = "results/";
	c->upload_part_size = 8L << 20;
	c->upload_retries = 5;
	c->upload_timeout = 60;
	c->s3_addressing_style = "auto";
}

/* Reads a secret file: the first line, trailing whitespace removed. */
static int read_secret_file(const char **out, struct arena *a, const char *what, const char *path,
			    struct alts_err *err)
{
	struct sbuf sb = SBUF_INIT;
	char *nl;
	int rc = sbuf_read_file(&sb, path, SCHED_SECRET_MAX_BYTES);

	if (rc) {
		rc = alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read %s '%s'", what, path);
		goto out;
	}
	nl = strchr(sb.buf, '\n');
	if (nl)
		sb.len = (size_t)(nl - sb.buf);
	sb.buf[sb.len] = '\0';
	sbuf_trim_trailing(&sb);
	if (!sb.len) {
		rc = alts_err_set(err, ALTS_EINVALID, "%s '%s' is empty", what, path);
		goto out;
	}
	*out = arena_strdup(a, sb.buf);
	if (!*out)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	explicit_bzero(sb.buf, sb.alloc ? sb.alloc : 0);
	sbuf_release(&sb);
	return rc;
}

/* Environment, then file, then the config value. */
static int resolve_secret(struct sched_config *c, const char **value, const char *env_name, const char *file_key,
			  const char *file, struct alts_err *err)
{
	const char *env = getenv(env_name);

	if (env && *env)
		return (*value = arena_strdup(c->arena, env)) ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return file ? read_secret_file(value, c->arena, file_key, file, err) : 0;
}

static int resolve_secrets(struct sched_config *c, struct alts_err *err)
{
	int rc = resolve_secret(c, &c->jwt_secret, "ALTS_JWT_SECRET", "jwt_secret_file", c->jwt_secret_file, err);

	if (!rc)
		rc = resolve_secret(c, &c->rabbitmq_password, "ALTS_RABBITMQ_PASSWORD", "rabbitmq_password_file",
				    c->rabbitmq_password_file, err);
	if (!rc)
		rc = resolve_secret(c, &c->s3_secret_access_key, "ALTS_S3_SECRET_ACCESS_KEY", "s3_secret_access_key_file",
				    c->s3_secret_access_key_file, err);
	if (!rc)
		rc = resolve_secret(c, &c->azure_connection_string, "ALTS_AZURE_CONNECTION_STRING",
				    "azure_connection_string_file", c->azure_connection_string_file, err);
	return rc;
}

static int config_load_buffer(struct sched_config **out, const char *label, const char *data, size_t len,
			      bool need_jwt, struct alts_err *err)
{
	struct sched_config *c = alts_calloc(1, sizeof(*c));
	struct conf_ctx ctx = { 0 };
	yaml_document_t doc;
	bool have_doc = false;
	int rc;

	if (!c || !(c->arena = arena_new()) || !(c->path = arena_strdup(c->arena, label))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	sched_config_defaults(c);
	c->jwt_secret = NULL;
	rc = conf_load_document(&doc, label, data, len, err);
	if (rc)
		goto out;
	have_doc = true;
	ctx.doc = &doc;
	ctx.arena = c->arena;
	ctx.file = c->path;
	ctx.err = err;
	{
		struct conf_section sec = { sched_config_keys, c };

		rc = conf_decode_map(&ctx, yaml_document_get_root_node(&doc), "", &sec, 1);
	}
	if (rc)
		goto out;
	if (!c->jwt_secret)
		c->jwt_secret = "";
	rc = resolve_secrets(c, err);
	if (rc)
		goto out;
	if (need_jwt && !*c->jwt_secret) {
		rc = alts_err_set(err, ALTS_EINVALID,
				  "%s: no JWT secret: set jwt_secret, jwt_secret_file or ALTS_JWT_SECRET", label);
		goto out;
	}
	if (!c->database && !(c->database = arena_printf(c->arena, "%s/scheduler.db", c->working_directory))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!c->spool_directory && !(c->spool_directory = arena_printf(c->arena, "%s/spool", c->working_directory))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (!c->file_store_directory &&
	    !(c->file_store_directory = arena_printf(c->arena, "%s/artifacts", c->working_directory))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (rc) {
		sched_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int sched_config_load_buffer(struct sched_config **out, const char *label, const char *data, size_t len,
			     struct alts_err *err)
{
	return config_load_buffer(out, label, data, len, true, err);
}

int worker_config_load_buffer(struct sched_config **out, const char *label, const char *data, size_t len,
			      struct alts_err *err)
{
	return config_load_buffer(out, label, data, len, false, err);
}

static int config_load(struct sched_config **out, const char *path, bool need_jwt, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	int rc;

	if (!path)
		return config_load_buffer(out, "(defaults)", "{}", 2, need_jwt, err);
	rc = sbuf_read_file(&data, path, SCHED_CONFIG_MAX_BYTES);

	if (rc)
		rc = alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read config '%s'", path);
	else if (data.capped)
		rc = alts_err_set(err, ALTS_EINVALID, "%s: config is larger than %u bytes", path, SCHED_CONFIG_MAX_BYTES);
	else
		rc = config_load_buffer(out, path, data.buf, data.len, need_jwt, err);
	sbuf_release(&data);
	return rc;
}

int sched_config_load(struct sched_config **out, const char *path, struct alts_err *err)
{
	return config_load(out, path, true, err);
}

int worker_config_load(struct sched_config **out, const char *path, struct alts_err *err)
{
	return config_load(out, path, false, err);
}

void sched_config_free(struct sched_config *c)
{
	if (!c)
		return;
	arena_free(c->arena);
	alts_free(c);
}

void sched_config_artifact_store(const struct sched_config *c, struct artifact_store_config *out)
{
	*out = (struct artifact_store_config){
		.backend = c->result_backend,
		.file_directory = c->file_store_directory,
		.base_path = c->result_backend && !strncmp(c->result_backend, "azure", 5)
				     ? (c->azureblockblob_base_path ? c->azureblockblob_base_path : "")
				     : (c->s3_base_path ? c->s3_base_path : ""),
		.results_base_path = c->results_base_path,
		.part_size = c->upload_part_size,
		.retries = c->upload_retries,
		.timeout = c->upload_timeout,
		.s3_access_key_id = c->s3_access_key_id,
		.s3_secret_access_key = c->s3_secret_access_key,
		.s3_bucket = c->s3_bucket,
		.s3_region = c->s3_region,
		.s3_endpoint_url = c->s3_endpoint_url,
		.s3_addressing_style = c->s3_addressing_style,
		.azure_connection_string = c->azure_connection_string,
		.azure_container = c->azureblockblob_container_name,
		.azure_logs_container = c->azure_logs_container,
	};
}
