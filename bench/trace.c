/*
 * bench/trace - replay a production trace in the Standard Workload Format
 * through jobring's scheduler in virtual time, and compare utilization,
 * mean wait and mean bounded slowdown (10 s floor) with the trace's
 * offered load and its logged schedule; then the same jobs without time
 * limits (jobring's default), where a blocked head holds only its share
 * (DECISIONS.md, issue 14); and the cost of placing a job on hosts of 64,
 * 1,024 and 8,192 cores.
 *
 *   bench/trace                 the KTH-SP2 trace (100 processors)
 *   bench/trace FILE [PROCS]    any SWF file (.gz read through gzip);
 *                               PROCS default: the header's MaxProcs
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
#include "sim/swf.h"

#define NS 1000000000ull
#define BSLD_FLOOR_S 10.0

struct trace {
	struct jr_sim_job *jobs;
	struct jr_sim_job *orig;	/* as loaded: each run starts from it */
	double *logged_wait_s;
	size_t count, cap, skipped, too_wide;
	uint32_t procs;		/* the machine simulated */
	uint32_t header_procs;
};

static FILE *open_trace(const char *path, bool *piped)
{
	size_t len = strlen(path);
	char cmd[1200];

	if (access(path, R_OK) != 0)
		return NULL;
	*piped = len > 3 && strcmp(path + len - 3, ".gz") == 0;
	if (!*piped)
		return fopen(path, "r");
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s' 2>/dev/null", path);
	return popen(cmd, "r");
}

static int add_job(struct trace *t, const struct jr_sim_job *j, double wait)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32768;
		struct jr_sim_job *jobs = realloc(t->jobs, cap * sizeof(*jobs));
		double *w = realloc(t->logged_wait_s, cap * sizeof(*w));
		if (jobs)
			t->jobs = jobs;
		if (w)
			t->logged_wait_s = w;
		if (!jobs || !w)
			return -ENOMEM;
		t->cap = cap;
	}
	t->jobs[t->count] = *j;
	t->logged_wait_s[t->count++] = wait;
	return 0;
}

/* Records in submit order (SWF files are; a stable sort keeps ties). */
static int cmp_submit(const void *a, const void *b)
{
	const struct jr_sim_job *x = a, *y = b;

	if (x->submit_ns != y->submit_ns)
		return x->submit_ns < y->submit_ns ? -1 : 1;
	return x->sj.id < y->sj.id ? -1 : x->sj.id > y->sj.id;
}

static int load_trace(const char *path, uint32_t procs, struct trace *t)
{
	char line[4096];
	bool piped = false;
	FILE *f = open_trace(path, &piped);
	struct jr_swf_record r;
	struct jr_sim_job j;
	double wait;

	if (!f)
		return -ENOENT;
	memset(t, 0, sizeof(*t));
	while (fgets(line, sizeof(line), f)) {
		int rc = jr_swf_parse_line(line, &r);
		if (rc == 1) {
			if (!t->header_procs)
				t->header_procs = jr_swf_header_procs(line);
			continue;
		}
		if (rc < 0 || jr_swf_to_job(&r, &j, &wait) < 0) {
			t->skipped++;
			continue;
		}
		if (add_job(t, &j, wait) < 0)
			break;
	}
	if (piped)
		pclose(f);
	else
		fclose(f);
	t->procs = procs ? procs : t->header_procs;
	if (!t->count || !t->procs)
		return -ENOENT;
	for (size_t i = 0; i < t->count; i++)
		t->too_wide += t->jobs[i].req.cpus > t->procs;
	qsort(t->jobs, t->count, sizeof(*t->jobs), cmp_submit);
	t->orig = malloc(t->count * sizeof(*t->orig));
	if (!t->orig)
		return -ENOMEM;
	memcpy(t->orig, t->jobs, t->count * sizeof(*t->orig));
	return 0;
}

struct metrics {
	double util, mean_wait_s, mean_bsld;
};

static double bsld(double wait_s, double run_s)
{
	double b = (wait_s + run_s) / (run_s > BSLD_FLOOR_S ? run_s : BSLD_FLOOR_S);
	return b > 1 ? b : 1;
}

static bool ran(const struct jr_sim_job *j)
{
	return j->sj.state == JR_SCHED_SUCCEEDED || j->sj.state == JR_SCHED_FAILED;
}

static double work_proc_s(const struct trace *t)
{
	double work = 0;

	for (size_t i = 0; i < t->count; i++)
		if (t->jobs[i].req.cpus <= t->procs)
			work += (double)t->jobs[i].run_ns / NS * t->jobs[i].req.cpus;
	return work;
}

static struct metrics simulated(const struct trace *t, uint64_t last_end_ns)
{
	struct metrics m = { 0 };
	double span = (double)(last_end_ns - t->jobs[0].submit_ns) / NS;
	size_t n = 0;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		if (!ran(j))
			continue;
		double wait = (double)(j->sj.start_ns - j->submit_ns) / NS;
		m.mean_wait_s += wait;
		m.mean_bsld += bsld(wait, (double)j->run_ns / NS);
		n++;
	}
	m.mean_wait_s /= (double)n;
	m.mean_bsld /= (double)n;
	m.util = work_proc_s(t) / (t->procs * span);
	return m;
}

static struct metrics logged(const struct trace *t, double *offered)
{
	struct metrics m = { 0 };
	double last_end = 0, first = (double)t->jobs[0].submit_ns / NS;
	double last_submit = (double)t->jobs[t->count - 1].submit_ns / NS;
	size_t n = 0;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		double submit = (double)j->submit_ns / NS, run = (double)j->run_ns / NS;
		double end = submit + t->logged_wait_s[i] + run;
		if (j->req.cpus > t->procs)
			continue;
		if (end > last_end)
			last_end = end;
		m.mean_wait_s += t->logged_wait_s[i];
		m.mean_bsld += bsld(t->logged_wait_s[i], run);
		n++;
	}
	m.mean_wait_s /= (double)n;
	m.mean_bsld /= (double)n;
	m.util = work_proc_s(t) / (t->procs * (last_end - first));
	*offered = work_proc_s(t) / (t->procs * (last_submit - first));
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
	size_t n = 0;
	bool ok = true;

	for (size_t i = 0; i < t->count; i++) {
		const struct jr_sim_job *j = &t->jobs[i];
		if (!ran(j))
			continue;
		if (j->sj.start_ns < j->submit_ns)
			ok = false;
		e[n++] = (struct edge){ j->sj.start_ns, j->req.cpus };
		e[n++] = (struct edge){ j->end_ns, -(int64_t)j->req.cpus };
	}
	qsort(e, n, sizeof(*e), cmp_edge);
	for (size_t i = 0; i < n; i++) {
		in_use += e[i].procs;
		if (in_use > peak)
			peak = in_use;
	}
	free(e);
	printf("    schedule check: no early start: %s, peak processors in use %ld of %u\n",
	       ok ? "yes" : "NO", (long)peak, t->procs);
	return ok && peak <= (int64_t)t->procs;
}

/* The same jobs with GPUs: the host gets GPUS of them, and one job in
 * GPU_EVERY (by id) asks for one (a synthetic mix: SWF has no GPUs). */
#define GPUS 2u
#define GPU_EVERY 4u

static int run_once(struct trace *t, bool limits, bool gpus, struct jr_sim_stats *st,
		    double *elapsed)
{
	static struct jr_pools pools;
	double t0;
	int rc;

	if (jr_pools_init_flat(&pools, 1, t->procs, 0) < 0)
		return -E2BIG;
	if (gpus)
		pools.node[0].gpu_all = pools.node[0].gpu_free = (1u << GPUS) - 1;
	memcpy(t->jobs, t->orig, t->count * sizeof(*t->jobs));
	for (size_t i = 0; i < t->count; i++) {
		if (!limits)
			t->jobs[i].sj.limit_ns = 0;
		if (gpus && t->jobs[i].sj.id % GPU_EVERY == 0)
			t->jobs[i].req.gpus = 1;
	}
	t0 = jrt_now_s();
	rc = jr_sim_run(&pools, t->jobs, t->count, 0, st);
	*elapsed = jrt_now_s() - t0;
	return rc;
}

static void report(const char *label, struct trace *t, const struct jr_sim_stats *st,
		   double elapsed, const struct metrics *log)
{
	struct metrics sim = simulated(t, st->last_end_ns);

	printf("  %-34s %12.4f %14.0f %16.1f   %lu passes, %.2f us/pass, %lu backfilled\n",
	       label, sim.util, sim.mean_wait_s, sim.mean_bsld, (unsigned long)st->passes,
	       1e6 * elapsed / (double)(st->passes ? st->passes : 1),
	       (unsigned long)st->backfilled);
	if (log)
		printf("    target %-38s %.1f vs %.1f %s\n", "mean bsld below the logged schedule's",
		       sim.mean_bsld, log->mean_bsld, sim.mean_bsld < log->mean_bsld ? "PASS" : "MISS");
}

static int replay(const char *path, uint32_t procs, const char *name)
{
	struct trace t;
	struct jr_sim_stats st;
	struct metrics log;
	double offered, elapsed;
	int rc;

	if (load_trace(path, procs, &t) < 0) {
		printf("bench/trace: SKIPPED: %s not found or holds no usable record\n", path);
		return 0;
	}
	log = logged(&t, &offered);
	printf("bench/trace: %s, %zu jobs (%zu records skipped, %zu wider than the host "
	       "refused), %u processors, virtual time\n",
	       name, t.count, t.skipped, t.too_wide, t.procs);
	printf("  %-34s %12s %14s %16s\n", "", "utilization", "mean wait (s)",
	       "mean bsld (10 s)");
	printf("  %-34s %12.4f\n", "offered load", offered);
	printf("  %-34s %12.4f %14.0f %16.1f\n", "logged production schedule",
	       log.util, log.mean_wait_s, log.mean_bsld);
	rc = run_once(&t, true, false, &st, &elapsed);
	if (rc < 0 || st.refused != t.too_wide) {
		printf("bench/trace: simulation failed: %s\n", rc < 0 ? strerror(-rc) : "refusals");
		return 1;
	}
	report("jobring, requested times as limits", &t, &st, elapsed, &log);
	if (!schedule_valid(&t))
		return printf("bench/trace: INVALID SCHEDULE\n"), 1;
	{
		struct metrics sim = simulated(&t, st.last_end_ns);
		printf("    target %-38s %.4f vs %.4f (%.2f%%) %s\n",
		       "utilization within 2% of offered load", sim.util, offered,
		       100 * (sim.util - offered) / offered,
		       sim.util >= offered * 0.98 && sim.util <= offered * 1.02 ? "PASS" : "MISS");
	}
	rc = run_once(&t, false, false, &st, &elapsed);
	if (rc < 0)
		return printf("bench/trace: simulation failed: %s\n", strerror(-rc)), 1;
	report("jobring, no time limits", &t, &st, elapsed, NULL);
	if (!schedule_valid(&t))
		return printf("bench/trace: INVALID SCHEDULE\n"), 1;
	printf("  the same with %u GPUs, one job in %u asking for one:\n", GPUS, GPU_EVERY);
	rc = run_once(&t, true, true, &st, &elapsed);
	if (rc < 0)
		return printf("bench/trace: simulation failed: %s\n", strerror(-rc)), 1;
	report("jobring, GPUs, requested times", &t, &st, elapsed, NULL);
	if (!schedule_valid(&t))
		return printf("bench/trace: INVALID SCHEDULE\n"), 1;
	rc = run_once(&t, false, true, &st, &elapsed);
	if (rc < 0)
		return printf("bench/trace: simulation failed: %s\n", strerror(-rc)), 1;
	report("jobring, GPUs, no time limits", &t, &st, elapsed, NULL);
	if (!schedule_valid(&t))
		return printf("bench/trace: INVALID SCHEDULE\n"), 1;
	free(t.jobs);
	free(t.orig);
	free(t.logged_wait_s);
	return 0;
}

/* --- placement cost by host size -------------------------------------------- */

/* ns per reserve + release of a 1-core job on a host of `cores` (one
 * node) with every other core of its first half held, and of a job of
 * half its free cores. Median of 5. */
static void placement_cost(uint32_t cores, double *one_ns, double *half_ns)
{
	static struct jr_pools p;
	static struct jr_alloc held[8192];
	struct jr_req r1 = { .cpus = 1 }, rh = { .cpus = cores / 2 };
	struct jr_alloc a;
	double v1[5], vh[5];
	const int iters = 200000;

	jr_pools_init_flat(&p, 1, cores, 0);
	for (uint32_t i = 0; i < cores / 2; i++)	/* every other core held */
		jr_res_reserve(&p, &r1, &held[i]);
	for (uint32_t i = 0; i < cores / 2; i += 2)
		jr_res_release(&p, &held[i]);
	rh.cpus = jr_pools_free_cores_all(&p) / 2;
	for (int k = 0; k < 5; k++) {
		double t0 = jrt_now_s();
		for (int i = 0; i < iters; i++) {
			if (jr_res_reserve(&p, &r1, &a) == 0)
				jr_res_release(&p, &a);
		}
		v1[k] = (jrt_now_s() - t0) * 1e9 / iters;
		t0 = jrt_now_s();
		for (int i = 0; i < iters / 10; i++) {
			if (jr_res_reserve(&p, &rh, &a) == 0)
				jr_res_release(&p, &a);
		}
		vh[k] = (jrt_now_s() - t0) * 1e9 / (iters / 10);
	}
	*one_ns = bench_median(v1, 5);
	*half_ns = bench_median(vh, 5);
}

static void placement(void)
{
	static const uint32_t sizes[] = { 64, 1024, 8192 };
	double base1 = 0, baseh = 0;

	printf("bench/trace: placement (reserve + release) on one node, every other core "
	       "of its first half held, median of 5\n");
	printf("  %-8s %14s %8s %22s %8s %12s\n", "cores", "1 core (ns)", "x64",
	       "half the free (ns)", "x64", "record (B)");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double one, half;
		placement_cost(sizes[i], &one, &half);
		if (i == 0)
			base1 = one, baseh = half;
		printf("  %-8u %14.0f %8.2f %22.0f %8.2f %12zu\n", sizes[i], one, one / base1,
		       half, half / baseh, jr_alloc_size((sizes[i] + 63) / 64));
	}
}

int main(int argc, char **argv)
{
	const char *base = getenv("JR_SHARED_DATA");
	char path[512];
	int rc;

	if (argc > 1) {
		long procs = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
		if (procs < 0 || procs > (long)JR_CORES_MAX) {
			fprintf(stderr, "bench/trace: PROCS must be 1 to %u\n", JR_CORES_MAX);
			return 2;
		}
		rc = replay(argv[1], (uint32_t)procs, argv[1]);
	} else {
		snprintf(path, sizeof(path), "%s/swf/KTH-SP2-1996-2.1-cln.swf.gz",
			 base ? base : "../shared/data");
		rc = replay(path, 100, "KTH-SP2");
	}
	if (rc == 0 && argc <= 1)
		placement();
	return rc;
}
