/*
 * external.c - command jobs run by external workers (JR_COMMAND_EXTERNAL).
 *
 * Such a job goes through the scheduler like any command job (queue,
 * priority, dependencies, start time, retries, cancel), but when it becomes
 * eligible the scheduler hands it here instead of placing it on this
 * host's cores: it waits on one list in the scheduler's order (priority,
 * then submission; aging counts, fair share does not) until a worker whose
 * capabilities cover the job's claims it (jr_external_claim), or, for a
 * worker that belongs to one user, one whose job runs as that user
 * (jr_external_claim_owned). The worker
 * reports its progress (jr_external_progress) and the end of the
 * execution (jr_external_complete), or the daemon
 * reports the worker lost; either goes through the same retry and
 * dependency logic as a local child's exit. All under the coordinator's
 * state_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "coord/cmdjob.h"
#include "coord/coordinator.h"
#include "coord/external.h"
#include "coord/pass.h"
#include "sched/resources.h"
#include "shm/cmdrec.h"
#include "shm/jobtab.h"

bool jr_ext_on_eligible(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct jr_coordinator *co = ctx;
	struct cmd_job *job = CMD_JOB(sj);

	(void)now;
	jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, false);
	if (!job->external)
		return false;
	jr_ext_list_push(co, job, EXT_READY);
	return true;
}

/* --- claiming ------------------------------------------------------------------ */

/* The uid a job runs as: its submitter's, or the engine's own. */
static uint32_t job_owner(const struct jr_coordinator *co, const struct cmd_job *job)
{
	return job->run_as_user ? job->uid : co->uid;
}

/* A throttle or singleton holds an external job back as it does a local
 * one (its group's running count includes external jobs). The ready list
 * is walked past such jobs: O(ready jobs) per claim while they wait. */
static bool claimable(struct jr_coordinator *co, const struct cmd_job *job,
		      const char *caps, uint32_t owner, jr_job_id only)
{
	/* Its queue's cap counts local and external jobs alike. */
	return (only == 0 || job->sj.id == only) && !jr_sched_queue_full(&co->sched, job->sj.queue) &&
	       (owner == JR_EXTERNAL_ANY_OWNER || job_owner(co, job) == owner) &&
	       jr_labels_cover(caps, jr_cmd_job_ext_caps(job)) &&
	       jr_sched_may_start(&co->sched, &job->sj);
}

static void start_claimed(struct jr_coordinator *co, struct cmd_job *job,
			  uint32_t worker_id, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_ext_unlink(co, job);
	jr_cmd_job_record_start(co, job, now);
	jr_slot_set_worker(s, worker_id);
	jr_cmd_job_event(co, job, JR_EVENT_STARTED, JR_JOB_RUNNING, JR_REASON_NONE, now);
	jr_sched_start_external(&co->sched, &job->sj, now);
	jr_ext_list_push(co, job, EXT_RUNNING);
	jr_cmd_job_set_phase(job, CMD_RUNNING);
	job->worker_lost = false;
}

/* What an external job needs of a worker: its cpus (0 counts as 1),
 * GPUs, memory, and the counters after its labels in ext_caps
 * (jr_ext_caps_make). */
static const char *job_counters(const struct cmd_job *job)
{
	const char *c = jr_cmd_job_ext_caps(job);

	return c ? c + strlen(c) + 1 : "";
}

/* Does job fit in avail (NULL: anything fits)? With taken, what it
 * takes. The walk past misfits calls this for each: nothing is copied
 * unless it is asked for. */
static bool job_fits(const struct cmd_job *job, const struct jr_external_res *avail,
		     struct jr_external_res *taken)
{
	const char *c = job_counters(job);
	uint64_t cpus = job->sj.req->cpus ? job->sj.req->cpus : 1;
	uint32_t count = 0;

	if (avail && (cpus > avail->cpus || job->sj.req->gpus > avail->gpus ||
		      job->sj.req->mem_bytes > avail->mem_bytes))
		return false;
	if (taken) {
		memset(taken, 0, sizeof(*taken));
		taken->cpus = cpus;
		taken->gpus = job->sj.req->gpus;
		taken->mem_bytes = job->sj.req->mem_bytes;
	}
	while (*c) {
		size_t n = strcspn(c, "="), len;
		uint32_t i;
		char *end;
		unsigned long long v;
		if (c[n] != '=' || n == 0 || n >= sizeof(taken->counter_name[0]) ||
		    count == JR_EXTERNAL_COUNTERS)
			return false;	/* not made by jr_ext_caps_make: fits nothing */
		v = strtoull(c + n + 1, &end, 10);
		len = (size_t)(end - c);
		if (v && avail) {
			for (i = 0; i < avail->counter_count; i++)
				if (strncmp(avail->counter_name[i], c, n) == 0 &&
				    avail->counter_name[i][n] == '\0')
					break;
			if (i == avail->counter_count || v > avail->counter[i])
				return false;
		}
		if (taken) {
			memcpy(taken->counter_name[count], c, n);
			taken->counter_name[count][n] = '\0';
			taken->counter[count] = v;
			taken->counter_count = count + 1;
		}
		count++;
		c += len + (c[len] == ',');
	}
	return true;
}

/* Best fit: more GPUs, then more cpus, then more memory (the job that
 * leaves the least of the worker idle). */
static bool better_fit(const struct cmd_job *a, const struct cmd_job *b)
{
	const struct jr_req *x = a->sj.req, *y = b->sj.req;
	uint32_t xc = x->cpus ? x->cpus : 1, yc = y->cpus ? y->cpus : 1;

	if (x->gpus != y->gpus)
		return x->gpus > y->gpus;
	if (xc != yc)
		return xc > yc;
	return x->mem_bytes > y->mem_bytes;
}

/* The job a claim takes: scan the ready list in order (highest priority
 * first). The first job that is claimable and fits avail sets the
 * priority; among the jobs of that priority that fit, within
 * JR_EXT_FIT_WINDOW places after it, the best fit (better_fit) wins, the
 * earliest among equals (one that takes all the free cpus ends the
 * search: GPUs aside, nothing fits better). Jobs too big for avail count against
 * JR_EXT_CLAIM_SCAN: after that many the claim gives up (a worker that
 * fits nothing costs a bounded walk). Jobs of another owner, without
 * its labels or held by a throttle are walked past, as before. A job
 * cancelled in the table but not yet by the coordinator cannot start:
 * the claim finds nothing this time (the coordinator drops it from its
 * list shortly). */
static struct cmd_job *claim_next(struct jr_coordinator *co, uint32_t worker_id,
				  const char *caps, uint32_t owner, jr_job_id only,
				  const struct jr_external_res *avail,
				  struct jr_external_res *taken, uint64_t now)
{
	struct cmd_job *best = NULL;
	uint32_t misfits = 0, window = 0;

	if (avail && avail->cpus == 0)
		return NULL;	/* full: every job takes a cpu (a long poll's usual case) */
	for (struct cmd_job *job = co->ext_ready.head; job; job = job->opt->ext_next) {
		if (best && (job->sj.priority != best->sj.priority || ++window > JR_EXT_FIT_WINDOW))
			break;
		if (only && job->sj.id != only)
			continue;	/* execute: that job or none */
		if (!job_fits(job, avail, NULL)) {
			if (++misfits >= JR_EXT_CLAIM_SCAN)
				break;
			continue;
		}
		if (!claimable(co, job, caps, owner, only))
			continue;
		if (!best || better_fit(job, best))
			best = job;
		if (only || !avail || (best->sj.req->cpus ? best->sj.req->cpus : 1) == avail->cpus)
			break;	/* no choice to make, or none better (all its cpus) */
	}
	if (!best || !jr_jobtab_start(&co->region->slots[jr_cmd_job_slot(best)]))
		return NULL;
	job_fits(best, avail, taken);
	start_claimed(co, best, worker_id, now);
	return best;
}

int jr_coord_ext_claim(struct jr_coordinator *co, uint32_t worker_id, const char *caps,
		       uint32_t owner, jr_job_id only, const struct jr_external_res *avail,
		       struct jr_external_res *taken, jr_job_id *claimed)
{
	struct jr_external_res scratch;
	struct cmd_job *job;
	bool wake;

	if (!co || worker_id < JR_EXTERNAL_WORKER_BASE || worker_id > JR_EXTERNAL_WORKER_MAX)
		return -EINVAL;
	jr_coord_state_lock_urgent(co);
	/* Paused (jr_engine_pause): nothing new starts, here neither. */
	job = jr_coord_paused(co) ? NULL :
	      claim_next(co, worker_id, caps, owner, only, avail, taken ? taken : &scratch,
			 jr_now_realtime_ns());
	if (job)
		*claimed = job->sj.id;
	/* Its time limit: the coordinator's timer must cover it. */
	wake = job && job->sj.limit_ns && jr_coord_next_deadline(co) < co->armed_ns;
	jr_mutex_unlock(&co->state_lock);
	if (wake)
		jr_coord_poke(co);
	return job ? 1 : 0;
}

/* --- what waits, for the allocation poller (issue 17) ---------------------------- */

static uint64_t ceil_div(uint64_t sum, uint64_t each)
{
	return each ? sum / each + (sum % each != 0) : 0;
}

/* The workers of shape that sum fills: by the scarcest of its cpus, GPUs
 * and memory (a shape without GPUs holds no job that needs one). */
static uint64_t workers_filled(const struct jr_external_res *sum,
			       const struct jr_external_res *shape)
{
	uint64_t by_cpus = ceil_div(sum->cpus, shape->cpus);
	uint64_t by_gpus = ceil_div(sum->gpus, shape->gpus);
	uint64_t by_mem = ceil_div(sum->mem_bytes, shape->mem_bytes);
	uint64_t most = by_cpus > by_gpus ? by_cpus : by_gpus;

	return most > by_mem ? most : by_mem;
}

/* The ready list in claim order, as a claim by a fresh worker of shape
 * walks it: a job too big for it counts against JR_EXT_CLAIM_SCAN (where
 * a claim gives up, so that the jobs after it would never be claimed),
 * one such a worker would not take (another owner's, without its labels,
 * held by a throttle) is walked past; max_scan bounds the jobs it would
 * take, ten times that the whole walk. */
static void demand_walk(struct jr_coordinator *co, const char *caps, uint32_t owner,
			const struct jr_external_res *shape, uint64_t max_scan, uint64_t enough,
			struct jr_ext_demand *out)
{
	struct jr_external_res sum = { 0 };
	uint64_t misfits = 0, visited = 0;

	for (struct cmd_job *job = co->ext_ready.head; job; job = job->opt->ext_next) {
		bool fits;
		if (out->scanned == max_scan || visited++ == max_scan * 10 ||
		    misfits == JR_EXT_CLAIM_SCAN || (enough && out->workers >= enough)) {
			out->partial = true;
			return;
		}
		fits = job_fits(job, shape, NULL);
		misfits += !fits;
		if (!claimable(co, job, caps, owner, 0))
			continue;
		out->scanned++;
		if (!fits) {
			out->too_big++;
			continue;
		}
		out->fit++;
		sum.cpus += job->sj.req->cpus ? job->sj.req->cpus : 1;
		sum.gpus += job->sj.req->gpus;
		sum.mem_bytes = sum.mem_bytes + job->sj.req->mem_bytes < sum.mem_bytes ?
				UINT64_MAX : sum.mem_bytes + job->sj.req->mem_bytes;
		out->workers = workers_filled(&sum, shape);
	}
}

int jr_coord_ext_demand(struct jr_coordinator *co, const char *caps, uint32_t owner,
			const struct jr_external_res *shape, uint64_t max_scan, uint64_t enough,
			struct jr_ext_demand *out)
{
	if (!co || !shape || !out || !shape->cpus)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	jr_mutex_lock(&co->state_lock);
	if (!jr_coord_paused(co))
		demand_walk(co, caps ? caps : "", owner, shape, max_scan, enough, out);
	jr_mutex_unlock(&co->state_lock);
	return 0;
}

/* --- after a restart (issue 17) ----------------------------------------------------- */

void jr_ext_adopt_running(struct jr_coordinator *co, struct cmd_job *job,
			  const struct cmd_restore_info *ri, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_jobtab_start(s);	/* published as queued until now */
	job->attempts = ri->attempt;
	jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, false);
	jr_cmd_job_run_attach(job);
	jr_sched_adopt_external(&co->sched, &job->sj, ri->start_ns);
	jr_ext_list_push(co, job, EXT_RUNNING);
	jr_cmd_job_set_phase(job, CMD_RUNNING);
	job->worker_lost = false;
	co->outstanding++;
	if (ri->cancel)
		jr_ext_cancel_running(co, job, now);
}

int jr_coord_ext_taken(struct jr_coordinator *co, uint64_t execution_id,
		       struct jr_external_res *taken)
{
	struct cmd_job *job;
	int rc = 0;

	if (!co)
		return -EINVAL;
	jr_mutex_lock(&co->state_lock);
	job = jr_coord_job_of(co, jr_execution_job(execution_id));
	if (!job || !job->external || job->attempts != jr_execution_attempt(execution_id) ||
	    job->phase != CMD_RUNNING)
		rc = -ESTALE;
	else if (!job_fits(job, NULL, taken))
		rc = -ESTALE;
	jr_mutex_unlock(&co->state_lock);
	return rc;
}

/* --- ending ---------------------------------------------------------------------- */

static void end_attempt(struct jr_coordinator *co, struct cmd_job *job,
			int exit_code, uint64_t now)
{
	struct jr_exit_status res = { .exit_code = exit_code };

	jr_cmd_job_exited(co, job, &res, now);
}

int jr_coord_ext_complete(struct jr_coordinator *co, uint64_t execution_id,
			  int exit_code, bool lost)
{
	jr_job_id id = jr_execution_job(execution_id);
	uint32_t attempt = jr_execution_attempt(execution_id);
	struct cmd_job *job;
	bool wake = false;
	int rc = 0;

	if (!co)
		return -EINVAL;
	jr_coord_state_lock_urgent(co);
	job = jr_coord_job_of(co, id);
	if (!job || !job->external || job->attempts != attempt)
		rc = -ESTALE;
	else if (job->phase != CMD_RUNNING)
		rc = -EALREADY;
	if (rc == 0) {
		uint64_t now = jr_now_realtime_ns();
		job->worker_lost = lost;
		end_attempt(co, job, lost ? -1 : exit_code, now);
		wake = jr_coord_settle(co, now);
	}
	jr_mutex_unlock(&co->state_lock);
	if (wake)
		jr_coord_poke(co);
	return rc;
}

int jr_coord_ext_progress(struct jr_coordinator *co, uint64_t execution_id, int percent)
{
	struct cmd_job *job;
	int rc = 0;

	if (!co || percent < 0 || percent > 100)
		return -EINVAL;
	jr_mutex_lock(&co->state_lock);
	job = jr_coord_job_of(co, jr_execution_job(execution_id));
	if (!job || !job->external || job->attempts != jr_execution_attempt(execution_id))
		rc = -ESTALE;
	else if (job->phase != CMD_RUNNING)
		rc = -EALREADY;
	else
		jr_cmd_job_set_progress(co, job, percent);
	jr_mutex_unlock(&co->state_lock);
	return rc;
}

void jr_ext_cancel_running(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	job->cancel_requested = true;
	end_attempt(co, job, -1, now);
}

void jr_ext_requeue_running(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	JR_ASSERT(job->requeue_requested);
	end_attempt(co, job, -1, now);
}

static void time_out(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	job->timed_out = true;
	end_attempt(co, job, -1, now);	/* off the list and the heap */
}

/* An external job's time limit counts from its claim (sj.start_ns, which
 * start_claimed set): past it, the attempt fails with reason timeout (and
 * is retried while retries are left); its worker learns it at its next
 * heartbeat. The earliest first (extdue.h): O(log running) a job timed
 * out; the running list walked only while one could not be indexed. */
void jr_ext_check_deadlines(struct jr_coordinator *co, uint64_t now)
{
	struct cmd_job *job, *next;
	uint64_t due;

	while ((job = jr_ext_due_first(&co->ext_due, &due)) && due <= now) {
		JR_ASSERT(job->phase == CMD_RUNNING);
		jr_ext_due_remove(&co->ext_due, job);	/* first: the job may be freed */
		if (job->phase == CMD_RUNNING)
			time_out(co, job, now);
	}
	job = co->ext_due.unindexed ? co->ext_running.head : NULL;
	for (; job; job = next) {
		next = job->opt->ext_next;	/* end_attempt takes it off the list */
		if (job->sj.limit_ns && job->phase == CMD_RUNNING &&
		    now >= job->sj.start_ns + job->sj.limit_ns)
			time_out(co, job, now);
	}
}

void jr_ext_end_all(struct jr_coordinator *co, uint64_t now)
{
	while (co->ext_ready.head)
		jr_sched_cancel(&co->sched, &co->ext_ready.head->sj, now);
	while (co->ext_running.head) {
		struct cmd_job *job = co->ext_running.head;
		jr_ext_unlink(co, job);
		jr_cmd_job_end(co, job, JR_SCHED_FAILED, JR_REASON_WORKER_LOST, now);
	}
}

void jr_coord_end_external(struct jr_coordinator *co)
{
	bool wake;

	if (!co)
		return;
	jr_mutex_lock(&co->state_lock);
	jr_ext_end_all(co, jr_now_realtime_ns());
	wake = jr_coord_settle(co, jr_now_realtime_ns());
	jr_mutex_unlock(&co->state_lock);
	if (wake)
		jr_coord_poke(co);
}
