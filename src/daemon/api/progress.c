/*
 * progress.c - external workers report their executions' progress: POST
 * /executions/{id}/progress {"lease": L, "progress": N}, checked as a
 * completion is (the job's current attempt, its worker's owner or root,
 * the claim's lease), and heartbeats that carry {"progress": {"<execution
 * id>": N, ...}}, applied to the executions that worker holds. The value
 * goes to the engine (jr_external_progress) and shows as "progress" in
 * the job's and the execution's views. Not journaled: live state, like
 * a local job's (docs/DECISIONS.md).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/lease.h"
#include "daemon/state/view.h"
#include "engine/engine.h"
#include "shm/jobtab.h"

/* A progress value: a whole number 0..100. 400 if not a number, 422 if
 * out of range or not whole. */
static bool progress_value(const cJSON *v, const char *name, int *out, struct response *res)
{
	if (!cJSON_IsNumber(v))
		return reply_error(res, 400, "invalid_field", "%s must be a number from 0 to 100",
				   name);
	if (v->valuedouble < 0 || v->valuedouble > 100 || floor(v->valuedouble) != v->valuedouble)
		return reply_error(res, 422, "invalid_value", "%s must be a whole number from 0 to "
				   "100, not %g", name, v->valuedouble);
	*out = (int)v->valuedouble;
	return true;
}

bool api_execution_report(struct api *a, struct api_call *c, const cJSON *o,
			  const struct jobspec_error *jerr, uint64_t *exec, struct jr_job_info *info)
{
	if (!view_parse_id(c->param, exec) ||
	    jr_engine_job_peek(a->engine, jr_execution_job(*exec), info) < 0 ||
	    view_detail_for(c->req->uid, info->owner_uid, a->st->private_jobs) == VIEW_HIDDEN)
		return reply_error(c->res, 404, "not_found", "no such execution: %s", c->param);
	if (!o)
		return reply_error(c->res, jerr->status, jerr->code, "%s", jerr->message);
	if (!cJSON_IsObject(o))
		return reply_error(c->res, 400, "invalid_json", "the body must be a JSON object");
	return true;
}

bool api_execution_holds(struct api *a, struct api_call *c, uint64_t exec,
			 const struct jr_job_info *info, const cJSON *o)
{
	const cJSON *lease = cJSON_GetObjectItem(o, "lease");
	struct worker *w;

	if (info->exec.execution_id != exec)
		return reply_error(c->res, 409, "lease_expired", "execution %s is not the job's "
				   "current attempt any more", c->param);
	w = workers_by_engine_id(&a->st->workers, info->exec.worker_id);
	if (w ? !worker_owned_by(w, c->req->uid) :
		c->req->uid != 0 && c->req->uid != info->owner_uid)
		return reply_error(c->res, 403, "forbidden", "execution %s is not the caller's",
				   c->param);
	if (!lease_valid(&a->st->workers.lease, exec, info->exec.start_ns,
			 cJSON_IsString(lease) ? lease->valuestring : NULL))
		return reply_error(c->res, 403, "invalid_lease", "a report must carry the lease of "
				   "execution %s, as its claim returned it", c->param);
	return true;
}

static void set_progress(struct api *a, struct api_call *c, uint64_t exec, int pct)
{
	struct jr_job_info info;
	int rc = jr_external_progress(a->engine, exec, pct);

	if (rc == -ESTALE)
		reply_error(c->res, 409, "lease_expired", "execution %s is not the job's current "
			    "attempt any more", c->param);
	else if (rc < 0)
		reply_error(c->res, 409, "already_finished", "execution %s has ended", c->param);
	else if (jr_engine_job_peek(a->engine, jr_execution_job(exec), &info) < 0)
		reply_error(c->res, 409, "already_finished", "execution %s has ended", c->param);
	else
		reply_json(c->res, 200, view_execution(&a->st->jobs, &info, VIEW_FULL));
}

void api_execution_progress(struct api *a, struct api_call *c)
{
	struct jobspec_error jerr;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &jerr);
	struct jr_job_info info;
	uint64_t exec;
	int pct;

	if (api_execution_report(a, c, o, &jerr, &exec, &info) &&
	    (info.is_external ||
	     reply_error(c->res, 409, "not_external", "execution %s runs on the daemon's own "
			 "executor: its job writes its progress to $JOBRING_PROGRESS_FD", c->param)) &&
	    api_execution_holds(a, c, exec, &info, o) &&
	    progress_value(cJSON_GetObjectItem(o, "progress"), "progress", &pct, c->res))
		set_progress(a, c, exec, pct);
	cJSON_Delete(o);
}

/* --- heartbeats --------------------------------------------------------------------------- */

/* Every entry well-formed (execution ids as the API writes them, values
 * 0..100), or an error answered and nothing applied. */
static bool heartbeat_entries_valid(const cJSON *map, struct response *res)
{
	const cJSON *e;
	uint64_t exec;
	int pct;

	if (!cJSON_IsObject(map))
		return reply_error(res, 400, "invalid_field", "progress must be an object of "
				   "execution ids and values from 0 to 100");
	cJSON_ArrayForEach(e, map) {
		if (!view_parse_id(e->string, &exec))
			return reply_error(res, 422, "invalid_value", "progress: not an execution "
					   "id: %.40s", e->string);
		if (!progress_value(e, "progress values", &pct, res))
			return false;
	}
	return true;
}

/* Applied to the executions w holds now; others are skipped (one that
 * ended or was taken away meanwhile is not an error). The count applied. */
static uint32_t heartbeat_apply(struct api *a, const struct worker *w, const cJSON *map)
{
	const cJSON *e;
	uint32_t applied = 0;

	cJSON_ArrayForEach(e, map) {
		struct jr_job_info info;
		uint64_t exec;
		view_parse_id(e->string, &exec);
		if (jr_engine_job_peek(a->engine, jr_execution_job(exec), &info) < 0 ||
		    info.exec.execution_id != exec || info.exec.worker_id != worker_engine_id(w))
			continue;
		if (jr_external_progress(a->engine, exec, (int)e->valuedouble) == 0)
			applied++;
	}
	return applied;
}

bool api_heartbeat_progress(struct api *a, struct api_call *c, const struct worker *w,
			    int32_t *applied)
{
	struct jobspec_error jerr;
	const cJSON *map;
	cJSON *o;

	*applied = -1;
	if (c->req->body_len == 0)
		return true;	/* a plain heartbeat */
	o = json_parse_strict(c->req->body, c->req->body_len, &jerr);
	if (!o)
		return reply_error(c->res, jerr.status, jerr.code, "%s", jerr.message);
	map = cJSON_IsObject(o) ? cJSON_GetObjectItem(o, "progress") : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return reply_error(c->res, 400, "invalid_json", "the body must be a JSON object");
	}
	if (map && !heartbeat_entries_valid(map, c->res)) {
		cJSON_Delete(o);
		return false;
	}
	if (map)
		*applied = (int32_t)heartbeat_apply(a, w, map);
	cJSON_Delete(o);
	return true;
}
