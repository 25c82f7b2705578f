/*
 * framework/common.h includes err.h, so err.c cannot include common.h
 * without an include cycle: it takes common.h's prelude by hand.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framework/err.h"
#include "framework/exitcode.h"
#include "framework/banned.h"

static void err_vset(struct alts_err *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int alts_err_set(struct alts_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int alts_err_errno(struct alts_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return code;
}

void alts_err_prefix(struct alts_err *err, const char *fmt, ...)
{
	char prefix[512];
	size_t plen, mlen, room;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	memcpy(prefix + plen, ": ", 3);
	plen += 2;
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	room = sizeof(err->msg) - 1 - plen;
	if (mlen > room)
		mlen = room;
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = '\0';
}

void alts_err_clear(struct alts_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *alts_err_name(int code)
{
	switch (code) {
	case ALTS_OK: return "ok";
	case ALTS_ENOMEM: return "out of memory";
	case ALTS_EINVALID: return "invalid input";
	case ALTS_ENOTFOUND: return "not found";
	case ALTS_ETIMEOUT: return "timed out";
	case ALTS_ECANCELED: return "canceled";
	case ALTS_EINTERNAL: return "internal error";
	case ALTS_EENV: return "environment failure";
	case ALTS_ECONFLICT: return "conflict";
	case ALTS_ENOTSUP: return "not supported";
	default: return "error";
	}
}

int alts_err_exit_code(int code)
{
	switch (code) {
	case ALTS_OK: return ALTS_EXIT_PASS;
	case ALTS_EINVALID:
	case ALTS_ENOTFOUND:
	case ALTS_ECONFLICT: return ALTS_EXIT_INVALID;
	default: return ALTS_EXIT_ENV;
	}
}
