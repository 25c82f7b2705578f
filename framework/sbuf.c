#include "framework/common.h"
#include "framework/sbuf.h"

#include <fcntl.h>
#include <unistd.h>

char sbuf_empty[1];

void sbuf_init(struct sbuf *sb, size_t cap)
{
	struct sbuf init = SBUF_INIT;

	*sb = init;
	sb->cap = cap;
}

void sbuf_release(struct sbuf *sb)
{
	size_t cap = sb->cap;

	if (sb->alloc)
		alts_free(sb->buf);
	sbuf_init(sb, cap);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	sb->buf[0] = '\0';
	sb->oom = false;
	sb->capped = false;
	if (!sb->alloc)
		sb->buf = sbuf_empty;
}

bool sbuf_ok(const struct sbuf *sb)
{
	return !sb->oom;
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
	char *out;

	if (sb->oom) {
		sbuf_release(sb);
		return NULL;
	}
	if (!sb->alloc)
		out = alts_strdup("");
	else
		out = sb->buf;
	if (len)
		*len = sb->len;
	sb->alloc = 0;
	sbuf_init(sb, sb->cap);
	return out;
}

static bool sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t want, next;
	char *nb;

	if (sb->oom)
		return false;
	if (extra > SIZE_MAX - sb->len - 1)
		goto fail;
	want = sb->len + extra + 1;
	if (want <= sb->alloc)
		return true;
	next = sb->alloc ? sb->alloc : 64;
	while (next < want)
		next = next > SIZE_MAX / 2 ? want : next * 2;
	nb = alts_realloc(sb->alloc ? sb->buf : NULL, next);
	if (!nb)
		goto fail;
	if (!sb->alloc)
		nb[0] = '\0';
	sb->buf = nb;
	sb->alloc = next;
	return true;
fail:
	sb->oom = true;
	return false;
}

void sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	if (sb->cap && sb->len + len > sb->cap) {
		sb->capped = true;
		len = sb->cap > sb->len ? sb->cap - sb->len : 0;
	}
	if (!len || !sbuf_grow(sb, len))
		return;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addch(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;
	char *big;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(sb, small, (size_t)n);
		return;
	}
	big = alts_malloc((size_t)n + 1);
	if (!big) {
		sb->oom = true;
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	sbuf_add(sb, big, (size_t)n);
	alts_free(big);
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sbuf_trim_trailing(struct sbuf *sb)
{
	while (sb->len && strchr(" \t\r\n", sb->buf[sb->len - 1]))
		sb->buf[--sb->len] = '\0';
}

int sbuf_read_fd(struct sbuf *sb, int fd, size_t max)
{
	char chunk[65536];
	ssize_t n;
	size_t total = 0;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (max && total + (size_t)n > max) {
			sbuf_add(sb, chunk, max - total);
			sb->capped = true;
			break;
		}
		sbuf_add(sb, chunk, (size_t)n);
		total += (size_t)n;
	}
	return sb->oom ? -ENOMEM : 0;
}

int sbuf_read_file(struct sbuf *sb, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = sbuf_read_fd(sb, fd, max);
	close(fd);
	return rc;
}

bool str_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}
