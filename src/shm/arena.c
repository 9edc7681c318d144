/*
 * arena.c - lock-free allocator of power-of-two blocks inside the region.
 *
 * Blocks of 32 B to 64 KiB, one size class per power of two. A block
 * starts with an 8-byte header {next, class}; data follow. Each class has
 * a Treiber stack of free blocks whose head packs a 32-bit reference with
 * a 32-bit tag that every successful CAS bumps, so a head that was popped
 * and pushed back between our load and our CAS (ABA) is detected. Fresh
 * blocks are carved from the top by fetch-and-add; memory never returns
 * to the top, only to its class.
 *
 * Header words and data are accessed with relaxed atomics because a reader
 * that lost a race (a stale pop, a stale jr_arena_read_string()) may read
 * a block that its new owner is writing; it discards what it read.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shm/arena.h"
#include "base/common.h"
#include "base/fnv.h"

#define ARENA_UNIT 16u
#define ARENA_MIN_SHIFT 5u	/* 32 B */
#define ARENA_CLASSES 12u	/* up to 64 KiB */
#define ARENA_HEADER 8u
#define ARENA_PREFAULT (2 * JR_MIB)

struct arena_block {
	uint32_t next;	/* reference of the next free block */
	uint32_t size_class;
};

static struct arena_block *block_at(const struct jr_region *r, uint32_t ref)
{
	return (struct arena_block *)(r->arena + (uint64_t)ref * ARENA_UNIT);
}

static int class_for(size_t bytes)
{
	size_t need = bytes + ARENA_HEADER;

	for (unsigned c = 0; c < ARENA_CLASSES; c++)
		if (need <= (size_t)1 << (ARENA_MIN_SHIFT + c))
			return (int)c;
	return -1;
}

static uint32_t pop_free(struct jr_region *r, unsigned c)
{
	uint64_t *head = &r->ctl->arena_heads[c];
	uint64_t old = jr_load_acquire(head);

	for (;;) {
		uint32_t ref = (uint32_t)old;
		if (ref == 0)
			return 0;
		uint32_t next = jr_load_relaxed(&block_at(r, ref)->next);
		uint64_t desired = ((old >> 32) + 1) << 32 | next;
		if (jr_cas_acq_rel(head, &old, desired))
			return ref;
	}
}

static uint32_t carve(struct jr_region *r, unsigned c)
{
	uint64_t bytes = (uint64_t)1 << (ARENA_MIN_SHIFT + c);
	/* Offset 0 is reserved so that reference 0 means "none". */
	uint64_t off = jr_fetch_add_acq_rel(&r->ctl->arena_top, bytes) + ARENA_UNIT;

	if (off + bytes > r->hdr->arena_bytes) {
		/* Leave the top past the end: later carves fail fast. */
		return 0;
	}
	jr_store_relaxed(&block_at(r, (uint32_t)(off / ARENA_UNIT))->size_class, c);
	/* Crossing into a new window of the top: fault in the next one at
	 * once rather than a page at a time (a fault per 4 KiB page of the
	 * shared region was a large part of taking in a million jobs). */
	if (off / ARENA_PREFAULT != (off + bytes) / ARENA_PREFAULT) {
		uint64_t next = ((off + bytes) / ARENA_PREFAULT + 1) * ARENA_PREFAULT;
		if (next + ARENA_PREFAULT <= r->hdr->arena_bytes)
			madvise(r->arena + next, ARENA_PREFAULT, MADV_POPULATE_WRITE);
	}
	return (uint32_t)(off / ARENA_UNIT);
}

/* Copy with 8-byte relaxed atomic stores and loads: see the file comment. */
static void copy_words_in(uint64_t *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, src + i, len - i < 8 ? len - i : 8);
		jr_store_relaxed(&dst[i / 8], w);
	}
}

static void copy_words_out(char *dst, const uint64_t *src, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = jr_load_relaxed(&src[i / 8]);
		memcpy(dst + i, &w, len - i < 8 ? len - i : 8);
	}
}

static int block_take(struct jr_region *r, size_t bytes, uint32_t *ref)
{
	int c = class_for(bytes);
	uint32_t got;

	if (c < 0)
		return -EINVAL;
	got = pop_free(r, (unsigned)c);
	if (got == 0)
		got = carve(r, (unsigned)c);
	if (got == 0)
		return -EAGAIN;
	*ref = got;
	return 0;
}

void *jr_arena_data(const struct jr_region *r, uint32_t ref)
{
	return ref ? (uint8_t *)block_at(r, ref) + ARENA_HEADER : NULL;
}

int jr_arena_alloc(struct jr_region *r, size_t bytes, uint32_t *ref)
{
	int rc = block_take(r, bytes, ref);

	if (rc == 0)
		memset(jr_arena_data(r, *ref), 0, bytes);
	return rc;
}

int jr_arena_store_string(struct jr_region *r, const char *s, uint32_t *ref)
{
	size_t len = strlen(s) + 1;
	int rc = block_take(r, len, ref);

	if (rc == 0)
		copy_words_in(jr_arena_data(r, *ref), s, len);
	return rc;
}

void jr_arena_read_string(const struct jr_region *r, uint32_t ref, char *buf,
			  size_t size)
{
	uint32_t c;
	size_t cap;

	buf[0] = '\0';
	if (ref == 0 || (uint64_t)ref * ARENA_UNIT >= r->hdr->arena_bytes)
		return;
	c = jr_load_relaxed(&block_at(r, ref)->size_class);
	if (c >= ARENA_CLASSES)
		return;
	cap = ((size_t)1 << (ARENA_MIN_SHIFT + c)) - ARENA_HEADER;
	if (cap > size)
		cap = size & ~(size_t)7;
	if ((uint64_t)ref * ARENA_UNIT + ARENA_HEADER + cap > r->hdr->arena_bytes)
		return;
	copy_words_out(buf, (const uint64_t *)((const uint8_t *)block_at(r, ref) +
					       ARENA_HEADER), cap);
	buf[size - 1] = '\0';
	buf[strnlen(buf, size - 1)] = '\0';
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a word's first byte is its lowest");

uint32_t jr_arena_hash_string(const struct jr_region *r, uint32_t ref, size_t size)
{
	const uint64_t *words;
	uint32_t h = JR_FNV_BASIS, c;
	size_t cap;

	if (ref == 0 || (uint64_t)ref * ARENA_UNIT >= r->hdr->arena_bytes)
		return jr_name_hash("");
	c = jr_load_relaxed(&block_at(r, ref)->size_class);
	if (c >= ARENA_CLASSES)
		return jr_name_hash("");
	/* The bytes jr_arena_read_string(r, ref, buf, size) would keep. */
	cap = ((size_t)1 << (ARENA_MIN_SHIFT + c)) - ARENA_HEADER;
	if (cap > size)
		cap = size & ~(size_t)7;
	if ((uint64_t)ref * ARENA_UNIT + ARENA_HEADER + cap > r->hdr->arena_bytes)
		return jr_name_hash("");
	if (cap > size - 1)
		cap = size - 1;
	words = (const uint64_t *)((const uint8_t *)block_at(r, ref) + ARENA_HEADER);
	for (size_t i = 0; i < cap; i += 8) {
		uint64_t w = jr_load_relaxed(&words[i / 8]);
		for (size_t k = 0; k < 8 && i + k < cap; k++) {
			uint8_t byte = (uint8_t)(w >> (8 * k));	/* little-endian */
			if (byte == 0)
				return h ? h : 1;
			h = jr_fnv_step(h, byte);
		}
	}
	return h ? h : 1;
}

void jr_arena_free(struct jr_region *r, uint32_t ref)
{
	struct arena_block *b;
	uint64_t old, desired;
	uint32_t c;

	if (ref == 0)
		return;
	b = block_at(r, ref);
	c = jr_load_relaxed(&b->size_class);
	JR_ASSERT(c < ARENA_CLASSES);
	old = jr_load_acquire(&r->ctl->arena_heads[c]);
	do {
		jr_store_relaxed(&b->next, (uint32_t)old);
		desired = ((old >> 32) + 1) << 32 | ref;
		/* Release: the next link is written before the block is
		 * visible on the stack; pairs with pop_free()'s acquire. */
	} while (!jr_cas_acq_rel(&r->ctl->arena_heads[c], &old, desired));
}
