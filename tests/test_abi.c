/*
 * test_abi.c - jobring.h's binary interface: every field of every public
 * struct where it was (a field moved or resized breaks programs built
 * against the header: this fails to compile), no implicit padding, the
 * reserved fields of what a caller passes in refused unless zero and
 * those of what the library fills zeroed, and jr_version() saying the
 * header's version. docs/DECISIONS.md, "The ABI".
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"
#include "jobring.h"
#pragma GCC diagnostic pop

#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* --- layouts ---------------------------------------------------------------- */

#define AT(field, offset) \
	_Static_assert(offsetof(struct S, field) == (offset), "moved: " #field)
#define SIZE(type, bytes) _Static_assert(sizeof(struct type) == (bytes), #type)

SIZE(jr_job_ctx, 64);
SIZE(jr_job_spec, 48);
SIZE(jr_execution, 96);
SIZE(jr_job_info, 1024);
SIZE(jr_stats, 512);
SIZE(jr_job_event, 192);
SIZE(jr_engine_opts, 256);
SIZE(jr_command_spec, 256);
SIZE(jr_job_restore, 256);
SIZE(jr_queue_info, 128);
SIZE(jr_exec_info, 1024);
SIZE(jr_resource_view, 4096);

#define S jr_job_ctx
AT(job_id, 0); AT(worker_id, 8); AT(attempt, 12); AT(internal, 16); AT(reserved, 24);
#undef S
#define S jr_job_spec
AT(fn, 0); AT(arg, 8); AT(priority, 16); AT(queue_id, 20); AT(name, 24);
AT(reserved, 32);
#undef S
#define S jr_execution
AT(execution_id, 0); AT(job_id, 8); AT(worker_id, 16); AT(attempt, 20);
AT(start_ns, 24); AT(end_ns, 32); AT(result, 40); AT(status, 44); AT(max_rss_kib, 48);
AT(user_us, 56); AT(system_us, 64); AT(signal, 72); AT(spawn_error, 76);
AT(output_truncated, 80); AT(reserved, 84);
#undef S
#define S jr_job_info
AT(job_id, 0); AT(state, 8); AT(reason, 12); AT(priority, 16); AT(queue_id, 20);
AT(created_ns, 24); AT(exec, 32); AT(attempts, 128); AT(progress, 132);
AT(is_command, 136); AT(is_external, 140); AT(owner_uid, 144); AT(pending, 148);
AT(name, 152); AT(stdout_path, 408); AT(stderr_path, 664); AT(reserved, 920);
#undef S
#define S jr_stats
AT(submitted, 0); AT(queued, 8); AT(queued_by_priority, 16); AT(held, 80);
AT(running, 88); AT(succeeded, 96); AT(failed, 104); AT(cancelled, 112);
AT(region_bytes, 120); AT(start_wait_us_hist, 128); AT(start_wait_us_sum, 336);
AT(workers, 344); AT(workers_parked, 348); AT(cores, 352); AT(cores_busy, 356);
AT(capacity, 360); AT(external_ready, 364); AT(reserved, 368);
#undef S
#define S jr_job_event
AT(job_id, 0); AT(time_ns, 8); AT(kind, 16); AT(state, 20); AT(reason, 24);
AT(attempt, 28); AT(worker_id, 32); AT(exit_code, 36); AT(signal, 40); AT(pid, 44);
AT(max_rss_kib, 48); AT(user_us, 56); AT(system_us, 64); AT(pid_start_ticks, 72);
AT(boot_id, 80); AT(cgroup_slot, 96); AT(alloc_len, 100); AT(alloc, 104);
AT(not_before_ns, 112); AT(spawn_error, 120); AT(zero, 124); AT(reserved, 128);
#undef S
#define S jr_engine_opts
AT(capacity, 0); AT(workers, 4); AT(topology, 8); AT(arena_bytes, 16);
AT(claim_batch, 24); AT(spin_us, 28); AT(flags, 32); AT(kill_grace_ms, 36);
AT(state_dir, 40); AT(mem_per_node, 48); AT(gpus_per_node, 56); AT(runner_threads, 60);
AT(custom_resources, 64); AT(capabilities, 72); AT(job_event, 80);
AT(job_event_ctx, 88); AT(cgroup, 96); AT(keeper_socket, 104); AT(keeper_argv, 112);
AT(max_output_bytes, 120); AT(priority_age_per_min, 128); AT(fair_share_weight, 132);
AT(fair_share_half_life_ms, 136); AT(storage, 144); AT(reserved, 152);
#undef S
#define S jr_command_spec
AT(argv, 0); AT(env, 8); AT(cwd, 16); AT(name, 24); AT(priority, 32); AT(queue_id, 36);
AT(cpus, 40); AT(gpus, 44); AT(mem_bytes, 48); AT(resources, 56); AT(capabilities, 64);
AT(span_numa, 72); AT(use_umask, 76); AT(umask, 80); AT(max_retries, 84);
AT(after, 88); AT(after_count, 96); AT(timeout_ms, 104); AT(backoff_base_ms, 112);
AT(backoff_max_ms, 120); AT(scheduled_at_ns, 128); AT(run_as_user, 136); AT(uid, 140);
AT(gid, 144); AT(flags, 148); AT(max_output_bytes, 152); AT(shared_env, 160);
AT(after_types, 168); AT(throttle_key, 176); AT(throttle_max, 184);
AT(array_task_id, 188); AT(array_job_id, 192); AT(reserved, 200);
#undef S
#define S jr_job_restore
AT(job_id, 0); AT(state, 8); AT(reason, 12); AT(attempt, 16); AT(worker_id, 20);
AT(created_ns, 24); AT(start_ns, 32); AT(end_ns, 40); AT(exit_code, 48);
AT(signal, 52); AT(max_rss_kib, 56); AT(user_us, 64); AT(system_us, 72);
AT(not_before_ns, 80); AT(pid, 88); AT(cgroup_slot, 92); AT(pid_start_ticks, 96);
AT(boot_id, 104); AT(alloc, 120); AT(alloc_len, 128); AT(cancel, 132);
AT(spawn_error, 136); AT(workers_lost, 140); AT(reserved, 144);
#undef S
#define S jr_queue_info
AT(queue_id, 0); AT(name, 4); AT(priority, 52); AT(max_workers, 56); AT(running, 60);
AT(held, 64); AT(reserved, 68);
#undef S
#define S jr_exec_info
AT(cgroups, 0); AT(cgroup_path, 4); AT(controllers, 516); AT(note, 580);
AT(keeper_pid, 836); AT(keeper_restarts, 840); AT(adopted, 848);
AT(ended_while_away, 856); AT(lost, 864); AT(progress_frames, 872); AT(reserved, 880);
#undef S
#define S jr_resource_view
AT(numa_count, 0); AT(counter_count, 4); AT(storage_count, 8); AT(workers, 12);
AT(workers_busy, 16); AT(commands_running, 20); AT(capabilities, 24); AT(numa, 32);
AT(counters, 672); AT(storage, 1056); AT(head, 1952); AT(reserved, 2048);
#undef S

/* --- the version ------------------------------------------------------------ */

static void test_version_is_the_headers(void **state)
{
	char expect[32];

	(void)state;
	snprintf(expect, sizeof(expect), "%d.%d.%d", JR_VERSION_MAJOR, JR_VERSION_MINOR,
		 JR_VERSION_PATCH);
	assert_string_equal(JR_VERSION_STRING, expect);
	assert_string_equal(jr_version(), JR_VERSION_STRING);
}

/* --- reserved fields passed in ---------------------------------------------- */

static void test_opts_reserved_refused(void **state)
{
	struct jr_engine_opts o;
	struct jr_engine *e = NULL;

	(void)state;
	jr_engine_opts_init(&o);
	assert_true(o.reserved[0] == 0 && o.reserved[12] == 0);
	o.workers = 1;
	o.reserved[12] = 1;
	assert_int_equal(jr_engine_open(&e, &o), -EINVAL);
	o.reserved[12] = 0;
	o.reserved[0] = 1u << 31;
	assert_int_equal(jr_engine_open(&e, &o), -EINVAL);
	assert_null(e);
	o.reserved[0] = 0;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static int noop(void *arg, const struct jr_job_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	return 0;
}

static void test_job_spec_reserved_refused(void **state)
{
	struct jr_engine *e = test_engine(1, 64, JR_ENGINE_START_PAUSED);
	struct jr_job_spec specs[3] = {
		{ .fn = noop }, { .fn = noop }, { .fn = noop, .reserved[1] = 1 },
	};
	struct jr_stats st;

	(void)state;
	assert_int_equal(jr_job_submit(e, &specs[2], NULL), -EINVAL);
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -EINVAL);
	specs[2].reserved[1] = 0;
	specs[0].reserved[0] = 1;
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), -EINVAL);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.submitted, 0);
	specs[0].reserved[0] = 0;
	assert_int_equal(jr_job_submit_batch(e, specs, 3, NULL), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

static char state_dir[64];	/* /tmp/jr-abi-XXXXXX */

static struct jr_engine *command_engine(void (*on_event)(void *, const struct jr_job_event *))
{
	struct jr_engine_opts o;
	struct jr_engine *e = NULL;

	jrt_engine_opts(&o, 1, 64, 0, state_dir);
	o.job_event = on_event;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

static char *true_argv[] = { "true", NULL };

static void test_command_spec_reserved_refused(void **state)
{
	struct jr_engine *e = command_engine(NULL);
	struct jr_command_spec specs[3] = {
		{ .argv = true_argv }, { .argv = true_argv },
		{ .argv = true_argv, .reserved[6] = 1 },
	};
	size_t bad = 99;
	struct jr_stats st;

	(void)state;
	assert_int_equal(jr_command_submit(e, &specs[2], NULL), -EINVAL);
	assert_int_equal(jr_command_submit_batch(e, specs, 3, NULL, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_int_equal(st.submitted, 0);
	specs[2].reserved[6] = 0;
	assert_int_equal(jr_command_submit_batch(e, specs, 3, NULL, &bad), 0);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_restore_reserved_refused(void **state)
{
	struct jr_engine *e = command_engine(NULL);
	struct jr_command_spec specs[2] = { { .argv = true_argv }, { .argv = true_argv } };
	struct jr_job_restore rs[2] = {
		{ .job_id = (1ull << 32) | 1, .state = JR_JOB_SUCCEEDED, .attempt = 1 },
		{ .job_id = (1ull << 32) | 2, .state = JR_JOB_SUCCEEDED, .attempt = 1,
		  .reserved[13] = 1 },
	};
	struct jr_job_info info;
	size_t bad = 99;

	(void)state;
	assert_int_equal(jr_command_restore(e, specs, rs, 2, &bad), -EINVAL);
	assert_int_equal(bad, 1);
	rs[1].reserved[13] = 0;
	specs[0].reserved[0] = 1;
	assert_int_equal(jr_command_restore(e, specs, rs, 2, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	assert_int_equal(jr_job_get(e, rs[0].job_id, &info), -ESTALE);
	specs[0].reserved[0] = 0;
	assert_int_equal(jr_command_restore(e, specs, rs, 2, &bad), 0);
	assert_int_equal(jr_command_restore_done(e), 0);
	assert_int_equal(jr_job_get(e, rs[1].job_id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
}

/* --- reserved fields the library fills -------------------------------------- */

#define ZEROED(s) test_zeroed((s).reserved, sizeof((s).reserved))

static bool test_zeroed(const void *p, size_t size)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i])
			return false;
	return true;
}

static int ctx_dirty;

static int check_ctx(void *arg, const struct jr_job_ctx *ctx)
{
	(void)arg;
	if (!ZEROED(*ctx))
		__atomic_fetch_add(&ctx_dirty, 1, __ATOMIC_RELAXED);
	return 0;
}

static void test_function_job_outputs_zeroed(void **state)
{
	struct jr_engine *e = test_engine(1, 64, 0);
	struct jr_job_spec spec = { .fn = check_ctx, .name = "abi" };
	struct jr_job_info info;
	struct jr_stats st;
	struct jr_queue_info q;
	uint64_t cursor = 0;
	jr_job_id id;

	(void)state;
	assert_int_equal(jr_job_submit(e, &spec, &id), 0);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_true(ZEROED(info) && ZEROED(info.exec));
	assert_int_equal(ctx_dirty, 0);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(jr_job_scan(e, &cursor, 0, -1, &info), 1);
	assert_true(ZEROED(info) && ZEROED(info.exec));
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(jr_engine_stats(e, &st), 0);
	assert_true(ZEROED(st));
	memset(&q, 0xa5, sizeof(q));
	assert_int_equal(jr_queue_get_info(e, JR_QUEUE_DEFAULT, &q), 0);
	assert_true(ZEROED(q));
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static int events, events_dirty;

static void check_event(void *ctx, const struct jr_job_event *ev)
{
	(void)ctx;
	events++;	/* one call at a time */
	if (!ZEROED(*ev))
		events_dirty++;
}

/* The coordinator makes a submitted external job claimable shortly. */
static int claim_soon(struct jr_engine *e, jr_job_id id, struct jr_job_info *out)
{
	int rc = -EBUSY;

	for (int i = 0; i < 400 && rc == -EBUSY; i++) {
		rc = jr_external_claim(e, JR_EXTERNAL_WORKER_BASE + 1, NULL, id, out);
		if (rc == -EBUSY)
			jrt_sleep_ms(5);
	}
	return rc;
}

static void test_command_outputs_zeroed(void **state)
{
	struct jr_engine *e = command_engine(check_event);
	struct jr_command_spec spec = { .argv = true_argv };
	struct jr_command_spec ext = { .flags = JR_COMMAND_EXTERNAL };
	struct jr_exec_info x;
	struct jr_job_info info;
	jr_job_id id;

	(void)state;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_true(ZEROED(info) && ZEROED(info.exec));
	assert_int_equal(jr_command_submit(e, &ext, &id), 0);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(claim_soon(e, id, &info), 1);
	assert_true(ZEROED(info) && ZEROED(info.exec));
	assert_int_equal(jr_external_complete(e, info.exec.execution_id, 0, 0), 0);
	memset(&x, 0xa5, sizeof(x));
	assert_int_equal(jr_engine_exec_info(e, &x), 0);
	assert_true(ZEROED(x));
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	assert_true(events >= 4);	/* two starts, two ends */
	assert_int_equal(events_dirty, 0);
}

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "abi");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(state_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_is_the_headers),
		cmocka_unit_test(test_opts_reserved_refused),
		cmocka_unit_test(test_job_spec_reserved_refused),
		cmocka_unit_test(test_command_spec_reserved_refused),
		cmocka_unit_test(test_restore_reserved_refused),
		cmocka_unit_test(test_function_job_outputs_zeroed),
		cmocka_unit_test(test_command_outputs_zeroed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
