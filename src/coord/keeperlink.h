/*
 * keeperlink.h - the coordinator's link to the keeper (exec/keeper.h),
 * the process that starts, reaps and holds command jobs so that they
 * outlive this engine: connecting (starting a keeper if none listens),
 * HELLO and what the keeper holds then, and the frames to it, which
 * collect in co->kout until the coordinator sends them (cmdkeeper.c).
 * Under state_lock, except opening (before the coordinator runs) and
 * jr_coord_durable() (co->lock).
 */
#ifndef JR_COORD_KEEPERLINK_H
#define JR_COORD_KEEPERLINK_H

#include <stdbool.h>

#include "coord/state.h"

/* Connect (keeper_fd -1 without opts->keeper_socket): 0 or -errno. */
int jr_coord_keeper_open(struct jr_coordinator *co, const struct jr_engine_opts *o);
void jr_coord_keeper_close(struct jr_coordinator *co);
/* The keeper is gone: connect to a new one (keeper_fd -1 if that fails).
 * What it holds is in co->held, as after opening. */
void jr_coord_keeper_reconnect(struct jr_coordinator *co);

/* What the keeper held at HELLO for this job, not yet matched; NULL. */
struct keeper_held *jr_coord_keeper_held(struct jr_coordinator *co, jr_job_id id);
/* An EXITED frame to keep among what it holds (a restore still runs). */
void jr_coord_keeper_held_exited(struct jr_coordinator *co, const uint8_t *p, uint32_t len);
/* What the keeper holds that no job here claimed: processes killed,
 * statuses let go; the held list emptied. */
void jr_coord_keeper_reconcile(struct jr_coordinator *co);

/* Frames to the keeper: start this attempt (0 or -errno), signal it,
 * watch a process it does not hold, forget an ended attempt. */
int jr_coord_keeper_spawn(struct jr_coordinator *co, struct cmd_job *job);
void jr_coord_keeper_signal(struct jr_coordinator *co, struct cmd_job *job, int sig);
void jr_coord_keeper_adopt(struct jr_coordinator *co, struct cmd_job *job,
			   const struct cmd_restore_info *ri);
void jr_coord_keeper_ack(struct jr_coordinator *co, jr_job_id id, uint32_t attempt);
/* Frames wait to be sent. */
bool jr_coord_keeper_pending(const struct jr_coordinator *co);

#endif
