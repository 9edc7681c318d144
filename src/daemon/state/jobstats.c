/*
 * jobstats.c - the daemon's job counters and histograms (jobstats.h).
 */
#include "daemon/state/jobstats.h"

/* 1 ms to 7 days, about two buckets per decade, then the hours and days
 * that batch waits and runs take (docs/DECISIONS.md, issue 16). */
const double jobstats_bounds[JOBSTATS_BUCKETS] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60,
	120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 259200, 604800,
};

void jobstats_observe(struct jobstats_hist *h, double seconds)
{
	int i = 0;

	if (seconds < 0)
		seconds = 0;
	while (i < JOBSTATS_BUCKETS && seconds > jobstats_bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

void jobstats_submitted(struct jobstats *s, uint32_t queue, uint64_t n)
{
	s->all.submitted += n;
	if (queue < JOBSTATS_QUEUES)
		s->queue[queue].submitted += n;
}

enum jobstats_outcome jobstats_outcome_of(enum jr_job_state state)
{
	switch (state) {
	case JR_JOB_SUCCEEDED: return JS_SUCCEEDED;
	case JR_JOB_FAILED: return JS_FAILED;
	case JR_JOB_CANCELLED: return JS_CANCELLED;
	default: return JS_OUTCOMES;
	}
}

const char *jobstats_outcome_name(enum jobstats_outcome o)
{
	static const char *const names[JS_OUTCOMES] = { "succeeded", "failed", "cancelled" };

	return o < JS_OUTCOMES ? names[o] : "";
}

void jobstats_ended(struct jobstats *s, uint32_t queue, enum jr_job_state state)
{
	enum jobstats_outcome o = jobstats_outcome_of(state);

	if (o == JS_OUTCOMES)
		return;
	s->all.ended[o]++;
	if (queue < JOBSTATS_QUEUES)
		s->queue[queue].ended[o]++;
}
