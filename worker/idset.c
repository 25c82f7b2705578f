#include "framework/common.h"
#include "worker/idset.h"

#include <pthread.h>

struct idset_entry {
	char id[IDSET_ID_MAX + 1];
	int64_t added;
	bool used;
};

/* A ring: entries are added at `next`, which is also the oldest once the ring is full. */
struct idset {
	pthread_mutex_t lock;
	struct idset_entry *v;
	size_t cap, next;
	int64_t ttl;
};

struct idset *idset_new(size_t cap, int64_t ttl_ms)
{
	struct idset *s = cap ? alts_calloc(1, sizeof(*s)) : NULL;

	if (!s)
		return NULL;
	s->v = alts_calloc(cap, sizeof(*s->v));
	if (!s->v || pthread_mutex_init(&s->lock, NULL)) {
		alts_free(s->v);
		alts_free(s);
		return NULL;
	}
	s->cap = cap;
	s->ttl = ttl_ms;
	return s;
}

void idset_free(struct idset *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	alts_free(s->v);
	alts_free(s);
}

static bool live(const struct idset *s, const struct idset_entry *e, int64_t now)
{
	return e->used && (!s->ttl || now - e->added < s->ttl);
}

static struct idset_entry *find(struct idset *s, const char *id, int64_t now)
{
	for (size_t i = 0; i < s->cap; i++) {
		if (live(s, &s->v[i], now) && !strcmp(s->v[i].id, id))
			return &s->v[i];
	}
	return NULL;
}

bool idset_add(struct idset *s, const char *id, int64_t now_ms)
{
	struct idset_entry *e;
	bool added = false;

	if (!s || !id || strlen(id) > IDSET_ID_MAX)
		return false;
	pthread_mutex_lock(&s->lock);
	if (!find(s, id, now_ms)) {
		e = &s->v[s->next];
		s->next = (s->next + 1) % s->cap;
		memcpy(e->id, id, strlen(id) + 1);
		e->added = now_ms;
		e->used = true;
		added = true;
	}
	pthread_mutex_unlock(&s->lock);
	return added;
}

bool idset_has(struct idset *s, const char *id, int64_t now_ms)
{
	bool has;

	if (!s || !id)
		return false;
	pthread_mutex_lock(&s->lock);
	has = find(s, id, now_ms) != NULL;
	pthread_mutex_unlock(&s->lock);
	return has;
}

bool idset_remove(struct idset *s, const char *id)
{
	bool removed = false;

	if (!s || !id)
		return false;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->cap; i++) {
		if (s->v[i].used && !strcmp(s->v[i].id, id)) {
			s->v[i].used = false;
			removed = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return removed;
}

size_t idset_count(struct idset *s, int64_t now_ms)
{
	size_t n = 0;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->cap; i++)
		n += live(s, &s->v[i], now_ms);
	pthread_mutex_unlock(&s->lock);
	return n;
}
