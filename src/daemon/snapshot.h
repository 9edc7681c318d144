/*
 * snapshot.h - compaction: the live state (queues, workers, every job the
 * retention limits keep) written as a snapshot that covers every journal
 * record so far, after which the journal segments it covers and older
 * snapshots are deleted. Runs on the event loop (it is the journal's
 * writer): periodically, once the journal has grown by --snapshot-every
 * bytes, and at a clean shutdown. Format in records.h.
 */
#ifndef JR_SNAPSHOT_H
#define JR_SNAPSHOT_H

#include <stdint.h>

#include "api.h"
#include "durable.h"
#include "recover.h"

struct snapshot_result {
	uint64_t covers_seq;
	uint64_t jobs, aged_out;
	uint64_t bytes;
	int segments_dropped;
	double ms;
};

int snapshot_write(struct api *a, struct durable *d, const char *state_dir,
		   const char *journal_dir, const struct retention *keep,
		   struct snapshot_result *out);

#endif
