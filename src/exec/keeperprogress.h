/*
 * keeperprogress.h - the keeper's side of live progress: each running
 * job's progress pipe watched in the keeper's epoll loop, read as the job
 * writes it (progress.h), and the values that changed sent to the engine
 * as one PROGRESS frame per tick (keeper.h).
 *
 * Bounds, for 10,000 jobs that write without pause: a pipe is read once
 * per event, at most JR_PROGRESS_READ_MAX bytes, and is watched again only
 * at the next tick (EPOLLONESHOT): at most one read per job per
 * KP_PROGRESS_TICK_MS, whatever it writes (past 64 KiB a tick its writes
 * find the pipe full and fail with EAGAIN: it is never blocked); at most
 * one PROGRESS frame goes out per tick, with one entry per job whose value
 * changed since the last one sent. The keeper's main thread only.
 */
#ifndef JR_KEEPER_PROGRESS_H
#define JR_KEEPER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "exec/executor.h"
#include "exec/keeper.h"

#define KP_PROGRESS_TICK_MS 100

/* One per job that runs as the keeper's child (in its struct kjob). */
struct kp_watch {
	struct jr_child *child;		/* NULL: not watched */
	uint64_t job_id;
	uint32_t attempt;
	int8_t sent;			/* last value sent; -1: none */
	bool in_epoll, listed;
	bool paused;			/* read: watched again at the tick */
	struct kp_watch *prev, *next;	/* on the list of those due at the tick */
};

struct kp_progress {
	int epfd, timer_fd;
	bool timer_armed;
	struct kp_watch *due;		/* a value to send or a read to resume */
	uint64_t frames, entries;	/* sent so far */
};

/* Make the tick's timer and watch it in epfd with data.ptr = tag (the
 * epoll loop's way to know it). 0 or -errno. */
int jr_kpp_init(struct kp_progress *p, int epfd, void *tag);
void jr_kpp_close(struct kp_progress *p);

/* Watch a child's progress pipe (none: nothing to do). Its epoll events
 * carry jr_kpp_tag(w). */
void jr_kpp_watch(struct kp_progress *p, struct kp_watch *w, struct jr_child *child,
		  uint64_t job_id, uint32_t attempt);
void *jr_kpp_tag(struct kp_watch *w);
/* The watch an epoll event's data.ptr names, or NULL if it names none. */
struct kp_watch *jr_kpp_untag(void *ptr);

/* The pipe is readable (or closed). */
void jr_kpp_ready(struct kp_progress *p, struct kp_watch *w);

/* The timer fired: one PROGRESS frame of what changed into out (NULL: no
 * engine connected; LIVE tells the next one), paused reads resumed. */
void jr_kpp_tick(struct kp_progress *p, struct kp_buf *out);

/* Stop watching (before the pipe is closed): what is left in the pipe is
 * read and the last value returned (-1: none). Safe to call twice. */
int jr_kpp_stop(struct kp_progress *p, struct kp_watch *w);

#endif
