/*
 * testutil.h - helpers shared by the cmocka tests.
 */
#ifndef JR_TESTUTIL_H
#define JR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "jobring.h"

/* Sanitizer runs divide the big iteration counts by JR_TEST_SCALE. */
static inline uint64_t test_scaled(uint64_t n)
{
	const char *s = getenv("JR_TEST_SCALE");
	uint64_t k = s ? strtoull(s, NULL, 10) : 1;

	return k > 1 ? n / k : n;
}

static inline double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Open an engine with the given worker count and flags, asserting success. */
static inline struct jr_engine *test_engine(uint32_t workers, uint32_t capacity,
					    uint32_t flags)
{
	struct jr_engine_opts o;
	struct jr_engine *e = NULL;

	jr_engine_opts_init(&o);
	o.workers = workers;
	if (capacity)
		o.capacity = capacity;
	o.flags = flags;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

/* A suite's temporary directory (a mkdtemp template), made by its group
 * setup and removed with everything in it by its group teardown. */
static inline int test_dir_make(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -1;
}

static inline int test_dir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
