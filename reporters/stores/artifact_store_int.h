#ifndef ALTS_ARTIFACT_STORE_INT_H
#define ALTS_ARTIFACT_STORE_INT_H

#include "reporters/stores/artifact_store.h"

/*
 * One backend: a struct of function pointers. Keys reaching the ops are
 * full object names (base path already applied) and have been checked by
 * artifact_store.c (no "..", no leading '/', no control characters).
 */
struct artifact_store_ops {
	const char *name;
	int (*open)(struct artifact_store *s, struct alts_err *err);
	void (*close)(struct artifact_store *s);
	int (*put_file)(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			struct alts_err *err);
	int (*put_bytes)(struct artifact_store *s, const char *key, const void *data, size_t len,
			 const char *content_type, struct alts_err *err);
	int (*get)(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err);
	int (*url)(struct artifact_store *s, const char *key, char **out, struct alts_err *err);
	/* Where summaries go when that differs from artifacts (Azure: another container); NULL: put_bytes. */
	int (*put_summary)(struct artifact_store *s, const char *key, const void *data, size_t len,
			   struct alts_err *err);
};

struct artifact_store {
	const struct artifact_store_ops *ops;
	struct artifact_store_config cfg;
	void *priv;  /* the backend's state */
};

extern const struct artifact_store_ops artifact_store_file_ops;
extern const struct artifact_store_ops artifact_store_s3_ops;
extern const struct artifact_store_ops artifact_store_azure_ops;

/* A Content-Type for key by its extension (.tap, .xml, .json, .log, .gz, .html ...). */
const char *artifact_content_type(const char *key);

#endif
