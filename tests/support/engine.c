/*
 * engine.c - an engine opened for a test or a benchmark: the library's
 * default options with the few that tests vary.
 */
#include "harness.h"

void jrt_engine_opts(struct jr_engine_opts *o, uint32_t workers, uint32_t capacity,
		     uint32_t flags, const char *state_dir)
{
	jr_engine_opts_init(o);
	o->workers = workers;
	if (capacity)
		o->capacity = capacity;
	o->flags = flags;
	o->state_dir = state_dir;
}

int jrt_engine_open(struct jr_engine **e, uint32_t workers, uint32_t capacity, uint32_t flags,
		    const char *state_dir)
{
	struct jr_engine_opts o;

	jrt_engine_opts(&o, workers, capacity, flags, state_dir);
	return jr_engine_open(e, &o);
}
