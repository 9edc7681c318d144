/*
 * park.c - runs of alike plain jobs kept unbuilt behind a stand-in. See
 * park.h.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/cmdjob.h"
#include "coord/park.h"
#include "shm/cmdrec.h"
#include "shm/jobtab.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

/* Ids that follow one another (a batch's slots mostly do). */
struct park_seg {
	jr_job_id first;
	uint64_t count;
};

/* One parked run: the stand-in first (the scheduler hands it back), what
 * its jobs share, then their ids, then the spec's strings. The ids are
 * kept as segments of consecutive ids where that is smaller (8 bytes a
 * job otherwise). */
struct park_block {
	struct jr_sched_job stand_in;
	struct park_block *prev, *next;		/* co->parked */
	struct jr_command_spec spec;		/* its jobs', name aside; an array
						 * task's index is its first job's */
	struct cmd_env_cache cache;		/* their argv, shared */
	size_t next_job, n;			/* jobs [next_job, n) wait */
	size_t nseg;				/* 0: ids[], else segs[nseg] */
	size_t seg_at, seg_base;		/* next_job's segment, its first job */
	jr_job_id ids[];			/* or, with nseg, its segments (segs_of) */
};

static struct park_seg *segs_of(struct park_block *pb)
{
	return (struct park_seg *)(void *)pb->ids;
}

static const struct park_seg *segs_of_const(const struct park_block *pb)
{
	return (const struct park_seg *)(const void *)pb->ids;
}

#define PARK_TAG 1u

static uint64_t tag_of(const struct park_block *pb)
{
	return (uint64_t)(uintptr_t)pb | PARK_TAG;
}

/* --- what a run is ------------------------------------------------------------ */

/* Nothing but what a waiting job has: no dependency, hold, start time,
 * throttle, singleton name or external worker. */
static bool plain(const struct jr_command_spec *s)
{
	return !(s->flags & (JR_COMMAND_EXTERNAL | JR_COMMAND_SINGLETON | JR_COMMAND_HELD)) &&
	       !s->after_count && !s->scheduled_at_ns && !s->throttle_key && !s->throttle_max &&
	       s->argv && s->argv[0];
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_same(char *const *a, char *const *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	for (size_t i = 0;; i++) {
		if (!a[i] || !b[i])
			return !a[i] && !b[i];
		if (strcmp(a[i], b[i]) != 0)
			return false;
	}
}

/* The spec's scalars, its pointers and array index cleared. */
static void scalars_of(struct jr_command_spec *k, const struct jr_command_spec *s)
{
	*k = *s;
	k->argv = k->env = k->shared_env = NULL;
	k->cwd = k->name = k->resources = k->capabilities = NULL;
	k->after = NULL;
	k->after_types = NULL;
	k->array_task_id = 0;
}

/* Job j runs what job i runs, j - i jobs later in the same array if an
 * array's. */
static bool alike(const struct cmd_batch *b, size_t i, size_t j)
{
	const struct jr_command_spec *x = &b->specs[i], *y = &b->specs[j];
	struct jr_command_spec kx, ky;

	if (b->prios[i] != b->prios[j] || memcmp(&b->reqs[i], &b->reqs[j], sizeof(b->reqs[i])))
		return false;
	scalars_of(&kx, x);
	scalars_of(&ky, y);
	if (memcmp(&kx, &ky, sizeof(kx)) != 0)
		return false;
	if ((x->flags & JR_COMMAND_ARRAY_TASK) && y->array_task_id != x->array_task_id + (j - i))
		return false;
	return strv_same(x->argv, y->argv) && strv_same(x->env, y->env) &&
	       strv_same(x->shared_env, y->shared_env) && str_same(x->cwd, y->cwd) &&
	       str_same(x->capabilities, y->capabilities);
}

size_t jr_park_run_length(const struct cmd_batch *b, size_t i, size_t max)
{
	size_t n = 1;

	if (b->restored || !plain(&b->specs[i]))
		return 0;
	while (n < max && i + n < b->n && alike(b, i, i + n))
		n++;
	return n;
}

/* --- parking ------------------------------------------------------------------- */

static size_t strings_bytes(const struct jr_command_spec *s)
{
	return jr_cmd_strv_bytes(s->argv) + jr_cmd_strv_bytes(s->env) +
	       jr_cmd_strv_bytes(s->shared_env) + jr_cmd_str_bytes(s->cwd) +
	       jr_cmd_str_bytes(s->capabilities);
}

static void copy_strings(struct jr_command_spec *dst, const struct jr_command_spec *src,
			 char *cursor)
{
	dst->argv = jr_cmd_strv_copy(&cursor, src->argv);
	dst->env = jr_cmd_strv_copy(&cursor, src->env);
	dst->shared_env = jr_cmd_strv_copy(&cursor, src->shared_env);
	dst->cwd = jr_cmd_str_copy(&cursor, src->cwd);
	dst->capabilities = jr_cmd_str_copy(&cursor, src->capabilities);
}

static void count_parked(struct jr_coordinator *co, const struct park_block *pb, int64_t n)
{
	co->parked_jobs += (uint64_t)n;
	co->parked_by_level[jr_priority_level(pb->stand_in.priority)] += (uint64_t)n;
}

static void list_add(struct jr_coordinator *co, struct park_block *pb)
{
	pb->prev = NULL;
	pb->next = co->parked;
	if (co->parked)
		co->parked->prev = pb;
	co->parked = pb;
}

static void list_remove(struct jr_coordinator *co, struct park_block *pb)
{
	if (pb->prev)
		pb->prev->next = pb->next;
	else
		co->parked = pb->next;
	if (pb->next)
		pb->next->prev = pb->prev;
}

/* The stand-in: the scheduler's fields of every job of the run. */
static int stand_in_init(struct jr_coordinator *co, struct park_block *pb,
			 const struct cmd_batch *b, size_t from)
{
	const struct jr_command_spec *s = &b->specs[from];

	pb->stand_in = (struct jr_sched_job){ 0 };
	pb->stand_in.req = jr_req_pool_take(&co->reqs, &b->reqs[from]);
	if (!pb->stand_in.req)
		return -ENOMEM;
	pb->stand_in.priority = b->prios[from];
	pb->stand_in.queue = (uint8_t)s->queue_id;
	/* Fair share charges the user it runs as (as take_jobs does). */
	pb->stand_in.uid = s->run_as_user ? s->uid : co->uid;
	pb->stand_in.limit_ns = s->timeout_ms * JR_NS_PER_MS;
	return 0;
}

/* Segments of consecutive ids in ids[0..n). */
static size_t segments_in(const jr_job_id *ids, size_t n)
{
	size_t segs = n ? 1 : 0;

	for (size_t i = 1; i < n; i++)
		segs += ids[i] != ids[i - 1] + 1;
	return segs;
}

/* Bytes for the ids of the run, and whether as segments. */
static size_t ids_bytes(const jr_job_id *ids, size_t n, size_t *nseg)
{
	size_t segs = segments_in(ids, n);

	*nseg = segs * sizeof(struct park_seg) < n * sizeof(jr_job_id) ? segs : 0;
	return *nseg ? segs * sizeof(struct park_seg) : n * sizeof(jr_job_id);
}

static void ids_store(struct park_block *pb, const jr_job_id *ids)
{
	size_t k = 0;

	pb->seg_at = pb->seg_base = 0;
	if (!pb->nseg) {
		memcpy(pb->ids, ids, pb->n * sizeof(jr_job_id));
		return;
	}
	for (size_t i = 0; i < pb->n; i++) {
		if (i && ids[i] == ids[i - 1] + 1) {
			segs_of(pb)[k - 1].count++;
			continue;
		}
		segs_of(pb)[k++] = (struct park_seg){ ids[i], 1 };
	}
	JR_ASSERT(k == pb->nseg);
}

/* The id of job next_job (the next built: jobs are built in order). */
static jr_job_id next_id(struct park_block *pb)
{
	size_t i = pb->next_job;

	if (!pb->nseg)
		return pb->ids[i];
	const struct park_seg *segs = segs_of(pb);

	while (i >= pb->seg_base + segs[pb->seg_at].count)
		pb->seg_base += segs[pb->seg_at++].count;
	return segs[pb->seg_at].first + (i - pb->seg_base);
}

/* Where id waits in pb: its job's index (>= next_job), or pb->n. */
static size_t index_of(const struct park_block *pb, jr_job_id id)
{
	size_t base = pb->seg_base;

	if (!pb->nseg) {
		for (size_t i = pb->next_job; i < pb->n; i++)
			if (pb->ids[i] == id)
				return i;
		return pb->n;
	}
	for (size_t k = pb->seg_at; k < pb->nseg; k++) {
		const struct park_seg *g = &segs_of_const(pb)[k];
		if (id >= g->first && id - g->first < g->count &&
		    base + (id - g->first) >= pb->next_job)
			return base + (size_t)(id - g->first);
		base += g->count;
	}
	return pb->n;
}

int jr_park_run(struct jr_coordinator *co, const struct cmd_batch *b, size_t from, size_t to,
		uint64_t now)
{
	size_t n = to - from, nseg;
	const struct jr_command_spec *s = &b->specs[from];
	size_t idb = ids_bytes(&b->ids[from], n, &nseg);
	struct park_block *pb;
	struct jr_region *r = co->region;

	pb = jr_malloc(sizeof(struct park_block) + ALIGN8(idb) + strings_bytes(s));
	if (!pb)
		return -ENOMEM;
	if (stand_in_init(co, pb, b, from) < 0 ||
	    jr_sched_stand_in(&co->sched, &pb->stand_in, (uint32_t)n, now) < 0) {
		jr_req_pool_drop(pb->stand_in.req);
		jr_free(pb);
		return -ENOMEM;
	}
	pb->spec = *s;
	copy_strings(&pb->spec, s, (char *)pb + sizeof(struct park_block) + ALIGN8(idb));
	pb->cache = (struct cmd_env_cache){ 0 };
	pb->next_job = 0;
	pb->n = n;
	pb->nseg = nseg;
	ids_store(pb, &b->ids[from]);
	for (size_t i = from; i < to; i++)
		jr_store_release(&jr_cmd_record(r, b->records[i])->coord, tag_of(pb));
	list_add(co, pb);
	count_parked(co, pb, (int64_t)n);
	co->outstanding += n;	/* a drain waits for them */
	return 0;
}

/* --- building -------------------------------------------------------------------- */

static uint32_t record_of_slot(struct jr_coordinator *co, jr_job_id id)
{
	return (uint32_t)jr_slot_get(co->region->slots[(uint32_t)id].arg);
}

/* The next job of the run, built and entered in its place (the
 * stand-in off its heap). */
static void build_next(struct jr_coordinator *co, struct park_block *pb, uint64_t now)
{
	jr_job_id id = next_id(pb);
	size_t i = pb->next_job++;
	uint32_t record = record_of_slot(co, id);
	struct jr_command_spec spec = pb->spec;
	struct cmd_job *job;

	count_parked(co, pb, -1);
	if (spec.flags & JR_COMMAND_ARRAY_TASK)
		spec.array_task_id += (uint32_t)i;
	job = jr_cmd_job_new(&spec, pb->stand_in.req, &co->reqs, &pb->cache);
	if (!job) {
		pb->stand_in.seq++;	/* its place goes unused */
		co->outstanding--;
		jr_store_release(&jr_cmd_record(co->region, record)->coord, 0);
		jr_coord_end_unbuilt(co, id, record);
		return;
	}
	job->sj.priority = pb->stand_in.priority;
	job->sj.queue = pb->stand_in.queue;
	job->sj.uid = pb->stand_in.uid;
	job->record_ref = record;
	job->sj.id = id;
	/* Pairs with jr_coord_job_of()'s acquire load. */
	jr_store_release(&jr_cmd_record(co->region, record)->coord, (uint64_t)(uintptr_t)job);
	jr_sched_submit_from(&co->sched, &job->sj, &pb->stand_in, now);
}

/* A run all built: its block goes. */
static void block_free(struct jr_coordinator *co, struct park_block *pb)
{
	list_remove(co, pb);
	jr_cmd_env_cache_done(&pb->cache);
	jr_req_pool_drop(pb->stand_in.req);
	jr_free(pb);
}

/* Build jobs of pb up to index last (included); the stand-in off its
 * heap. true: it stands for more. */
static bool build_through(struct jr_coordinator *co, struct park_block *pb, size_t last,
			  uint64_t now)
{
	while (pb->next_job <= last)
		build_next(co, pb, now);
	if (pb->next_job < pb->n)
		return true;
	block_free(co, pb);
	return false;
}

bool jr_park_expand(void *ctx, struct jr_sched_job *stand_in, uint64_t now)
{
	struct park_block *pb = (struct park_block *)stand_in;
	size_t left = pb->n - pb->next_job;

	return build_through(ctx, pb, pb->next_job + (left < JR_SCHED_EXPAND_MAX ? left : JR_SCHED_EXPAND_MAX) - 1,
			     now);
}

/* A run built to its end outside a pass. */
static void build_out(struct jr_coordinator *co, struct park_block *pb, size_t last,
		      uint64_t now)
{
	jr_sched_stand_in_remove(&co->sched, &pb->stand_in);
	if (build_through(co, pb, last, now) && jr_sched_stand_in_put(&co->sched, &pb->stand_in) < 0) {
		/* No room to put it back: its jobs are built instead. */
		build_through(co, pb, pb->n - 1, now);
	}
}

static struct park_block *parked_block_of(struct jr_coordinator *co, jr_job_id id)
{
	struct jr_region *r = co->region;
	uint32_t index, gen;
	struct jr_slot *s;
	uint64_t coord;

	if (jr_jobtab_decode(r, id, &index, &gen) < 0)
		return NULL;
	s = &r->slots[index];
	if (jr_slot_gen(jr_load_acquire(&s->state)) != gen || !jr_jobtab_is_command(s))
		return NULL;
	coord = jr_load_acquire(&jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg))->coord);
	return coord & PARK_TAG ? (struct park_block *)(uintptr_t)(coord & ~(uint64_t)PARK_TAG)
				: NULL;
}

struct cmd_job *jr_park_job_built(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	struct park_block *pb = parked_block_of(co, id);

	if (pb) {
		size_t i = index_of(pb, id);
		JR_ASSERT(i < pb->n);	/* tagged with its block until built */
		build_out(co, pb, i, now);
	}
	return jr_coord_job_of(co, id);
}

void jr_park_expand_all(struct jr_coordinator *co, uint64_t now)
{
	while (co->parked)
		build_out(co, co->parked, co->parked->n - 1, now);
}

void jr_park_drop_all(struct jr_coordinator *co)
{
	while (co->parked) {
		struct park_block *pb = co->parked;
		size_t left = pb->n - pb->next_job;
		jr_sched_stand_in_remove(&co->sched, &pb->stand_in);
		count_parked(co, pb, -(int64_t)left);
		co->outstanding -= left;
		while (pb->next_job < pb->n) {
			jr_job_id id = next_id(pb);
			pb->next_job++;
			jr_store_release(&jr_cmd_record(co->region, record_of_slot(co, id))->coord, 0);
		}
		block_free(co, pb);
	}
}
