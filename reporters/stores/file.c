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
 * file and a crash leaves at worst a stray ".tmp" file. Every call works
 * on its own descriptors, so one store may be shared by threads.
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
	int rc;

	if (!dir)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	rc = fs_mkdir_p(dir, 0755, err);
	if (rc)
		goto out;
	abs = realpath(dir, NULL);
	if (!abs) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot resolve file_store_directory '%s'", dir);
		goto out;
	}
	fs->root = alts_strdup(abs);
	free(abs);  /* realpath() allocates with malloc */
	if (!fs->root)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
out:
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

/* root/key in a new string, after making sure the key's directory exists. */
static int file_path_for(char **out, struct file_store *fs, const char *key, bool make_dirs, struct alts_err *err)
{
	char *path = alts_asprintf("%s/%s", fs->root, key);
	char *slash;
	int rc = 0;

	if (!path)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	if (make_dirs && (slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		rc = fs_mkdir_p(path, 0755, err);
		*slash = '/';
	}
	if (rc) {
		alts_free(path);
		return rc;
	}
	*out = path;
	return 0;
}

static int file_put_bytes(struct artifact_store *s, const char *key, const void *data, size_t len,
			  const char *content_type, struct alts_err *err)
{
	char *path = NULL;
	int rc;

	ALTS_UNUSED(content_type);  /* a file has no content type; readers guess from the name */
	rc = file_path_for(&path, s->priv, key, true, err);
	if (!rc)
		rc = store_write_atomic(path, data, len, -1, 0644, err);
	alts_free(path);
	return rc;
}

static int file_put_file(struct artifact_store *s, const char *key, const char *src, const char *content_type,
			 struct alts_err *err)
{
	char *path = NULL;
	int fd = -1;
	int rc;

	ALTS_UNUSED(content_type);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return alts_err_errno(err, errno == ENOENT ? ALTS_ENOTFOUND : ALTS_EENV, errno, "cannot open '%s'", src);
	rc = file_path_for(&path, s->priv, key, true, err);
	if (!rc)
		rc = store_write_atomic(path, NULL, 0, fd, 0644, err);
	close(fd);
	alts_free(path);
	return rc;
}

static int file_get(struct artifact_store *s, const char *key, struct sbuf *out, size_t max, struct alts_err *err)
{
	char *path = NULL;
	struct stat st;
	int rc = file_path_for(&path, s->priv, key, false, err);

	if (rc)
		return rc;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
		goto out;
	}
	rc = sbuf_read_file(out, path, max);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = alts_err_set(err, ALTS_ENOTFOUND, "artifact '%s' not found", key);
	else if (rc == -ENOMEM)
		rc = alts_err_set(err, ALTS_ENOMEM, "out of memory");
	else if (rc)
		rc = alts_err_errno(err, ALTS_EENV, -rc, "cannot read '%s'", path);
out:
	alts_free(path);
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
};
