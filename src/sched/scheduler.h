/*
 * scheduler.h - the coordinator's scheduling pass: priorities, resources,
 * dependencies, delayed jobs and EASY backfilling, with the clock passed
 * in. The same code runs in real time (the coordinator) and in virtual
 * time (sim.c, for the trace benchmark and tests).
 *
 * Policy. Eligible jobs wait in priority order (higher first, FIFO
 * within a priority). A pass starts waiting jobs in that order while they
 * fit. The first that does not fit is the head: the pass works out when
 * it will fit (its shadow time), replaying the running jobs' expected
 * ends (start + time limit) on a copy of the pools, and reserves that for
 * it. Later jobs may start now only where they do not delay the head:
 * either they will end before the shadow time (they have a time limit and
 * now + limit <= shadow), or they fit in what is left over at the shadow
 * time once the head has its share (the "extra" resources). Jobs without
 * a time limit never count as ending, so they backfill only into extra
 * resources: the conservative rule for unknown run times.
 *
 * Dependencies. A job waits until every job it depends on succeeded.
 * Finishing a job touches only its own dependents (no scan). When a job
 * fails or is cancelled for good, all its transitive dependents are
 * cancelled with reason dependency_failed.
 *
 * Not thread-safe: one coordinator thread owns a struct jr_sched.
 */
#ifndef JR_SCHED_H
#define JR_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "jobring.h"
#include "sched/resources.h"

#define JR_TIME_NEVER UINT64_MAX
/* Jobs behind a blocked head that one pass considers for backfill. */
#define JR_BACKFILL_DEPTH 256u

enum jr_sched_state {
	JR_SCHED_PENDING,	/* waiting on dependencies or its start time */
	JR_SCHED_WAITING,	/* eligible, waiting for resources */
	JR_SCHED_RUNNING,
	JR_SCHED_SUCCEEDED,
	JR_SCHED_FAILED,
	JR_SCHED_CANCELLED,
};

/* Reasons are the public enum jr_reason (jobring.h). */
#define jr_sched_reason jr_reason

struct jr_sched_job {
	uint64_t id;		/* the caller's */
	int priority;
	uint64_t seq;		/* submission order, set by jr_sched_submit() */
	struct jr_req req;
	uint64_t limit_ns;	/* time limit; 0: none */
	uint64_t not_before_ns;	/* scheduled_at; 0: now */
	void *user;

	/* Owned by the scheduler. */
	enum jr_sched_state state;
	enum jr_sched_reason reason;
	uint32_t deps_left;
	uint32_t dependent_count, dependent_cap;
	struct jr_sched_job **dependents;
	struct jr_alloc *alloc;	/* while it holds resources, else NULL */
	uint64_t start_ns;
	uint64_t expected_end_ns;	/* start + limit, or JR_TIME_NEVER */
	uint32_t index;		/* position in the list it is on */
	uint8_t list;		/* which list: enum in sched.c */
	bool dependency_failed;	/* a dependency had failed before submit */
	bool local;		/* running on this host (counts for max_running) */
	bool held;		/* kept pending until jr_sched_release() */
};

struct jr_sched_ops {
	/* A job was given its resources at now: start it. */
	void (*start)(void *ctx, struct jr_sched_job *job, uint64_t now);
	/* A pending or waiting job ended without running (dependency failed,
	 * cancelled). */
	void (*ended)(void *ctx, struct jr_sched_job *job, uint64_t now);
	/* Optional: a job became eligible (dependencies met, start time
	 * come). Returns true if the owner takes it from here (a job for an
	 * external worker: it is on no list of the scheduler until
	 * jr_sched_start_external() or jr_sched_cancel()). */
	bool (*eligible)(void *ctx, struct jr_sched_job *job, uint64_t now);
	void *ctx;
};

struct jr_job_list {
	struct jr_sched_job **items;
	uint32_t count, cap;
};

struct jr_sched {
	struct jr_pools *pools;
	struct jr_sched_ops ops;
	uint64_t next_seq;
	/* Eligible jobs, one list per priority, each in submission (seq)
	 * order: a new job is appended whatever its priority. */
	struct jr_job_list waiting[JR_PRIORITY_LEVELS];
	uint64_t waiting_count;
	struct jr_job_list running;
	struct jr_job_list delayed;	/* min-heap on not_before_ns */
	/* At most this many local jobs run at once (0: no cap but the
	 * pools): jobringd --workers. */
	uint32_t max_running;
	uint32_t running_local;
	/* What the last pass decided for its head (tests, metrics). */
	uint64_t shadow_ns;
	uint64_t backfilled;
	struct jr_pools scratch;	/* look-ahead copy of the pools */
};

void jr_sched_init(struct jr_sched *s, struct jr_pools *pools,
		   const struct jr_sched_ops *ops);
void jr_sched_destroy(struct jr_sched *s);

/* Make job p a dependency of job: job waits for p to succeed. Call before
 * jr_sched_submit(job). If p already failed or was cancelled, job will be
 * cancelled (dependency_failed) when submitted. 0 or -ENOMEM. */
int jr_sched_depend(struct jr_sched_job *job, struct jr_sched_job *p);

/* Enter a job: pending (dependencies, start time) or waiting. Its req
 * must have passed jr_res_check_host(). 0 or -ENOMEM. Nothing starts
 * until the next pass. */
int jr_sched_submit(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* Start what can start at now. Returns how many started. */
uint32_t jr_sched_pass(struct jr_sched *s, uint64_t now);

/* An eligible job the owner took (ops.eligible) starts, holding no
 * resources of this host. */
void jr_sched_start_external(struct jr_sched *s, struct jr_sched_job *job,
			     uint64_t now);

/* A job that was running before a restart is running again: it holds
 * exactly alloc if that is free (else what its request takes anywhere,
 * else nothing; the return value says which: 0, 1, 2), started at
 * start_ns. No ops.start. */
int jr_sched_adopt(struct jr_sched *s, struct jr_sched_job *job, const struct jr_alloc *alloc,
		   uint64_t start_ns);

/* A running job ended: give back its resources, release or cancel its
 * dependents. state is SUCCEEDED, FAILED or CANCELLED. */
void jr_sched_finish(struct jr_sched *s, struct jr_sched_job *job,
		     enum jr_sched_state state, enum jr_sched_reason reason,
		     uint64_t now);

/* A running job failed but will be tried again: give back its resources
 * and make it eligible again at not_before_ns, without touching its
 * dependents. */
void jr_sched_requeue(struct jr_sched *s, struct jr_sched_job *job,
		      uint64_t not_before_ns, uint64_t now);

/* Cancel a pending or waiting job (and, for good, its dependents).
 * -EBUSY if it is running, -EALREADY if it has ended. */
int jr_sched_cancel(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* Hold a job that has not started (pending or waiting): it stays
 * pending, on no list, whatever its dependencies and start time, until
 * jr_sched_release(). A job submitted with held set starts out so. A
 * waiting job the owner took (ops.eligible) must first be taken back by
 * the owner. 0, -EBUSY if it is running, -EALREADY if it has ended. */
int jr_sched_hold(struct jr_sched *s, struct jr_sched_job *job);

/* Let a held job go on: eligible again once its dependencies and start
 * time allow (ops.eligible may take it). 0 (also if it was not held),
 * -EBUSY, -EALREADY as jr_sched_hold(). */
int jr_sched_release(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* A job that has not started had its priority, time limit, start time
 * or requirements changed by the caller (update them only between
 * jr_sched_update_begin() and jr_sched_update()): it takes its place
 * again. Its submission order (seq) is kept, so among equal priorities
 * it keeps its turn. 0 or -ENOMEM (it is then pending on no list). */
void jr_sched_update_begin(struct jr_sched *s, struct jr_sched_job *job);
int jr_sched_update(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* When the earliest delayed job becomes eligible, or JR_TIME_NEVER. */
uint64_t jr_sched_next_wakeup(const struct jr_sched *s);

#endif
