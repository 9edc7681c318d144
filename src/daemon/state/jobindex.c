/*
 * jobindex.c - the daemon's indexes of jobs. See jobindex.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "base/fnv.h"
#include "daemon/state/jobindex.h"
#include "engine/engine.h"

/* The dimensions a job is filed under; a key is dimension << 32 | value. */
enum { DIM_CLASS = 1, DIM_PRIORITY, DIM_QUEUE, DIM_USER, DIM_NAME, DIM_WORKER, DIM_ARRAY };

struct jobindex_keyent {
	uint64_t key;		/* 0: empty */
	struct slotset *set;
};

static uint64_t key_of(uint32_t dim, uint32_t value)
{
	return (uint64_t)dim << 32 | value;
}

static uint32_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* FNV-1a: names are short. Never 0 (0 means "no name asked"). */
static uint32_t name_hash(const char *s)
{
	return jr_name_hash(s);	/* as jr_jobtab_brief() computes it */
}

/* Local attempts are one worker, "local" (UINT32_MAX; JX_WORKER_LOCAL as stored). */
static uint32_t worker_key(uint32_t engine_worker_id)
{
	return engine_worker_id < JR_EXTERNAL_WORKER_BASE ? UINT32_MAX : engine_worker_id;
}

enum jobindex_class jobindex_class_of(enum jr_job_state st)
{
	switch (st) {
	case JR_JOB_RUNNING: return JX_RUNNING;
	case JR_JOB_SUCCEEDED: return JX_SUCCEEDED;
	case JR_JOB_FAILED: return JX_FAILED;
	case JR_JOB_CANCELLED: return JX_CANCELLED;
	default: return JX_WAITING;
	}
}

int jobindex_init(struct jobindex *x, uint32_t capacity)
{
	uint32_t buckets = 1024;

	memset(x, 0, sizeof(*x));
	while (buckets < capacity / 64 && buckets < (1u << 30))
		buckets <<= 1;
	x->capacity = capacity;
	x->name_mask = buckets - 1;
	x->slots = jr_table_alloc((size_t)capacity * sizeof(*x->slots));
	x->map_cap = 256;
	x->map = calloc(x->map_cap, sizeof(*x->map));
	x->names = calloc((size_t)buckets, sizeof(*x->names));
	if (!x->slots || !x->map || !x->names) {
		jobindex_destroy(x);
		return -ENOMEM;
	}
	return 0;
}

void jobindex_destroy(struct jobindex *x)
{
	for (uint32_t i = 0; x->map && i < x->map_cap; i++) {
		if (x->map[i].set)
			slotset_clear(x->map[i].set);
		free(x->map[i].set);
	}
	free(x->map);
	free(x->dirty);
	for (uint32_t i = 0; x->names && i <= x->name_mask; i++)
		slotset_clear(&x->names[i]);
	free(x->names);
	if (x->slots)
		jr_table_free(x->slots, (size_t)x->capacity * sizeof(*x->slots));
	memset(x, 0, sizeof(*x));
}

/* --- the map of sets ------------------------------------------------------------------------ */

static struct jobindex_keyent *find(const struct jobindex *x, uint64_t key)
{
	uint32_t mask = x->map_cap - 1;

	for (uint32_t i = mix64(key) & mask;; i = (i + 1) & mask)
		if (x->map[i].key == key || x->map[i].key == 0)
			return &x->map[i];
}

static const struct slotset *set_of(const struct jobindex *x, uint64_t key)
{
	const struct jobindex_keyent *k;

	if (key >> 32 == DIM_NAME)	/* a bucket: an array of its own */
		return &x->names[(uint32_t)key & x->name_mask];
	k = find(x, key);

	return k->key ? k->set : NULL;
}

static int grow(struct jobindex *x)
{
	struct jobindex_keyent *old = x->map;
	uint32_t old_cap = x->map_cap;

	x->map = calloc((size_t)old_cap * 2, sizeof(*x->map));
	if (!x->map) {
		x->map = old;
		return -ENOMEM;
	}
	x->map_cap = old_cap * 2;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*find(x, old[i].key) = old[i];
	free(old);
	return 0;
}

/* The set for key, made if new: NULL without memory. Sets are never
 * removed (an empty one holds no heap beyond its struct); their number
 * is bounded by the values in use and the name buckets. */
static struct slotset *set_for(struct jobindex *x, uint64_t key)
{
	uint32_t dim = (uint32_t)(key >> 32);
	struct jobindex_keyent *k;

	if (dim == DIM_NAME)
		return &x->names[(uint32_t)key & x->name_mask];
	if (x->memo_key[dim] == key)
		return x->memo_set[dim];
	k = find(x, key);
	if (!k->key) {
		if ((x->map_used + 1) * 2 > x->map_cap) {
			if (grow(x) < 0)
				return NULL;
			k = find(x, key);
		}
		k->set = calloc(1, sizeof(*k->set));
		if (!k->set)
			return NULL;
		k->key = key;
		x->map_used++;
	}
	x->memo_key[dim] = key;
	return x->memo_set[dim] = k->set;
}

static void put(struct jobindex *x, uint64_t key, uint32_t slot)
{
	struct slotset *s = set_for(x, key);

	if (!s || slotset_add(s, slot) < 0)	/* the listing's checks still hold */
		fprintf(stderr, "jobringd: no memory to index job slot %u\n", slot);
}

static void take(struct jobindex *x, uint64_t key, uint32_t slot)
{
	struct slotset *s = (struct slotset *)set_of(x, key);

	if (s)
		slotset_del(s, slot);
}

/* --- filing ------------------------------------------------------------------------------------ */

/* Every key the record files the slot under, into keys[]: the count. */
static int keys_of(const struct jobindex *x, const struct jobindex_slot *r, uint64_t keys[7])
{
	int n = 0;

	keys[n++] = key_of(DIM_CLASS, r->cls);
	keys[n++] = key_of(DIM_PRIORITY, (uint32_t)r->priority);
	keys[n++] = key_of(DIM_QUEUE, r->queue);
	keys[n++] = key_of(DIM_USER, r->uid);
	keys[n++] = key_of(DIM_NAME, r->name_hash & x->name_mask);
	if (r->flags & JX_HAS_WORKER)
		keys[n++] = key_of(DIM_WORKER, r->worker == JX_WORKER_LOCAL ? UINT32_MAX : r->worker);
	if (r->flags & JX_HAS_ARRAY)
		keys[n++] = key_of(DIM_ARRAY, r->array_slot);
	return n;
}

static bool has_key(const uint64_t *keys, int n, uint64_t key)
{
	for (int i = 0; i < n; i++)
		if (keys[i] == key)
			return true;
	return false;
}

/* The slot filed as *now says, moved from where it was: only the sets
 * that differ are touched. */
static void refile(struct jobindex *x, uint32_t slot, const struct jobindex_slot *now)
{
	struct jobindex_slot *r = &x->slots[slot];
	uint64_t old[7], new[7];
	int no = 0, nn = keys_of(x, now, new);

	if (r->flags & JX_FILED)
		no = keys_of(x, r, old);
	for (int i = 0; i < no; i++)
		if (!has_key(new, nn, old[i]))
			take(x, old[i], slot);
	for (int i = 0; i < nn; i++)
		if (!has_key(old, no, new[i]))
			put(x, new[i], slot);
	if (!(r->flags & JX_FILED))
		x->filed++;
	else
		x->counts[r->queue][r->cls]--;
	x->counts[now->queue][now->cls]++;
	uint8_t dirty = r->flags & JX_DIRTY;
	*r = *now;
	r->flags = (now->flags & ~JX_DIRTY) | JX_FILED | dirty;
}

void jobindex_drop(struct jobindex *x, uint32_t slot)
{
	struct jobindex_slot *r;
	uint64_t keys[7];
	int n;

	if (slot >= x->capacity || !((r = &x->slots[slot])->flags & JX_FILED))
		return;
	n = keys_of(x, r, keys);
	for (int i = 0; i < n; i++)
		take(x, keys[i], slot);
	r->flags &= ~(JX_FILED | JX_HAS_WORKER | JX_HAS_ARRAY) & 0xfu;
	x->filed--;
	x->counts[r->queue][r->cls]--;
}

/* What the engine says of the job now, as a record. */
static void record_of(const struct jobindex *x, uint32_t slot, const struct jr_job_info *info,
		      struct jobindex_slot *r)
{
	const struct jobindex_slot *old = &x->slots[slot];

	*r = (struct jobindex_slot){
		.priority = info->priority, .uid = info->owner_uid,
		.name_hash = JX_NAME_HASH(name_hash(info->name)), .queue = (uint8_t)info->queue_id,
		.cls = (uint8_t)jobindex_class_of(info->state),
		.array_slot = old->array_slot, .flags = old->flags & JX_HAS_ARRAY,
	};
	if (info->exec.execution_id) {
		r->worker = worker_key(info->exec.worker_id) & JX_WORKER_LOCAL;
		r->flags |= JX_HAS_WORKER;
	}
}

/* The same record from the table's brief read (jr_engine_job_brief). */
static void record_of_brief(const struct jobindex *x, uint32_t slot, const struct jr_job_brief *b,
			    struct jobindex_slot *r)
{
	const struct jobindex_slot *old = &x->slots[slot];

	*r = (struct jobindex_slot){
		.priority = b->priority, .uid = b->owner_uid, .name_hash = JX_NAME_HASH(b->name_hash),
		.queue = (uint8_t)b->queue_id, .cls = (uint8_t)jobindex_class_of(b->state),
		.array_slot = old->array_slot, .flags = old->flags & JX_HAS_ARRAY,
	};
	if (b->has_execution) {
		r->worker = worker_key(b->worker_id) & JX_WORKER_LOCAL;
		r->flags |= JX_HAS_WORKER;
	}
}

void jobindex_file(struct jobindex *x, uint32_t slot, const struct jr_job_info *info)
{
	struct jobindex_slot now;

	if (slot >= x->capacity)
		return;
	record_of(x, slot, info, &now);
	refile(x, slot, &now);
}

bool jobindex_stale(const struct jobindex *x, uint32_t slot, const struct jr_job_info *info)
{
	const struct jobindex_slot *r = &x->slots[slot];
	struct jobindex_slot now;
	uint64_t a[7], b[7];
	int n;

	if (slot >= x->capacity || !(r->flags & JX_FILED))
		return slot < x->capacity;
	record_of(x, slot, info, &now);
	n = keys_of(x, r, a);
	if (n != keys_of(x, &now, b))
		return true;
	for (int i = 0; i < n; i++)
		if (!has_key(b, n, a[i]))
			return true;
	return r->name_hash != now.name_hash;
}

/* Room for more touched slots: twice as much (at most a slot each). */
static bool dirty_grow(struct jobindex *x)
{
	uint32_t cap = x->dirty_cap ? x->dirty_cap * 2 : JX_DIRTY_MIN;
	uint32_t *d;

	cap = cap > x->capacity ? x->capacity : cap;
	if (cap <= x->dirty_cap || !(d = realloc(x->dirty, (size_t)cap * sizeof(*d))))
		return false;
	x->dirty = d;
	x->dirty_cap = cap;
	return true;
}

bool jobindex_touch(struct jobindex *x, uint32_t slot)
{
	struct jobindex_slot *r;

	if (slot >= x->capacity)
		return true;
	r = &x->slots[slot];
	if (r->flags & JX_DIRTY)
		return true;
	if (x->dirty_count == x->dirty_cap && !dirty_grow(x))
		return false;
	r->flags |= JX_DIRTY;
	x->dirty[x->dirty_count++] = slot;
	return true;
}

void jobindex_settle(struct jobindex *x, struct jr_engine *e,
		     jr_job_id (*id_of)(const void *ctx, uint32_t slot), const void *ctx)
{
	jobindex_settle_some(x, e, id_of, ctx, UINT32_MAX);
}

bool jobindex_settle_some(struct jobindex *x, struct jr_engine *e,
			  jr_job_id (*id_of)(const void *ctx, uint32_t slot), const void *ctx,
			  uint32_t max)
{
	struct jr_job_brief brief;
	struct jobindex_slot now;

	/* From the end: the order they are read in does not matter. */
	for (; x->dirty_count > 0 && max > 0; max--) {
		uint32_t slot = x->dirty[--x->dirty_count];
		jr_job_id id = id_of(ctx, slot);
		x->slots[slot].flags &= (uint8_t)~JX_DIRTY;
		x->settled++;
		if (!id || jr_engine_job_brief(e, id, &brief) < 0) {
			jobindex_drop(x, slot);
			continue;
		}
		record_of_brief(x, slot, &brief, &now);
		refile(x, slot, &now);
	}
	if (x->dirty_count == 0 && x->dirty_cap > JX_DIRTY_KEEP) {
		free(x->dirty);	/* a load's burst read: 40 MB after 10,000,000 jobs */
		x->dirty = NULL;
		x->dirty_cap = 0;
	}
	return x->dirty_count > 0;
}

/* Events move a filed job between classes (and workers); one still
 * dirty is read whole at the next settle instead. */
void jobindex_event(struct jobindex *x, uint32_t slot, const struct jr_job_event *ev)
{
	struct jobindex_slot now;

	if (slot >= x->capacity || (x->slots[slot].flags & (JX_DIRTY | JX_FILED)) != JX_FILED)
		return;
	now = x->slots[slot];
	switch (ev->kind) {
	case JR_EVENT_STARTED:
		now.cls = JX_RUNNING;
		now.worker = worker_key(ev->worker_id) & JX_WORKER_LOCAL;
		now.flags |= JX_HAS_WORKER;
		break;
	case JR_EVENT_RETRYING: now.cls = JX_WAITING; break;
	case JR_EVENT_ENDED: now.cls = (uint8_t)jobindex_class_of(ev->state); break;
	default: return;
	}
	refile(x, slot, &now);
}

void jobindex_set_array(struct jobindex *x, uint32_t slot, bool in_array, uint32_t array_slot)
{
	struct jobindex_slot now;

	if (slot >= x->capacity)
		return;
	now = x->slots[slot];
	now.flags = (uint8_t)(in_array ? now.flags | JX_HAS_ARRAY : now.flags & ~JX_HAS_ARRAY);
	now.array_slot = in_array ? array_slot : 0;
	if (now.flags & JX_FILED)
		refile(x, slot, &now);
	else
		x->slots[slot] = now;
}

void jobindex_query_name(struct jobindex_query *q, const char *name)
{
	q->by_name = true;
	q->name_hash = name_hash(name);
}

/* --- queries ---------------------------------------------------------------------------------- */

/* One constraint of a query: a union of sets (the status classes), or
 * one set whose members must also have name_hash (a name bucket). */
struct cons {
	const struct slotset *sets[JX_CLASSES];
	int nsets;
	uint32_t name_hash;	/* 0: none */
};

static uint32_t cons_next(const struct jobindex *x, const struct cons *c, uint32_t from)
{
	uint32_t best = JR_SLOTSET_NONE;

	for (int i = 0; i < c->nsets; i++) {
		uint32_t y = slotset_next(c->sets[i], from);
		while (c->name_hash && y != JR_SLOTSET_NONE &&
		       x->slots[y].name_hash != JX_NAME_HASH(c->name_hash))
			y = y + 1 == 0 ? JR_SLOTSET_NONE : slotset_next(c->sets[i], y + 1);
		if (y < best)
			best = y;
	}
	return best;
}

/* One set for key into c: false if there is none (nothing matches). */
static bool cons_key(const struct jobindex *x, struct cons *c, uint64_t key)
{
	const struct slotset *s = set_of(x, key);

	*c = (struct cons){ .nsets = 1, .sets = { s } };
	return s && s->count;
}

/* The query's constraints, most selective first: the count, or -1 if
 * one of them holds nothing. */
static int constraints(const struct jobindex *x, const struct jobindex_query *q,
		       struct cons c[8])
{
	uint32_t classes = q->classes ? q->classes : JX_ALL_CLASSES;
	int n = 0;

	struct {
		bool on;
		uint64_t key;
	} keys[] = {
		{ q->by_array, key_of(DIM_ARRAY, q->array_slot) },
		{ q->by_worker, key_of(DIM_WORKER, q->worker) },
		{ q->by_name, key_of(DIM_NAME, q->name_hash & x->name_mask) },
		{ q->by_user, key_of(DIM_USER, q->uid) },
		{ q->by_queue, key_of(DIM_QUEUE, q->queue) },
		{ q->by_priority, key_of(DIM_PRIORITY, (uint32_t)q->priority) },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i].on)
			continue;
		if (!cons_key(x, &c[n], keys[i].key))
			return -1;
		if (keys[i].key >> 32 == DIM_NAME)
			c[n].name_hash = q->name_hash;
		n++;
	}
	c[n] = (struct cons){ 0 };
	for (uint32_t k = 0; k < JX_CLASSES; k++) {
		const struct slotset *s = (classes >> k & 1) ? set_of(x, key_of(DIM_CLASS, k)) : NULL;
		if (s && s->count)
			c[n].sets[c[n].nsets++] = s;
	}
	return c[n].nsets ? n + 1 : -1;
}

uint32_t jobindex_next(const struct jobindex *x, const struct jobindex_query *q, uint32_t from)
{
	struct cons c[8];
	int n = constraints(x, q, c), matched = 0;
	uint32_t at = from;

	if (n < 0)
		return JR_SLOTSET_NONE;
	/* Leapfrog: each constraint jumps to its next member at or after
	 * at; at is the answer once all n agree in a row. */
	for (int i = 0; matched < n; i = (i + 1) % n) {
		uint32_t y = cons_next(x, &c[i], at);
		if (y == JR_SLOTSET_NONE)
			return y;
		if (y == at) {
			matched++;
		} else {
			at = y;
			matched = 1;
		}
	}
	return at;
}

size_t jobindex_bytes(const struct jobindex *x)
{
	size_t b = (size_t)x->map_cap * sizeof(*x->map);

	b += ((size_t)x->name_mask + 1) * sizeof(*x->names);
	for (uint32_t i = 0; i <= x->name_mask; i++)
		b += slotset_bytes(&x->names[i]);

	for (uint32_t i = 0; i < x->map_cap; i++)
		if (x->map[i].set)
			b += sizeof(struct slotset) + slotset_bytes(x->map[i].set);
	return b;
}

uint32_t jobindex_count(const struct jobindex *x, uint32_t queue, enum jobindex_class cls)
{
	return queue < 256 && cls < JX_CLASSES ? x->counts[queue][cls] : 0;
}
