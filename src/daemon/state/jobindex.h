/*
 * jobindex.h - the daemon's indexes of jobs, so that GET /jobs answers in
 * time proportional to what it returns, never a walk over the table's
 * capacity. Each job is filed by slot under its status class (waiting:
 * pending or queued; running; succeeded; failed; cancelled), its
 * priority, queue, owner, name (by a hash bucket), the worker of its
 * latest attempt and its array: one ordered slot set (slotset.h) per
 * value. A listing walks the sets of its filters together (leapfrog
 * intersection: each set jumps to the next slot at or after the others'),
 * in slot order, so a cursor is a slot and paging is stable.
 *
 * What the index holds is a hint that the listing checks: every
 * candidate is read from the engine's table and matched in full before
 * it is shown. It is kept from three sources, on the event loop's
 * thread: a job submitted, restored or changed (submitted.c and the
 * control routes touch its slot; it is read again, in batches, before
 * the next listing), the engine's job events (started, retrying, ended:
 * durable.c), and a listing that finds a candidate that no longer
 * matches its sets (touched again) or is gone (dropped). Not
 * thread-safe: the event loop's thread only.
 */
#ifndef JR_JOBINDEX_H
#define JR_JOBINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobring.h"
#include "daemon/state/slotset.h"

/* Status classes: pending and queued are one (a job moves between them
 * without an event: a dependency met, a hold released). */
enum jobindex_class {
	JX_WAITING = 0,
	JX_RUNNING,
	JX_SUCCEEDED,
	JX_FAILED,
	JX_CANCELLED,
	JX_CLASSES
};

#define JX_ALL_CLASSES ((1u << JX_CLASSES) - 1)

/* Per slot: what the job is filed under, in 20 bytes (issue 14: memory
 * per queued job). The event loop's thread only, so bit-fields sharing a
 * word are safe. */
struct jobindex_slot {
	int32_t priority;
	uint32_t uid;
	uint32_t array_slot;	/* its array's id's slot (with JX_HAS_ARRAY) */
	uint32_t name_hash : 24;	/* its name's hash, low bits (JX_NAME_HASH): its
				 * bucket (2^20 at most), then a quick check
				 * before the name itself is compared */
	uint32_t cls : 4;	/* enum jobindex_class */
	uint32_t flags : 4;	/* JX_FILED, JX_DIRTY, ... */
	uint32_t worker : 24;	/* of its latest attempt: engine worker id (< 2^23),
				 * or JX_WORKER_LOCAL */
	uint32_t queue : 8;
};
_Static_assert(sizeof(struct jobindex_slot) == 20, "struct jobindex_slot grew");

#define JX_NAME_HASH(h) ((h) & 0xffffffu)
#define JX_WORKER_LOCAL 0xffffffu	/* worker_key()'s UINT32_MAX, stored */
_Static_assert(JR_EXTERNAL_WORKER_MAX < JX_WORKER_LOCAL, "worker ids fit 24 bits");

enum { JX_FILED = 1, JX_DIRTY = 2, JX_HAS_WORKER = 4, JX_HAS_ARRAY = 8 };

/* The list of touched slots starts with room for JX_DIRTY_MIN and
 * doubles as needed (a slot is in it once: at most the capacity); once
 * read to its end, a list grown past JX_DIRTY_KEEP is freed. */
#define JX_DIRTY_MIN 4096u
#define JX_DIRTY_KEEP (1u << 20)

struct jobindex_keyent;

struct jobindex {
	uint32_t capacity;
	uint32_t name_mask;		/* name buckets - 1 */
	struct jobindex_slot *slots;	/* by slot index (lazily zeroed pages) */
	struct jobindex_keyent *map;	/* (dimension, value) -> set */
	struct slotset *names;		/* by name bucket (name_mask + 1) */
	uint32_t map_cap, map_used;
	/* The set each dimension last filed into: a batch's jobs share
	 * their class, priority, queue and owner, so most filings skip the
	 * map (sets are never removed, so the pointers stay good). */
	uint64_t memo_key[8];
	struct slotset *memo_set[8];
	uint32_t *dirty;
	uint32_t dirty_count, dirty_cap;
	uint64_t filed;			/* jobs in the sets */
	uint32_t counts[256][JX_CLASSES];	/* filed jobs by queue and class (issue 16) */
	uint64_t settled, healed;	/* counters: reads, candidates that no longer matched */
};

/* What a listing asks for; every field but classes is optional. */
struct jobindex_query {
	uint32_t classes;	/* mask of enum jobindex_class; 0: all */
	bool by_priority, by_queue, by_user, by_name, by_worker, by_array;
	int32_t priority;
	uint32_t queue, uid, worker;
	uint32_t name_hash;
	uint32_t array_slot;
};

/* 0 or -ENOMEM (nothing to destroy). */
int jobindex_init(struct jobindex *x, uint32_t capacity);
void jobindex_destroy(struct jobindex *x);

/* The job in slot changed (submitted, restored, updated, requeued): it
 * is read again before the next listing (and a few each turn: api.c).
 * false if the list of touched slots is full and cannot grow (no
 * memory): the caller settles it (jobindex_settle) and touches again. */
bool jobindex_touch(struct jobindex *x, uint32_t slot);

/* Read every touched slot's job (id_of(ctx, slot): the id the slot holds,
 * 0 for none) from the engine and file it. */
void jobindex_settle(struct jobindex *x, struct jr_engine *e,
		     jr_job_id (*id_of)(const void *ctx, uint32_t slot), const void *ctx);
/* The same for max of them at most: true if some are left. */
bool jobindex_settle_some(struct jobindex *x, struct jr_engine *e,
			  jr_job_id (*id_of)(const void *ctx, uint32_t slot), const void *ctx,
			  uint32_t max);

/* A job event of the job in slot (the caller checked the id). */
void jobindex_event(struct jobindex *x, uint32_t slot, const struct jr_job_event *ev);

/* The job in slot is a task of the array whose id is in array_slot, or
 * (in_array false) of none. */
void jobindex_set_array(struct jobindex *x, uint32_t slot, bool in_array, uint32_t array_slot);

/* File the slot's job as info (the engine's reading of it) says. */
void jobindex_file(struct jobindex *x, uint32_t slot, const struct jr_job_info *info);

/* Whether the slot is filed other than info (the engine's reading of
 * its job) says: a listing touches it then. */
bool jobindex_stale(const struct jobindex *x, uint32_t slot, const struct jr_job_info *info);

/* The slot's job is gone: out of every set. */
void jobindex_drop(struct jobindex *x, uint32_t slot);

/* Set the query's name fields from a name. */
void jobindex_query_name(struct jobindex_query *q, const char *name);

/* The least slot >= from that every set of q holds, or JR_SLOTSET_NONE.
 * O(log) per jump; the jumps are bounded by the members of q's sets
 * that match all but one of them. */
uint32_t jobindex_next(const struct jobindex *x, const struct jobindex_query *q, uint32_t from);

/* Heap bytes held by the sets and the map (not the per-slot table). */
size_t jobindex_bytes(const struct jobindex *x);

enum jobindex_class jobindex_class_of(enum jr_job_state st);

/* Jobs filed under queue and class now (settle first for exact counts). */
uint32_t jobindex_count(const struct jobindex *x, uint32_t queue, enum jobindex_class cls);

#endif
