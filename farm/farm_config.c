#include "framework/common.h"
#include "framework/sbuf.h"
#include "farm/alts_config.h"
#include "farm/farm_config.h"
#include "reporters/stores/artifact_store.h"
#include "runners/image.h"

#define FARM_CONFIG_MAX_BYTES (1u << 20)
#define FARM_SECRET_MAX_BYTES (64u << 10)

/* The scheduler's keys (scheduler/settings.c): the worker reads the same file and leaves them alone. */
static int skip_key(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	ALTS_UNUSED(ctx);
	ALTS_UNUSED(node);
	ALTS_UNUSED(path);
	ALTS_UNUSED(field);
	return 0;
}

static int validate_backend(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *b = *(const char **)field;
	struct sbuf names = SBUF_INIT;
	int rc;

	if (artifact_store_backend_known(b))
		return 0;
	artifact_store_backend_names(&names, true);
	rc = conf_fail(ctx, node, path, "unknown result backend '%s' (allowed: %s)", b,
		       sbuf_ok(&names) ? names.buf : "?");
	sbuf_release(&names);
	return rc;
}

/* S3 parts are at least 5 MiB (except the last); Azure blocks at most 4000 MiB. */
static int validate_part_size(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	long v = *(long *)field;

	if (v >= 5L << 20 && v <= 4000L << 20)
		return 0;
	return conf_fail(ctx, node, path, "must be between 5 MiB and 4000 MiB (in bytes), got %ld", v);
}

static int validate_images(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const struct strlist *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (!image_name_ok(l->v[i]))
			return conf_fail(ctx, node, path,
					 "invalid image name '%s' (lowercase letters, digits, '.', '_' and '-')", l->v[i]);
	}
	return 0;
}

static int validate_http_url(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if ((!strncmp(v, "http://", 7) && v[7]) || (!strncmp(v, "https://", 8) && v[8]))
		return 0;
	return conf_fail(ctx, node, path, "expected an http:// or https:// URL, got '%s'", v);
}

#define K(name, type, flags, validate) \
	{ #name, type, offsetof(struct farm_config, name), flags, NULL, validate }

static const struct conf_key farm_config_keys[] = {
	K(rabbitmq_host, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_port, CONF_INT, 0, conf_validate_port),
	K(rabbitmq_ssl_port, CONF_INT, 0, conf_validate_port),
	K(use_ssl, CONF_BOOL, 0, NULL),
	K(rabbitmq_ssl_cacert, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_cert, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_key, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_ssl_verify_peer, CONF_BOOL, 0, NULL),
	K(rabbitmq_user, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_password, CONF_STRING, 0, NULL),
	K(rabbitmq_password_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(rabbitmq_vhost, CONF_STRING, CONF_NONEMPTY, NULL),
	K(results_queue, CONF_STRING, 0, NULL),
	K(working_directory, CONF_STRING, CONF_NONEMPTY, NULL),
	K(default_cost, CONF_INT, 0, NULL),
	K(distribution_queues, CONF_BOOL, 0, NULL),
	K(worker_queues, CONF_STRLIST, CONF_NONEMPTY, NULL),
	K(worker_images, CONF_STRLIST, CONF_NONEMPTY, validate_images),
	K(worker_concurrency, CONF_INT, 0, conf_validate_positive),
	K(worker_heartbeat, CONF_INT, 0, NULL),
	K(worker_grace_period, CONF_DURATION, 0, NULL),
	K(task_timeout, CONF_DURATION, 0, NULL),
	K(provision_timeout, CONF_DURATION, 0, NULL),
	K(tests_timeout, CONF_DURATION, 0, NULL),
	K(commands_timeout, CONF_DURATION, 0, NULL),
	K(spool_directory, CONF_STRING, CONF_NONEMPTY, NULL),
	K(cancel_exchange, CONF_STRING, CONF_NONEMPTY, NULL),
	K(scheduler_url, CONF_STRING, CONF_NONEMPTY, validate_http_url),
	K(scheduler_token, CONF_STRING, CONF_NONEMPTY, NULL),
	K(scheduler_token_file, CONF_STRING, CONF_NONEMPTY, NULL),
	K(uninstall_excluded_pkgs, CONF_STRLIST, 0, NULL),
	K(result_backend, CONF_STRING, CONF_NONEMPTY, validate_backend),
	K(results_base_path, CONF_STRING, 0, NULL),
	K(gzip_logs, CONF_BOOL, 0, NULL),
	K(upload_part_size, CONF_INT, 0, validate_part_size),
	K(upload_retries, CONF_INT, 0, conf_validate_positive),
	K(upload_timeout, CONF_DURATION, 0, NULL),
	/* file_store_directory, s3_*, azure*: the backends' own tables (artifact_store_conf_sections) */
	CONF_KEYS_END,
};

#define SKIP(name) { #name, CONF_CUSTOM, 0, 0, skip_key, NULL }

/* Keep in step with scheduler/settings.c (tests/unit/scheduler_config.c loads every key as the worker). */
static const struct conf_key scheduler_keys[] = {
	SKIP(jwt_secret),
	SKIP(jwt_secret_file),
	SKIP(hashing_algorithm),
	SKIP(database),
	SKIP(supported_architectures),
	SKIP(supported_runners),
	SKIP(supported_distributions),
	SKIP(runner_types),
	SKIP(enable_integrity_tests),
	SKIP(bs_host),
	SKIP(bs_token),
	SKIP(bs_token_file),
	SKIP(bs_tasks_endpoint),
	SKIP(bs_poll_interval),
	SKIP(bs_pull),
	SKIP(callback_format),
	SKIP(listen_address),
	SKIP(listen_port),
	SKIP(max_body_size),
	SKIP(threads),
	SKIP(connection_limit),
	SKIP(connection_timeout),
	CONF_KEYS_END,
};

/* The default result_backend; a config that sets none may get another from the stores' keys. */
static const char default_backend[] = "file";

static void farm_config_defaults(struct farm_config *c)
{
	c->rabbitmq_host = "localhost";
	c->rabbitmq_port = 5672;
	c->rabbitmq_ssl_port = 5671;
	c->rabbitmq_ssl_verify_peer = true;
	c->rabbitmq_user = "guest";
	c->rabbitmq_password = "guest";
	c->rabbitmq_vhost = "/";
	c->results_queue = "alts-results";
	c->working_directory = "/var/lib/alts";
	c->worker_concurrency = 4;
	c->worker_heartbeat = 30;
	c->worker_grace_period = 60;
	c->task_timeout = 7200;
	c->provision_timeout = 600;
	c->tests_timeout = 1800;
	c->commands_timeout = 30;
	c->cancel_exchange = "alts-cancel";
	c->result_backend = default_backend;
	c->results_base_path = "results/";
	c->upload_part_size = 8L << 20;
	c->upload_retries = 5;
	c->upload_timeout = 60;
}

/* Reads a secret file: the first line, trailing whitespace removed. */
static int read_secret_file(const char **out, struct arena *a, const char *what, const char *path,
			    struct alts_err *err)
{
	struct sbuf sb = SBUF_INIT;
	char *nl;
	int rc = sbuf_read_file(&sb, path, FARM_SECRET_MAX_BYTES);

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
static int resolve_secret(struct farm_config *c, const char **value, const char *env_name, const char *file_key,
			  const char *file, struct alts_err *err)
{
	const char *env = getenv(env_name);

	if (env && *env)
		return (*value = arena_strdup(c->arena, env)) ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return file ? read_secret_file(value, c->arena, file_key, file, err) : 0;
}

int farm_config_secret(struct farm_config *c, const char **value, const char *env_name, const char *file_key,
		       const char *file, struct alts_err *err)
{
	return resolve_secret(c, value, env_name, file_key, file, err);
}

static int resolve_secrets(struct farm_config *c, struct alts_err *err)
{
	int rc = resolve_secret(c, &c->rabbitmq_password, "ALTS_RABBITMQ_PASSWORD", "rabbitmq_password_file",
				    c->rabbitmq_password_file, err);
	if (!rc)
		rc = resolve_secret(c, &c->scheduler_token, "ALTS_SCHEDULER_TOKEN", "scheduler_token_file",
				    c->scheduler_token_file, err);
	if (!rc) {
		struct artifact_store_secret_ref refs[ARTIFACT_STORE_MAX_SECRETS];
		size_t n = artifact_store_conf_secrets(refs, ALTS_ARRAY_SIZE(refs), c->store_confs);

		for (size_t i = 0; i < n && !rc; i++)
			rc = resolve_secret(c, refs[i].value, refs[i].env, refs[i].file_key, refs[i].file, err);
	}
	return rc;
}

int farm_config_init(struct farm_config *c, const char *label, struct alts_err *err)
{
	*c = (struct farm_config){ 0 };
	if (!(c->arena = arena_new()) || !(c->path = arena_strdup(c->arena, label)))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	farm_config_defaults(c);
	return artifact_store_confs_new(&c->store_confs, c->arena, err);
}

int farm_config_decode(struct farm_config *c, const char *data, size_t len, const struct conf_section *extra,
		       size_t nextra, struct alts_err *err)
{
	struct conf_section secs[1 + ARTIFACT_STORE_CONF_SECTIONS + 2] = { { farm_config_keys, c } };
	size_t nsecs = 1 + artifact_store_conf_sections(secs + 1, ARTIFACT_STORE_CONF_SECTIONS, c->store_confs);
	struct conf_ctx ctx = { 0 };
	yaml_document_t doc;
	int rc;

	if (nextra > ALTS_ARRAY_SIZE(secs) - nsecs)
		return alts_err_set(err, ALTS_EINTERNAL, "too many config sections");
	for (size_t i = 0; i < nextra; i++)
		secs[nsecs++] = extra[i];
	if (alts_config_detect(data, len)) {
		/* ALTS's format: translated to alts's keys first (farm/alts_config.h). */
		struct sbuf flat = SBUF_INIT;
		char *label = alts_asprintf("%s (ALTS format)", c->path);

		rc = label ? alts_config_translate(&flat, c->path, data, len, err) : ALTS_ENOMEM;
		if (!rc)
			rc = conf_load_document(&doc, label, flat.buf, flat.len, err);
		ctx.file = label ? arena_strdup(c->arena, label) : c->path;
		alts_free(label);
		sbuf_release(&flat);
	} else {
		rc = conf_load_document(&doc, c->path, data, len, err);
		ctx.file = c->path;
	}
	if (rc)
		return rc;
	ctx.doc = &doc;
	ctx.arena = c->arena;
	ctx.err = err;
	rc = conf_decode_map(&ctx, yaml_document_get_root_node(&doc), "", secs, nsecs);
	yaml_document_delete(&doc);
	if (rc)
		return rc;
	rc = resolve_secrets(c, err);
	if (rc)
		return rc;
	/* No result_backend but pulp_host: Pulp, as ALTS's logs_uploader_config chooses its uploader. */
	if (c->result_backend == default_backend && artifact_store_implied_backend(c->store_confs))
		c->result_backend = artifact_store_implied_backend(c->store_confs);
	if (c->scheduler_url && !c->scheduler_token)
		return alts_err_set(err, ALTS_EINVALID,
				    "%s: scheduler_url needs a worker's token: set scheduler_token, scheduler_token_file or "
				    "ALTS_SCHEDULER_TOKEN (alts-token --scope worker)",
				    c->path);
	if (!c->spool_directory && !(c->spool_directory = arena_printf(c->arena, "%s/spool", c->working_directory)))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	return 0;
}

void farm_config_release(struct farm_config *c)
{
	if (!c)
		return;
	arena_free(c->arena);
	c->arena = NULL;
}

int farm_config_read(struct sbuf *out, const char *path, struct alts_err *err)
{
	int rc = sbuf_read_file(out, path, FARM_CONFIG_MAX_BYTES);

	if (rc)
		return alts_err_errno(err, ALTS_EINVALID, -rc, "cannot read config '%s'", path);
	if (out->capped)
		return alts_err_set(err, ALTS_EINVALID, "%s: config is larger than %u bytes", path,
				    FARM_CONFIG_MAX_BYTES);
	return 0;
}

int farm_config_load_buffer(struct farm_config **out, const char *label, const char *data, size_t len,
			    struct alts_err *err)
{
	struct farm_config *c = alts_calloc(1, sizeof(*c));
	struct conf_section skip = { scheduler_keys, c };
	int rc;

	if (!c)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = farm_config_init(c, label, err);
	if (!rc)
		rc = farm_config_decode(c, data, len, &skip, 1, err);
	if (rc) {
		farm_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int farm_config_load(struct farm_config **out, const char *path, struct alts_err *err)
{
	struct sbuf data = SBUF_INIT;
	int rc;

	if (!path)
		return farm_config_load_buffer(out, "(defaults)", "{}", 2, err);
	rc = farm_config_read(&data, path, err);
	if (!rc)
		rc = farm_config_load_buffer(out, path, data.buf, data.len, err);
	sbuf_release(&data);
	return rc;
}

void farm_config_free(struct farm_config *c)
{
	if (!c)
		return;
	farm_config_release(c);
	alts_free(c);
}

void farm_config_artifact_store(const struct farm_config *c, struct artifact_store_config *out)
{
	*out = (struct artifact_store_config){
		.backend = c->result_backend,
		.results_base_path = c->results_base_path,
		.part_size = c->upload_part_size,
		.retries = c->upload_retries,
		.timeout = c->upload_timeout,
		.work_dir = c->working_directory,
		.confs = c->store_confs,
	};
}
