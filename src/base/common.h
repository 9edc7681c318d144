/*
 * common.h - assertions, clocks and small helpers shared by every module.
 */
#ifndef JR_COMMON_H
#define JR_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* JR_ASSERT is always compiled, so it type-checks, and active in debug and
 * test builds (JR_DEBUG=1). A failed assertion is a broken invariant, not an
 * operating error: it aborts. */
#ifndef JR_DEBUG
#define JR_DEBUG 0
#endif

#define JR_ASSERT(cond)                                                       \
	do {                                                                  \
		if (JR_DEBUG && __builtin_expect(!(cond), 0))                 \
			jr_assert_fail(#cond, __FILE__, __LINE__);            \
	} while (0)

__attribute__((noreturn, cold)) static inline void
jr_assert_fail(const char *cond, const char *file, int line)
{
	fprintf(stderr, "jobring: assertion failed: %s (%s:%d)\n", cond, file,
		line);
	abort();
}

#define JR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define jr_likely(x) __builtin_expect(!!(x), 1)
#define jr_unlikely(x) __builtin_expect(!!(x), 0)

/* Time and size units: written once, here. */
#define JR_NS_PER_US 1000ull
#define JR_NS_PER_MS 1000000ull
#define JR_NS_PER_SEC 1000000000ull
#define JR_US_PER_SEC 1000000ull
#define JR_MS_PER_SEC 1000ull
#define JR_KIB (1ull << 10)
#define JR_MIB (1ull << 20)
#define JR_GIB (1ull << 30)

static inline uint64_t jr_timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * JR_NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

static inline uint64_t jr_now_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return jr_timespec_ns(&ts);
}

static inline uint64_t jr_now_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return jr_timespec_ns(&ts);
}

static inline uint64_t jr_now_monotonic_ms(void)
{
	return jr_now_monotonic_ns() / JR_NS_PER_MS;
}

static inline struct timespec jr_ns_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / JR_NS_PER_SEC),
				  .tv_nsec = (long)(ns % JR_NS_PER_SEC) };
}

/* Sleep ns nanoseconds, or less if a signal comes. */
static inline void jr_sleep_ns(uint64_t ns)
{
	struct timespec ts = jr_ns_timespec(ns);

	nanosleep(&ts, NULL);
}

static inline uint32_t jr_round_up_pow2_u32(uint32_t v)
{
	if (v <= 1)
		return 1;
	return 1u << (32 - __builtin_clz(v - 1));
}

static inline uint64_t jr_align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* The level of function jobs (JR_PRIORITY_MIN..MAX of jobring.h, 0..7)
 * that an int32 priority falls in (command jobs' and queues', for stats,
 * the shared slot and function jobs that take their queue's): clamped. */
static inline uint32_t jr_priority_level(int32_t priority)
{
	return priority < 0 ? 0 :
	       priority > 7 ? 7 : (uint32_t)priority;
}

#endif
