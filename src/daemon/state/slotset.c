/*
 * slotset.c - an ordered set of slot indexes. See slotset.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/slotset.h"

#define SMALL_MAX 1024u		/* members kept as one sorted array, at most */
#define CHUNK_SHIFT 12		/* a chunk spans 4,096 slots */
#define CHUNK_SPAN (1u << CHUNK_SHIFT)
#define CHUNK_WORDS (CHUNK_SPAN / 64)
#define ARRAY_MAX 256u		/* offsets in a chunk's array; past it, a bitmap */
#define BITMAP 0xffffu		/* cap of a chunk held as a bitmap */

struct slotset_chunk {
	uint32_t base;		/* slot >> CHUNK_SHIFT */
	uint16_t n;		/* members, 1..4,096 (4,096 fits: a bitmap's n counts to it) */
	uint16_t cap;		/* room in arr, or BITMAP */
	union {
		uint16_t *arr;	/* sorted offsets */
		uint64_t *bits;
	};
};

/* --- sorted arrays ------------------------------------------------------------------------ */

static uint32_t lower32(const uint32_t *a, uint32_t n, uint32_t v)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t lower16(const uint16_t *a, uint32_t n, uint32_t v)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first chunk whose base is >= base. */
static uint32_t chunk_lower(const struct slotset *s, uint32_t base)
{
	uint32_t lo = 0, hi = s->nchunks;

	if (hi && s->chunks[hi - 1].base <= base)	/* the last one, or past it */
		return s->chunks[hi - 1].base == base ? hi - 1 : hi;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->chunks[mid].base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* --- one chunk --------------------------------------------------------------------------- */

static bool chunk_has(const struct slotset_chunk *c, uint32_t off)
{
	uint32_t i;

	if (c->cap == BITMAP)
		return (c->bits[off / 64] >> (off % 64)) & 1;
	if (c->n == 0 || off > c->arr[c->n - 1])	/* past the last: adding in order */
		return false;
	i = lower16(c->arr, c->n, off);
	return i < c->n && c->arr[i] == off;
}

/* The array made a bitmap: 0 or -ENOMEM. */
static int chunk_to_bitmap(struct slotset_chunk *c)
{
	uint64_t *bits = calloc(CHUNK_WORDS, sizeof(*bits));

	if (!bits)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n; i++)
		bits[c->arr[i] / 64] |= 1ull << (c->arr[i] % 64);
	free(c->arr);
	c->bits = bits;
	c->cap = BITMAP;
	return 0;
}

/* off is not in c yet. */
static int chunk_add(struct slotset_chunk *c, uint32_t off)
{
	uint32_t i;

	if (c->cap != BITMAP && c->n == ARRAY_MAX && chunk_to_bitmap(c) < 0)
		return -ENOMEM;
	if (c->cap == BITMAP) {
		c->bits[off / 64] |= 1ull << (off % 64);
		c->n++;
		return 0;
	}
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2u : 4u;
		uint16_t *arr = realloc(c->arr, (cap > ARRAY_MAX ? ARRAY_MAX : cap) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		c->arr = arr;
		c->cap = (uint16_t)(cap > ARRAY_MAX ? ARRAY_MAX : cap);
	}
	i = c->n && off > c->arr[c->n - 1] ? c->n : lower16(c->arr, c->n, off);
	memmove(c->arr + i + 1, c->arr + i, (c->n - i) * sizeof(*c->arr));
	c->arr[i] = (uint16_t)off;
	c->n++;
	return 0;
}

/* off is in c. */
static void chunk_del(struct slotset_chunk *c, uint32_t off)
{
	uint32_t i;

	c->n--;
	if (c->cap == BITMAP) {
		c->bits[off / 64] &= ~(1ull << (off % 64));
		return;
	}
	i = lower16(c->arr, c->n + 1u, off);
	memmove(c->arr + i, c->arr + i + 1, (c->n - i) * sizeof(*c->arr));
}

/* The least offset >= off in c, or CHUNK_SPAN. */
static uint32_t chunk_next(const struct slotset_chunk *c, uint32_t off)
{
	uint32_t i;

	if (c->cap != BITMAP) {
		i = lower16(c->arr, c->n, off);
		return i < c->n ? c->arr[i] : CHUNK_SPAN;
	}
	for (uint32_t w = off / 64; w < CHUNK_WORDS; w++) {
		uint64_t bits = c->bits[w];
		if (w == off / 64)
			bits &= ~0ull << (off % 64);
		if (bits)
			return w * 64 + (uint32_t)__builtin_ctzll(bits);
	}
	return CHUNK_SPAN;
}

static void chunk_free(struct slotset_chunk *c)
{
	if (c->cap == BITMAP)
		free(c->bits);
	else
		free(c->arr);
}

/* --- the chunks --------------------------------------------------------------------------- */

/* A new empty chunk for base at index i: NULL without memory. */
static struct slotset_chunk *chunk_insert(struct slotset *s, uint32_t i, uint32_t base)
{
	if (s->nchunks == s->chunks_cap) {
		uint32_t cap = s->chunks_cap ? s->chunks_cap * 2 : 4;
		struct slotset_chunk *n = realloc(s->chunks, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->chunks = n;
		s->chunks_cap = cap;
	}
	memmove(s->chunks + i + 1, s->chunks + i, (s->nchunks - i) * sizeof(*s->chunks));
	s->chunks[i] = (struct slotset_chunk){ .base = base };
	s->nchunks++;
	return &s->chunks[i];
}

/* 1 if slot was added, 0 if it was in, or -ENOMEM: one look-up of its
 * chunk for both. */
static int chunked_add(struct slotset *s, uint32_t slot)
{
	uint32_t base = slot >> CHUNK_SHIFT, i = chunk_lower(s, base);
	struct slotset_chunk *c;

	if (i < s->nchunks && s->chunks[i].base == base) {
		c = &s->chunks[i];
		if (chunk_has(c, slot & (CHUNK_SPAN - 1)))
			return 0;
	} else if (!(c = chunk_insert(s, i, base))) {
		return -ENOMEM;
	}
	if (chunk_add(c, slot & (CHUNK_SPAN - 1)) < 0) {
		if (c->n == 0) {	/* the one just made: out again */
			memmove(s->chunks + i, s->chunks + i + 1,
				(s->nchunks - i - 1) * sizeof(*s->chunks));
			s->nchunks--;
		}
		return -ENOMEM;
	}
	return 1;
}

/* The small array moved into chunks: 0 or -ENOMEM (still small). */
static int to_chunks(struct slotset *s)
{
	struct slotset tmp = { 0 };

	for (uint32_t i = 0; i < s->count; i++) {
		if (chunked_add(&tmp, s->small[i]) < 0) {
			slotset_clear(&tmp);
			return -ENOMEM;
		}
	}
	free(s->small);
	s->small = NULL;
	s->small_cap = 0;
	s->chunks = tmp.chunks;
	s->nchunks = tmp.nchunks;
	s->chunks_cap = tmp.chunks_cap;
	return 0;
}

/* --- the set -------------------------------------------------------------------------------- */

bool slotset_has(const struct slotset *s, uint32_t slot)
{
	uint32_t i;

	if (!s->chunks) {
		i = lower32(s->small, s->count, slot);
		return i < s->count && s->small[i] == slot;
	}
	i = chunk_lower(s, slot >> CHUNK_SHIFT);
	return i < s->nchunks && s->chunks[i].base == slot >> CHUNK_SHIFT &&
	       chunk_has(&s->chunks[i], slot & (CHUNK_SPAN - 1));
}

/* slot is not in s (small). */
static int small_add(struct slotset *s, uint32_t slot, uint32_t i)
{
	if (s->count == s->small_cap) {
		uint32_t cap = s->small_cap ? s->small_cap * 2 : 2;
		uint32_t *n = realloc(s->small, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->small = n;
		s->small_cap = cap;
	}
	memmove(s->small + i + 1, s->small + i, (s->count - i) * sizeof(*s->small));
	s->small[i] = slot;
	s->count++;
	return 0;
}

/* Slots are mostly handed out in rising order: past the last member
 * is one comparison, not a search. */
int slotset_add(struct slotset *s, uint32_t slot)
{
	uint32_t i;

	if (!s->chunks) {
		i = s->count && slot > s->small[s->count - 1] ? s->count :
		    lower32(s->small, s->count, slot);
		if (i < s->count && s->small[i] == slot)
			return 0;
		if (s->count < SMALL_MAX)
			return small_add(s, slot, i);
		if (to_chunks(s) < 0)
			return -ENOMEM;
	}
	int added = chunked_add(s, slot);

	if (added < 0)
		return -ENOMEM;
	s->count += (uint32_t)added;
	return 0;
}

void slotset_del(struct slotset *s, uint32_t slot)
{
	uint32_t i;

	if (!slotset_has(s, slot))
		return;
	s->count--;
	if (!s->chunks) {
		i = lower32(s->small, s->count + 1u, slot);
		memmove(s->small + i, s->small + i + 1, (s->count - i) * sizeof(*s->small));
		if (s->count == 0)
			slotset_clear(s);
		return;
	}
	i = chunk_lower(s, slot >> CHUNK_SHIFT);
	chunk_del(&s->chunks[i], slot & (CHUNK_SPAN - 1));
	if (s->chunks[i].n == 0) {
		chunk_free(&s->chunks[i]);
		memmove(s->chunks + i, s->chunks + i + 1, (s->nchunks - i - 1) * sizeof(*s->chunks));
		s->nchunks--;
	}
	if (s->count == 0)
		slotset_clear(s);
}

uint32_t slotset_next(const struct slotset *s, uint32_t slot)
{
	uint32_t i, off;

	if (!s->chunks) {
		i = lower32(s->small, s->count, slot);
		return i < s->count ? s->small[i] : JR_SLOTSET_NONE;
	}
	i = chunk_lower(s, slot >> CHUNK_SHIFT);
	if (i < s->nchunks && s->chunks[i].base == slot >> CHUNK_SHIFT) {
		off = chunk_next(&s->chunks[i], slot & (CHUNK_SPAN - 1));
		if (off < CHUNK_SPAN)
			return s->chunks[i].base << CHUNK_SHIFT | off;
		i++;
	}
	if (i >= s->nchunks)
		return JR_SLOTSET_NONE;
	return s->chunks[i].base << CHUNK_SHIFT | chunk_next(&s->chunks[i], 0);
}

void slotset_clear(struct slotset *s)
{
	for (uint32_t i = 0; s->chunks && i < s->nchunks; i++)
		chunk_free(&s->chunks[i]);
	free(s->chunks);
	free(s->small);
	*s = (struct slotset){ 0 };
}

size_t slotset_bytes(const struct slotset *s)
{
	size_t b = (size_t)s->small_cap * sizeof(*s->small);

	b += (size_t)s->chunks_cap * sizeof(*s->chunks);
	for (uint32_t i = 0; s->chunks && i < s->nchunks; i++)
		b += s->chunks[i].cap == BITMAP ? CHUNK_WORDS * 8u : s->chunks[i].cap * 2u;
	return b;
}
