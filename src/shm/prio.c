/*
 * prio.c - priority levels over MPMC rings with a bitmap of non-empty
 * levels.
 *
 * The bitmap protocol. A producer enqueues, then sets its level's bit if
 * it is not already set. A worker about to go idle clears the bits of the
 * rings it finds empty, each time looking at the ring again after the
 * clear and setting the bit back if it is not empty. The producer's enqueue and bit test, and the consumer's clear and
 * re-check, are each separated by a sequentially consistent fence or
 * read-modify-write, so one of them sees the other: either the producer
 * sees the bit clear and sets it, or the consumer's re-check sees the job.
 * A job is therefore never stranded behind a clear bit.
 */
#include "base/common.h"
#include "shm/prio.h"
#include "shm/ring.h"

static struct ck_ring *level_ring(const struct jr_region *r, unsigned level)
{
	return &r->prio_rings[level];
}

static uint32_t *level_buf(const struct jr_region *r, unsigned level)
{
	return r->prio_bufs + (uint64_t)level * r->hdr->ring_size;
}

bool jr_prio_push_batch_mpmc(struct jr_region *r, unsigned level,
			     const uint32_t *index, uint32_t n)
{
	uint64_t bit = 1ull << level;

	JR_ASSERT(level < JR_PRIORITY_LEVELS);
	if (!jr_ring_enqueue_batch_mpmc(level_ring(r, level), level_buf(r, level),
					index, n))
		return false;
	/* Pairs with the consumer's clear-then-recheck in level_drained(). */
	jr_fence_seq_cst();
	if (!(jr_load_relaxed(&r->ctl->prio_bitmap) & bit))
		jr_fetch_or_seq_cst(&r->ctl->prio_bitmap, bit);
	return true;
}

uint32_t jr_prio_count(const struct jr_region *r, unsigned level)
{
	return jr_ring_count(level_ring(r, level));
}

/* The ring of level looked empty: clear its bit unless a producer just
 * filled it. */
static void level_drained(struct jr_region *r, unsigned level)
{
	uint64_t bit = 1ull << level;

	jr_fetch_and_seq_cst(&r->ctl->prio_bitmap, ~bit);
	/* The RMW above is a full barrier; pairs with the producer's fence. */
	if (jr_ring_count(level_ring(r, level)) != 0)
		jr_fetch_or_seq_cst(&r->ctl->prio_bitmap, bit);
}

void jr_prio_clear_empty_levels(struct jr_region *r)
{
	uint64_t bm = jr_load_acquire(&r->ctl->prio_bitmap);

	while (bm) {
		unsigned level = 63u - (unsigned)__builtin_clzll(bm);
		bm &= ~(1ull << level);
		if (jr_ring_count(level_ring(r, level)) == 0)
			level_drained(r, level);
	}
}

/* Bits are not cleared here: a busy claimer that empties a ring leaves
 * the bit set, so that a producer refilling it does not have to set it
 * again. Levels whose bit is set are tried from the highest down; a clear
 * bit always means an empty ring, so no non-empty level is passed over. */
uint32_t jr_prio_claim_batch_mpmc(struct jr_region *r, uint32_t *index,
				  uint32_t max, unsigned *level_out)
{
	uint64_t bm = jr_load_acquire(&r->ctl->prio_bitmap);

	while (bm) {
		unsigned level = 63u - (unsigned)__builtin_clzll(bm);
		uint32_t n = jr_ring_dequeue_batch_mpmc(level_ring(r, level),
							level_buf(r, level),
							index, max);
		if (n > 0) {
			*level_out = level;
			return n;
		}
		bm &= ~(1ull << level);
	}
	return 0;
}
