/*
 * allocrec.h - the journal's records of allocation queues (issue 17,
 * types 96-99; alloc.h applies them, records.h lists every type):
 *   ALLOC         a queue added: rec_alloc, then its definition JSON;
 *                 also in snapshots, one per queue
 *   ALLOC_DELETE  a queue removed (rec_alloc_delete)
 *   ALLOC_JOB     a Slurm job of a queue submitted or ended
 *                 (rec_alloc_job); in snapshots, each live one submitted
 * Type 99 stays free for this feature.
 */
#ifndef JR_STATE_ALLOCREC_H
#define JR_STATE_ALLOCREC_H

#include <stdint.h>

enum {
	REC_ALLOC = 96,
	REC_ALLOC_DELETE = 97,
	REC_ALLOC_JOB = 98,
};

struct rec_alloc {
	uint32_t id;
	uint32_t uid;		/* who added it */
	uint64_t created_ns;
	uint32_t next_id;	/* queue ids below this were given */
	uint32_t def_len;	/* the definition's bytes that follow */
	uint64_t submitted, ended;	/* snapshots: its counters; 0 in the journal */
};
_Static_assert(sizeof(struct rec_alloc) == 40, "rec_alloc size");

struct rec_alloc_delete {
	uint32_t id;
	uint32_t by_uid;
};
_Static_assert(sizeof(struct rec_alloc_delete) == 8, "rec_alloc_delete size");

enum rec_alloc_job_op { REC_ALLOC_JOB_SUBMITTED = 1, REC_ALLOC_JOB_ENDED = 2 };

struct rec_alloc_job {
	uint32_t alloc_id;
	uint32_t op;		/* enum rec_alloc_job_op */
	uint64_t slurm_id;
	uint64_t time_ns;	/* CLOCK_REALTIME: submitted or ended */
};
_Static_assert(sizeof(struct rec_alloc_job) == 24, "rec_alloc_job size");

#endif
