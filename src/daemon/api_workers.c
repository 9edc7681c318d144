/*
 * api_workers.c - external workers and executions: register, heartbeat,
 * list and show workers; claim work (long poll), assign a job to a worker
 * (POST /jobs/{id}/execute), show, list and complete executions. A worker
 * that misses heartbeats for heartbeat_timeout is marked unhealthy and its
 * running executions end as worker_lost, which retries them (elsewhere)
 * while retries are left. "local" is the daemon's own executor.
 *
 * Execution ids are the engine's: job id and attempt, so only the latest
 * attempt of a job can be shown (earlier ones answer 404).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api.h"
#include "daemon/durable.h"
#include "sched/resources.h"
#include "base/units.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	return api_now_ns();
}

static const char *status_name(enum worker_status s)
{
	static const char *const names[] = { "idle", "busy", "unhealthy", "gone" };

	return names[s];
}

static uint32_t engine_id(const struct api_worker *w)
{
	return JR_EXTERNAL_WORKER_BASE + w->number;
}

static struct api_worker *worker_by_name(struct api *a, const char *name)
{
	char *end;
	unsigned long n;

	if (name[0] != 'w')
		return NULL;
	n = strtoul(name + 1, &end, 10);
	if (*end || end == name + 1 || n == 0 || n > a->worker_count || n > API_WORKERS_MAX)
		return NULL;
	return a->workers[n - 1].used ? &a->workers[n - 1] : NULL;
}

static cJSON *labels_json(const char *c)
{
	cJSON *list = cJSON_CreateArray();

	while (c && *c) {
		size_t n = strcspn(c, ",");
		char label[64];
		snprintf(label, sizeof(label), "%.*s", (int)n, c);
		if (n)
			cJSON_AddItemToArray(list, cJSON_CreateString(label));
		c += n + (c[n] == ',');
	}
	return list;
}

static cJSON *worker_json(struct api *a, const struct api_worker *w)
{
	cJSON *o = cJSON_CreateObject();
	char id[32], t[40];

	(void)a;
	snprintf(id, sizeof(id), "w%u", w->number);
	cJSON_AddStringToObject(o, "worker_id", id);
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddStringToObject(o, "status", status_name(w->status));
	cJSON_AddItemToObject(o, "capabilities", labels_json(w->capabilities));
	cJSON_AddItemToObject(o, "resources", w->resources_json ? cJSON_Parse(w->resources_json) :
								   cJSON_CreateObject());
	jr_format_rfc3339(w->last_heartbeat_ns, t, sizeof(t));
	cJSON_AddStringToObject(o, "last_heartbeat", t);
	cJSON_AddNumberToObject(o, "running", w->running);
	cJSON_AddNumberToObject(o, "executions", (double)w->executions);
	return o;
}

static cJSON *local_worker_json(struct api *a)
{
	cJSON *o = cJSON_CreateObject(), *res = cJSON_CreateObject();
	struct jr_stats st;

	jr_engine_stats(a->engine, &st);
	cJSON_AddStringToObject(o, "worker_id", "local");
	cJSON_AddStringToObject(o, "name", "jobringd");
	cJSON_AddStringToObject(o, "status", st.cores_busy ? "busy" : "idle");
	cJSON_AddItemToObject(o, "capabilities", labels_json(a->local_capabilities));
	cJSON_AddNumberToObject(res, "cpus", st.cores);
	cJSON_AddNumberToObject(res, "cpus_busy", st.cores_busy);
	cJSON_AddItemToObject(o, "resources", res);
	cJSON_AddNumberToObject(o, "running", st.cores_busy);
	return o;
}

/* --- register and heartbeat ------------------------------------------------------------- */

static bool copy_labels(const cJSON *v, char *out, size_t size)
{
	const cJSON *item;
	size_t used = 0;

	out[0] = '\0';
	if (!v)
		return true;
	if (cJSON_IsString(v))
		return (size_t)snprintf(out, size, "%s", v->valuestring) < size;
	if (!cJSON_IsArray(v))
		return false;
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || strchr(item->valuestring, ','))
			return false;
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "",
					 item->valuestring);
		if (used >= size)
			return false;
	}
	return true;
}

static struct api_worker *worker_new(struct api *a)
{
	for (uint32_t i = 0; i < API_WORKERS_MAX; i++) {
		if (!a->workers[i].used && (i >= a->worker_count || a->workers[i].number == 0)) {
			memset(&a->workers[i], 0, sizeof(a->workers[i]));
			a->workers[i].number = i + 1;
			if (i + 1 > a->worker_count)
				a->worker_count = i + 1;
			return &a->workers[i];
		}
	}
	return NULL;
}

/* Fill w from a registration body: false (w unused) if it is invalid. */
static bool worker_fill(struct api_worker *w, const cJSON *o, uid_t uid, struct response *res)
{
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *r = cJSON_GetObjectItem(o, "resources");

	if ((name && !cJSON_IsString(name)) || (r && !cJSON_IsObject(r)))
		return api_error(res, 400, "invalid_field", "name is a string, resources an object");
	if (!copy_labels(cJSON_GetObjectItem(o, "capabilities"), w->capabilities,
			 sizeof(w->capabilities)))
		return api_error(res, 400, "invalid_field", "capabilities is a list of labels");
	w->used = true;
	w->uid = uid;
	snprintf(w->name, sizeof(w->name), "%s", name ? name->valuestring : "");
	w->resources_json = r ? cJSON_PrintUnformatted(r) : NULL;
	w->registered_ns = w->last_heartbeat_ns = real_ns();
	return true;
}

static void register_worker(struct api *a, const struct request *req, struct response *res)
{
	cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
	struct api_worker *w;
	struct rec_worker rec;
	cJSON *body;

	if (!cJSON_IsObject(o)) {
		api_error(res, 400, "invalid_json", "the body must be a JSON object");
	} else if (!(w = worker_new(a))) {
		api_error(res, 503, "too_many_workers", "at most %u workers", API_WORKERS_MAX);
	} else if (!durable_admit(a->durable, req->body_len + 64, res) ||
		   !worker_fill(w, o, req->uid, res)) {
		w->number = 0;
	} else {
		rec = (struct rec_worker){ w->number, (uint32_t)w->uid, w->registered_ns };
		a->ack_seq = durable_log(a->durable, REC_WORKER, &rec, sizeof(rec), req->body,
					 (uint32_t)req->body_len);
		body = worker_json(a, w);
		cJSON_AddNumberToObject(body, "heartbeat_timeout",
					(double)a->heartbeat_timeout_ns / 1e9);
		api_json(res, 201, body);
	}
	cJSON_Delete(o);
}

int api_workers_restore(struct api *a, const struct rec_worker *rec, const char *body,
			size_t len)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	struct response res = { 0 };
	struct api_worker *w;
	bool ok;

	if (rec->number == 0 || rec->number > API_WORKERS_MAX || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	w = &a->workers[rec->number - 1];
	memset(w, 0, sizeof(*w));
	w->number = rec->number;
	if (rec->number > a->worker_count)
		a->worker_count = rec->number;
	ok = worker_fill(w, o, rec->uid, &res);
	/* Back as unhealthy until its next heartbeat: it may be gone. */
	w->status = WORKER_UNHEALTHY;
	w->registered_ns = rec->registered_ns;
	buf_free(&res.body);
	cJSON_Delete(o);
	return ok ? 0 : -EINVAL;
}

static void heartbeat(struct api *a, struct api_worker *w, struct response *res)
{
	(void)a;
	w->last_heartbeat_ns = real_ns();
	if (w->status == WORKER_UNHEALTHY)
		w->status = w->running ? WORKER_BUSY : WORKER_IDLE;
	api_json(res, 200, worker_json(a, w));
}

/* --- executions ---------------------------------------------------------------------------- */

static cJSON *claimed_json(struct api *a, const struct jr_job_info *info)
{
	cJSON *o = api_execution_json(a, info);

	cJSON_AddItemToObject(o, "job", api_job_json(a, info));
	return o;
}

static void count_claim(struct api_worker *w)
{
	w->running++;
	w->executions++;
	w->status = WORKER_BUSY;
}

/* 1 with *info, 0 if nothing, <0 error. */
static int try_claim(struct api *a, struct api_worker *w, jr_job_id only,
		     struct jr_job_info *info)
{
	int rc = jr_external_claim(a->engine, engine_id(w), w->capabilities, only, info);

	if (rc == 1)
		count_claim(w);
	return rc;
}

static void claim(struct api *a, const struct request *req, struct api_worker *w,
		  struct response *res)
{
	struct jr_job_info info;
	char v[32];
	double wait_s = 0;

	if (api_query(req->query, "wait", v, sizeof(v)))
		wait_s = strtod(v, NULL);
	if (wait_s < 0 || wait_s > API_CLAIM_WAIT_MAX_S)
		wait_s = API_CLAIM_WAIT_MAX_S;
	if (w->status == WORKER_UNHEALTHY) {
		api_error(res, 409, "worker_unhealthy", "send a heartbeat first");
		return;
	}
	w->last_heartbeat_ns = real_ns();	/* asking for work is a sign of life */
	if (try_claim(a, w, 0, &info) == 1) {
		api_json(res, 200, claimed_json(a, &info));
	} else if (wait_s == 0 || a->wait_count == API_WORKERS_MAX) {
		res->status = 204;
	} else {
		a->waits[a->wait_count++] = (struct api_claim_wait){
			req->token, (uint32_t)(w - a->workers),
			mono_ns() + (uint64_t)(wait_s * 1e9) };
		res->deferred = true;
	}
}

static void execute(struct api *a, const struct request *req, const char *ids,
		    struct response *res)
{
	cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
	const cJSON *wid = o ? cJSON_GetObjectItem(o, "worker_id") : NULL;
	struct api_worker *w = cJSON_IsString(wid) ? worker_by_name(a, wid->valuestring) : NULL;
	struct jr_job_info info;
	uint64_t id;
	int rc;

	if (!cJSON_IsString(wid))
		api_error(res, 400, "invalid_field", "worker_id is required");
	else if (!w)
		api_error(res, 422, "unknown_worker", "no such worker: %s", wid->valuestring);
	else if (!api_parse_id(ids, &id) || jr_job_get(a->engine, id, &info) < 0)
		api_error(res, 404, "not_found", "no such job: %s", ids);
	else if (!info.is_external)
		api_error(res, 409, "not_external", "job %s runs on the daemon's own executor", ids);
	else if ((rc = try_claim(a, w, id, &info)) != 1)
		api_error(res, 409, "not_claimable", "job %s is %s, not waiting for a worker", ids,
			  jr_job_state_name(info.state));
	else
		api_json(res, 201, claimed_json(a, &info));
	cJSON_Delete(o);
}

static struct api_worker *worker_of_engine_id(struct api *a, uint32_t id)
{
	uint32_t n = id - JR_EXTERNAL_WORKER_BASE;

	if (id < JR_EXTERNAL_WORKER_BASE || n == 0 || n > a->worker_count)
		return NULL;
	return &a->workers[n - 1];
}

static void release_worker(struct api *a, uint32_t engine_worker)
{
	struct api_worker *w = worker_of_engine_id(a, engine_worker);

	if (w && w->running) {
		w->running--;
		if (w->status == WORKER_BUSY && w->running == 0)
			w->status = WORKER_IDLE;
	}
}

/* {"status": "succeeded"|"failed", "result": exit code (optional)} */
static bool completion_code(const cJSON *o, int *code, struct response *res)
{
	const cJSON *st = cJSON_GetObjectItem(o, "status"), *r = cJSON_GetObjectItem(o, "result");

	if (!cJSON_IsString(st))
		return api_error(res, 400, "invalid_field", "status is required");
	if (r && !cJSON_IsNumber(r) && !cJSON_IsNull(r))
		return api_error(res, 400, "invalid_field", "result is an exit code (a number)");
	if (strcmp(st->valuestring, "succeeded") == 0)
		*code = 0;
	else if (strcmp(st->valuestring, "failed") == 0)
		*code = cJSON_IsNumber(r) && r->valueint != 0 ? r->valueint : 1;
	else
		return api_error(res, 422, "invalid_value", "status is succeeded or failed");
	return true;
}

/* The execution as it ended: the job itself may already wait for a retry. */
static cJSON *ended_execution_json(struct api *a, struct jr_job_info *running, int code)
{
	struct jr_job_info now;

	running->exec.end_ns = real_ns();
	running->exec.result = code;
	running->state = code == 0 ? JR_JOB_SUCCEEDED : JR_JOB_FAILED;
	running->reason = code == 0 ? JR_REASON_NONE : JR_REASON_EXIT;
	if (jr_job_get(a->engine, running->job_id, &now) == 0 &&
	    now.exec.execution_id == running->exec.execution_id)
		return api_execution_json(a, &now);
	return api_execution_json(a, running);
}

static void complete(struct api *a, const struct request *req, const char *ids,
		     struct response *res)
{
	cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
	struct jr_job_info info;
	uint64_t exec;
	int code = 0, rc;

	if (!api_parse_id(ids, &exec) ||
	    jr_job_get(a->engine, exec & ((1ull << 56) - 1), &info) < 0) {
		api_error(res, 404, "not_found", "no such execution: %s", ids);
	} else if (!cJSON_IsObject(o)) {
		api_error(res, 400, "invalid_json", "the body must be a JSON object");
	} else if (completion_code(o, &code, res)) {
		rc = jr_external_complete(a->engine, exec, code, 0);
		if (rc == -ESTALE && info.exec.execution_id != exec)
			api_error(res, 404, "not_found", "no such execution: %s", ids);
		else if (rc < 0)
			api_error(res, 409, "already_finished", "execution %s has ended", ids);
		else {
			release_worker(a, info.exec.worker_id);
			api_json(res, 200, ended_execution_json(a, &info, code));
		}
	}
	cJSON_Delete(o);
}

static void show_execution(struct api *a, const char *ids, struct response *res)
{
	struct jr_job_info info;
	uint64_t exec;

	if (!api_parse_id(ids, &exec) ||
	    jr_job_get(a->engine, exec & ((1ull << 56) - 1), &info) < 0 ||
	    info.exec.execution_id != exec)
		api_error(res, 404, "not_found", "no such execution (or not the latest): %s", ids);
	else
		api_json(res, 200, api_execution_json(a, &info));
}

struct exec_filter {
	bool by_worker;
	uint32_t worker;
	uint32_t mask;
};

static bool exec_filter(struct api *a, const struct request *req, struct exec_filter *f,
			struct response *res)
{
	char v[64];

	memset(f, 0, sizeof(*f));
	if (api_query(req->query, "worker_id", v, sizeof(v))) {
		struct api_worker *w = worker_by_name(a, v);
		f->by_worker = true;
		if (strcmp(v, "local") == 0)
			f->worker = UINT32_MAX;
		else if (w)
			f->worker = engine_id(w);
		else
			return api_error(res, 422, "unknown_worker", "no such worker: %s", v);
	}
	if (api_query(req->query, "status", v, sizeof(v))) {
		for (int s = JR_JOB_RUNNING; s <= JR_JOB_CANCELLED; s++)
			if (strcmp(v, jr_job_state_name(s)) == 0)
				f->mask = 1u << s;
		if (!f->mask)
			return api_error(res, 422, "invalid_value", "unknown status: %s", v);
	}
	return true;
}

static bool exec_matches(const struct exec_filter *f, const struct jr_job_info *info)
{
	if (!info->exec.execution_id)
		return false;
	if (!f->by_worker)
		return true;
	if (f->worker == UINT32_MAX)
		return info->exec.worker_id < JR_EXTERNAL_WORKER_BASE;
	return info->exec.worker_id == f->worker;
}

static void list_executions(struct api *a, const struct request *req, struct response *res)
{
	struct exec_filter f;
	struct jr_job_info info;
	cJSON *body, *list;
	uint64_t cursor = 0, id;
	uint32_t n = 0, limit = 100;
	char v[32];

	if (!exec_filter(a, req, &f, res))
		return;
	if (api_query(req->query, "limit", v, sizeof(v)))
		limit = (uint32_t)strtoul(v, NULL, 10);
	if (limit == 0 || limit > API_LIST_LIMIT_MAX)
		limit = API_LIST_LIMIT_MAX;
	if (api_query(req->query, "cursor", v, sizeof(v)))
		cursor = strtoull(v, NULL, 10);
	body = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(body, "executions");
	if (api_query(req->query, "job_id", v, sizeof(v))) {
		if (api_parse_id(v, &id) && jr_job_get(a->engine, id, &info) == 0 &&
		    exec_matches(&f, &info) && (!f.mask || (f.mask & (1u << info.state))))
			cJSON_AddItemToArray(list, api_execution_json(a, &info));
		cJSON_AddNullToObject(body, "next_cursor");
		api_json(res, 200, body);
		return;
	}
	while (n < limit && jr_job_scan(a->engine, &cursor, f.mask, -1, &info) == 1) {
		if (!exec_matches(&f, &info))
			continue;
		cJSON_AddItemToArray(list, api_execution_json(a, &info));
		n++;
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)cursor);
	if (n == limit)
		cJSON_AddStringToObject(body, "next_cursor", v);
	else
		cJSON_AddNullToObject(body, "next_cursor");
	api_json(res, 200, body);
}

static void list_workers(struct api *a, const struct request *req, struct response *res)
{
	cJSON *body = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(body, "workers");
	char status[32] = "", caps[256] = "";

	api_query(req->query, "status", status, sizeof(status));
	api_query(req->query, "capabilities", caps, sizeof(caps));
	if (!*caps && (!*status || strcmp(status, "idle") == 0 || strcmp(status, "busy") == 0))
		cJSON_AddItemToArray(list, local_worker_json(a));
	for (uint32_t i = 0; i < a->worker_count; i++) {
		struct api_worker *w = &a->workers[i];
		if (!w->used || (*status && strcmp(status, status_name(w->status)) != 0))
			continue;
		if (*caps && !jr_labels_cover(w->capabilities, caps))
			continue;
		cJSON_AddItemToArray(list, worker_json(a, w));
	}
	api_json(res, 200, body);
}

/* --- health: expiry and long polls ---------------------------------------------------------- */

/* End the executions a lost worker held: each is retried or fails. */
static void lose_worker(struct api *a, struct api_worker *w)
{
	struct jr_job_info info;
	uint64_t cursor = 0;

	w->status = WORKER_UNHEALTHY;
	while (jr_job_scan(a->engine, &cursor, 1u << JR_JOB_RUNNING, -1, &info) == 1)
		if (info.exec.worker_id == engine_id(w) &&
		    jr_external_complete(a->engine, info.exec.execution_id, -1, /* lost */ 1) == 0)
			release_worker(a, engine_id(w));
	w->running = 0;
}

static void expire_workers(struct api *a)
{
	uint64_t now = real_ns();

	for (uint32_t i = 0; i < a->worker_count; i++) {
		struct api_worker *w = &a->workers[i];
		if (w->used && w->status != WORKER_UNHEALTHY &&
		    now - w->last_heartbeat_ns > a->heartbeat_timeout_ns)
			lose_worker(a, w);
	}
}

static void answer_waits(struct api *a, uint64_t now)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < a->wait_count; i++) {
		struct api_claim_wait *cw = &a->waits[i];
		struct api_worker *w = &a->workers[cw->worker];
		struct jr_job_info info;
		struct buf body = { 0 };
		if (!server_connection_alive(a->server, cw->token))
			continue;
		if (try_claim(a, w, 0, &info) == 1) {
			cJSON *j = claimed_json(a, &info);
			char *text = cJSON_PrintUnformatted(j);
			buf_puts(&body, text ? text : "{}");
			free(text);
			cJSON_Delete(j);
			/* Cannot fail: the connection was alive above, on this thread. */
			if (!server_finish(a->server, cw->token, 200, &body) &&
			    jr_external_complete(a->engine, info.exec.execution_id, -1, 1) == 0)
				release_worker(a, engine_id(w));
		} else if (now >= cw->deadline_ns) {
			server_finish(a->server, cw->token, 204, &body);
		} else {
			a->waits[kept++] = *cw;
		}
		buf_free(&body);
	}
	a->wait_count = kept;
}

void api_workers_tick(struct api *a, uint64_t now_ns)
{
	if (a->wait_count)
		answer_waits(a, now_ns);
	if (now_ns - a->last_health_check_ns > 500000000ull) {
		a->last_health_check_ns = now_ns;
		expire_workers(a);
	}
}

/* --- routes ------------------------------------------------------------------------------------ */

static bool method_is(const struct request *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static bool route_worker(struct api *a, const struct request *req, struct response *res)
{
	const char *rest = req->path + strlen("/workers/");
	char name[32];
	size_t n = strcspn(rest, "/");
	const char *action = rest[n] ? rest + n + 1 : "";
	struct api_worker *w;

	snprintf(name, sizeof(name), "%.*s", (int)(n < 31 ? n : 31), rest);
	if (strcmp(name, "local") == 0 && !*action && method_is(req, "GET")) {
		api_json(res, 200, local_worker_json(a));
		return true;
	}
	if (!(w = worker_by_name(a, name)))
		return !api_error(res, 404, "not_found", "no such worker: %s", name);
	if (!*action && method_is(req, "GET"))
		api_json(res, 200, worker_json(a, w));
	else if (strcmp(action, "heartbeat") == 0 && method_is(req, "POST"))
		heartbeat(a, w, res);
	else if (strcmp(action, "claim") == 0 && method_is(req, "POST"))
		claim(a, req, w, res);
	else if (!*action || !strcmp(action, "heartbeat") || !strcmp(action, "claim"))
		api_error(res, 405, "method_not_allowed", "see docs/PROTOCOL.md");
	else
		return false;
	return true;
}

static bool route_executions(struct api *a, const struct request *req, struct response *res)
{
	const char *rest = req->path + strlen("/executions");
	char ids[32];
	size_t n;

	if (!*rest) {
		if (!method_is(req, "GET"))
			return !api_error(res, 405, "method_not_allowed", "use GET");
		list_executions(a, req, res);
		return true;
	}
	rest++;
	n = strcspn(rest, "/");
	snprintf(ids, sizeof(ids), "%.*s", (int)(n < 31 ? n : 31), rest);
	if (!rest[n] && method_is(req, "GET"))
		show_execution(a, ids, res);
	else if (strcmp(rest + n, "/complete") == 0 && method_is(req, "POST"))
		complete(a, req, ids, res);
	else if (!rest[n] || strcmp(rest + n, "/complete") == 0)
		api_error(res, 405, "method_not_allowed", "see docs/PROTOCOL.md");
	else
		return false;
	return true;
}

bool api_route_workers(struct api *a, const struct request *req, struct response *res)
{
	const char *p = req->path;
	size_t n = strlen(p);

	if (strcmp(p, "/workers") == 0) {
		if (!method_is(req, "GET"))
			return !api_error(res, 405, "method_not_allowed", "use GET");
		list_workers(a, req, res);
		return true;
	}
	if (strcmp(p, "/workers/register") == 0) {
		if (!method_is(req, "POST"))
			return !api_error(res, 405, "method_not_allowed", "use POST");
		register_worker(a, req, res);
		return true;
	}
	if (strncmp(p, "/workers/", 9) == 0)
		return route_worker(a, req, res);
	if (strcmp(p, "/executions") == 0 || strncmp(p, "/executions/", 12) == 0)
		return route_executions(a, req, res);
	if (strncmp(p, "/jobs/", 6) == 0 && n > 14 && strcmp(p + n - 8, "/execute") == 0) {
		char ids[32];
		snprintf(ids, sizeof(ids), "%.*s", (int)(n - 14 < 31 ? n - 14 : 31), p + 6);
		if (!method_is(req, "POST"))
			return !api_error(res, 405, "method_not_allowed", "use POST");
		execute(a, req, ids, res);
		return true;
	}
	return false;
}
