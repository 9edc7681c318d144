/*
 * env.c - the run's surroundings: the monotonic clock in seconds, pauses,
 * and the sizes and switches a run takes from its environment.
 */
#include <stdlib.h>
#include <time.h>

#include "base/common.h"
#include "harness.h"

double jrt_now_s(void)
{
	return (double)jr_now_monotonic_ns() / (double)JR_NS_PER_SEC;
}

void jrt_sleep_ms(long ms)
{
	struct timespec ts = { ms / (long)JR_MS_PER_SEC,
			       (ms % (long)JR_MS_PER_SEC) * (long)JR_NS_PER_MS };

	nanosleep(&ts, NULL);
}

uint64_t jrt_env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 10) : dflt;
}
