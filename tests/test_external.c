/*
 * test_external.c - what the daemon builds on: batch submission of command
 * jobs (all or none), the pending state, scanning the table, and jobs run
 * by external workers (claim by priority and capability, completion,
 * retry after a lost worker, cancel, stale executions, close).
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void test_lost_worker_retried_then_failed(void **state)
{
	struct jr_engine *e = ext_engine(0);
	struct jr_job_info info;
	jr_job_id id = submit_external(e, 3, NULL, 1, NULL, 0);
	uint64_t first;

	(void)state;
	assert_int_equal(claim(e, WORKER_A, NULL, 0, &info), 1);
	first = info.exec.execution_id;
	assert_int_equal(jr_external_complete(e, first, 0, /* lost */ 1), 0);
	assert_int_equal(claim(e, WORKER_B, NULL, id, &info), 1);
	assert_int_equal(info.exec.attempt, 2);
	assert_true(info.exec.execution_id != first);
	assert_int_equal(jr_external_complete(e, first, 0, 0), -ESTALE);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 1), 0);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.reason, JR_REASON_WORKER_LOST);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_all_or_none),
		cmocka_unit_test(test_scan_filters),
		cmocka_unit_test(test_million_queued_then_close),
		cmocka_unit_test(test_claim_order_and_capabilities),
		cmocka_unit_test(test_claim_order_int32),
		cmocka_unit_test(test_queue_cap_external),
		cmocka_unit_test(test_lost_worker_retried_then_failed),
		cmocka_unit_test(test_dependencies_pending_and_cancel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
