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
#include "daemon/state/arrayspec.h"
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

/* The spec a requeued job runs again with: not held, whatever its
 * "hold"; its dependencies were met once, so it waits for none (an
 * array's aftercorr included); an array task stays its array's task. */
static void as_requeued(struct jobspec *js, const struct submitted_job *sj)
{
	js->spec.flags &= ~(uint32_t)JR_COMMAND_HELD;
	js->spec.after_count = 0;
	js->spec.after_types = NULL;
	if (!sj->array_job_id)
		return;
	js->spec.flags |= JR_COMMAND_ARRAY_TASK;
	js->spec.array_job_id = sj->array_job_id;
	js->spec.array_task_id = sj->array_task_id;
	js->spec.throttle_max = js->array ? js->array->throttle : 0;
}

/* A job that ended runs again from its command as submitted (and as
 * updated), under its batch's env; not held, whatever its "hold". */
static int requeue_ended(struct api *a, const struct jr_job_info *info)
{
	struct submitted_job *sj = submitted_slot(&a->st->jobs, (uint32_t)info->job_id);
	struct jobspec_submitter who = submitted_job_who(&a->st->jobs, sj);
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
		as_requeued(&js, sj);
		js.spec.shared_env = batch.env;
		/* The attempt that ended stays in its history (executions.h). */
		if (executions_keep_latest(&a->st->execs, info) == -ENOMEM)
			rc = -ENOMEM;
		else
			rc = jr_command_requeue_ended(a->engine, info->job_id, &js.spec);
	}
	jobspec_free(&js);
	jobspec_batch_free(&batch);
	cJSON_Delete(job);
	cJSON_Delete(h);
	return rc;
}

/* Done by the engine, then journaled: 0 or the engine's refusal. */
static int control_one(struct api *a, struct api_call *c, const struct jr_job_info *info,
		       enum rec_control_op op)
{
	struct rec_control rec = { .uid = c->req->uid, .op = op, .job_id = info->job_id,
				   .attempt = info->attempts };
	int rc = op == REC_CONTROL_HOLD ? jr_command_hold(a->engine, info->job_id) :
		 op == REC_CONTROL_RELEASE ? jr_command_release(a->engine, info->job_id) :
					     jr_command_requeue(a->engine, info->job_id);

	if (op == REC_CONTROL_REQUEUE && rc == -EALREADY)
		rc = requeue_ended(a, info);
	if (rc == 0) {
		c->record_seq = durable_log(a->durable, REC_CONTROL, &rec, sizeof(rec), NULL, 0);
		submitted_touch(&a->st->jobs, info->job_id);	/* filed again (jobindex.h) */
		events_job(a->st->events, a->engine, info->job_id, NULL);	/* GET /events (issue 16) */
	}
	return rc;
}

struct array_control {
	struct api *a;
	struct api_call *c;
	enum rec_control_op op;
	uint64_t done;
	int refused;		/* the last task's refusal */
};

static bool control_task(void *ctx, const struct submitted_job *task, jr_job_id id)
{
	struct array_control *x = ctx;
	struct jr_job_info info;
	int rc;

	(void)task;
	if (jr_job_get(x->a->engine, id, &info) < 0)
		return true;
	rc = control_one(x->a, x->c, &info, x->op);
	if (rc == 0)
		x->done++;
	else
		x->refused = rc;
	return true;
}

/* The array's id (its first task's): every task the control applies to
 * (held: those not started; requeued: those running or ended), as
 * scontrol does with an array's id; refused only if none was. */
static void control_array(struct api *a, struct api_call *c, const struct jr_job_info *info,
			  enum rec_control_op op)
{
	struct array_control x = { a, c, op, 0, -ENOENT };
	uint32_t cursor = 0;

	submitted_array_tasks(&a->st->jobs, info->job_id, &cursor, control_task, &x);
	if (!x.done)
		refused(c->res, x.refused, c->param);
	else
		answer_job(a, c, info->job_id);
}

/* Answered once durable. */
static void control(struct api *a, struct api_call *c, enum rec_control_op op)
{
	struct jr_job_info info;
	int rc;

	if (!controlled_job(a, c, &info))
		return;
	if (submitted_is_array_id(&a->st->jobs, info.job_id)) {
		control_array(a, c, &info, op);
		return;
	}
	rc = control_one(a, c, &info, op);
	if (rc < 0)
		refused(c->res, rc, c->param);
	else
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
 * default); *fields says what changed. false, with *err, if the patch
 * names anything else. */
static bool merge_patch(const cJSON *patch, cJSON *job, uint32_t *fields,
			struct jobspec_error *err)
{
	const cJSON *v;

	*fields = 0;
	if (!cJSON_IsObject(patch) || !patch->child) {
		*err = (struct jobspec_error){ .status = 400, .code = "invalid_json" };
		snprintf(err->message, sizeof(err->message),
			 "a PATCH is a JSON object with at least one field");
		return false;
	}
	cJSON_ArrayForEach(v, patch) {
		size_t i = 0;
		while (i < JR_ARRAY_SIZE(updatable) && strcmp(updatable[i].name, v->string) != 0)
			i++;
		if (i == JR_ARRAY_SIZE(updatable)) {
			*err = (struct jobspec_error){ .status = 422, .code = "unknown_field" };
			snprintf(err->message, sizeof(err->message),
				 "%.64s cannot be updated (priority, queue, timeout, "
				 "scheduled_at, resources)", v->string);
			return false;
		}
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
	struct jobspec_submitter who = submitted_job_who(&a->st->jobs, sj);
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
	if (block) {
		jr_job_id array_id = sj->array_job_id;
		uint32_t task_id = sj->array_task_id;
		submitted_put(&a->st->jobs, id, block, skip, tlen, &who);
		if (array_id)	/* still its array's task */
			submitted_set_array(&a->st->jobs, id, array_id, task_id);
	}
	free(buf);
}

/* The merged JSON read as a submission is, then the engine's update:
 * 0, an engine refusal, or 1 with *err (422 naming a bad field). */
static int update_engine(struct api *a, const struct jr_job_info *info, const cJSON *job,
			 uint32_t fields, struct jobspec_error *err)
{
	struct submitted_job *sj = submitted_slot(&a->st->jobs, (uint32_t)info->job_id);
	struct jobspec_submitter who = submitted_job_who(&a->st->jobs, sj);
	struct jobspec js;
	int rc = 1;

	if (jobspec_parse(a->engine, job, &who, &js, err))
		rc = jr_command_update(a->engine, info->job_id,
				       &(struct jr_command_update){ .fields = fields,
								    .spec = &js.spec });
	if (rc == 0) {
		submitted_touch(&a->st->jobs, info->job_id);	/* filed again (jobindex.h) */
		events_job(a->st->events, a->engine, info->job_id, NULL);	/* GET /events (issue 16) */
	}
	jobspec_free(&js);
	return rc;
}

/* Why one job cannot be updated (nothing to update, or its JSON gone):
 * 1 with *err, else 0. */
static int not_updatable(const struct jr_job_info *info, const char *json,
			 struct jobspec_error *err)
{
	if (info->state == JR_JOB_RUNNING)
		return -EBUSY;
	if (job_state_final(info->state))
		return -EALREADY;
	if (json)
		return 0;
	*err = (struct jobspec_error){ .status = 409, .code = "not_updatable" };
	snprintf(err->message, sizeof(err->message), "job %016llx has no submitted JSON to update",
		 (unsigned long long)info->job_id);
	return 1;
}

/* The patch applied to one job: 0, an engine refusal (< 0), or 1 with
 * *err. Kept and journaled when done. */
static int update_one(struct api *a, struct api_call *c, const struct jr_job_info *info,
		      const cJSON *patch, struct jobspec_error *err)
{
	const char *json = submitted_json(&a->st->jobs, info->job_id);
	cJSON *job = NULL;
	uint32_t fields;
	char *text;
	int rc = not_updatable(info, json, err);

	if (rc == 0 && !(job = cJSON_Parse(json)))
		rc = not_updatable(info, NULL, err);
	if (rc == 0 && !merge_patch(patch, job, &fields, err))
		rc = 1;
	if (rc == 0)
		rc = update_engine(a, info, job, fields, err);
	if (rc == 0 && (text = cJSON_PrintUnformatted(job)) != NULL) {
		keep_update(a, c, info->job_id, text);
		free(text);
	}
	cJSON_Delete(job);
	return rc;
}

struct array_update {
	struct api *a;
	struct api_call *c;
	const cJSON *patch;
	uint64_t done;
	int rc;				/* the last refusal */
	struct jobspec_error err;	/* with rc 1 */
};

static bool update_task(void *ctx, const struct submitted_job *task, jr_job_id id)
{
	struct array_update *x = ctx;
	struct jr_job_info info;
	int rc;

	(void)task;
	if (jr_job_get(x->a->engine, id, &info) < 0)
		return true;
	rc = update_one(x->a, x->c, &info, x->patch, &x->err);
	if (rc == 0)
		x->done++;
	else
		x->rc = rc;
	return rc <= 0;	/* a patch that does not read stops at the first task */
}

void api_job_update(struct api *a, struct api_call *c)
{
	struct jr_job_info info;
	struct array_update x = { a, c, NULL, 0, -ENOENT, { 0 } };
	uint32_t cursor = 0;
	cJSON *patch = NULL;

	if (!controlled_job(a, c, &info))
		return;
	if (!(patch = json_parse_strict(c->req->body, c->req->body_len, &x.err))) {
		reply_error(c->res, x.err.status, x.err.code, "%s", x.err.message);
		return;
	}
	x.patch = patch;
	if (submitted_is_array_id(&a->st->jobs, info.job_id))
		/* Every task that has not started, as scontrol does. */
		submitted_array_tasks(&a->st->jobs, info.job_id, &cursor, update_task, &x);
	else if ((x.rc = update_one(a, c, &info, patch, &x.err)) == 0)
		x.done = 1;
	if (x.done)
		answer_job(a, c, info.job_id);
	else if (x.rc == 1)
		reply_error(c->res, x.err.status, x.err.code, "%s", x.err.message);
	else
		refused(c->res, x.rc, c->param);
	cJSON_Delete(patch);
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
