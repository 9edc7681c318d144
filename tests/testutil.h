/*
 * testutil.h - what the cmocka suites add to the shared harness
 * (tests/support/harness.h, libjrtest.a): iteration counts scaled down for
 * the sanitizer runs, and an engine opened or the test fails.
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

#include "harness.h"
#include "jobring.h"

/* Sanitizer runs divide the big iteration counts by JR_TEST_SCALE. */
static inline uint64_t test_scaled(uint64_t n)
{
	uint64_t k = jrt_env_u64("JR_TEST_SCALE", 1);

	return k > 1 ? n / k : n;
}

/* Open an engine with the given worker count, capacity (0: the default)
 * and flags, asserting success. */
static inline struct jr_engine *test_engine(uint32_t workers, uint32_t capacity,
					    uint32_t flags)
{
	struct jr_engine *e = NULL;

	assert_int_equal(jrt_engine_open(&e, workers, capacity, flags, NULL), 0);
	return e;
}

#endif
