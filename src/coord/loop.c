/*
 * loop.c - the coordinator thread's event loop. See loop.h.
 *
 * One turn: take new submissions and cancel requests from the inbox, act
 * on due deadlines (time limits, kill grace), run the scheduling pass,
 * end jobs whose start was refused, free what ended, arm the timer for
 * the next deadline, and sleep in epoll until a child exits, the timer
 * fires or the inbox is poked.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/child.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "coord/cmdkeeper.h"
#include "coord/cmdrestore.h"
#include "coord/external.h"
#include "coord/keeperlink.h"
#include "coord/loop.h"
#include "coord/park.h"
#include "coord/pass.h"
#include "coord/progresspipe.h"
#include "coord/runners.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"

/* --- scheduler callbacks --------------------------------------------------- */

static void on_start(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct jr_coordinator *co = ctx;
	struct cmd_job *job = CMD_JOB(sj);
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	if (!jr_jobtab_start(s)) {	/* cancelled while it waited */
		job->next = co->start_refused;
		co->start_refused = job;
		return;
	}
	jr_cmd_job_record_start(co, job, now);
	jr_coord_running_add(co, job);
	jr_cmd_job_set_phase(job, CMD_STARTING);
	job->next = NULL;
	if (co->keeper_fd >= 0) {	/* the keeper starts it; STARTED says so */
		job->run->spawn_rc = jr_coord_keeper_spawn(co, job);
		if (job->run->spawn_rc < 0) {
			job->next = co->spawned_here;
			co->spawned_here = job;
		}
		return;
	}
	if (co->runner_count == 0) {	/* spawn on this thread */
		job->run->spawn_rc = jr_cmd_child_spawn(co, job);
		job->next = co->spawned_here;
		co->spawned_here = job;
		return;
	}
	jr_coord_runners_hand(co, job);
}

static void on_ended(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	jr_cmd_job_ended_unrun(ctx, CMD_JOB(sj), now);
}

void jr_coord_sched_init(struct jr_coordinator *co)
{
	struct jr_sched_ops ops = { .start = on_start, .ended = on_ended,
				    .eligible = jr_ext_on_eligible,
				    .same_name = jr_coord_same_name, .expand = jr_park_expand,
				    .ctx = co };

	jr_sched_init(&co->sched, &co->pools, &ops);
}

/* --- the inbox ------------------------------------------------------------ */

/* What a dependency gone from the table (it ended and aged out) means
 * for its type: the outcome is unknown, so only afterany and after can
 * be met. */
static enum jr_sched_state state_of_gone(unsigned type)
{
	return type == JR_DEP_AFTERANY || type == JR_DEP_AFTER ? JR_SCHED_CANCELLED :
								 JR_SCHED_PENDING;
}

static enum jr_sched_state sched_state_of(enum jr_job_state st)
{
	switch (st) {
	case JR_JOB_SUCCEEDED: return JR_SCHED_SUCCEEDED;
	case JR_JOB_FAILED: return JR_SCHED_FAILED;
	case JR_JOB_CANCELLED: return JR_SCHED_CANCELLED;
	case JR_JOB_RUNNING: return JR_SCHED_RUNNING;
	default: return JR_SCHED_PENDING;
	}
}

/* A dependency with no live coordinator record: it ended already (or is
 * gone), and its final state settles the edge now. One still pending
 * without a record (never, but the table is shared) is treated as gone. */
static void settle_ended(struct jr_coordinator *co, struct cmd_job *job, uint32_t i)
{
	unsigned type = jr_cmd_job_dep_type(job, i);
	struct jr_job_info info;
	enum jr_sched_state st = state_of_gone(type);

	if (jr_jobtab_snapshot(co->region, jr_cmd_job_after(job, i), &info) == 0)
		st = sched_state_of(info.state);
	if (jr_sched_dep_outcome(st, type) != JR_DEP_MET)
		jr_sched_doom(&job->sj, type);
}

/* Link a new job to the jobs it must wait for, each by its type. A
 * dependency that already ended needs no link: its outcome meets the
 * edge or dooms the job. */
static int link_dependencies(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	for (uint32_t i = 0; i < jr_cmd_job_after_count(job); i++) {
		struct cmd_job *p = jr_park_job_built(co, jr_cmd_job_after(job, i), now);
		if (!p)
			settle_ended(co, job, i);
		else if (jr_sched_depend(&job->sj, &p->sj, jr_cmd_job_dep_type(job, i)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void take_submission(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	co->outstanding++;
	if (link_dependencies(co, job, now) < 0)
		job->sj.doomed = JR_REASON_DEPENDENCY_FAILED;
	jr_sched_submit(&co->sched, &job->sj, now);
	if (job->sj.state == JR_SCHED_PENDING)
		jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, true);
}

static void take_cancel(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	struct cmd_job *job = jr_park_job_built(co, id, now);

	if (!job)
		return;
	if (job->external && job->phase == CMD_RUNNING) {
		jr_ext_cancel_running(co, job, now);
		return;
	}
	if (job->phase == CMD_STARTING) {
		job->cancel_requested = true;	/* acted on once it is spawned */
		return;
	}
	if (job->phase == CMD_RUNNING) {
		if (!job->cancel_requested) {
			job->cancel_requested = true;
			jr_cmd_job_signal(co, job, SIGTERM);
			job->run->kill_at_ns = now + co->kill_grace_ns;
		}
		return;
	}
	jr_sched_cancel(&co->sched, &job->sj, now);
}

/* A restored job taken back running with a cancel it had not obeyed:
 * stopped as take_cancel() stops one (one that ended meanwhile is gone). */
static void stop_restored(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	struct cmd_job *job = jr_coord_job_of(co, id);

	if (!job || job->phase != CMD_RUNNING || job->run->kill_at_ns)
		return;
	jr_cmd_job_signal(co, job, SIGTERM);
	job->run->kill_at_ns = now + co->kill_grace_ns;
}

/* A restored job: its attempts, the rest of a retry's backoff, and, if
 * it was running, taken back (true: not to be scheduled). */
static bool take_restored(struct jr_coordinator *co, struct cmd_job *job,
			  struct cmd_restore_info *ri, uint32_t attempts, uint64_t now)
{
	bool taken;

	job->attempts = attempts;
	if (job->opt)	/* an external job's free retries used so far */
		job->opt->workers_lost = ri->workers_lost < CMD_WORKER_LOST_RETRIES ?
					 ri->workers_lost : CMD_WORKER_LOST_RETRIES;
	if (ri->not_before_ns > job->sj.not_before_ns)
		job->sj.not_before_ns = ri->not_before_ns;
	/* An end found now, or later, answers the cancel. */
	job->cancel_requested = ri->cancel;
	taken = jr_coord_restore_take(co, job, ri, now);
	jr_free(ri->alloc);
	ri->alloc = NULL;
	return taken;
}

/* Jobs [from, to) of batch b. */
static void take_jobs(struct jr_coordinator *co, struct cmd_batch *b, size_t from, size_t to,
		      uint64_t now)
{
	struct jr_region *r = co->region;

	for (size_t i = from; i < to; i++) {
		const struct jr_command_spec *spec = &b->specs[i];
		struct cmd_job *job = jr_cmd_job_new(spec, &b->reqs[i], &co->reqs, &b->cache);
		if (job && jr_sched_throttle_join(&co->sched, &job->sj, spec->throttle_key,
						  spec->throttle_max) < 0) {
			jr_cmd_job_free(job);
			job = NULL;
		}
		if (!job) {
			jr_coord_end_unbuilt(co, b->ids[i], b->records[i]);
			continue;
		}
		job->sj.priority = b->prios[i];
		job->sj.queue = (uint8_t)b->specs[i].queue_id;
		/* Fair share charges the user it runs as. */
		job->sj.uid = job->run_as_user ? job->uid : co->uid;
		job->record_ref = b->records[i];
		job->sj.id = b->ids[i];	/* also the head the resources view names */
		JR_ASSERT(jr_cmd_job_slot(job) == b->slots[i]);
		/* Pairs with jr_coord_job_of()'s acquire load. */
		jr_store_release(&jr_cmd_record(r, job->record_ref)->coord,
				 (uint64_t)(uintptr_t)job);
		bool cancel = b->restored && b->rinfo[i].cancel;
		jr_job_id id = job->sj.id;
		if (b->restored && take_restored(co, job, &b->rinfo[i], b->attempts[i], now)) {
			if (cancel)
				stop_restored(co, id, now);
			continue;
		}
		take_submission(co, job, now);
		if (cancel)
			take_cancel(co, id, now);
	}
}

/* Let the threads waiting for state_lock on a caller's behalf in
 * (jr_coord_state_lock_urgent): one of them has it when this unlocks,
 * and this waits for it again behind them. */
static void let_urgent_in(struct jr_coordinator *co)
{
	if (!jr_load_acquire(&co->state_urgent))
		return;
	jr_mutex_unlock(&co->state_lock);
	while (jr_load_acquire(&co->state_urgent))
		sched_yield();
	jr_mutex_lock(&co->state_lock);
}

/* Where the next chunk of b ends: JR_TAKE_CHUNK jobs on, or sooner where
 * a run to park begins (*park_len: its length; 0: none). Parking only
 * once the scheduler has JR_PARK_AFTER jobs waiting (park.h). */
static size_t chunk_end(struct jr_coordinator *co, const struct cmd_batch *b, bool may_park,
			size_t *park_len)
{
	size_t end = b->n - b->built > JR_TAKE_CHUNK ? b->built + JR_TAKE_CHUNK : b->n;

	*park_len = 0;
	if (!may_park || b->restored || co->sched.waiting_count < co->park_after)
		return end;
	for (size_t i = b->built; i < end;) {
		size_t run = jr_park_run_length(b, i, b->n - i);
		if (run >= JR_PARK_MIN_RUN) {
			*park_len = run;
			return i;
		}
		i += run ? run : 1;
	}
	return end;
}

/* The batches taken from the inbox, built JR_TAKE_CHUNK jobs at a time,
 * long runs of alike plain jobs parked (park.h). Between two chunks the
 * coordinator's own turn (may_yield) lets in an external worker's claim
 * or completion: a 10,000-job batch is some milliseconds of building,
 * which they would otherwise wait out. A control that looks for a job
 * meanwhile (control.c) builds on from where the batch is. */
static void take_batches(struct jr_coordinator *co, uint64_t now, bool may_yield, bool may_park)
{
	struct cmd_batch *b;

	while ((b = co->taking)) {
		size_t park_len;
		size_t to = chunk_end(co, b, may_park, &park_len);
		take_jobs(co, b, b->built, to, now);
		b->built = to;
		if (park_len) {
			if (jr_park_run(co, b, to, to + park_len, now) < 0)
				take_jobs(co, b, to, to + park_len, now);	/* no memory to park */
			b->built += park_len;
		}
		if (b->built == b->n) {
			co->taking = b->next;
			if (!co->taking)
				co->taking_tail = NULL;
			jr_cmd_env_cache_done(&b->cache);
			if (b->restored)
				jr_free(b->rinfo);
			jr_free(b);
		}
		if (may_yield)
			let_urgent_in(co);
	}
}

static bool scratch_in_use(void *ctx, uint64_t id)
{
	struct jr_coordinator *co = ctx;

	for (uint32_t i = 0; i < co->running_count; i++)
		if (co->running[i]->sj.id == id)
			return true;
	return false;
}

void jr_coord_take_inbox(struct jr_coordinator *co, uint64_t now, bool may_yield)
{
	struct cmd_batch *batches;
	jr_job_id cancels[256];
	uint32_t ncancel;

	bool reconcile, more_cancels, may_park;

	jr_mutex_lock(&co->lock);
	batches = co->inbox_head;
	co->inbox_head = co->inbox_tail = NULL;
	reconcile = co->reconcile_pending;
	co->reconcile_pending = false;
	co->restoring = co->restore_phase == RESTORE_RUNNING;
	ncancel = co->cancel_count < 256 ? co->cancel_count : 256;
	if (ncancel) {
		memcpy(cancels, co->cancels, ncancel * sizeof(*cancels));
		memmove(co->cancels, co->cancels + ncancel,
			(co->cancel_count - ncancel) * sizeof(*cancels));
		co->cancel_count -= ncancel;
	}
	more_cancels = co->cancel_count != 0;
	may_park = !co->stopping;	/* a stop builds what is left */
	jr_mutex_unlock(&co->lock);
	if (batches) {
		if (co->taking_tail)
			co->taking_tail->next = batches;
		else
			co->taking = batches;
		while (batches->next)
			batches = batches->next;
		co->taking_tail = batches;
	}
	take_batches(co, now, may_yield, may_park);
	if (reconcile) {	/* after the last restored batch: what nobody claimed */
		if (co->keeper_fd >= 0)
			jr_coord_keeper_reconcile(co);
		/* Nothing new has started yet: a scratch directory of a job
		 * not taken back is a dead attempt's. */
		jr_scratch_sweep(&co->scratch, scratch_in_use, co);
		jr_mutex_lock(&co->lock);
		co->restore_settled = true;
		pthread_cond_broadcast(&co->restore_cv);
		jr_mutex_unlock(&co->lock);
	}
	for (uint32_t i = 0; i < ncancel; i++)
		take_cancel(co, cancels[i], now);
	if (more_cancels)
		jr_coord_poke(co);	/* more than one turn's worth */
}

/* --- deadlines ------------------------------------------------------------ */

static void check_deadlines(struct jr_coordinator *co, uint64_t now)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		if (job->phase != CMD_RUNNING)
			continue;	/* still being spawned */
		if (job->run->term_at_ns && now >= job->run->term_at_ns) {
			job->run->term_at_ns = 0;
			job->timed_out = true;
			jr_cmd_job_signal(co, job, SIGTERM);
			job->run->kill_at_ns = now + co->kill_grace_ns;
		}
		if (job->run->kill_at_ns && now >= job->run->kill_at_ns) {
			job->run->kill_at_ns = 0;
			jr_cmd_job_signal(co, job, SIGKILL);
		}
	}
}

static void arm_timer(struct jr_coordinator *co)
{
	uint64_t t = jr_coord_next_deadline(co);
	struct itimerspec its = { 0 };

	co->armed_ns = t;
	if (t != JR_TIME_NEVER) {
		its.it_value = jr_ns_timespec(t);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(co->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* --- the loop ------------------------------------------------------------- */

static void reap(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_exit_status res;

	int rc = job->run->cgroup.fd < 0 ? jr_exec_reap_group(&job->run->child, &res, false) :
				      jr_exec_try_reap(&job->run->child, &res);

	if (rc == 1) {
		if (!jr_cmd_child_collect_begin(co, job))
			jr_cmd_child_collect_wait(co, job);	/* the coordinator waits */
		jr_cmd_job_exited(co, job, &res, now);
	}
}

static void wait_events(struct jr_coordinator *co)
{
	struct epoll_event ev[64];
	int n = epoll_wait(co->epfd, ev, 64, -1);
	uint64_t now = jr_now_realtime_ns(), drain;

	jr_mutex_lock(&co->state_lock);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;
		if (p == &co->keeper_fd) {
			if (co->keeper_fd >= 0)
				jr_coord_keeper_read(co, now);
		} else if (p == &co->evfd || p == &co->tfd) {
			if (read(p == &co->evfd ? co->evfd : co->tfd, &drain, sizeof(drain)) < 0)
				continue;
		} else if (jr_coord_progress_untag(p)) {
			jr_coord_progress_ready(co, jr_coord_progress_untag(p), now);
		} else {
			reap(co, p, now);
		}
	}
	jr_mutex_unlock(&co->state_lock);
}

/* At a cancelling stop: held jobs wait on no list of the scheduler's, so
 * they are found in the table (a stop, not a hot path). */
static void cancel_held(struct jr_coordinator *co, uint64_t now)
{
	struct jr_region *r = co->region;

	for (uint32_t i = 1; i < r->hdr->capacity; i++) {
		struct jr_slot *s = &r->slots[i];
		uint32_t word = jr_load_acquire(&s->state);
		struct cmd_job *job;
		if (jr_slot_state(word) != JR_JOB_QUEUED || !jr_jobtab_is_command(s))
			continue;
		job = jr_coord_job_of(co, jr_job_id_make(jr_slot_gen(word), i));
		if (job && job->phase == CMD_QUEUED && job->sj.held)
			jr_sched_cancel(&co->sched, &job->sj, now);
	}
}

static void cancel_everything(struct jr_coordinator *co, uint64_t now)
{
	struct jr_sched *s = &co->sched;

	jr_park_expand_all(co, now);	/* no stand-in left on a heap */

	/* From each heap's back: removing its last job moves nothing. */
	for (uint32_t g = 0; g < s->group_count; g++) {
		struct jr_job_list *h = &s->groups[g].heap;
		while (h->count)
			jr_sched_cancel(s, h->items[h->count - 1], now);
	}
	while (s->delayed.count)
		jr_sched_cancel(s, s->delayed.items[0], now);
	if (!co->held_cancelled) {	/* once: a held job is on no list */
		co->held_cancelled = true;
		cancel_held(co, now);
	}
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		if (job->cancel_requested)
			continue;
		job->cancel_requested = true;
		if (job->phase == CMD_RUNNING) {
			jr_cmd_job_signal(co, job, SIGTERM);
			job->run->kill_at_ns = now + co->kill_grace_ns;
		}
	}
}

static bool turn(struct jr_coordinator *co)
{
	uint64_t now = jr_now_realtime_ns();
	bool stopping, cancel_all;

	jr_mutex_lock(&co->state_lock);
	jr_coord_take_inbox(co, now, true);
	jr_mutex_lock(&co->lock);
	stopping = co->stopping;
	cancel_all = co->cancel_all;
	jr_mutex_unlock(&co->lock);
	if (cancel_all)
		cancel_everything(co, now);
	if (stopping && !co->detach)
		jr_ext_end_all(co, now);
	check_deadlines(co, now);
	jr_ext_check_deadlines(co, now);
	jr_coord_progress_resume(co, now);
	jr_coord_output_check(co, now);
	if (!cancel_all && !co->restoring && !jr_coord_paused(co))
		jr_coord_pass(co, now);
	while (co->spawned_here) {
		struct cmd_job *job = co->spawned_here;
		co->spawned_here = job->next;
		jr_cmd_job_spawned(co, job, now);
	}
	jr_coord_end_refused(co, now);
	jr_coord_free_dead(co);
	jr_coord_keeper_flush(co);
	if (stopping && (co->outstanding == 0 || co->detach)) {
		jr_mutex_unlock(&co->state_lock);
		return false;
	}
	arm_timer(co);
	jr_mutex_unlock(&co->state_lock);
	wait_events(co);
	return true;
}

void *jr_coord_loop(void *arg)
{
	struct jr_coordinator *co = arg;

	pthread_setname_np(pthread_self(), "jr-coordinator");
	while (turn(co))
		;
	return NULL;
}
