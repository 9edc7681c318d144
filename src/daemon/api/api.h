/*
 * api.h - the HTTP/JSON API of jobringd. A request from the control
 * socket (server.h) is checked (a daemon run by a user serves only that
 * user), found in the routing table (route.h: method and path pattern to
 * handler), admitted to the journal if its route appends a record (507
 * when the journal cannot take it), handed to its handler with its query
 * parsed, and its answer held until its record is durable if its route
 * says so: all of that here, in api_handle, for every route. Errors are
 * {"error": {"code": "...", "message": "..."}} (reply.h). Runs on the
 * event loop's thread only; the engine calls it makes are thread-safe.
 * See docs/PROTOCOL.md for every endpoint.
 */
#ifndef JR_API_H
#define JR_API_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobring.h"
#include "daemon/api/query.h"
#include "daemon/durable/durable.h"
#include "daemon/net/server.h"
#include "daemon/state/state.h"

#define API_LIST_LIMIT_MAX 1000u
#define API_CLAIM_WAIT_MAX_S 300u

/* A long-polling claim: answered when a job comes or the wait ends. */
struct api_claim_wait {
	uint64_t token;
	uint32_t worker;		/* index into the registry's list */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC */
};

struct api_counters {
	uint64_t submitted_single, submitted_batch, batches, rejected;
};

/* The daemon's life as the API drives it (main.c's): POST /shutdown and
 * POST /snapshot. */
struct api_lifecycle {
	void *ctx;
	void (*start_drain)(void *ctx, uint64_t grace_ms);
	void (*stop_now)(void *ctx);
	int (*snapshot_now)(void *ctx);	/* 0 started, -EBUSY one is under way */
};

/* What /health and /metrics tell of the daemon beyond the engine; kept
 * up to date by main.c. */
struct api_status {
	bool draining;
	bool snapshotting;		/* a snapshot is being written */
	uint64_t snapshots, snapshot_failures;
	double snapshot_last_ms, snapshot_last_loop_ms;
};

struct api {
	struct state *st;
	struct jr_engine *engine;	/* st->engine */
	struct server *server;		/* set once it listens */
	struct durable *durable;	/* the journal writer */
	uid_t daemon_uid;
	struct api_claim_wait *waits;
	uint32_t wait_count;
	struct api_counters count;
	struct batch *batch;		/* submit.c's arrays, kept between batches */
	struct api_lifecycle life;
	struct api_status status;
	struct sched_api *sched;	/* schedules.c's (issue 15); NULL: not yet */
	struct api_notify *notify;	/* notify.c's (issue 16); NULL: not started */
	struct api_alloc *alloc;	/* allocpoll.c's (issue 17); NULL: not started */
};

/* One request on its way through its handler. */
struct api_call {
	const struct request *req;
	const struct query *query;	/* the query string, parsed once */
	const char *param;		/* the path's {id} or {name}: "" if none */
	struct response *res;
	/* Set by the handler of a ROUTE_HOLD route: the seq of the record
	 * that its answer promises; the answer goes once it is durable. */
	uint64_t record_seq;
};

/* 0 or -ENOMEM. st, d and life's functions outlive the API. */
int api_init(struct api *a, struct state *st, struct durable *d,
	     const struct api_lifecycle *life);
void api_destroy(struct api *a);

/* server_ops.handle: any request, answered in res (or deferred). */
void api_handle(void *ctx, const struct request *req, struct response *res);
/* Every turn of the loop: long-poll claims answered or timed out,
 * workers past their heartbeat lost. */
void api_tick(struct api *a, uint64_t now_ns);
/* Once recovery is applied: file triggers watched, and each fired once
 * for files newer than its last fire (the daemon was down; issue 15). */
void api_triggers_start(struct api *a);

#endif
