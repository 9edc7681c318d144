/*
 * prio.h - the lock-free priority queue: one MPMC ring of slot indexes per
 * priority level, plus a bitmap of levels that may be non-empty.
 *
 * Contract: jobs of one level leave in the order they entered (FIFO per
 * ring). A claim takes jobs from the highest level whose ring it finds
 * non-empty, and a level's bit is clear only while its ring is empty, so a
 * claim never passes over a job of higher priority that was enqueued
 * before the claim began. A set bit may be stale (its ring empty): bits
 * are cleared lazily, by workers about to idle.
 */
#ifndef JR_PRIO_H
#define JR_PRIO_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/region.h"

/* Enqueue n slot indexes at one level. Any number of producers. Returns
 * true, or false if the ring lacks room (cannot happen while every queued
 * job holds a slot: a ring is as large as the table). */
bool jr_prio_push_batch_mpmc(struct jr_region *r, unsigned level,
			     const uint32_t *index, uint32_t n);

/* Dequeue up to max indexes from the highest non-empty level; *level_out
 * receives the level. Returns how many (0: all levels empty). Any number
 * of consumers. */
uint32_t jr_prio_claim_batch_mpmc(struct jr_region *r, uint32_t *index,
				  uint32_t max, unsigned *level_out);

/* Clear the bits of levels whose rings are empty (safe against racing
 * producers). Called by workers before they idle. */
void jr_prio_clear_empty_levels(struct jr_region *r);

/* True if some level may hold jobs (a hint, for parking decisions). */
static inline bool jr_prio_maybe_nonempty(const struct jr_region *r)
{
	return jr_load_acquire(&r->ctl->prio_bitmap) != 0;
}

/* Jobs in the ring of one level, including cancelled ones not yet
 * skipped. */
uint32_t jr_prio_count(const struct jr_region *r, unsigned level);

#endif
