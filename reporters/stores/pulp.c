#include "framework/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "framework/alloc.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/store_util.h"

/*
 * Pulp: every artifact is uploaded to a Pulp server with its published
 * REST API (pulpcore's POST /pulp/api/v3/artifacts/, multipart `file` plus
 * its `sha256`, HTTP basic auth), and its URL is the artifact's pulp_href
 * ("/pulp/api/v3/artifacts/<uuid>/"), which is what the AlmaLinux Build
 * System hands to Pulp's content/file/files/ as `artifact`. Pulp keeps one
 * artifact per content: a second upload of the same bytes is answered 400
 * "Artifact with sha256 checksum of '...' already exists.", and the
 * existing artifact is then found by GET /pulp/api/v3/artifacts/?sha256=.
 *
 * Pulp's API serves no artifact bytes back (only distributions do), so
 * the store also keeps a local copy of every object in a file store
 * (file_store_directory, default <working_directory>/artifacts): the
 * scheduler reads reports and logs from it, and url() finds an artifact's
 * href by the SHA-256 of that copy when this process did not upload it.
 * Summaries (put_summary) stay local: the Build System never asks Pulp for them.
 *
 * Thread safety: the href cache is behind a mutex; every request has its
 * own curl handle (store_http.c).
 */

#define PULP_BODY_MAX (1u << 20)
#define PULP_ARTIFACTS "/pulp/api/v3/artifacts/"
#define PULP_CACHE 128

/* The settings of the pulp backend (ALTS's logs_uploader_config names), decoded by pulp_keys. */
struct pulp_conf {
	const char *host;           /* pulp_host: http(s)://host[:port], Pulp's API under /pulp/api/v3/ */
	const char *user;           /* pulp_user */
	const char *password;       /* pulp_password: secret */
	const char *password_file;  /* pulp_password_file */
};

static int pulp_validate_host(struct conf_ctx *ctx, yaml_node_t *node, const char *path, void *field)
{
	const char *v = *(const char **)field;

	if (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
		return 0;
	return conf_fail(ctx, node, path, "expected an http:// or https:// URL, got '%s'", v);
}

static const struct conf_key pulp_keys[] = {
	{ "pulp_host", CONF_STRING, offsetof(struct pulp_conf, host), CONF_NONEMPTY, NULL, pulp_validate_host },
	{ "pulp_user", CONF_STRING, offsetof(struct pulp_conf, user), 0, NULL, NULL },
	{ "pulp_password", CONF_STRING, offsetof(struct pulp_conf, password), 0, NULL, NULL },
	{ "pulp_password_file", CONF_STRING, offsetof(struct pulp_conf, password_file), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

static const struct artifact_store_secret pulp_secrets[] = {
	{ "ALTS_PULP_PASSWORD", "pulp_password_file", offsetof(struct pulp_conf, password_file),
	  offsetof(struct pulp_conf, password) },
	ARTIFACT_STORE_SECRETS_END,
};

struct pulp_cached {
	char *key;
	char *href;
};

struct pulp_store {
	char *base;                  /* pulp_host without a trailing '/' */
	char *auth;                  /* "Basic <base64>", or NULL */
	struct artifact_store *local;  /* the local copy (a file store) */
	long retries;
	double timeout;
	pthread_mutex_t lock;        /* guards cache */
	bool lock_ready;
	struct pulp_cached cache[PULP_CACHE];  /* key -> href of what this store uploaded; a ring */
	size_t next;
};

/* ---- requests ---- */

struct pulp_call {
	struct pulp_store *p;
	const char *method;
	const char *url;
	const struct store_form_part *form;
	size_t nform;
};

static int pulp_send_once(void *payload, struct store_response *resp)
{
	const struct pulp_call *c = payload;
	struct store_header h[2];
	size_t n = 0;
	struct store_request req = { .method = c->method, .url = c->url, .headers = h, .form = c->form,
				     .nform = c->nform, .timeout = c->p->timeout };

	h[n++] = (struct store_header){ "accept", "application/json" };
	if (c->p->auth)
		h[n++] = (struct store_header){ "authorization", c->p->auth };
	req.nheaders = n;
	return store_http_send(&req, resp);
}

/* Pulp's error text from a JSON body: "detail", else every field's messages ("non_field_errors: ..."). */
static void pulp_error_text(struct sbuf *out, const struct store_response *resp)
{
	json_t *root = resp->body.buf ? json_loadb(resp->body.buf, resp->body.len, 0, NULL) : NULL;
	const char *name;
	json_t *v;

	if (json_is_object(root) && json_is_string(json_object_get(root, "detail"))) {
		sbuf_adds(out, json_string_value(json_object_get(root, "detail")));
	} else if (json_is_object(root)) {
		json_object_foreach(root, name, v) {
			size_t i;
			json_t *m;

			sbuf_addf(out, "%s%s:", out->len ? "; " : "", name);
			if (json_is_string(v))
				sbuf_addf(out, " %s", json_string_value(v));
			json_array_foreach(v, i, m) {
				if (json_is_string(m))
					sbuf_addf(out, " %s", json_string_value(m));
			}
		}
	} else if (resp->body.buf && resp->body.len) {
		/* Not JSON (a proxy's page): its first line, shortened. */
		size_t n = strcspn(resp->body.buf, "\r\n");

		sbuf_add(out, resp->body.buf, n > 200 ? 200 : n);
	}
	json_decref(root);
}

/* Records a failed call in err; ALTS_ETIMEOUT / ALTS_ENOTFOUND (404) / ALTS_EENV. */
static int pulp_fail(struct alts_err *err, const char *what, const struct store_response *resp)
{
	struct sbuf text = SBUF_INIT;
	int rc;

	if (resp->transport_error)
		return alts_err_set(err, resp->timed_out ? ALTS_ETIMEOUT : ALTS_EENV, "pulp %s failed: %s", what,
				    resp->transport_msg);
	pulp_error_text(&text, resp);
	rc = alts_err_set(err, resp->status == 404 ? ALTS_ENOTFOUND : ALTS_EENV, "pulp %s failed: HTTP %ld%s%s", what,
			  resp->status, sbuf_ok(&text) && text.len ? ": " : "", sbuf_ok(&text) ? text.buf : "");
	sbuf_release(&text);
	return rc;
}

/* Runs a call with retries (5xx, 429, transport errors); 0 when an answer arrived (any status). */
static int pulp_do(struct pulp_call *c, struct store_response *resp, const char *what, struct alts_err *err)
{
	int rc = store_http_with_retries(c->p->retries, pulp_send_once, c, resp);

	if (rc == ALTS_ENOMEM)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (rc)
		return pulp_fail(err, what, resp);
	return 0;
}

/* The pulp_href of an artifact JSON object (a new string), or NULL. */
static char *href_of(json_t *obj)
{
	json_t *h = json_object_get(obj, "pulp_href");

	return json_is_string(h) && json_string_value(h)[0] == '/' ? alts_strdup(json_string_value(h)) : NULL;
}

/* GET artifacts/?sha256=<hex>: *href is the artifact's pulp_href (a new string), or NULL when none. */
static int pulp_find(struct pulp_store *p, const char *sha256, char **href, struct alts_err *err)
{
	char *url = alts_asprintf("%s%s?sha256=%s", p->base, PULP_ARTIFACTS, sha256);
	struct pulp_call c = { .p = p, .method = "GET", .url = url };
	struct store_response resp;
	json_t *root = NULL;
	int rc;

	*href = NULL;
	if (!url)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	store_response_init(&resp, PULP_BODY_MAX);
	rc = pulp_do(&c, &resp, "GET " PULP_ARTIFACTS "?sha256=", err);
	if (!rc && resp.status != 200)
		rc = pulp_fail(err, "GET " PULP_ARTIFACTS "?sha256=", &resp);
	if (!rc) {
		root = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
		if (!json_is_array(json_object_get(root, "results")))
			rc = alts_err_set(err, ALTS_EENV, "pulp GET " PULP_ARTIFACTS "?sha256=: answer has no 'results' list");
		else if (json_array_size(json_object_get(root, "results")))
			*href = href_of(json_array_get(json_object_get(root, "results"), 0));
	}
	json_decref(root);
	store_response_release(&resp);
	alts_free(url);
	return rc;
}

/* True when a 400 answer says the artifact exists (pulpcore's UniqueValidator message). */
static bool already_exists(const struct store_response *resp)
{
	return resp->status == 400 && resp->body.buf && strstr(resp->body.buf, "already exists");
}

/*
 * POST artifacts/ with the body as multipart `file` and its sha256 (Pulp
 * checks it); *href is the artifact's pulp_href, a new string, also when
 * Pulp already had these bytes.
 */
static int pulp_upload(struct pulp_store *p, const char *key, const struct store_form_part *file,
		       const char *sha256, char **href, struct alts_err *err)
{
	char *url = alts_asprintf("%s%s", p->base, PULP_ARTIFACTS);
	struct store_form_part form[2] = { *file, { .name = "sha256", .value = sha256 } };
	struct pulp_call c = { .p = p, .method = "POST", .url = url, .form = form, .nform = 2 };
	struct store_response resp;
	char what[400];
	json_t *root = NULL;
	int rc;

	*href = NULL;
	if (!url)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "POST %s of '%s'", PULP_ARTIFACTS, key);
	store_response_init(&resp, PULP_BODY_MAX);
	rc = pulp_do(&c, &resp, what, err);
	if (!rc && resp.status == 201) {
		root = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
		*href = href_of(root);
		if (!*href)
			rc = alts_err_set(err, ALTS_EENV, "pulp %s: answer has no pulp_href", what);
	} else if (!rc && already_exists(&resp)) {
		rc = pulp_find(p, sha256, href, err);
		if (!rc && !*href)
			rc = alts_err_set(err, ALTS_EENV, "pulp %s: Pulp says the artifact exists but lists none with sha256 %s",
					  what, sha256);
	} else if (!rc) {
		rc = pulp_fail(err, what, &resp);
	}
	json_decref(root);
	store_response_release(&resp);
	alts_free(url);
	return rc;
}

/* ---- the href cache ---- */

static void cache_put(struct pulp_store *p, const char *key, const char *href)
{
	char *k = alts_strdup(key), *h = alts_strdup(href);

	if (!k || !h) {
		alts_free(k);
		alts_free(h);
		return;  /* only a cache: url() asks Pulp */
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < PULP_CACHE; i++) {
		if (p->cache[i].key && !strcmp(p->cache[i].key, key)) {
			alts_free(p->cache[i].href);
			p->cache[i].href = h;
			alts_free(k);
			pthread_mutex_unlock(&p->lock);
			return;
		}
	}
	alts_free(p->cache[p->next].key);
	alts_free(p->cache[p->next].href);
	p->cache[p->next] = (struct pulp_cached){ k, h };
	p->next = (p->next + 1) % PULP_CACHE;
	pthread_mutex_unlock(&p->lock);
}

static char *cache_get(struct pulp_store *p, const char *key)
{
	char *href = NULL;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < PULP_CACHE && !href; i++) {
		if (p->cache[i].key && !strcmp(p->cache[i].key, key))
			href = alts_strdup(p->cache[i].href);
	}
	pthread_mutex_unlock(&p->lock);
	return href;
}

/* ---- the ops ---- */

static const char *base_name(const char *key)
{
	const char *slash = strrchr(key, '/');

	return slash ? slash + 1 : key;
}

static int pulp_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			  const char *content_type, struct alts_err *err)
{
	struct pulp_store *p = s->priv;
	struct store_form_part file = { .name = "file", .data = len ? data : "", .data_len = len,
					.filename = base_name(key), .content_type = content_type };
	char sha[65], *href = NULL;
	int rc = artifact_store_put_bytes(p->local, key, data, len, content_type, err);

	if (rc)
		return rc;
	store_sha256_hex(sha, len ? data : "", len);
	rc = pulp_upload(p, key, &file, sha, &href, err);
	if (!rc)
		cache_put(p, key, href);
	alts_free(href);
	return rc;
}

static int pulp_put_file(struct artifact_store *s, const char *key, const char *path, const char *content_type,
			 struct alts_err *err)
{
	struct pulp_store *p = s->priv;
	struct store_form_part file = { .name = "file", .file_path = path, .filename = base_name(key),
					.content_type = content_type };
	struct store_digests d;
	struct stat st;
	char *href = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return alts_err_errno(err, errno == ENOENT ? ALTS_ENOTFOUND : ALTS_EENV, errno, "cannot open '%s'", path);
	if (fstat(fd, &st)) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot stat '%s'", path);
		close(fd);
		return rc;
	}
	rc = store_digests_of_file(&d, &(struct store_file_range){ .fd = fd, .off = 0 }, (size_t)st.st_size);
	close(fd);
	if (rc)
		return alts_err_errno(err, ALTS_EENV, -rc, "cannot read '%s'", path);
	rc = artifact_store_put_file(p->local, key, path, content_type, err);
	if (rc)
		return rc;
	/* Pulp checks the sha256 against what it received: a file changed since is refused, not stored wrong. */
	rc = pulp_upload(p, key, &file, d.sha256_hex, &href, err);
	if (!rc)
		cache_put(p, key, href);
	alts_free(href);
	return rc;
}

static int pulp_put_summary(struct artifact_store *s, const char *key, const void *data, size_t len,
			    struct alts_err *err)
{
	struct pulp_store *p = s->priv;

	return artifact_store_put_bytes(p->local, key, data, len, "application/json", err);
}

static int pulp_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	struct pulp_store *p = s->priv;

	return artifact_store_get(p->local, key, out, max, err);
}

/* The artifact's pulp_href: from the cache, else by the SHA-256 of the local copy. */
static int pulp_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	struct pulp_store *p = s->priv;
	struct sbuf copy = SBUF_INIT;
	char sha[65], *href = cache_get(p, key);
	int rc;

	if (href) {
		*out = href;
		return 0;
	}
	rc = artifact_store_get(p->local, key, &copy, 0, err);
	if (!rc) {
		store_sha256_hex(sha, copy.len ? copy.buf : "", copy.len);
		rc = pulp_find(p, sha, &href, err);
	}
	if (!rc && !href)
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' is not in Pulp (yet)", key);
	sbuf_release(&copy);
	if (!rc)
		*out = href;
	return rc;
}

static int pulp_validate(const struct artifact_store *s, const void *conf, struct alts_err *err)
{
	const struct pulp_conf *c = conf;

	ALTS_UNUSED(s);
	if (!c->host || !*c->host)
		return alts_err_set(err, ALTS_EINVALID, "result backend 'pulp' needs pulp_host");
	if (c->user && *c->user && (!c->password || !*c->password))
		return alts_err_set(err, ALTS_EINVALID,
				    "result backend 'pulp': pulp_user needs pulp_password (or ALTS_PULP_PASSWORD, "
				    "pulp_password_file)");
	return 0;
}

static int pulp_open(struct artifact_store *s, struct alts_err *err)
{
	const struct pulp_conf *c = s->conf;
	struct pulp_store *p = s->priv;
	struct artifact_store_config local = s->cfg;
	size_t n = strlen(c->host);
	int rc;

	p->retries = s->cfg.retries > 0 ? s->cfg.retries : 1;
	p->timeout = s->cfg.timeout;
	while (n && c->host[n - 1] == '/')
		n--;
	p->base = alts_strndup(c->host, n);
	if (!p->base)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (c->user && *c->user) {
		struct sbuf cred = SBUF_INIT, auth = SBUF_INIT;

		sbuf_addf(&cred, "%s:%s", c->user, c->password);
		sbuf_adds(&auth, "Basic ");
		if (sbuf_ok(&cred))
			store_base64(&auth, cred.buf, cred.len);
		memset(cred.buf ? cred.buf : (char *)"", 0, cred.buf ? cred.len : 0);
		sbuf_release(&cred);
		if (!sbuf_ok(&auth)) {
			sbuf_release(&auth);
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		}
		p->auth = sbuf_detach(&auth, NULL);
	}
	if (pthread_mutex_init(&p->lock, NULL))
		return alts_err_set(err, ALTS_ENOMEM, "cannot create a mutex");
	p->lock_ready = true;
	/* The local copy: keys arrive with the base path applied, so the file store adds none. */
	local.backend = "file";
	local.base_path = "";
	rc = artifact_store_open(&p->local, &local, err);
	return rc;
}

static void pulp_close(struct artifact_store *s)
{
	struct pulp_store *p = s->priv;

	if (!p)
		return;
	artifact_store_free(p->local);
	if (p->auth)
		memset(p->auth, 0, strlen(p->auth));
	alts_free(p->auth);
	alts_free(p->base);
	for (size_t i = 0; i < PULP_CACHE; i++) {
		alts_free(p->cache[i].key);
		alts_free(p->cache[i].href);
	}
	if (p->lock_ready)
		pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

const struct artifact_store_ops artifact_store_pulp_ops = {
	.name = "pulp",
	.abi = ARTIFACT_STORE_ABI,
	.keys = pulp_keys,
	.conf_size = sizeof(struct pulp_conf),
	.secrets = pulp_secrets,
	.priv_size = sizeof(struct pulp_store),
	.validate = pulp_validate,
	.open = pulp_open,
	.close = pulp_close,
	.put_file = pulp_put_file,
	.put_bytes = pulp_put_bytes,
	.get = pulp_get,
	.url = pulp_url,
	.put_summary = pulp_put_summary,
	.selected_by = "pulp_host",
};
