/*
 * main.c - jobringd: the keeper, the engine, the API and the control
 * socket, started from the options (options.h). SIGTERM or SIGINT stops
 * the daemon and leaves running jobs running under the keeper, for the
 * next start to take back (what a restart or an upgrade needs); SIGUSR1
 * or `jobring shutdown --drain` stops starting jobs, waits up to --grace
 * for the running ones, cancels what is left, then stops. Exit codes are in
 * docs/man/jobringd.8. `jobringd --keeper ...` is the keeper (keeper.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/api/alloc.h"
#include "daemon/api/api.h"
#include "daemon/api/notify.h"
#include "daemon/api/schedules.h"
#include "daemon/durable/durable.h"
#include "daemon/durable/recover.h"
#include "daemon/durable/snapshot.h"
#include "daemon/net/notify.h"
#include "daemon/net/server.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/state.h"
#include "exec/cgroup.h"
#include "exec/executor.h"
#include "exec/keeper.h"
#include "exec/outdir.h"
#include "daemon/options.h"

/* jemalloc's options for jobringd (docs/DECISIONS.md, "Transparent huge
 * pages for the daemon's heap"): its memory in transparent huge pages. A
 * queued job's heap is new memory, and on a virtual machine a fault per
 * 4 KiB page was most of the coordinator's time in a batch intake. The
 * library leaves the embedding program's allocator as it is; MALLOC_CONF
 * still overrides this. */
const char *malloc_conf = "thp:always,narenas:1";

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_IN_USE = 3 };

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_line(const char *fmt, ...)
{
	char t[40];
	va_list ap;

	jr_format_rfc3339(jr_now_realtime_ns(), t, sizeof(t));
	fprintf(stderr, "jobringd %s ", t);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
/* Signals go to the server's signalfd: blocked in every thread, which
 * inherit the mask from here. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}
/* Command jobs running now (local and external). */
static uint64_t running_jobs(struct jr_engine *e)
{
	struct jr_stats st;

	return jr_engine_stats(e, &st) == 0 ? st.running : 0;
}

/* Without a keeper the jobs are the daemon's children: a stop gives them
 * the grace, then cancels them (they run again at the next start). */
static void wait_for_running(struct jr_engine *e, uint64_t grace_ms)
{
	const uint64_t pause_ms = 50;
	uint64_t running = 0;

	for (uint64_t waited = 0;; waited += pause_ms) {
		if ((running = running_jobs(e)) == 0)
			return;
		if (waited >= grace_ms)
			break;
		jr_sleep_ns(pause_ms * JR_NS_PER_MS);
	}
	log_line("grace period over: stopping %llu running jobs (they run again at the next start)",
		 (unsigned long long)running);
}

/* The daemon's layers, and what the event loop's tick needs beyond
 * them: compaction and the drain. */
struct daemon {
	struct daemon_opts *opts;
	struct state st;		/* what the API serves */
	struct api api;
	struct server *server;
	struct durable *durable;
	uint64_t bytes_at_snapshot;
	struct snapshot *snap;		/* one being written in the background */
	const char *snap_why;
	int snap_fd;			/* its eventfd: more work for the loop */
	bool draining, drain_cancelled;
	uint64_t drain_deadline_ns;
};

/* The loop's share of a background snapshot per turn: short enough that
 * a request waits about a millisecond at most (issue 14: with 4 ms, every
 * request in flight while a snapshot ran waited up to 4 ms more a turn,
 * and complete's p99 at 4,000 workers went past 10 ms). */
#define SNAPSHOT_STEP_NS 1000000ull

static void log_snapshot(struct daemon *dm, const char *why, const struct snapshot_result *r)
{
	struct api_status *st = &dm->api.status;

	st->snapshotting = dm->snap != NULL;
	st->snapshots += r->rc == 0;
	st->snapshot_failures += r->rc < 0;
	st->snapshot_last_ms = r->ms;
	st->snapshot_last_loop_ms = r->loop_ms;
	if (r->rc < 0) {
		log_line("snapshot (%s) failed: %s; the journal keeps everything", why,
			 strerror(-r->rc));
		return;
	}
	log_line("snapshot (%s): %llu jobs, %llu bytes, covers seq %llu, %d journal segments "
		 "dropped, %llu finished jobs aged out, %.0f ms (%.0f ms of it on the event loop, "
		 "at most %.1f ms at once, in %s)",
		 why, (unsigned long long)r->jobs, (unsigned long long)r->bytes,
		 (unsigned long long)r->covers_seq, r->segments_dropped,
		 (unsigned long long)r->aged_out, r->ms, r->loop_ms, r->step_max_ms,
		 r->step_max_phase ? r->step_max_phase : "none");
}

static void snapshot_bytes_mark(struct daemon *dm)
{
	struct durable_stats st;

	durable_get_stats(dm->durable, &st);
	dm->bytes_at_snapshot = st.journal.bytes;
}

/* All at once: the daemon is stopping. One under way is dropped first. */
static void snapshot(struct daemon *dm, const char *why)
{
	struct snapshot_result r;

	snapshot_free(dm->snap);
	dm->snap = NULL;
	snapshot_write(&dm->st, dm->durable, dm->opts->state_dir, dm->opts->journal_dir,
		       &dm->opts->keep, &r);
	snapshot_bytes_mark(dm);
	log_snapshot(dm, why, &r);
}

static void snapshot_begin(struct daemon *dm, const char *why)
{
	snapshot_bytes_mark(dm);
	dm->snap_why = why;
	if (snapshot_start(&dm->snap, &dm->st, dm->durable, dm->opts->state_dir,
			   dm->opts->journal_dir, &dm->opts->keep, dm->snap_fd) < 0)
		log_line("cannot start a snapshot: no memory; the journal keeps everything");
	dm->api.status.snapshotting = dm->snap != NULL;
}

/* In the background: started when the journal has grown enough (or
 * POST /snapshot), then a step per turn of the loop. */
static void snapshot_tick(struct daemon *dm)
{
	struct snapshot_result r;
	struct durable_stats st;
	uint64_t v;

	if (read(dm->snap_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (dm->snap) {
		if (!snapshot_step(dm->snap, SNAPSHOT_STEP_NS, &r))
			return;
		snapshot_free(dm->snap);
		dm->snap = NULL;
		log_snapshot(dm, dm->snap_why, &r);
		return;
	}
	durable_get_stats(dm->durable, &st);
	if (dm->opts->snapshot_every &&
	    st.journal.bytes - dm->bytes_at_snapshot >= dm->opts->snapshot_every)
		snapshot_begin(dm, "journal grew");
}

static int snapshot_now(void *ctx)
{
	struct daemon *dm = ctx;

	if (dm->snap)
		return -EBUSY;
	snapshot_begin(dm, "asked for");
	return 0;
}

static void daemon_handle(void *ctx, const struct request *req, struct response *res)
{
	api_handle(&((struct daemon *)ctx)->api, req, res);
}

/* No job starts from now on; the loop stops once none runs, or, after
 * the grace, cancels what still does and then stops. */
static void start_drain(void *ctx, uint64_t grace_ms)
{
	struct daemon *dm = ctx;

	if (dm->draining)
		return;
	dm->draining = true;
	dm->drain_deadline_ns = jr_now_realtime_ns() + grace_ms * JR_NS_PER_MS;
	dm->api.status.draining = true;
	jr_engine_pause(dm->st.engine);
	log_line("draining: no job starts any more; %llu running get %llu ms, then are cancelled",
		 (unsigned long long)running_jobs(dm->st.engine), (unsigned long long)grace_ms);
}

static void stop_now(void *ctx)
{
	server_stop(((struct daemon *)ctx)->server);
}

static void daemon_signal(void *ctx, int signo)
{
	struct daemon *dm = ctx;

	if (signo == SIGUSR1)
		start_drain(dm, dm->opts->grace_ms);
}

/* Past the grace: every running job is cancelled, as a user's cancel is
 * (journaled), and the drain waits for them to end. */
static void drain_cancel(struct daemon *dm)
{
	struct jr_job_info info;
	uint64_t cursor = 0, n = 0;

	while (jr_job_scan(dm->st.engine, &cursor, 1u << JR_JOB_RUNNING, -1, &info) == 1) {
		struct rec_cancel rec = { .job_id = info.job_id, .uid = (uint32_t)getuid() };
		uint64_t seq = durable_log(dm->durable, REC_CANCEL, &rec, sizeof(rec), NULL, 0);
		durable_note_cancel(dm->durable, info.job_id);
		if (!durable_cancel_after(dm->durable, seq, info.job_id))
			jr_job_cancel(dm->st.engine, info.job_id);
		n++;
	}
	dm->drain_cancelled = true;
	log_line("drain: grace over, %llu running jobs cancelled", (unsigned long long)n);
}

static void drain_tick(struct daemon *dm, uint64_t now_ns)
{
	(void)now_ns;
	if (running_jobs(dm->st.engine) == 0) {
		log_line("drain: no job runs any more: stopping");
		server_stop(dm->server);
	} else if (!dm->drain_cancelled && jr_now_realtime_ns() >= dm->drain_deadline_ns) {
		drain_cancel(dm);
	}
}

/* Each turn of the loop, each layer in turn: the API's long polls and
 * workers, the journal's groups and held answers, systemd's watchdog,
 * the drain, a snapshot's next slice. */
static void daemon_tick(void *ctx, uint64_t now_ns)
{
	struct daemon *dm = ctx;

	api_tick(&dm->api, now_ns);
	output_space_check(&dm->st.output, jr_now_monotonic_ns());
	durable_turn(dm->durable, now_ns);
	notify_tick(now_ns);
	if (dm->draining)
		drain_tick(dm, now_ns);
	snapshot_tick(dm);
}

static void log_recovery(const struct recovery *r, struct jr_engine *e)
{
	struct jr_exec_info x;

	jr_engine_exec_info(e, &x);
	log_line("recovered %llu jobs (%llu to run, %llu of them running when the daemon stopped: "
		 "%llu taken back, %llu had ended meanwhile, %llu lost and run again; "
		 "%llu finished; %llu aged out; %llu unreadable) from %s%llu journal records "
		 "(%llu bytes, %u segments) in %.0f ms read + %.0f ms restore%s",
		 (unsigned long long)(r->restored_live + r->restored_final),
		 (unsigned long long)r->restored_live, (unsigned long long)r->requeued_lost,
		 (unsigned long long)x.adopted, (unsigned long long)x.ended_while_away,
		 (unsigned long long)x.lost,
		 (unsigned long long)r->restored_final, (unsigned long long)r->aged_out,
		 (unsigned long long)r->unreadable, r->snapshot_seq ? "a snapshot and " : "",
		 (unsigned long long)r->records, (unsigned long long)r->journal_bytes, r->segments,
		 r->read_ms, r->apply_ms, r->bytes_dropped ? "" : "; the journal was intact");
	if (r->bytes_dropped)
		log_line("the journal's tail was torn or corrupt: %llu bytes after seq %llu dropped "
			 "(never acknowledged) and cut away", (unsigned long long)r->bytes_dropped,
			 (unsigned long long)r->last_seq);
	if (r->outside_table)
		log_line("%llu journaled jobs do not fit --capacity and were not restored",
			 (unsigned long long)r->outside_table);
}

static int serve_loop(struct daemon *dm)
{
	struct daemon_opts *d = dm->opts;
	struct server_ops ops = { daemon_handle, daemon_tick, daemon_signal, dm };
	struct server *srv;
	int rc;

	d->server.path = d->socket;
	d->server.listen_fd = notify_listen_fd();	/* systemd's jobringd.socket */
	/* Records nobody waits for go within --sync-interval of a tick. */
	if (d->durable.sync != SYNC_NONE && d->durable.interval_ms < d->server.tick_ms)
		d->server.tick_ms = d->durable.interval_ms;
	rc = server_open(&srv, &d->server, &ops);
	if (rc < 0) {
		fprintf(stderr, "jobringd: cannot listen on %s: %s\n", d->socket, strerror(-rc));
		return rc == -EADDRINUSE ? EXIT_IN_USE : EXIT_RUNTIME;
	}
	dm->api.server = srv;
	dm->server = srv;
	durable_set_server(dm->durable, srv);
	server_watch_fd(srv, durable_event_fd(dm->durable));
	server_watch_fd(srv, dm->snap_fd);
	server_watch_fd(srv, jr_journal_event_fd(durable_journal(dm->durable)));
	if (triggers_watch_fd(&dm->st.triggers) >= 0)	/* file triggers (issue 15) */
		server_watch_fd(srv, triggers_watch_fd(&dm->st.triggers));
	if (api_schedules_timer_fd(&dm->api) >= 0)	/* issue 15: schedules' next due */
		server_watch_fd(srv, api_schedules_timer_fd(&dm->api));
	if (api_notify_fd(&dm->api) >= 0)	/* issue 16: deliveries finished */
		server_watch_fd(srv, api_notify_fd(&dm->api));
	log_line("listening on %s (mode %04o), state in %s, pid %d", d->socket, d->server.mode,
		 d->state_dir, (int)getpid());
	notify_ready("recovered; serving");
	rc = server_run(srv);
	notify_stopping();
	if (d->no_keeper)
		log_line("stopping: no new requests; running jobs have %llu ms",
			 (unsigned long long)d->grace_ms);
	else
		log_line("stopping: no new requests; %llu running jobs go on under the keeper",
			 (unsigned long long)running_jobs(dm->st.engine));
	durable_sync(dm->durable);	/* answers waiting for the disk are made */
	server_drain(srv, 2000);	/* and sent */
	server_close(srv);
	if (d->no_keeper)
		wait_for_running(dm->st.engine, d->grace_ms);
	snapshot(dm, "shutdown");
	/* Queued jobs stay queued for the next start, running ones run on:
	 * what closing the engine does to them is not journaled. */
	durable_stop_recording(dm->durable);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static int serve(struct daemon_opts *d, struct jr_engine *e, struct durable *du,
		 struct recovery *rec)
{
	struct daemon dm = { .opts = d, .durable = du,
			     .snap_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct api_lifecycle life = { &dm, start_drain, stop_now, snapshot_now };
	uint32_t capacity = d->engine.capacity ? d->engine.capacity : JR_CAPACITY_DEFAULT;
	int rc = state_init(&dm.st, e, capacity, d->heartbeat_timeout_ms, d->engine.capabilities);

	if (rc < 0 || api_init(&dm.api, &dm.st, du, &life) < 0) {
		state_destroy(&dm.st);
		return EXIT_RUNTIME;
	}
	dm.st.private_jobs = d->private_jobs;
	dm.st.workers.remove_after_ns = d->worker_remove_after_ms * JR_NS_PER_MS;
	dm.st.workers.max = d->max_workers;
	dm.st.output = (struct output_space){ .dirfd = d->output_dirfd, .dir = d->output_dir,
					      .reserve_bytes = d->output_reserve,
					      .reserve_auto = d->output_reserve == UINT64_MAX,
					      .max_output_bytes = d->engine.max_output_bytes };
	output_space_check(&dm.st.output, jr_now_monotonic_ns());
	dm.st.execs.out_dirfd = d->output_dirfd > 0 ? d->output_dirfd : -1;
	durable_set_history(du, &dm.st.execs);
	durable_set_jobs(du, &dm.st.jobs);
	rc = recover_apply(rec, &dm.st, du, &d->keep);
	log_recovery(rec, e);
	if (rc < 0) {
		fprintf(stderr, "jobringd: %s\n", rec->error);
		durable_stop_recording(du);
		rc = EXIT_RUNTIME;
	} else {
		recover_free(rec);
		api_triggers_start(&dm.api);	/* watches, files missed while down */
		api_notify_start(&dm.api, d->state_dir, d->notify_backoff_ms);	/* issue 16 */
		api_alloc_start(&dm.api, d->socket);	/* allocations from Slurm (issue 17) */
		durable_set_end_hook(du, api_job_ended, &dm.api);	/* triggers, notify */
		durable_set_events(du, dm.st.events);	/* GET /events (issue 16) */
		rc = serve_loop(&dm);
	}
	snapshot_free(dm.snap);
	api_destroy(&dm.api);
	durable_set_history(du, NULL);
	durable_set_jobs(du, NULL);
	durable_set_end_hook(du, NULL, NULL);
	durable_set_events(du, NULL);
	state_destroy(&dm.st);
	close(dm.snap_fd);
	return rc;
}

/* One daemon per state directory: a second one's recovery would cut the
 * first one's live journal. The lock goes with the process. */
static int lock_state_dir(const struct daemon_opts *d)
{
	/* Not through a link planted to make root create or lock another file. */
	int fd = openat(d->state_fd, "jobringd.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0600);

	if (fd < 0) {
		fprintf(stderr, "jobringd: cannot open %s/jobringd.lock: %s\n", d->state_dir,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "jobringd: %s is in use by another jobringd (%s)\n", d->state_dir,
			strerror(errno));
		close(fd);
		return EXIT_IN_USE;
	}
	return 0;	/* the lock is held until exit */
}

/* Read what the last run left, and open the journal after it. */
static int open_journal(struct daemon_opts *d, struct recovery *rec, struct durable **du)
{
	uint32_t capacity = d->engine.capacity ? d->engine.capacity : JR_CAPACITY_DEFAULT;
	int rc = recover_read(rec, d->state_dir, d->journal_dir, capacity);

	if (rc == 0)	/* leases outlive a restart (issue 17) */
		rc = recover_lease_key(rec, d->state_dir);
	if (rc < 0) {
		fprintf(stderr, "jobringd: %s\n", rec->error[0] ? rec->error : strerror(-rc));
		return rc;
	}
	d->durable.dir = d->journal_dir;
	d->durable.next_seq = rec->last_seq + 1;
	d->durable.reserve_bytes = d->durable.segment_bytes / 4 < 4 * JR_MIB ?
					   d->durable.segment_bytes / 4 : 4 * JR_MIB;
	rc = durable_open(du, &d->durable);
	if (rc < 0)
		fprintf(stderr, "jobringd: cannot open the journal in %s: %s\n", d->journal_dir,
			strerror(-rc));
	return rc;
}

/* The keeper this daemon uses (or starts): this very binary, so that
 * both speak the same protocol; job cgroups under a subtree named after
 * the state directory. */
static void keeper_opts(struct daemon_opts *d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	struct stat st = { 0 };
	int n = 0;

	/* The directory itself, not only its name: a state directory deleted
	 * and made again is another one, whose jobs are not the old one's. */
	fstat(d->state_fd, &st);
	for (const char *p = d->state_dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_dev) * 0x100000001b3ull;
	h = (h ^ (uint64_t)st.st_ino) * 0x100000001b3ull;
	snprintf(d->cgroup_name, sizeof(d->cgroup_name), "%016llx", (unsigned long long)h);
	jr_keeper_socket_path(d->state_dir, d->keeper_socket, sizeof(d->keeper_socket));
	d->keeper_argv[n++] = "/proc/self/exe";
	d->keeper_argv[n++] = "--keeper";
	d->keeper_argv[n++] = "--state-dir";
	d->keeper_argv[n++] = d->state_dir;
	d->keeper_argv[n++] = "--cgroup-name";
	d->keeper_argv[n++] = d->cgroup_name;
	if (d->no_cgroups) {
		d->keeper_argv[n++] = "--no-cgroups";
	} else if (d->cgroup[0]) {
		d->keeper_argv[n++] = "--cgroup";
		d->keeper_argv[n++] = d->cgroup;
	}
	d->keeper_argv[n++] = "--job-fd-limit";
	d->keeper_argv[n++] = d->job_fd_limit;
	d->keeper_argv[n] = NULL;
	if (!d->no_keeper) {
		d->engine.keeper_socket = d->keeper_socket;
		d->engine.keeper_argv = d->keeper_argv;
	}
	d->engine.cgroup = d->cgroup[0] ? d->cgroup : NULL;
	d->engine.flags |= d->no_cgroups ? JR_ENGINE_NO_CGROUPS : 0;
}

/* Connections and (--no-keeper) running jobs hold descriptors: raised
 * as far as allowed; jobs, and the keeper's, get the limit there was. */
static void raise_fd_limits(struct daemon_opts *d)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0)
		snprintf(d->job_fd_limit, sizeof(d->job_fd_limit), "%llu",
			 (unsigned long long)r.rlim_cur);
	jr_exec_raise_fd_limit();
}

static void log_exec(struct jr_engine *e)
{
	struct jr_exec_info x;

	jr_engine_exec_info(e, &x);
	if (x.cgroups)
		log_line("jobs run in cgroups under %s (controllers: %s)%s", x.cgroup_path,
			 x.controllers[0] ? x.controllers : "none", x.keeper_pid ? "" : ", no keeper");
	else
		log_line("%s", x.note);
	if (x.keeper_pid)
		log_line("keeper: pid %d; running jobs outlive this daemon", (int)x.keeper_pid);
}

/* The engine the daemon serves: command jobs only, their events to the
 * journal writer, started by the keeper. 0 or -errno (said why). */
static int open_engine(struct daemon_opts *d, struct durable *du, struct jr_engine **e)
{
	int rc;

	d->engine.state_dir = d->output_dir;
	d->engine.workers = 1;	/* function jobs: the daemon runs none */
	/* Each command job keeps a 64-byte record and its name in the arena. */
	d->engine.arena_bytes = (uint64_t)(d->engine.capacity ? d->engine.capacity :
							      JR_CAPACITY_DEFAULT) * 128;
	d->engine.flags |= d->paused ? JR_ENGINE_START_PAUSED : 0;
	d->engine.job_event = durable_job_event;
	d->engine.job_event_ctx = du;
	keeper_opts(d);
	if (jr_cgroups_enter_supervisor() < 0)
		log_line("systemd unit without Delegate=yes: job cgroups get no controllers");
	rc = jr_engine_open(e, &d->engine);
	if (rc == -E2BIG)
		fprintf(stderr, "jobringd: this host (or --topology) has more than 16 NUMA nodes or "
				"more than 8,192 cores: not supported\n");
	if (rc < 0)
		fprintf(stderr, "jobringd: cannot start the engine%s: %s\n",
			d->no_keeper ? "" : " (or its keeper)", strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon_opts d;
	struct recovery rec;
	struct durable *du = NULL;
	struct jr_engine *e;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--keeper") == 0)
		return jr_keeper_main(argc, argv);
	if (options_parse(argc, argv, &d) < 0)
		return EXIT_USAGE;
	json_arena_install();
	if (options_prepare_dirs(&d) < 0)
		return EXIT_RUNTIME;
	raise_fd_limits(&d);
	block_signals();
	if ((rc = lock_state_dir(&d)) != 0)
		return rc;
	if (open_journal(&d, &rec, &du) < 0 || open_engine(&d, du, &e) < 0) {
		recover_free(&rec);
		durable_close(du);
		return EXIT_RUNTIME;
	}
	durable_set_engine(du, e);
	log_exec(e);
	rc = serve(&d, e, du, &rec);
	/* With a keeper, running jobs run on, for the next start to take back. */
	jr_engine_close(e, d.no_keeper ? JR_CLOSE_CANCEL : JR_CLOSE_DETACH);
	recover_free(&rec);
	durable_close(du);
	log_line("stopped");
	return rc;
}
