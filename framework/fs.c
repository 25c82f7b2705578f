#include "framework/common.h"
#include "framework/fs.h"
#include "framework/sbuf.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode, struct alts_err *err)
{
	char buf[PATH_MAX];

	if (!str_fmt(buf, sizeof(buf), "%s", path))
		return alts_err_set(err, ALTS_EINVALID, "path too long: '%s'", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return alts_err_errno(err, ALTS_EENV, errno, "cannot create directory '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return alts_err_errno(err, ALTS_EENV, errno, "cannot create directory '%s'", buf);
	return 0;
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
