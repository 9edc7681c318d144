/*
 * test_commands.c - command jobs through the public API: output files,
 * environment, progress, exit codes, time limits (SIGTERM, then SIGKILL),
 * cancel of queued and running jobs, retries with backoff, delayed jobs,
 * dependencies, resources and binding, output caps and a refused output
 * directory, close with cancel, a throttle (an array's %N), array tasks'
 * environment and throttle.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char state_dir[64];	/* /tmp/jr-cmd-XXXXXX */
static uint32_t spawn_flags;	/* each test runs with runners, then inline */

static struct jr_engine *cmd_engine(void)
{
	struct jr_engine_opts o;
	struct jr_engine *e;

	jrt_engine_opts(&o, 1, 4096, spawn_flags, state_dir);
	o.kill_grace_ms = 300;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	return e;
}

static int setup(void **state)
{
	(void)state;
	return jrt_dir_make(state_dir, sizeof(state_dir), NULL, "cmd");
}

static int teardown(void **state)
{
	(void)state;
	return jrt_dir_remove(state_dir);
}

static jr_job_id submit_sh(struct jr_engine *e, const char *script,
			   struct jr_command_spec *tmpl)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct jr_command_spec spec = { 0 };
	jr_job_id id;

	if (tmpl)
		spec = *tmpl;
	spec.argv = argv;
	spec.priority = spec.priority ? spec.priority : JR_PRIORITY_DEFAULT;
	assert_int_equal(jr_command_submit(e, &spec, &id), 0);
	return id;
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

static void test_output_env_progress(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_job_info info;
	char out[512], want[64];
	jr_job_id id = submit_sh(e, "echo id=$JOBRING_JOB_ID cpus=$JOBRING_CPUS omp=$OMP_NUM_THREADS; "
				    "echo oops >&2; echo progress 50 >&3", NULL);

	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_true(info.is_command);
	assert_int_equal(info.exec.result, 0);
	assert_int_equal(info.progress, 50);
	assert_int_equal(info.exec.attempt, 1);
	assert_true(info.exec.end_ns >= info.exec.start_ns);
	read_file(info.stdout_path, out, sizeof(out));
	snprintf(want, sizeof(want), "id=%016llx cpus=", (unsigned long long)id);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "omp=1"));
	read_file(info.stderr_path, out, sizeof(out));
	assert_string_equal(out, "oops\n");
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* Progress is read as the job writes it: each value shows while it still
 * runs (runner threads poll the pipe; inline spawns read it in the
 * coordinator's epoll loop). */
static bool progress_reaches(struct jr_engine *e, jr_job_id id, int want, int ms)
{
	struct jr_job_info info;

	for (int waited = 0; waited < ms; waited += 10) {
		if (jr_job_get(e, id, &info) == 0 && info.progress == want)
			return info.state == JR_JOB_RUNNING;
		usleep(10000);
	}
	return false;
}

static void test_progress_live(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_job_info info;
	jr_job_id id = submit_sh(e, "for p in 10 50 90; do echo progress $p >&3; sleep 0.6; done",
				 NULL);

	assert_true(progress_reaches(e, id, 10, 5000));
	assert_true(progress_reaches(e, id, 50, 3000));
	assert_true(progress_reaches(e, id, 90, 3000));
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.progress, 90);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* A job that floods its pipe for a second (and writes garbage and values
 * out of range): the engine keeps answering, the values stay within
 * 0..100 (writes that find the pipe full fail: the job is not blocked),
 * and a line written once the flood is over counts. */
static void test_progress_flood(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_job_info info;
	double worst_s = 0;
	jr_job_id id = submit_sh(e, "printf 'progress 250\nprogress -3\nprogress\nx\n' >&3; "
				    "timeout 1 sh -c 'while :; do echo progress 37; done' >&3 "
				    "2>/dev/null; sleep 0.3; echo progress 64 >&3", NULL);

	do {
		double t0 = jrt_now_s();
		assert_int_equal(jr_job_get(e, id, &info), 0);
		double took = jrt_now_s() - t0;
		worst_s = took > worst_s ? took : worst_s;
		assert_true(info.progress >= -1 && info.progress <= 100);
		usleep(5000);
	} while (info.state != JR_JOB_SUCCEEDED && info.state != JR_JOB_FAILED);
	assert_true(worst_s < 0.5);	/* generous: two busy cores may be all there is */
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.progress, 64);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* shared_env goes beneath each job's env (its own name wins) and above
 * the engine's environment; the jobs of a batch that share the pointer
 * each get it, also after the caller's array is gone. */
static void test_shared_env(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	char *argv[] = { "sh", "-c", "echo a=$JRT_A b=$JRT_B path=${PATH:+set}", NULL };
	char *shared[] = { "JRT_A=shared", "JRT_B=shared", NULL };
	char *own[] = { "JRT_B=own", NULL };
	struct jr_command_spec specs[3] = {
		{ .argv = argv, .shared_env = shared, .env = own, .priority = 3 },
		{ .argv = argv, .shared_env = shared, .priority = 3 },
		{ .argv = argv, .priority = 3 },
	};
	const char *want[3] = { "a=shared b=own path=set\n", "a=shared b=shared path=set\n",
				"a= b= path=set\n" };
	jr_job_id ids[3];
	struct jr_job_info info;
	char out[256];

	assert_int_equal(jr_command_submit_batch(e, specs, 3, ids, NULL), 0);
	shared[0] = shared[1] = "JRT_GONE=1";	/* the engine kept its own copy */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(jr_job_wait(e, ids[i], &info), 0);
		assert_int_equal(info.state, JR_JOB_SUCCEEDED);
		read_file(info.stdout_path, out, sizeof(out));
		assert_string_equal(out, want[i]);
	}
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_exit_code_and_missing_program(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_job_info info;
	char *argv[] = { "/nonexistent/program", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = 3 };
	jr_job_id id = submit_sh(e, "exit 3", NULL), missing;

	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.reason, JR_REASON_EXIT);
	assert_int_equal(info.exec.result, 3);
	assert_int_equal(jr_command_submit(e, &spec, &missing), 0);
	assert_int_equal(jr_job_wait(e, missing, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.reason, JR_REASON_SPAWN_FAILED);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_time_limit_term_then_kill(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_command_spec t = { .timeout_ms = 200 };
	struct jr_job_info a, b;
	double t0 = jrt_now_s();
	jr_job_id polite = submit_sh(e, "exec sleep 30", &t);
	jr_job_id stubborn = submit_sh(e, "trap '' TERM; sleep 30 & wait; sleep 30", &t);

	assert_int_equal(jr_job_wait(e, polite, &a), 0);
	assert_int_equal(jr_job_wait(e, stubborn, &b), 0);
	assert_true(jrt_now_s() - t0 < 5);
	assert_int_equal(a.state, JR_JOB_FAILED);
	assert_int_equal(a.reason, JR_REASON_TIMEOUT);
	assert_int_equal(a.exec.signal, SIGTERM);
	assert_int_equal(b.reason, JR_REASON_TIMEOUT);
	assert_int_equal(b.exec.signal, SIGKILL);	/* ignored TERM: killed */
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_cancel_queued_and_running(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct jr_command_spec all = { .cpus = (uint32_t)cores };
	struct jr_job_info info;
	jr_job_id running = submit_sh(e, "echo started; exec sleep 30", &all);
	jr_job_id queued = submit_sh(e, "echo should-not-run", NULL);
	char out[64];

	for (int i = 0; i < 2000; i++) {
		assert_int_equal(jr_job_get(e, running, &info), 0);
		if (info.state == JR_JOB_RUNNING)
			break;
		jrt_sleep_ms(1);
	}
	assert_int_equal(jr_job_get(e, queued, &info), 0);
	assert_int_equal(info.state, JR_JOB_QUEUED);	/* all cores are taken */
	assert_int_equal(jr_job_cancel(e, queued), 0);
	assert_int_equal(jr_job_cancel(e, running), 0);
	assert_int_equal(jr_job_cancel(e, running), 0);	/* idempotent */
	assert_int_equal(jr_job_wait(e, running, &info), 0);
	assert_int_equal(info.state, JR_JOB_CANCELLED);
	assert_int_equal(info.reason, JR_REASON_CANCELLED);
	assert_int_equal(info.exec.signal, SIGTERM);
	assert_int_equal(jr_job_wait(e, queued, &info), 0);
	assert_int_equal(info.state, JR_JOB_CANCELLED);
	assert_int_equal(info.exec.attempt, 0);
	read_file(info.stdout_path, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_retries_with_backoff(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_command_spec r = { .max_retries = 2, .backoff_base_ms = 100,
				     .backoff_max_ms = 1000 };
	struct jr_job_info info;
	char script[512];
	double t0 = jrt_now_s();
	jr_job_id always = submit_sh(e, "exit 1", &r), second;

	assert_int_equal(jr_job_wait(e, always, &info), 0);
	assert_int_equal(info.state, JR_JOB_FAILED);
	assert_int_equal(info.exec.attempt, 3);	/* 1 + 2 retries */
	/* Equal jitter: at least half of 100 ms, then half of 200 ms. */
	assert_true(jrt_now_s() - t0 >= 0.150);
	snprintf(script, sizeof(script),
		 "f=%s/count; n=$(cat $f 2>/dev/null || echo 0); n=$((n+1)); "
		 "echo $n > $f; [ $n -ge 2 ]", state_dir);
	second = submit_sh(e, script, &r);
	assert_int_equal(jr_job_wait(e, second, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_int_equal(info.exec.attempt, 2);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_delayed_start(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct timespec ts;
	struct jr_command_spec d = { 0 };
	struct jr_job_info info;
	jr_job_id id;

	clock_gettime(CLOCK_REALTIME, &ts);
	d.scheduled_at_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
			    300000000ull;
	id = submit_sh(e, "true", &d);
	jrt_sleep_ms(100);
	assert_int_equal(jr_job_get(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_PENDING);	/* waiting on its start time */
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	assert_int_equal(info.state, JR_JOB_SUCCEEDED);
	assert_true(info.exec.start_ns >= d.scheduled_at_ns);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_dependencies(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	struct jr_job_info a, b, c, d;
	jr_job_id ok = submit_sh(e, "sleep 0.2", NULL), bad, after_ok, after_bad;
	jr_job_id unknown = ((jr_job_id)5 << 32) | 4000;
	struct jr_command_spec dep = { .after = &ok, .after_count = 1 };

	after_ok = submit_sh(e, "true", &dep);
	bad = submit_sh(e, "exit 1", NULL);
	dep.after = &bad;
	after_bad = submit_sh(e, "true", &dep);
	assert_int_equal(jr_job_wait(e, after_ok, &b), 0);
	assert_int_equal(jr_job_get(e, ok, &a), 0);
	assert_int_equal(b.state, JR_JOB_SUCCEEDED);
	assert_true(b.exec.start_ns >= a.exec.end_ns);
	assert_int_equal(jr_job_wait(e, after_bad, &d), 0);
	assert_int_equal(jr_job_get(e, bad, &c), 0);
	assert_int_equal(c.state, JR_JOB_FAILED);
	assert_int_equal(d.state, JR_JOB_CANCELLED);
	assert_int_equal(d.reason, JR_REASON_DEPENDENCY_FAILED);
	/* Unknown ids are rejected at submit. */
	dep.after = &unknown;
	char *argv[] = { "true", NULL };
	dep.argv = argv;
	assert_int_equal(jr_command_submit(e, &dep, NULL), -ENOENT);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

static void test_resources_and_binding(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	char *argv[] = { "true", NULL };
	struct jr_command_spec huge = { .argv = argv, .cpus = 1000 };
	struct jr_job_info info;
	char out[256], want[64];
	jr_job_id id;

	assert_int_equal(jr_command_submit(e, &huge, NULL), -E2BIG);
	huge.cpus = 1;
	huge.gpus = 1;	/* this host has none */
	assert_int_equal(jr_command_submit(e, &huge, NULL), -E2BIG);
	id = submit_sh(e, "echo $JOBRING_CPUS; grep Cpus_allowed_list /proc/self/status", NULL);
	assert_int_equal(jr_job_wait(e, id, &info), 0);
	read_file(info.stdout_path, out, sizeof(out));
	print_message("bound job printed: %s", out);
	/* One core (no SMT siblings here): its id is the allowed list. */
	int core = atoi(out);
	snprintf(want, sizeof(want), "Cpus_allowed_list:\t%d\n", core);
	assert_non_null(strstr(out, want));
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* Named counters and capability labels: a license held by one job makes
 * the next wait for it; what the host does not have is rejected. */
static void test_custom_counters_capabilities_umask(void **state)
{
	(void)state;
	struct jr_engine_opts o;
	struct jr_engine *e;
	char *argv[] = { "true", NULL };
	struct jr_command_spec lic = { .resources = "licenses=1", .capabilities = "ib" };
	struct jr_command_spec bad = { .argv = argv };
	struct jr_job_info a, b, m;
	char script[400], path[300];
	struct stat st;

	jrt_engine_opts(&o, 1, 0, spawn_flags, state_dir);
	o.custom_resources = "licenses=1,scratch_gb=10";
	o.capabilities = "ib,avx2";
	assert_int_equal(jr_engine_open(&e, &o), 0);
	jr_job_id first = submit_sh(e, "sleep 0.3", &lic);
	jr_job_id second = submit_sh(e, "true", &lic);
	assert_int_equal(jr_job_wait(e, second, &b), 0);
	assert_int_equal(jr_job_get(e, first, &a), 0);
	assert_true(b.exec.start_ns >= a.exec.end_ns);	/* one license */
	bad.resources = "licenses=2";
	assert_int_equal(jr_command_submit(e, &bad, NULL), -E2BIG);
	bad.resources = "gpus_x=1";
	assert_int_equal(jr_command_submit(e, &bad, NULL), -E2BIG);
	bad.resources = "licenses=";
	assert_int_equal(jr_command_submit(e, &bad, NULL), -EINVAL);
	bad.resources = NULL;
	bad.capabilities = "quantum";
	assert_int_equal(jr_command_submit(e, &bad, NULL), -E2BIG);
	/* umask: the job's file gets mode 0600 under umask 077. */
	snprintf(path, sizeof(path), "%s/masked", state_dir);
	snprintf(script, sizeof(script), "touch %s", path);
	struct jr_command_spec mask = { .use_umask = 1, .umask = 077 };
	assert_int_equal(jr_job_wait(e, submit_sh(e, script, &mask), &m), 0);
	assert_int_equal(m.state, JR_JOB_SUCCEEDED);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	o.custom_resources = "=5";
	assert_int_equal(jr_engine_open(&e, &o), -EINVAL);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Output is cut at the engine's cap, or a job's lower one; the job keeps
 * its status and is marked. An output directory others may write to is
 * refused. */
static void test_output_cap_and_directory(void **state)
{
	(void)state;
	struct jr_engine_opts o;
	struct jr_engine *e;
	struct jr_job_info big, low, small;
	struct jr_command_spec lower = { .max_output_bytes = 1000 };
	char open_dir[300];
	char *argv[] = { "true", NULL };
	struct jr_command_spec t = { .argv = argv, .priority = JR_PRIORITY_DEFAULT };

	jrt_engine_opts(&o, 1, 0, spawn_flags, state_dir);
	o.max_output_bytes = 1 << 20;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	jr_job_id a = submit_sh(e, "head -c 5000000 /dev/zero; head -c 100 /dev/zero >&2; exit 4", NULL);
	jr_job_id b = submit_sh(e, "head -c 5000 /dev/zero", &lower);
	jr_job_id c = submit_sh(e, "echo small", NULL);
	assert_int_equal(jr_job_wait(e, a, &big), 0);
	assert_int_equal(jr_job_wait(e, b, &low), 0);
	assert_int_equal(jr_job_wait(e, c, &small), 0);
	assert_int_equal(big.state, JR_JOB_FAILED);
	assert_int_equal(big.exec.result, 4);
	assert_int_equal(big.exec.output_truncated, 1);
	assert_int_equal(file_size(big.stdout_path), 1 << 20);
	assert_int_equal(file_size(big.stderr_path), 100);
	assert_int_equal(low.exec.output_truncated, 1);
	assert_int_equal(file_size(low.stdout_path), 1000);
	assert_int_equal(small.exec.output_truncated, 0);
	assert_int_equal(file_size(small.stdout_path), 6);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);

	snprintf(open_dir, sizeof(open_dir), "%s/open", state_dir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	o.state_dir = open_dir;
	assert_int_equal(jr_engine_open(&e, &o), 0);
	assert_int_equal(jr_command_submit(e, &t, NULL), -EPERM);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
	rmdir(open_dir);
}

static void test_close_cancel_kills_children(void **state)
{
	(void)state;
	struct jr_engine *e = cmd_engine();
	char path[300];
	double t0;

	snprintf(path, sizeof(path), "%s/survivor", state_dir);
	for (int i = 0; i < 4; i++) {
		char script[400];
		snprintf(script, sizeof(script), "sleep 2; touch %s", path);
		submit_sh(e, script, NULL);
	}
	jrt_sleep_ms(200);
	t0 = jrt_now_s();
	assert_int_equal(jr_engine_close(e, JR_CLOSE_CANCEL), 0);
	assert_true(jrt_now_s() - t0 < 1.5);
	jrt_sleep_ms(2500);
	assert_int_not_equal(access(path, F_OK), 0);	/* nobody survived */
}

/* Six jobs with one throttle_key and throttle_max 1 (an array's "%1"),
 * submitted as one batch on a host of two or more cores: their runs never
 * overlap. */
static void test_throttle(void **state)
{
	(void)state;
	enum { N = 6 };
	struct jr_engine *e = cmd_engine();
	char *argv[] = { "sleep", "0.1", NULL };
	struct jr_command_spec specs[N];
	struct jr_job_info info[N];
	jr_job_id ids[N];

	for (int i = 0; i < N; i++)
		specs[i] = (struct jr_command_spec){ .argv = argv, .priority = JR_PRIORITY_DEFAULT,
						     .throttle_key = 99, .throttle_max = 1 };
	assert_int_equal(jr_command_submit_batch(e, specs, N, ids, NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jr_job_wait(e, ids[i], &info[i]), 0);
		assert_int_equal(info[i].state, JR_JOB_SUCCEEDED);
	}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < N; k++)
			if (i != k && info[i].exec.start_ns < info[k].exec.start_ns)
				assert_true(info[i].exec.end_ns <= info[k].exec.start_ns);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

/* An array of 6 tasks (indices 10, 12, ..., 20) with a throttle of 2 and
 * no key, as one batch: each sees its array's id (the first task's) and
 * its index in its environment, over an env of its own that tries to
 * set them too; never more than 2 run at once, and 2 do at some point. */
static void test_array_tasks(void **state)
{
	(void)state;
	enum { N = 6 };
	struct jr_engine *e = cmd_engine();
	char *argv[] = { "sh", "-c", "echo $JOBRING_ARRAY_JOB_ID $JOBRING_ARRAY_TASK_ID; sleep 0.2",
			 NULL };
	char *env[] = { "JOBRING_ARRAY_TASK_ID=bogus", NULL };
	struct jr_command_spec specs[N];
	struct jr_job_info info[N];
	jr_job_id ids[N];
	int most = 0;

	for (int i = 0; i < N; i++)
		specs[i] = (struct jr_command_spec){
			.argv = argv, .env = env, .priority = JR_PRIORITY_DEFAULT,
			.flags = JR_COMMAND_ARRAY_TASK, .array_task_id = 10 + 2 * (uint32_t)i,
			.throttle_max = 2 };
	assert_int_equal(jr_command_submit_batch(e, specs, N, ids, NULL), 0);
	for (int i = 0; i < N; i++) {
		char out[128], want[128];
		assert_int_equal(jr_job_wait(e, ids[i], &info[i]), 0);
		assert_int_equal(info[i].state, JR_JOB_SUCCEEDED);
		read_file(info[i].stdout_path, out, sizeof(out));
		snprintf(want, sizeof(want), "%016llx %d\n", (unsigned long long)ids[0], 10 + 2 * i);
		assert_string_equal(out, want);
	}
	for (int i = 0; i < N; i++) {
		int overlapping = 0;
		for (int k = 0; k < N; k++)
			overlapping += info[k].exec.start_ns <= info[i].exec.start_ns &&
				       info[k].exec.end_ns > info[i].exec.start_ns;
		most = overlapping > most ? overlapping : most;
	}
	assert_true(most <= 2);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		assert_int_equal(most, 2);
	assert_int_equal(jr_engine_close(e, JR_CLOSE_DRAIN), 0);
}

int main(void)
{
	int failed;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_env_progress),
		cmocka_unit_test(test_progress_live),
		cmocka_unit_test(test_progress_flood),
		cmocka_unit_test(test_shared_env),
		cmocka_unit_test(test_exit_code_and_missing_program),
		cmocka_unit_test(test_time_limit_term_then_kill),
		cmocka_unit_test(test_cancel_queued_and_running),
		cmocka_unit_test(test_retries_with_backoff),
		cmocka_unit_test(test_delayed_start),
		cmocka_unit_test(test_dependencies),
		cmocka_unit_test(test_resources_and_binding),
		cmocka_unit_test(test_custom_counters_capabilities_umask),
		cmocka_unit_test(test_output_cap_and_directory),
		cmocka_unit_test(test_close_cancel_kills_children),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_array_tasks),
	};
	failed = cmocka_run_group_tests_name("runner threads", tests, setup, teardown);
	spawn_flags = JR_ENGINE_SPAWN_INLINE;
	failed += cmocka_run_group_tests_name("coordinator spawns", tests, setup, teardown);
	return failed;
}
