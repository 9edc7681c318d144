/*
 * jobtab.c - the job table: slot allocation through the free ring, state
 * transitions on the slot's state word, consistent reads, waiting.
 *
 * Concurrency argument, per transition (docs/ARCHITECTURE.md has more):
 *  - alloc: a slot index leaves the free ring exactly once per dequeue;
 *    jr_jobtab_next_gen() acquires the previous owner's final store, so its
 *    writes happen before the new owner's. A command job's slot is claimed
 *    by a CAS from its final state (claim()), which races a requeue's
 *    revival (jr_jobtab_revive(), CAS final -> QUEUED): exactly one wins.
 *  - publish (engine.c): fields written, then state QUEUED stored with
 *    release, then the index is enqueued.
 *  - start: CAS QUEUED -> RUNNING (acquire) by the single dequeuer; cancel
 *    races it with CAS QUEUED -> CANCELLED; exactly one CAS wins.
 *  - finish: exchange to the final state (release) by the running owner.
 */
#include <errno.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/cmdrec.h"
#include "base/common.h"
#include "shm/jobtab.h"
#include "shm/ring.h"

int jr_jobtab_decode(const struct jr_region *r, jr_job_id id, uint32_t *index,
		     uint32_t *gen)
{
	uint32_t i = (uint32_t)id;
	uint32_t g = (uint32_t)(id >> 32);

	if (i == 0 || i >= r->hdr->capacity || g == 0 || g > JR_SLOT_GEN_MASK)
		return -ESTALE;
	*index = i;
	*gen = g;
	return 0;
}

/* How many allocations ahead the next slot is fetched: enough to cover a
 * DRAM miss at ~100 ns per single submission. */
#define JR_PREFETCH_AHEAD 4u

/* A popped index is the allocator's once its slot is claimed. A command
 * job's ended slot may have been requeued (jr_jobtab_revive()) while its
 * index waited in the ring: a CAS from its final state decides, and a
 * slot live again keeps its index, pushed back at the tail (it stays the
 * one entry of that slot). A revived job can also turn final (a user's
 * cancel) while its coordinator still holds it: its record's coord is
 * set until the coordinator is done (cleared by release, its last
 * write), and such a slot is pushed back too. A function job's slot is
 * never revived: a load, as before. */
static bool claim(struct jr_region *r, uint32_t index)
{
	struct jr_slot *s = &r->slots[index];
	const struct jr_cmd_record *rec;
	uint32_t word;

	if (jr_likely(!jr_jobtab_is_command(s)))
		return true;
	rec = jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg));
	word = jr_load_acquire(&s->state);
	while (jr_slot_is_final(jr_slot_state(word)) && jr_load_acquire(&rec->coord) == 0)
		if (jr_cas_acq_rel(&s->state, &word, jr_slot_word(jr_slot_gen(word), JR_JOB_FREE)))
			return true;
	if (jr_slot_state(word) == JR_JOB_FREE)
		return true;
	jr_jobtab_free_batch(r, &index, 1);	/* live again: back to the tail */
	return false;
}

/* The claimed ones of index[from, to) moved down to index[from...]:
 * the new count. */
static uint32_t keep_claimed(struct jr_region *r, uint32_t *index, uint32_t from, uint32_t to)
{
	uint32_t kept = from;

	for (uint32_t i = from; i < to; i++)
		if (claim(r, index[i]))
			index[kept++] = index[i];
	return kept;
}

int jr_jobtab_alloc_batch(struct jr_region *r, uint32_t *index, uint32_t n)
{
	uint32_t got = 0, popped = 0;

	/* Bounded: a ring of revived slots only is a full table. */
	while (got < n && popped <= r->hdr->capacity) {
		uint32_t k = jr_ring_dequeue_batch_mpmc(r->free_ring, r->free_buf,
							index + got, n - got);
		if (k == 0)
			break;
		popped += k;
		got = keep_claimed(r, index, got, got + k);
	}
	if (got == n) {
		/* The free ring is FIFO, so the next slot handed out is the
		 * coldest in the table (it keeps finished jobs readable the
		 * longest): start fetching it for the next allocation. */
		uint32_t next = jr_load_relaxed(&r->free_ring->c_head) + JR_PREFETCH_AHEAD;
		uint32_t peek = jr_load_relaxed(&r->free_buf[next & r->free_ring->mask]);
		if (peek < r->hdr->capacity)
			__builtin_prefetch(&r->slots[peek], 1);
		return 0;
	}
	if (got > 0)
		jr_jobtab_free_batch(r, index, got);
	return -EAGAIN;
}

int jr_jobtab_revive(struct jr_slot *slot, uint32_t gen, uint32_t *was)
{
	uint32_t word = jr_load_acquire(&slot->state);

	while (jr_slot_gen(word) == gen && jr_slot_is_final(jr_slot_state(word)))
		if (jr_cas_acq_rel(&slot->state, &word, jr_slot_word(gen, JR_JOB_QUEUED))) {
			*was = word;
			return 0;
		}
	if (jr_slot_gen(word) != gen || jr_slot_state(word) == JR_JOB_FREE)
		return -ENOENT;
	return -EBUSY;
}

void jr_jobtab_unrevive(struct jr_slot *slot, uint32_t was)
{
	uint32_t word = jr_load_acquire(&slot->state);

	/* A waiter may have come (its bit set: woken here, as a finish
	 * would); a cancel that came meanwhile made it final already. */
	while (jr_slot_state(word) == JR_JOB_QUEUED && jr_slot_gen(word) == jr_slot_gen(was))
		if (jr_cas_acq_rel(&slot->state, &word, was & ~JR_SLOT_WAITER)) {
			if (word & JR_SLOT_WAITER)
				jr_futex_wake_all(&slot->state);
			return;
		}
}

void jr_jobtab_free_batch(struct jr_region *r, const uint32_t *index, uint32_t n)
{
	bool ok = jr_ring_enqueue_batch_mpmc(r->free_ring, r->free_buf, index, n);

	/* The free ring holds every slot but slot 0: it cannot be full. */
	JR_ASSERT(ok);
	(void)ok;
}

uint32_t jr_jobtab_next_gen(struct jr_slot *slot)
{
	/* Pairs with jr_jobtab_finish()'s release exchange (or the cancel
	 * CAS) of the previous occupant. */
	uint32_t word = jr_load_acquire(&slot->state);
	uint32_t gen = (jr_slot_gen(word) + 1) & JR_SLOT_GEN_MASK;

	JR_ASSERT(jr_slot_state(word) == JR_JOB_FREE ||
		  jr_slot_is_final(jr_slot_state(word)));
	return gen ? gen : 1;
}

bool jr_jobtab_start(struct jr_slot *slot)
{
	uint32_t word = jr_load_acquire(&slot->state);

	for (;;) {
		if (jr_slot_state(word) != JR_JOB_QUEUED)
			return false;
		uint32_t running = (word & ~JR_SLOT_STATE_MASK) | JR_JOB_RUNNING;
		/* Acquire pairs with the submitter's release store of QUEUED;
		 * loses cleanly against a cancelling CAS. */
		if (jr_cas_acq_rel(&slot->state, &word, running))
			return true;
	}
}

void jr_jobtab_finish(struct jr_slot *slot, uint32_t final_state)
{
	uint32_t word = jr_load_relaxed(&slot->state);
	uint32_t gen = jr_slot_gen(word);
	/* Release pairs with readers' acquire loads of the state word: the
	 * result and times are visible once the final state is. */
	uint32_t old = jr_exchange_acq_rel(&slot->state,
					    jr_slot_word(gen, final_state));

	JR_ASSERT(jr_slot_gen(old) == gen);
	if (old & JR_SLOT_WAITER)
		jr_futex_wake_all(&slot->state);
}

bool jr_jobtab_cancel_owned(struct jr_slot *slot, uint32_t from_state)
{
	uint32_t word = jr_load_acquire(&slot->state);

	while (jr_slot_state(word) == from_state) {
		uint32_t cancelled = (word & ~(JR_SLOT_STATE_MASK | JR_SLOT_WAITER)) |
				     JR_JOB_CANCELLED;
		if (jr_cas_acq_rel(&slot->state, &word, cancelled)) {
			if (word & JR_SLOT_WAITER)
				jr_futex_wake_all(&slot->state);
			return true;
		}
	}
	return false;
}

void jr_jobtab_drop_payload(struct jr_region *r, struct jr_slot *s)
{
	if (jr_jobtab_is_command(s))
		jr_arena_free(r, (uint32_t)jr_slot_get(s->arg));
	jr_slot_put(s->arg, 0);
	jr_arena_free(r, jr_slot_get(s->name_ref));
	jr_slot_put(s->name_ref, 0);
}

static void snapshot_command(const struct jr_region *r, const struct jr_slot *s,
			     struct jr_job_info *out)
{
	const struct jr_cmd_record *rec;
	struct jr_exit_status st;
	uint64_t ref = jr_slot_get(s->arg);

	out->is_command = 1;
	if (ref == 0 || ref * 16 >= r->hdr->arena_bytes)
		return;
	rec = jr_cmd_record(r, (uint32_t)ref);
	st = jr_cmd_record_status(rec);
	st.exit_code = out->exec.result;	/* the slot's, as for every job */
	jr_execution_set_status(&out->exec, &st);
	out->reason = jr_load_relaxed(&rec->reason);
	out->exec.spawn_error = jr_load_relaxed(&rec->spawn_error);
	out->owner_uid = jr_load_relaxed(&rec->uid);
	out->priority = jr_load_relaxed(&rec->priority);
	out->is_external = (jr_load_relaxed(&rec->flags) & JR_REC_EXTERNAL) != 0;
	out->pending = (jr_load_relaxed(&rec->flags) & JR_REC_PENDING) != 0;
	out->exec.output_truncated = (jr_load_relaxed(&rec->flags) & JR_REC_OUTPUT_CUT) != 0;
	if (jr_load_relaxed(&rec->flags) & JR_REC_HELD) {	/* pending, reason held */
		out->pending = 1;
		out->reason = JR_REASON_HELD;
	}
}

static void snapshot_fields(const struct jr_region *r, const struct jr_slot *s,
			    struct jr_job_info *out)
{
	uint32_t name_ref = jr_slot_get(s->name_ref);
	uint16_t flags = jr_slot_get(s->flags);

	out->priority = jr_slot_get(s->priority);
	out->queue_id = jr_slot_get(s->queue_id);
	out->created_ns = jr_slot_get(s->created_ns);
	out->exec.worker_id = jr_slot_worker(s);
	out->exec.attempt = jr_slot_get(s->attempt);
	out->exec.start_ns = jr_slot_get(s->start_ns);
	out->exec.end_ns = jr_slot_get(s->end_ns);
	out->exec.result = jr_slot_get(s->result);
	out->progress = (int)(flags >> JR_SLOT_PROGRESS_SHIFT) - 1;
	out->is_command = 0;
	out->is_external = 0;
	out->owner_uid = 0;
	out->pending = 0;
	out->reason = JR_REASON_NONE;
	out->exec.spawn_error = 0;
	/* A function job's status is its result alone. */
	jr_execution_set_status(&out->exec,
				&(struct jr_exit_status){ .exit_code = out->exec.result });
	if (jr_jobtab_is_command(s))
		snapshot_command(r, s, out);
	jr_arena_read_string(r, name_ref, out->name, sizeof(out->name));
}

static void snapshot_finish(struct jr_job_info *out, jr_job_id id,
			    uint32_t state)
{
	out->job_id = id;
	out->state = state == JR_SLOT_HELD ? JR_JOB_QUEUED : state;
	if (out->state == JR_JOB_QUEUED && out->pending)
		out->state = JR_JOB_PENDING;
	/* A command job's record says why its last attempt ended (a queued
	 * one may be waiting to retry); a function job's state says it all. */
	if (out->state == JR_JOB_RUNNING || out->state == JR_JOB_SUCCEEDED)
		out->reason = JR_REASON_NONE;
	else if (!out->is_command)
		out->reason = out->state == JR_JOB_FAILED ? JR_REASON_EXIT :
			      out->state == JR_JOB_CANCELLED ? JR_REASON_CANCELLED :
							       JR_REASON_NONE;
	else if (out->state == JR_JOB_CANCELLED &&
		 (out->reason == JR_REASON_NONE || out->reason == JR_REASON_HELD))
		out->reason = JR_REASON_CANCELLED;	/* before the coordinator saw it */
	out->exec.job_id = id;
	out->exec.status = out->state;
	out->attempts = out->exec.attempt;
	if (out->exec.attempt == 0 || state == JR_JOB_QUEUED ||
	    state == JR_SLOT_HELD) {
		memset(&out->exec, 0, sizeof(out->exec));
		out->exec.job_id = id;
		out->exec.status = out->state;
		return;
	}
	out->exec.execution_id = jr_execution_id(id, out->exec.attempt);
}

int jr_jobtab_snapshot(const struct jr_region *r, jr_job_id id,
		       struct jr_job_info *out)
{
	uint32_t index, gen;
	int rc = jr_jobtab_decode(r, id, &index, &gen);
	const struct jr_slot *s;

	if (rc < 0)
		return rc;
	s = &r->slots[index];
	for (;;) {
		uint32_t w1 = jr_load_acquire(&s->state);
		if (jr_slot_gen(w1) != gen || jr_slot_state(w1) == JR_JOB_FREE)
			return -ESTALE;
		snapshot_fields(r, s, out);
		/* Orders the field loads before the re-check, as in a seqlock:
		 * pairs with the release that published the fields. */
		jr_fence_acquire();
		uint32_t w2 = jr_load_relaxed(&s->state);
		if (jr_slot_gen(w2) != gen)
			return -ESTALE;
		if (jr_slot_state(w1) == jr_slot_state(w2)) {
			snapshot_finish(out, id, jr_slot_state(w1));
			return 0;
		}
	}
}

/* The fields of jr_job_brief, as snapshot_fields(), snapshot_command()
 * and snapshot_finish() set them in a jr_job_info. */
static void brief_fields(const struct jr_region *r, const struct jr_slot *s, uint32_t state,
			 struct jr_job_brief *out)
{
	uint64_t ref = jr_slot_get(s->arg);

	out->state = state == JR_SLOT_HELD ? JR_JOB_QUEUED : state;
	out->priority = jr_slot_get(s->priority);
	out->queue_id = jr_slot_get(s->queue_id);
	out->owner_uid = 0;
	out->has_execution = jr_slot_get(s->attempt) != 0 && state != JR_JOB_QUEUED &&
			     state != JR_SLOT_HELD;
	out->worker_id = out->has_execution ? jr_slot_worker(s) : 0;
	if (jr_jobtab_is_command(s) && ref != 0 && ref * 16 < r->hdr->arena_bytes) {
		const struct jr_cmd_record *rec = jr_cmd_record(r, (uint32_t)ref);
		out->owner_uid = jr_load_relaxed(&rec->uid);
		out->priority = jr_load_relaxed(&rec->priority);
	}
	out->name_hash = jr_arena_hash_string(r, jr_slot_get(s->name_ref), JR_NAME_MAX);
}

int jr_jobtab_brief(const struct jr_region *r, jr_job_id id, struct jr_job_brief *out)
{
	uint32_t index, gen;
	int rc = jr_jobtab_decode(r, id, &index, &gen);
	const struct jr_slot *s;

	if (rc < 0)
		return rc;
	s = &r->slots[index];
	for (;;) {	/* a seqlock read, as jr_jobtab_snapshot() */
		uint32_t w1 = jr_load_acquire(&s->state);
		if (jr_slot_gen(w1) != gen || jr_slot_state(w1) == JR_JOB_FREE)
			return -ESTALE;
		brief_fields(r, s, jr_slot_state(w1), out);
		jr_fence_acquire();
		uint32_t w2 = jr_load_relaxed(&s->state);
		if (jr_slot_gen(w2) != gen)
			return -ESTALE;
		if (jr_slot_state(w1) == jr_slot_state(w2))
			return 0;
	}
}

int jr_jobtab_wait(struct jr_region *r, jr_job_id id)
{
	uint32_t index, gen;
	int rc = jr_jobtab_decode(r, id, &index, &gen);
	struct jr_slot *s;

	if (rc < 0)
		return rc;
	s = &r->slots[index];
	uint32_t word = jr_load_acquire(&s->state);
	for (;;) {
		if (jr_slot_gen(word) != gen || jr_slot_state(word) == JR_JOB_FREE)
			return -ESTALE;
		if (jr_slot_is_final(jr_slot_state(word)))
			return 0;
		if (!(word & JR_SLOT_WAITER) &&
		    !jr_cas_acq_rel(&s->state, &word, word | JR_SLOT_WAITER))
			continue;
		/* Pairs with jr_jobtab_finish(): it clears the waiter bit
		 * with its exchange, so this either sleeps on the old word
		 * and is woken, or returns at once because it changed. */
		jr_futex_wait(&s->state, word | JR_SLOT_WAITER);
		word = jr_load_acquire(&s->state);
	}
}

/* Try to move one state word from QUEUED or HELD to CANCELLED, counting
 * the job as pending removal first so the counter never goes negative. */
static int cancel_try(struct jr_region *r, struct jr_slot *s, uint32_t *word)
{
	uint32_t st = jr_slot_state(*word);
	/* Function jobs sit in a ring or a held list until dequeued; command
	 * jobs are the coordinator's and in neither. */
	uint64_t *pending = jr_jobtab_is_command(s) ? NULL :
			    st == JR_SLOT_HELD ?
				    &r->ctl->held_cancelled :
				    &r->ctl->cancel_pending[jr_slot_get(s->priority)];
	uint32_t cancelled = (*word & ~(JR_SLOT_STATE_MASK | JR_SLOT_WAITER)) |
			     JR_JOB_CANCELLED;
	uint32_t old = *word;

	if (pending)
		jr_fetch_add_acq_rel(pending, 1);
	if (!jr_cas_acq_rel(&s->state, word, cancelled)) {
		if (pending)
			jr_fetch_sub_acq_rel(pending, 1);
		return 0;
	}
	if (old & JR_SLOT_WAITER)
		jr_futex_wake_all(&s->state);
	return 1;
}

int jr_jobtab_cancel(struct jr_region *r, jr_job_id id)
{
	uint32_t index, gen;
	int rc = jr_jobtab_decode(r, id, &index, &gen);
	struct jr_slot *s;

	if (rc < 0)
		return rc;
	s = &r->slots[index];
	uint32_t word = jr_load_acquire(&s->state);
	for (;;) {
		uint32_t st = jr_slot_state(word);
		if (jr_slot_gen(word) != gen || st == JR_JOB_FREE)
			return -ESTALE;
		if (st == JR_JOB_CANCELLED)
			return 0;
		if (st == JR_JOB_RUNNING)
			return -EBUSY;
		if (jr_slot_is_final(st))
			return -EALREADY;
		if (cancel_try(r, s, &word))
			return 1;
	}
}
