/*
 * test_restore.c - the engine side of recovery: job events (what jobringd
 * journals) and jr_command_restore() (what its recovery calls): restored
 * jobs keep their ids, final ones are only shown, queued ones run with
 * their attempts counted and their dependencies honoured, and the slots
 * no one restored are free again; external jobs that were running run on
 * (issue 17).
 */
#include "testutil.h"
#include "engine/engine.h"
#include "shm/jobtab.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char state_dir[64];	/* /tmp/jr-restore-XXXXXX */

#define EVENTS_MAX 64
static struct jr_job_event events[EVENTS_MAX];
static int event_count;
static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_event(void *ctx, const struct jr_job_event *ev)
{
	(void)ctx;
	pthread_mutex_lock(&event_lock);
	if (event_count < EVENTS_MAX)
		events[event_count++] = *ev;
	pthread_mutex_unlock(&event_lock);
}

static struct jr_engine *engine(uint32_t capacity)
{
	struct jr_engine_opts o;
	struct jr_engine *e;

	jrt_engine_opts(&o, 1, capacity, 0, state_dir);
	o.job_event = on_event;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "restore");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(state_dir);
}

static char *sh_ok[] = { "sh", "-c", "exit 0", NULL };
static char *sh_fail[] = { "sh", "-c", "exit 3", NULL };

static struct jr_command_spec spec_of(char **argv)
{
	struct jr_command_spec s = { 0 };

	s.argv = argv;
	s.priority = JR_PRIORITY_DEFAULT;
	return s;
}

static int events_of(jr_job_id id, enum jr_job_event_kind kind, struct jr_job_event *last)
{
	int n = 0;

	pthread_mutex_lock(&event_lock);
	for (int i = 0; i < event_count; i++)
		if (events[i].job_id == id && events[i].kind == kind) {
			n++;
			if (last)
				*last = events[i];
		}
	pthread_mutex_unlock(&event_lock);
	return n;
}

/* Start, retry and end are each told once per happening. */
static void test_events(void **state)
{
	(void)state;
	struct jr_engine *e = engine(64);
	struct jr_command_spec ok = spec_of(sh_ok), bad = spec_of(sh_fail);
	struct jr_job_event ev;
	struct jr_job_info info;
	jr_job_id a, b;

	event_count = 0;
	bad.max_retries = 1;
	bad.backoff_base_ms = bad.backoff_max_ms = 1;
	assert_int_equal(jr_command_submit(e, &ok, &a), 0);
	assert_int_equal(jr_command_submit(e, &bad, &b), 0);
	assert_int_equal(jr_job_wait(e, a, &info), 0);
	assert_int_equal(jr_job_wait(e, b, &info), 0);
	assert_int_equal(events_of(a, JR_EVENT_STARTED, NULL), 1);
	assert_int_equal(events_of(a, JR_EVENT_ENDED, &ev), 1);
	assert_int_equal(ev.state, JR_JOB_SUCCEEDED);
	assert_int_equal(ev.attempt, 1);
	assert_int_equal(events_of(b, JR_EVENT_STARTED, NULL), 2);
	assert_int_equal(events_of(b, JR_EVENT_RETRYING, &ev), 1);
	assert_int_equal(ev.reason, JR_REASON_EXIT);
	assert_int_equal(ev.exit_code, 3);
	assert_int_equal(events_of(b, JR_EVENT_ENDED, &ev), 1);
	assert_int_equal(ev.state, JR_JOB_FAILED);
	assert_int_equal(ev.attempt, 2);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static jr_job_id id_at(uint32_t gen, uint32_t index)
{
	return (uint64_t)gen << 32 | index;
}

static void test_restore_ids_states_dependencies(void **state)
{
	(void)state;
	struct jr_engine *e = engine(64);
	jr_job_id done = id_at(7, 5), lost = id_at(3, 9), after = id_at(1, 2);
	struct jr_command_spec specs[3] = { spec_of(sh_ok), spec_of(sh_ok), spec_of(sh_ok) };
	struct jr_job_restore rs[3] = {
		{ .job_id = done, .state = JR_JOB_SUCCEEDED, .attempt = 1, .created_ns = 1000,
		  .start_ns = 2000, .end_ns = 3000, .exit_code = 0 },
		{ .job_id = lost, .state = JR_JOB_QUEUED, .attempt = 1,
		  .reason = JR_REASON_COORDINATOR_LOST, .created_ns = 1000 },
		{ .job_id = after, .state = JR_JOB_QUEUED, .created_ns = 1000 },
	};
	struct jr_job_info info;
	jr_job_id fresh[62];
	size_t bad = 99;

	event_count = 0;
	specs[2].after = &lost;
	specs[2].after_count = 1;
	assert_int_equal(jr_command_restore(e, specs, rs, 3, &bad), 0);
	/* Submissions wait for restore_done; a slot is restored once. */
	assert_int_equal(jr_command_submit(e, &specs[0], NULL), -EBUSY);
	assert_int_equal(jr_command_restore(e, specs, rs, 1, &bad), -EEXIST);
	assert_int_equal(bad, 0);
	assert_int_equal(jr_command_restore_done(e), 0);
	assert_int_equal(jr_command_restore(e, specs, rs, 1, &bad), -EBUSY);

	assert_int_equal(jr_job_get(e, done, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.exec.end_ns, 3000);
	assert_int_equal(jr_job_wait(e, after, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_job_get(e, lost, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.exec.attempt, 2);	/* the lost attempt counts */
	/* The dependent started after its dependency ended. */
	struct jr_job_event end_lost, start_after;
	assert_int_equal(events_of(lost, JR_EVENT_ENDED, &end_lost), 1);
	assert_int_equal(events_of(after, JR_EVENT_STARTED, &start_after), 1);
	assert_true(start_after.time_ns >= end_lost.time_ns);
	assert_int_equal(events_of(done, JR_EVENT_STARTED, NULL), 0);

	/* Every other slot is free again, and no new job gets a restored
	 * job's id. */
	for (int i = 0; i < 60; i++) {
		assert_int_equal(jr_command_submit(e, &specs[0], &fresh[i]), 0);
		assert_true(fresh[i] != done && fresh[i] != lost && fresh[i] != after);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A table filled by restore has no free slot left for a submission. */
static void test_restore_fills_table(void **state)
{
	(void)state;
	struct jr_engine *e = engine(8);	/* slots 1..7 */
	struct jr_command_spec specs[7];
	struct jr_job_restore rs[7];

	for (int i = 0; i < 7; i++) {	/* external: nothing here runs them */
		specs[i] = spec_of(NULL);
		specs[i].flags = JR_COMMAND_EXTERNAL;
		rs[i] = (struct jr_job_restore){ .job_id = id_at(2, (uint32_t)i + 1),
						 .state = JR_JOB_QUEUED };
	}
	assert_int_equal(jr_command_restore(e, specs, rs, 7, NULL), 0);
	assert_int_equal(jr_command_restore_done(e), 0);
	assert_int_equal(jr_command_submit(e, &specs[0], NULL), -EAGAIN);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* Restored jobs that end while the restore is still going on (a cancel
 * acknowledged before the restart, an end the keeper saw) must not hand
 * their slots out first: the daemon's recovery restores in chunks. Their
 * ids must keep answering, and new jobs get untouched slots. */
/* Nothing starts until the restore is done: a job taken back later (its
 * process still running) holds cores that a start would take. */
static void test_nothing_starts_during_restore(void **state)
{
	(void)state;
	struct jr_engine *e = engine(64);
	struct jr_command_spec specs[4];
	struct jr_job_restore rs[4];
	struct jr_job_info info;

	for (int i = 0; i < 4; i++) {
		specs[i] = spec_of(sh_ok);
		rs[i] = (struct jr_job_restore){ .job_id = id_at(1, (uint32_t)i + 1),
						 .state = JR_JOB_QUEUED, .created_ns = 1000 };
	}
	assert_int_equal(jr_command_restore(e, specs, rs, 4, NULL), 0);
	usleep(200 * 1000);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(jr_job_get(e, rs[i].job_id, &info), 0);
		assert_int_equal(info.state, JR_JOB_QUEUED);
	}
	assert_int_equal(jr_command_restore_done(e), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(jr_job_wait(e, rs[i].job_id, &info), 0);
		assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_restore_jobs_ending_during_restore(void **state)
{
	(void)state;
	struct jr_engine *e = engine(64);
	struct jr_command_spec specs[8];
	struct jr_job_restore rs[8];
	struct jr_job_info info;
	jr_job_id fresh[5];

	for (int i = 0; i < 8; i++) {
		specs[i] = spec_of(sh_ok);
		rs[i] = (struct jr_job_restore){ .job_id = id_at(1, (uint32_t)i + 1),
						 .state = JR_JOB_QUEUED, .created_ns = 1000,
						 .cancel = 1 };
	}
	assert_int_equal(jr_command_restore(e, specs, rs, 8, NULL), 0);
	for (int i = 0; i < 8; i++) {	/* they end before restore_done */
		assert_int_equal(jr_job_wait(e, rs[i].job_id, &info), 0);
		assert_int_equal(info.state, JR_JOB_CANCELLED);
		assert_int_equal(info.attempts, 0);	/* never started */
	}
	assert_int_equal(jr_command_restore_done(e), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(jr_command_submit(e, &specs[0], &fresh[i]), 0);
		assert_true((uint32_t)fresh[i] > 8);	/* an untouched slot */
		assert_int_equal(jr_job_wait(e, fresh[i], &info), 0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(jr_job_get(e, rs[i].job_id, &info), 0);
		assert_int_equal(info.state, JR_JOB_CANCELLED);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* External jobs that ran when the daemon stopped run on (issue 17): the
 * same attempt on the same worker, completed once by their worker; a
 * cancel acknowledged before the restart ends one at once, a time limit
 * passed meanwhile ends one as timeout; what one takes of its worker is
 * there for the daemon's books (jr_engine_ext_taken). */
static void test_restore_external_running(void **state)
{
	(void)state;
	struct jr_engine *e = engine(64);
	struct jr_command_spec specs[3];
	struct jr_job_restore rs[3];
	struct jr_external_res taken;
	struct jr_job_info info;
	uint64_t now = jr_now_realtime_ns(), exec[3];

	for (int i = 0; i < 3; i++) {
		specs[i] = spec_of(NULL);
		specs[i].flags = JR_COMMAND_EXTERNAL;
		specs[i].cpus = 2;
		rs[i] = (struct jr_job_restore){ .job_id = id_at(1, (uint32_t)i + 1),
						 .state = JR_JOB_RUNNING, .attempt = 1,
						 .worker_id = JR_EXTERNAL_WORKER_BASE + 1 + (uint32_t)i,
						 .created_ns = now - 2000000000ull,
						 .start_ns = now - 1000000000ull };
		exec[i] = jr_execution_id(rs[i].job_id, 1);
	}
	rs[1].cancel = 1;		/* acknowledged, not yet obeyed */
	specs[2].timeout_ms = 500;	/* passed while nobody watched */
	assert_int_equal(jr_command_restore(e, specs, rs, 3, NULL), 0);
	assert_int_equal(jr_command_restore_done(e), 0);

	assert_int_equal(jr_job_get(e, rs[0].job_id, &info), 0);
	assert_int_equal(info.state, JR_JOB_RUNNING);
	assert_int_equal(info.exec.attempt, 1);
	assert_int_equal(info.exec.execution_id, exec[0]);
	assert_int_equal(info.exec.worker_id, JR_EXTERNAL_WORKER_BASE + 1);
	assert_int_equal(info.exec.start_ns, rs[0].start_ns);
	assert_int_equal(jr_engine_ext_taken(e, exec[0], &taken), 0);
	assert_int_equal(taken.cpus, 2);
	assert_int_equal(jr_external_complete(e, exec[0], 0, 0), 0);
	assert_true(jr_external_complete(e, exec[0], 0, 0) < 0);	/* once only */
	assert_int_equal(jr_job_get(e, rs[0].job_id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.attempts, 1);

	assert_int_equal(jr_job_wait(e, rs[1].job_id, &info), 0);
	assert_int_equal(info.state, JR_JOB_CANCELLED);
	assert_int_equal(info.attempts, 1);
	assert_int_equal(jr_engine_ext_taken(e, exec[1], &taken), -ESTALE);

	assert_int_equal(jr_job_wait(e, rs[2].job_id, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.reason, JR_REASON_TIMEOUT);
	assert_int_equal(info.attempts, 1);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_restore_ids_states_dependencies),
		cmocka_unit_test(test_restore_fills_table),
		cmocka_unit_test(test_nothing_starts_during_restore),
		cmocka_unit_test(test_restore_jobs_ending_during_restore),
		cmocka_unit_test(test_restore_external_running),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
