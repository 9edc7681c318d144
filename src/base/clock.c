/*
 * clock.c - TSC calibration for clock.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/atomics.h"
#include "base/clock.h"

uint64_t jr_clock_ns_per_tick_q32;
static pthread_once_t calibrate_once = PTHREAD_ONCE_INIT;

/* The TSC is usable for wall time only if it ticks at a constant rate and
 * does not stop in idle states. */
static int tsc_invariant(void)
{
#if defined(__x86_64__)
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int constant = 0, nonstop = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && strncmp(line, "flags", 5) != 0)
		;
	constant = strstr(line, " constant_tsc") != NULL;
	nonstop = strstr(line, " nonstop_tsc") != NULL;
	fclose(f);
	return constant && nonstop;
#else
	return 0;
#endif
}

static void calibrate(void)
{
	uint64_t t0, c0, t1, c1;

	if (!tsc_invariant())
		return;
	t0 = jr_now_monotonic_ns();
	c0 = jr_clock_tsc();
	do
		t1 = jr_now_monotonic_ns();
	while (t1 - t0 < 2000000);	/* 2 ms: error ~1e-5 */
	c1 = jr_clock_tsc();
	if (c1 <= c0)
		return;
	jr_store_release(&jr_clock_ns_per_tick_q32,
			 (uint64_t)(((unsigned __int128)(t1 - t0) << 32) / (c1 - c0)));
}

void jr_clock_init(void)
{
	pthread_once(&calibrate_once, calibrate);
}

uint64_t jr_clock_rebase(struct jr_clock_base *b)
{
	uint64_t q = jr_load_acquire(&jr_clock_ns_per_tick_q32);

	b->ns = jr_now_realtime_ns();
	b->tsc = jr_clock_tsc();
	b->rebase_ticks = q ? ((uint64_t)JR_CLOCK_REBASE_NS << 32) / q : 0;
	return b->ns;
}
