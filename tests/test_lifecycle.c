/*
 * test_lifecycle.c - cancel, status, wait, stale ids, close with drain and
 * with cancel, named queues and their caps.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

static int count_job(void *arg, const struct jr_job_ctx *ctx)
{
	(void)ctx;
	__atomic_fetch_add((uint64_t *)arg, 1, __ATOMIC_RELAXED);
	return 0;
}

static int fail_job(void *arg, const struct jr_job_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	return 7;
}

static uint32_t gate_open;

/* Blocks until gate_open is set. */
static int gated_job(void *arg, const struct jr_job_ctx *ctx)
{
	(void)ctx;
	__atomic_store_n((uint32_t *)arg, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&gate_open, __ATOMIC_ACQUIRE))
		jrt_sleep_ms(1);
	return 0;
}

static int slow_job(void *arg, const struct jr_job_ctx *ctx)
{
	(void)ctx;
	jrt_sleep_ms(1);
	__atomic_fetch_add((uint64_t *)arg, 1, __ATOMIC_RELAXED);
	return 0;
}

static void test_cancel_queued(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 1024, JR_ENGINE_START_PAUSED);
	struct jr_job_spec spec = { count_job, NULL, 3, 0, NULL };
	uint64_t ran = 0;
	jr_job_id ids[10];
	struct jr_job_info info;
	struct jr_stats st;

	spec.arg = &ran;
	for (int i = 0; i < 10; i++)
		assert_int_equal(jr_job_submit(e, &spec, &ids[i]), 0);
	for (int i = 0; i < 10; i += 2)
		assert_int_equal(jr_job_cancel(e, ids[i]), 0);
	assert_int_equal(jr_job_cancel(e, ids[0]), 0);	/* idempotent */
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.cancelled, 5);
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_int_equal(ran, 5);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(jr_job_get(e, ids[i], &info), 0);
		assert_int_equal(info.state, i % 2 ? JR_JOB_SUCCEEDED : JR_JOB_CANCELLED);
	}
	assert_int_equal(jr_job_cancel(e, ids[1]), -EALREADY);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.succeeded, 5);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_cancel_running_is_busy(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 64, 0);
	uint32_t started = 0;
	struct jr_job_spec spec = { gated_job, &started, 3, 0, NULL };
	jr_job_id id;

	gate_open = 0;
	assert_int_equal(jr_job_submit(e, &spec, &id), 0);
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		jrt_sleep_ms(1);
	assert_int_equal(jr_job_cancel(e, id), -EBUSY);
	__atomic_store_n(&gate_open, 1, __ATOMIC_RELEASE);
	assert_int_equal(jr_job_wait(e, id, NULL), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_status_and_execution(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 64, 0);
	struct jr_job_spec ok = { count_job, NULL, 5, 0, "counter" };
	struct jr_job_spec bad = { fail_job, NULL, 2, 0, "fails" };
	uint64_t ran = 0, before = (uint64_t)time(NULL) * 1000000000ull;
	jr_job_id a, b;
	struct jr_job_info info;

	ok.arg = &ran;
	assert_int_equal(jr_job_submit(e, &ok, &a), 0);
	assert_int_equal(jr_job_submit(e, &bad, &b), 0);
	assert_int_equal(jr_job_wait(e, a, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_string_equal(info.name, "counter");
	assert_int_equal(info.priority, 5);
	assert_int_equal(info.exec.result, 0);
	assert_int_equal(info.exec.attempt, 1);
	assert_int_equal(info.exec.worker_id, 0);
	assert_true(info.created_ns >= before);
	assert_true(info.exec.start_ns >= info.created_ns);
	assert_true(info.exec.end_ns >= info.exec.start_ns);
	assert_true(info.exec.execution_id != 0);
	assert_int_equal(jr_job_wait(e, b, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.exec.result, 7);
	assert_string_equal(info.name, "fails");
	assert_string_equal(jr_job_state_name(info.state), "failed");
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_bad_specs_rejected(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 64, 0);
	uint64_t ran = 0;
	struct jr_job_spec specs[3] = {
		{ count_job, &ran, 3, 0, NULL },
		{ count_job, &ran, 3, 0, NULL },
		{ count_job, &ran, 9, 0, NULL },	/* priority out of range */
	};
	char long_name[JR_NAME_MAX + 1];
	struct jr_stats st;

	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -EINVAL);
	specs[2].priority = 3;
	specs[2].queue_id = 17;
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -ENOENT);
	specs[2].queue_id = 0;
	specs[2].fn = NULL;
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -EINVAL);
	memset(long_name, 'x', JR_NAME_MAX);
	long_name[JR_NAME_MAX] = '\0';
	specs[2].fn = count_job;
	specs[2].name = long_name;
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -EINVAL);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.submitted, 0);	/* all or nothing */
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	assert_int_equal(ran, 0);
}

static void test_table_full_is_eagain(void **state)
{
	(void)state;
	/* 16 slots, slot 0 reserved: 15 jobs fit. */
	struct jr_engine *e = test_engine(1, 16, JR_ENGINE_START_PAUSED);
	uint64_t ran = 0;
	struct jr_job_spec specs[16];
	struct jr_stats st;

	for (int i = 0; i < 16; i++)
		specs[i] = (struct jr_job_spec){ count_job, &ran, 3, 0, NULL };
	assert_int_equal(jr_job_submit_batch(e, specs, 10, NULL), 0);
	assert_int_equal(jr_job_submit_batch(e, specs, 6, NULL), -EAGAIN);
	assert_int_equal(jr_job_submit_batch(e, specs, 5, NULL), 0);
	assert_int_equal(jr_job_submit(e, specs, NULL), -EAGAIN);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued, 15);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	assert_int_equal(ran, 15);
}

static void test_stale_id_detected(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 8, 0);
	uint64_t ran = 0;
	struct jr_job_spec spec = { count_job, &ran, 3, 0, "first" };
	struct jr_job_info info;
	jr_job_id first, id;

	assert_int_equal(jr_job_submit(e, &spec, &first), 0);
	assert_int_equal(jr_job_wait(e, first, &info), 0);
	assert_string_equal(info.name, "first");
	/* Seven slots: enough submissions reuse the first one. */
	spec.name = "later";
	for (int i = 0; i < 20; i++) {
		assert_int_equal(jr_job_submit(e, &spec, &id), 0);
		assert_int_equal(jr_job_wait(e, id, NULL), 0);
	}
	assert_int_equal(jr_job_get(e, first, &info), -ESTALE);
	assert_int_equal(jr_job_wait(e, first, &info), -ESTALE);
	assert_int_equal(jr_job_cancel(e, first), -ESTALE);
	assert_int_equal(jr_job_get(e, 0, &info), -ESTALE);
	assert_int_equal(jr_job_get(e, (1ull << 32) | 9999, &info), -ESTALE);
	assert_int_equal(jr_job_get(e, id, &info), 0);
	assert_string_equal(info.name, "later");
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_close_drain_runs_everything(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 4096, 0);
	uint64_t ran = 0;
	struct jr_job_spec spec = { slow_job, &ran, 3, 0, NULL };

	for (int i = 0; i < 500; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	assert_int_equal(ran, 500);
}

static void test_close_cancel_paused(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 4096, JR_ENGINE_START_PAUSED);
	uint64_t ran = 0;
	struct jr_job_spec spec = { count_job, &ran, 3, 0, NULL };

	for (int i = 0; i < 1000; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
	assert_int_equal(ran, 0);
}

static void test_close_cancel_while_running(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 4096, 0);
	uint64_t ran = 0;
	struct jr_job_spec spec = { slow_job, &ran, 3, 0, NULL };

	for (int i = 0; i < 2000; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	while (__atomic_load_n(&ran, __ATOMIC_RELAXED) < 5)
		jrt_sleep_ms(1);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
	assert_true(ran >= 5 && ran < 2000);
}

static void test_close_rejects_bad_mode(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(1, 64, 0);

	assert_int_equal(jr_engine_close(e, 99), -EINVAL);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

struct cap_probe {
	uint32_t in_flight;
	uint32_t max_seen;
	uint64_t ran;
};

static int capped_job(void *arg, const struct jr_job_ctx *ctx)
{
	struct cap_probe *p = arg;
	uint32_t now = __atomic_add_fetch(&p->in_flight, 1, __ATOMIC_ACQ_REL);
	uint32_t seen = __atomic_load_n(&p->max_seen, __ATOMIC_RELAXED);

	(void)ctx;
	while (now > seen &&
	       !__atomic_compare_exchange_n(&p->max_seen, &seen, now, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
	jrt_sleep_ms(1);
	__atomic_sub_fetch(&p->in_flight, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&p->ran, 1, __ATOMIC_RELAXED);
	return 0;
}

static void test_queue_cap(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(4, 4096, 0);
	struct cap_probe capped = { 0 }, free_run = { 0 };
	uint32_t q, again;
	jr_job_id ids[300];

	assert_int_equal(jr_queue_create(e, "gpu", 6, 2, &q), 0);
	assert_int_equal(jr_queue_create(e, "gpu", 6, 2, &again), -EEXIST);
	assert_int_equal(jr_queue_lookup(e, "gpu", &again), 0);
	assert_int_equal(again, q);
	assert_int_equal(jr_queue_lookup(e, "nope", &again), -ENOENT);
	/* A queue's priority is any int32 (function jobs take it clamped). */
	assert_int_equal(jr_queue_create(e, "", 0, 0, &again), -EINVAL);
	for (int i = 0; i < 300; i++) {
		struct jr_job_spec s = { capped_job, &capped, JR_PRIORITY_FROM_QUEUE,
					 q, NULL };
		if (i % 3 == 0)
			s = (struct jr_job_spec){ capped_job, &free_run, 3, 0, NULL };
		assert_int_equal(jr_job_submit(e, &s, &ids[i]), 0);
	}
	/* Cancel some while they may be held. */
	for (int i = 1; i < 300; i += 30)
		jr_job_cancel(e, ids[i]);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_true(capped.max_seen <= 2);
	assert_true(capped.ran >= 190 && capped.ran <= 200);
	assert_int_equal(free_run.ran, 100);
	struct jr_job_info info;
	assert_int_equal(jr_job_get(e, ids[2], &info), 0);
	assert_int_equal(info.priority, 6);
	assert_int_equal(info.queue_id, q);
	struct jr_stats st;
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.succeeded + st.cancelled, 300);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A queue's priority is any int32; a function job that takes it takes
 * it clamped to its 8 levels. Update and delete. */
static void test_queue_wide_priority_and_update(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 4096, JR_ENGINE_START_PAUSED);
	uint64_t ran = 0;
	uint32_t hi, lo;
	jr_job_id a, b;
	struct jr_job_info info;

	assert_int_equal(jr_queue_create(e, "hi", 1000, 0, &hi), 0);
	assert_int_equal(jr_queue_create(e, "lo", INT32_MIN, 0, &lo), 0);
	struct jr_job_spec sa = { count_job, &ran, JR_PRIORITY_FROM_QUEUE, hi, NULL };
	struct jr_job_spec sb = { count_job, &ran, JR_PRIORITY_FROM_QUEUE, lo, NULL };
	assert_int_equal(jr_job_submit(e, &sa, &a), 0);
	assert_int_equal(jr_job_submit(e, &sb, &b), 0);
	assert_int_equal(jr_job_get(e, a, &info), 0);
	assert_int_equal(info.priority, JR_PRIORITY_MAX);
	assert_int_equal(jr_job_get(e, b, &info), 0);
	assert_int_equal(info.priority, JR_PRIORITY_MIN);
	assert_int_equal(jr_queue_update(e, hi, -3, 1), 0);
	struct jr_queue_info qi;
	assert_int_equal(jr_queue_get_info(e, hi, &qi), 0);
	assert_int_equal(qi.priority, -3);
	assert_int_equal(qi.max_workers, 1);
	assert_int_equal(jr_queue_update(e, 63, 0, 0), -ENOENT);
	assert_int_equal(jr_queue_delete(e, hi), -EBUSY);	/* a's still queued */
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_int_equal(ran, 2);
	assert_int_equal(jr_queue_delete(e, hi), 0);
	assert_int_equal(jr_queue_delete(e, hi), -ENOENT);
	assert_int_equal(jr_queue_lookup(e, "hi", &hi), -ENOENT);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

struct hold_gate {
	uint32_t open;
	uint32_t in_flight;
};

static int held_gate_job(void *arg, const struct jr_job_ctx *ctx)
{
	struct hold_gate *g = arg;

	(void)ctx;
	__atomic_add_fetch(&g->in_flight, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&g->open, __ATOMIC_ACQUIRE))
		jrt_sleep_ms(1);
	__atomic_sub_fetch(&g->in_flight, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static bool until_ms(uint32_t *v, uint32_t want, int ms)
{
	for (int i = 0; i < ms; i++, jrt_sleep_ms(1))
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) == want)
			return true;
	return false;
}

static bool until_at_least_ms(uint32_t *v, uint32_t want, int ms)
{
	for (int i = 0; i < ms; i++, jrt_sleep_ms(1))
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			return true;
	return false;
}

/* Function jobs held by a cap of 1 are admitted as soon as
 * jr_queue_update() raises it to 3, not when a running one ends. */
static void test_raised_cap_releases_held(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(4, 4096, 0);
	struct hold_gate g = { 0 };
	struct jr_queue_info qi;
	uint32_t q;

	assert_int_equal(jr_queue_create(e, "one", 3, 1, &q), 0);
	/* One at a time, so that each goes to an idle worker (a worker's
	 * claimed batch would run them one after the other). */
	for (uint32_t i = 0; i < 3; i++) {
		struct jr_job_spec s = { held_gate_job, &g, JR_PRIORITY_FROM_QUEUE, q, NULL };
		assert_int_equal(jr_job_submit(e, &s, NULL), 0);
		if (i == 0)
			assert_true(until_ms(&g.in_flight, 1, 2000));
		for (int t = 0; t < 2000 && (jr_queue_get_info(e, q, &qi), qi.held != i); t++)
			jrt_sleep_ms(1);
		assert_int_equal(qi.held, i);
	}
	assert_int_equal(jr_queue_update(e, q, 3, 3), 0);
	/* Both held jobs carry tokens and are back on their ring at once; one
	 * worker may claim both in one batch and run them in turn, so at
	 * least one more runs now, or both at once on two idle workers (so
	 * 2 or 3 in flight: waiting for exactly 2 missed a jump from 1 to 3
	 * under ASan). 10 s: under ASan on a loaded 2-core machine 2 s was
	 * once not enough. */
	assert_true(until_at_least_ms(&g.in_flight, 2, 10000));
	assert_int_equal(jr_queue_get_info(e, q, &qi), 0);
	assert_int_equal(qi.held, 0);
	assert_int_equal(qi.running, 3);
	__atomic_store_n(&g.open, 1, __ATOMIC_RELEASE);
	assert_int_equal(jr_engine_wait_all(e), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_close_cancel_held(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(2, 4096, 0);
	struct cap_probe p = { 0 };
	uint32_t q;

	assert_int_equal(jr_queue_create(e, "one", 3, 1, &q), 0);
	for (int i = 0; i < 200; i++) {
		struct jr_job_spec s = { capped_job, &p, 3, q, NULL };
		assert_int_equal(jr_job_submit(e, &s, NULL), 0);
	}
	while (__atomic_load_n(&p.ran, __ATOMIC_RELAXED) < 3)
		jrt_sleep_ms(1);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
	assert_true(p.ran < 200);
	assert_int_equal(p.max_seen, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel_queued),
		cmocka_unit_test(test_cancel_running_is_busy),
		cmocka_unit_test(test_status_and_execution),
		cmocka_unit_test(test_bad_specs_rejected),
		cmocka_unit_test(test_table_full_is_eagain),
		cmocka_unit_test(test_stale_id_detected),
		cmocka_unit_test(test_close_drain_runs_everything),
		cmocka_unit_test(test_close_cancel_paused),
		cmocka_unit_test(test_close_cancel_while_running),
		cmocka_unit_test(test_close_rejects_bad_mode),
		cmocka_unit_test(test_queue_cap),
		cmocka_unit_test(test_queue_wide_priority_and_update),
		cmocka_unit_test(test_raised_cap_releases_held),
		cmocka_unit_test(test_close_cancel_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
