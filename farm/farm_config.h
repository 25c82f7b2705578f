#ifndef ALTS_FARM_CONFIG_H
#define ALTS_FARM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"
#include "framework/sbuf.h"

struct artifact_store_confs;

/*
 * The farm's configuration: one YAML file configures the scheduler and
 * its workers (configs/example_config.yaml documents every key). This is
 * the part both read, or the worker alone: the broker, the queues, the
 * working directory, the worker's timeouts and the artifact stores. The
 * scheduler's own keys (JWT, HTTP, SQLite, what it accepts) live in
 * scheduler/settings.c as a second key table over the same file; the
 * worker accepts them and leaves them alone. Decoded with the
 * framework/conf.h key tables, so an unknown key or a wrong type fails as
 * "file:line:col: key: message". Secrets may come from the environment
 * (ALTS_RABBITMQ_PASSWORD, ..., which win over the file) or from files
 * (rabbitmq_password_file, ...). Everything lives in the config's arena
 * until farm_config_free() / farm_config_release().
 */
struct farm_config {
	struct arena *arena;
	const char *path;

	const char *rabbitmq_host;
	long rabbitmq_port;
	long rabbitmq_ssl_port;
	bool use_ssl;
	const char *rabbitmq_ssl_cacert;
	const char *rabbitmq_ssl_cert;
	const char *rabbitmq_ssl_key;
	bool rabbitmq_ssl_verify_peer;
	const char *rabbitmq_user;
	const char *rabbitmq_password;       /* secret */
	const char *rabbitmq_password_file;
	const char *rabbitmq_vhost;
	const char *results_queue;           /* workers report here; "" disables the consumer */

	const char *working_directory;

	/* Queue names (farm/queue_name.h): both sides must agree. */
	long default_cost;                   /* the <cost> part of queue names */
	bool distribution_queues;            /* names carry the image: <runner>-<arch>-<cost>.<image> */

	/* The worker (alts-worker). */
	struct strlist worker_queues;        /* queues consumed; --queues overrides; none: from the images */
	struct strlist worker_images;        /* images whose queues are consumed; none: every image in the cache */
	long worker_concurrency;             /* task threads; also the prefetch count */
	long worker_heartbeat;               /* AMQP heartbeat, seconds; 0 disables */
	double worker_grace_period;          /* SIGTERM: seconds running tasks get before they are requeued */
	double task_timeout;                 /* seconds for a whole task */
	double provision_timeout;            /* seconds to create the environment */
	double tests_timeout;                /* seconds for third-party tests (script checks) */
	double commands_timeout;             /* seconds for other commands (install, launch, ...) */
	const char *spool_directory;         /* artifacts that could not be uploaded wait here */
	const char *cancel_exchange;         /* fanout exchange the scheduler announces cancels on */
	/* Reports straight to the scheduler (POST /internal/tasks/{id}/report); unset: the results queue only. */
	const char *scheduler_url;           /* http(s)://host:port of the scheduler's API */
	const char *scheduler_token;         /* secret: a token with the worker scope (alts-token --scope worker) */
	const char *scheduler_token_file;
	struct strlist uninstall_excluded_pkgs; /* ALTS's: never uninstalled (added to protected_packages) */

	/* Artifact stores / result backend: written by workers, read by the scheduler. */
	const char *result_backend;          /* file (default; pulp when pulp_host is set), s3, azureblockblob[://<conn>], pulp */
	const char *results_base_path;       /* prefix of the per-task summary (<prefix><task_id>.json) */
	bool gzip_logs;                      /* store logs/<check>.log.gz instead of .log */
	long upload_part_size;               /* bytes; larger files go as S3 multipart / Azure blocks */
	long upload_retries;                 /* attempts per upload before spooling */
	double upload_timeout;               /* seconds per HTTP request */
	/* Each backend's own keys (file_store_directory, s3_*, azure*), decoded by its table; in the arena. */
	struct artifact_store_confs *store_confs;
};

/*
 * Loads path for the worker; NULL: the defaults. The scheduler's own keys
 * are accepted and ignored. ALTS_EINVALID with file:line:col on a bad
 * config. *out is the caller's (farm_config_free).
 */
int farm_config_load(struct farm_config **out, const char *path, struct alts_err *err);
/* Loads from memory; label names it in messages. Reads the environment for secrets. */
int farm_config_load_buffer(struct farm_config **out, const char *label, const char *data, size_t len,
			    struct alts_err *err);
void farm_config_free(struct farm_config *c);

/*
 * For a binary with keys of its own (the scheduler). init: the arena, the
 * label and the defaults (release even when it fails). read: path's text
 * into out (size-capped). decode: the document through the farm's key
 * table and then `extra` (their bases are the caller's), then the farm's
 * secrets and path defaults.
 */
int farm_config_init(struct farm_config *c, const char *label, struct alts_err *err);
int farm_config_read(struct sbuf *out, const char *path, struct alts_err *err);
int farm_config_decode(struct farm_config *c, const char *data, size_t len, const struct conf_section *extra,
		       size_t nextra, struct alts_err *err);
/* Environment variable, then file, then the value already set; for secrets. */
int farm_config_secret(struct farm_config *c, const char **value, const char *env_name, const char *file_key,
		       const char *file, struct alts_err *err);
void farm_config_release(struct farm_config *c);

struct artifact_store_config;
/* Fills the artifact store settings from the config (borrowed strings). */
void farm_config_artifact_store(const struct farm_config *c, struct artifact_store_config *out);

#endif
