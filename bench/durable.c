/*
 * bench/durable - what the journal costs and gives back, against a jobringd
 * started with --paused (jobs are accepted, none start):
 *
 *   batch:    1,000,000 jobs as 100 POST /jobs/batch of 10,000 from 4
 *             connections at once, --sync=always (each answer after its
 *             records are on disk), against the same with --sync=none
 *             (written, never synced) in the same run;
 *   single:   100,000 POST /jobs from 64 connections (jobs/s; p50/p99 of
 *             the acknowledgement), always against none;
 *   array:    the same 1,000,000 jobs as one job array, one POST /jobs
 *             with "array": "0-999999" (jobs/s from sending it to its
 *             201), --sync=always, beside the batch rate (issue 13);
 *   recovery: the batch phase's 1,000,000 jobs, after kill -9: from exec
 *             to the first answer (journal replayed, every job back at its
 *             id) and until the scheduler holds them all; then the same
 *             from the snapshot a clean stop writes; against an empty
 *             start.
 *
 * Medians of JR_BENCH_RUNS (default 3). JR_BENCH_JOBS scales the counts;
 * JR_BENCH_CONNS the batch connections. With --json, one line of figures
 * for bench/peers.sh.
 */
#include "daemonutil.h"
#include "jobring.h"

#define BATCH 10000
#define SINGLE_CONNS 64

static struct jrt_daemon d;
static uint64_t batch_jobs, single_jobs;
static int runs, batch_conns;
static struct bench_batches batches;

static const char *const durable[] = { "--capacity", "2097152", "--paused", NULL };
static const char *const nosync[] = { "--capacity", "2097152", "--paused", "--sync", "none",
				       NULL };

/* --- batches from several connections ----------------------------------------------- */

struct batch_thread {
	int first, step, nbatches;
	double *lat;
};

static void *batch_thread_main(void *arg)
{
	struct batch_thread *t = arg;
	struct jr_client *c;

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	for (int b = t->first; b < t->nbatches; b += t->step) {
		char *resp = NULL;
		double s = jrt_now_s();
		int rc = jr_client_request(c, "POST", "/jobs/batch", batches.body[b], batches.len[b], &resp, NULL);
		t->lat[b] = (jrt_now_s() - s) * 1e3;
		if (rc != 201) {
			fprintf(stderr, "bench/durable: batch answered %d: %.200s (see %s/daemon.log)\n",
				rc, rc > 0 && resp ? resp : "", d.dir);
			exit(1);
		}
		free(resp);
	}
	jr_client_close(c);
	return NULL;
}

/* Until the scheduler holds n queued jobs. */
static void wait_queued(uint64_t n)
{
	struct jr_client *c;

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	bench_wait_queued(c, n);
	jr_client_close(c);
}

/* The daemon is left running for the recovery phase. */
static struct figures batch_once(const char *const *opts)
{
	int nbatches = (int)(batch_jobs / BATCH);
	struct batch_thread t[16];
	pthread_t th[16];
	double *lat = calloc((size_t)nbatches, sizeof(double)), t0;
	struct figures f = { 0 };

	bench_daemon_start(&d, true, opts);
	t0 = jrt_now_s();
	for (int k = 0; k < batch_conns; k++) {
		t[k] = (struct batch_thread){ k, batch_conns, nbatches, lat };
		pthread_create(&th[k], NULL, batch_thread_main, &t[k]);
	}
	for (int k = 0; k < batch_conns; k++)
		pthread_join(th[k], NULL);
	f.rate = (double)batch_jobs / (jrt_now_s() - t0);
	f.p50_ms = bench_percentile(lat, nbatches, 0.5);
	f.p99_ms = bench_percentile(lat, nbatches, 0.99);
	free(lat);
	return f;
}

/* --- one array ----------------------------------------------------------------------- */

static double array_once(const char *const *opts)
{
	char body[160];
	struct jr_client *c;
	char *resp = NULL;
	double t0;
	int rc;

	bench_daemon_start(&d, true, opts);
	snprintf(body, sizeof(body), "{\"command\":[\"/bin/true\"],\"name\":\"array\","
		 "\"array\":\"0-%llu\"}", (unsigned long long)batch_jobs - 1);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	t0 = jrt_now_s();
	rc = jr_client_request(c, "POST", "/jobs", body, strlen(body), &resp, NULL);
	t0 = jrt_now_s() - t0;
	if (rc != 201) {
		fprintf(stderr, "bench/durable: array answered %d: %.200s (see %s/daemon.log)\n", rc,
			rc > 0 && resp ? resp : "", d.dir);
		exit(1);
	}
	free(resp);
	jr_client_close(c);
	wait_queued(batch_jobs);
	jrt_daemon_stop(&d, SIGKILL);
	return (double)batch_jobs / t0;
}

/* --- single jobs ---------------------------------------------------------------------- */

static struct figures single_once(const char *const *opts)
{
	static const char job[] = "{\"command\":[\"/bin/true\"],\"name\":\"single\"}";
	char post[256];
	struct figures f;

	bench_daemon_start(&d, true, opts);
	snprintf(post, sizeof(post), "POST /jobs HTTP/1.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(job), job);
	f = drive(&d, SINGLE_CONNS, post, single_jobs, 201);
	jrt_daemon_stop(&d, SIGTERM);
	return f;
}

/* --- recovery --------------------------------------------------------------------------- */

struct recovery_figures {
	double answer_s, queued_s;	/* from exec */
};

static struct recovery_figures recover_once(bool fresh)
{
	struct recovery_figures r;
	double t0 = jrt_now_s();

	bench_daemon_start(&d, fresh, durable);
	r.answer_s = jrt_now_s() - t0;
	wait_queued(fresh ? 0 : batch_jobs);
	r.queued_s = jrt_now_s() - t0;
	jrt_daemon_stop(&d, SIGTERM);	/* writes a snapshot */
	return r;
}

/* --- main --------------------------------------------------------------------------------- */

static double med(double *v)
{
	return bench_median(v, runs);
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	double ba[16], ba50[16], ba99[16], bn[16], sa[16], sa50[16], sa99[16], sn[16], sn99[16];
	double rj[16], rjq[16], rs[16], rsq[16], re[16], ar[16];

	bench_daemon_init(&d, argv[0], "bench-durable", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	batch_jobs = jrt_env_u64("JR_BENCH_JOBS", 1000000) / BATCH * BATCH;
	single_jobs = batch_jobs / 10;
	batch_conns = (int)jrt_env_u64("JR_BENCH_CONNS", 4);
	batch_conns = batch_conns < 1 ? 1 : batch_conns > 16 ? 16 : batch_conns;
	int nbatches = (int)(batch_jobs / BATCH);
	bench_batches_make(&batches, nbatches, BATCH);
	if (!json)
		printf("bench/durable: jobringd --paused, %d batches of %d from %d connections, "
		       "%llu single requests on %d connections, median of %d runs\n", nbatches,
		       BATCH, batch_conns, (unsigned long long)single_jobs, SINGLE_CONNS, runs);
	for (int r = 0; r < runs; r++) {
		struct figures f = batch_once(nosync);
		jrt_daemon_stop(&d, SIGKILL);
		bn[r] = f.rate;
		f = batch_once(durable);
		ba[r] = f.rate, ba50[r] = f.p50_ms, ba99[r] = f.p99_ms;
		wait_queued(batch_jobs);
		jrt_daemon_stop(&d, SIGKILL);	/* the journal is all there is */
		struct recovery_figures rf = recover_once(false);
		rj[r] = rf.answer_s, rjq[r] = rf.queued_s;
		rf = recover_once(false);	/* now from the snapshot */
		rs[r] = rf.answer_s, rsq[r] = rf.queued_s;
		re[r] = recover_once(true).answer_s;
		ar[r] = array_once(durable);
		f = single_once(durable);
		sa[r] = f.rate, sa50[r] = f.p50_ms, sa99[r] = f.p99_ms;
		f = single_once(nosync);
		sn[r] = f.rate, sn99[r] = f.p99_ms;
	}
	double batch = med(ba), single = med(sa), rec = med(rjq);
	if (json) {
		printf("{\"batch\":%.0f,\"batch_nosync\":%.0f,\"single\":%.0f,\"single_p99_ms\":%.3f,"
		       "\"recovery_s\":%.3f,\"recovery_snapshot_s\":%.3f,\"array\":%.0f}\n",
		       batch, med(bn), single, med(sa99), rec, med(rsq), med(ar));
	} else {
		printf("  batch, --sync=always     %10.0f jobs/s  p50 %7.2f ms  p99 %7.2f ms per batch"
		       "   --sync=none %10.0f/s  ratio %.2f\n", batch, med(ba50), med(ba99), med(bn),
		       batch / med(bn));
		printf("  array, --sync=always     %10.0f jobs/s  (one POST /jobs of %llu tasks)"
		       "          batch ratio %.2f\n", med(ar), (unsigned long long)batch_jobs,
		       med(ar) / batch);
		printf("  single, --sync=always    %10.0f jobs/s  p50 %7.3f ms  p99 %7.3f ms"
		       "              --sync=none %10.0f/s (p99 %.3f ms)  ratio %.2f\n", single,
		       med(sa50), med(sa99), med(sn), med(sn99), single / med(sn));
		printf("  recovery of %llu jobs: journal %.3f s to answer, %.3f s until all queued; "
		       "snapshot %.3f s / %.3f s; empty start %.3f s\n",
		       (unsigned long long)batch_jobs, med(rj), rec, med(rs), med(rsq), med(re));
		printf("  targets: durable batch >= 1,000,000 jobs/s: %s; durable single >= 50,000 "
		       "jobs/s: %s; recovery of 1,000,000 <= 1 s: %s\n",
		       batch >= 1e6 ? "pass" : "MISSED", single >= 5e4 ? "pass" : "MISSED",
		       batch_jobs < 1000000 ? "n/a (fewer jobs)" : rec <= 1.0 ? "pass" : "MISSED");
	}
	bench_batches_free(&batches);
	jrt_daemon_remove(&d);
	return 0;
}
