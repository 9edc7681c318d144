/*
 * progresspipe.c - inline spawns' progress pipes read in the
 * coordinator's epoll loop. See progresspipe.h.
 */
#include <stdint.h>
#include <sys/epoll.h>

#include "base/common.h"
#include "coord/progresspipe.h"

/* A job's address with the low bit set (a cmd_job is 8-aligned; a
 * pidfd's event carries the job's plain address). */
#define TAG_BIT ((uintptr_t)1)

void *jr_coord_progress_tag(struct cmd_job *job)
{
	return (void *)((uintptr_t)job | TAG_BIT);
}

struct cmd_job *jr_coord_progress_untag(void *ptr)
{
	return ((uintptr_t)ptr & TAG_BIT) ? (struct cmd_job *)((uintptr_t)ptr & ~TAG_BIT) : NULL;
}

static void arm(struct jr_coordinator *co, struct cmd_job *job, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT,
				  .data.ptr = jr_coord_progress_tag(job) };

	epoll_ctl(co->epfd, op, job->run->child.progress_fd, &ev);
}

void jr_coord_progress_watch(struct jr_coordinator *co, struct cmd_job *job)
{
	job->progress_paused = false;
	if (job->run->child.progress_fd >= 0)
		arm(co, job, EPOLL_CTL_ADD);
}

void jr_coord_progress_unwatch(struct jr_coordinator *co, struct cmd_job *job)
{
	if (job->run->child.progress_fd >= 0)
		epoll_ctl(co->epfd, EPOLL_CTL_DEL, job->run->child.progress_fd, NULL);
	if (job->progress_paused)
		co->progress_paused--;
	job->progress_paused = false;
}

void jr_coord_progress_ready(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	bool eof;

	if (job->phase != CMD_RUNNING || job->run->child.progress_fd < 0 || job->progress_paused)
		return;
	jr_progress_read(job->run->child.progress_fd, &job->run->child.progress, JR_PROGRESS_READ_MAX,
			 &eof);
	jr_cmd_job_set_progress(co, job, job->run->child.progress.last);
	if (eof) {
		epoll_ctl(co->epfd, EPOLL_CTL_DEL, job->run->child.progress_fd, NULL);
		return;
	}
	if (co->progress_paused++ == 0)	/* the first to rest sets the window */
		co->progress_resume_ns = now + JR_PROGRESS_REPORT_MS * JR_NS_PER_MS;
	job->progress_paused = true;
}

void jr_coord_progress_resume(struct jr_coordinator *co, uint64_t now)
{
	if (co->progress_paused == 0 || now < co->progress_resume_ns)
		return;
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		if (!job->progress_paused)
			continue;
		job->progress_paused = false;
		co->progress_paused--;
		arm(co, job, EPOLL_CTL_MOD);
	}
}
