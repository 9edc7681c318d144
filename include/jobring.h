/*
 * jobring.h - the whole public surface of libjobring.
 *
 * jobring is a job scheduler for one large host. This header is the
 * in-process API: open an engine (a shared-memory region holding the job
 * table and the priority rings, plus NUMA-pinned worker threads), submit
 * function jobs one at a time or in batches, cancel, query, wait, close.
 *
 * Conventions, for every function below:
 *  - returns 0 (or a documented non-negative value) on success and a
 *    negative errno on failure; never prints, never exits, never sets errno;
 *  - "thread-safe" means any number of threads may call it concurrently on
 *    the same engine; every function here is, except jr_engine_close();
 *  - pointers passed in are borrowed for the duration of the call only,
 *    unless the comment says otherwise;
 *  - structs keep their size (given beside each) from one version to the
 *    next, so that a program built against an older header keeps working:
 *    each ends in reserved room, which later versions give meanings in
 *    which zero is the old behaviour. A struct passed in must have its
 *    reserved fields zero (a designated initializer, = { 0 } or
 *    jr_engine_opts_init() does that), or the call fails with -EINVAL; one
 *    the library fills has them zeroed. No struct has implicit padding.
 *
 * Man pages: jobring(3), and one per call (jr_engine_open(3), ...).
 */
#ifndef JOBRING_H
#define JOBRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; jr_version() says which library runs.
 * The only place it is written: the Makefile reads it here for
 * jobring.pc and the soname (libjobring.so.MAJOR), and jobringd and
 * jobring print jr_version(). */
#define JR_VERSION_MAJOR 0
#define JR_VERSION_MINOR 5
#define JR_VERSION_PATCH 0
#define JR_VERSION_STR_(x) #x
#define JR_VERSION_STR(x) JR_VERSION_STR_(x)
/* "MAJOR.MINOR.PATCH" */
#define JR_VERSION_STRING JR_VERSION_STR(JR_VERSION_MAJOR) "." \
	JR_VERSION_STR(JR_VERSION_MINOR) "." JR_VERSION_STR(JR_VERSION_PATCH)

/* The version of the library this program runs with, "MAJOR.MINOR.PATCH"
 * (JR_VERSION_STRING of the header it was built from; static storage,
 * never NULL). Never fails; thread-safe. */
const char *jr_version(void);

/* Priorities, higher runs first, equal priority in submission order.
 * Function jobs: JR_PRIORITY_MIN..JR_PRIORITY_MAX, each value its own
 * lock-free ring; there are JR_PRIORITY_LEVELS of them. Command jobs: any
 * int32 (JR_CMD_PRIORITY_MIN..MAX); in stats and jr_job_scan() a command
 * job counts at its level, its priority clamped to 0..7. Queues: any int32;
 * a function job that takes its queue's priority takes it clamped. */
#define JR_PRIORITY_MIN 0
#define JR_PRIORITY_MAX 7
#define JR_PRIORITY_LEVELS 8
#define JR_PRIORITY_DEFAULT 3
/* In a job spec: "use the queue's priority". */
#define JR_PRIORITY_FROM_QUEUE (-1)
#define JR_CMD_PRIORITY_MIN INT32_MIN
#define JR_CMD_PRIORITY_MAX INT32_MAX

/* The default queue always exists and has id 0. */
#define JR_QUEUE_DEFAULT 0u
#define JR_QUEUE_MAX 64u
#define JR_NAME_MAX 256u

/* Job table capacity: default, and the largest accepted. */
#define JR_CAPACITY_DEFAULT (1u << 20)
#define JR_CAPACITY_MAX (1u << 26)

/* A job id is opaque: slot index and generation. 0 is never a valid id. */
typedef uint64_t jr_job_id;

struct jr_engine;

/* Passed to a running function job. Valid only during the call.
 * 64 bytes. */
struct jr_job_ctx {
	jr_job_id job_id;
	uint32_t worker_id;
	uint32_t attempt;
	void *internal;		/* jobring's; do not touch */
	uint64_t reserved[5];	/* zero */
};

/* A function job. Returns 0 for success; any other value marks the job
 * failed and is recorded as its result code. Runs on a worker thread. */
typedef int (*jr_job_fn)(void *arg, const struct jr_job_ctx *ctx);

/* A function job. 48 bytes. */
struct jr_job_spec {
	jr_job_fn fn;		/* required */
	void *arg;		/* passed to fn; the caller keeps ownership */
	int priority;		/* JR_PRIORITY_MIN..MAX or JR_PRIORITY_FROM_QUEUE */
	uint32_t queue_id;	/* JR_QUEUE_DEFAULT or from jr_queue_create() */
	const char *name;	/* optional, copied into the region; < JR_NAME_MAX */
	uint64_t reserved[2];	/* must be zero */
};

enum jr_job_state {
	JR_JOB_FREE = 0,	/* slot unused (never reported for a live id) */
	JR_JOB_PENDING = 1,	/* waiting on dependencies or time (later) */
	JR_JOB_QUEUED = 2,
	JR_JOB_RUNNING = 3,
	JR_JOB_SUCCEEDED = 4,
	JR_JOB_FAILED = 5,
	JR_JOB_CANCELLED = 6,
};

/* Why a job ended as it did. */
enum jr_reason {
	JR_REASON_NONE = 0,
	JR_REASON_EXIT = 1,		/* non-zero exit code or result */
	JR_REASON_SIGNAL = 2,		/* killed by a signal */
	JR_REASON_TIMEOUT = 3,		/* over its time limit */
	JR_REASON_DEPENDENCY_FAILED = 4,
	JR_REASON_WORKER_LOST = 5,
	JR_REASON_CANCELLED = 6,	/* by the user */
	JR_REASON_SPAWN_FAILED = 7,	/* the program could not be started */
	JR_REASON_COORDINATOR_LOST = 8,	/* the daemon died while it ran */
	/* A dependency other than afterok can no longer be met (afternotok
	 * on a job that succeeded, afterok or afternotok on a job gone
	 * from the table). afterok on a failed job stays DEPENDENCY_FAILED. */
	JR_REASON_DEPENDENCY_NEVER_SATISFIED = 9,
	/* Numbered apart from the reasons others add: issue 13 (control). */
	JR_REASON_HELD = 16,		/* pending: held until released (jr_command_hold) */
	JR_REASON_REQUEUED = 17,	/* an attempt stopped to run again (jr_command_requeue) */
};

/* What a command job waits for from each of its dependencies
 * (jr_command_spec.after_types), Slurm's --dependency types. */
enum jr_dep_type {
	JR_DEP_AFTEROK = 0,	/* it succeeded (the default) */
	JR_DEP_AFTERANY = 1,	/* it ended, whatever the outcome */
	JR_DEP_AFTERNOTOK = 2,	/* it failed or was cancelled */
	JR_DEP_AFTER = 3,	/* it started, or ended without starting */
};

/* Why a command could not be started (JR_REASON_SPAWN_FAILED): the step
 * that failed and its errno, packed in one int32 (spawn_error below);
 * 0 when there was none, and a step UNKNOWN from older executors. */
enum jr_spawn_step {
	JR_SPAWN_STEP_UNKNOWN = 0,
	JR_SPAWN_STEP_PREPARE = 1,	/* before the child: output files, cgroup, clone */
	JR_SPAWN_STEP_SETUP = 2,	/* in the child: cgroup, session, descriptors, binding */
	JR_SPAWN_STEP_IDS = 3,		/* setgroups, setgid, setuid */
	JR_SPAWN_STEP_CHDIR = 4,	/* into its cwd */
	JR_SPAWN_STEP_EXEC = 5,		/* execve (PATH searched) */
};
#define JR_SPAWN_ERROR(step, err) ((int32_t)(((uint32_t)(step) << 16) | ((uint32_t)(err) & 0xffffu)))
#define JR_SPAWN_ERROR_STEP(e) ((enum jr_spawn_step)((uint32_t)(e) >> 16))
#define JR_SPAWN_ERROR_ERRNO(e) ((int)((uint32_t)(e) & 0xffffu))

/* One attempt at running a job: the JobExecution entity. 96 bytes. */
struct jr_execution {
	uint64_t execution_id;	/* unique per attempt; 0 if never started */
	jr_job_id job_id;
	uint32_t worker_id;
	uint32_t attempt;	/* 1 for the first attempt */
	uint64_t start_ns;	/* CLOCK_REALTIME, ns since the epoch */
	uint64_t end_ns;	/* 0 while running */
	int32_t result;		/* function: its return value; command: exit code */
	enum jr_job_state status;
	/* Command jobs only. */
	uint64_t max_rss_kib;
	uint64_t user_us;
	uint64_t system_us;
	int32_t signal;		/* 0 unless killed by a signal */
	int32_t spawn_error;	/* spawn_failed: JR_SPAWN_ERROR(step, errno); else 0 */
	/* Its output (stdout or stderr) went past the job's cap and was cut
	 * there: the file holds the first max_output_bytes. */
	uint32_t output_truncated;
	uint32_t reserved[3];	/* zero */
};

/* A job as jr_job_get() sees it. 1024 bytes. */
struct jr_job_info {
	jr_job_id job_id;
	enum jr_job_state state;
	enum jr_reason reason;	/* why it is in that state */
	int priority;
	uint32_t queue_id;
	uint64_t created_ns;	/* CLOCK_REALTIME, ns since the epoch */
	struct jr_execution exec;	/* the latest attempt */
	uint32_t attempts;	/* attempts made, one waiting to retry too */
	int progress;		/* 0-100, or -1 if never reported */
	int is_command;
	int is_external;	/* run by an external worker (JR_COMMAND_EXTERNAL) */
	uint32_t owner_uid;	/* command jobs: the uid it runs as */
	int pending;		/* internal: reported as state JR_JOB_PENDING */
	char name[JR_NAME_MAX];	/* "" when the job has none */
	char stdout_path[256];	/* command jobs: where their output goes */
	char stderr_path[256];
	uint64_t reserved[13];	/* zero */
};

#define JR_WAIT_BUCKETS 26

/* An engine's counters. 512 bytes. */
struct jr_stats {
	uint64_t submitted;
	uint64_t queued;	/* sum of queued_by_priority */
	uint64_t queued_by_priority[JR_PRIORITY_LEVELS];
	uint64_t held;		/* queued behind a queue's max_workers cap */
	uint64_t running;
	uint64_t succeeded;
	uint64_t failed;
	uint64_t cancelled;
	uint64_t region_bytes;
	/* Command jobs: time from submission to first start. Bucket i counts
	 * waits under 2^i microseconds (the last: everything longer). */
	uint64_t start_wait_us_hist[JR_WAIT_BUCKETS];
	uint64_t start_wait_us_sum;
	uint32_t workers;
	uint32_t workers_parked;
	uint32_t cores;		/* this host's cores, as the engine sees it */
	uint32_t cores_busy;	/* held by running command jobs */
	uint32_t capacity;	/* job slots */
	/* External jobs eligible (dependencies met, not held, start time
	 * passed) and claimed by no worker yet: what the allocation queues
	 * of issue 17 ask Slurm for. (0.6) */
	uint32_t external_ready;
	uint32_t reserved[36];	/* zero */
};

enum jr_engine_flags {
	/* Workers start parked; nothing runs until jr_engine_resume(). Lets a
	 * caller queue a whole batch first (tests, benchmarks). */
	JR_ENGINE_START_PAUSED = 1u << 0,
	/* Do not bind worker threads to cores (binding is skipped anyway when
	 * the topology is synthetic: it describes some other machine). */
	JR_ENGINE_NO_BIND = 1u << 1,
	/* No runner threads: the coordinator starts children itself and reaps
	 * them through epoll (slower: posix_spawn blocks it until each child
	 * has exec'd; docs/BENCHMARKS.md). */
	JR_ENGINE_SPAWN_INLINE = 1u << 2,
	/* No cgroup per command job: processes are tracked by their process
	 * group only, so one that leaves it (setsid) escapes cancel, time
	 * limits and the end of its job. Without a writable cgroup v2
	 * hierarchy the engine works this way anyway (jr_engine_exec_info()). */
	JR_ENGINE_NO_CGROUPS = 1u << 3,
};

enum jr_job_event_kind {
	JR_EVENT_STARTED = 1,	/* an attempt began */
	JR_EVENT_RETRYING = 2,	/* an attempt failed; the job is queued again */
	JR_EVENT_ENDED = 3,	/* the job is final (state) */
};

#define JR_ALLOC_BYTES_MAX 1024u

/* One change of a command job, for jr_engine_opts.job_event. 192 bytes. */
struct jr_job_event {
	jr_job_id job_id;
	uint64_t time_ns;		/* CLOCK_REALTIME */
	enum jr_job_event_kind kind;
	enum jr_job_state state;	/* ENDED: the final state */
	enum jr_reason reason;		/* RETRYING, ENDED: why */
	uint32_t attempt;		/* the attempt started or ended; 0: none ran */
	uint32_t worker_id;
	int32_t exit_code;
	int32_t signal;
	int32_t pid;			/* STARTED: the process (see below) */
	uint64_t max_rss_kib;
	uint64_t user_us;
	uint64_t system_us;
	/* STARTED: the process, as it can be told apart from any later one
	 * with the same pid (its start in clock ticks after boot, this
	 * boot's id), and the resources it holds (opaque bytes, valid during
	 * the call; given back in jr_job_restore.alloc). */
	uint64_t pid_start_ticks;
	uint8_t boot_id[16];
	uint32_t cgroup_slot;	/* its cgroup, job-<slot> under the subtree; 0: none */
	uint32_t alloc_len;	/* at most JR_ALLOC_BYTES_MAX */
	const void *alloc;
	/* RETRYING: the next attempt starts no earlier (its backoff). */
	uint64_t not_before_ns;
	/* ENDED, RETRYING after a spawn_failed attempt: why (see above). */
	int32_t spawn_error;
	uint32_t zero;
	uint64_t reserved[8];	/* zero */
};

/* The output cap when jr_engine_opts.max_output_bytes is 0: 1 GiB. */
#define JR_MAX_OUTPUT_DEFAULT (1ull << 30)

/* How an engine runs. 256 bytes; jr_engine_opts_init() fills it. */
struct jr_engine_opts {
	uint32_t capacity;	/* job slots; 0: JR_CAPACITY_DEFAULT */
	uint32_t workers;	/* 0: one per core of the topology */
	const char *topology;	/* hwloc synthetic description, or NULL: this host */
	uint64_t arena_bytes;	/* names etc.; 0: 16 bytes per slot */
	uint32_t claim_batch;	/* jobs a worker claims at once; 0: 32 */
	uint32_t spin_us;	/* busy-wait before parking; 0: 50 */
	uint32_t flags;		/* enum jr_engine_flags */
	/* Command jobs. */
	uint32_t kill_grace_ms;	/* SIGTERM to SIGKILL; 0: 10,000 */
	const char *state_dir;	/* per-job output files, created with the first
				 * command job; NULL: /tmp/jobring-<pid> */
	uint64_t mem_per_node;	/* memory pool per NUMA node; 0: hwloc's figure */
	uint32_t gpus_per_node;
	/* Runner threads for command jobs: each starts a child, waits for it,
	 * ends its job and starts the next. 0: one per core of the topology
	 * (every command job holds a core, so that never limits how many run).
	 * See JR_ENGINE_SPAWN_INLINE. */
	uint32_t runner_threads;
	/* Host-wide counted resources, "name=total,..." (e.g.
	 * "licenses=5,scratch_gb=100"; at most 8), and the capability labels
	 * this host offers, "label,label" (at most 64). */
	const char *custom_resources;
	const char *capabilities;
	/* Told of every start, retry and end of a command job (jobringd
	 * journals them); NULL: no one. Called on the engine's coordinator
	 * or runner threads, one call at a time, with the engine's state
	 * locked: copy the event and return. */
	void (*job_event)(void *ctx, const struct jr_job_event *ev);
	void *job_event_ctx;
	/* The cgroup v2 directory under which each command job gets its own
	 * cgroup; NULL: chosen as docs/ARCHITECTURE.md says (a subtree of
	 * the engine's own cgroup, or of the hierarchy's root as root). */
	const char *cgroup;
	/* A keeper (jobringd's): the process that starts, reaps and holds
	 * the exit status of every command job, so that running jobs outlive
	 * the engine. keeper_socket is where it listens; keeper_argv starts
	 * one when none answers there (it must detach and return once it
	 * listens). NULL: command jobs are this process's children (runner
	 * threads), and end with it. */
	const char *keeper_socket;
	char *const *keeper_argv;
	/* A command job's stdout and stderr are each cut back to this many
	 * bytes (the file keeps the first ones; the execution says
	 * output_truncated), measured every 200 ms while it runs and once at
	 * its end; a job's own max_output_bytes may only lower it. 0:
	 * JR_MAX_OUTPUT_DEFAULT; UINT64_MAX: no cap. */
	uint64_t max_output_bytes;
	/* Command jobs' aging: a waiting job gains this many priority points
	 * per whole minute since it was submitted (0: none). */
	uint32_t priority_age_per_min;
	/* Per-user fair share: a user's jobs lose up to this many points,
	 * weight x the user's share of all users' recent usage (core-seconds,
	 * decayed with fair_share_half_life_ms; 0: 7 days). 0: none. See
	 * docs/DECISIONS.md. */
	uint32_t fair_share_weight;
	uint64_t fair_share_half_life_ms;
	/* Scratch filesystems (0.5): "PATH=SIZE" (size as "2T", "500G"),
	 * NULL-terminated, at most JR_STORAGE_MAX. Filesystem i is the
	 * counted resource "storage:i" (one of custom_resources' 8): a job
	 * asks for bytes of it as resources "storage:0=10737418240", and
	 * while it runs has a directory of its own there,
	 * PATH/jobring/<job id>, its user's, mode 0700, named in its
	 * JOBRING_SCRATCH and removed with all it holds when the attempt
	 * ends. NULL: none. */
	char *const *storage;
	uint64_t reserved[13];	/* must be zero */
};

/* Fill opts with the defaults above. Never fails. */
void jr_engine_opts_init(struct jr_engine_opts *opts);

/* Create the region, discover (or model) the topology, start the workers.
 * On success *out owns everything until jr_engine_close(). opts may be NULL.
 * Errors: -EINVAL (bad option, reserved fields not zero), -ENOMEM, or the
 * error of the failing system call. Thread-safe (engines are independent). */
int jr_engine_open(struct jr_engine **out, const struct jr_engine_opts *opts);

enum jr_close_mode {
	JR_CLOSE_DRAIN = 0,	/* run everything queued, then stop */
	JR_CLOSE_CANCEL = 1,	/* cancel everything queued; running jobs finish */
	/* Leave everything as it is: queued jobs are not cancelled, running
	 * command jobs go on under the keeper, for the next engine to take
	 * back (jr_command_restore()). Only with a keeper (-EINVAL without). */
	JR_CLOSE_DETACH = 2,
};

/* Stop the workers as mode says, free everything. e is invalid afterwards.
 * Not thread-safe: no other call on e may be in progress or follow. */
int jr_engine_close(struct jr_engine *e, enum jr_close_mode mode);

/* Release workers of an engine opened with JR_ENGINE_START_PAUSED (or
 * paused since). */
int jr_engine_resume(struct jr_engine *e);

/* Start no new job (function or command) until jr_engine_resume(); what
 * runs goes on. 0, or -ESHUTDOWN while closing. Thread-safe. */
int jr_engine_pause(struct jr_engine *e);

/* Whether jr_engine_pause() (or JR_ENGINE_START_PAUSED) holds new
 * starts now: 1 or 0. Thread-safe. */
int jr_engine_paused(const struct jr_engine *e);

/* Block until no job is queued, held or running. Jobs submitted
 * concurrently by other threads may or may not be waited for. */
int jr_engine_wait_all(struct jr_engine *e);

/* Counters as of the call; each field is exact, the set is not one atomic
 * snapshot while jobs move. */
int jr_engine_stats(struct jr_engine *e, struct jr_stats *out);

/* Submit one job. *id_out (may be NULL) receives its id. Lock-free.
 * Errors: -EINVAL (no fn, priority out of range, name too long, reserved
 * fields not zero),
 * -ENOENT (unknown queue), -EAGAIN (job table or name arena full; retry
 * after jobs finish), -ESHUTDOWN (engine closing). */
int jr_job_submit(struct jr_engine *e, const struct jr_job_spec *spec,
		  jr_job_id *id_out);

/* Submit n jobs at once: all or none. ids_out (may be NULL) receives n ids
 * in order. Costs one ring transfer per priority level used, not per job.
 * Errors as jr_job_submit(); on error nothing was submitted. */
int jr_job_submit_batch(struct jr_engine *e, const struct jr_job_spec *specs,
			size_t n, jr_job_id *ids_out);

/* Cancel a queued job. Idempotent: 0 if it is (now or already) cancelled.
 * Errors: -ESTALE (id aged out or never issued), -EBUSY (running),
 * -EALREADY (finished otherwise). */
int jr_job_cancel(struct jr_engine *e, jr_job_id id);

/* Copy a job's status into *out. Errors: -ESTALE when the id is unknown or
 * its finished job has aged out of the table (slots of finished jobs are
 * reused oldest first, only when the table needs them). */
int jr_job_get(struct jr_engine *e, jr_job_id id, struct jr_job_info *out);

/* Block until the job has finished (succeeded, failed or cancelled), then
 * fill *out if not NULL. Errors as jr_job_get(). */
int jr_job_wait(struct jr_engine *e, jr_job_id id, struct jr_job_info *out);

/* A command job: a child process with requirements, dependencies, a time
 * limit and retries. Resources are reserved and released by the engine's
 * coordinator thread, which starts the job when its dependencies have
 * succeeded, its start time has come and the resources are free (EASY
 * backfilling, see docs/ARCHITECTURE.md). 256 bytes. */
struct jr_command_spec {
	char *const *argv;		/* required */
	char *const *env;		/* NAME=VALUE added to the engine's environment */
	const char *cwd;		/* NULL: the engine's */
	const char *name;
	int priority;			/* any int32; JR_PRIORITY_FROM_QUEUE (-1):
					 * the queue's, unless flags has
					 * JR_COMMAND_PRIORITY_SET */
	uint32_t queue_id;
	/* What it holds while it runs. */
	uint32_t cpus;			/* whole cores; 0 counts as 1 */
	uint32_t gpus;
	uint64_t mem_bytes;
	const char *resources;		/* "licenses=2,..." from the engine's custom_resources */
	const char *capabilities;	/* labels the host must offer: "ib,avx512" */
	int span_numa;			/* may spread over NUMA nodes */
	int use_umask;			/* 0: inherit the engine's umask */
	int umask;			/* with use_umask: the job's file mode mask */
	/* When it runs, for how long, how often. */
	uint32_t max_retries;
	const jr_job_id *after;		/* command jobs that must succeed first */
	size_t after_count;
	uint64_t timeout_ms;		/* 0: none */
	uint64_t backoff_base_ms;	/* first retry delay; 0: 1,000 */
	uint64_t backoff_max_ms;	/* cap; 0: 60,000 */
	uint64_t scheduled_at_ns;	/* CLOCK_REALTIME; 0: now */
	/* Run as this user and group instead of the engine's (an engine
	 * running as root runs a daemon client's job as that client). The
	 * child sets its supplementary groups (the user's, from the group
	 * database), gid and uid before exec. */
	int run_as_user;
	uint32_t uid, gid;
	uint32_t flags;			/* enum jr_command_flags */
	/* Its output cap (see jr_engine_opts.max_output_bytes); 0: the
	 * engine's. Above the engine's, the engine's. */
	uint64_t max_output_bytes;
	/* NAME=VALUE beneath env: a name env also sets takes env's value.
	 * Meant for what the jobs of a batch have in common (a submitter's
	 * exported environment): the jobs of one jr_command_submit_batch()
	 * (or restore) whose shared_env is the same pointer keep one copy of
	 * it between them. NULL: none. */
	char *const *shared_env;
	/* after_count enum jr_dep_type values, one per after[i]; NULL: all
	 * JR_DEP_AFTEROK. */
	const uint8_t *after_types;
	/* Jobs with the same nonzero throttle_key run at most throttle_max
	 * at once (a job array's "%N"); the first job of a key that comes
	 * in sets throttle_max while any job of the key is live. 0: none. */
	uint64_t throttle_key;
	uint32_t throttle_max;
	/* With JR_COMMAND_ARRAY_TASK: its index in its array, and the
	 * array's id (0: the id of the first job of its batch, which is how
	 * a new array is submitted; a restore names it). */
	uint32_t array_task_id;
	uint64_t array_job_id;
	uint64_t reserved[7];		/* must be zero */
};

enum jr_command_flags {
	/* Not started by this engine: when its dependencies, start time and
	 * queue allow, it waits for an external worker to take it with
	 * jr_external_claim(). It holds none of this host's resources; argv
	 * may be NULL (the worker knows what to do from the job's name or
	 * its daemon-side payload). */
	JR_COMMAND_EXTERNAL = 1u << 0,
	/* priority is the job's own, -1 included (without it, -1 is
	 * JR_PRIORITY_FROM_QUEUE). */
	JR_COMMAND_PRIORITY_SET = 1u << 1,
	/* Slurm's singleton: it starts only while no other command job of
	 * the same name and uid is running (no name counts as the name ""). */
	JR_COMMAND_SINGLETON = 1u << 2,
	/* A task of a job array: it runs with JOBRING_ARRAY_JOB_ID (its
	 * array_job_id, 16 hex digits) and JOBRING_ARRAY_TASK_ID (its
	 * array_task_id) in its environment, and a throttle_max without a
	 * throttle_key throttles by the array (the key is array_job_id). */
	JR_COMMAND_ARRAY_TASK = 1u << 3,
	/* Submitted held (sbatch --hold): pending, reason JR_REASON_HELD,
	 * until jr_command_release(). */
	JR_COMMAND_HELD = 1u << 4,
};

/* Submit a command job. Errors: -EINVAL (no argv, bad priority, reserved
 * fields not zero), -ENOENT
 * (unknown queue or dependency), -E2BIG (more resources than this host
 * has), -EAGAIN (table full), -ENOMEM, -ESHUTDOWN, or the error of
 * creating state_dir (-EACCES...). Thread-safe. Its
 * stdout and stderr go to files named in jr_job_info. Cancelling a running
 * command job sends SIGTERM to its process group, then SIGKILL after the
 * grace period. */
int jr_command_submit(struct jr_engine *e, const struct jr_command_spec *spec,
		      jr_job_id *id_out);

/* Submit n command jobs at once: every spec is checked first, and then
 * all are submitted, or none (the first error is returned, with
 * *bad_index, if not NULL, set to the spec that caused it). ids_out (may
 * be NULL) receives n ids. One hand-over to the coordinator for the whole
 * batch. Errors as jr_command_submit(); the specs' reserved fields are
 * checked before anything else. Thread-safe. */
int jr_command_submit_batch(struct jr_engine *e, const struct jr_command_spec *specs,
			    size_t n, jr_job_id *ids_out, size_t *bad_index);

/* A command job as it was when a daemon stopped, to be restored with
 * its id (recovery from a journal). state is JR_JOB_QUEUED for a job
 * that is to run (again), or the final state of one that ended.
 * 256 bytes. */
struct jr_job_restore {
	jr_job_id job_id;
	enum jr_job_state state;
	enum jr_reason reason;		/* why its last attempt ended, if one did */
	uint32_t attempt;		/* attempts made so far */
	uint32_t worker_id;
	uint64_t created_ns, start_ns, end_ns;
	int32_t exit_code;
	int32_t signal;
	uint64_t max_rss_kib, user_us, system_us;
	/* QUEUED: not before this time (what is left of a retry's backoff). */
	uint64_t not_before_ns;
	/* RUNNING (a job whose process the journal last saw start): the
	 * process as jr_job_event told it, and its resources. The engine
	 * takes it back (same attempt, same start, its time limit counting
	 * from then) if its executor still holds it or it still lives, and
	 * otherwise runs it again as the next attempt (coordinator_lost). */
	int32_t pid;
	uint32_t cgroup_slot;
	uint64_t pid_start_ticks;
	uint8_t boot_id[16];
	const void *alloc;
	uint32_t alloc_len;
	/* QUEUED or RUNNING: a cancel was acknowledged that the job has not
	 * obeyed yet. It ends cancelled: a running one is taken back and
	 * stopped as a cancel stops it (its real attempt and times kept), a
	 * queued one never starts, one whose process its executor saw end
	 * meanwhile ends cancelled with that attempt's status. */
	int cancel;
	/* Its last attempt's spawn error (JR_SPAWN_ERROR), if it had one. */
	int32_t spawn_error;
	/* Attempts that ended worker_lost and ran again without counting
	 * against its retries (an external job's free retries: the engine
	 * allows a few); 0 in versions before 0.5. */
	uint32_t workers_lost;
	uint64_t reserved[14];		/* must be zero */
};

/* Put n command jobs back at their ids: before the first submission,
 * from one thread, as many calls as needed, then jr_command_restore_done()
 * (submissions are refused with -EBUSY until then). A job's dependencies
 * must be restored before it (in an earlier call, or earlier in the same
 * one). Queued jobs are scheduled as if just submitted, their attempts
 * kept; running ones are taken back or run again (see above); final ones
 * are only shown. Errors: -EINVAL (a spec, a restore's reserved fields
 * not zero, which is checked before anything else, or an id outside the
 * table), -EEXIST (an id's slot restored twice), -EBUSY
 * (after restore_done or a submission), with *bad_index, and none of the
 * call's jobs restored; or -ENOMEM (arena full) with *bad_index, the jobs
 * before it restored (and queued ones scheduled) all the same. */
int jr_command_restore(struct jr_engine *e, const struct jr_command_spec *specs,
		       const struct jr_job_restore *restore, size_t n, size_t *bad_index);
int jr_command_restore_done(struct jr_engine *e);

/* With a keeper: the end (JR_EVENT_RETRYING or JR_EVENT_ENDED) of these
 * attempts is on disk, so the keeper may forget their exit statuses. Until
 * then it holds them for the next engine. Thread-safe; never fails. */
void jr_command_durable(struct jr_engine *e, const jr_job_id *ids, const uint32_t *attempts,
			size_t n);

/* Control of a command job that has not started (pending or queued;
 * a job backing off before a retry counts as queued). Thread-safe;
 * synchronous: done when they return. Errors common to them: -ENOENT
 * (no such job, or it aged out), -EBUSY (it is starting or running),
 * -EALREADY (it has ended), -EINVAL (a function job).
 *
 * Hold: it stays pending (jr_job_info: JR_JOB_PENDING, reason
 * JR_REASON_HELD) whatever its dependencies and start time, until
 * released. Release: it goes on as before it was held (0 also when it
 * was not held). */
int jr_command_hold(struct jr_engine *e, jr_job_id id);
int jr_command_release(struct jr_engine *e, jr_job_id id);

/* Update: the fields named take the values of spec (the job's spec with
 * the new values; the engine reads only what the fields name). The job
 * keeps its id and its turn among jobs of its priority. Errors beside
 * the above: -ENOENT also for an unknown queue, -E2BIG (more resources
 * than this host has), -EINVAL (bad priority, reserved fields). */
enum jr_update_fields {
	JR_UPDATE_PRIORITY = 1u << 0,		/* spec->priority */
	JR_UPDATE_QUEUE = 1u << 1,		/* spec->queue_id (and a priority
						 * taken from the queue) */
	JR_UPDATE_TIMEOUT = 1u << 2,		/* spec->timeout_ms */
	JR_UPDATE_SCHEDULED_AT = 1u << 3,	/* spec->scheduled_at_ns */
	JR_UPDATE_RESOURCES = 1u << 4,		/* cpus, gpus, mem_bytes, resources,
						 * capabilities, span_numa */
};
struct jr_command_update {
	uint32_t fields;			/* enum jr_update_fields */
	uint32_t zero;
	const struct jr_command_spec *spec;
	uint64_t reserved[6];			/* must be zero */
};
int jr_command_update(struct jr_engine *e, jr_job_id id, const struct jr_command_update *u);

/* Requeue a running job: its process is stopped as a cancel stops it
 * (SIGTERM, then SIGKILL after the grace period) and the job is queued
 * again; it runs again as a new execution (attempt + 1, the same id),
 * whatever its retries. An external job's execution ends at once.
 * Errors beside the above: -EAGAIN (it has not started: nothing to
 * requeue), -EALREADY (it has ended: see jr_command_requeue_ended()). */
int jr_command_requeue(struct jr_engine *e, jr_job_id id);

/* Requeue a job that has ended (succeeded, failed or cancelled) while
 * its id is still in the table: spec is its command (the engine kept
 * only its end). It is queued again at the same id and runs as a new
 * execution. Errors: -ENOENT (no such job, or its slot went to another),
 * -EBUSY (it has not ended), -EINVAL, -E2BIG, -ENOMEM, -ESHUTDOWN. */
int jr_command_requeue_ended(struct jr_engine *e, jr_job_id id,
			     const struct jr_command_spec *spec);

/* Iterate over the live jobs of the table in slot order (not submission
 * order). *cursor starts at 0; each call fills *out with the next job at
 * or after it whose state is in state_mask (bit 1 << enum jr_job_state;
 * 0: any) and whose priority is priority (-1: any), and moves *cursor
 * past it. Returns 1 with a job, 0 at the end of the table. Lock-free;
 * jobs submitted or ended during a scan may or may not be seen. */
int jr_job_scan(struct jr_engine *e, uint64_t *cursor, uint32_t state_mask,
		int priority, struct jr_job_info *out);

/* External workers (JR_COMMAND_EXTERNAL jobs). worker_id identifies the
 * worker in executions (JR_EXTERNAL_WORKER_BASE + the caller's number);
 * capabilities lists its labels ("gpu,ib"; NULL: none). Claim takes the
 * highest-priority eligible external job whose required capabilities the
 * worker has: 1 and *out (its running state, the execution started), or 0
 * when none is eligible. job_id, if not 0, claims that job only (-EBUSY
 * if it is not eligible now). Errors: -EINVAL, -ESTALE. Thread-safe. */
#define JR_EXTERNAL_WORKER_BASE 32768u
/* The highest worker_id accepted (0.6; 65,535 before): worker ids
 * JR_EXTERNAL_WORKER_BASE + 1 .. JR_EXTERNAL_WORKER_MAX, 23 bits, as
 * jr_job_info.exec.worker_id reports them. */
#define JR_EXTERNAL_WORKER_MAX 8388607u
int jr_external_claim(struct jr_engine *e, uint32_t worker_id,
		      const char *capabilities, jr_job_id job_id,
		      struct jr_job_info *out);
/* As jr_external_claim(), but only jobs that run as owner_uid (their
 * jr_job_info.owner_uid): a worker that belongs to one user runs only
 * that user's jobs. JR_EXTERNAL_ANY_OWNER: any job, as
 * jr_external_claim(). Thread-safe. */
#define JR_EXTERNAL_ANY_OWNER UINT32_MAX
int jr_external_claim_owned(struct jr_engine *e, uint32_t worker_id,
			    const char *capabilities, uint32_t owner_uid, jr_job_id job_id,
			    struct jr_job_info *out);

/* The external execution of a job ended: exit_code 0 succeeds, any other
 * fails (and is retried while retries are left). lost: the worker went
 * away (reason worker_lost; retried at once up to 5 times whatever the
 * retries, then likewise). execution_id must be the
 * job's current one. Errors: -ESTALE (unknown job or not its current
 * execution), -EALREADY (not running). Thread-safe. */
int jr_external_complete(struct jr_engine *e, uint64_t execution_id,
			 int exit_code, int lost);

/* An external execution's progress (0-100), as its worker reports it:
 * shown in jr_job_info.progress while it runs (and after, until another
 * attempt starts). execution_id must be the job's current one. Errors:
 * -EINVAL (percent outside 0..100), -ESTALE (unknown job or not its
 * current execution), -EALREADY (not running). Thread-safe. (0.4) */
int jr_external_progress(struct jr_engine *e, uint64_t execution_id, int percent);

/* What an external worker has free, for jr_external_claim_fit(), and
 * what the job it claims takes of it. cpus, gpus, mem_bytes:
 * JR_EXTERNAL_NO_LIMIT where the worker sets no limit. Counters by name
 * (a job's custom resources, "licenses=2"): a job that needs a counter
 * the worker does not name does not fit. (0.5) */
#define JR_EXTERNAL_COUNTERS 8
#define JR_EXTERNAL_NO_LIMIT UINT64_MAX
struct jr_external_res {
	uint64_t cpus;
	uint64_t gpus;
	uint64_t mem_bytes;
	uint32_t counter_count;
	uint32_t zero;
	char counter_name[JR_EXTERNAL_COUNTERS][32];
	uint64_t counter[JR_EXTERNAL_COUNTERS];
};

/* As jr_external_claim_owned(), but only a job that fits avail (NULL:
 * any, as jr_external_claim_owned()): its cpus (0 counts as 1), gpus,
 * mem_bytes and custom resources, as submitted, at most what avail has.
 * Among the eligible jobs of the highest priority that fit, the best fit
 * wins: most GPUs, then most cpus, then most memory, then the earliest.
 * The scan is bounded: it gives up after 1,024 ready jobs too big for
 * avail, and compares at most 16 after the first that fits; a job that
 * takes all of avail's cpus ends it. *taken (if not NULL) receives what
 * the claimed job takes. Errors as jr_external_claim(). Thread-safe. (0.5) */
int jr_external_claim_fit(struct jr_engine *e, uint32_t worker_id, const char *capabilities,
			  uint32_t owner_uid, jr_job_id job_id,
			  const struct jr_external_res *avail, struct jr_external_res *taken,
			  struct jr_job_info *out);

/* Report a function job's progress (0-100) from inside the job. */
void jr_job_progress(const struct jr_job_ctx *ctx, int percent);

/* Create a named queue. priority is the default for its jobs submitted
 * with JR_PRIORITY_FROM_QUEUE; max_workers caps how many of its jobs run at
 * once (0: no cap). *queue_id receives the id. Errors: -EEXIST, -ENOSPC
 * (JR_QUEUE_MAX reached), -EINVAL. */
int jr_queue_create(struct jr_engine *e, const char *name, int priority,
		    uint32_t max_workers, uint32_t *queue_id);

/* New settings for a queue (the default queue too). priority is taken by
 * jobs submitted after this with JR_PRIORITY_FROM_QUEUE; max_workers (0:
 * no cap) counts command jobs (local and external) from the next
 * scheduling pass, and function jobs dequeued from now on (held ones that
 * a raised cap admits go to their rings now). Errors: -ENOENT.
 * Thread-safe. */
int jr_queue_update(struct jr_engine *e, uint32_t queue_id, int priority, uint32_t max_workers);

/* Remove a queue that no live job (pending, queued, held or running)
 * belongs to; its id may be given to a later jr_queue_create(). Not
 * against a concurrent submission to the same queue: the caller orders
 * them (the daemon does, on its one thread). A scan of the job table.
 * Errors: -ENOENT, -EPERM (the default queue), -EBUSY (live jobs).
 * Thread-safe. */
int jr_queue_delete(struct jr_engine *e, uint32_t queue_id);

/* Find a queue by name. Errors: -ENOENT. */
int jr_queue_lookup(struct jr_engine *e, const char *name, uint32_t *queue_id);

/* A queue's settings and counters. 128 bytes. */
struct jr_queue_info {
	uint32_t queue_id;
	char name[48];
	int priority;
	uint32_t max_workers;	/* 0: no cap */
	uint32_t running;	/* function jobs holding a run token */
	uint32_t held;		/* function jobs waiting for one */
	uint32_t reserved[15];	/* zero */
};

/* A queue's settings and counters. Errors: -ENOENT (no such queue).
 * Queue ids run from 0 to JR_QUEUE_MAX - 1. */
int jr_queue_get_info(struct jr_engine *e, uint32_t queue_id, struct jr_queue_info *out);

/* How command jobs are run: cgroups, the keeper, what a restart found.
 * 1024 bytes. */
struct jr_exec_info {
	int cgroups;			/* 1: a cgroup per command job */
	char cgroup_path[512];		/* where job cgroups go */
	char controllers[64];		/* enforced for jobs: "memory,pids"; "" none */
	char note[256];			/* without cgroups: why (say it to the user) */
	int32_t keeper_pid;		/* 0: no keeper (runner threads) */
	uint64_t keeper_restarts;	/* keepers started after the first */
	/* Restored jobs that were running: */
	uint64_t adopted;		/* still running: taken back */
	uint64_t ended_while_away;	/* ended meanwhile: their status collected */
	uint64_t lost;			/* gone without a status: run again */
	uint64_t progress_frames;	/* PROGRESS frames from the keeper (0.4) */
	uint64_t reserved[18];		/* zero */
};

/* Fill *out. Thread-safe. */
int jr_engine_exec_info(struct jr_engine *e, struct jr_exec_info *out);

/* --- Resources as of now (0.5) --------------------------------------------- */

#define JR_STORAGE_MAX 4
#define JR_VIEW_NUMA_MAX 16
#define JR_VIEW_COUNTER_MAX 8

/* One NUMA node's pools. */
struct jr_view_numa {
	uint32_t cores_total;		/* cores (the unit jobs hold) */
	uint32_t cores_used;
	uint32_t pus_total;		/* hardware threads of those cores */
	uint32_t gpus_total;
	uint32_t gpus_used;
	uint32_t first_core;		/* host-wide id of its first core */
	uint64_t mem_total;		/* bytes */
	uint64_t mem_used;
};

/* A counted resource (custom_resources, and each storage filesystem). */
struct jr_view_counter {
	char name[24];
	uint64_t total;
	uint64_t used;
	int32_t storage;		/* its filesystem's index; -1: none */
	uint32_t zero;
};

struct jr_view_storage {
	char path[200];
	uint64_t bytes_total;
	uint64_t bytes_used;
	uint32_t counter;		/* its index in counters */
	uint32_t zero;
};

/* What the scheduler holds back for the highest-priority job that
 * waits for resources (EASY backfilling's head), as of its last pass. */
struct jr_view_head {
	jr_job_id job_id;		/* 0: no job waits for resources */
	uint64_t shadow_ns;		/* when it is expected to fit (CLOCK_REALTIME);
					 * UINT64_MAX: unknown (no time limits) */
	uint32_t cpus, gpus;		/* what it needs */
	uint64_t mem_bytes;
	uint64_t counters[JR_VIEW_COUNTER_MAX];
};

/* The host's resources and their use. Each counter is read atomically;
 * the set is not one snapshot while jobs start and end. 4096 bytes. */
struct jr_resource_view {
	uint32_t numa_count;
	uint32_t counter_count;
	uint32_t storage_count;
	uint32_t workers;		/* the engine's worker threads */
	uint32_t workers_busy;		/* of them, running a function job */
	uint32_t commands_running;	/* command jobs running here */
	uint64_t capabilities;		/* bit i: label i offered (names: none kept here) */
	struct jr_view_numa numa[JR_VIEW_NUMA_MAX];		/* 40 bytes each */
	struct jr_view_counter counters[JR_VIEW_COUNTER_MAX];	/* 48 */
	struct jr_view_storage storage[JR_STORAGE_MAX];		/* 224 */
	struct jr_view_head head;				/* 96 */
	uint64_t reserved[256];		/* zero */
};

enum jr_view_flags {
	/* Only storage_count and storage[] are written (what a submission
	 * checks a "storage" request against): no lock, no more. */
	JR_VIEW_STORAGE_ONLY = 1u << 0,
};

/* Fill *out with the pools' totals and what is in use now: counters
 * copied atomically, the head's reservation under the coordinator's
 * lock, no scan of the job table. flags: enum jr_view_flags (0: all).
 * Errors: -EINVAL (NULL, unknown flags). Thread-safe. */
int jr_engine_resources(struct jr_engine *e, struct jr_resource_view *out, unsigned flags);

/* Name of a state ("queued", ...); never NULL. */
const char *jr_job_state_name(enum jr_job_state state);

/* Name of a reason ("exit_code", "timeout", ...); "" for none. */
const char *jr_reason_name(enum jr_reason reason);

/* --- Client: a C program talking to a running jobringd ----------------- */

/* One connection to the daemon's control socket (HTTP/1.1, kept alive).
 * Not thread-safe: one per thread. */
struct jr_client;

/* The socket a client uses when given none: $JOBRING_SOCKET, else the
 * daemon's default ($XDG_RUNTIME_DIR/jobring/jobring.sock, or
 * /run/jobring/jobring.sock for root). Writes into buf; returns buf. */
const char *jr_client_default_socket(char *buf, size_t size);

/* Connect. socket_path NULL: $JOBRING_SERVER if set, else
 * jr_client_default_socket(); a TCP address: jr_client_open_access()
 * with $JOBRING_ACCESS. 0, or -errno
 * (-ENOENT, -ECONNREFUSED: no daemon there; -EACCES). The caller owns
 * *out and releases it with jr_client_close(). */
int jr_client_open(struct jr_client **out, const char *socket_path);
void jr_client_close(struct jr_client *c);

/* Connect over TCP and TLS 1.3 to a jobringd started with --listen
 * (issue 17), proving the key of access_file, the file that daemon
 * wrote 0600 (STATE_DIR/access.json): whoever can read it acts as the
 * daemon's owner. address: "HOST:PORT" or "tls://HOST:PORT"; NULL: the
 * one the access file names; a socket path (it has a '/'): the Unix
 * socket, as jr_client_open(). access_file NULL: $JOBRING_ACCESS.
 * jr_client_open() comes here for a TCP address, or with no path when
 * $JOBRING_SERVER is set. 0, or -errno: -ENOKEY (a TCP address and no
 * access file), -ENOENT, -EPERM (the access file is readable by others),
 * -EBADMSG (not an access file), -EKEYREJECTED (the daemon holds another
 * key: the handshake failed), -EBUSY (the daemon holds too many
 * connections: try later), -EPROTO (no TLS 1.3 jobringd there),
 * -ECONNREFUSED, -EADDRNOTAVAIL (no such host). The caller owns *out.
 * A later reconnection that is refused, or whose key is, reads the
 * access file again (a daemon restarted on another port or with a new
 * key) and tries once more. */
int jr_client_open_access(struct jr_client **out, const char *address, const char *access_file);

/* One request: method and path ("/jobs?status=running"), an optional
 * body (JSON, or NDJSON for /jobs/batch). Returns the HTTP status (200,
 * 201, 404, ...) with *response (NUL-terminated, owned by the caller,
 * free() it) and *response_len (may be NULL), or -errno if the exchange
 * failed (the connection is then re-opened by the next call). */
int jr_client_request(struct jr_client *c, const char *method, const char *path,
		      const char *body, size_t body_len, char **response,
		      size_t *response_len);

/* Submit one job given as its JSON object; *job_id receives the id (17
 * bytes with the NUL). Returns 0, the HTTP status of a refusal (400, 422,
 * ...: *error, if not NULL, receives the daemon's JSON, caller frees), or
 * -errno. */
int jr_client_submit(struct jr_client *c, const char *job_json, char job_id[17],
		     char **error);

#ifdef __cplusplus
}
#endif
#endif /* JOBRING_H */
