/*
 * cmdjob.h - one command job in the coordinator: built from its spec,
 * its start recorded, told about (jr_engine_opts.job_event), signalled,
 * and, when an attempt ends, retried or ended for good, its slot given
 * back and its record freed at the end of the turn (cmdjob.c). Under
 * state_lock.
 */
#ifndef JR_COORD_CMDJOB_H
#define JR_COORD_CMDJOB_H

#include "coord/state.h"

/* The shared_env last built while a batch's jobs are built: the next job
 * with the same spec->shared_env pointer takes a reference to it; and
 * the argv last built: the next job with an equal argv (string by
 * string) shares it (a batch of one command: 32 bytes a queued job
 * fewer, issue 14). Start zeroed; jr_cmd_env_cache_done() drops the
 * cache's own references. */
struct cmd_env_cache {
	char *const *src;
	bool array;
	jr_job_id array_job_id;
	struct cmd_shared_env *env;
	char **argv;			/* counted (jr_cmd_argv_*), or NULL */
};
void jr_cmd_env_cache_done(struct cmd_env_cache *cache);

/* An external job's ext_caps: its labels, a NUL, then its counters
 * ("name=N,...", matched at a claim: external.c), a NUL; NULL (no
 * memory, or neither) when both are empty. */
char *jr_ext_caps_make(const char *caps, const char *counters);

/* A new job's coordinator record; NULL without memory. Its sj.req is
 * req's shared copy from reqs. cache: see above. */
struct cmd_job *jr_cmd_job_new(const struct jr_command_spec *spec, const struct jr_req *req,
			       struct jr_req_pool *reqs, struct cmd_env_cache *cache);
void jr_cmd_job_free(struct cmd_job *job);

/* Its attempt starts now: the slot's attempt, worker and times. */
void jr_cmd_job_record_start(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);

/* Tell jr_engine_opts.job_event, if set. */
void jr_cmd_job_event(struct jr_coordinator *co, const struct cmd_job *job,
		      enum jr_job_event_kind kind, enum jr_job_state state,
		      enum jr_reason reason, uint64_t now);

/* Signal a running job, through the keeper or its cgroup. */
void jr_cmd_job_signal(struct jr_coordinator *co, struct cmd_job *job, int sig);

/* Its spawn is done, or failed (job->run->spawn_rc): its deadlines armed and
 * its start told, or it ends failed. */
void jr_cmd_job_spawned(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);

/* A reaped or refused job: retry it, or end it for good. */
void jr_cmd_job_exited(struct jr_coordinator *co, struct cmd_job *job,
		       const struct jr_exit_status *res, uint64_t now);

/* A job that ran (or was refused at start) ends for good. */
void jr_cmd_job_end(struct jr_coordinator *co, struct cmd_job *job,
		    enum jr_sched_state state, enum jr_reason reason, uint64_t now);

/* The scheduler ended a job that never ran (cancelled, dependency). */
void jr_cmd_job_ended_unrun(struct jr_coordinator *co, struct cmd_job *job,
			    uint64_t now);

#endif
