/*
 * cmdjob.c - one command job in the coordinator: built from its spec,
 * its start recorded and told, signalled, and ended (or retried) when an
 * attempt ends. See cmdjob.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/child.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "coord/keeperlink.h"
#include "coord/progresspipe.h"
#include "exec/outdir.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"

/* --- building ------------------------------------------------------------ */

/* A NULL-terminated copy of v in one allocation: the pointers, then the
 * strings. NULL for an empty or absent v. */
static char **strv_dup(char *const *v, bool *failed)
{
	char *block;

	*failed = false;
	if (!v || !v[0])
		return NULL;
	block = jr_malloc(jr_cmd_strv_bytes(v));
	if (!block) {
		*failed = true;
		return NULL;
	}
	return jr_cmd_strv_copy(&block, v);
}

/* A job's argv: counted, shared by the jobs of a batch that run the same
 * command. The count sits in the 8 bytes before the pointers. */
static uint64_t *argv_refs(char **argv)
{
	return (uint64_t *)(void *)argv - 1;
}

static void argv_release(char **argv)
{
	if (argv && --*argv_refs(argv) == 0)
		jr_free(argv_refs(argv));
}

static bool strv_equal(char *const *a, char *const *b)
{
	size_t i = 0;

	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !a[i] && !b[i];
}

/* A reference to a counted copy of v: the cache's when the job before
 * ran the same command. NULL for an empty or absent v (and *failed
 * unset). */
static char **argv_get(char *const *v, struct cmd_env_cache *cache, bool *failed)
{
	uint64_t *block;
	char *cursor;

	*failed = false;
	if (!v || !v[0])
		return NULL;
	if (cache->argv && strv_equal(cache->argv, v)) {
		++*argv_refs(cache->argv);
		return cache->argv;
	}
	if (!(block = jr_malloc(sizeof(*block) + jr_cmd_strv_bytes(v)))) {
		*failed = true;
		return NULL;
	}
	*block = 2;	/* the job's and the cache's */
	cursor = (char *)(block + 1);
	argv_release(cache->argv);
	cache->argv = jr_cmd_strv_copy(&cursor, v);
	return cache->argv;
}

static void shared_env_release(struct cmd_shared_env *e)
{
	if (e && --e->refs == 0) {	/* e->v may be NULL */
		jr_free(e->v);
		jr_free(e);
	}
}

void jr_cmd_env_cache_done(struct cmd_env_cache *cache)
{
	shared_env_release(cache->env);
	argv_release(cache->argv);
	cache->argv = NULL;
	cache->env = NULL;
	cache->src = NULL;
	cache->array = false;
	cache->array_job_id = 0;
}

/* A reference to the shared environment v (of array array_job_id's
 * tasks, if array), from the cache when the job before had the
 * same; NULL (and *failed unset) for none. An array's tasks share one
 * even without v: it names their array, so that a task keeps no
 * environment of its own (a million-task array: 96 bytes a task). */
static struct cmd_shared_env *shared_env_get(char *const *v, bool array, jr_job_id array_job_id,
					     struct cmd_env_cache *cache, bool *failed)
{
	struct cmd_shared_env *e;

	*failed = false;
	if (v && !v[0])
		v = NULL;
	if (!v && !array)
		return NULL;
	if (cache->env && cache->src == v && cache->array == array &&
	    cache->array_job_id == array_job_id) {
		cache->env->refs++;
		return cache->env;
	}
	e = jr_malloc(sizeof(*e));
	if (!e || ((e->v = strv_dup(v, failed)), *failed)) {
		jr_free(e);
		*failed = true;
		return NULL;
	}
	e->array = array;
	e->array_job_id = array_job_id;
	e->refs = 2;	/* the job's and the cache's */
	shared_env_release(cache->env);
	cache->src = v;
	cache->array = array;
	cache->array_job_id = array_job_id;
	cache->env = e;
	return e;
}

/* The ids, then their types (jr_cmd_job_dep_type) in the same block. */
static jr_job_id *after_dup(const struct jr_command_spec *spec)
{
	size_t n = spec->after_count;
	jr_job_id *after = jr_calloc(1, n * sizeof(*after) + n);

	if (!after)
		return NULL;
	memcpy(after, spec->after, n * sizeof(*after));
	if (spec->after_types)
		memcpy(after + n, spec->after_types, n);
	return after;
}

char *jr_ext_caps_make(const char *caps, const char *counters)
{
	size_t a = caps ? strlen(caps) : 0, b = counters ? strlen(counters) : 0;
	char *p;

	if (a == 0 && b == 0)
		return NULL;
	if (!(p = malloc(a + b + 2)))
		return NULL;
	memcpy(p, caps ? caps : "", a + 1);
	memcpy(p + a + 1, counters ? counters : "", b + 1);
	return p;
}

struct cmd_job *jr_cmd_job_new(const struct jr_command_spec *spec, const struct jr_req *req,
			       struct jr_req_pool *reqs, struct cmd_env_cache *cache)
{
	struct cmd_job *job = jr_calloc(1, sizeof(*job));
	bool argv_failed = false, env_failed = false, shared_failed = false;

	if (!job)
		return NULL;
	if ((spec->flags & JR_COMMAND_EXTERNAL) || spec->max_retries || spec->backoff_base_ms ||
	    spec->backoff_max_ms || spec->max_output_bytes || spec->cwd ||
	    (spec->env && spec->env[0]) || spec->after_count ||
	    (spec->flags & JR_COMMAND_SINGLETON)) {	/* its name's hash */
		if (!(job->opt = jr_calloc(1, sizeof(*job->opt)))) {
			jr_free(job);
			return NULL;
		}
		struct cmd_opt *o = job->opt;
		o->max_retries = spec->max_retries;
		o->backoff_base_ns = spec->backoff_base_ms ? spec->backoff_base_ms * JR_NS_PER_MS :
							     CMD_BACKOFF_BASE_NS;
		o->backoff_max_ns = spec->backoff_max_ms ? spec->backoff_max_ms * JR_NS_PER_MS :
							   CMD_BACKOFF_MAX_NS;
		o->max_output = spec->max_output_bytes;	/* 0: the engine's (jr_coord_output_cap) */
	}
	job->argv = argv_get(spec->argv, cache, &argv_failed);
	if (job->opt)
		job->opt->env = strv_dup(spec->env, &env_failed);
	/* An array task's JOBRING_ARRAY_* are made when it starts (launch.c):
	 * its index here, its array's id in its shared environment. */
	job->array_task = spec->array_task_id;
	job->shared_env = shared_env_get(spec->shared_env,
					 (spec->flags & JR_COMMAND_ARRAY_TASK) != 0,
					 spec->array_job_id, cache, &shared_failed);
	if (spec->cwd)
		job->opt->cwd = strdup(spec->cwd);
	if (spec->after_count)
		job->opt->after = after_dup(spec);
	job->sj.req = jr_req_pool_take(reqs, req);
	if (argv_failed || env_failed || shared_failed || !job->sj.req ||
	    (spec->cwd && !job->opt->cwd) ||
	    (spec->after_count && !job->opt->after)) {
		jr_cmd_job_free(job);
		return NULL;
	}
	job->external = spec->flags & JR_COMMAND_EXTERNAL;
	job->sj.singleton = (spec->flags & JR_COMMAND_SINGLETON) != 0;
	job->sj.held = (spec->flags & JR_COMMAND_HELD) != 0;
	if (job->external &&
	    (spec->capabilities && *spec->capabilities ? 1 : spec->resources && *spec->resources) &&
	    !(job->opt->ext_caps = jr_ext_caps_make(spec->capabilities, spec->resources))) {
		jr_cmd_job_free(job);
		return NULL;
	}
	job->run_as_user = spec->run_as_user != 0;
	job->uid = spec->uid;
	job->gid = spec->gid;
	if (job->opt)
		job->opt->after_count = (uint32_t)spec->after_count;
	job->sj.limit_ns = spec->timeout_ms * JR_NS_PER_MS;
	job->sj.not_before_ns = spec->scheduled_at_ns;
	job->use_umask = spec->use_umask != 0;
	job->umask = (uint16_t)(spec->umask & 0777);
	return job;
}

void jr_cmd_job_free(struct cmd_job *job)
{
	if (!job)
		return;
	argv_release(job->argv);
	shared_env_release(job->shared_env);
	if (job->opt) {
		free(job->opt->cwd);
		free(job->opt->ext_caps);
		jr_free(job->opt->env);
		jr_free(job->opt->after);
		jr_free(job->opt);
	}
	jr_free(job->sj.alloc);
	jr_free(job->sj.dependents);
	jr_req_pool_drop(job->sj.req);
	jr_free(job->run);
	jr_free(job);
}

/* --- starting ------------------------------------------------------------ */

void jr_cmd_job_record_start(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_cmd_job_run_attach(job);
	if (job->attempts && co->out_dirfd >= 0)
		/* The attempt before keeps its output, under its own names
		 * (GET /executions/{id}/logs), before this one's are made. */
		jr_outdir_keep_attempt(co->out_dirfd, job->sj.id,
				       jr_execution_id(job->sj.id, job->attempts));
	job->attempts++;
	if (job->attempts == 1 && (job->sj.id >> 32) > 1 && co->out_dirfd >= 0)
		/* The slot's last job left the table when this one took it:
		 * its output goes (3 unlinkat, none on a table not yet full). */
		jr_outdir_remove_job(co->out_dirfd,
				     jr_job_id_make((uint32_t)(job->sj.id >> 32) - 1, jr_cmd_job_slot(job)));
	if (job->attempts == 1) {
		uint64_t created = jr_slot_get(s->created_ns);
		uint64_t us = now > created ? (now - created) / JR_NS_PER_US : 0;
		uint32_t b = us ? 64 - (uint32_t)__builtin_clzll(us) : 0;
		b = b < JR_WAIT_BUCKETS ? b : JR_WAIT_BUCKETS - 1;
		jr_store_relaxed(&co->start_wait_hist[b], co->start_wait_hist[b] + 1);
		jr_store_relaxed(&co->start_wait_sum_us, co->start_wait_sum_us + us);
	}
	jr_slot_put(s->attempt, (uint16_t)job->attempts);
	jr_slot_set_worker(s, co->id);
	jr_slot_put(s->start_ns, now);
	jr_slot_put(s->end_ns, 0);
	jr_cmd_job_clear_progress(co, job);	/* a new attempt reports afresh */
	if (job->output_truncated) {	/* an earlier attempt's: its files go afresh */
		job->output_truncated = false;
		jr_cmd_job_set_rec_flag(co, job, JR_REC_OUTPUT_CUT, false);
		jr_coord_output_unmark(co, job->sj.id);
	}
	job->run->spawn_step = JR_SPAWN_STEP_UNKNOWN;
	jr_store_relaxed(&jr_cmd_record(co->region, job->record_ref)->spawn_error, 0);
}

/* A start's event names the process and its resources, and carries the
 * start time the slot shows (set before the spawn). */
static void event_process(struct jr_coordinator *co, const struct cmd_job *job,
			  struct jr_job_event *ev, uint8_t *alloc, uint32_t size)
{
	ev->time_ns = jr_slot_get(co->region->slots[jr_cmd_job_slot(job)].start_ns);
	ev->pid = job->run->child.pid;
	ev->pid_start_ticks = job->run->start_ticks;
	ev->cgroup_slot = job->run->cgroup_slot;
	if (job->run->child.pid > 0)
		memcpy(ev->boot_id, jr_exec_boot_id(), sizeof(ev->boot_id));
	if (job->sj.alloc) {
		ev->alloc_len = jr_alloc_encode(job->sj.alloc, alloc, size);
		ev->alloc = ev->alloc_len ? alloc : NULL;
	}
}

void jr_cmd_job_event(struct jr_coordinator *co, const struct cmd_job *job,
		      enum jr_job_event_kind kind, enum jr_job_state state,
		      enum jr_reason reason, uint64_t now)
{
	const struct jr_cmd_record *rec;
	struct jr_job_event ev;
	uint8_t alloc[JR_ALLOC_ENCODED_MAX];

	if (!co->job_event)
		return;
	rec = jr_cmd_record(co->region, job->record_ref);
	ev = (struct jr_job_event){
		.job_id = job->sj.id, .kind = kind, .state = state, .reason = reason,
		.attempt = job->attempts, .worker_id = co->id, .time_ns = now,
	};
	jr_job_event_set_status(&ev, &rec->status);
	if (kind != JR_EVENT_STARTED)
		ev.spawn_error = jr_load_relaxed(&rec->spawn_error);
	if (job->external)
		ev.worker_id = jr_slot_worker(&co->region->slots[jr_cmd_job_slot(job)]);
	if (kind == JR_EVENT_RETRYING)
		ev.not_before_ns = job->sj.not_before_ns;
	if (kind == JR_EVENT_STARTED)
		event_process(co, job, &ev, alloc, sizeof(alloc));
	co->job_event(co->job_event_ctx, &ev);
}

static void arm_deadlines(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = job };

	if (co->runner_count == 0 && job->run->child.pidfd >= 0) {	/* not runners, not the keeper */
		epoll_ctl(co->epfd, EPOLL_CTL_ADD, job->run->child.pidfd, &ev);
		jr_coord_progress_watch(co, job);
	}
	jr_cmd_job_set_phase(job, CMD_RUNNING);
	job->reaped = false;
	job->timed_out = false;
	job->run->term_at_ns = job->sj.limit_ns ? now + job->sj.limit_ns : 0;
	job->run->kill_at_ns = 0;
}

/* SIGKILL kills its whole cgroup; other signals go to every process in
 * it (without cgroups: to its process group). */
void jr_cmd_job_signal(struct jr_coordinator *co, struct cmd_job *job, int sig)
{
	if (co->keeper_fd >= 0)
		jr_coord_keeper_signal(co, job, sig);
	else
		jr_cmd_child_signal(job, sig);
}

/* Its scratch directory (exec/scratch.h) goes with the attempt. On this
 * thread: a tree of many files costs the loop their unlinks (see
 * docs/BENCHMARKS.md). */
static void scratch_remove(struct jr_coordinator *co, struct cmd_job *job)
{
	for (uint32_t i = 0; i < co->scratch.count && !job->external; i++)
		if (!job->sj.alloc || job->sj.alloc->custom[co->scratch_counter + i]) {
			jr_scratch_remove(&co->scratch, job->sj.id);
			return;
		}
}

/* Back on the coordinator: the runner has started the child, or not. */
void jr_cmd_job_spawned(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	/* A SPAWN the keeper never got may meet a replaced keeper first, which
	 * took it as running (cmdkeeper.c): it still ends here. */
	JR_ASSERT(job->phase == CMD_STARTING || (job->run->spawn_rc < 0 && job->phase == CMD_RUNNING));
	if (job->run->spawn_rc < 0) {
		jr_store_relaxed(&jr_cmd_record(co->region, job->record_ref)->status.exit_code, 127);
		jr_slot_put(s->result, 127);
		jr_slot_put(s->end_ns, now);	/* it ended as it began: shown, journaled */
		jr_store_relaxed(&jr_cmd_record(co->region, job->record_ref)->spawn_error,
				 JR_SPAWN_ERROR(job->run->spawn_step, -job->run->spawn_rc));
		jr_coord_running_remove(co, job);
		scratch_remove(co, job);
		jr_cmd_job_end(co, job, JR_SCHED_FAILED, JR_REASON_SPAWN_FAILED, now);
		return;
	}
	arm_deadlines(co, job, now);
	jr_cmd_job_event(co, job, JR_EVENT_STARTED, JR_JOB_RUNNING, JR_REASON_NONE, now);
	if (job->cancel_requested || job->requeue_requested) {	/* while it was being spawned */
		jr_cmd_job_signal(co, job, SIGTERM);
		job->run->kill_at_ns = now + co->kill_grace_ns;
	}
}

/* --- ending ---------------------------------------------------------------- */

static struct jr_cmd_record *record_of(struct jr_coordinator *co, struct cmd_job *job)
{
	return jr_cmd_record(co->region, job->record_ref);
}

static void record_result(struct jr_coordinator *co, struct cmd_job *job,
			  const struct jr_exit_status *res, uint64_t now)
{
	struct jr_cmd_record *rec = record_of(co, job);
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_cmd_record_set_status(rec, res);
	jr_slot_put(s->result, res->exit_code);
	jr_slot_put(s->end_ns, now);	/* the clock this turn's pass uses */
}

/* Equal jitter: half the exponential delay, plus up to the other half. */
static uint64_t backoff_ns(struct jr_coordinator *co, const struct cmd_job *job)
{
	uint32_t shift = job->attempts > 1 ? job->attempts - 1 : 0;
	uint64_t base = job->opt ? job->opt->backoff_base_ns : CMD_BACKOFF_BASE_NS;
	uint64_t max = job->opt ? job->opt->backoff_max_ns : CMD_BACKOFF_MAX_NS;
	uint64_t d = shift >= 32 ? max : base << shift;

	if (d > max || d < base)
		d = max;
	co->rng ^= co->rng << 13, co->rng ^= co->rng >> 7, co->rng ^= co->rng << 17;
	return d / 2 + co->rng % (d / 2 + 1);
}

/* RUNNING -> QUEUED for a retry; waiters keep waiting. */
static void slot_requeue(struct jr_slot *s)
{
	uint32_t w = jr_load_relaxed(&s->state);

	while (!jr_cas_acq_rel(&s->state, &w, (w & ~JR_SLOT_STATE_MASK) | JR_JOB_QUEUED))
		;
}

static void child_close(struct jr_coordinator *co, struct cmd_job *job)
{
	scratch_remove(co, job);
	if (job->ext_list != EXT_NONE)
		jr_ext_unlink(co, job);
	/* Out of the epoll set before the close: a child a runner clones now
	 * holds a copy of the pidfd until it execs, and epoll keeps watching
	 * a file until its last descriptor is closed. */
	if (co->runner_count == 0 && job->run->child.pidfd >= 0) {
		epoll_ctl(co->epfd, EPOLL_CTL_DEL, job->run->child.pidfd, NULL);
		jr_coord_progress_unwatch(co, job);
	}
	jr_cmd_job_set_progress(co, job, jr_exec_read_progress(&job->run->child));
	jr_exec_close(&job->run->child);
	jr_cgroup_job_close(&job->run->cgroup);
	jr_coord_running_remove(co, job);
}

/* The attempt failed; the job goes back to wait until not_before_ns. */
static void retry(struct jr_coordinator *co, struct cmd_job *job, enum jr_reason reason,
		  uint64_t not_before_ns, uint64_t now)
{
	jr_cmd_job_set_phase(job, CMD_QUEUED);
	jr_store_relaxed(&record_of(co, job)->reason, reason);
	job->sj.not_before_ns = not_before_ns;
	jr_cmd_job_event(co, job, JR_EVENT_RETRYING, JR_JOB_QUEUED, reason, now);
	slot_requeue(&co->region->slots[jr_cmd_job_slot(job)]);
	jr_sched_requeue(&co->sched, &job->sj, job->sj.not_before_ns, now);
	if (job->sj.state == JR_SCHED_PENDING)	/* backing off */
		jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, true);
}

void jr_cmd_job_exited(struct jr_coordinator *co, struct cmd_job *job,
		       const struct jr_exit_status *res, uint64_t now)
{
	enum jr_reason reason = JR_REASON_NONE;

	child_close(co, job);
	/* What it wrote after the last look; an external job's output is
	 * here too when its worker sent it back or shares the directory.
	 * One without a command (a payload job) writes none: its end costs
	 * no look (three path lookups, half a claim->complete's time). */
	if (!job->external || job->argv)
		jr_coord_output_cap_final(co, job);
	record_result(co, job, res, now);
	if (job->cancel_requested)
		reason = JR_REASON_CANCELLED;
	else if (job->lost)
		reason = JR_REASON_COORDINATOR_LOST;
	else if (job->worker_lost)
		reason = JR_REASON_WORKER_LOST;
	else if (job->timed_out)
		reason = JR_REASON_TIMEOUT;
	else if (res->signal)
		reason = JR_REASON_SIGNAL;
	else if (res->exit_code != 0)
		reason = JR_REASON_EXIT;
	if (job->requeue_requested && !job->cancel_requested && !co->cancel_all) {
		/* Asked for (control.c): it runs again at once, whatever its
		 * retries and however this attempt ended. */
		job->requeue_requested = false;
		job->timed_out = false;
		retry(co, job, JR_REASON_REQUEUED, now, now);
	} else if (reason == JR_REASON_NONE) {
		jr_cmd_job_end(co, job, JR_SCHED_SUCCEEDED, reason, now);
	} else if (reason == JR_REASON_CANCELLED) {
		jr_cmd_job_end(co, job, JR_SCHED_CANCELLED, reason, now);
	} else if (reason == JR_REASON_COORDINATOR_LOST && !co->cancel_all) {
		/* Gone without a status while no engine watched: the daemon
		 * failed, not the job. It runs again at once, whatever its
		 * retries (at least once). */
		co->lost++;
		job->lost = false;
		retry(co, job, reason, now, now);
	} else if (reason == JR_REASON_WORKER_LOST && job->opt &&
		   job->opt->workers_lost < CMD_WORKER_LOST_RETRIES && !co->cancel_all) {
		job->opt->workers_lost++;	/* its node went away, not the job */
		retry(co, job, reason, now, now);
	} else if (job->attempts - (job->opt ? job->opt->workers_lost : 0) <=
			   jr_cmd_job_max_retries(job) && !co->cancel_all) {
		retry(co, job, reason, now + backoff_ns(co, job), now);
	} else {
		jr_cmd_job_end(co, job, JR_SCHED_FAILED, reason, now);
	}
}

static void retire(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_region *r = co->region;

	jr_cmd_job_set_phase(job, CMD_ENDED);
	jr_store_release(&record_of(co, job)->coord, 0);
	if (!job->revived)	/* a revived slot's index is in the ring already */
		jr_coord_free_slot(co, jr_cmd_job_slot(job));
	co->outstanding--;
	job->next = co->dead;
	co->dead = job;
	/* jr_engine_wait_all() can only be satisfied once no command job is
	 * left: waking its callers for every job costs a context switch each. */
	if (co->outstanding == 0)
		jr_counters_notify_done(r);
}

/* A job that ran (or was refused at start) ends for good. */
void jr_cmd_job_end(struct jr_coordinator *co, struct cmd_job *job,
		    enum jr_sched_state state, enum jr_reason reason, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];
	struct jr_worker_rec *rec = co->rec;

	jr_store_relaxed(&record_of(co, job)->reason, reason);
	jr_cmd_job_event(co, job, JR_EVENT_ENDED,
			 state == JR_SCHED_SUCCEEDED ? JR_JOB_SUCCEEDED :
			 state == JR_SCHED_FAILED ? JR_JOB_FAILED : JR_JOB_CANCELLED,
			 reason, now);
	if (jr_slot_state(jr_load_acquire(&s->state)) == JR_JOB_RUNNING) {
		if (state == JR_SCHED_SUCCEEDED)
			jr_store_release(&rec->succeeded, rec->succeeded + 1);
		else if (state == JR_SCHED_FAILED)
			jr_store_release(&rec->failed, rec->failed + 1);
		else
			jr_counters_add_cancelled(co->region, 1);
		jr_jobtab_finish(s, state == JR_SCHED_SUCCEEDED ? JR_JOB_SUCCEEDED :
				    state == JR_SCHED_FAILED ? JR_JOB_FAILED : JR_JOB_CANCELLED);
	}
	/* else: cancelled by the user before it started, counted then. */
	jr_sched_finish(&co->sched, &job->sj, state, reason, now);
	retire(co, job);
}

void jr_cmd_job_ended_unrun(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_store_relaxed(&record_of(co, job)->reason, job->sj.reason);
	jr_cmd_job_event(co, job, JR_EVENT_ENDED, JR_JOB_CANCELLED, job->sj.reason, now);
	jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, false);
	jr_cmd_job_set_rec_flag(co, job, JR_REC_HELD, false);
	if (job->ext_list != EXT_NONE)
		jr_ext_unlink(co, job);
	/* Unless the user's own cancel got there first (and counted it). */
	if (jr_jobtab_cancel_owned(s, JR_JOB_QUEUED))
		jr_counters_add_cancelled(co->region, 1);
	retire(co, job);
}
