/*
 * control.c - the public calls that control one command job (hold,
 * release, update, requeue) and whether the engine is paused. The
 * coordinator does the work (coord/control.c); these check the
 * arguments. See jobring.h.
 */
#include <errno.h>

#include "coord/coordinator.h"
#include "engine/abi.h"
#include "engine/engine.h"

int jr_command_hold(struct jr_engine *e, jr_job_id id)
{
	return e->coord ? jr_coord_hold(e->coord, id) : -EINVAL;
}

int jr_command_release(struct jr_engine *e, jr_job_id id)
{
	return e->coord ? jr_coord_release(e->coord, id) : -EINVAL;
}

int jr_command_update(struct jr_engine *e, jr_job_id id, const struct jr_command_update *u)
{
	if (!e->coord || !u || !u->spec || u->zero ||
	    !jr_abi_is_zero(u->reserved, sizeof(u->reserved)) ||
	    !jr_abi_is_zero(u->spec->reserved, sizeof(u->spec->reserved)))
		return -EINVAL;
	return jr_coord_update(e->coord, id, u);
}

int jr_command_requeue(struct jr_engine *e, jr_job_id id)
{
	return e->coord ? jr_coord_requeue(e->coord, id) : -EINVAL;
}

int jr_command_requeue_ended(struct jr_engine *e, jr_job_id id,
			     const struct jr_command_spec *spec)
{
	if (!e->coord || !spec || !jr_abi_is_zero(spec->reserved, sizeof(spec->reserved)))
		return -EINVAL;
	return jr_coord_requeue_ended(e->coord, id, spec);
}

int jr_engine_paused(const struct jr_engine *e)
{
	return jr_load_acquire(&e->region.ctl->run_state) == JR_RUN_PAUSED;
}
