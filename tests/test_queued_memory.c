/*
 * test_queued_memory.c - the engine's heap per queued command job (issue
 * 14): an engine opened paused takes in N plain jobs, then N array tasks,
 * and jemalloc's count of allocated bytes (stats.allocated, size classes
 * included) may grow by at most a bound per job. The bounds sit between
 * what the coordinator keeps now (struct cmd_job in jemalloc's 320 class,
 * its argv copy, a pointer in its queue's heap) and what it kept before
 * (a 448-byte cmd_job): a job record that outgrows its class, or options
 * and run-time fields that come back into every queued job, fail here.
 * Without jemalloc (the sanitizer builds) the allocator's figures are not
 * there: skipped.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "coord/state.h"

#ifndef JR_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Bytes per queued job, at most: a plain job (cmd_job 320, argv 32, the
 * queue's heap 8-16 with growth slack) and an array task (the same: its
 * JOBRING_ARRAY_* are made when it starts, not kept, which was 96 bytes
 * more). Measured 359 and 363. */
#define PLAIN_BOUND 400
#define TASK_BOUND 400

#define CHUNK 1000

_Static_assert(sizeof(struct cmd_job) <= 320, "struct cmd_job outgrew jemalloc's 320 class");

#ifndef JR_NO_JEMALLOC
static uint64_t heap_allocated(void)
{
	uint64_t epoch = 1;
	size_t allocated, len = sizeof(allocated), elen = sizeof(epoch);

	assert_int_equal(mallctl("epoch", &epoch, &elen, &epoch, elen), 0);
	assert_int_equal(mallctl("stats.allocated", &allocated, &len, NULL, 0), 0);
	return allocated;
}

/* Submit n jobs like tmpl (array tasks numbered from 0), then take them
 * into the coordinator (a control on the last one takes in its inbox):
 * the heap's growth per job. */
static double per_job(struct jr_engine *e, const struct jr_command_spec *tmpl, uint32_t n)
{
	static struct jr_command_spec specs[CHUNK];
	static jr_job_id ids[CHUNK];
	uint64_t before = heap_allocated(), after;
	jr_job_id last = 0;

	for (uint32_t done = 0; done < n; done += CHUNK) {
		uint32_t k = n - done < CHUNK ? n - done : CHUNK;
		for (uint32_t i = 0; i < k; i++) {
			specs[i] = *tmpl;
			specs[i].array_task_id = done + i;
		}
		assert_int_equal(jr_command_submit_batch(e, specs, k, ids, NULL), 0);
		last = ids[k - 1];
	}
	assert_int_equal(jr_command_hold(e, last), 0);
	after = heap_allocated();
	return (double)(after > before ? after - before : 0) / n;
}

static void test_bytes_per_queued_job(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	uint32_t n = (uint32_t)test_scaled(100000);
	struct jr_command_spec plain = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };
	struct jr_command_spec task = plain;
	struct jr_engine_opts o;
	struct jr_engine *e;
	double p, t;
	jr_job_id first;

	(void)state;
	jrt_engine_opts(&o, 1, 2 * n + 4096, JR_ENGINE_START_PAUSED, NULL);
	o.arena_bytes = 128ull * o.capacity;	/* command records, as jobringd sizes it */
	assert_int_equal(jr_engine_open(&e, &o), 0);
	p = per_job(e, &plain, n);
	/* Tasks of one array, as jobringd submits them. */
	assert_int_equal(jr_command_submit(e, &plain, &first), 0);
	task.flags = JR_COMMAND_ARRAY_TASK;
	task.array_job_id = first;
	t = per_job(e, &task, n);
	printf("heap per queued job: %.0f bytes (bound %d); per array task: %.0f (bound %d)\n",
	       p, PLAIN_BOUND, t, TASK_BOUND);
	assert_true(p > 0 && p <= PLAIN_BOUND);
	assert_true(t > 0 && t <= TASK_BOUND);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}
#else
static void test_bytes_per_queued_job(void **state)
{
	(void)state;
	printf("SKIP: built without jemalloc (JR_NO_JEMALLOC): no allocator figures\n");
	skip();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_per_queued_job),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
