/*
 * daemonutil.h - loading a jobringd from a benchmark: NDJSON batches built
 * once, many keep-alive connections kept busy with one request each
 * (drive()), percentiles, and what the daemon's log says went wrong.
 * Starting, stopping and scrubbing the daemon is the shared test
 * harness's (struct jrt_daemon, tests/support/harness.h). Shared by
 * bench/submit, bench/durable, bench/drain and bench/restart.
 */
#ifndef JR_DAEMONUTIL_H
#define JR_DAEMONUTIL_H

#include "benchutil.h"
#include "jobring.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define DRIVE_CONNS_MAX 256

static inline _Noreturn void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Start d's jobringd with opts, on an empty state directory when fresh
 * (else it recovers what the last one left); exit if it does not answer
 * GET /health within 120 s (a table of 10M slots on a loaded 2-core box
 * took 26 s to set up). */
static inline void bench_daemon_start(struct jrt_daemon *d, bool fresh, const char *const *opts)
{
	int rc;

	if (fresh && jrt_dir_remove(d->state) < 0)
		bench_die("rm");
	if ((rc = jrt_daemon_start(d, opts, 120)) < 0) {
		fprintf(stderr, "bench: %s did not start (%s; see %s)\n", d->path, strerror(-rc),
			d->log);
		exit(1);
	}
}

/* d on a scratch directory PARENT/jr-NAME-XXXXXX (parent NULL: /tmp; a
 * disk: /var/tmp, say, as /tmp may be tmpfs), for the jobringd beside the
 * benchmark (argv0); exit if it cannot be made. */
static inline void bench_daemon_init(struct jrt_daemon *d, const char *argv0, const char *name,
				     const char *parent)
{
	char path[PATH_MAX];
	int rc = jrt_daemon_path(path, sizeof(path), argv0);

	if (rc < 0 || (rc = jrt_daemon_init(d, path, parent, name)) < 0) {
		errno = -rc;
		bench_die(parent ? parent : "/tmp");
	}
}

/* n NDJSON lines, job names numbered from first. */
static inline char *bench_batch_body(uint64_t first, size_t n, size_t *len)
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

static inline void bench_batches_make(struct bench_batches *b, int n, size_t per)
{
	b->n = n;
	b->body = calloc((size_t)n, sizeof(char *));
	b->len = calloc((size_t)n, sizeof(size_t));
	for (int i = 0; i < n; i++)
		b->body[i] = bench_batch_body((uint64_t)i * per, per, &b->len[i]);
}

static inline void bench_batches_free(struct bench_batches *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->body[i]);
	free(b->body);
	free(b->len);
}

static inline double bench_percentile(double *v, int n, double q)
{
	bench_median(v, n);	/* sorts */
	return v[(int)(q * (n - 1))];
}

/* Poll GET /health on c until the scheduler holds n queued jobs. */
static inline void bench_wait_queued(struct jr_client *c, uint64_t n)
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
static inline bool drive_response_done(struct drive_conn *c)
{
	char *end, *cl;

	c->buf[c->got] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	cl = strstr(c->buf, "Content-Length: ");
	return end && cl && c->got >= (size_t)(end + 4 - c->buf) + strtoul(cl + 16, NULL, 10);
}

static inline void drive_send(struct drive_conn *c, const char *req, size_t len)
{
	c->got = 0;
	c->sent_at = jrt_now_s();
	if (send(c->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		bench_die("send");
}

/* total requests req over conns connections; each answer must be expect. */
static inline struct figures drive(const struct jrt_daemon *d, int conns, const char *req,
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
		cs[i].fd = jrt_daemon_connect(d);
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t0 = jrt_now_s();
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
			lat[done++] = (jrt_now_s() - c->sent_at) * 1e3;
			if (sent < total) {
				drive_send(c, req, len);
				sent++;
			}
		}
	}
	f.rate = (double)total / (jrt_now_s() - t0);
	f.p50_ms = bench_percentile(lat, (int)total, 0.5);
	f.p99_ms = bench_percentile(lat, (int)total, 0.99);
	for (int i = 0; i < conns; i++)
		close(cs[i].fd);
	close(ep);
	free(lat);
	return f;
}

/* --- what went wrong ---------------------------------------------------------------------- */

/* The snapshots the daemon logged in the background (issue 14: what they
 * held the event loop for), printed after prefix as one line: how many,
 * the longest, its time on the loop, the longest the loop was held at
 * once. A stopping daemon's "snapshot (shutdown)" is left out: it is
 * written all at once, nothing served meanwhile (the log is appended to
 * by each daemon a bench starts, and those were read as 45-127 ms steps
 * of a background snapshot). */
static inline void bench_snapshots_note(const struct jrt_daemon *d, const char *prefix)
{
	FILE *f = fopen(d->log, "r");
	char line[512];
	int n = 0;
	double loop_max = 0, ms_max = 0, once_max = 0;
	char where[16] = "-";

	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "snapshot (");
		double ms, loop, once = 0;
		if (p && strncmp(p, "snapshot (shutdown)", 19) != 0 && (p = strstr(p, "aged out, ")) &&
		    sscanf(p, "aged out, %lf ms (%lf", &ms, &loop) == 2) {
			const char *q = strstr(p, "at most ");
			char in[16] = "-";
			if (q)
				sscanf(q, "at most %lf ms at once, in %15[a-z]", &once, in);
			n++;
			ms_max = ms > ms_max ? ms : ms_max;
			loop_max = loop > loop_max ? loop : loop_max;
			if (once > once_max) {
				once_max = once;
				memcpy(where, in, sizeof(where));
			}
		}
	}
	if (f)
		fclose(f);
	if (n)
		printf("%s%d snapshots logged, the longest %.0f ms (%.0f ms of it on the event "
		       "loop, at most %.1f ms at once, in %s)\n", prefix, n, ms_max, loop_max, once_max,
		       where);
}

/* Lines of DIR/daemon.log that look wrong (errors, refusals, a keeper
 * gone, jobs lost): how many, and the first in first (size bytes). */
static inline int bench_log_problems(const struct jrt_daemon *d, char *first, size_t size)
{
	static const char *const words[] = { "error", "Error", "cannot", "failed", "gone",
					     "lost and", "refus", "torn", "Bad file", "No space" };
	char line[1024];
	int count = 0;
	FILE *f;

	first[0] = '\0';
	if (!(f = fopen(d->log, "r")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		bool bad = false;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			bad |= strstr(line, words[i]) != NULL;
		/* the recovery summary counts ", 0 lost and run again"; a keeper
		 * whose state directory a scrub deleted says it is gone */
		if ((strstr(line, ", 0 lost and run again") && !strstr(line, "error")) ||
		    strstr(line, "state directory"))
			bad = false;
		if (!bad)
			continue;
		if (!count++)
			snprintf(first, size, "%.*s", (int)strcspn(line, "\n"), line);
	}
	fclose(f);
	return count;
}

#endif
