/*
 * runners.h - runner threads (jr_engine_opts.runner_threads), used when
 * there is no keeper: each takes a job from the spawn queue, starts its
 * child, waits for it, then ends its job and runs the pass itself, so a
 * core that frees up gets its next child without a hand-off (runners.c).
 */
#ifndef JR_COORD_RUNNERS_H
#define JR_COORD_RUNNERS_H

#include "coord/state.h"

/* Start up to `want` runners (at most JR_RUNNERS_MAX; 0: none, the
 * coordinator spawns and reaps through epoll). 0 or -errno; fewer than
 * asked is not an error once one runs. */
int jr_coord_runners_start(struct jr_coordinator *co, uint32_t want);
/* Stop them, once the spawn queue is empty, and join them. */
void jr_coord_runners_stop(struct jr_coordinator *co);

/* Queue a job whose start the coordinator recorded for a runner. */
void jr_coord_runners_hand(struct jr_coordinator *co, struct cmd_job *job);

#endif
