/*
 * test_harness.c - the shared test harness (tests/support/) does what the
 * suites and benchmarks rely on: a temporary directory goes with
 * everything in it but not what a symbolic link in it points to; a
 * jobringd that refuses its options is seen to exit, with its status; a
 * daemon that answers has its cgroup subtree noted, and once it has been
 * killed with -9 while running a job itself (--no-keeper), the subtree
 * is busy, is removed only after its processes are killed, and the
 * scratch directory goes.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *self_path;	/* argv[0]: jobringd is beside it */

static void touch(const char *dir, const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_dir_removed_with_its_contents(void **state)
{
	char dir[64], outside[64], path[256], link[256];

	(void)state;
	assert_int_equal(jrt_dir_make(dir, sizeof(dir), NULL, "harness"), 0);
	assert_int_equal(strncmp(dir, "/tmp/jr-harness-", 16), 0);
	assert_int_equal(jrt_dir_make(outside, sizeof(outside), NULL, "harness-outside"), 0);
	touch(outside, "kept");
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	touch(path, "file");
	touch(dir, "top");
	snprintf(link, sizeof(link), "%s/a/link", dir);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(jrt_dir_remove(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
	snprintf(path, sizeof(path), "%s/kept", outside);
	assert_int_equal(access(path, F_OK), 0);	/* the link went, not its target */
	assert_int_equal(jrt_dir_remove(dir), 0);	/* not there: as rm -rf */
	assert_int_equal(jrt_dir_remove(outside), 0);
}

static void test_refused_options_seen(void **state)
{
	static const char *const bad[] = { "--no-such-option", NULL };
	char path[PATH_MAX];
	struct jrt_daemon d;

	(void)state;
	assert_int_equal(jrt_daemon_path(path, sizeof(path), self_path), 0);
	assert_int_equal(jrt_daemon_init(&d, path, NULL, "harness"), 0);
	assert_int_equal(jrt_daemon_start(&d, bad, 30), -ECHILD);
	assert_int_equal(d.pid, 0);
	assert_true(WIFEXITED(d.status) && WEXITSTATUS(d.status) == 2);	/* usage */
	assert_int_equal(jrt_daemon_remove(&d), 0);
	assert_int_equal(access(d.dir, F_OK), -1);
}

/* Does d use cgroups, by /health? */
static bool cgroups_on(const struct jrt_daemon *d)
{
	char *resp = NULL;
	bool on;

	assert_int_equal(jrt_daemon_health(d, &resp), 200);
	on = strstr(resp, "\"cgroups\":{\"enabled\":true") != NULL;
	free(resp);
	return on;
}

/* A job of d's, running. */
static void run_sleeper(const struct jrt_daemon *d)
{
	static const char job[] = "{\"command\":[\"sleep\",\"300\"]}";
	struct jr_client *c;
	char *resp = NULL;

	assert_int_equal(jr_client_open(&c, d->sock), 0);
	assert_int_equal(jr_client_request(c, "POST", "/jobs", job, strlen(job), &resp, NULL), 201);
	free(resp);
	jr_client_close(c);
	assert_true(jrt_daemon_health_until(d, "running", 1, true, jrt_now_s(), 20, 10000) >= 0);
}

static void test_killed_daemon_leaves_nothing(void **state)
{
	static const char *const no_keeper[] = { "--no-keeper", NULL };
	char path[PATH_MAX];
	struct jrt_daemon d;

	(void)state;
	assert_int_equal(jrt_daemon_path(path, sizeof(path), self_path), 0);
	assert_int_equal(jrt_daemon_init(&d, path, NULL, "harness"), 0);
	assert_int_equal(jrt_daemon_start(&d, no_keeper, 30), 0);
	if (!cgroups_on(&d)) {
		jrt_daemon_remove(&d);
		skip();	/* none here (not root, or no cgroup v2): /health says why */
	}
	assert_int_equal(d.cgroup[0], '/');	/* noted from /health */
	run_sleeper(&d);
	/* "running" is said at dispatch: wait for its process in the cgroup */
	for (double t0 = jrt_now_s(); jrt_cgroup_populated(d.cgroup) != 1 && jrt_now_s() - t0 < 20;)
		jrt_sleep_ms(20);
	assert_true(WIFSIGNALED(jrt_daemon_stop(&d, SIGKILL)));
	assert_int_equal(jrt_cgroup_populated(d.cgroup), 1);	/* the job outlived it */
	assert_int_equal(jrt_cgroup_remove(d.cgroup, 0), -EBUSY);
	assert_int_equal(access(d.cgroup, F_OK), 0);
	assert_int_equal(jrt_cgroup_kill(d.cgroup), 0);
	assert_true(jrt_cgroup_remove(d.cgroup, 5) >= 1);	/* its job's cgroup, then it */
	assert_int_equal(access(d.cgroup, F_OK), -1);
	assert_int_equal(jrt_cgroup_remove(d.cgroup, 0), -ENOENT);
	assert_int_equal(jrt_daemon_remove(&d), 0);
	assert_int_equal(access(d.dir, F_OK), -1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_removed_with_its_contents),
		cmocka_unit_test(test_refused_options_seen),
		cmocka_unit_test(test_killed_daemon_leaves_nothing),
	};

	(void)argc;
	self_path = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
