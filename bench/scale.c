/*
 * bench/scale - GET /jobs and the daemon's memory with many queued jobs
 * (issue 14, items 7 and 8). One jobringd (--paused: nothing starts, so
 * status=running matches nothing; --sync=none) is loaded with JOBS
 * command jobs through POST /jobs/batch (10,000 NDJSON lines each), then:
 *
 *   memory:  the daemon's RSS per queued job (after - before loading;
 *            after: once it has stopped growing, rss_settled()),
 *            and that minus the job's submitted JSON line (its command
 *            text and the rest of what it was sent with, kept as sent);
 *            again after the first listing (it must not fault in the
 *            table: the first costs no more memory than the next);
 *   listing: GET /jobs?status=running&limit=10 (no match), p50/p99 of
 *            LISTS requests on one connection;
 *   submit:  64 connections each POSTing single jobs (jobs/s), without
 *            and with one more connection listing in a loop (the ratio:
 *            the target is to lose at most 10%).
 *
 * The baselines in the same run: GET /health on the same connection (what
 * any request costs), the submitters without the lister, and the RSS
 * before loading; JR_SCALE_DAEMON runs the whole thing against another
 * build (the one before the index scanned the table: 15.7 ms at 1M).
 * Knobs: JR_SCALE_JOBS (default 100,000; `make bench-scale` runs 1M and
 * 2M), JR_SCALE_CAPACITY (default JOBS + 1/8 + 262,144), JR_SCALE_SINGLES
 * (20,000), JR_SCALE_DAEMON (another jobringd to measure, e.g. the build
 * before the index: the baseline, run the same way), JR_BENCH_RUNS (3:
 * medians).
 */
#include "daemonutil.h"
#include "jobring.h"

#include <pthread.h>
#include <stdatomic.h>

#define CONNS 64
#define BATCH 10000
#define LISTS 200

static struct jrt_daemon d;
static atomic_bool listing;
static atomic_long lists_done;

/* A field of /proc/PID/status in KiB ("VmRSS", "RssAnon", "RssShmem"). */
static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256], fmt[48];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long rss_kib(pid_t pid)
{
	return status_kib(pid, "VmRSS");
}

/* The RSS once the work a load leaves behind is done (the listings'
 * index is read 512 touched jobs a loop turn: at 10M jobs it grows by
 * 39 MB in the 2 s after the last batch is answered, 3-8 MB every
 * 500 ms): read every 500 ms until it grows by at most 64 KiB twice in a
 * row (at most 30 s; a background snapshot keeps it growing). */
/* JR_SCALE_PAUSE_S=N: N seconds with the jobs loaded and measured,
 * before the listings, to take a heap profile of the daemon then
 * (docs/BENCHMARKS.md, "a heap profile at 10M"). */
static void pause_for_profile(pid_t pid)
{
	const char *v = getenv("JR_SCALE_PAUSE_S");
	unsigned s = v ? (unsigned)strtoul(v, NULL, 10) : 0;

	if (!s)
		return;
	fprintf(stderr, "bench/scale: jobringd %ld loaded; pausing %u s\n", (long)pid, s);
	sleep(s);
}

static long rss_settled(pid_t pid)
{
	long last = rss_kib(pid), now;
	int still = 0;

	for (int i = 0; i < 60 && still < 2; i++) {
		usleep(500000);
		now = rss_kib(pid);
		still = now - last <= 64 ? still + 1 : 0;
		last = now;
	}
	return last;
}

static const char list_path[] = "/jobs?status=running&limit=10";

/* One GET of the empty listing: ms. */
static double list_once(struct jr_client *c)
{
	char *resp = NULL;
	double t0 = jrt_now_s();
	int rc = jr_client_request(c, "GET", list_path, NULL, 0, &resp, NULL);

	if (rc != 200 || !strstr(resp, "\"jobs\":[]")) {
		fprintf(stderr, "bench/scale: listing answered %d: %.200s\n", rc, resp ? resp : "");
		exit(1);
	}
	free(resp);
	return (jrt_now_s() - t0) * 1e3;
}

static void *lister(void *arg)
{
	struct jr_client *c;

	(void)arg;
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	while (atomic_load(&listing)) {
		list_once(c);
		atomic_fetch_add(&lists_done, 1);
	}
	jr_client_close(c);
	return NULL;
}

struct run {
	double load_rate;		/* jobs/s through POST /jobs/batch */
	double bytes_per_job, line_bytes;	/* RSS growth; the JSON line kept */
	double anon_per_job, shmem_per_job;	/* of the growth: anonymous, the region */
	double first_list_kib;		/* RSS growth over the first listing */
	double list_p50, list_p99;	/* ms */
	double health_p50;		/* ms: GET /health, the server alone */
	double single, single_listed;	/* jobs/s */
	double lists_per_s;
	bool snapshotting;		/* one under way as the listing began */
	bool snapshotting_end;		/* and as the submitters ended */
};

/* Whether the daemon is writing a snapshot in the background (GET
 * /health): its slices share the event loop with the listings. */
static bool snapshotting(struct jr_client *c)
{
	char *resp = NULL;
	bool yes = jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) == 200 &&
		   strstr(resp, "\"snapshotting\":true");

	free(resp);
	return yes;
}

static double load(struct jr_client *c, uint64_t jobs, double *line_bytes)
{
	uint64_t done = 0, bytes = 0;
	double t0 = jrt_now_s();

	while (done < jobs) {
		size_t n = jobs - done < BATCH ? (size_t)(jobs - done) : BATCH, len;
		char *body = bench_batch_body(done, n, &len), *resp = NULL;
		int rc = jr_client_request(c, "POST", "/jobs/batch", body, len, &resp, NULL);
		if (rc != 201) {
			fprintf(stderr, "bench/scale: batch answered %d: %.200s\n", rc,
				resp ? resp : "");
			exit(1);
		}
		bytes += len - n;	/* without the newlines */
		done += n;
		free(body);
		free(resp);
	}
	bench_wait_queued(c, jobs);
	*line_bytes = (double)bytes / (double)jobs;
	return (double)jobs / (jrt_now_s() - t0);
}

static struct run run_once(uint64_t jobs, const char *capacity, uint64_t singles)
{
	const char *const opts[] = { "--capacity", capacity, "--paused", "--sync", "none", NULL };
	static const char job[] = "{\"command\":[\"/bin/true\"],\"name\":\"single\"}";
	double lat[LISTS];
	struct jr_client *c;
	struct run r = { 0 };
	pthread_t t;
	long before, after, listed, anon0, shmem0;
	char post[256];

	bench_daemon_start(&d, true, opts);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	usleep(200000);
	before = rss_kib(d.pid);
	anon0 = status_kib(d.pid, "RssAnon");
	shmem0 = status_kib(d.pid, "RssShmem");
	r.load_rate = load(c, jobs, &r.line_bytes);
	after = rss_settled(d.pid);
	r.bytes_per_job = (double)(after - before) * 1024.0 / (double)jobs;
	r.anon_per_job = (double)(status_kib(d.pid, "RssAnon") - anon0) * 1024.0 / (double)jobs;
	r.shmem_per_job = (double)(status_kib(d.pid, "RssShmem") - shmem0) * 1024.0 / (double)jobs;
	r.snapshotting = snapshotting(c);
	pause_for_profile(d.pid);
	lat[0] = list_once(c);
	listed = rss_kib(d.pid);
	r.first_list_kib = (double)(listed - after);
	for (int i = 1; i < LISTS; i++)
		lat[i] = list_once(c);
	r.list_p50 = bench_percentile(lat, LISTS, 0.5);
	r.list_p99 = bench_percentile(lat, LISTS, 0.99);
	for (int i = 0; i < LISTS; i++) {
		char *resp = NULL;
		double t1 = jrt_now_s();
		if (jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) != 200)
			bench_die("GET /health");
		lat[i] = (jrt_now_s() - t1) * 1e3;
		free(resp);
	}
	r.health_p50 = bench_percentile(lat, LISTS, 0.5);

	snprintf(post, sizeof(post), "POST /jobs HTTP/1.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(job), job);
	r.single = drive(&d, CONNS, post, singles, 201).rate;
	atomic_store(&listing, true);
	atomic_store(&lists_done, 0);
	pthread_create(&t, NULL, lister, NULL);
	double t0 = jrt_now_s();
	r.single_listed = drive(&d, CONNS, post, singles, 201).rate;
	r.lists_per_s = (double)atomic_load(&lists_done) / (jrt_now_s() - t0);
	atomic_store(&listing, false);
	pthread_join(t, NULL);
	r.snapshotting_end = snapshotting(c);
	jr_client_close(c);
	bench_snapshots_note(&d, "  snapshots: ");
	jrt_daemon_stop(&d, SIGTERM);
	return r;
}

#define MED(field) ({ double v_[16]; for (int i_ = 0; i_ < runs; i_++) v_[i_] = rs[i_].field; \
		      bench_median(v_, runs); })

int main(int argc, char **argv)
{
	uint64_t jobs, singles, cap;
	const char *other = getenv("JR_SCALE_DAEMON");
	char capacity[32];
	struct run rs[16];
	int runs;

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-scale", "/var/tmp");
	if (other && *other)
		snprintf(d.path, sizeof(d.path), "%s", other);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	jobs = jrt_env_u64("JR_SCALE_JOBS", 100000);
	singles = jrt_env_u64("JR_SCALE_SINGLES", 20000);
	cap = jrt_env_u64("JR_SCALE_CAPACITY", jobs + jobs / 8 + 262144);
	snprintf(capacity, sizeof(capacity), "%llu", (unsigned long long)cap);
	printf("bench/scale: %s, %llu queued jobs, --capacity %s, median of %d runs\n",
	       other && *other ? other : "jobringd", (unsigned long long)jobs, capacity, runs);
	for (int i = 0; i < runs; i++)
		rs[i] = run_once(jobs, capacity, singles);
	printf("  load:    %10.0f jobs/s through POST /jobs/batch\n", MED(load_rate));
	printf("  memory:  %7.0f B RSS per queued job; %5.0f B of it its JSON line: %5.0f B beyond "
	       "(target <= 256)\n", MED(bytes_per_job), MED(line_bytes),
	       MED(bytes_per_job) - MED(line_bytes));
	printf("           of it %5.0f B anonymous (the daemon's heap), %5.0f B the shared region\n",
	       MED(anon_per_job), MED(shmem_per_job));
	printf("           first listing: %+.0f KiB RSS\n", MED(first_list_kib));
	printf("  listing: GET %s  p50 %8.3f ms  p99 %8.3f ms (target <= 1 ms); "
	       "GET /health p50 %.3f ms\n", list_path, MED(list_p50), MED(list_p99), MED(health_p50));
	for (int i = 0; i < runs; i++)
		if (rs[i].snapshotting || rs[i].snapshotting_end)
			printf("           run %d: a background snapshot was under way as the "
			       "listings began: %s, as the submitters ended: %s\n", i + 1,
			       rs[i].snapshotting ? "yes" : "no", rs[i].snapshotting_end ? "yes" : "no");
	printf("  submit:  %d connections %8.0f jobs/s; with one client listing %8.0f jobs/s "
	       "(%.0f lists/s): ratio %.2f (target >= 0.90)\n", CONNS, MED(single),
	       MED(single_listed), MED(lists_per_s), MED(single_listed) / MED(single));
	jrt_daemon_remove(&d);
	return 0;
}
