/*
 * lock.h - mutexes with a rank. Every mutex of jobring has one, and a
 * thread takes mutexes in rising rank only: holding rank r, it may take
 * only a rank above r. Debug builds (JR_DEBUG) check this on every lock
 * with a per-thread set of the ranks held, so an order that could
 * deadlock fails the first time it is taken, not the day two threads
 * meet. The order is written here and in docs/ARCHITECTURE.md, "Lock
 * order".
 */
#ifndef JR_LOCK_H
#define JR_LOCK_H

#include <pthread.h>
#include <stdint.h>

#include "base/common.h"

/* Outermost first. Locks of one rank are never held together. */
enum jr_lock_rank {
	JR_LOCK_DAEMON_STATE = 1,	/* the daemon's recovery helpers and snapshot writer */
	JR_LOCK_COORD_STATE = 2,	/* the coordinator's job lists (state_lock) */
	JR_LOCK_COORD_INBOX = 3,	/* its inbox, cancels and spawn queue (lock) */
	JR_LOCK_KEEPER = 4,		/* the keeper's spawn queue */
	JR_LOCK_CGROUP_POOL = 5,	/* idle job cgroups */
	JR_LOCK_EXEC_GROUPS = 6,	/* the executor's process groups */
	JR_LOCK_JOB_EVENTS = 7,		/* the daemon's queue of job events: filled from the
					 * coordinator's callbacks, under its locks */
	JR_LOCK_RANKS = 8,
};

struct jr_mutex {
	pthread_mutex_t m;
	uint32_t rank;
};

#define JR_MUTEX_INITIALIZER(r) { .m = PTHREAD_MUTEX_INITIALIZER, .rank = (r) }

#if JR_DEBUG
void jr_lock_order_enter(uint32_t rank);
void jr_lock_order_leave(uint32_t rank);
#else
static inline void jr_lock_order_enter(uint32_t rank) { (void)rank; }
static inline void jr_lock_order_leave(uint32_t rank) { (void)rank; }
#endif

static inline void jr_mutex_init(struct jr_mutex *mu, enum jr_lock_rank rank)
{
	pthread_mutex_init(&mu->m, NULL);
	mu->rank = rank;
}

static inline void jr_mutex_destroy(struct jr_mutex *mu)
{
	pthread_mutex_destroy(&mu->m);
}

static inline void jr_mutex_lock(struct jr_mutex *mu)
{
	jr_lock_order_enter(mu->rank);
	pthread_mutex_lock(&mu->m);
}

static inline void jr_mutex_unlock(struct jr_mutex *mu)
{
	pthread_mutex_unlock(&mu->m);
	jr_lock_order_leave(mu->rank);
}

/* pthread_cond_wait on a ranked mutex: the rank stays held meanwhile, as
 * the thread takes nothing else while it waits. */
static inline void jr_cond_wait(pthread_cond_t *cv, struct jr_mutex *mu)
{
	pthread_cond_wait(cv, &mu->m);
}

static inline int jr_cond_timedwait(pthread_cond_t *cv, struct jr_mutex *mu,
				    const struct timespec *until)
{
	return pthread_cond_timedwait(cv, &mu->m, until);
}

#endif
