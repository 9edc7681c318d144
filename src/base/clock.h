/*
 * clock.h - cheap wall-clock timestamps for the dispatch path.
 *
 * Every job records when it was created, started and ended, in
 * CLOCK_REALTIME nanoseconds. clock_gettime() costs ~25 ns here, a fifth
 * of a job's whole dispatch cost, so on CPUs with an invariant TSC each
 * thread keeps a base (a clock_gettime() reading and the TSC at that
 * moment) and derives times from TSC deltas, going back to
 * clock_gettime() once the base is older than JR_CLOCK_REBASE_NS. Errors
 * are bounded by the calibration error over that window (a few ns).
 * Without an invariant TSC, or when the TSC steps backwards (a migration
 * between unsynchronised sockets), every call is a clock_gettime().
 */
#ifndef JR_CLOCK_H
#define JR_CLOCK_H

#include <stdint.h>

#include "base/common.h"

#define JR_CLOCK_REBASE_NS 50000u

struct jr_clock_base {
	uint64_t tsc;
	uint64_t ns;
	uint64_t rebase_ticks;	/* 0: base not set */
};

/* Calibrate once per process (about a millisecond, the first time).
 * Thread-safe. */
void jr_clock_init(void);

/* 0 when the TSC cannot be used; else nanoseconds per tick, times 2^32. */
extern uint64_t jr_clock_ns_per_tick_q32;

static inline uint64_t jr_clock_tsc(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

uint64_t jr_clock_rebase(struct jr_clock_base *b);

/* CLOCK_REALTIME in ns, from the calling thread's base. */
static inline uint64_t jr_clock_now_ns(struct jr_clock_base *b)
{
	uint64_t q = jr_clock_ns_per_tick_q32;
	uint64_t delta;

	if (jr_unlikely(q == 0))
		return jr_now_realtime_ns();
	delta = jr_clock_tsc() - b->tsc;
	if (jr_unlikely(delta >= b->rebase_ticks))
		return jr_clock_rebase(b);
	return b->ns + (uint64_t)(((unsigned __int128)delta * q) >> 32);
}

#endif
