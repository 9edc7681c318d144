/*
 * cmdkeeper.h - command jobs run by the keeper, the coordinator's side
 * above the link (keeperlink.h): the frames the keeper sends (STARTED,
 * SPAWN_FAILED, EXITED, LIVE) applied to the jobs, what waits for it
 * sent, and a keeper lost replaced, its running jobs asked about again.
 * On the coordinator thread, under state_lock.
 */
#ifndef JR_COORD_CMDKEEPER_H
#define JR_COORD_CMDKEEPER_H

#include "coord/state.h"

/* Read and apply what the keeper sent (its descriptor is readable). */
void jr_coord_keeper_read(struct jr_coordinator *co, uint64_t now);

/* The acknowledgements (jr_coord_durable()) in, what waits in kout out. */
void jr_coord_keeper_flush(struct jr_coordinator *co);

#endif
