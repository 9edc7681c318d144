/*
 * bench/claim - what an external worker's claim costs in the engine with
 * many jobs ready (JR_BENCH_CLAIM_JOBS, default 100,000) and many workers
 * (JR_BENCH_CLAIM_WORKERS, default 4,000 worker ids, taking turns): each
 * operation is a claim and the completion of what it got (20,000 of
 * them: the list stays at least 80% as long). Variants, taking turns, JR_BENCH_RUNS rounds
 * (default 5), medians:
 *
 *   baseline   jr_external_claim_owned(): the head of the list, no
 *              resources looked at (the claim before issue 14);
 *   fit-head   jr_external_claim_fit(), every job fits: the best fit among
 *              the first fitting job and up to 16 after it;
 *   fit-mixed  jobs of 1-32 cpus and 1-128 GiB, each worker with 1-32
 *              cpus and 1-128 GiB free (random): the realistic case;
 *   miss       nothing fits (1 cpu free, every job wants 2 or more): the
 *              bounded scan (1,024 misfits) and no job;
 *   full       no cpu free (a busy worker's long poll): no walk at all.
 *
 * Prints microseconds per claim and the ratio to the baseline.
 *
 * Then a claim's wait while big batches are built: a thread claims and
 * completes without pause while JR_BENCH_CLAIM_BATCHES (5) batches of
 * JR_BENCH_CLAIM_BATCH (100,000) external jobs arrive, 300 ms apart; the
 * longest claim and the 99.9th percentile, next to the same thread's with
 * no batch arriving. The coordinator builds a batch 256 jobs per hold of
 * its lock (coord/loop.c); before, a claim waited for the whole batch.
 */
#include "benchutil.h"

#include <pthread.h>

#include "jobring.h"

#define OPS 20000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

enum { V_BASE, V_HEAD, V_MIXED, V_MISS, V_FULL, VARIANTS };
static const char *const names[VARIANTS] = { "baseline (no resources)", "fit, head fits",
					     "fit, mixed sizes", "miss (nothing fits)",
					     "full (no cpu free)" };

static struct jr_engine *open_with(uint32_t jobs, bool mixed, bool big)
{
	struct jr_engine_opts o;
	struct jr_engine *e;
	struct jr_command_spec *specs = calloc(1000, sizeof(*specs));
	struct jr_stats st;

	jrt_engine_opts(&o, 1, jobs * 2 + 1024, 0, NULL);
	o.arena_bytes = (uint64_t)o.capacity * 128;
	if (jr_engine_open(&e, &o) < 0) {
		fprintf(stderr, "claim: cannot open an engine\n");
		exit(1);
	}
	for (uint32_t done = 0; done < jobs; done += 1000) {
		for (int i = 0; i < 1000; i++) {
			specs[i] = (struct jr_command_spec){ .flags = JR_COMMAND_EXTERNAL };
			specs[i].cpus = mixed ? 1 + rnd(32) : big ? 2 : 1;
			specs[i].mem_bytes = (uint64_t)(mixed ? 1 + rnd(128) : 1) << 30;
		}
		if (jr_command_submit_batch(e, specs, 1000, NULL, NULL) < 0) {
			fprintf(stderr, "claim: submit failed\n");
			exit(1);
		}
	}
	for (int i = 0; i < 4000; i++) {
		jr_engine_stats(e, &st);
		if (st.queued >= jobs)
			break;
		jrt_sleep_ms(5);
	}
	free(specs);
	return e;
}

/* us per claim (and completion, when it got a job). */
static double run(int v, uint32_t jobs, uint32_t workers)
{
	struct jr_engine *e = open_with(jobs, v == V_MIXED, v == V_MISS);
	struct jr_external_res avail = { 0 }, taken;
	struct jr_job_info info;
	double t0 = jrt_now_s();
	uint32_t got = 0;

	for (int i = 0; i < OPS; i++) {
		uint32_t w = JR_EXTERNAL_WORKER_BASE + 1 + (uint32_t)i % workers;
		int rc;
		avail.cpus = v == V_MIXED ? 1 + rnd(32) : 1 + (v == V_HEAD);
		avail.mem_bytes = (uint64_t)(v == V_MIXED ? 1 + rnd(128) : 1) << 30;
		if (v == V_HEAD)
			avail.cpus = avail.mem_bytes = JR_EXTERNAL_NO_LIMIT;
		if (v == V_FULL)
			avail.cpus = 0;
		rc = v == V_BASE ? jr_external_claim_owned(e, w, NULL, JR_EXTERNAL_ANY_OWNER, 0,
							   &info)
				 : jr_external_claim_fit(e, w, NULL, JR_EXTERNAL_ANY_OWNER, 0,
							 &avail, &taken, &info);
		if (rc == 1) {
			got++;
			jr_external_complete(e, info.exec.execution_id, 0, 0);
		}
	}
	double us = (jrt_now_s() - t0) * 1e6 / OPS;
	if ((v == V_MISS || v == V_FULL) && got)
		fprintf(stderr, "claim: the miss variant got %u jobs\n", got);
	jr_engine_close(e, JR_CLOSE_CANCEL);
	return us;
}

struct claimer {
	struct jr_engine *e;
	double *ms;
	size_t n, cap;
	bool stop;
};

static void *claimer_run(void *arg)
{
	struct claimer *c = arg;
	struct jr_job_info info;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		double t0 = jrt_now_s();
		int rc = jr_external_claim(c->e, JR_EXTERNAL_WORKER_BASE + 1, NULL, 0, &info);
		double ms = (jrt_now_s() - t0) * 1e3;
		if (c->n < c->cap)
			c->ms[c->n++] = ms;
		if (rc == 1)
			jr_external_complete(c->e, info.exec.execution_id, 0, 0);
	}
	return NULL;
}

/* One claiming thread for about a second and a half, with batches of
 * batch jobs arriving (batches 0: none): its longest claim and p99.9. */
static void claims_during(uint32_t batch, int batches, double *max_ms, double *p999_ms)
{
	struct jr_engine_opts o;
	struct claimer c = { .cap = 20000000 };
	struct jr_command_spec *specs = calloc(batch, sizeof(*specs));
	pthread_t t;

	jrt_engine_opts(&o, 1, batch * 6u + 4096, 0, NULL);
	o.arena_bytes = (uint64_t)o.capacity * 128;
	c.ms = malloc(c.cap * sizeof(double));
	if (!specs || !c.ms || jr_engine_open(&c.e, &o) < 0) {
		fprintf(stderr, "claim: cannot open an engine\n");
		exit(1);
	}
	for (uint32_t i = 0; i < batch; i++)
		specs[i].flags = JR_COMMAND_EXTERNAL;
	if (jr_command_submit_batch(c.e, specs, 1000, NULL, NULL) < 0)
		exit(1);
	pthread_create(&t, NULL, claimer_run, &c);
	jrt_sleep_ms(200);
	for (int k = 0; k < 5; k++) {
		if (k < batches && jr_command_submit_batch(c.e, specs, batch, NULL, NULL) < 0) {
			fprintf(stderr, "claim: a batch of %u failed\n", batch);
			exit(1);
		}
		jrt_sleep_ms(300);
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	bench_median(c.ms, (int)c.n);	/* sorts */
	*max_ms = c.ms[c.n - 1];
	*p999_ms = c.ms[(size_t)(0.999 * (double)(c.n - 1))];
	jr_engine_close(c.e, JR_CLOSE_CANCEL);
	free(c.ms);
	free(specs);
}

int main(void)
{
	uint32_t jobs = (uint32_t)jrt_env_u64("JR_BENCH_CLAIM_JOBS", 100000);
	uint32_t workers = (uint32_t)jrt_env_u64("JR_BENCH_CLAIM_WORKERS", 4000);
	int runs = (int)jrt_env_u64("JR_BENCH_RUNS", 5);
	double *res[VARIANTS], med[VARIANTS];

	if (jobs < OPS + 1000)
		jobs = OPS + 1000;	/* every claim finds the list as long */
	for (int v = 0; v < VARIANTS; v++)
		res[v] = calloc((size_t)runs, sizeof(double));
	for (int r = 0; r < runs; r++)
		for (int v = 0; v < VARIANTS; v++)
			res[v][r] = run(v, jobs, workers);
	printf("external claim, %u jobs ready, %u workers taking turns, median of %d runs:\n",
	       jobs, workers, runs);
	for (int v = 0; v < VARIANTS; v++) {
		med[v] = bench_median(res[v], runs);
		printf("  %-26s %8.2f us per claim  (%.2fx baseline)\n", names[v], med[v],
		       med[v] / med[V_BASE]);
	}
	uint32_t batch = (uint32_t)jrt_env_u64("JR_BENCH_CLAIM_BATCH", 100000);
	int batches = (int)jrt_env_u64("JR_BENCH_CLAIM_BATCHES", 5);
	double quiet_max, quiet_p999, busy_max, busy_p999;
	claims_during(batch, 0, &quiet_max, &quiet_p999);
	claims_during(batch, batches > 5 ? 5 : batches, &busy_max, &busy_p999);
	printf("a claim's wait while %d batches of %u jobs are built: longest %.2f ms, p99.9 "
	       "%.3f ms; with none arriving (baseline): longest %.2f ms, p99.9 %.3f ms\n",
	       batches > 5 ? 5 : batches, batch, busy_max, busy_p999, quiet_max, quiet_p999);
	return 0;
}
