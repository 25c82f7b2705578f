#ifndef ALTS_ARTIFACT_STORE_H
#define ALTS_ARTIFACT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "framework/err.h"
#include "framework/sbuf.h"

/*
 * Artifact stores: where a worker keeps a task's reports and logs, and
 * where the scheduler reads them back. One interface (artifact_store_int.h
 * holds the ops struct), chosen by `result_backend`:
 *   file            a local directory (the embedded default)
 *   s3              AWS Signature V4 over libcurl; path or virtual-host style
 *   azureblockblob  Azure Blob REST with SharedKey from a connection string
 *   pulp            Pulp's REST API (artifacts, basic auth), with a local copy
 *
 * Keys are relative ("<task_id>/report.tap"); each store prefixes its base
 * path. Uploads retry with exponential backoff on 5xx, 429 and transport
 * errors; a 4xx (wrong secret, missing bucket) fails at once with the
 * service's own error code and message in err (ALTS_EENV; ALTS_ENOTFOUND
 * for a missing object, ALTS_EINVALID for a bad key or config).
 *
 * A store is immutable once open: one store may be used by any number of
 * threads at once (each request has its own connection). Uploads that
 * must survive an outage go through spool.h. User docs:
 * docs/artifact-stores.md; internals: docs/internals/artifact-stores.md.
 */

struct arena;
struct conf_section;

/* At most this many backends are registered (artifact_store.c). */
#define ARTIFACT_STORE_MAX_BACKENDS 8
/* artifact_store_conf_sections() fills at most this many sections. */
#define ARTIFACT_STORE_CONF_SECTIONS (1 + ARTIFACT_STORE_MAX_BACKENDS)
/* The backends declare at most this many secrets in all (artifact_store_conf_secrets). */
#define ARTIFACT_STORE_MAX_SECRETS (2 * ARTIFACT_STORE_MAX_BACKENDS)

/*
 * Every registered backend's own settings (s3_*, azure*, file_store_directory
 * ...), each decoded by the backend's key table into a struct only that
 * backend knows. Lives in an arena (the config loader's); see
 * artifact_store_confs_new() and artifact_store_conf_sections().
 */
struct artifact_store_confs {
	struct arena *arena;                        /* borrowed: holds the configs and their strings */
	const char *base_path;                      /* s3_base_path: ALTS's artifact prefix, for backends without their own */
	void *conf[ARTIFACT_STORE_MAX_BACKENDS];    /* by registry index; each ops->conf_size bytes */
};

/* Filled by the caller (scheduler/worker: from struct farm_config); borrowed while the store is open. */
struct artifact_store_config {
	const char *backend;                 /* file, s3, azureblockblob, azureblockblob://<connection string> */
	const char *base_path;               /* prefix of artifact keys ("" or ending in '/'); NULL: from confs */
	const char *results_base_path;       /* prefix of task summaries */
	long part_size;                      /* bytes; larger files go multipart / in blocks */
	long retries;                        /* attempts per request before giving up */
	double timeout;                      /* seconds per HTTP request */
	const char *work_dir;                /* local defaults derive from it (file: <work_dir>/artifacts); may be NULL */
	const struct artifact_store_confs *confs;  /* the backends' own settings; NULL: none set */
};

/*
 * Allocates a zeroed config for every registered backend in a (borrowed:
 * it must outlive *out). ALTS_EINTERNAL when the registry holds a backend
 * or a key twice.
 */
int artifact_store_confs_new(struct artifact_store_confs **out, struct arena *a, struct alts_err *err);

/*
 * Fills out (room for max, ARTIFACT_STORE_CONF_SECTIONS is enough) with
 * the common store key (s3_base_path) and each backend's key table, based
 * on confs, for a loader that holds these keys flat among its own
 * (conf_decode_map with several sections). Returns the count.
 */
size_t artifact_store_conf_sections(struct conf_section *out, size_t max, struct artifact_store_confs *confs);

/*
 * Sets one key as a config file would ("s3_bucket", "b"), through the
 * owning backend's table. ALTS_EINVALID with conf's message for an unknown
 * key or a bad value. For tools and tests.
 */
int artifact_store_confs_set(struct artifact_store_confs *confs, const char *key, const char *value,
			     struct alts_err *err);

/* A secret a backend declares, for the loader to resolve: env wins, then file (its first line), then the key. */
struct artifact_store_secret_ref {
	const char *env;       /* ALTS_S3_SECRET_ACCESS_KEY */
	const char *file_key;  /* s3_secret_access_key_file, for messages */
	const char *file;      /* its decoded value, NULL when unset */
	const char **value;    /* the field to set (in confs) */
};

/*
 * Fills out (room for max; ARTIFACT_STORE_MAX_SECRETS is enough) with every
 * backend's secrets, in registry order; returns the count.
 */
size_t artifact_store_conf_secrets(struct artifact_store_secret_ref *out, size_t max,
				   struct artifact_store_confs *confs);

/*
 * The backend a config without result_backend gets: the first whose
 * selecting key is set in confs (pulp with pulp_host), else NULL (file).
 */
const char *artifact_store_implied_backend(const struct artifact_store_confs *confs);

/* True when name is a registered backend, or "<name>://..." for one that takes that form. */
bool artifact_store_backend_known(const char *name);

/* Appends "file, s3, azureblockblob" (with_forms: then ", azureblockblob://<connection string>"). */
void artifact_store_backend_names(struct sbuf *out, bool with_forms);

struct artifact_store;

/* ALTS_EINVALID unless key is a relative path of printable characters without "." or ".." parts. */
int artifact_store_check_key(const char *key, struct alts_err *err);

/* Opens the store the config names; ALTS_EINVALID with a clear message for a bad or incomplete config. */
int artifact_store_open(struct artifact_store **out, const struct artifact_store_config *cfg, struct alts_err *err);
void artifact_store_free(struct artifact_store *s);

/* "file", "s3", "azureblockblob" or "pulp". */
const char *artifact_store_backend(const struct artifact_store *s);

/* Uploads a local file as key (multipart/blocks above part_size). content_type NULL: guessed from the key. */
int artifact_store_put_file(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			    struct alts_err *err);
/* Uploads bytes as key. */
int artifact_store_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			     const char *content_type, struct alts_err *err);
/* Uploads the task summary (JSON) under results_base_path as <task_id>.json. */
int artifact_store_put_summary(struct artifact_store *s, const char *task_id, const char *json, size_t len,
			       struct alts_err *err);
/*
 * A batch: puts made durable together, with one barrier for all of them instead of one per
 * object (the file store: the task's files are written, then one syncfs() makes their data
 * durable, the renames make them visible, and a second syncfs() the names). Until
 * artifact_batch_commit() returns 0 nothing put is visible under its key, and after a crash
 * each object is whole or absent. Stores whose PUT is durable anyway (S3, Azure, Pulp) put at
 * once and commit has nothing to do. A batch belongs to one thread; the store must outlive it.
 */
struct artifact_batch;

int artifact_batch_begin(struct artifact_batch **out, struct artifact_store *s, struct alts_err *err);
/* As artifact_store_put_file, in the batch; path is read now. */
int artifact_batch_put_file(struct artifact_batch *b, const char *key, const char *path, const char *content_type,
			    struct alts_err *err);
/* As artifact_store_put_bytes, in the batch; data is copied now. */
int artifact_batch_put_bytes(struct artifact_batch *b, const char *key, const void *data, size_t len,
			     const char *content_type, struct alts_err *err);
/* As artifact_store_put_summary, in the batch (at once on a store that keeps summaries apart: Azure). */
int artifact_batch_put_summary(struct artifact_batch *b, const char *task_id, const char *json, size_t len,
			       struct alts_err *err);
/*
 * Makes every put of the batch visible and durable. On failure (ALTS_EENV, the message in
 * err) some, all or none of them may be visible, none is known durable: put them again
 * (the spool does). Frees b either way.
 */
int artifact_batch_commit(struct artifact_batch *b, struct alts_err *err);
/* Drops a batch not committed: its puts are removed. NULL-safe. */
void artifact_batch_free(struct artifact_batch *b);

/*
 * Reads key into out (appended), at most max bytes (0: no limit): a
 * longer object is cut and out->capped is set. ALTS_ENOTFOUND when absent.
 */
int artifact_store_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err);
/* A URL naming key (s3://bucket/..., https://account.blob.../..., file:///...); *out is the caller's (alts_free). */
int artifact_store_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err);

/*
 * Compresses src into dst (gzip, replacing dst atomically), e.g. a check's
 * log before it is stored as logs/<check>.log.gz. src is left alone.
 */
int artifact_gzip_file(const char *src, const char *dst, struct alts_err *err);

#endif
