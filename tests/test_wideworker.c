/*
 * test_wideworker.c - worker ids past 16 bits (issue 14): the job slot
 * keeps 23 bits (worker_id and bits 1-7 of its flags) without disturbing
 * the token flag or the progress byte; a journal event and a snapshot job
 * carry them in the new layout (REC_STATE_WORKER_HI), are byte for byte
 * the old layout for ids that fit 16 bits, and records of the old layout
 * read as before; recovery (recover_record) takes either layout to the
 * job and its history of executions.
 */
#include "testutil.h"

#include <string.h>

#include "daemon/durable/records.h"
#include "daemon/durable/recover.h"
#include "base/alloc.h"
#include "shm/cmdrec.h"
#include "shm/jobtab.h"

static const uint32_t ids[] = { 0, 1, 7, JR_EXTERNAL_WORKER_BASE, JR_EXTERNAL_WORKER_BASE + 1,
				65535, 65536, 65537, JR_EXTERNAL_WORKER_BASE + 70000,
				JR_EXTERNAL_WORKER_BASE + 1048576, 0x7abcde,
				JR_EXTERNAL_WORKER_MAX };
#define N_IDS (sizeof(ids) / sizeof(ids[0]))

static void test_slot_keeps_23_bits_and_its_flags(void **state)
{
	struct jr_slot s;

	(void)state;
	for (size_t i = 0; i < N_IDS; i++) {
		memset(&s, 0, sizeof(s));
		s.flags = JR_SLOT_F_TOKEN | 42u << JR_SLOT_PROGRESS_SHIFT;
		jr_slot_set_worker(&s, ids[i]);
		assert_int_equal(jr_slot_worker(&s), ids[i]);
		assert_int_equal(s.flags & JR_SLOT_F_TOKEN, JR_SLOT_F_TOKEN);
		assert_int_equal(s.flags >> JR_SLOT_PROGRESS_SHIFT, 42);
		/* What the flags' other writers do keeps the id: a progress
		 * report (coord/state.c), the token given back (queue.c). */
		s.flags = (uint16_t)((s.flags & 0xff) | 77u << JR_SLOT_PROGRESS_SHIFT);
		s.flags = (uint16_t)(s.flags & ~JR_SLOT_F_TOKEN);
		assert_int_equal(jr_slot_worker(&s), ids[i]);
		/* A smaller id afterwards clears the high bits. */
		jr_slot_set_worker(&s, 3);
		assert_int_equal(jr_slot_worker(&s), 3);
		assert_int_equal(s.flags >> JR_SLOT_PROGRESS_SHIFT, 77);
	}
}

/* A rec_event as the previous version wrote it: each field by its offset. */
static void old_event_bytes(uint8_t *b, jr_job_id id, uint8_t st, uint16_t worker,
			    uint32_t attempt)
{
	memset(b, 0, sizeof(struct rec_event));
	memcpy(b, &id, 8);
	b[8] = st;
	b[9] = JR_REASON_EXIT;
	memcpy(b + 10, &worker, 2);
	memcpy(b + 12, &attempt, 4);
}

static void test_event_layouts(void **state)
{
	static const uint32_t attempts[] = { 0, 1, 2, 1000, 65535 };
	uint8_t old[sizeof(struct rec_event)];
	struct rec_event e;

	(void)state;
	/* The old layout reads as it did, its whole 32-bit attempt too. */
	old_event_bytes(old, 0x100000005ull, JR_JOB_FAILED, 65535, 70000);
	memcpy(&e, old, sizeof(e));
	assert_int_equal(rec_event_unpack(&e), 65535);
	assert_int_equal(e.state, JR_JOB_FAILED);
	assert_int_equal(e.attempt, 70000);
	assert_int_equal(e.reason, JR_REASON_EXIT);
	for (size_t i = 0; i < N_IDS; i++)
		for (size_t a = 0; a < sizeof(attempts) / sizeof(attempts[0]); a++) {
			memset(&e, 0, sizeof(e));
			e.job_id = 0x300000009ull;
			e.reason = JR_REASON_WORKER_LOST;
			rec_worker_pack(&e.state, &e.worker_id, &e.attempt, JR_JOB_SUCCEEDED, ids[i],
					attempts[a]);
			if (ids[i] <= UINT16_MAX) {	/* the old layout, byte for byte */
				old_event_bytes(old, e.job_id, JR_JOB_SUCCEEDED, (uint16_t)ids[i],
						attempts[a]);
				old[9] = JR_REASON_WORKER_LOST;
				assert_memory_equal(&e, old, sizeof(e));
			} else {
				assert_true(e.state & REC_STATE_WORKER_HI);
			}
			assert_int_equal(rec_event_unpack(&e), ids[i]);
			assert_int_equal(e.state, JR_JOB_SUCCEEDED);
			assert_int_equal(e.attempt, attempts[a]);
			assert_int_equal(e.reason, JR_REASON_WORKER_LOST);
		}
	/* An attempt past 16 bits with a wide id: the slot's 16 bits at most. */
	rec_worker_pack(&e.state, &e.worker_id, &e.attempt, JR_JOB_RUNNING, 70000, 70000);
	assert_int_equal(rec_event_unpack(&e), 70000);
	assert_int_equal(e.attempt, 65535);
}

/* A SNAP_JOBS payload of one job without text extension. */
static uint32_t snap_payload(uint8_t *p, const struct rec_snap_job *job)
{
	uint64_t text_len = 2;

	memcpy(p, job, sizeof(*job));
	memcpy(p + sizeof(*job), &text_len, 8);
	memcpy(p + sizeof(*job) + 8, "{}\0\0\0\0\0\0", 8);
	return (uint32_t)(sizeof(*job) + 16);
}

static void test_snapshot_job_layouts(void **state)
{
	uint8_t p[256];
	struct rec_snap_view v;
	struct rec_snap_job job;
	size_t pos;

	(void)state;
	for (size_t i = 0; i < N_IDS; i++) {
		memset(&job, 0, sizeof(job));
		job.job_id = 0x100000002ull;
		rec_worker_pack(&job.state, &job.worker_id, &job.attempt, JR_JOB_SUCCEEDED, ids[i],
				3);
		pos = 0;
		assert_int_equal(rec_snap_next(p, snap_payload(p, &job), &pos, &v), 0);
		assert_int_equal(v.worker_id, ids[i]);
		assert_int_equal(v.job.state, JR_JOB_SUCCEEDED);
		assert_int_equal(v.job.attempt, 3);
		assert_int_equal(v.text_len, 2);
	}
	/* The old layout: state at 20, worker_id at 22, attempt at 24. */
	memset(&job, 0, sizeof(job));
	job.job_id = 0x100000002ull;
	((uint8_t *)&job)[20] = JR_JOB_FAILED;
	memcpy((uint8_t *)&job + 22, &(uint16_t){ 65535 }, 2);
	memcpy((uint8_t *)&job + 24, &(uint32_t){ 70001 }, 4);
	pos = 0;
	assert_int_equal(rec_snap_next(p, snap_payload(p, &job), &pos, &v), 0);
	assert_int_equal(v.worker_id, 65535);
	assert_int_equal(v.job.state, JR_JOB_FAILED);
	assert_int_equal(v.job.attempt, 70001);
}

/* Recovery reads both layouts: a job submitted, attempt 1 started and
 * failed on an old-layout worker (16 bits), attempt 2 started and ended
 * on a worker past 16 bits. */
#define CAPACITY 16u

static int event(struct recovery *r, uint16_t type, jr_job_id id, uint32_t st, uint32_t worker,
		 uint32_t attempt, bool old_layout)
{
	uint8_t b[sizeof(struct rec_event) + sizeof(struct rec_proc) + 8] = { 0 };
	struct rec_event e = { .job_id = id, .reason = JR_REASON_EXIT, .time_ns = 1000 + attempt };
	uint32_t len = sizeof(e);

	if (old_layout)
		old_event_bytes((uint8_t *)&e, id, (uint8_t)st, (uint16_t)worker, attempt);
	else
		rec_worker_pack(&e.state, &e.worker_id, &e.attempt, st, worker, attempt);
	e.time_ns = 1000 + attempt;
	memcpy(b, &e, sizeof(e));
	if (type == REC_START)
		len += sizeof(struct rec_proc);
	else if (type == REC_RETRY)
		len += 8;
	return recover_record(r, type, b, len);
}

static void test_recovery_reads_both_layouts(void **state)
{
	const uint32_t wide = JR_EXTERNAL_WORKER_BASE + 70000, narrow = JR_EXTERNAL_WORKER_BASE + 5;
	const jr_job_id id = 1ull << 32 | 3;
	static const char body[] = "{\"executor\":\"external\",\"max_retries\":1}";
	uint8_t sub[sizeof(struct rec_submit) + 8 + sizeof(body)];
	struct rec_submit h = { .flags = REC_SUBMIT_SINGLE, .count = 1, .created_ns = 1 };
	const struct exec_job *x;
	struct recovery r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.capacity = CAPACITY;
	r.paused = -1;
	r.jobs = jr_table_alloc(CAPACITY * sizeof(*r.jobs));
	assert_non_null(r.jobs);
	assert_int_equal(executions_init(&r.execs, CAPACITY), 0);
	memcpy(sub, &h, sizeof(h));
	memcpy(sub + sizeof(h), &id, 8);
	memcpy(sub + sizeof(h) + 8, body, sizeof(body) - 1);
	assert_int_equal(recover_record(&r, REC_SUBMIT, sub, sizeof(sub) - 1), 0);

	assert_int_equal(event(&r, REC_START, id, JR_JOB_RUNNING, narrow, 1, true), 0);
	assert_int_equal(r.jobs[3].worker_id, narrow);
	assert_int_equal(event(&r, REC_RETRY, id, JR_JOB_QUEUED, narrow, 1, true), 0);
	assert_int_equal(event(&r, REC_START, id, JR_JOB_RUNNING, wide, 2, false), 0);
	assert_int_equal(r.jobs[3].worker_id, wide);
	assert_int_equal(r.jobs[3].attempt, 2);
	assert_int_equal(r.jobs[3].state, JR_JOB_RUNNING);
	assert_int_equal(event(&r, REC_END, id, JR_JOB_SUCCEEDED, wide, 2, false), 0);
	assert_int_equal(r.jobs[3].worker_id, wide);
	assert_int_equal(r.jobs[3].attempt, 2);
	assert_int_equal(r.jobs[3].state, JR_JOB_SUCCEEDED);

	x = executions_of(&r.execs, id);
	assert_non_null(x);
	assert_int_equal(x->count, 2);
	assert_int_equal(x->recs[0].worker_id, narrow);
	assert_int_equal(x->recs[0].attempt, 1);
	assert_int_equal(x->recs[0].state, JR_JOB_FAILED);
	assert_int_equal(x->recs[1].worker_id, wide);
	assert_int_equal(x->recs[1].attempt, 2);
	assert_int_equal(x->recs[1].state, JR_JOB_SUCCEEDED);
	recover_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_keeps_23_bits_and_its_flags),
		cmocka_unit_test(test_event_layouts),
		cmocka_unit_test(test_snapshot_job_layouts),
		cmocka_unit_test(test_recovery_reads_both_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
