#include "framework/common.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "framework/alloc.h"
#include "framework/sbuf.h"
#include "reporters/stores/store_util.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int copy_fd(int dst, int src)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(src, chunk, sizeof(chunk));
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		rc = write_all(dst, chunk, (size_t)n);
		if (rc)
			return rc;
	}
}

static atomic_ulong tmp_counter;

int store_write_tmp(int dirfd, const char *name, const void *data, size_t len, int src_fd, mode_t mode, bool sync,
		    char **tmp_out, struct alts_err *err)
{
	char *tmp = NULL;
	int fd = -1;
	int e;

	/* pid and a counter make the name unique among this host's writers; O_EXCL makes sure. */
	for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
		alts_free(tmp);
		tmp = alts_asprintf("%s.tmp.%d.%lu", name, (int)getpid(), atomic_fetch_add(&tmp_counter, 1));
		if (!tmp)
			return alts_err_set(err, ALTS_ENOMEM, "out of memory");
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		e = alts_err_errno(err, ALTS_EENV, errno, "cannot create a temporary file for '%s'", name);
		alts_free(tmp);
		return e;
	}
	e = src_fd >= 0 ? copy_fd(fd, src_fd) : write_all(fd, data, len);
	if (!e && fchmod(fd, mode) < 0)
		e = -errno;
	if (!e && sync && fsync(fd) < 0)
		e = -errno;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (e) {
		unlinkat(dirfd, tmp, 0);
		alts_free(tmp);
		return alts_err_errno(err, ALTS_EENV, -e, "cannot write '%s'", name);
	}
	*tmp_out = tmp;
	return 0;
}

int store_write_atomic(const char *path, const void *data, size_t len, int src_fd, mode_t mode, struct alts_err *err)
{
	char *tmp = NULL;
	/* fsync before rename: otherwise a crash can leave an empty file under the final name. */
	int rc = store_write_tmp(AT_FDCWD, path, data, len, src_fd, mode, true, &tmp, err);

	if (rc)
		return rc;
	if (rename(tmp, path) < 0) {
		rc = alts_err_errno(err, ALTS_EENV, errno, "cannot write '%s'", path);
		unlink(tmp);
	}
	alts_free(tmp);
	return rc;
}

void store_url_escape(struct sbuf *out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
			sbuf_addch(out, (char)*p);
		} else {
			sbuf_addch(out, '%');
			sbuf_addch(out, hex[*p >> 4]);
			sbuf_addch(out, hex[*p & 15]);
		}
	}
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void store_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(out, md, 32);
}

int store_hmac_sha256(unsigned char out[32], const void *key, size_t keylen, const void *data, size_t len)
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) || outlen != 32)
		return ALTS_ERROR;
	return 0;
}

void store_base64(struct sbuf *out, const void *data, size_t len)
{
	size_t need = 4 * ((len + 2) / 3) + 1;
	char *tmp = alts_malloc(need);
	int n;

	if (!tmp) {
		out->oom = true;
		return;
	}
	n = EVP_EncodeBlock((unsigned char *)tmp, data, (int)len);
	sbuf_add(out, tmp, (size_t)n);
	alts_free(tmp);
}

int store_base64_decode(struct sbuf *out, const char *s, const char *what, struct alts_err *err)
{
	size_t len = strlen(s);
	unsigned char *tmp;
	int n;
	size_t pad = 0;

	if (len == 0 || len % 4)
		return alts_err_set(err, ALTS_EINVALID, "%s is not valid base64", what);
	tmp = alts_malloc(len / 4 * 3 + 1);
	if (!tmp)
		return alts_err_set(err, ALTS_ENOMEM, "out of memory");
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0) {
		alts_free(tmp);
		return alts_err_set(err, ALTS_EINVALID, "%s is not valid base64", what);
	}
	/* EVP_DecodeBlock counts '=' padding as zero bytes. */
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	sbuf_add(out, tmp, (size_t)n - pad);
	alts_free(tmp);
	return sbuf_ok(out) ? 0 : alts_err_set(err, ALTS_ENOMEM, "out of memory");
}

void store_digests_of(struct store_digests *out, const void *data, size_t len)
{
	unsigned char md5[16];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md5, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out->md5_b64, md5, 16);
	store_sha256_hex(out->sha256_hex, data, len);
}

int store_digests_of_file(struct store_digests *out, const struct store_file_range *f, size_t len)
{
	EVP_MD_CTX *md5 = EVP_MD_CTX_new(), *sha = EVP_MD_CTX_new();
	unsigned char buf[65536], m[32];
	unsigned int mlen = 0;
	size_t done = 0;
	int rc = 0;

	if (!md5 || !sha || !EVP_DigestInit_ex(md5, EVP_md5(), NULL) || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(f->fd, buf, want, f->off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;  /* the file shrank under us */
			goto out;
		}
		EVP_DigestUpdate(md5, buf, (size_t)n);
		EVP_DigestUpdate(sha, buf, (size_t)n);
		done += (size_t)n;
	}
	EVP_DigestFinal_ex(md5, m, &mlen);
	EVP_EncodeBlock((unsigned char *)out->md5_b64, m, 16);
	EVP_DigestFinal_ex(sha, m, &mlen);
	hex_encode(out->sha256_hex, m, 32);
out:
	EVP_MD_CTX_free(md5);
	EVP_MD_CTX_free(sha);
	return rc;
}

struct store_body store_body_part(const struct store_body *whole, size_t off, size_t len)
{
	struct store_body b = *whole;

	b.len = len;
	if (b.from_file)
		b.file.off += (off_t)off;
	else
		b.data = (const char *)whole->data + off;
	return b;
}

int store_body_digests(struct store_digests *out, const struct store_body *b)
{
	if (b->from_file)
		return store_digests_of_file(out, &b->file, b->len);
	store_digests_of(out, b->data ? b->data : "", b->len);
	return 0;
}

void store_request_set_body(struct store_request *req, const struct store_body *b)
{
	req->body = b->from_file ? NULL : b->data;
	req->body_file = b->from_file ? &b->file : NULL;
	req->body_len = b->len;
}
