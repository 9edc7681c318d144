/*
 * scheduler.h - the coordinator's scheduling pass: priorities, resources,
 * dependencies, delayed jobs and EASY backfilling, with the clock passed
 * in. The same code runs in real time (the coordinator) and in virtual
 * time (sim.c, for the trace benchmark and tests).
 *
 * Policy. Eligible jobs wait in priority order (higher first, FIFO within
 * a priority: submission order, seq). The priority is any int32; with
 * aging on it grows with the time waited, and with fair share on a user's
 * recent usage lowers all its jobs (struct jr_sched_policy). A queue may
 * cap its running jobs. A pass starts waiting jobs in that order while
 * they fit. The first that does not fit is the head: the pass works out
 * when it will fit (its shadow time), replaying the running jobs' expected
 * ends (start + time limit) on a copy of the pools, and reserves that for
 * it. Later jobs may start now only where they do not delay the head:
 * either they will end before the shadow time (they have a time limit and
 * now + limit <= shadow), or they fit in what is left over at the shadow
 * time once the head has its share (the "extra" resources). Jobs without a
 * time limit never count as ending, so they backfill only into extra
 * resources: the conservative rule for unknown run times. When only a job
 * with no limit ending makes room (no shadow time), the head holds, out of
 * what is free now on the nodes it will run on, its share of each kind,
 * or all of a kind it still lacks there; later jobs that fit the rest start
 * (a 1-core job beside a head waiting for a GPU), and the head starts as
 * soon as what it lacks frees up (DECISIONS.md, issue 14).
 *
 * Dependencies. A job waits until every one of its dependencies is met,
 * each by its type (enum jr_dep_type): afterok (succeeded), afterany
 * (ended), afternotok (failed or cancelled), after (started, or ended
 * without starting). Starting or ending a job touches only its own
 * dependents (no scan). A dependency that can no longer be met cancels
 * the dependent (dependency_failed for afterok, else
 * dependency_never_satisfied), and that ending resolves its own
 * dependents in turn. A job released by a start is made eligible through
 * the delayed heap (not_before now), so a pass never inserts into the
 * waiting lists it walks.
 *
 * Throttles. A job in a throttle group (a job array's "%N") starts only
 * while fewer than the group's max run. A pass that meets one while its
 * group is full parks it in the group's heap (off the waiting lists, still
 * waiting); each end of a running job of the group brings the oldest back,
 * so a million throttled tasks cost a pass nothing. Singleton jobs held
 * back count towards the pass's JR_BACKFILL_DEPTH.
 *
 * Singleton. A job marked singleton starts only while no running job
 * (started in this pass too) has its name and user (ops.same_name): it
 * stays waiting, neither head nor backfilled, in its place. O(running)
 * for each singleton job a pass looks at.
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
	JR_SCHED_STAND_IN,	/* not a job: jobs not built yet (jr_sched_stand_in) */
};

/* Reasons are the public enum jr_reason (jobring.h). */
#define jr_sched_reason jr_reason

struct jr_sched_job {
	uint64_t id;		/* the caller's */
	int32_t priority;	/* any int32, higher first */
	uint32_t uid;		/* whose: fair share charges this user */
	uint64_t seq;		/* submission order, set by jr_sched_submit() */
	/* What it needs: the caller's, read only, valid while the scheduler
	 * holds the job (the coordinator shares one among jobs that ask for
	 * the same, coord/reqpool.h: 8 bytes here instead of 96 per queued
	 * job; the simulator points it into its job). */
	const struct jr_req *req;
	uint64_t limit_ns;	/* time limit; 0: none */
	uint64_t not_before_ns;	/* scheduled_at; 0: now */

	/* Owned by the scheduler. */
	uint8_t state;		/* enum jr_sched_state (a byte: struct cmd_job
				 * embeds this and fits 224 bytes) */
	uint8_t reason;		/* enum jr_sched_reason */
	bool singleton;		/* starts only while no running job has its
				 * name and user (ops.same_name) */
	bool held;		/* kept pending until jr_sched_release() */
	uint32_t deps_left;
	uint32_t age_epoch;	/* aging intervals at submit (set by submit) */
	uint32_t throttle;	/* its throttle group + 1 (jr_sched_throttle_join); 0: none */
	/* The jobs waiting on this one: one block, NULL while none (most
	 * jobs; 8 bytes here instead of a pointer and two counts). */
	struct jr_sched_deps *dependents;
	struct jr_alloc *alloc;	/* while it holds resources, else NULL */
	uint64_t start_ns;	/* its expected end: jr_sched_expected_end() */
	uint32_t index;		/* position in the list it is on */
	uint8_t list;		/* which list: enum in sched.c */
	uint8_t doomed;		/* a dependency could never be met before
				 * submit: the reason it ends with; 0: none */
	bool local;		/* running on this host (counts for max_running) */
	uint8_t queue;		/* its queue id, < JR_QUEUE_MAX (queue caps) */
};

/* An edge to a job waiting on this one, and what it waits for. */
struct jr_sched_dep {
	struct jr_sched_job *job;
	uint32_t type;		/* enum jr_dep_type */
};

/* A job's dependents, grown by doubling (scheduler.c). */
struct jr_sched_deps {
	uint32_t count, cap;
	struct jr_sched_dep edge[];
};

static inline uint32_t jr_sched_dependent_count(const struct jr_sched_job *job)
{
	return job->dependents ? job->dependents->count : 0;
}

/* When a running job will have used its time limit: start + limit, or
 * JR_TIME_NEVER without one (worked out, not kept: issue 14, memory per
 * queued job). */
static inline uint64_t jr_sched_expected_end(const struct jr_sched_job *job)
{
	return job->limit_ns ? job->start_ns + job->limit_ns : JR_TIME_NEVER;
}

struct jr_job_list {
	struct jr_sched_job **items;
	uint32_t count, cap;
};

/* Optional policies, all off when zero (jr_sched_set_policy()).
 *
 * Aging: a job's effective priority is
 *     priority + age_points * (floor(now / I) - floor(submit / I))
 * with I = age_interval_ns (default one minute): whole intervals, so the
 * order it induces is fixed at submission (the key priority -
 * age_points * floor(submit / I)), and a job never needs to move.
 *
 * Fair share: each user's usage is the core-seconds of its ended attempts
 * (cpus * run time; external jobs count as one core), decayed with a half
 * life of fair_share_half_life_ns (Slurm's multifactor plugin); at each
 * pass every job of user u is compared with
 *     key - round(fair_share_weight * usage(u) / sum of all usage)
 * so a user who used everything recently loses fair_share_weight points
 * against one who used nothing. */
struct jr_sched_policy {
	uint32_t age_points;		/* per interval waited; 0: no aging */
	uint64_t age_interval_ns;	/* 0: 60 s */
	uint32_t fair_share_weight;	/* 0: no fair share */
	uint64_t fair_share_half_life_ns;	/* 0: 7 days (Slurm's default) */
};

/* A user's recent usage (fair share). */
struct jr_sched_user {
	uint32_t uid;
	double usage;			/* core-seconds, decayed to usage_at_ns */
	uint64_t usage_at_ns;
	int64_t penalty;		/* this pass's fair-share points */
};

/* Waiting jobs of one queue (and, with fair share, one user): a binary
 * heap ordered by (key desc, seq asc), job->index its position. */
struct jr_sched_group {
	struct jr_job_list heap;
	uint32_t uid;
	uint32_t user;			/* index in jr_sched.users */
	uint8_t queue;
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
	/* Optional: whether two jobs have the same name and user (singleton
	 * jobs: one of a name and user runs at once). */
	bool (*same_name)(void *ctx, const struct jr_sched_job *a, const struct jr_sched_job *b);
	/* Optional (needed once jr_sched_stand_in() is used): a pass reached
	 * a stand-in, off its heap now. Build at most JR_SCHED_EXPAND_MAX of
	 * its jobs, the next in its order first, each entered with
	 * jr_sched_submit_from(). Returns true if it stands for more (the
	 * pass puts it back); false: it is done, and may be freed already. */
	bool (*expand)(void *ctx, struct jr_sched_job *stand_in, uint64_t now);
	void *ctx;
};

/* Jobs one expand call builds, at most. */
#define JR_SCHED_EXPAND_MAX 64u

/* Jobs that run at most max at once (a job array's %N), by key. */
struct jr_sched_throttle {
	uint64_t key;
	uint32_t max, running;
	uint32_t refs;		/* jobs in it not yet final; 0: a free entry */
	struct jr_job_list parked;	/* waiting jobs held back while it is full:
					 * a min-heap on seq */
};

struct jr_sched {
	struct jr_pools *pools;
	struct jr_sched_ops ops;
	uint64_t next_seq;
	struct jr_sched_policy policy;
	/* Eligible jobs, in heaps by queue (and by user with fair share on):
	 * a pass merges the groups' heads. */
	struct jr_sched_group *groups;
	uint32_t group_count, group_cap;
	struct jr_sched_user *users;
	uint32_t user_count, user_cap;
	uint64_t waiting_count;
	/* Waiting jobs by priority level (jr_priority_level()), for stats. */
	uint64_t waiting_by_level[JR_PRIORITY_LEVELS];
	struct jr_job_list passed;	/* looked at by a pass, put back after it */
	/* Queue caps (jobs of the queue running, local and external): 0 none. */
	uint32_t queue_cap[JR_QUEUE_MAX];
	uint32_t queue_running[JR_QUEUE_MAX];
	struct jr_job_list running;
	struct jr_job_list delayed;	/* min-heap on not_before_ns */
	/* At most this many local jobs run at once (0: no cap but the
	 * pools): jobringd --workers. */
	uint32_t max_running;
	uint32_t running_local;
	/* What the last pass decided for its head (tests, metrics). */
	uint64_t shadow_ns;
	uint64_t head_id;		/* its id (jr_sched_head()) */
	bool has_head;
	struct jr_req head_req;
	uint64_t backfilled;
	struct jr_pools scratch;	/* look-ahead copy of the pools */
	/* Throttle groups, looked up by key at join (few live at once: one
	 * per throttled array); a job holds its entry until it is final. */
	struct jr_sched_throttle *throttles;
	uint32_t throttle_count, throttle_cap;
	uint32_t throttle_last;	/* the last joined: a batch's jobs share it */
};

void jr_sched_init(struct jr_sched *s, struct jr_pools *pools,
		   const struct jr_sched_ops *ops);
void jr_sched_destroy(struct jr_sched *s);

/* Aging and fair share (see struct jr_sched_policy). Call before any
 * submit: the aging key is fixed when a job enters. */
void jr_sched_set_policy(struct jr_sched *s, const struct jr_sched_policy *p);

/* At most cap jobs of queue run at once, local and external (0: no
 * cap). A raised cap takes effect at the next pass. */
void jr_sched_set_queue_cap(struct jr_sched *s, uint32_t queue, uint32_t cap);

/* a goes before b in the waiting order: (priority with aging) desc, seq
 * asc; fair share aside. */
bool jr_sched_job_before(const struct jr_sched *s, const struct jr_sched_job *a,
			 const struct jr_sched_job *b);

/* The queue runs as many jobs as its cap allows: none of it may start. */
bool jr_sched_queue_full(const struct jr_sched *s, uint32_t queue);

/* Make job p a dependency of job of the given type (enum jr_dep_type).
 * Call before jr_sched_submit(job). Met already by p's state: nothing to
 * wait for; never to be met: job will be cancelled when submitted (see
 * jr_sched_doom). 0 or -ENOMEM. */
int jr_sched_depend(struct jr_sched_job *job, struct jr_sched_job *p, unsigned type);

/* What a dependency of this type on a job in state st is: met, not yet,
 * or never. */
enum jr_dep_outcome { JR_DEP_WAIT, JR_DEP_MET, JR_DEP_NEVER };
enum jr_dep_outcome jr_sched_dep_outcome(enum jr_sched_state st, unsigned type);

/* A dependency of this type can never be met: job will be cancelled when
 * submitted, with dependency_failed (afterok) or
 * dependency_never_satisfied. The first such reason counts. */
void jr_sched_doom(struct jr_sched_job *job, unsigned type);

/* Put job in the throttle group of key (at most max of it run at once;
 * the group's max is its first job's). Call before jr_sched_submit() or
 * jr_sched_adopt(). key 0: nothing. 0 or -ENOMEM. */
int jr_sched_throttle_join(struct jr_sched *s, struct jr_sched_job *job, uint64_t key,
			   uint32_t max);
/* Out of its throttle group (none: nothing): done when a job ends; by
 * the owner for a job that joined but was never submitted. */
void jr_sched_throttle_leave(struct jr_sched *s, struct jr_sched_job *job);

/* Whether a throttle or singleton lets job start now (what a pass
 * checks beyond resources): for an owner that starts jobs itself (an
 * external worker's claim). */
bool jr_sched_may_start(struct jr_sched *s, const struct jr_sched_job *job);

/* Enter a job: pending (dependencies, start time) or waiting. Its req
 * must have passed jr_res_check_host(). 0 or -ENOMEM. Nothing starts
 * until the next pass. */
int jr_sched_submit(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* A stand-in (issue 14: memory per queued job): one entry on a heap for
 * count jobs the caller has not built yet, all of stand_in's priority,
 * uid, queue and request, plain (no dependencies, hold, start time,
 * throttle or singleton), submitted now in this order. It takes their
 * submission order (seqs) now, so the jobs built from it later go
 * exactly where they would have gone had they been submitted now: a pass
 * that reaches it calls ops.expand. Not counted as waiting (the caller
 * counts what it stands for). 0 or -ENOMEM. */
int jr_sched_stand_in(struct jr_sched *s, struct jr_sched_job *stand_in, uint32_t count,
		      uint64_t now);
/* Enter the next job a stand-in stands for, as jr_sched_submit() but in
 * the stand-in's order (its seq moves on by one). */
int jr_sched_submit_from(struct jr_sched *s, struct jr_sched_job *job,
			 struct jr_sched_job *stand_in, uint64_t now);
/* Off its heap, so that its caller may build jobs from it outside a
 * pass (jr_sched_submit_from), and back on it (0 or -ENOMEM). */
void jr_sched_stand_in_remove(struct jr_sched *s, struct jr_sched_job *stand_in);
int jr_sched_stand_in_put(struct jr_sched *s, struct jr_sched_job *stand_in);

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

/* An external job that was running before a restart runs on (issue 17):
 * as jr_sched_start_external(), started at start_ns, for a job never
 * submitted here. */
void jr_sched_adopt_external(struct jr_sched *s, struct jr_sched_job *job, uint64_t start_ns);

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

/* The last pass's head (the first job that waited for resources): its
 * id (false returned: none), what it needs and its shadow time.
 * Read-only; under whatever lock the passes run under. */
bool jr_sched_head(const struct jr_sched *s, uint64_t *id, struct jr_req *req,
		   uint64_t *shadow_ns);

#endif
