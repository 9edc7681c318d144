/*
 * cmdbatch.c - submitting command jobs, from any thread: every spec of a
 * batch checked, then the slots taken, then the batch copied into one
 * block and handed to the coordinator, which builds the jobs. See
 * cmdbatch.h.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/cmdbatch.h"
#include "coord/coordinator.h"
#include "coord/state.h"
#include "shm/arena.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"
#include "shm/queue.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

size_t jr_cmd_strv_bytes(char *const *v)
{
	size_t n = 0, bytes = 0;

	while (v && v[n])
		bytes += strlen(v[n++]) + 1;
	return v ? ALIGN8((n + 1) * sizeof(char *)) + ALIGN8(bytes) : 0;
}

size_t jr_cmd_str_bytes(const char *s)
{
	return s ? ALIGN8(strlen(s) + 1) : 0;
}

/* prev: the spec before it in the batch (NULL for the first), whose
 * shared_env, if the same pointer, is copied once for both. */
static size_t spec_bytes(const struct jr_command_spec *s, const struct jr_command_spec *prev)
{
	bool shared_again = prev && prev->shared_env == s->shared_env;

	return jr_cmd_strv_bytes(s->argv) + jr_cmd_strv_bytes(s->env) + jr_cmd_str_bytes(s->cwd) +
	       jr_cmd_str_bytes(s->capabilities) + ALIGN8(s->after_count * sizeof(jr_job_id)) +
	       (s->flags & JR_COMMAND_EXTERNAL ? jr_cmd_str_bytes(s->resources) : 0) +
	       (s->after_types ? ALIGN8(s->after_count) : 0) +
	       (shared_again ? 0 : jr_cmd_strv_bytes(s->shared_env));
}

/* Take size bytes from the block at *cursor. */
static void *take(char **cursor, size_t size)
{
	void *p = *cursor;

	*cursor += ALIGN8(size);
	return p;
}

char *jr_cmd_str_copy(char **cursor, const char *s)
{
	return s ? memcpy(take(cursor, strlen(s) + 1), s, strlen(s) + 1) : NULL;
}

char **jr_cmd_strv_copy(char **cursor, char *const *v)
{
	size_t n = 0, bytes = 0;
	char **out, *p;

	if (!v)
		return NULL;
	while (v[n])
		bytes += strlen(v[n++]) + 1;
	out = take(cursor, (n + 1) * sizeof(char *));
	p = take(cursor, bytes);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		out[i] = memcpy(p, v[i], len);
		p += len;
	}
	out[n] = NULL;
	return out;
}

void jr_cmd_spec_array_throttle(struct jr_command_spec *s)
{
	if ((s->flags & JR_COMMAND_ARRAY_TASK) && s->throttle_max && !s->throttle_key)
		s->throttle_key = s->array_job_id;
}

/* prev and prev_dst: the spec before it and its copy (NULL for the
 * first): the same shared_env is copied once, and its copies share it. */
static void copy_spec(struct jr_command_spec *dst, const struct jr_command_spec *src,
		      const struct jr_command_spec *prev, const struct jr_command_spec *prev_dst,
		      char **cursor)
{
	*dst = *src;
	dst->argv = jr_cmd_strv_copy(cursor, src->argv);
	dst->env = jr_cmd_strv_copy(cursor, src->env);
	dst->shared_env = prev && prev->shared_env == src->shared_env
				  ? prev_dst->shared_env
				  : jr_cmd_strv_copy(cursor, src->shared_env);
	dst->cwd = jr_cmd_str_copy(cursor, src->cwd);
	dst->capabilities = jr_cmd_str_copy(cursor, src->capabilities);
	dst->name = NULL;
	/* An external job's counters are matched at a claim (external.c);
	 * a local job's are in its jr_req already. */
	dst->resources = src->flags & JR_COMMAND_EXTERNAL ? jr_cmd_str_copy(cursor, src->resources) : NULL;
	if (src->after_count) {
		jr_job_id *after = take(cursor, src->after_count * sizeof(jr_job_id));
		dst->after = memcpy(after, src->after, src->after_count * sizeof(jr_job_id));
	} else {
		dst->after = NULL;
	}
	jr_cmd_spec_array_throttle(dst);
	if (src->after_count && src->after_types)
		dst->after_types = memcpy(take(cursor, src->after_count), src->after_types,
					  src->after_count);
	else
		dst->after_types = NULL;
}

struct cmd_batch *jr_cmd_batch_new(const struct jr_command_spec *specs, size_t n)
{
	size_t fixed = ALIGN8(sizeof(struct cmd_batch)) +
		       ALIGN8(n * sizeof(struct jr_command_spec)) + ALIGN8(n * sizeof(struct jr_req)) +
		       ALIGN8(n * sizeof(int)) + 2 * ALIGN8(n * sizeof(uint32_t)) +
		       ALIGN8(n * sizeof(jr_job_id)) + ALIGN8(n * sizeof(uint32_t));
	size_t extra = 0;
	struct cmd_batch *b;
	char *cursor;

	for (size_t i = 0; i < n; i++)
		extra += spec_bytes(&specs[i], i ? &specs[i - 1] : NULL);
	b = jr_malloc(fixed + extra);
	if (!b)
		return NULL;
	cursor = (char *)b + ALIGN8(sizeof(*b));
	b->next = NULL;
	b->n = n;
	b->built = 0;
	b->cache = (struct cmd_env_cache){ 0 };
	b->specs = take(&cursor, n * sizeof(*b->specs));
	b->reqs = take(&cursor, n * sizeof(*b->reqs));
	b->prios = take(&cursor, n * sizeof(*b->prios));
	b->slots = take(&cursor, n * sizeof(*b->slots));
	b->records = take(&cursor, n * sizeof(*b->records));
	b->ids = take(&cursor, n * sizeof(*b->ids));
	b->attempts = take(&cursor, n * sizeof(*b->attempts));
	b->rinfo = NULL;
	b->restored = false;
	for (size_t i = 0; i < n; i++)
		copy_spec(&b->specs[i], &specs[i], i ? &specs[i - 1] : NULL,
			  i ? &b->specs[i - 1] : NULL, &cursor);
	return b;
}

/* --- submission ------------------------------------------------------------ */

static bool takes_own_priority(const struct jr_command_spec *spec)
{
	return (spec->flags & JR_COMMAND_PRIORITY_SET) ||
	       spec->priority != JR_PRIORITY_FROM_QUEUE;
}

int jr_cmd_priority_of(const struct jr_command_spec *spec, const struct jr_queue_rec *q)
{
	return takes_own_priority(spec) || !q ? spec->priority : q->priority;
}

static int spec_check(struct jr_coordinator *co, const struct jr_command_spec *spec,
		      const struct jr_queue_rec *q, int *prio, struct jr_req *req)
{
	bool external = spec->flags & JR_COMMAND_EXTERNAL;
	int rc;

	memset(req, 0, sizeof(*req));
	if (!external && (!spec->argv || !spec->argv[0]))
		return -EINVAL;
	if (spec->flags & ~(uint32_t)(JR_COMMAND_EXTERNAL | JR_COMMAND_PRIORITY_SET |
				      JR_COMMAND_SINGLETON | JR_COMMAND_ARRAY_TASK |
				      JR_COMMAND_HELD))
		return -EINVAL;
	for (size_t i = 0; spec->after_types && i < spec->after_count; i++)
		if (spec->after_types[i] > JR_DEP_AFTER)
			return -EINVAL;
	if (!q)
		return -ENOENT;
	*prio = jr_cmd_priority_of(spec, q);
	if (spec->name && strlen(spec->name) >= JR_NAME_MAX)
		return -EINVAL;
	if (external) {	/* holds nothing here: what it needs of its worker */
		req->cpus = spec->cpus ? spec->cpus : 1;
		req->gpus = spec->gpus;
		req->mem_bytes = spec->mem_bytes;
		return 0;
	}
	req->cpus = spec->cpus ? spec->cpus : 1;
	req->gpus = spec->gpus;
	req->mem_bytes = spec->mem_bytes;
	req->span = spec->span_numa != 0;
	rc = jr_res_parse_request(&co->pools, &co->caps, spec->resources,
				  spec->capabilities, req);
	if (rc < 0)
		return rc;
	return jr_res_check_host(&co->pools, req) == 0 ? 0 : -E2BIG;
}

/* Every dependency must name a command job this engine knows. */
static int deps_check(struct jr_coordinator *co, const struct jr_command_spec *spec)
{
	struct jr_job_info info;

	for (size_t i = 0; i < spec->after_count; i++)
		if (jr_jobtab_snapshot(co->region, spec->after[i], &info) < 0 ||
		    !info.is_command)
			return -ENOENT;
	return 0;
}

static uint32_t initial_rec_flags(const struct jr_command_spec *spec, uint64_t now)
{
	uint32_t flags = (spec->flags & JR_COMMAND_EXTERNAL) ? JR_REC_EXTERNAL : 0;

	/* Until the coordinator sees otherwise: it clears the flag when the
	 * job becomes eligible. */
	if (spec->after_count || spec->scheduled_at_ns > now)
		flags |= JR_REC_PENDING;
	if (spec->flags & JR_COMMAND_HELD)
		flags |= JR_REC_HELD;
	return flags;
}

/* The record's coord stays 0 until the coordinator has built the job. */
void jr_cmd_record_init(struct jr_coordinator *co, struct jr_cmd_record *rec,
			const struct jr_command_spec *spec, uint64_t now)
{
	memset(rec, 0, sizeof(*rec));
	rec->uid = spec->run_as_user ? spec->uid : co->uid;
	rec->flags = initial_rec_flags(spec, now);
}

int jr_cmd_slot_payload(struct jr_coordinator *co, struct jr_slot *s,
			const struct jr_command_spec *spec, uint32_t *record_ref,
			uint32_t *name_ref)
{
	struct jr_region *r = co->region;
	int rc;

	*name_ref = 0;
	jr_jobtab_drop_payload(r, s);
	rc = jr_arena_alloc(r, sizeof(struct jr_cmd_record), record_ref);
	if (rc == 0 && spec->name && *spec->name)
		rc = jr_arena_store_string(r, spec->name, name_ref);
	if (rc < 0)
		jr_arena_free(r, *record_ref);
	return rc;
}

/* Take a slot for job i of the batch and publish it as QUEUED (not on any
 * ring: the coordinator starts it). */
static int slot_take(struct jr_coordinator *co, struct cmd_batch *b, size_t i,
		     const struct jr_command_spec *spec, uint64_t now)
{
	struct jr_region *r = co->region;
	uint32_t index, gen, name, ref;
	struct jr_slot *s;
	int rc;

	rc = jr_jobtab_alloc_batch(r, &index, 1);
	if (rc < 0)
		return rc;
	s = &r->slots[index];
	gen = jr_jobtab_next_gen(s);
	rc = jr_cmd_slot_payload(co, s, spec, &ref, &name);
	if (rc < 0) {
		jr_jobtab_free_batch(r, &index, 1);
		return rc;
	}
	jr_cmd_record_init(co, jr_cmd_record(r, ref), spec, now);
	jr_cmd_record_set_priority(jr_cmd_record(r, ref), b->prios[i]);
	jr_jobtab_fill(s, (uint8_t)jr_priority_level(b->prios[i]), (uint8_t)spec->queue_id, now,
		       name, 0, ref);
	b->slots[i] = index;
	b->records[i] = ref;
	b->ids[i] = jr_job_id_make(gen, index);
	/* Pairs with readers' acquire loads of the state word. */
	jr_store_release(&s->state, jr_slot_word(gen, JR_JOB_QUEUED));
	return 0;
}

/* Undo slot_take() for a job no one has seen the id of. */
static void slot_give_back(struct jr_coordinator *co, uint32_t index)
{
	struct jr_region *r = co->region;
	struct jr_slot *s = &r->slots[index];
	uint32_t w = jr_load_relaxed(&s->state);

	jr_store_release(&s->state, jr_slot_word(jr_slot_gen(w), JR_JOB_CANCELLED));
	jr_jobtab_free_batch(r, &index, 1);
}

int jr_cmd_spec_check(struct jr_coordinator *co, const struct jr_command_spec *spec,
		      struct jr_req *req, int *prio)
{
	return spec_check(co, spec, jr_queue_get(co->region, spec->queue_id), prio, req);
}

int jr_cmd_spec_priority(struct jr_coordinator *co, const struct jr_command_spec *spec, int *prio)
{
	const struct jr_queue_rec *q = jr_queue_get(co->region, spec->queue_id);

	if (!q && !takes_own_priority(spec))
		return -ENOENT;
	*prio = jr_cmd_priority_of(spec, q);
	return 0;
}

/* Check a spec: its priority and its requirements against this host. */
static int spec_prepare(struct jr_coordinator *co, const struct jr_command_spec *spec,
			struct jr_req *req, int *prio)
{
	int rc = jr_cmd_spec_check(co, spec, req, prio);

	return rc < 0 ? rc : deps_check(co, spec);
}

static int submit_open(struct jr_coordinator *co)
{
	int rc;

	if (!jr_load_relaxed(&co->region->ctl->accepting))
		return -ESHUTDOWN;
	jr_mutex_lock(&co->lock);
	if (co->restore_phase == RESTORE_RUNNING) {
		jr_mutex_unlock(&co->lock);
		return -EBUSY;	/* jr_command_restore_done() first */
	}
	if (co->restore_phase == RESTORE_OPEN && co->held_count)
		co->reconcile_pending = true;	/* nothing to restore: leftovers go */
	jr_store_release(&co->restore_phase, RESTORE_CLOSED);
	rc = jr_coord_make_state_dir(co);
	jr_mutex_unlock(&co->lock);
	return rc;
}

/* Hand a batch to the coordinator. */
void jr_cmd_inbox_append(struct jr_coordinator *co, struct cmd_batch *b)
{
	jr_mutex_lock(&co->lock);
	if (co->inbox_tail)
		co->inbox_tail->next = b;
	else
		co->inbox_head = b;
	co->inbox_tail = b;
	jr_mutex_unlock(&co->lock);
	jr_coord_poke(co);
}

int jr_coord_submit(struct jr_coordinator *co, const struct jr_command_spec *spec,
		    jr_job_id *id_out)
{
	return spec ? jr_coord_submit_batch(co, spec, 1, id_out, NULL) : -EINVAL;
}

static int batch_take_slots(struct jr_coordinator *co, struct cmd_batch *b,
			    const struct jr_command_spec *specs, size_t *bad)
{
	uint64_t now = jr_now_realtime_ns();	/* one creation time per batch */

	for (size_t i = 0; i < b->n; i++) {
		int rc = slot_take(co, b, i, &specs[i], now);
		if (rc < 0) {
			*bad = i;
			while (i--)
				slot_give_back(co, b->slots[i]);
			return rc;
		}
	}
	return 0;
}

/* Every spec is checked before any slot is taken: all or none. */
static int batch_check(struct jr_coordinator *co, struct cmd_batch *b,
		       const struct jr_command_spec *specs, size_t *bad)
{
	for (size_t i = 0; i < b->n; i++) {
		int rc = spec_prepare(co, &specs[i], &b->reqs[i], &b->prios[i]);
		if (rc < 0) {
			*bad = i;
			return rc;
		}
	}
	return 0;
}

/* Array tasks without an array id belong to the array of the batch's
 * first job; a throttle without a key throttles by the array. */
static void batch_name_arrays(struct cmd_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct jr_command_spec *s = &b->specs[i];
		if (!(s->flags & JR_COMMAND_ARRAY_TASK))
			continue;
		if (!s->array_job_id)
			s->array_job_id = b->ids[0];
		jr_cmd_spec_array_throttle(s);
	}
}

int jr_coord_submit_batch(struct jr_coordinator *co, const struct jr_command_spec *specs,
			  size_t n, jr_job_id *ids_out, size_t *bad_index)
{
	struct cmd_batch *b;
	size_t bad = 0;
	int rc;

	if (!specs || n == 0)
		return n == 0 ? 0 : -EINVAL;
	rc = submit_open(co);
	if (rc < 0)
		return rc;
	b = jr_cmd_batch_new(specs, n);
	if (!b)
		return -ENOMEM;
	rc = batch_check(co, b, specs, &bad);
	if (rc == 0)
		rc = batch_take_slots(co, b, specs, &bad);
	if (rc < 0) {
		if (bad_index)
			*bad_index = bad;
		jr_free(b);
		return rc;
	}
	batch_name_arrays(b);
	if (ids_out)
		memcpy(ids_out, b->ids, n * sizeof(*ids_out));
	jr_counters_add_submitted(co->region, n);
	jr_cmd_inbox_append(co, b);
	return 0;
}

