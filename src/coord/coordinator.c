/*
 * coordinator.c - the coordinator thread's event loop. See coordinator.h.
 *
 * One turn: take new submissions and cancel requests from the inbox, act
 * on due deadlines (time limits, kill grace), run the scheduling pass,
 * end jobs whose start was refused, free what ended, arm the timer for
 * the next deadline, and sleep in epoll until a child exits, the timer
 * fires or the inbox is poked.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "shm/arena.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "shm/cmdrec.h"
#include "base/common.h"
#include "shm/counters.h"
#include "coord/coordinator.h"
#include "shm/jobtab.h"
#include "shm/queue.h"

extern char **environ;

/* Append job to a FIFO of cmd_jobs linked through next. */
static void fifo_append(struct cmd_job **head, struct cmd_job **tail,
			struct cmd_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void poke(struct jr_coordinator *co)
{
	uint64_t one = 1;

	if (write(co->evfd, &one, sizeof(one)) < 0)
		return;	/* the counter is saturated: already poked */
}

void coord_poke(struct jr_coordinator *co)
{
	poke(co);
}

/* An engine opened with JR_ENGINE_START_PAUSED starts no command job
 * either until jr_engine_resume(). */
bool coord_scheduling_paused(const struct jr_coordinator *co)
{
	return jr_load_acquire(&co->region->ctl->run_state) == JR_RUN_PAUSED;
}

/* --- the running set -------------------------------------------------------- */

/* Room for every started job is made before the pass can start one (a
 * job holds a core, so there are never more than the host's cores). */
void coord_running_add(struct jr_coordinator *co, struct cmd_job *job)
{
	/* Jobs taken back after a restart may outnumber this host's cores. */
	if (co->running_count == co->running_cap &&
	    jr_array_grow(&co->running, &co->running_cap, co->running_count,
			  co->running_count + 1, sizeof(*co->running), 64) < 0) {
		JR_ASSERT(!"no room for a running job");
		return;
	}
	co->running[co->running_count++] = job;
}

void coord_running_remove(struct jr_coordinator *co, struct cmd_job *job)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		if (co->running[i] == job) {
			co->running[i] = co->running[--co->running_count];
			return;
		}
	}
}

/* --- scheduler callbacks --------------------------------------------------- */

static void on_start(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct jr_coordinator *co = ctx;
	struct cmd_job *job = CMD_JOB(sj);
	struct jr_slot *s = &co->region->slots[job->slot];

	if (!jr_jobtab_start(s)) {	/* cancelled while it waited */
		job->next = co->start_refused;
		co->start_refused = job;
		return;
	}
	cmd_job_record_start(co, job, now);
	coord_running_add(co, job);
	job->spawning = true;
	job->next = NULL;
	if (co->keeper_fd >= 0) {	/* the keeper starts it; STARTED says so */
		job->spawn_rc = coord_keeper_spawn(co, job);
		if (job->spawn_rc < 0) {
			job->next = co->spawned_here;
			co->spawned_here = job;
		}
		return;
	}
	if (co->spawner_count == 0) {	/* spawn on this thread */
		job->spawn_rc = cmd_job_spawn(co, job);
		job->next = co->spawned_here;
		co->spawned_here = job;
		return;
	}
	pthread_mutex_lock(&co->lock);
	fifo_append(&co->spawn_head, &co->spawn_tail, job);
	pthread_cond_signal(&co->spawn_cv);
	pthread_mutex_unlock(&co->lock);
}

static void on_ended(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	cmd_job_ended_unrun(ctx, CMD_JOB(sj), now);
}

static void end_refused(struct jr_coordinator *co, uint64_t now)
{
	while (co->start_refused) {
		struct cmd_job *job = co->start_refused;
		co->start_refused = job->next;
		cmd_job_end(co, job, JR_SCHED_CANCELLED, JR_REASON_CANCELLED, now);
	}
}

static void free_dead(struct jr_coordinator *co)
{
	while (co->dead) {
		struct cmd_job *job = co->dead;
		co->dead = job->next;
		cmd_job_free(job);
	}
}

/* --- the inbox ------------------------------------------------------------ */

/* The live coordinator record behind a job id, or NULL. */
struct cmd_job *coord_job_of(struct jr_coordinator *co, jr_job_id id)
{
	struct jr_region *r = co->region;
	uint32_t index, gen;
	struct jr_slot *s;

	if (jr_jobtab_decode(r, id, &index, &gen) < 0)
		return NULL;
	s = &r->slots[index];
	if (jr_slot_gen(jr_load_acquire(&s->state)) != gen || !jr_jobtab_is_command(s))
		return NULL;
	return (struct cmd_job *)(uintptr_t)jr_load_acquire(
		&jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg))->coord);
}

/* Link a new job to the jobs it must wait for. A dependency that already
 * ended needs no link: success is nothing to wait for, anything else
 * dooms the job. */
static int link_dependencies(struct jr_coordinator *co, struct cmd_job *job)
{
	for (uint32_t i = 0; i < job->after_count; i++) {
		struct cmd_job *p = coord_job_of(co, job->after[i]);
		struct jr_job_info info;
		if (p) {
			if (jr_sched_depend(&job->sj, &p->sj) < 0)
				return -ENOMEM;
		} else if (jr_jobtab_snapshot(co->region, job->after[i], &info) < 0 ||
			   info.state != JR_JOB_SUCCEEDED) {
			job->sj.dependency_failed = true;
		}
	}
	return 0;
}

static void take_submission(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	co->outstanding++;
	if (link_dependencies(co, job) < 0)
		job->sj.dependency_failed = true;
	jr_sched_submit(&co->sched, &job->sj, now);
	if (job->sj.state == JR_SCHED_PENDING)
		cmd_job_set_rec_flag(co, job, JR_REC_PENDING, true);
}

static void take_cancel(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	struct cmd_job *job = coord_job_of(co, id);

	if (!job)
		return;
	if (job->external && job->running) {
		ext_cancel_running(co, job, now);
		return;
	}
	if (job->spawning) {
		job->cancel_requested = true;	/* acted on once it is spawned */
		return;
	}
	if (job->running) {
		if (!job->cancel_requested) {
			job->cancel_requested = true;
			cmd_job_signal(co, job, SIGTERM);
			job->kill_at_ns = now + co->kill_grace_ns;
		}
		return;
	}
	jr_sched_cancel(&co->sched, &job->sj, now);
}

/* Without memory for its coordinator record a job cannot be scheduled:
 * it ends cancelled, as if the table had refused it. */
static void end_unbuilt(struct jr_coordinator *co, struct cmd_batch *b, size_t i)
{
	struct jr_region *r = co->region;
	struct jr_slot *s = &r->slots[b->slots[i]];

	struct jr_job_event ev = { .job_id = b->ids[i], .kind = JR_EVENT_ENDED,
				   .state = JR_JOB_CANCELLED, .reason = JR_REASON_CANCELLED,
				   .time_ns = jr_now_realtime_ns() };

	jr_store_relaxed(&jr_cmd_record(r, b->records[i])->reason, JR_REASON_CANCELLED);
	if (jr_jobtab_cancel_owned(s, JR_JOB_QUEUED))
		jr_counters_add_cancelled(r, 1);
	if (co->job_event)
		co->job_event(co->job_event_ctx, &ev);
	coord_free_slot(co, b->slots[i]);
	jr_counters_notify_done(r);
}

/* A restored job taken back running with a cancel it had not obeyed:
 * stopped as take_cancel() stops one (one that ended meanwhile is gone). */
static void stop_restored(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	struct cmd_job *job = coord_job_of(co, id);

	if (!job || !job->running || job->kill_at_ns)
		return;
	cmd_job_signal(co, job, SIGTERM);
	job->kill_at_ns = now + co->kill_grace_ns;
}

/* A restored job: its attempts, the rest of a retry's backoff, and, if
 * it was running, taken back (true: not to be scheduled). */
static bool take_restored(struct jr_coordinator *co, struct cmd_job *job,
			  struct cmd_restore_info *ri, uint32_t attempts, uint64_t now)
{
	bool taken;

	job->attempts = attempts;
	if (ri->not_before_ns > job->sj.not_before_ns)
		job->sj.not_before_ns = ri->not_before_ns;
	/* An end found now, or later, answers the cancel. */
	job->cancel_requested = ri->cancel;
	taken = coord_restore_take(co, job, ri, now);
	jr_free(ri->alloc);
	ri->alloc = NULL;
	return taken;
}

static void take_batch(struct jr_coordinator *co, struct cmd_batch *b, uint64_t now)
{
	struct jr_region *r = co->region;

	for (size_t i = 0; i < b->n; i++) {
		struct cmd_job *job = cmd_job_new(&b->specs[i], &b->reqs[i]);
		if (!job) {
			end_unbuilt(co, b, i);
			continue;
		}
		job->co = co;
		job->sj.priority = b->prios[i];
		job->slot = b->slots[i];
		job->record_ref = b->records[i];
		job->id = b->ids[i];
		/* Pairs with coord_job_of()'s acquire load. */
		jr_store_release(&jr_cmd_record(r, job->record_ref)->coord,
				 (uint64_t)(uintptr_t)job);
		bool cancel = b->restored && b->rinfo[i].cancel;
		jr_job_id id = job->id;
		if (b->restored && take_restored(co, job, &b->rinfo[i], b->attempts[i], now)) {
			if (cancel)
				stop_restored(co, id, now);
			continue;
		}
		take_submission(co, job, now);
		if (cancel)
			take_cancel(co, id, now);
	}
	if (b->restored)
		jr_free(b->rinfo);
}

static void drain_inbox(struct jr_coordinator *co, uint64_t now)
{
	struct cmd_batch *batches;
	jr_job_id cancels[256];
	uint32_t ncancel;

	bool reconcile;

	pthread_mutex_lock(&co->lock);
	batches = co->inbox_head;
	co->inbox_head = co->inbox_tail = NULL;
	reconcile = co->reconcile_pending;
	co->reconcile_pending = false;
	co->restoring = co->restore_phase == RESTORE_RUNNING;
	ncancel = co->cancel_count < 256 ? co->cancel_count : 256;
	if (ncancel) {
		memcpy(cancels, co->cancels, ncancel * sizeof(*cancels));
		memmove(co->cancels, co->cancels + ncancel,
			(co->cancel_count - ncancel) * sizeof(*cancels));
		co->cancel_count -= ncancel;
	}
	pthread_mutex_unlock(&co->lock);
	while (batches) {
		struct cmd_batch *b = batches;
		batches = b->next;
		take_batch(co, b, now);
		jr_free(b);
	}
	if (reconcile) {	/* after the last restored batch: what nobody claimed */
		if (co->keeper_fd >= 0)
			coord_keeper_reconcile(co);
		pthread_mutex_lock(&co->lock);
		co->restore_settled = true;
		pthread_cond_broadcast(&co->restore_cv);
		pthread_mutex_unlock(&co->lock);
	}
	for (uint32_t i = 0; i < ncancel; i++)
		take_cancel(co, cancels[i], now);
	if (co->cancel_count)
		poke(co);	/* more than one turn's worth */
}

/* --- deadlines ------------------------------------------------------------ */

static void check_deadlines(struct jr_coordinator *co, uint64_t now)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		if (!job->running)
			continue;	/* still being spawned */
		if (job->term_at_ns && now >= job->term_at_ns) {
			job->term_at_ns = 0;
			job->timed_out = true;
			cmd_job_signal(co, job, SIGTERM);
			job->kill_at_ns = now + co->kill_grace_ns;
		}
		if (job->kill_at_ns && now >= job->kill_at_ns) {
			job->kill_at_ns = 0;
			cmd_job_signal(co, job, SIGKILL);
		}
	}
}

static uint64_t next_deadline(const struct jr_coordinator *co)
{
	uint64_t t = jr_sched_next_wakeup(&co->sched);

	for (uint32_t i = 0; i < co->running_count; i++) {
		const struct cmd_job *job = co->running[i];
		if (job->term_at_ns && job->term_at_ns < t)
			t = job->term_at_ns;
		if (job->kill_at_ns && job->kill_at_ns < t)
			t = job->kill_at_ns;
	}
	return t;
}

static void arm_timer(struct jr_coordinator *co)
{
	uint64_t t = next_deadline(co);
	struct itimerspec its = { 0 };

	co->armed_ns = t;
	if (t != JR_TIME_NEVER) {
		its.it_value.tv_sec = (time_t)(t / 1000000000ull);
		its.it_value.tv_nsec = (long)(t % 1000000000ull);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(co->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* --- the loop ------------------------------------------------------------- */

static void reap(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_exec_result res;

	int rc = job->cgroup.fd < 0 ? jr_exec_reap_group(&job->child, &res, false) :
				      jr_exec_try_reap(&job->child, &res);

	if (rc == 1) {
		if (!cmd_job_collect_begin(co, job))
			cmd_job_collect_wait(co, job);	/* the coordinator waits */
		cmd_job_exited(co, job, &res, now);
	}
}

static void wait_events(struct jr_coordinator *co)
{
	struct epoll_event ev[64];
	int n = epoll_wait(co->epfd, ev, 64, -1);
	uint64_t now = jr_now_realtime_ns(), drain;

	pthread_mutex_lock(&co->state_lock);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;
		if (p == &co->keeper_fd) {
			if (co->keeper_fd >= 0)
				coord_keeper_read(co, now);
		} else if (p == &co->evfd || p == &co->tfd) {
			if (read(p == &co->evfd ? co->evfd : co->tfd, &drain, sizeof(drain)) < 0)
				continue;
		} else {
			reap(co, p, now);
		}
	}
	pthread_mutex_unlock(&co->state_lock);
}

static void cancel_everything(struct jr_coordinator *co, uint64_t now)
{
	struct jr_sched *s = &co->sched;

	/* From the back: removing the last waiting job moves nothing. */
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++)
		while (s->waiting[p].count)
			jr_sched_cancel(s, s->waiting[p].items[s->waiting[p].count - 1], now);
	while (s->delayed.count)
		jr_sched_cancel(s, s->delayed.items[0], now);
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		if (job->cancel_requested)
			continue;
		job->cancel_requested = true;
		if (job->running) {
			cmd_job_signal(co, job, SIGTERM);
			job->kill_at_ns = now + co->kill_grace_ns;
		}
	}
}

static bool turn(struct jr_coordinator *co)
{
	uint64_t now = jr_now_realtime_ns();
	bool stopping, cancel_all;

	pthread_mutex_lock(&co->state_lock);
	drain_inbox(co, now);
	pthread_mutex_lock(&co->lock);
	stopping = co->stopping;
	cancel_all = co->cancel_all;
	pthread_mutex_unlock(&co->lock);
	if (cancel_all)
		cancel_everything(co, now);
	if (stopping && !co->detach)
		ext_end_all(co, now);
	check_deadlines(co, now);
	if (!cancel_all && !co->restoring && !coord_scheduling_paused(co))
		jr_sched_pass(&co->sched, now);
	while (co->spawned_here) {
		struct cmd_job *job = co->spawned_here;
		co->spawned_here = job->next;
		cmd_job_spawned(co, job, now);
	}
	end_refused(co, now);
	free_dead(co);
	coord_keeper_flush(co);
	if (stopping && (co->outstanding == 0 || co->detach)) {
		pthread_mutex_unlock(&co->state_lock);
		return false;
	}
	arm_timer(co);
	pthread_mutex_unlock(&co->state_lock);
	wait_events(co);
	return true;
}

static void *coord_main(void *arg)
{
	struct jr_coordinator *co = arg;

	pthread_setname_np(pthread_self(), "jr-coordinator");
	while (turn(co))
		;
	return NULL;
}

/* --- spawner threads --------------------------------------------------------- */

static void runner_finish(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_exec_result res;
	uint64_t now;
	bool poke_coordinator;

	if ((job->cgroup.fd < 0 ? jr_exec_reap_group(&job->child, &res, true) :
				  jr_exec_wait(&job->child, &res)) < 0)
		memset(&res, 0, sizeof(res));
	pthread_mutex_lock(&co->state_lock);
	if (!cmd_job_collect_begin(co, job)) {
		pthread_mutex_unlock(&co->state_lock);
		cmd_job_collect_wait(co, job);
		pthread_mutex_lock(&co->state_lock);
	}
	now = jr_now_realtime_ns();
	cmd_job_exited(co, job, &res, now);
	poke_coordinator = coord_settle(co, now);
	pthread_mutex_unlock(&co->state_lock);
	if (poke_coordinator)
		poke(co);
}

/* The coordinator may be waiting for the last job to stop, or need an
 * earlier timer (a retry's backoff, a started job's limit). */
bool coord_settle(struct jr_coordinator *co, uint64_t now)
{
	if (!co->restoring && !coord_scheduling_paused(co))
		jr_sched_pass(&co->sched, now);
	end_refused(co, now);
	free_dead(co);
	return co->outstanding == 0 || next_deadline(co) < co->armed_ns ||
	       coord_keeper_pending(co);
}

static void runner_run(struct jr_coordinator *co, struct cmd_job *job)
{
	int rc = cmd_job_spawn(co, job);
	bool running;

	bool deadline;

	pthread_mutex_lock(&co->state_lock);
	job->spawn_rc = rc;
	cmd_job_spawned(co, job, jr_now_realtime_ns());
	running = rc == 0;
	deadline = running && next_deadline(co) < co->armed_ns;
	pthread_mutex_unlock(&co->state_lock);
	if (!running || deadline)
		poke(co);	/* its timer must cover the new deadline */
	if (running)
		runner_finish(co, job);
}

static void *spawner_main(void *arg)
{
	struct jr_coordinator *co = arg;

	pthread_setname_np(pthread_self(), "jr-runner");
	pthread_mutex_lock(&co->lock);
	for (;;) {
		struct cmd_job *job = co->spawn_head;
		if (!job) {
			if (co->spawners_stop)
				break;
			pthread_cond_wait(&co->spawn_cv, &co->lock);
			continue;
		}
		co->spawn_head = job->next;
		if (!co->spawn_head)
			co->spawn_tail = NULL;
		pthread_mutex_unlock(&co->lock);
		runner_run(co, job);
		pthread_mutex_lock(&co->lock);
	}
	pthread_mutex_unlock(&co->lock);
	return NULL;
}

static int spawners_start(struct jr_coordinator *co, uint32_t want)
{
	if (want == 0)
		return 0;
	if (want > JR_RUNNERS_MAX)
		want = JR_RUNNERS_MAX;
	co->spawners = jr_calloc(want, sizeof(*co->spawners));
	if (!co->spawners)
		return -ENOMEM;
	for (co->spawner_count = 0; co->spawner_count < want; co->spawner_count++)
		if (pthread_create(&co->spawners[co->spawner_count], NULL, spawner_main, co))
			return co->spawner_count ? 0 : -EAGAIN;
	return 0;
}

static void spawners_stop(struct jr_coordinator *co)
{
	pthread_mutex_lock(&co->lock);
	co->spawners_stop = true;
	pthread_cond_broadcast(&co->spawn_cv);
	pthread_mutex_unlock(&co->lock);
	for (uint32_t i = 0; i < co->spawner_count; i++)
		pthread_join(co->spawners[i], NULL);
	co->spawner_count = 0;
	jr_free(co->spawners);
	co->spawners = NULL;
}

/* --- start and stop -------------------------------------------------------- */

static void name_state_dir(struct jr_coordinator *co, const char *dir)
{
	if (dir)
		snprintf(co->state_dir, sizeof(co->state_dir), "%s", dir);
	else
		snprintf(co->state_dir, sizeof(co->state_dir), "/tmp/jobring-%d", (int)getpid());
}

/* Job cgroups of engines on different state directories stay apart:
 * the subtree is named after a hash of the directory's path. */
static void open_cgroups(struct jr_coordinator *co, const struct jr_engine_opts *o)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char name[24];

	for (const char *p = co->state_dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(name, sizeof(name), "%016llx", (unsigned long long)h);
	jr_cgroups_open(&co->cg, name, o->cgroup,
			(o->flags & JR_ENGINE_NO_CGROUPS) ? JR_CGROUPS_DISABLE : 0);
	co->cg.idle_max = 2 * co->topo->core_count + 16;
}

/* Created with the first command job, so that an engine running only
 * function jobs leaves nothing behind. Under co->lock. */
int coord_make_state_dir(struct jr_coordinator *co)
{
	if (co->state_dir_made)
		return 0;
	if (mkdir(co->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	co->state_dir_made = true;
	return 0;
}

static int open_fds(struct jr_coordinator *co)
{
	struct epoll_event ev = { .events = EPOLLIN };

	co->epfd = epoll_create1(EPOLL_CLOEXEC);
	co->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	co->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (co->epfd < 0 || co->evfd < 0 || co->tfd < 0)
		return -errno;
	ev.data.ptr = &co->evfd;
	if (epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->evfd, &ev) < 0)
		return -errno;
	ev.data.ptr = &co->tfd;
	if (epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->tfd, &ev) < 0)
		return -errno;
	ev.data.ptr = &co->keeper_fd;
	if (co->keeper_fd >= 0 && epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->keeper_fd, &ev) < 0)
		return -errno;
	return 0;
}

/* Stopping with DETACH: the jobs this engine still knows of are let go
 * (their processes run on under the keeper). */
static void free_remaining_jobs(struct jr_coordinator *co)
{
	struct jr_region *r = co->region;

	for (uint32_t i = 1; i < r->hdr->capacity; i++) {
		struct jr_slot *s = &r->slots[i];
		if (jr_slot_state(jr_load_acquire(&s->state)) == JR_JOB_FREE ||
		    !jr_jobtab_is_command(s))
			continue;
		struct jr_cmd_record *rec = jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg));
		struct cmd_job *job = (struct cmd_job *)(uintptr_t)jr_load_acquire(&rec->coord);
		if (!job)
			continue;
		jr_store_release(&rec->coord, 0);
		cmd_job_free(job);
	}
}

static void coord_free(struct jr_coordinator *co)
{
	if (co->epfd > 0)
		close(co->epfd);
	if (co->evfd > 0)
		close(co->evfd);
	if (co->tfd > 0)
		close(co->tfd);
	jr_sched_destroy(&co->sched);
	jr_cgroups_close(&co->cg, /* remove */ true);
	coord_keeper_close(co);
	jr_free(co->acks);
	jr_free(co->running);
	jr_free(co->cancels);
	pthread_cond_destroy(&co->spawn_cv);
	pthread_cond_destroy(&co->restore_cv);
	pthread_mutex_destroy(&co->state_lock);
	pthread_mutex_destroy(&co->lock);
	jr_free(co);
}

/* The keeper holds KEEPER_FDS_PER_JOB descriptors for each running job
 * (its pidfd and progress pipe; its cgroup's are closed while it runs)
 * and raises its limit as this process did: beyond that many, a spawn
 * would fail with EMFILE, so jobs wait instead. 0: no cap. */
#define KEEPER_FDS_PER_JOB 2u
#define KEEPER_FDS_SPARE 64u

static uint32_t keeper_job_cap(uint32_t wanted, uint32_t cores)
{
	struct rlimit r;
	uint64_t cap;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_max == RLIM_INFINITY)
		return wanted;
	cap = r.rlim_max > KEEPER_FDS_SPARE ? (r.rlim_max - KEEPER_FDS_SPARE) / KEEPER_FDS_PER_JOB : 1;
	if ((wanted ? wanted : cores) <= cap)	/* a running job holds a core */
		return wanted;
	fprintf(stderr, "jobring: at most %llu jobs run at once: the keeper holds %u descriptors "
		"for each and may open %llu (RLIMIT_NOFILE)\n", (unsigned long long)cap,
		KEEPER_FDS_PER_JOB, (unsigned long long)r.rlim_max);
	return (uint32_t)cap;
}

static int coord_setup(struct jr_coordinator *co, const struct jr_coord_host *host,
		       const struct jr_engine_opts *o)
{
	struct jr_res_config cfg = { 0 };
	struct jr_sched_ops ops = { on_start, on_ended, ext_on_eligible, co };
	int rc;

	co->region = host->region;
	co->topo = host->topo;
	co->bind = host->bind;
	co->id = host->worker_id;
	co->rec = &co->region->workers[co->id];
	co->kill_grace_ns = (o->kill_grace_ms ? o->kill_grace_ms : 10000) * 1000000ull;
	co->armed_ns = JR_TIME_NEVER;
	co->gpus_per_node = o->gpus_per_node;
	co->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
	co->base_env = environ;
	co->uid = (uint32_t)getuid();
	co->job_event = o->job_event;
	co->job_event_ctx = o->job_event_ctx;
	pthread_mutex_init(&co->lock, NULL);
	pthread_mutex_init(&co->state_lock, NULL);
	pthread_cond_init(&co->spawn_cv, NULL);
	pthread_cond_init(&co->restore_cv, NULL);
	cfg.mem_per_node = o->mem_per_node;
	cfg.gpus_per_node = o->gpus_per_node;
	if (jr_res_parse_totals(o->custom_resources, &cfg, co->custom_names) < 0 ||
	    jr_res_parse_host_caps(o->capabilities, &co->caps, &cfg) < 0)
		return -EINVAL;
	rc = jr_pools_init(&co->pools, co->topo, &cfg);
	if (rc < 0)
		return rc;
	co->running_cap = co->topo->core_count;	/* each running job holds a core */
	co->running = jr_calloc(co->running_cap, sizeof(*co->running));
	if (!co->running)
		return -ENOMEM;
	jr_sched_init(&co->sched, &co->pools, &ops);
	co->sched.max_running = o->keeper_socket ?
		keeper_job_cap(o->runner_threads, co->topo->core_count) : 0;
	name_state_dir(co, o->state_dir);
	rc = coord_keeper_open(co, o);
	if (rc < 0)
		return rc;
	if (co->keeper_fd < 0)	/* with a keeper, job cgroups are the keeper's */
		open_cgroups(co, o);
	return open_fds(co);
}

int jr_coord_start(struct jr_coordinator **out, const struct jr_coord_host *host,
		   const struct jr_engine_opts *o)
{
	struct jr_coordinator *co = jr_calloc(1, sizeof(*co));
	int rc;

	if (!co)
		return -ENOMEM;
	co->cg.dir_fd = -1;
	co->keeper_fd = -1;
	rc = coord_setup(co, host, o);
	if (rc == 0)
		rc = spawners_start(co, co->keeper_fd >= 0 ? 0 :
					(o->flags & JR_ENGINE_SPAWN_INLINE) ? 0 :
					o->runner_threads ? o->runner_threads :
							    co->topo->core_count);
	if (rc == 0)
		rc = -pthread_create(&co->thread, NULL, coord_main, co);
	if (rc < 0) {
		spawners_stop(co);
		coord_free(co);
		return rc;
	}
	*out = co;
	return 0;
}

void jr_coord_stop(struct jr_coordinator *co, enum jr_close_mode mode)
{
	if (!co)
		return;
	pthread_mutex_lock(&co->lock);
	co->stopping = true;
	co->cancel_all = mode == JR_CLOSE_CANCEL;
	co->detach = mode == JR_CLOSE_DETACH;
	pthread_mutex_unlock(&co->lock);
	poke(co);
	pthread_join(co->thread, NULL);
	spawners_stop(co);
	free_dead(co);
	if (co->detach)
		free_remaining_jobs(co);
	coord_free(co);
}

bool jr_coord_has_keeper(const struct jr_coordinator *co)
{
	return co && co->keeper_fd >= 0;
}

void jr_coord_exec_info(struct jr_coordinator *co, struct jr_exec_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!co)
		return;
	pthread_mutex_lock(&co->state_lock);
	if (co->keeper_fd >= 0 || co->keeper_socket) {
		out->cgroups = co->kinfo.cgroup_mode == JR_CGROUP_V2;
		snprintf(out->cgroup_path, sizeof(out->cgroup_path), "%s", co->kinfo.cgroup_path);
		jr_cgroup_controller_names(co->kinfo.controllers, out->controllers,
					   sizeof(out->controllers));
		snprintf(out->note, sizeof(out->note), "%s", co->kinfo.note);
		out->keeper_pid = co->kinfo.pid;
	} else {
		out->cgroups = co->cg.mode == JR_CGROUP_V2;
		snprintf(out->cgroup_path, sizeof(out->cgroup_path), "%s", co->cg.path);
		jr_cgroup_controller_names(co->cg.controllers, out->controllers,
					   sizeof(out->controllers));
		snprintf(out->note, sizeof(out->note), "%s", co->cg.note);
	}
	out->keeper_restarts = co->keeper_restarts;
	out->adopted = co->adopted;
	out->ended_while_away = co->ended_while_away;
	out->lost = co->lost;
	pthread_mutex_unlock(&co->state_lock);
}

/* --- requests from any thread ------------------------------------------ */

/* dir/<id, 16 hex digits><ext> into out, cut to size like snprintf:
 * by hand, as every job listed or snapshotted gets two of them (snprintf
 * was a fifth of a snapshot's time). */
static void output_path(char *out, size_t size, const char *dir, size_t dir_len, jr_job_id id,
			const char ext[4])
{
	char buf[512];
	size_t n = dir_len < sizeof(buf) - 21 ? dir_len : sizeof(buf) - 21;

	memcpy(buf, dir, n);
	buf[n++] = '/';
	for (int shift = 60; shift >= 0; shift -= 4)
		buf[n++] = "0123456789abcdef"[(id >> shift) & 15];
	memcpy(buf + n, ext, 4);
	n += 4;
	if (size == 0)
		return;
	n = n < size - 1 ? n : size - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
}

void jr_coord_output_paths(const struct jr_coordinator *co, jr_job_id id, char *out,
			   char *err, size_t size)
{
	const char *dir = co ? co->state_dir : "";
	size_t len = strlen(dir);

	output_path(out, size, dir, len, id, ".out");
	output_path(err, size, dir, len, id, ".err");
}

void jr_coord_cancel(struct jr_coordinator *co, jr_job_id id)
{
	pthread_mutex_lock(&co->lock);
	/* Without memory the request is dropped; the job runs to its end. */
	if (jr_array_grow(&co->cancels, &co->cancel_cap, co->cancel_count,
			  co->cancel_count + 1, sizeof(*co->cancels), 64) == 0)
		co->cancels[co->cancel_count++] = id;
	pthread_mutex_unlock(&co->lock);
	poke(co);
}

static void count_cores(const struct jr_pools *p, uint32_t *total, uint32_t *free)
{
	*total = *free = 0;
	for (uint32_t node = 0; node < p->numa_count; node++) {
		*total += p->node[node].core_total;
		for (uint32_t i = 0; i < JR_CORE_WORDS; i++)
			*free += (uint32_t)__builtin_popcountll(p->node[node].core_free[i]);
	}
}

void jr_coord_stats(struct jr_coordinator *co, struct jr_stats *out)
{
	if (!co)
		return;
	pthread_mutex_lock(&co->state_lock);
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++) {
		uint64_t n = co->sched.waiting[p].count + co->ext_ready[p].count;
		out->queued_by_priority[p] += n;
		out->queued += n;
	}
	out->running += co->running_count;	/* command jobs: local and external */
	for (int b = 0; b < JR_WAIT_BUCKETS; b++)
		out->start_wait_us_hist[b] = co->start_wait_hist[b];
	out->start_wait_us_sum = co->start_wait_sum_us;
	uint32_t total, free;
	count_cores(&co->pools, &total, &free);
	out->cores = total;
	out->cores_busy = total - free;
	pthread_mutex_unlock(&co->state_lock);
}

void jr_coord_wake(struct jr_coordinator *co)
{
	if (co)
		poke(co);
}
