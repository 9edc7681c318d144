/*
 * state.h - the state the daemon's API serves, in one place: the engine
 * (job state, queues), the submitted JSON of jobs (submitted.h) and the
 * registry of external workers (workers.h), the jobs' past attempts
 * (executions.h). Recovery fills it, the
 * routes read and change it, snapshots write it out. Owned by main.c;
 * the event loop's thread only (the engine's calls are thread-safe).
 */
#ifndef JR_STATE_H
#define JR_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "jobring.h"
#include "daemon/state/alloc.h"
#include "daemon/state/events.h"
#include "daemon/state/executions.h"
#include "daemon/state/fired.h"
#include "daemon/state/outbox.h"
#include "daemon/state/output.h"
#include "daemon/state/submitted.h"
#include "daemon/state/triggers.h"
#include "daemon/state/workers.h"

struct state {
	struct jr_engine *engine;
	struct submitted jobs;
	struct workers workers;
	struct executions execs;	/* every attempt (executions.h) */
	const char *local_capabilities;	/* labels this host offers ("" if none) */
	uint64_t started_ns;		/* CLOCK_REALTIME */
	bool private_jobs;		/* --private: others' jobs hidden (view.h) */
	bool paused;			/* a user paused scheduling (POST
					 * /scheduler/pause; journaled, kept by
					 * snapshots), as a drain's pause is not */
	struct output_space output;	/* set by main.c after state_init */
	struct triggers triggers;	/* named, file and job-event triggers
					 * (issue 15: triggers.h) */
	struct fired fired;		/* fired jobs' origins (issue 15, fired.h) */
	struct schedules *schedules;	/* issue 15 (schedules.h); NULL: none yet */
	struct outbox outbox;		/* notifications (issue 16, outbox.h) */
	struct events *events;		/* the event stream (issue 16, events.h) */
	struct allocs allocs;		/* allocation queues (issue 17, alloc.h) */
};

/* Succeeded, failed or cancelled: nothing changes it any more. */
static inline bool job_state_final(int state)
{
	return state == JR_JOB_SUCCEEDED || state == JR_JOB_FAILED || state == JR_JOB_CANCELLED;
}

/* For an engine of this capacity: 0 or -ENOMEM (nothing to destroy). */
int state_init(struct state *s, struct jr_engine *e, uint32_t capacity,
	       uint64_t heartbeat_timeout_ms, const char *local_capabilities);
void state_destroy(struct state *s);

#endif
