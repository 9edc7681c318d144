/*
 * submitted.c - the submitted JSON of jobs, by slot. See submitted.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/runbits.h"
#include "daemon/state/submitted.h"

int submitted_init(struct submitted *t, uint32_t capacity)
{
	t->capacity = capacity;
	t->jobs = jr_table_alloc((size_t)capacity * sizeof(*t->jobs));
	t->used_runs = jr_runbits_new(capacity, SUBMITTED_RUN_SLOTS);
	t->index = malloc(sizeof(*t->index));
	if (!t->jobs || !t->used_runs || !t->index || jobindex_init(t->index, capacity) < 0) {
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
}

jr_job_id submitted_id_at(const struct submitted *t, uint32_t slot)
{
	return slot < t->capacity ? t->jobs[slot].id : 0;
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
	s->id = id;
	s->array_job_id = 0;
	s->array_task_id = 0;
	s->uid = who->uid;
	s->gid = who->gid;
	s->switch_user = who->switch_user;
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
	uint32_t index = (uint32_t)id;

	return index < t->capacity && t->jobs[index].id == id ? &t->jobs[index] : NULL;
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
			       bool (*fn)(void *ctx, const struct submitted_job *task),
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
		if (!fn(ctx, s)) {
			*cursor = i + 1;
			return given;
		}
	}
	*cursor = t->capacity;
	return given;
}

const char *submitted_json(const struct submitted *t, jr_job_id id)
{
	uint32_t index = (uint32_t)id;

	return index < t->capacity && t->jobs[index].id == id ? submitted_job_json(&t->jobs[index]) : NULL;
}

const char *submitted_header(const struct submitted *t, jr_job_id id)
{
	uint32_t index = (uint32_t)id;

	return index < t->capacity && t->jobs[index].id == id && t->jobs[index].block
		       ? submitted_block_header(t->jobs[index].block)
		       : NULL;
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
