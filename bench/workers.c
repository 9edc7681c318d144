/*
 * bench/workers - external workers at socket speed (issue 14, item 3): a
 * load driver that is N external workers, one keep-alive connection each
 * over the daemon's Unix socket, all on one loop (io_uring for the
 * claim phase, epoll for the heartbeat phase).
 *
 *   claim:     N workers register, then loop: POST /workers/{id}/claim?wait=30
 *              (a long poll), POST /executions/{id}/complete with the lease
 *              the claim returned, claim again. A submitter (its own
 *              connection) keeps BACKLOG_JOBS external jobs queued with POST
 *              /jobs/batch, and each worker also heartbeats once a second on
 *              connections of their own. Over JR_WORKERS_SECONDS (after a
 *              warm-up second): claim->complete jobs/s, complete's latency
 *              p50/p99, the heartbeats' p99, the daemon's CPU per job and how
 *              busy daemon and driver were; next to the same with 1 worker
 *              (the latency-bound baseline: one round trip at a time).
 *   heartbeat: M workers registered, then each sends POST
 *              /workers/{id}/heartbeat once a second, spread evenly over the
 *              second, several workers pipelined on each of H connections;
 *              prints the answers' p50/p99/max, the longest a worker went
 *              between two answered heartbeats, and how many workers the
 *              daemon holds unhealthy at the end (--heartbeat-timeout 3:
 *              any is a false one; the exit status is 1 then).
 *
 * Knobs: JR_WORKERS_CLAIM_NEXT (1: the claim phase once more with each
 * completion sent as complete?claim=1, its answer's "next" completed
 * without a claim, as jobring-worker does while busy; 0: not),
 * JR_WORKERS_N (claiming workers, 4000), JR_WORKERS_HB (heartbeating
 * workers, 10000), JR_WORKERS_HB_CONNS (100), JR_WORKERS_CLAIM_HB_CONNS (40;
 * 0: the claiming workers send no heartbeats), JR_WORKERS_SECONDS (5),
 * JR_WORKERS_RUNS (3: medians), JR_WORKERS_BASELINE (0: no 1-worker runs),
 * JR_WORKERS_SUBMIT_BATCH (the submitter's jobs per POST /jobs/batch, 2000;
 * each is one stretch of the daemon's loop, 3 ms at the median here),
 * JR_WORKERS_RESULT (1: each completion carries a result, journaled, so its
 * answer waits for the fsync), JR_WORKERS_SYNC (the daemon's --sync; always
 * unless told), JR_WORKERS_SNAPSHOT_EVERY (its --snapshot-every: 64G for
 * no background snapshot; each run prints the snapshots its daemon
 * logged), JR_WORKERS_DAEMON (another jobringd, e.g. an older build, to
 * compare), JR_WORKERS_PHASES ("claim,heartbeat"), JR_WORKERS_PIDFILE (the
 * daemon's pid written there at each start, for a profiler),
 * JR_WORKERS_PIN (0: driver and daemon anywhere; 1: the driver on the
 * last CPU it may use, the daemon on the others). Needs RLIMIT_NOFILE
 * above N: the soft limit is raised to the hard one.
 *
 * The driver shares the machine with the daemon, and a driver that falls
 * behind reads its answers late: the latencies it measures are then its
 * own backlog. So the claim phase drives its connections through one
 * io_uring (below); with a syscall per send and per receive it took
 * 0.75-0.95 of a core at 45,000 jobs/s on 2 cores, and in runs where it
 * reached 0.9 complete's p50 went from 1.6 ms to 40 ms
 * (docs/BENCHMARKS.md, 2026-12-02). Pinning keeps them apart further, at
 * the price of a core for the daemon on a small machine.
 */
#include "daemonutil.h"
#include "jobring.h"

#include <liburing.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define IN_CAP 65536
#define FIFO_CAP 1024		/* heartbeats in flight on one connection */
#define BACKLOG_JOBS 20000	/* external jobs kept queued ahead of the workers */
#define SUBMIT_BATCH_MAX 10000
#define HB_TIMEOUT "3"

enum role { ROLE_WORKER, ROLE_SUBMIT, ROLE_HB };
enum step { STEP_REGISTER, STEP_CLAIM, STEP_COMPLETE, STEP_IDLE };

struct wconn {
	int fd;
	enum role role;
	enum step step;
	bool uring;		/* the claim phase: received (and, a worker's, sent) through ur */
	char out[512];		/* a worker's request while io_uring sends it */
	char worker[24], exec[24], lease[40];
	char *in;
	size_t got;
	double sent_at;
	/* heartbeats: what is in flight, in order */
	uint32_t fifo_worker[FIFO_CAP];
	double fifo_at[FIFO_CAP];
	uint32_t fifo_head, fifo_len;
};

struct resp {
	int status;
	const char *body;
	size_t body_len, total;
};

static struct jrt_daemon d;
static int ep = -1;

/* The claim phase's I/O (why: the header): one io_uring for every
 * connection, a multishot receive each into provided buffers, the
 * workers' requests sent through it too, all submitted once per turn. */
#define UR_BUFS 4096
#define UR_BUF_BYTES 4096
#define UR_BGID 7
#define UR_SEND_TAG 1ull
static struct io_uring ur;
static struct io_uring_buf_ring *ur_br;
static char *ur_bufs;
static char submit_body[SUBMIT_BATCH_MAX * 64];
static int submit_batch;	/* jobs a POST /jobs/batch (JR_WORKERS_SUBMIT_BATCH, 2000) */
static size_t submit_len;

static void raise_nofile(int need)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		bench_die("getrlimit");
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) < 0)
		bench_die("setrlimit");
	if ((rlim_t)need > r.rlim_cur) {
		fprintf(stderr, "bench/workers: needs %d descriptors, RLIMIT_NOFILE is %llu\n", need,
			(unsigned long long)r.rlim_cur);
		exit(1);
	}
}

static struct io_uring_sqe *ur_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ur);

	if (!sqe) {
		io_uring_submit(&ur);
		if (!(sqe = io_uring_get_sqe(&ur)))
			bench_die("io_uring_get_sqe");
	}
	return sqe;
}

static void ur_arm_recv(struct wconn *c)
{
	struct io_uring_sqe *sqe = ur_sqe();

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c);
}

static void ur_open(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
					      IORING_SETUP_DEFER_TASKRUN,
				     .cq_entries = 65536 };
	struct io_uring_buf_reg reg = { 0 };

	if (io_uring_queue_init_params(8192, &ur, &p) < 0) {
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE, .cq_entries = 65536 };
		if (io_uring_queue_init_params(8192, &ur, &p) < 0)
			bench_die("io_uring_queue_init");
	}
	ur_br = mmap(NULL, UR_BUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	ur_bufs = malloc((size_t)UR_BUFS * UR_BUF_BYTES);
	if (ur_br == MAP_FAILED || !ur_bufs)
		bench_die("io_uring buffers");
	reg.ring_addr = (unsigned long)ur_br;
	reg.ring_entries = UR_BUFS;
	reg.bgid = UR_BGID;
	if (io_uring_register_buf_ring(&ur, &reg, 0) < 0)
		bench_die("io_uring_register_buf_ring");
	io_uring_buf_ring_init(ur_br);
	for (int i = 0; i < UR_BUFS; i++)
		io_uring_buf_ring_add(ur_br, ur_bufs + (size_t)i * UR_BUF_BYTES, UR_BUF_BYTES,
				      (unsigned short)i, io_uring_buf_ring_mask(UR_BUFS), i);
	io_uring_buf_ring_advance(ur_br, UR_BUFS);
}

static void ur_close(void)
{
	io_uring_queue_exit(&ur);
	munmap(ur_br, UR_BUFS * sizeof(struct io_uring_buf));
	free(ur_bufs);
}

/* uring: the claim phase's (ur_open() first); else through epoll. */
static void conn_open(struct wconn *c, enum role role, bool uring)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	memset(c, 0, sizeof(*c));
	c->role = role;
	c->uring = uring;
	if ((c->fd = jrt_daemon_connect(&d)) < 0)
		bench_die("connect");
	if (!(c->in = malloc(IN_CAP)))
		bench_die("malloc");
	if (uring)
		ur_arm_recv(c);
	else if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		bench_die("epoll_ctl");
}

static void conn_done(struct wconn *c)
{
	close(c->fd);
	free(c->in);
	c->in = NULL;
}

static void sendf(struct wconn *c, const char *method, const char *path, const char *body,
		  size_t body_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
			 method, path, body_len);
	struct iovec iov[2] = { { head, (size_t)n }, { (void *)body, body_len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = body_len ? 2 : 1 };

	c->sent_at = jrt_now_s();
	/* A worker has one request out at a time: out is free again once
	 * its answer came. Sent with the loop's next submission. */
	if (c->uring && c->role == ROLE_WORKER && (size_t)n + body_len <= sizeof(c->out)) {
		struct io_uring_sqe *sqe = ur_sqe();
		memcpy(c->out, head, (size_t)n);
		memcpy(c->out + n, body, body_len);
		io_uring_prep_send(sqe, c->fd, c->out, (size_t)n + body_len, MSG_NOSIGNAL);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UR_SEND_TAG);
		return;
	}
	if (sendmsg(c->fd, &m, MSG_NOSIGNAL) != (ssize_t)n + (ssize_t)body_len)
		bench_die("send");
}

/* A whole response at the front of c->in? */
static bool resp_ready(const struct wconn *c, struct resp *r)
{
	const char *end, *cl;

	if (c->got < 12)
		return false;
	if (!(end = memmem(c->in, c->got, "\r\n\r\n", 4)))
		return false;
	cl = memmem(c->in, (size_t)(end - c->in), "Content-Length: ", 16);
	r->body_len = cl ? strtoul(cl + 16, NULL, 10) : 0;
	r->body = end + 4;
	r->total = (size_t)(end + 4 - c->in) + r->body_len;
	if (c->got < r->total)
		return false;
	r->status = atoi(c->in + 9);
	return true;
}

static void resp_consume(struct wconn *c, const struct resp *r)
{
	memmove(c->in, c->in + r->total, c->got - r->total);
	c->got -= r->total;
}

/* "key":"value" in the body: value into out. */
static bool json_str(const struct resp *r, const char *key, char *out, size_t size)
{
	char pat[64];
	int n = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = memmem(r->body, r->body_len, pat, (size_t)n), *q;

	if (!p || !(q = memchr(p + n, '"', r->body_len - (size_t)(p + n - r->body))))
		return false;
	snprintf(out, size, "%.*s", (int)(q - p - n), p + n);
	return true;
}

static _Noreturn void unexpected(const char *what, const struct resp *r)
{
	fprintf(stderr, "bench/workers: %s answered %d: %.*s\n", what, r->status,
		(int)(r->body_len > 300 ? 300 : r->body_len), r->body);
	exit(1);
}

/* Read what came on c; false if it is closed. */
static bool conn_read(struct wconn *c)
{
	ssize_t n = recv(c->fd, c->in + c->got, IN_CAP - c->got, 0);

	if (n <= 0)
		return false;
	c->got += (size_t)n;
	if (c->got == IN_CAP) {
		fprintf(stderr, "bench/workers: an answer over %d bytes\n", IN_CAP);
		exit(1);
	}
	return true;
}

static void build_submit_body(void)
{
	char *p = submit_body;

	submit_batch = (int)jrt_env_u64("JR_WORKERS_SUBMIT_BATCH", 2000);
	submit_batch = submit_batch < 1 ? 1 : submit_batch > SUBMIT_BATCH_MAX ? SUBMIT_BATCH_MAX : submit_batch;
	for (int i = 0; i < submit_batch; i++)
		p += sprintf(p, "{\"executor\":\"external\",\"name\":\"ext-%d\"}\n", i);
	submit_len = (size_t)(p - submit_body);
}

static const char *const *daemon_opts(int conns)
{
	static char maxconn[32];
	static const char *opts[] = { "--max-connections", maxconn, "--heartbeat-timeout", HB_TIMEOUT,
				      "--capacity", "4194304", NULL, NULL, NULL, NULL, NULL };
	const char *sync = getenv("JR_WORKERS_SYNC");	/* the daemon's --sync (default always) */
	const char *every = getenv("JR_WORKERS_SNAPSHOT_EVERY");	/* its --snapshot-every */
	int k = 6;

	if (sync) {
		opts[k++] = "--sync";
		opts[k++] = sync;
	}
	if (every) {
		opts[k++] = "--snapshot-every";
		opts[k++] = every;
	}

	snprintf(maxconn, sizeof(maxconn), "%d", conns + 128);
	return opts;
}

/* With JR_WORKERS_PIN=1 and two CPUs or more: the daemon,
 * started while the driver's mask is all but the last CPU, inherits
 * that; the driver then takes the last alone. */
static cpu_set_t cpus_all, cpus_daemon, cpus_driver;
static int pinned_cpu = -1;

static void pin_plan(void)
{
	int last = -1, count = 0;

	if (!jrt_env_u64("JR_WORKERS_PIN", 0) ||
	    sched_getaffinity(0, sizeof(cpus_all), &cpus_all) < 0)
		return;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &cpus_all)) {
			last = i;
			count++;
		}
	if (count < 2)
		return;
	cpus_daemon = cpus_all;
	CPU_CLR(last, &cpus_daemon);
	CPU_ZERO(&cpus_driver);
	CPU_SET(last, &cpus_driver);
	pinned_cpu = last;
	printf("workers: the driver on CPU %d, the daemon on the other %d (JR_WORKERS_PIN=1)\n",
	       last, count - 1);
}

static void pin_set(const cpu_set_t *set)
{
	if (pinned_cpu >= 0 && sched_setaffinity(0, sizeof(*set), set) < 0)
		bench_die("sched_setaffinity");
}

static void daemon_up(int conns)
{
	const char *other = getenv("JR_WORKERS_DAEMON");

	const char *pidfile = getenv("JR_WORKERS_PIDFILE");	/* for a profiler */
	FILE *f;

	if (other)
		snprintf(d.path, sizeof(d.path), "%s", other);
	pin_set(&cpus_daemon);
	bench_daemon_start(&d, true, daemon_opts(conns));
	pin_set(&cpus_driver);
	if (pidfile && (f = fopen(pidfile, "w"))) {
		fprintf(f, "%d\n", (int)d.pid);
		fclose(f);
	}
}

static void daemon_down(void)
{
	char first[256];
	int problems = bench_log_problems(&d, first, sizeof(first));

	bench_snapshots_note(&d, "workers:   ");
	jrt_daemon_stop(&d, SIGTERM);
	pin_set(&cpus_all);
	if (problems)
		fprintf(stderr, "bench/workers: the daemon's log says %d times e.g.: %s\n", problems,
			first);
}

/* --- claim -> complete ----------------------------------------------------------------- */

static void hb_send(struct wconn *c, uint32_t w, char (*names)[24], double now);

static double self_cpu_s(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
	       ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec) / 1e6;
}

struct claim_run {
	double rate, p50_ms, p99_ms, cpu_us;	/* cpu_us: the daemon's CPU per job */
	double hb_p99_ms, hb_max_ms;		/* the claiming workers' own heartbeats */
	double daemon_busy, driver_busy;	/* cores' worth of CPU over the window */
	uint64_t completed, hb_answered;
	/* The daemon's loop over the window (GET /metrics): turns, those
	 * over 2 and 5 ms; all -1 if it does not tell. */
	int64_t turns, turns_2ms, turns_5ms;
};

static struct claim_state {
	uint64_t submitted, completed, registered, in_window;
	double window_from, window_to;
	double *lat, *hb_lat;
	size_t nlat, cap_lat, nhb;
	bool submit_inflight, result;
	bool claim_next;	/* completions sent with ?claim=1, their "next" run */
	uint64_t cpu_from, cpu_to;	/* the daemon's ticks at the window's ends */
	double self_from, self_to;	/* the driver's CPU seconds at the window's ends */
} cs;

static void submit_more(struct wconn *s)
{
	if (cs.submit_inflight || cs.submitted - cs.completed >= BACKLOG_JOBS)
		return;
	sendf(s, "POST", "/jobs/batch", submit_body, submit_len);
	cs.submit_inflight = true;
}

static void claim(struct wconn *c)
{
	char path[96];

	snprintf(path, sizeof(path), "/workers/%s/claim?wait=30", c->worker);
	c->step = STEP_CLAIM;
	sendf(c, "POST", path, NULL, 0);
}

/* The completion of c's execution, with ?claim=1 in the claim-next mode. */
static void send_complete(struct wconn *c)
{
	char path[112], body[128];
	int n;

	snprintf(path, sizeof(path), "/executions/%s/complete%s", c->exec,
		 cs.claim_next ? "?claim=1" : "");
	n = snprintf(body, sizeof(body), "{\"status\":\"succeeded\",\"lease\":\"%s\"%s}",
		     c->lease, cs.result ? ",\"result\":{\"rows\":1}" : "");
	c->step = STEP_COMPLETE;
	sendf(c, "POST", path, body, (size_t)n);
}

/* A completion's answer that claimed the next execution ("next":{...}):
 * its id and lease in c. False when "next" is null or absent. */
static bool next_claimed(const struct resp *r, struct wconn *c)
{
	const char *p = memmem(r->body, r->body_len, "\"next\":{", 8);
	struct resp next = *r;

	if (!p)
		return false;
	next.body = p;
	next.body_len = r->body_len - (size_t)(p - r->body);
	return json_str(&next, "execution_id", c->exec, sizeof(c->exec)) &&
	       json_str(&next, "lease", c->lease, sizeof(c->lease));
}

static void note_lat(double **v, size_t *n, double ms)
{
	if (*n < cs.cap_lat)
		(*v)[(*n)++] = ms;
}

static void worker_answer(struct wconn *c, const struct resp *r, double now)
{
	switch (c->step) {
	case STEP_REGISTER:
		if (r->status != 201 || !json_str(r, "worker_id", c->worker, sizeof(c->worker)))
			unexpected("register", r);
		cs.registered++;
		claim(c);
		break;
	case STEP_CLAIM:
		if (r->status == 204) {
			claim(c);
			break;
		}
		if (r->status != 200 || !json_str(r, "execution_id", c->exec, sizeof(c->exec)) ||
		    !json_str(r, "lease", c->lease, sizeof(c->lease)))
			unexpected("claim", r);
		send_complete(c);
		break;
	case STEP_COMPLETE:
		if (r->status != 200)
			unexpected("complete", r);
		cs.completed++;
		if (now >= cs.window_from && now < cs.window_to) {
			cs.in_window++;
			note_lat(&cs.lat, &cs.nlat, (now - c->sent_at) * 1e3);
		}
		if (cs.claim_next && next_claimed(r, c))
			send_complete(c);
		else
			claim(c);
		break;
	case STEP_IDLE:
		break;
	}
}

static void on_answers(struct wconn *c, double now);

/* A completion of ur: a failed send, or what a receive brought. */
static void ur_completion(const struct io_uring_cqe *cqe, double now)
{
	struct wconn *c = (struct wconn *)(uintptr_t)(cqe->user_data & ~UR_SEND_TAG);
	unsigned bid;

	if (cqe->user_data & UR_SEND_TAG) {
		fprintf(stderr, "bench/workers: a send failed: %s\n", strerror(-cqe->res));
		exit(1);
	}
	if (cqe->res == -ENOBUFS) {	/* all buffers out: again once given back */
		if (!(cqe->flags & IORING_CQE_F_MORE))
			ur_arm_recv(c);
		return;
	}
	if (cqe->res <= 0) {
		fprintf(stderr, "bench/workers: the daemon closed a connection (%d)\n", cqe->res);
		exit(1);
	}
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	if (c->got + (size_t)cqe->res >= IN_CAP) {
		fprintf(stderr, "bench/workers: an answer over %d bytes\n", IN_CAP);
		exit(1);
	}
	memcpy(c->in + c->got, ur_bufs + (size_t)bid * UR_BUF_BYTES, (size_t)cqe->res);
	c->got += (size_t)cqe->res;
	io_uring_buf_ring_add(ur_br, ur_bufs + (size_t)bid * UR_BUF_BYTES, UR_BUF_BYTES,
			      (unsigned short)bid, io_uring_buf_ring_mask(UR_BUFS), 0);
	io_uring_buf_ring_advance(ur_br, 1);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		ur_arm_recv(c);
	on_answers(c, now);
}

static void on_answers(struct wconn *c, double now)
{
	struct resp r;

	while (resp_ready(c, &r)) {
		if (c->role == ROLE_SUBMIT) {
			if (r.status != 201)
				unexpected("POST /jobs/batch", &r);
			cs.submitted += (uint64_t)submit_batch;
			cs.submit_inflight = false;
			submit_more(c);
		} else if (c->role == ROLE_HB) {
			if (r.status != 200)
				unexpected("heartbeat", &r);
			if (now >= cs.window_from && now < cs.window_to)
				note_lat(&cs.hb_lat, &cs.nhb, (now - c->fifo_at[c->fifo_head]) * 1e3);
			c->fifo_head = (c->fifo_head + 1) % FIFO_CAP;
			c->fifo_len--;
		} else {
			worker_answer(c, &r, now);
		}
		resp_consume(c, &r);
	}
}

/* Each claiming worker also heartbeats once a second (as a worker running
 * a long job would), on hb_conns connections of their own: due by now. */
static void claim_heartbeats(struct wconn *hs, int hb_conns, char (*names)[24], int nworkers,
			     double hb_t0, uint64_t *next, double now)
{
	double due;

	while (hb_conns && (due = hb_t0 + (double)*next / nworkers) <= now && due < cs.window_to) {
		uint32_t w = (uint32_t)(*next % (uint64_t)nworkers);
		hb_send(&hs[w % (uint32_t)hb_conns], w, names, now);
		(*next)++;
	}
}

static int ask(const char *method, const char *path, const char *body, char **resp);

/* The loop's turns so far, in all and over 2 and 5 ms: from the
 * histogram jobring_loop_turn_seconds of GET /metrics; -1 if absent. */
static void loop_turns(int64_t out[3])
{
	static const char *const le[3] = { "+Inf", "0.002", "0.005" };
	char *m = NULL, key[80];
	int64_t all = -1;

	out[0] = out[1] = out[2] = -1;
	if (ask("GET", "/metrics", NULL, &m) != 200 || !m) {
		free(m);
		return;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "jobring_loop_turn_seconds_bucket{le=\"%s\"} ", le[i]);
		const char *at = strstr(m, key);
		if (!at)
			break;
		long long v = strtoll(at + strlen(key), NULL, 10);
		out[i] = i == 0 ? (all = v) : all - v;	/* over the bound: all but those under */
	}
	free(m);
}

static struct claim_run claim_once(int nworkers, double seconds, bool claim_next)
{
	int64_t turns_from[3], turns_to[3];
	int hb_conns = (int)jrt_env_u64("JR_WORKERS_CLAIM_HB_CONNS", 40);
	struct wconn *ws = calloc((size_t)nworkers + 1, sizeof(*ws)), *sub = &ws[nworkers];
	struct wconn *hs = calloc((size_t)hb_conns + 1, sizeof(*hs));
	char (*names)[24] = calloc((size_t)nworkers, 24);
	struct claim_run f = { 0 };
	double t0, hb_t0 = 0;
	uint64_t hb_next = 0;
	char reg[64], stat[64];

	hb_conns = hb_conns > nworkers ? nworkers : hb_conns;
	memset(&cs, 0, sizeof(cs));
	cs.result = jrt_env_u64("JR_WORKERS_RESULT", 0) != 0;
	cs.claim_next = claim_next;
	cs.cap_lat = 4000000;
	cs.lat = malloc(cs.cap_lat * sizeof(double));
	cs.hb_lat = malloc(cs.cap_lat * sizeof(double));
	daemon_up(nworkers + hb_conns);
	snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)d.pid);
	ur_open();
	conn_open(sub, ROLE_SUBMIT, true);
	submit_more(sub);
	for (int i = 0; i < nworkers; i++) {
		int n = snprintf(reg, sizeof(reg), "{\"name\":\"bw-%d\"}", i);
		conn_open(&ws[i], ROLE_WORKER, true);
		ws[i].step = STEP_REGISTER;
		sendf(&ws[i], "POST", "/workers/register", reg, (size_t)n);
	}
	t0 = jrt_now_s();
	cs.window_from = cs.window_to = 1e300;
	for (;;) {
		struct __kernel_timespec second = { .tv_sec = 1 };
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc = io_uring_submit_and_wait_timeout(&ur, &cqe, 1, &second, NULL);
		double now = jrt_now_s();
		if (rc < 0 && rc != -ETIME && rc != -EINTR) {
			fprintf(stderr, "bench/workers: io_uring: %s\n", strerror(-rc));
			exit(1);
		}
		io_uring_for_each_cqe(&ur, head, cqe) {
			ur_completion(cqe, now);
			n++;
		}
		io_uring_cq_advance(&ur, n);
		if (n == 0 && now - t0 > 60) {
			fprintf(stderr, "bench/workers: nothing for a second after %.0f s\n", now - t0);
			exit(1);
		}
		submit_more(sub);
		if (cs.window_from > 1e299 && cs.registered == (uint64_t)nworkers && cs.completed) {
			cs.window_from = now + 1.0;	/* a warm-up second */
			cs.window_to = cs.window_from + seconds;
			for (int i = 0; i < nworkers; i++)
				memcpy(names[i], ws[i].worker, 24);
			for (int i = 0; i < hb_conns; i++)
				conn_open(&hs[i], ROLE_HB, true);
			hb_t0 = now;
		}
		if (hb_t0)
			claim_heartbeats(hs, hb_conns, names, nworkers, hb_t0, &hb_next, jrt_now_s());
		if (!cs.cpu_from && now >= cs.window_from) {
			if (bench_stat_ticks(stat, &cs.cpu_from) < 0)
				bench_die("daemon stat");
			cs.self_from = self_cpu_s();
			loop_turns(turns_from);
		}
		if (now >= cs.window_to) {
			if (bench_stat_ticks(stat, &cs.cpu_to) < 0)
				bench_die("daemon stat");
			cs.self_to = self_cpu_s();
			loop_turns(turns_to);
			break;
		}
	}
	f.rate = (double)cs.in_window / seconds;
	f.completed = cs.in_window;
	f.cpu_us = cs.in_window ? bench_ticks_us(cs.cpu_to - cs.cpu_from) / (double)cs.in_window : 0;
	f.daemon_busy = bench_ticks_us(cs.cpu_to - cs.cpu_from) / 1e6 / seconds;
	f.driver_busy = (cs.self_to - cs.self_from) / seconds;
	f.p50_ms = cs.nlat ? bench_percentile(cs.lat, (int)cs.nlat, 0.5) : 0;
	f.p99_ms = cs.nlat ? bench_percentile(cs.lat, (int)cs.nlat, 0.99) : 0;
	f.hb_answered = cs.nhb;
	f.hb_p99_ms = cs.nhb ? bench_percentile(cs.hb_lat, (int)cs.nhb, 0.99) : 0;
	f.hb_max_ms = cs.nhb ? cs.hb_lat[cs.nhb - 1] : 0;	/* sorted */
	f.turns = turns_to[0] < 0 ? -1 : turns_to[0] - turns_from[0];
	f.turns_2ms = turns_to[1] < 0 ? -1 : turns_to[1] - turns_from[1];
	f.turns_5ms = turns_to[2] < 0 ? -1 : turns_to[2] - turns_from[2];
	for (int i = 0; i <= nworkers; i++)
		conn_done(&ws[i]);
	for (int i = 0; hb_t0 && i < hb_conns; i++)
		conn_done(&hs[i]);
	ur_close();
	daemon_down();
	free(cs.lat);
	free(cs.hb_lat);
	free(names);
	free(hs);
	free(ws);
	return f;
}

/* --- heartbeats ------------------------------------------------------------------------ */

struct hb_run {
	double p50_ms, p99_ms, max_ms, gap_max_s, lag_max_ms;
	uint64_t answered, registered, unhealthy;
};

/* One request on a fresh client: the answer's body (to free), its status. */
static int ask(const char *method, const char *path, const char *body, char **resp)
{
	struct jr_client *c;
	int rc;

	if (jr_client_open(&c, d.sock) < 0)
		bench_die("connect");
	rc = jr_client_request(c, method, path, body, body ? strlen(body) : 0, resp, NULL);
	jr_client_close(c);
	return rc;
}

/* Register up to want workers, REG_CONNS registrations in flight; stops at
 * the first refusal (a registry smaller than want). Names into names. */
#define REG_CONNS 64
static uint32_t register_many(uint32_t want, char (*names)[24])
{
	struct wconn *cs_ = calloc(REG_CONNS, sizeof(*cs_));
	struct epoll_event evs[REG_CONNS];
	uint32_t sent = 0, done = 0, ok = 0, inflight = 0;
	bool refused = false;
	char reg[64];

	for (int i = 0; i < REG_CONNS; i++)
		conn_open(&cs_[i], ROLE_HB, false);
	for (int i = 0; i < REG_CONNS && sent < want; i++, sent++, inflight++) {
		int n = snprintf(reg, sizeof(reg), "{\"name\":\"hb-%u\"}", sent);
		sendf(&cs_[i], "POST", "/workers/register", reg, (size_t)n);
	}
	while (inflight) {
		int n = epoll_wait(ep, evs, REG_CONNS, 10000);
		if (n <= 0)
			bench_die("no answer to a registration for 10 s");
		for (int i = 0; i < n; i++) {
			struct wconn *c = evs[i].data.ptr;
			struct resp r;
			if (!conn_read(c))
				bench_die("register: closed");
			while (resp_ready(c, &r)) {
				inflight--;
				done++;
				if (r.status == 201 && json_str(&r, "worker_id", names[ok], 24))
					ok++;
				else if (r.status == 503)
					refused = true;
				else
					unexpected("register", &r);
				resp_consume(c, &r);
				if (!refused && sent < want) {
					int len = snprintf(reg, sizeof(reg), "{\"name\":\"hb-%u\"}", sent++);
					sendf(c, "POST", "/workers/register", reg, (size_t)len);
					inflight++;
				}
			}
		}
	}
	for (int i = 0; i < REG_CONNS; i++) {
		epoll_ctl(ep, EPOLL_CTL_DEL, cs_[i].fd, NULL);
		conn_done(&cs_[i]);
	}
	free(cs_);
	(void)done;
	return ok;
}

static uint64_t count_unhealthy(void)
{
	char *resp = NULL;
	uint64_t n = 0;

	if (ask("GET", "/workers?status=unhealthy", NULL, &resp) != 200)
		bench_die("GET /workers");
	for (const char *p = resp; (p = strstr(p, "\"worker_id\"")); p++)
		n++;
	free(resp);
	return n;
}

static void hb_send(struct wconn *c, uint32_t w, char (*names)[24], double now)
{
	char path[64];

	if (c->fifo_len == FIFO_CAP) {
		fprintf(stderr, "bench/workers: %u heartbeats unanswered on one connection\n", FIFO_CAP);
		exit(1);
	}
	snprintf(path, sizeof(path), "/workers/%s/heartbeat", names[w]);
	sendf(c, "POST", path, NULL, 0);
	c->fifo_worker[(c->fifo_head + c->fifo_len) % FIFO_CAP] = w;
	c->fifo_at[(c->fifo_head + c->fifo_len++) % FIFO_CAP] = now;
}

static struct hb_run heartbeat_once(uint32_t want, int nconns, double seconds)
{
	char (*names)[24] = calloc(want, 24);
	struct wconn *hs = calloc((size_t)nconns, sizeof(*hs));
	double *last = calloc(want, sizeof(double)), *lat;
	size_t nlat = 0, cap = (size_t)(want * (seconds + 2));
	struct epoll_event evs[512];
	struct hb_run f = { 0 };
	uint64_t next = 0;
	uint32_t m;
	double t0, t1;

	lat = malloc(cap * sizeof(double));
	daemon_up(nconns + REG_CONNS);
	ep = epoll_create1(0);
	m = register_many(want, names);
	f.registered = m;
	for (int i = 0; i < nconns; i++)
		conn_open(&hs[i], ROLE_HB, false);
	t0 = jrt_now_s();
	for (uint32_t w = 0; w < m; w++)
		last[w] = t0;
	t1 = t0 + seconds;
	for (;;) {
		double now = jrt_now_s(), due;
		int inflight = 0;
		/* every heartbeat due by now: worker next % m at t0 + next / m */
		while ((due = t0 + (double)next / m) <= now && due < t1) {
			uint32_t w = (uint32_t)(next % m);
			if ((now - due) * 1e3 > f.lag_max_ms)
				f.lag_max_ms = (now - due) * 1e3;
			hb_send(&hs[w % (uint32_t)nconns], w, names, now);
			next++;
		}
		for (int i = 0; i < nconns; i++)
			inflight += (int)hs[i].fifo_len;
		if (due >= t1 && !inflight)
			break;
		int wait_ms = due < t1 ? (int)((due - now) * 1e3) : 1000;
		int n = epoll_wait(ep, evs, 512, wait_ms < 0 ? 0 : wait_ms);
		if (n < 0)
			bench_die("epoll_wait");
		now = jrt_now_s();
		if (n == 0 && due >= t1 && now - t1 > 30)
			bench_die("heartbeats unanswered 30 s after the end");
		for (int i = 0; i < n; i++) {
			struct wconn *c = evs[i].data.ptr;
			struct resp r;
			if (!conn_read(c))
				bench_die("heartbeat: closed");
			while (resp_ready(c, &r)) {
				uint32_t w = c->fifo_worker[c->fifo_head];
				double at = c->fifo_at[c->fifo_head];
				if (r.status != 200)
					unexpected("heartbeat", &r);
				c->fifo_head = (c->fifo_head + 1) % FIFO_CAP;
				c->fifo_len--;
				if (nlat < cap)
					lat[nlat++] = (now - at) * 1e3;
				if (now - last[w] > f.gap_max_s)
					f.gap_max_s = now - last[w];
				last[w] = now;
				resp_consume(c, &r);
			}
		}
	}
	f.answered = nlat;
	f.unhealthy = count_unhealthy();
	for (size_t i = 0; i < nlat; i++)
		f.max_ms = lat[i] > f.max_ms ? lat[i] : f.max_ms;
	f.p50_ms = nlat ? bench_percentile(lat, (int)nlat, 0.5) : 0;
	f.p99_ms = nlat ? bench_percentile(lat, (int)nlat, 0.99) : 0;
	for (int i = 0; i < nconns; i++)
		conn_done(&hs[i]);
	close(ep);
	daemon_down();
	free(lat);
	free(last);
	free(hs);
	free(names);
	return f;
}

/* --- main ------------------------------------------------------------------------------ */

static int cmp_run(const void *a, const void *b)
{
	double x = ((const struct claim_run *)a)->rate, y = ((const struct claim_run *)b)->rate;

	return (x > y) - (x < y);
}

static int cmp_hb(const void *a, const void *b)
{
	double x = ((const struct hb_run *)a)->p99_ms, y = ((const struct hb_run *)b)->p99_ms;

	return (x > y) - (x < y);
}

#define RUNS_MAX 15

/* Runs of nworkers, the median by rate, each run printed. */
static struct claim_run claim_median(int nworkers, double seconds, int runs, bool claim_next)
{
	struct claim_run r[RUNS_MAX];

	for (int i = 0; i < runs; i++) {
		r[i] = claim_once(nworkers, seconds, claim_next);
		printf("workers: claim%s run %d: %5d workers: %8.0f jobs/s, complete p50 %.2f ms, "
		       "p99 %.2f ms; daemon CPU %.1f us/job; their heartbeats (%llu) p99 %.2f ms, "
		       "max %.2f ms; busy: daemon %.2f, driver %.2f cores; loop turns %lld, "
		       "over 2 ms %lld, over 5 ms %lld\n",
		       claim_next ? " (complete?claim=1)" : "", i + 1, nworkers, r[i].rate,
		       r[i].p50_ms, r[i].p99_ms, r[i].cpu_us, (unsigned long long)r[i].hb_answered,
		       r[i].hb_p99_ms, r[i].hb_max_ms, r[i].daemon_busy, r[i].driver_busy,
		       (long long)r[i].turns, (long long)r[i].turns_2ms, (long long)r[i].turns_5ms);
		fflush(stdout);
	}
	qsort(r, (size_t)runs, sizeof(r[0]), cmp_run);
	return r[runs / 2];
}

int main(int argc, char **argv)
{
	int n = (int)jrt_env_u64("JR_WORKERS_N", 4000);
	uint32_t hb = (uint32_t)jrt_env_u64("JR_WORKERS_HB", 10000);
	int hb_conns = (int)jrt_env_u64("JR_WORKERS_HB_CONNS", 100);
	double seconds = (double)jrt_env_u64("JR_WORKERS_SECONDS", 5);
	int runs = (int)jrt_env_u64("JR_WORKERS_RUNS", 3);
	const char *phases = getenv("JR_WORKERS_PHASES");
	int bad = 0;

	(void)argc;
	phases = phases ? phases : "claim,heartbeat";
	runs = runs < 1 ? 1 : runs > RUNS_MAX ? RUNS_MAX : runs;
	raise_nofile(n + hb_conns + REG_CONNS + 64);
	signal(SIGPIPE, SIG_IGN);
	build_submit_body();
	bench_daemon_init(&d, argv[0], "bench-workers", NULL);
	if (getenv("JR_WORKERS_DAEMON"))
		printf("workers: daemon %s\n", getenv("JR_WORKERS_DAEMON"));
	pin_plan();
	if (strstr(phases, "claim")) {
		struct claim_run one = { 0 };
		if (jrt_env_u64("JR_WORKERS_BASELINE", 1))
			one = claim_median(1, seconds, runs, false);
		struct claim_run many = claim_median(n, seconds, runs, false);
		printf("workers: claim->complete, medians of %d runs of %.0f s:\n"
		       "workers:   %5d workers: %8.0f jobs/s, complete p50 %.2f ms, p99 %.2f ms, "
		       "%.1f us/job\n"
		       "workers:   %5d worker : %8.0f jobs/s, complete p50 %.2f ms, p99 %.2f ms, "
		       "%.1f us/job (baseline: one round trip at a time)\n"
		       "workers:   ratio %.1fx; targets >= 50000 jobs/s, p99 <= 10 ms: %s\n",
		       runs, seconds, n, many.rate, many.p50_ms, many.p99_ms, many.cpu_us, 1, one.rate,
		       one.p50_ms, one.p99_ms, one.cpu_us, one.rate > 0 ? many.rate / one.rate : 0,
		       many.rate >= 50000 && many.p99_ms <= 10 ? "met" : "missed");
		fflush(stdout);
		if (jrt_env_u64("JR_WORKERS_CLAIM_NEXT", 1)) {
			struct claim_run next = claim_median(n, seconds, runs, true);
			printf("workers:   %5d workers, complete?claim=1 (a busy worker's one request "
			       "a job): %8.0f jobs/s, complete p50 %.2f ms, p99 %.2f ms, %.1f us/job; "
			       "%.2fx the two-request figure; targets >= 50000 jobs/s, p99 <= 10 ms: "
			       "%s\n", n, next.rate, next.p50_ms, next.p99_ms, next.cpu_us,
			       many.rate > 0 ? next.rate / many.rate : 0,
			       next.rate >= 50000 && next.p99_ms <= 10 ? "met" : "missed");
			fflush(stdout);
		}
	}
	if (strstr(phases, "heartbeat")) {
		struct hb_run r[RUNS_MAX];
		for (int i = 0; i < runs; i++) {
			r[i] = heartbeat_once(hb, hb_conns, seconds);
			printf("workers: heartbeat run %d: %llu workers at 1/s on %d connections: "
			       "p50 %.2f ms, p99 %.2f ms, max %.2f ms; longest gap %.2f s; "
			       "%llu unhealthy; driver late by %.1f ms at most\n", i + 1,
			       (unsigned long long)r[i].registered, hb_conns, r[i].p50_ms, r[i].p99_ms,
			       r[i].max_ms, r[i].gap_max_s, (unsigned long long)r[i].unhealthy,
			       r[i].lag_max_ms);
			fflush(stdout);
			bad |= r[i].unhealthy != 0;
		}
		qsort(r, (size_t)runs, sizeof(r[0]), cmp_hb);
		printf("workers: heartbeats, median of %d runs: %llu workers, p99 %.2f ms, "
		       "%llu falsely unhealthy; targets p99 <= 10 ms, none unhealthy: %s\n", runs,
		       (unsigned long long)r[runs / 2].registered, r[runs / 2].p99_ms,
		       (unsigned long long)r[runs / 2].unhealthy,
		       r[runs / 2].p99_ms <= 10 && !bad ? "met" : "missed");
	}
	jrt_daemon_remove(&d);
	return bad;
}
