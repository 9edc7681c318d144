/*
 * slotset.h - an ordered set of job slot indexes (uint32), sized by what
 * it holds: a sorted array while small, then chunks of 4,096 slots each
 * held as a sorted array of 16-bit offsets (up to 256) or a 512-byte
 * bitmap, the chunks themselves in a sorted array. About 2-4 bytes per
 * member, at most one bit per slot of a chunk in use; adding, removing
 * and the next member at or after a slot cost a binary search and a
 * bounded move (512 bytes in a chunk, 4 KiB in a small set). The event
 * loop's thread only (jobindex.h); not thread-safe.
 */
#ifndef JR_SLOTSET_H
#define JR_SLOTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_SLOTSET_NONE UINT32_MAX

struct slotset_chunk;

struct slotset {
	uint32_t count;			/* members */
	uint32_t small_cap;		/* small: room in small[] */
	uint32_t *small;		/* sorted members, while chunks is NULL */
	struct slotset_chunk *chunks;	/* sorted by their first slot; NULL: small */
	uint32_t nchunks, chunks_cap;
};

/* An empty set is all zero. */
/* Add slot: 0 (also if it was in), -ENOMEM (the set is as it was). */
int slotset_add(struct slotset *s, uint32_t slot);
/* Remove slot (nothing if it was not in). */
void slotset_del(struct slotset *s, uint32_t slot);
bool slotset_has(const struct slotset *s, uint32_t slot);
/* The least member >= slot, or JR_SLOTSET_NONE. */
uint32_t slotset_next(const struct slotset *s, uint32_t slot);
/* Everything freed; the set is empty again. */
void slotset_clear(struct slotset *s);
/* Bytes it holds in the heap (its own struct not counted). */
size_t slotset_bytes(const struct slotset *s);

#endif
