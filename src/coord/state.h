/*
 * state.h - the coordinator's state, private to coord/: the coordinator
 * itself, its command jobs, and the small operations on them that every
 * part of the coordinator uses (state.c). Process-local. The coordinator
 * thread owns it, under state_lock while it works; a runner thread holds
 * state_lock while it ends its child's job; submitters touch only what
 * `lock` guards (the inbox, cancels, the spawn queue, the restore phase).
 *
 * The parts of coord/, lowest first; each calls only those before it:
 *   reqpool     the jobs' resource requests, one shared copy per request
 *   state       this file: the structs, the running set, the job behind
 *               an id, slots given back, the external lists
 *   cmdbatch    submissions from any thread, copied into one block
 *   launch      what starting one attempt takes (argv, env, binding)
 *   child       in-process children: spawned into a cgroup, collected
 *   keeperlink  the keeper: connecting, what it holds, frames to it
 *   cmdjob      one job's life: built, started, signalled, retried, ended
 *   park        runs of alike plain jobs kept unbuilt behind a stand-in
 *   pass        the scheduling pass and what follows it, the next deadline
 *   cmdkeeper   frames from the keeper; a keeper lost and replaced
 *   external    jobs for external workers: claimed, completed
 *   cmdrestore  jobs put back after a restart, running ones taken back
 *   runners     runner threads: spawn a child, wait, end its job
 *   loop        the coordinator thread's turn and event loop
 *   control     hold, release, update, requeue (the API's, synchronous)
 *   coordinator start, stop and the engine's requests (coordinator.h)
 */
#ifndef JR_COORD_STATE_H
#define JR_COORD_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/atomics.h"
#include "base/lock.h"
#include "exec/cgroup.h"
#include "exec/executor.h"
#include "exec/keeper.h"
#include "exec/scratch.h"
#include "sched/scheduler.h"
#include "sched/topology.h"
#include "coord/extdue.h"
#include "coord/reqpool.h"
#include "shm/region.h"

struct cmd_batch;

/* A command job's life in the coordinator, changed only by
 * jr_cmd_job_set_phase(), which asserts the move:
 *   QUEUED    with the scheduler (pending, waiting, backing off after a
 *             failed attempt) or on the external ready lists
 *   STARTING  handed to a runner, the keeper or an inline spawn
 *   RUNNING   its process runs (or an external worker runs it)
 *   ENDED     final, on the dead list until the turn ends
 * QUEUED -> STARTING, RUNNING (an external claim, a job taken back after
 * a restart) or ENDED (cancelled, a dependency failed, refused at start);
 * STARTING -> RUNNING or ENDED (the spawn failed); RUNNING -> QUEUED (a
 * retry) or ENDED. */
enum cmd_job_phase { CMD_QUEUED, CMD_STARTING, CMD_RUNNING, CMD_ENDED };

/* jr_command_spec.shared_env as the jobs of a batch keep it: one copy,
 * counted (cmdjob.c; under state_lock like the jobs). An array's tasks
 * share one that names their array too (launch.c sets
 * JOBRING_ARRAY_JOB_ID from it, JOBRING_ARRAY_TASK_ID from the job). */
struct cmd_shared_env {
	uint32_t refs;
	bool array;		/* its jobs are tasks of array_job_id */
	char **v;		/* NULL-terminated, strings in the same block;
				 * NULL: none (an array's without one) */
	jr_job_id array_job_id;
};

/* What a job needs only while an attempt starts or runs (phases STARTING
 * and RUNNING, and ENDED until it is freed): allocated when the attempt
 * starts (jr_cmd_job_run_attach), freed when the job waits again or is
 * freed, so a queued job does not carry it (issue 14: memory per queued
 * job). Under state_lock, as the job. */
struct cmd_run {
	struct jr_child child;		/* its process (in-process runners) */
	struct jr_cgroup_job cgroup;	/* its cgroup, while it runs (likewise) */
	uint64_t start_ticks;		/* with child.pid: which process it is */
	uint64_t term_at_ns;	/* SIGTERM due (time limit); 0: none */
	uint64_t kill_at_ns;	/* SIGKILL due (grace over); 0: none */
	int spawn_rc;
	int spawn_step;		/* enum jr_spawn_step of a failed spawn */
	uint32_t cgroup_slot;		/* job-<slot> (the keeper's, or cgroup's) */
};

/* A job's options that most jobs leave at their defaults, and an
 * external job's links: allocated only for a job that has one of them
 * (jr_cmd_job_new), so a plain queued job carries a NULL pointer instead
 * of 64 bytes (issue 14: memory per queued job). Read through the
 * accessors below. */
struct cmd_opt {
	uint64_t backoff_base_ns, backoff_max_ns;
	uint64_t max_output;		/* bytes, its spec's; 0: the engine's */
	char *cwd;
	char *ext_caps;		/* labels the worker must have; NULL: none */
	struct cmd_job *ext_prev, *ext_next;	/* external jobs: its ext_list */
	uint32_t ext_due_at;		/* running with a time limit: its place in
					 * co->ext_due, 1-based; 0: not in */
	bool ext_due_unindexed;		/* ... left out of it (extdue.h) */
	char **env;		/* extra NAME=VALUE, NULL-terminated; NULL: none */
	jr_job_id *after;	/* after_count ids, then their enum jr_dep_type
				 * bytes (jr_cmd_job_dep_type) */
	uint32_t after_count;
	uint32_t max_retries;
	/* Attempts that ended worker_lost and ran again outside max_retries
	 * (cmdjob.c; given back by a restore: jr_job_restore.workers_lost). */
	uint32_t workers_lost;
	uint32_t name_hash;	/* a singleton's name's, once asked; 0: not yet */
};

/* A worker (its node) lost is not the job's failure: the job runs again
 * at once, whatever its retries, this many times; a job whose workers
 * keep going away (one that brings its node down) then follows
 * max_retries like any failure. HyperQueue's crash limit, Slurm's
 * requeue on node failure. */
#define CMD_WORKER_LOST_RETRIES 5

#define CMD_BACKOFF_BASE_NS (1000 * JR_NS_PER_MS)	/* jr_command_spec's defaults */
#define CMD_BACKOFF_MAX_NS (60000 * JR_NS_PER_MS)

struct cmd_job {
	struct jr_sched_job sj;	/* sj.id: its id; its slot is the id's low
				 * 32 bits (jr_cmd_job_slot) */
	uint32_t record_ref;
	uint32_t attempts;
	char **argv;		/* NULL-terminated, strings in the same block,
				 * counted: shared by the jobs of a batch that
				 * run the same (cmdjob.c); NULL for an external
				 * job without one */
	struct cmd_shared_env *shared_env;	/* beneath opt->env, one for the
						 * jobs of a batch; NULL: none */
	struct cmd_opt *opt;		/* NULL: the defaults, not external, no
					 * environment of its own, no dependencies */
	struct cmd_run *run;		/* while an attempt starts or runs; else NULL */
	struct cmd_job *next;	/* inbox or free list */
	uint32_t uid, gid;	/* with run_as_user: whom it runs as */
	uint32_t array_task;	/* with shared_env->array: its index in its array */
	/* Bits (160 bytes, below), in two memory locations. Fixed when it
	 * is made, read without state_lock by the threads that spawn it: */
	uint16_t umask : 9;
	bool use_umask : 1;
	bool run_as_user : 1;	/* run as uid, gid (jr_command_spec.run_as_user) */
	bool external : 1;	/* external jobs (external.c); opt is set */
	uint16_t : 0;		/* (a location of its own) */
	/* Written and read under state_lock only: */
	uint8_t phase : 2;	/* enum cmd_job_phase */
	uint8_t ext_list : 2;	/* EXT_NONE, EXT_READY or EXT_RUNNING */
	bool output_truncated : 1;	/* this attempt's output was cut at max_output */
	bool requeue_requested : 1;	/* stopped to run again (control.c) */
	bool revived : 1;		/* requeued after it ended: its slot's index is
					 * in the free ring already (jr_jobtab_revive) */
	bool worker_lost : 1;	/* its worker went away: the attempt failed */
	bool progress_paused : 1;	/* inline spawn: its flooded pipe waits (progresspipe.c) */
	bool lost : 1;		/* it ended without a status (keeper) */
	bool reaped : 1;	/* its main process is gone: no more signals */
	bool timed_out : 1;
	bool cancel_requested : 1;
};
/* Every queued job has one: 160 bytes at most, a jemalloc size class; 168
 * would be rounded to 192 (32 bytes more per queued job, 32 MB at 1M;
 * tests/test_queued_memory.c checks the whole). Grow it knowingly: what
 * only a starting or running attempt needs goes in struct cmd_run, what
 * most jobs leave at its default in struct cmd_opt, and its resource
 * request is shared (sj.req, reqpool.h). */
_Static_assert(sizeof(struct cmd_job) <= 160, "struct cmd_job outgrew its 160-byte size class");
_Static_assert(CMD_ENDED < 4, "cmd_job's phase is 2 bits");

/* Its slot in the job table: its id's index. */
static inline uint32_t jr_cmd_job_slot(const struct cmd_job *job)
{
	return (uint32_t)job->sj.id;
}

/* Its extra environment and dependencies (in opt: most jobs have none). */
static inline char **jr_cmd_job_env(const struct cmd_job *job)
{
	return job->opt ? job->opt->env : NULL;
}
static inline uint32_t jr_cmd_job_after_count(const struct cmd_job *job)
{
	return job->opt ? job->opt->after_count : 0;
}
static inline jr_job_id jr_cmd_job_after(const struct cmd_job *job, uint32_t i)
{
	return job->opt->after[i];
}

/* Its options, the defaults without opt. */
static inline uint32_t jr_cmd_job_max_retries(const struct cmd_job *job)
{
	return job->opt ? job->opt->max_retries : 0;
}
static inline const char *jr_cmd_job_cwd(const struct cmd_job *job)
{
	return job->opt ? job->opt->cwd : NULL;
}
static inline const char *jr_cmd_job_ext_caps(const struct cmd_job *job)
{
	return job->opt ? job->opt->ext_caps : NULL;
}

enum { EXT_NONE, EXT_READY, EXT_RUNNING };
_Static_assert(EXT_RUNNING < 4, "cmd_job's ext_list is 2 bits");

/* Recovery: open until a restore or a submission, running between the
 * first restore and restore_done(), then closed for good. */
enum { RESTORE_OPEN, RESTORE_RUNNING, RESTORE_CLOSED };

/* jr_coordinator.restored, by slot, while a restore runs (cmdrestore.c). */
enum { RESTORED_NONE, RESTORED_LIVE, RESTORED_FINAL, RESTORED_SEEN };

/* What the keeper held when this engine said HELLO (keeper.h): matched
 * by restored jobs, the rest reconciled when the restore closes. */
struct keeper_held {
	uint64_t job_id;
	uint32_t attempt;		/* 0: found by its cgroup, attempt unknown */
	bool exited, matched;
	struct kp_live live;
	uint8_t *alloc;
	struct kp_exited exit;
};

/* A restored job as the journal left it, beyond its spec (cmdrestore.c). */
struct cmd_restore_info {
	bool running;			/* the journal saw it start */
	bool cancel;			/* a cancel it has not obeyed yet */
	uint32_t attempt;
	uint64_t start_ns, not_before_ns;
	int32_t pid;
	uint64_t pid_start_ticks;
	uint8_t boot_id[16];
	uint32_t cgroup_slot;
	uint8_t *alloc;			/* its own allocation; NULL */
	uint32_t alloc_len;
	uint32_t workers_lost;		/* free retries after lost workers, so far */
};

/* A doubly linked list of external jobs. */
struct ext_list {
	struct cmd_job *head, *tail;
	uint32_t count;
};

/* How often running jobs' output files are measured against their cap. */
#define JR_OUTPUT_CHECK_MS 200
#define JR_OUTPUT_SLICE 512u	/* jobs looked at in one turn, at most */
#define JR_OUTPUT_HOT_MS 20	/* how often a job cut already is looked at */
#define JR_OUTPUT_HOT_MAX 16u	/* such jobs, at most (the rest every 200 ms) */
#define JR_TAKE_CHUNK 256u	/* jobs of a batch built under one hold of state_lock */

struct jr_coordinator {
	struct jr_region *region;	/* the engine's (jr_coord_host) */
	const struct jr_topology *topo;
	bool bind;			/* bind children to their cores */
	pthread_t thread;
	int epfd, evfd, tfd;
	struct jr_mutex lock;		/* inbox, cancels, spawn queue */
	/* Everything else: held by the coordinator while it works, and by a
	 * runner thread while it ends its child's job and runs the pass. */
	struct jr_mutex state_lock;
	struct cmd_batch *inbox_head, *inbox_tail;	/* submitted, not yet taken in */
	/* Taken from the inbox, being built (state_lock): the first from its
	 * job `built` on, the rest whole, in submission order. */
	struct cmd_batch *taking, *taking_tail;
	/* Runs of plain jobs kept unbuilt behind stand-ins (park.h), and how
	 * many jobs they hold, by priority level (the stats' queued). */
	struct park_block *parked;
	uint32_t park_after;		/* JR_PARK_AFTER, or the environment's */
	uint64_t parked_jobs;
	uint64_t parked_by_level[JR_PRIORITY_LEVELS];
	/* Threads waiting for state_lock whose callers wait on them (an
	 * external worker's claim or completion, answered by the daemon's
	 * loop): a coordinator building a big batch lets them in between two
	 * chunks (jr_coord_state_lock_urgent). */
	uint32_t state_urgent;
	jr_job_id *cancels;
	uint32_t cancel_count, cancel_cap;
	bool stopping, cancel_all;
	bool held_cancelled;		/* cancel_all has cancelled the held jobs */
	struct jr_pools pools;
	struct jr_sched sched;
	struct jr_req_pool reqs;	/* the jobs' sj.req, once per distinct request */
	struct cmd_job **running;
	uint32_t running_count, running_cap;
	struct cmd_job *dead;		/* ended, freed at the end of the turn */
	struct cmd_job *start_refused;	/* cancelled while waiting to start */
	/* Runner threads (opts.runner_threads): each starts a child, waits for
	 * it, then ends its job and runs the pass itself, so a core that frees
	 * up gets its next child without a hand-off. Without runners the
	 * coordinator spawns and reaps through epoll. */
	pthread_t *runners;
	uint32_t runner_count;
	pthread_cond_t spawn_cv;	/* under lock */
	struct cmd_job *spawn_head, *spawn_tail;	/* under lock */
	struct cmd_job *spawned_here;	/* spawned inline (JR_ENGINE_SPAWN_INLINE) */
	bool runners_stop;		/* under lock */
	uint64_t outstanding;		/* submitted, not yet final */
	struct jr_worker_rec *rec;	/* its succeeded/failed counters */
	uint32_t id;			/* worker id recorded in executions */
	char state_dir[200];		/* where output files go (outdir.h) */
	bool state_dir_made;		/* under lock */
	int out_dirfd;			/* state_dir, opened and checked once made;
					 * -1 before: set under lock before any job
					 * can start, read by any thread after */
	/* Output caps (jr_engine_opts.max_output_bytes): running jobs' files
	 * are measured every JR_OUTPUT_CHECK_MS and cut back to their cap. */
	uint64_t max_output;		/* bytes; UINT64_MAX: none */
	uint64_t output_check_at_ns;	/* the next look; JR_TIME_NEVER: none due */
	uint32_t output_cursor;		/* the next running job to look at */
	jr_job_id output_hot[JR_OUTPUT_HOT_MAX];	/* running jobs cut already: looked at often */
	uint32_t output_hot_count;
	uint64_t output_hot_at_ns;
	uint64_t output_cuts;		/* files cut, counted */
	pthread_t sweep_thread;		/* after a restore: files of jobs gone */
	bool sweep_started;
	uint64_t swept;			/* files it removed */
	struct jr_cap_names caps;
	char custom_names[JR_CUSTOM_MAX][JR_CUSTOM_NAME_MAX];
	/* Storage filesystems (jr_engine_opts.storage): filesystem i is the
	 * custom counter scratch_counter + i. */
	struct jr_scratch scratch;
	uint32_t scratch_counter;
	uint64_t kill_grace_ns;
	uint64_t armed_ns;		/* the coordinator's timer; NEVER: none */
	/* Inline spawns' flooded progress pipes, read again at resume_ns
	 * (progresspipe.c). */
	uint32_t progress_paused;
	uint64_t progress_resume_ns;
	uint32_t gpus_per_node;
	uint64_t rng;
	char **base_env;
	uint32_t uid;			/* the engine's, for jobs run as it */
	struct jr_cgroups cg;		/* where job cgroups go (in-process) */
	/* External jobs: eligible ones in the scheduler's order (priority
	 * desc, seq asc; jr_sched_job_before()), and running ones. */
	struct ext_list ext_ready;
	uint64_t ext_ready_by_level[JR_PRIORITY_LEVELS];	/* for stats */
	struct ext_list ext_running;
	struct ext_due ext_due;		/* those with a time limit (extdue.h) */
	/* Submission to first start, log2 buckets of microseconds. */
	uint64_t start_wait_hist[JR_WAIT_BUCKETS];
	uint64_t start_wait_sum_us;
	/* jr_engine_opts.job_event. */
	void (*job_event)(void *ctx, const struct jr_job_event *ev);
	void *job_event_ctx;
	/* Recovery (cmdrestore.c): until jr_command_restore_done(), the free
	 * ring's slots wait here and restored slots are marked. */
	int restore_phase;		/* RESTORE_*: written under lock, read by
					 * jr_coord_free_slot() without it */
	uint32_t *restore_free;
	uint32_t restore_free_count;
	uint8_t *restored;		/* by slot: RESTORED_LIVE or RESTORED_FINAL */
	bool reconcile_pending;		/* under lock: restore closed, keeper leftovers */
	bool restore_settled;		/* under lock: the coordinator took it all in */
	bool restoring;			/* coordinator's: restored jobs may still come,
					 * so nothing starts (a job taken back later
					 * holds cores a new start could take) */
	pthread_cond_t restore_cv;
	/* The keeper (keeperlink.c, cmdkeeper.c); keeper_fd -1: runner threads. */
	int keeper_fd;
	char *keeper_socket;
	char *const *keeper_argv;
	struct kp_buf kin, kout;	/* kout under state_lock */
	struct kp_info kinfo;
	struct keeper_held *held;
	uint32_t held_count, held_cap;
	struct kp_job_ref *acks;	/* under lock: jr_command_durable() */
	uint32_t ack_count, ack_cap;
	bool detach;			/* stopping without touching running jobs */
	/* What restore and the keeper found (jr_engine_exec_info). */
	uint64_t adopted, ended_while_away, lost, keeper_restarts;
	uint64_t keeper_progress_frames;	/* PROGRESS frames received */
};

/* state_lock for a thread whose caller waits on it (an external worker's
 * claim or completion): counted in state_urgent while it waits, so that
 * a coordinator building a big batch steps aside between two chunks
 * (loop.c, take_batches). Unlock as usual. */
static inline void jr_coord_state_lock_urgent(struct jr_coordinator *co)
{
	jr_fetch_add_acq_rel(&co->state_urgent, 1);
	jr_mutex_lock(&co->state_lock);
	jr_fetch_sub_acq_rel(&co->state_urgent, 1);
}

#define JR_RUNNERS_MAX 1024u

#define CMD_JOB(sjp) ((struct cmd_job *)(void *)(sjp))

/* What the job waits for from its i-th dependency (enum jr_dep_type). */
static inline unsigned jr_cmd_job_dep_type(const struct cmd_job *job, uint32_t i)
{
	return ((const uint8_t *)(job->opt->after + job->opt->after_count))[i];
}

/* A 32-bit hash of a job name, never 0. */
uint32_t jr_coord_name_hash(const char *name);
/* The scheduler's ops.same_name: the same name and user (the user it
 * runs as). Hashes first (each job's worked out once); a snapshot of
 * both when they match. Under state_lock. */
bool jr_coord_same_name(void *ctx, const struct jr_sched_job *a, const struct jr_sched_job *b);

/* Wake the coordinator thread (its eventfd). Any thread. */
void jr_coord_poke(struct jr_coordinator *co);

/* An engine opened with JR_ENGINE_START_PAUSED starts no command job
 * either until jr_engine_resume(). */
bool jr_coord_paused(const struct jr_coordinator *co);

/* The running set: every job started and not yet ended. */
void jr_coord_running_add(struct jr_coordinator *co, struct cmd_job *job);
void jr_coord_running_remove(struct jr_coordinator *co, struct cmd_job *job);

/* The live coordinator record behind a job id, or NULL. */
struct cmd_job *jr_coord_job_of(struct jr_coordinator *co, jr_job_id id);
/* A job the coordinator could not build (no memory): it ends cancelled,
 * as if the table had refused it; its record names no coordinator job. */
void jr_coord_end_unbuilt(struct jr_coordinator *co, jr_job_id id, uint32_t record);

/* The output directory made (if missing), opened and checked
 * (outdir.h): co->out_dirfd. Under co->lock. 0 or -errno (-EPERM: owned
 * by another uid, -EACCES: writable by group or others, -ELOOP: a link). */
int jr_coord_make_state_dir(struct jr_coordinator *co);


/* A job's cap: its own, at most the engine's. */
uint64_t jr_coord_output_cap_of(const struct jr_coordinator *co, const struct cmd_job *job);
/* Cut the job's output files back to its cap; the first cut marks it
 * (JR_REC_OUTPUT_CUT and the .trunc file). Under state_lock. */
void jr_coord_output_cap(struct jr_coordinator *co, struct cmd_job *job);
/* As jr_coord_output_cap(), at the job's end: a cut made before a
 * restart (its .trunc file) marks it too. */
void jr_coord_output_cap_final(struct jr_coordinator *co, struct cmd_job *job);
/* Every running job's, once JR_OUTPUT_CHECK_MS has passed since the last
 * look (co->output_check_at_ns). Under state_lock. */
void jr_coord_output_check(struct jr_coordinator *co, uint64_t now);
/* After a restore: a thread removes the output files of every job no
 * longer in the table (aged out while the engine was away, or never
 * acknowledged) and marks finished jobs whose .trunc file is there.
 * jr_coord_output_sweep_join() waits for it (before the coordinator
 * goes). */
void jr_coord_output_sweep_start(struct jr_coordinator *co);
void jr_coord_output_sweep_join(struct jr_coordinator *co);
/* When the output checks are due next: JR_TIME_NEVER (no running job, or
 * no cap), 0 (now), or a CLOCK_REALTIME time. */
uint64_t jr_coord_output_next_ns(const struct jr_coordinator *co);
/* Remove the job's .trunc mark (a new attempt). */
void jr_coord_output_unmark(struct jr_coordinator *co, jr_job_id id);

/* Give a command job's slot back to the free ring. While a restore runs
 * the ring holds none of the untouched slots yet, so a slot freed then
 * would be the first one handed out: it waits for restore_done(), which
 * puts it behind them. */
void jr_coord_free_slot(struct jr_coordinator *co, uint32_t slot);

/* The job moves to phase `to` (see enum cmd_job_phase); an illegal move
 * is a broken invariant. Under state_lock. */
void jr_cmd_job_set_phase(struct cmd_job *job, enum cmd_job_phase to);

/* The job's run part (struct cmd_run), made if it has none: its attempt
 * starts (record_start, a restored job taken back). Aborts without
 * memory (80 bytes, once per attempt started). Under state_lock. */
void jr_cmd_job_run_attach(struct cmd_job *job);

/* Record flags (pending, external) in the job's table record. */
void jr_cmd_job_set_rec_flag(struct jr_coordinator *co, struct cmd_job *job,
			     uint32_t flag, bool on);
/* Its progress in the slot, where jr_job_info.progress reads it (0-100,
 * above 100 read as 100; negative: none reported, nothing changes). The
 * slot's progress has one writer at a time: the thread that watches the
 * job (coordinator, or its runner thread while it runs). */
void jr_cmd_job_set_progress(struct jr_coordinator *co, struct cmd_job *job, int pct);
/* No progress reported (yet): a new attempt starts so. */
void jr_cmd_job_clear_progress(struct jr_coordinator *co, struct cmd_job *job);

/* The external lists: a job on none, ready (in order), or running. */
void jr_ext_list_push(struct jr_coordinator *co, struct cmd_job *job, uint8_t list);
void jr_ext_unlink(struct jr_coordinator *co, struct cmd_job *job);

#endif
