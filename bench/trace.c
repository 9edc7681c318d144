/*
 * bench/trace - replay the KTH-SP2 production trace (Parallel Workloads
 * Archive; 100 processors, logged under EASY backfilling) through
 * jobring's scheduler in virtual time, and compare utilization, mean wait
 * and mean bounded slowdown (10 s floor) with the trace's offered load and
 * its logged schedule.
 *
 * Data: $JR_SHARED_DATA/swf (default ../shared/data/swf, relative to the
 * repository). Skipped, saying so, when absent. Cite: D. G. Feitelson,
 * D. Tsafrir, D. Krakov, "Experience with using the Parallel Workloads
 * Archive", JPDC 74(10), 2014.
 */
#include "benchutil.h"

#include <errno.h>
#include <stdbool.h>

#include "sim/sim.h"

#define MAX_PROCS 100u
#define NS 1000000000ull
#define BSLD_FLOOR_S 10.0

struct trace {
	struct jr_sim_job *jobs;
	double *logged_wait_s;
	size_t count, skipped;
};

static FILE *open_trace(const char *dir, char *name, size_t size)
{
	snprintf(name, size, "gzip -dc %s/KTH-SP2-1996-2.1-cln.swf.gz 2>/dev/null", dir);
	char path[1024];
	snprintf(path, sizeof(path), "%s/KTH-SP2-1996-2.1-cln.swf.gz", dir);
	if (access(path, R_OK) != 0)
		return NULL;
	return popen(name, "r");
}

/* One SWF record: submit, wait, run, alloc, req procs, req time. */
static bool parse_record(const char *line, struct jr_sim_job *job, double *wait_s)
{
	long f[18];
	int n = sscanf(line, "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &f[0], &f[1],
		       &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]);
	long procs;

	if (n < 9 || f[3] < 0)
		return false;
	procs = f[7] > 0 ? f[7] : f[4];
	if (procs <= 0 || procs > (long)MAX_PROCS)
		return false;
	memset(job, 0, sizeof(*job));
	job->sj.id = (uint64_t)f[0];
	job->sj.priority = 0;
	job->sj.req.cpus = (uint32_t)procs;
	job->sj.limit_ns = f[8] > 0 ? (uint64_t)f[8] * NS : 0;
	job->submit_ns = (uint64_t)f[1] * NS;
	job->run_ns = (uint64_t)f[3] * NS;
	*wait_s = f[2] >= 0 ? (double)f[2] : 0;
	return true;
}

static int load_trace(const char *dir, struct trace *t)
{
	char cmd[1200], line[1024];
	size_t cap = 32768;
	FILE *f = open_trace(dir, cmd, sizeof(cmd));

	if (!f)
		return -ENOENT;
	memset(t, 0, sizeof(*t));
	t->jobs = calloc(cap, sizeof(*t->jobs));
	t->logged_wait_s = calloc(cap, sizeof(double));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == ';' || line[0] == '\n')
			continue;
		if (t->count == cap)
			break;
		if (parse_record(line, &t->jobs[t->count], &t->logged_wait_s[t->count]))
			t->count++;
		else
			t->skipped++;
	}
	pclose(f);
	return t->count ? 0 : -ENOENT;
}

struct metrics {
	double util, mean_wait_s, mean_bsld;
};

static double bsld(double wait_s, double run_s)
{
	double b = (wait_s + run_s) / (run_s > BSLD_FLOOR_S ? run_s : BSLD_FLOOR_S);
	return b > 1 ? b : 1;
}

static double work_proc_s(const struct trace *t)
{
	double work = 0;

	for (size_t i = 0; i < t->count; i++)
		work += (double)t->jobs[i].run_ns / NS * t->jobs[i].sj.req.cpus;
	return work;
}

static struct metrics simulated(const struct trace *t, uint64_t last_end_ns)
{
	struct metrics m = { 0 };
	double span = (double)(last_end_ns - t->jobs[0].submit_ns) / NS;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		double wait = (double)(j->sj.start_ns - j->submit_ns) / NS;
		m.mean_wait_s += wait;
		m.mean_bsld += bsld(wait, (double)j->run_ns / NS);
	}
	m.mean_wait_s /= (double)t->count;
	m.mean_bsld /= (double)t->count;
	m.util = work_proc_s(t) / (MAX_PROCS * span);
	return m;
}

static struct metrics logged(const struct trace *t, double *offered)
{
	struct metrics m = { 0 };
	double last_end = 0, first = (double)t->jobs[0].submit_ns / NS;
	double last_submit = (double)t->jobs[t->count - 1].submit_ns / NS;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		double submit = (double)j->submit_ns / NS, run = (double)j->run_ns / NS;
		double end = submit + t->logged_wait_s[i] + run;
		if (end > last_end)
			last_end = end;
		m.mean_wait_s += t->logged_wait_s[i];
		m.mean_bsld += bsld(t->logged_wait_s[i], run);
	}
	m.mean_wait_s /= (double)t->count;
	m.mean_bsld /= (double)t->count;
	m.util = work_proc_s(t) / (MAX_PROCS * (last_end - first));
	*offered = work_proc_s(t) / (MAX_PROCS * (last_submit - first));
	return m;
}

struct edge {
	uint64_t t;
	int64_t procs;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->procs < y->procs ? -1 : x->procs > y->procs;	/* ends first */
}

/* The schedule must be feasible: nobody starts before arriving, and the
 * processors in use never exceed the machine. */
static bool schedule_valid(const struct trace *t)
{
	struct edge *e = calloc(2 * t->count, sizeof(*e));
	int64_t in_use = 0, peak = 0;
	bool ok = true;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		if (j->sj.start_ns < j->submit_ns)
			ok = false;
		e[2 * i] = (struct edge){ j->sj.start_ns, j->sj.req.cpus };
		e[2 * i + 1] = (struct edge){ j->end_ns, -(int64_t)j->sj.req.cpus };
	}
	qsort(e, 2 * t->count, sizeof(*e), cmp_edge);
	for (size_t i = 0; i < 2 * t->count; i++) {
		in_use += e[i].procs;
		if (in_use > peak)
			peak = in_use;
	}
	free(e);
	printf("  schedule check: no early start: %s, peak processors in use %ld of %u\n",
	       ok ? "yes" : "NO", (long)peak, MAX_PROCS);
	return ok && peak <= (int64_t)MAX_PROCS;
}

int main(void)
{
	const char *base = getenv("JR_SHARED_DATA");
	char dir[512];
	struct trace t;
	struct jr_pools pools;
	struct jr_sim_stats st;
	struct metrics sim, log;
	double offered, t0, elapsed;
	int rc;

	snprintf(dir, sizeof(dir), "%s/swf", base ? base : "../shared/data");
	if (load_trace(dir, &t) < 0) {
		printf("bench/trace: SKIPPED: KTH-SP2 trace not found in %s\n", dir);
		return 0;
	}
	jr_pools_init_flat(&pools, 1, MAX_PROCS, 0);
	t0 = jrt_now_s();
	rc = jr_sim_run(&pools, t.jobs, t.count, 0, &st);
	elapsed = jrt_now_s() - t0;
	if (rc < 0) {
		printf("bench/trace: simulation failed: %s\n", strerror(-rc));
		return 1;
	}
	if (!schedule_valid(&t)) {
		printf("bench/trace: INVALID SCHEDULE\n");
		return 1;
	}
	sim = simulated(&t, st.last_end_ns);
	log = logged(&t, &offered);
	printf("bench/trace: KTH-SP2, %zu jobs (%zu records skipped), %u processors, "
	       "virtual time, simulated in %.2f s (%lu passes, %lu backfilled)\n",
	       t.count, t.skipped, MAX_PROCS, elapsed, (unsigned long)st.passes,
	       (unsigned long)st.backfilled);
	printf("  %-34s %12s %14s %16s\n", "", "utilization", "mean wait (s)",
	       "mean bsld (10 s)");
	printf("  %-34s %12.4f %14s %16s\n", "offered load", offered, "", "");
	printf("  %-34s %12.4f %14.0f %16.1f\n", "logged production schedule (EASY)",
	       log.util, log.mean_wait_s, log.mean_bsld);
	printf("  %-34s %12.4f %14.0f %16.1f\n", "jobring (EASY backfill)", sim.util,
	       sim.mean_wait_s, sim.mean_bsld);
	printf("  target %-40s %.4f vs %.4f (%.2f%%) %s\n",
	       "utilization within 2% of offered load", sim.util, offered,
	       100 * (sim.util - offered) / offered,
	       sim.util >= offered * 0.98 && sim.util <= offered * 1.02 ? "PASS" : "MISS");
	printf("  target %-40s %.1f vs %.1f %s\n", "mean bsld below the logged schedule's",
	       sim.mean_bsld, log.mean_bsld, sim.mean_bsld < log.mean_bsld ? "PASS" : "MISS");
	return 0;
}
