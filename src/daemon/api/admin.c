/*
 * admin.c - GET and POST /queues (the JobQueue entity), and what only
 * the daemon's owner (or root) may ask: POST /shutdown (stop now, or
 * drain) and POST /snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "daemon/api/handlers.h"
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

void api_queue_list(struct api *a, struct api_call *c)
{
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "queues");
	struct jr_queue_info q;

	for (uint32_t id = 0; id < JR_QUEUE_MAX; id++)
		if (jr_queue_get_info(a->engine, id, &q) == 0)
			cJSON_AddItemToArray(list, queue_json(&q));
	reply_json(c->res, 200, o);
}

void api_queue_create_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = 128;
	out->jobs = 0;
}

static void queue_refused(struct response *res, int rc, const char *name)
{
	if (rc == -EEXIST)
		reply_error(res, 409, "exists", "queue %s exists", name);
	else if (rc == -ENOSPC)
		reply_error(res, 507, "too_many_queues", "at most %u queues", JR_QUEUE_MAX);
	else
		reply_error(res, 422, "invalid_value",
			    "name is 1-47 characters, priority a whole number (int32)");
}

/* {"name": ..., "priority": int32, "max_workers": N}: created, journaled. */
void api_queue_create(struct api *a, struct api_call *c)
{
	struct jobspec_error err;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &err);
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *pr = cJSON_GetObjectItem(o, "priority");
	const cJSON *mw = cJSON_GetObjectItem(o, "max_workers");
	struct rec_queue rec = { .priority = pr ? pr->valueint : JR_PRIORITY_DEFAULT,
				 .max_workers = mw && mw->valueint > 0 ? (uint32_t)mw->valueint : 0 };
	struct jr_queue_info q;
	uint32_t id;
	int rc;

	if (!o && c->req->body_len) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (!cJSON_IsObject(o) || !cJSON_IsString(name) || (pr && !cJSON_IsNumber(pr)) ||
	    (mw && !cJSON_IsNumber(mw))) {
		reply_error(c->res, 400, "invalid_field",
			    "name (string), priority and max_workers (numbers)");
	} else if ((rc = jr_queue_create(a->engine, name->valuestring, rec.priority,
					 rec.max_workers, &id)) < 0) {
		queue_refused(c->res, rc, name->valuestring);
	} else {
		snprintf(rec.name, sizeof(rec.name), "%s", name->valuestring);
		c->record_seq = durable_log(a->durable, REC_QUEUE, &rec, sizeof(rec), NULL, 0);
		jr_queue_get_info(a->engine, id, &q);
		reply_json(c->res, 201, queue_json(&q));
	}
	cJSON_Delete(o);
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
