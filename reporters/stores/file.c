#include "framework/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framework/alloc.h"
#include "framework/fs.h"
#include "framework/sbuf.h"
#include "reporters/stores/artifact_store_int.h"
#include "reporters/stores/store_util.h"

/*
 * The file backend: objects are files under file_store_directory, named
 * by their key. Writes go to a temporary file in the same directory and
 * are renamed into place, so a reader (the scheduler) never sees half a
 * file and a crash leaves at worst a stray ".tmp" file. A key is walked
 * one directory at a time from the store's root (openat, O_NOFOLLOW): a
 * symbolic link inside the store is never followed, so no key reaches
 * outside it. Every call works on its own descriptors, so one store may
 * be shared by threads.
 *
 * A batch (a task's files) writes its temporary files without fsync and
 * commits with one syncfs() (the data), the renames, and a second syncfs()
 * (the names): two barriers per task instead of an fsync per file and
 * none for the names. Measured on ext4 (bench/README.md): cheaper than an
 * fsync per file plus one per directory, as each fsync costs a device
 * cache flush even when the journal has nothing left to commit.
 */

/* The settings of the file backend, decoded by file_keys. */
struct file_conf {
	const char *directory;  /* file_store_directory; NULL: <work_dir>/artifacts */
};

static const struct conf_key file_keys[] = {
	{ "file_store_directory", CONF_STRING, offsetof(struct file_conf, directory), CONF_NONEMPTY, NULL, NULL },
	CONF_KEYS_END,
};

struct file_store {
	char *root;  /* absolute, no trailing '/' */
};

static int file_validate(const struct artifact_store *s, const void *conf, struct alts_err *err)
{
	const struct file_conf *fc = conf;

	if ((!fc->directory || !*fc->directory) && (!s->cfg.work_dir || !*s->cfg.work_dir))
		return alts_err_set(err, ALTS_EINVALID, "result backend 'file' needs file_store_directory");
	return 0;
}

static int file_open(struct artifact_store *s, struct alts_err *err)
{
	const struct file_conf *fc = s->conf;
	struct file_store *fs = s->priv;
	char *dir = fc->directory && *fc->directory ? alts_strdup(fc->directory)
						    : alts_asprintf("%s/artifacts", s->cfg.work_dir);
	char *abs = NULL;
	int rc = 0;

	if (!dir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	/* Created only when missing: a worker opens its store for every task. */
	abs = realpath(dir, NULL);
	if (!abs && errno == ENOENT && !(rc = fs_mkdir_p(dir, 0755, err)))
		abs = realpath(dir, NULL);
	if (!abs) {
		if (!rc)
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot resolve file_store_directory '%s'", dir);
		goto out;
	}
	fs->root = alts_strdup(abs);
	if (!fs->root)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
	free(abs);  /* realpath() allocates with malloc */
	alts_free(dir);
	return rc;
}

static void file_close(struct artifact_store *s)
{
	struct file_store *fs = s->priv;

	if (!fs)
		return;
	alts_free(fs->root);
	fs->root = NULL;
}

/*
 * Opens the store's root directory, for one call or one batch: by its path each
 * time, so a store open for long (the scheduler's) follows a directory that was
 * replaced or mounted over.
 */
static int file_open_root(int *out, const struct file_store *fs, struct alts_err *err)
{
	int fd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot open the artifact store '%s'", fs->root);
	*out = fd;
	return 0;
}

/*
 * Opens the directory of key (all but its last component) by walking it from
 * root (the root's descriptor, returned as is when key has no '/'), creating
 * what is missing when create is set. *name gets key's last component
 * (borrowed from key). A component that is a symbolic link is refused
 * (ALTS_EINVALID); a missing one without create is ALTS_ENOTFOUND.
 */
static int file_open_dir(int *out, const char **name, const struct file_store *fs, int root, const char *key,
			 bool create, struct alts_err *err)
{
	const char *p = key, *slash;
	int fd = root;
	char comp[NAME_MAX + 1];

	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		int next;

		if (n > NAME_MAX) {
			next = -1;
			errno = ENAMETOOLONG;
		} else {
			memcpy(comp, p, n);
			comp[n] = '\0';
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno == ENOENT && create && (mkdirat(fd, comp, 0755) == 0 || errno == EEXIST))
				next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int e = errno;
			struct stat st;
			/* A link is refused for good; a file in the way is the store's trouble (spooled). */
			bool link = e == ELOOP || (e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
						  S_ISLNK(st.st_mode));

			if (fd != root)
				close(fd);
			if (link)
				return alts_err_set(err, ALTS_EINVALID,
						    "artifact key '%s': '%.*s' in the store is a symbolic link (not followed)",
						    key, (int)(slash - key), key);
			if ((e == ENOENT || e == ENOTDIR) && !create)
				return alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
			return alts_err_errno(err, ALTS_EENV, e, "cannot open '%s/%.*s'", fs->root, (int)(slash - key),
					      key);
		}
		if (fd != root)
			close(fd);
		fd = next;
		p = slash + 1;
	}
	*out = fd;
	*name = p;
	return 0;
}

/* Closes what file_open_dir opened from root. */
static void file_close_dir(int root, int fd)
{
	if (fd >= 0 && fd != root)
		close(fd);
}

/* Writes key (from src_fd, or data/len) with an fsync of the file and of its directory. */
static int file_put(struct artifact_store *s, const char *key, int src_fd, const void *data, size_t len,
		    struct alts_err *err)
{
	struct file_store *fs = s->priv;
	const char *name;
	char *tmp = NULL;
	int root = -1, dir = -1;
	int rc = file_open_root(&root, fs, err);

	if (!rc)
		rc = file_open_dir(&dir, &name, fs, root, key, true, err);
	if (rc)
		goto out;
	rc = store_write_tmp(dir, name, data, len, src_fd, 0644, true, &tmp, err);
	if (rc) {
		alts_err_prefix(err, "artifact store '%s'", fs->root);
	} else if (renameat(dir, tmp, dir, name) < 0 || fsync(dir) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s/%s'", fs->root, key);
		unlinkat(dir, tmp, 0);
	}
	alts_free(tmp);
out:
	file_close_dir(root, dir);
	if (root >= 0)
		close(root);
	return rc;
}

static int file_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			  const char *content_type, struct alts_err *err)
{
	ALTS_UNUSED(content_type);  /* a file has no content type; readers guess from the name */
	return file_put(s, key, -1, data, len, err);
}

/* Opens src for reading; ALTS_ENOTFOUND when it is missing. */
static int file_open_src(int *out, const char *src, struct alts_err *err)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return alts_err_errno(err, errno == ENOENT ? ALTS_ENOTFOUND : ALTS_EENV, errno, "cannot open '%s'", src);
	*out = fd;
	return 0;
}

static int file_put_file(struct artifact_store *s, const char *key, const char *src, const char *content_type,
			 struct alts_err *err)
{
	int fd = -1;
	int rc = file_open_src(&fd, src, err);

	ALTS_UNUSED(content_type);
	if (rc)
		return rc;
	rc = file_put(s, key, fd, NULL, 0, err);
	close(fd);
	return rc;
}

/* ---- batches ---- */

/* A directory the batch writes in, opened once. */
struct file_batch_dir {
	char *key;  /* its key prefix ("<task>/logs"), "" for the root */
	int fd;
};

/* A put waiting for the commit: tmp is renamed to name in dirs[dir]. */
struct file_batch_put {
	size_t dir;
	char *tmp;
	char *name;
};

struct file_batch {
	int root;  /* the store's root, open for the batch */
	struct file_batch_dir *dirs;
	size_t ndirs, dirs_alloc;
	struct file_batch_put *puts;
	size_t nputs, puts_alloc;
};

static int file_batch_begin(struct artifact_store *s, void **out, struct alts_err *err)
{
	struct file_batch *b = alts_calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = file_open_root(&b->root, s->priv, err);
	if (rc) {
		alts_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* The index of key's directory in the batch, opened (and created) the first time. */
static int file_batch_dir(size_t *out, const char **name, struct file_store *fs, struct file_batch *b,
			  const char *key, struct alts_err *err)
{
	const char *slash = strrchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;
	struct file_batch_dir *d;
	int rc;

	*name = slash ? slash + 1 : key;
	for (size_t i = 0; i < b->ndirs; i++) {
		if (strlen(b->dirs[i].key) == n && !strncmp(b->dirs[i].key, key, n)) {
			*out = i;
			return 0;
		}
	}
	if (!alts_grow((void **)&b->dirs, b->ndirs, &b->dirs_alloc, sizeof(*b->dirs)))
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	d = &b->dirs[b->ndirs];
	d->key = alts_strndup(key, n);
	if (!d->key)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = file_open_dir(&d->fd, name, fs, b->root, key, true, err);
	if (rc) {
		alts_free(d->key);
		return rc;
	}
	*out = b->ndirs++;
	return 0;
}

static int file_batch_put(struct artifact_store *s, void *batch, const char *key, const char *path, const void *data,
			  size_t len, struct alts_err *err)
{
	struct file_store *fs = s->priv;
	struct file_batch *b = batch;
	struct file_batch_put *p;
	const char *name;
	size_t dir = 0;
	int src = -1;
	int rc;

	if (path && (rc = file_open_src(&src, path, err)))
		return rc;
	if (!alts_grow((void **)&b->puts, b->nputs, &b->puts_alloc, sizeof(*b->puts))) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	p = &b->puts[b->nputs];
	rc = file_batch_dir(&dir, &name, fs, b, key, err);
	if (rc)
		goto out;
	p->dir = dir;
	p->name = alts_strdup(name);
	if (!p->name) {
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
		goto out;
	}
	/* No fsync here: the commit makes them all durable at once. */
	rc = store_write_tmp(b->dirs[dir].fd, name, data, len, src, 0644, false, &p->tmp, err);
	if (rc) {
		alts_err_prefix(err, "artifact store '%s'", fs->root);
		alts_free(p->name);
		goto out;
	}
	b->nputs++;
out:
	if (src >= 0)
		close(src);
	return rc;
}

/* Frees the batch; the temporary files still there (not renamed) are removed. */
static void file_batch_abort(struct artifact_store *s, void *batch)
{
	struct file_batch *b = batch;

	ALTS_UNUSED(s);
	for (size_t i = 0; i < b->nputs; i++) {
		if (b->puts[i].tmp)
			unlinkat(b->dirs[b->puts[i].dir].fd, b->puts[i].tmp, 0);
		alts_free(b->puts[i].tmp);
		alts_free(b->puts[i].name);
	}
	for (size_t i = 0; i < b->ndirs; i++) {
		file_close_dir(b->root, b->dirs[i].fd);
		alts_free(b->dirs[i].key);
	}
	close(b->root);
	alts_free(b->puts);
	alts_free(b->dirs);
	alts_free(b);
}

static int file_batch_commit(struct artifact_store *s, void *batch, struct alts_err *err)
{
	struct file_store *fs = s->priv;
	struct file_batch *b = batch;
	int rc = 0;

	/* The data first: a name must never be durable before its content. */
	if (b->nputs && syncfs(b->root) < 0)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot make the artifacts in '%s' durable", fs->root);
	for (size_t i = 0; !rc && i < b->nputs; i++) {
		struct file_batch_put *p = &b->puts[i];
		const struct file_batch_dir *d = &b->dirs[p->dir];

		if (renameat(d->fd, p->tmp, d->fd, p->name) < 0) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s/%s%s%s'", fs->root, d->key,
					    *d->key ? "/" : "", p->name);
			break;
		}
		alts_free(p->tmp);
		p->tmp = NULL;
	}
	/* Then the names (and the directories the batch created). */
	if (!rc && b->nputs && syncfs(b->root) < 0)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot make the artifacts in '%s' durable", fs->root);
	file_batch_abort(s, b);
	return rc;
}

static int file_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	struct file_store *fs = s->priv;
	const char *name;
	struct stat st;
	int root = -1, dir = -1, fd = -1;
	int rc = file_open_root(&root, fs, err);

	if (!rc)
		rc = file_open_dir(&dir, &name, fs, root, key, false, err);
	if (rc == ALTS_EINVALID)  /* through a symbolic link or a file: not an object of the store */
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
	if (rc)
		goto out;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) {
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
		goto out;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s/%s'", fs->root, key);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
		goto out;
	}
	rc = sbuf_read_fd(out, fd, max);
	if (rc == -ENOMEM)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else if (rc)
		rc = alts_err_errno(err, ALTS_EENV, -rc, "cannot read '%s/%s'", fs->root, key);
out:
	if (fd >= 0)
		close(fd);
	file_close_dir(root, dir);
	if (root >= 0)
		close(root);
	return rc;
}

static int file_url(struct artifact_store *s, const char *key, char **out, struct alts_err *err)
{
	struct file_store *fs = s->priv;
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "file://");
	store_url_escape(&sb, fs->root, true);
	sbuf_addch(&sb, '/');
	store_url_escape(&sb, key, true);
	if (!sbuf_ok(&sb)) {
		sbuf_release(&sb);
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	}
	*out = sbuf_detach(&sb, NULL);
	return 0;
}

const struct artifact_store_ops artifact_store_file_ops = {
	.name = "file",
	.abi = ARTIFACT_STORE_ABI,
	.keys = file_keys,
	.conf_size = sizeof(struct file_conf),
	.priv_size = sizeof(struct file_store),
	.validate = file_validate,
	.open = file_open,
	.close = file_close,
	.put_file = file_put_file,
	.put_bytes = file_put_bytes,
	.get = file_get,
	.url = file_url,
	.batch_begin = file_batch_begin,
	.batch_put = file_batch_put,
	.batch_commit = file_batch_commit,
	.batch_abort = file_batch_abort,
};
