/*
 * progresspipe.h - the progress pipes of children the coordinator spawns
 * and reaps itself (no keeper, no runner threads: JR_ENGINE_SPAWN_INLINE),
 * read in its epoll loop as the jobs write them. Each event reads at
 * most JR_PROGRESS_READ_MAX bytes, then the pipe rests (EPOLLONESHOT, not
 * re-armed) until the window of JR_PROGRESS_REPORT_MS that the first
 * resting pipe opened ends: a job that floods its pipe costs the
 * coordinator about ten bounded reads a second. (Runner threads read theirs in jr_progress_wait_exit;
 * the keeper in keeperprogress.c.) The coordinator thread, under
 * state_lock.
 */
#ifndef JR_COORD_PROGRESSPIPE_H
#define JR_COORD_PROGRESSPIPE_H

#include <stdint.h>

#include "coord/state.h"

/* Watch a just-spawned job's pipe in co->epfd; its events carry
 * jr_coord_progress_tag(job). */
void jr_coord_progress_watch(struct jr_coordinator *co, struct cmd_job *job);
/* Before the pipe is closed. */
void jr_coord_progress_unwatch(struct jr_coordinator *co, struct cmd_job *job);

void *jr_coord_progress_tag(struct cmd_job *job);
/* The job an epoll event's data.ptr names as a progress pipe, or NULL. */
struct cmd_job *jr_coord_progress_untag(void *ptr);

/* The pipe is readable (or closed). */
void jr_coord_progress_ready(struct jr_coordinator *co, struct cmd_job *job, uint64_t now);
/* Flooded pipes whose wait is over watched again (each turn). */
void jr_coord_progress_resume(struct jr_coordinator *co, uint64_t now);

#endif
