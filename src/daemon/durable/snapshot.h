/*
 * snapshot.h - compaction without stalling the event loop: the live state
 * (queues, workers, every job the retention limits keep) written as a
 * snapshot that covers every journal record so far, after which the
 * journal segments it covers and older snapshots are deleted. Format in
 * records.h.
 *
 * The loop does the part that reads its own state, a slice at a time
 * (snapshot_step, about a millisecond each in jobringd): it writes the
 * workers' registrations, lists the jobs (only the runs of the table ever
 * used: submitted_next_used), then turns them into records in submission
 * order (a job's dependencies come before it). A writer
 * thread does the rest: sorting the list, writing the records (a journal
 * of its own in snapshot-tmp/, synced), renaming it snapshot-<seq>/,
 * deleting what it covers. The loop serves requests between steps.
 *
 * The snapshot is fuzzy: a job changed after it was listed is written as
 * it is when its turn comes. Recovery replays the journal records after
 * the snapshot's seq on top of it, and every rule of that replay is
 * idempotent (a submission starts its job over, a start or an end sets
 * what it says, a final state is never undone), so the result is the
 * same as replaying the journal alone. Jobs submitted after the snapshot
 * began are left to the journal.
 */
#ifndef JR_SNAPSHOT_H
#define JR_SNAPSHOT_H

#include <stdint.h>

#include "daemon/durable/durable.h"
#include "daemon/durable/recover.h"
#include "daemon/state/state.h"

struct snapshot_result {
	int rc;				/* 0, or why it failed (nothing was deleted) */
	uint64_t covers_seq;
	uint64_t jobs, aged_out;
	uint64_t bytes;
	int segments_dropped;
	double ms;			/* from start to finish */
	double loop_ms;			/* of it, on the event loop */
	double step_max_ms;		/* the longest the loop was held at once */
	const char *step_max_phase;	/* doing what ("start", "list", "emit"...) */
};

struct snapshot;

/* Begin one (cannot fail but for memory: -ENOMEM). wake_fd (an eventfd,
 * or -1) is written whenever the snapshot has work for the loop. */
int snapshot_start(struct snapshot **out, struct state *st, struct durable *d,
		   const char *state_dir, const char *journal_dir,
		   const struct retention *keep, int wake_fd);

/* Work on the loop's thread for at most budget_ns (0: until the writer
 * must catch up). 1 when the snapshot is over (*r, then free it), 0 when
 * there is more: call again when wake_fd says so. */
int snapshot_step(struct snapshot *s, uint64_t budget_ns, struct snapshot_result *r);

/* Stop it: the writer is joined, snapshot-tmp/ removed. */
void snapshot_free(struct snapshot *s);

/* All of it now (a clean stop): 0 or -errno, and *r. */
int snapshot_write(struct state *st, struct durable *d, const char *state_dir,
		   const char *journal_dir, const struct retention *keep,
		   struct snapshot_result *r);

#endif
