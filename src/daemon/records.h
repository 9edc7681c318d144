/*
 * records.h - what jobringd writes to its journal and snapshots: the
 * payloads of the journal's records (journal.h frames each with a length,
 * a seq and a CRC32C). Written by durable.c and snapshot.c, read by
 * recover.c and tools/jobring-journal.c. Little-endian, fixed-width
 * fields; a payload's size is checked against its type before use.
 *
 * Journal (state_dir/journal/journal-<seq>.log):
 *   SUBMIT   a submission as acknowledged: who sent it, its job ids, and
 *            its body exactly as received (one JSON object, or NDJSON
 *            whose non-blank lines are the jobs, in the ids' order)
 *   START, RETRY, END
 *            a job's attempt began; failed and was queued again; the job
 *            became final (with exit status and rusage)
 *   CANCEL   a user's cancel request
 *   QUEUE    a queue was created
 *   WORKER   an external worker registered (workers are never removed;
 *            one that stops beating turns unhealthy, which is not kept)
 *
 * Snapshot (state_dir/snapshot-<seq>/, itself a journal directory):
 *   SNAP_BEGIN (the last journal seq it covers), then QUEUE, WORKER and
 *   SNAP_JOBS records (about 1 MiB of jobs each: per job a rec_snap_job,
 *   the JSON's length as a u64, the JSON padded to 8 bytes), then
 *   SNAP_END (the number of jobs): a snapshot without its SNAP_END is
 *   not used.
 */
#ifndef JR_RECORDS_H
#define JR_RECORDS_H

#include <stdint.h>

#include "jobring.h"

enum rec_type {
	REC_SUBMIT = 1,
	REC_START = 2,
	REC_RETRY = 3,
	REC_END = 4,
	REC_CANCEL = 5,
	REC_QUEUE = 6,
	REC_WORKER = 7,
	REC_SNAP_BEGIN = 16,
	REC_SNAP_JOBS = 17,
	REC_SNAP_END = 18,
};

#define REC_SUBMIT_SINGLE 1u	/* the body is one JSON object (POST /jobs) */
#define REC_SUBMIT_SWITCH_USER 2u	/* run as uid/gid (a root daemon's client) */

struct rec_submit {
	uint32_t uid, gid;
	uint32_t flags;		/* REC_SUBMIT_* */
	uint32_t count;
	uint64_t created_ns;
	/* then count job ids (u64), then the body */
};
_Static_assert(sizeof(struct rec_submit) == 24, "rec_submit size");

/* START, RETRY, END. */
struct rec_event {
	jr_job_id job_id;
	uint8_t state;		/* enum jr_job_state after the event */
	uint8_t reason;		/* enum jr_reason */
	uint16_t worker_id;
	uint32_t attempt;
	int32_t exit_code;
	int32_t signal;
	uint64_t time_ns;
	uint64_t max_rss_kib, user_us, system_us;
};
_Static_assert(sizeof(struct rec_event) == 56, "rec_event size");

struct rec_cancel {
	jr_job_id job_id;
	uint32_t uid;
	uint32_t pad;
};

struct rec_queue {
	char name[48];
	int32_t priority;
	uint32_t max_workers;
};

/* Then the worker's registration JSON (compact). */
struct rec_worker {
	uint32_t number;
	uint32_t uid;
	uint64_t registered_ns;
};

struct rec_snap_begin {
	uint64_t covers_seq;	/* journal records up to this one are in it */
	uint64_t time_ns;
};

/* One job of a SNAP_JOBS record; then its JSON's length (u64) and the
 * JSON, padded to 8 bytes. */
struct rec_snap_job {
	jr_job_id job_id;
	uint32_t uid, gid;
	uint32_t flags;		/* REC_SUBMIT_SWITCH_USER */
	uint8_t state;
	uint8_t reason;
	uint16_t worker_id;
	uint32_t attempt;
	int32_t exit_code;
	int32_t signal;
	uint32_t pad;
	uint64_t created_ns, start_ns, end_ns;
	uint64_t max_rss_kib, user_us, system_us;
};
_Static_assert(sizeof(struct rec_snap_job) == 88, "rec_snap_job size");

#define REC_SNAP_JOB_BYTES(text_len) \
	(sizeof(struct rec_snap_job) + sizeof(uint64_t) + (((text_len) + 7u) & ~(size_t)7))

struct rec_snap_end {
	uint64_t jobs;
};

const char *rec_type_name(uint16_t type);

#endif
