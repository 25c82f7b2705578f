#include "framework/alloc.h"
#include "framework/common.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"

/* Backends are linked in as they exist; a NULL slot is "not built". */
static const struct artifact_store_ops *const backends[] = {
	&artifact_store_file_ops,
	&artifact_store_s3_ops,
	&artifact_store_azure_ops,
};

static const struct artifact_store_ops *backend_for(const char *name)
{
	if (!strncmp(name, "azureblockblob://", 17))
		name = "azureblockblob";
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends); i++) {
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	}
	return NULL;
}

const char *artifact_content_type(const char *key)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ ".tap", "text/plain; charset=utf-8" }, { ".log", "text/plain; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" }, { ".xml", "application/xml" },
		{ ".json", "application/json" },         { ".html", "text/html; charset=utf-8" },
		{ ".gz", "application/gzip" },
	};
	size_t klen = strlen(key);

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(types); i++) {
		size_t elen = strlen(types[i].ext);

		if (klen >= elen && !strcmp(key + klen - elen, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}

/* Keys are relative paths of printable characters without "." or ".." components. */
int artifact_store_check_key(const char *key, struct alts_err *err)
{
	const char *p = key;

	if (!*key || *key == '/')
		return alts_err_set(err, ALTS_EINVALID, "artifact key '%s' must be a relative path", key);
	for (; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return alts_err_set(err, ALTS_EINVALID, "artifact key contains a control character or backslash");
	}
	for (p = key; p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return alts_err_set(err, ALTS_EINVALID, "artifact key '%s' has an empty, '.' or '..' component",
					    key);
		p = slash ? slash + 1 : NULL;
	}
	return 0;
}

/* base_path + key, in a new string. */
static int full_key(char **out, const char *base, const char *key, struct alts_err *err)
{
	int rc = artifact_store_check_key(key, err);

	if (rc)
		return rc;
	*out = alts_asprintf("%s%s", base ? base : "", key);
	return *out ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

int artifact_store_open(struct artifact_store **out, const struct artifact_store_config *cfg, struct alts_err *err)
{
	const struct artifact_store_ops *ops = backend_for(cfg->backend ? cfg->backend : "file");
	struct artifact_store *s;
	int rc;

	if (!ops)
		return alts_err_set(err, ALTS_EINVALID,
				    "unknown result backend '%s' (allowed: file, s3, azureblockblob)", cfg->backend);
	s = alts_calloc(1, sizeof(*s));
	if (!s)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	s->ops = ops;
	s->cfg = *cfg;
	rc = ops->open(s, err);
	if (rc) {
		alts_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void artifact_store_free(struct artifact_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	alts_free(s);
}

const char *artifact_store_backend(const struct artifact_store *s)
{
	return s->ops->name;
}

int artifact_store_put_file(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			    struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->cfg.base_path, key, err);

	if (!rc)
		rc = s->ops->put_file(s, k, path, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

int artifact_store_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			     const char *content_type, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->cfg.base_path, key, err);

	if (!rc)
		rc = s->ops->put_bytes(s, k, data, len, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

int artifact_store_put_summary(struct artifact_store *s, const char *task_id, const char *json, size_t len,
			       struct alts_err *err)
{
	char *name = alts_asprintf("%s.json", task_id);
	char *k = NULL;
	int rc = name ? full_key(&k, s->cfg.results_base_path, name, err)
		      : alts_err_set(err, ALTS_ENOMEM, "out of memory");

	if (!rc)
		rc = s->ops->put_summary ? s->ops->put_summary(s, k, json, len, err)
					 : s->ops->put_bytes(s, k, json, len, "application/json", err);
	alts_free(k);
	alts_free(name);
	return rc;
}

int artifact_store_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->cfg.base_path, key, err);

	if (!rc)
		rc = s->ops->get(s, k, out, max, err);
	alts_free(k);
	return rc;
}

int artifact_store_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->cfg.base_path, key, err);

	if (!rc)
		rc = s->ops->url(s, k, out, err);
	alts_free(k);
	return rc;
}
