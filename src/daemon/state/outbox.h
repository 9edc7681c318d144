/*
 * outbox.h - notifications waiting to go, and those gone (issue 16): the
 * daemon's outbox, in delivery id order, bounded (OUTBOX_MAX entries).
 * Each entry is journaled when queued (REC_NOTIFY_QUEUED) and when it
 * ends (delivered, or given up): recovery applies the records again
 * (outbox_apply), and whatever was queued and not ended is sent again,
 * under the same delivery id. Snapshots write every entry out
 * (outbox_write), so the outbox survives the journal's compaction.
 * Also each queue's notify setting (REC_NOTIFY_QUEUE_SET). The event
 * loop's thread only.
 *
 * At the bound: the oldest delivered or failed entries are forgotten
 * (a quarter of the outbox at once); if every entry is still waiting,
 * a new notification is refused (outbox_add fails, -ENOSPC) and counted.
 */
#ifndef JR_OUTBOX_H
#define JR_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state/notifyrec.h"

#define OUTBOX_MAX 65536u
#define OUTBOX_QUEUES_MAX 256u

enum outbox_state { OUTBOX_QUEUED, OUTBOX_SENDING, OUTBOX_DELIVERED, OUTBOX_FAILED };

struct outbox_entry {
	struct rec_notify rec;		/* as journaled */
	char *data;			/* target, then payload, then a NUL */
	enum outbox_state state;
	uint64_t seq;			/* its QUEUED record's; 0: read back (durable) */
	uint32_t attempts;		/* this run's, plus the ended record's */
	uint64_t next_ns;		/* CLOCK_MONOTONIC: not sent before */
	uint64_t done_ns;		/* CLOCK_REALTIME: delivered or given up */
	char error[112];		/* the last attempt's ("" if none) */
};

struct outbox_queue {
	char name[48];
	char *json;			/* its notify setting */
};

struct outbox {
	struct outbox_entry *e;		/* by delivery id, ascending */
	uint32_t count, cap;
	uint32_t scan_from;		/* entries before it have all ended */
	uint64_t last_id;
	uint64_t queued, delivered, failed, dropped, forgotten;
	struct outbox_queue queues[OUTBOX_QUEUES_MAX];
	uint32_t queue_count;
};

void outbox_init(struct outbox *o);
void outbox_destroy(struct outbox *o);
/* Move src's entries and settings into dst (emptied first); src is empty. */
void outbox_take(struct outbox *dst, struct outbox *src);

/* A new delivery id: above every one given, and at least now_ns. */
uint64_t outbox_next_id(struct outbox *o, uint64_t now_ns);
/* Add a queued entry (rec as journaled, target and payload copied):
 * 0, -ENOSPC at the bound, -ENOMEM, -EEXIST (its id is there). */
int outbox_add(struct outbox *o, const struct rec_notify *rec, const char *target,
	       const char *payload);
struct outbox_entry *outbox_find(struct outbox *o, uint64_t delivery_id);
/* It ended: delivered (ok) or given up. */
void outbox_end(struct outbox *o, struct outbox_entry *e, bool ok, uint64_t time_ns);

/* The target's rec.target_len bytes (not NUL-terminated). */
static inline const char *outbox_target(const struct outbox_entry *e)
{
	return e->data;
}

static inline const char *outbox_payload(const struct outbox_entry *e)
{
	return e->data + e->rec.target_len;
}

/* A queue's setting (NULL: none); set it (json NULL or "": cleared). */
const char *outbox_queue_notify(const struct outbox *o, const char *queue);
int outbox_set_queue(struct outbox *o, const char *queue, const char *json);

/* A journal or snapshot record of types 80-83: 0, -EPROTO (does not
 * read), -ENOMEM. */
int outbox_apply(struct outbox *o, uint16_t type, const void *p, uint32_t len);

/* Every entry and setting as records, through put (a snapshot's). */
int outbox_write(const struct outbox *o,
		 int (*put)(void *ctx, uint16_t type, const void *head, size_t head_len,
			    const void *tail, size_t tail_len),
		 void *ctx);

#endif
