/*
 * engine.c - the one engine the jobspec and batch harnesses need, opened
 * once per process: a small table, one worker thread, no binding, no
 * cgroups, a queue named "nightly" for the specs that name one, and its
 * restore begun and never ended, so that a submission that gets through
 * every check is refused with -EBUSY instead of running a command.
 */
#include <stdio.h>
#include <stdlib.h>

#include "jobring.h"
#include "fuzz_engine.h"

struct jr_engine *fuzz_engine(void)
{
	static struct jr_engine *e;
	struct jr_engine_opts o;
	uint32_t queue;
	size_t bad;

	if (e)
		return e;
	jr_engine_opts_init(&o);
	o.workers = 1;
	o.capacity = 1024;
	o.flags = JR_ENGINE_NO_BIND | JR_ENGINE_NO_CGROUPS | JR_ENGINE_SPAWN_INLINE;
	if (jr_engine_open(&e, &o) < 0 || jr_queue_create(e, "nightly", 6, 0, &queue) < 0 ||
	    jr_command_restore(e, NULL, NULL, 0, &bad) < 0) {
		fprintf(stderr, "fuzz: no engine\n");
		abort();
	}
	return e;
}
