/*
 * arena.h - variable-size data in the region (job names now; commands and
 * environments later): a lock-free allocator of power-of-two blocks.
 *
 * A reference is the block's offset in 16-byte units (0 is "none"), so it
 * fits the slot's 32-bit field and means the same in every process.
 */
#ifndef JR_ARENA_H
#define JR_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

/* Copy the NUL-terminated string s into a new block; *ref receives it.
 * 0, or -EAGAIN when the arena is full, -EINVAL when s is too long for
 * the largest block. Thread-safe, lock-free. */
int jr_arena_store_string(struct jr_region *r, const char *s, uint32_t *ref);

/* Copy the string at ref into buf (always NUL-terminated; "" for ref 0).
 * Safe to call while the block is being freed and reused by others: the
 * result may then be garbage, which the caller detects by re-checking the
 * slot generation. */
void jr_arena_read_string(const struct jr_region *r, uint32_t ref, char *buf,
			  size_t size);

/* jr_name_hash() (base/fnv.h) of what jr_arena_read_string(r, ref, buf,
 * size) would copy, read in place: as safe, and as much garbage in a
 * race. */
uint32_t jr_arena_hash_string(const struct jr_region *r, uint32_t ref, size_t size);

/* Allocate a zeroed block of at least bytes; *ref receives it. 0 or
 * -EAGAIN/-EINVAL as above. Thread-safe, lock-free. */
int jr_arena_alloc(struct jr_region *r, size_t bytes, uint32_t *ref);

/* The data of the block at ref (NULL for 0). */
void *jr_arena_data(const struct jr_region *r, uint32_t ref);

/* Return a block. ref 0 is ignored. Thread-safe, lock-free. */
void jr_arena_free(struct jr_region *r, uint32_t ref);

#endif
