/*
 * admin.c - GET and POST /queues (the JobQueue entity), and what only
 * the daemon's owner (or root) may ask: POST /shutdown (stop now, or
 * drain) and POST /snapshot.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "daemon/api/handlers.h"
#include "daemon/api/notify.h"
#include "daemon/net/reply.h"
#include "daemon/state/jsoncheck.h"

/* --- queues ------------------------------------------------------------------------------- */

static cJSON *queue_json(const struct jr_queue_info *q)
{
	cJSON *o = cJSON_CreateObject();
	char id[16];

	snprintf(id, sizeof(id), "%u", q->queue_id);
	cJSON_AddStringToObject(o, "queue_id", id);
	cJSON_AddStringToObject(o, "name", q->name);
	cJSON_AddNumberToObject(o, "priority", q->priority);
	cJSON_AddNumberToObject(o, "max_workers", q->max_workers);
	return o;
}

/* With its notify setting (issue 16) for the daemon's owner and root:
 * a webhook's URL may carry a token. */
static cJSON *queue_notify_json(struct api *a, const struct api_call *c,
				const struct jr_queue_info *q)
{
	cJSON *o = queue_json(q);

	if (c->req->uid == 0 || c->req->uid == a->daemon_uid)
		api_queue_notify_view(a, o, q->name);
	return o;
}

void api_queue_list(struct api *a, struct api_call *c)
{
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "queues");
	struct jr_queue_info q;

	for (uint32_t id = 0; id < JR_QUEUE_MAX; id++)
		if (jr_queue_get_info(a->engine, id, &q) == 0)
			cJSON_AddItemToArray(list, queue_notify_json(a, c, &q));
	reply_json(c->res, 200, o);
}

void api_queue_create_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = 128;
	out->jobs = 0;
}

/* A whole number in int32's range (queue priorities, like jobs'). */
static bool int32_number(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= INT32_MIN && v->valuedouble <= INT32_MAX &&
	       v->valuedouble == floor(v->valuedouble);
}

static bool max_workers_number(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= UINT32_MAX &&
	       v->valuedouble == floor(v->valuedouble);
}

static void queue_refused(struct response *res, int rc, const char *name)
{
	if (rc == -EEXIST)
		reply_error(res, 409, "exists", "queue %s exists", name);
	else if (rc == -ENOSPC)
		reply_error(res, 507, "too_many_queues", "at most %u queues", JR_QUEUE_MAX);
	else
		reply_error(res, 422, "invalid_value", "name is 1-47 characters, priority a whole "
			    "number (int32), max_workers 0 or more");
}

/* A POST /queues body's settings; false (answered) if it is bad. */
static bool queue_create_body(const cJSON *o, struct rec_queue *rec, struct response *res)
{
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *pr = cJSON_GetObjectItem(o, "priority");
	const cJSON *mw = cJSON_GetObjectItem(o, "max_workers");

	if (!cJSON_IsObject(o) || !cJSON_IsString(name) || (pr && !cJSON_IsNumber(pr)) ||
	    (mw && !cJSON_IsNumber(mw)))
		return reply_error(res, 400, "invalid_field",
				   "name (string), priority and max_workers (numbers)");
	if ((pr && !int32_number(pr)) || (mw && !max_workers_number(mw)) ||
	    strlen(name->valuestring) >= sizeof(rec->name)) {
		queue_refused(res, -EINVAL, name->valuestring);
		return false;
	}
	*rec = (struct rec_queue){ .priority = pr ? (int32_t)pr->valuedouble : JR_PRIORITY_DEFAULT,
				   .max_workers = mw ? (uint32_t)mw->valuedouble : 0 };
	snprintf(rec->name, sizeof(rec->name), "%s", name->valuestring);
	return true;
}

/* {"name": ..., "priority": int32, "max_workers": N}: created, journaled. */
void api_queue_create(struct api *a, struct api_call *c)
{
	struct jobspec_error err;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &err);
	struct rec_queue rec;
	struct jr_queue_info q;
	uint32_t id;
	int rc;

	if (!o && c->req->body_len) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (!queue_create_body(o, &rec, c->res) || !api_queue_notify_check(a, c, o)) {
		/* answered */
	} else if ((rc = jr_queue_create(a->engine, rec.name, rec.priority, rec.max_workers,
					 &id)) < 0) {
		queue_refused(c->res, rc, rec.name);
	} else {
		c->record_seq = durable_log(a->durable, REC_QUEUE, &rec, sizeof(rec), NULL, 0);
		uint64_t seq = api_queue_notify_set(a, rec.name, o);	/* issue 16 */
		c->record_seq = seq ? seq : c->record_seq;
		jr_queue_get_info(a->engine, id, &q);
		events_queue(a->st->events, q.name, "created");	/* GET /events (issue 16) */
		reply_json(c->res, 201, queue_notify_json(a, c, &q));
	}
	cJSON_Delete(o);
}

/* The settings a PATCH asks for over the queue's present ones; false
 * (answered) on a bad body. */
static bool queue_patch(const cJSON *o, struct rec_queue *rec, struct response *res)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return reply_error(res, 400, "invalid_json", "a JSON object");
	cJSON_ArrayForEach(v, o) {
		if (strcmp(v->string, "priority") == 0 && int32_number(v))
			rec->priority = (int32_t)v->valuedouble;
		else if (strcmp(v->string, "max_workers") == 0 && max_workers_number(v))
			rec->max_workers = (uint32_t)v->valuedouble;
		else if (strcmp(v->string, "notify") == 0)	/* issue 16: notify.c's */
			continue;
		else if (strcmp(v->string, "priority") == 0 || strcmp(v->string, "max_workers") == 0)
			return reply_error(res, 422, "invalid_value",
					   "priority: a whole number (int32); max_workers: 0 or more");
		else
			return reply_error(res, 422, "unknown_field", "%s: only priority and "
					   "max_workers can change", v->string);
	}
	return true;
}

static bool queue_named(struct api *a, struct api_call *c, uint32_t *id)
{
	if (jr_queue_lookup(a->engine, c->param, id) == 0)
		return true;
	return reply_error(c->res, 404, "not_found", "no queue %s", c->param);
}

/* PATCH /queues/{name} {"priority","max_workers"}: journaled. */
void api_queue_update(struct api *a, struct api_call *c)
{
	struct jobspec_error err;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &err);
	struct jr_queue_info q;
	struct rec_queue rec;
	uint32_t id;

	if (!o) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (queue_named(a, c, &id) && jr_queue_get_info(a->engine, id, &q) == 0) {
		rec = (struct rec_queue){ .priority = q.priority, .max_workers = q.max_workers };
		snprintf(rec.name, sizeof(rec.name), "%s", q.name);
		if (queue_patch(o, &rec, c->res) && api_queue_notify_check(a, c, o) &&
		    jr_queue_update(a->engine, id, rec.priority, rec.max_workers) == 0) {
			c->record_seq = durable_log(a->durable, REC_QUEUE_UPDATE, &rec, sizeof(rec),
						    NULL, 0);
			uint64_t seq = api_queue_notify_set(a, rec.name, o);	/* issue 16 */
			c->record_seq = seq ? seq : c->record_seq;
			jr_queue_get_info(a->engine, id, &q);
			events_queue(a->st->events, q.name, "updated");	/* GET /events (issue 16) */
			reply_json(c->res, 200, queue_notify_json(a, c, &q));
		}
	}
	cJSON_Delete(o);
}

/* DELETE /queues/{name}: 409 not_empty while a live job belongs to it. */
void api_queue_delete(struct api *a, struct api_call *c)
{
	struct rec_queue rec = { 0 };
	struct jr_queue_info q;
	uint32_t id;
	int rc;

	if (!queue_named(a, c, &id) || jr_queue_get_info(a->engine, id, &q) < 0)
		return;
	rc = jr_queue_delete(a->engine, id);
	if (rc == -EPERM) {
		reply_error(c->res, 409, "default_queue", "the default queue cannot be removed");
	} else if (rc == -EBUSY) {
		reply_error(c->res, 409, "not_empty", "queue %s has jobs that have not ended",
			    q.name);
	} else if (rc < 0) {
		reply_error(c->res, 404, "not_found", "no queue %s", c->param);
	} else {
		snprintf(rec.name, sizeof(rec.name), "%s", q.name);
		c->record_seq = durable_log(a->durable, REC_QUEUE_DELETE, &rec, sizeof(rec), NULL, 0);
		api_queue_notify_forget(a, q.name);	/* issue 16 */
		events_queue(a->st->events, q.name, "deleted");	/* GET /events (issue 16) */
		reply_json(c->res, 200, queue_json(&q));
	}
}

void api_queue_change_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = 128;
	out->jobs = 0;
}

/* --- the daemon's owner -------------------------------------------------------------------- */

static bool owner_or_root(struct api *a, struct api_call *c, const char *what)
{
	if (c->req->uid == 0 || c->req->uid == a->daemon_uid)
		return true;
	return reply_error(c->res, 403, "forbidden", "only uid %u or root may %s",
			   (unsigned)a->daemon_uid, what);
}

/* {"drain": bool, "grace": duration}, nothing else: false with a 4xx. */
static bool shutdown_body(const cJSON *body, bool *drain, uint64_t *grace_ms,
			  struct response *res)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "drain");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(body, "grace");

	for (const cJSON *f = body ? body->child : NULL; f; f = f->next)
		if (strcmp(f->string, "drain") && strcmp(f->string, "grace"))
			return reply_error(res, 422, "unknown_field", "unknown field \"%s\"",
					   f->string);
	if ((d && !cJSON_IsBool(d)) ||
	    (g && (!cJSON_IsString(g) || jr_parse_duration_ms(g->valuestring, grace_ms) < 0)))
		return reply_error(res, 422, "bad_value",
				   "drain is true or false; grace a duration such as \"30m\"");
	*drain = cJSON_IsTrue(d);
	return true;
}

/* POST /shutdown {"drain": true, "grace": "30m"}: without drain, running
 * jobs go on under the keeper (as with SIGTERM). */
void api_shutdown(struct api *a, struct api_call *c)
{
	const struct request *req = c->req;
	struct jobspec_error err;
	cJSON *body = req->body_len ? json_parse_strict(req->body, req->body_len, &err) : NULL;
	uint64_t grace_ms = 30000;
	bool drain = false;
	cJSON *o;

	if (!owner_or_root(a, c, "stop this daemon")) {
		;
	} else if (req->body_len && !body) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (req->body_len && !cJSON_IsObject(body)) {
		reply_error(c->res, 400, "bad_json", "the body is not a JSON object");
	} else if (shutdown_body(body, &drain, &grace_ms, c->res)) {
		o = cJSON_CreateObject();
		if (drain) {
			a->life.start_drain(a->life.ctx, grace_ms);
			cJSON_AddStringToObject(o, "status", "draining");
			cJSON_AddNumberToObject(o, "grace_ms", (double)grace_ms);
		} else {
			a->life.stop_now(a->life.ctx);
			cJSON_AddStringToObject(o, "status", "stopping");
		}
		reply_json(c->res, 202, o);
	}
	cJSON_Delete(body);
}

/* POST /snapshot: one now, unless one is being written. */
void api_snapshot(struct api *a, struct api_call *c)
{
	cJSON *o;

	if (!owner_or_root(a, c, "ask for a snapshot"))
		return;
	if (a->life.snapshot_now(a->life.ctx) < 0) {
		reply_error(c->res, 409, "snapshot_running", "a snapshot is being written already");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "writing");
	reply_json(c->res, 202, o);
}
