/*
 * bench/cron - next-fire computation (src/cron, issue 15: <= 1 us median
 * for 5-field expressions in a fixed zone): jr_cron_next for ten 5-field
 * expressions from random instants of 2020-2030, in America/New_York
 * beside the same calls in UTC, measured in the same run. Each figure is
 * ns per call, the median over JR_BENCH_RUNS (default 7) runs of each
 * expression's batch of JR_BENCH_CALLS (default 20,000) calls; "chained"
 * iterates next from the previous fire, as a schedule does.
 * JR_BENCH_ZONE names another zone.
 */
#include "benchutil.h"

#include "cron/cron.h"

static const char *const exprs[] = {
	"*/15 * * * *", "0 9 * * mon-fri", "30 2 * * *",    "0 0 1 * *",     "0 */6 * * *",
	"15 14 1 * *",  "0 22 * * 1-5",    "23 0-20/2 * * *", "5 4 * * sun", "0 0 1,15 * 3",
};
#define NEXPR (sizeof(exprs) / sizeof(exprs[0]))

static volatile int64_t sink;

/* ns per call of one batch: random starts, or chained from the last fire */
static double batch(const struct jr_cron_spec *s, const struct jr_cron_zone *z,
		    const int64_t *starts, int n, int chained)
{
	int64_t acc = 0, t = starts[0];
	double t0 = jrt_now_s();
	for (int i = 0; i < n; i++) {
		int64_t r = jr_cron_next(s, z, chained ? t : starts[i], JR_CRON_GAP_NEXT_VALID,
					 JR_CRON_OVERLAP_FIRST);
		t = r;
		acc += r;
	}
	double dt = jrt_now_s() - t0;
	sink = acc;
	return dt * 1e9 / n;
}

/* the median over runs x expressions of ns/call, and the worst expression's median */
static void measure(const struct jr_cron_zone *z, const int64_t *starts, int n, int runs,
		    int chained, double *median, double *worst)
{
	double all[NEXPR * 64], per[64];
	int k = 0;
	*worst = 0;
	for (size_t e = 0; e < NEXPR; e++) {
		struct jr_cron_spec s;
		char err[128];
		if (jr_cron_parse(exprs[e], &s, err, sizeof(err))) {
			fprintf(stderr, "cron: %s: %s\n", exprs[e], err);
			exit(1);
		}
		for (int r = 0; r < runs; r++)
			all[k++] = per[r] = batch(&s, z, starts, n, chained);
		double m = bench_median(per, runs);
		if (m > *worst)
			*worst = m;
	}
	*median = bench_median(all, k);
}

int main(void)
{
	int n = (int)jrt_env_u64("JR_BENCH_CALLS", 20000);
	int runs = (int)jrt_env_u64("JR_BENCH_RUNS", 7);
	const char *zname = getenv("JR_BENCH_ZONE");
	if (!zname || !*zname)
		zname = "America/New_York";
	if (runs > 64)
		runs = 64;
	struct jr_cron_zone *zone, *utc;
	char err[200];
	if (jr_cron_zone_open(zname, &zone, err, sizeof(err)) ||
	    jr_cron_zone_open("UTC", &utc, err, sizeof(err))) {
		fprintf(stderr, "cron: %s\n", err);
		return 1;
	}
	int64_t *starts = malloc((size_t)n * sizeof(*starts));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < n; i++) { /* 2020-01-01 .. 2030-01-01, any second */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		starts[i] = 1577836800 + (int64_t)(x % (3653ull * 86400));
	}
	bench_pin(0);
	double zm, zw, um, uw, zcm, zcw, ucm, ucw;
	measure(utc, starts, n, 1, 0, &um, &uw); /* warm-up */
	measure(zone, starts, n, runs, 0, &zm, &zw);
	measure(utc, starts, n, runs, 0, &um, &uw);
	measure(zone, starts, n, runs, 1, &zcm, &zcw);
	measure(utc, starts, n, runs, 1, &ucm, &ucw);
	printf("cron: jr_cron_next, %zu 5-field expressions x %d calls, median of %d runs (ns/call)\n",
	       NEXPR, n, runs);
	printf("cron:   random starts  %-18s median %6.1f ns (worst expr %6.1f)   UTC median %6.1f ns "
	       "(worst %6.1f)   zone/UTC %.2fx\n", zname, zm, zw, um, uw, zm / um);
	printf("cron:   chained        %-18s median %6.1f ns (worst expr %6.1f)   UTC median %6.1f ns "
	       "(worst %6.1f)   zone/UTC %.2fx\n", zname, zcm, zcw, ucm, ucw, zcm / ucm);
	printf("cron:   target <= 1000 ns median in a fixed zone: %s\n",
	       zm <= 1000 && zcm <= 1000 ? "met" : "NOT met");
	free(starts);
	jr_cron_zone_close(zone);
	jr_cron_zone_close(utc);
	return 0;
}
