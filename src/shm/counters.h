/*
 * counters.h - the region's shared counters of jobs submitted and
 * cancelled (spread over stat shards, one per thread), and the futex on
 * which jr_engine_wait_all() waits for every job to finish.
 *
 * They live down here, beside the region, because every layer that ends
 * a job counts it: the workers, the coordinator, the engine's own cancel
 * and close. Whoever counts finished jobs calls jr_counters_notify_done()
 * afterwards; the waiter says, through a callback, what "all done" means.
 */
#ifndef JR_COUNTERS_H
#define JR_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/region.h"

/* Count n jobs as submitted, on the calling thread's shard (relaxed: a
 * job is counted before any thread can see its slot published). */
void jr_counters_add_submitted(struct jr_region *r, uint64_t n);

/* Count n jobs as cancelled, on the calling thread's shard; the release
 * pairs with the acquire loads of jr_counters_cancelled(). */
void jr_counters_add_cancelled(struct jr_region *r, uint64_t n);

/* The sums over every shard (acquire loads). */
uint64_t jr_counters_submitted(const struct jr_region *r);
uint64_t jr_counters_cancelled(const struct jr_region *r);

/* Wake jr_counters_wait_done() callers, if there are any. Call after
 * storing the counts of finished jobs. Any thread. */
void jr_counters_notify_done(struct jr_region *r);

/* Return once all_done(ctx) is true: it is asked again after every
 * notification. all_done must read the finished counts before the
 * submitted ones. Any thread; any number of waiters. */
void jr_counters_wait_done(struct jr_region *r, bool (*all_done)(const void *ctx),
			   const void *ctx);

#endif
