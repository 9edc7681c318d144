/*
 * test_idle.c - parking: an idle engine costs (almost) no CPU, and a
 * submission wakes only as many parked workers as it has jobs.
 */
#include "testutil.h"

#include <sys/resource.h>

#include "engine/engine.h"

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int noop(void *arg, const struct jr_job_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	return 0;
}

static void test_idle_engine_under_one_percent(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 1024, 0);
	struct jr_job_spec spec = { noop, NULL, 3, 0, NULL };
	double c0, c1, t0, t1;

	for (int i = 0; i < 100; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	jrt_sleep_ms(20);	/* past the spin phase */
	c0 = cpu_seconds();
	t0 = jrt_now_s();
	jrt_sleep_ms(2000);
	c1 = cpu_seconds();
	t1 = jrt_now_s();
	print_message("idle engine: %.3f ms CPU over %.2f s\n", (c1 - c0) * 1e3,
		      t1 - t0);
	assert_true((c1 - c0) < 0.01 * (t1 - t0));
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static uint64_t total_wakeups(struct jr_engine *e)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < e->worker_count; i++)
		n += __atomic_load_n(&e->region.workers[i].wakeups, __ATOMIC_RELAXED);
	return n;
}

static void wait_all_parked(struct jr_engine *e, uint32_t workers)
{
	struct jr_stats st;

	for (int i = 0; i < 2000; i++) {
		jr_engine_stats(e, &st);
		if (st.workers_parked == workers)
			return;
		jrt_sleep_ms(1);
	}
	fail_msg("workers did not park");
}

/* Wake-ups are counted by the woken worker after it runs again, so wait
 * until the count has been still for a while. */
static uint64_t settled_wakeups(struct jr_engine *e, uint32_t workers)
{
	uint64_t last = total_wakeups(e);

	for (int still = 0; still < 50;) {
		jrt_sleep_ms(2);
		wait_all_parked(e, workers);
		uint64_t now = total_wakeups(e);
		still = now == last ? still + 1 : 0;
		last = now;
	}
	return last;
}

/* Each round submits k jobs to 4 parked workers: the futex wakes at most
 * k of them (fewer if a worker was still on its way to sleep). */
static void check_wakes(uint32_t k)
{
	struct jr_engine *e = test_engine(4, 1024, 0);
	struct jr_job_spec specs[2] = { { noop, NULL, 3, 0, NULL },
					{ noop, NULL, 3, 0, NULL } };
	uint64_t before = settled_wakeups(e, 4), woken;
	const int rounds = 20;

	for (int round = 0; round < rounds; round++) {
		assert_int_equal(jr_job_submit_batch(e, specs, k, NULL), 0);
		assert_int_equal(jr_engine_wait_all(e), 0);
		wait_all_parked(e, 4);
	}
	woken = settled_wakeups(e, 4) - before;
	print_message("%d submissions of %u job(s): %lu wake-ups\n", rounds, k,
		      (unsigned long)woken);
	assert_true(woken <= (uint64_t)rounds * k);
	assert_true(woken >= (uint64_t)rounds / 2);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_single_submission_wakes_one(void **s) { (void)s; check_wakes(1); }
static void test_pair_submission_wakes_two(void **s) { (void)s; check_wakes(2); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_engine_under_one_percent),
		cmocka_unit_test(test_single_submission_wakes_one),
		cmocka_unit_test(test_pair_submission_wakes_two),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
