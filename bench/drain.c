/*
 * bench/drain - 20,000 `true` jobs the way users meet them: a file of one
 * command per line given to `jobring submit --file FILE` (each line becomes
 * the job /bin/sh -c LINE), then `jobring wait`, against a jobringd started
 * with its defaults (journal synced, output captured to files, a cgroup per
 * job, jobs started by its keeper) on a fresh state directory on a disk
 * (/var/tmp; JR_BENCH_STATE_PARENT to choose). Jobs/s from the submit's
 * start to the wait's end, against, in the same run:
 *
 *   `seq N | xargs -P2 -n1 true`, and
 *   `seq N | parallel -j2 true` (GNU parallel, on a tenth of the jobs: it
 *   starts a few hundred a second).
 *
 * The variants take turns, JR_BENCH_RUNS rounds (default 3); each figure
 * is the median of its runs. Also the daemon's CPU time per job by thread
 * (/proc/PID/task/TID/stat, utime+stime, read before the submit and after
 * the wait): the event loop (the main thread), io_uring workers
 * (iou-wrk-*), the coordinator, runner threads, others, and threads that
 * exited during the run; the keeper process (all its threads) beside it,
 * not in the daemon's total. Once each, as extra lines without targets:
 * jobringd --no-keeper (jobs started by runner threads in the daemon: what
 * the keeper costs), and the state directory on /dev/shm.
 *
 * A thread of the benchmark polls /health every 10 ms on one connection:
 * it shows how long after the last job's end `jobring wait` returned, and
 * it notices a stall: when no job has ended for STALL_S seconds the run is
 * given up (its directory kept, with the daemon's log), said in the output,
 * and left out of the medians (if every run stalled, their figures up to
 * the last end are printed as not valid, the targets MISS). Lines of the
 * daemon's log that look wrong and failed jobs are printed as they come.
 *
 * JR_BENCH_DRAIN_JOBS (default 20000), JR_BENCH_RUNS, JR_BENCH_STATE_PARENT.
 * Targets: jobring >= 1.3x xargs, >= 5x GNU parallel; daemon <= 100 us of
 * CPU per job.
 */
#include "daemonutil.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

extern char **environ;

enum { G_LOOP, G_IOU, G_COORD, G_RUNNER, G_OTHER, G_EXITED, GROUPS };

static const char *const group_name[GROUPS] = {
	"event loop (main thread, \"jobringd\")",
	"io_uring workers (\"iou-wrk-*\")",
	"coordinator (\"jr-coordinator\")",
	"runner threads (\"jr-runner\")",
	"other threads",
	"threads that exited during the run",
};

/* One run of jobring: its rate and where the daemon's CPU went. */
struct drain_run {
	double rate;
	double lag_s;		/* wait's end after the last job's end */
	long long failed;	/* failed + cancelled, by /health */
	double us[GROUPS];	/* CPU per job */
	double daemon_us, keeper_us;
	bool cgroups;
	bool stalled;		/* rate: to the last job that ended */
	char others[160];	/* names of the other threads */
};

static uint64_t jobs;
static int runs;
static const char *argv0, *disk_parent;
static char cli[PATH_MAX];

/* --- the daemon's threads ------------------------------------------------------------- */

static int group_of(const struct bench_thread_cpu *t, int pid)
{
	if (t->tid == pid)
		return G_LOOP;
	if (strncmp(t->comm, "iou-", 4) == 0)
		return G_IOU;
	if (strcmp(t->comm, "jr-coordinator") == 0)
		return G_COORD;
	if (strncmp(t->comm, "jr-runner", 9) == 0)
		return G_RUNNER;
	return G_OTHER;
}

static void note_other(struct drain_run *r, const char *comm)
{
	if (strstr(r->others, comm))
		return;
	size_t n = strlen(r->others);
	snprintf(r->others + n, sizeof(r->others) - n, "%s%s", n ? ", " : "", comm);
}

/* CPU between two readings of the daemon, per job, by group. */
static void split_cpu(struct drain_run *r, int pid, const struct bench_proc_cpu *before,
		      const struct bench_proc_cpu *after)
{
	uint64_t ticks[GROUPS] = { 0 }, live = 0;

	for (int i = 0; i < after->n; i++) {
		const struct bench_thread_cpu *t = &after->t[i];
		uint64_t b = bench_thread_ticks(before, t->tid);
		uint64_t d = t->ticks >= b ? t->ticks - b : t->ticks;	/* a tid reused */
		int g = group_of(t, pid);
		ticks[g] += d;
		live += d;
		if (g == G_OTHER && d)
			note_other(r, t->comm);
	}
	/* The process's own total counts threads that have exited too. */
	uint64_t total = after->total - before->total;
	ticks[G_EXITED] = total > live ? total - live : 0;
	for (int g = 0; g < GROUPS; g++)
		r->us[g] = bench_ticks_us(ticks[g]) / (double)jobs;
	r->daemon_us = bench_ticks_us(total) / (double)jobs;
}

/* --- jobring ---------------------------------------------------------------------------- */

/* Polls /health every 10 ms: when every job had ended (how long `jobring
 * wait`, which polls every second once it has waited a while, took beyond
 * that), and when the count of ended jobs last moved (a stall). */
struct watcher {
	const struct jrt_daemon *d;
	volatile bool stop;
	volatile double ended_at, moved_at;
	long long ended;
};

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	struct jr_client *c;

	if (jr_client_open(&c, w->d->sock) < 0)
		return NULL;
	while (!w->stop && w->ended_at == 0) {
		char *resp = NULL;
		if (jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) == 200) {
			long long n = jrt_json_num(resp, "succeeded") +
				      jrt_json_num(resp, "failed") +
				      jrt_json_num(resp, "cancelled");
			if (n != w->ended)
				w->ended = n, w->moved_at = jrt_now_s();
			if (n >= (long long)jobs)
				w->ended_at = jrt_now_s();
		}
		free(resp);
		usleep(10000);
	}
	jr_client_close(c);
	return NULL;
}

#define STALL_S 10	/* no job ended for this long: the run is given up */

/* The CLI, its stdout to /dev/null and stderr to log: its exit status;
 * -2 if w saw no job end for STALL_S seconds (it is killed then). */
static int run_cli(const char *const *argv, const char *log, const struct watcher *w)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
		bench_die("posix_spawn");
	posix_spawn_file_actions_destroy(&fa);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		if (poll(&p, 1, 1000) == 1 || pidfd < 0)
			break;
		if (w->moved_at > 0 && w->ended_at == 0 && jrt_now_s() - w->moved_at > STALL_S) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pidfd);
			return -2;
		}
	}
	waitpid(pid, &status, 0);
	if (pidfd >= 0)
		close(pidfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Why jobs did not end, or failed: a few of them, from GET /jobs. */
static void show_jobs(const struct jrt_daemon *d, const char *status)
{
	struct jr_client *c;
	char path[64], *resp = NULL;

	snprintf(path, sizeof(path), "/jobs?status=%s&limit=3", status);
	if (jr_client_open(&c, d->sock) < 0)
		return;
	if (jr_client_request(c, "GET", path, NULL, 0, &resp, NULL) == 200)
		printf("    %s jobs (at most 3): %.900s\n", status, resp);
	free(resp);
	jr_client_close(c);
}

static void write_jobs_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bench_die(path);
	for (uint64_t i = 0; i < jobs; i++)
		fputs("true\n", f);
	fclose(f);
}

static void start_daemon(struct jrt_daemon *d, const char *const *opts)
{
	if (jrt_daemon_start(d, opts, 30) < 0) {
		fprintf(stderr, "bench/drain: jobringd did not start (see %s)\n", d->log);
		exit(1);
	}
}

/* submit --file, then wait: the rate, and the daemon's CPU meanwhile;
 * false if the jobs stalled (the rate is then the ended jobs' up to the
 * last one's end). */
static bool submit_and_wait(struct jrt_daemon *d, struct drain_run *r, const char *variant)
{
	pid_t pid = d->pid;
	char file[160], log[160];
	static struct bench_proc_cpu before, after, kbefore, kafter;
	pid_t keeper = jrt_daemon_keeper_pid(d);
	struct watcher w = { .d = d };
	pthread_t th;

	snprintf(file, sizeof(file), "%s/jobs.txt", d->dir);
	snprintf(log, sizeof(log), "%s/cli.log", d->dir);
	write_jobs_file(file);
	const char *submit[] = { cli, "--socket", d->sock, "submit", "--file", file, NULL };
	const char *wait[] = { cli, "--socket", d->sock, "wait", NULL };
	bench_proc_cpu_read(pid, &before);
	if (keeper > 0)
		bench_proc_cpu_read(keeper, &kbefore);
	pthread_create(&th, NULL, watch_main, &w);
	double t0 = jrt_now_s();
	w.moved_at = t0;
	int src = run_cli(submit, log, &w), wrc = src == 0 ? run_cli(wait, log, &w) : -1;
	double t1 = jrt_now_s();
	bench_proc_cpu_read(pid, &after);
	if (keeper > 0 && jrt_daemon_keeper_pid(d) != keeper)
		printf("  ! %s: the keeper (pid %d) was replaced during the run: its CPU is not "
		       "counted\n", variant, (int)keeper);
	else if (keeper > 0 && bench_proc_cpu_read(keeper, &kafter) == 0)
		r->keeper_us = bench_ticks_us(kafter.total - kbefore.total) / (double)jobs;
	w.stop = true;
	pthread_join(th, NULL);
	if (wrc == -2) {
		printf("  ! %s: %lld of %llu jobs ended, then none for %d s: run given up "
		       "(kept: %s)\n", variant, w.ended, (unsigned long long)jobs, STALL_S, d->dir);
		show_jobs(d, "running");
		r->stalled = true;
		r->rate = (double)w.ended / (w.moved_at - t0);
		split_cpu(r, pid, &before, &after);
		return false;
	}
	if (src != 0 || (wrc != 0 && wrc != 4)) {	/* 4: some job failed */
		fprintf(stderr, "bench/drain: jobring submit/wait exited %d/%d (see %s)\n", src,
			wrc, log);
		exit(1);
	}
	r->rate = (double)jobs / (t1 - t0);
	r->lag_s = w.ended_at > 0 ? t1 - w.ended_at : 0;
	split_cpu(r, pid, &before, &after);
	return true;
}

static void note_health(const struct jrt_daemon *d, struct drain_run *r)
{
	char *resp;

	if (jrt_daemon_health(d, &resp) == 200) {
		r->failed = jrt_json_num(resp, "failed") + jrt_json_num(resp, "cancelled");
		r->cgroups = strstr(resp, "\"cgroups\":{\"enabled\":true") != NULL;
	}
	free(resp);
}

static void report_log(const struct jrt_daemon *d, const char *variant)
{
	char first[300];
	int n = bench_log_problems(d, first, sizeof(first));

	if (n)
		printf("  ! %s: %d daemon log lines look wrong, the first: %s\n", variant, n,
		       first);
}

/* A fresh daemon with opts, the jobs through it. */
static struct drain_run jobring_once(const char *parent, const char *const *opts,
				     const char *variant)
{
	struct jrt_daemon d;
	struct drain_run r = { 0 };

	bench_daemon_init(&d, argv0, "bench-drain", parent);
	start_daemon(&d, opts);
	bool ok = submit_and_wait(&d, &r, variant);
	note_health(&d, &r);
	if (r.failed > 0) {
		printf("  ! %s: %lld of %llu jobs failed or were cancelled (see %s)\n",
		       variant, r.failed, (unsigned long long)jobs, d.log);
		show_jobs(&d, "failed");
	}
	report_log(&d, variant);
	jrt_daemon_stop(&d, ok ? SIGTERM : SIGKILL);
	jrt_daemon_scrub(&d, NULL);
	if (ok && r.failed == 0)
		jrt_daemon_remove(&d);
	fflush(stdout);
	return r;
}

/* --- the baselines ---------------------------------------------------------------------- */

static double shell_n(const char *pipeline, uint64_t n)
{
	char cmd[512];
	double t0;

	snprintf(cmd, sizeof(cmd), "seq %llu | %s", (unsigned long long)n, pipeline);
	t0 = jrt_now_s();
	if (system(cmd) != 0)
		return 0;
	return (double)n / (jrt_now_s() - t0);
}

static double xargs_once(void)
{
	return shell_n("xargs -P2 -n1 true", jobs);
}

/* A tenth of the jobs: GNU parallel starts a few hundred a second here. */
static double parallel_once(void)
{
	return shell_n("parallel -j2 true >/dev/null", jobs / 10 ? jobs / 10 : 1);
}

/* --- main --------------------------------------------------------------------------------- */

static const char *const defaults[] = { NULL };
static const char *const no_keeper[] = { "--no-keeper", NULL };

static const char *fs_kind(const char *path)
{
	struct statfs s;

	if (statfs(path, &s) < 0)
		return "?";
	return s.f_type == TMPFS_MAGIC ? "tmpfs: NOT a disk" : s.f_type == EXT4_SUPER_MAGIC ?
		"ext4" : s.f_type == XFS_SUPER_MAGIC ? "xfs" : s.f_type == BTRFS_SUPER_MAGIC ?
		"btrfs" : "a disk filesystem";
}

static void set_cli_path(void)
{
	snprintf(cli, sizeof(cli), "%s", argv0);
	char *slash = strrchr(cli, '/');
	snprintf(slash ? slash + 1 : cli, sizeof(cli) - (size_t)(slash ? slash + 1 - cli : 0),
		 "../jobring");
}

/* Each figure's median over the runs that did not stall (n of them,
 * moved to the front of v), or if all did, over those (m.stalled). */
static struct drain_run median_run(struct drain_run *v, int *valid)
{
	struct drain_run m = { 0 };
	double x[16];
	int n = 0;

	for (int i = 0; i < runs; i++)
		if (!v[i].stalled)
			v[n++] = v[i];
	*valid = n;
	if (n == 0)
		n = runs;	/* v as it was: every run stalled */
	m = v[0];
#define MED(field)                                   \
	do {                                         \
		for (int i = 0; i < n; i++)          \
			x[i] = v[i].field;           \
		m.field = bench_median(x, n);        \
	} while (0)
	MED(rate);
	MED(lag_s);
	MED(daemon_us);
	MED(keeper_us);
	for (int g = 0; g < GROUPS; g++)
		MED(us[g]);
#undef MED
	for (int i = 1; i < n; i++)
		if (!strstr(m.others, v[i].others))
			snprintf(m.others + strlen(m.others), sizeof(m.others) - strlen(m.others),
				 "%s%s", m.others[0] && v[i].others[0] ? ", " : "", v[i].others);
	return m;
}

static void print_extra(const char *what, const struct drain_run *r)
{
	printf("  %-60s %8.0f jobs/s  (once, no target%s)\n", what, r->rate,
	       r->stalled ? "; STALLED: to the last job that ended" : "");
}

static void print_cpu(const struct drain_run *m, const struct drain_run *nk)
{
	printf("  daemon CPU per job (utime+stime of /proc/PID/task/*/stat, %ld ticks/s; "
	       "median of the default runs):\n", sysconf(_SC_CLK_TCK));
	for (int g = 0; g < GROUPS; g++)
		printf("    %-52s %8.1f us%s%s%s\n", group_name[g], m->us[g],
		       g == G_OTHER && m->others[0] ? "  (" : "", g == G_OTHER ? m->others : "",
		       g == G_OTHER && m->others[0] ? ")" : "");
	printf("    %-52s %8.1f us\n", "daemon total", m->daemon_us);
	printf("    %-52s %8.1f us  (not in the daemon total)\n",
	       "keeper process (\"jobring-keeper\", all threads)", m->keeper_us);
	printf("    %-52s %8.1f us  (runner threads %.1f us; no keeper)\n",
	       "with --no-keeper, once: daemon total", nk->daemon_us, nk->us[G_RUNNER]);
}

int main(int argc, char **argv)
{
	struct drain_run jr[16], nk, shm = { 0 };
	double xa[16], par[16];
	bool have_parallel = system("parallel --version >/dev/null 2>&1") == 0;
	bool have_shm = access("/dev/shm", W_OK) == 0;

	(void)argc;
	argv0 = argv[0];
	set_cli_path();
	if (access(cli, X_OK) != 0) {
		printf("bench/drain: SKIPPED: no CLI at %s (make bin)\n", cli);
		return 0;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	disk_parent = getenv("JR_BENCH_STATE_PARENT");
	if (!disk_parent || !*disk_parent)
		disk_parent = "/var/tmp";
	jobs = jrt_env_u64("JR_BENCH_DRAIN_JOBS", 20000);
	jobs = jobs < 10 ? 10 : jobs;
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	printf("bench/drain: %llu `true` jobs per run (jobring: a line \"true\" of submit --file "
	       "runs /bin/sh -c true), median of %d rounds, variants in turns; jobringd with its "
	       "defaults, state under %s (%s)\n", (unsigned long long)jobs, runs, disk_parent,
	       fs_kind(disk_parent));
	fflush(stdout);
	for (int r = 0; r < runs; r++) {
		jr[r] = jobring_once(disk_parent, defaults, "jobring");
		xa[r] = xargs_once();
		par[r] = have_parallel ? parallel_once() : 0;
	}
	nk = jobring_once(disk_parent, no_keeper, "jobring --no-keeper");
	if (have_shm)
		shm = jobring_once("/dev/shm", defaults, "jobring on /dev/shm");
	int valid;
	struct drain_run m = median_run(jr, &valid);
	double x = bench_median(xa, runs), p = have_parallel ? bench_median(par, runs) : 0;

	if (valid == 0)
		printf("  ! jobring: EVERY RUN STALLED (a job never ended): its figures below "
		       "count to the last job that ended and are not valid; its targets are "
		       "MISS\n");
	else if (valid < runs)
		printf("  ! jobring: %d of %d runs stalled; medians of the other %d\n",
		       runs - valid, runs, valid);

	printf("  %-60s %8.0f jobs/s  (%s", "jobring submit --file + jobring wait", m.rate,
	       m.cgroups ? "a cgroup per job" : "NO CGROUPS here");
	if (valid)
		printf("; wait returned %.2f s after the last job ended)\n", m.lag_s);
	else
		printf("; STALLED)\n");
	printf("  %-60s %8.0f jobs/s\n", "xargs -P2 -n1 true", x);
	if (have_parallel)
		printf("  %-60s %8.0f jobs/s\n", "GNU parallel -j2 true (a tenth of the jobs)", p);
	else
		printf("  %-60s %8s\n", "GNU parallel -j2 true",
		       "SKIPPED (not installed: make deps)");
	print_extra("extra: jobringd --no-keeper", &nk);
	if (have_shm)
		print_extra("extra: state directory on /dev/shm", &shm);
	print_cpu(&m, &nk);
	printf("  target %-40s %6.2fx (want >= 1.30) %s\n", "jobring vs xargs -P2", m.rate / x,
	       m.rate / x >= 1.3 && valid ? "PASS" : "MISS");
	if (have_parallel)
		printf("  target %-40s %6.2fx (want >= 5.00) %s\n", "jobring vs GNU parallel -j2",
		       m.rate / p, m.rate / p >= 5 && valid ? "PASS" : "MISS");
	else
		printf("  target %-40s SKIPPED (GNU parallel not installed)\n",
		       "jobring vs GNU parallel -j2");
	printf("  target %-40s %6.1f us (want <= 100) %s   (keeper %.1f us/job beside it, "
	       "not counted)\n", "daemon CPU per job", m.daemon_us,
	       m.daemon_us <= 100 && valid ? "PASS" : "MISS", m.keeper_us);
	return 0;
}
