#ifndef ALTS_ARTIFACT_STORE_INT_H
#define ALTS_ARTIFACT_STORE_INT_H

#include "framework/conf.h"
#include "reporters/stores/artifact_store.h"

/*
 * One backend: a static const struct artifact_store_ops in its own .c,
 * listed in the registry of artifact_store.c. Keys reaching the ops are
 * full object names (base path already applied) and have been checked by
 * artifact_store.c (no "..", no leading '/', no control characters).
 * docs/internals/artifact-stores.md says how to add one.
 */

#define ARTIFACT_STORE_ABI 1

/*
 * A secret the backend's config holds: the loader (farm_config) sets the
 * value field from env when set, else from the first line of the file
 * the file field names. Both fields are const char * in the backend's config.
 */
struct artifact_store_secret {
	const char *env;       /* "ALTS_S3_SECRET_ACCESS_KEY" */
	const char *file_key;  /* "s3_secret_access_key_file": the key naming the file, for messages */
	size_t file_offset;    /* of that key's field */
	size_t value_offset;   /* of the secret's field */
};

#define ARTIFACT_STORE_SECRETS_END { NULL, NULL, 0, 0 }

struct artifact_store_ops {
	const char *name;       /* the result_backend value */
	int abi;                /* ARTIFACT_STORE_ABI */
	/*
	 * Non-NULL when result_backend may also be "<name>://<form>" (ALTS's
	 * azureblockblob://<connection string>): this text names what follows,
	 * for messages; the store gets it as s->backend_arg.
	 */
	const char *url_form;

	/*
	 * The backend's config keys as they appear flat in the config file,
	 * decoded by offsetof into its own config struct of conf_size bytes
	 * (zeroed first: NULL and 0 are "not set"). The key names must be
	 * unique across all backends. keys may be NULL (no settings).
	 */
	const struct conf_key *keys;
	size_t conf_size;
	const struct artifact_store_secret *secrets;  /* may be NULL; ends with ARTIFACT_STORE_SECRETS_END */
	size_t priv_size;       /* bytes of runtime state, zeroed, allocated and freed by the core (s->priv) */

	/*
	 * Optional. What the key table cannot say (a key needed by this
	 * backend, two keys that go together); called by artifact_store_open()
	 * for the chosen backend only, before open. conf is the backend's
	 * config (zeroed when the caller set none). ALTS_EINVALID with the
	 * message in err.
	 */
	int (*validate)(const struct artifact_store *s, const void *conf, struct alts_err *err);

	/*
	 * Optional. The prefix of artifact keys when the backend has its own
	 * key for it (azureblockblob_base_path); borrowed from conf. NULL: the
	 * common one (s3_base_path).
	 */
	const char *(*base_path)(const void *conf);

	/* Required. Fills s->priv (priv_size bytes, zeroed) from s->cfg and s->conf. */
	int (*open)(struct artifact_store *s, struct alts_err *err);
	/* Required. Releases what s->priv holds (not s->priv itself); also after a failed open. */
	void (*close)(struct artifact_store *s);
	int (*put_file)(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			struct alts_err *err);
	int (*put_bytes)(struct artifact_store *s, const char *key, const void *data, size_t len,
			 const char *content_type, struct alts_err *err);
	int (*get)(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err);
	/* *out is the caller's (alts_free). */
	int (*url)(struct artifact_store *s, const char *key, char **out, struct alts_err *err);
	/* Where summaries go when that differs from artifacts (Azure: another container); NULL: put_bytes. */
	int (*put_summary)(struct artifact_store *s, const char *key, const void *data, size_t len,
			   struct alts_err *err);
	/*
	 * Optional, all three or none: puts made durable together (artifact_batch_*), for a
	 * backend whose every durable write costs a barrier (file: fsync). NULL: the core's
	 * batch calls put_file/put_bytes at once (an S3, Azure or Pulp PUT is durable when it
	 * returns) and commit has nothing to do.
	 *
	 * batch_begin: *out is the backend's batch state. batch_put: writes key (path, or
	 * data/len when path is NULL) so that nothing is visible under key yet and a crash
	 * leaves no partial object; path and data are borrowed for the call. batch_commit: makes
	 * every put of the batch visible and durable, then frees the batch, also on failure
	 * (what was not made visible is removed). batch_abort: frees a batch not committed and
	 * removes its puts.
	 */
	int (*batch_begin)(struct artifact_store *s, void **out, struct alts_err *err);
	int (*batch_put)(struct artifact_store *s, void *batch, const char *key, const char *path, const void *data,
			 size_t len, struct alts_err *err);
	int (*batch_commit)(struct artifact_store *s, void *batch, struct alts_err *err);
	void (*batch_abort)(struct artifact_store *s, void *batch);
	/*
	 * Optional: one of the backend's CONF_STRING keys whose presence
	 * chooses this backend when the config names no result_backend
	 * ("pulp_host", as ALTS's logs_uploader_config chooses Pulp).
	 */
	const char *selected_by;
};

struct artifact_store {
	const struct artifact_store_ops *ops;
	struct artifact_store_config cfg;
	const void *conf;          /* the backend's own config (from cfg.confs, or zeroed); borrowed */
	const char *backend_arg;   /* what follows "<name>://" in cfg.backend; NULL when absent */
	const char *base_path;     /* the effective artifact prefix ("" when none) */
	void *priv;                /* the backend's state, priv_size bytes */
	void *own_conf;            /* the zeroed config when cfg.confs is NULL */
};

extern const struct artifact_store_ops artifact_store_file_ops;
extern const struct artifact_store_ops artifact_store_s3_ops;
extern const struct artifact_store_ops artifact_store_azure_ops;
extern const struct artifact_store_ops artifact_store_pulp_ops;

/* A Content-Type for key by its extension (.tap, .xml, .json, .log, .gz, .html ...). */
const char *artifact_content_type(const char *key);

/*
 * Checks a backend table: names and config keys unique, ABI, required
 * slots. ALTS_EINTERNAL with the culprit in err. Exported for tests.
 */
int artifact_store__check_registry(const struct artifact_store_ops *const *ops, size_t n, struct alts_err *err);

#endif
