/*
 * framework/common.h includes alloc.h, so alloc.c cannot include common.h
 * without an include cycle: it takes common.h's prelude by hand.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framework/alloc.h"
#include "framework/banned.h"

#include <stdatomic.h>

static atomic_ulong alloc_count;
static atomic_ulong alloc_fail_nth;

static int alloc_should_fail(void)
{
	unsigned long n = atomic_fetch_add(&alloc_count, 1) + 1;
	unsigned long fail = atomic_load(&alloc_fail_nth);

	return fail && n == fail;
}

unsigned long alts_alloc_fail_at(unsigned long nth)
{
	unsigned long made = atomic_exchange(&alloc_count, 0);

	atomic_store(&alloc_fail_nth, nth);
	return made;
}

void *alts_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *alts_calloc(size_t n, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *alts_realloc(void *ptr, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(ptr, size ? size : 1);
}

void *alts_reallocarray(void *ptr, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return alts_realloc(ptr, n * size);
}

bool alts_grow(void **v, size_t n, size_t *alloc, size_t size)
{
	size_t na;
	void *nv;

	if (n < *alloc)
		return true;
	na = *alloc ? *alloc * 2 : 8;
	nv = alts_reallocarray(*v, na, size);
	if (!nv)
		return false;
	*v = nv;
	*alloc = na;
	return true;
}

char *alts_strndup(const char *s, size_t n)
{
	char *copy;
	size_t len = strnlen(s, n);

	copy = alts_malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *alts_strdup(const char *s)
{
	return alts_strndup(s, SIZE_MAX);
}

char *alts_asprintf(const char *fmt, ...)
{
	va_list ap;
	int len;
	char *out;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	out = alts_malloc((size_t)len + 1);
	if (!out)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return out;
}

void alts_free(void *ptr)
{
	free(ptr);
}
