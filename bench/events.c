/*
 * bench/events - the event stream's cost to submission (issue 16): jobs
 * submitted through POST /jobs/batch (1,000 a batch) to one jobringd
 * (--paused --sync none: the daemon accepts, journals and queues them;
 * none runs, so the figure is the submission path's own), in three
 * phases of the same run on the same daemon: without subscribers, with
 * 100 GET /events subscribers (each read by a thread as fast as it
 * comes), without again. Each submission publishes one job event, so each
 * subscriber is sent every job. The ratio with / without (the mean of the
 * two phases without) is the figure; target: a drop of 5% at most.
 * Medians of JR_BENCH_RUNS (3). Size: JR_BENCH_EVENTS_JOBS jobs per phase
 * (default 100,000; 1,000,000 for the figure), subscribers
 * JR_BENCH_SUBSCRIBERS (100).
 */
#include "daemonutil.h"

#include <pthread.h>

#include "base/common.h"

#define BATCH 1000

static struct jrt_daemon d;
static const char *const paused_nosync[] = { "--capacity", "4194304", "--paused", "--sync",
					      "none", NULL };

struct readers {
	int fds[1024];
	int n, ep;
	volatile bool stop;
	uint64_t bytes;
};

static void *read_all(void *arg)
{
	struct readers *r = arg;
	static char buf[1 << 16];

	while (!r->stop) {
		struct epoll_event evs[64];
		int k = epoll_wait(r->ep, evs, 64, 100);
		for (int i = 0; i < k; i++) {
			ssize_t got = recv(evs[i].data.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0)
				r->bytes += (uint64_t)got;
		}
	}
	return NULL;
}

static void subscribe(struct readers *r, int n)
{
	static const char req[] = "GET /events?kind=job HTTP/1.1\r\nHost: x\r\n\r\n";

	r->n = n;
	r->ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		if ((r->fds[i] = jrt_daemon_connect(&d)) < 0)
			bench_die("connect");
		if (send(r->fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
			bench_die("send");
		ev.data.fd = r->fds[i];
		epoll_ctl(r->ep, EPOLL_CTL_ADD, r->fds[i], &ev);
	}
}

static void unsubscribe(struct readers *r)
{
	for (int i = 0; i < r->n; i++)
		close(r->fds[i]);
	close(r->ep);
}

/* One phase: nbatches batches from bs on c; jobs/s. */
static double submit_phase(struct jr_client *c, const struct bench_batches *bs)
{
	double t0 = jrt_now_s();

	for (int b = 0; b < bs->n; b++) {
		char *resp;
		int rc = jr_client_request(c, "POST", "/jobs/batch", bs->body[b], bs->len[b], &resp,
					   NULL);
		if (rc != 201) {
			fprintf(stderr, "bench/events: batch answered %d: %.200s\n", rc,
				rc > 0 ? resp : "");
			exit(1);
		}
		free(resp);
	}
	return bs->n * (double)BATCH / (jrt_now_s() - t0);
}

static void run_once(const struct bench_batches *bs, int subscribers, double *without,
		     double *with, double *mib_read)
{
	struct readers r = { 0 };
	struct jr_client *c;
	pthread_t t;
	double a, b;

	bench_daemon_start(&d, true, paused_nosync);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	a = submit_phase(c, bs);
	subscribe(&r, subscribers);
	pthread_create(&t, NULL, read_all, &r);
	usleep(200000);	/* every subscriber held */
	*with = submit_phase(c, bs);
	usleep(200000);
	r.stop = true;
	pthread_join(t, NULL);
	unsubscribe(&r);
	b = submit_phase(c, bs);
	*without = (a + b) / 2;
	*mib_read = (double)r.bytes / JR_MIB;
	jr_client_close(c);
	jrt_daemon_stop(&d, SIGTERM);
}

int main(int argc, char **argv)
{
	double without[16], with[16], ratio[16], mib[16];
	struct bench_batches bs;
	uint64_t jobs = jrt_env_u64("JR_BENCH_EVENTS_JOBS", 100000);
	int runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	int subs = (int)jrt_env_u64("JR_BENCH_SUBSCRIBERS", 100);

	(void)argc;
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	subs = subs < 1 ? 1 : subs > 1000 ? 1000 : subs;
	bench_daemon_init(&d, argv[0], "bench-events", NULL);
	bench_batches_make(&bs, (int)(jobs / BATCH), BATCH);
	printf("bench/events: jobringd --paused --sync=none, %llu jobs per phase in batches of %d, "
	       "%d GET /events subscribers, median of %d runs\n", (unsigned long long)jobs, BATCH,
	       subs, runs);
	for (int r = 0; r < runs; r++) {
		run_once(&bs, subs, &without[r], &with[r], &mib[r]);
		ratio[r] = with[r] / without[r];
	}
	double w = bench_median(with, runs), wo = bench_median(without, runs);
	double q = bench_median(ratio, runs);
	printf("  %-40s %10.0f jobs/s\n", "POST /jobs/batch, no subscriber", wo);
	printf("  %-40s %10.0f jobs/s  (%.2fx; the subscribers read %.0f MiB)\n",
	       "POST /jobs/batch, subscribers", w, q, bench_median(mib, runs));
	printf("  target: drop <= 5%%: %s (%.1f%%)\n", q >= 0.95 ? "pass" : "MISSED",
	       (1 - q) * 100);
	bench_batches_free(&bs);
	jrt_daemon_remove(&d);
	return 0;
}
