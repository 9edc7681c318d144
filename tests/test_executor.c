/*
 * test_executor.c - child processes: exit codes and captured output,
 * signals to the whole process group, binding that the child can see in
 * its own /proc status, progress lines, rusage, a missing program.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"

extern char **environ;

static char dir[] = "/tmp/jr-exec-XXXXXX";
static char out_path[256], err_path[256];

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(out_path);
	unlink(err_path);
	rmdir(dir);
	return 0;
}

static struct jr_exec_spec spec_for(char *const *argv)
{
	struct jr_exec_spec s = { 0 };

	s.argv = argv;
	s.envp = environ;
	s.stdout_path = out_path;
	s.stderr_path = err_path;
	return s;
}

static struct jr_exec_result wait_child(struct jr_child *c)
{
	struct jr_exec_result res;
	struct pollfd p = { c->pidfd, POLLIN, 0 };

	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(jr_exec_try_reap(c, &res), 1);
	return res;
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_exit_code_and_output(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	struct jr_exec_result r;
	char buf[256];

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	r = wait_child(&c);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(r.signal, 0);
	read_file(out_path, buf, sizeof(buf));
	assert_string_equal(buf, "out\n");
	read_file(err_path, buf, sizeof(buf));
	assert_string_equal(buf, "err\n");
	jr_exec_close(&c);
}

static void test_missing_program(void **state)
{
	(void)state;
	char *argv[] = { "/nonexistent/jobring-no-such-program", NULL };
	char *argv2[] = { "jobring-no-such-program-in-path", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;

	assert_int_equal(jr_exec_spawn(&s, &c), -ENOENT);
	s.argv = argv2;
	assert_int_equal(jr_exec_spawn(&s, &c), -ENOENT);
}

/* The signal reaches the child's children too: the group is the job. */
static void test_signal_whole_group(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "sleep 30 & echo $!; wait", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	struct jr_exec_result r;
	char buf[64];
	pid_t grandchild;

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	for (int i = 0; i < 2000; i++) {
		read_file(out_path, buf, sizeof(buf));
		if (strchr(buf, '\n'))
			break;
		test_sleep_ms(1);
	}
	grandchild = (pid_t)atoi(buf);
	assert_true(grandchild > 0);
	assert_int_equal(jr_exec_signal_group(&c, SIGTERM), 0);
	r = wait_child(&c);
	assert_int_equal(r.signal, SIGTERM);
	assert_int_equal(r.exit_code, -1);
	/* The grandchild died too (it may linger as a zombie of init). */
	for (int i = 0; i < 2000 && kill(grandchild, 0) == 0; i++) {
		char path[64], st[256] = "";
		snprintf(path, sizeof(path), "/proc/%d/stat", grandchild);
		FILE *f = fopen(path, "r");
		if (!f)
			break;
		if (fgets(st, sizeof(st), f) && strstr(st, ") Z "))
			i = 2000;
		fclose(f);
		test_sleep_ms(1);
	}
	jr_exec_close(&c);
}

/* Bound to the last PU and its memory node: the child sees the CPU in its
 * own status. Where the host has several NUMA nodes its memory policy is
 * "bind" too (hwloc binds to all nodes of a one-node host as the default
 * policy, so numa_maps shows nothing there). */
static void test_binding_visible_to_child(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c",
			 "grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status; "
			 "echo bound_maps=$(grep -c ' bind:' /proc/self/numa_maps)", NULL };
	struct jr_exec_spec s = spec_for(argv);
	hwloc_topology_t topo;
	hwloc_obj_t pu;
	struct jr_child c;
	char buf[512], want[128];
	int last, nodes;

	hwloc_topology_init(&topo);
	hwloc_topology_load(topo);
	last = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU) - 1;
	nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)last);
	s.topo = topo;
	s.cpuset = pu->cpuset;
	s.nodeset = pu->nodeset;
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_int_equal(wait_child(&c).exit_code, 0);
	read_file(out_path, buf, sizeof(buf));
	print_message("child saw:\n%s", buf);
	snprintf(want, sizeof(want), "Cpus_allowed_list:\t%u\n", pu->os_index);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "Mems_allowed_list:"));
	if (nodes > 1)
		assert_null(strstr(buf, "bound_maps=0"));
	jr_exec_close(&c);
	hwloc_topology_destroy(topo);
}

/* The spawning thread's own binding is restored afterwards. */
static void test_spawner_binding_restored(void **state)
{
	(void)state;
	char *argv[] = { "true", NULL };
	struct jr_exec_spec s = spec_for(argv);
	hwloc_topology_t topo;
	hwloc_bitmap_t before = hwloc_bitmap_alloc(), after = hwloc_bitmap_alloc();
	struct jr_child c;

	hwloc_topology_init(&topo);
	hwloc_topology_load(topo);
	hwloc_get_cpubind(topo, before, HWLOC_CPUBIND_THREAD);
	s.topo = topo;
	s.cpuset = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, 0)->cpuset;
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	hwloc_get_cpubind(topo, after, HWLOC_CPUBIND_THREAD);
	assert_true(hwloc_bitmap_isequal(before, after));
	wait_child(&c);
	jr_exec_close(&c);
	hwloc_bitmap_free(before);
	hwloc_bitmap_free(after);
	hwloc_topology_destroy(topo);
}

static void test_progress_lines(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c",
			 "echo progress 42 >&3; echo garbage >&3; echo progress 77 >&3", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_int_equal(wait_child(&c).exit_code, 0);
	assert_int_equal(jr_exec_read_progress(&c), 77);
	assert_int_equal(jr_exec_read_progress(&c), -1);	/* nothing new */
	jr_exec_close(&c);
}

static void test_rusage_recorded(void **state)
{
	(void)state;
	char *argv[] = { "dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=4", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	struct jr_exec_result r;

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	r = wait_child(&c);
	assert_int_equal(r.exit_code, 0);
	print_message("dd bs=32M: max rss %lu KiB, user %lu us, sys %lu us\n",
		      (unsigned long)r.max_rss_kib, (unsigned long)r.user_us,
		      (unsigned long)r.system_us);
	assert_true(r.max_rss_kib > 32 * 1024);
	jr_exec_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_and_output),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_signal_whole_group),
		cmocka_unit_test(test_binding_visible_to_child),
		cmocka_unit_test(test_spawner_binding_restored),
		cmocka_unit_test(test_progress_lines),
		cmocka_unit_test(test_rusage_recorded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
