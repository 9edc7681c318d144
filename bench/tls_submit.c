/*
 * bench/tls_submit - batch submission over TLS on loopback (issue 17:
 * jobringd --listen, the client with the access file's key) next to the
 * Unix socket's in the same run: each run starts a fresh daemon with
 * --paused (jobs are queued, none start) and --sync=none (the HTTP, TLS
 * and JSON path, not fdatasync), then sends 1,000,000 jobs as 100 POST
 * /jobs/batch of 10,000 NDJSON lines on one keep-alive connection, once
 * over the Unix socket and once over TLS, in alternating order so that
 * the machine's noise falls on both; then over TLS again from two
 * threads with a connection each (a service with two submitters: one
 * connection waits for each answer, and the daemon's loop idles while the
 * next batch crosses the socket). Also: a TLS handshake's cost
 * (connections opened, one GET /health each, per second), with the key
 * and, where munged can be started (root, the munge package), with a
 * MUNGE credential instead (--munge: the certificate handshake, the
 * credential made and checked, one more round trip).
 *
 * The machine's load moves wall-clock rates a lot; the CPU time the daemon
 * and this client spent per job (from /proc and getrusage) moves less,
 * and is printed beside them.
 *
 * Medians of JR_BENCH_RUNS (default 5); JR_BENCH_JOBS scales the count.
 * Target: TLS >= 500,000 jobs/s.
 */
#include "daemonutil.h"
#include "jobring.h"

#include <pthread.h>
#include <sys/resource.h>

#define BATCH 10000
#define HANDSHAKES 200

static struct jrt_daemon d;
/* With --munge and its socket added when a munged runs (start_munged). */
static const char *opts[] = { "--capacity", "2097152", "--paused", "--sync", "none",
			      "--listen", "127.0.0.1:0", NULL, NULL, NULL, NULL };
static char munge_dir[128], munge_sock[160];

/* A munged of our own (a key made here, its socket in munge_dir), its
 * daemon options added: true if it runs. */
static bool start_munged(void)
{
	char cmd[2048];

	if (geteuid() != 0 || system("command -v munged >/dev/null 2>&1") != 0)
		return false;
	snprintf(munge_dir, sizeof(munge_dir), "%s/munge", d.dir);
	snprintf(munge_sock, sizeof(munge_sock), "%s/sock", munge_dir);
	snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s && dd if=/dev/urandom of=%s/key bs=1024 "
		 "count=1 status=none && chmod 0400 %s/key && munged --force --socket=%s "
		 "--key-file=%s/key --log-file=%s/log --pid-file=%s/pid --seed-file=%s/seed && "
		 "sleep 0.3", munge_dir, munge_dir, munge_dir, munge_sock, munge_dir, munge_dir,
		 munge_dir, munge_dir);
	if (system(cmd) != 0)
		return false;
	opts[7] = "--munge";
	opts[8] = "--munge-socket";
	opts[9] = munge_sock;
	setenv("JOBRING_MUNGE_SOCKET", munge_sock, 1);
	return true;
}

static void stop_munged(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "kill $(cat %s/pid) 2>/dev/null", munge_dir);
	if (munge_dir[0] && system(cmd) != 0)
		fprintf(stderr, "bench/tls_submit: munged in %s not stopped\n", munge_dir);
}

static struct jr_client *open_client_with(bool tls, const char *access_name)
{
	char access[160];
	struct jr_client *c;
	int rc;

	snprintf(access, sizeof(access), "%s/%s", d.state, access_name);
	rc = tls ? jr_client_open_access(&c, NULL, access) : jr_client_open(&c, d.sock);
	if (rc < 0) {
		errno = -rc;
		bench_die(tls ? "connect over TLS" : "connect");
	}
	return c;
}

static struct jr_client *open_client(bool tls)
{
	return open_client_with(tls, "access.json");
}

/* CPU seconds (user and system) the daemon has used. */
static double daemon_cpu_s(void)
{
	char path[64], text[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d.pid);
	if (!(f = fopen(path, "r")))
		return 0;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (!(p = strrchr(text, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* CPU microseconds per job: the daemon's, the client's. */
struct cpu_per_job {
	double daemon_us, client_us;
};

/* One connection's share of the batches: every conns-th from first. */
struct sender {
	const struct bench_batches *bs;
	int first, step, nbatches;
	bool tls;
	double *lat;
	pthread_t thread;
};

static void *send_batches(void *arg)
{
	struct sender *s = arg;
	struct jr_client *c = open_client(s->tls);

	for (int b = s->first; b < s->nbatches; b += s->step) {
		char *resp;
		double t = jrt_now_s();
		int rc = jr_client_request(c, "POST", "/jobs/batch", s->bs->body[b], s->bs->len[b],
					   &resp, NULL);
		s->lat[b] = (jrt_now_s() - t) * 1e3;
		if (rc != 201) {
			fprintf(stderr, "bench/tls_submit: batch answered %d: %.200s\n", rc,
				rc > 0 ? resp : strerror(-rc));
			exit(1);
		}
		free(resp);
	}
	jr_client_close(c);
	return NULL;
}

/* jobs/s of nbatches POST /jobs/batch over conns connections, each
 * sending its next batch when the last is answered; *p99 per batch,
 * *cpu what each side spent. */
static double batch_once(const struct bench_batches *bs, int nbatches, bool tls, int conns,
			 double *p99, struct cpu_per_job *cpu)
{
	double *lat = calloc((size_t)nbatches, sizeof(double)), t0, rate, dcpu, ccpu;
	struct sender s[4];

	bench_daemon_start(&d, true, opts);
	dcpu = daemon_cpu_s();
	ccpu = self_cpu_s();
	t0 = jrt_now_s();
	for (int i = 0; i < conns; i++) {
		s[i] = (struct sender){ bs, i, conns, nbatches, tls, lat, 0 };
		if (pthread_create(&s[i].thread, NULL, send_batches, &s[i]) != 0)
			bench_die("pthread_create");
	}
	for (int i = 0; i < conns; i++)
		pthread_join(s[i].thread, NULL);
	rate = nbatches * (double)BATCH / (jrt_now_s() - t0);
	cpu->daemon_us = (daemon_cpu_s() - dcpu) * 1e6 / (nbatches * (double)BATCH);
	cpu->client_us = (self_cpu_s() - ccpu) * 1e6 / (nbatches * (double)BATCH);
	*p99 = bench_percentile(lat, nbatches, 0.99);
	free(lat);
	return rate;
}

/* Connections opened (one GET /health each) per second: over the Unix
 * socket, over TLS with the key, or with a MUNGE credential. */
static double connects_once(bool tls, bool munge)
{
	double t0 = jrt_now_s();

	for (int i = 0; i < HANDSHAKES; i++) {
		struct jr_client *c = open_client_with(tls, munge ? "access-munge.json" :
									 "access.json");
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
	double tls_d[16], unix_d[16], tls_c[16], unix_c[16], tls2[16], tls2_99[16];
	double munge_conn[16];
	bool munge;
	struct bench_batches bs;
	int runs, nbatches;

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-tls", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 5);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	nbatches = (int)(jrt_env_u64("JR_BENCH_JOBS", 1000000) / BATCH);
	nbatches = nbatches < 1 ? 1 : nbatches;
	bench_batches_make(&bs, nbatches, BATCH);
	munge = start_munged();
	printf("bench/tls_submit: jobringd --paused --sync=none --listen 127.0.0.1:0, %d batches of "
	       "%d on one connection (and on two over TLS), median of %d runs\n", nbatches, BATCH, runs);
	for (int r = 0; r < runs; r++) {
		bool tls_first = r % 2;
		for (int k = 0; k < 2; k++) {
			bool over_tls = (k == 0) == tls_first;
			double *rate = over_tls ? &tls[r] : &unix_[r], *p99 = over_tls ? &tls99[r] : &unix99[r];
			struct cpu_per_job cpu;
			*rate = batch_once(&bs, nbatches, over_tls, 1, p99, &cpu);
			(over_tls ? tls_d : unix_d)[r] = cpu.daemon_us;
			(over_tls ? tls_c : unix_c)[r] = cpu.client_us;
			(over_tls ? tls_conn : unix_conn)[r] = connects_once(over_tls, false);
			if (over_tls && munge)
				munge_conn[r] = connects_once(true, true);
			jrt_daemon_stop(&d, SIGTERM);
		}
		struct cpu_per_job cpu2;
		tls2[r] = batch_once(&bs, nbatches, true, 2, &tls2_99[r], &cpu2);
		jrt_daemon_stop(&d, SIGTERM);
	}
	double t = bench_median(tls, runs), u = bench_median(unix_, runs);
	printf("  %-30s %10.0f jobs/s  p99 %7.2f ms per batch\n", "POST /jobs/batch, Unix socket", u,
	       bench_median(unix99, runs));
	printf("  %-30s %10.0f jobs/s  p99 %7.2f ms per batch   ratio to Unix %.2f\n",
	       "POST /jobs/batch, TLS 1.3", t, bench_median(tls99, runs), t / u);
	printf("  %-30s %10.0f jobs/s  p99 %7.2f ms per batch   (two submitters, a connection each)\n",
	       "POST /jobs/batch, TLS 1.3 x2", bench_median(tls2, runs), bench_median(tls2_99, runs));
	printf("  CPU per job, daemon: Unix %.2f us, TLS %.2f us (ratio %.2f); client: Unix %.2f us, "
	       "TLS %.2f us\n", bench_median(unix_d, runs), bench_median(tls_d, runs),
	       bench_median(tls_d, runs) / bench_median(unix_d, runs), bench_median(unix_c, runs),
	       bench_median(tls_c, runs));
	printf("  %-30s %10.0f /s (Unix: %.0f /s)\n", "connect + GET /health, TLS",
	       bench_median(tls_conn, runs), bench_median(unix_conn, runs));
	if (munge)
		printf("  %-30s %10.0f /s (ratio to the key's %.2f: the certificate handshake, "
		       "the credential made and checked, one more round trip)\n",
		       "... with MUNGE instead", bench_median(munge_conn, runs),
		       bench_median(munge_conn, runs) / bench_median(tls_conn, runs));
	else
		printf("  ... with MUNGE instead: skipped (needs root and munged: make deps)\n");
	printf("  target: TLS batch >= 500,000 jobs/s: %s on one connection, %s on two\n",
	       t >= 5e5 ? "pass" : "MISSED", bench_median(tls2, runs) >= 5e5 ? "pass" : "MISSED");
	bench_batches_free(&bs);
	stop_munged();
	jrt_daemon_remove(&d);
	return 0;
}
