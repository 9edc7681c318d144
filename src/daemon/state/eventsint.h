/*
 * eventsint.h - what events.c (the ring, publishing) and eventsubs.c
 * (the subscribers) share. Internal to src/daemon/state.
 */
#ifndef JR_EVENTSINT_H
#define JR_EVENTSINT_H

#include "daemon/state/events.h"

#define EVENTS_LATEST_SLOTS (2u * EVENTS_WINDOW)	/* key -> latest seq, direct-mapped */
#define EVENTS_USER_CACHE 64u
#define EVENTS_USER_NAME 64u
#define EVENTS_BATCH_BYTES (32u * 1024u)		/* written to a connection at once */

struct event_slot {
	uint64_t seq;
	jr_job_id job;		/* 0: none */
	uint32_t jobs;		/* a batch's run: job, job + 1, ... (1: one job) */
	uint32_t uid;		/* its owner; EVENTS_NO_UID: none */
	uint16_t len;		/* frame's, once built */
	uint8_t kind;
	bool superseded;	/* a later event of the same key is held */
	bool built;		/* frame holds the frame (else the body) */
	bool has_queue;
	uint64_t time_ns;	/* CLOCK_REALTIME */
	char queue[48];
	/* The kind's own fields as published, then, once a subscriber wants
	 * it (events_frame), "id: N\nevent: K\ndata: {...}\n\n": what every
	 * subscriber is sent as it is. */
	char frame[EVENTS_DATA_MAX + 64];
};

struct event_latest {
	uint64_t key, seq;
};

struct event_user {
	uint32_t uid;
	bool known;
	char name[EVENTS_USER_NAME];	/* escaped for JSON */
};

struct subscriber {
	uint64_t token;		/* the connection (server.h) */
	struct event_filter f;
	uint64_t next;		/* the next seq to consider */
	uint64_t skip_from;	/* coalesced: the first seq not sent; 0: not */
	uint64_t catchup_end;	/* up to here only the latest of each key is sent */
	uint64_t last_write_ns;	/* CLOCK_MONOTONIC, for the heartbeat */
	uint64_t reset_from;	/* a resume older than the window: this id */
	bool started;		/* its answer's head written */
};

struct events {
	struct event_slot *ring;	/* EVENTS_WINDOW, by seq */
	struct event_latest *latest;	/* EVENTS_LATEST_SLOTS */
	uint64_t first_seq, head;	/* head: the last published (first_seq - 1: none) */
	struct subscriber *subs;	/* EVENTS_MAX_SUBSCRIBERS, the first nsubs used */
	uint32_t nsubs;
	struct server *server;
	struct event_user users[EVENTS_USER_CACHE];
	char batch[EVENTS_BATCH_BYTES + EVENTS_DATA_MAX + 128];	/* > one frame */
	struct events_stats st;
	uint64_t last_tick_ns;	/* the last events_tick that wrote */
};

/* s's frame, built the first time it is asked for (events.c). */
const char *events_frame(struct events *ev, struct event_slot *s, size_t *len);

/* The oldest seq the ring still holds (head + 1 when it holds none). */
uint64_t events_oldest(const struct events *ev);

#endif
