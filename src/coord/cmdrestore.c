/*
 * cmdrestore.c - putting command jobs back at their ids after a restart
 * (jr_command_restore()): what jobringd's recovery calls with the jobs it
 * read from its snapshot and journal.
 *
 * A job id is its slot's generation and index, so a restored job must get
 * exactly that slot. The first restore call takes every slot out of the
 * free ring; each restored job then takes its own slot; restore_done()
 * gives the free ring back every slot no one restored, then the slots of
 * restored jobs that had ended (reused last, as a live table would).
 * Until then submissions get -EBUSY.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "coord/cmdrestore.h"
#include "coord/coordinator.h"
#include "coord/external.h"
#include "coord/keeperlink.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"
#include "shm/ring.h"

/* Take every slot out of the free ring, once: -EBUSY once a submission
 * came or restore_done() ran. */
static int restore_begin(struct jr_coordinator *co)
{
	struct jr_region *r = co->region;
	uint32_t cap = r->hdr->capacity, got = 0;
	int phase;

	int rc;

	jr_mutex_lock(&co->lock);
	phase = co->restore_phase;
	rc = jr_coord_make_state_dir(co);	/* restored jobs' output files */
	if (phase == RESTORE_OPEN && rc == 0)
		jr_store_release(&co->restore_phase, RESTORE_RUNNING);
	jr_mutex_unlock(&co->lock);
	if (rc < 0)
		return rc;
	if (phase != RESTORE_OPEN)
		return phase == RESTORE_RUNNING ? 0 : -EBUSY;
	co->restore_free = jr_malloc(cap * sizeof(uint32_t));
	co->restored = jr_calloc(cap, 1);
	if (!co->restore_free || !co->restored)
		return -ENOMEM;	/* restore_done() gives nothing back: none taken */
	for (;;) {
		uint32_t k = jr_ring_dequeue_batch_mpmc(r->free_ring, r->free_buf,
							co->restore_free + got, cap - got);
		if (k == 0)
			break;
		got += k;
	}
	co->restore_free_count = got;
	return 0;
}

static bool restore_state_ok(uint32_t state)
{
	return state == JR_JOB_QUEUED || state == JR_JOB_RUNNING || jr_slot_is_final(state);
}

/* The slot of each id must be valid and not restored yet, nor twice in
 * this call (marked RESTORED_SEEN while checking, then unmarked). */
static int restore_check(struct jr_coordinator *co, const struct jr_job_restore *rs,
			 size_t n, size_t *bad)
{
	struct jr_region *r = co->region;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		uint32_t index, gen;
		*bad = i;
		if (jr_jobtab_decode(r, rs[i].job_id, &index, &gen) < 0 ||
		    !restore_state_ok(rs[i].state))
			rc = -EINVAL;
		else if (co->restored[index] != RESTORED_NONE)
			rc = -EEXIST;
		else
			co->restored[index] = RESTORED_SEEN;
	}
	while (i--)
		if (co->restored[(uint32_t)rs[i].job_id] == RESTORED_SEEN)
			co->restored[(uint32_t)rs[i].job_id] = RESTORED_NONE;
	return rc;
}

static void record_restore(struct jr_cmd_record *rec, const struct jr_job_restore *rs)
{
	rec->status = jr_job_restore_status(rs);
	rec->reason = rs->reason;
	rec->spawn_error = rs->spawn_error;
	if (jr_slot_is_final(rs->state))
		rec->flags &= ~JR_REC_PENDING;
}

static int info_restore(struct cmd_restore_info *ri, const struct jr_job_restore *rs)
{
	*ri = (struct cmd_restore_info){
		.running = rs->state == JR_JOB_RUNNING, .cancel = rs->cancel != 0,
		.attempt = rs->attempt,
		.start_ns = rs->start_ns, .not_before_ns = rs->not_before_ns, .pid = rs->pid,
		.pid_start_ticks = rs->pid_start_ticks, .cgroup_slot = rs->cgroup_slot,
		.workers_lost = rs->workers_lost,
	};
	memcpy(ri->boot_id, rs->boot_id, sizeof(ri->boot_id));
	if (ri->running && rs->alloc && rs->alloc_len && rs->alloc_len <= JR_ALLOC_ENCODED_MAX) {
		ri->alloc = jr_malloc(rs->alloc_len);
		if (!ri->alloc)
			return -ENOMEM;
		memcpy(ri->alloc, rs->alloc, rs->alloc_len);
		ri->alloc_len = rs->alloc_len;
	}
	return 0;
}

/* Fill the slot of restored job i. Its state is published by the caller. */
static int slot_restore(struct jr_coordinator *co, struct cmd_batch *b, size_t i,
			const struct jr_command_spec *spec, const struct jr_job_restore *rs)
{
	struct jr_region *r = co->region;
	uint32_t index = (uint32_t)rs->job_id, name, ref;
	struct jr_slot *s = &r->slots[index];
	int rc = jr_cmd_slot_payload(co, s, spec, &ref, &name);

	if (rc < 0)
		return rc;
	jr_cmd_record_init(co, jr_cmd_record(r, ref), spec, rs->created_ns);
	record_restore(jr_cmd_record(r, ref), rs);
	jr_cmd_record_set_priority(jr_cmd_record(r, ref), b->prios[i]);
	jr_jobtab_fill(s, (uint8_t)jr_priority_level(b->prios[i]), (uint8_t)spec->queue_id,
		       rs->created_ns, name, 0, ref);
	jr_slot_put(s->attempt, (uint16_t)rs->attempt);
	jr_slot_set_worker(s, rs->worker_id);
	jr_slot_put(s->start_ns, rs->start_ns);
	jr_slot_put(s->end_ns, rs->end_ns);
	jr_slot_put(s->result, rs->exit_code);
	b->slots[i] = index;
	b->records[i] = ref;
	b->ids[i] = rs->job_id;
	b->attempts[i] = rs->attempt;
	return info_restore(&b->rinfo[i], rs);
}

static void publish(struct jr_coordinator *co, const struct jr_job_restore *rs)
{
	struct jr_slot *s = &co->region->slots[(uint32_t)rs->job_id];
	uint32_t gen = (uint32_t)(rs->job_id >> 32);
	/* One that was running shows queued until the coordinator has taken
	 * it back (or run it again). */
	uint32_t state = rs->state == JR_JOB_RUNNING ? JR_JOB_QUEUED : rs->state;

	co->restored[(uint32_t)rs->job_id] = jr_slot_is_final(rs->state) ? RESTORED_FINAL :
									   RESTORED_LIVE;
	/* Pairs with readers' acquire loads of the state word. */
	jr_store_release(&s->state, jr_slot_word(gen, state));
}

/* The live jobs of b (in order) go to the coordinator as a batch. */
static struct cmd_batch *live_part(struct cmd_batch *b, const struct jr_job_restore *rs)
{
	size_t live = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (jr_slot_is_final(rs[i].state))
			continue;
		b->specs[live] = b->specs[i];
		b->reqs[live] = b->reqs[i];
		b->prios[live] = b->prios[i];
		b->slots[live] = b->slots[i];
		b->records[live] = b->records[i];
		b->ids[live] = b->ids[i];
		b->attempts[live] = b->attempts[i];
		b->rinfo[live] = b->rinfo[i];
		live++;
	}
	b->n = live;
	b->restored = true;
	return b;
}

/* The batch's slots, written one by one below, faulted in at once: a
 * restore walks the table in order, and a fault per 4 KiB page of a
 * shared mapping was a fifth of the time a recovery took. Advice only. */
static void slots_populate(struct jr_region *r, const struct jr_job_restore *rs, size_t n)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t index = (uint32_t)rs[i].job_id;
		lo = index < lo ? index : lo;
		hi = index > hi ? index : hi;
	}
	if (n == 0 || hi - lo > 4 * n)
		return;	/* scattered: fault them as they come */
	uintptr_t from = (uintptr_t)&r->slots[lo] & ~(uintptr_t)4095;
	uintptr_t to = (uintptr_t)&r->slots[hi + 1];
	madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

static int restore_slots(struct jr_coordinator *co, struct cmd_batch *b,
			 const struct jr_command_spec *specs,
			 const struct jr_job_restore *rs, size_t *bad)
{
	slots_populate(co->region, rs, b->n);
	for (size_t i = 0; i < b->n; i++) {
		int rc = slot_restore(co, b, i, &specs[i], &rs[i]);
		if (rc < 0) {
			*bad = i;
			return rc;
		}
		publish(co, &rs[i]);
	}
	return 0;
}

static void restore_batch_free(struct cmd_batch *b)
{
	if (b)
		jr_free(b->rinfo);
	jr_free(b);
}

/* The batch for n restored jobs, each one checked; NULL with *rc and *bad
 * (the job at fault) set. */
static struct cmd_batch *restore_prepare(struct jr_coordinator *co,
					 const struct jr_command_spec *specs,
					 const struct jr_job_restore *rs, size_t n, size_t *bad,
					 int *rc)
{
	struct cmd_batch *b;

	*rc = restore_check(co, rs, n, bad);
	if (*rc < 0)
		return NULL;
	b = jr_cmd_batch_new(specs, n);
	if (!b || !(b->rinfo = jr_calloc(n, sizeof(*b->rinfo)))) {
		jr_free(b);
		*rc = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; *rc == 0 && i < n; i++) {
		*rc = jr_slot_is_final(rs[i].state) ?
			      jr_cmd_spec_priority(co, &specs[i], &b->prios[i]) :
			      jr_cmd_spec_check(co, &specs[i], &b->reqs[i], &b->prios[i]);
		*bad = i;
	}
	if (*rc == 0)
		return b;
	restore_batch_free(b);
	return NULL;
}

/* What restore_slots() put back goes to the coordinator; finished jobs
 * need nothing of their allocation. */
static void restore_hand_over(struct jr_coordinator *co, struct cmd_batch *b,
			      const struct jr_job_restore *rs)
{
	for (size_t i = 0; i < b->n; i++)
		if (jr_slot_is_final(rs[i].state)) {
			jr_free(b->rinfo[i].alloc);
			b->rinfo[i].alloc = NULL;
		}
	live_part(b, rs);
	if (b->n == 0) {
		restore_batch_free(b);
		return;
	}
	jr_counters_add_submitted(co->region, b->n);
	jr_cmd_inbox_append(co, b);
}

int jr_coord_restore_batch(struct jr_coordinator *co, const struct jr_command_spec *specs,
			   const struct jr_job_restore *rs, size_t n, size_t *bad_index)
{
	struct cmd_batch *b;
	size_t bad = 0;
	int rc;

	if ((!specs || !rs) && n)
		return -EINVAL;
	rc = restore_begin(co);
	if (rc < 0 || n == 0)
		return rc;
	if (!co->restored)
		return -ENOMEM;
	b = restore_prepare(co, specs, rs, n, &bad, &rc);
	if (b) {
		rc = restore_slots(co, b, specs, rs, &bad);
		if (rc < 0)
			b->n = bad;	/* out of arena: the jobs restored so far go on */
		restore_hand_over(co, b, rs);
	}
	if (rc < 0 && bad_index)
		*bad_index = bad;
	return rc;
}

/* Slots back to the free ring; submissions may come. */
/* In place: the untouched slots first, in the ring's old order, then the
 * finished restored ones, as if they had just ended: the table reuses
 * them last, so their jobs stay readable the longest. Under co->lock, so
 * that a restored job ending meanwhile is either marked (and put here)
 * or freed after these (jr_coord_free_slot). */
static void rebuild_free_ring(struct jr_coordinator *co)
{
	struct jr_region *r = co->region;
	uint32_t cap = r->hdr->capacity, n = 0, *v = co->restore_free;

	for (uint32_t k = 0; k < co->restore_free_count; k++)
		if (!co->restored || co->restored[v[k]] == RESTORED_NONE)
			v[n++] = v[k];
	for (uint32_t i = 1; co->restored && i < cap; i++)
		if (co->restored[i] == RESTORED_FINAL)
			v[n++] = i;
	for (uint32_t k = 0; k < n; k += 4096)
		jr_jobtab_free_batch(r, v + k, n - k < 4096 ? n - k : 4096);
	jr_free(co->restore_free);
	jr_free(co->restored);
	co->restore_free = NULL;
	co->restored = NULL;
}

int jr_coord_restore_done(struct jr_coordinator *co)
{
	int phase;

	jr_mutex_lock(&co->lock);
	phase = co->restore_phase;
	if (phase == RESTORE_RUNNING)
		rebuild_free_ring(co);
	jr_store_release(&co->restore_phase, RESTORE_CLOSED);
	/* Read with the inbox: every restored batch is taken in first. */
	if (phase != RESTORE_CLOSED)
		co->reconcile_pending = true;
	jr_mutex_unlock(&co->lock);
	jr_coord_poke(co);
	if (phase == RESTORE_CLOSED)
		return -EBUSY;
	/* Once this returns, every restored job is in the coordinator's
	 * hands: taken back, ended or scheduled (what /health shows). */
	jr_mutex_lock(&co->lock);
	while (!co->restore_settled)
		jr_cond_wait(&co->restore_cv, &co->lock);
	jr_mutex_unlock(&co->lock);
	jr_coord_output_sweep_start(co);	/* files of jobs that did not come back */
	return 0;
}

/* --- taking back what ran ------------------------------------------------------------------- */

/* The job runs again under this engine: its resources (the same cores
 * where they are still free), its slot, its deadlines from its first
 * start. */
static void adopt(struct jr_coordinator *co, struct cmd_job *job, uint32_t attempt,
		  uint64_t start_ns, const struct cmd_restore_info *ri, const uint8_t *alloc,
		  uint32_t alloc_len, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];
	struct jr_alloc a;
	bool have = alloc_len && jr_alloc_decode(alloc, alloc_len, &a) == 0;
	int how = jr_sched_adopt(&co->sched, &job->sj, have ? &a : NULL, start_ns);

	if (how)
		fprintf(stderr, "jobring: job %016llx runs on, but %s\n", (unsigned long long)job->sj.id,
			how == 1 ? "its cores are not free any more: counted on others" :
				   "this host has not the resources it holds: not counted");
	jr_jobtab_start(s);
	job->attempts = attempt;
	jr_slot_put(s->attempt, (uint16_t)attempt);
	jr_slot_set_worker(s, co->id);
	jr_slot_put(s->start_ns, start_ns);
	jr_slot_put(s->end_ns, 0);
	jr_cmd_job_set_rec_flag(co, job, JR_REC_PENDING, false);
	jr_cmd_job_run_attach(job);
	job->run->child = JR_CHILD_OF(ri->pid, -1);
	job->run->start_ticks = ri->pid_start_ticks;
	job->run->cgroup_slot = ri->cgroup_slot;
	jr_cmd_job_set_phase(job, CMD_RUNNING);
	job->run->term_at_ns = job->sj.limit_ns ? start_ns + job->sj.limit_ns : 0;
	if (job->run->term_at_ns && job->run->term_at_ns < now)
		job->run->term_at_ns = now;	/* over its limit while nobody watched */
	jr_coord_running_add(co, job);
	co->outstanding++;
	/* The journal may lack its start (a start not yet on disk when the
	 * last engine died): it has it now. */
	jr_cmd_job_event(co, job, JR_EVENT_STARTED, JR_JOB_RUNNING, JR_REASON_NONE, now);
}

/* Does what the keeper holds come after what the journal says? An exit
 * of an attempt the journal already saw end was applied already. */
static bool held_is_news(const struct keeper_held *h, const struct cmd_restore_info *ri)
{
	if (h->attempt == 0)	/* found by its cgroup: the journal's attempt */
		return !h->exited;
	return h->attempt > ri->attempt || (h->attempt == ri->attempt && ri->running);
}

static void apply_held(struct jr_coordinator *co, struct cmd_job *job, struct keeper_held *h,
		       struct cmd_restore_info *ri, uint64_t now)
{
	uint32_t attempt = h->attempt ? h->attempt : ri->running ? ri->attempt : ri->attempt + 1;
	uint64_t start = h->live.start_ns ? h->live.start_ns :
			 attempt == ri->attempt && ri->start_ns ? ri->start_ns : h->exit.end_ns;

	h->matched = true;
	if (!h->exited) {
		struct cmd_restore_info live = *ri;
		live.pid = h->live.pid;
		live.pid_start_ticks = h->live.start_ticks;
		live.cgroup_slot = h->live.cgroup_slot;
		live.attempt = attempt;
		live.start_ns = start;
		adopt(co, job, attempt, start, &live, h->alloc ? h->alloc : ri->alloc,
		      h->alloc ? h->live.alloc_len : ri->alloc_len, now);
		jr_cmd_job_set_progress(co, job, (int)h->live.progress1 - 1);	/* 0: none */
		co->adopted++;
		if (h->attempt == 0)	/* found by its cgroup: tell the keeper more */
			jr_coord_keeper_adopt(co, job, &live);
		return;
	}
	/* It ended while no engine was here: its real status. */
	struct jr_exit_status res = jr_kp_exited_status(&h->exit);
	adopt(co, job, attempt, start, ri, ri->alloc, ri->alloc_len, now);
	jr_cmd_job_set_progress(co, job, h->exit.progress);
	job->lost = (h->exit.flags & KP_EXIT_LOST) != 0;
	co->ended_while_away += !job->lost;
	/* Its end as it happened, while no engine was here. */
	jr_cmd_job_exited(co, job, &res,
			  h->exit.end_ns && h->exit.end_ns < now ? h->exit.end_ns : now);
}

bool jr_coord_restore_take(struct jr_coordinator *co, struct cmd_job *job,
			   struct cmd_restore_info *ri, uint64_t now)
{
	struct keeper_held *h = co->keeper_fd >= 0 ? jr_coord_keeper_held(co, job->sj.id) : NULL;

	if (job->external && ri->running) {
		/* No process here: its worker runs it on, with the same lease
		 * (the key is the daemon's, kept in its state directory). The
		 * daemon re-attaches it to its worker, or ends it as
		 * worker_lost if the worker is not registered (issue 17). */
		jr_ext_adopt_running(co, job, ri, now);
		co->adopted++;
		return true;
	}
	if (h && !held_is_news(h, ri))
		h = NULL;	/* applied already: let go at reconcile */
	if (h) {
		apply_held(co, job, h, ri, now);
		return true;
	}
	if (!ri->running)
		return false;
	if (co->keeper_fd >= 0) {
		/* The keeper does not hold it: it watches it if it still lives,
		 * and says EXITED (lost) otherwise. */
		adopt(co, job, ri->attempt, ri->start_ns, ri, ri->alloc, ri->alloc_len, now);
		jr_coord_keeper_adopt(co, job, ri);
		co->adopted++;	/* counted lost instead if it turns out gone */
		return true;
	}
	/* Runner threads: a process of the last engine is nobody's child
	 * here. If it still runs it is stopped; the job runs again. */
	if (jr_exec_process_alive(ri->pid, ri->pid_start_ticks, ri->boot_id))
		kill(-ri->pid, SIGKILL);
	jr_store_relaxed(&jr_cmd_record(co->region, job->record_ref)->reason,
			 JR_REASON_COORDINATOR_LOST);
	co->lost++;
	return false;
}
