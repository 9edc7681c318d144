/*
 * bench/schedules - 100,000 schedules each firing once a minute (issue
 * 15): "every": 60 with their starts spread over the minute in whole
 * milliseconds, so about 1,667 fires a second. Each fired job is
 * external (nothing runs: the daemon only fires, submits and journals;
 * overlap "allow", so none is skipped). After every schedule is created,
 * a window of JR_BENCH_SCHED_SECONDS (default 20) is measured:
 *   - lateness: each fired job's submission (its created_at) after its
 *     due instant, for the jobs due in the window: p50, p99, max
 *     (target p99 <= 100 ms);
 *   - the daemon's CPU share over the window (utime + stime of
 *     /proc/PID/stat, of one core).
 * Baselines in the same run, on the same daemon: its CPU share idle
 * (before any schedule), and the CPU it takes to accept the same number
 * of jobs as the window fired through POST /jobs/batch (1,000 a batch),
 * as a share at the schedules' rate. jobringd with its defaults (--sync
 * always), state under /var/tmp (or JR_BENCH_STATE_PARENT). Sizes:
 * JR_BENCH_SCHEDULES (default 100000).
 */
#include "daemonutil.h"

#include <cjson/cJSON.h>

#include "base/common.h"
#include "base/units.h"

#define CONNS 32

static uint64_t daemon_ticks(const struct jrt_daemon *d)
{
	char path[64];
	uint64_t t = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d->pid);
	bench_stat_ticks(path, &t);
	return t;
}

/* POST /schedules for schedule i of n, into out. */
static size_t schedule_request(char *out, size_t size, uint64_t i, uint64_t n, uint64_t t0_ms)
{
	char body[512];
	uint64_t start_ms = t0_ms + i * 60000 / n;
	int len = snprintf(body, sizeof(body),
			   "{\"name\":\"s%llu\",\"every\":60,\"start\":%llu.%03llu,\"overlap\":\"allow\","
			   "\"job\":{\"command\":[\"true\"],\"executor\":\"external\"}}",
			   (unsigned long long)i, (unsigned long long)(start_ms / 1000),
			   (unsigned long long)(start_ms % 1000));

	return (size_t)snprintf(out, size,
				"POST /schedules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				"Content-Length: %d\r\n\r\n%s", len, body);
}

/* n schedules over CONNS connections, one request in flight on each. */
static void create_schedules(const struct jrt_daemon *d, uint64_t n, uint64_t t0_ms)
{
	static struct drive_conn cs[CONNS];
	int ep = epoll_create1(0);
	uint64_t sent = 0, done = 0;
	char req[1024];

	for (int i = 0; i < CONNS; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		cs[i].fd = jrt_daemon_connect(d);
		if (cs[i].fd < 0)
			bench_die("connect");
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	for (int i = 0; i < CONNS && sent < n; i++, sent++)
		drive_send(&cs[i], req, schedule_request(req, sizeof(req), sent, n, t0_ms));
	while (done < n) {
		struct epoll_event evs[CONNS];
		int k = epoll_wait(ep, evs, CONNS, 10000);
		if (k <= 0)
			bench_die("no answer for 10 s");
		for (int i = 0; i < k; i++) {
			struct drive_conn *c = evs[i].data.ptr;
			ssize_t r = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
			if (r <= 0)
				bench_die("recv");
			c->got += (size_t)r;
			if (!drive_response_done(c))
				continue;
			if (atoi(c->buf + 9) != 201) {
				fprintf(stderr, "bench/schedules: got %.300s\n", c->buf);
				exit(1);
			}
			done++;
			if (sent < n) {
				drive_send(c, req, schedule_request(req, sizeof(req), sent, n, t0_ms));
				sent++;
			}
		}
	}
	for (int i = 0; i < CONNS; i++)
		close(cs[i].fd);
	close(ep);
}

/* Lateness (ms) of every fired job due in [from, to) ns: into *out. */
static size_t lateness(struct jr_client *c, uint64_t from, uint64_t to, double **out)
{
	size_t n = 0, cap = 65536;
	double *v = malloc(cap * sizeof(*v));
	char path[128], *resp = NULL, cursor[32] = "";

	for (;;) {
		snprintf(path, sizeof(path), "/jobs?limit=1000%s%s", cursor[0] ? "&cursor=" : "",
			 cursor);
		if (jr_client_request(c, "GET", path, NULL, 0, &resp, NULL) != 200)
			bench_die("GET /jobs");
		cJSON *o = cJSON_Parse(resp), *j;
		free(resp);
		cJSON_ArrayForEach(j, cJSON_GetObjectItem(o, "jobs")) {
			cJSON *due = cJSON_GetObjectItem(j, "due"), *at = cJSON_GetObjectItem(j, "created_at");
			uint64_t d, a;
			if (!cJSON_IsString(due) || !cJSON_IsString(at) ||
			    jr_parse_rfc3339_ns(due->valuestring, &d) < 0 ||
			    jr_parse_rfc3339_ns(at->valuestring, &a) < 0 || d < from || d >= to)
				continue;
			if (n == cap)
				v = realloc(v, (cap *= 2) * sizeof(*v));
			v[n++] = a >= d ? (double)(a - d) / 1e6 : -(double)(d - a) / 1e6;
		}
		cJSON *next = cJSON_GetObjectItem(o, "next_cursor");
		bool more = cJSON_IsString(next);
		if (more)
			snprintf(cursor, sizeof(cursor), "%s", next->valuestring);
		cJSON_Delete(o);
		if (!more)
			break;
	}
	*out = v;
	return n;
}

/* Daemon CPU ticks to take n jobs by POST /jobs/batch, 1,000 a batch. */
static uint64_t batch_ticks(const struct jrt_daemon *d, struct jr_client *c, uint64_t n)
{
	size_t per = 1000, len = 0;
	char *body = malloc(per * 96), *p = body, *resp = NULL;
	uint64_t t0;

	for (size_t i = 0; i < per; i++)
		p += sprintf(p, "{\"command\":[\"true\"],\"executor\":\"external\"}\n");
	len = (size_t)(p - body);
	t0 = daemon_ticks(d);
	for (uint64_t done = 0; done < n; done += per) {
		if (jr_client_request(c, "POST", "/jobs/batch", body, len, &resp, NULL) != 201)
			bench_die("POST /jobs/batch");
		free(resp);
	}
	free(body);
	return daemon_ticks(d) - t0;
}

int main(int argc, char **argv)
{
	struct jrt_daemon d;
	struct jr_client *c;
	const char *parent = getenv("JR_BENCH_STATE_PARENT");
	uint64_t n = jrt_env_u64("JR_BENCH_SCHEDULES", 100000);
	uint64_t secs = jrt_env_u64("JR_BENCH_SCHED_SECONDS", 20);
	const char *opts[] = { "--capacity", "1048576", NULL };
	double idle_s = 3, t, *lat;
	uint64_t tk, idle_ticks, win_ticks, from, to, now;
	size_t k;

	(void)argc;
	n = n < 60 ? 60 : n;
	bench_daemon_init(&d, argv[0], "schedules", parent && *parent ? parent : "/var/tmp");
	bench_daemon_start(&d, true, opts);
	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	printf("bench/schedules: %llu schedules, every 60 s, starts spread over the minute "
	       "(%.0f fires/s), external jobs, jobringd defaults (--sync always); window %llu s\n",
	       (unsigned long long)n, (double)n / 60, (unsigned long long)secs);
	fflush(stdout);

	tk = daemon_ticks(&d);
	usleep((useconds_t)(idle_s * 1e6));
	idle_ticks = daemon_ticks(&d) - tk;

	t = jrt_now_s();
	create_schedules(&d, n, jr_now_realtime_ns() / 1000000 + 1000);
	t = jrt_now_s() - t;
	printf("  created %llu schedules in %.1f s (%.0f/s)\n", (unsigned long long)n, t,
	       (double)n / t);
	fflush(stdout);

	/* The window starts once every schedule exists (a second later). */
	usleep(1000000);
	now = jr_now_realtime_ns();
	from = now;
	to = from + secs * 1000000000ull;
	tk = daemon_ticks(&d);
	t = jrt_now_s();
	usleep((useconds_t)(secs * 1000000));
	win_ticks = daemon_ticks(&d) - tk;
	t = jrt_now_s() - t;
	usleep(500000);	/* the last due in the window submitted */

	k = lateness(c, from, to, &lat);
	if (k == 0) {
		printf("  ! no fired job due in the window\n");
		return 1;
	}
	double p50 = bench_percentile(lat, (int)k, 0.5), p99 = bench_percentile(lat, (int)k, 0.99);
	double max = lat[k - 1];
	double share = bench_ticks_us(win_ticks) / (t * 1e6) * 100;
	double idle = bench_ticks_us(idle_ticks) / (idle_s * 1e6) * 100;
	uint64_t bt = batch_ticks(&d, c, k);
	double batch_share = bench_ticks_us(bt) / ((double)k / ((double)n / 60) * 1e6) * 100;

	printf("  fired in the window: %zu (%.0f/s; expected %.0f/s)\n", k, (double)k / (double)secs,
	       (double)n / 60);
	printf("  lateness of submission after due: p50 %.1f ms, p99 %.1f ms, max %.1f ms "
	       "(target p99 <= 100 ms)%s\n", p50, p99, max, p99 <= 100 ? "" : "  ! OVER TARGET");
	printf("  daemon CPU share while firing: %.1f %% of a core\n", share);
	printf("  baseline, same daemon: idle %.1f %% of a core (no schedules); the same %zu jobs "
	       "by POST /jobs/batch cost %.2f CPU-s, %.1f %% of a core at %.0f jobs/s\n", idle, k,
	       bench_ticks_us(bt) / 1e6, batch_share, (double)n / 60);
	printf("  firing vs batch submission: %.1fx the CPU per job\n",
	       batch_share > 0 ? share / batch_share : 0);
	free(lat);
	jr_client_close(c);
	jrt_daemon_remove(&d);
	return 0;
}
