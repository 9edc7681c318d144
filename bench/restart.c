/*
 * bench/restart - jobringd killed with SIGKILL and started again on the same
 * state directory (on a disk: /var/tmp, or JR_BENCH_STATE_PARENT): the time
 * from the restart's exec until GET /health answers 200, and until it shows
 * again what was there:
 *
 *   (a) 1,000,000 queued jobs and 1,000 running ones (`sleep 3600`) on a
 *       modelled host of 1,024 cores (--topology; nothing is bound). The
 *       running ones are submitted first; the queued ones each need every
 *       core ({"requirements":{"cpus":1024,"span_numa":true}}), so they stay
 *       queued behind them (a scheduled_at in the future would keep them
 *       waiting too, but such jobs do not count in /health's "queued").
 *       Until running == 1,000 (re-adopted from the keeper) and queued ==
 *       1,000,000. Target: the answer within 1 s.
 *   (b) 10,000 running jobs re-adopted, on a modelled host of 10,240
 *       cores (16 NUMA nodes of 640; the engine takes up to 1,024 cores a
 *       node): until running == N. Target: 1 s.
 *   (c) 10,000,000 queued jobs, in batches of 100,000 lines from 4
 *       connections, to a --paused --capacity 16777216 daemon: until the
 *       answer and until queued == N. Target: 5 s.
 *
 * Baseline in the same run: the restart of an empty daemon (its keeper
 * alive, nothing to recover) with each part's own options (the modelled
 * host's size and --capacity cost time of their own), on the part's fresh
 * daemon before its jobs are submitted. Each restart is repeated on the
 * same state JR_BENCH_RUNS times (default 3; medians); (c) runs once above
 * 2,000,000 jobs. By default (c) has 1,000,000 jobs (REDUCED, said in the
 * output): JR_BENCH_FULL=1 for 10,000,000. Sizes, 0 skipping a part:
 * JR_BENCH_RESTART_QUEUED and JR_BENCH_RESTART_RUNNING (a),
 * JR_BENCH_RESTART_ADOPT (b), JR_BENCH_RESTART_BIG (c). A part the machine
 * cannot hold (memory, pids, disk) is skipped, saying why. After each
 * part: the daemon killed, the state directory deleted, then until its
 * keeper and every job process (tagged JR_BENCH_TAG=DIR in their
 * environment) are gone; the benchmark is their subreaper, so that none is
 * left a zombie.
 */
#include "daemonutil.h"

#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#define BATCH 100000
#define CONNS 4
#define BYTES_PER_QUEUED 800	/* the daemon's memory per queued job, about */

enum line_kind { L_SLEEP, L_BLOCKED, L_PLAIN };

struct restart_figures {
	double answer_s, running_s, queued_s;	/* from exec; -1: never */
	long long adopted;
};

struct part {
	const char *name;
	uint64_t running, queued;
	uint32_t cores;		/* of the modelled host */
	int restarts;
	const char *opts[12];	/* jobringd's, after --socket and --state-dir */
	char topology[64];
	struct restart_figures med, empty;	/* the empty: same options, no jobs */
	bool done;
};

static struct jrt_daemon d;
static const char *argv0, *parent;
static char tag[128];		/* JR_BENCH_TAG=DIR */
static int runs;
static bool full;

/* --- failing, cleaning up ------------------------------------------------------------------ */

static void scrub(void)
{
	jrt_daemon_scrub(&d, tag);
	jrt_daemon_remove(&d);
}

static _Noreturn void fail(const char *fmt, ...)
{
	char first[300];
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench/restart: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (bench_log_problems(&d, first, sizeof(first)))
		fprintf(stderr, " (daemon log: %s)", first);
	fprintf(stderr, "; its log is kept in %s\n", d.dir);
	jrt_daemon_scrub(&d, tag);
	exit(1);
}

/* The last line of the daemon's log that holds needle. */
static void log_line(const char *needle, char *out, size_t size)
{
	char line[1024];
	FILE *f;

	out[0] = '\0';
	if (!(f = fopen(d.log, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			snprintf(out, size, "%.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

/* --- jobs ------------------------------------------------------------------------------------ */

static size_t make_lines(char *buf, enum line_kind k, uint64_t first, uint64_t n, uint32_t cores)
{
	char *p = buf;

	for (uint64_t i = first; i < first + n; i++) {
		unsigned long long id = (unsigned long long)i;
		if (k == L_SLEEP)
			p += sprintf(p, "{\"command\":[\"sleep\",\"3600\"],\"name\":\"run-%llu\","
				     "\"env\":{\"JR_BENCH_TAG\":\"%s\"}}\n", id, tag + 13);
		else if (k == L_BLOCKED)
			p += sprintf(p, "{\"command\":[\"/bin/true\"],\"name\":\"q-%llu\","
				     "\"requirements\":{\"cpus\":%u,\"span_numa\":true}}\n", id,
				     cores);
		else
			p += sprintf(p, "{\"command\":[\"/bin/true\"],\"name\":\"q-%llu\","
				     "\"priority\":3}\n", id);
	}
	return (size_t)(p - buf);
}

struct submitter {
	enum line_kind kind;
	uint64_t first, total;
	uint32_t cores;
	int index, step;
	int failed;		/* the refusing status, 0 */
	char error[300];
};

static void *submit_main(void *arg)
{
	struct submitter *s = arg;
	struct jr_client *c;
	char *body = malloc((size_t)BATCH * 256);

	if (!body || jr_client_open(&c, d.sock) < 0) {
		s->failed = -1;
		free(body);
		return NULL;
	}
	for (uint64_t at = (uint64_t)s->index * BATCH; at < s->total && !s->failed;
	     at += (uint64_t)s->step * BATCH) {
		uint64_t n = s->total - at < BATCH ? s->total - at : BATCH;
		size_t len = make_lines(body, s->kind, s->first + at, n, s->cores);
		char *resp = NULL;
		int rc = jr_client_request(c, "POST", "/jobs/batch", body, len, &resp, NULL);
		if (rc != 201) {
			s->failed = rc;
			snprintf(s->error, sizeof(s->error), "%s", rc > 0 && resp ? resp : "");
		}
		free(resp);
	}
	jr_client_close(c);
	free(body);
	return NULL;
}

/* total jobs of kind k, numbered from first, from conns connections. */
static void submit_jobs(enum line_kind k, uint64_t first, uint64_t total, uint32_t cores,
			int conns)
{
	struct submitter s[CONNS];
	pthread_t th[CONNS];

	for (int i = 0; i < conns; i++) {
		s[i] = (struct submitter){ k, first, total, cores, i, conns, 0, "" };
		pthread_create(&th[i], NULL, submit_main, &s[i]);
	}
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < conns; i++)
		if (s[i].failed)
			fail("POST /jobs/batch answered %d: %.200s", s[i].failed, s[i].error);
}

/* --- daemons ------------------------------------------------------------------------------- */

static void new_scratch(void)
{
	bench_daemon_init(&d, argv0, "bench-restart", parent);
	snprintf(tag, sizeof(tag), "JR_BENCH_TAG=%s", d.dir);
}

/* A fresh daemon with p->opts on the first topology of the list that it
 * accepts ("": the host's own); p->cores from /health. */
static void start_on(struct part *p, const char *const *topologies, const char *const *more)
{
	int n = 0;

	for (; more && *more; more++)
		p->opts[n++] = *more;
	p->opts[n] = "--topology";
	for (; *topologies; topologies++) {
		double took;
		char why[300], *resp;
		snprintf(p->topology, sizeof(p->topology), "%s", *topologies);
		p->opts[n + 1] = p->topology;
		p->opts[p->topology[0] ? n + 2 : n] = NULL;
		if (jrt_daemon_spawn(&d, p->opts) < 0)
			fail("cannot start %s", d.path);
		if (jrt_daemon_ready(&d, jrt_now_s(), 60, &took) == 0) {
			if (jrt_daemon_health(&d, &resp) == 200)
				p->cores = (uint32_t)jrt_json_num(resp, "cores");
			free(resp);
			return;
		}
		log_line("jobringd:", why, sizeof(why));
		printf("    (jobringd refused --topology \"%s\": %s)\n", *topologies, why);
		jrt_daemon_scrub(&d, tag);
	}
	fail("jobringd accepted none of the topologies tried");
}

/* Poll /health (every ms) until running and queued are what p left:
 * when each first was, from t0. */
static void until_back(const struct part *p, double t0, double timeout_s,
		       struct restart_figures *f)
{
	struct jr_client *c = NULL;
	long long run = -1, queued = -1;

	f->running_s = f->queued_s = -1;
	while (f->running_s < 0 || f->queued_s < 0) {
		char *resp = NULL;
		if (!c && jr_client_open(&c, d.sock) < 0)
			c = NULL;
		if (c && jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) == 200) {
			run = jrt_json_num(resp, "running");
			queued = jrt_json_num(resp, "queued");
			f->adopted = jrt_json_num(resp, "adopted");
			if (f->running_s < 0 && run == (long long)p->running)
				f->running_s = jrt_now_s() - t0;
			if (f->queued_s < 0 && queued == (long long)p->queued)
				f->queued_s = jrt_now_s() - t0;
		}
		free(resp);
		if (jrt_now_s() - t0 > timeout_s) {
			printf("    ! after %.0f s: running %lld (want %llu), queued %lld "
			       "(want %llu)\n", timeout_s, run, (unsigned long long)p->running,
			       queued, (unsigned long long)p->queued);
			break;
		}
		usleep(1000);
	}
	if (c)
		jr_client_close(c);
}

static struct restart_figures restart_once(const struct part *p, double timeout_s)
{
	struct restart_figures f = { -1, -1, -1, -1 };
	double t0;

	jrt_daemon_stop(&d, SIGKILL);
	t0 = jrt_now_s();
	if (jrt_daemon_spawn(&d, p->opts) < 0 ||
	    jrt_daemon_ready(&d, t0, timeout_s, &f.answer_s) < 0)
		fail("jobringd did not answer after its restart (see %s)", d.log);
	until_back(p, t0, timeout_s, &f);
	return f;
}

/* p->restarts restarts: the median of each figure in *m (-1 if any run
 * missed). */
static void restarts(struct part *p, double timeout_s, struct restart_figures *m)
{
	double a[16], r[16], q[16];
	bool missed = false;

	for (int i = 0; i < p->restarts; i++) {
		struct restart_figures f = restart_once(p, timeout_s);
		a[i] = f.answer_s, r[i] = f.running_s, q[i] = f.queued_s;
		missed |= f.running_s < 0 || f.queued_s < 0;
		m->adopted = f.adopted;
	}
	m->answer_s = bench_median(a, p->restarts);
	m->running_s = missed ? -1 : bench_median(r, p->restarts);
	m->queued_s = missed ? -1 : bench_median(q, p->restarts);
}

/* The same restarts before any job was submitted: the baseline. */
static void baseline(struct part *p)
{
	uint64_t r = p->running, q = p->queued;

	p->running = p->queued = 0;
	restarts(p, 60, &p->empty);
	p->running = r, p->queued = q;
}

static void measure(struct part *p, double timeout_s)
{
	restarts(p, timeout_s, &p->med);
	p->done = true;
}

/* Until running == n, from t0 (the submission's start). */
static double until_running(uint64_t n, double t0, double timeout_s)
{
	double s = jrt_daemon_health_until(&d, "running", (long long)n, true, t0, timeout_s, 20000);

	if (s < 0)
		fail("%llu jobs did not all start within %.0f s", (unsigned long long)n, timeout_s);
	return s;
}

/* Until n job processes (sleep, tagged) exist, from t0: /health counts a
 * job running once the keeper has it, before its process is there. */
static double until_processes(uint64_t n, double t0, double timeout_s)
{
	long long have;

	while ((have = jrt_procs_matching("sleep", "environ", tag, 0)) != (long long)n) {
		if (jrt_now_s() - t0 > timeout_s)
			fail("%lld sleep processes, not %llu, after %.0f s", have,
			     (unsigned long long)n, timeout_s);
		usleep(50000);
	}
	return jrt_now_s() - t0;
}

/* After the restarts: are the same jobs' processes all there still? */
static void check_processes(uint64_t n)
{
	long long have = jrt_procs_matching("sleep", "environ", tag, 0);

	if (have != (long long)n)
		printf("    ! after the restarts %lld sleep processes, not %llu\n", have,
		       (unsigned long long)n);
}

static void until_queued(uint64_t n, double timeout_s)
{
	if (jrt_daemon_health_until(&d, "queued", (long long)n, true, jrt_now_s(), timeout_s,
				    20000) < 0)
		fail("%llu jobs are not all queued after %.0f s", (unsigned long long)n, timeout_s);
}

static void recovery_note(void)
{
	char line[1024], *p;

	log_line("recovered ", line, sizeof(line));
	if ((p = strstr(line, "segments) in ")))
		printf("      the daemon's log: recovery %s\n", p + 13);
}

/* --- the parts ------------------------------------------------------------------------------- */

/* Modelled hosts with caches, as real ones have: hwloc inserts each core
 * among its siblings, so a flat level of 640 cores took 1.3 s to load
 * (with 40 L3s of 16 cores: 0.24 s). */
static const char *const topo_1024[] = { "package:4 numa:1 l3:16 core:16 pu:1",
					 "package:1 core:1024 pu:1", NULL };
static const char *const topo_many[] = { "package:16 numa:1 l3:40 core:16 pu:1",
					 "package:16 numa:1 core:640 pu:1",
					 "package:4 numa:1 core:256 pu:1", NULL };

static void part_a(struct part *p, uint64_t running, uint64_t queued)
{
	new_scratch();
	start_on(p, topo_1024, NULL);
	baseline(p);
	p->running = running < p->cores ? running : p->cores;
	p->queued = queued;
	double t0 = jrt_now_s();
	submit_jobs(L_SLEEP, 0, p->running, p->cores, 1);
	double s = until_running(p->running, t0, 60 + (double)p->running / 20);
	double sp = until_processes(p->running, t0, 60 + (double)p->running / 20);
	printf("    (a) %llu running after %.1f s (their processes after %.1f s) on --topology "
	       "\"%s\" (%u cores); ", (unsigned long long)p->running, s, sp, p->topology,
	       p->cores);
	fflush(stdout);
	t0 = jrt_now_s();
	submit_jobs(L_BLOCKED, p->running, p->queued, p->cores, CONNS);
	until_queued(p->queued, 120 + (double)p->queued / 10000);
	printf("%llu queued after %.1f s more\n", (unsigned long long)p->queued, jrt_now_s() - t0);
	measure(p, 120);
	check_processes(p->running);
	recovery_note();
	scrub();
}

/* pids and memory for n more processes? Why not, in why. */
static bool room_for_processes(uint64_t n, char *why, size_t size)
{
	struct rlimit rl;
	char line[32];
	long long pid_max, threads_max, procs = jrt_procs_matching(NULL, "stat", "", 0);

	jrt_read_line("/proc/sys/kernel/pid_max", line, sizeof(line));
	pid_max = atoll(line);
	jrt_read_line("/proc/sys/kernel/threads-max", line, sizeof(line));
	threads_max = atoll(line);
	getrlimit(RLIMIT_NPROC, &rl);
	if (pid_max > 0 && procs + (long long)n + 2000 > pid_max)
		snprintf(why, size, "pid_max %lld, %lld processes now", pid_max, procs);
	else if (threads_max > 0 && procs + (long long)n + 2000 > threads_max)
		snprintf(why, size, "threads-max %lld", threads_max);
	else if (rl.rlim_cur != RLIM_INFINITY && getuid() != 0 &&
		 (long long)rl.rlim_cur < procs + (long long)n + 100)
		snprintf(why, size, "ulimit -u %llu", (unsigned long long)rl.rlim_cur);
	else if (bench_mem_available() < n * (2ull << 20))
		snprintf(why, size, "%llu MiB available, want 2 MiB a process",
			 (unsigned long long)(bench_mem_available() >> 20));
	else
		return true;
	return false;
}

/* The daemon's cap on jobs running at once (the keeper's descriptors),
 * from its log; 0: none said. */
static uint64_t running_cap(void)
{
	char line[1024], *p;

	log_line("jobs run at once", line, sizeof(line));
	p = strstr(line, "at most ");
	return p ? strtoull(p + 8, NULL, 10) : 0;
}

static void part_b(struct part *p, uint64_t asked)
{
	uint64_t cap;
	char why[160];

	new_scratch();
	start_on(p, topo_many, NULL);
	p->running = asked < p->cores ? asked : p->cores;
	if ((cap = running_cap()) && cap < p->running) {
		printf("    (b) %llu running at most: jobringd says the keeper's descriptor limit "
		       "allows no more (2 a job)\n", (unsigned long long)cap);
		p->running = cap;
	}
	if (!room_for_processes(p->running, why, sizeof(why))) {
		printf("    (b) SKIPPED: %llu processes do not fit here: %s\n",
		       (unsigned long long)p->running, why);
		p->running = 0;
		scrub();
		return;
	}
	baseline(p);
	double t0 = jrt_now_s();
	submit_jobs(L_SLEEP, 0, p->running, p->cores, 1);
	double s = until_running(p->running, t0, 60 + (double)p->running / 20);
	double sp = until_processes(p->running, t0, 60 + (double)p->running / 20);
	printf("    (b) %llu running after %.1f s (their processes after %.1f s) on --topology "
	       "\"%s\" (%u cores)%s\n", (unsigned long long)p->running, s, sp, p->topology,
	       p->cores, p->running < asked ? ": as many as this host allows" : "");
	measure(p, 120);
	check_processes(p->running);
	recovery_note();
	scrub();
}

static bool room_for_queued(uint64_t n, char *why, size_t size)
{
	struct statvfs fs;
	uint64_t mem = bench_mem_available(), need = n * BYTES_PER_QUEUED / 4 * 5 + (1ull << 30);

	if (mem < need) {
		snprintf(why, size, "%llu MiB available, the daemon needs about %llu MiB",
			 (unsigned long long)(mem >> 20), (unsigned long long)(need >> 20));
		return false;
	}
	if (statvfs(parent, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < n * 300) {
		snprintf(why, size, "%s has %llu MiB free, the journal needs about %llu MiB",
			 parent, (unsigned long long)((uint64_t)fs.f_bavail * fs.f_frsize >> 20),
			 (unsigned long long)(n * 300 >> 20));
		return false;
	}
	return true;
}

/* POST /snapshot, then GET /health every 10 ms on one connection until
 * the snapshot is over: the slowest answer (target 20 ms). */
static void snapshot_probe(uint64_t n)
{
	static double v[100000];
	struct jr_client *c;
	char *res = NULL;
	bool seen = false;
	size_t k = 0;
	double t0 = jrt_now_s();

	if (jr_client_open(&c, d.sock) < 0)
		fail("cannot reach the daemon for the snapshot probe");
	if (jr_client_request(c, "POST", "/snapshot", "", 0, &res, NULL) / 100 != 2)
		fail("POST /snapshot: %s", res ? res : "no answer");
	free(res);
	while (k < sizeof(v) / sizeof(v[0]) && jrt_now_s() - t0 < 600) {
		double a = jrt_now_s();
		int st = jr_client_request(c, "GET", "/health", NULL, 0, &res, NULL);
		bool busy = res && strstr(res, "\"snapshotting\":true");
		v[k++] = (jrt_now_s() - a) * 1e3;
		free(res);
		res = NULL;
		if (st != 200)
			fail("/health answered %d during the snapshot", st);
		seen |= busy;
		if (seen && !busy)
			break;
		usleep(10000);
	}
	jr_client_close(c);
	double written = jrt_now_s() - t0, worst = 0;
	for (size_t i = 0; i < k; i++)
		worst = v[i] > worst ? v[i] : worst;
	printf("  (c) snapshot of %llu queued jobs: written in %.1f s; GET /health every 10 ms "
	       "meanwhile: %zu answers, slowest %.1f ms, median %.2f ms\n",
	       (unsigned long long)n, written, k, worst, bench_percentile(v, (int)k, 0.5));
	printf("  target (c) slowest /health during the snapshot             %.1f ms (want <= 20 ms) %s\n",
	       worst, worst <= 20 ? "PASS" : "MISS");
}

/* SIGTERM: a clean stop writes a snapshot of everything first. */
static void clean_stop(uint64_t n)
{
	double t0 = jrt_now_s();

	jrt_daemon_stop(&d, SIGTERM);
	printf("  (c) clean stop (SIGTERM) with %llu queued jobs: %.1f s until jobringd exited\n",
	       (unsigned long long)n, jrt_now_s() - t0);
}

static void part_c(struct part *p, uint64_t n)
{
	static const char *const paused[] = { "--paused", "--capacity", "16777216", NULL };
	static const char *const host[] = { "", NULL };
	char why[200];

	if (n > 16000000)
		n = 16000000;
	if (!room_for_queued(n, why, sizeof(why))) {
		printf("    (c) SKIPPED: %llu queued jobs: %s\n", (unsigned long long)n, why);
		return;
	}
	new_scratch();
	start_on(p, host, paused);
	baseline(p);
	p->queued = n;
	p->restarts = n > 2000000 ? 1 : runs;
	double t0 = jrt_now_s();
	submit_jobs(L_PLAIN, 0, n, p->cores, CONNS);
	until_queued(n, 600);
	printf("    (c) %llu jobs queued in %.1f s (--paused --capacity 16777216); %d restart%s\n",
	       (unsigned long long)n, jrt_now_s() - t0, p->restarts, p->restarts > 1 ? "s" : "");
	fflush(stdout);
	measure(p, 600);
	recovery_note();
	snapshot_probe(n);
	clean_stop(n);
	scrub();
}

/* --- main ---------------------------------------------------------------------------------- */

static void print_time(const char *what, double s)
{
	if (s < 0)
		printf("  %-13s %8s", what, "never");
	else
		printf("  %-13s %6.3f s", what, s);
}

static void print_part(const char *label, const struct part *p)
{
	if (!p->done)
		return;
	printf("  %-48s", label);
	print_time("answer", p->med.answer_s);
	if (p->running)
		print_time("running back", p->med.running_s);
	if (p->queued)
		print_time("queued back", p->med.queued_s);
	if (p->running)
		printf("  (adopted %lld)", p->med.adopted);
	printf("\n  %-48s", "    the same options, no jobs (baseline)");
	print_time("answer", p->empty.answer_s);
	printf("\n");
}

static void target(const char *what, const struct part *p, double s, double want,
		   const char *reduced)
{
	if (!p->done) {
		printf("  target %-52s SKIPPED\n", what);
		return;
	}
	printf("  target %-52s ", what);
	if (s < 0)
		printf("   never (want <= %.0f s) MISS", want);
	else
		printf("%6.3f s (want <= %.0f s) %s", s, want, s <= want ? "PASS" : "MISS");
	printf("%s\n", reduced);
}

static void print_results(struct part *a, struct part *b, struct part *c)
{
	char label[96], ra[64] = "", rb[64] = "", rc[64] = "";

	snprintf(label, sizeof(label), "(a) %llu queued + %llu running",
		 (unsigned long long)a->queued, (unsigned long long)a->running);
	print_part(label, a);
	snprintf(label, sizeof(label), "(b) %llu running", (unsigned long long)b->running);
	print_part(label, b);
	snprintf(label, sizeof(label), "(c) %llu queued, --paused%s",
		 (unsigned long long)c->queued, c->restarts == 1 ? " (1 restart)" : "");
	print_part(label, c);
	if (a->queued < 1000000 || a->running < 1000)
		snprintf(ra, sizeof(ra), "   n/a: fewer jobs than the target's");
	if (b->running < 10000)
		snprintf(rb, sizeof(rb), "   (at %llu running, not 10,000)",
			 (unsigned long long)b->running);
	if (c->queued < 10000000)
		snprintf(rc, sizeof(rc), "   (at %llu queued, not 10,000,000)",
			 (unsigned long long)c->queued);
	target("(a) answer, 1,000,000 queued + 1,000 running", a, a->med.answer_s, 1, ra);
	target("(a) 1,000 running again (re-adopted)", a, a->med.running_s, 1, ra);
	target("(b) 10,000 running again (re-adopted)", b, b->med.running_s, 1, rb);
	target("(c) 10,000,000 queued again", c, c->med.queued_s, 5, rc);
}

int main(int argc, char **argv)
{
	struct part a = { "a" }, b = { "b" }, c = { "c" };

	(void)argc;
	argv0 = argv[0];
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	parent = getenv("JR_BENCH_STATE_PARENT");
	if (!parent || !*parent)
		parent = "/var/tmp";
	full = jrt_env_u64("JR_BENCH_FULL", 0) != 0;
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	uint64_t q_a = jrt_env_u64("JR_BENCH_RESTART_QUEUED", 1000000);
	uint64_t r_a = jrt_env_u64("JR_BENCH_RESTART_RUNNING", 1000);
	uint64_t r_b = jrt_env_u64("JR_BENCH_RESTART_ADOPT", 10000);
	uint64_t q_c = jrt_env_u64("JR_BENCH_RESTART_BIG", full ? 10000000 : 1000000);
	a.restarts = b.restarts = c.restarts = runs;
	printf("bench/restart: jobringd killed (SIGKILL) and started again on its state "
	       "directory under %s; times from the restart's exec, median of %d restarts%s\n",
	       parent, runs, full ? "" : "; REDUCED size for (c): JR_BENCH_FULL=1 for "
	       "10,000,000 queued");
	fflush(stdout);
	if (r_a || q_a)
		part_a(&a, r_a, q_a);
	if (r_b)
		part_b(&b, r_b);
	if (q_c)
		part_c(&c, q_c);
	print_results(&a, &b, &c);
	return 0;
}
