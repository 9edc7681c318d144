/*
 * runners.c - runner threads: each starts a child from the spawn queue,
 * waits for it (reading its progress pipe meanwhile), ends its job under
 * state_lock and runs the pass itself. See runners.h.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/child.h"
#include "coord/cmdjob.h"
#include "coord/pass.h"
#include "coord/runners.h"

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

void jr_coord_runners_hand(struct jr_coordinator *co, struct cmd_job *job)
{
	jr_mutex_lock(&co->lock);
	fifo_append(&co->spawn_head, &co->spawn_tail, job);
	pthread_cond_signal(&co->spawn_cv);
	jr_mutex_unlock(&co->lock);
}

/* Its progress as it writes it: this thread is the slot's only writer
 * of it while the job runs. */
struct runner_ctx {
	struct jr_coordinator *co;
	struct cmd_job *job;
};

static void runner_progress(void *ctx, int pct)
{
	struct runner_ctx *rc = ctx;

	jr_cmd_job_set_progress(rc->co, rc->job, pct);
}

static void runner_finish(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_exit_status res;
	uint64_t now;
	bool poke_coordinator;
	struct runner_ctx ctx = { co, job };

	jr_progress_wait_exit(&job->run->child, runner_progress, &ctx);	/* then reaped at once */
	if ((job->run->cgroup.fd < 0 ? jr_exec_reap_group(&job->run->child, &res, true) :
				  jr_exec_wait(&job->run->child, &res)) < 0)
		memset(&res, 0, sizeof(res));
	jr_mutex_lock(&co->state_lock);
	if (!jr_cmd_child_collect_begin(co, job)) {
		jr_mutex_unlock(&co->state_lock);
		jr_cmd_child_collect_wait(co, job);
		jr_mutex_lock(&co->state_lock);
	}
	now = jr_now_realtime_ns();
	jr_cmd_job_exited(co, job, &res, now);
	poke_coordinator = jr_coord_settle(co, now);
	jr_mutex_unlock(&co->state_lock);
	if (poke_coordinator)
		jr_coord_poke(co);
}

static void runner_run(struct jr_coordinator *co, struct cmd_job *job)
{
	int rc = jr_cmd_child_spawn(co, job);
	bool running, deadline;

	jr_mutex_lock(&co->state_lock);
	job->run->spawn_rc = rc;
	jr_cmd_job_spawned(co, job, jr_now_realtime_ns());
	running = rc == 0;
	deadline = running && jr_coord_next_deadline(co) < co->armed_ns;
	jr_mutex_unlock(&co->state_lock);
	if (!running || deadline)
		jr_coord_poke(co);	/* its timer must cover the new deadline */
	if (running)
		runner_finish(co, job);
}

static void *runner_main(void *arg)
{
	struct jr_coordinator *co = arg;

	pthread_setname_np(pthread_self(), "jr-runner");
	jr_mutex_lock(&co->lock);
	for (;;) {
		struct cmd_job *job = co->spawn_head;
		if (!job) {
			if (co->runners_stop)
				break;
			jr_cond_wait(&co->spawn_cv, &co->lock);
			continue;
		}
		co->spawn_head = job->next;
		if (!co->spawn_head)
			co->spawn_tail = NULL;
		jr_mutex_unlock(&co->lock);
		runner_run(co, job);
		jr_mutex_lock(&co->lock);
	}
	jr_mutex_unlock(&co->lock);
	return NULL;
}

int jr_coord_runners_start(struct jr_coordinator *co, uint32_t want)
{
	if (want == 0)
		return 0;
	if (want > JR_RUNNERS_MAX)
		want = JR_RUNNERS_MAX;
	co->runners = jr_calloc(want, sizeof(*co->runners));
	if (!co->runners)
		return -ENOMEM;
	for (co->runner_count = 0; co->runner_count < want; co->runner_count++)
		if (pthread_create(&co->runners[co->runner_count], NULL, runner_main, co))
			return co->runner_count ? 0 : -EAGAIN;
	return 0;
}

void jr_coord_runners_stop(struct jr_coordinator *co)
{
	jr_mutex_lock(&co->lock);
	co->runners_stop = true;
	pthread_cond_broadcast(&co->spawn_cv);
	jr_mutex_unlock(&co->lock);
	for (uint32_t i = 0; i < co->runner_count; i++)
		pthread_join(co->runners[i], NULL);
	co->runner_count = 0;
	jr_free(co->runners);
	co->runners = NULL;
}
