/*
 * cmdkeeper.c - the coordinator's side of the keeper above the link
 * (keeperlink.c): the frames from the keeper, STARTED, SPAWN_FAILED,
 * EXITED, LIVE and PROGRESS, applied to the jobs; the frames waiting in co->kout
 * sent at the end of the coordinator's turn; and a keeper lost: another
 * started and every running job asked about again. Everything here runs
 * on the coordinator thread under state_lock. See cmdkeeper.h.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "base/common.h"
#include "coord/cmdjob.h"
#include "coord/cmdkeeper.h"
#include "coord/keeperlink.h"
#include "shm/jobtab.h"

/* --- a keeper lost ------------------------------------------------------------------------ */

/* A job the keeper was starting counts as started from now on: the new
 * keeper holds it, or it ended. */
static void taken_running(struct cmd_job *job)
{
	if (job->phase == CMD_STARTING)
		jr_cmd_job_set_phase(job, CMD_RUNNING);
}

/* After a keeper restart: every running job is asked about. One the new
 * keeper does not hold is handed over (ADOPT) with what is known of its
 * process; one still spawning may have started or not: asked the same
 * way (without a pid, only its cgroup can tell). */
static void reattach(struct jr_coordinator *co, uint64_t now)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		struct keeper_held *h = jr_coord_keeper_held(co, job->sj.id);
		struct jr_exit_status res = { .exit_code = -1 };
		if (job->external)
			continue;
		if (h && h->attempt != 0 && h->attempt != job->attempts)
			h = NULL;
		if (h)
			h->matched = true;
		if (co->keeper_fd < 0) {	/* no keeper at all: every job is lost */
			job->lost = true;
			taken_running(job);
			jr_cmd_job_exited(co, job, &res, now);
			i--;
			continue;
		}
		if (h && h->exited) {
			res = jr_kp_exited_status(&h->exit);
			job->lost = (h->exit.flags & KP_EXIT_LOST) != 0;
			taken_running(job);
			jr_cmd_job_exited(co, job, &res, h->exit.end_ns && h->exit.end_ns < now ?
							       h->exit.end_ns : now);
			i--;
			continue;
		}
		struct cmd_restore_info ri = {
			.attempt = job->attempts, .pid = job->run->child.pid,
			.pid_start_ticks = job->run->start_ticks, .cgroup_slot = job->run->cgroup_slot,
			.start_ns = jr_slot_get(co->region->slots[jr_cmd_job_slot(job)].start_ns),
		};
		memcpy(ri.boot_id, jr_exec_boot_id(), sizeof(ri.boot_id));
		jr_coord_keeper_adopt(co, job, &ri);
		taken_running(job);
	}
	jr_coord_keeper_reconcile(co);
}

/* The keeper died (or closed on us): a new one finds the jobs still
 * running in their cgroups; the others are gone without a status. */
static void keeper_lost(struct jr_coordinator *co, uint64_t now)
{
	jr_coord_keeper_reconnect(co);
	reattach(co, now);
}

/* --- frames from the keeper --------------------------------------------------------------- */

static struct cmd_job *job_at(struct jr_coordinator *co, jr_job_id id, uint32_t attempt)
{
	struct cmd_job *job = jr_coord_job_of(co, id);

	return job && job->attempts == attempt ? job : NULL;
}

static void on_started(struct jr_coordinator *co, const uint8_t *p, uint32_t len, uint64_t now)
{
	struct kp_started st;
	struct cmd_job *job;

	if (len != sizeof(st))
		return;
	memcpy(&st, p, sizeof(st));
	job = job_at(co, st.job_id, st.attempt);
	if (!job || job->phase != CMD_STARTING) {	/* nobody asked for it here: it must not run */
		struct kp_signal k = { st.job_id, st.attempt, SIGKILL };
		jr_kp_put(&co->kout, KP_SIGNAL, &k, sizeof(k));
		return;
	}
	job->run->child.pid = st.pid;
	job->run->start_ticks = st.start_ticks;
	job->run->cgroup_slot = st.cgroup_slot;
	job->run->spawn_rc = 0;
	jr_cmd_job_spawned(co, job, now);
}

static void on_spawn_failed(struct jr_coordinator *co, const uint8_t *p, uint32_t len,
			    uint64_t now)
{
	struct kp_spawn_failed f;
	struct cmd_job *job;

	if (len != sizeof(f))
		return;
	memcpy(&f, p, sizeof(f));
	job = job_at(co, f.job_id, f.attempt);
	if (!job || job->phase != CMD_STARTING)
		return;
	/* The step in bits 16+ (an older keeper's is 0: unknown). */
	job->run->spawn_rc = -(JR_SPAWN_ERROR_ERRNO(f.err) ? JR_SPAWN_ERROR_ERRNO(f.err) : EIO);
	job->run->spawn_step = JR_SPAWN_ERROR_STEP(f.err);
	jr_cmd_job_spawned(co, job, now);
}

static void on_exited(struct jr_coordinator *co, const uint8_t *p, uint32_t len, uint64_t now)
{
	struct jr_exit_status res;
	struct kp_exited x;
	struct cmd_job *job;

	if (len != sizeof(x))
		return;
	memcpy(&x, p, sizeof(x));
	job = job_at(co, x.job_id, x.attempt);
	if (!job || job->phase != CMD_RUNNING || job->external) {
		/* Not ours: one that was never acknowledged, killed at restore;
		 * or, restore still under way, one it will ask about. */
		if (jr_load_acquire(&co->restore_phase) != RESTORE_CLOSED)
			jr_coord_keeper_held_exited(co, p, len);
		else
			jr_coord_keeper_ack(co, x.job_id, x.attempt);
		return;
	}
	jr_cmd_job_set_progress(co, job, x.progress);
	job->lost = (x.flags & KP_EXIT_LOST) != 0;
	if (job->lost && co->adopted)
		co->adopted--;	/* it was not there to take back after all */
	res = jr_kp_exited_status(&x);
	/* When it ended, as the keeper saw it (not when we heard of it). */
	jr_cmd_job_exited(co, job, &res, x.end_ns && x.end_ns < now ? x.end_ns : now);
}

static void on_live(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
{
	struct kp_live l;
	struct cmd_job *job;

	if (len < sizeof(l))
		return;
	memcpy(&l, p, sizeof(l));
	job = job_at(co, l.job_id, l.attempt);
	if (job && job->phase == CMD_RUNNING && l.pid > 0) {	/* an adopted one, watched */
		job->run->child.pid = l.pid;
		job->run->start_ticks = l.start_ticks;
	}
	if (job && job->phase == CMD_RUNNING && !job->external)
		jr_cmd_job_set_progress(co, job, (int)l.progress1 - 1);
}

/* Running jobs' progress, batched by the keeper (keeperprogress.h). One
 * that is not running here (ended, or of another attempt) is skipped. */
static void on_progress(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
{
	for (uint32_t at = 0; at + sizeof(struct kp_progress_entry) <= len;
	     at += sizeof(struct kp_progress_entry)) {
		struct kp_progress_entry e;
		memcpy(&e, p + at, sizeof(e));
		struct cmd_job *job = job_at(co, e.job_id, e.attempt);
		if (job && job->phase == CMD_RUNNING && !job->external)
			jr_cmd_job_set_progress(co, job, e.progress);
	}
}

static void on_frame(struct jr_coordinator *co, const struct kp_header *h, const uint8_t *p,
		     uint64_t now)
{
	switch (h->type) {
	case KP_STARTED: on_started(co, p, h->len, now); break;
	case KP_SPAWN_FAILED: on_spawn_failed(co, p, h->len, now); break;
	case KP_EXITED: on_exited(co, p, h->len, now); break;
	case KP_LIVE: on_live(co, p, h->len); break;
	case KP_PROGRESS:
		co->keeper_progress_frames++;
		on_progress(co, p, h->len);
		break;
	default: break;	/* INFO and STATE_END again: nothing new */
	}
}

void jr_coord_keeper_read(struct jr_coordinator *co, uint64_t now)
{
	struct kp_header h;
	const uint8_t *p;
	bool bad = false;
	ssize_t n;

	while ((n = jr_kp_fill(co->keeper_fd, &co->kin)) > 0)
		while (jr_kp_next(&co->kin, &h, &p, &bad))
			on_frame(co, &h, p, now);
	if (bad || n == 0 || (n < 0 && n != -EAGAIN))
		keeper_lost(co, now);
}

/* Under state_lock, on the coordinator: the acknowledgements in, what
 * waits in kout out. */
void jr_coord_keeper_flush(struct jr_coordinator *co)
{
	if (co->keeper_fd < 0)
		return;
	jr_mutex_lock(&co->lock);
	if (co->ack_count) {
		jr_kp_put(&co->kout, KP_ACK, co->acks, co->ack_count * (uint32_t)sizeof(*co->acks));
		co->ack_count = 0;
	}
	jr_mutex_unlock(&co->lock);
	if (co->kout.off < co->kout.len && jr_kp_flush(co->keeper_fd, &co->kout) < 0)
		keeper_lost(co, jr_now_realtime_ns());
}
