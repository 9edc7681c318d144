/*
 * cmdrec.h - what the job table shows of a command job beyond its slot:
 * its last execution's exit status and rusage, why it ended, and the
 * coordinator's record while it is live. It lives in the arena; the
 * slot's fn is 0 and its arg holds the reference. Written by the
 * coordinator only, read by anyone with relaxed atomics (a reader
 * re-checks the slot generation afterwards).
 */
#ifndef JR_CMDREC_H
#define JR_CMDREC_H

#include <stddef.h>
#include <stdint.h>

#include "base/atomics.h"
#include "base/exitstatus.h"
#include "shm/arena.h"

struct jr_cmd_record {
	struct jr_exit_status status;	/* its last execution's */
	uint16_t reason;	/* enum jr_reason */
	uint16_t flags;		/* JR_REC_* */
	uint32_t uid;		/* the user it runs as */
	int32_t spawn_error;	/* its last attempt's JR_SPAWN_ERROR(step, errno); 0: none */
	int32_t priority;	/* its full priority (the slot has its level) */
	uint64_t coord;		/* the coordinator's struct while live, else 0 */
};
_Static_assert(offsetof(struct jr_cmd_record, status) == 0, "jr_cmd_record status");
_Static_assert(offsetof(struct jr_cmd_record, reason) == 32, "jr_cmd_record reason");
/* 56: with the arena's 8-byte header, one 64-byte block. reason and flags
 * are 16 bits to make room for the priority (reasons and flags are few). */
_Static_assert(sizeof(struct jr_cmd_record) == 56, "jr_cmd_record size");

static inline void jr_cmd_record_set_priority(struct jr_cmd_record *rec, int32_t priority)
{
	jr_store_relaxed(&rec->priority, priority);
}

/* The exit status, read by anyone (each field relaxed; see above). */
static inline struct jr_exit_status jr_cmd_record_status(const struct jr_cmd_record *rec)
{
	return (struct jr_exit_status){
		.exit_code = jr_load_relaxed(&rec->status.exit_code),
		.signal = jr_load_relaxed(&rec->status.signal),
		.max_rss_kib = jr_load_relaxed(&rec->status.max_rss_kib),
		.user_us = jr_load_relaxed(&rec->status.user_us),
		.system_us = jr_load_relaxed(&rec->status.system_us),
	};
}

/* The exit status, written by the coordinator while readers may look. */
static inline void jr_cmd_record_set_status(struct jr_cmd_record *rec,
					    const struct jr_exit_status *st)
{
	jr_store_relaxed(&rec->status.exit_code, st->exit_code);
	jr_store_relaxed(&rec->status.signal, st->signal);
	jr_store_relaxed(&rec->status.max_rss_kib, st->max_rss_kib);
	jr_store_relaxed(&rec->status.user_us, st->user_us);
	jr_store_relaxed(&rec->status.system_us, st->system_us);
}

static inline struct jr_cmd_record *jr_cmd_record(const struct jr_region *r,
						  uint32_t ref)
{
	return jr_arena_data(r, ref);
}

/* Record flags. */
#define JR_REC_PENDING 1u	/* waiting on dependencies or its start time */
#define JR_REC_EXTERNAL 2u	/* for an external worker */
#define JR_REC_OUTPUT_CUT 4u	/* its latest attempt's output was cut at its cap */
#define JR_REC_HELD 8u		/* held by a user: pending until released */

/* Slot flags: bits 8-15 hold progress + 1 (0: never reported). */
#define JR_SLOT_PROGRESS_SHIFT 8

#endif
