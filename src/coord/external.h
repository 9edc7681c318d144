/*
 * external.h - command jobs run by external workers (external.c), the
 * coordinator's side: the scheduler's eligible callback that puts them
 * on the ready lists, a running one cancelled, all of them ended at
 * stop. Claiming and completing are the engine's (coordinator.h).
 */
#ifndef JR_COORD_EXTERNAL_H
#define JR_COORD_EXTERNAL_H

#include <stdbool.h>

#include "coord/state.h"

/* jr_sched_ops.on_eligible: an external job waits for a worker (true);
 * any other job is the scheduler's to place (false). */
bool jr_ext_on_eligible(void *ctx, struct jr_sched_job *sj, uint64_t now);

/* Cancel a running external job now (there is no child to signal). */
void jr_ext_cancel_running(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);

/* Requeue a running external job (job->requeue_requested set): its
 * execution ends now and the job is queued again. */
void jr_ext_requeue_running(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);

/* A restored job that an external worker was running runs on (issue
 * 17): the same attempt (so the same execution id and lease) on the
 * worker the slot names; a cancel acknowledged before the restart ends
 * it now (its worker hears "stop" at its next heartbeat); a time limit
 * passed meanwhile ends it at the coordinator's next turn. */
void jr_ext_adopt_running(struct jr_coordinator *co, struct cmd_job *job,
			  const struct cmd_restore_info *ri, uint64_t now);

/* External jobs past their time limit fail (reason timeout). The
 * coordinator's timer covers the earliest (jr_coord_next_deadline). */
void jr_ext_check_deadlines(struct jr_coordinator *co, uint64_t now);

/* A claim gives up after this many ready jobs too big for the worker,
 * and compares this many more after the first that fits (external.c). */
#define JR_EXT_CLAIM_SCAN 1024u
#define JR_EXT_FIT_WINDOW 16u

/* At stop: every external job ends (ready: cancelled; running: failed,
 * worker_lost). */
void jr_ext_end_all(struct jr_coordinator *co, uint64_t now);

#endif
