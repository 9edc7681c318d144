/*
 * test_jobindex.c - the listings' index (daemon/state/jobindex.c,
 * slotset.c) alone, against a model: random adds and removes in a slot
 * set (small, chunked arrays and bitmaps) agree with a bit per slot, and
 * its next member with a scan; random jobs filed, refiled, moved by
 * events, put in arrays and dropped, then every combination of filters
 * (status classes, priority, queue, user, name, worker, array) paged
 * through with random page sizes gives exactly what a full scan of the
 * model gives, in slot order. A walk over the table's used runs
 * (submitted_next_used, a snapshot's) finds every slot a job was put in,
 * and skips the runs never used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/state/jobindex.h"
#include "daemon/state/slotset.h"
#include "daemon/state/submitted.h"
#include "harness.h"
#include "shm/jobtab.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* --- the slot set ----------------------------------------------------------------------------- */

static void check_set(const struct slotset *s, const uint8_t *model, uint32_t span)
{
	uint32_t count = 0, expect = JR_SLOTSET_NONE;

	for (uint32_t i = span; i-- > 0;) {
		count += model[i];
		if (model[i])
			expect = i;
		/* next from a third of the slots (all of them is slow in ASan) */
		if (i % 3 == 0 || model[i])
			assert_int_equal(slotset_next(s, i), expect);
		assert_int_equal(slotset_has(s, i), model[i]);
	}
	assert_int_equal(s->count, count);
}

static void run_set(uint32_t span, uint32_t ops, uint32_t density)
{
	struct slotset s = { 0 };
	uint8_t *model = calloc(span, 1);

	for (uint32_t op = 0; op < ops; op++) {
		uint32_t slot = rnd(span);
		if (rnd(100) < density) {
			assert_int_equal(slotset_add(&s, slot), 0);
			model[slot] = 1;
		} else {
			slotset_del(&s, slot);
			model[slot] = 0;
		}
		if (op % (ops / 8) == 0)
			check_set(&s, model, span);
	}
	check_set(&s, model, span);
	slotset_clear(&s);
	assert_int_equal(s.count, 0);
	assert_int_equal(slotset_next(&s, 0), JR_SLOTSET_NONE);
	free(model);
}

static void test_slotset_small(void **state)
{
	(void)state;
	run_set(3000, 4000, 60);	/* stays a small array, mostly */
}

static void test_slotset_chunks(void **state)
{
	(void)state;
	run_set(1u << 18, 60000, 70);	/* chunks of sorted offsets */
}

static void test_slotset_bitmaps(void **state)
{
	(void)state;
	run_set(20000, 60000, 75);	/* dense: chunks become bitmaps */
}

/* --- the index -------------------------------------------------------------------------------- */

#define CAP 40000u
#define JOBS 24000u

struct model {
	bool live;
	struct jr_job_info info;
	bool in_array;
	uint32_t array_slot;
};

/* The last one is found at start to share "build"'s name bucket. */
static const char *names[] = { "a", "b", "build", "test-17", "", NULL };
static char collider[32];

static uint32_t fnv1a(const char *s)	/* jobindex.c's name hash */
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h ? h : 1;
}

static void find_collider(uint32_t name_mask)
{
	uint32_t want = fnv1a("build") & name_mask;

	for (uint32_t i = 0;; i++) {
		snprintf(collider, sizeof(collider), "c%u", i);
		if ((fnv1a(collider) & name_mask) == want && strcmp(collider, "build") != 0)
			break;
	}
	names[5] = collider;
}

static void random_info(struct jr_job_info *info, uint32_t slot)
{
	static const int prios[] = { 0, 5, -3, 1000000 };
	static const enum jr_job_state states[] = { JR_JOB_PENDING, JR_JOB_QUEUED, JR_JOB_QUEUED,
						    JR_JOB_RUNNING, JR_JOB_SUCCEEDED,
						    JR_JOB_FAILED, JR_JOB_CANCELLED };

	memset(info, 0, sizeof(*info));
	info->job_id = jr_job_id_make(1, slot);
	info->state = states[rnd(7)];
	info->priority = prios[rnd(4)];
	info->queue_id = rnd(3);
	info->owner_uid = rnd(4) * 1000;
	snprintf(info->name, sizeof(info->name), "%s", names[rnd(6)]);
	if (info->state != JR_JOB_PENDING && info->state != JR_JOB_QUEUED && rnd(4)) {
		info->exec.execution_id = 1;
		info->exec.worker_id = rnd(2) ? JR_EXTERNAL_WORKER_BASE + rnd(3) : 1;
	}
}

static bool model_match(const struct model *m, const struct jobindex_query *q, const char *name)
{
	const struct jr_job_info *i = &m->info;
	uint32_t w;

	if (!m->live)
		return false;
	if (q->classes && !(q->classes & 1u << jobindex_class_of(i->state)))
		return false;
	if (q->by_priority && i->priority != q->priority)
		return false;
	if (q->by_queue && i->queue_id != q->queue)
		return false;
	if (q->by_user && i->owner_uid != q->uid)
		return false;
	if (q->by_name && strcmp(i->name, name) != 0)
		return false;
	if (q->by_array && !(m->in_array && m->array_slot == q->array_slot))
		return false;
	if (q->by_worker) {
		if (!i->exec.execution_id)
			return false;
		w = i->exec.worker_id < JR_EXTERNAL_WORKER_BASE ? UINT32_MAX : i->exec.worker_id;
		if (w != q->worker)
			return false;
	}
	return true;
}

static void random_query(struct jobindex_query *q, const char **name)
{
	static const int prios[] = { 0, 5, -3, 1000000, 7 };

	memset(q, 0, sizeof(*q));
	q->classes = rnd(3) ? 0 : 1u + rnd(JX_ALL_CLASSES);
	if ((q->by_priority = rnd(3) == 0))
		q->priority = prios[rnd(5)];
	if ((q->by_queue = rnd(3) == 0))
		q->queue = rnd(4);
	if ((q->by_user = rnd(3) == 0))
		q->uid = rnd(5) * 1000;
	*name = names[rnd(6)];
	if (rnd(3) == 0)
		jobindex_query_name(q, *name);
	if ((q->by_worker = rnd(5) == 0))
		q->worker = rnd(2) ? UINT32_MAX : JR_EXTERNAL_WORKER_BASE + rnd(4);
	if ((q->by_array = rnd(6) == 0))
		q->array_slot = 1 + rnd(8);
}

/* Every page from jobindex_next, as a listing takes them, against a scan. */
static void check_query(const struct jobindex *x, const struct model *m,
			const struct jobindex_query *q, const char *name)
{
	uint32_t cursor = 1, page = 1 + rnd(50), got = 0;

	for (uint32_t slot = 1; slot < CAP; slot++) {
		if (!model_match(&m[slot], q, name))
			continue;
		uint32_t y = jobindex_next(x, q, cursor);
		if (y != slot)
			fail_msg("slot %u expected, index gave %u (cursor %u)", slot, y, cursor);
		cursor = y + 1;
		if (++got % page == 0)	/* a new request from the cursor */
			page = 1 + rnd(50);
	}
	assert_int_equal(jobindex_next(x, q, cursor), JR_SLOTSET_NONE);
}

static void apply_random(struct jobindex *x, struct model *m)
{
	uint32_t slot = 1 + rnd(CAP - 1), op = rnd(10);
	struct jr_job_event ev = { 0 };

	if (op < 5 || !m[slot].live) {	/* a new job there, or refiled */
		random_info(&m[slot].info, slot);
		m[slot].live = true;
		jobindex_file(x, slot, &m[slot].info);
	} else if (op < 8) {	/* an event */
		ev.kind = (enum jr_job_event_kind)(1 + rnd(3));
		ev.state = ev.kind == JR_EVENT_ENDED ? (enum jr_job_state)(4 + rnd(3)) :
			   ev.kind == JR_EVENT_STARTED ? JR_JOB_RUNNING : JR_JOB_QUEUED;
		ev.worker_id = rnd(2) ? 1 : JR_EXTERNAL_WORKER_BASE + rnd(3);
		jobindex_event(x, slot, &ev);
		m[slot].info.state = ev.state;
		if (ev.kind == JR_EVENT_STARTED) {
			m[slot].info.exec.execution_id = 1;
			m[slot].info.exec.worker_id = ev.worker_id;
		}
	} else if (op < 9) {	/* into an array, or out */
		m[slot].in_array = rnd(2);
		m[slot].array_slot = m[slot].in_array ? 1 + rnd(8) : 0;
		jobindex_set_array(x, slot, m[slot].in_array, m[slot].array_slot);
	} else {
		jobindex_drop(x, slot);
		m[slot].live = false;
		m[slot].in_array = false;
		jobindex_set_array(x, slot, false, 0);
	}
}

static void test_index_agrees_with_scan(void **state)
{
	struct jobindex x;
	struct model *m = calloc(CAP, sizeof(*m));
	struct jobindex_query q;
	const char *name;
	(void)state;

	assert_int_equal(jobindex_init(&x, CAP), 0);
	find_collider(x.name_mask);
	for (uint32_t round = 0; round < 6; round++) {
		for (uint32_t i = 0; i < JOBS; i++)
			apply_random(&x, m);
		for (uint32_t k = 0; k < 60; k++) {
			random_query(&q, &name);
			check_query(&x, m, &q, name);
		}
	}
	/* The stale check: a filed job read differently is stale. */
	for (uint32_t slot = 1; slot < CAP; slot++) {
		if (!m[slot].live)
			continue;
		assert_false(jobindex_stale(&x, slot, &m[slot].info));
		m[slot].info.priority++;
		assert_true(jobindex_stale(&x, slot, &m[slot].info));
		break;
	}
	assert_true(jobindex_bytes(&x) > 0);
	jobindex_destroy(&x);
	free(m);
}

/* --- with an engine: touches read in batches ------------------------------------------------ */

#define ENGINE_JOBS 10000u	/* more than JX_DIRTY_MIN: the list of touched slots grows */

static uint32_t count_all(const struct jobindex *x, const struct jobindex_query *q)
{
	uint32_t n = 0;

	for (uint32_t s = jobindex_next(x, q, 1); s != JR_SLOTSET_NONE; s = jobindex_next(x, q, s + 1))
		n++;
	return n;
}

static void test_touches_read_from_engine(void **state)
{
	static char dir[64];
	static char *argv[] = { "/bin/true", NULL };
	struct jr_command_spec *specs = calloc(ENGINE_JOBS, sizeof(*specs));
	jr_job_id *ids = calloc(ENGINE_JOBS, sizeof(*ids));
	struct jobspec_submitter who = { 0, 0, false };
	struct jobindex_query q = { 0 };
	uint32_t by_prio[4] = { 0 }, cancelled = 0;
	struct jr_engine *e;
	struct submitted t;
	(void)state;

	assert_int_equal(jrt_dir_make(dir, sizeof(dir), NULL, "jobindex"), 0);
	struct jr_engine_opts o;
	jrt_engine_opts(&o, 1, 1 << 15, JR_ENGINE_START_PAUSED, dir);
	o.arena_bytes = (1u << 15) * 128ull;	/* as jobringd sizes it: command records */
	assert_int_equal(jr_engine_open(&e, &o), 0);
	assert_int_equal(submitted_init(&t, 1 << 15), 0);
	t.engine = e;
	for (uint32_t i = 0; i < ENGINE_JOBS; i++) {
		specs[i] = (struct jr_command_spec){ .argv = argv, .name = i % 2 ? "odd" : "even",
						     .priority = (int)(i % 4) };
		by_prio[i % 4]++;
	}
	for (uint32_t i = 0; i < ENGINE_JOBS; i += 1000)
		assert_int_equal(jr_command_submit_batch(e, specs + i, 1000, ids + i, NULL), 0);
	for (uint32_t i = 0; i < ENGINE_JOBS; i++)
		submitted_put(&t, ids[i], NULL, 0, 0, &who);
	/* None read as they were put: the list of touched slots grows. A
	 * turn reads a few (api.c); a listing reads the rest first. */
	assert_int_equal(t.index->settled, 0);
	assert_int_equal(t.index->dirty_count, ENGINE_JOBS);
	assert_true(submitted_settle_some(&t, 1000));
	assert_int_equal(t.index->settled, 1000);
	assert_int_equal(t.index->dirty_count, ENGINE_JOBS - 1000);
	const struct jobindex *x = submitted_index(&t);
	assert_int_equal(x->dirty_count, 0);
	assert_int_equal(count_all(x, &q), ENGINE_JOBS);
	q.classes = 1u << JX_WAITING;
	assert_int_equal(count_all(x, &q), ENGINE_JOBS);
	q.classes = 1u << JX_RUNNING;
	assert_int_equal(count_all(x, &q), 0);
	for (int p = 0; p < 4; p++) {
		q = (struct jobindex_query){ .by_priority = true, .priority = p };
		assert_int_equal(count_all(x, &q), by_prio[p]);
	}
	q = (struct jobindex_query){ 0 };
	jobindex_query_name(&q, "odd");
	assert_int_equal(count_all(x, &q), ENGINE_JOBS / 2);
	/* Cancelled in the engine, touched: filed as cancelled once read. */
	for (uint32_t i = 0; i < ENGINE_JOBS; i += 3) {
		int rc;
		for (int tries = 0; (rc = jr_job_cancel(e, ids[i])) == -EAGAIN && tries < 5000;
		     tries++)
			usleep(1000);	/* the coordinator's cancel list is full */
		assert_int_equal(rc, 0);
		submitted_touch(&t, ids[i]);
		cancelled++;
	}
	x = submitted_index(&t);
	q = (struct jobindex_query){ .classes = 1u << JX_CANCELLED };
	assert_int_equal(count_all(x, &q), cancelled);
	q = (struct jobindex_query){ .classes = 1u << JX_WAITING };
	assert_int_equal(count_all(x, &q), ENGINE_JOBS - cancelled);
	submitted_destroy(&t);
	jr_engine_close(e, JR_CLOSE_CANCEL);
	jrt_dir_remove(dir);
	free(specs);
	free(ids);
}

/* A slot's record keeps its id's generation and its owner's index: the
 * id and who submitted it come back as put, for 300 owners (the table
 * of owners grows past its first 64), and a newer job in the slot hides
 * the older one. */
static void test_owner_and_id(void **state)
{
	struct submitted t = { 0 };
	enum { OWNERS = 300, SLOTS = 1000 };
	(void)state;

	assert_int_equal(submitted_init(&t, SLOTS), 0);
	for (uint32_t i = 1; i < SLOTS; i++) {
		struct jobspec_submitter who = { .uid = 1000 + i % OWNERS, .gid = 100 + i % 7,
						 .switch_user = i % 2 };
		submitted_put(&t, (jr_job_id)(i % 5 + 1) << 32 | i, NULL, 0, 0, &who);
	}
	assert_true(t.owner_count <= OWNERS * 14 + 1);
	for (uint32_t i = 1; i < SLOTS; i++) {
		jr_job_id id = (jr_job_id)(i % 5 + 1) << 32 | i;
		const struct submitted_job *s = submitted_of(&t, id);
		assert_non_null(s);
		assert_int_equal(submitted_job_id(&t, s), id);
		assert_int_equal(submitted_id_at(&t, i), id);
		struct jobspec_submitter who = submitted_job_who(&t, s);
		assert_int_equal(who.uid, 1000 + i % OWNERS);
		assert_int_equal(who.gid, 100 + i % 7);
		assert_int_equal(who.switch_user, i % 2);
		assert_null(submitted_of(&t, id + (1ull << 32)));	/* another generation */
	}
	assert_int_equal(submitted_id_at(&t, 0), 0);	/* never put */
	submitted_destroy(&t);
}

static jr_job_id no_job(const void *ctx, uint32_t slot)
{
	(void)ctx;
	(void)slot;
	return 0;
}

/* The list of touched slots after a load's burst (1,048,577 touched) is
 * freed once read; a small one is kept. */
static void test_dirty_list_given_back(void **state)
{
	struct jobindex x;
	(void)state;

	assert_int_equal(jobindex_init(&x, 2 * JX_DIRTY_KEEP), 0);
	for (uint32_t i = 0; i <= JX_DIRTY_KEEP; i++)
		assert_true(jobindex_touch(&x, i));
	assert_true(x.dirty_cap > JX_DIRTY_KEEP);
	jobindex_settle(&x, NULL, no_job, NULL);
	assert_int_equal(x.dirty_count, 0);
	assert_null(x.dirty);
	assert_int_equal(x.dirty_cap, 0);
	assert_true(jobindex_touch(&x, 7));	/* grows again from the start */
	assert_int_equal(x.dirty_cap, JX_DIRTY_MIN);
	jobindex_settle(&x, NULL, no_job, NULL);
	assert_non_null(x.dirty);
	jobindex_destroy(&x);
}

/* Jobs put in random slots (a few runs of the table, many never used):
 * a walk by submitted_next_used() finds each of them, and no more runs
 * than the ones used. */
static void test_used_runs(void **state)
{
	const uint32_t cap = (1u << 20) + 5;
	struct jobspec_submitter who = { 0, 0, false };
	uint8_t *model = calloc(cap, 1);
	struct submitted t;
	uint32_t found = 0, puts = 0, runs_walked = 0, last_run = UINT32_MAX;
	(void)state;

	assert_int_equal(submitted_init(&t, cap), 0);
	assert_int_equal(submitted_next_used(&t, 0), cap);	/* nothing yet */
	static const uint32_t fixed[] = { 0, 7, 40000, 40001, 700000, (1u << 20) + 4 };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		model[fixed[i]] = 1;
	for (int i = 0; i < 200; i++)	/* clustered, as a table fills */
		model[300000 + rnd(20000)] = 1;
	for (uint32_t i = 0; i < cap; i++)
		if (model[i]) {
			submitted_put(&t, (jr_job_id)i | 1ull << 32, NULL, 0, 0, &who);
			puts++;
		}
	assert_int_equal(submitted_next_used(&t, 8), 8);
	assert_int_equal(submitted_next_used(&t, 32768), 32768);	/* 40000's run */
	assert_int_equal(submitted_next_used(&t, 65536), 9 * 32768);	/* 300000's */
	assert_int_equal(submitted_next_used(&t, 720896), 32 * 32768);	/* the last */
	for (uint32_t i = submitted_next_used(&t, 0); i < cap; i = submitted_next_used(&t, i + 1)) {
		if (i / SUBMITTED_RUN_SLOTS != last_run)
			runs_walked++;
		last_run = i / SUBMITTED_RUN_SLOTS;
		if (t.jobs[i].gen) {
			assert_true(model[i]);
			found++;
		}
	}
	assert_int_equal(found, puts);
	assert_true(runs_walked <= 6);	/* 0, 1, 9 (and 10), 21, 32 */
	submitted_destroy(&t);
	free(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slotset_small),
		cmocka_unit_test(test_slotset_chunks),
		cmocka_unit_test(test_slotset_bitmaps),
		cmocka_unit_test(test_index_agrees_with_scan),
		cmocka_unit_test(test_touches_read_from_engine),
		cmocka_unit_test(test_used_runs),
		cmocka_unit_test(test_dirty_list_given_back),
		cmocka_unit_test(test_owner_and_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
