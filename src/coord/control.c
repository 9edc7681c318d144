/*
 * control.c - a user's control of one command job: hold, release,
 * update (priority, queue, time limit, start time, requirements) while it
 * has not started, and requeue while it runs. See control.h.
 *
 * Synchronous, unlike cancels: the caller (the daemon's API thread) must
 * answer whether it was done (409 already_started...), so each call takes
 * state_lock as a runner thread does, acts on the coordinator's state,
 * and pokes the coordinator for a pass. A job is QUEUED (with the
 * scheduler or on the external ready lists), STARTING, RUNNING or gone:
 * state_lock orders the call against the pass that would start it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "coord/control.h"
#include "coord/external.h"
#include "coord/loop.h"
#include "coord/park.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"

/* The live job behind id, or why not: -EALREADY (it ended) or -ENOENT.
 * A job submitted a moment ago may still wait in the inbox: it is taken
 * in first, so that a control right after a submission finds it. */
static int job_lookup(struct jr_coordinator *co, jr_job_id id, struct cmd_job **out)
{
	struct jr_job_info info;

	*out = jr_park_job_built(co, id, jr_now_realtime_ns());
	if (!*out) {
		jr_coord_take_inbox(co, jr_now_realtime_ns(), false);
		jr_coord_poke(co);	/* what it took in waits for a pass */
		*out = jr_park_job_built(co, id, jr_now_realtime_ns());
	}
	if (*out && (*out)->phase != CMD_ENDED)
		return 0;
	if (jr_jobtab_snapshot(co->region, id, &info) < 0)
		return -ENOENT;
	if (!info.is_command)
		return -EINVAL;
	return jr_slot_is_final(info.state) ? -EALREADY : -ENOENT;
}

/* A job that has not started, under state_lock: 0, -EBUSY (starting or
 * running) or what job_lookup() says. */
static int queued_job(struct jr_coordinator *co, jr_job_id id, struct cmd_job **out)
{
	int rc = job_lookup(co, id, out);

	if (rc == 0 && (*out)->phase != CMD_QUEUED)
		rc = -EBUSY;
	return rc;
}

/* An eligible external job waits on the ready lists, not the
 * scheduler's: it comes off them before the scheduler moves it. */
static void take_back_external(struct jr_coordinator *co, struct cmd_job *job)
{
	if (job->ext_list == EXT_READY)
		jr_ext_unlink(co, job);
}

/* The record's pending flag follows the scheduler's state. */
static void show_state(struct jr_coordinator *co, struct cmd_job *job)
{
	jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, job->sj.state == JR_SCHED_PENDING);
	jr_cmd_job_set_rec_flag(co, job, JR_REC_HELD, job->sj.held);
}

int jr_coord_hold(struct jr_coordinator *co, jr_job_id id)
{
	struct cmd_job *job;
	int rc;

	jr_mutex_lock(&co->state_lock);
	rc = queued_job(co, id, &job);
	if (rc == 0) {
		take_back_external(co, job);
		rc = jr_sched_hold(&co->sched, &job->sj);
		show_state(co, job);
	}
	jr_mutex_unlock(&co->state_lock);
	return rc;
}

int jr_coord_release(struct jr_coordinator *co, jr_job_id id)
{
	struct cmd_job *job;
	int rc;

	jr_mutex_lock(&co->state_lock);
	rc = queued_job(co, id, &job);
	if (rc == 0) {
		rc = jr_sched_release(&co->sched, &job->sj, jr_now_realtime_ns());
		show_state(co, job);
	}
	jr_mutex_unlock(&co->state_lock);
	if (rc == 0)
		jr_coord_poke(co);
	return rc;
}

/* The new values, checked as a submission's are, before anything moves. */
static int update_check(struct jr_coordinator *co, const struct cmd_job *job,
			const struct jr_command_update *u, struct jr_req *req, int *prio,
			char **caps)
{
	int rc = jr_cmd_spec_check(co, u->spec, req, prio);

	*caps = NULL;
	if (rc < 0)
		return rc;
	if (!(u->fields & (JR_UPDATE_PRIORITY | JR_UPDATE_QUEUE)))
		*prio = job->sj.priority;
	if (job->external && (u->fields & JR_UPDATE_RESOURCES) &&
	    ((u->spec->capabilities && *u->spec->capabilities) ||
	     (u->spec->resources && *u->spec->resources)) &&
	    !(*caps = jr_ext_caps_make(u->spec->capabilities, u->spec->resources)))
		return -ENOMEM;
	return 0;
}

/* req: with JR_UPDATE_RESOURCES, the pool's copy (its reference goes to
 * the job, which drops its old one). */
static void update_apply(struct jr_coordinator *co, struct cmd_job *job,
			 const struct jr_command_update *u, const struct jr_req *req, int prio,
			 char *caps)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	job->sj.priority = prio;
	jr_slot_put(s->priority, (uint8_t)jr_priority_level(prio));
	jr_cmd_record_set_priority(jr_cmd_record(co->region, job->record_ref), prio);
	if (u->fields & JR_UPDATE_QUEUE) {
		jr_slot_put(s->queue_id, (uint8_t)u->spec->queue_id);
		job->sj.queue = (uint8_t)u->spec->queue_id;
	}
	if (u->fields & JR_UPDATE_TIMEOUT)
		job->sj.limit_ns = u->spec->timeout_ms * JR_NS_PER_MS;
	if (u->fields & JR_UPDATE_SCHEDULED_AT)
		job->sj.not_before_ns = u->spec->scheduled_at_ns;
	if (u->fields & JR_UPDATE_RESOURCES) {
		jr_req_pool_drop(job->sj.req);
		job->sj.req = req;
		if (job->external) {
			free(job->opt->ext_caps);
			job->opt->ext_caps = caps;
		}
	}
}

int jr_coord_update(struct jr_coordinator *co, jr_job_id id, const struct jr_command_update *u)
{
	struct cmd_job *job;
	struct jr_req req;
	const struct jr_req *shared = NULL;
	char *caps = NULL;
	int prio, rc;

	jr_mutex_lock(&co->state_lock);
	rc = queued_job(co, id, &job);
	if (rc == 0)
		rc = update_check(co, job, u, &req, &prio, &caps);
	if (rc == 0 && (u->fields & JR_UPDATE_RESOURCES) &&
	    !(shared = jr_req_pool_take(&co->reqs, &req))) {
		free(caps);
		rc = -ENOMEM;
	}
	if (rc == 0) {
		take_back_external(co, job);
		jr_sched_update_begin(&co->sched, &job->sj);
		update_apply(co, job, u, shared, prio, caps);
		rc = jr_sched_update(&co->sched, &job->sj, jr_now_realtime_ns());
		show_state(co, job);
	}
	jr_mutex_unlock(&co->state_lock);
	if (rc == 0)
		jr_coord_poke(co);
	return rc;
}

/* Stopped as a cancel stops it; its end queues it again (cmdjob.c). */
static void requeue_running(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	job->requeue_requested = true;
	if (job->external) {
		jr_ext_requeue_running(co, job, now);
		return;
	}
	if (job->phase == CMD_RUNNING && !job->run->kill_at_ns) {
		jr_cmd_job_signal(co, job, SIGTERM);
		job->run->kill_at_ns = now + co->kill_grace_ns;
	}
	/* STARTING: signalled once it is spawned (jr_cmd_job_spawned). */
}

int jr_coord_requeue(struct jr_coordinator *co, jr_job_id id)
{
	struct cmd_job *job;
	int rc;

	jr_mutex_lock(&co->state_lock);
	rc = job_lookup(co, id, &job);
	if (rc == 0 && job->phase == CMD_QUEUED)
		rc = -EAGAIN;
	else if (rc == 0 && job->cancel_requested)
		rc = -EALREADY;		/* it is ending for good */
	else if (rc == 0)
		requeue_running(co, job, jr_now_realtime_ns());
	jr_mutex_unlock(&co->state_lock);
	if (rc == 0)
		jr_coord_poke(co);
	return rc;
}


/* --- requeue of a job that ended ------------------------------------------------ */

/* The job in its old slot again: its record reset for a new run, its
 * attempts kept (the next one is attempt + 1), counted as submitted
 * again (so that ended jobs still add up to submitted ones), then
 * scheduled as a submission is. Its dependencies are not waited for
 * again: it ran, or was given up, already. */
static void revive(struct jr_coordinator *co, struct cmd_job *job, const struct jr_command_spec *spec,
		   uint32_t index, jr_job_id id, int prio)
{
	struct jr_region *r = co->region;
	struct jr_slot *s = &r->slots[index];
	struct jr_cmd_record *rec;
	uint32_t flags;
	uint64_t now = jr_now_realtime_ns();

	job->record_ref = (uint32_t)jr_slot_get(s->arg);
	job->sj.id = id;
	JR_ASSERT(jr_cmd_job_slot(job) == index);
	job->sj.priority = prio;
	job->sj.queue = (uint8_t)spec->queue_id;
	job->sj.uid = job->run_as_user ? job->uid : co->uid;	/* as take_batch() */
	job->revived = true;
	job->attempts = jr_slot_get(s->attempt);
	if (job->opt)
		job->opt->after_count = 0;
	rec = jr_cmd_record(r, job->record_ref);
	flags = jr_load_relaxed(&rec->flags) & JR_REC_EXTERNAL;
	if (spec->flags & JR_COMMAND_HELD)
		flags |= JR_REC_HELD;
	jr_store_relaxed(&rec->reason, JR_REASON_REQUEUED);
	jr_store_release(&rec->flags, flags);
	jr_store_release(&rec->coord, (uint64_t)(uintptr_t)job);
	jr_counters_add_submitted(r, 1);
	co->outstanding++;
	jr_sched_submit(&co->sched, &job->sj, now);
	show_state(co, job);
}

/* The slot taken back from its final state (the allocator cannot take
 * it from then on, so its record may be read): -EBUSY, and final again,
 * if its job is still the coordinator's (a cancel marked it final and the
 * coordinator has not ended it yet). Under state_lock. */
static int revive_slot(struct jr_coordinator *co, uint32_t index, uint32_t gen)
{
	struct jr_slot *s = &co->region->slots[index];
	uint32_t was;
	int rc = jr_jobtab_revive(s, gen, &was);

	if (rc == 0 && jr_load_acquire(&jr_cmd_record(co->region,
						      (uint32_t)jr_slot_get(s->arg))->coord)) {
		jr_jobtab_unrevive(s, was);
		rc = -EBUSY;
	}
	return rc;
}

int jr_coord_requeue_ended(struct jr_coordinator *co, jr_job_id id,
			   const struct jr_command_spec *spec)
{
	struct jr_region *r = co->region;
	struct cmd_env_cache cache = { 0 };
	struct cmd_job *job = NULL;
	uint32_t index, gen;
	struct jr_req req;
	int prio, rc;

	if (jr_jobtab_decode(r, id, &index, &gen) < 0 ||
	    jr_slot_gen(jr_load_acquire(&r->slots[index].state)) != gen)
		return -ENOENT;
	jr_mutex_lock(&co->state_lock);
	if (jr_load_acquire(&co->restore_phase) == RESTORE_RUNNING)
		rc = -EAGAIN;	/* its slot is the restore's until it is done */
	else if (!jr_jobtab_is_command(&r->slots[index]))
		rc = -ENOENT;
	else
		rc = jr_cmd_spec_check(co, spec, &req, &prio);
	if (rc == 0 && !(job = jr_cmd_job_new(spec, &req, &co->reqs, &cache)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = jr_sched_throttle_join(&co->sched, &job->sj, spec->throttle_key,
					    spec->throttle_max);
	if (rc == 0)
		rc = revive_slot(co, index, gen);
	if (rc == 0)
		revive(co, job, spec, index, id, prio);
	else if (job) {
		jr_sched_throttle_leave(&co->sched, &job->sj);
		jr_cmd_job_free(job);
	}
	jr_cmd_env_cache_done(&cache);
	jr_mutex_unlock(&co->state_lock);
	if (rc == 0)
		jr_coord_poke(co);
	return rc;
}
