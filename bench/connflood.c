/*
 * bench/connflood - what jobringd holds while thousands of connections
 * pipeline requests and never read the answers (issue 12, item 5). A
 * daemon (--paused, --max-connections 4160: 4096 for the flood and the
 * 64 kept for root and the owner) holds JOBS jobs; CONNS connections
 * from 16 other uids (setuid in forked children: needs root) each write
 * REQS times GET /jobs?limit=1000 (an answer of some 300 KB) and read
 * nothing. Meanwhile the daemon's RSS is sampled every 20 ms (a thread of
 * its own) and root asks GET /health on a new connection every 250 ms.
 *
 * Prints the idle RSS (jobs loaded, before the flood), the peak RSS under
 * the flood, the budget (--max-buffered; JR_FLOOD_BUDGET passes another,
 * e.g. 128M), what /health said was buffered and paused, and root's
 * /health latency (p50, max). The bound to hold: peak - idle <= budget.
 * Knobs: JR_FLOOD_CONNS (4096), JR_FLOOD_REQS (64), JR_FLOOD_SECONDS (10),
 * JR_FLOOD_JOBS (2000), JR_FLOOD_MAXCONN (4160; 4096 shows the reserve
 * refusing the flood's last 64).
 */
#include "daemonutil.h"
#include "jobring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define UIDS 16
#define UID_BASE 61000u
#define HEALTH_MAX 1024

static struct jrt_daemon d;
static atomic_long peak_kib;
static atomic_bool sampling;

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The daemon's RSS every 20 ms into peak_kib, beside root's requests
 * (which the loop may keep waiting: a sample must not wait with them). */
static void *sample(void *arg)
{
	(void)arg;
	while (atomic_load(&sampling)) {
		long r = rss_kib(d.pid);
		if (r > atomic_load(&peak_kib))
			atomic_store(&peak_kib, r);
		jrt_sleep_ms(20);
	}
	return NULL;
}

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* One uid's share: n connections, each sent reqs requests, none read;
 * says so on ready, then waits to be killed. */
static _Noreturn void flood(uid_t uid, int n, int reqs, int ready)
{
	static const char req[] = "GET /jobs?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t len = (sizeof(req) - 1) * (size_t)reqs;
	char *batch = malloc(len + 1);
	int refused = 0;

	for (int i = 0; i < reqs; i++)
		memcpy(batch + (size_t)i * (sizeof(req) - 1), req, sizeof(req) - 1);
	if (setgid(uid) < 0 || setuid(uid) < 0)
		_exit(2);
	for (int i = 0; i < n; i++) {
		int fd = jrt_daemon_connect(&d);
		if (fd < 0 || send(fd, batch, len, MSG_NOSIGNAL | MSG_DONTWAIT) <= 0)
			refused++;
	}
	if (write(ready, &refused, sizeof(refused)) < 0)
		_exit(3);
	for (;;)
		pause();
}

/* GET /health as root on a new connection: seconds, the answer in *resp. */
static double health(char **resp)
{
	struct jr_client *c;
	double t0 = jrt_now_s();

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect as root");
	if (jr_client_request(c, "GET", "/health", NULL, 0, resp, NULL) != 200)
		bench_die("GET /health");
	jr_client_close(c);
	return jrt_now_s() - t0;
}

static unsigned long long json_u64(const char *s, const char *key)
{
	const char *p = s ? strstr(s, key) : NULL;

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void load_jobs(uint64_t jobs)
{
	struct jr_client *c;
	size_t len;
	char *body = bench_batch_body(0, jobs, &len), *resp;

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	if (jr_client_request(c, "POST", "/jobs/batch", body, len, &resp, NULL) != 201)
		bench_die("POST /jobs/batch");
	free(resp);
	if (jr_client_request(c, "GET", "/jobs?limit=1000", NULL, 0, &resp, NULL) != 200)
		bench_die("GET /jobs");
	printf("connflood: GET /jobs?limit=1000 answers %zu bytes\n", strlen(resp));
	free(resp);
	jr_client_close(c);
	free(body);
}

int main(int argc, char **argv)
{
	int conns = (int)jrt_env_u64("JR_FLOOD_CONNS", 4096), reqs = (int)jrt_env_u64("JR_FLOOD_REQS", 64);
	double seconds = (double)jrt_env_u64("JR_FLOOD_SECONDS", 10), lat[HEALTH_MAX];
	const char *budget = getenv("JR_FLOOD_BUDGET"), *maxconn = getenv("JR_FLOOD_MAXCONN");
	const char *opts[] = { "--paused", "--sync", "none", "--max-connections",
			       maxconn ? maxconn : "4160",
			       "--socket-mode", "0666", budget ? "--max-buffered" : NULL, budget, NULL };
	pid_t kids[UIDS];
	pthread_t sampler;
	long idle, peak;
	int ready[2], refused = 0, nlat = 0;
	char *resp = NULL;

	(void)argc;
	if (geteuid() != 0) {
		printf("connflood: SKIP: needs root (its clients become other uids)\n");
		return 0;
	}
	raise_nofile();
	bench_daemon_init(&d, argv[0], "connflood", NULL);
	chmod(d.dir, 0755);
	bench_daemon_start(&d, true, opts);
	load_jobs(jrt_env_u64("JR_FLOOD_JOBS", 2000));
	jrt_sleep_ms(500);
	idle = rss_kib(d.pid);
	if (pipe(ready) < 0)
		bench_die("pipe");
	atomic_store(&sampling, true);
	if (pthread_create(&sampler, NULL, sample, NULL) != 0)
		bench_die("pthread_create");
	double t0 = jrt_now_s();
	for (int u = 0; u < UIDS; u++) {
		int n = conns / UIDS + (u < conns % UIDS);
		if ((kids[u] = fork()) == 0)
			flood(UID_BASE + (uid_t)u, n, reqs, ready[1]);
	}
	for (int u = 0; u < UIDS; u++) {
		int r;
		if (read(ready[0], &r, sizeof(r)) != sizeof(r))
			bench_die("flood");
		refused += r;
	}
	printf("connflood: %d connections from %d uids opened in %.2f s (%d refused at once), "
	       "each sent %d requests and reads nothing\n", conns, UIDS, jrt_now_s() - t0, refused,
	       reqs);
	for (double next_health = 0, t; (t = jrt_now_s() - t0) < seconds;) {
		if (t >= next_health && nlat < HEALTH_MAX) {
			free(resp);
			lat[nlat++] = health(&resp) * 1e3;
			if (getenv("JR_FLOOD_VERBOSE"))
				printf("connflood: t=%.2f s: health %.2f ms\n", t, lat[nlat - 1]);
			next_health = t + 0.25;
		}
		jrt_sleep_ms(20);
	}
	atomic_store(&sampling, false);
	pthread_join(sampler, NULL);
	peak = atomic_load(&peak_kib);
	long budget_kib = (long)(json_u64(resp, "\"max_buffered_bytes\":") / 1024);
	const char *ref = strstr(resp, "\"refused\":{");
	printf("connflood: idle RSS %ld KiB, peak RSS under the flood %ld KiB (+%ld KiB), "
	       "budget %ld KiB: %s\n", idle, peak, peak - idle, budget_kib,
	       peak - idle <= budget_kib ? "within" : "OVER");
	printf("connflood: /health at the end: open %llu, buffered %llu KiB (peak %llu KiB), "
	       "paused %llu; refused: %llu max_connections, %llu reserved, %llu per_uid\n",
	       json_u64(resp, "\"open\":"), json_u64(resp, "\"buffered_bytes\":") / 1024,
	       json_u64(resp, "\"buffered_peak_bytes\":") / 1024, json_u64(resp, "\"paused\":"),
	       json_u64(ref, "\"max_connections\":"), json_u64(ref, "\"reserved\":"),
	       json_u64(ref, "\"per_uid\":"));
	double worst = 0;
	for (int i = 0; i < nlat; i++)
		worst = lat[i] > worst ? lat[i] : worst;
	printf("connflood: root's GET /health during the flood: p50 %.2f ms, max %.2f ms (%d asked)\n",
	       bench_percentile(lat, nlat, 0.5), worst, nlat);
	for (int u = 0; u < UIDS; u++) {
		kill(kids[u], SIGKILL);
		waitpid(kids[u], NULL, 0);
	}
	jrt_daemon_stop(&d, SIGTERM);
	jrt_daemon_remove(&d);
	free(resp);
	return peak - idle <= budget_kib ? 0 : 1;
}
