#include "framework/common.h"
#include "framework/fs.h"
#include "framework/sbuf.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * From the bottom up: one mkdir when the parent exists (the common case),
 * the missing parents (mode 0755) only when it says ENOENT.
 */
static int mkdir_up(char *buf, mode_t mode, struct alts_err *err)
{
	char *slash;
	int rc;

	if (mkdir(buf, mode) == 0 || errno == EEXIST)
		return 0;
	slash = strrchr(buf, '/');
	if (errno != ENOENT || !slash || slash == buf)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create directory '%s'", buf);
	*slash = '\0';
	rc = mkdir_up(buf, 0755, err);
	*slash = '/';
	if (!rc && mkdir(buf, mode) < 0 && errno != EEXIST)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create directory '%s'", buf);
	return rc;
}

int fs_mkdir_p(const char *path, mode_t mode, struct alts_err *err)
{
	char buf[PATH_MAX];
	size_t len;

	if (!str_fmt(buf, sizeof(buf), "%s", path))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	/* Trailing slashes would make an empty last component. */
	for (len = strlen(buf); len > 1 && buf[len - 1] == '/'; len--)
		buf[len - 1] = '\0';
	return mkdir_up(buf, mode, err);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	ALTS_UNUSED(sb);
	ALTS_UNUSED(ftw);
	if (flag == FTW_DNR || flag == FTW_NS)
		return 0;
	/* FTW_DEPTH reports a directory as FTW_DP, after its entries: no unlink() that fails with EISDIR first. */
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return errno ? -errno : ALTS_ERROR;
	return 0;
}
