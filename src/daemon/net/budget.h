/*
 * budget.h - what all of the control socket's connections may hold
 * together (issue 12): one budget of buffered bytes for every
 * connection's input and output, connections counted per uid, and a
 * share of the connections kept for the daemon's owner and root.
 *
 * Bytes: each connection's buffers (their capacity, what malloc holds)
 * are charged here; budget_may_grow() says whether a connection may read
 * or handle one more request. Under half the budget everyone may; past
 * half, a connection holding more than its fair share (the budget over
 * the connections open) waits until its output has drained; at the
 * budget, everyone but the owner and root waits, and they have the last
 * eighth to themselves, so that root can always look: the others can
 * pass their seven eighths only by the overshoot below, and a connection's
 * answers waiting are bounded by a thirty-second of the budget
 * (server.c). Nobody is dropped for it: a connection that waits is only
 * not read. Requests received in part can fill the budget between them,
 * so that none can be read to its end and handled: while connections
 * wait, the one waiting longest with input is let past the budget until
 * it has handled one request (server.c, favour_oldest), then the next.
 *
 * Overshoot, documented rather than hidden: a check happens before a
 * read or a request is handled, so the budget can be passed by what was
 * already on its way: the receives in flight when it filled (at most
 * the loop's pool of provided buffers, 16 MiB) and the one answer being
 * made, plus the one request let past it to end such a standstill (at
 * most --max-request). Not thread-safe: the event loop's thread only.
 */
#ifndef JR_BUDGET_H
#define JR_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUDGET_BYTES_DEFAULT (256u << 20)
#define BUDGET_PER_UID_DEFAULT 256u
#define BUDGET_RESERVED_MAX 64u

struct budget_opts {
	size_t max_bytes;		/* 0: BUDGET_BYTES_DEFAULT */
	uint32_t max_connections;
	uint32_t max_per_uid;		/* 0: BUDGET_PER_UID_DEFAULT */
	uid_t owner;			/* with root, never refused for the cap or reserve */
};

enum budget_admit {
	BUDGET_ADMITTED,
	BUDGET_FULL,		/* --max-connections open */
	BUDGET_RESERVED,	/* only the owner's and root's share is left */
	BUDGET_UID_FULL,	/* --max-connections-per-uid for this uid */
};

struct budget_stats {
	uint64_t max_bytes, used_bytes, peak_bytes;
	uint32_t paused;		/* connections not read now */
	uint64_t paused_total;		/* times a connection was paused */
	uint64_t refused_full, refused_reserved, refused_uid;
	uint32_t max_per_uid, reserved;
};

struct budget_uid {
	uid_t uid;
	uint32_t count;		/* 0: the slot is free */
};

struct budget {
	struct budget_opts o;
	uint32_t reserved;	/* the last connections, the owner's and root's */
	uint32_t open;
	struct budget_uid *uids;	/* open addressing, linear probing */
	uint32_t uid_mask;
	bool freed;		/* bytes came back since budget_take_freed() */
	struct budget_stats st;
};

/* Sets b up (allocates the uid table for o->max_connections). 0 or
 * -ENOMEM; budget_fini() frees either way. */
int budget_init(struct budget *b, const struct budget_opts *o);
void budget_fini(struct budget *b);

bool budget_privileged(const struct budget *b, uid_t uid);

/* A connection from uid arrived: counted if BUDGET_ADMITTED (then
 * budget_leave() once it closes), else counted as refused. */
enum budget_admit budget_admit(struct budget *b, uid_t uid);
void budget_leave(struct budget *b, uid_t uid);
/* A connection admitted as from is counted as to's from now on (it
 * authenticated): it holds its place already, so only to's own cap can
 * refuse it (BUDGET_UID_FULL; it stays from's), never the totals. */
enum budget_admit budget_move(struct budget *b, uid_t from, uid_t to);

/* The 503 body naming the limit why hit, into out (>= 256 bytes). */
void budget_refusal(const struct budget *b, enum budget_admit why, char *out, size_t size);

/* A connection's buffers now hold bytes_now: *held (what it was charged)
 * and the total follow. */
void budget_charge(struct budget *b, size_t *held, size_t bytes_now);

/* May a connection holding held bytes (output_empty: it has no answer
 * waiting to be sent) read more or have a request handled now? */
bool budget_may_grow(const struct budget *b, size_t held, bool output_empty, bool privileged);

/* Did bytes come back since the last call (so paused connections may go
 * on)? Clears the mark. */
bool budget_take_freed(struct budget *b);

void budget_paused(struct budget *b, bool paused);
void budget_get_stats(const struct budget *b, struct budget_stats *out);

#endif
