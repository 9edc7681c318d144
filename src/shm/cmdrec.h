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

#include <stdint.h>

#include "shm/arena.h"

struct jr_cmd_record {
	int32_t exit_code;
	int32_t signal;
	uint64_t max_rss_kib;
	uint64_t user_us;
	uint64_t system_us;
	uint32_t reason;	/* enum jr_reason */
	uint32_t uid;		/* the user it runs as */
	uint32_t flags;		/* JR_REC_* */
	uint32_t pad;
	uint64_t coord;		/* the coordinator's struct while live, else 0 */
};

static inline struct jr_cmd_record *jr_cmd_record(const struct jr_region *r,
						  uint32_t ref)
{
	return jr_arena_data(r, ref);
}

/* Record flags. */
#define JR_REC_PENDING 1u	/* waiting on dependencies or its start time */
#define JR_REC_EXTERNAL 2u	/* for an external worker */

/* Slot flags: bits 8-15 hold progress + 1 (0: never reported). */
#define JR_SLOT_PROGRESS_SHIFT 8

#endif
