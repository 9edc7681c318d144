/*
 * test_external.c - what the daemon builds on: batch submission of command
 * jobs (all or none), the pending state, scanning the table, and jobs run
 * by external workers (claim by priority and capability, completion,
 * retry after a lost worker, cancel, stale executions, close).
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/fnv.h"
#include "coord/state.h"	/* CMD_WORKER_LOST_RETRIES */
#include "engine/engine.h"	/* jr_engine_job_peek, jr_engine_job_brief */

static char state_dir[64];	/* /tmp/jr-ext-XXXXXX */

#define WORKER_A (JR_EXTERNAL_WORKER_BASE + 1)
#define WORKER_B (JR_EXTERNAL_WORKER_BASE + 2)

static struct jr_engine *ext_engine(uint32_t flags)
{
	struct jr_engine *e;

	assert_int_equal(jrt_engine_open(&e, 1, 1 << 16, flags, state_dir), 0);
	return e;
}

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "ext");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(state_dir);
}

static jr_job_id submit_external(struct jr_engine *e, int priority, const char *caps,
				 uint32_t retries, const jr_job_id *after, size_t nafter)
{
	struct jr_command_spec spec = { 0 };
	jr_job_id id;

	spec.flags = JR_COMMAND_EXTERNAL;
	spec.priority = priority;
	spec.capabilities = caps;
	spec.max_retries = retries;
	spec.backoff_base_ms = 1;
	spec.backoff_max_ms = 2;
	spec.after = after;
	spec.after_count = nafter;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

/* Claim, retrying while the coordinator has not taken the job in yet. */
static int claim(struct jr_engine *e, uint32_t worker, const char *caps,
		 jr_job_id only, struct jr_job_info *info)
{
	int rc = 0;

	for (int i = 0; i < 200; i++) {
		rc = jr_external_claim(e, worker, caps, only, info);
		if (rc != 0 && rc != -EBUSY)
			return rc;
		jrt_sleep_ms(5);
	}
	return rc;
}

/* Until the coordinator has taken n jobs in as eligible. */
static void wait_queued(struct jr_engine *e, uint64_t n)
{
	struct jr_stats st;

	for (int i = 0; i < 1000; i++) {
		assert_int_equal(jr_engine_stats(e, &st), 0);
		if (st.queued >= n)
			return;
		jrt_sleep_ms(2);
	}
	fail_msg("only %llu of %llu jobs became eligible", (unsigned long long)st.queued,
		 (unsigned long long)n);
}

static void test_batch_all_or_none(void **state)
{
	struct jr_engine *e = ext_engine(JR_ENGINE_START_PAUSED);
	char *argv[] = { "true", NULL };
	struct jr_command_spec specs[100];
	jr_job_id ids[100];
	struct jr_stats st;
	size_t bad = 0;

	(void)state;
	memset(specs, 0, sizeof(specs));
	for (int i = 0; i < 100; i++) {
		specs[i].argv = argv;
		specs[i].priority = i % JR_PRIORITY_LEVELS;
	}
	specs[57].flags = 1u << 7;	/* unknown: refused */
	assert_int_equal(jr_command_submit_batch(e, specs, 100, ids, &bad), -EINVAL);
	assert_int_equal(bad, 57);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.submitted, 0);
	specs[57].flags = 0;
	specs[57].priority = 99;	/* command jobs: any int32 */
	assert_int_equal(jr_command_submit_batch(e, specs, 100, ids, &bad), 0);
	for (int i = 0; i < 100; i++) {
		struct jr_job_info info;
		assert_int_equal(jr_job_get(e, ids[i], &info), 0);
		assert_int_equal(info.priority, specs[i].priority);
		assert_int_equal(info.state, JR_JOB_QUEUED);	/* paused: nothing starts */
	}
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.succeeded, 100);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A million queued command jobs: accepted in batches, and an engine that
 * closes with them still queued cancels them in linear time (it once
 * removed each from the front of the waiting list: quadratic). */
static void test_million_queued_then_close(void **state)
{
	uint32_t batch = 10000, n = (uint32_t)test_scaled(1000000) / batch * batch;
	struct jr_engine_opts o;
	struct jr_engine *e;
	char *argv[] = { "true", NULL };
	struct jr_command_spec *specs = calloc(batch, sizeof(*specs));
	struct jr_stats st;
	double t0;

	(void)state;
	jrt_engine_opts(&o, 1, 1 << 21, JR_ENGINE_START_PAUSED, state_dir);
	o.arena_bytes = (uint64_t)o.capacity * 128;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	for (uint32_t i = 0; i < batch; i++)
		specs[i] = (struct jr_command_spec){ .argv = argv, .priority = (int)(i % 8) };
	for (uint32_t done = 0; done < n; done += batch)
		assert_int_equal(jr_command_submit_batch(e, specs, batch, NULL, NULL), 0);
	for (int i = 0; i < 2000; i++) {	/* until the coordinator took them all */
		assert_int_equal(jr_engine_stats(e, &st), 0);
		if (st.queued == n)
			break;
		jrt_sleep_ms(5);
	}
	assert_int_equal(st.queued, n);
	t0 = jrt_now_s();
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
	print_message("closing with %u queued command jobs took %.2f s\n", n, jrt_now_s() - t0);
	assert_true(jrt_now_s() - t0 < 10);
	free(specs);
}

static void test_scan_filters(void **state)
{
	struct jr_engine *e = ext_engine(JR_ENGINE_START_PAUSED);
	struct jr_job_info info;
	uint64_t cursor = 0;
	int seen = 0, prio5 = 0;

	(void)state;
	for (int i = 0; i < 50; i++)
		submit_external(e, i % 8, NULL, 0, NULL, 0);
	while (jr_job_scan(e, &cursor, 0, -1, &info) == 1)
		seen++;
	assert_int_equal(seen, 50);
	cursor = 0;
	while (jr_job_scan(e, &cursor, 1u << JR_JOB_QUEUED, 5, &info) == 1) {
		assert_int_equal(info.priority, 5);
		prio5++;
	}
	assert_int_equal(prio5, 6);	/* 5, 13, 21, 29, 37, 45 */
	cursor = 0;
	assert_int_equal(jr_job_scan(e, &cursor, 1u << JR_JOB_RUNNING, -1, &info), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static void test_claim_order_and_capabilities(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	jr_job_id low = submit_external(e, 1, NULL, 0, NULL, 0);
	jr_job_id high = submit_external(e, 6, NULL, 0, NULL, 0);
	jr_job_id gpu = submit_external(e, 7, "gpu,ib", 0, NULL, 0);

	(void)state;
	wait_queued(e, 3);	/* submission is asynchronous */
	assert_int_equal(claim(e, WORKER_A, "ib", 0, &info), 1);
	assert_true(info.job_id == high);	/* the gpu job needs more than ib */
	assert_int_equal(info.state, JR_JOB_RUNNING);
	assert_int_equal(info.exec.worker_id, WORKER_A);
	assert_true(info.is_external);
	assert_int_equal(claim(e, WORKER_B, "gpu,ib,avx", 0, &info), 1);
	assert_true(info.job_id == gpu);
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	assert_true(info.job_id == low);
	assert_int_equal(jr_external_claim(e, WORKER_A, NULL, 0, &info), 0);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), -ESTALE);
	assert_int_equal(jr_job_get(e, low, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	/* Draining ended the two unfinished ones: no worker was left. */
}

/* Worker ids past 16 bits (0.6): up to JR_EXTERNAL_WORKER_MAX, shown as
 * claimed while running, after the end, and through progress reports
 * (which share the slot's flags with the id's high bits). */
static void test_claim_wide_worker_ids(void **state)
{
	static const uint32_t wide[] = { 65535, 65536, JR_EXTERNAL_WORKER_BASE + 1048576,
					 JR_EXTERNAL_WORKER_MAX };
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	jr_job_id id;

	(void)state;
	id = submit_external(e, 3, NULL, 0, NULL, 0);
	assert_int_equal(jr_external_claim(e, JR_EXTERNAL_WORKER_MAX + 1, NULL, 0, &info), -EINVAL);
	assert_int_equal(jr_external_claim(e, JR_EXTERNAL_WORKER_BASE - 1, NULL, 0, &info), -EINVAL);
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		if (i)
			id = submit_external(e, 3, NULL, 0, NULL, 0);
		assert_int_equal(claim(e, wide[i], NULL, id, &info), 1);
		assert_int_equal(info.exec.worker_id, wide[i]);
		assert_int_equal(jr_external_progress(e, info.exec.execution_id, 55), 0);
		assert_int_equal(jr_job_get(e, id, &info), 0);
		assert_int_equal(info.exec.worker_id, wide[i]);
		assert_int_equal(info.progress, 55);
		assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
		assert_int_equal(jr_job_wait(e, id, &info), 0);
		assert_int_equal(info.state, JR_JOB_SUCCEEDED);
		assert_int_equal(info.exec.worker_id, wide[i]);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A lost worker is not the job's failure: CMD_WORKER_LOST_RETRIES losses
 * run it again whatever its retries (here 1, so that it is seen to be
 * kept as well); after those, a loss counts against max_retries like any
 * failure: attempts = the free ones + 1 + max_retries. */
static void test_lost_worker_retried_then_failed(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	jr_job_id id = submit_external(e, 3, NULL, 1, NULL, 0);
	uint64_t prev = 0;

	(void)state;
	for (uint32_t i = 1; i <= CMD_WORKER_LOST_RETRIES + 2; i++) {
		assert_int_equal(claim(e, i % 2 ? WORKER_A : WORKER_B, NULL, id, &info), 1);
		assert_int_equal(info.exec.attempt, i);
		if (prev) {
			assert_true(info.exec.execution_id != prev);
			assert_int_equal(jr_external_complete(e, prev, 0, 0), -ESTALE);
		}
		prev = info.exec.execution_id;
		assert_int_equal(jr_external_complete(e, prev, 0, /* lost */ 1), 0);
	}
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.reason, JR_REASON_WORKER_LOST);
	assert_int_equal(info.exec.attempt, CMD_WORKER_LOST_RETRIES + 2);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_dependencies_pending_and_cancel(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	jr_job_id parent = submit_external(e, 3, NULL, 0, NULL, 0);
	jr_job_id child = submit_external(e, 7, NULL, 0, &parent, 1);
	jr_job_id victim = submit_external(e, 3, NULL, 0, NULL, 0);

	(void)state;
	jrt_sleep_ms(20);
	assert_int_equal(jr_job_get(e, child, &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	assert_true(info.job_id == parent);	/* the child must wait for it */
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	assert_true(info.job_id == child);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 3, 0), 0);
	assert_int_equal(jr_job_wait(e, child, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.exec.result, 3);
	/* A running external job is cancelled at once: no child to signal. */
	assert_int_equal(claim(e, WORKER_B, NULL, victim, &info), 1);
	assert_int_equal(jr_job_cancel(e, victim), 0);
	assert_int_equal(jr_job_wait(e, victim, &info), 0);
	assert_int_equal(info.state, JR_JOB_CANCELLED);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), -ESTALE);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* An external job of queue q with priority prio, its own (flag set)
 * or, own false and prio -1, the queue's. */
static jr_job_id submit_prio(struct jr_engine *e, int prio, bool own, uint32_t q)
{
	struct jr_command_spec spec = { 0 };
	jr_job_id id;

	spec.flags = JR_COMMAND_EXTERNAL | (own ? JR_COMMAND_PRIORITY_SET : 0);
	spec.priority = prio;
	spec.queue_id = q;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

/* Command jobs' int32 priorities: claimed highest first, FIFO within one,
 * -1 with JR_COMMAND_PRIORITY_SET is -1 and without it the queue's; the
 * job shows its full priority, the stats count it at its clamped level. */
static void test_claim_order_int32(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	struct jr_stats st;
	jr_job_id id[7];
	/* Expected claim order, by index into id[]. */
	static const int order[] = { 4, 2, 5, 0, 6, 3, 1 };

	(void)state;
	id[0] = submit_prio(e, 5, true, 0);
	id[1] = submit_prio(e, INT32_MIN, true, 0);
	id[2] = submit_prio(e, 1000, true, 0);
	id[3] = submit_prio(e, -1, true, 0);
	id[4] = submit_prio(e, INT32_MAX, true, 0);
	id[5] = submit_prio(e, 1000, true, 0);
	id[6] = submit_prio(e, JR_PRIORITY_FROM_QUEUE, false, 0);	/* the default queue's: 3 */
	wait_queued(e, 7);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued_by_priority[7], 3);	/* 1000, 1000, INT32_MAX */
	assert_int_equal(st.queued_by_priority[0], 2);	/* -1, INT32_MIN */
	assert_int_equal(jr_job_get(e, id[1], &info), 0);
	assert_int_equal(info.priority, INT32_MIN);
	assert_int_equal(jr_job_get(e, id[6], &info), 0);
	assert_int_equal(info.priority, JR_PRIORITY_DEFAULT);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
		assert_true(info.job_id == id[order[i]]);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* A queue capped at 1: its second external job is not offered until the
 * first ends; a raised cap offers it. */
static void test_queue_cap_external(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	uint32_t q;

	(void)state;
	assert_int_equal(jr_queue_create(e, "one", 0, 1, &q), 0);
	submit_prio(e, 0, true, q);
	submit_prio(e, 0, true, q);
	submit_prio(e, 0, true, q);
	wait_queued(e, 3);
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	assert_int_equal(jr_external_claim(e, WORKER_B, NULL, 0, &info), 0);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	assert_int_equal(claim(e, WORKER_B, NULL, 0, &info), 1);
	assert_int_equal(jr_external_claim(e, WORKER_A, NULL, 0, &info), 0);
	assert_int_equal(jr_queue_update(e, q, 0, 2), 0);
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	assert_int_equal(jr_queue_delete(e, q), -EBUSY);
	assert_int_equal(jr_queue_delete(e, JR_QUEUE_DEFAULT), -EPERM);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An external job that needs cpus, memory (GiB), gpus and counters. */
static jr_job_id submit_needs(struct jr_engine *e, int prio, uint32_t cpus, uint64_t mem_gib,
			      uint32_t gpus, const char *counters, uint64_t timeout_ms)
{
	struct jr_command_spec spec = { 0 };
	jr_job_id id;

	spec.flags = JR_COMMAND_EXTERNAL | JR_COMMAND_PRIORITY_SET;
	spec.priority = prio;
	spec.cpus = cpus;
	spec.mem_bytes = mem_gib << 30;
	spec.gpus = gpus;
	spec.resources = counters;
	spec.timeout_ms = timeout_ms;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

static struct jr_external_res res_of(uint64_t cpus, uint64_t mem_gib, uint64_t gpus)
{
	struct jr_external_res r = { .cpus = cpus, .mem_bytes = mem_gib << 30, .gpus = gpus };

	return r;
}

static int claim_fit(struct jr_engine *e, const struct jr_external_res *avail,
		     struct jr_external_res *taken, struct jr_job_info *info)
{
	return jr_external_claim_fit(e, WORKER_A, NULL, JR_EXTERNAL_ANY_OWNER, 0, avail, taken,
				     info);
}

/* A job fits a worker's free resources or is not handed to it: a 16-cpu,
 * 64G worker never gets a 32-cpu or a 200G job (external jobs are not
 * held to this host's size); among the fitting jobs of the highest
 * priority the best fit wins; counters by name. */
static void test_claim_fits_resources(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_external_res avail = res_of(16, 64, 0), taken;
	struct jr_job_info info;
	jr_job_id big_cpu = submit_needs(e, 9, 32, 1, 0, NULL, 0);
	jr_job_id big_mem = submit_needs(e, 9, 1, 200, 0, NULL, 0);
	jr_job_id gpu = submit_needs(e, 9, 1, 1, 1, NULL, 0);
	jr_job_id small = submit_needs(e, 5, 2, 4, 0, NULL, 0);
	jr_job_id best = submit_needs(e, 5, 8, 4, 0, NULL, 0);
	jr_job_id lic = submit_needs(e, 7, 1, 0, 0, "licenses=2", 0);

	(void)state;
	wait_queued(e, 6);
	/* Asked for by id, a job that does not fit is not claimable. */
	assert_int_equal(jr_external_claim_fit(e, WORKER_A, NULL, JR_EXTERNAL_ANY_OWNER, big_cpu,
					       &avail, NULL, &info), -EBUSY);
	assert_int_equal(jr_external_claim_fit(e, WORKER_A, NULL, JR_EXTERNAL_ANY_OWNER, big_mem,
					       &avail, NULL, &info), -EBUSY);
	/* No licenses named: the licensed job (priority 7) is passed over;
	 * of the priority-5 jobs, 8 cpus fits 16 best. */
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 1);
	if (info.job_id != best)
		printf("claimed %llx: big_cpu %llx big_mem %llx gpu %llx small %llx best %llx "
		       "lic %llx\n", (unsigned long long)info.job_id, (unsigned long long)big_cpu,
		       (unsigned long long)big_mem, (unsigned long long)gpu,
		       (unsigned long long)small, (unsigned long long)best,
		       (unsigned long long)lic);
	assert_true(info.job_id == best);
	assert_int_equal(taken.cpus, 8);
	assert_true(taken.mem_bytes == 4ull << 30);
	/* 8 left: 2 cpus fits. */
	avail = res_of(8, 60, 0);
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 1);
	assert_true(info.job_id == small);
	/* One license free: still not enough. Two: it fits. */
	avail.counter_count = 1;
	snprintf(avail.counter_name[0], sizeof(avail.counter_name[0]), "licenses");
	avail.counter[0] = 1;
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 0);
	avail.counter[0] = 2;
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 1);
	assert_true(info.job_id == lic);
	assert_int_equal(taken.counter_count, 1);
	assert_string_equal(taken.counter_name[0], "licenses");
	assert_int_equal(taken.counter[0], 2);
	/* Only a worker with a GPU free gets the GPU job; the big ones wait. */
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 0);
	avail.gpus = 1;
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 1);
	assert_true(info.job_id == gpu);
	assert_int_equal(taken.gpus, 1);
	avail = res_of(32, 256, 0);
	assert_int_equal(claim_fit(e, &avail, &taken, &info), 1);
	assert_true(info.job_id == big_cpu || info.job_id == big_mem);
	/* No limits (NULL): the old claim. */
	assert_int_equal(claim_fit(e, NULL, NULL, &info), 1);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* What waits, for the allocation poller: jobs judged as a claim by a
 * worker of the shape would judge them (labels, fit), the nodes they
 * fill by the scarcest resource, and the walk's bounds. */
static void test_demand(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_external_res node = res_of(16, 64, 1);
	struct jr_ext_demand d;
	struct jr_stats st;

	(void)state;
	submit_needs(e, 5, 32, 1, 0, NULL, 0);		/* too many cpus */
	submit_needs(e, 5, 1, 200, 0, NULL, 0);		/* too much memory */
	submit_needs(e, 5, 1, 1, 2, NULL, 0);		/* too many GPUs */
	submit_needs(e, 5, 1, 0, 0, "licenses=1", 0);	/* a counter no node has */
	submit_external(e, 5, "fast", 0, NULL, 0);	/* a label these workers lack */
	for (int i = 0; i < 20; i++)
		submit_needs(e, 5, 2, 4, 0, NULL, 0);	/* 40 cpus, 80G */
	submit_needs(e, 5, 1, 0, 1, NULL, 0);		/* the node's GPU */
	wait_queued(e, 26);
	for (int i = 0; i < 1000 && (jr_engine_stats(e, &st), st.external_ready < 26); i++)
		jrt_sleep_ms(2);
	assert_int_equal(jr_engine_ext_demand(e, NULL, JR_EXTERNAL_ANY_OWNER, &node, 4096, 0, &d),
			 0);
	assert_int_equal(d.fit, 21);
	assert_int_equal(d.too_big, 4);
	assert_int_equal(d.scanned, 25);	/* the "fast" job is not theirs to take */
	assert_false(d.partial);
	assert_int_equal(d.workers, 3);	/* 41 cpus / 16; memory 80G / 64G: 2 */
	/* Labels: the "fast" job counts for workers that have it. */
	assert_int_equal(jr_engine_ext_demand(e, "fast", JR_EXTERNAL_ANY_OWNER, &node, 4096, 0, &d),
			 0);
	assert_int_equal(d.fit, 22);
	/* Memory the scarcest: 64-cpu 8G nodes; the 32-cpu job fits them
	 * now: 81G wanted. */
	node = res_of(64, 8, 1);
	assert_int_equal(jr_engine_ext_demand(e, NULL, JR_EXTERNAL_ANY_OWNER, &node, 4096, 0, &d),
			 0);
	assert_int_equal(d.fit, 22);
	assert_int_equal(d.workers, 11);
	/* Another owner's workers take none of these (they run as this uid). */
	assert_int_equal(jr_engine_ext_demand(e, NULL, (uint32_t)getuid() + 1, &node, 4096, 0, &d),
			 0);
	assert_int_equal(d.fit + d.too_big, 0);
	/* Bounded: by the scan, and by enough. */
	assert_int_equal(jr_engine_ext_demand(e, NULL, JR_EXTERNAL_ANY_OWNER, &node, 10, 0, &d), 0);
	assert_true(d.partial && d.scanned == 10);
	assert_int_equal(jr_engine_ext_demand(e, NULL, JR_EXTERNAL_ANY_OWNER, &node, 4096, 2, &d), 0);
	assert_true(d.partial && d.workers == 2);
	node.cpus = 0;
	assert_int_equal(jr_engine_ext_demand(e, NULL, JR_EXTERNAL_ANY_OWNER, &node, 4096, 0, &d),
			 -EINVAL);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* An external job's time limit counts from its claim: past it, the
 * execution fails with reason timeout (retried while retries are left),
 * and the worker's late completion is refused. */
static void test_external_timeout(void **state)
{
	struct jr_engine *e = ext_engine(0);
	jr_job_id id = submit_needs(e, 5, 1, 0, 0, NULL, 200);
	struct jr_job_info info, end;
	uint64_t t0;

	(void)state;
	wait_queued(e, 1);
	assert_int_equal(claim(e, WORKER_A, NULL, id, &info), 1);
	t0 = now_ns();
	assert_int_equal(jr_job_wait(e, id, &end), 0);
	assert_int_equal(end.state, JR_JOB_FAILED);
	assert_int_equal(end.reason, JR_REASON_TIMEOUT);
	assert_true(now_ns() - t0 < 2000000000ull);	/* 200 ms, not never */
	assert_true(now_ns() - info.exec.start_ns >= 200000000ull);
	assert_true(jr_external_complete(e, info.exec.execution_id, 0, 0) < 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* Many limits at once, claimed in one order and due in another, a third
 * of them completed in time (taken out of the middle of the deadline
 * heap, extdue.c): each of the others times out no sooner than its limit
 * and within 1.5 s of it (one looked at out of order holds up those due
 * before it by seconds), and in the order they were due. */
static void test_external_timeouts_many(void **state)
{
	enum { N = 60 };
	struct jr_engine *e = ext_engine(0);
	jr_job_id id[N];
	uint64_t limit_ms[N], start[N], end[N];
	struct jr_job_info info, fin;

	(void)state;
	for (int i = 0; i < N; i++) {
		limit_ms[i] = 100 + (uint64_t)(i * 37 % 30) * 100;	/* 0.1-3 s */
		id[i] = submit_needs(e, 5, 1, 0, 0, NULL, limit_ms[i]);
	}
	wait_queued(e, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(claim(e, WORKER_A, NULL, id[i], &info), 1);
		start[i] = info.exec.start_ns;
		if (i % 3 == 1)
			assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(jr_job_wait(e, id[i], &fin), 0);
		end[i] = fin.exec.end_ns;
		if (i % 3 == 1) {
			assert_int_equal(fin.state, JR_JOB_SUCCEEDED);
			continue;
		}
		assert_int_equal(fin.state, JR_JOB_FAILED);
		assert_int_equal(fin.reason, JR_REASON_TIMEOUT);
		assert_true(end[i] - start[i] >= limit_ms[i] * 1000000ull);
		assert_true(end[i] - start[i] < (limit_ms[i] + 1500) * 1000000ull);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (i % 3 != 1 && j % 3 != 1 &&
			    start[i] + limit_ms[i] * 1000000ull < start[j] + limit_ms[j] * 1000000ull)
				assert_true(end[i] <= end[j]);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* jr_engine_job_brief() files a job as jr_engine_job_peek()'s whole view
 * would (daemon/state/jobindex.c used the view until the brief): queued,
 * held, waiting on a dependency, running on a worker, succeeded, failed,
 * cancelled; names empty, UTF-8, 8 bytes, the longest. */
static void assert_brief_is_view(struct jr_engine *e, jr_job_id id)
{
	struct jr_job_info info;
	struct jr_job_brief b;

	assert_int_equal(jr_engine_job_peek(e, id, &info), 0);
	assert_int_equal(jr_engine_job_brief(e, id, &b), 0);
	assert_int_equal(b.state, info.state == JR_JOB_PENDING ? JR_JOB_QUEUED : info.state);
	assert_int_equal(b.priority, info.priority);
	assert_int_equal(b.owner_uid, info.owner_uid);
	assert_int_equal(b.queue_id, info.queue_id);
	assert_int_equal(b.has_execution, info.exec.execution_id != 0);
	if (b.has_execution)
		assert_int_equal(b.worker_id, info.exec.worker_id);
	assert_int_equal(b.name_hash, jr_name_hash(info.name));
}

static jr_job_id submit_named(struct jr_engine *e, const char *name, int prio, uint32_t flags,
			      const jr_job_id *after)
{
	struct jr_command_spec spec = { 0 };
	jr_job_id id;

	spec.flags = JR_COMMAND_EXTERNAL | JR_COMMAND_PRIORITY_SET | flags;
	spec.priority = prio;
	spec.name = name;
	spec.after = after;
	spec.after_count = after ? 1 : 0;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

static void test_brief_is_view(void **state)
{
	struct jr_engine *e = ext_engine(0);
	char longest[JR_NAME_MAX];
	jr_job_id id[8];
	struct jr_job_info info, fin;

	(void)state;
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	id[0] = submit_named(e, "", 3, 0, NULL);
	id[1] = submit_named(e, "caf\xc3\xa9-\xe2\x82\xac", -7, 0, NULL);
	id[2] = submit_named(e, "8-bytes!", 5, JR_COMMAND_HELD, NULL);
	id[3] = submit_named(e, longest, 9, 0, NULL);	/* claimed first: running */
	id[4] = submit_named(e, "after", 1, 0, &id[0]);	/* waits for id[0] */
	id[5] = submit_named(e, "done", 8, 0, NULL);
	id[6] = submit_named(e, "failed", 7, 0, NULL);
	id[7] = submit_named(e, "cancelled", 2, 0, NULL);
	wait_queued(e, 6);
	for (int i = 0; i < 8; i++)
		assert_brief_is_view(e, id[i]);
	assert_int_equal(claim(e, WORKER_A, NULL, id[3], &info), 1);
	assert_int_equal(claim(e, WORKER_B, NULL, id[5], &info), 1);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	assert_int_equal(jr_job_wait(e, id[5], &fin), 0);
	assert_int_equal(claim(e, WORKER_A, NULL, id[6], &info), 1);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 3, 0), 0);
	assert_int_equal(jr_job_wait(e, id[6], &fin), 0);
	assert_int_equal(jr_job_cancel(e, id[7]), 0);
	assert_int_equal(jr_job_wait(e, id[7], &fin), 0);
	for (int i = 0; i < 8; i++)
		assert_brief_is_view(e, id[i]);
	/* Queued again after a failed attempt: an attempt, but no execution. */
	struct jr_command_spec retry = { .flags = JR_COMMAND_EXTERNAL, .name = "retry",
					 .max_retries = 1, .backoff_base_ms = 600000 };
	jr_job_id again;
	assert_int_equal(jr_command_submit(e, &retry, &again), 0);
	wait_queued(e, 1);
	assert_int_equal(claim(e, WORKER_A, NULL, again, &info), 1);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 1, 0), 0);
	for (int i = 0; i < 200 && (jr_engine_job_peek(e, again, &fin), fin.state) == JR_JOB_RUNNING; i++)
		jrt_sleep_ms(5);
	assert_true(fin.state == JR_JOB_PENDING || fin.state == JR_JOB_QUEUED);	/* its backoff */
	assert_true(fin.attempts >= 1);
	assert_brief_is_view(e, again);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* The claim's cost with 20,000 ready jobs: the scan stops at
 * JR_EXT_CLAIM_SCAN (1,024) when nothing fits, and takes the first when
 * the head fits; the figures are printed for docs/BENCHMARKS.md. */
static void test_claim_bounded_scan(void **state)
{
	struct jr_engine_opts o;
	struct jr_engine *e;
	struct jr_external_res none = res_of(1, 0, 0), one = res_of(1, 1, 0), taken;
	const int n = (int)test_scaled(20000);
	struct jr_command_spec *specs = calloc((size_t)n, sizeof(*specs));
	struct jr_job_info info;
	uint64_t t0, miss_ns, hit_ns;
	const int reps = 200;

	(void)state;
	jrt_engine_opts(&o, 1, 1 << 16, 0, state_dir);
	o.arena_bytes = (uint64_t)o.capacity * 128;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	for (int i = 0; i < n; i++) {
		specs[i].flags = JR_COMMAND_EXTERNAL;
		specs[i].cpus = 1;
		specs[i].mem_bytes = 1 << 30;
	}
	for (int i = 0; i < n; i += 1000)
		assert_int_equal(jr_command_submit_batch(e, specs + i, (size_t)(n - i < 1000 ? n - i : 1000),
							 NULL, NULL), 0);
	wait_queued(e, (uint64_t)n);
	t0 = now_ns();
	for (int i = 0; i < reps; i++)
		assert_int_equal(claim_fit(e, &none, &taken, &info), 0);
	miss_ns = (now_ns() - t0) / reps;
	t0 = now_ns();
	for (int i = 0; i < reps; i++)
		assert_int_equal(claim_fit(e, &one, &taken, &info), 1);
	hit_ns = (now_ns() - t0) / reps;
	print_message("claim with %d ready jobs: none fits %.1f us (1,024 looked at), "
	       "the head fits %.1f us\n", n, miss_ns / 1e3, hit_ns / 1e3);
	free(specs);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* The coordinator builds a batch JR_TAKE_CHUNK jobs at a time and lets a
 * waiting claim or completion in between two chunks; a control looking
 * for a job meanwhile builds on from where the batch is. A worker thread
 * claims and completes without pause while batches of 5,000 come in, and
 * two jobs of each (which it may not take) are held, then cancelled, once
 * the batch's first chunks have run: the hold must find them (never
 * -ENOENT, which a job in a half-built batch would get if only the inbox
 * were looked at), every other job must end once, and the two cancelled. */
struct chunk_worker {
	struct jr_engine *e;
	uint64_t completed;
	bool stop;
};

static void *chunk_worker_run(void *arg)
{
	struct chunk_worker *w = arg;
	struct jr_job_info info;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		int rc = jr_external_claim(w->e, WORKER_A, NULL, 0, &info);
		assert_true(rc >= 0);
		if (rc == 1) {
			assert_int_equal(jr_external_complete(w->e, info.exec.execution_id, 0, 0), 0);
			__atomic_fetch_add(&w->completed, 1, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static void test_batches_built_in_chunks(void **state)
{
	enum { BATCH = 5000 };
	const int rounds = test_scaled(12) > 3 ? (int)test_scaled(12) : 3;
	struct jr_command_spec *specs = calloc(BATCH, sizeof(*specs));
	jr_job_id *ids = calloc(BATCH, sizeof(*ids)), *cancelled = calloc(2 * (size_t)rounds, sizeof(jr_job_id));
	struct chunk_worker w = { 0 };
	uint64_t want = (uint64_t)rounds * (BATCH - 2);
	struct jr_engine_opts o;
	struct jr_job_info info;
	pthread_t t;

	(void)state;
	jrt_engine_opts(&o, 1, 1 << 17, 0, state_dir);	/* every round's jobs stay */
	o.arena_bytes = (uint64_t)o.capacity * 128;
	assert_int_equal(jr_engine_open(&w.e, &o), 0);
	assert_non_null(specs);
	for (int i = 0; i < BATCH; i++)
		specs[i].flags = JR_COMMAND_EXTERNAL;
	specs[BATCH / 2].capabilities = specs[BATCH - 1].capabilities = "never";
	assert_int_equal(pthread_create(&t, NULL, chunk_worker_run, &w), 0);
	for (int r = 0; r < rounds; r++) {
		uint64_t before = __atomic_load_n(&w.completed, __ATOMIC_ACQUIRE);
		assert_int_equal(jr_command_submit_batch(w.e, specs, BATCH, ids, NULL), 0);
		/* Cancelled once its first chunks have run: likely half built. */
		for (int i = 0; i < 2000 && __atomic_load_n(&w.completed, __ATOMIC_ACQUIRE) <
						    before + 2 * JR_TAKE_CHUNK; i++)
			jrt_sleep_ms(1);
		cancelled[2 * r] = ids[BATCH - 1];
		cancelled[2 * r + 1] = ids[BATCH / 2];
		/* A hold looks the job up (a cancel goes through the table). */
		assert_int_equal(jr_command_hold(w.e, ids[BATCH - 1]), 0);
		assert_int_equal(jr_command_hold(w.e, ids[BATCH / 2]), 0);
		assert_int_equal(jr_job_cancel(w.e, ids[BATCH - 1]), 0);
		assert_int_equal(jr_job_cancel(w.e, ids[BATCH / 2]), 0);
	}
	for (int i = 0; i < 30000 && __atomic_load_n(&w.completed, __ATOMIC_ACQUIRE) < want; i++)
		jrt_sleep_ms(1);
	__atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.completed, want);
	for (int i = 0; i < 2 * rounds; i++) {
		assert_int_equal(jr_job_get(w.e, cancelled[i], &info), 0);
		assert_int_equal(info.state, JR_JOB_CANCELLED);
	}
	free(specs);
	free(ids);
	free(cancelled);
	assert_int_equal(jr_engine_close(w.e, JR_CLOSE_DRAIN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_all_or_none),
		cmocka_unit_test(test_scan_filters),
		cmocka_unit_test(test_million_queued_then_close),
		cmocka_unit_test(test_claim_order_and_capabilities),
		cmocka_unit_test(test_claim_order_int32),
		cmocka_unit_test(test_queue_cap_external),
		cmocka_unit_test(test_claim_wide_worker_ids),
		cmocka_unit_test(test_lost_worker_retried_then_failed),
		cmocka_unit_test(test_dependencies_pending_and_cancel),
		cmocka_unit_test(test_claim_fits_resources),
		cmocka_unit_test(test_demand),
		cmocka_unit_test(test_external_timeout),
		cmocka_unit_test(test_external_timeouts_many),
		cmocka_unit_test(test_brief_is_view),
		cmocka_unit_test(test_claim_bounded_scan),
		cmocka_unit_test(test_batches_built_in_chunks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
