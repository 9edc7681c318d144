/*
 * extdue.h - the running external jobs' time limits, earliest first: a
 * binary min-heap of (due, job), its position kept in the job's
 * cmd_opt.ext_due_at. The coordinator asks for its next deadline after
 * every completion and every pass; a walk of the running list there cost
 * O(running) each time (issue 14: 38% of the daemon's CPU with 4,000 busy
 * workers and a few restarts' worth of adopted jobs). Under state_lock.
 *
 * A job whose entry cannot be added (no memory) is counted in unindexed:
 * while any is, the callers walk the running list as before.
 */
#ifndef JR_COORD_EXTDUE_H
#define JR_COORD_EXTDUE_H

#include <stdint.h>

struct cmd_job;

struct ext_due_entry {
	uint64_t due;			/* start_ns + limit_ns */
	struct cmd_job *job;
};

struct ext_due {
	struct ext_due_entry *v;
	uint32_t count, cap;
	uint32_t unindexed;		/* limited jobs left out (no memory) */
};

/* job (external, running, with a time limit) added with its due time. */
void jr_ext_due_add(struct ext_due *h, struct cmd_job *job, uint64_t due);
/* job taken out, wherever it is; nothing if it is not in. */
void jr_ext_due_remove(struct ext_due *h, struct cmd_job *job);
/* The earliest, or NULL; *due (may be NULL) receives its due time. */
struct cmd_job *jr_ext_due_first(const struct ext_due *h, uint64_t *due);
void jr_ext_due_free(struct ext_due *h);

#endif
