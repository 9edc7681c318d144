/*
 * worker.c - worker threads: claim a batch from the priority rings, run
 * each job, record its execution, return the slots; spin briefly, then
 * park on a futex when there is nothing to do.
 *
 * Parking protocol (pairs with jr_workers_wake()): a worker that found no
 * work spins for spin_us, counted in spinning_workers. To park it leaves
 * the spinners, reads wake_seq, announces itself in idle_workers (a full
 * barrier), then looks at the bitmap once more before sleeping on
 * wake_seq. A submitter enqueues, passes a full fence, then reads
 * spinning_workers and idle_workers. If it sees a spinner, that spinner's
 * final look at the bitmap comes after the job was enqueued, so no wake is
 * needed; if it sees only parked workers, it bumps wake_seq (so a futex
 * wait returns at once or is woken) and wakes as many as it has jobs.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "shm/counters.h"
#include "engine/engine.h"
#include "shm/jobtab.h"
#include "shm/prio.h"
#include "shm/queue.h"

struct batch_tally {
	struct jr_worker *worker;
	uint64_t succeeded;
	uint64_t failed;
};

static uint32_t run_state(const struct jr_region *r)
{
	return jr_load_relaxed(&r->ctl->run_state);
}

static void retire_flush(struct jr_worker *w)
{
	if (w->retire_count == 0)
		return;
	jr_jobtab_free_batch(&w->engine->region, w->retire, w->retire_count);
	w->retire_count = 0;
}

/* A finished slot goes back to the free ring, a group at a time, so the
 * free ring's producer line moves between cores once per group. */
static void retire(struct jr_worker *w, uint32_t index)
{
	w->retire[w->retire_count++] = index;
	if (w->retire_count >= w->engine->retire_batch)
		retire_flush(w);
}

/* A cancelled job leaves its ring: no longer pending removal. */
static void drop_cancelled(struct jr_region *r, unsigned level, uint32_t index,
			   struct batch_tally *t)
{
	jr_fetch_sub_acq_rel(&r->ctl->cancel_pending[level], 1);
	retire(t->worker, index);
}

/* A finished job of a capped queue hands its token on. */
static void pass_token(struct jr_engine *e, struct jr_queue_rec *q)
{
	struct jr_region *r = &e->region;
	uint32_t next = jr_queue_release(r, q);

	if (next == 0)
		return;
	jr_prio_push_batch_mpmc(r, jr_slot_get(r->slots[next].priority), &next, 1);
	jr_workers_wake(e, 1);
}

/* Decide whether a dequeued job may start: its queue's cap, a cancel. */
static bool admit(struct jr_engine *e, struct jr_slot *s, uint32_t index,
		  unsigned level, struct jr_queue_rec **capped,
		  struct batch_tally *t)
{
	struct jr_region *r = &e->region;
	struct jr_queue_rec *q = jr_queue_get(r, jr_slot_get(s->queue_id));

	*capped = NULL;
	if (q && jr_queue_is_capped(q)) {
		*capped = q;
		if (s->flags & JR_SLOT_F_TOKEN) {
			jr_slot_put(s->flags, (uint16_t)(s->flags & ~JR_SLOT_F_TOKEN));
		} else {
			enum jr_admit v = jr_queue_admit(r, q, index);
			if (v == JR_ADMIT_HELD)
				return false;
			if (v == JR_ADMIT_CANCELLED) {
				drop_cancelled(r, level, index, t);
				return false;
			}
		}
	}
	if (jr_jobtab_start(s))
		return true;
	if (*capped)
		pass_token(e, *capped);
	drop_cancelled(r, level, index, t);
	return false;
}

/* Run one started job; *now is its start time in, its end time out. */
static void run_job(struct jr_worker *w, struct jr_slot *s, uint32_t index,
		    uint64_t *now, struct batch_tally *t)
{
	struct jr_job_ctx ctx = { 0 };	/* its reserved fields too */
	jr_job_fn fn = (jr_job_fn)(uintptr_t)s->fn;
	int rc;

	jr_slot_put(s->start_ns, *now);
	jr_slot_set_worker(s, w->id);
	jr_slot_put(s->attempt, (uint16_t)(s->attempt + 1));
	ctx.job_id = jr_job_id_make(jr_slot_gen(jr_load_relaxed(&s->state)), index);
	ctx.worker_id = w->id;
	ctx.attempt = s->attempt;
	ctx.internal = s;
	jr_store_relaxed(&w->rec->running, 1);
	rc = fn((void *)(uintptr_t)s->arg, &ctx);
	jr_store_relaxed(&w->rec->running, 0);
	*now = jr_clock_now_ns(&w->clock);
	jr_slot_put(s->end_ns, *now);
	jr_slot_put(s->result, rc);
	jr_jobtab_finish(s, rc == 0 ? JR_JOB_SUCCEEDED : JR_JOB_FAILED);
	if (rc == 0)
		t->succeeded++;
	else
		t->failed++;
}

/* Engine closing with cancel: a claimed job that has not started yet. */
static void cancel_claimed(struct jr_region *r, unsigned level, uint32_t index,
			   struct batch_tally *t)
{
	if (!jr_jobtab_cancel_owned(&r->slots[index], JR_JOB_QUEUED)) {
		drop_cancelled(r, level, index, t);
		return;
	}
	/* The close cancelled it; counted by the worker that had claimed it. */
	jr_counters_add_cancelled(r, 1);
	retire(t->worker, index);
}

static void account_batch(struct jr_worker *w, struct batch_tally *t)
{
	struct jr_region *r = &w->engine->region;
	struct jr_worker_rec *rec = w->rec;

	/* Release pairs with the acquire loads in jr_engine_wait_all(): what
	 * the jobs wrote happens before a waiter that sees the counts. */
	jr_store_release(&rec->succeeded, rec->succeeded + t->succeeded);
	jr_store_release(&rec->failed, rec->failed + t->failed);
	jr_counters_notify_done(r);
}

static void run_batch(struct jr_worker *w, const uint32_t *batch, uint32_t n,
		      unsigned level)
{
	struct jr_engine *e = w->engine;
	struct jr_region *r = &e->region;
	struct batch_tally t = { w, 0, 0 };
	uint64_t now;

	/* The slots were last written by the submitter's core: start all
	 * their transfers now rather than one per job. */
	for (uint32_t i = 0; i < n; i++)
		__builtin_prefetch(&r->slots[batch[i]], 1);
	now = jr_clock_now_ns(&w->clock);

	for (uint32_t i = 0; i < n; i++) {
		struct jr_slot *s = &r->slots[batch[i]];
		struct jr_queue_rec *capped;

		if (jr_unlikely(run_state(r) == JR_RUN_CANCEL)) {
			cancel_claimed(r, level, batch[i], &t);
			continue;
		}
		if (!admit(e, s, batch[i], level, &capped, &t))
			continue;
		run_job(w, s, batch[i], &now, &t);
		retire(w, batch[i]);
		if (capped)
			pass_token(e, capped);
	}
	account_batch(w, &t);
}

/* Busy-wait for work for spin_ns. Counted in spinning_workers meanwhile,
 * so that submitters know someone awake will see their job. Returns true
 * when there may be work. */
static bool spin_for_work(struct jr_worker *w)
{
	struct jr_region *r = &w->engine->region;
	uint64_t deadline = jr_clock_now_ns(&w->clock) + w->engine->spin_ns;
	bool found = false;

	jr_fetch_add_acq_rel(&r->ctl->spinning_workers, 1);
	while (!found && run_state(r) < JR_RUN_STOP &&
	       jr_clock_now_ns(&w->clock) < deadline) {
		/* Yield rather than pause: on a host with more runnable
		 * threads than cores (a submitter sharing this core), the
		 * spin must not take the core from the thread that would
		 * give it work. With nothing else runnable, it returns at
		 * once. */
		sched_yield();
		found = jr_prio_maybe_nonempty(r);
	}
	/* Leaving the spinners is a full barrier; the bitmap is read again
	 * below, after it, before any sleep. */
	jr_fetch_sub_acq_rel(&r->ctl->spinning_workers, 1);
	return found;
}

/* Spin a little, then park. Returns false when the worker must exit. */
static bool worker_idle(struct jr_worker *w)
{
	struct jr_region *r = &w->engine->region;
	struct jr_control *ctl = r->ctl;

	retire_flush(w);
	jr_prio_clear_empty_levels(r);
	if (spin_for_work(w))
		return true;
	uint32_t seq = jr_load_acquire(&ctl->wake_seq);
	jr_store_relaxed(&w->rec->status, JR_WORKER_PARKED);
	jr_fetch_add_acq_rel(&ctl->idle_workers, 1);
	jr_fence_seq_cst();	/* pairs with the fence in jr_prio_push_batch_mpmc() */
	if (!jr_prio_maybe_nonempty(r) && run_state(r) == JR_RUN_ACTIVE &&
	    jr_futex_wait(&ctl->wake_seq, seq))
		jr_store_relaxed(&w->rec->wakeups, w->rec->wakeups + 1);
	jr_fetch_sub_acq_rel(&ctl->idle_workers, 1);
	jr_store_relaxed(&w->rec->status, JR_WORKER_IDLE);
	return run_state(r) < JR_RUN_STOP;
}

#define JR_ACCUMULATE_NS 4000u

/* After a short claim, wait a few microseconds before claiming again.
 * A worker that re-polls a ring as soon as it has emptied it pulls the
 * producers' cache line across cores once per job; waiting lets a few
 * jobs gather so the line moves once per batch. */
static void let_jobs_accumulate(struct jr_worker *w)
{
	uint64_t until = jr_clock_now_ns(&w->clock) + JR_ACCUMULATE_NS;

	while (jr_clock_now_ns(&w->clock) < until)
		jr_cpu_relax();
}

static void wait_while_paused(struct jr_region *r)
{
	uint32_t st;

	while ((st = jr_load_acquire(&r->ctl->run_state)) == JR_RUN_PAUSED)
		jr_futex_wait(&r->ctl->run_state, st);
}

static void *worker_main(void *arg)
{
	struct jr_worker *w = arg;
	struct jr_engine *e = w->engine;
	struct jr_region *r = &e->region;
	uint32_t batch[JR_CLAIM_BATCH_MAX];
	char name[16];

	snprintf(name, sizeof(name), "jr-worker-%u", w->id);
	pthread_setname_np(pthread_self(), name);
	if (e->bind)
		jr_topology_bind_thread(&e->topo, w->core);
	wait_while_paused(r);
	for (;;) {
		unsigned level;
		uint32_t n;

		if (run_state(r) >= JR_RUN_STOP)
			break;
		n = jr_prio_claim_batch_mpmc(r, batch, e->claim_batch, &level);
		if (n > 0) {
			run_batch(w, batch, n, level);
			if (n < e->claim_batch)
				let_jobs_accumulate(w);
		} else if (!worker_idle(w)) {
			break;
		}
	}
	retire_flush(w);
	jr_store_relaxed(&w->rec->status, JR_WORKER_GONE);
	return NULL;
}

int jr_workers_start(struct jr_engine *e)
{
	for (uint32_t i = 0; i < e->worker_count; i++) {
		struct jr_worker *w = &e->workers[i];
		int rc;

		w->engine = e;
		w->id = i;
		w->core = i % e->topo.core_count;
		w->rec = &e->region.workers[i];
		w->rec->core_index = (int32_t)w->core;
		w->rec->numa_node = e->topo.core_numa[w->core];
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			jr_workers_stop(e, JR_RUN_STOP);
			return -rc;
		}
		w->started = true;
	}
	return 0;
}

void jr_workers_stop(struct jr_engine *e, uint32_t state)
{
	struct jr_control *ctl = e->region.ctl;

	jr_store_release(&ctl->run_state, state);
	jr_fetch_add_acq_rel(&ctl->wake_seq, 1);
	jr_futex_wake_all(&ctl->wake_seq);
	jr_futex_wake_all(&ctl->run_state);
	for (uint32_t i = 0; i < e->worker_count; i++) {
		if (e->workers[i].started)
			pthread_join(e->workers[i].thread, NULL);
		e->workers[i].started = false;
	}
}

void jr_workers_wake(struct jr_engine *e, uint32_t n)
{
	struct jr_control *ctl = e->region.ctl;
	uint32_t spinning, idle;

	/* Both loads follow the push's full fence. A spinner seen here has
	 * not yet passed its own barrier on the way to sleep, so its last
	 * look at the bitmap will see this job: no syscall needed. */
	spinning = jr_load_acquire(&ctl->spinning_workers);
	idle = jr_load_acquire(&ctl->idle_workers);
	if (idle == 0 || spinning >= n)
		return;
	n -= spinning;
	jr_fetch_add_acq_rel(&ctl->wake_seq, 1);
	jr_futex_wake(&ctl->wake_seq, (int)(n < idle ? n : idle));
}
