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
 * Group commit: appends go to an in-memory group; jr_journal_flush()
 * sends the group off as one write and one fdatasync (linked io_uring
 * operations) without waiting, up to JR_JOURNAL_FLIGHTS groups in the
 * air at once. They may land in any order; the durable mark
 * (jr_journal_durable_seq()) moves only over a contiguous run, so an
 * acknowledgement that waits for it never covers a record after a gap.
 * The event fd becomes readable when a flight lands: then
 * jr_journal_reap(). jr_journal_commit() is the synchronous form.
 *
 * Space: the next segment is always made ahead (a spare, preallocated),
 * so a full disk shows as jr_journal_room() shrinking to what is left of
 * the current segment, never as a failed append in the middle of one.
 * Not thread-safe: one writer (jobringd's event loop).
 */
#ifndef JR_JOURNAL_H
#define JR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/common.h"

#define JR_JOURNAL_HEADER_BYTES 24u
#define JR_JOURNAL_RECORD_MAX (256 * JR_MIB)
#define JR_JOURNAL_FLIGHTS 4u
#define JR_JOURNAL_PAD8(n) (((n) + 7u) & ~7u)

struct jr_journal;

struct jr_journal_opts {
	const char *dir;
	uint64_t segment_bytes;	/* 0: 64 MiB */
	uint64_t next_seq;	/* the first seq to write (after a replay); 0: 1 */
	bool no_sync;		/* write without fdatasync (jobringd --sync=none) */
	bool trim_on_close;	/* give back the last segment's unused space */
	/* io_uring submission queue entries; 0: 4 * JR_JOURNAL_FLIGHTS. At
	 * least 2 (a flight is a write and its sync); tests make it small. */
	uint32_t sq_entries;
};

/* Open for appending: a new segment starting at opts->next_seq. 0 or
 * -errno (-EINVAL: sq_entries 1). */
int jr_journal_open(struct jr_journal **out, const struct jr_journal_opts *opts);

/* Add a record to the current group; *seq (may be NULL) receives its
 * number. Nothing is durable before jr_journal_commit(). 0, -E2BIG (over
 * JR_JOURNAL_RECORD_MAX) or -ENOMEM. */
int jr_journal_append(struct jr_journal *j, uint16_t type, const void *payload,
		      uint32_t len, uint64_t *seq);

/* Write the group and fdatasync it, and wait: 0 when every record
 * appended so far is durable, or -errno (-ENOSPC, -EIO: the records stay
 * pending and the next commit tries again). A full segment rolls over to
 * the spare. */
int jr_journal_commit(struct jr_journal *j);

/* Send the group off without waiting: 0 (also when there is nothing to
 * send, or a failed flight was sent again first), -EAGAIN (every flight
 * in the air: try after a reap; or the kernel refused a submit), or
 * -errno of a segment switch or of a refused submit. A refused submit
 * loses nothing: what it held stays queued and goes with the next flush,
 * reap, maintain or commit; the group stays to be sent. */
int jr_journal_flush(struct jr_journal *j);

/* Send what a refused submit left queued, take in landed flights (never
 * blocks): 0, or the error of the oldest flight, which stays to be sent
 * again, or of the refused submit. */
int jr_journal_reap(struct jr_journal *j);
int jr_journal_event_fd(const struct jr_journal *j);
uint64_t jr_journal_durable_seq(const struct jr_journal *j);
uint64_t jr_journal_next_seq(const struct jr_journal *j);
/* Records in the group or in the air. */
bool jr_journal_busy(const struct jr_journal *j);

/* Bytes that can still be appended without a new allocation on disk:
 * the rest of the segment, plus the spare's size if there is one. */
uint64_t jr_journal_room(const struct jr_journal *j);
/* 0, or why records cannot be made durable now: a failed write's error,
 * a refused submit's (its flights wait queued), or (no spare segment) the
 * error of making one, e.g. -ENOSPC. */
int jr_journal_error(const struct jr_journal *j);
/* Periodic: make the spare if missing, send again what a refused submit
 * left queued and a failed flight. Returns jr_journal_error(). */
int jr_journal_maintain(struct jr_journal *j);
/* Start a new segment at the next seq, after every record so far is
 * durable (-EBUSY otherwise): the older segments then hold only records
 * before it, and a snapshot covering them lets them go. */
int jr_journal_rotate(struct jr_journal *j);

struct jr_journal_stats {
	uint64_t groups, syncs, bytes, write_errors, segments_started;
	uint64_t durable_seq, next_seq, room;
	int error;
};
void jr_journal_get_stats(const struct jr_journal *j, struct jr_journal_stats *out);

/* The same, the payload gathered from iovcnt pieces. */
int jr_journal_appendv(struct jr_journal *j, uint16_t type, const struct iovec *iov,
		       int iovcnt, uint64_t *seq);

/* Tests, debug builds only (JR_DEBUG; no effect otherwise): the next n
 * calls of one kind fail, in every journal of the process, as the kernel
 * or a disk can make them fail, so that the paths handling that run. Not
 * thread-safe. */
enum jr_journal_fault {
	JR_JOURNAL_FAULT_WRITE,		/* the write fails (-EBADF): sent again */
	JR_JOURNAL_FAULT_SUBMIT,	/* io_uring_submit: -EAGAIN, entries stay queued */
	JR_JOURNAL_FAULT_REGISTER,	/* io_uring_register_eventfd: -EBUSY */
	JR_JOURNAL_FAULT_KINDS,
};
void jr_journal_inject_faults(enum jr_journal_fault kind, uint32_t n);

/* Records appended, not yet sent. */
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
	uint64_t first_seq, last_seq;
	uint64_t bytes_dropped;	/* after the first torn or corrupt record */
	uint64_t bytes;		/* of the records read */
	uint32_t segments;
	/* Where the damage starts ("" if none): the segment and offset. */
	char torn_segment[256];
	uint64_t torn_offset;
	/* Where the last good record of the last segment read ends. */
	char end_segment[256];
	uint64_t end_offset;
};

/* After a replay: cut the journal where the good records end, so that
 * the records written from now on follow the last good one. With damage:
 * the damaged segment is cut there and the segments after it are set
 * aside (renamed *.dropped). Without: the last segment's preallocated,
 * unused tail is given back (each start writes a new segment). 0 or
 * -errno. */
int jr_journal_cut(const char *dir, const struct jr_journal_replay_result *res);

/* Delete the segments whose records all have seq < before (the ones a
 * snapshot covers): the number deleted, or -errno. */
int jr_journal_drop_before(const char *dir, uint64_t before);

/* Read every segment of dir in order and call fn for each record, up to
 * the first torn or corrupt one (a short header or payload, a CRC
 * mismatch, a seq that does not follow). fn returning non-zero stops the
 * replay with that value. 0 (or fn's value) and *result, or -errno. */
int jr_journal_replay(const char *dir,
		      int (*fn)(void *ctx, const struct jr_journal_record *rec), void *ctx,
		      struct jr_journal_replay_result *result);

#endif
