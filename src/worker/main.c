/*
 * main.c - jobring-worker's main thread: registration, the loop that
 * starts what the claimer hands over, reaps children, sends heartbeats
 * and completions, and what happens when the server cannot be reached
 * (keep everything, retry with a backoff up to 1 s, register again if
 * the server no longer knows this worker) or when the worker is told to
 * go (SIGTERM: drain; SIGINT or a second SIGTERM: kill; --idle-timeout).
 * Exit status: 0 after an orderly end, 1 if it could not start (no
 * server within --lost-after, a refused registration), 2 for a usage
 * error.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "worker/worker.h"

#define MS 1000000ull

enum wk_exit { RUN, DRAIN, ABANDON };

static enum wk_exit leaving = RUN;

/* --- registration ------------------------------------------------------------------------- */

static void registration_body(struct wk_ctx *w)
{
	char host[256], res[256], caps[1200] = "";
	const char *name = w->opts.name;
	size_t used = 0;

	if (!name) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		name = host;
	}
	if (w->opts.capabilities) {
		char copy[1024], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", w->opts.capabilities);
		for (char *t = strtok_r(copy, ",", &save); t && used + 40 < sizeof(caps);
		     t = strtok_r(NULL, ",", &save))
			used += (size_t)snprintf(caps + used, sizeof(caps) - used, "%s\"%s\"",
						 used ? "," : "", t);
	}
	wk_hostres_json(&w->res, res, sizeof(res));
	snprintf(w->register_body, sizeof(w->register_body),
		 "{\"name\":\"%s\",\"capabilities\":[%s],\"resources\":%s}", name, caps, res);
}

/* 0 once registered; -errno if the server could not be reached; the
 * HTTP status of a refusal. */
static int register_worker(struct wk_ctx *w)
{
	char *resp = NULL;
	int rc = wk_call(w, "POST", "/workers/register", w->register_body, &resp);
	cJSON *o;

	if (rc != 201) {
		if (rc > 0)
			fprintf(stderr, "jobring-worker: registration refused (%d): %s\n", rc,
				resp ? resp : "");
		free(resp);
		return rc;
	}
	o = cJSON_Parse(resp);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "worker_id");
	const cJSON *hb = cJSON_GetObjectItemCaseSensitive(o, "heartbeat_timeout");
	if (!cJSON_IsString(id) || strlen(id->valuestring) >= WK_ID_MAX) {
		cJSON_Delete(o);
		free(resp);
		return -EPROTO;
	}
	w->heartbeat_ms = w->opts.heartbeat_ms;
	if (!w->heartbeat_ms)
		w->heartbeat_ms = cJSON_IsNumber(hb) && hb->valuedouble >= 0.3 ?
					  (uint64_t)(hb->valuedouble * 1000 / 3) : 10000;
	pthread_mutex_lock(&w->shared.lock);
	strcpy(w->shared.worker_id, id->valuestring);
	w->shared.generation++;
	w->shared.worker_unknown = false;
	wk_claimer_poke(&w->shared);
	pthread_mutex_unlock(&w->shared.lock);
	wk_log("registered as %s (%s), heartbeat every %llu ms", id->valuestring,
	       w->register_body, (unsigned long long)w->heartbeat_ms);
	w->next_heartbeat_ns = wk_now_ns() + w->heartbeat_ms * MS;
	cJSON_Delete(o);
	free(resp);
	return 0;
}

/* The first registration: the server may still be starting (a worker
 * started next to it in an allocation): retried for --lost-after. */
static int first_registration(struct wk_ctx *w)
{
	uint64_t give_up = wk_now_ns() + w->opts.lost_after_ms * MS;
	int rc;

	while ((rc = register_worker(w)) < 0 && wk_now_ns() < give_up)
		usleep((useconds_t)(w->retry_ms * 1000));
	if (rc < 0)
		fprintf(stderr, "jobring-worker: no server at %s: %s\n",
			w->opts.server ? w->opts.server : "the default socket", strerror(-rc));
	return rc;
}

/* --- heartbeats and completions -------------------------------------------------------- */

static void read_stops(struct wk_ctx *w, const char *resp)
{
	cJSON *o = cJSON_Parse(resp);
	const cJSON *stops = cJSON_GetObjectItemCaseSensitive(o, "stop"), *s;

	cJSON_ArrayForEach(s, stops) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "execution_id");
		if (cJSON_IsString(id))
			wk_jobs_stop(w, id->valuestring);
	}
	cJSON_Delete(o);
}

static void heartbeat(struct wk_ctx *w)
{
	char path[96], body[8192], progress[7000];
	const char *status = leaving != RUN || w->shared.draining ? "draining" :
			     wk_jobs_running(&w->jobs) ? "busy" : "idle";
	char *resp = NULL;
	int rc;

	wk_jobs_progress_json(w, progress, sizeof(progress));
	snprintf(body, sizeof(body), "{\"status\":\"%s\"%s%s}", status,
		 progress[0] ? ",\"progress\":" : "", progress);
	snprintf(path, sizeof(path), "/workers/%s/heartbeat", w->shared.worker_id);
	rc = wk_call(w, "POST", path, body, &resp);
	if (rc == 200)
		read_stops(w, resp);
	else if (rc == 404) {
		pthread_mutex_lock(&w->shared.lock);
		w->shared.worker_unknown = true;
		pthread_mutex_unlock(&w->shared.lock);
	}
	if (rc > 0 || rc == 0)
		w->next_heartbeat_ns = wk_now_ns() + w->heartbeat_ms * MS;
	free(resp);
}

/* While this worker takes work, a completion also claims the next
 * execution (?claim=1, docs/PROTOCOL.md): a busy worker makes one
 * request a job, and what it gets starts here, on this thread, without
 * the claimer. At most CHAIN_MAX a turn: jobs that end at once (--echo)
 * would chain for as long as the queue lasts, and signals, heartbeats
 * and time limits wait for the loop's next turn (the claimer's long
 * poll brings the next job meanwhile). draining is this thread's to
 * change. */
#define CHAIN_MAX 64

static bool claim_with_completion(const struct wk_ctx *w)
{
	return leaving == RUN && !w->shared.draining && !w->opts.no_claim_next &&
	       w->chained < CHAIN_MAX;
}

/* The completion's answer: the execution it claimed ("next"), started. */
static void start_next(struct wk_ctx *w, const char *resp)
{
	cJSON *o = cJSON_Parse(resp);
	cJSON *next = cJSON_GetObjectItemCaseSensitive(o, "next");

	if (cJSON_IsObject(next)) {
		w->chained++;
		wk_jobs_start_json(w, next);
	}
	cJSON_Delete(o);
}

/* Send the completion of an ended job: true if it is settled (answered,
 * whatever the answer), false if the server could not be reached. */
static bool complete(struct wk_ctx *w, struct wk_job *job)
{
	char path[96], *body, *resp = NULL;
	bool claim = claim_with_completion(w);
	int rc;

	snprintf(path, sizeof(path), "/executions/%s/complete%s", job->exec_id,
		 claim ? "?claim=1" : "");
	if (asprintf(&body, "{%s,\"lease\":\"%s\"}",
		     job->completion ? job->completion : "\"status\":\"failed\"", job->lease) < 0)
		return false;
	rc = wk_call(w, "POST", path, body, &resp);
	free(body);
	if (rc < 0 || rc == 503) {
		free(resp);
		return false;
	}
	if ((rc == 400 || rc == 413 || rc == 422) &&
	    !(job->completion && strstr(job->completion, "\"completion refused\""))) {
		/* The completion itself was refused (a result the daemon does
		 * not take): end the execution failed rather than leave it
		 * running while this worker heartbeats. */
		wk_log("execution %s: completion refused (%d): %s; reported failed", job->exec_id, rc,
		       resp ? resp : "");
		free(resp);
		resp = NULL;
		free(job->completion);
		job->completion = strdup("\"status\":\"failed\",\"result\":{\"worker_error\":"
					 "\"completion refused\"}");
		if (!job->completion)
			return false;
		return complete(w, job);
	}
	if (rc != 200)
		wk_log("execution %s: completion answered %d: %s", job->exec_id, rc,
		       resp ? resp : "");
	else if (job->completion) {
		wk_recent_keep(w, job->exec_id, job->lease, job->completion);
		job->completion = NULL;
	}
	if (rc == 200 && claim)
		start_next(w, resp);
	free(resp);
	return true;
}

static void flush_completions(struct wk_ctx *w)
{
	w->chained = 0;
	for (uint32_t i = 0; i < w->jobs.count;) {
		struct wk_job *job = w->jobs.v[i];
		if (job->state != WK_ENDED) {
			i++;
			continue;
		}
		/* Stopped by the server (or by SIGINT): nothing to report.
		 * Leaving at once: reported if the server answers now. */
		if (!job->stopped &&
		    !(wk_reachable_now(w) && wk_ship_rest(w, job) && complete(w, job)) &&
		    leaving != ABANDON)
			return;
		wk_ship_done(w, job);	/* settled, stopped or given up: its spool goes */
		wk_jobs_remove(w, i);
	}
}

/* --- the claims handed over, and what is free ------------------------------------------ */

/* Under the lock: the cpus neither running jobs nor claims not yet
 * started hold. */
static void update_free(struct wk_ctx *w)
{
	uint32_t taken = 0;

	for (const struct wk_claim *c = w->shared.claims; c; c = c->next)
		taken++;

	for (uint32_t i = 0; i < w->jobs.count; i++)
		if (w->jobs.v[i]->state == WK_RUNNING)
			taken += w->jobs.v[i]->cpus ? w->jobs.v[i]->cpus : 1;
	uint32_t free_cpus = taken >= w->res.cpus ? 0 : w->res.cpus - taken;
	if (free_cpus != w->shared.free_cpus) {
		w->shared.free_cpus = free_cpus;
		wk_claimer_poke(&w->shared);
	}
}

static void take_claims(struct wk_ctx *w)
{
	struct wk_claim *list;
	uint64_t n;

	if (read(w->shared.event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		wk_log("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->shared.lock);
	list = w->shared.claims;
	w->shared.claims = NULL;
	w->shared.claims_tail = &w->shared.claims;
	pthread_mutex_unlock(&w->shared.lock);
	while (list) {
		struct wk_claim *next = list->next;
		wk_jobs_start(w, list->body);
		free(list->body);
		free(list);
		list = next;
	}
	pthread_mutex_lock(&w->shared.lock);
	update_free(w);
	pthread_mutex_unlock(&w->shared.lock);
}

/* --- leaving ------------------------------------------------------------------------------ */

static void set_draining(struct wk_ctx *w, bool on)
{
	pthread_mutex_lock(&w->shared.lock);
	w->shared.draining = on;
	wk_claimer_poke(&w->shared);
	pthread_mutex_unlock(&w->shared.lock);
}

static void on_signal(struct wk_ctx *w, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM && leaving == RUN) {
			wk_log("SIGTERM: claiming nothing more, waiting for %u running job(s)",
			       wk_jobs_running(&w->jobs));
			leaving = DRAIN;
		} else if (leaving != ABANDON) {
			wk_log("%s: killing %u running job(s)", strsignal((int)si.ssi_signo),
			       wk_jobs_running(&w->jobs));
			leaving = ABANDON;
			for (uint32_t i = 0; i < w->jobs.count; i++)
				if (w->jobs.v[i]->state == WK_RUNNING)
					w->jobs.v[i]->stopped = true;
			wk_jobs_kill_all(w);
		}
		set_draining(w, true);
		w->next_heartbeat_ns = 0;	/* say draining now */
	}
}

/* Unregister (its executions, if any are left, end as worker_lost):
 * tried for up to 5 s. */
static void unregister(struct wk_ctx *w)
{
	char path[96], *resp = NULL;
	uint64_t give_up = wk_now_ns() + 5000 * MS;
	int rc;

	snprintf(path, sizeof(path), "/workers/%s", w->shared.worker_id);
	while ((rc = wk_call(w, "DELETE", path, NULL, &resp)) < 0 && wk_now_ns() < give_up)
		usleep((useconds_t)(w->retry_ms * 1000));
	free(resp);
	if (rc < 0)
		wk_log("could not unregister %s: the server will find it lost", w->shared.worker_id);
}

/* Idle past --idle-timeout: say draining (no claim is answered with a
 * job after that), then leave unless a claim came in meanwhile. */
static bool idle_exit(struct wk_ctx *w)
{
	bool got;

	set_draining(w, true);
	heartbeat(w);
	pthread_mutex_lock(&w->shared.lock);
	got = w->shared.claims != NULL;
	pthread_mutex_unlock(&w->shared.lock);
	if (!got) {
		wk_log("idle for %llu ms: leaving", (unsigned long long)w->opts.idle_timeout_ms);
		return true;
	}
	set_draining(w, false);
	return false;
}

/* --- the loop --------------------------------------------------------------------------- */

static int poll_timeout_ms(struct wk_ctx *w, uint64_t now, uint64_t timer)
{
	uint64_t next = now + 1000 * MS, beat = w->next_heartbeat_ns;

	/* a heartbeat due while the server is away waits for the retry */
	if (w->next_retry_ns > beat)
		beat = w->next_retry_ns;
	if (beat && beat < next)
		next = beat;
	if (w->next_retry_ns && w->next_retry_ns < next)
		next = w->next_retry_ns;
	if (timer && timer < next)
		next = timer;
	return next <= now ? 0 : (int)((next - now + MS - 1) / MS);
}

static void wait_events(struct wk_ctx *w, int sfd, int timeout_ms)
{
	struct pollfd fds[2 + 1024];
	nfds_t n = 2;

	fds[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = w->shared.event_fd, .events = POLLIN };
	for (uint32_t i = 0; i < w->jobs.count && n < JR_ARRAY_SIZE(fds); i++)
		if (w->jobs.v[i]->state == WK_RUNNING && w->jobs.v[i]->child.pidfd >= 0)
			fds[n++] = (struct pollfd){ .fd = w->jobs.v[i]->child.pidfd, .events = POLLIN };
	if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
		wk_log("poll: %s", strerror(errno));
	if (fds[0].revents)
		on_signal(w, sfd);
	if (fds[1].revents)
		take_claims(w);
}

/* The server unreachable past --lost-after with --on-server-lost=kill:
 * kill what runs (once); their ends are reported if it comes back. */
static void check_lost(struct wk_ctx *w, uint64_t now)
{
	uint64_t last = __atomic_load_n(&w->shared.last_ok_ns, __ATOMIC_RELAXED);

	if (w->opts.on_lost != WK_LOST_KILL || w->lost_killed || !w->retry_ms ||
	    now - last < w->opts.lost_after_ms * MS)
		return;
	wk_log("server lost for %llu ms: killing %u running job(s)",
	       (unsigned long long)((now - last) / MS), wk_jobs_running(&w->jobs));
	wk_jobs_kill_all(w);
	w->lost_killed = true;
}

/* One turn's work towards the server: true to leave the loop. */
static bool server_turn(struct wk_ctx *w, uint64_t now)
{
	bool unknown;

	pthread_mutex_lock(&w->shared.lock);
	unknown = w->shared.worker_unknown;
	if (w->shared.link_broke)
		w->recheck = true;
	w->shared.link_broke = false;
	pthread_mutex_unlock(&w->shared.lock);
	if (unknown && wk_reachable_now(w)) {
		wk_log("the server does not know %s: registering again", w->shared.worker_id);
		int rc = register_worker(w);
		if (rc >= 400 && rc < 500)
			return true;	/* refused now: nothing more to do here */
	}
	flush_completions(w);
	if (wk_reachable_now(w) && !unknown)
		wk_ship_running(w, now);
	if (w->next_heartbeat_ns <= now && wk_reachable_now(w) && !unknown)
		heartbeat(w);
	if (w->recheck && !unknown && wk_reachable_now(w)) {
		int rc = wk_recent_recheck(w);
		if (rc > 0 && rc < 500)
			w->recheck = false;
		else
			wk_mark_unreachable(w, rc > 0 ? -EAGAIN : rc);
	}
	return false;
}

static bool want_exit(struct wk_ctx *w, uint64_t now)
{
	bool empty = w->jobs.count == 0;

	if (!empty) {
		w->idle_since_ns = 0;
		return false;
	}
	if (leaving != RUN)
		return true;
	if (!w->idle_since_ns)
		w->idle_since_ns = now;
	return w->opts.idle_timeout_ms && now - w->idle_since_ns >= w->opts.idle_timeout_ms * MS &&
	       idle_exit(w);
}

static void run(struct wk_ctx *w, int sfd)
{
	for (;;) {
		uint64_t now = wk_now_ns(), timer = wk_jobs_timers(w, now);

		wait_events(w, sfd, poll_timeout_ms(w, now, timer));
		wk_jobs_reap(w);
		now = wk_now_ns();
		check_lost(w, now);
		if (server_turn(w, now))
			return;
		pthread_mutex_lock(&w->shared.lock);
		update_free(w);
		pthread_mutex_unlock(&w->shared.lock);
		if (want_exit(w, now))
			return;
	}
}

/* --- start and end ------------------------------------------------------------------------ */

static int setup(struct wk_ctx *w, int argc, char **argv, int *sfd)
{
	sigset_t set;
	int rc = wk_opts_parse(&w->opts, argc, argv);

	if (rc)
		return rc == 1 ? 0 : 2;
	wk_quiet = w->opts.quiet;
	if (w->opts.access)
		setenv("JOBRING_ACCESS", w->opts.access, 1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* the claimer inherits it */
	*sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sfd < 0 || wk_hostres_init(&w->res, &w->opts) < 0 ||
	    wk_jobs_init(&w->jobs, &w->opts) < 0)
		return 1;
	jr_exec_raise_fd_limit();
	srand((unsigned)(getpid() ^ wk_now_ns()));
	w->link.server = w->opts.server;
	w->shared.link.server = w->opts.server;
	w->shared.claim_wait_s = w->opts.claim_wait_s;
	pthread_mutex_init(&w->shared.lock, NULL);
	pthread_cond_init(&w->shared.wake, NULL);
	registration_body(w);
	return -1;	/* go on */
}

static void stop_claimer(struct wk_ctx *w, pthread_t t)
{
	pthread_mutex_lock(&w->shared.lock);
	w->shared.stopping = true;
	wk_claimer_poke(&w->shared);
	pthread_mutex_unlock(&w->shared.lock);
	/* Its long poll ends with the 404 of the removed worker; one stuck
	 * on a dead network goes with the process. */
	for (int i = 0; i < 50; i++) {
		if (pthread_tryjoin_np(t, NULL) == 0)
			return;
		usleep(20000);
	}
	pthread_detach(t);
}

int main(int argc, char **argv)
{
	static struct wk_ctx w;
	pthread_t claimer;
	int sfd = -1, rc = setup(&w, argc, argv, &sfd);

	if (rc >= 0)
		return rc;
	if (first_registration(&w) != 0)
		return 1;
	if (wk_claimer_start(&w.shared, &claimer) < 0) {
		fprintf(stderr, "jobring-worker: cannot start the claimer thread\n");
		return 1;
	}
	pthread_mutex_lock(&w.shared.lock);
	update_free(&w);
	pthread_mutex_unlock(&w.shared.lock);
	run(&w, sfd);
	set_draining(&w, true);
	unregister(&w);
	stop_claimer(&w, claimer);
	wk_link_close(&w.link);
	wk_recent_free(&w);
	wk_jobs_free(&w.jobs);
	wk_hostres_free(&w.res);
	return 0;
}
