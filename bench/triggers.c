/*
 * bench/triggers - the trigger fire path (issue 15) through jobringd's
 * socket: POST /triggers/{name} with a small JSON payload (the template
 * read, the payload put in its environment, the job submitted as the
 * trigger's owner, its SUBMIT and the REC_TRIGGER_FIRE journaled) against
 * plain POST /jobs of the same job, on the same daemon in the same run:
 * 64 concurrent keep-alive connections, jobringd --paused --sync=none (as
 * bench/submit: the HTTP, JSON and journal path, not fdatasync).
 *
 * JR_BENCH_FIRES requests per phase (default 20,000), medians of
 * JR_BENCH_RUNS (default 3).
 */
#include "daemonutil.h"
#include "jobring.h"

#define CONNS 64

static struct jrt_daemon d;
static const char *const paused_nosync[] = { "--capacity", "1048576", "--paused", "--sync",
					      "none", NULL };

static void define_trigger(void)
{
	static const char def[] = "{\"job\":{\"command\":[\"/bin/true\"],\"name\":\"fired\"}}";
	struct jr_client *c;
	char *resp = NULL;
	int rc;

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	rc = jr_client_request(c, "PUT", "/triggers/bench", def, strlen(def), &resp, NULL);
	if (rc != 201) {
		fprintf(stderr, "bench/triggers: PUT answered %d: %.200s\n", rc, rc > 0 ? resp : "");
		exit(1);
	}
	free(resp);
	jr_client_close(c);
}

static void once(uint64_t n, struct figures *fire, struct figures *jobs)
{
	static const char job[] = "{\"command\":[\"/bin/true\"],\"name\":\"fired\"}";
	static const char payload[] = "{\"file\":\"/data/in/part-00042.csv\",\"bytes\":1048576}";
	char post[512], trig[512];

	bench_daemon_start(&d, true, paused_nosync);
	define_trigger();
	snprintf(post, sizeof(post), "POST /jobs HTTP/1.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", strlen(job), job);
	snprintf(trig, sizeof(trig), "POST /triggers/bench HTTP/1.1\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(payload), payload);
	*jobs = drive(&d, CONNS, post, n, 201);
	*fire = drive(&d, CONNS, trig, n, 201);
	jrt_daemon_stop(&d, SIGTERM);
}

int main(int argc, char **argv)
{
	double fr[16], fp50[16], fp99[16], jr[16], jp50[16], jp99[16];
	uint64_t n;
	int runs;

	(void)argc;
	bench_daemon_init(&d, argv[0], "bench-triggers", NULL);
	runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	n = jrt_env_u64("JR_BENCH_FIRES", 20000);
	printf("bench/triggers: jobringd --paused --sync=none, %llu requests a phase on %d "
	       "connections, median of %d runs\n", (unsigned long long)n, CONNS, runs);
	for (int r = 0; r < runs; r++) {
		struct figures f, j;
		once(n, &f, &j);
		fr[r] = f.rate, fp50[r] = f.p50_ms, fp99[r] = f.p99_ms;
		jr[r] = j.rate, jp50[r] = j.p50_ms, jp99[r] = j.p99_ms;
	}
	double f = bench_median(fr, runs), j = bench_median(jr, runs);
	printf("  %-34s %10.0f fires/s  p50 %7.3f ms  p99 %7.3f ms\n",
	       "POST /triggers/{name} (payload)", f, bench_median(fp50, runs),
	       bench_median(fp99, runs));
	printf("  %-34s %10.0f jobs/s   p50 %7.3f ms  p99 %7.3f ms   ratio fire/job %.2f\n",
	       "POST /jobs (baseline)", j, bench_median(jp50, runs), bench_median(jp99, runs),
	       f / j);
	jrt_daemon_remove(&d);
	return 0;
}
