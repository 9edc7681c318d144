/*
 * bench/submit - submissions through jobringd's socket, each phase against
 * a fresh daemon started with --paused (jobs are accepted, none start, so
 * the children do not compete for the cores with what is measured):
 *
 *   batch:  1,000,000 jobs as 100 POST /jobs/batch of 10,000 NDJSON lines
 *           on one keep-alive connection (jobs/s; p50/p99 per batch),
 *           against jr_command_submit_batch() in-process in the same run
 *           (the engine alone: what HTTP and JSON add);
 *   single: 100,000 POST /jobs from 64 concurrent keep-alive connections
 *           (jobs/s; p50/p99 per request), against GET /health round trips
 *           on the same 64 connections (the server alone).
 *
 * Medians of JR_BENCH_RUNS (default 3). JR_BENCH_JOBS scales the counts.
 */
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "jobring.h"

#define CONNS 64
#define BATCH 10000

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "bench/submit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static char daemon_path[PATH_MAX], dir[] = "/tmp/jr-bench-submit-XXXXXX", sock[300];
static uint64_t batch_jobs, single_jobs;
static int runs;

/* --- the daemon ---------------------------------------------------------------- */

static int connect_to(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static pid_t daemon_start(void)
{
	char state[320];
	pid_t pid;

	snprintf(state, sizeof(state), "%s/state", dir);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(daemon_path, "jobringd", "--socket", sock, "--state-dir", state, "--paused",
		      "--capacity", "2097152", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		int fd = connect_to();
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		usleep(5000);
	}
	fprintf(stderr, "bench/submit: %s did not start\n", daemon_path);
	exit(1);
}

static void daemon_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* --- batch --------------------------------------------------------------------- */

static char *batch_body(uint64_t first, size_t *len)
{
	char *body = malloc(BATCH * 96), *p = body;

	for (uint64_t i = 0; i < BATCH; i++)
		p += sprintf(p, "{\"command\":[\"/bin/true\"],\"name\":\"job-%llu\",\"priority\":3}\n",
			     (unsigned long long)(first + i));
	*len = (size_t)(p - body);
	return body;
}

static double percentile(double *v, int n, double q)
{
	bench_median(v, n);	/* sorts */
	return v[(int)(q * (n - 1))];
}

struct figures {
	double rate, p50_ms, p99_ms;
	double taken_rate;	/* until the coordinator had taken every job in */
};

/* Poll GET /health until the scheduler holds n queued jobs. */
static void wait_taken_in(struct jr_client *c, uint64_t n)
{
	char want[64], *resp;

	snprintf(want, sizeof(want), "\"queued\":%llu,", (unsigned long long)n);
	for (;;) {
		if (jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) != 200)
			die("GET /health");
		bool done = strstr(resp, want) != NULL;
		free(resp);
		if (done)
			return;
		usleep(1000);
	}
}

static struct figures batch_http_once(char **bodies, size_t *lens, int nbatches)
{
	struct jr_client *c;
	struct figures f = { 0 };
	double *lat = calloc((size_t)nbatches, sizeof(double)), t0, t1;
	pid_t pid = daemon_start();

	if (jr_client_open(&c, sock) < 0)
		die("connect");
	t0 = bench_now();
	for (int b = 0; b < nbatches; b++) {
		char *resp;
		double s = bench_now();
		int rc = jr_client_request(c, "POST", "/jobs/batch", bodies[b], lens[b], &resp, NULL);
		lat[b] = (bench_now() - s) * 1e3;
		if (rc != 201) {
			fprintf(stderr, "bench/submit: batch answered %d: %.200s\n", rc, rc > 0 ? resp : "");
			exit(1);
		}
		free(resp);
	}
	t1 = bench_now();
	f.rate = nbatches * (double)BATCH / (t1 - t0);
	wait_taken_in(c, (uint64_t)nbatches * BATCH);
	f.taken_rate = nbatches * (double)BATCH / (bench_now() - t0);
	f.p50_ms = percentile(lat, nbatches, 0.5);
	f.p99_ms = percentile(lat, nbatches, 0.99);
	jr_client_close(c);
	daemon_stop(pid);
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

	snprintf(state, sizeof(state), "%s/engine", dir);
	jr_engine_opts_init(&o);
	o.workers = 1;
	o.capacity = 2097152;
	o.arena_bytes = 2097152ull * 128;	/* as jobringd sizes it */
	o.state_dir = state;
	o.flags = JR_ENGINE_START_PAUSED;
	if (jr_engine_open(&e, &o) < 0)
		die("jr_engine_open");
	snprintf(name, sizeof(name), "job");
	for (int i = 0; i < BATCH; i++)
		specs[i] = (struct jr_command_spec){ .argv = argv, .name = name, .priority = 3 };
	t0 = bench_now();
	for (int b = 0; b < nbatches; b++)
		if (jr_command_submit_batch(e, specs, BATCH, ids, NULL) < 0)
			die("jr_command_submit_batch");
	t1 = bench_now();
	jr_engine_close(e, JR_CLOSE_CANCEL);
	free(specs);
	free(ids);
	return nbatches * (double)BATCH / (t1 - t0);
}

/* --- single requests on 64 connections ------------------------------------------ */

struct conn {
	int fd;
	char buf[4096];
	size_t got;
	double sent_at;
};

/* A whole response in c->buf? (The daemon always sends Content-Length.) */
static bool response_done(struct conn *c)
{
	char *end, *cl;

	c->buf[c->got] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	cl = strstr(c->buf, "Content-Length: ");
	return end && cl && c->got >= (size_t)(end + 4 - c->buf) + strtoul(cl + 16, NULL, 10);
}

static void send_request(struct conn *c, const char *req, size_t len)
{
	c->got = 0;
	c->sent_at = bench_now();
	if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		die("send");
}

static struct figures drive(const char *req, uint64_t total, int expect)
{
	static struct conn conns[CONNS];
	double *lat = calloc(total, sizeof(double)), t0;
	uint64_t sent = 0, done = 0;
	int ep = epoll_create1(0);
	size_t len = strlen(req);
	struct figures f;

	for (int i = 0; i < CONNS; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
		conns[i].fd = connect_to();
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
	}
	t0 = bench_now();
	for (int i = 0; i < CONNS && sent < total; i++, sent++)
		send_request(&conns[i], req, len);
	while (done < total) {
		struct epoll_event evs[CONNS];
		int n = epoll_wait(ep, evs, CONNS, 5000);
		if (n <= 0)
			fprintf(stderr, "sent %llu done %llu\n", (unsigned long long)sent, (unsigned long long)done), die("no answer for 5 s");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
			if (r <= 0)
				die("recv");
			c->got += (size_t)r;
			if (!response_done(c))
				continue;
			if (atoi(c->buf + 9) != expect) {
				fprintf(stderr, "bench/submit: got %.60s\n", c->buf);
				exit(1);
			}
			lat[done++] = (bench_now() - c->sent_at) * 1e3;
			if (sent < total) {
				send_request(c, req, len);
				sent++;
			}
		}
	}
	f.rate = (double)total / (bench_now() - t0);
	f.p50_ms = percentile(lat, (int)total, 0.5);
	f.p99_ms = percentile(lat, (int)total, 0.99);
	for (int i = 0; i < CONNS; i++)
		close(conns[i].fd);
	close(ep);
	free(lat);
	return f;
}

static void single_once(struct figures *submit, struct figures *health)
{
	static const char job[] = "{\"command\":[\"/bin/true\"],\"name\":\"single\"}";
	static const char get[] = "GET /health HTTP/1.1\r\n\r\n";
	char post[256];
	pid_t pid = daemon_start();

	snprintf(post, sizeof(post), "POST /jobs HTTP/1.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(job), job);
	*health = drive(get, single_jobs, 200);
	*submit = drive(post, single_jobs, 201);
	daemon_stop(pid);
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
	char self[PATH_MAX];
	double br[16], bp50[16], bp99[16], be[16], sr[16], sp50[16], sp99[16], hr[16], bt[16];

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(daemon_path, sizeof(daemon_path), "%s/../jobringd", dirname(self));
	signal(SIGPIPE, SIG_IGN);
	runs = (int)bench_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	batch_jobs = bench_env_u64("JR_BENCH_JOBS", 1000000);
	single_jobs = batch_jobs / 10;
	nbatches = (int)(batch_jobs / BATCH);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	char **bodies = calloc((size_t)nbatches, sizeof(char *));
	size_t *lens = calloc((size_t)nbatches, sizeof(size_t));
	for (int b = 0; b < nbatches; b++)
		bodies[b] = batch_body((uint64_t)b * BATCH, &lens[b]);
	printf("bench/submit: jobringd --paused, %d batches of %d, %llu single requests on %d "
	       "connections, median of %d runs\n", nbatches, BATCH,
	       (unsigned long long)single_jobs, CONNS, runs);
	for (int r = 0; r < runs; r++) {
		struct figures f = batch_http_once(bodies, lens, nbatches), s, h;
		br[r] = f.rate, bp50[r] = f.p50_ms, bp99[r] = f.p99_ms, bt[r] = f.taken_rate;
		be[r] = batch_engine_once(nbatches);
		single_once(&s, &h);
		sr[r] = s.rate, sp50[r] = s.p50_ms, sp99[r] = s.p99_ms, hr[r] = h.rate;
	}
	report("POST /jobs/batch (10,000 per batch)", br, bp50, bp99, be, "engine alone");
	printf("  %-34s %10.0f jobs/s  (acknowledged and taken in by the scheduler)\n",
	       "  ... until all were queued", bench_median(bt, runs));
	report("POST /jobs (64 connections)", sr, sp50, sp99, hr, "GET /health");
	printf("  targets: batch >= 1,000,000 jobs/s: %s; single >= 50,000 jobs/s: %s\n",
	       bench_median(br, runs) >= 1e6 ? "pass" : "MISSED",
	       bench_median(sr, runs) >= 5e4 ? "pass" : "MISSED");
	for (int b = 0; b < nbatches; b++)
		free(bodies[b]);
	free(bodies);
	free(lens);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
