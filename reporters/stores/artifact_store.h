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

/* Filled by the caller (scheduler/worker: from struct sched_config); borrowed while the store is open. */
struct artifact_store_config {
	const char *backend;                 /* file, s3, azureblockblob, azureblockblob://<connection string> */
	const char *file_directory;          /* file: root directory */
	const char *base_path;               /* prefix of artifact keys ("" or ending in '/') */
	const char *results_base_path;       /* prefix of task summaries */
	long part_size;                      /* bytes; larger files go multipart / in blocks */
	long retries;                        /* attempts per request before giving up */
	double timeout;                      /* seconds per HTTP request */
	/* s3 */
	const char *s3_access_key_id;
	const char *s3_secret_access_key;
	const char *s3_bucket;
	const char *s3_region;               /* default us-east-1 */
	const char *s3_endpoint_url;         /* default https://s3.<region>.amazonaws.com */
	const char *s3_addressing_style;     /* path, virtual, auto */
	/* azureblockblob */
	const char *azure_connection_string; /* AccountName=..;AccountKey=..;BlobEndpoint=.. (or DefaultEndpointsProtocol+EndpointSuffix) */
	const char *azure_container;         /* summaries (azureblockblob_container_name) */
	const char *azure_logs_container;    /* artifacts; NULL: azure_container */
};

struct artifact_store;

/* ALTS_EINVALID unless key is a relative path of printable characters without "." or ".." parts. */
int artifact_store_check_key(const char *key, struct alts_err *err);

/* Opens the store the config names; ALTS_EINVALID with a clear message for a bad or incomplete config. */
int artifact_store_open(struct artifact_store **out, const struct artifact_store_config *cfg, struct alts_err *err);
void artifact_store_free(struct artifact_store *s);

/* "file", "s3" or "azureblockblob". */
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
