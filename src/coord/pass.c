/*
 * pass.c - the scheduling pass and what follows it, wherever a change
 * happened: on the coordinator's turn, on a runner thread that ended its
 * child's job, on a thread that completed an external job. See pass.h.
 */
#include "coord/cmdjob.h"
#include "coord/keeperlink.h"
#include "coord/pass.h"
#include "shm/queue.h"

void jr_coord_end_refused(struct jr_coordinator *co, uint64_t now)
{
	while (co->start_refused) {
		struct cmd_job *job = co->start_refused;
		co->start_refused = job->next;
		jr_cmd_job_end(co, job, JR_SCHED_CANCELLED, JR_REASON_CANCELLED, now);
	}
}

void jr_coord_free_dead(struct jr_coordinator *co)
{
	while (co->dead) {
		struct cmd_job *job = co->dead;
		co->dead = job->next;
		jr_cmd_job_free(job);
	}
}

uint64_t jr_coord_next_deadline(const struct jr_coordinator *co)
{
	uint64_t t = jr_sched_next_wakeup(&co->sched);

	uint64_t out = jr_coord_output_next_ns(co);	/* output caps (state.c) */

	t = out < t ? out : t;

	for (uint32_t i = 0; i < co->running_count; i++) {
		const struct cmd_job *job = co->running[i];
		if (job->run->term_at_ns && job->run->term_at_ns < t)
			t = job->run->term_at_ns;
		if (job->run->kill_at_ns && job->run->kill_at_ns < t)
			t = job->run->kill_at_ns;
	}
	/* External jobs' time limits (external.c): from their claim, the
	 * earliest first (extdue.h); the list walked only while one could
	 * not be indexed. */
	uint64_t due;
	if (jr_ext_due_first(&co->ext_due, &due) && due < t)
		t = due;
	for (const struct cmd_job *job = co->ext_due.unindexed ? co->ext_running.head : NULL; job;
	     job = job->opt->ext_next)
		if (job->sj.limit_ns && job->sj.start_ns + job->sj.limit_ns < t)
			t = job->sj.start_ns + job->sj.limit_ns;
	if (co->progress_paused && co->progress_resume_ns < t)
		t = co->progress_resume_ns;
	return t;
}

/* Queue caps as the queue table has them now (a PATCH may have changed
 * one): a queue's max_workers caps its running command jobs, local and
 * external. */
static void sync_queue_caps(struct jr_coordinator *co)
{
	for (uint32_t q = 0; q < JR_QUEUE_MAX; q++) {
		const struct jr_queue_rec *rec = jr_queue_get(co->region, q);
		jr_sched_set_queue_cap(&co->sched, q, rec ? jr_load_relaxed(&rec->max_workers) : 0);
	}
}

void jr_coord_pass(struct jr_coordinator *co, uint64_t now)
{
	sync_queue_caps(co);
	jr_sched_pass(&co->sched, now);
}

/* The coordinator may be waiting for the last job to stop, or need an
 * earlier timer (a retry's backoff, a started job's limit). */
bool jr_coord_settle(struct jr_coordinator *co, uint64_t now)
{
	if (!co->restoring && !jr_coord_paused(co))
		jr_coord_pass(co, now);
	jr_coord_end_refused(co, now);
	jr_coord_free_dead(co);
	return co->outstanding == 0 || jr_coord_next_deadline(co) < co->armed_ns ||
	       jr_coord_keeper_pending(co);
}
