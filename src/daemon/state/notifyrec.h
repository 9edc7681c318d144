/*
 * notifyrec.h - the journal records of notifications (issue 16, record
 * types 80-83 of records.h): the outbox's entries and the queues'
 * notify settings. Written by daemon/api/notify.c and snapshots, read by
 * recovery (outbox.h applies them). Little-endian, fixed width.
 *
 *   NOTIFY_QUEUED     a notification to send: a rec_notify, then its
 *                     target (target_len bytes: the URL, or the command's
 *                     argv as a JSON array), then its payload JSON
 *   NOTIFY_DELIVERED  a rec_notify_done: the receiver took it (2xx, or
 *                     the command exited 0)
 *   NOTIFY_FAILED     a rec_notify_done: given up after the last attempt
 *   NOTIFY_QUEUE_SET  a rec_notify_queue, then the queue's notify JSON
 *                     (none: the setting is cleared)
 */
#ifndef JR_NOTIFYREC_H
#define JR_NOTIFYREC_H

#include <stdint.h>

enum notify_rec_type {
	REC_NOTIFY_QUEUED = 80,
	REC_NOTIFY_DELIVERED = 81,
	REC_NOTIFY_FAILED = 82,
	REC_NOTIFY_QUEUE_SET = 83,
};

enum notify_kind { NOTIFY_WEBHOOK = 1, NOTIFY_COMMAND = 2 };

/* The events a target asks for (a bit each), and the one an end is. */
enum notify_event {
	NOTIFY_END = 1u << 0,			/* any final state */
	NOTIFY_FAILURE = 1u << 1,		/* failed (not cancelled, not succeeded) */
	NOTIFY_RETRIES_EXHAUSTED = 1u << 2,	/* failed after at least one retry */
};

#define REC_NOTIFY_SWITCH_USER 1u	/* a command: run as uid/gid */

struct rec_notify {
	uint64_t delivery_id;
	uint64_t job_id;
	uint64_t created_ns;	/* CLOCK_REALTIME */
	uint32_t uid, gid;	/* the job's owner */
	uint32_t event;		/* one enum notify_event bit */
	uint32_t kind;		/* enum notify_kind */
	uint32_t flags;		/* REC_NOTIFY_* */
	uint32_t target_len, payload_len;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_notify) == 56, "rec_notify size");

struct rec_notify_done {
	uint64_t delivery_id;
	uint64_t time_ns;	/* CLOCK_REALTIME */
	uint32_t attempts;
	uint32_t zero;
	char error[112];	/* the last error, NUL-padded ("" if none) */
};
_Static_assert(sizeof(struct rec_notify_done) == 136, "rec_notify_done size");

struct rec_notify_queue {
	char name[48];		/* as rec_queue's */
	uint32_t json_len;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_notify_queue) == 56, "rec_notify_queue size");

#endif
