#ifndef ALTS_ARENA_H
#define ALTS_ARENA_H

#include <stddef.h>

/*
 * Memory for data with one lifetime (a parsed suite, one request): many
 * small allocations, freed together by arena_free(). Cleanup hooks run
 * first, last registered first, for things that are not arena memory.
 */
struct arena;

struct arena *arena_new(void);
/* NULL-safe. Runs cleanup hooks, then frees every block. */
void arena_free(struct arena *a);

/* Zeroed memory, aligned for any type; NULL on allocation failure. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(payload) to run at arena_free(). ALTS_ENOMEM on failure. */
int arena_on_free(struct arena *a, void (*fn)(void *payload), void *payload);

#endif
