/*
 * loop.h - the coordinator thread (loop.c): one turn takes in the inbox
 * (submissions, restored jobs, cancels), acts on due deadlines, runs the
 * scheduling pass, and sleeps in epoll until a child exits, the keeper
 * writes, the timer fires or the inbox is poked.
 */
#ifndef JR_COORD_LOOP_H
#define JR_COORD_LOOP_H

#include "coord/state.h"

/* The scheduler, with the coordinator's callbacks (a job to start, a job
 * ended unrun, an external job eligible). */
void jr_coord_sched_init(struct jr_coordinator *co);

/* The thread's function: turns until stopping and done (or detached). */
void *jr_coord_loop(void *co);

#endif
