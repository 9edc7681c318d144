/*
 * bench/tls_submit - batch submission over TLS on loopback (issue 17:
 * jobringd --listen, the client with the access file's key) next to the
 * Unix socket's in the same run: each run starts a fresh daemon with
 * --paused (jobs are queued, none start) and --sync=none (the HTTP, TLS
 * and JSON path, not fdatasync), then sends 1,000,000 jobs as 100 POST
 * /jobs/batch of 10,000 NDJSON lines on one keep-alive connection, once
 * over the Unix socket and once over TLS, in alternating order so that
 * the machine's noise falls on both. Also: a TLS handshake's cost
 * (connections opened, one GET /health each, per second).
 *
 * Medians of JR_BENCH_RUNS (default 5); JR_BENCH_JOBS scales the count.
 * Target: TLS >= 500,000 jobs/s.
 */
#include "daemonutil.h"
#include "jobring.h"

#define BATCH 10000
#define HANDSHAKES 200

static struct jrt_daemon d;
static const char *const opts[] = { "--capacity", "2097152", "--paused", "--sync", "none",
				    "--listen", "127.0.0.1:0", NULL };

static struct jr_client *open_client(bool tls)
{
	char access[160];
	struct jr_client *c;
	int rc;

	snprintf(access, sizeof(access), "%s/access.json", d.state);
	rc = tls ? jr_client_open_access(&c, NULL, access) : jr_client_open(&c, d.sock);
	if (rc < 0) {
		errno = -rc;
		bench_die(tls ? "connect over TLS" : "connect");
	}
	return c;
}

/* jobs/s of nbatches POST /jobs/batch on one connection; *p99 per batch. */
static double batch_once(const struct bench_batches *bs, int nbatches, bool tls, double *p99)
{
	double *lat = calloc((size_t)nbatches, sizeof(double)), t0, rate;
	struct jr_client *c;

	bench_daemon_start(&d, true, opts);
	c = open_client(tls);
	t0 = jrt_now_s();
	for (int b = 0; b < nbatches; b++) {
		char *resp;
		double s = jrt_now_s();
		int rc = jr_client_request(c, "POST", "/jobs/batch", bs->body[b], bs->len[b], &resp,
					   NULL);
		lat[b] = (jrt_now_s() - s) * 1e3;
		if (rc != 201) {
			fprintf(stderr, "bench/tls_submit: batch answered %d: %.200s\n", rc,
				rc > 0 ? resp : strerror(-rc));
			exit(1);
		}
		free(resp);
	}
	rate = nbatches * (double)BATCH / (jrt_now_s() - t0);
	*p99 = bench_percentile(lat, nbatches, 0.99);
	jr_client_close(c);
	free(lat);
	return rate;
}

/* Connections opened (one GET /health each) per second. */
static double connects_once(bool tls)
{
	double t0 = jrt_now_s();

	for (int i = 0; i < HANDSHAKES; i++) {
		struct jr_client *c = open_client(tls);
		char *resp;
		if (jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) != 200)
			bench_die("GET /health");
		free(resp);
		jr_client_close(c);
	}
	return HANDSHAKES / (jrt_now_s() - t0);
}

int main(int argc, char **argv)
{
	double tls[16], unix_[16], tls99[16], unix99[16], tls_conn[16], unix_conn[16];
	struct bench_batches bs;
	int runs, nbatches;

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-tls", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 5);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	nbatches = (int)(jrt_env_u64("JR_BENCH_JOBS", 1000000) / BATCH);
	nbatches = nbatches < 1 ? 1 : nbatches;
	bench_batches_make(&bs, nbatches, BATCH);
	printf("bench/tls_submit: jobringd --paused --sync=none --listen 127.0.0.1:0, %d batches of "
	       "%d on one connection, median of %d runs\n", nbatches, BATCH, runs);
	for (int r = 0; r < runs; r++) {
		bool tls_first = r % 2;
		for (int k = 0; k < 2; k++) {
			bool over_tls = (k == 0) == tls_first;
			double *rate = over_tls ? &tls[r] : &unix_[r], *p99 = over_tls ? &tls99[r] : &unix99[r];
			*rate = batch_once(&bs, nbatches, over_tls, p99);
			(over_tls ? tls_conn : unix_conn)[r] = connects_once(over_tls);
			jrt_daemon_stop(&d, SIGTERM);
		}
	}
	double t = bench_median(tls, runs), u = bench_median(unix_, runs);
	printf("  %-30s %10.0f jobs/s  p99 %7.2f ms per batch\n", "POST /jobs/batch, Unix socket", u,
	       bench_median(unix99, runs));
	printf("  %-30s %10.0f jobs/s  p99 %7.2f ms per batch   ratio to Unix %.2f\n",
	       "POST /jobs/batch, TLS 1.3", t, bench_median(tls99, runs), t / u);
	printf("  %-30s %10.0f /s (Unix: %.0f /s)\n", "connect + GET /health, TLS",
	       bench_median(tls_conn, runs), bench_median(unix_conn, runs));
	printf("  target: TLS batch >= 500,000 jobs/s: %s\n", t >= 5e5 ? "pass" : "MISSED");
	bench_batches_free(&bs);
	jrt_daemon_remove(&d);
	return 0;
}
