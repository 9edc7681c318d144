/*
 * submitted.c - the submitted JSON of jobs, by slot. See submitted.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/runbits.h"
#include "daemon/state/submitted.h"

#define OWNERS_MIN 64u

/* --- owners --------------------------------------------------------------------------------- */

static uint32_t owner_hash(const struct submitted_owner *o)
{
	uint64_t k = (uint64_t)o->uid << 32 ^ o->gid ^ (uint64_t)o->switch_user << 63;

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static bool owner_same(const struct submitted_owner *a, const struct submitted_owner *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->switch_user == b->switch_user;
}

static int owners_init(struct submitted *t)
{
	t->owners = calloc(OWNERS_MIN, sizeof(*t->owners));
	t->owner_hash = calloc(2 * OWNERS_MIN, sizeof(*t->owner_hash));
	if (!t->owners || !t->owner_hash)
		return -ENOMEM;
	t->owners[0] = (struct submitted_owner){ UINT32_MAX, UINT32_MAX, true };
	t->owner_count = 1;
	t->owner_cap = OWNERS_MIN;
	t->owner_hash_mask = 2 * OWNERS_MIN - 1;
	return 0;
}

/* Where o is in the hash, or the empty place it would go. */
static uint32_t *owner_place(const struct submitted *t, const struct submitted_owner *o)
{
	for (uint32_t h = owner_hash(o);; h++) {
		uint32_t *p = &t->owner_hash[h & t->owner_hash_mask];
		if (!*p || owner_same(&t->owners[*p], o))
			return p;
	}
}

/* Twice the room: the owners and their hash (at most half full). */
static int owners_grow(struct submitted *t)
{
	uint32_t cap = t->owner_cap * 2, *hash;
	struct submitted_owner *owners;

	if (cap <= t->owner_cap || !(owners = realloc(t->owners, cap * sizeof(*owners))))
		return -ENOMEM;
	t->owners = owners;
	if (!(hash = calloc(2 * (size_t)cap, sizeof(*hash))))
		return -ENOMEM;
	free(t->owner_hash);
	t->owner_hash = hash;
	t->owner_hash_mask = 2 * cap - 1;
	t->owner_cap = cap;
	for (uint32_t i = 1; i < t->owner_count; i++)
		*owner_place(t, &t->owners[i]) = i;
	return 0;
}

/* who's index, added if new; 0 (no one known) without memory. */
static uint32_t owner_of(struct submitted *t, const struct jobspec_submitter *who)
{
	struct submitted_owner o = { who->uid, who->gid, who->switch_user };
	uint32_t *p = owner_place(t, &o);

	if (*p)
		return *p;
	if (t->owner_count == t->owner_cap) {
		if (owners_grow(t) < 0) {
			fprintf(stderr, "jobringd: out of memory for a job's owner: kept as no one's\n");
			return 0;
		}
		p = owner_place(t, &o);
	}
	t->owners[t->owner_count] = o;
	*p = t->owner_count;
	return t->owner_count++;
}

/* --- the table -------------------------------------------------------------------------------- */

int submitted_init(struct submitted *t, uint32_t capacity)
{
	t->capacity = capacity;
	t->jobs = jr_table_alloc((size_t)capacity * sizeof(*t->jobs));
	t->used_runs = jr_runbits_new(capacity, SUBMITTED_RUN_SLOTS);
	t->index = malloc(sizeof(*t->index));
	if (!t->jobs || !t->used_runs || !t->index || owners_init(t) < 0 ||
	    jobindex_init(t->index, capacity) < 0) {
		free(t->index);
		t->index = NULL;
		submitted_destroy(t);
		return -ENOMEM;
	}
	return 0;
}

void submitted_destroy(struct submitted *t)
{
	for (uint32_t i = 0; t->jobs && t->used_runs && i < t->capacity; i++) {
		if ((i = submitted_next_used(t, i)) >= t->capacity)
			break;
		submitted_forget(&t->jobs[i]);
	}
	if (t->jobs)
		jr_table_free(t->jobs, (size_t)t->capacity * sizeof(*t->jobs));
	free(t->used_runs);
	t->used_runs = NULL;
	t->jobs = NULL;
	if (t->index)
		jobindex_destroy(t->index);
	free(t->index);
	t->index = NULL;
	free(t->owners);
	free(t->owner_hash);
	t->owners = NULL;
	t->owner_hash = NULL;
}

jr_job_id submitted_id_at(const struct submitted *t, uint32_t slot)
{
	return slot < t->capacity ? submitted_job_id(t, &t->jobs[slot]) : 0;
}

static jr_job_id id_at(const void *ctx, uint32_t slot)
{
	return submitted_id_at(ctx, slot);
}

struct jobindex *submitted_index(const struct submitted *t)
{
	if (t->index->dirty_count && t->engine)
		jobindex_settle(t->index, t->engine, id_at, t);
	return t->index;
}

bool submitted_settle_some(const struct submitted *t, uint32_t max)
{
	if (!t->index || !t->index->dirty_count || !t->engine)
		return false;
	return jobindex_settle_some(t->index, t->engine, id_at, t, max);
}

/* Noted for the index; a full list of touched slots is read first. */
static void touch_slot(const struct submitted *t, uint32_t slot)
{
	if (!t->engine || jobindex_touch(t->index, slot))
		return;
	jobindex_settle(t->index, t->engine, id_at, t);
	jobindex_touch(t->index, slot);
}

void submitted_touch(const struct submitted *t, jr_job_id id)
{
	if (submitted_of(t, id))
		touch_slot(t, (uint32_t)id);
}

void submitted_job_event(const struct submitted *t, const struct jr_job_event *ev)
{
	if (submitted_of(t, ev->job_id))
		jobindex_event(t->index, (uint32_t)ev->job_id, ev);
}

struct submitted_block *submitted_block_new(const char *body, size_t len)
{
	struct submitted_block *b = len < UINT32_MAX ? malloc(sizeof(*b) + len + 1) : NULL;

	if (!b)	/* offsets in it are 32 bits (header_offset, json_offset) */
		return NULL;
	b->refs = 0;
	b->header_offset = b->header_len = 0;
	memcpy(b->text, body, len);
	b->text[len] = '\0';
	return b;
}

void submitted_block_set_header(struct submitted_block *b, size_t offset, size_t len)
{
	b->header_offset = (uint32_t)offset;
	b->header_len = (uint32_t)len;
	b->text[offset + len] = '\0';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

bool submitted_is_header(const char *line, size_t len)
{
	const char *p = line, *end = line + len;

	p = skip_space(p, end);
	if (p == end || *p++ != '{')
		return false;
	p = skip_space(p, end);
	return (size_t)(end - p) >= 7 && memcmp(p, "\"batch\"", 7) == 0;
}

void submitted_block_release(struct submitted_block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

uint32_t submitted_next_used(const struct submitted *t, uint32_t slot)
{
	uint32_t run = slot / SUBMITTED_RUN_SLOTS, runs = t->capacity / SUBMITTED_RUN_SLOTS + 1;

	while (run < runs && !jr_runbits_run(t->used_runs, run))
		run++;
	if (run >= runs)
		return t->capacity;
	return run == slot / SUBMITTED_RUN_SLOTS ? slot : run * SUBMITTED_RUN_SLOTS;
}

struct submitted_job *submitted_slot(struct submitted *t, uint32_t index)
{
	return index < t->capacity ? &t->jobs[index] : NULL;
}

void submitted_forget(struct submitted_job *s)
{
	submitted_block_release(s->block);
	s->block = NULL;
	s->json_offset = 0;
}

/* One copy of the request body for all its jobs, not one allocation per
 * job: a batch of 10,000 keeps one block. */
void submitted_put(struct submitted *t, jr_job_id id, struct submitted_block *block,
		   size_t offset, size_t len, const struct jobspec_submitter *who)
{
	struct submitted_job *s = submitted_slot(t, (uint32_t)id);	/* the slot index */

	if (!s)
		return;
	jr_runbits_set(t->used_runs, (uint32_t)id, SUBMITTED_RUN_SLOTS);
	submitted_forget(s);
	s->gen = (uint32_t)(id >> 32);
	s->array_job_id = 0;
	s->array_task_id = 0;
	s->owner = owner_of(t, who);
	jobindex_set_array(t->index, (uint32_t)id, false, 0);
	touch_slot(t, (uint32_t)id);
	if (!block)
		return;
	block->text[offset + len] = '\0';	/* the line's newline, or the end */
	block->refs++;
	s->block = block;
	s->json_offset = (uint32_t)offset;
}

const struct submitted_job *submitted_of(const struct submitted *t, jr_job_id id)
{
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);

	return index < t->capacity && gen && t->jobs[index].gen == gen ? &t->jobs[index] : NULL;
}

bool submitted_is_array_id(const struct submitted *t, jr_job_id id)
{
	const struct submitted_job *s = submitted_of(t, id);

	return s && s->array_job_id == id;
}

void submitted_set_array(struct submitted *t, jr_job_id id, jr_job_id array_id,
			 uint32_t task_id)
{
	struct submitted_job *s = (struct submitted_job *)submitted_of(t, id);

	if (s) {
		s->array_job_id = array_id;
		s->array_task_id = task_id;
		jobindex_set_array(t->index, (uint32_t)id, array_id != 0, (uint32_t)array_id);
	}
}

uint64_t submitted_array_tasks(const struct submitted *t, jr_job_id array_id, uint32_t *cursor,
			       bool (*fn)(void *ctx, const struct submitted_job *task,
					  jr_job_id id),
			       void *ctx)
{
	struct jobindex_query q = { .by_array = true, .array_slot = (uint32_t)array_id };
	uint64_t given = 0;

	if (!array_id) {
		*cursor = t->capacity;
		return 0;
	}
	for (uint32_t i = *cursor; i < t->capacity; i++) {
		const struct submitted_job *s;
		i = jobindex_next(submitted_index(t), &q, i);
		if (i >= t->capacity)
			break;
		s = &t->jobs[i];
		if (s->array_job_id != array_id || !s->block)
			continue;
		given++;
		if (!fn(ctx, s, submitted_job_id(t, s))) {
			*cursor = i + 1;
			return given;
		}
	}
	*cursor = t->capacity;
	return given;
}

const char *submitted_json(const struct submitted *t, jr_job_id id)
{
	const struct submitted_job *s = submitted_of(t, id);

	return s ? submitted_job_json(s) : NULL;
}

const char *submitted_header(const struct submitted *t, jr_job_id id)
{
	const struct submitted_job *s = submitted_of(t, id);

	return s && s->block ? submitted_block_header(s->block) : NULL;
}

bool submitted_next_line(const char **p, const char *end, const char **line, size_t *len,
			 size_t *number)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *stop = nl ? nl : end, *start = *p;
		*p = stop + 1;
		if (number)
			++*number;
		if (stop > start && !(stop - start == 1 && *start == '\r')) {
			*line = start;
			*len = (size_t)(stop - start);
			return true;
		}
	}
	return false;
}
