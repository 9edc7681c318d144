/*
 * extdue.c - the running external jobs' time limits, earliest first. See
 * extdue.h.
 */
#include "base/alloc.h"
#include "coord/extdue.h"
#include "coord/state.h"

/* Positions are 1-based in the job: 0 is "not in the heap". */
static void place(struct ext_due *h, uint32_t i, struct ext_due_entry e)
{
	h->v[i] = e;
	e.job->opt->ext_due_at = i + 1;
}

static void sift_up(struct ext_due *h, uint32_t i)
{
	struct ext_due_entry e = h->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (h->v[parent].due <= e.due)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, e);
}

static void sift_down(struct ext_due *h, uint32_t i)
{
	struct ext_due_entry e = h->v[i];

	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= h->count)
			break;
		if (child + 1 < h->count && h->v[child + 1].due < h->v[child].due)
			child++;
		if (e.due <= h->v[child].due)
			break;
		place(h, i, h->v[child]);
		i = child;
	}
	place(h, i, e);
}

void jr_ext_due_add(struct ext_due *h, struct cmd_job *job, uint64_t due)
{
	if (job->opt->ext_due_at)
		jr_ext_due_remove(h, job);
	if (jr_array_grow(&h->v, &h->cap, h->count, h->count + 1, sizeof(*h->v), 64) < 0) {
		h->unindexed++;
		job->opt->ext_due_unindexed = true;
		return;
	}
	h->v[h->count] = (struct ext_due_entry){ due, job };
	sift_up(h, h->count++);
}

void jr_ext_due_remove(struct ext_due *h, struct cmd_job *job)
{
	uint32_t i;

	if (job->opt->ext_due_unindexed) {
		job->opt->ext_due_unindexed = false;
		h->unindexed--;
	}
	if (!job->opt->ext_due_at)
		return;
	i = job->opt->ext_due_at - 1;
	job->opt->ext_due_at = 0;
	if (i == --h->count)
		return;
	h->v[i] = h->v[h->count];
	h->v[i].job->opt->ext_due_at = i + 1;
	if (i > 0 && h->v[i].due < h->v[(i - 1) / 2].due)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct cmd_job *jr_ext_due_first(const struct ext_due *h, uint64_t *due)
{
	if (!h->count)
		return NULL;
	if (due)
		*due = h->v[0].due;
	return h->v[0].job;
}

void jr_ext_due_free(struct ext_due *h)
{
	jr_free(h->v);
	*h = (struct ext_due){ 0 };
}
