/*
 * test_scheduler.c - the scheduling pass in virtual time: backfill without
 * starvation, priority among jobs that fit, delayed jobs, time limits,
 * cancel, dependencies (chains, diamonds, failure propagation through a
 * 10,000-job DAG) and the Pegasus workflows of ../shared/data/dag, whose
 * makespan with unlimited cores must equal their critical path.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

#define S 1000000000ull

/* What the bare jobs below need (jr_sched_job.req points at it). */
static const struct jr_req one_cpu = { .cpus = 1 };

static struct jr_sim_job *jobs_new(size_t n)
{
	struct jr_sim_job *j = calloc(n, sizeof(*j));

	for (size_t i = 0; i < n; i++)
		j[i].sj.id = i;
	return j;
}

static void job_set(struct jr_sim_job *j, uint64_t submit_s, uint32_t cpus,
		    uint64_t run_s, uint64_t limit_s)
{
	j->submit_ns = submit_s * S;
	j->req.cpus = cpus;
	j->run_ns = run_s * S;
	j->sj.limit_ns = limit_s * S;
}

/* A wide job arrives into a stream of narrow ones: it gets its start by
 * the shadow time, and narrow jobs fill the holes meanwhile. */
static void test_wide_job_not_starved(void **state)
{
	(void)state;
	enum { N = 400 };
	struct jr_sim_job *j = jobs_new(N + 1);
	struct jr_pools pools;
	struct jr_sim_stats st;
	uint64_t wide_submit = 25;
	size_t wide = 0, narrow_during_wait = 0;

	jr_pools_init_flat(&pools, 1, 16, 0);
	/* Narrow: 4 cores for 60 s, one every 10 s, from t = 0. */
	for (size_t i = 0, k = 0; i <= N; i++) {
		if (i == 3) {	/* arrival order: after the narrow job at 20 s */
			wide = i;
			job_set(&j[i], wide_submit, 16, 100, 100);
			continue;
		}
		job_set(&j[i], 10 * k, 4, 60, 60);
		if (10 * k > wide_submit && i < 3)
			fail_msg("arrival order broken");
		k++;
	}
	/* Keep submit times sorted: move the wide job into place. */
	for (size_t i = 3; i > 0 && j[i].submit_ns < j[i - 1].submit_ns; i--) {
		struct jr_sim_job t = j[i];
		j[i] = j[i - 1];
		j[i - 1] = t;
		wide = i - 1;
	}
	assert_int_equal(jr_sim_run(&pools, j, N + 1, 0, &st), 0);
	/* Jobs started at 0, 10, 20 (4 cores each) end by 80 s; the wide job
	 * must start then, however many narrow jobs keep arriving. */
	assert_int_equal(j[wide].sj.start_ns, 80 * S);
	for (size_t i = 0; i <= N; i++)
		if (i != wide && j[i].sj.start_ns > wide_submit * S &&
		    j[i].sj.start_ns < j[wide].sj.start_ns)
			narrow_during_wait++;
	/* The narrow job arriving at 30 s fits the hole (ends at 90 > 80? no:
	 * it would delay the wide job), so holes are filled only by jobs that
	 * end in time; with 60 s jobs none can. Check the reservation held. */
	assert_int_equal(narrow_during_wait, 0);
	assert_int_equal(st.succeeded, N + 1);
	free(j);
}

/* Holes before a reservation are filled by jobs short enough. */
static void test_short_jobs_fill_holes(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(4);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 16, 0);
	job_set(&j[0], 0, 12, 100, 100);	/* running until 100 */
	job_set(&j[1], 1, 16, 10, 10);	/* head: waits for 100 */
	job_set(&j[2], 2, 4, 50, 50);	/* ends at 52 <= 100: backfills */
	job_set(&j[3], 3, 4, 200, 200);	/* would end at 203: must wait */
	assert_int_equal(jr_sim_run(&pools, j, 4, 0, &st), 0);
	assert_int_equal(j[1].sj.start_ns, 100 * S);
	assert_int_equal(j[2].sj.start_ns, 2 * S);
	assert_int_equal(j[3].sj.start_ns, 110 * S);
	assert_int_equal(st.backfilled, 1);
	free(j);
}

/* Without a time limit a job never counts as ending before the shadow
 * time: it backfills only into what the head leaves over. */
static void test_unlimited_jobs_use_only_extra(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(4);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 16, 0);
	job_set(&j[0], 0, 12, 100, 100);
	job_set(&j[1], 1, 12, 10, 10);	/* head: at 100, leaves 4 extra */
	job_set(&j[2], 2, 4, 300, 0);	/* no limit, fits the extra: starts */
	job_set(&j[3], 3, 2, 5, 0);	/* no limit, extra used up: waits */
	assert_int_equal(jr_sim_run(&pools, j, 4, 0, &st), 0);
	assert_int_equal(j[2].sj.start_ns, 2 * S);
	assert_int_equal(j[1].sj.start_ns, 100 * S);
	assert_true(j[3].sj.start_ns >= 100 * S);
	free(j);
}

/* One node of 8 cores and 2 GPUs (issue 14's case), no time limits. */
static void gpu_host(struct jr_pools *pools)
{
	jr_pools_init_flat(pools, 1, 8, 0);
	pools->node[0].gpu_all = pools->node[0].gpu_free = 0x3;
}

static void job_gpu(struct jr_sim_job *j, uint64_t submit_s, uint32_t cpus, uint32_t gpus,
		    uint64_t run_s)
{
	job_set(j, submit_s, cpus, run_s, 0);
	j->req.gpus = gpus;
}

/* Two 1-core GPU jobs hold both GPUs; a job waiting for a GPU must not
 * keep four 1-core jobs waiting with 6 of 8 cores free: they touch
 * nothing it waits for. It starts as soon as a GPU frees up. */
static void test_blocked_head_leaves_cores(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(8);
	struct jr_pools pools;
	struct jr_sim_stats st;

	gpu_host(&pools);
	job_gpu(&j[0], 0, 1, 1, 10);	/* GPU 0 until 10 */
	job_gpu(&j[1], 0, 1, 1, 20);	/* GPU 1 until 20 */
	job_gpu(&j[2], 1, 1, 1, 5);	/* head: waits for a GPU */
	for (int i = 3; i < 7; i++)
		job_gpu(&j[i], 1, 1, 0, 3);	/* 1-core jobs: start at once */
	job_gpu(&j[7], 2, 1, 1, 1);	/* a GPU job behind the head: after it */
	assert_int_equal(jr_sim_run(&pools, j, 8, 0, &st), 0);
	for (int i = 3; i < 7; i++)
		assert_int_equal(j[i].sj.start_ns, 1 * S);
	assert_int_equal(j[2].sj.start_ns, 10 * S);
	assert_int_equal(j[7].sj.start_ns, 15 * S);
	assert_int_equal(st.backfilled, 4);
	free(j);
}

/* A stream of 1-core jobs without limits never overtakes the head for
 * good: it keeps its cores (what is free now) and the GPU it waits for,
 * and starts the moment that GPU frees up. Filler jobs use the rest. */
static void test_blocked_head_not_overtaken(void **state)
{
	(void)state;
	enum { N = 200 };
	struct jr_sim_job *j = jobs_new(N + 3);
	struct jr_pools pools;
	struct jr_sim_stats st;
	uint64_t busy = 0;

	gpu_host(&pools);
	job_gpu(&j[0], 0, 1, 1, 50);	/* the GPUs: until 50 and 70 */
	job_gpu(&j[1], 0, 1, 1, 70);
	job_gpu(&j[2], 1, 3, 1, 10);	/* head: 3 cores and a GPU */
	for (int i = 3; i < N + 3; i++)	/* one 1-core job a second, 30 s each */
		job_gpu(&j[i], (uint64_t)i - 1, 1, 0, 30);
	assert_int_equal(jr_sim_run(&pools, j, N + 3, 0, &st), 0);
	assert_int_equal(j[2].sj.start_ns, 50 * S);
	/* Until then the fillers used the 3 cores the head left over, two
	 * rounds of 30 s: at 2, 3, 4 and as those ended at 32, 33, 34. */
	for (int i = 3; i < N + 3; i++)
		if (j[i].sj.start_ns < 50 * S)
			busy++;
	assert_int_equal(busy, 6);
	assert_int_equal(j[3].sj.start_ns, 2 * S);
	assert_int_equal(j[5].sj.start_ns, 4 * S);
	assert_int_equal(j[6].sj.start_ns, 32 * S);
	assert_int_equal(st.succeeded, N + 3);
	free(j);
}

/* Jobs with a time limit behind a head whose shadow time is unknown
 * (the running jobs have none) cannot "end before it": they too may use
 * only what the head leaves over, here nothing (it lacks cores). */
static void test_limited_jobs_behind_unknown_shadow(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(3);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 8, 0);
	job_set(&j[0], 0, 6, 20, 0);	/* no limit: ends at 20 */
	job_set(&j[1], 1, 4, 5, 0);	/* head: 2 free, needs 4 */
	job_set(&j[2], 2, 2, 1, 5);	/* limited: would take the 2 */
	assert_int_equal(jr_sim_run(&pools, j, 3, 0, &st), 0);
	assert_int_equal(j[1].sj.start_ns, 20 * S);
	assert_int_equal(j[2].sj.start_ns, 20 * S);
	free(j);
}

/* Two NUMA nodes, one GPU each: the head holds its share on the node it
 * will run on; a GPU job on the other node's free GPU still starts. */
static void test_blocked_head_numa(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(5);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 2, 4, 0);
	pools.node[0].gpu_all = pools.node[0].gpu_free = 0x1;
	pools.node[1].gpu_all = pools.node[1].gpu_free = 0x1;
	job_gpu(&j[0], 0, 1, 1, 10);	/* node 0's GPU until 10 */
	job_gpu(&j[1], 0, 4, 0, 30);	/* node 1's cores until 30 */
	job_gpu(&j[2], 1, 2, 1, 5);	/* head: needs a GPU and 2 cores */
	job_gpu(&j[3], 2, 1, 0, 100);	/* fits beside the head's 2 on node 0 */
	job_gpu(&j[4], 3, 1, 0, 100);	/* would take the head's cores: waits */
	assert_int_equal(jr_sim_run(&pools, j, 5, 0, &st), 0);
	assert_int_equal(j[3].sj.start_ns, 2 * S);
	assert_int_equal(j[2].sj.start_ns, 10 * S);
	assert_int_equal(j[4].sj.start_ns, 10 * S);
	free(j);
}

static void test_priority_among_fits(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(4);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 4, 0);
	job_set(&j[0], 0, 4, 10, 10);
	for (int i = 1; i < 4; i++) {
		job_set(&j[i], 1, 4, 10, 10);
		j[i].sj.priority = i;	/* all arrive together; 3 first */
	}
	assert_int_equal(jr_sim_run(&pools, j, 4, 0, &st), 0);
	assert_int_equal(j[3].sj.start_ns, 10 * S);
	assert_int_equal(j[2].sj.start_ns, 20 * S);
	assert_int_equal(j[1].sj.start_ns, 30 * S);
	free(j);
}

static void test_delayed_and_time_limit(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(2);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 4, 0);
	job_set(&j[0], 0, 1, 10, 0);
	j[0].sj.not_before_ns = 50 * S;
	job_set(&j[1], 0, 1, 100, 30);	/* over its limit */
	assert_int_equal(jr_sim_run(&pools, j, 2, JR_SIM_ENFORCE_LIMITS, &st), 0);
	assert_int_equal(j[0].sj.start_ns, 50 * S);
	assert_int_equal(j[1].end_ns, 30 * S);
	assert_int_equal(j[1].sj.state, JR_SCHED_FAILED);
	assert_int_equal(j[1].sj.reason, JR_REASON_TIMEOUT);
	assert_int_equal(st.timed_out, 1);
	free(j);
}

/* --- never over-committed ------------------------------------------------- */

struct commit_check {
	const struct jr_pools *pools;
	uint64_t passes, violations, max_running;
};

/* After every pass: the running jobs' allocations never overlap and, with
 * what is free, add up exactly to each node's cores, memory and GPUs and
 * to the host's licenses. */
static void check_commitment(void *ctx, const struct jr_sched *s, uint64_t now)
{
	struct commit_check *c = ctx;
	const struct jr_pools *p = c->pools;
	uint64_t cores[JR_CORE_WORDS] = { 0 }, mem[JR_NUMA_MAX] = { 0 };
	uint32_t gpus[JR_NUMA_MAX] = { 0 };
	uint64_t lic = 0;

	(void)now;
	for (uint32_t i = 0; i < s->running.count; i++) {
		const struct jr_alloc *a = s->running.items[i]->alloc;
		assert_non_null(a);
		assert_int_equal(a->words, p->core_words);
		for (uint32_t w = 0; w < a->words; w++) {
			if (cores[w] & a->cores[w])
				c->violations++;	/* a core held twice */
			cores[w] |= a->cores[w];
		}
		for (uint32_t n = 0; n < p->numa_count; n++) {
			if (gpus[n] & a->gpus[n])
				c->violations++;
			gpus[n] |= a->gpus[n];
			mem[n] += a->mem[n];
		}
		lic += a->custom[0];
	}
	for (uint32_t w = 0; w < JR_CORE_WORDS; w++)
		if ((cores[w] & p->core_free[w]) || ((cores[w] | p->core_free[w]) != p->core_all[w]))
			c->violations++;
	for (uint32_t n = 0; n < p->numa_count; n++) {
		if (mem[n] + p->node[n].mem_free != p->node[n].mem_total ||
		    (gpus[n] | p->node[n].gpu_free) != p->node[n].gpu_all ||
		    (gpus[n] & p->node[n].gpu_free))
			c->violations++;
	}
	if (lic + p->custom_free[0] != p->custom_total[0])
		c->violations++;
	if (s->running.count > c->max_running)
		c->max_running = s->running.count;
	c->passes++;
}

/* A flat pool of 4,096 cores (issue 14: 1,024 once ended in -EDEADLK):
 * jobs of up to all of it run to the end, and one wider than the host is
 * refused at arrival (stats.refused), not left waiting for good. */
static void test_flat_4096_pool(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct jr_sim_job *j = jobs_new(N + 1);
	static struct jr_pools pools;
	struct jr_sim_stats st;
	uint64_t x = 88172645463325252ull;
	struct commit_check c = { &pools, 0, 0, 0 };
	struct jr_sim_hooks hooks = { check_commitment, &c };

	assert_int_equal(jr_pools_init_flat(&pools, 1, 4096, 0), 0);
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		job_set(&j[i], i, 1 + (uint32_t)(x % 1024), 1 + (x >> 12) % 100,
			(x >> 24) % 2 ? 200 : 0);
	}
	job_set(&j[N / 2], N / 2, 4096, 10, 0);	/* all of it */
	job_set(&j[N], N, 4097, 10, 0);	/* more than the host */
	assert_int_equal(jr_sim_run_hooked(&pools, j, N + 1, 0, &hooks, &st), 0);
	assert_int_equal(st.succeeded, N);
	assert_int_equal(st.refused, 1);
	assert_int_equal(j[N].sj.state, JR_SCHED_CANCELLED);
	assert_int_equal(c.violations, 0);
	assert_int_equal(jr_pools_free_cores_all(&pools), 4096);
	print_message("flat 4,096 cores: %d jobs, %lu passes, up to %lu running\n", N,
		      (unsigned long)st.passes, (unsigned long)c.max_running);
	assert_int_equal(jr_pools_init_flat(&pools, 1, JR_CORES_MAX + 1, 0), -E2BIG);
	free(j);
}

/* 100,000 jobs with random cores, memory, GPUs, licenses and spans on a
 * 2 x 16-core host, through the live scheduler's placement and backfill
 * code in virtual time. */
static void test_random_jobs_never_overcommit(void **state)
{
	(void)state;
	const size_t n = test_scaled(100000);
	struct jr_sim_job *j = jobs_new(n);
	struct jr_pools pools;
	struct jr_sim_stats st;
	struct commit_check c = { &pools, 0, 0, 0 };
	struct jr_sim_hooks hooks = { check_commitment, &c };
	uint64_t x = 2463534242ull;

	jr_pools_init_flat(&pools, 2, 16, 64ull << 30);
	for (int node = 0; node < 2; node++)
		pools.node[node].gpu_all = pools.node[node].gpu_free = 0x3;
	pools.custom_count = 1;
	pools.custom_total[0] = pools.custom_free[0] = 5;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* About 240 core-seconds every 8 s on 32 cores: load ~0.95. */
		job_set(&j[i], i * 8, 1 + (uint32_t)(x % 16), 1 + (x >> 8) % 50,
			(x >> 16) % 4 ? 60 : 0);
		j[i].req.mem_bytes = ((x >> 20) % 48) << 30;
		j[i].req.gpus = (uint32_t)((x >> 28) % 4 == 0);
		j[i].req.custom[0] = (x >> 32) % 3;
		j[i].req.span = ((x >> 36) & 7) == 0;
		j[i].sj.priority = (int)((x >> 40) % 8);
		if (j[i].req.span)
			j[i].req.cpus += 8;
	}
	assert_int_equal(jr_sim_run_hooked(&pools, j, n, 0, &hooks, &st), 0);
	print_message("%zu random jobs: %lu passes checked, up to %lu running, "
		      "%lu backfilled, %lu violations\n", n, (unsigned long)c.passes,
		      (unsigned long)c.max_running, (unsigned long)st.backfilled,
		      (unsigned long)c.violations);
	assert_int_equal(c.violations, 0);
	assert_int_equal(st.succeeded, n);
	assert_true(c.max_running > 4 && st.backfilled > 0);
	free(j);
}

/* --- dependencies --------------------------------------------------------- */

static void link_parent(struct jr_sim_job *child, struct jr_sim_job *parent)
{
	child->parents = realloc(child->parents,
				 (child->parent_count + 1) * sizeof(*child->parents));
	child->parents[child->parent_count++] = parent;
}

static void jobs_free(struct jr_sim_job *j, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(j[i].parents);
	free(j);
}

/* Every job started after all its parents ended. */
static void assert_order(const struct jr_sim_job *j, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (j[i].sj.state != JR_SCHED_SUCCEEDED && j[i].sj.state != JR_SCHED_FAILED)
			continue;
		for (uint32_t p = 0; p < j[i].parent_count; p++)
			if (j[i].parents[p]->end_ns > j[i].sj.start_ns)
				fail_msg("job %zu started before a parent ended", i);
	}
}

static void test_chain_and_diamond(void **state)
{
	(void)state;
	struct jr_sim_job *j = jobs_new(7);
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 8, 0);
	for (int i = 0; i < 7; i++)
		job_set(&j[i], 0, 1, (uint64_t)(i + 1), 0);
	link_parent(&j[1], &j[0]);	/* chain 0 -> 1 -> 2 */
	link_parent(&j[2], &j[1]);
	link_parent(&j[4], &j[3]);	/* diamond 3 -> {4, 5} -> 6 */
	link_parent(&j[5], &j[3]);
	link_parent(&j[6], &j[4]);
	link_parent(&j[6], &j[5]);
	assert_int_equal(jr_sim_run(&pools, j, 7, 0, &st), 0);
	assert_order(j, 7);
	assert_int_equal(j[2].end_ns, (1 + 2 + 3) * S);
	assert_int_equal(j[6].sj.start_ns, (4 + 6) * S);	/* after the slower branch */
	assert_int_equal(st.succeeded, 7);
	jobs_free(j, 7);
}

/* A random 10,000-job DAG; one job fails: exactly its descendants are
 * cancelled with dependency_failed, everything else succeeds in order. */
static void test_failure_propagation_10k(void **state)
{
	(void)state;
	enum { N = 10000 };
	struct jr_sim_job *j = jobs_new(N);
	uint8_t *doomed = calloc(N, 1);
	struct jr_pools pools;
	struct jr_sim_stats st;
	uint64_t x = 12345, want_cancelled = 0;
	const size_t failing = 8000;

	jr_pools_init_flat(&pools, 1, 64, 0);
	for (size_t i = 0; i < N; i++) {
		job_set(&j[i], 0, 1, 1 + i % 7, 0);
		if (i == failing + 1) {	/* make sure the failure has heirs */
			link_parent(&j[i], &j[failing]);
			doomed[i] = 1;
		}
		for (int k = 0; k < 3 && i > 0; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t p = i - 1 - (x % (i < 50 ? i : 50));
			link_parent(&j[i], &j[p]);
			doomed[i] |= doomed[p] || p == failing;
		}
		want_cancelled += doomed[i];
	}
	j[failing].fails = true;
	assert_int_equal(jr_sim_run(&pools, j, N, 0, &st), 0);
	assert_order(j, N);
	for (size_t i = 0; i < N; i++) {
		if (i == failing)
			assert_int_equal(j[i].sj.state, JR_SCHED_FAILED);
		else if (doomed[i])
			assert_true(j[i].sj.state == JR_SCHED_CANCELLED &&
				    j[i].sj.reason == JR_REASON_DEPENDENCY_FAILED);
		else
			assert_int_equal(j[i].sj.state, JR_SCHED_SUCCEEDED);
	}
	print_message("10,000-job DAG: %lu cancelled by one failure\n",
		      (unsigned long)want_cancelled);
	assert_true(want_cancelled > 100 && want_cancelled < N / 2);
	assert_int_equal(st.cancelled, want_cancelled);
	free(doomed);
	jobs_free(j, N);
}

static void test_cancel_waiting_cancels_dependents(void **state)
{
	(void)state;
	struct jr_sched_ops ops = { 0 };
	struct jr_sched s;
	struct jr_pools pools;
	struct jr_sched_job a = { 0 }, b = { 0 }, c = { 0 };

	jr_pools_init_flat(&pools, 1, 1, 0);
	jr_sched_init(&s, &pools, &ops);
	a.req = b.req = c.req = &one_cpu;
	assert_int_equal(jr_sched_submit(&s, &a, 0), 0);
	assert_int_equal(jr_sched_depend(&b, &a, JR_DEP_AFTEROK), 0);
	assert_int_equal(jr_sched_submit(&s, &b, 0), 0);
	assert_int_equal(jr_sched_depend(&c, &b, JR_DEP_AFTEROK), 0);
	assert_int_equal(jr_sched_submit(&s, &c, 0), 0);
	assert_int_equal(jr_sched_pass(&s, 0), 1);	/* a runs */
	assert_int_equal(jr_sched_cancel(&s, &a, 1), -EBUSY);
	assert_int_equal(jr_sched_cancel(&s, &b, 1), 0);
	assert_int_equal(b.reason, JR_REASON_CANCELLED);
	assert_int_equal(c.state, JR_SCHED_CANCELLED);
	assert_int_equal(c.reason, JR_REASON_DEPENDENCY_FAILED);
	assert_int_equal(jr_sched_cancel(&s, &c, 2), -EALREADY);
	jr_sched_finish(&s, &a, JR_SCHED_SUCCEEDED, JR_REASON_NONE, 3);
	assert_int_equal(jr_sched_pass(&s, 3), 0);
	jr_sched_destroy(&s);
}

/* --- dependency types ------------------------------------------------------ */

static void link_typed(struct jr_sim_job *child, struct jr_sim_job *parent, uint8_t type)
{
	child->parent_types = realloc(child->parent_types, child->parent_count + 1);
	child->parent_types[child->parent_count] = type;
	link_parent(child, parent);
}

static void jobs_free_typed(struct jr_sim_job *j, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(j[i].parent_types);
	jobs_free(j, n);
}

static bool ended(const struct jr_sim_job *j)
{
	return j->sj.state == JR_SCHED_SUCCEEDED || j->sj.state == JR_SCHED_FAILED ||
	       j->sj.state == JR_SCHED_CANCELLED;
}

/* What each job's final state must be, from its parents' (computed in
 * arrival order, parents first) and the types of its edges; and when it
 * may start: after a parent's start ("after"), else after its end. */
static void assert_typed_outcomes(const struct jr_sim_job *j, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool never = false;
		assert_true(ended(&j[i]));
		for (uint32_t p = 0; p < j[i].parent_count; p++) {
			const struct jr_sim_job *par = j[i].parents[p];
			unsigned type = j[i].parent_types ? j[i].parent_types[p] : JR_DEP_AFTEROK;
			enum jr_dep_outcome o = jr_sched_dep_outcome(par->sj.state, type);
			assert_int_not_equal(o, JR_DEP_WAIT);
			never |= o == JR_DEP_NEVER;
			if (j[i].sj.state == JR_SCHED_CANCELLED || o == JR_DEP_NEVER)
				continue;
			if (type == JR_DEP_AFTER ? par->sj.state != JR_SCHED_CANCELLED &&
							   j[i].sj.start_ns < par->sj.start_ns
						 : j[i].sj.start_ns < par->end_ns)
				fail_msg("job %zu started before its type-%u parent allowed", i, type);
		}
		if (never) {
			assert_int_equal(j[i].sj.state, JR_SCHED_CANCELLED);
			assert_true(j[i].sj.reason == JR_REASON_DEPENDENCY_FAILED ||
				    j[i].sj.reason == JR_REASON_DEPENDENCY_NEVER_SATISFIED);
		} else {
			assert_int_equal(j[i].sj.state,
					 j[i].fails ? JR_SCHED_FAILED : JR_SCHED_SUCCEEDED);
		}
	}
}

/* Every pair of (parent outcome, type) on a small DAG, by hand:
 *   0 ok, 1 fails, 2 never runs (cancelled: afterok on 1);
 *   children of each with every type, and a grandchild of a cancelled
 *   child through afterany (it runs: its parent ended). */
static void test_dependency_types_by_hand(void **state)
{
	(void)state;
	enum { N = 17 };
	struct jr_sim_job *j = jobs_new(N);
	struct jr_pools pools;
	struct jr_sim_stats st;
	/* want[parent][type]: the child's final state */
	static const enum jr_sched_state want[3][4] = {
		{ JR_SCHED_SUCCEEDED, JR_SCHED_SUCCEEDED, JR_SCHED_CANCELLED, JR_SCHED_SUCCEEDED },
		{ JR_SCHED_CANCELLED, JR_SCHED_SUCCEEDED, JR_SCHED_SUCCEEDED, JR_SCHED_SUCCEEDED },
		{ JR_SCHED_CANCELLED, JR_SCHED_SUCCEEDED, JR_SCHED_SUCCEEDED, JR_SCHED_SUCCEEDED },
	};
	static const enum jr_reason why[3][4] = {
		[0][JR_DEP_AFTERNOTOK] = JR_REASON_DEPENDENCY_NEVER_SATISFIED,
		[1][JR_DEP_AFTEROK] = JR_REASON_DEPENDENCY_FAILED,
		[2][JR_DEP_AFTEROK] = JR_REASON_DEPENDENCY_FAILED,
	};

	jr_pools_init_flat(&pools, 1, 32, 0);
	for (int i = 0; i < N; i++)
		job_set(&j[i], 0, 1, 10, 0);
	j[1].fails = true;
	link_typed(&j[2], &j[1], JR_DEP_AFTEROK);
	for (int p = 0; p < 3; p++)
		for (int t = 0; t < 4; t++)
			link_typed(&j[3 + 4 * p + t], &j[p], (uint8_t)t);
	/* 15: afterany on 8 (afternotok on 0: cancelled); 16: after on 2. */
	link_typed(&j[15], &j[3 + JR_DEP_AFTERNOTOK], JR_DEP_AFTERANY);
	link_typed(&j[16], &j[2], JR_DEP_AFTER);
	assert_int_equal(jr_sim_run(&pools, j, N, 0, &st), 0);
	assert_int_equal(j[2].sj.state, JR_SCHED_CANCELLED);
	for (int p = 0; p < 3; p++)
		for (int t = 0; t < 4; t++) {
			const struct jr_sim_job *c = &j[3 + 4 * p + t];
			assert_int_equal(c->sj.state, want[p][t]);
			if (want[p][t] == JR_SCHED_CANCELLED)
				assert_int_equal(c->sj.reason, why[p][t]);
		}
	/* "after" on a running parent starts with it, not after it. */
	assert_int_equal(j[3 + JR_DEP_AFTER].sj.start_ns, 0);
	assert_int_equal(j[3 + JR_DEP_AFTERANY].sj.start_ns, 10 * S);
	assert_int_equal(j[3 + 4 * 1 + JR_DEP_AFTERNOTOK].sj.start_ns, 10 * S);
	assert_int_equal(j[15].sj.state, JR_SCHED_SUCCEEDED);
	assert_int_equal(j[16].sj.state, JR_SCHED_SUCCEEDED);
	assert_typed_outcomes(j, N);
	jobs_free_typed(j, N);
}

/* A dependency already settled when the dependent is linked (a restore
 * finds it final): met, or the dependent is doomed at submit with the
 * type's reason; nothing waits. */
static void test_dependency_on_ended_job(void **state)
{
	(void)state;
	static const enum jr_sched_state ends[] = { JR_SCHED_SUCCEEDED, JR_SCHED_FAILED,
						     JR_SCHED_CANCELLED, JR_SCHED_RUNNING };
	struct jr_sched_ops ops = { 0 };
	struct jr_pools pools;
	struct jr_sched s;

	jr_pools_init_flat(&pools, 1, 4, 0);
	for (size_t e = 0; e < 4; e++)
		for (unsigned t = 0; t <= JR_DEP_AFTER; t++) {
			struct jr_sched_job p = { .state = ends[e] }, d = { .req = &one_cpu };
			enum jr_dep_outcome o = jr_sched_dep_outcome(ends[e], t);
			jr_sched_init(&s, &pools, &ops);
			assert_int_equal(jr_sched_depend(&d, &p, t), 0);
			assert_int_equal(d.deps_left + jr_sched_dependent_count(&p), 2 * (o == JR_DEP_WAIT));
			assert_int_equal(jr_sched_submit(&s, &d, 0), 0);
			if (o == JR_DEP_NEVER)
				assert_true(d.state == JR_SCHED_CANCELLED &&
					    d.reason == (t == JR_DEP_AFTEROK ?
								 JR_REASON_DEPENDENCY_FAILED :
								 JR_REASON_DEPENDENCY_NEVER_SATISFIED));
			else if (o == JR_DEP_MET)
				assert_int_equal(d.state, JR_SCHED_WAITING);
			free(p.dependents);
			jr_sched_destroy(&s);
		}
	/* The table: afternotok never on success, after met by a start. */
	assert_int_equal(jr_sched_dep_outcome(JR_SCHED_SUCCEEDED, JR_DEP_AFTERNOTOK), JR_DEP_NEVER);
	assert_int_equal(jr_sched_dep_outcome(JR_SCHED_RUNNING, JR_DEP_AFTER), JR_DEP_MET);
	assert_int_equal(jr_sched_dep_outcome(JR_SCHED_RUNNING, JR_DEP_AFTERANY), JR_DEP_WAIT);
	assert_int_equal(jr_sched_dep_outcome(JR_SCHED_CANCELLED, JR_DEP_AFTERNOTOK), JR_DEP_MET);
}

/* A random 20,000-job DAG mixing the four types, one job in 13 failing,
 * on 48 cores: every job ends as its parents' outcomes and its edges'
 * types say, and starts no earlier than they allow. */
static void test_mixed_types_20k(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct jr_sim_job *j = jobs_new(N);
	struct jr_pools pools;
	struct jr_sim_stats st;
	uint64_t x = 99991;
	size_t by_state[6] = { 0 };

	jr_pools_init_flat(&pools, 1, 48, 0);
	for (size_t i = 0; i < N; i++) {
		job_set(&j[i], i / 100, 1, 1 + i % 5, 0);
		j[i].fails = i % 13 == 5;
		for (int k = 0; k < 3 && i > 0; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			link_typed(&j[i], &j[i - 1 - (x % (i < 40 ? i : 40))], (uint8_t)(x >> 40) % 4);
		}
	}
	assert_int_equal(jr_sim_run(&pools, j, N, 0, &st), 0);
	assert_typed_outcomes(j, N);
	for (size_t i = 0; i < N; i++)
		by_state[j[i].sj.state]++;
	print_message("mixed 20,000-job DAG: %zu succeeded, %zu failed, %zu cancelled\n",
		      by_state[JR_SCHED_SUCCEEDED], by_state[JR_SCHED_FAILED],
		      by_state[JR_SCHED_CANCELLED]);
	assert_true(by_state[JR_SCHED_CANCELLED] > 100 && by_state[JR_SCHED_SUCCEEDED] > 1000);
	jobs_free_typed(j, N);
}

/* Singleton: jobs 0, 1, 2 share a name (ops.same_name), 3 has its own;
 * the three never overlap, 3 starts meanwhile, and two of one name never
 * start in the same pass. */
static bool same_name(void *ctx, const struct jr_sched_job *a, const struct jr_sched_job *b)
{
	(void)ctx;
	return a != b && a->id < 3 && b->id < 3;
}

static void test_singleton(void **state)
{
	(void)state;
	struct jr_sched_job j[4] = { { 0 } };
	struct jr_sched_ops ops = { .same_name = same_name };
	struct jr_pools pools;
	struct jr_sched s;

	jr_pools_init_flat(&pools, 1, 8, 0);
	jr_sched_init(&s, &pools, &ops);
	for (int i = 0; i < 4; i++) {
		j[i].id = (uint64_t)i;
		j[i].req = &one_cpu;
		j[i].singleton = true;
		assert_int_equal(jr_sched_submit(&s, &j[i], 0), 0);
	}
	assert_int_equal(jr_sched_pass(&s, 0), 2);	/* 0 and 3 */
	assert_int_equal(j[1].state, JR_SCHED_WAITING);
	assert_int_equal(jr_sched_pass(&s, 1), 0);
	jr_sched_finish(&s, &j[0], JR_SCHED_SUCCEEDED, JR_REASON_NONE, 2);
	assert_int_equal(jr_sched_pass(&s, 2), 1);
	assert_int_equal(j[1].state, JR_SCHED_RUNNING);
	assert_int_equal(j[2].state, JR_SCHED_WAITING);
	jr_sched_finish(&s, &j[1], JR_SCHED_FAILED, JR_REASON_EXIT, 3);
	assert_int_equal(jr_sched_pass(&s, 3), 1);
	assert_int_equal(j[2].state, JR_SCHED_RUNNING);
	jr_sched_finish(&s, &j[2], JR_SCHED_SUCCEEDED, JR_REASON_NONE, 4);
	jr_sched_finish(&s, &j[3], JR_SCHED_SUCCEEDED, JR_REASON_NONE, 4);
	jr_sched_destroy(&s);
}

/* --- throttles ------------------------------------------------------------- */

/* After every pass: no group over its max, and none under it while one
 * of its jobs waits and cores are free. */
struct throttle_check {
	const struct jr_sim_job *j;
	size_t n;
	uint64_t violations, idle_with_room, max_seen;
};

static void check_throttle(void *ctx, const struct jr_sched *s, uint64_t now)
{
	struct throttle_check *c = ctx;
	uint64_t running = 0, waiting = 0;

	(void)now;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->j[i].throttle_key)
			continue;
		running += c->j[i].sj.state == JR_SCHED_RUNNING;
		waiting += c->j[i].sj.state == JR_SCHED_WAITING;
	}
	c->violations += running > 5;
	c->idle_with_room += running < 5 && waiting > 0 && s->running.count < 64;
	c->max_seen = running > c->max_seen ? running : c->max_seen;
}

/* 3,000 jobs in one throttle group of 5 ahead of 59 unthrottled ones,
 * on 64 cores: never more than 5 of the group run, never fewer while
 * some wait, and the others are not held back behind the parked ones. */
static void test_throttle(void **state)
{
	(void)state;
	enum { T = 3000, N = T + 59 };
	struct jr_sim_job *j = jobs_new(N);
	struct throttle_check c = { j, N, 0, 0, 0 };
	struct jr_sim_hooks hooks = { check_throttle, &c };
	struct jr_pools pools;
	struct jr_sim_stats st;

	jr_pools_init_flat(&pools, 1, 64, 0);
	for (size_t i = 0; i < N; i++) {
		job_set(&j[i], 0, 1, 1 + i % 3, 0);
		if (i < T) {
			j[i].throttle_key = 42;
			j[i].throttle_max = 5;
		}
	}
	assert_int_equal(jr_sim_run_hooked(&pools, j, N, 0, &hooks, &st), 0);
	assert_int_equal(st.succeeded, N);
	assert_int_equal(c.violations, 0);
	assert_int_equal(c.idle_with_room, 0);
	assert_int_equal(c.max_seen, 5);
	for (size_t i = T; i < N; i++)
		assert_int_equal(j[i].sj.start_ns, 0);
	/* In order: each of the group starts no earlier than the one before. */
	for (size_t i = 1; i < T; i++)
		assert_true(j[i].sj.start_ns >= j[i - 1].sj.start_ns);
	free(j);
}

/* A parked job can be cancelled; the group's next comes back when one
 * of it ends. */
static void test_throttle_cancel_parked(void **state)
{
	(void)state;
	struct jr_sched_ops ops = { 0 };
	struct jr_pools pools;
	struct jr_sched s;
	struct jr_sched_job j[3] = { { 0 } };

	jr_pools_init_flat(&pools, 1, 8, 0);
	jr_sched_init(&s, &pools, &ops);
	for (uint64_t i = 0; i < 3; i++) {
		j[i].id = i;
		j[i].req = &one_cpu;
		assert_int_equal(jr_sched_throttle_join(&s, &j[i], 7, 1), 0);
		assert_int_equal(jr_sched_submit(&s, &j[i], 0), 0);
	}
	assert_int_equal(jr_sched_pass(&s, 0), 1);
	assert_int_equal(j[1].state, JR_SCHED_WAITING);
	assert_int_equal(jr_sched_cancel(&s, &j[1], 1), 0);
	assert_int_equal(jr_sched_pass(&s, 1), 0);
	jr_sched_finish(&s, &j[0], JR_SCHED_SUCCEEDED, JR_REASON_NONE, 2);
	assert_int_equal(jr_sched_pass(&s, 2), 1);
	assert_int_equal(j[2].state, JR_SCHED_RUNNING);
	jr_sched_finish(&s, &j[2], JR_SCHED_SUCCEEDED, JR_REASON_NONE, 3);
	assert_int_equal(s.throttles[0].refs, 0);
	assert_int_equal(s.waiting_count, 0);
	jr_sched_destroy(&s);
}

/* --- Pegasus workflows ----------------------------------------------------- */

static const char *dag_dir(void)
{
	static char dir[512];
	const char *base = getenv("JR_SHARED_DATA");

	snprintf(dir, sizeof(dir), "%s/dag/derived", base ? base : "../shared/data");
	return dir;
}

/* Parse <dag>.tasks.tsv: id, name, runtime, level, est, eft, parents. */
static size_t load_dag(const char *name, struct jr_sim_job **out)
{
	char path[1024], line[8192], ids[2048][16];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.tasks.tsv", dag_dir(), name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	*out = jobs_new(2048);
	while (fgets(line, sizeof(line), f)) {
		char id[16], task[128], parents[7000];
		double runtime;
		if (line[0] == '#' || strncmp(line, "id\t", 3) == 0)
			continue;
		if (sscanf(line, "%15s %127s %lf %*d %*f %*f %6999s", id, task, &runtime,
			   parents) != 4)
			continue;
		struct jr_sim_job *j = &(*out)[n];
		strcpy(ids[n], id);
		job_set(j, 0, 1, 0, 0);
		j->run_ns = (uint64_t)(runtime * 100 + 0.5) * (S / 100);
		for (char *p = strtok(parents, ","); p && strcmp(p, "-"); p = strtok(NULL, ","))
			for (size_t k = 0; k < n; k++)
				if (strcmp(ids[k], p) == 0)
					link_parent(j, &(*out)[k]);
		n++;
	}
	fclose(f);
	return n;
}

static double summary_value(const char *dag, int column)
{
	char path[1024], line[4096];
	FILE *f;
	double v = -1;

	snprintf(path, sizeof(path), "%s/dag_summary.tsv", dag_dir());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, dag, strlen(dag)) != 0 || line[strlen(dag)] != '\t')
			continue;
		char *tok = strtok(line, "\t");
		for (int c = 0; tok && c < column; c++)
			tok = strtok(NULL, "\t");
		if (tok)
			v = strtod(tok, NULL);
	}
	fclose(f);
	return v;
}

static void check_dag(const char *name)
{
	struct jr_sim_job *j;
	struct jr_pools pools;
	struct jr_sim_stats st;
	size_t n = load_dag(name, &j);
	double critical = summary_value(name, 8), work = summary_value(name, 7);
	uint64_t makespan = 0;

	assert_true(n > 0 && critical > 0 && work > 0);
	/* Unlimited cores: 16 nodes x 256. */
	jr_pools_init_flat(&pools, 16, 256, 0);
	assert_int_equal(jr_sim_run(&pools, j, n, 0, &st), 0);
	assert_order(j, n);
	for (size_t i = 0; i < n; i++)
		makespan = j[i].end_ns > makespan ? j[i].end_ns : makespan;
	print_message("%-16s %4zu tasks: makespan %.2f s, critical path %.2f s\n",
		      name, n, (double)makespan / S, critical);
	assert_true(llabs((long long)makespan - (long long)(critical * S)) < (long long)(S / 100));
	/* One core: strictly serial, the makespan is the total work. */
	jobs_free(j, 2048);
	assert_int_equal(load_dag(name, &j), n);
	jr_pools_init_flat(&pools, 1, 1, 0);
	assert_int_equal(jr_sim_run(&pools, j, n, 0, &st), 0);
	assert_order(j, n);
	assert_true(llabs((long long)st.last_end_ns - (long long)(work * S)) <
		    (long long)(n * S / 100));
	jobs_free(j, 2048);
}

static void test_pegasus_workflows(void **state)
{
	(void)state;
	static const char *dags[] = { "Montage_25", "CyberShake_30", "Epigenomics_24",
				      "Inspiral_30", "Sipht_30", "HEFT_paper",
				      "Montage_100", "CyberShake_100", "Epigenomics_100",
				      "Inspiral_100" };
	char path[1024];

	snprintf(path, sizeof(path), "%s/dag_summary.tsv", dag_dir());
	if (access(path, R_OK) != 0) {
		print_message("SKIPPED: Pegasus DAGs not found in %s\n", dag_dir());
		skip();
	}
	for (size_t i = 0; i < sizeof(dags) / sizeof(dags[0]); i++)
		check_dag(dags[i]);
}

/* The same workflows with every edge given a type in turn and one task
 * in 11 failing, on 64 cores: outcomes and start times as the types say. */
static void check_dag_mixed(const char *name)
{
	struct jr_sim_job *j;
	struct jr_pools pools;
	struct jr_sim_stats st;
	size_t n = load_dag(name, &j), edges = 0, cancelled = 0;

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		j[i].fails = i % 11 == 3;
		j[i].parent_types = malloc(j[i].parent_count + 1);
		for (uint32_t p = 0; p < j[i].parent_count; p++)
			j[i].parent_types[p] = (uint8_t)(edges++ % 4);
	}
	jr_pools_init_flat(&pools, 1, 64, 0);
	assert_int_equal(jr_sim_run(&pools, j, n, 0, &st), 0);
	assert_typed_outcomes(j, n);
	for (size_t i = 0; i < n; i++)
		cancelled += j[i].sj.state == JR_SCHED_CANCELLED;
	print_message("%-16s %4zu tasks, %zu typed edges: %zu cancelled\n", name, n, edges,
		      cancelled);
	jobs_free_typed(j, 2048);
}

static void test_pegasus_mixed_types(void **state)
{
	(void)state;
	static const char *dags[] = { "Montage_100", "CyberShake_100", "Epigenomics_100",
				      "Inspiral_100", "Sipht_30" };
	char path[1024];

	snprintf(path, sizeof(path), "%s/dag_summary.tsv", dag_dir());
	if (access(path, R_OK) != 0) {
		print_message("SKIPPED: Pegasus DAGs not found in %s\n", dag_dir());
		skip();
	}
	for (size_t i = 0; i < sizeof(dags) / sizeof(dags[0]); i++)
		check_dag_mixed(dags[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wide_job_not_starved),
		cmocka_unit_test(test_short_jobs_fill_holes),
		cmocka_unit_test(test_unlimited_jobs_use_only_extra),
		cmocka_unit_test(test_priority_among_fits),
		cmocka_unit_test(test_blocked_head_leaves_cores),
		cmocka_unit_test(test_blocked_head_not_overtaken),
		cmocka_unit_test(test_limited_jobs_behind_unknown_shadow),
		cmocka_unit_test(test_blocked_head_numa),
		cmocka_unit_test(test_random_jobs_never_overcommit),
		cmocka_unit_test(test_flat_4096_pool),
		cmocka_unit_test(test_delayed_and_time_limit),
		cmocka_unit_test(test_chain_and_diamond),
		cmocka_unit_test(test_failure_propagation_10k),
		cmocka_unit_test(test_cancel_waiting_cancels_dependents),
		cmocka_unit_test(test_pegasus_workflows),
		cmocka_unit_test(test_dependency_types_by_hand),
		cmocka_unit_test(test_dependency_on_ended_job),
		cmocka_unit_test(test_mixed_types_20k),
		cmocka_unit_test(test_singleton),
		cmocka_unit_test(test_pegasus_mixed_types),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_throttle_cancel_parked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
