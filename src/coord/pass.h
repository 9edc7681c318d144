/*
 * pass.h - the scheduling pass and what follows it: jobs whose start was
 * refused ended, ended jobs freed; and the coordinator's next deadline.
 * Shared by the coordinator's turn, the runner threads and external
 * completions (pass.c). Under state_lock.
 */
#ifndef JR_COORD_PASS_H
#define JR_COORD_PASS_H

#include <stdbool.h>

#include "coord/state.h"

/* The scheduling pass, with the queue table's caps as they are now. */
void jr_coord_pass(struct jr_coordinator *co, uint64_t now);

/* After a change outside the coordinator's turn: run the pass, end
 * refused starts, free what ended; true if the coordinator must be poked
 * (call jr_coord_poke() after unlocking). */
bool jr_coord_settle(struct jr_coordinator *co, uint64_t now);

/* End the jobs cancelled while they waited to start. */
void jr_coord_end_refused(struct jr_coordinator *co, uint64_t now);
/* Free the records of the jobs that ended this turn. */
void jr_coord_free_dead(struct jr_coordinator *co);

/* The earliest of the scheduler's wake-up and the running jobs' time
 * limits and kill deadlines; JR_TIME_NEVER: none. */
uint64_t jr_coord_next_deadline(const struct jr_coordinator *co);

#endif
