/*
 * jobstats.h - what /metrics and /health count of jobs over the daemon's
 * life (issue 16): submissions and ends by outcome, overall and per
 * queue, and two histograms in seconds: the wait from submission to a
 * job's first start, and each attempt's run time. Fed on the event
 * loop's thread by durable.c as it journals (so the totals match the
 * journal record for record) and put back at a start from the snapshot's
 * REC_SNAP_COUNTERS and the journal after it (recover.c). Not
 * thread-safe: the event loop's thread only.
 */
#ifndef JR_JOBSTATS_H
#define JR_JOBSTATS_H

#include <stdint.h>

#include "jobring.h"

/* Upper bounds of the buckets, in seconds (1 ms to 7 days); +Inf after. */
#define JOBSTATS_BUCKETS 23
extern const double jobstats_bounds[JOBSTATS_BUCKETS];

enum jobstats_outcome { JS_SUCCEEDED, JS_FAILED, JS_CANCELLED, JS_OUTCOMES };

struct jobstats_hist {
	uint64_t bucket[JOBSTATS_BUCKETS + 1];	/* not cumulative; [last]: +Inf */
	uint64_t count;
	double sum;
};

/* Totals the journal knows: what a restart puts back. */
struct jobstats_totals {
	uint64_t submitted;
	uint64_t ended[JS_OUTCOMES];
};

#define JOBSTATS_QUEUES 64	/* JR_QUEUE_MAX */

struct jobstats {
	struct jobstats_totals all;
	struct jobstats_totals queue[JOBSTATS_QUEUES];	/* since this start */
	struct jobstats_hist wait, run;
};

void jobstats_observe(struct jobstats_hist *h, double seconds);

/* n jobs of queue accepted (queue >= JOBSTATS_QUEUES: counted overall only). */
void jobstats_submitted(struct jobstats *s, uint32_t queue, uint64_t n);

/* A job of queue became final in state (succeeded, failed, cancelled). */
void jobstats_ended(struct jobstats *s, uint32_t queue, enum jr_job_state state);

/* The outcome of a final state; JS_OUTCOMES for any other. */
enum jobstats_outcome jobstats_outcome_of(enum jr_job_state state);

/* "succeeded", "failed", "cancelled": the API's words. */
const char *jobstats_outcome_name(enum jobstats_outcome o);

#endif
