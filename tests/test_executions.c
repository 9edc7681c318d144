/*
 * test_executions.c - the history of executions (daemon/state/executions.c)
 * alone: a retried attempt is kept, a lone final one is not; attempts stay
 * in order whatever order they arrive in; a start and an end are
 * idempotent per attempt; results up to EXEC_RESULT_MAX and no more; a
 * newer job in a slot replaces an older one's history (and a stale event
 * does not drop a newer one's); the latest attempt kept before a requeue;
 * a snapshot's records put back; a recovery's history handed over; an
 * attempt running at a restart ended by its job's next start, as lost;
 * a table of several runs marks only the runs that had an entry, and
 * finds each entry there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/state/executions.h"
#include "shm/jobtab.h"

#define CAP 16u

static struct exec_end end_of(jr_job_id id, uint32_t attempt, bool retried, int code)
{
	return (struct exec_end){ .id = id, .attempt = attempt, .worker_id = 7,
				  .state = retried ? JR_JOB_QUEUED : (code ? JR_JOB_FAILED :
									 JR_JOB_SUCCEEDED),
				  .reason = code ? JR_REASON_EXIT : JR_REASON_NONE,
				  .retried = retried, .start_ns = 100 * attempt,
				  .end_ns = 100 * attempt + 50, .status = { .exit_code = code } };
}

static void test_retried_attempts_kept_lone_end_not(void **state)
{
	struct executions x;
	jr_job_id a = jr_job_id_make(1, 3), b = jr_job_id_make(1, 4);
	struct exec_end e;
	(void)state;

	assert_int_equal(executions_init(&x, CAP), 0);
	e = end_of(b, 1, /* retried */ false, 0);
	assert_int_equal(executions_ended(&x, &e), 0);
	assert_null(executions_of(&x, b));	/* the table shows it */
	e = end_of(a, 1, /* retried */ true, 5);
	assert_int_equal(executions_ended(&x, &e), 0);
	executions_started(&x, a, 2, 7, 200);
	e = end_of(a, 2, /* retried */ false, 0);
	assert_int_equal(executions_ended(&x, &e), 0);
	const struct exec_job *j = executions_of(&x, a);
	assert_non_null(j);
	assert_int_equal(j->count, 2);
	assert_int_equal(j->recs[0].attempt, 1);
	assert_int_equal(j->recs[0].state, JR_JOB_FAILED);	/* retried: failed */
	assert_int_equal(j->recs[0].status.exit_code, 5);
	assert_int_equal(j->recs[1].state, JR_JOB_SUCCEEDED);
	assert_int_equal(j->recs[1].start_ns, 200);
	/* The same end again changes nothing. */
	assert_int_equal(executions_ended(&x, &e), 0);
	assert_int_equal(executions_of(&x, a)->count, 2);
	assert_int_equal(x.records, 2);
	executions_destroy(&x);
}

static void test_attempts_in_order(void **state)
{
	struct executions x;
	jr_job_id a = jr_job_id_make(2, 1);
	uint32_t order[] = { 5, 2, 9, 1, 3 };
	(void)state;

	assert_int_equal(executions_init(&x, CAP), 0);
	for (size_t i = 0; i < 5; i++) {
		struct exec_end e = end_of(a, order[i], true, 1);
		assert_int_equal(executions_ended(&x, &e), 0);
	}
	const struct exec_job *j = executions_of(&x, a);
	assert_int_equal(j->count, 5);
	for (uint32_t i = 1; i < j->count; i++)
		assert_true(j->recs[i - 1].attempt < j->recs[i].attempt);
	assert_non_null(executions_find(&x, a, 9));
	assert_null(executions_find(&x, a, 4));
	executions_destroy(&x);
}

static void test_result_limit(void **state)
{
	struct executions x;
	jr_job_id a = jr_job_id_make(1, 5);
	char *big = malloc(EXEC_RESULT_MAX + 1);
	(void)state;

	memset(big, 'x', EXEC_RESULT_MAX + 1);
	assert_int_equal(executions_init(&x, CAP), 0);
	assert_int_equal(executions_set_result(&x, a, 1, big, EXEC_RESULT_MAX + 1), -E2BIG);
	assert_null(executions_of(&x, a));
	assert_int_equal(executions_set_result(&x, a, 1, big, EXEC_RESULT_MAX), 0);
	assert_int_equal(x.result_bytes, EXEC_RESULT_MAX);
	assert_int_equal(executions_set_result(&x, a, 1, "{\"a\":1}", 7), 0);
	assert_string_equal(executions_find(&x, a, 1)->result, "{\"a\":1}");
	assert_int_equal(x.result_bytes, 7);
	/* A result makes a history: the attempt's end is kept after it. */
	struct exec_end e = end_of(a, 1, /* retried */ false, 0);
	assert_int_equal(executions_ended(&x, &e), 0);
	assert_true(executions_find(&x, a, 1)->ended);
	executions_destroy(&x);
	free(big);
}

static void test_slot_reuse(void **state)
{
	struct executions x;
	jr_job_id old = jr_job_id_make(1, 6), young = jr_job_id_make(2, 6);
	struct exec_end e;
	(void)state;

	assert_int_equal(executions_init(&x, CAP), 0);
	e = end_of(old, 1, true, 1);
	executions_ended(&x, &e);
	assert_non_null(executions_of(&x, old));
	executions_started(&x, young, 1, 7, 10);	/* the slot's next job starts */
	assert_null(executions_of(&x, old));
	assert_int_equal(x.jobs, 0);
	e = end_of(young, 1, true, 1);
	executions_ended(&x, &e);
	e = end_of(old, 2, true, 1);	/* stale: the older job's */
	assert_int_equal(executions_ended(&x, &e), -ESTALE);
	executions_started(&x, old, 3, 7, 10);
	assert_non_null(executions_of(&x, young));
	assert_null(executions_of(&x, old));
	e = end_of(jr_job_id_make(1, CAP), 1, true, 1);	/* beyond the table */
	assert_int_equal(executions_ended(&x, &e), -ESTALE);
	executions_drop(&x, young);
	assert_int_equal(x.jobs, 0);
	assert_int_equal(x.records, 0);
	executions_destroy(&x);
}

/* Entries in far-apart runs of a large table: each found, only their
 * runs marked (the others' pages never read), an older job's entry in a
 * marked run dropped by a newer job's start, nothing made by a start or
 * a lone end in an unmarked run. */
static void test_runs_marked(void **state)
{
	uint32_t cap = 8 * EXEC_RUN_SLOTS;
	jr_job_id a = jr_job_id_make(1, 5), b = jr_job_id_make(1, 6 * EXEC_RUN_SLOTS + 9);
	struct executions x;
	struct exec_end e;
	(void)state;

	assert_int_equal(executions_init(&x, cap), 0);
	e = end_of(jr_job_id_make(1, 3 * EXEC_RUN_SLOTS), 1, false, 0);
	assert_int_equal(executions_ended(&x, &e), 0);	/* lone end: nothing kept */
	executions_started(&x, jr_job_id_make(1, 4 * EXEC_RUN_SLOTS), 1, 7, 10);
	assert_int_equal(x.runs_used[0], 0);
	e = end_of(a, 1, true, 1);
	assert_int_equal(executions_ended(&x, &e), 0);
	e = end_of(b, 1, true, 1);
	assert_int_equal(executions_ended(&x, &e), 0);
	assert_int_equal(x.runs_used[0], (1ull << 0) | (1ull << 6));
	assert_non_null(executions_of(&x, a));
	assert_non_null(executions_of(&x, b));
	assert_null(executions_of(&x, jr_job_id_make(1, 2 * EXEC_RUN_SLOTS)));
	executions_started(&x, jr_job_id_make(2, 6 * EXEC_RUN_SLOTS + 9), 1, 7, 10);
	assert_null(executions_of(&x, b));
	assert_int_equal(x.jobs, 1);
	executions_destroy(&x);
}

static void test_keep_latest_and_restore(void **state)
{
	struct executions x, from;
	jr_job_id a = jr_job_id_make(1, 7);
	struct jr_job_info info;
	struct exec_rec rec = { .attempt = 2, .state = JR_JOB_FAILED, .ended = 1,
				.result = "[1,2]", .result_len = 5, .status = { .exit_code = 4 } };
	(void)state;

	memset(&info, 0, sizeof(info));
	info.job_id = a;
	info.state = JR_JOB_SUCCEEDED;
	assert_int_equal(executions_init(&x, CAP), 0);
	assert_int_equal(executions_keep_latest(&x, &info), -ENOENT);	/* none ran */
	info.exec = (struct jr_execution){ .execution_id = jr_execution_id(a, 1), .job_id = a,
					   .attempt = 1, .start_ns = 5, .end_ns = 9,
					   .status = JR_JOB_SUCCEEDED };
	assert_int_equal(executions_keep_latest(&x, &info), 0);
	const struct exec_rec *r = executions_find(&x, a, 1);
	assert_non_null(r);
	assert_int_equal(r->state, JR_JOB_SUCCEEDED);	/* as it ended */
	assert_int_equal(r->end_ns, 9);
	assert_true(r->ended);
	/* A snapshot's record, then handed over as recovery does. */
	assert_int_equal(executions_init(&from, CAP), 0);
	assert_int_equal(executions_restore(&from, a, &rec), 0);
	executions_destroy(&x);
	assert_int_equal(executions_init(&x, CAP), 0);
	executions_take(&x, &from);
	assert_int_equal(from.jobs, 0);
	assert_null(executions_of(&from, a));
	r = executions_find(&x, a, 2);
	assert_non_null(r);
	assert_string_equal(r->result, "[1,2]");
	assert_int_equal(r->status.exit_code, 4);
	executions_destroy(&from);
	executions_destroy(&x);
}

static void test_running_at_a_restart(void **state)
{
	struct executions x;
	jr_job_id taken = jr_job_id_make(1, 8), lost = jr_job_id_make(1, 9);
	struct exec_end e;
	(void)state;

	assert_int_equal(executions_init(&x, CAP), 0);
	assert_int_equal(executions_was_running(&x, taken, 1, 7, 10), 0);
	assert_int_equal(executions_was_running(&x, lost, 3, 7, 10), 0);
	e = end_of(taken, 1, /* retried */ false, 0);	/* taken back, then ended */
	assert_int_equal(executions_ended(&x, &e), 0);
	assert_int_equal(executions_find(&x, taken, 1)->state, JR_JOB_SUCCEEDED);
	executions_started(&x, lost, 4, 8, 20);		/* run again */
	const struct exec_rec *r = executions_find(&x, lost, 3);
	assert_true(r->ended);
	assert_int_equal(r->state, JR_JOB_FAILED);
	assert_int_equal(r->reason, JR_REASON_COORDINATOR_LOST);
	assert_int_equal(r->start_ns, 10);
	assert_int_equal(executions_find(&x, lost, 4)->state, JR_JOB_RUNNING);
	executions_destroy(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retried_attempts_kept_lone_end_not),
		cmocka_unit_test(test_attempts_in_order),
		cmocka_unit_test(test_result_limit),
		cmocka_unit_test(test_slot_reuse),
		cmocka_unit_test(test_runs_marked),
		cmocka_unit_test(test_keep_latest_and_restore),
		cmocka_unit_test(test_running_at_a_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
