#include "framework/alloc.h"
#include "framework/arena.h"
#include "framework/common.h"
#include "framework/conf.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"

/*
 * The registry: one entry per backend, in the order their keys are
 * listed and their secrets resolved. A new backend is one .c file and one
 * line here (docs/internals/artifact-stores.md).
 */
static const struct artifact_store_ops *const backends[] = {
	&artifact_store_file_ops,
	&artifact_store_s3_ops,
	&artifact_store_azure_ops,
	&artifact_store_pulp_ops,
};

_Static_assert(ALTS_ARRAY_SIZE(backends) <= ARTIFACT_STORE_MAX_BACKENDS, "raise ARTIFACT_STORE_MAX_BACKENDS");

/* Keys every backend shares: s3_base_path is ALTS's name for the artifact prefix. */
static const struct conf_key store_common_keys[] = {
	{ "s3_base_path", CONF_STRING, offsetof(struct artifact_store_confs, base_path), 0, NULL, NULL },
	CONF_KEYS_END,
};

static bool has_key(const struct conf_key *keys, const char *name)
{
	for (const struct conf_key *k = keys; k && k->name; k++) {
		if (!strcmp(k->name, name))
			return true;
	}
	return false;
}

int artifact_store__check_registry(const struct artifact_store_ops *const *ops, size_t n, struct alts_err *err)
{
	size_t nsecrets = 0;

	if (n > ARTIFACT_STORE_MAX_BACKENDS)
		return alts_err_set(err, ALTS_EINTERNAL, "more than %d artifact stores", ARTIFACT_STORE_MAX_BACKENDS);
	for (size_t i = 0; i < n; i++) {
		const struct artifact_store_ops *o = ops[i];

		if (o->abi != ARTIFACT_STORE_ABI || !o->name || !o->open || !o->close || !o->put_file ||
		    !o->put_bytes || !o->get || !o->url || ((o->keys || o->secrets) && !o->conf_size) ||
		    !o->batch_begin != !o->batch_put || !o->batch_begin != !o->batch_commit ||
		    !o->batch_begin != !o->batch_abort)
			return alts_err_set(err, ALTS_EINTERNAL, "artifact store '%s' is incomplete or of another ABI",
					    o->name ? o->name : "?");
		for (const struct artifact_store_secret *sec = o->secrets; sec && sec->env; sec++)
			nsecrets++;
		if (nsecrets > ARTIFACT_STORE_MAX_SECRETS)
			return alts_err_set(err, ALTS_EINTERNAL, "artifact stores declare more than %d secrets",
					    ARTIFACT_STORE_MAX_SECRETS);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(ops[j]->name, o->name))
				return alts_err_set(err, ALTS_EINTERNAL, "artifact store '%s' is registered twice",
						    o->name);
		}
		for (const struct conf_key *k = o->keys; k && k->name; k++) {
			if (has_key(store_common_keys, k->name))
				return alts_err_set(err, ALTS_EINTERNAL, "artifact store '%s' redefines key '%s'",
						    o->name, k->name);
			for (size_t j = 0; j < i; j++) {
				if (has_key(ops[j]->keys, k->name))
					return alts_err_set(err, ALTS_EINTERNAL,
							    "artifact stores '%s' and '%s' both define key '%s'",
							    ops[j]->name, o->name, k->name);
			}
		}
	}
	return 0;
}

/* The registry index of the backend name names ("<name>://..." for one with a url_form); -1: none. */
static int backend_index(const char *name, const char **arg)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends); i++) {
		size_t n = strlen(backends[i]->name);

		if (strncmp(backends[i]->name, name, n))
			continue;
		if (!name[n]) {
			*arg = NULL;
			return (int)i;
		}
		if (backends[i]->url_form && !strncmp(name + n, "://", 3)) {
			*arg = name + n + 3;
			return (int)i;
		}
	}
	return -1;
}

const char *artifact_store_implied_backend(const struct artifact_store_confs *confs)
{
	for (size_t i = 0; confs && i < ALTS_ARRAY_SIZE(backends); i++) {
		const struct artifact_store_ops *o = backends[i];

		for (const struct conf_key *k = o->keys; o->selected_by && confs->conf[i] && k && k->name; k++) {
			const char *v;

			if (strcmp(k->name, o->selected_by) || k->type != CONF_STRING)
				continue;
			v = *(const char **)(void *)((char *)confs->conf[i] + k->offset);
			if (v && *v)
				return o->name;
		}
	}
	return NULL;
}

bool artifact_store_backend_known(const char *name)
{
	const char *arg;

	return name && backend_index(name, &arg) >= 0;
}

void artifact_store_backend_names(struct sbuf *out, bool with_forms)
{
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends); i++)
		sbuf_addf(out, "%s%s", i ? ", " : "", backends[i]->name);
	for (size_t i = 0; with_forms && i < ALTS_ARRAY_SIZE(backends); i++) {
		if (backends[i]->url_form)
			sbuf_addf(out, ", %s://%s", backends[i]->name, backends[i]->url_form);
	}
}

int artifact_store_confs_new(struct artifact_store_confs **out, struct arena *a, struct alts_err *err)
{
	struct artifact_store_confs *c;
	int rc = artifact_store__check_registry(backends, ALTS_ARRAY_SIZE(backends), err);

	if (rc)
		return rc;
	c = arena_alloc(a, sizeof(*c));
	if (!c)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	memset(c, 0, sizeof(*c));
	c->arena = a;
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends); i++) {
		if (!backends[i]->conf_size)
			continue;
		c->conf[i] = arena_alloc(a, backends[i]->conf_size);
		if (!c->conf[i])
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		memset(c->conf[i], 0, backends[i]->conf_size);
	}
	*out = c;
	return 0;
}

size_t artifact_store_conf_sections(struct conf_section *out, size_t max, struct artifact_store_confs *confs)
{
	size_t n = 0;

	if (n < max)
		out[n++] = (struct conf_section){ store_common_keys, confs };
	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends) && n < max; i++) {
		if (backends[i]->keys)
			out[n++] = (struct conf_section){ backends[i]->keys, confs->conf[i] };
	}
	return n;
}

size_t artifact_store_conf_secrets(struct artifact_store_secret_ref *out, size_t max,
				   struct artifact_store_confs *confs)
{
	size_t n = 0;

	for (size_t i = 0; i < ALTS_ARRAY_SIZE(backends); i++) {
		for (const struct artifact_store_secret *sec = backends[i]->secrets; sec && sec->env && n < max; sec++) {
			char *base = confs->conf[i];

			out[n++] = (struct artifact_store_secret_ref){
				.env = sec->env,
				.file_key = sec->file_key,
				.file = *(const char **)(void *)(base + sec->file_offset),
				.value = (const char **)(void *)(base + sec->value_offset),
			};
		}
	}
	return n;
}

int artifact_store_confs_set(struct artifact_store_confs *confs, const char *key, const char *value,
			     struct alts_err *err)
{
	struct conf_section sections[ARTIFACT_STORE_CONF_SECTIONS];
	size_t n = artifact_store_conf_sections(sections, ALTS_ARRAY_SIZE(sections), confs);
	struct conf_ctx ctx = { .arena = confs->arena, .file = "store config", .err = err };
	yaml_document_t doc;
	int map, k, v;
	int rc = ALTS_ENOMEM;

	if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	map = yaml_document_add_mapping(&doc, NULL, YAML_BLOCK_MAPPING_STYLE);
	k = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)key, -1, YAML_PLAIN_SCALAR_STYLE);
	v = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)value, -1, YAML_PLAIN_SCALAR_STYLE);
	if (map && k && v && yaml_document_append_mapping_pair(&doc, map, k, v)) {
		ctx.doc = &doc;
		rc = conf_decode_map(&ctx, yaml_document_get_root_node(&doc), "", sections, n);
	} else {
		alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	yaml_document_delete(&doc);
	return rc;
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

/* The backend's own config: the caller's, else a zeroed one the store owns. */
static int store_conf(struct artifact_store *s, int idx, struct alts_err *err)
{
	const struct artifact_store_confs *confs = s->cfg.confs;

	if (confs && confs->conf[idx]) {
		s->conf = confs->conf[idx];
		return 0;
	}
	if (!s->ops->conf_size)
		return 0;
	s->own_conf = alts_calloc(1, s->ops->conf_size);
	s->conf = s->own_conf;
	return s->own_conf ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

int artifact_store_open(struct artifact_store **out, const struct artifact_store_config *cfg, struct alts_err *err)
{
	const char *name = cfg->backend ? cfg->backend : "file";
	const char *arg = NULL;
	int idx = backend_index(name, &arg);
	struct artifact_store *s = NULL;
	struct sbuf names = SBUF_INIT;
	int rc;

	if (idx < 0) {
		artifact_store_backend_names(&names, false);
		rc = alts_err_set(err, ALTS_EINVALID, "unknown result backend '%s' (allowed: %s)", cfg->backend,
				  sbuf_ok(&names) ? names.buf : "?");
		sbuf_release(&names);
		return rc;
	}
	s = alts_calloc(1, sizeof(*s));
	if (!s)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	s->ops = backends[idx];
	s->cfg = *cfg;
	s->backend_arg = arg;
	rc = store_conf(s, idx, err);
	if (!rc && s->ops->validate)
		rc = s->ops->validate(s, s->conf, err);
	if (rc)
		goto fail;
	if (cfg->base_path)
		s->base_path = cfg->base_path;
	else if (s->ops->base_path)
		s->base_path = s->ops->base_path(s->conf);
	else
		s->base_path = cfg->confs ? cfg->confs->base_path : NULL;
	if (!s->base_path)
		s->base_path = "";
	if (s->ops->priv_size && !(s->priv = alts_calloc(1, s->ops->priv_size))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto fail;
	}
	rc = s->ops->open(s, err);
	if (rc) {
		s->ops->close(s);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	alts_free(s->priv);
	alts_free(s->own_conf);
	alts_free(s);
	return rc;
}

void artifact_store_free(struct artifact_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	alts_free(s->priv);
	alts_free(s->own_conf);
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
	int rc = full_key(&k, s->base_path, key, err);

	if (!rc)
		rc = s->ops->put_file(s, k, path, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

int artifact_store_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			     const char *content_type, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->base_path, key, err);

	if (!rc)
		rc = s->ops->put_bytes(s, k, data, len, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

/* The full key of task_id's summary: <results_base_path><task_id>.json, in a new string. */
static int summary_key(char **out, const struct artifact_store *s, const char *task_id, struct alts_err *err)
{
	char *name = alts_asprintf("%s.json", task_id);
	int rc = name ? full_key(out, s->cfg.results_base_path, name, err)
		      : alts_err_set(err, ALTS_ENOMEM, "out of memory");

	alts_free(name);
	return rc;
}

int artifact_store_put_summary(struct artifact_store *s, const char *task_id, const char *json, size_t len,
			       struct alts_err *err)
{
	char *k = NULL;
	int rc = summary_key(&k, s, task_id, err);

	if (!rc)
		rc = s->ops->put_summary ? s->ops->put_summary(s, k, json, len, err)
					 : s->ops->put_bytes(s, k, json, len, "application/json", err);
	alts_free(k);
	return rc;
}

int artifact_store_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->base_path, key, err);

	if (!rc)
		rc = s->ops->get(s, k, out, max, err);
	alts_free(k);
	return rc;
}

int artifact_store_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, s->base_path, key, err);

	if (!rc)
		rc = s->ops->url(s, k, out, err);
	alts_free(k);
	return rc;
}

struct artifact_batch {
	struct artifact_store *s;
	void *priv;  /* the backend's batch; NULL: puts go to the store at once */
};

int artifact_batch_begin(struct artifact_batch **out, struct artifact_store *s, struct alts_err *err)
{
	struct artifact_batch *b = alts_calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	b->s = s;
	if (s->ops->batch_begin && (rc = s->ops->batch_begin(s, &b->priv, err))) {
		alts_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* k is the full key; path, or data/len. */
static int batch_put(struct artifact_batch *b, const char *k, const char *path, const void *data, size_t len,
		     const char *content_type, struct alts_err *err)
{
	struct artifact_store *s = b->s;

	if (b->priv)
		return s->ops->batch_put(s, b->priv, k, path, data, len, err);
	return path ? s->ops->put_file(s, k, path, content_type, err)
		    : s->ops->put_bytes(s, k, data, len, content_type, err);
}

int artifact_batch_put_file(struct artifact_batch *b, const char *key, const char *path, const char *content_type,
			    struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, b->s->base_path, key, err);

	if (!rc)
		rc = batch_put(b, k, path, NULL, 0, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

int artifact_batch_put_bytes(struct artifact_batch *b, const char *key, const void *data, size_t len,
			     const char *content_type, struct alts_err *err)
{
	char *k = NULL;
	int rc = full_key(&k, b->s->base_path, key, err);

	if (!rc)
		rc = batch_put(b, k, NULL, data, len, content_type ? content_type : artifact_content_type(key), err);
	alts_free(k);
	return rc;
}

int artifact_batch_put_summary(struct artifact_batch *b, const char *task_id, const char *json, size_t len,
			       struct alts_err *err)
{
	char *k = NULL;
	int rc;

	if (b->s->ops->put_summary)
		return artifact_store_put_summary(b->s, task_id, json, len, err);
	rc = summary_key(&k, b->s, task_id, err);
	if (!rc)
		rc = batch_put(b, k, NULL, json, len, "application/json", err);
	alts_free(k);
	return rc;
}

int artifact_batch_commit(struct artifact_batch *b, struct alts_err *err)
{
	int rc = b->priv ? b->s->ops->batch_commit(b->s, b->priv, err) : 0;

	alts_free(b);
	return rc;
}

void artifact_batch_free(struct artifact_batch *b)
{
	if (!b)
		return;
	if (b->priv)
		b->s->ops->batch_abort(b->s, b->priv);
	alts_free(b);
}
