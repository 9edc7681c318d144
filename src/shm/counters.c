/*
 * counters.c - the region's stat shards (jobs submitted and cancelled)
 * and the done futex: the notifier's and the waiter's halves of one
 * protocol, kept in one file. See counters.h.
 */
#include "base/common.h"
#include "shm/counters.h"

static __thread int32_t thread_shard = -1;
static uint32_t next_shard;

static struct jr_stat_shard *my_shard(struct jr_region *r)
{
	if (jr_unlikely(thread_shard < 0))
		thread_shard = (int32_t)(jr_fetch_add_relaxed(&next_shard, 1) %
					 JR_STAT_SHARDS);
	return &r->ctl->shards[thread_shard];
}

void jr_counters_add_submitted(struct jr_region *r, uint64_t n)
{
	jr_fetch_add_relaxed(&my_shard(r)->submitted, n);
}

void jr_counters_add_cancelled(struct jr_region *r, uint64_t n)
{
	jr_fetch_add_acq_rel(&my_shard(r)->cancelled, n);
}

uint64_t jr_counters_submitted(const struct jr_region *r)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < JR_STAT_SHARDS; i++)
		n += jr_load_acquire(&r->ctl->shards[i].submitted);
	return n;
}

uint64_t jr_counters_cancelled(const struct jr_region *r)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < JR_STAT_SHARDS; i++)
		n += jr_load_acquire(&r->ctl->shards[i].cancelled);
	return n;
}

void jr_counters_notify_done(struct jr_region *r)
{
	struct jr_control *ctl = r->ctl;

	/* Pairs with the waiter's increment of done_waiters in
	 * jr_counters_wait_done(): counters stored above are seen by a
	 * waiter that this load misses. */
	jr_fence_seq_cst();
	if (jr_load_relaxed(&ctl->done_waiters) == 0)
		return;
	jr_fetch_add_acq_rel(&ctl->done_seq, 1);
	jr_futex_wake_all(&ctl->done_seq);
}

void jr_counters_wait_done(struct jr_region *r, bool (*all_done)(const void *ctx),
			   const void *ctx)
{
	struct jr_control *ctl = r->ctl;

	for (;;) {
		jr_fetch_add_acq_rel(&ctl->done_waiters, 1);
		jr_fence_seq_cst();	/* pairs with jr_counters_notify_done() */
		uint32_t seq = jr_load_acquire(&ctl->done_seq);
		bool done = all_done(ctx);
		if (!done)
			jr_futex_wait(&ctl->done_seq, seq);
		jr_fetch_sub_acq_rel(&ctl->done_waiters, 1);
		if (done)
			return;
	}
}
