#include "framework/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "framework/alloc.h"
#include "reporters/stores/artifact_store.h"

/* Compresses what src_fd holds into the already open dst_fd; 0 or an ALTS_E* code with err set. */
static int gzip_copy(int src_fd, int dst_fd, const char *src, const char *dst, struct alts_err *err)
{
	char chunk[65536];
	gzFile gz = gzdopen(dst_fd, "wb6");
	int rc = 0;

	if (!gz) {
		close(dst_fd);
		return alts_err_set(err, ALTS_ENOMEM, "cannot start compressing into '%s'", dst);
	}
	for (;;) {
		ssize_t n = read(src_fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = alts_err_errno(err, ALTS_EENV, errno, "cannot read '%s'", src);
			break;
		}
		if (n == 0)
			break;
		if (gzwrite(gz, chunk, (unsigned)n) != (int)n) {
			rc = alts_err_set(err, ALTS_EENV, "cannot write '%s': compression failed", dst);
			break;
		}
	}
	/* Finish and fsync before the caller's rename, so a crash never leaves a short file under dst. */
	if (!rc && (gzflush(gz, Z_FINISH) != Z_OK || fsync(dst_fd) < 0))
		rc = alts_err_set(err, ALTS_EENV, "cannot write '%s'", dst);
	/* gzclose flushes the trailer and closes dst_fd: its failure is a write failure. */
	if (gzclose(gz) != Z_OK && !rc)
		rc = alts_err_set(err, ALTS_EENV, "cannot write '%s'", dst);
	return rc;
}

int artifact_gzip_file(const char *src, const char *dst, struct alts_err *err)
{
	char *tmp = alts_asprintf("%s.tmp.XXXXXX", dst);
	int in = -1, out = -1;
	int rc;

	if (!tmp)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = alts_err_errno(err, errno == ENOENT ? ALTS_ENOTFOUND : ALTS_EENV, errno, "cannot open '%s'", src);
		goto out;
	}
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot create a temporary file for '%s'", dst);
		goto out;
	}
	if (fchmod(out, 0644) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", dst);
		close(out);
		unlink(tmp);
		goto out;
	}
	rc = gzip_copy(in, out, src, dst, err);
	if (!rc && rename(tmp, dst) < 0)
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", dst);
	if (rc)
		unlink(tmp);
out:
	if (in >= 0)
		close(in);
	alts_free(tmp);
	return rc;
}
