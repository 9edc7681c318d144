/*
 * jobtab.h - job slots: ids, the state word, allocation and reuse.
 *
 * A slot's 32-bit state word is gen:23 | waiter:1 | state:8. The
 * generation changes each time the slot is reused, so a job id (generation
 * and slot index) of an earlier occupant is detected as stale. The word is
 * also the futex jr_job_wait() sleeps on; the waiter bit tells a finishing
 * worker to wake it.
 *
 * Ownership: a free slot belongs to the free ring. jr_jobtab_alloc_batch()
 * gives it to the submitter, who publishes it as QUEUED. Whoever dequeues
 * it from a priority ring owns it from then on: it runs it or, if it was
 * cancelled, frees it. A finished slot goes back to the free ring but keeps
 * its data, readable, until the table needs the slot again (oldest first).
 */
#ifndef JR_JOBTAB_H
#define JR_JOBTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/region.h"

#define JR_SLOT_STATE_MASK 0xffu
#define JR_SLOT_WAITER 0x100u
#define JR_SLOT_GEN_SHIFT 9
#define JR_SLOT_GEN_MASK ((1u << 23) - 1)
/* Internal state, reported as JR_JOB_QUEUED: waiting for a queue token. */
#define JR_SLOT_HELD 7u

/* Slot flags. */
#define JR_SLOT_F_TOKEN 0x1u	/* already holds its queue's run token */
/* Bits 1-7 of the flags: bits 16-22 of the worker id (issue 14: 65,536
 * workers and more). The slot has no byte to spare (64 bytes, one cache
 * line), and the flags' low byte had 7 unused bits: the id is 23 bits,
 * worker_id its low 16. Written with the id (jr_slot_set_worker), by the
 * slot's owner, keeping the other bits; every flags writer keeps them. */
#define JR_SLOT_WORKER_HI_SHIFT 1
#define JR_SLOT_WORKER_HI_MASK 0xfeu
#define JR_SLOT_WORKER_ID_MAX ((1u << 23) - 1)
_Static_assert(JR_SLOT_WORKER_ID_MAX == JR_EXTERNAL_WORKER_MAX, "worker ids: 23 bits");

static inline uint32_t jr_slot_state(uint32_t word)
{
	return word & JR_SLOT_STATE_MASK;
}

static inline uint32_t jr_slot_gen(uint32_t word)
{
	return word >> JR_SLOT_GEN_SHIFT;
}

static inline uint32_t jr_slot_word(uint32_t gen, uint32_t state)
{
	return gen << JR_SLOT_GEN_SHIFT | state;
}

static inline jr_job_id jr_job_id_make(uint32_t gen, uint32_t index)
{
	return (uint64_t)gen << 32 | index;
}

/* An execution id is the job id with the attempt in its top 8 bits (a job
 * id's generation stops below them): unique per attempt, and the job found
 * from it without a table. Only the attempt's low 8 bits are kept. */
#define JR_EXECUTION_ATTEMPT_SHIFT 56
#define JR_EXECUTION_JOB_MASK ((1ull << JR_EXECUTION_ATTEMPT_SHIFT) - 1)

static inline uint64_t jr_execution_id(jr_job_id id, uint32_t attempt)
{
	return id ^ (uint64_t)attempt << JR_EXECUTION_ATTEMPT_SHIFT;
}

static inline jr_job_id jr_execution_job(uint64_t execution_id)
{
	return execution_id & JR_EXECUTION_JOB_MASK;
}

static inline uint32_t jr_execution_attempt(uint64_t execution_id)
{
	return (uint32_t)(execution_id >> JR_EXECUTION_ATTEMPT_SHIFT);
}

static inline bool jr_slot_is_final(uint32_t state)
{
	return state == JR_JOB_SUCCEEDED || state == JR_JOB_FAILED ||
	       state == JR_JOB_CANCELLED;
}

/* Split id into a slot index and generation; -ESTALE if it cannot be one
 * of this table's. */
int jr_jobtab_decode(const struct jr_region *r, jr_job_id id, uint32_t *index,
		     uint32_t *gen);

/* Take n free slots, all or none: 0 or -EAGAIN. The slots are the
 * caller's until published. Thread-safe, lock-free. */
int jr_jobtab_alloc_batch(struct jr_region *r, uint32_t *index, uint32_t n);

/* Return n slots to the free ring. Thread-safe, lock-free. */
void jr_jobtab_free_batch(struct jr_region *r, const uint32_t *index,
			  uint32_t n);

/* The generation a freshly allocated slot will carry; also makes the
 * previous occupant's writes visible to the caller (acquire). */
uint32_t jr_jobtab_next_gen(struct jr_slot *slot);

/* QUEUED -> RUNNING by the slot's owner; false if the job was cancelled. */
bool jr_jobtab_start(struct jr_slot *slot);

/* RUNNING (or QUEUED/HELD while closing) -> a final state; wakes waiters. */
void jr_jobtab_finish(struct jr_slot *slot, uint32_t final_state);

/* from_state (QUEUED or HELD) -> CANCELLED by the slot's owner, against a
 * racing jr_jobtab_cancel(); false if that cancel won. Wakes waiters. */
bool jr_jobtab_cancel_owned(struct jr_slot *slot, uint32_t from_state);

/* Copy a consistent view of the job into *out: 0 or -ESTALE. */
int jr_jobtab_snapshot(const struct jr_region *r, jr_job_id id,
		       struct jr_job_info *out);

/* What the daemon's listing index files a job by (daemon/state/jobindex.c),
 * read as jr_jobtab_snapshot() reads it, without the rest: the index reads
 * every job submitted, and the whole view cost it 810 instructions a job
 * of a batch (callgrind), the name's copy half of them. */
struct jr_job_brief {
	uint32_t state;		/* jr_job_info.state, but QUEUED for PENDING */
	int priority;
	uint32_t owner_uid, queue_id;
	uint32_t worker_id;	/* with has_execution */
	bool has_execution;	/* jr_job_info.exec.execution_id != 0 */
	uint32_t name_hash;	/* jr_name_hash() of jr_job_info.name */
};
int jr_jobtab_brief(const struct jr_region *r, jr_job_id id, struct jr_job_brief *out);

/* Sleep until the job is final: 0 or -ESTALE. */
int jr_jobtab_wait(struct jr_region *r, jr_job_id id);

/* A command job that ended (gen: its generation) is queued again at its
 * id (a requeue): CAS from its final state to QUEUED, unless the
 * allocator claimed the slot first. Its index stays in the free ring,
 * where it is the slot's one entry (the allocator pushes a live slot's
 * index back): the job must not give it back again when it ends. 0
 * (*was: its final word), -ENOENT (the slot went to another job, or is
 * being reused), -EBUSY (it has not ended). Once it returns 0 the slot is
 * the caller's: the allocator does not take a QUEUED slot. */
int jr_jobtab_revive(struct jr_slot *slot, uint32_t gen, uint32_t *was);
/* Undo a revival that must not stand: the slot final again, as it was. */
void jr_jobtab_unrevive(struct jr_slot *slot, uint32_t was);

/* Cancel a queued or held job (see jr_job_cancel()) and count it as
 * pending removal from its ring or held list. Returns 1 if this call
 * cancelled it, 0 if it already was, or -ESTALE/-EBUSY/-EALREADY. */
int jr_jobtab_cancel(struct jr_region *r, jr_job_id id);

/* A command job's slot has no function; its arg is the arena reference of
 * its struct jr_cmd_record (cmdrec.h). */
static inline bool jr_jobtab_is_command(const struct jr_slot *s)
{
	return jr_load_relaxed(&s->fn) == 0 &&
	       jr_load_relaxed(&s->arg) != 0;
}

/* Before a slot is filled again: give back its name and, for a command
 * job, its record. */
void jr_jobtab_drop_payload(struct jr_region *r, struct jr_slot *s);


/* Fields that jr_jobtab_snapshot() may read while their owner writes them
 * are written with relaxed atomics: free on x86, and declared to TSan. */
#define jr_slot_put(field, value) jr_store_relaxed(&(field), (value))
#define jr_slot_get(field) jr_load_relaxed(&(field))

/* The worker that runs (or ran) the slot's job: up to 23 bits. */
static inline uint32_t jr_slot_worker(const struct jr_slot *s)
{
	uint32_t hi = (jr_slot_get(s->flags) & JR_SLOT_WORKER_HI_MASK) >> JR_SLOT_WORKER_HI_SHIFT;

	return hi << 16 | jr_slot_get(s->worker_id);
}

/* Set it (id at most JR_SLOT_WORKER_ID_MAX; higher bits are dropped). */
static inline void jr_slot_set_worker(struct jr_slot *s, uint32_t id)
{
	uint16_t flags = jr_slot_get(s->flags) & (uint16_t)~JR_SLOT_WORKER_HI_MASK;

	jr_slot_put(s->worker_id, (uint16_t)id);
	jr_slot_put(s->flags, (uint16_t)(flags | ((id >> 16 << JR_SLOT_WORKER_HI_SHIFT) &
						   JR_SLOT_WORKER_HI_MASK)));
}

/* The fields of a slot just taken, before its state is published: no
 * attempt, result, progress or times yet but its creation. Function jobs
 * and command jobs (fn 0, arg their arena record) alike. Inline: the
 * dispatch path fills a slot per job. */
static inline void jr_jobtab_fill(struct jr_slot *s, uint8_t priority, uint8_t queue_id,
				  uint64_t created_ns, uint32_t name_ref, uint64_t fn,
				  uint64_t arg)
{
	jr_slot_put(s->priority, priority);
	jr_slot_put(s->queue_id, queue_id);
	jr_slot_put(s->flags, 0);
	jr_slot_put(s->result, 0);
	jr_slot_put(s->attempt, 0);
	jr_slot_put(s->start_ns, 0);
	jr_slot_put(s->end_ns, 0);
	jr_slot_put(s->created_ns, created_ns);
	jr_slot_put(s->name_ref, name_ref);
	jr_slot_put(s->fn, fn);
	jr_slot_put(s->arg, arg);
}

#endif
