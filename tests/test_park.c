/*
 * test_park.c - parked runs (coord/park.c; issue 14: memory per queued
 * job) through the public API, with JOBRING_PARK_AFTER=0 so that every
 * run of 16 alike plain jobs is parked: they are counted queued, run to
 * their end, start in priority and submission order, and a cancel, a
 * hold, an update, a requeue or a dependency on one of them finds it; a
 * cancelling close ends them all.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RUN 64

static char state_dir[64];	/* /tmp/jr-park-XXXXXX */

static int setup(void **state)
{
	(void)state;
	setenv("JOBRING_PARK_AFTER", "0", 1);
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "park");
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("JOBRING_PARK_AFTER");
	return jrt_dir_remove(state_dir);
}

static struct jr_engine *park_engine(uint32_t cores)
{
	struct jr_engine_opts o;
	struct jr_engine *e;

	jrt_engine_opts(&o, cores, 8192, JR_ENGINE_START_PAUSED, state_dir);
	o.kill_grace_ms = 300;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

/* n alike jobs of this priority running argv: their ids in ids. */
static void submit_run(struct jr_engine *e, char **argv, int priority, size_t n, jr_job_id *ids)
{
	struct jr_command_spec *specs = calloc(n, sizeof(*specs));
	char names[RUN][48];

	assert_true(n <= RUN);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d-%u", priority, (unsigned)i);
		specs[i] = (struct jr_command_spec){ .argv = argv, .priority = priority,
						     .flags = JR_COMMAND_PRIORITY_SET,
						     .name = names[i] };
	}
	assert_int_equal(jr_command_submit_batch(e, specs, n, ids, NULL), 0);
	free(specs);
}

static uint64_t queued(struct jr_engine *e)
{
	struct jr_stats st;

	/* The coordinator takes batches in on its own thread: wait for it. */
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(jr_engine_stats(e, &st), 0);
		if (st.queued)
			break;
		jrt_sleep_ms(1);
	}
	return st.queued;
}

static struct jr_job_info wait_end(struct jr_engine *e, jr_job_id id)
{
	struct jr_job_info info;

	assert_int_equal(jr_job_wait(e, id, &info), 0);
	return info;
}

/* Parked jobs count as queued, and run to their end once resumed. */
static void test_parked_run(void **state)
{
	(void)state;
	char *argv[] = { "/bin/true", NULL };
	struct jr_engine *e = park_engine(2);
	jr_job_id ids[RUN];
	struct jr_stats st;

	submit_run(e, argv, 3, RUN, ids);
	assert_int_equal(queued(e), RUN);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued_by_priority[3], RUN);
	assert_int_equal(jr_engine_resume(e), 0);
	for (size_t i = 0; i < RUN; i++)
		assert_int_equal(wait_end(e, ids[i]).state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* One core: the later run of higher priority starts first, and each run
 * in its submission order. */
static void test_parked_order(void **state)
{
	(void)state;
	char *argv[] = { "/bin/true", NULL };
	struct jr_engine *e = park_engine(1);
	jr_job_id low[RUN], high[RUN];
	uint64_t last_high = 0, prev = 0;

	submit_run(e, argv, 1, RUN, low);
	submit_run(e, argv, 6, RUN, high);
	assert_int_equal(queued(e) >= RUN, true);
	assert_int_equal(jr_engine_resume(e), 0);
	for (size_t i = 0; i < RUN; i++) {
		struct jr_job_info h = wait_end(e, high[i]);
		assert_int_equal(h.state, JR_JOB_SUCCEEDED);
		assert_true(h.exec.start_ns >= prev);
		prev = last_high = h.exec.start_ns;
	}
	prev = 0;
	for (size_t i = 0; i < RUN; i++) {
		struct jr_job_info l = wait_end(e, low[i]);
		assert_int_equal(l.state, JR_JOB_SUCCEEDED);
		assert_true(l.exec.start_ns > last_high);
		assert_true(l.exec.start_ns >= prev);
		prev = l.exec.start_ns;
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* Controls and dependencies reach a job in the middle of a parked run. */
static void test_parked_controls(void **state)
{
	(void)state;
	char *argv[] = { "/bin/true", NULL };
	struct jr_engine *e = park_engine(2);
	jr_job_id ids[RUN], dep;
	jr_job_id after[1];
	struct jr_command_spec spec = { .argv = argv, .after = after, .after_count = 1 };
	struct jr_job_info info;

	submit_run(e, argv, 2, RUN, ids);
	assert_int_equal(queued(e), RUN);
	assert_int_equal(jr_job_cancel(e, ids[10]), 0);
	assert_int_equal(jr_command_hold(e, ids[20]), 0);
	after[0] = ids[40];
	assert_int_equal(jr_command_submit(e, &spec, &dep), 0);
	assert_int_equal(jr_job_get(e, ids[20], &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);
	assert_int_equal(info.reason, JR_REASON_HELD);
	assert_int_equal(jr_job_get(e, dep, &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(wait_end(e, ids[10]).state, JR_JOB_CANCELLED);
	assert_int_equal(wait_end(e, dep).state, JR_JOB_SUCCEEDED);
	assert_true(wait_end(e, dep).exec.start_ns >= wait_end(e, ids[40]).exec.end_ns);
	for (size_t i = 0; i < RUN; i++)
		if (i != 10 && i != 20)
			assert_int_equal(wait_end(e, ids[i]).state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_job_get(e, ids[20], &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);	/* still held */
	assert_int_equal(jr_command_release(e, ids[20]), 0);
	assert_int_equal(wait_end(e, ids[20]).state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A cancel of every job of a parked run, last first, and of one of a
 * run being built in a pass, leaves nothing behind; a cancelling close
 * ends what is parked. */
static void test_parked_cancel(void **state)
{
	(void)state;
	char *argv[] = { "/bin/true", NULL };
	struct jr_engine *e = park_engine(2);
	jr_job_id a[RUN], b[RUN];
	struct jr_stats st;

	submit_run(e, argv, 4, RUN, a);
	submit_run(e, argv, 4, RUN, b);
	assert_int_equal(queued(e) >= RUN, true);
	for (size_t i = RUN; i-- > 0;)
		assert_int_equal(jr_job_cancel(e, a[i]), 0);
	for (size_t i = 0; i < RUN; i++)
		assert_int_equal(wait_end(e, a[i]).state, JR_JOB_CANCELLED);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(jr_engine_stats(e, &st), 0);
		if (st.queued == RUN)
			break;
		jrt_sleep_ms(1);
	}
	assert_int_equal(st.queued, RUN);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parked_run),
		cmocka_unit_test(test_parked_order),
		cmocka_unit_test(test_parked_controls),
		cmocka_unit_test(test_parked_cancel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
