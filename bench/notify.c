/*
 * bench/notify - notifications (issue 16): 10,000 queued at once,
 * delivered to a receiver on this host. A paused jobringd takes a job
 * that fails and JR_BENCH_NOTIFY - 1 jobs that depend on it, each with a
 * webhook notify on end; scheduling resumes, the first job fails, its
 * dependents are cancelled together: every job's notification enters the
 * outbox in a moment. The receiver (a thread here: epoll, keep-alive,
 * HTTP/1.1, 200 to every POST) records each X-Jobring-Delivery id; the
 * figure is the notifications delivered per second from the resume to the
 * last one's arrival, and "lost" the jobs whose delivery never came
 * (distinct delivery ids against jobs). Medians of JR_BENCH_RUNS (3).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/common.h"
#include "daemonutil.h"
#include "jobring.h"

#define RECV_CONNS 64
#define IDS_MAX 262144u

static struct jrt_daemon d;
static const char *const paused[] = { "--capacity", "1048576", "--paused", NULL };

/* --- the receiver --------------------------------------------------------------------- */

struct rconn {
	int fd;
	char buf[65536];
	size_t len;
};

static struct {
	int listen_fd, ep, port;
	uint64_t ids[IDS_MAX];
	_Atomic uint32_t count;
	_Atomic uint64_t last_ns;
} rx;

static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* One whole request at buf's start: its length (0: not whole yet). */
static size_t request_len(const char *buf, size_t len, uint64_t *id)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *h;
	size_t head, body = 0;

	if (!end)
		return 0;
	head = (size_t)(end - buf) + 4;
	if ((h = memmem(buf, head, "Content-Length:", 15)) != NULL)
		body = strtoul(h + 15, NULL, 10);
	if (len < head + body)
		return 0;
	*id = 0;
	if ((h = memmem(buf, head, "X-Jobring-Delivery:", 19)) != NULL)
		*id = strtoull(h + 19, NULL, 16);
	return head + body;
}

static void serve_conn(struct rconn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t at = 0, one;
	uint64_t id;

	if (n <= 0) {
		close(c->fd);
		free(c);
		return;
	}
	c->len += (size_t)n;
	while ((one = request_len(c->buf + at, c->len - at, &id)) > 0) {
		uint32_t k = atomic_load(&rx.count);
		if (k < IDS_MAX)
			rx.ids[k] = id;
		atomic_store(&rx.last_ns, jr_now_monotonic_ns());
		atomic_store(&rx.count, k + 1);
		if (write(c->fd, ok_answer, sizeof(ok_answer) - 1) < 0)
			break;
		at += one;
	}
	memmove(c->buf, c->buf + at, c->len - at);
	c->len -= at;
}

static void *receiver_main(void *arg)
{
	struct epoll_event ev[64];

	(void)arg;
	for (;;) {
		int n = epoll_wait(rx.ep, ev, 64, -1);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL) {
				int fd = accept4(rx.listen_fd, NULL, NULL, SOCK_CLOEXEC);
				struct rconn *c = fd >= 0 ? calloc(1, sizeof(*c)) : NULL;
				if (!c)
					continue;
				c->fd = fd;
				struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
				epoll_ctl(rx.ep, EPOLL_CTL_ADD, fd, &e);
				continue;
			}
			serve_conn(ev[i].data.ptr);
		}
	}
	return NULL;
}

static void receiver_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	pthread_t t;

	rx.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rx.listen_fd < 0 || bind(rx.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(rx.listen_fd, 1024) < 0 ||
	    getsockname(rx.listen_fd, (struct sockaddr *)&a, &alen) < 0)
		bench_die("the receiver's socket");
	rx.port = ntohs(a.sin_port);
	rx.ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(rx.ep, EPOLL_CTL_ADD, rx.listen_fd, &e);
	if (pthread_create(&t, NULL, receiver_main, NULL) != 0)
		bench_die("pthread_create");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t distinct_ids(uint32_t n)
{
	uint32_t k = 0;

	n = n < IDS_MAX ? n : IDS_MAX;
	qsort(rx.ids, n, sizeof(rx.ids[0]), cmp_u64);
	for (uint32_t i = 0; i < n; i++)
		k += rx.ids[i] && (i == 0 || rx.ids[i] != rx.ids[i - 1]);
	return k;
}

/* --- the jobs --------------------------------------------------------------------------- */

static char *request(struct jr_client *c, const char *method, const char *path, const char *body,
		     int want)
{
	char *resp = NULL;
	int rc = jr_client_request(c, method, path, body, body ? strlen(body) : 0, &resp, NULL);

	if (rc != want) {
		fprintf(stderr, "bench/notify: %s %s answered %d: %.200s\n", method, path, rc,
			rc > 0 && resp ? resp : "");
		exit(1);
	}
	return resp;
}

/* The failing job, then n - 1 dependents in batches of 1,000. */
static void submit_jobs(struct jr_client *c, uint32_t n)
{
	char job[256], *resp, first[24] = "", *p;
	size_t per = 1000, cap = per * 256;
	char *batch = malloc(cap);

	snprintf(job, sizeof(job), "{\"command\":[\"/bin/false\"],\"callback_url\":"
		 "\"http://127.0.0.1:%d/hook\"}", rx.port);
	resp = request(c, "POST", "/jobs", job, 201);
	if ((p = strstr(resp, "\"job_id\":\"")) != NULL)
		snprintf(first, sizeof(first), "%.16s", p + 10);
	free(resp);
	for (uint32_t done = 1; done < n;) {
		size_t len = 0;
		for (uint32_t i = 0; i < per && done < n; i++, done++)
			len += (size_t)snprintf(batch + len, cap - len,
						"{\"command\":[\"/bin/true\"],\"after\":[\"%s\"],"
						"\"notify\":{\"url\":\"http://127.0.0.1:%d/hook\"}}\n",
						first, rx.port);
		batch[len] = '\0';
		free(request(c, "POST", "/jobs/batch", batch, 201));
	}
	free(batch);
}

/* One run: the rate (notifications/s), *lost the jobs never notified. */
static double once(uint32_t n, uint32_t *lost)
{
	struct jr_client *c;
	uint64_t t0, deadline;
	uint32_t base = atomic_load(&rx.count);

	bench_daemon_start(&d, true, paused);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	submit_jobs(c, n);
	t0 = jr_now_monotonic_ns();
	free(request(c, "POST", "/scheduler/resume", NULL, 200));
	deadline = t0 + 120 * 1000000000ull;
	while (atomic_load(&rx.count) - base < n && jr_now_monotonic_ns() < deadline)
		usleep(1000);
	usleep(200 * 1000);	/* duplicates, if any, come in */
	uint32_t got = atomic_load(&rx.count) - base, distinct;
	memmove(rx.ids, rx.ids + base, (size_t)got * sizeof(rx.ids[0]));
	distinct = distinct_ids(got);
	atomic_store(&rx.count, 0);
	*lost = n > distinct ? n - distinct : 0;
	jr_client_close(c);
	jrt_daemon_stop(&d, SIGTERM);
	return (double)distinct / ((double)(atomic_load(&rx.last_ns) - t0) / 1e9);
}

int main(int argc, char **argv)
{
	double rate[16];
	uint32_t n, lost_total = 0;
	int runs;

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-notify", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	n = (uint32_t)jrt_env_u64("JR_BENCH_NOTIFY", 10000);
	n = n < 2 ? 2 : n > IDS_MAX / 2 ? IDS_MAX / 2 : n;
	receiver_start();
	printf("bench/notify: %u notifications queued at once (a failed job's %u dependents "
	       "cancelled), webhooks to a receiver on 127.0.0.1, median of %d runs\n", n, n - 1,
	       runs);
	for (int r = 0; r < runs; r++) {
		uint32_t lost;
		rate[r] = once(n, &lost);
		lost_total += lost;
		printf("  run %d: %8.0f notifications/s, %u lost\n", r + 1, rate[r], lost);
	}
	printf("  %-34s %10.0f notifications/s  (target >= 1,000/s), %u lost in all\n",
	       "resume -> last delivery", bench_median(rate, runs), lost_total);
	jrt_daemon_remove(&d);
	return lost_total ? 1 : 0;
}
