/*
 * cmdrestore.h - a restored job taken back by the coordinator thread
 * (cmdrestore.c); putting jobs back at their ids is the engine's call
 * (jr_coord_restore_batch() in coordinator.h).
 */
#ifndef JR_COORD_CMDRESTORE_H
#define JR_COORD_CMDRESTORE_H

#include <stdbool.h>

#include "coord/state.h"

/* A restored job the journal saw running, or the keeper holds, is taken
 * back: true if it is running (or has just ended) now; false: schedule it
 * as queued. Under state_lock. */
bool jr_coord_restore_take(struct jr_coordinator *co, struct cmd_job *job,
			   struct cmd_restore_info *ri, uint64_t now);

#endif
