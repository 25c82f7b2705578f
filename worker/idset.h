#ifndef ALTS_WORKER_IDSET_H
#define ALTS_WORKER_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A bounded set of task ids with an age limit: the worker's memory of
 * canceled ids (24 h) and of tasks it finished recently (dedupe). When
 * full, the oldest id is forgotten. Ids longer than IDSET_ID_MAX are
 * refused. Thread-safe: every call takes the set's lock.
 */
#define IDSET_ID_MAX 64

struct idset;

/* cap entries (> 0), each remembered ttl_ms (0: forever, until evicted). NULL on OOM. */
struct idset *idset_new(size_t cap, int64_t ttl_ms);
void idset_free(struct idset *s);

/*
 * Adds id at time now_ms (milliseconds, any monotonic base). True when it
 * was not there (or had expired), false when it already was or is too long.
 */
bool idset_add(struct idset *s, const char *id, int64_t now_ms);
/* True when id is there and not expired at now_ms. */
bool idset_has(struct idset *s, const char *id, int64_t now_ms);
/* Forgets id; true when it was there. */
bool idset_remove(struct idset *s, const char *id);
/* Ids held and not expired at now_ms. */
size_t idset_count(struct idset *s, int64_t now_ms);

#endif
