/*
 * events.c - GET /events (issue 16): the event stream as Server-Sent
 * Events. The query's filters (kind=job,worker, job=ID, queue=NAME,
 * user=NAME or uid) and the resume point (the Last-Event-ID header, or
 * ?last_event_id= for clients that cannot send one) are checked here;
 * the request is then held and streamed by the event ring
 * (state/events.h). The visibility of GET /jobs applies: with
 * jobringd --private a user sees only its own jobs' events (root all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/handlers.h"
#include "daemon/api/jobfilter.h"
#include "daemon/net/reply.h"
#include "daemon/state/view.h"

static bool parse_kinds(const char *v, uint32_t *kinds, struct response *res)
{
	*kinds = 0;
	while (*v) {
		size_t len = strcspn(v, ",");
		int k = event_kind_parse(v, len);
		if (k < 0)
			return reply_error(res, 422, "invalid_value",
					   "kind must be job, execution, worker, queue or schedule: %.*s",
					   (int)(len > 32 ? 32 : len), v);
		*kinds |= 1u << k;
		v += len + (v[len] == ',');
	}
	return true;
}

static bool parse_filter(struct api_call *c, struct event_filter *f)
{
	const char *v;

	if ((v = query_get(c->query, "kind")) && !parse_kinds(v, &f->kinds, c->res))
		return false;
	if ((v = query_get(c->query, "job")) && !view_parse_id(v, &f->job))
		return reply_error(c->res, 422, "invalid_value", "job must be a job id: %.32s", v);
	if ((v = query_get(c->query, "queue"))) {
		if (strlen(v) >= sizeof(f->queue))
			return reply_error(c->res, 422, "invalid_value", "queue name too long");
		snprintf(f->queue, sizeof(f->queue), "%s", v);
	}
	if ((v = query_get(c->query, "user")) && !user_filter_parse(v, &f->user))
		return reply_error(c->res, 422, "invalid_value",
				   "user must be a uid or a user name: no user %.64s", v);
	return true;
}

/* The header, else ?last_event_id=; 0: none. */
static bool parse_last_id(struct api_call *c, uint64_t *id)
{
	const char *v = c->req->last_event_id && *c->req->last_event_id ?
				c->req->last_event_id : query_get(c->query, "last_event_id");
	char *end;

	*id = 0;
	if (!v || !*v)
		return true;
	errno = 0;
	*id = strtoull(v, &end, 10);	/* digits only: strtoull takes "-1" as 2^64-1 */
	if (*v < '0' || *v > '9' || *end || errno)
		return reply_error(c->res, 422, "invalid_value",
				   "Last-Event-ID must be an event's id: %.32s", v);
	return true;
}

void api_events(struct api *a, struct api_call *c)
{
	struct event_filter f = { .user = EVENTS_NO_UID, .viewer = c->req->uid,
				  .private_jobs = a->st->private_jobs };
	uint64_t last_id;
	const char *v;
	int rc;

	if (!parse_filter(c, &f) || !parse_last_id(c, &last_id))
		return;
	if (!last_id && (v = query_get(c->query, "from")) && strcmp(v, "oldest") == 0)
		last_id = EVENTS_FROM_OLDEST;	/* jobring events: what is held */
	rc = events_subscribe(a->st->events, a->server, c->req->token, &f, last_id);
	if (rc == -EBUSY) {
		reply_error(c->res, 503, "too_many_subscribers",
			    "the event stream has its %u subscribers", EVENTS_MAX_SUBSCRIBERS);
		return;
	}
	c->res->deferred = true;
}
