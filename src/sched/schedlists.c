/*
 * schedlists.c - the scheduler's lists of jobs: growable arrays whose jobs
 * know their index, the waiting heaps in priority order (a group's heap,
 * see scheduler.c), and min-heaps by start time or by arrival (delayed
 * jobs; jobs parked by a full throttle). See schedint.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "sched/scheduler.h"
#include "sched/schedint.h"

/* --- lists ---------------------------------------------------------------- */

int sched_list_reserve(struct jr_job_list *l, uint32_t need)
{
	return jr_array_grow(&l->items, &l->cap, l->count, need, sizeof(*l->items), 64);
}

void sched_list_set(struct jr_job_list *l, uint32_t i, struct jr_sched_job *j)
{
	l->items[i] = j;
	j->index = i;
}

/* --- waiting jobs: heaps by group ------------------------------------------- */

/* The static part of a job's effective priority: its priority less the
 * aging points of the intervals before it came (see jr_sched_policy). */
int64_t sched_order_key(const struct jr_sched *s, const struct jr_sched_job *j)
{
	return (int64_t)j->priority - (int64_t)s->policy.age_points * j->age_epoch;
}

/* a goes before b: higher key, then earlier submission. */
bool sched_goes_before(const struct jr_sched *s, const struct jr_sched_job *a,
			const struct jr_sched_job *b)
{
	int64_t ka = sched_order_key(s, a), kb = sched_order_key(s, b);

	return ka != kb ? ka > kb : a->seq < b->seq;
}

bool jr_sched_job_before(const struct jr_sched *s, const struct jr_sched_job *a,
			 const struct jr_sched_job *b)
{
	return sched_goes_before(s, a, b);
}

void sched_wheap_up(const struct jr_sched *s, struct jr_job_list *h, uint32_t i)
{
	struct jr_sched_job *job = h->items[i];

	while (i > 0 && sched_goes_before(s, job, h->items[(i - 1) / 2])) {
		sched_list_set(h, i, h->items[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	sched_list_set(h, i, job);
}

void sched_wheap_down(const struct jr_sched *s, struct jr_job_list *h, uint32_t i)
{
	struct jr_sched_job *job = h->items[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->count)
			break;
		if (c + 1 < h->count && sched_goes_before(s, h->items[c + 1], h->items[c]))
			c++;
		if (!sched_goes_before(s, h->items[c], job))
			break;
		sched_list_set(h, i, h->items[c]);
		i = c;
	}
	sched_list_set(h, i, job);
}

/* Binary min-heaps: delayed jobs on not_before_ns, jobs parked by a full
 * throttle on seq (the oldest comes back first). */
static uint64_t heap_key(const struct jr_job_list *h, uint32_t i, bool by_seq)
{
	return by_seq ? h->items[i]->seq : h->items[i]->not_before_ns;
}

static void heap_swap(struct jr_job_list *h, uint32_t a, uint32_t b)
{
	struct jr_sched_job *t = h->items[a];

	sched_list_set(h, a, h->items[b]);
	sched_list_set(h, b, t);
}

void sched_heap_up_by(struct jr_job_list *h, uint32_t i, bool by_seq)
{
	while (i > 0 && heap_key(h, (i - 1) / 2, by_seq) > heap_key(h, i, by_seq)) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

void sched_heap_down_by(struct jr_job_list *h, uint32_t i, bool by_seq)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->count)
			return;
		if (c + 1 < h->count && heap_key(h, c + 1, by_seq) < heap_key(h, c, by_seq))
			c++;
		if (heap_key(h, i, by_seq) <= heap_key(h, c, by_seq))
			return;
		heap_swap(h, i, c);
		i = c;
	}
}


void sched_heap_remove_by(struct jr_job_list *h, struct jr_sched_job *job, bool by_seq)
{
	uint32_t i = job->index;

	h->count--;
	if (i != h->count) {
		sched_list_set(h, i, h->items[h->count]);
		sched_heap_down_by(h, i, by_seq);
		sched_heap_up_by(h, h->items[i]->index, by_seq);
	}
	job->list = ON_NONE;
}
