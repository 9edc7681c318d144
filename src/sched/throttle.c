/*
 * throttle.c - throttles (a job array's or a dependency group's limit on
 * how many of its jobs run at once): the groups, and the heap of waiting
 * jobs a full group parks so that the pass never looks at them. See
 * scheduler.h (jr_sched_throttle_join) and schedint.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "sched/scheduler.h"
#include "sched/schedint.h"

/* --- throttles -------------------------------------------------------------- */

static int throttle_find(struct jr_sched *s, uint64_t key)
{
	uint32_t free_at = s->throttle_count;

	if (s->throttle_last < s->throttle_count && s->throttles[s->throttle_last].refs &&
	    s->throttles[s->throttle_last].key == key)
		return (int)s->throttle_last;
	for (uint32_t i = 0; i < s->throttle_count; i++) {
		if (s->throttles[i].refs && s->throttles[i].key == key)
			return (int)i;
		if (!s->throttles[i].refs && free_at == s->throttle_count)
			free_at = i;
	}
	return -(int)free_at - 1;
}

int jr_sched_throttle_join(struct jr_sched *s, struct jr_sched_job *job, uint64_t key,
			   uint32_t max)
{
	int at;

	if (!key)
		return 0;
	at = throttle_find(s, key);
	if (at < 0) {
		at = -at - 1;
		if ((uint32_t)at == s->throttle_count) {
			if (jr_array_grow(&s->throttles, &s->throttle_cap, s->throttle_count,
					  s->throttle_count + 1, sizeof(*s->throttles), 4) < 0)
				return -ENOMEM;
			s->throttle_count++;
		}
		s->throttles[at] = (struct jr_sched_throttle){ key, max ? max : 1, 0, 0 };
	}
	s->throttles[at].refs++;
	s->throttle_last = (uint32_t)at;
	job->throttle = (uint32_t)at + 1;
	return 0;
}

struct jr_sched_throttle *sched_throttle_of(struct jr_sched *s, const struct jr_sched_job *job)
{
	return job->throttle ? &s->throttles[job->throttle - 1] : NULL;
}

/* A job final: it leaves its group; the last one frees the group's
 * parked heap (empty by then). */
void jr_sched_throttle_leave(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_sched_throttle *t = sched_throttle_of(s, job);

	if (!t)
		return;
	JR_ASSERT(t->refs > 0);
	if (--t->refs == 0) {
		JR_ASSERT(t->parked.count == 0);
		jr_free(t->parked.items);
		t->parked = (struct jr_job_list){ 0 };
	}
	job->throttle = 0;
}

/* A waiting job its full throttle holds back leaves the waiting lists
 * for the group's parked heap (the pass took it off its list), so a
 * million throttled tasks cost a pass nothing. Still state WAITING. */
int sched_throttle_park(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *h = &sched_throttle_of(s, job)->parked;

	if (sched_list_reserve(h, h->count + 1) < 0)
		return -ENOMEM;
	sched_list_set(h, h->count++, job);
	sched_heap_up_by(h, job->index, true);
	job->list = ON_PARKED;
	return 0;
}
