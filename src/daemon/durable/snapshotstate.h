/*
 * snapshotstate.h - the records a snapshot writes of the state beside the
 * jobs (snapshotstate.c), for snapshot.c. Internal to src/daemon/durable;
 * the loop's thread only.
 */
#ifndef JR_SNAPSHOTSTATE_H
#define JR_SNAPSHOTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state/jobstats.h"
#include "daemon/state/state.h"

/* One record, a head and a tail to follow it (tail_len may be 0): 0, or
 * why it could not be put (-ENOMEM), which ends the snapshot. */
typedef int (*snapshot_put_fn)(void *ctx, uint16_t type, const void *head, size_t head_len,
			       const void *tail, size_t tail_len);

/* At the start, as of the snapshot's seq: the queues (in id order, the
 * default one too), whether scheduling is paused, the triggers, the
 * schedules, the origins of the fired jobs still held (st->fired is swept
 * of those gone first), the outbox, totals (the job totals as journaled)
 * and the allocation queues, in this order. 0, or the first error. */
int snapshot_state_out(struct state *st, const struct jobstats_totals *totals,
		       snapshot_put_fn put, void *ctx);

/* The registered workers from *cursor on (advanced), until deadline (a
 * monotonic time, looked at every 64th): *done once all went out. 0, or
 * put's error. */
int snapshot_workers_out(const struct workers *reg, uint32_t *cursor, uint64_t deadline,
			 bool *done, snapshot_put_fn put, void *ctx);

#endif
