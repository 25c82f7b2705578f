#ifndef ALTS_SBUF_H
#define ALTS_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A growable string. `buf` is never NULL and always NUL-terminated, so it
 * can be passed to C string functions at any time. Appends never fail
 * loudly: an allocation failure or passing `cap` sets `oom`/`capped`
 * (sticky) and further appends are ignored; check sbuf_ok() once at the
 * end. Do not keep pointers into `buf` across appends: it moves.
 */
struct sbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;  /* 0: unlimited; else appends past cap bytes are cut */
	bool oom;
	bool capped;
};

extern char sbuf_empty[];
#define SBUF_INIT { sbuf_empty, 0, 0, 0, false, false }

void sbuf_init(struct sbuf *sb, size_t cap);
void sbuf_release(struct sbuf *sb);
/* Gives the string to the caller (free with alts_free); sb is reset. NULL on oom. */
char *sbuf_detach(struct sbuf *sb, size_t *len);
void sbuf_reset(struct sbuf *sb);
bool sbuf_ok(const struct sbuf *sb);

void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
void sbuf_trim_trailing(struct sbuf *sb);

/* Reads a whole file (at most max bytes, 0: no limit). 0 or negative errno. */
int sbuf_read_file(struct sbuf *sb, const char *path, size_t max);
/* The same from an open descriptor, read to its end (or max); fd stays open. */
int sbuf_read_fd(struct sbuf *sb, int fd, size_t max);

/*
 * snprintf into a fixed buffer, for paths: false (and buf cut) when the
 * result did not fit, so callers can refuse over-long paths.
 */
bool str_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
