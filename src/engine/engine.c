/*
 * engine.c - the public in-process API: open and close an engine, submit,
 * cancel, query, wait, statistics. Ties the region, the job table, the
 * priority rings, the queues and the workers together.
 *
 * Submission is two phases, so that a batch is all or nothing:
 *   1. take the slots and fill them from the validated specs (all undone
 *      on any error: a bad spec, a full table or arena);
 *   2. publish each slot as QUEUED (release), then enqueue the indexes
 *      level by level in submission order, then wake parked workers.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "shm/arena.h"
#include "base/clock.h"
#include "shm/cmdrec.h"
#include "coord/coordinator.h"
#include "base/common.h"
#include "engine/abi.h"
#include "engine/engine.h"
#include "shm/counters.h"
#include "shm/jobtab.h"
#include "shm/prio.h"
#include "shm/queue.h"

#define SUBMIT_CHUNK 256u

void jr_engine_opts_init(struct jr_engine_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->capacity = JR_CAPACITY_DEFAULT;
	opts->claim_batch = 32;
	opts->spin_us = 50;
}

static __thread struct jr_clock_base submit_clock;

struct totals {
	uint64_t submitted, cancelled, succeeded, failed, running;
};

static void sum_finished(const struct jr_engine *e, struct totals *t)
{
	const struct jr_region *r = &e->region;

	/* The workers, then the coordinator's record after them. */
	for (uint32_t i = 0; i <= e->worker_count; i++) {
		t->succeeded += jr_load_acquire(&r->workers[i].succeeded);
		t->failed += jr_load_acquire(&r->workers[i].failed);
		t->running += jr_load_acquire(&r->workers[i].running);
	}
	t->cancelled += jr_counters_cancelled(r);
}

/* Finished counts are read before submitted ones: a job is counted
 * submitted before it can finish, so equality means that, when the
 * finished counts were read, every job submitted by then had finished. */
static bool all_done(const void *engine)
{
	const struct jr_engine *e = engine;
	struct totals t = { 0 };

	sum_finished(e, &t);
	return t.succeeded + t.failed + t.cancelled == jr_counters_submitted(&e->region);
}

int jr_engine_wait_all(struct jr_engine *e)
{
	jr_counters_wait_done(&e->region, all_done, e);
	return 0;
}

int jr_engine_stats(struct jr_engine *e, struct jr_stats *out)
{
	struct jr_region *r = &e->region;
	struct totals t = { 0 };

	memset(out, 0, sizeof(*out));
	sum_finished(e, &t);
	out->submitted = jr_counters_submitted(r);
	out->succeeded = t.succeeded;
	out->failed = t.failed;
	out->cancelled = t.cancelled;
	out->running = t.running;
	for (unsigned l = 0; l < JR_PRIORITY_LEVELS; l++) {
		int64_t q = (int64_t)jr_prio_count(r, l) -
			    (int64_t)jr_load_acquire(&r->ctl->cancel_pending[l]);
		out->queued_by_priority[l] = q > 0 ? (uint64_t)q : 0;
		out->queued += out->queued_by_priority[l];
	}
	out->held = jr_queue_held_total(r);
	out->workers = e->worker_count;
	out->workers_parked = jr_load_relaxed(&r->ctl->idle_workers);
	out->region_bytes = r->bytes;
	out->capacity = r->hdr->capacity;
	jr_coord_stats(e->coord, out);
	return 0;
}

/* Hardware threads of node n's cores (a synthetic topology's too). */
static uint32_t numa_pus(const struct jr_topology *t, uint32_t n)
{
	hwloc_obj_t node = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, n);

	return node ? (uint32_t)hwloc_get_nbobjs_inside_cpuset_by_type(t->topo, node->cpuset,
									 HWLOC_OBJ_PU) : 0;
}

int jr_engine_resources(struct jr_engine *e, struct jr_resource_view *out, unsigned flags)
{
	if (!e || !out || (flags & ~(unsigned)JR_VIEW_STORAGE_ONLY))
		return -EINVAL;
	if (flags & JR_VIEW_STORAGE_ONLY) {
		out->storage_count = 0;
		if (e->coord)
			jr_coord_storage(e->coord, out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->workers = e->worker_count;
	uint32_t parked = jr_load_relaxed(&e->region.ctl->idle_workers);
	out->workers_busy = parked < e->worker_count ? e->worker_count - parked : 0;
	jr_coord_resources(e->coord, out);
	for (uint32_t n = 0; n < out->numa_count; n++)
		out->numa[n].pus_total = numa_pus(&e->topo, n);
	return 0;
}

/* --- submission ----------------------------------------------------------- */

struct resolved_spec {
	unsigned level;
	uint32_t queue_id;
};

static int spec_resolve(struct jr_region *r, const struct jr_job_spec *spec,
			struct resolved_spec *out)
{
	const struct jr_queue_rec *q = jr_queue_get(r, spec->queue_id);
	int prio = spec->priority;

	if (!q)
		return -ENOENT;
	if (!spec->fn || !jr_abi_job_spec_valid(spec))
		return -EINVAL;
	if (prio == JR_PRIORITY_FROM_QUEUE)	/* a queue's is any int32 */
		prio = (int)jr_priority_level(q->priority);
	if (prio < JR_PRIORITY_MIN || prio > JR_PRIORITY_MAX)
		return -EINVAL;
	if (spec->name && strlen(spec->name) >= JR_NAME_MAX)
		return -EINVAL;
	out->level = (unsigned)prio;
	out->queue_id = spec->queue_id;
	return 0;
}

/* Validate one spec and fill a taken slot from it; the previous
 * occupant's name goes back first. On error the slot keeps no name. */
static int slot_fill(struct jr_region *r, uint32_t index,
		     const struct jr_job_spec *spec, uint64_t created_ns,
		     uint32_t *gen_out)
{
	struct jr_slot *s = &r->slots[index];
	struct resolved_spec rs;
	uint32_t name_ref = 0;
	int rc;

	rc = spec_resolve(r, spec, &rs);
	if (rc < 0)
		return rc;
	*gen_out = jr_jobtab_next_gen(s);
	jr_jobtab_drop_payload(r, s);
	if (spec->name && *spec->name) {
		rc = jr_arena_store_string(r, spec->name, &name_ref);
		if (rc < 0)
			return rc;
	}
	jr_jobtab_fill(s, (uint8_t)rs.level, (uint8_t)rs.queue_id, created_ns, name_ref,
		       (uint64_t)(uintptr_t)spec->fn, (uint64_t)(uintptr_t)spec->arg);
	return 0;
}

/* Undo slot_fill() for the first n slots and give all `taken` back. */
static void slots_unfill(struct jr_region *r, const uint32_t *index,
			 uint32_t filled, uint32_t taken)
{
	for (uint32_t i = 0; i < filled; i++) {
		struct jr_slot *s = &r->slots[index[i]];
		jr_arena_free(r, jr_slot_get(s->name_ref));
		jr_slot_put(s->name_ref, 0);
	}
	jr_jobtab_free_batch(r, index, taken);
}

/* Per-level buffers, so each level's jobs are pushed in submission order
 * with one ring transfer per SUBMIT_CHUNK jobs. */
struct level_buckets {
	uint32_t count[JR_PRIORITY_LEVELS];
	uint32_t index[JR_PRIORITY_LEVELS][SUBMIT_CHUNK];
};

static void bucket_flush(struct jr_region *r, struct level_buckets *b,
			 unsigned level)
{
	bool ok;

	if (b->count[level] == 0)
		return;
	ok = jr_prio_push_batch_mpmc(r, level, b->index[level], b->count[level]);
	JR_ASSERT(ok);	/* a ring holds as many jobs as the table */
	(void)ok;
	b->count[level] = 0;
}

static void bucket_add(struct jr_region *r, struct level_buckets *b,
		       unsigned level, uint32_t index)
{
	b->index[level][b->count[level]++] = index;
	if (b->count[level] == SUBMIT_CHUNK)
		bucket_flush(r, b, level);
}

static void publish(struct jr_engine *e, const uint32_t *index,
		    const uint32_t *gen, size_t n, jr_job_id *ids_out)
{
	struct jr_region *r = &e->region;
	struct level_buckets b;

	memset(b.count, 0, sizeof(b.count));
	for (size_t i = 0; i < n; i++) {
		struct jr_slot *s = &r->slots[index[i]];
		/* Pairs with jr_jobtab_start()'s acquire CAS and readers'
		 * acquire loads: the fields above are visible first. */
		jr_store_release(&s->state, jr_slot_word(gen[i], JR_JOB_QUEUED));
		if (ids_out)
			ids_out[i] = jr_job_id_make(gen[i], index[i]);
		bucket_add(r, &b, jr_slot_get(s->priority), index[i]);
	}
	for (unsigned l = JR_PRIORITY_LEVELS; l-- > 0;)
		bucket_flush(r, &b, l);
}

/* Take and fill n <= SUBMIT_CHUNK slots; on failure none stay taken. */
static int chunk_take(struct jr_region *r, const struct jr_job_spec *specs,
		      uint32_t n, uint64_t created_ns, uint32_t *index,
		      uint32_t *gen)
{
	int rc = jr_jobtab_alloc_batch(r, index, n);

	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		rc = slot_fill(r, index[i], &specs[i], created_ns, &gen[i]);
		if (rc < 0) {
			slots_unfill(r, index, i, n);
			return rc;
		}
	}
	return 0;
}

static int submit_small(struct jr_engine *e, const struct jr_job_spec *specs,
			uint32_t n, jr_job_id *ids_out)
{
	struct jr_region *r = &e->region;
	uint32_t index[SUBMIT_CHUNK], gen[SUBMIT_CHUNK];
	int rc;

	rc = chunk_take(r, specs, n, jr_clock_now_ns(&submit_clock), index, gen);
	if (rc < 0)
		return rc;
	jr_counters_add_submitted(r, n);
	publish(e, index, gen, n, ids_out);
	jr_workers_wake(e, n);
	return 0;
}

/* A batch larger than a chunk: all slots are taken and filled before any
 * is published, so that a full table fails the whole batch. Indexes and
 * generations are parked in ids_out (or a scratch array) meanwhile. */
static int submit_large(struct jr_engine *e, const struct jr_job_spec *specs,
			size_t n, jr_job_id *ids_out)
{
	struct jr_region *r = &e->region;
	uint64_t created_ns = jr_clock_now_ns(&submit_clock);
	uint64_t *park = ids_out ? ids_out : jr_malloc(n * sizeof(uint64_t));
	size_t done = 0;
	int rc = 0;

	if (!park)
		return -ENOMEM;
	while (done < n && rc == 0) {
		uint32_t k = n - done < SUBMIT_CHUNK ? (uint32_t)(n - done) : SUBMIT_CHUNK;
		uint32_t index[SUBMIT_CHUNK], gen[SUBMIT_CHUNK];
		rc = chunk_take(r, specs + done, k, created_ns, index, gen);
		for (uint32_t i = 0; rc == 0 && i < k; i++)
			park[done + i] = jr_job_id_make(gen[i], index[i]);
		if (rc == 0)
			done += k;
	}
	if (rc < 0)
		goto undo;
	jr_counters_add_submitted(r, n);
	for (size_t i = 0; i < n; i += SUBMIT_CHUNK) {
		uint32_t k = n - i < SUBMIT_CHUNK ? (uint32_t)(n - i) : SUBMIT_CHUNK;
		uint32_t index[SUBMIT_CHUNK], gen[SUBMIT_CHUNK];
		for (uint32_t j = 0; j < k; j++) {
			index[j] = (uint32_t)park[i + j];
			gen[j] = (uint32_t)(park[i + j] >> 32);
		}
		publish(e, index, gen, k, ids_out ? ids_out + i : NULL);
		jr_workers_wake(e, k);
	}
	goto out;
undo:
	for (size_t i = 0; i < done; i += SUBMIT_CHUNK) {
		uint32_t k = done - i < SUBMIT_CHUNK ? (uint32_t)(done - i) : SUBMIT_CHUNK;
		uint32_t index[SUBMIT_CHUNK];
		for (uint32_t j = 0; j < k; j++)
			index[j] = (uint32_t)park[i + j];
		slots_unfill(r, index, k, k);
	}
out:
	if (!ids_out)
		jr_free(park);
	return rc;
}

int jr_job_submit_batch(struct jr_engine *e, const struct jr_job_spec *specs,
			size_t n, jr_job_id *ids_out)
{
	struct jr_region *r = &e->region;

	if (n == 0)
		return 0;
	if (!specs)
		return -EINVAL;
	if (!jr_load_relaxed(&r->ctl->accepting))
		return -ESHUTDOWN;
	if (n >= r->hdr->capacity)
		return -EAGAIN;
	if (n <= SUBMIT_CHUNK)
		return submit_small(e, specs, (uint32_t)n, ids_out);
	return submit_large(e, specs, n, ids_out);
}

/* One job: the same three phases as a batch, without the bookkeeping
 * that only pays off for many jobs. */
int jr_job_submit(struct jr_engine *e, const struct jr_job_spec *spec,
		  jr_job_id *id_out)
{
	struct jr_region *r = &e->region;
	uint32_t index, gen;
	struct jr_slot *s;
	int rc;

	if (!spec)
		return -EINVAL;
	if (!jr_load_relaxed(&r->ctl->accepting))
		return -ESHUTDOWN;
	rc = chunk_take(r, spec, 1, jr_clock_now_ns(&submit_clock), &index, &gen);
	if (rc < 0)
		return rc;
	s = &r->slots[index];
	jr_counters_add_submitted(r, 1);
	/* Pairs with jr_jobtab_start()'s acquire CAS. */
	jr_store_release(&s->state, jr_slot_word(gen, JR_JOB_QUEUED));
	if (id_out)
		*id_out = jr_job_id_make(gen, index);
	jr_prio_push_batch_mpmc(r, s->priority, &index, 1);
	jr_workers_wake(e, 1);
	return 0;
}

/* --- queries and control -------------------------------------------------- */

static bool is_command_job(struct jr_engine *e, jr_job_id id)
{
	struct jr_region *r = &e->region;
	uint32_t index, gen;

	return jr_jobtab_decode(r, id, &index, &gen) == 0 &&
	       jr_jobtab_is_command(&r->slots[index]);
}

/* A queued job is cancelled here; a command job is also handed to the
 * coordinator, which takes it out of the schedule or, if it runs, stops
 * its process group (so cancelling it is accepted, not -EBUSY). */
int jr_job_cancel(struct jr_engine *e, jr_job_id id)
{
	struct jr_region *r = &e->region;
	int rc = jr_jobtab_cancel(r, id);

	if ((rc == 1 || rc == -EBUSY) && is_command_job(e, id)) {
		jr_coord_cancel(e->coord, id);
		if (rc == -EBUSY)
			return 0;
	}
	if (rc != 1)
		return rc;
	jr_counters_add_cancelled(r, 1);
	jr_counters_notify_done(r);
	return 0;
}

int jr_job_get(struct jr_engine *e, jr_job_id id, struct jr_job_info *out)
{
	int rc = jr_jobtab_snapshot(&e->region, id, out);

	jr_abi_job_info_clear_reserved(out);
	out->stdout_path[0] = out->stderr_path[0] = '\0';
	if (rc == 0 && out->is_command)
		jr_coord_output_paths(e->coord, id, out->stdout_path, out->stderr_path,
				      sizeof(out->stdout_path));
	return rc;
}

int jr_engine_job_peek(struct jr_engine *e, jr_job_id id, struct jr_job_info *out)
{
	return jr_jobtab_snapshot(&e->region, id, out);
}

int jr_engine_job_brief(struct jr_engine *e, jr_job_id id, struct jr_job_brief *out)
{
	return jr_jobtab_brief(&e->region, id, out);
}

int jr_job_wait(struct jr_engine *e, jr_job_id id, struct jr_job_info *out)
{
	int rc = jr_jobtab_wait(&e->region, id);

	if (rc == 0 && out)
		rc = jr_job_get(e, id, out);
	return rc;
}

int jr_command_submit(struct jr_engine *e, const struct jr_command_spec *spec,
		      jr_job_id *id_out)
{
	if (jr_abi_command_specs_check(spec, 1, NULL) < 0)
		return -EINVAL;
	return jr_coord_submit(e->coord, spec, id_out);
}

int jr_command_submit_batch(struct jr_engine *e, const struct jr_command_spec *specs,
			    size_t n, jr_job_id *ids_out, size_t *bad_index)
{
	if (jr_abi_command_specs_check(specs, n, bad_index) < 0)
		return -EINVAL;
	return jr_coord_submit_batch(e->coord, specs, n, ids_out, bad_index);
}

int jr_command_restore(struct jr_engine *e, const struct jr_command_spec *specs,
		       const struct jr_job_restore *restore, size_t n, size_t *bad_index)
{
	if (!e || jr_abi_restores_check(specs, restore, n, bad_index) < 0)
		return -EINVAL;
	return jr_coord_restore_batch(e->coord, specs, restore, n, bad_index);
}

int jr_command_restore_done(struct jr_engine *e)
{
	return e ? jr_coord_restore_done(e->coord) : -EINVAL;
}

/* Cheap checks on the slot before a full snapshot. */
static bool scan_may_match(const struct jr_slot *s, uint32_t state_mask, int priority)
{
	uint32_t st = jr_slot_state(jr_load_acquire(&s->state));
	uint32_t waiting = 1u << JR_JOB_QUEUED | 1u << JR_JOB_PENDING;

	if (st == JR_JOB_FREE)
		return false;
	if (priority >= 0 && jr_slot_get(s->priority) != priority)
		return false;
	if (state_mask == 0)
		return true;
	if (st == JR_SLOT_HELD || st == JR_JOB_QUEUED)
		return (state_mask & waiting) != 0;
	return (state_mask & (1u << st)) != 0;
}

int jr_job_scan(struct jr_engine *e, uint64_t *cursor, uint32_t state_mask,
		int priority, struct jr_job_info *out)
{
	struct jr_region *r = &e->region;
	uint64_t i = *cursor ? *cursor : 1;	/* slot 0 is reserved */

	for (; i < r->hdr->capacity; i++) {
		const struct jr_slot *s = &r->slots[i];
		uint32_t w = jr_load_acquire(&s->state);
		if (!scan_may_match(s, state_mask, priority))
			continue;
		if (jr_job_get(e, jr_job_id_make(jr_slot_gen(w), (uint32_t)i), out) < 0)
			continue;
		if (state_mask && !(state_mask & (1u << out->state)))
			continue;
		*cursor = i + 1;
		return 1;
	}
	*cursor = i;
	return 0;
}

void jr_command_durable(struct jr_engine *e, const jr_job_id *ids, const uint32_t *attempts,
			size_t n)
{
	jr_coord_durable(e->coord, ids, attempts, n);
}

int jr_external_claim(struct jr_engine *e, uint32_t worker_id,
		      const char *capabilities, jr_job_id job_id,
		      struct jr_job_info *out)
{
	return jr_external_claim_owned(e, worker_id, capabilities, JR_EXTERNAL_ANY_OWNER, job_id,
				       out);
}

int jr_external_claim_owned(struct jr_engine *e, uint32_t worker_id,
			    const char *capabilities, uint32_t owner_uid, jr_job_id job_id,
			    struct jr_job_info *out)
{
	return jr_external_claim_fit(e, worker_id, capabilities, owner_uid, job_id, NULL, NULL,
				     out);
}

int jr_external_claim_fit(struct jr_engine *e, uint32_t worker_id, const char *capabilities,
			  uint32_t owner_uid, jr_job_id job_id,
			  const struct jr_external_res *avail, struct jr_external_res *taken,
			  struct jr_job_info *out)
{
	jr_job_id claimed;
	int rc = jr_coord_ext_claim(e->coord, worker_id, capabilities, owner_uid, job_id, avail,
				    taken, &claimed);

	if (rc == 0 && job_id != 0)
		return jr_job_get(e, job_id, out) < 0 ? -ESTALE : -EBUSY;
	if (rc <= 0)
		return rc;
	return jr_job_get(e, claimed, out) < 0 ? -ESTALE : 1;
}

int jr_external_complete(struct jr_engine *e, uint64_t execution_id,
			 int exit_code, int lost)
{
	return jr_coord_ext_complete(e->coord, execution_id, exit_code, lost != 0);
}

int jr_engine_ext_taken(struct jr_engine *e, uint64_t execution_id, struct jr_external_res *taken)
{
	if (!e || !taken)
		return -EINVAL;
	return jr_coord_ext_taken(e->coord, execution_id, taken);
}

int jr_engine_ext_demand(struct jr_engine *e, const char *caps, uint32_t owner,
			 const struct jr_external_res *shape, uint64_t max_scan, uint64_t enough,
			 struct jr_ext_demand *out)
{
	if (!e || !shape || !out)
		return -EINVAL;
	return jr_coord_ext_demand(e->coord, caps, owner, shape, max_scan, enough, out);
}

int jr_external_progress(struct jr_engine *e, uint64_t execution_id, int percent)
{
	return jr_coord_ext_progress(e->coord, execution_id, percent);
}

void jr_job_progress(const struct jr_job_ctx *ctx, int percent)
{
	struct jr_slot *s = ctx->internal;
	uint16_t flags;

	if (!s || percent < 0 || percent > 100)
		return;
	flags = jr_slot_get(s->flags) & 0xff;
	jr_slot_put(s->flags, (uint16_t)(flags | (percent + 1) << JR_SLOT_PROGRESS_SHIFT));
}

int jr_queue_create(struct jr_engine *e, const char *name, int priority,
		    uint32_t max_workers, uint32_t *queue_id)
{
	return jr_queue_create_in(&e->region, name, priority, max_workers,
				  queue_id);
}

/* Function jobs held by the old cap that the new one lets run. */
static void unhold_raised(struct jr_engine *e, uint32_t queue_id)
{
	struct jr_region *r = &e->region;
	struct jr_queue_rec *q = jr_queue_get(r, queue_id);
	uint32_t next;

	while (q && (next = jr_queue_unhold_in(r, q)) != 0) {
		jr_prio_push_batch_mpmc(r, jr_slot_get(r->slots[next].priority), &next, 1);
		jr_workers_wake(e, 1);
	}
}

int jr_queue_update(struct jr_engine *e, uint32_t queue_id, int priority, uint32_t max_workers)
{
	int rc = jr_queue_update_in(&e->region, queue_id, priority, max_workers);

	if (rc < 0)
		return rc;
	unhold_raised(e, queue_id);
	jr_coord_wake(e->coord);	/* command jobs: the next pass reads the cap */
	return 0;
}

/* Does any job that has not ended belong to queue_id? A scan of the table. */
static bool queue_has_live_jobs(const struct jr_region *r, uint32_t queue_id)
{
	for (uint64_t i = 1; i < r->hdr->capacity; i++) {
		const struct jr_slot *s = &r->slots[i];
		uint32_t st = jr_slot_state(jr_load_acquire(&s->state));
		bool live = st == JR_JOB_PENDING || st == JR_JOB_QUEUED || st == JR_JOB_RUNNING ||
			    st == JR_SLOT_HELD;
		if (live && jr_slot_get(s->queue_id) == queue_id)
			return true;
	}
	return false;
}

int jr_queue_delete(struct jr_engine *e, uint32_t queue_id)
{
	if (queue_id == JR_QUEUE_DEFAULT)
		return -EPERM;
	if (!jr_queue_get(&e->region, queue_id))
		return -ENOENT;
	if (queue_has_live_jobs(&e->region, queue_id))
		return -EBUSY;
	return jr_queue_delete_in(&e->region, queue_id);
}

int jr_queue_get_info(struct jr_engine *e, uint32_t queue_id, struct jr_queue_info *out)
{
	const struct jr_queue_rec *q = jr_queue_get(&e->region, queue_id);

	if (!q)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->queue_id = queue_id;
	memcpy(out->name, q->name, sizeof(out->name));
	out->name[sizeof(out->name) - 1] = '\0';
	out->priority = jr_load_relaxed(&q->priority);
	out->max_workers = jr_load_relaxed(&q->max_workers);
	out->running = jr_load_relaxed(&q->running);
	out->held = jr_load_relaxed(&q->held_count);
	return 0;
}

int jr_queue_lookup(struct jr_engine *e, const char *name, uint32_t *queue_id)
{
	return name ? jr_queue_lookup_in(&e->region, name, queue_id) : -EINVAL;
}

const char *jr_job_state_name(enum jr_job_state state)
{
	static const char *const names[] = {
		"free", "pending", "queued", "running",
		"succeeded", "failed", "cancelled",
	};

	return (unsigned)state < JR_ARRAY_SIZE(names) ? names[state] : "unknown";
}

const char *jr_reason_name(enum jr_reason reason)
{
	static const char *const names[] = {
		"", "exit_code", "signal", "timeout", "dependency_failed",
		"worker_lost", "cancelled", "spawn_failed", "coordinator_lost",
		"dependency_never_satisfied",
		[JR_REASON_HELD] = "held", [JR_REASON_REQUEUED] = "requeued",
	};

	/* Control's reasons are numbered apart: the gap reads "unknown". */
	if ((unsigned)reason >= JR_ARRAY_SIZE(names) || !names[reason])
		return "unknown";
	return names[reason];
}
