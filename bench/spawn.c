/*
 * bench/spawn - 20,000 /bin/true command jobs through jobring (each bound
 * to a core, stdout and stderr captured to files, each in a cgroup of its
 * own), against, in the same run: the same without cgroups (what a cgroup
 * costs per job), a bare posix_spawn+waitpid loop in 2 threads (the
 * ceiling: no capture, no binding, no cgroup, no bookkeeping),
 * `xargs -P2 -n1 true`, and GNU parallel -j2 when installed (on a tenth of
 * the jobs: it is slow). The variants take turns, JR_BENCH_RUNS rounds
 * (default 3), and each figure is the median of its runs.
 * JR_BENCH_SPAWN_INLINE=1 adds the coordinator-spawns variant.
 */
#include "benchutil.h"

#include <errno.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "jobring.h"

extern char **environ;

static uint64_t jobs;
static int runs;
static const char *state_parent;	/* where the per-job output files go */

static uint32_t spawn_flags;

static double jobring_once(void)
{
	struct jr_engine *e;
	char *argv[] = { "/bin/true", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = 3, .cpus = 1 };
	char dir[128];
	double t0, t1;

	if (jrt_dir_make(dir, sizeof(dir), state_parent, "bench-spawn") < 0 ||
	    jrt_engine_open(&e, 1, 0, spawn_flags, dir) < 0)
		return 0;
	t0 = jrt_now_s();
	for (uint64_t i = 0; i < jobs; i++)
		if (jr_command_submit(e, &spec, NULL) < 0)
			return 0;
	jr_engine_wait_all(e);
	t1 = jrt_now_s();
	jr_engine_close(e, JR_CLOSE_DRAIN);
	if (jrt_dir_remove(dir) < 0)
		fprintf(stderr, "spawn: could not remove %s\n", dir);
	return (double)jobs / (t1 - t0);
}

static void *bare_spawner(void *arg)
{
	uint64_t n = *(uint64_t *)arg;
	char *argv[] = { "/bin/true", NULL };

	for (uint64_t i = 0; i < n; i++) {
		pid_t pid;
		int status;
		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0)
			waitpid(pid, &status, 0);
	}
	return NULL;
}

static double bare_once(void)
{
	pthread_t th[2];
	uint64_t half = jobs / 2;
	double t0 = jrt_now_s();

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, bare_spawner, &half);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	return (double)(2 * half) / (jrt_now_s() - t0);
}

static double shell_n(const char *pipeline, uint64_t n)
{
	char cmd[512];
	double t0;

	snprintf(cmd, sizeof(cmd), "seq %lu | %s", (unsigned long)n, pipeline);
	t0 = jrt_now_s();
	if (system(cmd) != 0)
		return 0;
	return (double)n / (jrt_now_s() - t0);
}

static double shell_once(const char *pipeline)
{
	return shell_n(pipeline, jobs);
}

static double jobring_cgroups(void)
{
	spawn_flags = 0;
	return jobring_once();
}

static double jobring_no_cgroups(void)
{
	spawn_flags = JR_ENGINE_NO_CGROUPS;
	return jobring_once();
}

static double jobring_inline(void)
{
	spawn_flags = JR_ENGINE_SPAWN_INLINE;
	return jobring_once();
}

static double xargs_once(void) { return shell_once("xargs -P2 -n1 true"); }
/* GNU parallel starts a few hundred jobs a second here: a tenth of the
 * jobs gives its rate without making the benchmark take minutes. */
static double parallel_once(void)
{
	return shell_n("parallel -j2 true >/dev/null", jobs / 10 ? jobs / 10 : 1);
}

enum { V_CGROUPS, V_NO_CGROUPS, V_BARE, V_XARGS, V_PARALLEL, V_INLINE, VARIANTS };

static double (*const variant_fn[VARIANTS])(void) = {
	jobring_cgroups, jobring_no_cgroups, bare_once, xargs_once, parallel_once, jobring_inline,
};

/* Round-robin, so that a slow minute of this shared machine hits every
 * variant alike. */
static void measure(const bool *on, double *median)
{
	double v[VARIANTS][16];

	for (int r = 0; r < runs; r++)
		for (int k = 0; k < VARIANTS; k++)
			if (on[k])
				v[k][r] = variant_fn[k]();
	for (int k = 0; k < VARIANTS; k++)
		median[k] = on[k] ? bench_median(v[k], runs) : 0;
}

static bool cgroups_here(void)
{
	struct jr_engine *e;
	char *argv[] = { "/bin/sh", "-c", "grep -q '^0::/.*jobring-' /proc/self/cgroup", NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = 3 };
	struct jr_job_info info;
	char dir[128];
	jr_job_id id;
	bool yes = false;

	if (jrt_dir_make(dir, sizeof(dir), state_parent, "bench-spawn") < 0)
		return false;
	if (jrt_engine_open(&e, 1, 0, 0, dir) == 0) {
		yes = jr_command_submit(e, &spec, &id) == 0 && jr_job_wait(e, id, &info) == 0 &&
		      info.state == JR_JOB_SUCCEEDED;
		jr_engine_close(e, JR_CLOSE_DRAIN);
	}
	if (jrt_dir_remove(dir) < 0)
		fprintf(stderr, "spawn: could not remove %s\n", dir);
	return yes;
}

int main(void)
{
	bool on[VARIANTS] = { true, true, true, true, false, false };
	double m[VARIANTS], jr, jr_nocg, jr_inline, bare, xa, par;
	bool have_parallel = system("parallel --version >/dev/null 2>&1") == 0;
	bool cg;

	state_parent = getenv("JR_BENCH_STATE_PARENT");
	if (!state_parent)
		state_parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	jobs = jrt_env_u64("JR_BENCH_SPAWN_JOBS", 20000);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	if (runs < 1 || runs > 16)
		runs = 3;
	cg = cgroups_here();
	printf("bench/spawn: %lu /bin/true jobs per run, median of %d runs, "
	       "job output files under %s, %s\n", (unsigned long)jobs, runs, state_parent,
	       cg ? "a cgroup per job" : "NO CGROUPS HERE (not root, or no cgroup v2)");
	on[V_PARALLEL] = have_parallel;
	on[V_INLINE] = jrt_env_u64("JR_BENCH_SPAWN_INLINE", 0) != 0;
	measure(on, m);
	jr = m[V_CGROUPS], jr_nocg = m[V_NO_CGROUPS], jr_inline = m[V_INLINE];
	bare = m[V_BARE], xa = m[V_XARGS], par = m[V_PARALLEL];
	if (on[V_INLINE])
		printf("  %-58s %8.0f jobs/s\n", "jobring, coordinator spawns (JR_ENGINE_SPAWN_INLINE)",
		       jr_inline);
	printf("  %-58s %8.0f jobs/s\n", "jobring, runner threads, a cgroup per job (default)", jr);
	printf("  %-58s %8.0f jobs/s\n", "jobring, runner threads, no cgroups", jr_nocg);
	printf("  (each: 1 core per job, bound to it, stdout/stderr captured to files)\n");
	printf("  %-58s %8.1f us of wall time per job (2 at a time)\n", "a cgroup costs",
	       jr && jr_nocg ? (1e6 / jr - 1e6 / jr_nocg) : 0);
	printf("  %-58s %8.0f jobs/s\n", "bare posix_spawn+waitpid, 2 threads", bare);
	printf("  %-58s %8.0f jobs/s\n", "xargs -P2 -n1 true", xa);
	if (have_parallel)
		printf("  %-58s %8.0f jobs/s\n", "GNU parallel -j2 (a tenth of the jobs)", par);
	else
		printf("  %-58s %8s\n", "GNU parallel -j2", "SKIPPED (not installed)");
	printf("  ratio jobring/bare %.2fx (without cgroups %.2fx), jobring/xargs %.2fx\n",
	       jr / bare, jr_nocg / bare, jr / xa);
	if (have_parallel)
		printf("  ratio jobring/GNU parallel %.2fx\n", jr / par);
	printf("  target %-40s %.2fx (want >= 0.85) %s\n", "jobring (cgroups) vs bare posix_spawn",
	       jr / bare, jr / bare >= 0.85 ? "PASS" : "MISS");
	printf("  target %-40s %.2fx (want >= 1.30) %s\n", "jobring (cgroups) vs xargs -P2", jr / xa,
	       jr / xa >= 1.3 ? "PASS" : "MISS");
	return 0;
}
