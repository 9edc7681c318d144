/*
 * test_topology.c - workers from an hwloc topology: a synthetic two-socket
 * host modelled on this small machine, binding on the real one, and bad
 * descriptions rejected.
 */
#include "testutil.h"

#include <errno.h>
#include <sched.h>

#include "engine/engine.h"
#include "sched/topology.h"

#define TWO_SOCKETS "package:2 numa:1 core:16 pu:2"

static void test_synthetic_two_sockets(void **state)
{
	(void)state;
	struct jr_topology t;

	assert_int_equal(jr_topology_load(&t, TWO_SOCKETS), 0);
	assert_int_equal(t.core_count, 32);
	assert_int_equal(t.numa_count, 2);
	for (uint32_t c = 0; c < 32; c++)
		assert_int_equal(t.core_numa[c], c < 16 ? 0 : 1);
	assert_int_equal(jr_topology_bind_thread(&t, 3), -ENOTSUP);
	jr_topology_destroy(&t);
}

static void test_bad_description_rejected(void **state)
{
	(void)state;
	struct jr_topology t;
	struct jr_engine_opts o;
	struct jr_engine *e;

	assert_int_equal(jr_topology_load(&t, "package:two core:banana"), -EINVAL);
	jr_engine_opts_init(&o);
	o.topology = "not a topology";
	assert_int_equal(jr_engine_open(&e, &o), -EINVAL);
}

static int count_job(void *arg, const struct jr_job_ctx *ctx)
{
	uint64_t *per_worker = arg;

	__atomic_fetch_add(&per_worker[ctx->worker_id], 1, __ATOMIC_RELAXED);
	return 0;
}

/* One worker per modelled core, each on its modelled NUMA node. */
static void test_engine_on_synthetic_host(void **state)
{
	(void)state;
	struct jr_engine_opts o;
	struct jr_engine *e;
	struct jr_stats st;
	uint64_t per_worker[32] = { 0 };
	struct jr_job_spec spec = { count_job, per_worker, 3, 0, NULL };

	jr_engine_opts_init(&o);
	o.topology = TWO_SOCKETS;
	o.spin_us = 5;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.workers, 32);
	for (uint32_t w = 0; w < 32; w++) {
		assert_int_equal(e->region.workers[w].core_index, w);
		assert_int_equal(e->region.workers[w].numa_node, w < 16 ? 0 : 1);
	}
	for (int i = 0; i < 20000; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	uint64_t total = 0;
	for (int w = 0; w < 32; w++)
		total += per_worker[w];
	assert_int_equal(total, 20000);
}

/* On this host, each worker's affinity is exactly its core's CPUs. */
static int record_affinity(void *arg, const struct jr_job_ctx *ctx)
{
	uint64_t *masks = arg;
	cpu_set_t set;
	uint64_t mask = 0;

	sched_getaffinity(0, sizeof(set), &set);
	for (int c = 0; c < 64; c++)
		if (CPU_ISSET(c, &set))
			mask |= 1ull << c;
	masks[ctx->worker_id] = mask;
	return 0;
}

static void test_workers_bound_on_this_host(void **state)
{
	(void)state;
	struct jr_engine *e = test_engine(0, 1024, JR_ENGINE_START_PAUSED);
	struct jr_topology t;
	uint64_t masks[JR_WORKER_MAX] = { 0 };
	struct jr_job_spec spec = { record_affinity, masks, 3, 0, NULL };
	uint32_t checked = 0;

	assert_int_equal(jr_topology_load(&t, NULL), 0);
	/* Enough jobs that every worker runs some. */
	for (int i = 0; i < 256; i++)
		assert_int_equal(jr_job_submit(e, &spec, NULL), 0);
	assert_int_equal(jr_engine_resume(e), 0);
	assert_int_equal(jr_engine_wait_all(e), 0);
	for (uint32_t w = 0; w < e->worker_count && w < 64; w++) {
		if (masks[w] == 0)
			continue;	/* this worker happened to run none */
		hwloc_obj_t core = hwloc_get_obj_by_type(t.topo, HWLOC_OBJ_CORE, w);
		if (!core)
			core = hwloc_get_obj_by_type(t.topo, HWLOC_OBJ_PU, w);
		assert_int_equal(masks[w], hwloc_bitmap_to_ulong(core->cpuset));
		checked++;
	}
	assert_true(checked >= 1);
	jr_topology_destroy(&t);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_two_sockets),
		cmocka_unit_test(test_bad_description_rejected),
		cmocka_unit_test(test_engine_on_synthetic_host),
		cmocka_unit_test(test_workers_bound_on_this_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
