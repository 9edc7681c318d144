/*
 * daemonutil.h - driving a jobringd from a benchmark: start one on a
 * fresh state directory, connect, build NDJSON batches, and keep many
 * keep-alive connections busy with one request each (drive()). Shared by
 * bench/submit and bench/durable.
 */
#ifndef JR_DAEMONUTIL_H
#define JR_DAEMONUTIL_H

#include "benchutil.h"
#include "jobring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define DRIVE_CONNS_MAX 256

struct bench_daemon {
	char path[PATH_MAX];	/* jobringd */
	char dir[64];		/* scratch: socket and state */
	char sock[100], state[100];
};

static _Noreturn void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int bench_connect(const struct bench_daemon *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", d->sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Until it accepts a connection; NULL-terminated extra options. */
static void bench_daemon_wait(const struct bench_daemon *d)
{
	for (int i = 0; i < 4000; i++) {
		int fd = bench_connect(d);
		if (fd >= 0) {
			close(fd);
			return;
		}
		usleep(1000);
	}
	fprintf(stderr, "bench: %s did not start\n", d->path);
	exit(1);
}

/* Start jobringd; fresh: on an empty state directory (else it recovers
 * what the last one left). */
static pid_t bench_daemon_start(struct bench_daemon *d, bool fresh, const char *const *extra)
{
	char cmd[400];
	const char *argv[32] = { "jobringd", "--socket", d->sock, "--state-dir", d->state,
				 "--capacity", "2097152" };
	int n = 7;
	pid_t pid;

	snprintf(d->sock, sizeof(d->sock), "%s/s.sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->state);
	if (fresh && system(cmd) != 0)
		bench_die("rm");
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		/* Its log next to its state; stdout closed (a caller reading
		 * ours through a pipe would wait for the daemon too). */
		char log[200];
		snprintf(log, sizeof(log), "%s/daemon.log", d->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		dup2(null, 1);
		execv(d->path, (char *const *)argv);
		_exit(127);
	}
	bench_daemon_wait(d);
	return pid;
}

/* After SIGKILL its socket can accept for a moment more (the kernel
 * tears the daemon's io_uring down after it is gone): the path goes, so
 * no later connect reaches it. */
static void bench_daemon_stop(const struct bench_daemon *d, pid_t pid, int sig)
{
	kill(pid, sig);
	waitpid(pid, NULL, 0);
	unlink(d->sock);
}

/* jobringd next to the benchmark binary (build/<mode>/bench/../jobringd). */
static void bench_daemon_init(struct bench_daemon *d, const char *argv0, const char *name)
{
	char self[PATH_MAX - 64];

	snprintf(self, sizeof(self), "%s", argv0);
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(d->path, sizeof(d->path), "%s/../jobringd", slash ? self : ".");
	snprintf(d->dir, sizeof(d->dir), "/tmp/jr-bench-%s-XXXXXX", name);
	if (!mkdtemp(d->dir))
		bench_die("mkdtemp");
	signal(SIGPIPE, SIG_IGN);
}

static void bench_daemon_cleanup(const struct bench_daemon *d)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", d->dir);
}

/* n NDJSON lines, job names numbered from first. */
static char *bench_batch_body(uint64_t first, size_t n, size_t *len)
{
	char *body = malloc(n * 96), *p = body;

	for (uint64_t i = 0; i < n; i++)
		p += sprintf(p, "{\"command\":[\"/bin/true\"],\"name\":\"job-%llu\",\"priority\":3}\n",
			     (unsigned long long)(first + i));
	*len = (size_t)(p - body);
	return body;
}

/* n batches of `per` lines each, built once per benchmark run. */
struct bench_batches {
	char **body;
	size_t *len;
	int n;
};

static void bench_batches_make(struct bench_batches *b, int n, size_t per)
{
	b->n = n;
	b->body = calloc((size_t)n, sizeof(char *));
	b->len = calloc((size_t)n, sizeof(size_t));
	for (int i = 0; i < n; i++)
		b->body[i] = bench_batch_body((uint64_t)i * per, per, &b->len[i]);
}

static void bench_batches_free(struct bench_batches *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->body[i]);
	free(b->body);
	free(b->len);
}

static double bench_percentile(double *v, int n, double q)
{
	bench_median(v, n);	/* sorts */
	return v[(int)(q * (n - 1))];
}

/* Poll GET /health on c until the scheduler holds n queued jobs. */
static void bench_wait_queued(struct jr_client *c, uint64_t n)
{
	char want[64], *resp = NULL;

	snprintf(want, sizeof(want), "\"queued\":%llu,", (unsigned long long)n);
	for (;;) {
		if (jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) != 200)
			bench_die("GET /health");
		bool done = strstr(resp, want) != NULL;
		free(resp);
		if (done)
			return;
		usleep(1000);
	}
}

struct figures {
	double rate, p50_ms, p99_ms;
	double taken_rate;	/* until the coordinator had taken every job in */
};

/* --- many connections, one request in flight on each ---------------------------- */

struct drive_conn {
	int fd;
	char buf[4096];
	size_t got;
	double sent_at;
};

/* A whole response in c->buf? (The daemon always sends Content-Length.) */
static bool drive_response_done(struct drive_conn *c)
{
	char *end, *cl;

	c->buf[c->got] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	cl = strstr(c->buf, "Content-Length: ");
	return end && cl && c->got >= (size_t)(end + 4 - c->buf) + strtoul(cl + 16, NULL, 10);
}

static void drive_send(struct drive_conn *c, const char *req, size_t len)
{
	c->got = 0;
	c->sent_at = bench_now();
	if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		bench_die("send");
}

/* total requests req over conns connections; each answer must be expect. */
static struct figures drive(const struct bench_daemon *d, int conns, const char *req,
			    uint64_t total, int expect)
{
	static struct drive_conn cs[DRIVE_CONNS_MAX];
	double *lat = calloc(total, sizeof(double)), t0;
	uint64_t sent = 0, done = 0;
	int ep = epoll_create1(0);
	size_t len = strlen(req);
	struct figures f = { 0 };

	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		cs[i].fd = bench_connect(d);
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t0 = bench_now();
	for (int i = 0; i < conns && sent < total; i++, sent++)
		drive_send(&cs[i], req, len);
	while (done < total) {
		struct epoll_event evs[DRIVE_CONNS_MAX];
		int n = epoll_wait(ep, evs, conns, 5000);
		if (n <= 0)
			bench_die("no answer for 5 s");
		for (int i = 0; i < n; i++) {
			struct drive_conn *c = evs[i].data.ptr;
			ssize_t r = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
			if (r <= 0)
				bench_die("recv");
			c->got += (size_t)r;
			if (!drive_response_done(c))
				continue;
			if (atoi(c->buf + 9) != expect) {
				fprintf(stderr, "bench: got %.200s\n", c->buf);
				exit(1);
			}
			lat[done++] = (bench_now() - c->sent_at) * 1e3;
			if (sent < total) {
				drive_send(c, req, len);
				sent++;
			}
		}
	}
	f.rate = (double)total / (bench_now() - t0);
	f.p50_ms = bench_percentile(lat, (int)total, 0.5);
	f.p99_ms = bench_percentile(lat, (int)total, 0.99);
	for (int i = 0; i < conns; i++)
		close(cs[i].fd);
	close(ep);
	free(lat);
	return f;
}

#endif
