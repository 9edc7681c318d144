/*
 * test_queued_memory.c - the engine's heap per queued command job (issue
 * 14): an engine opened paused takes in N plain jobs, then N array tasks,
 * and jemalloc's count of allocated bytes (stats.allocated, size classes
 * included) may grow by at most a bound per job. The bounds sit between
 * what the coordinator keeps now (struct cmd_job in jemalloc's 160 class,
 * a pointer in its queue's heap) and the next size class (192): a job
 * record that outgrows its class, options, run-time fields, an argv copy
 * or a resource request that come back into every queued job, fail here
 * (before issue 14's third session a job took 448 + 32 + 7; before its
 * fourth 224 + 32 + 7; before its sixth 192 + 7). Then again as
 * jobringd runs, long runs of alike jobs parked (coord/park.h): at most
 * PARKED_BOUND a job.
 * Without jemalloc (the sanitizer builds) the allocator's figures are not
 * there: skipped. Also the pool that shares the jobs' resource requests
 * (coord/reqpool.c), a PATCH of a queued job's resources through it, and
 * the jobs of a batch sharing an argv only when it is equal.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/reqpool.h"
#include "coord/state.h"

#ifndef JR_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Bytes per queued job, at most: a plain job (cmd_job 160, the queue's
 * heap 7 with growth slack; its argv shared with the jobs of its batch
 * that run the same, its resource request with every job's that asks
 * the same) and an array task (the same: its JOBRING_ARRAY_* are made
 * when it starts, not kept, which was 96 bytes more). Measured 168 and
 * 170; cmd_job in the 192 class, or an argv copy per job, would be 200. */
#define PLAIN_BOUND 192
#define TASK_BOUND 192
/* With parking (coord/park.h, as jobringd runs): the first JR_PARK_AFTER
 * jobs built (4,096 x 168 bytes: 7 a job of 100,000), the rest 8 bytes
 * an id at most, less as segments of consecutive ids. Measured 7 and
 * 1; without parking, 168. */
#define PARKED_BOUND 16

#define CHUNK 1000

_Static_assert(sizeof(struct cmd_job) <= 160, "struct cmd_job outgrew jemalloc's 160 class");

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

/* Plain jobs, then tasks of one array (as jobringd submits them), on a
 * paused engine: the heap per job of each. */
static void measure(uint32_t n, double *plain_bytes, double *task_bytes)
{
	char *argv[] = { "/bin/true", NULL };
	struct jr_command_spec plain = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };
	struct jr_command_spec task = plain;
	struct jr_engine_opts o;
	struct jr_engine *e;
	jr_job_id first;

	jrt_engine_opts(&o, 1, 2 * n + 4096, JR_ENGINE_START_PAUSED, NULL);
	o.arena_bytes = 128ull * o.capacity;	/* command records, as jobringd sizes it */
	assert_int_equal(jr_engine_open(&e, &o), 0);
	*plain_bytes = per_job(e, &plain, n);
	assert_int_equal(jr_command_submit(e, &plain, &first), 0);
	task.flags = JR_COMMAND_ARRAY_TASK;
	task.array_job_id = first;
	*task_bytes = per_job(e, &task, n);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static void test_bytes_per_queued_job(void **state)
{
	uint32_t n = (uint32_t)test_scaled(100000);
	double p, t;

	(void)state;
	/* Every job built (parking off): the coordinator's record. */
	setenv("JOBRING_PARK_AFTER", "4294967295", 1);
	measure(n, &p, &t);
	printf("heap per queued job built: %.0f bytes (bound %d); per array task: %.0f (bound %d)\n",
	       p, PLAIN_BOUND, t, TASK_BOUND);
	assert_true(p > 0 && p <= PLAIN_BOUND);
	assert_true(t > 0 && t <= TASK_BOUND);
	/* As jobringd runs: past JR_PARK_AFTER waiting, runs are parked. */
	unsetenv("JOBRING_PARK_AFTER");
	measure(n, &p, &t);
	printf("heap per queued job, runs parked: %.1f bytes (bound %d); per array task: %.1f\n",
	       p, PARKED_BOUND, t);
	assert_true(p <= PARKED_BOUND);
	assert_true(t <= PARKED_BOUND);
}
#else
static void test_bytes_per_queued_job(void **state)
{
	(void)state;
	printf("SKIP: built without jemalloc (JR_NO_JEMALLOC): no allocator figures\n");
	skip();
}
#endif

/* Equal requests share one copy, distinct ones do not; references
 * dropped in a scrambled order leave the pool empty, and every lookup
 * meanwhile still finds its request (deletion keeps the probe runs). */
static void test_req_pool(void **state)
{
	enum { N = 3000 };
	static const struct jr_req *got[N];
	struct jr_req_pool pool = { 0 };
	struct jr_req r;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		memset(&r, 0, sizeof(r));
		r.cpus = 1 + i % 700;	/* 700 distinct requests, most taken 4 or 5 times */
		r.custom[i % 3] = i % 2;
		r.span = i % 700 == 5;
		got[i] = jr_req_pool_take(&pool, &r);
		assert_non_null(got[i]);
		assert_int_equal(got[i]->cpus, r.cpus);
		assert_true(got[i] != &r);
	}
	for (uint32_t i = 0; i + 2100 < N; i++)	/* same request, same copy */
		assert_ptr_equal(got[i], got[i + 2100]);
	uint32_t distinct = pool.count;
	assert_true(distinct >= 700 && distinct <= 2100);	/* a key repeats every 2,100 */
	for (uint32_t k = 0; k < N; k++) {
		uint32_t i = (uint32_t)((k * 7919u) % N);	/* each once: 7919 is prime to N */
		struct jr_req again = *got[i];
		const struct jr_req *same = jr_req_pool_take(&pool, &again);
		assert_ptr_equal(same, got[i]);
		jr_req_pool_drop(same);
		jr_req_pool_drop(got[i]);
	}
	assert_int_equal(pool.count, 0);
	jr_req_pool_destroy(&pool);
}

/* A queued job's resources changed (its request swapped for another
 * shared one), others' left alone; then everything ends. */
static void test_update_resources(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = JR_PRIORITY_DEFAULT, .cpus = 1 };
	struct jr_command_update u = { .fields = JR_UPDATE_RESOURCES, .spec = &spec };
	struct jr_engine *e = test_engine(1, 4096, JR_ENGINE_START_PAUSED);
	jr_job_id a, b;

	(void)state;
	assert_int_equal(jr_command_submit(e, &spec, &a), 0);
	assert_int_equal(jr_command_submit(e, &spec, &b), 0);
	spec.mem_bytes = 1u << 20;
	assert_int_equal(jr_command_update(e, a, &u), 0);
	spec.mem_bytes = 0;
	assert_int_equal(jr_command_update(e, a, &u), 0);	/* back to b's */
	assert_int_equal(jr_command_update(e, b, &u), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* Jobs of one batch share an argv only when it is equal string by
 * string: each job still runs its own command (equal ones from
 * different arrays, one that differs in a word, one a prefix of the
 * one before, one longer), and the argvs outlive the caller's. */
static void test_argv_shared_by_content(void **state)
{
	enum { N = 6 };
	char dir[64], out[64], cmd[] = "echo one";
	char *one[] = { "sh", "-c", "echo one", NULL };
	char *one_again[] = { "sh", "-c", cmd, NULL };	/* equal, not the same */
	char *two[] = { "sh", "-c", "echo two", NULL };
	char *prefix[] = { "sh", "-c", NULL };
	char *longer[] = { "sh", "-c", "echo $0", "three", NULL };
	char *const *argvs[N] = { one, one_again, two, one, prefix, longer };
	const char *want[N] = { "one\n", "one\n", "two\n", "one\n", NULL, "three\n" };
	struct jr_command_spec specs[N];
	struct jr_engine_opts o;
	struct jr_engine *e;
	jr_job_id ids[N];

	(void)state;
	assert_int_equal(jrt_dir_make(dir, sizeof(dir), NULL, "argv"), 0);
	jrt_engine_opts(&o, 1, 4096, 0, dir);
	assert_int_equal(jr_engine_open(&e, &o), 0);
	for (int i = 0; i < N; i++)
		specs[i] = (struct jr_command_spec){ .argv = (char **)argvs[i],
						     .priority = JR_PRIORITY_DEFAULT };
	assert_int_equal(jr_command_submit_batch(e, specs, N, ids, NULL), 0);
	memcpy(cmd, "echo two", sizeof(cmd));	/* the engine kept its own copies */
	for (int i = 0; i < N; i++) {
		struct jr_job_info info;
		FILE *f;
		size_t n;

		assert_int_equal(jr_job_wait(e, ids[i], &info), 0);
		if (!want[i]) {		/* sh -c without a command: an error */
			assert_int_equal(info.state, JR_JOB_FAILED);
			continue;
		}
		assert_int_equal(info.state, JR_JOB_SUCCEEDED);
		assert_non_null(f = fopen(info.stdout_path, "r"));
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		fclose(f);
		assert_string_equal(out, want[i]);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	assert_int_equal(jrt_dir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_per_queued_job),
		cmocka_unit_test(test_req_pool),
		cmocka_unit_test(test_update_resources),
		cmocka_unit_test(test_argv_shared_by_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
