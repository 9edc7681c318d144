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

/* --- daemons that are killed and restarted, and what they leave -------------------------- */
/* (bench/drain and bench/restart; static inline, so that the benchmarks
 * that use none of it build without unused-function warnings.) */

/* As bench_daemon_init, with the scratch directory under parent (on a
 * disk: /var/tmp, say; /tmp may be tmpfs). */
static inline void bench_daemon_init_in(struct bench_daemon *d, const char *argv0,
					const char *name, const char *parent)
{
	char self[PATH_MAX - 64];

	snprintf(self, sizeof(self), "%s", argv0);
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(d->path, sizeof(d->path), "%s/../jobringd", slash ? self : ".");
	if ((size_t)snprintf(d->dir, sizeof(d->dir), "%s/jr-bench-%s-XXXXXX", parent, name) >=
	    sizeof(d->dir) - 16) {
		fprintf(stderr, "bench: %s: too long a path for a socket\n", parent);
		exit(1);
	}
	if (!mkdtemp(d->dir))
		bench_die("mkdtemp");
	snprintf(d->sock, sizeof(d->sock), "%s/s.sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	signal(SIGPIPE, SIG_IGN);
}

/* Start jobringd with --socket and --state-dir and exactly the options in
 * extra (NULL-terminated; nothing else: its defaults otherwise); its
 * stderr is appended to DIR/daemon.log. Returns at once: see
 * bench_daemon_ready(). */
static inline pid_t bench_daemon_spawn(const struct bench_daemon *d, const char *const *extra)
{
	const char *argv[40] = { "jobringd", "--socket", d->sock, "--state-dir", d->state };
	int n = 5;
	pid_t pid;

	while (extra && *extra && n < 38)
		argv[n++] = *extra++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		char log[200];
		snprintf(log, sizeof(log), "%s/daemon.log", d->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		dup2(null, 1);
		execv(d->path, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0)
		bench_die("fork");
	return pid;
}

/* GET /health on a fresh connection: the HTTP status (or -errno), the
 * body in *resp (free it). */
static inline int bench_health(const struct bench_daemon *d, char **resp)
{
	struct jr_client *c;
	int rc;

	*resp = NULL;
	if ((rc = jr_client_open(&c, d->sock)) < 0)
		return rc;
	rc = jr_client_request(c, "GET", "/health", NULL, 0, resp, NULL);
	jr_client_close(c);
	return rc;
}

/* A number in /health's JSON ("running", "queued", "adopted", ...): the
 * first member of that name; -1 if there is none. */
static inline long long bench_json_num(const char *json, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\"%s\":", key);
	p = json ? strstr(json, want) : NULL;
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

/* Until the daemon pid answers GET /health with 200: 0, with the seconds
 * since t0 in *took; -1 if it exited first (*pid is then 0: it refused its
 * options or its state directory, see its log) or timeout_s passed. */
static inline int bench_daemon_ready(const struct bench_daemon *d, pid_t *pid, double t0,
				     double timeout_s, double *took)
{
	for (;;) {
		char *resp;
		int rc = bench_health(d, &resp);
		free(resp);
		if (rc == 200) {
			*took = bench_now() - t0;
			return 0;
		}
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return -1;
		}
		if (bench_now() - t0 > timeout_s)
			return -1;
		usleep(500);
	}
}

/* Poll /health every interval_us until its key reaches at least want
 * (exactly, with exact): the seconds since t0, or -1 after timeout_s. */
static inline double bench_health_until(const struct bench_daemon *d, const char *key,
					long long want, bool exact, double t0, double timeout_s,
					unsigned interval_us)
{
	struct jr_client *c = NULL;

	for (;;) {
		char *resp = NULL;
		if (!c && jr_client_open(&c, d->sock) < 0)
			c = NULL;
		int rc = c ? jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL) : -1;
		long long v = rc == 200 ? bench_json_num(resp, key) : -1;
		free(resp);
		if (v == want || (!exact && v > want)) {
			jr_client_close(c);
			return bench_now() - t0;
		}
		if (bench_now() - t0 > timeout_s) {
			fprintf(stderr, "bench: /health \"%s\" is %lld after %.0f s, not %lld\n",
				key, v, timeout_s, want);
			if (c)
				jr_client_close(c);
			return -1;
		}
		usleep(interval_us);
	}
}

/* The keeper's pid (STATE/keeper.pid), 0 if there is none. */
static inline pid_t bench_keeper_pid(const struct bench_daemon *d)
{
	char path[160], line[32];

	snprintf(path, sizeof(path), "%s/keeper.pid", d->state);
	bench_read_line(path, line, sizeof(line));
	return (pid_t)atoi(line);
}

/* Reap every child that has ended. The benchmarks that use keepers are
 * subreapers (PR_SET_CHILD_SUBREAPER), so that a keeper whose daemon was
 * killed, and a job whose keeper is gone, end here and not as zombies of
 * an init that may not reap them. */
static inline void bench_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* The whole of a small /proc/PID file (cmdline, environ: NUL-separated). */
static inline size_t bench_proc_file(int pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while (n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

/* Live processes (zombies do not count) whose comm is comm (NULL: any) and
 * whose /proc/PID/file holds needle: each is sent sig (0: none); how
 * many there are. */
static inline int bench_procs_matching(const char *comm, const char *file, const char *needle,
				       int sig)
{
	static char buf[1 << 16];
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int count = 0;

	while (dir && (e = readdir(dir))) {
		int pid = atoi(e->d_name);
		char path[64], line[64], *p;
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		bench_read_line(path, line, sizeof(line));
		if (!(p = strrchr(line, ')')) || p[2] == 'Z' || p[2] == 'X')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		bench_read_line(path, line, sizeof(line));
		if (comm && strcmp(line, comm) != 0)
			continue;
		size_t n = bench_proc_file(pid, file, buf, sizeof(buf));
		if (!memmem(buf, n, needle, strlen(needle)))
			continue;
		if (sig)
			kill(pid, sig);
		count++;
	}
	if (dir)
		closedir(dir);
	return count;
}

/* After a part: the daemon killed, its state directory deleted, then
 * until its keeper has gone (it notices within a second and kills the
 * jobs it holds) and no process whose environment holds tag (jobs get
 * JR_BENCH_TAG=DIR) is left; what is left after 10 s is killed. Returns
 * the number of processes that had to be killed. */
static inline int bench_daemon_scrub(const struct bench_daemon *d, pid_t *pid, const char *tag)
{
	char cmd[200];
	int left = 0;

	if (*pid > 0)
		bench_daemon_stop(d, *pid, SIGKILL);
	*pid = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->state);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", d->state);
	for (int i = 0; i < 100; i++) {
		bench_reap();
		left = bench_procs_matching("jobring-keeper", "cmdline", d->state, 0) +
		       (tag ? bench_procs_matching(NULL, "environ", tag, 0) : 0);
		if (left == 0)
			return 0;
		usleep(100000);
	}
	bench_procs_matching("jobring-keeper", "cmdline", d->state, SIGKILL);
	if (tag)
		bench_procs_matching(NULL, "environ", tag, SIGKILL);
	usleep(100000);
	bench_reap();
	fprintf(stderr, "bench: %d processes (keeper, jobs) outlived %s by 10 s: killed\n", left,
		d->state);
	return left;
}

/* Lines of DIR/daemon.log that look wrong (errors, refusals, a keeper
 * gone, jobs lost): how many, and the first in first (size bytes). */
static inline int bench_log_problems(const struct bench_daemon *d, char *first, size_t size)
{
	static const char *const words[] = { "error", "Error", "cannot", "failed", "gone",
					     "lost and", "refus", "torn", "Bad file", "No space" };
	char path[200], line[1024];
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	first[0] = '\0';
	if (!(f = fopen(path, "r")))
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
