/*
 * park.h - the plain jobs of a long run of alike jobs in a batch, kept
 * unbuilt behind one stand-in until a pass reaches them (issue 14:
 * memory per queued job).
 *
 * A queued command job built costs the coordinator about 170 bytes (its
 * struct cmd_job, the scheduler's heap). Ten million queued jobs are
 * mostly runs of jobs alike but for their names: the same command,
 * request, priority, queue and user, nothing else set. Once the scheduler
 * has JR_PARK_AFTER jobs waiting, such a run of at least JR_PARK_MIN_RUN
 * jobs becomes one block: one copy of what they share, their ids (8
 * bytes a job), and a stand-in on the scheduler's heap that takes their
 * places in the waiting order (jr_sched_stand_in). A pass that reaches
 * the stand-in builds the next JR_SCHED_EXPAND_MAX of them, so the order
 * in which jobs start is the one they would have had built at once.
 *
 * A parked job is queued for everyone else: its slot, command record and
 * name are in the table as any job's; its record's coord is its block's
 * address with the low bit set (jr_coord_job_of() reads NULL; the table
 * does not reclaim the slot). Whatever must find the job itself (a
 * cancel, a control, a dependency on it) builds the run up to it first
 * (jr_park_job_built). Under state_lock, as the jobs.
 */
#ifndef JR_COORD_PARK_H
#define JR_COORD_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/cmdbatch.h"
#include "coord/state.h"

/* Jobs waiting in the scheduler before runs are parked: below it every
 * job is built at once (a short queue gains nothing). JOBRING_PARK_AFTER
 * in the environment overrides it (co->park_after; the tests park with 0). */
#define JR_PARK_AFTER 4096u
/* A run this long at least is parked; shorter ones are built. */
#define JR_PARK_MIN_RUN 16u

/* How many jobs from i on are plain and alike (what a run shares), up
 * to max; 0 if job i itself cannot be parked. */
size_t jr_park_run_length(const struct cmd_batch *b, size_t i, size_t max);

/* Jobs [from, to) of b, a run above, parked: 0, or -ENOMEM (nothing
 * done: build them). */
int jr_park_run(struct jr_coordinator *co, const struct cmd_batch *b, size_t from, size_t to,
		uint64_t now);

/* The scheduler's ops.expand (ctx: the coordinator). */
bool jr_park_expand(void *ctx, struct jr_sched_job *stand_in, uint64_t now);

/* The live coordinator record behind id, its run built up to it first
 * if it is parked; NULL as jr_coord_job_of(). */
struct cmd_job *jr_park_job_built(struct jr_coordinator *co, jr_job_id id, uint64_t now);

/* Every parked job built (a cancelling stop). */
void jr_park_expand_all(struct jr_coordinator *co, uint64_t now);

/* Every parked job let go unbuilt, its record's coord cleared (a
 * detaching stop: the journal has them for the next start). */
void jr_park_drop_all(struct jr_coordinator *co);

#endif
