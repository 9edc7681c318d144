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

/* Take in what the inbox holds (submissions, restored jobs, cancels).
 * The coordinator's turn does, and may_yield: between two chunks of a
 * batch it lets a waiting claim or completion take state_lock; so does a
 * control call (control.c) that must find a job submitted a moment ago,
 * without yielding. Under state_lock. */
void jr_coord_take_inbox(struct jr_coordinator *co, uint64_t now, bool may_yield);

/* The thread's function: turns until stopping and done (or detached). */
void *jr_coord_loop(void *co);

#endif
