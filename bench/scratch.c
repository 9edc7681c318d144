/*
 * bench/scratch - what issue 14's resources view and storage cost.
 *
 *  1. /bin/true command jobs (runner threads, no cgroups, 1 core each)
 *     with and without "storage": each storage job gets a directory made
 *     before its spawn and removed after its end (exec/scratch.h). The
 *     difference per job is the scratch directory's cost end to end; a
 *     bare posix_spawn+waitpid of /bin/true in the same run is the
 *     baseline it is set against.
 *  2. jr_scratch_make + jr_scratch_remove alone, on an empty directory and
 *     on one holding 10 files in 2 subdirectories (what the coordinator's
 *     thread pays at an attempt's end).
 *  3. jr_engine_resources() (GET /resources' engine side) against
 *     jr_engine_stats() (GET /health's), per call, on a modelled
 *     2-socket, 64-core host.
 *
 * Each figure is the median of JR_BENCH_RUNS runs (default 3), the
 * variants taking turns. JR_BENCH_SCRATCH_JOBS sets the jobs of 1 (2,000).
 */
#include "benchutil.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "exec/scratch.h"
#include "jobring.h"

extern char **environ;

static uint64_t jobs;
static int runs;
static const char *parent;

/* Jobs per second of a command-job run, with storage or without. */
static double engine_once(bool storage)
{
	char dir[128], fs[160], decl[200];
	char *argv[] = { "/bin/true", NULL };
	char *decls[] = { decl, NULL };
	struct jr_command_spec spec = { .argv = argv, .priority = 3, .cpus = 1 };
	struct jr_engine_opts o;
	struct jr_engine *e;
	double t0, t1;

	if (jrt_dir_make(dir, sizeof(dir), parent, "bench-scratch") < 0)
		return 0;
	snprintf(fs, sizeof(fs), "%s/fs", dir);
	snprintf(decl, sizeof(decl), "%s=1T", fs);
	mkdir(fs, 0755);
	jrt_engine_opts(&o, 1, 0, JR_ENGINE_NO_CGROUPS, dir);
	if (storage) {
		o.storage = decls;
		spec.resources = "storage:0=1048576";
	}
	if (jr_engine_open(&e, &o) < 0)
		return 0;
	t0 = jrt_now_s();
	for (uint64_t i = 0; i < jobs; i++)
		if (jr_command_submit(e, &spec, NULL) < 0)
			return 0;
	jr_engine_wait_all(e);
	t1 = jrt_now_s();
	jr_engine_close(e, JR_CLOSE_DRAIN);
	jrt_dir_remove(dir);
	return (double)jobs / (t1 - t0);
}

static double bare_once(void)
{
	char *argv[] = { "/bin/true", NULL };
	double t0 = jrt_now_s();

	for (uint64_t i = 0; i < jobs; i++) {
		pid_t pid;
		int status;
		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0)
			waitpid(pid, &status, 0);
	}
	return (jrt_now_s() - t0) * 1e6 / (double)jobs;	/* us a spawn */
}

/* us a make + remove; files: how many to put in it first. */
static double make_remove_once(int files)
{
	char dir[128], decl[200], path[300];
	char *decls[] = { decl, NULL };
	struct jr_scratch sc;
	const uint32_t n = 2000;
	double t0, t = 0;

	if (jrt_dir_make(dir, sizeof(dir), parent, "bench-scratch-dir") < 0)
		return 0;
	snprintf(decl, sizeof(decl), "%s=1T", dir);
	if (jr_scratch_init(&sc, decls) < 0 || jr_scratch_open(&sc, NULL) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		if (jr_scratch_make(&sc, 0, i + 1, false, 0, 0, path, sizeof(path)) < 0)
			return 0;
		size_t len = strlen(path);
		for (int f = 0; f < files; f++) {	/* not timed: the job's doing */
			if (f == 0 || f == files / 2) {
				snprintf(path + len, sizeof(path) - len, "/d%d", f);
				mkdir(path, 0700);
			}
			snprintf(path + len, sizeof(path) - len, "/d%d/f%d", f < files / 2 ? 0 : files / 2, f);
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
		}
		t0 = jrt_now_s();
		if (files == 0) {
			/* make's cost counted too when there is nothing to remove */
			jr_scratch_remove(&sc, i + 1);
			jr_scratch_make(&sc, 0, i + 1, false, 0, 0, path, sizeof(path));
		}
		jr_scratch_remove(&sc, i + 1);
		t += jrt_now_s() - t0;
	}
	jr_scratch_close(&sc);
	jrt_dir_remove(dir);
	return t * 1e6 / n;
}

/* ns a call of the view (or of stats, the baseline). */
static double view_once(struct jr_engine *e, bool view)
{
	static struct jr_resource_view v;
	struct jr_stats st;
	const int n = 200000;
	double t0 = jrt_now_s();

	for (int i = 0; i < n; i++) {
		if (view)
			jr_engine_resources(e, &v, 0);
		else
			jr_engine_stats(e, &st);
	}
	return (jrt_now_s() - t0) * 1e9 / n;
}

int main(void)
{
	double with[16], without[16], bare[16], empty[16], ten[16], view[16], stats[16];
	struct jr_engine_opts o;
	struct jr_engine *e;

	parent = getenv("JR_BENCH_STATE_PARENT");
	if (!parent)
		parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	jobs = jrt_env_u64("JR_BENCH_SCRATCH_JOBS", 2000);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	if (runs < 1 || runs > 16)
		runs = 3;
	jrt_engine_opts(&o, 1, 0, JR_ENGINE_NO_CGROUPS, NULL);
	o.topology = "package:2 numa:1 core:32 pu:2";
	o.custom_resources = "licenses=8";
	if (jr_engine_open(&e, &o) < 0) {
		fprintf(stderr, "scratch: cannot open an engine\n");
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		without[r] = engine_once(false);
		with[r] = engine_once(true);
		bare[r] = bare_once();
		empty[r] = make_remove_once(0);
		ten[r] = make_remove_once(10);
		view[r] = view_once(e, true);
		stats[r] = view_once(e, false);
	}
	jr_engine_close(e, JR_CLOSE_DRAIN);
	double jw = bench_median(with, runs), jo = bench_median(without, runs);
	double b = bench_median(bare, runs);
	printf("bench/scratch: %lu /bin/true jobs per run (a runner per core, no cgroups), "
	       "scratch under %s, "
	       "median of %d runs\n", (unsigned long)jobs, parent, runs);
	printf("  %-58s %8.0f jobs/s\n", "jobring, no storage", jo);
	printf("  %-58s %8.0f jobs/s\n", "jobring, storage (a scratch dir made and removed)", jw);
	printf("  %-58s %8.1f us per job\n", "a scratch directory costs, end to end",
	       jw && jo ? 1e6 / jw - 1e6 / jo : 0);
	printf("  %-58s %8.1f us per job\n", "baseline: bare posix_spawn+waitpid of /bin/true", b);
	printf("  %-58s %8.1f us\n", "jr_scratch_make + remove, empty directory",
	       bench_median(empty, runs));
	printf("  %-58s %8.1f us\n", "jr_scratch_remove, 10 files in 2 subdirectories",
	       bench_median(ten, runs));
	printf("  %-58s %8.0f ns a call\n", "jr_engine_resources (2 nodes, 64 cores, 1 counter)",
	       bench_median(view, runs));
	printf("  %-58s %8.0f ns a call\n", "baseline: jr_engine_stats", bench_median(stats, runs));
	printf("  ratio storage/no storage %.2fx; make+remove (empty) / bare spawn %.3fx; "
	       "resources / stats %.1fx\n", jo ? jw / jo : 0, b ? bench_median(empty, runs) / b : 0,
	       bench_median(stats, runs) ? bench_median(view, runs) / bench_median(stats, runs) : 0);
	return 0;
}
