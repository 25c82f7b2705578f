#ifndef ALTS_SCHED_CONFIG_H
#define ALTS_SCHED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/conf.h"

/*
 * The scheduler's configuration (configs/example_config.yaml documents
 * every key). Loaded from YAML with the framework/conf.h key tables, so
 * an unknown key or a wrong type fails as "file:line:col: key: message".
 * Secrets may come from the environment (ALTS_JWT_SECRET,
 * ALTS_RABBITMQ_PASSWORD, which win over the file) or from files
 * (jwt_secret_file, rabbitmq_password_file). Everything lives in the
 * config's arena until sched_config_free().
 */
struct sched_config {
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
	long default_cost;                   /* the <cost> part of queue names */
	const char *results_queue;           /* workers report here; "" disables the consumer */

	const char *jwt_secret;              /* secret */
	const char *jwt_secret_file;
	const char *hashing_algorithm;       /* HS256, HS384, HS512 */

	const char *working_directory;
	const char *database;                /* SQLite file; default <working_directory>/scheduler.db */
	struct strlist supported_architectures;
	struct strlist supported_runners;
	struct strlist supported_distributions;

	const char *listen_address;
	long listen_port;
	long max_body_size;                  /* bytes; larger bodies get 413 */
	long threads;                        /* HTTP worker threads */
	long connection_limit;
	double connection_timeout;           /* seconds */

	/* The worker (alts-worker). */
	struct strlist worker_queues;        /* queues consumed; --queues overrides */
	long worker_concurrency;             /* task threads; also the prefetch count */
	long worker_heartbeat;               /* AMQP heartbeat, seconds; 0 disables */
	double worker_grace_period;          /* SIGTERM: seconds running tasks get before they are requeued */
	double task_timeout;                 /* seconds for a whole task */
	double provision_timeout;            /* seconds to create the environment */
	double tests_timeout;                /* seconds for third-party tests (script checks) */
	double commands_timeout;             /* seconds for other commands (install, launch, ...) */
	const char *spool_directory;         /* artifacts that could not be uploaded wait here */
	const char *cancel_exchange;         /* fanout exchange the scheduler announces cancels on */

	/* Artifact stores / result backend: written by workers, read by the scheduler. */
	const char *result_backend;          /* file (default), s3, azureblockblob or azureblockblob://<conn> */
	const char *file_store_directory;    /* file backend root; default <working_directory>/artifacts */
	const char *results_base_path;       /* prefix of the per-task summary (<prefix><task_id>.json) */
	bool gzip_logs;                      /* store logs/<check>.log.gz instead of .log */
	long upload_part_size;               /* bytes; larger files go as S3 multipart / Azure blocks */
	long upload_retries;                 /* attempts per upload before spooling */
	double upload_timeout;               /* seconds per HTTP request */
	const char *s3_addressing_style;     /* path, virtual or auto (path when s3_endpoint_url is set) */
	const char *s3_secret_access_key_file;
	const char *azure_connection_string_file;
	const char *s3_access_key_id;
	const char *s3_secret_access_key;    /* secret */
	const char *s3_bucket;
	const char *s3_base_path;
	const char *s3_region;
	const char *s3_endpoint_url;
	const char *azureblockblob_container_name;
	const char *azureblockblob_base_path;
	const char *azure_connection_string; /* secret */
	const char *azure_logs_container;
};

/*
 * Loads path (required). ALTS_EINVALID with file:line:col on a bad config,
 * or when no JWT secret is set (the scheduler and alts-token need one).
 */
int sched_config_load(struct sched_config **out, const char *path, struct alts_err *err);
/* Loads from memory; label names it in messages. Reads the environment for secrets. */
int sched_config_load_buffer(struct sched_config **out, const char *label, const char *data, size_t len,
			     struct alts_err *err);
/* As sched_config_load, for the worker: no JWT secret needed. path NULL: the defaults. */
int worker_config_load(struct sched_config **out, const char *path, struct alts_err *err);
int worker_config_load_buffer(struct sched_config **out, const char *label, const char *data, size_t len,
			      struct alts_err *err);
void sched_config_free(struct sched_config *c);

struct artifact_store_config;
/* Fills the artifact store settings from the config (borrowed strings). */
void sched_config_artifact_store(const struct sched_config *c, struct artifact_store_config *out);

/* True when s is in l. */
bool sched_strlist_has(const struct strlist *l, const char *s);

#endif
