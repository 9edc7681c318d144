/*
 * ring.h - batch enqueue and dequeue on Concurrency Kit MPMC rings of
 * uint32_t slot indexes.
 *
 * The rings are struct ck_ring: ck's layout (consumer head and producer
 * head/tail on separate cache lines), ck_ring_init(), ck_ring_valid() and
 * ck's multi-producer/multi-consumer protocol: a producer reserves entries
 * by CAS on p_head, writes them, waits for earlier producers and publishes
 * by storing p_tail; a consumer reads entries below p_tail and claims them
 * by CAS on c_head. Like ck, a ring of size S holds at most S - 1 entries.
 *
 * What is ours: ck 0.7.1 moves one entry per CAS, and a job dispatcher
 * pays that CAS (a cache-line transfer between cores) per job. These
 * functions move n entries per CAS; bench/dispatch measures the difference
 * against ck's own ck_ring_enqueue_mpmc/ck_ring_dequeue_mpmc. They use the
 * __atomic builtins instead of ck_pr's inline assembly so that
 * ThreadSanitizer sees the synchronization (docs/TESTING.md).
 */
#ifndef JR_RING_H
#define JR_RING_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <ck_ring.h>

#include "base/atomics.h"

static inline uint32_t jr_ring_count(const struct ck_ring *ring)
{
	/* Consumer first: p_tail - c_head can only shrink if read the other
	 * way round. */
	uint32_t c = jr_load_acquire(&ring->c_head);
	uint32_t p = jr_load_acquire(&ring->p_tail);

	return p - c;
}

/* Producers keep a copy of c_head on their own cache line, in the
 * padding that ck_ring puts after p_head: a value of c_head from the past
 * is a lower bound on it, so room it shows is real room. The consumers'
 * line is read only when the copy shows the ring too full. */
static inline uint32_t *ring_consumer_cache(struct ck_ring *ring)
{
	_Static_assert(sizeof(ring->_pad) >= sizeof(uint32_t),
		       "room for the cached consumer position");
	return (uint32_t *)(void *)ring->_pad;
}

/* Reserve n entries after p_head. Returns false, reserving nothing, when
 * fewer than n are free. */
static inline bool ring_reserve_mp(struct ck_ring *ring, uint32_t n,
				   uint32_t *producer_out)
{
	uint32_t *cache = ring_consumer_cache(ring);
	uint32_t producer = jr_load_relaxed(&ring->p_head);
	uint32_t consumer = jr_load_relaxed(cache);

	for (;;) {
		if (producer - consumer + n <= ring->mask) {
			if (jr_cas_acq_rel(&ring->p_head, &producer, producer + n))
				break;
			continue;
		}
		/* Pairs with the consumer's c_head CAS (release): entries it
		 * read may now be overwritten. */
		uint32_t fresh = jr_load_acquire(&ring->c_head);
		if (fresh != consumer) {
			consumer = fresh;
			jr_store_relaxed(cache, fresh);
			continue;
		}
		uint32_t now = jr_load_acquire(&ring->p_head);
		if (now == producer)
			return false;	/* full, and no producer moved */
		producer = now;
	}
	*producer_out = producer;
	return true;
}

/* Publish [producer, producer + n) once every earlier reservation is
 * published, in reservation order. */
static inline void ring_publish_mp(struct ck_ring *ring, uint32_t producer,
				   uint32_t n)
{
	unsigned spins = 0;

	while (jr_load_acquire(&ring->p_tail) != producer) {
		/* An earlier producer was preempted between reserve and
		 * publish; on an oversubscribed host, let it run. */
		if (++spins % 1024 == 0)
			sched_yield();
		else
			jr_cpu_relax();
	}
	/* Pairs with the consumer's acquire load of p_tail: the entries
	 * written above are visible before the new tail. */
	jr_store_release(&ring->p_tail, producer + n);
}

/* Enqueue n entries as one contiguous run; true on success, false (nothing
 * enqueued) if the ring lacks room for all n. Any number of producers. */
static inline bool jr_ring_enqueue_batch_mpmc(struct ck_ring *ring,
					      uint32_t *buf,
					      const uint32_t *items, uint32_t n)
{
	uint32_t producer;

	if (!ring_reserve_mp(ring, n, &producer))
		return false;
	/* Relaxed atomics: a stale consumer may still be reading here, and
	 * its CAS on c_head will fail; the race is benign but must be
	 * declared. */
	for (uint32_t i = 0; i < n; i++)
		jr_store_relaxed(&buf[(producer + i) & ring->mask], items[i]);
	ring_publish_mp(ring, producer, n);
	return true;
}

/* Dequeue up to max entries (at least 1 if the ring is not empty) into
 * out; returns how many. Any number of consumers. */
static inline uint32_t jr_ring_dequeue_batch_mpmc(struct ck_ring *ring,
						  const uint32_t *buf,
						  uint32_t *out, uint32_t max)
{
	uint32_t consumer = jr_load_relaxed(&ring->c_head);

	for (;;) {
		/* Pairs with ring_publish_mp()'s release store of p_tail. */
		uint32_t producer = jr_load_acquire(&ring->p_tail);
		uint32_t n = producer - consumer;

		if (n == 0)
			return 0;
		if (n > max)
			n = max;
		for (uint32_t i = 0; i < n; i++)
			out[i] = jr_load_relaxed(&buf[(consumer + i) & ring->mask]);
		/* Release: our reads of the entries happen before a producer
		 * that sees the new c_head overwrites them. */
		if (jr_cas_acq_rel(&ring->c_head, &consumer, consumer + n))
			return n;
	}
}

#endif
