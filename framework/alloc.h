#ifndef ALTS_ALLOC_H
#define ALTS_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Every allocation goes through these so that tests can fail the nth one
 * (alts_alloc_fail_at) and check that each failure path cleans up.
 * They return NULL on failure like their libc twins; callers report
 * ALTS_ENOMEM.
 */
void *alts_malloc(size_t size);
void *alts_calloc(size_t n, size_t size);
void *alts_realloc(void *ptr, size_t size);
/* Grows an array of n elements of size to at least want elements. */
void *alts_reallocarray(void *ptr, size_t n, size_t size);
/*
 * Makes room for one more element in *v, an array of n used of *alloc
 * elements of size (doubling it, 8 at first); false when out of memory,
 * with *v and *alloc unchanged.
 */
bool alts_grow(void **v, size_t n, size_t *alloc, size_t size);
char *alts_strdup(const char *s);
char *alts_strndup(const char *s, size_t n);
/* printf into a new string; NULL on failure. */
char *alts_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void alts_free(void *ptr);

/*
 * Test hook: the nth allocation from now on (1-based) and only it fails;
 * 0 turns injection off. Returns how many allocations were made since the
 * last call, so a test can loop n = 1..count.
 */
unsigned long alts_alloc_fail_at(unsigned long nth);

#endif
