/*
 * options.c - jobringd's options and the directories they name (see
 * options.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/safedir.h"
#include "base/units.h"
#include "daemon/options.h"
#include "daemon/state/workers.h"
#include "exec/scratch.h"

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
"  --storage PATH=SIZE    a scratch filesystem and how much of it jobs may ask for\n"
"                         (\"/scratch=2T\"; repeatable, at most 4): a job asking\n"
"                         \"storage\" gets a directory there (JOBRING_SCRATCH)\n"
"  --capacity N           job table slots (default 1048576)\n"
"  --max-request SIZE     largest request body (default 64M; 413 beyond)\n"
"  --max-connections N    (default 4096; the last 64 kept for root and the owner)\n"
"  --max-connections-per-uid N  connections one uid may hold (default 256; not root\n"
"                         nor the owner)\n"
"  --max-buffered SIZE    input and output all connections may buffer together\n"
"                         (default 256M; at least twice --max-request)\n"
"  --request-timeout SEC  a request must arrive within this (default 30)\n"
"  --idle-timeout SEC     idle keep-alive connections close (default 300)\n"
"  --heartbeat-timeout SEC  external workers silent this long are lost (default 30)\n"
"  --max-workers N        external workers registered at once (default and at most\n"
"                         1048576; about 900 bytes of memory each number used)\n"
"  --worker-remove-after SEC  workers unhealthy this long are removed, their numbers\n"
"                         given again later (default 3600; 0: never)\n"
"  --grace DURATION       a drain (SIGUSR1, jobring shutdown --drain) waits this long\n"
"                         for running jobs, then cancels them (default 30s); SIGTERM\n"
"                         leaves them running for the next start to take back\n"
"  --kill-grace DURATION  a cancel or time limit sends SIGTERM, then SIGKILL this\n"
"                         much later (default 10s)\n"
"  --notify-backoff DURATION  a notification that failed is sent again this much\n"
"                         later, twice that after the next failure, ... up to 5m\n"
"                         (default 1s; 12 attempts)\n"
"  --no-cgroups           track jobs by process group only (no cgroup per job)\n"
"  --cgroup PATH          the cgroup v2 directory under which each job gets its own\n"
"                         (default: chosen, see jobringd(8))\n"
"  --no-keeper            start jobs from the daemon itself: they end with it\n"
"  --http ADDR:PORT       also serve the API and the dashboard over TCP (e.g.\n"
"                         127.0.0.1:8080), as the owner, to clients with the token\n"
"  --http-token-file F    the token --http requires (default STATE_DIR/http-token,\n"
"                         made 0600 with a random token when missing)\n"
"  --metrics-listen ADDR:PORT  plain HTTP serving GET /metrics only, for Prometheus\n"
"  --listen ADDR:PORT     also serve the API over TLS 1.3 to clients holding the\n"
"                         access file's key, as the owner (port 0: any)\n"
"  --access-file F        the access file --listen writes 0600 (address and key;\n"
"                         default STATE_DIR/access.json, its key kept if present)\n"
"  --tls-handshake-timeout SEC  a --listen handshake must end within this (default 10)\n"
"  --munge                also let --listen's clients without the key prove their uid\n"
"                         with a MUNGE credential (handled as that user); writes the\n"
"                         MUNGE access file, 0644 (no secret in it)\n"
"  --munge-socket PATH    munged's socket (default: libmunge's)\n"
"  --munge-access-file F  default STATE_DIR/access-munge.json; the certificate\n"
"                         clients pin is kept in STATE_DIR/listen.pem\n"
"  --socket-mode MODE     octal file mode of the socket (default 0600)\n"
"  --socket-group GROUP   group of the socket (with --socket-mode 0660)\n"
"  --paused               accept jobs but start none until restarted without it\n"
"  --private              users see only their own jobs and executions (root sees all)\n"
"  --sync MODE            always (default): answer a submission once it is on disk;\n"
"                         batch: answer at once, write every --sync-interval (a crash\n"
"                         may lose that much); none: never fdatasync (a power cut may\n"
"                         lose acknowledged jobs)\n"
"  --sync-interval MS     with --sync batch; with always, how long job starts and\n"
"                         ends (which no answer waits for) may wait (default 10ms)\n"
"  --segment-size SIZE    journal segment, preallocated (default 64M)\n"
"  --snapshot-every SIZE  compact once the journal grew by this (default 256M)\n"
"  --retain-finished N    finished jobs kept across restarts, newest first (default 1000000)\n"
"  --retain-age DURATION  finished jobs older than this are dropped (default 7d; 0: keep)\n"
"  --output-dir DIR       where job output files go (default STATE-DIR/output); owned by\n"
"                         the daemon's user, not writable by group or others\n"
"  --max-output SIZE      each job's stdout and stderr are cut to this (default 1G;\n"
"                         none: no cap); a job's \"max_output\" may only lower it\n"
"  --output-reserve SIZE  refuse submissions (507) while the output directory's disk\n"
"                         has less free than this (default 1%% of it, at most 256M)\n"
"  --priority-age N       a waiting command job gains N priority points per whole\n"
"                         minute since it was submitted (default 0: no aging)\n"
"  --fair-share-weight W  a user's jobs lose up to W points: W x the user's share of\n"
"                         all recent usage in core-seconds (default 0: no fair share)\n"
"  --fair-share-half-life DURATION  how fast usage is forgotten (default 7d)\n"
"  --foreground           stay in the foreground (always; for init systems)\n"
"  --help, --version\n");
}

/* A user's home from the password database when $HOME is unset. */
static const char *home_dir(char *buf, size_t size)
{
	struct passwd pw, *found = NULL;
	const char *home = getenv("HOME");

	if (home && *home == '/')
		return home;
	if (getpwuid_r(getuid(), &pw, buf, size, &found) == 0 && found && found->pw_dir[0] == '/')
		return found->pw_dir;
	return NULL;
}

/* Without $XDG_RUNTIME_DIR the socket goes to /tmp/jobring-UID, where the
 * CLI looks: made private, or refused if another user got there first
 * (prepare_dirs). The state never goes to a shared /tmp: $XDG_STATE_HOME,
 * else the home directory ($HOME, else the password database), else the
 * private /tmp/jobring-UID. */
static void default_paths(struct daemon_opts *d)
{
	const char *run = getenv("XDG_RUNTIME_DIR"), *state = getenv("XDG_STATE_HOME");
	char pwbuf[4096];
	const char *home = home_dir(pwbuf, sizeof(pwbuf));

	if (getuid() == 0) {
		snprintf(d->socket, sizeof(d->socket), "/run/jobring/jobring.sock");
		snprintf(d->state_dir, sizeof(d->state_dir), "/var/lib/jobring");
		return;
	}
	if (run && *run == '/')
		snprintf(d->socket, sizeof(d->socket), "%s/jobring/jobring.sock", run);
	else
		snprintf(d->socket, sizeof(d->socket), "/tmp/jobring-%u/jobring.sock", getuid());
	if (state && *state == '/')
		snprintf(d->state_dir, sizeof(d->state_dir), "%s/jobring", state);
	else if (home)
		snprintf(d->state_dir, sizeof(d->state_dir), "%s/.local/state/jobring", home);
	else
		snprintf(d->state_dir, sizeof(d->state_dir), "/tmp/jobring-%u/state", getuid());
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
	O_MAX_WORKERS,
	O_SYNC_MODE, O_SYNC_INTERVAL, O_SEGMENT, O_SNAPSHOT, O_RETAIN_N, O_RETAIN_AGE,
	O_NO_CGROUPS, O_CGROUP, O_NO_KEEPER, O_KILL_GRACE, O_PRIVATE,
	O_OUTPUT_DIR, O_MAX_OUTPUT, O_OUTPUT_RESERVE, O_MAXBUF, O_MAXCONN_UID,
	O_PRIO_AGE, O_FS_WEIGHT, O_FS_HALF_LIFE, O_STORAGE,
	O_WORKER_RM,
	O_HTTP, O_HTTP_TOKEN_FILE, O_METRICS_LISTEN,
	O_NOTIFY_BACKOFF,
	O_TLS_LISTEN, O_ACCESS_FILE, O_TLS_HANDSHAKE_TO,	/* issue 17 */
	O_MUNGE, O_MUNGE_SOCKET, O_MUNGE_ACCESS_FILE,
};

static const struct option long_opts[] = {
	{ "socket", 1, NULL, O_SOCKET }, { "state-dir", 1, NULL, O_STATE },
	{ "workers", 1, NULL, O_WORKERS }, { "topology", 1, NULL, O_TOPOLOGY },
	{ "memory", 1, NULL, O_MEMORY }, { "gpus", 1, NULL, O_GPUS },
	{ "resources", 1, NULL, O_RESOURCES }, { "capabilities", 1, NULL, O_CAPS },
	{ "capacity", 1, NULL, O_CAPACITY }, { "max-request", 1, NULL, O_MAXREQ },
	{ "max-connections", 1, NULL, O_MAXCONN }, { "request-timeout", 1, NULL, O_REQTO },
	{ "idle-timeout", 1, NULL, O_IDLETO }, { "heartbeat-timeout", 1, NULL, O_HBTO },
	{ "max-workers", 1, NULL, O_MAX_WORKERS },
	{ "grace", 1, NULL, O_GRACE }, { "socket-mode", 1, NULL, O_MODE },
	{ "socket-group", 1, NULL, O_GROUP }, { "paused", 0, NULL, O_PAUSED },
	{ "foreground", 0, NULL, O_FOREGROUND }, { "help", 0, NULL, O_HELP },
	{ "version", 0, NULL, O_VERSION }, { "sync", 1, NULL, O_SYNC_MODE },
	{ "sync-interval", 1, NULL, O_SYNC_INTERVAL }, { "segment-size", 1, NULL, O_SEGMENT },
	{ "snapshot-every", 1, NULL, O_SNAPSHOT }, { "retain-finished", 1, NULL, O_RETAIN_N },
	{ "retain-age", 1, NULL, O_RETAIN_AGE }, { "no-cgroups", 0, NULL, O_NO_CGROUPS },
	{ "cgroup", 1, NULL, O_CGROUP }, { "no-keeper", 0, NULL, O_NO_KEEPER },
	{ "kill-grace", 1, NULL, O_KILL_GRACE }, { "private", 0, NULL, O_PRIVATE },
	{ "output-dir", 1, NULL, O_OUTPUT_DIR }, { "max-output", 1, NULL, O_MAX_OUTPUT },
	{ "output-reserve", 1, NULL, O_OUTPUT_RESERVE }, { "max-buffered", 1, NULL, O_MAXBUF },
	{ "max-connections-per-uid", 1, NULL, O_MAXCONN_UID },
	{ "priority-age", 1, NULL, O_PRIO_AGE }, { "fair-share-weight", 1, NULL, O_FS_WEIGHT },
	{ "fair-share-half-life", 1, NULL, O_FS_HALF_LIFE }, { "storage", 1, NULL, O_STORAGE },
	{ "worker-remove-after", 1, NULL, O_WORKER_RM },
	{ "http", 1, NULL, O_HTTP }, { "http-token-file", 1, NULL, O_HTTP_TOKEN_FILE },
	{ "metrics-listen", 1, NULL, O_METRICS_LISTEN },
	{ "notify-backoff", 1, NULL, O_NOTIFY_BACKOFF },
	{ "listen", 1, NULL, O_TLS_LISTEN }, { "access-file", 1, NULL, O_ACCESS_FILE },
	{ "tls-handshake-timeout", 1, NULL, O_TLS_HANDSHAKE_TO },
	{ "munge", 0, NULL, O_MUNGE }, { "munge-socket", 1, NULL, O_MUNGE_SOCKET },
	{ "munge-access-file", 1, NULL, O_MUNGE_ACCESS_FILE },
	{ NULL, 0, NULL, 0 },
};

static bool sync_mode(const char *arg, enum sync_mode *out)
{
	static const char *names[] = { "always", "batch", "none" };

	for (int m = 0; m < 3; m++)
		if (strcmp(arg, names[m]) == 0) {
			*out = (enum sync_mode)m;
			return true;
		}
	return false;
}

static bool apply_journal_opt(struct daemon_opts *d, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case O_SYNC_MODE: return sync_mode(arg, &d->durable.sync);
	case O_SYNC_INTERVAL:
		return jr_parse_duration_ms(arg, &v) == 0 && v > 0 && v < 60000 &&
		       ((d->durable.interval_ms = (uint32_t)v), true);
	case O_SEGMENT:
		return jr_parse_size_bytes(arg, &d->durable.segment_bytes) == 0 &&
		       d->durable.segment_bytes >= 65536;
	case O_SNAPSHOT: return jr_parse_size_bytes(arg, &d->snapshot_every) == 0;
	case O_RETAIN_N: {
		uint32_t n;
		return parse_number(arg, &n) == 0 && ((d->keep.max_finished = n), true);
	}
	case O_RETAIN_AGE:
		return jr_parse_duration_ms(arg, &v) == 0 &&
		       ((d->keep.max_age_ns = v * JR_NS_PER_MS), true);
	}
	return false;
}

/* Where job output goes and how much of it. */
static bool apply_output_opt(struct daemon_opts *d, int c, const char *arg)
{
	switch (c) {
	case O_OUTPUT_DIR:
		d->output_dir_given = true;
		return *arg == '/' &&
		       (size_t)snprintf(d->output_dir, sizeof(d->output_dir), "%s", arg) < 200;
	case O_MAX_OUTPUT:	/* "none": no cap (the engine's UINT64_MAX) */
		if (strcmp(arg, "none") == 0)
			return (d->engine.max_output_bytes = UINT64_MAX), true;
		return jr_parse_size_bytes(arg, &d->engine.max_output_bytes) == 0 &&
		       d->engine.max_output_bytes > 0;
	case O_OUTPUT_RESERVE: return jr_parse_size_bytes(arg, &d->output_reserve) == 0;
	}
	return false;
}

/* Aging and fair share of command jobs (docs/DECISIONS.md). */
static bool apply_priority_opt(struct daemon_opts *d, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case O_PRIO_AGE: return parse_number(arg, &d->engine.priority_age_per_min) == 0;
	case O_FS_WEIGHT: return parse_number(arg, &d->engine.fair_share_weight) == 0;
	case O_FS_HALF_LIFE:
		return jr_parse_duration_ms(arg, &v) == 0 && v > 0 &&
		       ((d->engine.fair_share_half_life_ms = v), true);
	}
	return false;
}

/* --storage PATH=SIZE, repeatable (exec/scratch.h). */
static bool storage_opt(struct daemon_opts *d, const char *arg)
{
	char path[JR_SCRATCH_PATH_MAX];
	uint64_t bytes;

	if (d->storage_count == JR_STORAGE_MAX ||
	    jr_scratch_parse(arg, path, sizeof(path), &bytes) < 0)
		return false;
	d->storage[d->storage_count++] = (char *)(uintptr_t)arg;	/* argv's */
	d->engine.storage = d->storage;
	return true;
}

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
	case O_HTTP: d->server.http_listen = arg; return strchr(arg, ':') != NULL;
	case O_HTTP_TOKEN_FILE: d->http_token_file = arg; return true;
	case O_METRICS_LISTEN: d->server.metrics_listen = arg; return strchr(arg, ':') != NULL;
	case O_TLS_LISTEN: d->server.tls_listen = arg; return strchr(arg, ':') != NULL;
	case O_ACCESS_FILE:
		return (size_t)snprintf(d->access_file, sizeof(d->access_file), "%s", arg) <
		       sizeof(d->access_file);
	case O_MUNGE: d->server.munge = true; return true;
	case O_MUNGE_SOCKET: d->server.munge_socket = arg; return *arg == '/';
	case O_MUNGE_ACCESS_FILE:
		return (size_t)snprintf(d->munge_access_file, sizeof(d->munge_access_file), "%s",
					arg) < sizeof(d->munge_access_file);
	case O_TLS_HANDSHAKE_TO:
		return seconds_opt(arg, &v) && v > 0 && v <= UINT32_MAX &&
		       (d->server.tls_handshake_timeout_ms = (uint32_t)v) > 0;
	case O_MEMORY: return jr_parse_size_bytes(arg, &d->engine.mem_per_node) == 0;
	case O_GPUS: return parse_number(arg, &d->engine.gpus_per_node) == 0;
	case O_RESOURCES: d->engine.custom_resources = arg; return true;
	case O_CAPS: d->engine.capabilities = arg; return true;
	case O_CAPACITY: return parse_number(arg, &d->engine.capacity) == 0;
	case O_MAX_WORKERS: return parse_number(arg, &d->max_workers) == 0 &&
				   d->max_workers > 0 && d->max_workers <= WORKERS_MAX;
	case O_MAXREQ: return jr_parse_size_bytes(arg, &v) == 0 && (d->server.max_request_bytes = v) > 0;
	case O_MAXCONN: return parse_number(arg, &d->server.max_connections) == 0 &&
			       d->server.max_connections > 0;
	case O_MAXCONN_UID: return parse_number(arg, &d->server.max_connections_per_uid) == 0 &&
				   d->server.max_connections_per_uid > 0;
	case O_MAXBUF: return jr_parse_size_bytes(arg, &v) == 0 && v > 0 && v <= SIZE_MAX &&
			      ((d->server.max_buffered_bytes = (size_t)v), true);
	/* Kept in 32-bit milliseconds: up to 49 days, refused beyond. */
	case O_REQTO: return seconds_opt(arg, &v) && v > 0 && v <= UINT32_MAX &&
			     (d->server.request_timeout_ms = (uint32_t)v) > 0;
	case O_IDLETO: return seconds_opt(arg, &v) && v > 0 && v <= UINT32_MAX &&
			      (d->server.idle_timeout_ms = (uint32_t)v) > 0;
	case O_HBTO: return seconds_opt(arg, &d->heartbeat_timeout_ms) && d->heartbeat_timeout_ms > 0;
	case O_WORKER_RM: return seconds_opt(arg, &d->worker_remove_after_ms);
	case O_NOTIFY_BACKOFF:	/* issue 16 */
		return jr_parse_duration_ms(arg, &d->notify_backoff_ms) == 0 &&
		       d->notify_backoff_ms > 0;
	case O_GRACE: return seconds_opt(arg, &d->grace_ms);
	case O_KILL_GRACE:	/* 0 would mean the engine's default */
		return seconds_opt(arg, &v) && v > 0 && v <= UINT32_MAX &&
		       ((d->engine.kill_grace_ms = (uint32_t)v), true);
	case O_NO_CGROUPS: d->no_cgroups = true; return true;
	case O_NO_KEEPER: d->no_keeper = true; return true;
	case O_CGROUP: return (size_t)snprintf(d->cgroup, sizeof(d->cgroup), "%s", arg) < sizeof(d->cgroup);
	case O_MODE: d->server.mode = (unsigned)strtoul(arg, NULL, 8); return d->server.mode <= 0777;
	case O_GROUP:
		g = getgrnam(arg);
		if (g)
			d->server.group = g->gr_gid;
		return g != NULL;
	case O_PAUSED: d->paused = true; return true;
	case O_PRIVATE: d->private_jobs = true; return true;
	case O_FOREGROUND: return true;
	case O_OUTPUT_DIR: case O_MAX_OUTPUT: case O_OUTPUT_RESERVE:
		return apply_output_opt(d, c, arg);
	case O_PRIO_AGE: case O_FS_WEIGHT: case O_FS_HALF_LIFE:
		return apply_priority_opt(d, c, arg);
	case O_STORAGE: return storage_opt(d, arg);
	}
	return apply_journal_opt(d, c, arg);
}

int options_parse(int argc, char **argv, struct daemon_opts *d)
{
	int c;

	memset(d, 0, sizeof(*d));
	jr_engine_opts_init(&d->engine);
	d->server = (struct server_opts){ .mode = 0600, .group = (gid_t)-1,
		.max_connections = 4096, .max_request_bytes = 64 * JR_MIB,
		.request_timeout_ms = 30000, .idle_timeout_ms = 300000, .tick_ms = 100,
		.listen_fd = -1, .max_buffered_bytes = 256 * JR_MIB,
		.max_connections_per_uid = 256, .owner = geteuid() };
	d->heartbeat_timeout_ms = 30000;
	d->max_workers = WORKERS_MAX;
	d->worker_remove_after_ms = 3600000;
	d->grace_ms = 30000;
	d->durable = (struct durable_opts){ .sync = SYNC_ALWAYS, .interval_ms = 10,
					    .segment_bytes = 64 * JR_MIB };
	d->snapshot_every = 256 * JR_MIB;
	d->keep = (struct retention){ 1000000, 7 * 86400 * JR_NS_PER_SEC };
	d->engine.max_output_bytes = JR_MAX_OUTPUT_DEFAULT;
	d->output_reserve = UINT64_MAX;	/* 1% of the disk, at most 256M (output.h) */
	d->output_dirfd = -1;
	default_paths(d);
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == O_VERSION) {
			printf("jobringd %s\n", jr_version());
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
	if (d->server.max_buffered_bytes / 2 < d->server.max_request_bytes) {
		fprintf(stderr, "jobringd: --max-buffered must be at least twice --max-request\n");
		return -1;
	}
	if (d->server.munge && !d->server.tls_listen) {
		fprintf(stderr, "jobringd: --munge is for --listen's clients: give --listen ADDR:PORT\n");
		return -1;
	}
	return 0;
}

/* A relative --socket or --state-dir made absolute: the checks walk
 * from "/". false if it does not fit. */
static bool absolute(char *path, size_t size)
{
	char cwd[4096], rel[300];

	if (path[0] == '/')
		return true;
	if (!getcwd(cwd, sizeof(cwd)) || strlen(path) >= sizeof(rel))
		return false;
	snprintf(rel, sizeof(rel), "%s", path);
	return (size_t)snprintf(path, size, "%s/%s", cwd, rel) < size;
}

/* path made (missing components with mode) and checked: ours, not
 * writable by others, no link another user could have planted
 * (safedir.h). Its descriptor, or -errno after saying why. */
static int checked_dir(const char *what, const char *path, mode_t mode, unsigned flags)
{
	struct jr_safedir_error err;
	char msg[600];
	int fd = jr_safedir_open(path, mode, JR_SAFEDIR_CREATE | flags, &err);

	if (fd < 0)
		fprintf(stderr, "jobringd: refusing the %s %s: %s\n", what, path,
			jr_safedir_describe(fd, &err, msg, sizeof(msg)));
	return fd;
}

static int checked_dir_close(const char *what, const char *path, mode_t mode, unsigned flags)
{
	int fd = checked_dir(what, path, mode, flags);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* The socket's directory (made reachable by others when the socket's
 * mode lets them in; one of root's, or a sticky one like /tmp, will do:
 * nobody else can replace the socket there, and the CLI checks whose it
 * is), the state directory (held open: the lock file is opened in it),
 * its journal and output directories (ours and private). */
/* Each --storage filesystem's PATH/jobring (exec/scratch.h), checked here
 * so that a refusal names it and says why; the engine opens it again. */
static int storage_dirs(const struct daemon_opts *d)
{
	char path[JR_SCRATCH_PATH_MAX], dir[JR_SCRATCH_PATH_MAX + 16];
	uint64_t bytes;
	int rc;

	for (uint32_t i = 0; i < d->storage_count; i++) {
		if (jr_scratch_parse(d->storage[i], path, sizeof(path), &bytes) < 0)
			return -EINVAL;
		snprintf(dir, sizeof(dir), "%s/%s", strcmp(path, "/") ? path : "",
			 JR_SCRATCH_SUBDIR);
		if ((rc = checked_dir_close("storage directory", dir, 0711, 0)) < 0)
			return rc;
	}
	return 0;
}

/* --http's token (gate.h): the file --http-token-file names, or the
 * state directory's http-token, made when missing. */
static int load_http_token(struct daemon_opts *d)
{
	char path[300];
	bool made = !d->http_token_file;
	int rc;

	if (!d->server.http_listen)
		return 0;
	snprintf(path, sizeof(path), "%s", made ? "" : d->http_token_file);
	if (made)
		snprintf(path, sizeof(path), "%s/http-token", d->state_dir);
	if ((rc = gate_token_load(path, made, d->http_token, sizeof(d->http_token))) < 0) {
		fprintf(stderr, "jobringd: --http token file %s: %s\n", path,
			rc == -EPERM ? "readable by others (chmod 600 it)" :
			rc == -EINVAL ? "not a token (16 to 128 of A-Za-z0-9._~-)" : strerror(-rc));
		return rc;
	}
	d->server.http_token = d->http_token;
	return 0;
}

int options_prepare_dirs(struct daemon_opts *d)
{
	char parent[256];
	char *slash;
	int rc;

	if (!absolute(d->socket, sizeof(d->socket)) || !absolute(d->state_dir, 200)) {
		fprintf(stderr, "jobringd: the socket or state directory's path is too long\n");
		return -ENAMETOOLONG;
	}
	snprintf(parent, sizeof(parent), "%s", d->socket);
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (slash != parent &&
	    (rc = checked_dir_close("socket directory", parent,
				    (d->server.mode & 0077) ? 0755 : 0700,
				    JR_SAFEDIR_OWNER_ROOT | JR_SAFEDIR_STICKY_OK)) < 0)
		return rc;
	if ((d->state_fd = checked_dir("state directory", d->state_dir, 0700, 0)) < 0)
		return d->state_fd;
	if ((rc = load_http_token(d)) < 0)
		return rc;
	if (!d->access_file[0])	/* issue 17: --listen's access file */
		snprintf(d->access_file, sizeof(d->access_file), "%s/access.json", d->state_dir);
	d->server.access_file = d->access_file;
	if (!d->munge_access_file[0])
		snprintf(d->munge_access_file, sizeof(d->munge_access_file),
			 "%s/access-munge.json", d->state_dir);
	d->server.munge_access_file = d->munge_access_file;
	snprintf(d->listen_cert_file, sizeof(d->listen_cert_file), "%s/listen.pem", d->state_dir);
	d->server.listen_cert_file = d->listen_cert_file;
	if (!d->output_dir_given)
		snprintf(d->output_dir, sizeof(d->output_dir), "%s/output", d->state_dir);
	snprintf(d->journal_dir, sizeof(d->journal_dir), "%s/journal", d->state_dir);
	if ((rc = checked_dir_close("journal directory", d->journal_dir, 0700, 0)) < 0)
		return rc;
	/* Root's jobs run as their users, who read their output through the
	 * daemon (GET /jobs/{id}/logs); the files are theirs, the directory
	 * root's. Files are created in it by name (openat): nobody else may
	 * be able to put a link or a file there first. */
	if ((d->output_dirfd = checked_dir("output directory", d->output_dir, 0711, 0)) < 0)
		return d->output_dirfd;
	return storage_dirs(d);
}
