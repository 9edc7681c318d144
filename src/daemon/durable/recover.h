/*
 * recover.h - jobringd's start: read the latest complete snapshot and the
 * journal after it into a picture of every job (recover_read, in
 * recover.c), then put that picture into a fresh engine and the state the
 * API serves (recover_apply, in restore.c): queues first, then external
 * workers, then jobs at their old ids in submission order (so
 * dependencies exist before their dependents).
 *
 * Rules, applied record by record:
 *  - a job is as its last record says; a final state is never undone;
 *  - running when the daemon died: handed to the engine as running, with
 *    its process, to be taken back or run again (coordinator_lost);
 *  - a cancel request without its END: cancelled;
 *  - a hold or release (CONTROL): the job's last one decides; an UPDATE
 *    replaces the job's JSON; a requeue of a running job without a
 *    later RETRY or END: the job is requeued again once restored;
 *  - the last SCHEDULER record decides whether scheduling is paused;
 *  - finished jobs past the retention limits (count, age) are dropped;
 *  - the journal is read up to its first torn or corrupt record, and cut
 *    there (recover_read reports the bytes dropped).
 */
#ifndef JR_RECOVER_H
#define JR_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/durable/durable.h"
#include "daemon/durable/records.h"
#include "daemon/state/arrayspec.h"
#include "daemon/state/state.h"

struct retention {
	uint64_t max_finished;	/* finished jobs kept, newest first; 0: no limit */
	uint64_t max_age_ns;	/* finished longer ago are dropped; 0: no limit */
};

/* One job as the records left it. */
struct rjob {
	jr_job_id id;		/* 0: this slot holds none */
	uint64_t order;		/* its place in recovery.order */
	uint32_t uid, gid, flags;
	uint8_t state, reason;
	uint32_t attempt;
	uint32_t worker_id;	/* 23 bits (issue 14): in the padding after attempt */
	struct jr_exit_status status;	/* its last attempt's */
	bool cancel_requested;
	bool requeue_requested;		/* a requeue of a running job, not yet
					 * seen to end its attempt */
	int8_t held;			/* -1: as its JSON says ("hold"), 0: released,
					 * 1: held */
	uint32_t proc;			/* its rproc in recovery.procs; 0: none */
	uint64_t created_ns, start_ns, end_ns;
	struct submitted_block *block;	/* its submitted JSON, held */
	uint32_t json_offset, json_len;
	uint32_t array_task_id;		/* with array_job_id: its index */
	jr_job_id array_job_id;		/* its array's id; 0: not a task */
};

/* What only some jobs have: a running one's process and resources, a
 * retrying one's backoff, why an attempt could not start. */
struct rproc {
	struct rec_proc proc;		/* pid 0: none known */
	uint8_t *alloc;
	uint64_t not_before_ns;
	int32_t spawn_error;		/* its last attempt could not start: why */
};

struct rworker {
	struct rec_worker rec;
	char *json;
};

struct recovery {
	struct arrayspec array;		/* scratch: an array's index set (on_submit) */
	struct array_index tasks;	/* array tasks read back (aftercorr), sorted */
	uint32_t capacity;
	struct rjob *jobs;		/* by slot index */
	uint32_t *order;		/* slot indexes in submission order */
	uint64_t order_count, order_cap;
	struct rec_queue *queues;
	uint32_t queue_count;
	struct rworker *workers;
	uint32_t worker_count;
	struct executions execs;	/* past attempts, for the state (executions.h) */
	int8_t paused;			/* -1: never said, 0: resumed, 1: paused */
	struct triggers triggers;	/* as their records left them (issue 15) */
	struct fired origins;		/* fired jobs' origins (issue 15) */
	struct schedules *sched;	/* schedules read back (issue 15); NULL: none */
	struct outbox outbox;		/* notifications read back (issue 16) */
	struct allocs allocs;		/* allocation queues read back (issue 17) */
	struct rproc *procs;		/* [0] unused */
	uint32_t proc_count, proc_cap;
	/* Snapshot texts being packed: jobs without a batch header, and jobs
	 * of the header that hpack starts with (one copy of it for them). */
	struct rec_pack {
		struct submitted_block *b;
		size_t used, cap;
	} pack, hpack;
	/* The text of the last array task a snapshot wrote in full (held):
	 * what REC_SNAP_TEXT_SAME tasks after it share. */
	struct submitted_block *snap_array_block;
	uint32_t snap_array_offset, snap_array_len;
	char *snap_header;		/* the last header a snapshot job wrote */
	size_t snap_header_len;
	/* Job totals (issue 16): the snapshot's REC_SNAP_COUNTERS (or, from
	 * a snapshot without one, its jobs counted), then the journal's
	 * SUBMIT and END records after it. */
	struct jobstats_totals snap_totals, snap_jobs_totals, journal_totals;
	bool snap_has_totals;
	/* What was read. */
	uint64_t snapshot_seq;		/* 0: no snapshot */
	uint64_t snapshot_jobs;
	uint64_t records, last_seq, bytes_dropped, journal_bytes;
	uint32_t segments;
	uint64_t outside_table;		/* ids beyond this table's capacity */
	/* What was put back. */
	uint64_t restored_live, restored_final, requeued_lost, aged_out, unreadable;
	double read_ms, apply_ms;
	/* The lease key (recover_lease_key), for the workers' registry. */
	struct lease_key lease;
	bool lease_loaded;
	bool lease_fresh;	/* made at this start: no lease given before holds */
	/* External executions put back running (issue 17): re-attached to
	 * their workers once the engine has them (restore.c). */
	struct rattach {
		uint64_t execution_id;
		uint32_t worker_id;	/* the engine's (JR_EXTERNAL_WORKER_BASE + n) */
	} *reattach;
	uint32_t reattach_count, reattach_cap;
	uint64_t reattached, reattach_lost;
	char error[1024];
};

/* Read state_dir's snapshot and journal (journal_dir), cut the journal
 * after damage. 0 or -errno with r->error. */
int recover_read(struct recovery *r, const char *state_dir, const char *journal_dir,
		 uint32_t capacity);

/* The lease key of state_dir (lease.h: read, or made at the first
 * start), kept for recover_apply. 0 or -errno with r->error. */
int recover_lease_key(struct recovery *r, const char *state_dir);

/* Put what was read into st (before any submission; what a snapshot
 * must keep beyond the engine's table noted in d, which may be NULL),
 * then let submissions in (jr_command_restore_done). 0 or -errno with
 * r->error. */
int recover_apply(struct recovery *r, struct state *st, struct durable *d,
		  const struct retention *keep);

void recover_free(struct recovery *r);

/* The job totals the snapshot and journal read say (issue 16). */
void recover_totals(const struct recovery *r, struct jobstats_totals *out);

/* Apply one journal or snapshot record (also used by tools/jobring-journal
 * to summarize): 0, or -EPROTO for a payload of the wrong size. */
int recover_record(struct recovery *r, uint16_t type, const void *payload, uint32_t len);

/* A pack of snapshot texts done with: the jobs hold their block now
 * (recover.c; recoverread.c calls it after the snapshot). */
void recover_pack_done(struct rec_pack *p);

/* The latest complete snapshot of state_dir: its directory name (in
 * name, "" if none) and the seq it covers. */
uint64_t recover_latest_snapshot(const char *state_dir, char *name, size_t size);

/* The end time before which finished jobs go: by age, and so that at
 * most keep->max_finished of the n end times remain (sorts ends). */
uint64_t retention_cutoff(uint64_t *ends, uint64_t n, const struct retention *keep,
			  uint64_t now);


#endif
