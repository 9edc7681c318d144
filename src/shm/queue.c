/*
 * queue.c - the queue table, run tokens and held lists. See queue.h.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "base/common.h"
#include "shm/jobtab.h"
#include "shm/queue.h"

#define QUEUE_NAME_MAX (sizeof(((struct jr_queue_rec *)0)->name) - 1)

static void queue_lock(struct jr_queue_rec *q)
{
	unsigned spins = 0;
	uint32_t expected = 0;

	while (!jr_cas_acq_rel(&q->lock, &expected, 1)) {
		expected = 0;
		if (++spins % 256 == 0)
			sched_yield();
		else
			jr_cpu_relax();
	}
}

static void queue_unlock(struct jr_queue_rec *q)
{
	/* Pairs with the acquire of the next queue_lock(). */
	jr_store_release(&q->lock, 0);
}

void jr_queue_table_init(struct jr_region *r)
{
	struct jr_queue_rec *q = &r->queues[JR_QUEUE_DEFAULT];

	memset(q, 0, sizeof(*q));
	strcpy(q->name, "default");
	q->priority = JR_PRIORITY_DEFAULT;
	jr_store_release(&q->live, 1);
}

struct jr_queue_rec *jr_queue_get(const struct jr_region *r, uint32_t id)
{
	struct jr_queue_rec *q;

	if (id >= JR_QUEUE_MAX)
		return NULL;
	q = &r->queues[id];
	/* Pairs with the release store of live in jr_queue_create_in(). */
	return jr_load_acquire(&q->live) == 1 ? q : NULL;
}

int jr_queue_lookup_in(const struct jr_region *r, const char *name,
		       uint32_t *queue_id)
{
	for (uint32_t i = 0; i < JR_QUEUE_MAX; i++) {
		const struct jr_queue_rec *q = jr_queue_get(r, i);
		if (q && strcmp(q->name, name) == 0) {
			*queue_id = i;
			return 0;
		}
	}
	return -ENOENT;
}

int jr_queue_create_in(struct jr_region *r, const char *name, int priority,
		       uint32_t max_workers, uint32_t *queue_id)
{
	uint32_t id;

	if (!name || !*name || strlen(name) > QUEUE_NAME_MAX)
		return -EINVAL;
	if (jr_queue_lookup_in(r, name, &id) == 0)
		return -EEXIST;
	/* Claim a free record: live 0 -> 2 (being written) -> 1. */
	for (id = 1; id < JR_QUEUE_MAX; id++) {
		uint32_t expected = 0;
		struct jr_queue_rec *q = &r->queues[id];
		if (!jr_cas_acq_rel(&q->live, &expected, 2))
			continue;
		memset(q->name, 0, sizeof(q->name));
		strcpy(q->name, name);
		/* Atomic: a record a deleted queue left may still be read by a
		 * pass that looked it up before the delete (sync_queue_caps). */
		jr_store_relaxed(&q->priority, priority);
		jr_store_relaxed(&q->max_workers, max_workers);
		jr_store_release(&q->live, 1);
		*queue_id = id;
		return 0;
	}
	return -ENOSPC;
}

int jr_queue_update_in(struct jr_region *r, uint32_t id, int priority, uint32_t max_workers)
{
	struct jr_queue_rec *q = jr_queue_get(r, id);

	if (!q)
		return -ENOENT;
	queue_lock(q);
	jr_store_relaxed(&q->priority, priority);
	jr_store_relaxed(&q->max_workers, max_workers);
	queue_unlock(q);
	return 0;
}

int jr_queue_delete_in(struct jr_region *r, uint32_t id)
{
	struct jr_queue_rec *q = jr_queue_get(r, id);
	int rc = 0;

	if (id == JR_QUEUE_DEFAULT)
		return -EPERM;
	if (!q)
		return -ENOENT;
	queue_lock(q);
	if (q->running || q->held_count)
		rc = -EBUSY;
	else	/* Pairs with jr_queue_get()'s acquire load: gone from now. */
		jr_store_release(&q->live, 0);
	queue_unlock(q);
	return rc;
}

static void held_append(struct jr_region *r, struct jr_queue_rec *q,
			uint32_t index)
{
	jr_slot_put(r->slots[index].held_next, 0);
	if (q->held_tail)
		jr_slot_put(r->slots[q->held_tail].held_next, index);
	else
		q->held_head = index;
	q->held_tail = index;
	jr_store_relaxed(&q->held_count, q->held_count + 1);
}

static uint32_t held_pop(struct jr_region *r, struct jr_queue_rec *q)
{
	uint32_t index = q->held_head;

	if (index == 0)
		return 0;
	q->held_head = jr_slot_get(r->slots[index].held_next);
	if (q->held_head == 0)
		q->held_tail = 0;
	jr_store_relaxed(&q->held_count, q->held_count - 1);
	return index;
}

/* QUEUED -> HELD, against a racing cancel. */
static bool hold_transition(struct jr_slot *s)
{
	uint32_t word = jr_load_acquire(&s->state);

	while (jr_slot_state(word) == JR_JOB_QUEUED) {
		uint32_t held = (word & ~JR_SLOT_STATE_MASK) | JR_SLOT_HELD;
		if (jr_cas_acq_rel(&s->state, &word, held))
			return true;
	}
	return false;
}

enum jr_admit jr_queue_admit(struct jr_region *r, struct jr_queue_rec *q,
			     uint32_t index)
{
	enum jr_admit verdict = JR_ADMIT_RUN;

	queue_lock(q);
	if (q->running < q->max_workers)
		jr_store_relaxed(&q->running, q->running + 1);
	else if (hold_transition(&r->slots[index]))
		held_append(r, q, index), verdict = JR_ADMIT_HELD;
	else
		verdict = JR_ADMIT_CANCELLED;
	queue_unlock(q);
	return verdict;
}

/* HELD -> QUEUED carrying the token, against a racing cancel. */
static bool unhold_transition(struct jr_slot *s)
{
	uint32_t word = jr_load_acquire(&s->state);

	jr_slot_put(s->flags, (uint16_t)(s->flags | JR_SLOT_F_TOKEN));
	while (jr_slot_state(word) == JR_SLOT_HELD) {
		uint32_t queued = (word & ~JR_SLOT_STATE_MASK) | JR_JOB_QUEUED;
		if (jr_cas_acq_rel(&s->state, &word, queued))
			return true;
	}
	jr_slot_put(s->flags, (uint16_t)(s->flags & ~JR_SLOT_F_TOKEN));
	return false;
}

/* A cancelled job left the held list: no longer pending removal. */
static void held_cancelled_drop(struct jr_region *r, uint32_t index)
{
	jr_fetch_sub_acq_rel(&r->ctl->held_cancelled, 1);
	jr_jobtab_free_batch(r, &index, 1);
}

uint32_t jr_queue_release(struct jr_region *r, struct jr_queue_rec *q)
{
	uint32_t index;

	queue_lock(q);
	while ((index = held_pop(r, q)) != 0) {
		if (unhold_transition(&r->slots[index]))
			break;
		held_cancelled_drop(r, index);
	}
	if (index == 0)
		jr_store_relaxed(&q->running, q->running - 1);
	queue_unlock(q);
	return index;
}

uint32_t jr_queue_unhold_in(struct jr_region *r, struct jr_queue_rec *q)
{
	uint32_t index = 0;

	queue_lock(q);
	while (q->max_workers && q->running < q->max_workers &&
	       (index = held_pop(r, q)) != 0) {
		if (unhold_transition(&r->slots[index])) {
			jr_store_relaxed(&q->running, q->running + 1);
			break;
		}
		held_cancelled_drop(r, index);
		index = 0;
	}
	queue_unlock(q);
	return index;
}

static uint64_t cancel_queue_held(struct jr_region *r, struct jr_queue_rec *q)
{
	uint64_t cancelled = 0;
	uint32_t index;

	queue_lock(q);
	while ((index = held_pop(r, q)) != 0) {
		if (jr_jobtab_cancel_owned(&r->slots[index], JR_SLOT_HELD)) {
			jr_jobtab_free_batch(r, &index, 1);
			cancelled++;
		} else {
			held_cancelled_drop(r, index);
		}
	}
	queue_unlock(q);
	return cancelled;
}

uint64_t jr_queue_cancel_all_held(struct jr_region *r)
{
	uint64_t cancelled = 0;

	for (uint32_t i = 0; i < JR_QUEUE_MAX; i++) {
		struct jr_queue_rec *q = jr_queue_get(r, i);
		if (q && jr_queue_is_capped(q))
			cancelled += cancel_queue_held(r, q);
	}
	return cancelled;
}

uint64_t jr_queue_held_total(const struct jr_region *r)
{
	uint64_t held = 0;

	for (uint32_t i = 0; i < JR_QUEUE_MAX; i++) {
		const struct jr_queue_rec *q = jr_queue_get(r, i);
		if (q)
			held += jr_load_relaxed(&q->held_count);
	}
	return held - jr_load_relaxed(&r->ctl->held_cancelled);
}
