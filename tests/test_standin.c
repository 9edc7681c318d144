/*
 * test_standin.c - stand-ins (issue 14: memory per queued job): runs of
 * alike jobs entered as one stand-in each and built only when a pass
 * reaches them must start exactly as if every job had been built and
 * submitted at once. Random workloads (priorities, sizes, time limits,
 * aging, two queues, submissions arriving while others run) are run
 * both ways in virtual time, and the start order and times compared.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/scheduler.h"
#include "sim/sim.h"

#define S 1000000000ull
#define CORES 6
#define ROUNDS 60

static const struct jr_req reqs[3] = { { .cpus = 1 }, { .cpus = 2 }, { .cpus = 4 } };

struct tjob {
	struct jr_sched_job sj;
	uint64_t run_ns;
	uint64_t end_ns;	/* running: when it ends */
	bool running, done;
};

/* A run of alike jobs: jobs[first, end) of the world, the next to build
 * at next. */
struct run {
	struct jr_sched_job stand_in;
	size_t next, end;
};

struct world {
	struct jr_sched s;
	struct jr_pools pools;
	struct tjob *jobs;
	size_t njobs;
	struct run *runs;
	size_t nruns;
	uint64_t *order;	/* job ids in start order */
	uint64_t *start_at;
	size_t started;
	size_t built;		/* jobs built from stand-ins (lazy) */
};

static void on_start(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct world *w = ctx;
	struct tjob *j = (struct tjob *)sj;

	j->running = true;
	j->end_ns = now + j->run_ns;
	w->order[w->started] = sj->id;
	w->start_at[w->started++] = now;
}

static void on_ended(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	(void)ctx;
	(void)sj;
	(void)now;
	fail_msg("no job here ends without running");
}

static bool on_expand(void *ctx, struct jr_sched_job *stand_in, uint64_t now)
{
	struct world *w = ctx;
	struct run *r = (struct run *)stand_in;

	for (uint32_t k = 0; k < JR_SCHED_EXPAND_MAX && r->next < r->end; k++) {
		struct tjob *j = &w->jobs[r->next++];
		assert_int_equal(jr_sched_submit_from(&w->s, &j->sj, stand_in, now), 0);
		w->built++;
	}
	return r->next < r->end;
}

/* One workload: groups of 1-40 alike jobs, submitted in waves. */
struct group {
	size_t first, n;
	uint64_t at_ns;		/* its wave's time */
};

static uint32_t rnd(uint64_t *x, uint32_t n)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x % n);
}

static struct group *workload(uint64_t seed, struct tjob *jobs, size_t max_jobs,
			      size_t *ngroups, size_t *njobs)
{
	struct group *g = calloc(max_jobs, sizeof(*g));
	uint64_t x = seed * 2654435761u + 1, at = 0;
	size_t n = 0, k = 0;

	while (n < max_jobs) {
		size_t len = rnd(&x, 3) == 0 ? 1 : 1 + rnd(&x, 40);
		int prio = (int)rnd(&x, 3);
		uint32_t size = rnd(&x, 3), queue = rnd(&x, 2);
		uint64_t limit = rnd(&x, 2) ? (1 + rnd(&x, 20)) * S : 0;
		if (n + len > max_jobs)
			len = max_jobs - n;
		if (rnd(&x, 4) == 0)
			at += (1 + rnd(&x, 5)) * S;	/* a new wave */
		g[k] = (struct group){ n, len, at };
		for (size_t i = n; i < n + len; i++) {
			jobs[i].sj = (struct jr_sched_job){ .id = i + 1, .priority = prio,
							    .uid = 1000, .req = &reqs[size],
							    .limit_ns = limit,
							    .queue = (uint8_t)queue };
			/* Within its limit when it has one. */
			jobs[i].run_ns = limit ? 1 + rnd(&x, (uint32_t)(limit / (S / 10))) * (S / 10)
					       : (1 + rnd(&x, 10)) * S;
		}
		n += len;
		k++;
	}
	*ngroups = k;
	*njobs = n;
	return g;
}

static void world_init(struct world *w, const struct tjob *tmpl, size_t n, uint32_t age_points)
{
	struct jr_sched_ops ops = { .start = on_start, .ended = on_ended, .expand = on_expand,
				    .ctx = w };
	struct jr_sched_policy pol = { .age_points = age_points, .age_interval_ns = 3 * S };

	memset(w, 0, sizeof(*w));
	jr_pools_init_flat(&w->pools, 1, CORES, 0);
	jr_sched_init(&w->s, &w->pools, &ops);
	jr_sched_set_policy(&w->s, &pol);
	jr_sched_set_queue_cap(&w->s, 1, 2);	/* queue 1 runs two at once at most */
	w->jobs = malloc(n * sizeof(*w->jobs));
	memcpy(w->jobs, tmpl, n * sizeof(*w->jobs));
	w->njobs = n;
	w->runs = calloc(n, sizeof(*w->runs));
	w->order = calloc(n, sizeof(*w->order));
	w->start_at = calloc(n, sizeof(*w->start_at));
}

static void world_free(struct world *w)
{
	jr_sched_destroy(&w->s);
	free(w->jobs);
	free(w->runs);
	free(w->order);
	free(w->start_at);
}

/* A group enters: job by job, or (lazy, two jobs or more) as a stand-in. */
static void enter_group(struct world *w, const struct group *g, bool lazy, uint64_t now)
{
	if (!lazy || g->n < 2) {
		for (size_t i = g->first; i < g->first + g->n; i++)
			assert_int_equal(jr_sched_submit(&w->s, &w->jobs[i].sj, now), 0);
		return;
	}
	struct run *r = &w->runs[w->nruns++];
	r->stand_in = w->jobs[g->first].sj;	/* what its jobs share */
	r->stand_in.id = 0;
	r->next = g->first;
	r->end = g->first + g->n;
	assert_int_equal(jr_sched_stand_in(&w->s, &r->stand_in, (uint32_t)g->n, now), 0);
}

/* Virtual time: waves enter at their times, a pass after each event,
 * the earliest-ending job ends next. */
static void simulate(struct world *w, const struct group *g, size_t ngroups, bool lazy)
{
	size_t next_group = 0, ended = 0;
	uint64_t now = 0;

	while (ended < w->njobs) {
		uint64_t next_end = UINT64_MAX;
		struct tjob *ending = NULL;
		while (next_group < ngroups && g[next_group].at_ns <= now)
			enter_group(w, &g[next_group++], lazy, now);
		jr_sched_pass(&w->s, now);
		for (size_t i = 0; i < w->njobs; i++)
			if (w->jobs[i].running && w->jobs[i].end_ns < next_end) {
				next_end = w->jobs[i].end_ns;
				ending = &w->jobs[i];
			}
		if (next_group < ngroups && g[next_group].at_ns < next_end) {
			now = g[next_group].at_ns;
			continue;
		}
		assert_non_null(ending);	/* something runs while jobs wait */
		now = next_end;
		ending->running = false;
		ending->done = true;
		jr_sched_finish(&w->s, &ending->sj, JR_SCHED_SUCCEEDED, JR_REASON_NONE, now);
		ended++;
	}
}

static void compare(uint64_t seed, uint32_t age_points)
{
	enum { N = 400 };
	struct tjob *tmpl = calloc(N, sizeof(*tmpl));
	struct world eager, lazy;
	size_t ngroups, n;
	struct group *g = workload(seed, tmpl, N, &ngroups, &n);

	world_init(&eager, tmpl, n, age_points);
	world_init(&lazy, tmpl, n, age_points);
	simulate(&eager, g, ngroups, false);
	simulate(&lazy, g, ngroups, true);
	assert_int_equal(eager.started, n);
	assert_int_equal(lazy.started, n);
	for (size_t i = 0; i < n; i++) {
		if (eager.order[i] != lazy.order[i] || eager.start_at[i] != lazy.start_at[i])
			fail_msg("seed %llu: start %zu: job %llu at %llu built at once, job %llu at "
				 "%llu from stand-ins", (unsigned long long)seed, i,
				 (unsigned long long)eager.order[i],
				 (unsigned long long)eager.start_at[i],
				 (unsigned long long)lazy.order[i],
				 (unsigned long long)lazy.start_at[i]);
	}
	/* The stand-ins were really used: most jobs came from them. */
	assert_true(lazy.built > n / 2);
	world_free(&eager);
	world_free(&lazy);
	free(g);
	free(tmpl);
}

static void test_same_order_as_built(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= ROUNDS; seed++)
		compare(seed, 0);
}

static void test_same_order_with_aging(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= ROUNDS; seed++)
		compare(1000 + seed, 1);
}

/* A stand-in is not a waiting job: the counts stay those of jobs built;
 * one taken off its heap and put back keeps its place. */
static void test_not_counted(void **state)
{
	(void)state;
	struct world w;
	struct tjob t[3] = { 0 };

	for (int i = 0; i < 3; i++)
		t[i].sj = (struct jr_sched_job){ .id = (uint64_t)i + 1, .req = &reqs[0] };
	world_init(&w, t, 3, 0);
	struct run *r = &w.runs[0];
	r->stand_in = w.jobs[0].sj;
	r->next = 0;
	r->end = 3;
	assert_int_equal(jr_sched_stand_in(&w.s, &r->stand_in, 3, 0), 0);
	assert_int_equal(w.s.waiting_count, 0);
	jr_sched_stand_in_remove(&w.s, &r->stand_in);
	assert_int_equal(jr_sched_submit_from(&w.s, &w.jobs[0].sj, &r->stand_in, 0), 0);
	r->next = 1;
	assert_int_equal(jr_sched_stand_in_put(&w.s, &r->stand_in), 0);
	assert_int_equal(w.s.waiting_count, 1);
	assert_int_equal(jr_sched_pass(&w.s, 0), 3);	/* 3 of 6 cores, one each */
	assert_int_equal(w.order[0], 1);
	assert_int_equal(w.order[1], 2);
	assert_int_equal(w.order[2], 3);
	assert_int_equal(w.s.waiting_count, 0);
	for (int i = 0; i < 3; i++)	/* their resources back */
		jr_sched_finish(&w.s, &w.jobs[i].sj, JR_SCHED_SUCCEEDED, JR_REASON_NONE, 1);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_order_as_built),
		cmocka_unit_test(test_same_order_with_aging),
		cmocka_unit_test(test_not_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
