/*
 * events.h - the daemon's event stream (issue 16, GET /events): every
 * change of a job, an execution, a worker, a queue or a schedule, as one
 * numbered event in a ring of the last EVENTS_WINDOW, and the
 * subscribers that stream them as Server-Sent Events over connections
 * held open by the server (server_stream_*).
 *
 * Publishing formats the event once into the ring (its data: one line
 * of JSON); nothing is written to a subscriber then. events_tick, once
 * per turn of the loop, copies to each subscriber what it has not had
 * and what its filter lets through. A subscriber whose connection holds
 * more than EVENTS_HIGH_WATER unsent bytes is coalesced: it gets nothing
 * until its backlog falls under EVENTS_LOW_WATER, then an
 * `event: coalesced` with the count skipped, then of the events it
 * missed only the latest of each job, execution, worker, queue or
 * schedule (older ones marked superseded at publish). Memory is bounded:
 * the ring, the subscribers' table (EVENTS_MAX_SUBSCRIBERS), and what
 * each connection may hold (the high water plus one batch).
 *
 * A resume (Last-Event-ID) inside the window starts after that id; one
 * older than the window gets `event: reset` first and then the live
 * stream. A comment `: ping` goes to every subscriber that had nothing
 * for EVENTS_PING_NS.
 *
 * The event loop's thread only.
 */
#ifndef JR_EVENTS_H
#define JR_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "jobring.h"

struct server;

#define EVENTS_WINDOW 16384u			/* events kept for resumes (a power of two) */
#define EVENTS_MAX_SUBSCRIBERS 1024u		/* beyond: 503 */
#define EVENTS_DATA_MAX 384u			/* one event's JSON, bytes */
#define EVENTS_HIGH_WATER (128u * 1024u)	/* unsent bytes: coalesced past this */
#define EVENTS_LOW_WATER (16u * 1024u)		/* ... until under this */
#define EVENTS_PING_NS (15ull * 1000000000ull)	/* heartbeat comment */
/* Subscribers are written at most this often: under a load of many
 * small requests each turn would otherwise send to every subscriber
 * (at 400 batches a second and 100 subscribers, 40,000 sends a second,
 * 12% of the submission rate); at most this much (or the loop's tick,
 * when it is idle) is added to an event's delivery. */
#define EVENTS_TICK_NS (10ull * 1000000ull)
#define EVENTS_NO_UID UINT32_MAX		/* an event nobody owns: all see it */

enum event_kind { EVENT_JOB, EVENT_EXECUTION, EVENT_WORKER, EVENT_QUEUE, EVENT_SCHEDULE,
		  EVENT_KINDS };

/* What a subscriber asked for, and who it is. */
struct event_filter {
	uint32_t kinds;		/* 1u << enum event_kind; 0: all */
	jr_job_id job;		/* 0: any */
	char queue[48];		/* "": any */
	uint32_t user;		/* EVENTS_NO_UID: any */
	uint32_t viewer;	/* the subscriber's uid */
	bool private_jobs;	/* --private: others' events hidden from the viewer */
};

struct events;

/* NULL without memory. events_free(NULL) does nothing. */
struct events *events_new(void);
void events_free(struct events *ev);

/* "job" for EVENT_JOB...; -1 for a name that is none. */
const char *event_kind_name(enum event_kind kind);
int event_kind_parse(const char *name, size_t len);

/* --- publishing: one call where the state changes ------------------------------- */

/* A job's status now (from the engine; status overrides it if not NULL;
 * EVENTS_SUBMITTED: pending, held or queued, as it was when accepted,
 * even if it has started since). */
#define EVENTS_SUBMITTED "submitted"
void events_job(struct events *ev, struct jr_engine *e, jr_job_id id, const char *status);
/* A batch's or an array's jobs accepted: one event per run of
 * consecutive ids of one owner and queue, {"job": first, "last": ...,
 * "jobs": N, "status": "submitted"} (a run of one: events_job's event).
 * A subscriber's job filter matches a run that holds its job. */
void events_jobs_submitted(struct events *ev, struct jr_engine *e, const jr_job_id *ids,
			   size_t n);
/* An engine job event: the job's and its execution's. */
void events_job_event(struct events *ev, struct jr_engine *e, const struct jr_job_event *je);
/* An external worker ("w7") registered, changed health, was lost or removed. */
void events_worker(struct events *ev, const char *name, uint32_t owner_uid, const char *status);
/* A queue created, changed, deleted (change says which). */
void events_queue(struct events *ev, const char *name, const char *change);
/* A schedule changed (what), or fired job (job not 0). */
void events_schedule(struct events *ev, const char *name, uint32_t owner_uid, const char *what,
		     jr_job_id job);

/* --- subscribers ----------------------------------------------------------------- */

/* As last_id: from the oldest event held (no reset). */
#define EVENTS_FROM_OLDEST 1u

/* Take the deferred request token (its answer streamed on s from the
 * next tick), resuming after last_id (0: live only). 0, or -EBUSY at
 * EVENTS_MAX_SUBSCRIBERS. */
int events_subscribe(struct events *ev, struct server *s, uint64_t token,
		     const struct event_filter *f, uint64_t last_id);

/* Each turn of the loop, at most every EVENTS_TICK_NS: what subscribers
 * have not had, coalescing, heartbeats, the gone ones dropped. */
void events_tick(struct events *ev, uint64_t now_ns);

struct events_stats {
	uint64_t published, head_seq, subscribers, coalesced_now, coalesced_total, dropped;
};
void events_get_stats(const struct events *ev, struct events_stats *out);

#endif
