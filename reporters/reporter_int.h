#ifndef ALTS_REPORTER_INT_H
#define ALTS_REPORTER_INT_H

/* For reporter backends. */

#include <stdint.h>
#include <stdio.h>

#include "framework/sbuf.h"

#include "reporters/reporter.h"

#define REPORTER_ABI 1

struct reporter_ops {
	const char *name;   /* "tap", "junit", "json", "console" */
	int abi;            /* REPORTER_ABI */
	size_t priv_size;   /* zeroed bytes at r->priv, allocated by the core */

	/* Optional. Opens outputs; r->opts is set. */
	int (*open)(struct reporter *r, struct alts_err *err);
	/* Every event slot is optional. Pointers are borrowed for the call,
	 * except suite results, which live until run_end returns. */
	void (*run_start)(struct reporter *r, const struct run_info *info);
	void (*suite_start)(struct reporter *r, const struct suite *s);
	void (*check_start)(struct reporter *r, const struct suite *s, const struct suite_check *c);
	void (*check_output)(struct reporter *r, const struct suite *s, const struct suite_check *c,
			     const char *buf, size_t len);
	void (*check_end)(struct reporter *r, const struct suite_result *sr, const struct check_result *cr);
	void (*suite_end)(struct reporter *r, const struct suite_result *sr);
	/* Optional. Writes what is left and closes outputs. */
	int (*run_end)(struct reporter *r, const struct run_result *rr, struct alts_err *err);
	/* Required. Frees priv contents; accepts a reporter whose open failed. */
	void (*destroy)(struct reporter *r);
};

struct reporter {
	const struct reporter_ops *ops;
	struct reporter_opts opts;
	void *priv;
};

/*
 * Adds a reporter whose ops are the caller's (not in the registry), e.g.
 * the worker's progress reporter; opts->payload reaches it as
 * r->opts.payload. Same contract as reporter_set_add.
 */
int reporter_set_add_ops(struct reporter_set *set, const struct reporter_ops *ops, const struct reporter_opts *opts,
			 struct alts_err *err);

extern const struct reporter_ops reporter_tap_ops;
extern const struct reporter_ops reporter_junit_ops;
extern const struct reporter_ops reporter_json_ops;
extern const struct reporter_ops reporter_console_ops;
extern const struct reporter_ops reporter_html_ops;

/*
 * Opens r->opts.path, or default_path when it is NULL, for writing. "-"
 * (or both NULL) is stdout and "stderr" is stderr: those are flushed but
 * not closed by reporter_close_out. With r->opts.out set, a stream that
 * appends to that sbuf (path unused). NULL with err set on failure.
 */
FILE *reporter_open_out(const struct reporter *r, const char *default_path, struct alts_err *err);
/* Flushes and closes f (NULL-safe); a write or close error becomes ALTS_ERROR naming path. */
int reporter_close_out(FILE *f, const char *path, struct alts_err *err);

/* Helpers shared by the backends (reporters/reporter.c). */

#define REPORTER_OUTPUT_CAP_DEFAULT ((size_t)64 * 1024)

/* opts.output_cap, or REPORTER_OUTPUT_CAP_DEFAULT when it is 0. */
size_t reporter_output_cap(const struct reporter *r);

/*
 * Decodes the UTF-8 character at s (n > 0 bytes available) into *cp and
 * returns its length. An invalid, overlong, truncated or surrogate
 * sequence gives U+FFFD and length 1, so a caller always advances.
 */
size_t reporter_utf8_next(const char *s, size_t n, uint32_t *cp);
/* Appends code point cp, encoded as UTF-8. */
void reporter_add_utf8(struct sbuf *sb, uint32_t cp);
/* Length of the ANSI escape sequence starting at s (s[0] is ESC), at least 1. */
size_t reporter_ansi_len(const char *s, size_t n);

/*
 * The part of text that fits in cap bytes, counted from the end and
 * starting on a character boundary; *omitted gets the bytes cut before it.
 * Borrowed from text.
 */
/*
 * The last (at most) cap bytes of text, starting on a UTF-8 boundary;
 * *omitted is what was cut plus `before` (bytes dropped earlier, by the engine).
 */
const char *reporter_tail(const char *text, size_t cap, size_t before, size_t *omitted);

/*
 * Why a check has its status: its message, else a line made
 * from the timeout, signal or exit code. Empty for a plain pass. Returns
 * cr->message or buf.
 */
const char *reporter_check_reason(const struct check_result *cr, char *buf, size_t size);
/* Same for a sub-result. */
const char *reporter_sub_reason(const struct check_sub *sub);

/* The check's type as the suite names it ("install", "launch" ...); "check" when unknown. */
const char *reporter_check_type(const struct check_result *cr);

/* Formats epoch seconds as ISO 8601 UTC: "2024-05-01T12:00:00+00:00". */
void reporter_iso8601(char *buf, size_t size, double epoch);

#endif
