/*
 * executions.c - every attempt of a job over HTTP: one shown
 * (GET /executions/{id}, any attempt kept), listed with filters and a
 * cursor (GET /executions), its output read (GET /executions/{id}/logs).
 * The attempts are execview.h's; completing one is workers.c's. Who sees
 * how much of an execution follows its job (view.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/api/jobfilter.h"
#include "daemon/net/reply.h"
#include "daemon/state/execview.h"
#include "shm/jobtab.h"

#define ATTEMPTS_LISTED_MAX 1024u	/* of one job (max_retries is at most 1000) */

static enum view_detail detail(const struct api *a, const struct api_call *c,
			       const struct jr_job_info *info)
{
	return view_detail_for(c->req->uid, info->owner_uid, a->st->private_jobs);
}

/* The job and attempt the path's execution id names, if the caller may
 * see it: 0 with a 404 if not. */
static uint32_t get_attempt(struct api *a, struct api_call *c, struct jr_job_info *info)
{
	uint64_t exec;
	uint32_t attempt = 0;

	if (view_parse_id(c->param, &exec) &&
	    jr_job_get(a->engine, jr_execution_job(exec), info) == 0 &&
	    detail(a, c, info) != VIEW_HIDDEN)
		attempt = execview_attempt_of(a->st, info, exec);
	if (!attempt)
		reply_error(c->res, 404, "not_found", "no such execution (or it aged out): %s",
			    c->param);
	return attempt;
}

void api_execution_show(struct api *a, struct api_call *c)
{
	struct jr_job_info info;
	uint32_t attempt = get_attempt(a, c, &info);

	if (attempt)
		reply_json(c->res, 200, execview_json(a->st, &info, attempt, detail(a, c, &info)));
}

/* GET /executions/{id}/logs?stream=&offset=: as GET /jobs/{id}/logs, of
 * this attempt's own files. */
void api_execution_logs(struct api *a, struct api_call *c)
{
	struct jr_job_info info;
	uint32_t attempt = get_attempt(a, c, &info);
	char out[300], err[300];
	bool latest;

	if (!attempt)
		return;
	if (c->req->uid != 0 && c->req->uid != info.owner_uid) {
		reply_error(c->res, 403, "forbidden", "execution %s belongs to uid %u", c->param,
			    info.owner_uid);
		return;
	}
	latest = info.exec.execution_id && attempt == info.exec.attempt;
	execview_output_path(&info, attempt, /* stderr */ false, out, sizeof(out));
	execview_output_path(&info, attempt, /* stderr */ true, err, sizeof(err));
	api_logs_reply(c, out, err, !latest || info.state >= JR_JOB_SUCCEEDED);
}

/* --- listing ------------------------------------------------------------------------------ */

struct exec_filter {
	bool by_worker;
	uint32_t worker;
	uint32_t mask;		/* the attempts' states; 0: any */
};

static bool exec_filter(struct api *a, const struct query *q, struct exec_filter *f,
			struct response *res)
{
	const char *v;

	memset(f, 0, sizeof(*f));
	if ((v = query_get(q, "worker_id"))) {
		f->by_worker = true;
		if (!worker_filter_parse(a, v, &f->worker, res))
			return false;
	}
	if ((v = query_get(q, "status"))) {
		for (int s = JR_JOB_RUNNING; s <= JR_JOB_CANCELLED; s++)
			if (strcmp(v, jr_job_state_name(s)) == 0)
				f->mask = 1u << s;
		if (!f->mask)
			return reply_error(res, 422, "invalid_value", "unknown status: %s", v);
	}
	return true;
}

static bool exec_matches(const struct exec_filter *f, const struct jr_job_info *x)
{
	if (!x->exec.execution_id || (f->mask && !(f->mask & (1u << x->state))))
		return false;
	if (!f->by_worker)
		return true;
	if (f->worker == UINT32_MAX)
		return x->exec.worker_id < JR_EXTERNAL_WORKER_BASE;
	return x->exec.worker_id == f->worker;
}

/* The job's attempts that match, into list: how many. */
static uint32_t list_attempts(struct api *a, const struct api_call *c,
			      const struct exec_filter *f, const struct jr_job_info *info,
			      cJSON *list)
{
	enum view_detail d = detail(a, c, info);
	uint32_t attempts[ATTEMPTS_LISTED_MAX], n, listed = 0;
	struct jr_job_info x;

	if (d == VIEW_HIDDEN)
		return 0;
	n = execview_attempts(a->st, info, attempts, ATTEMPTS_LISTED_MAX);
	for (uint32_t i = 0; i < n; i++) {
		if (!execview_info(a->st, info, attempts[i], &x) || !exec_matches(f, &x))
			continue;
		cJSON_AddItemToArray(list, execview_json(a->st, info, attempts[i], d));
		listed++;
	}
	return listed;
}

/* ?job_id=: all that job's attempts that match. */
static void executions_of_job(struct api *a, const struct api_call *c,
			      const struct exec_filter *f, const char *ids, cJSON *body, cJSON *list)
{
	struct jr_job_info info;
	uint64_t id;

	if (view_parse_id(ids, &id) && jr_job_get(a->engine, id, &info) == 0)
		list_attempts(a, c, f, &info, list);
	cJSON_AddNullToObject(body, "next_cursor");
}

/* A page: the attempts of jobs in slot order, a job's all on one page
 * (a page may pass limit by the last job's). Only the latest attempt of
 * a job can be running: ?status=running scans the running jobs only. */
static void executions_page(struct api *a, const struct api_call *c,
			    const struct exec_filter *f, cJSON *body, cJSON *list)
{
	const struct query *q = c->query;
	const char *v = query_get(q, "limit");
	uint32_t n = 0, limit = v ? (uint32_t)strtoul(v, NULL, 10) : 100;
	uint64_t cursor = (v = query_get(q, "cursor")) ? strtoull(v, NULL, 10) : 0;
	uint32_t scan_mask = f->mask == 1u << JR_JOB_RUNNING ? f->mask : 0;
	struct jr_job_info info;
	char next[32];

	if (limit == 0 || limit > API_LIST_LIMIT_MAX)
		limit = API_LIST_LIMIT_MAX;
	while (n < limit && jr_job_scan(a->engine, &cursor, scan_mask, -1, &info) == 1)
		n += list_attempts(a, c, f, &info, list);
	snprintf(next, sizeof(next), "%llu", (unsigned long long)cursor);
	if (n >= limit)
		cJSON_AddStringToObject(body, "next_cursor", next);
	else
		cJSON_AddNullToObject(body, "next_cursor");
}

void api_execution_list(struct api *a, struct api_call *c)
{
	const char *job = query_get(c->query, "job_id");
	struct exec_filter f;
	cJSON *body, *list;

	if (!exec_filter(a, c->query, &f, c->res))
		return;
	body = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(body, "executions");
	if (job)
		executions_of_job(a, c, &f, job, body, list);
	else
		executions_page(a, c, &f, body, list);
	reply_json(c->res, 200, body);
}
