/*
 * bench/submit - submissions through jobringd's socket, each phase against
 * a fresh daemon started with --paused (jobs are accepted, none start, so
 * the children do not compete for the cores with what is measured) and
 * --sync=none (the journal is written but not synced: this measures the
 * HTTP and JSON path; bench/durable measures what fdatasync adds):
 *
 *   batch:  1,000,000 jobs as 100 POST /jobs/batch of 10,000 NDJSON lines
 *           on one keep-alive connection (jobs/s; p50/p99 per batch),
 *           against jr_command_submit_batch() in-process in the same run
 *           (the engine alone: what HTTP and JSON add), and the daemon's
 *           longest loop turn meanwhile (GET /metrics) against a batch's
 *           round trip: a long batch is parsed a slice a turn;
 *   single: 100,000 POST /jobs from 64 concurrent keep-alive connections
 *           (jobs/s; p50/p99 per request), against GET /health round trips
 *           on the same 64 connections (the server alone).
 *
 * Medians of JR_BENCH_RUNS (default 3). JR_BENCH_JOBS scales the counts.
 */
#include "daemonutil.h"
#include "jobring.h"

#define CONNS 64
#define BATCH 10000

static struct jrt_daemon d;
static uint64_t batch_jobs, single_jobs;
static int runs;
static const char *const paused_nosync[] = { "--capacity", "2097152", "--paused", "--sync",
					      "none", NULL };

/* The daemon's longest loop turn so far (GET /metrics), ms; -1 if it
 * does not tell. A request arriving during a turn waits for its end. */
static double loop_turn_max_ms(struct jr_client *c)
{
	static const char key[] = "\njobring_loop_turn_max_seconds ";
	char *m = NULL;
	double ms = -1;

	if (jr_client_request(c, "GET", "/metrics", NULL, 0, &m, NULL) == 200 && m &&
	    strstr(m, key))
		ms = strtod(strstr(m, key) + strlen(key), NULL) * 1e3;
	free(m);
	return ms;
}

static struct figures batch_http_once(const struct bench_batches *bs, int nbatches,
				      double *longest_turn_ms)
{
	struct jr_client *c;
	struct figures f = { 0 };
	double *lat = calloc((size_t)nbatches, sizeof(double)), t0, t1;

	bench_daemon_start(&d, true, paused_nosync);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	t0 = jrt_now_s();
	for (int b = 0; b < nbatches; b++) {
		char *resp;
		double s = jrt_now_s();
		int rc = jr_client_request(c, "POST", "/jobs/batch", bs->body[b], bs->len[b], &resp, NULL);
		lat[b] = (jrt_now_s() - s) * 1e3;
		if (rc != 201) {
			fprintf(stderr, "bench/submit: batch answered %d: %.200s\n", rc, rc > 0 ? resp : "");
			exit(1);
		}
		free(resp);
	}
	t1 = jrt_now_s();
	f.rate = nbatches * (double)BATCH / (t1 - t0);
	bench_wait_queued(c, (uint64_t)nbatches * BATCH);
	f.taken_rate = nbatches * (double)BATCH / (jrt_now_s() - t0);
	f.p50_ms = bench_percentile(lat, nbatches, 0.5);
	f.p99_ms = bench_percentile(lat, nbatches, 0.99);
	*longest_turn_ms = loop_turn_max_ms(c);
	jr_client_close(c);
	jrt_daemon_stop(&d, SIGTERM);
	free(lat);
	return f;
}

/* The engine alone: the same jobs, no socket, no JSON. */
static double batch_engine_once(int nbatches)
{
	struct jr_engine_opts o;
	struct jr_engine *e;
	char *argv[] = { "/bin/true", NULL }, name[32], state[320];
	struct jr_command_spec *specs = calloc(BATCH, sizeof(*specs));
	jr_job_id *ids = calloc(BATCH, sizeof(*ids));
	double t0, t1;

	snprintf(state, sizeof(state), "%s/engine", d.dir);
	jr_engine_opts_init(&o);
	o.workers = 1;
	o.capacity = 2097152;
	o.arena_bytes = 2097152ull * 128;	/* as jobringd sizes it */
	o.state_dir = state;
	o.flags = JR_ENGINE_START_PAUSED;
	if (jr_engine_open(&e, &o) < 0)
		bench_die("jr_engine_open");
	snprintf(name, sizeof(name), "job");
	for (int i = 0; i < BATCH; i++)
		specs[i] = (struct jr_command_spec){ .argv = argv, .name = name, .priority = 3 };
	t0 = jrt_now_s();
	for (int b = 0; b < nbatches; b++)
		if (jr_command_submit_batch(e, specs, BATCH, ids, NULL) < 0)
			bench_die("jr_command_submit_batch");
	t1 = jrt_now_s();
	jr_engine_close(e, JR_CLOSE_CANCEL);
	free(specs);
	free(ids);
	return nbatches * (double)BATCH / (t1 - t0);
}

/* --- single requests on 64 connections ------------------------------------------ */

static void single_once(struct figures *submit, struct figures *health)
{
	static const char job[] = "{\"command\":[\"/bin/true\"],\"name\":\"single\"}";
	static const char get[] = "GET /health HTTP/1.1\r\n\r\n";
	char post[256];

	bench_daemon_start(&d, true, paused_nosync);
	snprintf(post, sizeof(post), "POST /jobs HTTP/1.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(job), job);
	*health = drive(&d, CONNS, get, single_jobs, 200);
	*submit = drive(&d, CONNS, post, single_jobs, 201);
	jrt_daemon_stop(&d, SIGTERM);
}

/* --- main --------------------------------------------------------------------------- */

static void report(const char *what, double *rate, double *p50, double *p99, double *base,
		   const char *base_name)
{
	double r = bench_median(rate, runs), b = bench_median(base, runs);

	printf("  %-34s %10.0f jobs/s  p50 %7.3f ms  p99 %7.3f ms   %s %10.0f/s  ratio %.2f\n",
	       what, r, bench_median(p50, runs), bench_median(p99, runs), base_name, b, r / b);
}

int main(int argc, char **argv)
{
	int nbatches;
	double br[16], bp50[16], bp99[16], be[16], sr[16], sp50[16], sp99[16], hr[16], bt[16];
	double turn[16];

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-submit", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	batch_jobs = jrt_env_u64("JR_BENCH_JOBS", 1000000);
	single_jobs = batch_jobs / 10;
	nbatches = (int)(batch_jobs / BATCH);
	struct bench_batches bs;
	bench_batches_make(&bs, nbatches, BATCH);
	printf("bench/submit: jobringd --paused --sync=none, %d batches of %d, %llu single requests on %d "
	       "connections, median of %d runs\n", nbatches, BATCH,
	       (unsigned long long)single_jobs, CONNS, runs);
	for (int r = 0; r < runs; r++) {
		struct figures f = batch_http_once(&bs, nbatches, &turn[r]), s, h;
		br[r] = f.rate, bp50[r] = f.p50_ms, bp99[r] = f.p99_ms, bt[r] = f.taken_rate;
		be[r] = batch_engine_once(nbatches);
		single_once(&s, &h);
		sr[r] = s.rate, sp50[r] = s.p50_ms, sp99[r] = s.p99_ms, hr[r] = h.rate;
	}
	report("POST /jobs/batch (10,000 per batch)", br, bp50, bp99, be, "engine alone");
	printf("  %-34s %10.0f jobs/s  (acknowledged and taken in by the scheduler)\n",
	       "  ... until all were queued", bench_median(bt, runs));
	printf("  %-34s %10.2f ms   (the daemon's longest loop turn: a request arriving\n"
	       "  %-34s               meanwhile waits that long; a batch took %.2f ms at p50)\n",
	       "  ... longest loop turn", bench_median(turn, runs), "", bench_median(bp50, runs));
	report("POST /jobs (64 connections)", sr, sp50, sp99, hr, "GET /health");
	printf("  targets: batch >= 1,000,000 jobs/s: %s; single >= 50,000 jobs/s: %s\n",
	       bench_median(br, runs) >= 1e6 ? "pass" : "MISSED",
	       bench_median(sr, runs) >= 5e4 ? "pass" : "MISSED");
	bench_batches_free(&bs);
	jrt_daemon_remove(&d);
	return 0;
}
