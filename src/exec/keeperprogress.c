/*
 * keeperprogress.c - running jobs' progress pipes read in the keeper's
 * epoll loop and batched to the engine. See keeperprogress.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "exec/keeperprogress.h"

/* A watch's epoll tag is its address with the low bit set: struct kjob
 * pointers (8-aligned) and the keeper's own fds' tags never have it. */
#define TAG_BIT ((uintptr_t)1)

void *jr_kpp_tag(struct kp_watch *w)
{
	return (void *)((uintptr_t)w | TAG_BIT);
}

struct kp_watch *jr_kpp_untag(void *ptr)
{
	return ((uintptr_t)ptr & TAG_BIT) ? (struct kp_watch *)((uintptr_t)ptr & ~TAG_BIT) : NULL;
}

int jr_kpp_init(struct kp_progress *p, int epfd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	memset(p, 0, sizeof(*p));
	p->epfd = epfd;
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->timer_fd < 0)
		return -errno;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->timer_fd, &ev) < 0)
		return -errno;
	return 0;
}

void jr_kpp_close(struct kp_progress *p)
{
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	p->timer_fd = -1;
}

static void arm(struct kp_progress *p)
{
	struct itimerspec its = { .it_value = { 0, KP_PROGRESS_TICK_MS * 1000000L } };

	if (p->timer_armed)
		return;
	timerfd_settime(p->timer_fd, 0, &its, NULL);
	p->timer_armed = true;
}

static void list_add(struct kp_progress *p, struct kp_watch *w)
{
	if (w->listed)
		return;
	w->prev = NULL;
	w->next = p->due;
	if (p->due)
		p->due->prev = w;
	p->due = w;
	w->listed = true;
	arm(p);
}

static void list_remove(struct kp_progress *p, struct kp_watch *w)
{
	if (!w->listed)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		p->due = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->listed = false;
}

/* One event, then quiet until re-armed: a flood cannot keep the loop busy. */
static void rearm(struct kp_progress *p, struct kp_watch *w, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = jr_kpp_tag(w) };

	w->in_epoll = epoll_ctl(p->epfd, op, w->child->progress_fd, &ev) == 0;
}

void jr_kpp_watch(struct kp_progress *p, struct kp_watch *w, struct jr_child *child,
		  uint64_t job_id, uint32_t attempt)
{
	*w = (struct kp_watch){ .job_id = job_id, .attempt = attempt, .sent = -1 };
	if (child->progress_fd < 0)
		return;
	w->child = child;
	rearm(p, w, EPOLL_CTL_ADD);
}

static void unwatch(struct kp_progress *p, struct kp_watch *w)
{
	if (w->in_epoll)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->child->progress_fd, NULL);
	w->in_epoll = false;
}

void jr_kpp_ready(struct kp_progress *p, struct kp_watch *w)
{
	bool eof;

	if (!w->child || !w->in_epoll)
		return;
	jr_progress_read(w->child->progress_fd, &w->child->progress, JR_PROGRESS_READ_MAX, &eof);
	if (eof)
		unwatch(p, w);	/* the job closed it: its last value stands */
	else
		w->paused = true;	/* read again after the tick, not before */
	if (w->paused || w->child->progress.last != w->sent)
		list_add(p, w);
}

static void add_entry(struct kp_buf *out, struct kp_watch *w)
{
	struct kp_progress_entry e = { .job_id = w->job_id, .attempt = w->attempt,
					.progress = w->child->progress.last };

	jr_kp_add(out, &e, sizeof(e));
}

void jr_kpp_tick(struct kp_progress *p, struct kp_buf *out)
{
	struct kp_watch *w = p->due, *next;
	uint64_t expirations;
	uint32_t n = 0;
	size_t at = 0;

	if (read(p->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	p->timer_armed = false;
	p->due = NULL;
	if (out && jr_kp_begin(out, KP_PROGRESS, &at) < 0)
		out = NULL;
	for (; w; w = next) {
		next = w->next;
		w->listed = false;
		if (w->child->progress.last != w->sent) {
			if (out)
				add_entry(out, w);
			w->sent = w->child->progress.last;
			n++;
		}
		if (w->paused && w->in_epoll) {
			w->paused = false;
			rearm(p, w, EPOLL_CTL_MOD);
		}
	}
	if (out && n) {
		jr_kp_end(out, at);
		p->frames++;
		p->entries += n;
	} else if (out) {
		out->len = at;	/* nothing changed after all: no empty frame */
	}
}

int jr_kpp_stop(struct kp_progress *p, struct kp_watch *w)
{
	if (!w->child)
		return -1;
	unwatch(p, w);
	list_remove(p, w);
	int last = jr_exec_read_progress(w->child);
	w->child = NULL;
	return last;
}
