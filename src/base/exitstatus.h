/*
 * exitstatus.h - how a process ended: its exit status with its rusage,
 * the one struct the executor, the keeper, the coordinator and the
 * daemon's recovery pass on. The public structs keep their own fields
 * (their layouts are pinned, engine/abi.c): each is copied from and to
 * this struct here, in one function each way.
 */
#ifndef JR_EXITSTATUS_H
#define JR_EXITSTATUS_H

#include <stdint.h>

#include "jobring.h"

struct jr_exit_status {
	int32_t exit_code;	/* -1 if killed by a signal */
	int32_t signal;		/* 0 if it exited */
	uint64_t max_rss_kib;
	uint64_t user_us;
	uint64_t system_us;
};

/* --- jr_execution: exit_code is its result ------------------------------------- */

static inline struct jr_exit_status jr_execution_status(const struct jr_execution *x)
{
	return (struct jr_exit_status){
		.exit_code = x->result, .signal = x->signal, .max_rss_kib = x->max_rss_kib,
		.user_us = x->user_us, .system_us = x->system_us,
	};
}

static inline void jr_execution_set_status(struct jr_execution *x,
					   const struct jr_exit_status *st)
{
	x->result = st->exit_code;
	x->signal = st->signal;
	x->max_rss_kib = st->max_rss_kib;
	x->user_us = st->user_us;
	x->system_us = st->system_us;
}

/* --- jr_job_event ------------------------------------------------------------------ */

static inline struct jr_exit_status jr_job_event_status(const struct jr_job_event *ev)
{
	return (struct jr_exit_status){
		.exit_code = ev->exit_code, .signal = ev->signal, .max_rss_kib = ev->max_rss_kib,
		.user_us = ev->user_us, .system_us = ev->system_us,
	};
}

static inline void jr_job_event_set_status(struct jr_job_event *ev,
					   const struct jr_exit_status *st)
{
	ev->exit_code = st->exit_code;
	ev->signal = st->signal;
	ev->max_rss_kib = st->max_rss_kib;
	ev->user_us = st->user_us;
	ev->system_us = st->system_us;
}

/* --- jr_job_restore ---------------------------------------------------------------- */

static inline struct jr_exit_status jr_job_restore_status(const struct jr_job_restore *rs)
{
	return (struct jr_exit_status){
		.exit_code = rs->exit_code, .signal = rs->signal, .max_rss_kib = rs->max_rss_kib,
		.user_us = rs->user_us, .system_us = rs->system_us,
	};
}

static inline void jr_job_restore_set_status(struct jr_job_restore *rs,
					     const struct jr_exit_status *st)
{
	rs->exit_code = st->exit_code;
	rs->signal = st->signal;
	rs->max_rss_kib = st->max_rss_kib;
	rs->user_us = st->user_us;
	rs->system_us = st->system_us;
}

#endif
