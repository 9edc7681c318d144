/*
 * executions.h - every attempt of the jobs the daemon keeps: the history
 * behind GET /executions. The engine's table shows a job's latest attempt
 * only; this keeps, per job, the attempts that ended and were followed by
 * another (fed by the RETRY events durable.c journals), the end of every
 * attempt of a job that has a history, and the result JSON an external
 * worker completed an attempt with. Recovery rebuilds it from the
 * journal's START/RETRY/END/RESULT records and snapshots' SNAP_EXECS.
 *
 * Bounded with the job table: one entry per slot, replaced (with its past
 * attempts' output files) when an event names a newer job in the slot,
 * dropped when the job leaves retention. A job that never retried and
 * sent no result costs 8 bytes (its slot's pointer). The event loop's
 * thread only.
 */
#ifndef JR_EXECUTIONS_H
#define JR_EXECUTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/exitstatus.h"
#include "jobring.h"

#define EXEC_RESULT_MAX (64u * 1024u)	/* an external result's JSON, bytes */

/* One attempt as it ended (or, ended 0, as it is known so far). */
struct exec_rec {
	uint64_t start_ns, end_ns;	/* CLOCK_REALTIME; 0: unknown, running */
	struct jr_exit_status status;
	int32_t spawn_error;
	uint32_t attempt;
	uint32_t worker_id;		/* the engine's numbering */
	uint8_t state;			/* enum jr_job_state the attempt ended in */
	uint8_t reason;			/* enum jr_reason */
	uint8_t ended;
	uint8_t pad;
	uint32_t result_len;		/* 0: no result JSON */
	char *result;			/* NUL-terminated JSON, owned */
};

struct exec_job {
	jr_job_id id;
	uint32_t count, cap;
	struct exec_rec *recs;		/* by attempt, ascending */
};

/* Slots per run of by_slot that runs_used marks (32 KiB of pointers). */
#define EXEC_RUN_SLOTS 4096u

struct executions {
	uint32_t capacity;
	struct exec_job **by_slot;
	/* A bit per run of EXEC_RUN_SLOTS slots: an entry was ever made in
	 * it. A run without one is never read: reading the pages of an
	 * untouched table maps them (zero pages, but resident), and the
	 * snapshot asks for every job's history (issue 14: 8 bytes per
	 * slot of --capacity resident after the first snapshot). */
	uint64_t *runs_used;
	int out_dirfd;			/* past attempts' files go with them; < 0: none */
	uint64_t jobs, records, result_bytes;
};

/* An attempt's end as an event or a record tells it. */
struct exec_end {
	jr_job_id id;
	uint32_t attempt, worker_id;
	uint8_t state, reason;
	bool retried;			/* another attempt follows (RETRY) */
	bool requeued;			/* it ended, then a requeue ran the job
					 * again: kept, in the state it ended in */
	uint64_t start_ns, end_ns;
	struct jr_exit_status status;
	int32_t spawn_error;
};

/* 0 or -ENOMEM. out_dirfd -1 until main.c sets it. */
int executions_init(struct executions *x, uint32_t capacity);
void executions_destroy(struct executions *x);
/* Move src's entries into an empty dst of the same capacity (recovery
 * hands its history over); src is left empty. */
void executions_take(struct executions *dst, struct executions *src);

/* The job's history, or NULL if it has none. */
const struct exec_job *executions_of(const struct executions *x, jr_job_id id);
const struct exec_rec *executions_find(const struct executions *x, jr_job_id id,
				       uint32_t attempt);

/* Record an attempt's end. A retried or requeued attempt is always
 * kept; a final one only if the job already has a history. 0, -ENOMEM (not kept) or
 * -ESTALE (the id is beyond the table, or a newer job holds its slot). */
int executions_ended(struct executions *x, const struct exec_end *e);
/* Keep the job's latest attempt as the engine shows it (info from
 * jr_job_get), whether or not the job has a history: for a route that
 * makes a finished job run again (a requeue) before it does, so that the
 * attempt that ended is not lost with the table's view of it. 0,
 * -ENOMEM, or -ENOENT if no attempt ran. (The route journals its own
 * record; recovery, replaying it, calls executions_ended with the
 * attempt's END as the job's record holds it.) */
int executions_keep_latest(struct executions *x, const struct jr_job_info *info);
/* Recovery: the job's attempt was running when the daemon stopped. It is
 * kept whether or not the job has a history: the job may be taken back
 * (its end comes as usual) or run again (the next start ends it as lost,
 * reason coordinator_lost). 0 or -ENOMEM. */
int executions_was_running(struct executions *x, jr_job_id id, uint32_t attempt,
			   uint32_t worker_id, uint64_t start_ns);
/* Note an attempt's start if the job has a history (a requeue, a retry);
 * an earlier attempt that never ended is marked lost.
 * An older job's history in the slot goes (with its files): the slot was
 * reused. */
void executions_started(struct executions *x, jr_job_id id, uint32_t attempt,
			uint32_t worker_id, uint64_t start_ns);
/* Keep result (len bytes of JSON, copied) for the attempt: 0, -E2BIG
 * (over EXEC_RESULT_MAX) or -ENOMEM. */
int executions_set_result(struct executions *x, jr_job_id id, uint32_t attempt,
			  const char *result, size_t len);
/* Put back an attempt as a snapshot kept it (copies rec->result). */
int executions_restore(struct executions *x, jr_job_id id, const struct exec_rec *rec);

/* Forget the job's history and remove its past attempts' output files. */
void executions_drop(struct executions *x, jr_job_id id);
/* Forget the history of every job the engine does not hold (after
 * recovery: jobs aged out or beyond the table). */
void executions_prune(struct executions *x, struct jr_engine *e);

#endif
