/*
 * main.c - jobringd: options, directories, the engine, the API and the
 * control socket; SIGTERM or SIGINT stops it gracefully (stop accepting,
 * give running jobs --grace seconds, cancel the rest, exit 0). Exit codes
 * are in docs/man/jobringd.8.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "server.h"
#include "units.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_IN_USE = 3 };

struct daemon_opts {
	char socket[256];
	char state_dir[256];
	char output_dir[300];
	struct jr_engine_opts engine;
	struct server_opts server;
	uint64_t heartbeat_timeout_ms;
	uint32_t grace_s;
	bool paused;
};

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_line(const char *fmt, ...)
{
	char t[40];
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	jr_format_rfc3339((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, t, sizeof(t));
	fprintf(stderr, "jobringd %s ", t);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: jobringd [options]\n"
"  --socket PATH          control socket (default $XDG_RUNTIME_DIR/jobring/jobring.sock;\n"
"                         /run/jobring/jobring.sock as root)\n"
"  --state-dir DIR        job output and state (default $XDG_STATE_HOME/jobring;\n"
"                         /var/lib/jobring as root)\n"
"  --workers N            command jobs started at once, at most (default: one per core)\n"
"  --topology SYNTHETIC   model a host (hwloc synthetic, e.g. \"package:2 core:8 pu:1\")\n"
"  --memory SIZE          memory per NUMA node to schedule (e.g. 64G)\n"
"  --gpus N               GPUs per NUMA node\n"
"  --resources LIST       counted resources, \"licenses=5,scratch=100\"\n"
"  --capabilities LIST    labels this host offers, \"avx512,ib\"\n"
"  --capacity N           job table slots (default 1048576)\n"
"  --max-request SIZE     largest request body (default 64M; 413 beyond)\n"
"  --max-connections N    (default 4096)\n"
"  --request-timeout SEC  a request must arrive within this (default 30)\n"
"  --idle-timeout SEC     idle keep-alive connections close (default 300)\n"
"  --heartbeat-timeout SEC  external workers silent this long are lost (default 30)\n"
"  --grace SEC            on SIGTERM, running jobs get this long (default 30)\n"
"  --socket-mode MODE     octal file mode of the socket (default 0600)\n"
"  --socket-group GROUP   group of the socket (with --socket-mode 0660)\n"
"  --paused               accept jobs but start none until restarted without it\n"
"  --foreground           stay in the foreground (always; for init systems)\n"
"  --help, --version\n");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[300];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static void default_paths(struct daemon_opts *d)
{
	const char *run = getenv("XDG_RUNTIME_DIR"), *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (getuid() == 0) {
		snprintf(d->socket, sizeof(d->socket), "/run/jobring/jobring.sock");
		snprintf(d->state_dir, sizeof(d->state_dir), "/var/lib/jobring");
		return;
	}
	if (run && *run)
		snprintf(d->socket, sizeof(d->socket), "%s/jobring/jobring.sock", run);
	else
		snprintf(d->socket, sizeof(d->socket), "/tmp/jobring-%u/jobring.sock", getuid());
	if (state && *state)
		snprintf(d->state_dir, sizeof(d->state_dir), "%s/jobring", state);
	else
		snprintf(d->state_dir, sizeof(d->state_dir), "%s/.local/state/jobring",
			 home ? home : "/tmp");
}

static bool seconds_opt(const char *arg, uint64_t *ms)
{
	return jr_parse_duration_ms(arg, ms) == 0;
}

static int parse_number(const char *arg, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || end == arg || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

enum {
	O_SOCKET = 256, O_STATE, O_WORKERS, O_TOPOLOGY, O_MEMORY, O_GPUS, O_RESOURCES,
	O_CAPS, O_CAPACITY, O_MAXREQ, O_MAXCONN, O_REQTO, O_IDLETO, O_HBTO, O_GRACE,
	O_MODE, O_GROUP, O_PAUSED, O_FOREGROUND, O_HELP, O_VERSION,
};

static const struct option long_opts[] = {
	{ "socket", 1, NULL, O_SOCKET }, { "state-dir", 1, NULL, O_STATE },
	{ "workers", 1, NULL, O_WORKERS }, { "topology", 1, NULL, O_TOPOLOGY },
	{ "memory", 1, NULL, O_MEMORY }, { "gpus", 1, NULL, O_GPUS },
	{ "resources", 1, NULL, O_RESOURCES }, { "capabilities", 1, NULL, O_CAPS },
	{ "capacity", 1, NULL, O_CAPACITY }, { "max-request", 1, NULL, O_MAXREQ },
	{ "max-connections", 1, NULL, O_MAXCONN }, { "request-timeout", 1, NULL, O_REQTO },
	{ "idle-timeout", 1, NULL, O_IDLETO }, { "heartbeat-timeout", 1, NULL, O_HBTO },
	{ "grace", 1, NULL, O_GRACE }, { "socket-mode", 1, NULL, O_MODE },
	{ "socket-group", 1, NULL, O_GROUP }, { "paused", 0, NULL, O_PAUSED },
	{ "foreground", 0, NULL, O_FOREGROUND }, { "help", 0, NULL, O_HELP },
	{ "version", 0, NULL, O_VERSION }, { NULL, 0, NULL, 0 },
};

/* One option; false on a bad value. */
static bool apply_opt(struct daemon_opts *d, int c, const char *arg)
{
	uint64_t v;
	struct group *g;

	switch (c) {
	case O_SOCKET: return (size_t)snprintf(d->socket, sizeof(d->socket), "%s", arg) < sizeof(d->socket);
	case O_STATE: return (size_t)snprintf(d->state_dir, sizeof(d->state_dir), "%s", arg) < 200;
	case O_WORKERS: return parse_number(arg, &d->engine.runner_threads) == 0;
	case O_TOPOLOGY: d->engine.topology = arg; return true;
	case O_MEMORY: return jr_parse_size_bytes(arg, &d->engine.mem_per_node) == 0;
	case O_GPUS: return parse_number(arg, &d->engine.gpus_per_node) == 0;
	case O_RESOURCES: d->engine.custom_resources = arg; return true;
	case O_CAPS: d->engine.capabilities = arg; return true;
	case O_CAPACITY: return parse_number(arg, &d->engine.capacity) == 0;
	case O_MAXREQ: return jr_parse_size_bytes(arg, &v) == 0 && (d->server.max_request_bytes = v) > 0;
	case O_MAXCONN: return parse_number(arg, &d->server.max_connections) == 0 &&
			       d->server.max_connections > 0;
	case O_REQTO: return seconds_opt(arg, &v) && (d->server.request_timeout_ms = (uint32_t)v) > 0;
	case O_IDLETO: return seconds_opt(arg, &v) && (d->server.idle_timeout_ms = (uint32_t)v) > 0;
	case O_HBTO: return seconds_opt(arg, &d->heartbeat_timeout_ms) && d->heartbeat_timeout_ms > 0;
	case O_GRACE: return seconds_opt(arg, &v) && ((d->grace_s = (uint32_t)(v / 1000)), true);
	case O_MODE: d->server.mode = (unsigned)strtoul(arg, NULL, 8); return d->server.mode <= 0777;
	case O_GROUP:
		g = getgrnam(arg);
		if (g)
			d->server.group = g->gr_gid;
		return g != NULL;
	case O_PAUSED: d->paused = true; return true;
	case O_FOREGROUND: return true;
	}
	return false;
}

static int parse_args(int argc, char **argv, struct daemon_opts *d)
{
	int c;

	memset(d, 0, sizeof(*d));
	jr_engine_opts_init(&d->engine);
	d->server = (struct server_opts){ .mode = 0600, .group = (gid_t)-1,
		.max_connections = 4096, .max_request_bytes = 64u << 20,
		.request_timeout_ms = 30000, .idle_timeout_ms = 300000, .tick_ms = 100 };
	d->heartbeat_timeout_ms = 30000;
	d->grace_s = 30;
	default_paths(d);
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == O_VERSION) {
			printf("jobringd %d.%d\n", JR_VERSION_MAJOR, JR_VERSION_MINOR);
			exit(0);
		}
		if (c == '?' || !apply_opt(d, c, optarg)) {
			if (c != '?')
				fprintf(stderr, "jobringd: bad value for --%s: %s\n",
					long_opts[c - O_SOCKET].name, optarg);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobringd: unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* Signals go to the server's signalfd: blocked in every thread, which
 * inherit the mask from here. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int prepare_dirs(struct daemon_opts *d)
{
	char parent[256];
	char *slash;
	int rc;

	snprintf(parent, sizeof(parent), "%s", d->socket);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if ((rc = mkdir_p(parent, 0700)) < 0) {
			fprintf(stderr, "jobringd: cannot create %s: %s\n", parent, strerror(-rc));
			return rc;
		}
	}
	if ((rc = mkdir_p(d->state_dir, 0700)) < 0) {
		fprintf(stderr, "jobringd: cannot create %s: %s\n", d->state_dir, strerror(-rc));
		return rc;
	}
	snprintf(d->output_dir, sizeof(d->output_dir), "%s/output", d->state_dir);
	/* Root's jobs run as their users, who read their output through the
	 * daemon (GET /jobs/{id}/logs); the files are theirs, the directory
	 * root's. */
	if ((rc = mkdir_p(d->output_dir, 0711)) < 0)
		fprintf(stderr, "jobringd: cannot create %s: %s\n", d->output_dir, strerror(-rc));
	return rc;
}

/* After the socket closed: running jobs get grace_s to finish. */
static void wait_for_running(struct jr_engine *e, uint32_t grace_s)
{
	struct timespec pause = { 0, 50000000 };
	struct jr_stats st;

	for (uint32_t i = 0; i < grace_s * 20; i++) {
		if (jr_engine_stats(e, &st) < 0 || st.running == 0)
			return;
		nanosleep(&pause, NULL);
	}
	log_line("grace period over: cancelling %llu running jobs", (unsigned long long)st.running);
}

static int serve(struct daemon_opts *d, struct jr_engine *e)
{
	struct api api;
	struct server *srv;
	struct server_ops ops = { api_handle, api_tick, &api };
	int rc = api_init(&api, e, d->engine.capacity ? d->engine.capacity : JR_CAPACITY_DEFAULT,
			  d->heartbeat_timeout_ms, d->engine.capabilities);

	if (rc < 0)
		return EXIT_RUNTIME;
	d->server.path = d->socket;
	rc = server_open(&srv, &d->server, &ops);
	if (rc < 0) {
		fprintf(stderr, "jobringd: cannot listen on %s: %s\n", d->socket, strerror(-rc));
		api_destroy(&api);
		return rc == -EADDRINUSE ? EXIT_IN_USE : EXIT_RUNTIME;
	}
	api.server = srv;
	log_line("listening on %s (mode %04o), state in %s, pid %d", d->socket, d->server.mode,
		 d->state_dir, (int)getpid());
	rc = server_run(srv);
	log_line("stopping: no new requests; running jobs have %us", d->grace_s);
	server_close(srv);
	wait_for_running(e, d->grace_s);
	api_destroy(&api);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	struct daemon_opts d;
	struct jr_engine *e;
	int rc;

	if (parse_args(argc, argv, &d) < 0)
		return EXIT_USAGE;
	if (prepare_dirs(&d) < 0)
		return EXIT_RUNTIME;
	raise_fd_limit();
	block_signals();
	d.engine.state_dir = d.output_dir;
	d.engine.workers = 1;	/* function jobs: the daemon runs none */
	/* Each command job keeps a 64-byte record and its name in the arena. */
	d.engine.arena_bytes = (uint64_t)(d.engine.capacity ? d.engine.capacity :
							    JR_CAPACITY_DEFAULT) * 128;
	d.engine.flags |= d.paused ? JR_ENGINE_START_PAUSED : 0;
	rc = jr_engine_open(&e, &d.engine);
	if (rc < 0) {
		fprintf(stderr, "jobringd: cannot start the engine: %s\n", strerror(-rc));
		return EXIT_RUNTIME;
	}
	rc = serve(&d, e);
	jr_engine_close(e, JR_CLOSE_CANCEL);
	log_line("stopped");
	return rc;
}
