/*
 * control.h - a user's control of one command job (control.c): hold,
 * release and update while it has not started, requeue while it runs.
 * Called from any thread (the engine's jr_command_* calls); each takes
 * state_lock. Errors as jobring.h's jr_command_hold() and the rest.
 */
#ifndef JR_COORD_CONTROL_H
#define JR_COORD_CONTROL_H

#include "coord/coordinator.h"
#include "coord/state.h"

/* jr_coord_hold(), jr_coord_release(), jr_coord_update() and
 * jr_coord_requeue() are the engine's: coordinator.h. */
#endif
