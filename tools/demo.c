/*
 * tools/demo - the main job on the embedded default: 1,000,000 function
 * jobs at mixed priorities through an engine with one worker per core.
 * Shows a progress line while they run, then the throughput and the order
 * in which each priority level completed (higher priorities first).
 *
 * Each job does a little arithmetic (a few microseconds) so that the run
 * lasts long enough to watch; bench/dispatch measures no-op jobs.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobring.h"

#define JOBS 1000000u
#define LEVELS JR_PRIORITY_LEVELS
#define SUBMIT_BATCH 10000u

struct demo_job {
	uint64_t seed;
	uint64_t done_rank;	/* 1-based completion order */
	uint8_t priority;
};

static uint64_t completed;

static int churn(void *arg, const struct jr_job_ctx *ctx)
{
	struct demo_job *j = arg;
	uint64_t x = j->seed | 1;

	(void)ctx;
	for (int i = 0; i < 3000; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	j->seed = x;
	j->done_rank = __atomic_add_fetch(&completed, 1, __ATOMIC_RELAXED);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_line(struct jr_engine *e, double t0, int final)
{
	struct jr_stats st;
	double t = now_s() - t0;
	int width = 30, filled;

	jr_engine_stats(e, &st);
	filled = (int)((double)st.succeeded / JOBS * width);
	printf("\r[%.*s%*s] %7lu/%u done  %5.2f M jobs/s  queued %7lu  running %lu ",
	       filled, "##############################", width - filled, "",
	       (unsigned long)st.succeeded, JOBS,
	       t > 0 ? (double)st.succeeded / t / 1e6 : 0.0,
	       (unsigned long)st.queued, (unsigned long)st.running);
	if (final)
		printf("\n");
	fflush(stdout);
}

static int submit_all(struct jr_engine *e, struct demo_job *jobs,
		      struct jr_job_spec *specs)
{
	for (uint32_t i = 0; i < JOBS; i += SUBMIT_BATCH) {
		int rc;
		while ((rc = jr_job_submit_batch(e, specs + i, SUBMIT_BATCH, NULL)) == -EAGAIN)
			sched_yield();
		if (rc < 0) {
			fprintf(stderr, "demo: submit: %s\n", strerror(-rc));
			return rc;
		}
	}
	(void)jobs;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* For each priority: first, median and last completion rank. */
static void completion_order(const struct demo_job *jobs)
{
	static uint64_t ranks[JOBS];

	printf("\ncompletion order by priority (rank 1 = first job to finish; a low\n"
	       "priority job can finish early only while later batches of higher\n"
	       "priority are still being submitted):\n");
	printf("  priority     jobs   first done   median done    last done\n");
	for (int p = LEVELS - 1; p >= 0; p--) {
		uint32_t n = 0;
		for (uint32_t i = 0; i < JOBS; i++)
			if (jobs[i].priority == p)
				ranks[n++] = jobs[i].done_rank;
		qsort(ranks, n, sizeof(ranks[0]), cmp_u64);
		printf("  %8d %8u %12lu %13lu %12lu\n", p, n, (unsigned long)ranks[0],
		       (unsigned long)ranks[n / 2], (unsigned long)ranks[n - 1]);
	}
}

int main(void)
{
	struct demo_job *jobs = calloc(JOBS, sizeof(*jobs));
	struct jr_job_spec *specs = calloc(JOBS, sizeof(*specs));
	struct jr_engine *e;
	struct jr_stats st;
	double t0, t_submit, t1;
	int rc;

	if (!jobs || !specs)
		return 1;
	rc = jr_engine_open(&e, NULL);
	if (rc < 0) {
		fprintf(stderr, "demo: jr_engine_open: %s\n", strerror(-rc));
		return 1;
	}
	jr_engine_stats(e, &st);
	printf("jobring demo: %u function jobs, priorities %d..%d mixed, %u workers, "
	       "%u-slot table (%.0f MiB region)\n", JOBS, JR_PRIORITY_MIN,
	       JR_PRIORITY_MAX, st.workers, st.capacity,
	       (double)st.region_bytes / (1 << 20));
	for (uint32_t i = 0; i < JOBS; i++) {
		jobs[i].seed = i * 2654435761u;
		jobs[i].priority = (uint8_t)((i * 7919u) % LEVELS);
		specs[i] = (struct jr_job_spec){ churn, &jobs[i], jobs[i].priority,
						 JR_QUEUE_DEFAULT, NULL };
	}
	t0 = now_s();
	if (submit_all(e, jobs, specs) < 0)
		return 1;
	t_submit = now_s() - t0;
	while (__atomic_load_n(&completed, __ATOMIC_RELAXED) < JOBS) {
		progress_line(e, t0, 0);
		usleep(100000);
	}
	jr_engine_wait_all(e);
	t1 = now_s() - t0;
	progress_line(e, t0, 1);
	printf("submitted %u jobs in %.3f s (%.1f M jobs/s); all done in %.3f s "
	       "(%.2f M jobs/s end to end)\n", JOBS, t_submit,
	       JOBS / t_submit / 1e6, t1, JOBS / t1 / 1e6);
	completion_order(jobs);
	jr_engine_stats(e, &st);
	printf("\nsucceeded %lu, failed %lu, cancelled %lu\n",
	       (unsigned long)st.succeeded, (unsigned long)st.failed,
	       (unsigned long)st.cancelled);
	jr_engine_close(e, JR_CLOSE_DRAIN);
	free(jobs);
	free(specs);
	return st.succeeded == JOBS ? 0 : 1;
}
