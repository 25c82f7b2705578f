#include "framework/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "framework/alloc.h"
#include "framework/fs.h"
#include "framework/log.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/spool.h"
#include "reporters/stores/store_util.h"

#define SPOOL_META_MAX (64u << 10)
/* A .data file without its .json this old was left by a crash mid-spool. */
#define SPOOL_ORPHAN_SECONDS 3600

static atomic_ulong spool_counter;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ids sort by creation time: the flush delivers oldest first. */
static char *spool_new_id(void)
{
	unsigned long n = atomic_fetch_add(&spool_counter, 1);

	return alts_asprintf("%013lld-%d-%06lu", now_ms(), (int)getpid(), n % 1000000);
}

/* summary: key is a task id whose summary this is (artifact_store_put_summary), not an artifact key. */
static int spool_write_meta(const char *dir, const char *id, const char *key, bool summary, const char *content_type,
			    long long size, long attempts, const char *last_error, long long spooled_at,
			    struct alts_err *err)
{
	json_t *o = json_pack("{s:s, s:b, s:s, s:I, s:i, s:s, s:I, s:I}", "key", key, "summary", summary,
			      "content_type", content_type, "size", (json_int_t)size, "attempts", (int)attempts,
			      "last_error", last_error ? last_error : "", "spooled_at", (json_int_t)spooled_at,
			      "updated_at", (json_int_t)now_ms());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	char *path = alts_asprintf("%s/%s.json", dir, id);
	int rc;

	if (!text || !path)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else
		rc = store_write_atomic(path, text, strlen(text), -1, 0600, err);
	free(text);  /* jansson allocates with malloc */
	json_decref(o);
	alts_free(path);
	return rc;
}

/* Copies the upload into the spool: data first, the .json last (it commits the entry). */
static int spool_store(const char *dir, const char *key, bool summary, const char *path, const void *data, size_t len,
		       const char *content_type, long attempts, const char *last_error, struct alts_err *err)
{
	char *id = NULL, *data_path = NULL;
	long long size = (long long)len;
	int fd = -1;
	int rc;

	rc = fs_mkdir_p(dir, 0700, err);
	if (rc)
		return rc;
	id = spool_new_id();
	data_path = id ? alts_asprintf("%s/%s.data", dir, id) : NULL;
	if (!data_path) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (path) {
		struct stat st;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot spool '%s'", path);
			goto out;
		}
		size = (long long)st.st_size;
	}
	rc = store_write_atomic(data_path, data, len, fd, 0600, err);
	if (rc)
		goto out;
	rc = spool_write_meta(dir, id, key, summary, content_type, size, attempts, last_error, now_ms(), err);
	if (rc)
		unlink(data_path);
out:
	if (fd >= 0)
		close(fd);
	alts_free(data_path);
	alts_free(id);
	return rc;
}

/* Whether a failed upload should go to the spool rather than back to the caller. */
static bool spool_worth_it(int rc)
{
	return rc != ALTS_EINVALID && rc != ALTS_ENOTFOUND && rc != ALTS_ENOMEM && rc != ALTS_EINTERNAL;
}

/*
 * After an upload of key failed with rc (uerr): spools it, or returns rc when it cannot
 * be (no spool configured, or a failure a later attempt cannot fix). Other arguments as
 * spool_put.
 */
static int spool_after_failure(struct artifact_store *s, const char *dir, const char *key, bool summary,
			       const char *path, const void *data, size_t len, const char *content_type, int rc,
			       const struct alts_err *uerr, bool *spooled, struct alts_err *err)
{
	const char *ct = content_type ? content_type : artifact_content_type(key);

	if (!dir || !*dir || !spool_worth_it(rc) || (path && access(path, R_OK) < 0)) {
		if (err)
			*err = *uerr;
		return rc;
	}
	rc = spool_store(dir, key, summary, path, data, len, ct, s ? s->cfg.retries : 0, uerr->msg, err);
	if (rc) {
		alts_err_prefix(err, "cannot spool '%s' after upload failure (%s)", key, uerr->msg);
		return rc;
	}
	alts_log(ALTS_LOG_WARN, "spool", "spooled '%s' for a later upload: %s", key, uerr->msg);
	if (err)
		*err = *uerr;
	*spooled = true;
	return 0;
}

/* summary: key is a task id and data its summary (artifact_store_put_summary). */
static int spool_put(struct artifact_store *s, const char *dir, const char *key, bool summary, const char *path,
		     const void *data, size_t len, const char *content_type, bool *spooled, struct alts_err *err)
{
	struct alts_err uerr = ALTS_ERR_INIT;
	int rc;

	/* No store (it could not be opened): straight to the spool; a later flush opens one. */
	if (!s && (rc = artifact_store_check_key(key, err)))
		return rc;
	if (!s)
		rc = alts_err_set(&uerr, ALTS_EENV, "the artifact store is not available");
	else if (summary)
		rc = artifact_store_put_summary(s, key, data, len, &uerr);
	else
		rc = path ? artifact_store_put_file(s, key, path, content_type, &uerr)
			  : artifact_store_put_bytes(s, key, data, len, content_type, &uerr);
	if (!rc) {
		*spooled = false;
		return 0;
	}
	return spool_after_failure(s, dir, key, summary, path, data, len, content_type, rc, &uerr, spooled, err);
}

int artifact_spool_put_file(struct artifact_store *s, const char *spool_dir, const char *key, const char *path,
			    const char *content_type, bool *spooled, struct alts_err *err)
{
	return spool_put(s, spool_dir, key, false, path, NULL, 0, content_type, spooled, err);
}

int artifact_spool_put_bytes(struct artifact_store *s, const char *spool_dir, const char *key, const void *data,
			     size_t len, const char *content_type, bool *spooled, struct alts_err *err)
{
	return spool_put(s, spool_dir, key, false, NULL, data ? data : "", len, content_type, spooled, err);
}

int artifact_spool_put_summary(struct artifact_store *s, const char *spool_dir, const char *task_id, const char *json,
			       size_t len, bool *spooled, struct alts_err *err)
{
	return spool_put(s, spool_dir, task_id, true, NULL, json, len, "application/json", spooled, err);
}

/* ---- batches ---- */

/* An upload in the store's batch: what the spool needs should the commit fail. */
struct spool_batch_item {
	const char *key;
	bool summary;
	const char *path;
	const void *data;
	size_t len;
	const char *content_type;
};

struct artifact_spool_batch {
	struct artifact_store *s;
	const char *dir;
	struct artifact_batch *batch;  /* NULL: no store, or no batch (each put goes through spool_put) */
	struct spool_batch_item *items;
	size_t n, alloc;
};

int artifact_spool_batch_begin(struct artifact_spool_batch **out, struct artifact_store *s, const char *spool_dir,
			       struct alts_err *err)
{
	struct artifact_spool_batch *b = alts_calloc(1, sizeof(*b));
	struct alts_err berr = ALTS_ERR_INIT;

	if (!b)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	b->s = s;
	b->dir = spool_dir;
	/* Without a batch each put is uploaded (or spooled) on its own: slower, nothing lost. */
	if (s && artifact_batch_begin(&b->batch, s, &berr))
		alts_log(ALTS_LOG_WARN, "spool", "uploading one file at a time: %s", berr.msg);
	*out = b;
	return 0;
}

static int spool_batch_put(struct artifact_spool_batch *b, const char *key, bool summary, const char *path,
			   const void *data, size_t len, const char *content_type, bool *spooled,
			   struct alts_err *err)
{
	struct alts_err uerr = ALTS_ERR_INIT;
	int rc;

	if (!b->batch)
		return spool_put(b->s, b->dir, key, summary, path, data, len, content_type, spooled, err);
	if (!alts_grow((void **)&b->items, b->n, &b->alloc, sizeof(*b->items)))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (summary)
		rc = artifact_batch_put_summary(b->batch, key, data, len, &uerr);
	else
		rc = path ? artifact_batch_put_file(b->batch, key, path, content_type, &uerr)
			  : artifact_batch_put_bytes(b->batch, key, data, len, content_type, &uerr);
	if (rc)
		return spool_after_failure(b->s, b->dir, key, summary, path, data, len, content_type, rc, &uerr,
					   spooled, err);
	b->items[b->n++] = (struct spool_batch_item){ key, summary, path, data, len, content_type };
	*spooled = false;
	return 0;
}

int artifact_spool_batch_put_file(struct artifact_spool_batch *b, const char *key, const char *path,
				  const char *content_type, bool *spooled, struct alts_err *err)
{
	return spool_batch_put(b, key, false, path, NULL, 0, content_type, spooled, err);
}

int artifact_spool_batch_put_bytes(struct artifact_spool_batch *b, const char *key, const void *data, size_t len,
				   const char *content_type, bool *spooled, struct alts_err *err)
{
	return spool_batch_put(b, key, false, NULL, data ? data : "", len, content_type, spooled, err);
}

int artifact_spool_batch_put_summary(struct artifact_spool_batch *b, const char *task_id, const char *json,
				     size_t len, bool *spooled, struct alts_err *err)
{
	return spool_batch_put(b, task_id, true, NULL, json, len, "application/json", spooled, err);
}

int artifact_spool_batch_commit(struct artifact_spool_batch *b, bool *spooled, struct alts_err *err)
{
	struct alts_err cerr = ALTS_ERR_INIT;
	int rc = 0;

	*spooled = false;
	if (b->batch) {
		rc = artifact_batch_commit(b->batch, &cerr);
		b->batch = NULL;
	}
	/* The commit failed: every put of the batch goes to the spool (its own copy, made durable there). */
	for (size_t i = 0; rc && i < b->n; i++) {
		const struct spool_batch_item *it = &b->items[i];
		bool sp = false;
		int e = spool_after_failure(b->s, b->dir, it->key, it->summary, it->path, it->data, it->len,
					    it->content_type, ALTS_EENV, &cerr, &sp, err);

		if (e) {
			artifact_spool_batch_free(b);
			return e;
		}
	}
	if (rc) {
		if (err)
			*err = cerr;
		*spooled = b->n > 0;
	}
	artifact_spool_batch_free(b);
	return rc && !*spooled ? rc : 0;
}

void artifact_spool_batch_free(struct artifact_spool_batch *b)
{
	if (!b)
		return;
	artifact_batch_free(b->batch);
	alts_free(b->items);
	alts_free(b);
}

/* ---- reading the spool ---- */

struct spool_ids {
	char **v;
	size_t n;
	size_t alloc;
};

static void spool_ids_release(struct spool_ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		alts_free(ids->v[i]);
	alts_free(ids->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*stem = n - m;
	return true;
}

/* Removes a .data file whose .json never appeared, once it is old enough not to be one being written. */
static void spool_drop_orphan(const char *dir, const char *name, size_t stem)
{
	char *json = alts_asprintf("%s/%.*s.json", dir, (int)stem, name);
	char *data = alts_asprintf("%s/%s", dir, name);
	struct stat st;

	if (json && data && access(json, F_OK) < 0 && errno == ENOENT && stat(data, &st) == 0 &&
	    time(NULL) - st.st_mtime > SPOOL_ORPHAN_SECONDS)
		unlink(data);
	alts_free(json);
	alts_free(data);
}

/* The ids of committed entries (those with a .json), sorted oldest first. */
static int spool_scan(struct spool_ids *out, const char *dir, struct alts_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : alts_err_errno(err, ALTS_EENV, errno, "cannot read spool '%s'", dir);
	while ((de = readdir(d))) {
		size_t stem;

		if (de->d_name[0] == '.')
			continue;
		if (has_suffix(de->d_name, ".data", &stem)) {
			spool_drop_orphan(dir, de->d_name, stem);
			continue;
		}
		if (!has_suffix(de->d_name, ".json", &stem))
			continue;
		if (out->n == out->alloc) {
			size_t na = out->alloc ? out->alloc * 2 : 16;
			char **nv = alts_reallocarray(out->v, na, sizeof(*nv));

			if (!nv) {
				rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
				break;
			}
			out->v = nv;
			out->alloc = na;
		}
		if (!(out->v[out->n] = alts_strndup(de->d_name, stem))) {
			rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
			break;
		}
		out->n++;
	}
	closedir(d);
	if (!rc && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return rc;
}

struct spool_meta {
	json_t *root;
	const char *key;
	const char *content_type;
	bool summary;
	long attempts;
	long long spooled_at;
};

static int spool_read_meta(struct spool_meta *m, const char *dir, const char *id, struct alts_err *err)
{
	char *path = alts_asprintf("%s/%s.json", dir, id);
	json_error_t jerr;
	json_int_t attempts = 0, spooled_at = 0;
	int summary = 0, rc = 0;

	memset(m, 0, sizeof(*m));
	if (!path)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	m->root = json_load_file(path, 0, &jerr);
	if (!m->root || json_unpack(m->root, "{s:s, s:s, s?I, s?I, s?b}", "key", &m->key, "content_type",
				    &m->content_type, "attempts", &attempts, "spooled_at", &spooled_at, "summary",
				    &summary)) {
		rc = alts_err_set(err, ALTS_EINVALID, "spool entry '%s' is unreadable: %s", path,
				  m->root ? "missing key or content_type" : jerr.text);
		json_decref(m->root);
		m->root = NULL;
	}
	m->attempts = (long)attempts;
	m->summary = summary;
	m->spooled_at = (long long)spooled_at;
	alts_free(path);
	return rc;
}

/* Removes an entry: the .json first, so a crash leaves an orphan .data (cleaned later), never a dangling entry. */
static void spool_remove(const char *dir, const char *id)
{
	char *json = alts_asprintf("%s/%s.json", dir, id);
	char *data = alts_asprintf("%s/%s.data", dir, id);

	if (json)
		unlink(json);
	if (data)
		unlink(data);
	alts_free(json);
	alts_free(data);
}

/* Moves a broken entry aside (<id>.json.bad) so it is kept for a human but no longer retried. */
static void spool_quarantine(const char *dir, const char *id)
{
	char *json = alts_asprintf("%s/%s.json", dir, id);
	char *bad = alts_asprintf("%s/%s.json.bad", dir, id);

	if (json && bad)
		rename(json, bad);
	alts_free(json);
	alts_free(bad);
}

/* Delivers one entry; 0 and removed on success, else the entry records the failure. */
static int spool_deliver(struct artifact_store *s, const char *dir, const char *id, struct alts_err *err)
{
	struct spool_meta m;
	char *data = NULL;
	struct stat st;
	int rc = spool_read_meta(&m, dir, id, err);

	if (rc == ALTS_EINVALID) {
		alts_log(ALTS_LOG_ERROR, "spool", "%s; moved aside", err ? err->msg : "bad spool entry");
		spool_quarantine(dir, id);
		return 0;  /* not a delivery failure: go on with the others */
	}
	if (rc)
		return rc;
	data = alts_asprintf("%s/%s.data", dir, id);
	if (!data) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(data, &st) < 0) {
		alts_log(ALTS_LOG_ERROR, "spool", "spool entry '%s' for '%s' has no data; moved aside", id, m.key);
		spool_quarantine(dir, id);
		goto out;
	}
	if (m.summary) {
		struct sbuf body = SBUF_INIT;
		int e = sbuf_read_file(&body, data, 0);

		rc = e ? alts_err_errno(err, ALTS_EENV, -e, "cannot read '%s'", data)
		       : artifact_store_put_summary(s, m.key, body.len ? body.buf : "", body.len, err);
		sbuf_release(&body);
	} else {
		rc = artifact_store_put_file(s, m.key, data, m.content_type, err);
	}
	if (!rc) {
		alts_log(ALTS_LOG_INFO, "spool", "delivered spooled '%s'", m.key);
		spool_remove(dir, id);
	} else {
		struct alts_err merr = ALTS_ERR_INIT;

		if (spool_write_meta(dir, id, m.key, m.summary, m.content_type, (long long)st.st_size, m.attempts + s->cfg.retries,
				     err ? err->msg : "", m.spooled_at, &merr))
			alts_log(ALTS_LOG_WARN, "spool", "%s", merr.msg);
	}
out:
	alts_free(data);
	json_decref(m.root);
	return rc;
}

/* An exclusive, non-blocking lock on <dir>/.lock; *out stays -1 when another flush holds it. */
static int spool_lock(int *out, const char *dir, struct alts_err *err)
{
	char *path = alts_asprintf("%s/.lock", dir);
	int fd;

	*out = -1;
	if (!path)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	alts_free(path);
	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot lock spool '%s'", dir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0;
	}
	*out = fd;
	return 0;
}

int artifact_spool_flush(struct artifact_store *s, const char *spool_dir, size_t *delivered, size_t *remaining,
			 struct alts_err *err)
{
	struct spool_ids ids = { 0 };
	size_t done = 0, i = 0;
	int lock = -1;
	int rc;

	rc = spool_dir && *spool_dir ? spool_scan(&ids, spool_dir, err) : 0;
	if (rc || !ids.n)
		goto out;
	rc = spool_lock(&lock, spool_dir, err);
	if (rc || lock < 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		char *json = alts_asprintf("%s/%s.json", spool_dir, ids.v[i]);
		bool gone = json && access(json, F_OK) < 0 && errno == ENOENT;

		alts_free(json);
		if (gone) {  /* delivered by a flush that ran between our scan and our lock */
			done++;
			continue;
		}
		rc = spool_deliver(s, spool_dir, ids.v[i], err);
		if (rc)
			break;
		done++;
	}
out:
	if (lock >= 0)
		close(lock);
	if (delivered)
		*delivered = done;
	if (remaining)
		*remaining = ids.n - done;
	spool_ids_release(&ids);
	return rc;
}

int artifact_spool_list(const char *spool_dir, int (*cb)(const char *key, void *payload), void *payload,
			struct alts_err *err)
{
	struct spool_ids ids = { 0 };
	int rc = spool_dir && *spool_dir ? spool_scan(&ids, spool_dir, err) : 0;

	for (size_t i = 0; !rc && i < ids.n; i++) {
		struct spool_meta m;
		struct alts_err merr = ALTS_ERR_INIT;

		if (spool_read_meta(&m, spool_dir, ids.v[i], &merr))
			continue;  /* vanished (delivered) or broken: not pending */
		rc = cb(m.key, payload);
		json_decref(m.root);
	}
	spool_ids_release(&ids);
	return rc;
}
