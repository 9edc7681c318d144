/*
 * cmdjob.h - the coordinator's private view of command jobs, shared by
 * coordinator.c (the event loop) and cmdjob.c (building, starting and
 * ending one job). Process-local, owned by the coordinator thread except
 * the inbox, which submitters append to under the lock.
 */
#ifndef JR_CMDJOB_H
#define JR_CMDJOB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "executor.h"
#include "scheduler.h"

struct jr_coordinator;

struct cmd_job {
	struct jr_sched_job sj;
	struct jr_coordinator *co;
	jr_job_id id;
	uint32_t slot;
	uint32_t record_ref;
	char **argv;		/* NULL-terminated; strings follow in one block */
	char **env;		/* extra NAME=VALUE, NULL-terminated */
	char *cwd;
	jr_job_id *after;
	uint32_t after_count;
	uint32_t attempts;
	uint32_t max_retries;
	uint64_t backoff_base_ns, backoff_max_ns;
	uint64_t timeout_ns;
	struct jr_child child;
	bool running;
	bool timed_out;
	bool cancel_requested;
	bool spawning;		/* handed to a spawner thread */
	int spawn_rc;
	uint64_t term_at_ns;	/* SIGTERM due (time limit); 0: none */
	uint64_t kill_at_ns;	/* SIGKILL due (grace over); 0: none */
	struct cmd_job *next;	/* inbox or free list */
};

struct jr_coordinator {
	struct jr_engine *engine;
	pthread_t thread;
	int epfd, evfd, tfd;
	pthread_mutex_t lock;		/* inbox, cancels, spawn queue */
	/* Everything else: held by the coordinator while it works, and by a
	 * runner thread while it ends its child's job and runs the pass. */
	pthread_mutex_t state_lock;
	struct cmd_job *inbox_head, *inbox_tail;
	jr_job_id *cancels;
	uint32_t cancel_count, cancel_cap;
	bool stopping, cancel_all;
	struct jr_pools pools;
	struct jr_sched sched;
	struct cmd_job **running;
	uint32_t running_count, running_cap;
	struct cmd_job *dead;		/* ended, freed at the end of the turn */
	struct cmd_job *start_refused;	/* cancelled while waiting to start */
	/* Runner threads (opts.runner_threads): each starts a child, waits for
	 * it, then ends its job and runs the pass itself, so a core that frees
	 * up gets its next child without a hand-off. Without runners the
	 * coordinator spawns and reaps through epoll. */
	pthread_t *spawners;
	uint32_t spawner_count;
	pthread_cond_t spawn_cv;	/* under lock */
	struct cmd_job *spawn_head, *spawn_tail;	/* under lock */
	struct cmd_job *spawned_here;	/* spawned inline (JR_ENGINE_SPAWN_INLINE) */
	bool spawners_stop;		/* under lock */
	uint64_t outstanding;		/* submitted, not yet final */
	struct jr_worker_rec *rec;	/* its succeeded/failed counters */
	uint32_t id;			/* worker id recorded in executions */
	char state_dir[200];
	bool state_dir_made;		/* under lock */
	struct jr_cap_names caps;
	char custom_names[JR_CUSTOM_MAX][JR_CUSTOM_NAME_MAX];
	uint64_t kill_grace_ns;
	uint64_t armed_ns;		/* the coordinator's timer; NEVER: none */
	uint32_t gpus_per_node;
	uint64_t rng;
	char **base_env;
};

/* cmdjob.c */
struct cmd_job *cmd_job_new(const struct jr_command_spec *spec,
			    const struct jr_req *req);
void cmd_job_free(struct cmd_job *job);
void cmd_job_record_start(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);
int cmd_job_spawn(struct jr_coordinator *co, struct cmd_job *job);
void cmd_job_spawned(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);
/* A reaped or refused job: retry it, or end it for good. */
void cmd_job_exited(struct jr_coordinator *co, struct cmd_job *job,
		    const struct jr_exec_result *res, uint64_t now);
void cmd_job_end(struct jr_coordinator *co, struct cmd_job *job,
		 enum jr_sched_state state, enum jr_reason reason, uint64_t now);
/* The scheduler ended a job that never ran (cancelled, dependency). */
void cmd_job_ended_unrun(struct jr_coordinator *co, struct cmd_job *job,
			 uint64_t now);

/* coordinator.c */
void coord_running_add(struct jr_coordinator *co, struct cmd_job *job);
void coord_running_remove(struct jr_coordinator *co, struct cmd_job *job);

#define JR_RUNNERS_MAX 1024u

#define CMD_JOB(sjp) ((struct cmd_job *)(void *)(sjp))

#endif
