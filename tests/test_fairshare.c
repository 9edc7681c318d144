/*
 * test_fairshare.c - integer priorities, aging, fair share and queue caps
 * in virtual time (src/sim): the order among int32 priorities, a low
 * priority job behind a steady stream of higher ones (starts within a
 * bound with aging, never without), a user's 100 jobs behind another's
 * 100,000 (waits a bounded time with fair share, behind all of them
 * without), and a queue's cap with other queues' jobs beside it.
 */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>

#include "sim/sim.h"

#define S 1000000000ull

static struct jr_sim_job *jobs_new(size_t n)
{
	struct jr_sim_job *j = calloc(n, sizeof(*j));

	assert_non_null(j);
	for (size_t i = 0; i < n; i++)
		j[i].sj.id = i;
	return j;
}

static void job_set(struct jr_sim_job *j, uint64_t submit_ns, uint32_t cpus, uint64_t run_s)
{
	j->submit_ns = submit_ns;
	j->req.cpus = cpus;
	j->run_ns = run_s * S;
}

static void set_policy(void *ctx, struct jr_sched *s)
{
	jr_sched_set_policy(s, ctx);
}

static int run_with(struct jr_sim_job *j, size_t n, uint32_t cores,
		    struct jr_sched_policy *policy)
{
	struct jr_sim_hooks hooks = { .setup = set_policy, .ctx = policy };
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, cores, 0);
	return jr_sim_run_hooked(&pools, j, n, 0, &hooks, &st);
}

/* One core, all arriving together: higher first over the whole int32
 * range, submission order within one priority. */
/* 20,000 jobs with random int32 priorities (many repeated) arrive while
 * one core is busy: they start exactly in (priority desc, arrival asc)
 * order, each pass popping and putting back through the heap. */
static void test_random_int32_order(void **state)
{
	(void)state;
	enum { N = 20001 };
	struct jr_sched_policy none = { 0 };
	struct jr_sim_job *j = jobs_new(N);
	uint64_t x = 0x9E3779B97F4A7C15ull;

	job_set(&j[0], 0, 1, 10);
	for (size_t i = 1; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		job_set(&j[i], 1 * S, 1, 1);
		/* Half from a small set (ties), half anywhere in int32. */
		j[i].sj.priority = (x & 1) ? (int32_t)((x >> 8) % 5) - 2 : (int32_t)(x >> 32);
	}
	assert_int_equal(run_with(j, N, 1, &none), 0);
	for (size_t i = 1; i < N; i++)
		for (size_t k = i + 1; k < N && k < i + 50; k++) {
			const struct jr_sched_job *a = &j[i].sj, *b = &j[k].sj;
			bool a_first = a->priority > b->priority ||
				       (a->priority == b->priority && i < k);
			assert_true(a_first == (a->start_ns < b->start_ns));
		}
	free(j);
}

static void test_int32_order(void **state)
{
	(void)state;
	static const int32_t prio[] = { 0, INT32_MIN, 7, 8, -1, INT32_MAX, 1000, 8,
					INT32_MIN, -1000000, INT32_MAX, 0 };
	/* Expected start order by index. */
	static const size_t order[] = { 0, 6, 11, 7, 4, 8, 3, 1, 12, 5, 10, 2, 9 };
	enum { N = sizeof(prio) / sizeof(prio[0]) + 1 };
	struct jr_sched_policy none = { 0 };
	struct jr_sim_job *j = jobs_new(N);

	job_set(&j[0], 0, 1, 10);	/* holds the core while the rest arrive */
	for (size_t i = 1; i < N; i++) {
		job_set(&j[i], 1 * S, 1, 10);
		j[i].sj.priority = prio[i - 1];
	}
	assert_int_equal(run_with(j, N, 1, &none), 0);
	for (size_t k = 1; k < N; k++)
		assert_int_equal(j[order[k]].sj.start_ns, (uint64_t)k * 10 * S);
	free(j);
}

/* A stream of priority-100 jobs arrives faster than one core serves them
 * (one each 9 s, 10 s each, for 2 hours); a priority-0 job comes at 5 s. */
static uint64_t low_job_start(uint32_t age_points)
{
	enum { STREAM = 800 };
	struct jr_sched_policy p = { .age_points = age_points, .age_interval_ns = 60 * S };
	struct jr_sim_job *j = jobs_new(STREAM + 1);
	size_t low = 1;
	uint64_t start;

	for (size_t i = 0, k = 0; i <= STREAM; i++) {
		if (i == low) {
			job_set(&j[i], 5 * S, 1, 10);
			continue;
		}
		job_set(&j[i], k++ * 9 * S, 1, 10);
		j[i].sj.priority = 100;
	}
	assert_int_equal(run_with(j, STREAM + 1, 1, &p), 0);
	start = j[low].sj.start_ns;
	free(j);
	return start;
}

static void test_aging_bounds_wait(void **state)
{
	(void)state;
	/* Aging off: behind every stream job (800 x 10 s). */
	assert_true(low_job_start(0) >= 8000 * S);
	/* 10 points a minute: stream jobs that came after 600 s rank below
	 * it; it waits only for the ~67 that came before. */
	uint64_t aged = low_job_start(10);
	assert_true(aged <= 1000 * S);
	assert_true(aged >= 600 * S);
}

/* User 1 submits 100,000 one-core 10 s jobs at t = 0, user 2 then 100
 * alike at 1 s, on 16 cores. */
static void two_users_waits(uint32_t weight, uint64_t *min_wait, uint64_t *max_wait)
{
	enum { BIG = 100000, SMALL = 100, N = BIG + SMALL };
	struct jr_sched_policy p = { .fair_share_weight = weight,
				     .fair_share_half_life_ns = 3600 * S };
	struct jr_sim_job *j = jobs_new(N);

	for (size_t i = 0; i < N; i++) {
		job_set(&j[i], i < BIG ? 0 : 1 * S, 1, 10);
		j[i].sj.uid = i < BIG ? 1001 : 1002;
	}
	assert_int_equal(run_with(j, N, 16, &p), 0);
	*min_wait = UINT64_MAX;
	*max_wait = 0;
	for (size_t i = BIG; i < N; i++) {
		uint64_t w = j[i].sj.start_ns - j[i].submit_ns;
		*min_wait = w < *min_wait ? w : *min_wait;
		*max_wait = w > *max_wait ? w : *max_wait;
	}
	free(j);
}

static void test_fair_share_bounds_wait(void **state)
{
	(void)state;
	uint64_t lo, hi;

	/* Off: all of user 2's jobs wait behind user 1's 100,000 (6,250
	 * rounds of 10 s on 16 cores). */
	two_users_waits(0, &lo, &hi);
	assert_true(lo >= 62000 * S);
	/* On: once user 1 has used anything, user 2's jobs go first until
	 * their usage equals user 1's, then the two alternate: user 2's 1,000
	 * core-seconds at half of 16 cores take about 125 s. */
	two_users_waits(1000, &lo, &hi);
	print_message("fair share on: user 2 waited %.0f..%.0f s\n", (double)lo / S, (double)hi / S);
	assert_true(hi <= 200 * S);
}

struct cap_check {
	uint32_t queue, cap, most;
};

static void check_cap(void *ctx, const struct jr_sched *s, uint64_t now)
{
	struct cap_check *c = ctx;

	(void)now;
	assert_true(s->queue_running[c->queue] <= c->cap);
	if (s->queue_running[c->queue] > c->most)
		c->most = s->queue_running[c->queue];
}

static void set_cap(void *ctx, struct jr_sched *s)
{
	struct cap_check *c = ctx;

	jr_sched_set_queue_cap(s, c->queue, c->cap);
}

/* Queue 1 (cap 2, higher priority) and queue 0 (no cap), 10 jobs each on
 * 16 cores: never more than 2 of queue 1 run, and queue 0's jobs are not
 * held up behind queue 1's. */
static void test_queue_cap(void **state)
{
	(void)state;
	enum { N = 20 };
	struct cap_check c = { .queue = 1, .cap = 2 };
	struct jr_sim_hooks hooks = { .after_pass = check_cap, .setup = set_cap, .ctx = &c };
	struct jr_sim_job *j = jobs_new(N);
	struct jr_pools pools;
	struct jr_sim_stats st;

	for (size_t i = 0; i < N; i++) {
		job_set(&j[i], 0, 1, 10);
		j[i].sj.queue = i < 10 ? 1 : 0;
		j[i].sj.priority = i < 10 ? 50 : 0;
	}
	jr_pools_init_flat(&pools, 1, 16, 0);
	assert_int_equal(jr_sim_run_hooked(&pools, j, N, 0, &hooks, &st), 0);
	assert_int_equal(c.most, 2);
	for (size_t i = 10; i < N; i++)
		assert_int_equal(j[i].sj.start_ns, 0);
	/* Queue 1's ten run two at a time: the last pair starts at 40 s. */
	assert_int_equal(j[9].sj.start_ns, 40 * S);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int32_order),
		cmocka_unit_test(test_random_int32_order),
		cmocka_unit_test(test_aging_bounds_wait),
		cmocka_unit_test(test_fair_share_bounds_wait),
		cmocka_unit_test(test_queue_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
