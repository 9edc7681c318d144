/*
 * child.c - a command job's process when this engine runs it (runner
 * threads or inline spawns, no keeper): spawned into its cgroup,
 * signalled, and collected once reaped. See child.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "coord/child.h"
#include "coord/launch.h"

#define COLLECT_WAIT_MS 10000	/* for a killed cgroup to empty */

int jr_cmd_child_spawn(struct jr_coordinator *co, struct cmd_job *job)
{
	struct cmd_launch l;
	int rc = jr_cmd_launch_prepare(co, job, &l);

	if (rc == 0)
		rc = jr_cgroup_job_take(&co->cg, l.cgroup_name, l.mem_max, &job->run->cgroup);
	job->run->spawn_step = JR_SPAWN_STEP_PREPARE;
	if (rc == 0) {
		l.spec.cgroup_fd = job->run->cgroup.fd;
		l.spec.failed_step = &job->run->spawn_step;
		rc = jr_exec_spawn(&l.spec, &job->run->child);
	}
	if (rc == 0 && co->job_event)	/* its identity goes to the journal */
		jr_exec_start_ticks(job->run->child.pid, &job->run->start_ticks);
	job->run->cgroup_slot = job->run->cgroup.slot;
	if (rc < 0 && job->run->cgroup.fd >= 0)
		jr_cgroup_job_release(&co->cg, &job->run->cgroup, COLLECT_WAIT_MS);
	jr_cmd_launch_free(&l);
	return rc;
}

void jr_cmd_child_signal(struct cmd_job *job, int sig)
{
	if (job->reaped)
		return;		/* its cgroup may hold the next job already */
	if (job->run->cgroup.fd < 0)
		jr_exec_signal_group(&job->run->child, sig);
	else if (sig == SIGKILL)
		jr_cgroup_job_kill(&job->run->cgroup);
	else
		jr_cgroup_job_signal(&job->run->cgroup, sig);
}

/* Under state_lock: from here on nothing signals through the job's
 * cgroup, which may go to the next job once empty. */
bool jr_cmd_child_collect_begin(struct jr_coordinator *co, struct cmd_job *job)
{
	int rc;

	job->reaped = true;
	if (job->run->cgroup.fd < 0)	/* its group was killed as it was reaped */
		return true;
	rc = jr_cgroup_job_try_release(&co->cg, &job->run->cgroup);
	return rc != -EBUSY;
}

/* Without the lock: processes still dying in its cgroup. */
void jr_cmd_child_collect_wait(struct jr_coordinator *co, struct cmd_job *job)
{
	if (jr_cgroup_job_release(&co->cg, &job->run->cgroup, COLLECT_WAIT_MS) < 0)
		fprintf(stderr, "jobring: job %016llx: its cgroup did not empty within %d ms; "
			"given up\n", (unsigned long long)job->sj.id, COLLECT_WAIT_MS);
}
