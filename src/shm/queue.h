/*
 * queue.h - named job queues (the JobQueue entity) and their concurrency
 * caps.
 *
 * A queue has a name, a default priority and max_workers, the number of
 * its jobs that may run at once. Queues without a cap (the default queue
 * among them) cost nothing on the dispatch path. For a capped queue a job
 * must hold one of max_workers run tokens: a worker that dequeues a job
 * whose queue has no token left moves it to the queue's held list (state
 * HELD), and a finishing job hands its token to the oldest held job, which
 * goes back to its priority ring carrying the token. The token count and
 * the held list sit under a per-queue spinlock: that lock is only taken
 * for capped queues, and only by their own jobs.
 */
#ifndef JR_QUEUE_H
#define JR_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/region.h"

enum jr_admit {
	JR_ADMIT_RUN,		/* the job holds a token: start it */
	JR_ADMIT_HELD,		/* moved to the held list: not ours any more */
	JR_ADMIT_CANCELLED,	/* was cancelled: free it */
};

/* Publish the default queue. Call once on a new region. */
void jr_queue_table_init(struct jr_region *r);

/* See jr_queue_create() and jr_queue_lookup() in jobring.h. */
int jr_queue_create_in(struct jr_region *r, const char *name, int priority,
		       uint32_t max_workers, uint32_t *queue_id);
int jr_queue_lookup_in(const struct jr_region *r, const char *name,
		       uint32_t *queue_id);

/* See jr_queue_update() in jobring.h: new settings for a live queue.
 * 0 or -ENOENT. */
int jr_queue_update_in(struct jr_region *r, uint32_t id, int priority, uint32_t max_workers);

/* After a raised cap: a held job that may now run, carrying a token, to
 * be pushed to its priority ring; 0 when none may (or none is held). */
uint32_t jr_queue_unhold_in(struct jr_region *r, struct jr_queue_rec *q);

/* Unpublish queue id (its jobs are the caller's to check: none may be
 * live). 0, -ENOENT, -EPERM (the default queue), -EBUSY (function jobs
 * hold its tokens or wait for one). */
int jr_queue_delete_in(struct jr_region *r, uint32_t id);

/* The live queue record for id, or NULL. */
struct jr_queue_rec *jr_queue_get(const struct jr_region *r, uint32_t id);

static inline bool jr_queue_is_capped(const struct jr_queue_rec *q)
{
	return jr_load_relaxed(&q->max_workers) != 0;
}

/* For a job of a capped queue just dequeued by its owner: take a token or
 * hold the job. */
enum jr_admit jr_queue_admit(struct jr_region *r, struct jr_queue_rec *q,
			     uint32_t index);

/* Give back the token of a finished (or not started) job. Returns the
 * index of a held job that now carries the token and must be pushed back
 * to its priority ring, or 0. Cancelled held jobs met on the way are
 * freed. */
uint32_t jr_queue_release(struct jr_region *r, struct jr_queue_rec *q);

/* Cancel every held job of every queue (engine close). Returns how many
 * this call cancelled. */
uint64_t jr_queue_cancel_all_held(struct jr_region *r);

/* Jobs waiting for a token, over all queues, not counting cancelled ones. */
uint64_t jr_queue_held_total(const struct jr_region *r);

#endif
