/*
 * test_executor.c - child processes: exit codes and captured output,
 * signals to the whole process group, binding that the child can see in
 * its own /proc status, progress lines, rusage, a missing program, the
 * job's own PATH, umask and session, no inherited descriptors; and the
 * job cgroups: the child starts in its cgroup, a process that left the
 * session (setsid) dies with the cgroup, which empties and goes away;
 * process identity (start ticks, boot id) tells a pid apart from a later
 * one.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/cgroup.h"
#include "exec/executor.h"

extern char **environ;

static char dir[64];	/* /tmp/jr-exec-XXXXXX */
static char out_path[256], err_path[256];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(jrt_dir_make(dir, sizeof(dir), NULL, "exec"), 0);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(dir);
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

static struct jr_exit_status wait_child(struct jr_child *c)
{
	struct jr_exit_status res;
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
	struct jr_exit_status r;
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
	struct jr_exit_status r;
	char buf[64];
	pid_t grandchild;

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	for (int i = 0; i < 2000; i++) {
		read_file(out_path, buf, sizeof(buf));
		if (strchr(buf, '\n'))
			break;
		jrt_sleep_ms(1);
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
		jrt_sleep_ms(1);
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
	uint64_t cpus[JR_EXEC_CPU_WORDS] = { 0 }, mems[JR_EXEC_NODE_WORDS] = { 0 };
	int last, nodes;

	hwloc_topology_init(&topo);
	hwloc_topology_load(topo);
	last = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU) - 1;
	nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)last);
	hwloc_bitmap_to_ulongs(pu->cpuset, JR_EXEC_CPU_WORDS, (unsigned long *)cpus);
	hwloc_bitmap_to_ulongs(pu->nodeset, JR_EXEC_NODE_WORDS, (unsigned long *)mems);
	s.cpu_mask = cpus;
	s.node_mask = nodes > 1 ? mems : NULL;
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

/* The child binds itself: the spawning thread's binding is untouched. */
static void test_spawner_binding_untouched(void **state)
{
	(void)state;
	char *argv[] = { "true", NULL };
	struct jr_exec_spec s = spec_for(argv);
	hwloc_topology_t topo;
	hwloc_bitmap_t before = hwloc_bitmap_alloc(), after = hwloc_bitmap_alloc();
	uint64_t cpus[JR_EXEC_CPU_WORDS] = { 1 };
	struct jr_child c;

	hwloc_topology_init(&topo);
	hwloc_topology_load(topo);
	hwloc_get_cpubind(topo, before, HWLOC_CPUBIND_THREAD);
	s.cpu_mask = cpus;
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
	assert_int_equal(jr_exec_read_progress(&c), 77);	/* nothing new: the last stands */
	jr_exec_close(&c);
}

static void test_rusage_recorded(void **state)
{
	(void)state;
	char *argv[] = { "dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=4", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	struct jr_exit_status r;

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	r = wait_child(&c);
	assert_int_equal(r.exit_code, 0);
	print_message("dd bs=32M: max rss %lu KiB, user %lu us, sys %lu us\n",
		      (unsigned long)r.max_rss_kib, (unsigned long)r.user_us,
		      (unsigned long)r.system_us);
	assert_true(r.max_rss_kib > 32 * 1024);
	jr_exec_close(&c);
}

/* The child's PATH is the job's, its umask the one asked for, its
 * session its own, and it holds no descriptor but 0 to 3. */
static void test_path_umask_session_fds(void **state)
{
	(void)state;
	char bindir[300], prog[320];
	char path_env[340];
	char *envp[] = { path_env, NULL };
	char *argv[] = { "jr-test-prog", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	char buf[512], want[64];
	int leak = dup2(open("/dev/null", O_RDONLY), 77);	/* not close-on-exec */
	FILE *f;

	snprintf(bindir, sizeof(bindir), "%s/bin", dir);
	snprintf(prog, sizeof(prog), "%s/jr-test-prog", bindir);
	snprintf(path_env, sizeof(path_env), "PATH=/nonexistent:%s", bindir);
	assert_int_equal(mkdir(bindir, 0755), 0);
	f = fopen(prog, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nPATH=/usr/bin:/bin\nprintf 'umask=%%s sid=%%s pid=%%s fds=%%s\\n' "
		   "\"$(umask)\" \"$(cut -d' ' -f6 /proc/$$/stat)\" \"$$\" "
		   "\"$(ls /proc/$$/fd | sort -n | tr '\\n' ' ')\"\n");
	fclose(f);
	chmod(prog, 0755);
	s.envp = envp;
	s.use_umask = true;
	s.umask = 027;
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_int_equal(wait_child(&c).exit_code, 0);
	read_file(out_path, buf, sizeof(buf));
	print_message("child: %s", buf);
	assert_non_null(strstr(buf, "umask=0027"));
	snprintf(want, sizeof(want), "sid=%d pid=%d", (int)c.pid, (int)c.pid);
	assert_non_null(strstr(buf, want));
	/* 0-3 (then what sh and ls open themselves), never the parent's 77. */
	assert_int_equal(leak, 77);
	assert_non_null(strstr(buf, "fds=0 1 2 3 "));
	assert_null(strstr(strstr(buf, "fds="), " 77 "));
	jr_exec_close(&c);
	close(leak);
	unlink(prog);
	rmdir(bindir);
}

/* Spawning from several threads while another thread opens and closes
 * fds: the child shares the parent's memory until exec, and must move
 * the descriptors it gets without writing the parent's copy of their
 * numbers, or the parent closes a number another thread holds by then.
 * The parent's fd 3 is closed so that files land below 4 now and then. */
struct fd_race {
	bool stop;	/* __atomic: the main thread tells the churner */
	int broken;
};

static void *spawn_many(void *arg)
{
	char *argv[] = { "true", NULL };
	char out[300], err[300];
	struct jr_exec_spec s = spec_for(argv);
	(void)arg;

	snprintf(out, sizeof(out), "%s/race-out-%lu", dir, (unsigned long)pthread_self());
	snprintf(err, sizeof(err), "%s/race-err-%lu", dir, (unsigned long)pthread_self());
	s.stdout_path = out;
	s.stderr_path = err;
	for (int i = 0; i < 150; i++) {
		struct jr_child c;
		if (jr_exec_spawn(&s, &c) == 0) {
			wait_child(&c);
			jr_exec_close(&c);
		}
	}
	unlink(out);
	unlink(err);
	return NULL;
}

static void *churn_fds(void *arg)
{
	struct fd_race *r = arg;
	int fds[8];

	for (int i = 0; i < 8; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	for (unsigned k = 0; !__atomic_load_n(&r->stop, __ATOMIC_RELAXED); k++) {
		int i = (int)(k % 8);
		close(fds[i]);
		fds[i] = open("/dev/null", O_RDONLY);
		for (int j = 0; j < 8; j++)
			if (fcntl(fds[j], F_GETFD) < 0)
				r->broken++;	/* someone closed ours */
	}
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	return NULL;
}

static void test_spawn_leaves_parent_fds_alone(void **state)
{
	(void)state;
	struct fd_race r = { 0 };
	pthread_t spawners[3], churn;
	int saved3 = dup(3);

	close(3);
	pthread_create(&churn, NULL, churn_fds, &r);
	for (int i = 0; i < 3; i++)
		pthread_create(&spawners[i], NULL, spawn_many, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(spawners[i], NULL);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(churn, NULL);
	dup2(saved3, 3);
	close(saved3);
	assert_int_equal(r.broken, 0);
}

/* A pid the process had is told apart from a later one: start ticks
 * and boot id. */
static void test_process_identity(void **state)
{
	(void)state;
	char *argv[] = { "sleep", "5", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_child c;
	uint64_t ticks;
	uint8_t other_boot[16];

	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_int_equal(jr_exec_start_ticks(c.pid, &ticks), 0);
	assert_true(ticks > 0);
	assert_true(jr_exec_process_alive(c.pid, ticks, jr_exec_boot_id()));
	assert_false(jr_exec_process_alive(c.pid, ticks + 1, jr_exec_boot_id()));
	memcpy(other_boot, jr_exec_boot_id(), 16);
	other_boot[0] ^= 1;
	assert_false(jr_exec_process_alive(c.pid, ticks, other_boot));
	jr_exec_signal_group(&c, SIGKILL);
	wait_child(&c);
	assert_false(jr_exec_process_alive(c.pid, ticks, jr_exec_boot_id()));
	jr_exec_close(&c);
}

/* --- cgroups ------------------------------------------------------------------------------- */

static bool in_cgroup(pid_t pid, const char *name)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0 && strstr(line, name))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static bool gone(pid_t pid)
{
	char path[64], st[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (!fgets(st, sizeof(st), f))
		st[0] = '\0';
	fclose(f);
	return strstr(st, ") Z ") != NULL;
}

/* A process that left its session (setsid) is still in the job's cgroup:
 * killing the cgroup kills it, and the cgroup empties and goes back to
 * the idle list, for the next job. */
static void test_cgroup_holds_escapees(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "setsid sleep 121 & echo $!; wait", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_cgroups cg;
	struct jr_cgroup_job job, next;
	struct jr_child c;
	struct jr_exit_status r;
	char buf[64], name[32];
	pid_t escapee = 0;

	jr_cgroups_open(&cg, "test-executor", NULL, 0);
	if (cg.mode != JR_CGROUP_V2) {
		print_message("SKIP: no cgroup v2 here: %s\n", cg.note);
		skip();
	}
	assert_int_equal(jr_cgroup_job_take(&cg, "0000000100000001", 0, &job), 0);
	jr_cgroup_job_name(job.slot, name, sizeof(name));
	assert_int_equal(jr_cgroup_job_populated(&job), 0);
	s.cgroup_fd = job.fd;
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_true(in_cgroup(c.pid, name));
	for (int i = 0; i < 2000 && escapee <= 0; i++) {
		read_file(out_path, buf, sizeof(buf));
		if (strchr(buf, '\n'))
			escapee = (pid_t)atoi(buf);
		jrt_sleep_ms(1);
	}
	assert_true(escapee > 0);
	assert_true(in_cgroup(escapee, name));
	assert_true(jr_cgroup_job_has_pid(&cg, job.slot, escapee));
	assert_int_equal(jr_cgroup_job_populated(&job), 1);
	/* Its session is not the child's: a group signal misses it. */
	assert_int_equal(jr_cgroup_job_kill(&job), 0);
	r = wait_child(&c);
	assert_int_equal(r.signal, SIGKILL);
	assert_int_equal(jr_cgroup_job_wait_empty(&job, 5000), 0);
	for (int i = 0; i < 2000 && !gone(escapee); i++)
		jrt_sleep_ms(1);
	assert_true(gone(escapee));
	uint32_t slot = job.slot;
	assert_int_equal(jr_cgroup_job_release(&cg, &job, 5000), 0);
	assert_int_equal(job.fd, -1);
	/* A killed cgroup is not reused (Linux would kill what enters it);
	 * an empty one that was never killed is. */
	assert_int_equal(jr_cgroup_job_take(&cg, "0000000100000002", 0, &next), 0);
	assert_true(next.slot != slot);
	assert_int_equal(cg.made, 2);
	slot = next.slot;
	assert_int_equal(jr_cgroup_job_release(&cg, &next, 5000), 0);
	assert_int_equal(jr_cgroup_job_take(&cg, "0000000100000003", 0, &next), 0);
	assert_int_equal(next.slot, slot);
	assert_int_equal(cg.made, 2);
	char *true_argv[] = { "true", NULL };
	s.argv = true_argv;
	s.cgroup_fd = next.fd;
	jr_exec_close(&c);
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	r = wait_child(&c);
	assert_int_equal(r.exit_code, 0);	/* not killed on entry */
	assert_int_equal(jr_cgroup_job_release(&cg, &next, 5000), 0);
	jr_exec_close(&c);
	jr_cgroups_close(&cg, /* remove */ true);
}

/* The main process ends and leaves a child behind: release kills it. */
static void test_cgroup_release_kills_leftovers(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "setsid sleep 122 & echo $!", NULL };
	struct jr_exec_spec s = spec_for(argv);
	struct jr_cgroups cg;
	struct jr_cgroup_job job, again;
	struct jr_child c;
	char buf[64];
	pid_t left;

	jr_cgroups_open(&cg, "test-executor", NULL, 0);
	if (cg.mode != JR_CGROUP_V2) {
		print_message("SKIP: no cgroup v2 here: %s\n", cg.note);
		skip();
	}
	assert_int_equal(jr_cgroup_job_take(&cg, "0000000100000003", 0, &job), 0);
	s.cgroup_fd = job.fd;
	assert_int_equal(jr_exec_spawn(&s, &c), 0);
	assert_int_equal(wait_child(&c).exit_code, 0);
	read_file(out_path, buf, sizeof(buf));
	left = (pid_t)atoi(buf);
	assert_true(left > 0 && !gone(left));
	/* While it holds a process, a restarted owner leaves it alone: a
	 * second pool (as after a restart) does not hand it out. */
	struct jr_cgroups other;
	jr_cgroups_open(&other, "test-executor", NULL, 0);
	assert_int_equal(jr_cgroup_job_take(&other, "x", 0, &again), 0);
	assert_true(again.slot != job.slot);
	assert_int_equal(jr_cgroup_job_release(&other, &again, 5000), 0);
	assert_int_equal(jr_cgroup_job_try_release(&cg, &job) == 0 ||
			 jr_cgroup_job_release(&cg, &job, 5000) == 0, 1);
	for (int i = 0; i < 2000 && !gone(left); i++)
		jrt_sleep_ms(1);
	assert_true(gone(left));
	jr_cgroups_close(&other, true);
	jr_exec_close(&c);
	jr_cgroups_close(&cg, true);
	assert_int_equal(access("/sys/fs/cgroup/unified/jobring-test-executor", F_OK) == 0 &&
			 cg.mode == JR_CGROUP_V2 && strstr(cg.path, "unified"), 0);
}

static void test_cgroups_disabled(void **state)
{
	(void)state;
	struct jr_cgroups cg;
	struct jr_cgroup_job job;

	jr_cgroups_open(&cg, "test-executor", NULL, JR_CGROUPS_DISABLE);
	assert_int_equal(cg.mode, JR_CGROUP_NONE);
	assert_non_null(strstr(cg.note, "process group"));
	assert_int_equal(jr_cgroup_job_take(&cg, "x", 0, &job), 0);
	assert_int_equal(job.fd, -1);
	jr_cgroups_close(&cg, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_and_output),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_signal_whole_group),
		cmocka_unit_test(test_binding_visible_to_child),
		cmocka_unit_test(test_spawner_binding_untouched),
		cmocka_unit_test(test_progress_lines),
		cmocka_unit_test(test_rusage_recorded),
		cmocka_unit_test(test_path_umask_session_fds),
		cmocka_unit_test(test_process_identity),
		cmocka_unit_test(test_spawn_leaves_parent_fds_alone),
		cmocka_unit_test(test_cgroup_holds_escapees),
		cmocka_unit_test(test_cgroup_release_kills_leftovers),
		cmocka_unit_test(test_cgroups_disabled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
