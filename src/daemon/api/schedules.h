/*
 * schedules.h - the schedules' API (issue 15): POST/GET/PATCH/DELETE
 * /schedules, pause and resume (handlers.h has the handlers), the pass
 * that fires what is due on each turn of the loop, and the fire of the
 * schedules bound to a trigger name (for the triggers' API). A schedule
 * is its owner's: its jobs run as that uid, only the owner or root sees
 * or changes it. See docs/PROTOCOL.md, "Schedules".
 */
#ifndef JR_API_SCHEDULES_H
#define JR_API_SCHEDULES_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/api/api.h"

/* Each turn: fire what is due at now (CLOCK_REALTIME ns), at most a
 * bounded number per turn (then the loop turns again at once). */
void api_schedules_tick(struct api *a, uint64_t now_ns);

/* A timerfd (CLOCK_REALTIME) armed for the next due instant: the loop
 * watches it so that a fire waits for no tick. -1 if none could be made. */
int api_schedules_timer_fd(struct api *a);

/* Fire every schedule of owner's bound to trigger name (its "trigger"
 * field) once, due now_ns, with JOBRING_TRIGGER and JOBRING_TRIGGER_PAYLOAD (payload,
 * may be NULL) in its job's env, through its overlap policy: the number
 * fired (>= 0), or -ENOMEM. *last_seq (may be NULL) the seq of the last
 * fire's record (0: none). Only the trigger's owner's schedules fire:
 * another user's schedule bound to the name would get the owner's
 * payloads and run whenever the owner fires. */
int schedules_fire_bound(struct api *a, const char *trigger_name, uid_t owner, const char *payload,
			 size_t payload_len, uint64_t now_ns, uint64_t *last_seq);

void api_schedules_destroy(struct api *a);

#endif
