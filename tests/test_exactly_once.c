/*
 * test_exactly_once.c - N producer threads x M workers x 1,000,000 jobs:
 * a per-job counter proves that every job ran exactly once, for single and
 * batch submission and several thread counts.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define BATCH 512

struct run {
	struct jr_engine *e;
	uint8_t *ran;		/* one counter per job */
	uint64_t jobs;
	uint32_t producers;
	int use_batch;
	uint32_t pin_cpus;
};

struct producer {
	struct run *run;
	uint32_t index;
	pthread_t thread;
};

static int mark_ran(void *arg, const struct jr_job_ctx *ctx)
{
	(void)ctx;
	__atomic_fetch_add((uint8_t *)arg, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Retry while the table is full: workers are freeing slots. */
static void submit_retrying(struct jr_engine *e, struct jr_job_spec *specs,
			    size_t n)
{
	int rc;

	while ((rc = jr_job_submit_batch(e, specs, n, NULL)) == -EAGAIN)
		sched_yield();
	assert_int_equal(rc, 0);
}

static void pin_self(uint32_t i, uint32_t cpus)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(i % cpus, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct run *run = p->run;
	struct jr_job_spec specs[BATCH];
	size_t n = 0;

	pin_self(p->index, run->pin_cpus);
	/* Producer i submits jobs i, i + P, i + 2P, ... */
	for (uint64_t j = p->index; j < run->jobs; j += run->producers) {
		struct jr_job_spec *s = &specs[n++];
		memset(s, 0, sizeof(*s));
		s->fn = mark_ran;
		s->arg = &run->ran[j];
		s->priority = (int)(j % JR_PRIORITY_LEVELS);
		if (!run->use_batch || n == BATCH) {
			submit_retrying(run->e, specs, n);
			n = 0;
		}
	}
	if (n)
		submit_retrying(run->e, specs, n);
	return NULL;
}

static void run_exactly_once(uint32_t producers, uint32_t workers, int use_batch)
{
	struct run run = { 0 };
	struct producer *ps = calloc(producers, sizeof(*ps));
	struct jr_stats st;

	run.jobs = test_scaled(1000000);
	run.producers = producers;
	run.use_batch = use_batch;
	run.pin_cpus = 2;
	run.ran = calloc(run.jobs, 1);
	run.e = test_engine(workers, 1u << 16, 0);
	for (uint32_t i = 0; i < producers; i++) {
		ps[i].run = &run;
		ps[i].index = i;
		assert_int_equal(pthread_create(&ps[i].thread, NULL, producer_main,
						&ps[i]), 0);
	}
	for (uint32_t i = 0; i < producers; i++)
		pthread_join(ps[i].thread, NULL);
	assert_int_equal(jr_engine_wait_all(run.e), 0);
	assert_int_equal(jr_engine_stats(run.e, &st), 0);
	assert_int_equal(st.submitted, run.jobs);
	assert_int_equal(st.succeeded, run.jobs);
	assert_int_equal(st.queued + st.running + st.failed + st.cancelled, 0);
	for (uint64_t j = 0; j < run.jobs; j++)
		if (run.ran[j] != 1)
			fail_msg("job %lu ran %u times", (unsigned long)j, run.ran[j]);
	assert_int_equal(jr_engine_close(run.e, JR_CLOSE_DRAIN), 0);
	free(run.ran);
	free(ps);
}

/* The table (65,536 slots) is much smaller than the job count, so slots
 * are reused about fifteen times each: reuse races are exercised too. */
static void test_1p_1w_single(void **s) { (void)s; run_exactly_once(1, 1, 0); }
static void test_2p_2w_single(void **s) { (void)s; run_exactly_once(2, 2, 0); }
static void test_2p_2w_batch(void **s) { (void)s; run_exactly_once(2, 2, 1); }
static void test_4p_3w_batch(void **s) { (void)s; run_exactly_once(4, 3, 1); }
static void test_3p_4w_single(void **s) { (void)s; run_exactly_once(3, 4, 0); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1p_1w_single),
		cmocka_unit_test(test_2p_2w_single),
		cmocka_unit_test(test_2p_2w_batch),
		cmocka_unit_test(test_4p_3w_batch),
		cmocka_unit_test(test_3p_4w_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
