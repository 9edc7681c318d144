/*
 * reqpool.h - the resource requests of the coordinator's jobs, kept once
 * per distinct request: a job's jr_sched_job.req points at a shared,
 * counted copy (reqpool.c), so a queued job carries 8 bytes for it
 * instead of 96 (most jobs ask for the same few things). Under
 * state_lock, as the jobs.
 */
#ifndef JR_COORD_REQPOOL_H
#define JR_COORD_REQPOOL_H

#include <stdint.h>

#include "sched/resources.h"

struct req_entry;

struct jr_req_pool {
	struct req_entry **slots;	/* open addressing, NULL: empty */
	uint32_t cap, count;		/* cap a power of two, count <= cap / 2 */
	struct req_entry *last;		/* the last one taken: jobs in a row
					 * often ask for the same */
};

/* A shared copy of req with one more reference; NULL without memory.
 * Pointer-equal for equal requests while either is held. */
const struct jr_req *jr_req_pool_take(struct jr_req_pool *p, const struct jr_req *req);
/* Drop a reference taken above (NULL allowed): the last frees the copy.
 * Needs no pool: the copy knows its own. */
void jr_req_pool_drop(const struct jr_req *req);
/* Every request released already (jobs freed first). */
void jr_req_pool_destroy(struct jr_req_pool *p);

#endif
