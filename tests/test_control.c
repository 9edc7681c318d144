/*
 * test_control.c - a command job's control through the public API:
 * hold and release (also submitted held), update of a queued job (its
 * start order changes; refused once started or ended), requeue of a
 * running job (a new attempt at the same id), pause and resume, and a
 * race of cancel, hold, release and requeue from several threads on the
 * same jobs.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char state_dir[64];	/* /tmp/jr-ctl-XXXXXX */
static uint32_t spawn_flags;	/* each test runs with runners, then inline */

static struct jr_engine *ctl_engine(void)
{
	struct jr_engine_opts o;
	struct jr_engine *e;

	jrt_engine_opts(&o, 1, 4096, spawn_flags, state_dir);
	o.kill_grace_ms = 300;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "ctl");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(state_dir);
}

static uint32_t all_cores(void)
{
	return (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
}

static jr_job_id submit_sh(struct jr_engine *e, const char *script, uint32_t cpus, int priority,
			   uint32_t flags)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct jr_command_spec spec = { .argv = argv, .cpus = cpus, .priority = priority,
					.flags = flags };
	jr_job_id id;

	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

static void wait_state(struct jr_engine *e, jr_job_id id, enum jr_job_state want)
{
	struct jr_job_info info;

	for (int i = 0; i < 5000; i++) {
		assert_int_equal(jr_job_get(e, id, &info), 0);
		if (info.state == want)
			return;
		jrt_sleep_ms(1);
	}
	fail_msg("job %llx never reached state %d (it is %d)", (unsigned long long)id, want,
		 info.state);
}

static void assert_held(struct jr_engine *e, jr_job_id id)
{
	struct jr_job_info info;

	assert_int_equal(jr_job_get(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);
	assert_int_equal(info.reason, JR_REASON_HELD);
}

static void test_hold_release(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	jr_job_id blocker = submit_sh(e, "exec sleep 30", all_cores(), JR_PRIORITY_DEFAULT, 0);
	jr_job_id job, submitted_held;
	struct jr_job_info info;

	wait_state(e, blocker, JR_JOB_RUNNING);
	job = submit_sh(e, "exit 0", 1, JR_PRIORITY_DEFAULT, 0);
	submitted_held = submit_sh(e, "exit 0", 1, JR_PRIORITY_DEFAULT, JR_COMMAND_HELD);
	assert_held(e, submitted_held);
	assert_int_equal(jr_command_hold(e, job), 0);
	assert_int_equal(jr_command_hold(e, job), 0);	/* idempotent */
	assert_held(e, job);
	assert_int_equal(jr_command_hold(e, blocker), -EBUSY);
	assert_int_equal(jr_job_cancel(e, blocker), 0);
	assert_int_equal(jr_job_wait(e, blocker, &info), 0);
	jrt_sleep_ms(200);	/* cores free: held jobs still do not start */
	assert_held(e, job);
	assert_held(e, submitted_held);
	assert_int_equal(jr_command_hold(e, blocker), -EALREADY);
	assert_int_equal(jr_command_release(e, job), 0);
	assert_int_equal(jr_command_release(e, submitted_held), 0);
	assert_int_equal(jr_job_wait(e, job, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_job_wait(e, submitted_held, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_command_release(e, job), -EALREADY);
	assert_int_equal(jr_command_hold(e, 0x1234), -ENOENT);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A held job cancelled ends cancelled (reason cancelled, not held); a
 * held job left at a cancelling close is cancelled too. */
static void test_hold_then_cancel(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	jr_job_id a = submit_sh(e, "exit 0", 1, JR_PRIORITY_DEFAULT, JR_COMMAND_HELD);
	jr_job_id b = submit_sh(e, "exit 0", 1, JR_PRIORITY_DEFAULT, JR_COMMAND_HELD);
	struct jr_job_info info;

	assert_int_equal(jr_job_cancel(e, a), 0);
	assert_int_equal(jr_job_wait(e, a, &info), 0);
	assert_int_equal(info.state, JR_JOB_CANCELLED);
	assert_int_equal(info.reason, JR_REASON_CANCELLED);
	assert_held(e, b);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Two jobs of one priority start in submission order; raising the later
 * one's priority makes it start first. */
static void test_update_changes_order(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	char path[128], script[512], out[64];
	jr_job_id blocker = submit_sh(e, "exec sleep 30", all_cores(), JR_PRIORITY_DEFAULT, 0);
	jr_job_id first, second;
	struct jr_job_info info;

	snprintf(path, sizeof(path), "%s/order", state_dir);
	unlink(path);
	wait_state(e, blocker, JR_JOB_RUNNING);
	snprintf(script, sizeof(script), "echo first >> %s", path);
	first = submit_sh(e, script, all_cores(), 3, 0);
	snprintf(script, sizeof(script), "echo second >> %s", path);
	second = submit_sh(e, script, all_cores(), 3, 0);

	char *argv[] = { "sh", "-c", script, NULL };
	struct jr_command_spec spec = { .argv = argv, .cpus = all_cores(), .priority = 6,
					.timeout_ms = 60000 };
	struct jr_command_update u = { .fields = JR_UPDATE_PRIORITY | JR_UPDATE_TIMEOUT,
				       .spec = &spec };
	assert_int_equal(jr_command_update(e, second, &u), 0);
	assert_int_equal(jr_job_get(e, second, &info), 0);
	assert_int_equal(info.priority, 6);
	spec.cpus = 1u << 20;
	assert_int_equal(jr_command_update(e, first, &u), -E2BIG);	/* more than the host */
	spec.cpus = all_cores();
	assert_int_equal(jr_command_update(e, blocker, &u), -EBUSY);
	u.zero = 1;
	assert_int_equal(jr_command_update(e, first, &u), -EINVAL);	/* reserved */
	u.zero = 0;
	assert_int_equal(jr_job_cancel(e, blocker), 0);
	assert_int_equal(jr_job_wait(e, first, &info), 0);
	assert_int_equal(jr_job_wait(e, second, &info), 0);
	read_file(path, out, sizeof(out));
	assert_string_equal(out, "second\nfirst\n");
	assert_int_equal(jr_command_update(e, second, &u), -EALREADY);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* Requeued while it runs: stopped, run again as attempt 2 (its
 * max_retries is 0), then it succeeds. */
static void test_requeue_running(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	char path[128], script[512];
	struct jr_job_info info;
	jr_job_id id;

	snprintf(path, sizeof(path), "%s/ran", state_dir);
	unlink(path);
	snprintf(script, sizeof(script),
		 "if [ -e %s ]; then exit 0; fi; : > %s; exec sleep 30", path, path);
	id = submit_sh(e, script, 1, JR_PRIORITY_DEFAULT, 0);
	wait_state(e, id, JR_JOB_RUNNING);
	for (int i = 0; i < 5000 && access(path, F_OK) != 0; i++)
		jrt_sleep_ms(1);
	assert_int_equal(jr_command_requeue(e, id), 0);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.attempts, 2);
	assert_int_equal(jr_command_requeue(e, id), -EALREADY);

	jr_job_id blocker = submit_sh(e, "exec sleep 30", all_cores(), JR_PRIORITY_DEFAULT, 0);
	jr_job_id queued = submit_sh(e, "exit 0", all_cores(), JR_PRIORITY_DEFAULT, 0);
	wait_state(e, blocker, JR_JOB_RUNNING);
	assert_int_equal(jr_command_requeue(e, queued), -EAGAIN);	/* not started */
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* Requeued after it ended: the same id runs again as attempt 2. A job
 * that has not ended, or an id whose slot went to another job, is
 * refused. */
static void test_requeue_ended(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	char path[128], script[512];
	char *argv[] = { "sh", "-c", script, NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };
	struct jr_job_info info;
	jr_job_id id;

	snprintf(path, sizeof(path), "%s/second", state_dir);
	unlink(path);
	snprintf(script, sizeof(script), "if [ -e %s ]; then exit 0; fi; : > %s; exit 3", path,
		 path);
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(jr_command_requeue(e, id), -EALREADY);
	assert_int_equal(jr_command_requeue_ended(e, id, &spec), 0);
	assert_int_equal(jr_command_requeue_ended(e, id, &spec), -EBUSY);	/* live again */
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.attempts, 2);
	assert_int_equal(jr_command_requeue_ended(e, id ^ (1ull << 40), &spec), -ENOENT);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* Requeues of ended jobs race new submissions for their slots (a table
 * of 16: the free ring cycles every few jobs): each slot goes to one job
 * only (the debug build asserts it when a slot is taken), and no slot is
 * lost or counted twice: the whole table can be filled at the end. */
#define SMALL_TABLE 16u

struct ring_race {
	struct jr_engine *e;
	jr_job_id ids[SMALL_TABLE / 2];
	int revived[SMALL_TABLE / 2];
};

static void *requeue_all(void *arg)
{
	struct ring_race *rr = arg;
	char *argv[] = { "true", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };

	for (uint32_t i = 0; i < SMALL_TABLE / 2; i++)
		rr->revived[i] = jr_command_requeue_ended(rr->e, rr->ids[i], &spec);
	return NULL;
}

static void test_requeue_ended_race(void **state)
{
	(void)state;
	struct jr_engine_opts o;
	struct jr_engine *e;
	struct ring_race rr;
	struct jr_job_info info;
	jr_job_id fresh[SMALL_TABLE];
	char *argv[] = { "true", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };
	uint64_t revived = 0, refused = 0;

	jrt_engine_opts(&o, 1, SMALL_TABLE, spawn_flags, state_dir);
	assert_int_equal(jr_engine_open(&e, &o), 0);
	rr.e = e;
	for (uint64_t round = 0; round < test_scaled(150); round++) {
		pthread_t t;
		uint32_t n = 0;
		for (uint32_t i = 0; i < SMALL_TABLE / 2; i++)
			assert_int_equal(jr_command_submit(e, &spec, &rr.ids[i]), 0);
		for (uint32_t i = 0; i < SMALL_TABLE / 2; i++)
			assert_int_equal(jr_job_wait(e, rr.ids[i], &info), 0);
		assert_int_equal(pthread_create(&t, NULL, requeue_all, &rr), 0);
		while (n < SMALL_TABLE / 2 && jr_command_submit(e, &spec, &fresh[n]) == 0)
			n++;
		pthread_join(t, NULL);
		for (uint32_t i = 0; i < SMALL_TABLE / 2; i++) {
			if (rr.revived[i] != 0 && rr.revived[i] != -ENOENT)
				fail_msg("requeue of an ended job: %d", rr.revived[i]);
			revived += rr.revived[i] == 0;
			refused += rr.revived[i] != 0;
			if (rr.revived[i] == 0) {
				assert_int_equal(jr_job_wait(e, rr.ids[i], &info), 0);
				assert_int_equal(info.attempts, 2);
			}
		}
		/* A fresh job that ended while the table was full may have
		 * given its slot to a later one (finished slots are reused
		 * oldest first, and the revived jobs hold theirs): gone, not
		 * lost. The count of slots below says none was lost. */
		for (uint32_t i = 0; i < n; i++) {
			int rc = jr_job_wait(e, fresh[i], &info);
			if (rc != 0 && rc != -ESTALE)
				fail_msg("wait for a fresh job: %d", rc);
		}
	}
	assert_true(revived > 0);
	/* Every slot but slot 0 can be taken: none lost, none twice. */
	uint32_t held = 0;
	jr_job_id all[SMALL_TABLE];
	spec.flags = JR_COMMAND_HELD;
	/* (A waiter wakes at a job's end a moment before its slot is given
	 * back: the last ones may take a few tries.) */
	for (int tries = 0; tries < 1000 && held < SMALL_TABLE - 1; tries++) {
		while (held < SMALL_TABLE && jr_command_submit(e, &spec, &all[held]) == 0)
			held++;
		jrt_sleep_ms(1);
	}
	assert_int_equal(held, SMALL_TABLE - 1);
	assert_int_not_equal(jr_command_submit(e, &spec, &all[0]), 0);	/* full */
	print_message("revived %llu, refused (slot reused first) %llu\n",
		      (unsigned long long)revived, (unsigned long long)refused);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* An external job: held off the ready lists (no claim gets it) and back
 * when released; updated while ready; requeued while a worker runs it
 * (the old execution has ended for its worker, the next claim is attempt
 * 2); a paused engine hands out nothing. */
#define WORKER (JR_EXTERNAL_WORKER_BASE + 1)

static void test_external_control(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	struct jr_command_spec spec = { .priority = 2, .flags = JR_COMMAND_EXTERNAL };
	struct jr_command_update u = { .fields = JR_UPDATE_PRIORITY, .spec = &spec };
	struct jr_job_info info;
	uint64_t first;
	jr_job_id id;

	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	assert_int_equal(jr_command_hold(e, id), 0);
	assert_held(e, id);
	assert_int_equal(jr_external_claim(e, WORKER, NULL, 0, &info), 0);
	assert_int_equal(jr_command_release(e, id), 0);
	spec.priority = 5;
	assert_int_equal(jr_command_update(e, id, &u), 0);
	assert_int_equal(jr_engine_pause(e), 0);
	assert_int_equal(jr_external_claim(e, WORKER, NULL, 0, &info), 0);
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_external_claim(e, WORKER, NULL, 0, &info), 1);
	assert_int_equal(info.job_id, id);
	assert_int_equal(info.priority, 5);
	first = info.exec.execution_id;
	assert_int_equal(jr_command_requeue(e, id), 0);
	assert_int_equal(jr_external_complete(e, first, 0, 0), -EALREADY);	/* it ended */
	assert_int_equal(jr_external_claim(e, WORKER, NULL, 0, &info), 1);
	assert_int_equal(info.exec.attempt, 2);
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_pause_resume(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	struct jr_job_info info;
	jr_job_id id;

	assert_int_equal(jr_engine_paused(e), 0);
	assert_int_equal(jr_engine_pause(e), 0);
	assert_int_equal(jr_engine_paused(e), 1);
	id = submit_sh(e, "exit 0", 1, JR_PRIORITY_DEFAULT, 0);
	jrt_sleep_ms(200);
	assert_int_equal(jr_job_get(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_QUEUED);
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_engine_paused(e), 0);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* --- the race ------------------------------------------------------------------ */

#define RACE_JOBS 48
#define RACE_THREADS 4

struct race {
	struct jr_engine *e;
	jr_job_id ids[RACE_JOBS];
	uint64_t ops;
	unsigned seed;
	uint64_t unexpected;	/* answers no call may give (asserted by the main thread) */
	uint64_t done;		/* calls that acted */
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	unsigned seed = r->seed;

	for (uint64_t i = 0; i < r->ops; i++) {
		jr_job_id id = r->ids[rand_r(&seed) % RACE_JOBS];
		int rc;
		switch (rand_r(&seed) % 8) {
		case 0: rc = jr_job_cancel(r->e, id); break;
		case 1: case 2: rc = jr_command_hold(r->e, id); break;
		case 3: case 4: case 5: rc = jr_command_release(r->e, id); break;
		default: rc = jr_command_requeue(r->e, id); break;
		}
		r->done += rc == 0;
		r->unexpected += !(rc == 0 || rc == -EBUSY || rc == -EALREADY || rc == -EAGAIN);
	}
	return NULL;
}

/* Every job ends (the held ones once released), exactly once, and the
 * engine's invariants (asserted in debug builds) hold throughout. */
static void test_race(void **state)
{
	(void)state;
	struct jr_engine *e = ctl_engine();
	struct race r[RACE_THREADS];
	pthread_t t[RACE_THREADS];
	jr_job_id ids[RACE_JOBS];
	struct jr_job_info info;

	for (int round = 0; round < 16; round++) {
		for (int j = 0; j < RACE_JOBS; j++)
			ids[j] = submit_sh(e, j % 3 ? "exec sleep 0.05" : "exit 0", 1,
					   JR_PRIORITY_DEFAULT, j % 5 ? 0 : JR_COMMAND_HELD);
		for (int k = 0; k < RACE_THREADS; k++) {
			r[k] = (struct race){ .e = e, .ops = test_scaled(20000),
					      .seed = (unsigned)(round * 131 + k) };
			memcpy(r[k].ids, ids, sizeof(ids));
			assert_int_equal(pthread_create(&t[k], NULL, race_thread, &r[k]), 0);
		}
		for (int k = 0; k < RACE_THREADS; k++) {
			pthread_join(t[k], NULL);
			assert_int_equal(r[k].unexpected, 0);
			assert_true(r[k].done > 0);
		}
		for (int j = 0; j < RACE_JOBS; j++) {
			int rc = jr_command_release(e, ids[j]);
			assert_true(rc == 0 || rc == -EBUSY || rc == -EALREADY);
			assert_int_equal(jr_job_wait(e, ids[j], &info), 0);
			assert_true(info.state >= JR_JOB_SUCCEEDED);
		}
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

int main(void)
{
	int failed;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_release),
		cmocka_unit_test(test_hold_then_cancel),
		cmocka_unit_test(test_update_changes_order),
		cmocka_unit_test(test_requeue_running),
		cmocka_unit_test(test_requeue_ended),
		cmocka_unit_test(test_requeue_ended_race),
		cmocka_unit_test(test_external_control),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_race),
	};
	failed = cmocka_run_group_tests_name("runner threads", tests, setup, teardown);
	spawn_flags = JR_ENGINE_SPAWN_INLINE;
	failed += cmocka_run_group_tests_name("coordinator spawns", tests, setup, teardown);
	return failed;
}
