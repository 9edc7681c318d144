/*
 * workers.c - external workers and executions over HTTP: register,
 * heartbeat, list and show workers; claim work (a long poll, answered
 * from the tick), assign a job to a worker (POST /jobs/{id}/execute),
 * complete executions (with a result JSON, journaled). The registry
 * itself is state/workers.c; "local" is the daemon's own executor.
 * Showing and listing executions is executions.c's.
 *
 * Owners: a worker belongs to the uid that registered it. Only that uid
 * or root heartbeats, claims, completes through it or removes it (403);
 * it runs only its owner's jobs, or anyone's if it is root's (the claim
 * filters; execute answers 409 owner_mismatch). A claim's answer carries
 * the execution's lease (state/lease.h), which its completion must send
 * back: 403 invalid_lease without it, 409 lease_expired for an attempt
 * that is no longer the job's current one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/durable/durable.h"
#include "daemon/net/reply.h"
#include "daemon/state/answers.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/execview.h"
#include "engine/engine.h"
#include "daemon/state/view.h"
#include "sched/resources.h"
#include "shm/jobtab.h"

/* --- register and heartbeat ------------------------------------------------------------- */

void api_worker_register_record(const struct request *req, struct route_record *out)
{
	out->bytes = req->body_len + 64;
	out->jobs = 0;
}

static void registered(struct api *a, struct api_call *c, struct worker *w)
{
	struct rec_worker rec = { w->number, (uint32_t)w->uid, w->registered_ns };
	cJSON *body;

	c->record_seq = durable_log(a->durable, REC_WORKER, &rec, sizeof(rec), c->req->body,
				    (uint32_t)c->req->body_len);
	workers_publish(&a->st->workers, w, "registered");	/* GET /events (issue 16) */
	body = view_worker(w);
	cJSON_AddNumberToObject(body, "heartbeat_timeout",
				(double)a->st->workers.heartbeat_timeout_ns / JR_NS_PER_SEC);
	reply_json(c->res, 201, body);
}

void api_worker_register(struct api *a, struct api_call *c)
{
	struct jobspec_error jerr;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &jerr);
	const char *why;
	struct worker *w;

	if (!o) {
		reply_error(c->res, jerr.status, jerr.code, "%s", jerr.message);
	} else if (!cJSON_IsObject(o)) {
		reply_error(c->res, 400, "invalid_json", "the body must be a JSON object");
	} else if (!(w = workers_new(&a->st->workers))) {
		reply_error(c->res, 503, "too_many_workers", "at most %u workers at once (remove "
			    "some: DELETE /workers/{id})", a->st->workers.max);
	} else if (!worker_fill(&a->st->workers, w, o, c->req->uid, &why)) {
		workers_cancel_new(&a->st->workers, w);
		reply_error(c->res, 400, "invalid_field", "%s", why);
	} else {
		registered(a, c, w);
	}
	cJSON_Delete(o);
}

/* The worker the path names: NULL, with a 404, if there is none. */
/* Under --private another user's worker is not shown (nor named). */
static bool hidden_worker(const struct api *a, const struct api_call *c, const struct worker *w)
{
	return a->st->private_jobs && c->req->uid != 0 && w->uid != c->req->uid;
}

static struct worker *named_worker(struct api *a, struct api_call *c)
{
	struct worker *w = workers_by_name(&a->st->workers, c->param);

	if (w && hidden_worker(a, c, w))
		w = NULL;
	if (!w)
		reply_error(c->res, 404, "not_found", "no such worker: %.31s", c->param);
	return w;
}

/* May the caller act through w? false, with a 403, if not. */
static bool may_use(struct api_call *c, const struct worker *w)
{
	if (worker_owned_by(w, c->req->uid))
		return true;
	return reply_error(c->res, 403, "forbidden", "worker w%u belongs to uid %u", w->number,
			   (unsigned)w->uid);
}

/* The worker the path names, if the caller may act through it. */
static struct worker *own_worker(struct api *a, struct api_call *c)
{
	struct worker *w = named_worker(a, c);

	return w && may_use(c, w) ? w : NULL;
}

void api_worker_show(struct api *a, struct api_call *c)
{
	struct worker *w;

	if (strcmp(c->param, "local") == 0) {
		reply_json(c->res, 200, view_local_worker(a->engine, a->st->local_capabilities));
	} else if ((w = named_worker(a, c))) {
		worker_reconcile(w, a->engine);	/* what the engine ended is free again */
		reply_json(c->res, 200, view_worker(w));
	}
}

/* A heartbeat's own fields ("status", "resources"): checked before
 * anything of it is applied. NULL, with no answer, for an empty body or
 * one that is not an object (api_heartbeat_progress answers that). */
static cJSON *heartbeat_report(struct api_call *c, bool *ok)
{
	cJSON *o = c->req->body_len ? cJSON_ParseWithLength(c->req->body, c->req->body_len) : NULL;
	const char *why;

	*ok = true;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return NULL;
	}
	if (!worker_report_check(o, &why)) {
		*ok = reply_error(c->res, 422, "invalid_value", "%s", why);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The answer says which of its executions the worker must stop: those
 * the daemon ended (time limit, cancel, lost) since its last heartbeat. */
void api_worker_heartbeat(struct api *a, struct api_call *c)
{
	struct worker *w = own_worker(a, c);
	cJSON *body, *report;
	int32_t applied;
	bool ok;
	enum worker_status was;

	if (!w)
		return;
	was = w->status;
	report = heartbeat_report(c, &ok);
	if (!ok || !api_heartbeat_progress(a, c, w, &applied)) {	/* progress.c */
		cJSON_Delete(report);
		return;
	}
	worker_heartbeat(w, report);
	cJSON_Delete(report);
	worker_reconcile(w, a->engine);
	if (w->status != was)	/* GET /events (issue 16) */
		workers_publish(&a->st->workers, w, worker_status_name(w->status));
	body = view_worker(w);
	if (applied >= 0)
		cJSON_AddNumberToObject(body, "progress_applied", applied);
	cJSON_AddItemToObject(body, "stop", worker_take_stops(w));
	reply_json(c->res, 200, body);
}

static bool status_matches(const char *wanted, const char *status)
{
	return !wanted || !*wanted || strcmp(wanted, status) == 0;
}

void api_worker_list(struct api *a, struct api_call *c)
{
	cJSON *body, *list;
	const char *status = query_get(c->query, "status");
	const char *caps = query_get(c->query, "capabilities");
	const struct workers *reg = &a->st->workers;
	enum worker_status wanted;
	struct jr_stats st;

	if (status && *status && !worker_status_parse(status, &wanted)) {
		reply_error(c->res, 422, "invalid_value", "status is idle, busy, draining or "
			    "unhealthy, not %.31s", status);
		return;
	}
	body = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(body, "workers");
	caps = caps ? caps : "";
	jr_engine_stats(a->engine, &st);	/* local: busy while it runs anything */
	if (!*caps && status_matches(status, st.cores_busy ? "busy" : "idle"))
		cJSON_AddItemToArray(list, view_local_worker(a->engine, a->st->local_capabilities));
	for (uint32_t i = 0; i < reg->count; i++) {
		const struct worker *w = &reg->list[i];
		if (!w->used || !status_matches(status, worker_status_name(w->status)))
			continue;
		if ((*caps && !jr_labels_cover(w->capabilities, caps)) || hidden_worker(a, c, w))
			continue;
		cJSON_AddItemToArray(list, view_worker(w));
	}
	reply_json(c->res, 200, body);
}

void api_worker_remove_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = sizeof(struct rec_worker) + sizeof(WORKER_REMOVED_JSON) + 64;
	out->jobs = 0;
}

/* DELETE /workers/{id}: journaled as a registration that says
 * "removed", so that a restart does not bring it back. */
void api_worker_remove(struct api *a, struct api_call *c)
{
	struct worker *w = own_worker(a, c);
	struct rec_worker rec;
	cJSON *body;

	if (!w)
		return;
	rec = (struct rec_worker){ w->number, (uint32_t)w->uid, w->registered_ns };
	workers_remove(&a->st->workers, a->engine, w);
	c->record_seq = durable_log(a->durable, REC_WORKER, &rec, sizeof(rec),
				    WORKER_REMOVED_JSON, sizeof(WORKER_REMOVED_JSON) - 1);
	body = view_worker(w);
	reply_json(c->res, 200, body);
}

/* --- claims ------------------------------------------------------------------------------ */

/* A claim's answer: the execution, its lease, and the whole job (the
 * claimer is the job's owner or root: worker_may_run). */
static cJSON *claimed_json(struct api *a, const struct jr_job_info *info)
{
	cJSON *o = view_execution(&a->st->jobs, info, VIEW_FULL);
	char lease[LEASE_HEX + 1];

	lease_format(&a->st->workers.lease, info->exec.execution_id, info->exec.start_ns, lease);
	cJSON_AddStringToObject(o, "lease", lease);
	cJSON_AddItemToObject(o, "job", view_job(a->engine, &a->st->jobs, info, VIEW_FULL));
	return o;
}

/* Debug builds: an answer written by hand (state/answers.c) must be the
 * cJSON view's, byte for byte, from b's byte start on. */
static void answer_check(const struct buf *b, size_t start, cJSON *view, const char *what)
{
	struct buf want = { 0 };

	reply_json_print(&want, view);
	cJSON_Delete(view);
	if (!want.oom && !b->oom &&
	    (want.len != b->len - start || memcmp(want.p, b->p + start, want.len) != 0)) {
		fprintf(stderr, "jobringd: the %s answer written by hand differs from cJSON's:\n"
			"  hand:  %.*s\n  cJSON: %.*s\n", what, (int)(b->len - start), b->p + start,
			(int)want.len, want.p);
		abort();
	}
	buf_free(&want);
}

/* The claim's answer appended to b: written by hand, or through the
 * cJSON view for what answers.c leaves to it. */
static void claimed_write(struct api *a, const struct jr_job_info *info, struct buf *b)
{
	char lease[LEASE_HEX + 1];
	size_t start = b->len;
	cJSON *j;

	lease_format(&a->st->workers.lease, info->exec.execution_id, info->exec.start_ns, lease);
	if (answer_claim_write(b, a->engine, &a->st->jobs, info, lease)) {
		if (JR_DEBUG)
			answer_check(b, start, claimed_json(a, info), "claim");
		return;
	}
	j = claimed_json(a, info);
	reply_json_print(b, j);
	cJSON_Delete(j);
}

static void reply_claimed(struct api *a, struct response *res, int status,
			  const struct jr_job_info *info)
{
	buf_reset(&res->body);
	res->body.oom = false;
	claimed_write(a, info, &res->body);
	if (res->body.oom) {
		buf_free(&res->body);
		reply_error(res, 500, "out_of_memory", "could not build the answer");
	} else {
		res->status = status;
	}
}

static double claim_wait_s(const struct query *q)
{
	const char *v = query_get(q, "wait");
	double wait_s = v ? strtod(v, NULL) : 0;

	return wait_s < 0 || wait_s > API_CLAIM_WAIT_MAX_S ? API_CLAIM_WAIT_MAX_S : wait_s;
}

void api_worker_claim(struct api *a, struct api_call *c)
{
	struct worker *w = own_worker(a, c);
	struct jr_job_info info;
	double wait_s = claim_wait_s(c->query);

	if (!w)
		return;
	if (w->status == WORKER_UNHEALTHY) {
		reply_error(c->res, 409, "worker_unhealthy", "send a heartbeat first");
		return;
	}
	w->last_heartbeat_ns = jr_now_realtime_ns();	/* asking for work is a sign of life */
	if (wait_s > 0 && a->wait_count < WORKERS_MAX) {
		/* Answered from the tick, in arrival order, job or not: see
		 * answer_waits. */
		a->waits[a->wait_count++] = (struct api_claim_wait){
			c->req->token, (uint32_t)(w - a->st->workers.list),
			jr_now_monotonic_ns() + (uint64_t)(wait_s * JR_NS_PER_SEC) };
		c->res->deferred = true;
	} else if (workers_claim(&a->st->workers, a->engine, w, 0, &info) == 1) {
		reply_claimed(a, c->res, 200, &info);
	} else {
		c->res->status = 204;
	}
}

/* The job the path names, for execute: false, with a 404, if there is
 * none or the caller may not see it. */
static bool job_to_execute(struct api *a, struct api_call *c, uint64_t *id,
			   struct jr_job_info *info)
{
	if (view_parse_id(c->param, id) && jr_job_get(a->engine, *id, info) == 0 &&
	    view_detail_for(c->req->uid, info->owner_uid, a->st->private_jobs) != VIEW_HIDDEN)
		return true;
	return reply_error(c->res, 404, "not_found", "no such job: %s", c->param);
}

/* A worker runs only its owner's jobs, or anyone's if it is root's. */
static bool may_run(struct api_call *c, const struct worker *w, const struct jr_job_info *info)
{
	if (worker_may_run(w, info->owner_uid))
		return true;
	return reply_error(c->res, 409, "owner_mismatch",
			   "job %s runs as uid %u and worker w%u belongs to uid %u: a worker runs "
			   "only its owner's jobs (root's workers run anyone's)",
			   c->param, info->owner_uid, w->number, (unsigned)w->uid);
}

void api_job_execute(struct api *a, struct api_call *c)
{
	cJSON *o = cJSON_ParseWithLength(c->req->body, c->req->body_len);
	const cJSON *wid = o ? cJSON_GetObjectItem(o, "worker_id") : NULL;
	struct worker *w = cJSON_IsString(wid) ? workers_by_name(&a->st->workers, wid->valuestring)
					       : NULL;
	const char *ids = c->param;
	struct jr_job_info info;
	uint64_t id;

	if (!cJSON_IsString(wid))
		reply_error(c->res, 400, "invalid_field", "worker_id is required");
	else if (!w)
		reply_error(c->res, 422, "unknown_worker", "no such worker: %s", wid->valuestring);
	else if (!may_use(c, w) || !job_to_execute(a, c, &id, &info) || !may_run(c, w, &info))
		;	/* answered */
	else if (!info.is_external)
		reply_error(c->res, 409, "not_external", "job %s runs on the daemon's own executor",
			    ids);
	else if (workers_claim(&a->st->workers, a->engine, w, id, &info) != 1)
		reply_error(c->res, 409, "not_claimable", "job %s is %s, not waiting for a worker "
			    "(or it does not fit what worker %s has free)", ids,
			    jr_job_state_name(info.state), wid->valuestring);
	else
		reply_claimed(a, c->res, 201, &info);
	cJSON_Delete(o);
}

/* --- executions ---------------------------------------------------------------------------- */

/* {"status": "succeeded"|"failed", "exit_code": N (optional), "result":
 * any JSON (optional; a number alone is the exit code, as before)}. */
static bool completion_code(const cJSON *o, int *code, struct response *res)
{
	const cJSON *st = cJSON_GetObjectItem(o, "status"), *r = cJSON_GetObjectItem(o, "result");
	const cJSON *ec = cJSON_GetObjectItem(o, "exit_code");

	if (!cJSON_IsString(st))
		return reply_error(res, 400, "invalid_field", "status is required");
	if (ec && !cJSON_IsNumber(ec) && !cJSON_IsNull(ec))
		return reply_error(res, 400, "invalid_field", "exit_code is a number");
	if (!cJSON_IsNumber(ec))
		ec = cJSON_IsNumber(r) ? r : NULL;
	if (strcmp(st->valuestring, "succeeded") == 0)
		*code = 0;
	else if (strcmp(st->valuestring, "failed") == 0)
		*code = ec && ec->valueint != 0 ? ec->valueint : 1;
	else
		return reply_error(res, 422, "invalid_value", "status is succeeded or failed");
	return true;
}

/* The result JSON, compact, into *text (NULL: none): false, with the
 * answer, if it is over EXEC_RESULT_MAX bytes. */
static bool completion_result(const cJSON *o, char **text, struct response *res)
{
	const cJSON *r = cJSON_GetObjectItem(o, "result");

	*text = NULL;
	if (!r || cJSON_IsNull(r))
		return true;
	if (!(*text = cJSON_PrintUnformatted(r)))
		return reply_error(res, 503, "no_memory", "no memory for the result");
	if (strlen(*text) <= EXEC_RESULT_MAX)
		return true;
	free(*text);
	*text = NULL;
	return reply_error(res, 413, "result_too_large", "result is over %u bytes of JSON",
			   EXEC_RESULT_MAX);
}

/* Keep and journal the attempt's result: done on the loop's thread as
 * the engine takes the end, so that its END event (journaled at the
 * loop's next turn) finds the job's history and follows this record. */
static void keep_result(struct api *a, struct api_call *c, const struct jr_job_info *info,
			const char *text)
{
	size_t len = strlen(text);
	struct rec_result rec = { .execution_id = info->exec.execution_id, .len = (uint32_t)len,
				  .attempt = info->exec.attempt };

	if (executions_set_result(&a->st->execs, info->job_id, info->exec.attempt, text, len) < 0)
		fprintf(stderr, "jobringd: no memory to keep the result of %016llx\n",
			(unsigned long long)rec.execution_id);
	else if (a->durable)
		c->record_seq = durable_log(a->durable, REC_RESULT, &rec, sizeof(rec), text,
					    (uint32_t)len);
}

/* The execution as it ended: the job itself may already wait for a
 * retry. Written by hand (state/answers.c) or through the cJSON view. */
static void reply_ended_execution(struct api *a, struct response *res,
				  struct jr_job_info *running, int code)
{
	struct jr_job_info now;

	running->exec.end_ns = jr_now_realtime_ns();
	running->exec.result = code;
	running->state = code == 0 ? JR_JOB_SUCCEEDED : JR_JOB_FAILED;
	running->reason = code == 0 ? JR_REASON_NONE : JR_REASON_EXIT;
	if (jr_engine_job_peek(a->engine, running->job_id, &now) == 0 &&
	    now.exec.execution_id == running->exec.execution_id && job_state_final(now.state))
		running = &now;	/* else it waits for a retry: this attempt failed */
	buf_reset(&res->body);
	res->body.oom = false;
	if (answer_execution_write(&res->body, a->st, running, running->exec.attempt)) {
		if (JR_DEBUG)
			answer_check(&res->body, 0, execview_json(a->st, running,
								  running->exec.attempt, VIEW_FULL),
				     "completion");
		res->status = 200;
		return;
	}
	reply_json(res, 200, execview_json(a->st, running, running->exec.attempt, VIEW_FULL));
}

/* ?claim=1 on a completion: the worker's next execution, claimed now and
 * added to the answer as "next" (a claim's answer, or null when nothing
 * fits it), so that a busy worker makes one request a job. Only when the
 * answer goes out at once, on the connection that just brought the
 * completion (alive now, as a long poll's is when it is answered): an
 * answer held until its record is durable (--sync always) could find the
 * connection gone, and the execution in it would be lost with it. Then
 * "next" is left out and the worker claims as usual. If the answer
 * cannot be built, the claim is undone (lost: retried at once). */
static bool claim_wanted(const struct api_call *c)
{
	const char *v = query_get(c->query, "claim");

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void claim_next(struct api *a, struct api_call *c, uint32_t engine_worker_id)
{
	struct worker *w = workers_by_engine_id(&a->st->workers, engine_worker_id);
	struct buf *b = &c->res->body;
	struct jr_job_info next;
	bool claimed = false;

	if (c->res->status != 200 || c->res->deferred || b->oom || !b->len ||
	    b->p[b->len - 1] != '}' || durable_would_hold(a->durable, c->record_seq))
		return;
	b->len--;	/* the object reopened */
	buf_puts(b, ",\"next\":");
	if (w && w->status != WORKER_UNHEALTHY &&
	    workers_claim(&a->st->workers, a->engine, w, 0, &next) == 1) {
		w->last_heartbeat_ns = jr_now_realtime_ns();	/* a sign of life */
		claimed_write(a, &next, b);
		claimed = true;
	} else {
		buf_puts(b, "null");
	}
	buf_puts(b, "}");
	if (!b->oom)
		return;
	if (claimed && jr_external_complete(a->engine, next.exec.execution_id, -1, 1) == 0)
		workers_release(&a->st->workers, engine_worker_id, next.exec.execution_id);
	buf_free(b);
	reply_error(c->res, 500, "out_of_memory", "could not build the answer");
}

static void complete(struct api *a, struct api_call *c, uint64_t exec, struct jr_job_info *info,
		     int code, const char *result)
{
	int rc = jr_external_complete(a->engine, exec, code, 0);

	if (rc == -ESTALE && info->exec.execution_id != exec) {
		reply_error(c->res, 409, "lease_expired", "execution %s is not the job's current "
			    "attempt any more", c->param);
	} else if (rc < 0) {
		reply_error(c->res, 409, "already_finished", "execution %s has ended", c->param);
	} else {
		if (result)	/* the END is journaled at the loop's next turn: after */
			keep_result(a, c, info, result);
		workers_release(&a->st->workers, info->exec.worker_id, exec);
		reply_ended_execution(a, c->res, info, code);
		if (claim_wanted(c))
			claim_next(a, c, info->exec.worker_id);
	}
}

/* May the caller end this execution? It must be the current attempt
 * (409 lease_expired), the caller its worker's owner or root (403
 * forbidden), and the body must carry its lease (403 invalid_lease). */
static bool may_complete(struct api *a, struct api_call *c, uint64_t exec,
			 const struct jr_job_info *info, const cJSON *o)
{
	const cJSON *lease = cJSON_GetObjectItem(o, "lease");
	struct worker *w;

	if (info->exec.execution_id != exec)
		return reply_error(c->res, 409, "lease_expired", "execution %s is not the job's "
				   "current attempt any more", c->param);
	w = workers_by_engine_id(&a->st->workers, info->exec.worker_id);
	if (w && !may_use(c, w))
		return false;
	if (!w && c->req->uid != 0 && c->req->uid != info->owner_uid)
		return reply_error(c->res, 403, "forbidden", "execution %s belongs to uid %u",
				   c->param, info->owner_uid);
	if (!lease_valid(&a->st->workers.lease, exec, info->exec.start_ns,
			 cJSON_IsString(lease) ? lease->valuestring : NULL))
		return reply_error(c->res, 403, "invalid_lease", "the completion must carry the "
				   "lease of execution %s, as its claim returned it", c->param);
	return true;
}

void api_execution_complete(struct api *a, struct api_call *c)
{
	struct jobspec_error jerr;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &jerr);
	struct jr_job_info info;
	char *result = NULL;
	uint64_t exec;
	int code = 0;

	if (api_execution_report(a, c, o, &jerr, &exec, &info) &&
	    may_complete(a, c, exec, &info, o) && completion_code(o, &code, c->res) &&
	    completion_result(o, &result, c->res))
		complete(a, c, exec, &info, code, result);
	free(result);
	cJSON_Delete(o);
}

/* --- the tick: long polls ------------------------------------------------------------------------ */

/* A job for the waiting claim: answered. Its connection was alive just
 * before, on this thread, so the answer goes; if not, the claim is
 * undone. */
static void answer_claim(struct api *a, struct worker *w, struct api_claim_wait *cw,
			 const struct jr_job_info *info)
{
	struct buf body = { 0 };

	claimed_write(a, info, &body);
	if (body.oom) {
		buf_free(&body);
		buf_puts(&body, "{}");
	}
	if (!server_finish(a->server, cw->token, 200, &body) &&
	    jr_external_complete(a->engine, info->exec.execution_id, -1, /* lost */ 1) == 0)
		workers_release(&a->st->workers, worker_engine_id(w), info->exec.execution_id);
	buf_free(&body);
}

static void answer_removed(struct api *a, const struct api_claim_wait *cw)
{
	struct buf body = { 0 };

	buf_puts(&body, "{\"error\":{\"code\":\"not_found\",\"message\":"
			"\"the worker was removed\"}}");
	server_finish(a->server, cw->token, 404, &body);
	buf_free(&body);
}

/* Claims that found nothing, this pass: a waiting claim of a worker
 * alike (claims_alike(): what a claim matches on, resources included)
 * would find nothing either, so it is not tried (a job that becomes
 * claimable meanwhile is found by the next pass, at the next turn). When
 * claims match on more, claims_alike() must compare it too. */
#define CLAIM_MISSES_MAX 8u

struct claim_misses {
	const struct worker *w[CLAIM_MISSES_MAX];
	uint32_t count;
};

/* Two workers a claim cannot tell apart: the same owner, capabilities,
 * declared resources, resources taken and reported status (a draining
 * one claims nothing; one with more free may fit what the other did not). */
static bool claims_alike(const struct worker *a, const struct worker *b)
{
	return a->uid == b->uid && strcmp(a->capabilities, b->capabilities) == 0 &&
	       strcmp(a->reported, b->reported) == 0 &&
	       memcmp(&a->cap, &b->cap, sizeof(a->cap)) == 0 &&
	       a->taken.cpus == b->taken.cpus && a->taken.gpus == b->taken.gpus &&
	       a->taken.mem_bytes == b->taken.mem_bytes &&
	       memcmp(a->taken.counter, b->taken.counter, sizeof(a->taken.counter)) == 0;
}

static bool claim_hopeless(const struct claim_misses *m, const struct worker *w)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (claims_alike(m->w[i], w))
			return true;
	return false;
}

static void claim_missed(struct claim_misses *m, const struct worker *w)
{
	if (m->count < CLAIM_MISSES_MAX)
		m->w[m->count++] = w;
}

/* Every waiting claim, in arrival order: a job if one is claimable (for
 * at most CLAIM_ANSWER_NS a pass: the rest goes on at the next turn,
 * which does not wait, so that a flood of claims never holds back the
 * completions, heartbeats and other requests behind them), 204 when its
 * wait is over, 404 if its worker was removed. A long poll is by nature
 * the request that may wait; the others should not. */
#define CLAIM_ANSWER_NS JR_NS_PER_MS

static void answer_waits(struct api *a, uint64_t now)
{
	struct claim_misses misses = { .count = 0 };
	uint64_t until = now + CLAIM_ANSWER_NS;
	uint32_t kept = 0, answered = 0;
	bool out_of_time = false;

	for (uint32_t i = 0; i < a->wait_count; i++) {
		struct api_claim_wait *cw = &a->waits[i];
		struct worker *w = &a->st->workers.list[cw->worker];
		struct jr_job_info info;
		struct buf none = { 0 };
		if (!server_connection_alive(a->server, cw->token))
			continue;
		if (!w->used) {	/* removed while it waited */
			answer_removed(a, cw);
			continue;
		}
		if (!out_of_time && !claim_hopeless(&misses, w)) {
			if (workers_claim(&a->st->workers, a->engine, w, 0, &info) == 1) {
				answer_claim(a, w, cw, &info);
				if (++answered % 16 == 0 && jr_now_monotonic_ns() > until)
					out_of_time = true;
				continue;
			}
			claim_missed(&misses, w);
		}
		if (now >= cw->deadline_ns && !out_of_time)	/* else: tried first next pass */
			server_finish(a->server, cw->token, 204, &none);
		else
			a->waits[kept++] = *cw;
	}
	a->wait_count = kept;
	if (out_of_time)
		server_again(a->server);
}

/* A worker unhealthy past --worker-remove-after: journaled as a DELETE. */
static void expired(void *ctx, struct worker *w)
{
	struct api *a = ctx;
	struct rec_worker rec = { w->number, (uint32_t)w->uid, w->registered_ns };

	if (a->durable)
		durable_log(a->durable, REC_WORKER, &rec, sizeof(rec), WORKER_REMOVED_JSON,
			    sizeof(WORKER_REMOVED_JSON) - 1);
}

void api_workers_tick(struct api *a, uint64_t now_ns)
{
	if (a->wait_count)
		answer_waits(a, now_ns);
	workers_expire(&a->st->workers, a->engine, now_ns, expired, a);
}
