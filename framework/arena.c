#include "framework/common.h"
#include "framework/arena.h"

#include <stdalign.h>

#define ARENA_BLOCK 8192

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct arena_hook {
	struct arena_hook *next;
	void (*fn)(void *payload);
	void *payload;
};

struct arena {
	struct arena_block *blocks;
	struct arena_hook *hooks;
};

struct arena *arena_new(void)
{
	return alts_calloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	while (a->hooks) {
		struct arena_hook *h = a->hooks;

		a->hooks = h->next;
		h->fn(h->payload);
		alts_free(h);
	}
	while (a->blocks) {
		struct arena_block *b = a->blocks;

		a->blocks = b->next;
		alts_free(b);
	}
	alts_free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_block *b = a->blocks;
	size_t need = (size + align - 1) & ~(align - 1);
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	if (!need)
		need = align;
	if (!b || b->size - b->used < need) {
		size_t bsize = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = alts_malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = bsize;
		/* A big one-off block goes second so the current block keeps filling. */
		if (need > ARENA_BLOCK && a->blocks) {
			b->next = a->blocks->next;
			a->blocks->next = b;
		} else {
			b->next = a->blocks;
			a->blocks = b;
		}
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *out = arena_alloc(a, len + 1);

	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, SIZE_MAX) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int len;
	char *out;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	out = arena_alloc(a, (size_t)len + 1);
	if (!out)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return out;
}

int arena_on_free(struct arena *a, void (*fn)(void *payload), void *payload)
{
	struct arena_hook *h = alts_malloc(sizeof(*h));

	if (!h)
		return ALTS_ENOMEM;
	h->fn = fn;
	h->payload = payload;
	h->next = a->hooks;
	a->hooks = h;
	return 0;
}
