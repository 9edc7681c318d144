/*
 * api.c - one request from the socket to its handler: who may ask,
 * which row of the routing table serves it, admission to the journal,
 * and the answer held until what it promises is durable. See api.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "daemon/api/alloc.h"
#include "daemon/api/api.h"
#include "daemon/api/handlers.h"
#include "daemon/api/notify.h"
#include "daemon/api/route.h"
#include "daemon/api/schedules.h"
#include "daemon/net/reply.h"

/* A daemon run by a user serves only that user (root's serves all). */
static bool serves(const struct api *a, const struct request *req, struct response *res)
{
	if (a->daemon_uid == 0 || req->uid == a->daemon_uid)
		return true;
	return reply_error(res, 403, "forbidden",
			   "this daemon runs as uid %u and serves only that user",
			   (unsigned)a->daemon_uid);
}

static bool routed(const struct request *req, struct route_match *m, struct response *res)
{
	switch (route_find(req->method, req->path, m)) {
	case ROUTE_FOUND:
		return true;
	case ROUTE_NO_PATH:
		return reply_error(res, 404, "not_found", "no such endpoint: %s", req->path);
	case ROUTE_NO_METHOD:
		snprintf(res->allow, sizeof(res->allow), "%s", m->allow);
		return reply_error(res, 405, "method_not_allowed", "use %s", m->allow);
	}
	return false;
}

/* A request that appends a record goes on only if the journal can take
 * it now: 507 otherwise, and its jobs count as rejected. */
static bool admitted(struct api *a, const struct route *r, const struct request *req,
		     struct response *res)
{
	struct route_record rec;

	if (!(r->flags & ROUTE_ADMIT))
		return true;
	if (a->durable && !durable_writable(a->durable)) {
		r->record(req, &rec);
		if (!durable_admit(a->durable, rec.bytes, res)) {
			a->count.rejected += rec.jobs;
			return false;
		}
	}
	if (!a->st->output.full)	/* the output directory's disk (output.h) */
		return true;
	r->record(req, &rec);
	if (rec.jobs == 0)
		return true;
	a->count.rejected += rec.jobs;
	return reply_error(res, 507, "output_full",
			   "the output directory %s has %llu MiB free, under --output-reserve: "
			   "nothing was submitted; retry when space is freed", a->st->output.dir,
			   (unsigned long long)(a->st->output.free_bytes >> 20));
}

/* What the answer promises is journaled: it goes once durable. */
static void answer_when_durable(struct api *a, const struct route *r, struct api_call *c)
{
	if (!c->record_seq)
		return;
	JR_ASSERT(r->flags & ROUTE_HOLD);
	if (c->res->status < 300 && !c->res->deferred)
		durable_hold(a->durable, c->req->token, c->record_seq, c->res);
}

void api_handle(void *ctx, const struct request *req, struct response *res)
{
	struct api *a = ctx;
	struct route_match m;
	struct query q;
	struct api_call call = { .req = req, .query = &q, .param = m.param, .res = res };

	res->status = 200;
	if (!serves(a, req, res) || !routed(req, &m, res) || !admitted(a, m.route, req, res))
		return;
	query_parse(&q, req->query);
	m.route->handler(a, &call);
	answer_when_durable(a, m.route, &call);
}

/* Touched jobs read into the index a few at a time, each turn: a
 * batch's jobs are not all read in the stretch of its handler, nor in
 * the next listing's. */
#define INDEX_SETTLE_PER_TURN 512u

void api_tick(struct api *a, uint64_t now_ns)
{
	api_batch_tick(a, now_ns);	/* long batches, a slice a turn */
	if (submitted_settle_some(&a->st->jobs, INDEX_SETTLE_PER_TURN) && a->server)
		server_again(a->server);
	api_workers_tick(a, now_ns);
	api_triggers_tick(a, now_ns);
	api_schedules_tick(a, now_ns);
	api_notify_tick(a, now_ns);	/* issue 16 */
	events_tick(a->st->events, now_ns);	/* GET /events (issue 16) */
	api_alloc_tick(a, now_ns);	/* allocations from Slurm (issue 17) */
}

int api_init(struct api *a, struct state *st, struct durable *d,
	     const struct api_lifecycle *life)
{
	memset(a, 0, sizeof(*a));
	a->st = st;
	a->engine = st->engine;
	a->durable = d;
	a->life = *life;
	a->daemon_uid = getuid();
	a->waits = calloc(WORKERS_MAX, sizeof(*a->waits));
	return a->waits ? 0 : -ENOMEM;
}

void api_destroy(struct api *a)
{
	api_submit_destroy(a);
	api_schedules_destroy(a);
	api_notify_destroy(a);	/* issue 16 */
	api_alloc_destroy(a);	/* issue 17 */
	free(a->waits);
	memset(a, 0, sizeof(*a));
}
