/*
 * journal.h - the append-only journal (issue 5, first part): segments of
 * length-prefixed records, each with a CRC32C, written through io_uring
 * with group commit, and read back by a replay that stops at the first
 * torn or corrupt record.
 *
 * On disk: <dir>/journal-<first seq, 16 hex>.log, preallocated with
 * fallocate to segment_bytes. A record is a 24-byte header
 *
 *     u32 len      payload bytes
 *     u32 crc      CRC32C of seq, type and the payload
 *     u64 seq      1, 2, 3, ... across segments
 *     u16 type     the caller's (submit, start, complete, ...)
 *     u16 zero
 *     u32 zero
 *
 * then the payload, padded to 8 bytes. A preallocated, never written tail
 * reads as zeros: len 0 and seq 0 end the segment.
 *
 * Group commit: appends go to an in-memory group; jr_journal_commit()
 * writes the group with one write and one fdatasync (linked io_uring
 * operations) and returns when both are done. Not thread-safe: one writer
 * (the coordinator). Not yet wired into jobringd.
 */
#ifndef JR_JOURNAL_H
#define JR_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JR_JOURNAL_HEADER_BYTES 24u
#define JR_JOURNAL_RECORD_MAX (16u << 20)

struct jr_journal;

struct jr_journal_opts {
	const char *dir;
	uint64_t segment_bytes;	/* 0: 64 MiB */
	uint64_t next_seq;	/* the first seq to write (after a replay); 0: 1 */
};

/* Open for appending: a new segment starting at opts->next_seq. 0 or
 * -errno. */
int jr_journal_open(struct jr_journal **out, const struct jr_journal_opts *opts);

/* Add a record to the current group; *seq (may be NULL) receives its
 * number. Nothing is durable before jr_journal_commit(). 0, -E2BIG (over
 * JR_JOURNAL_RECORD_MAX) or -ENOMEM. */
int jr_journal_append(struct jr_journal *j, uint16_t type, const void *payload,
		      uint32_t len, uint64_t *seq);

/* Write the group and fdatasync it: 0 when every record appended so far
 * is durable, or -errno (-ENOSPC, -EIO: the group stays pending and the
 * next commit tries again). A full segment rolls over to a new one. */
int jr_journal_commit(struct jr_journal *j);

/* Records appended, not yet durable. */
size_t jr_journal_pending(const struct jr_journal *j);

void jr_journal_close(struct jr_journal *j);

/* One record, as replay hands it over; payload valid during the call. */
struct jr_journal_record {
	uint64_t seq;
	uint16_t type;
	uint32_t len;
	const void *payload;
};

struct jr_journal_replay_result {
	uint64_t records;
	uint64_t last_seq;
	uint64_t bytes_dropped;	/* after the first torn or corrupt record */
	uint32_t segments;
};

/* Read every segment of dir in order and call fn for each record, up to
 * the first torn or corrupt one (a short header or payload, a CRC
 * mismatch, a seq that does not follow). fn returning non-zero stops the
 * replay with that value. 0 (or fn's value) and *result, or -errno. */
int jr_journal_replay(const char *dir,
		      int (*fn)(void *ctx, const struct jr_journal_record *rec), void *ctx,
		      struct jr_journal_replay_result *result);

#endif
