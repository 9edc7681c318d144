/*
 * probe.c - how long the daemon makes a client wait: GET /health every
 * INTERVAL_MS on one kept-alive connection, each answer timed, for up to
 * SECONDS, or, with --snapshot, until a snapshot that was being written
 * is over. Prints one line: probes, slowest, p99 and median answer in ms,
 * and whether a snapshot was seen. Used by tests/test_snapshot.sh and
 * bench/snapshot.
 *
 * usage: probe SOCKET INTERVAL_MS SECONDS [--snapshot]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "jobring.h"

static double now_ms(void)
{
	return jrt_now_s() * 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct jr_client *c;
	double interval, seconds, start, *v;
	size_t n = 0, cap;
	bool until_snapshot, seen = false;

	if (argc < 4) {
		fprintf(stderr, "usage: probe SOCKET INTERVAL_MS SECONDS [--snapshot]\n");
		return 2;
	}
	interval = atof(argv[2]);
	seconds = atof(argv[3]);
	until_snapshot = argc > 4 && strcmp(argv[4], "--snapshot") == 0;
	cap = (size_t)(seconds * 1000 / (interval > 0 ? interval : 1)) + 16;
	v = malloc(cap * sizeof(*v));
	if (!v || jr_client_open(&c, argv[1]) < 0) {
		fprintf(stderr, "probe: cannot reach %s\n", argv[1]);
		return 1;
	}
	start = now_ms();
	while (n < cap && now_ms() - start < seconds * 1000) {
		char *res = NULL;
		double t0 = now_ms();
		int st = jr_client_request(c, "GET", "/health", NULL, 0, &res, NULL);
		double t1 = now_ms();
		bool busy = res && strstr(res, "\"snapshotting\":true");
		free(res);
		if (st != 200) {
			fprintf(stderr, "probe: /health answered %d\n", st);
			return 1;
		}
		v[n++] = t1 - t0;
		seen = seen || busy;
		if (until_snapshot && seen && !busy)
			break;
		struct timespec pause = { 0, (long)(interval * 1e6) };
		nanosleep(&pause, NULL);
	}
	jr_client_close(c);
	qsort(v, n, sizeof(*v), cmp);
	printf("probes %zu max_ms %.2f p99_ms %.2f p50_ms %.2f snapshot_seen %d\n", n,
	       n ? v[n - 1] : 0.0, n ? v[(n * 99) / 100] : 0.0, n ? v[n / 2] : 0.0, seen);
	free(v);
	return 0;
}
