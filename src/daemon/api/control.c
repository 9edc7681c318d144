/*
 * control.c - a user's control of a job and of scheduling: PUT (or POST)
 * /jobs/{id}/hold, /release and /requeue, PATCH /jobs/{id} (priority,
 * queue, timeout, scheduled_at, resources while it has not started),
 * POST /scheduler/pause and /resume, GET /scheduler. A job's owner or
 * root controls it; only root or the daemon's owner pauses. Each change
 * is journaled (records.h: CONTROL, UPDATE, SCHEDULER) and its answer
 * held until the record is durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"

/* --- the job ------------------------------------------------------------------------------ */

/* The job the path names, if the caller may control it: its owner or
 * root (403), and one it may see at all (404). */
static bool controlled_job(struct api *a, struct api_call *c, struct jr_job_info *info)
{
	uint64_t id;

	if (!view_parse_id(c->param, &id) || jr_job_get(a->engine, id, info) < 0 ||
	    view_detail_for(c->req->uid, info->owner_uid, a->st->private_jobs) == VIEW_HIDDEN)
		return reply_error(c->res, 404, "not_found", "no such job (or it aged out): %s",
				   c->param);
	if (c->req->uid != 0 && info->owner_uid != c->req->uid)
		return reply_error(c->res, 403, "forbidden", "job %s belongs to uid %u", c->param,
				   info->owner_uid);
	return true;
}

/* An engine's refusal as an answer. */
static void refused(struct response *res, int rc, const char *ids)
{
	switch (rc) {
	case -EBUSY:
		reply_error(res, 409, "already_started", "job %s has already started", ids);
		break;
	case -EALREADY:
		reply_error(res, 409, "already_finished", "job %s has already finished", ids);
		break;
	case -EAGAIN:
		reply_error(res, 409, "not_started", "job %s has not started: nothing to requeue",
			    ids);
		break;
	case -ENOENT:
		reply_error(res, 404, "not_found", "no such job (or it aged out): %s", ids);
		break;
	case -E2BIG:
		reply_error(res, 422, "impossible_resources", "more resources than this host has");
		break;
	case -EINVAL:
		reply_error(res, 422, "invalid_value", "job %s cannot take these values", ids);
		break;
	default:
		reply_error(res, 500, "internal", "job %s: %s", ids, strerror(-rc));
		break;
	}
}

static void answer_job(struct api *a, struct api_call *c, jr_job_id id)
{
	struct jr_job_info info;

	if (jr_job_get(a->engine, id, &info) < 0)
		reply_error(c->res, 404, "not_found", "no such job (or it aged out): %s", c->param);
	else
		reply_json(c->res, 200, view_job(a->engine, &a->st->jobs, &info, VIEW_FULL));
}

/* A job that ended runs again from its command as submitted (and as
 * updated), under its batch's env; not held, whatever its "hold". */
static int requeue_ended(struct api *a, const struct jr_job_info *info)
{
	struct submitted_job *sj = submitted_slot(&a->st->jobs, (uint32_t)info->job_id);
	struct jobspec_submitter who = { sj->uid, sj->gid, sj->switch_user };
	const char *json = submitted_json(&a->st->jobs, info->job_id);
	const char *header = submitted_header(&a->st->jobs, info->job_id);
	cJSON *job = json ? cJSON_Parse(json) : NULL, *h = header ? cJSON_Parse(header) : NULL;
	struct jobspec_batch batch = { 0 };
	struct jobspec_error err;
	struct jobspec js;
	int rc = -ENOENT;

	jobspec_init(&js);
	if (job && (!header || (h && jobspec_parse_batch(h, &batch, &err))) &&
	    jobspec_parse(a->engine, job, &who, &js, &err)) {
		js.spec.flags &= ~(uint32_t)JR_COMMAND_HELD;
		js.spec.shared_env = batch.env;
		rc = jr_command_requeue_ended(a->engine, info->job_id, &js.spec);
	}
	jobspec_free(&js);
	jobspec_batch_free(&batch);
	cJSON_Delete(job);
	cJSON_Delete(h);
	return rc;
}

/* Done by the engine, then journaled; answered once durable. */
static void control(struct api *a, struct api_call *c, enum rec_control_op op)
{
	struct jr_job_info info;
	struct rec_control rec = { .uid = c->req->uid, .op = op };
	int rc;

	if (!controlled_job(a, c, &info))
		return;
	rec.job_id = info.job_id;
	rec.attempt = info.attempts;
	rc = op == REC_CONTROL_HOLD ? jr_command_hold(a->engine, info.job_id) :
	     op == REC_CONTROL_RELEASE ? jr_command_release(a->engine, info.job_id) :
					 jr_command_requeue(a->engine, info.job_id);
	if (op == REC_CONTROL_REQUEUE && rc == -EALREADY)
		rc = requeue_ended(a, &info);
	if (rc < 0) {
		refused(c->res, rc, c->param);
		return;
	}
	c->record_seq = durable_log(a->durable, REC_CONTROL, &rec, sizeof(rec), NULL, 0);
	answer_job(a, c, info.job_id);
}

void api_job_hold(struct api *a, struct api_call *c)
{
	control(a, c, REC_CONTROL_HOLD);
}

void api_job_release(struct api *a, struct api_call *c)
{
	control(a, c, REC_CONTROL_RELEASE);
}

void api_job_requeue(struct api *a, struct api_call *c)
{
	control(a, c, REC_CONTROL_REQUEUE);
}

/* --- PATCH /jobs/{id} ---------------------------------------------------------------------- */

/* The fields a PATCH may name, the job's JSON key each replaces, and
 * what the engine then reads. */
static const struct {
	const char *name, *key;
	uint32_t field;
} updatable[] = {
	{ "priority", "priority", JR_UPDATE_PRIORITY },
	{ "queue", "queue", JR_UPDATE_QUEUE },
	{ "timeout", "timeout", JR_UPDATE_TIMEOUT },
	{ "scheduled_at", "scheduled_at", JR_UPDATE_SCHEDULED_AT },
	{ "resources", "requirements", JR_UPDATE_RESOURCES },
	{ "requirements", "requirements", JR_UPDATE_RESOURCES },
};

/* The patch into the job's JSON (null removes a field: back to its
 * default); *fields says what changed. false, with a 4xx, if the patch
 * names anything else. */
static bool merge_patch(const cJSON *patch, cJSON *job, uint32_t *fields, struct response *res)
{
	const cJSON *v;

	*fields = 0;
	if (!cJSON_IsObject(patch) || !patch->child)
		return reply_error(res, 400, "invalid_json",
				   "a PATCH is a JSON object with at least one field");
	cJSON_ArrayForEach(v, patch) {
		size_t i = 0;
		while (i < JR_ARRAY_SIZE(updatable) && strcmp(updatable[i].name, v->string) != 0)
			i++;
		if (i == JR_ARRAY_SIZE(updatable))
			return reply_error(res, 422, "unknown_field",
					   "%s cannot be updated (priority, queue, timeout, "
					   "scheduled_at, resources)", v->string);
		cJSON_DeleteItemFromObjectCaseSensitive(job, updatable[i].key);
		if (!cJSON_IsNull(v))
			cJSON_AddItemToObject(job, updatable[i].key, cJSON_Duplicate(v, 1));
		*fields |= updatable[i].field;
	}
	return true;
}

/* The job's JSON from now on: kept (under its batch's header, if any)
 * and journaled. */
static void keep_update(struct api *a, struct api_call *c, jr_job_id id, const char *text)
{
	struct submitted_job *sj = submitted_slot(&a->st->jobs, (uint32_t)id);
	struct jobspec_submitter who = { sj->uid, sj->gid, sj->switch_user };
	const char *header = submitted_header(&a->st->jobs, id);
	size_t hlen = header ? strlen(header) : 0, skip = header ? hlen + 1 : 0;
	size_t tlen = strlen(text);
	char *buf = malloc(skip + tlen + 1);
	struct rec_update rec = { .job_id = id, .uid = c->req->uid, .header_len = (uint32_t)hlen };
	struct submitted_block *block;

	if (!buf)
		return;
	if (header) {
		memcpy(buf, header, hlen);
		buf[hlen] = '\n';
	}
	memcpy(buf + skip, text, tlen + 1);
	c->record_seq = durable_log(a->durable, REC_UPDATE, &rec, sizeof(rec), buf,
				    (uint32_t)(skip + tlen));
	block = submitted_block_new(buf, skip + tlen);
	if (block && header)
		submitted_block_set_header(block, 0, hlen);
	if (block)
		submitted_put(&a->st->jobs, id, block, skip, tlen, &who);
	free(buf);
}

/* The merged JSON read as a submission is (422 naming a bad field),
 * then the engine's update. */
static bool update_engine(struct api *a, struct api_call *c, const struct jr_job_info *info,
			  const cJSON *job, uint32_t fields)
{
	struct submitted_job *sj = submitted_slot(&a->st->jobs, (uint32_t)info->job_id);
	struct jobspec_submitter who = { sj->uid, sj->gid, sj->switch_user };
	struct jobspec_error err;
	struct jobspec js;
	int rc;

	if (!jobspec_parse(a->engine, job, &who, &js, &err)) {
		jobspec_free(&js);
		return reply_error(c->res, err.status, err.code, "%s", err.message);
	}
	rc = jr_command_update(a->engine, info->job_id,
			       &(struct jr_command_update){ .fields = fields, .spec = &js.spec });
	jobspec_free(&js);
	if (rc < 0) {
		refused(c->res, rc, c->param);
		return false;
	}
	return true;
}

static bool not_started(const struct jr_job_info *info, struct response *res, const char *ids)
{
	if (info->state == JR_JOB_RUNNING)
		refused(res, -EBUSY, ids);
	else if (job_state_final(info->state))
		refused(res, -EALREADY, ids);
	return info->state == JR_JOB_PENDING || info->state == JR_JOB_QUEUED;
}

void api_job_update(struct api *a, struct api_call *c)
{
	struct jr_job_info info;
	struct jobspec_error err;
	cJSON *patch = NULL, *job = NULL;
	const char *json;
	uint32_t fields;
	char *text;

	if (!controlled_job(a, c, &info) || !not_started(&info, c->res, c->param))
		return;
	patch = json_parse_strict(c->req->body, c->req->body_len, &err);
	json = submitted_json(&a->st->jobs, info.job_id);
	if (!patch) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (!json || !(job = cJSON_Parse(json))) {
		reply_error(c->res, 409, "not_updatable", "job %s has no submitted JSON to update",
			    c->param);
	} else if (merge_patch(patch, job, &fields, c->res) &&
		   update_engine(a, c, &info, job, fields)) {
		text = cJSON_PrintUnformatted(job);
		if (text)
			keep_update(a, c, info.job_id, text);
		free(text);
		answer_job(a, c, info.job_id);
	}
	cJSON_Delete(patch);
	cJSON_Delete(job);
}

/* --- the scheduler ------------------------------------------------------------------------- */

static cJSON *scheduler_json(const struct api *a)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "paused", jr_engine_paused(a->engine));
	cJSON_AddBoolToObject(o, "paused_by_user", a->st->paused);
	cJSON_AddBoolToObject(o, "draining", a->status.draining);
	return o;
}

void api_scheduler_show(struct api *a, struct api_call *c)
{
	reply_json(c->res, 200, scheduler_json(a));
}

static void pause_or_resume(struct api *a, struct api_call *c, bool pause)
{
	struct rec_scheduler rec = { .paused = pause, .uid = c->req->uid };
	int rc;

	if (c->req->uid != 0 && c->req->uid != a->daemon_uid) {
		reply_error(c->res, 403, "forbidden", "only uid %u or root may %s scheduling",
			    (unsigned)a->daemon_uid, pause ? "pause" : "resume");
		return;
	}
	if (!pause && a->status.draining) {
		reply_error(c->res, 409, "draining", "the daemon is draining: nothing starts again");
		return;
	}
	rc = pause ? jr_engine_pause(a->engine) : jr_engine_resume(a->engine);
	if (rc < 0) {
		reply_error(c->res, 503, "shutting_down", "the daemon is stopping");
		return;
	}
	a->st->paused = pause;
	c->record_seq = durable_log(a->durable, REC_SCHEDULER, &rec, sizeof(rec), NULL, 0);
	reply_json(c->res, 200, scheduler_json(a));
}

void api_scheduler_pause(struct api *a, struct api_call *c)
{
	pause_or_resume(a, c, true);
}

void api_scheduler_resume(struct api *a, struct api_call *c)
{
	pause_or_resume(a, c, false);
}
