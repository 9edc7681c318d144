/*
 * view.c - jobs, executions and workers as JSON. See view.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/state/view.h"

static int hex_value(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* By hand: a batch answer formats 10,000 of them. */
void view_format_id(uint64_t id, char out[17])
{
	jr_format_id(id, out);
}

bool view_parse_id(const char *s, uint64_t *id)
{
	uint64_t v = 0;

	if (!s || strlen(s) != 16)
		return false;
	for (int i = 0; i < 16; i++) {
		int h = hex_value((unsigned char)s[i]);
		if (h < 0)
			return false;
		v = v << 4 | (uint64_t)h;
	}
	*id = v;
	return v != 0;
}

const char *view_worker_name(uint32_t engine_worker_id, char *buf, size_t size)
{
	if (engine_worker_id >= JR_EXTERNAL_WORKER_BASE)
		snprintf(buf, size, "w%u", engine_worker_id - JR_EXTERNAL_WORKER_BASE);
	else
		snprintf(buf, size, "local");
	return buf;
}

/* --- jobs and executions ------------------------------------------------------------- */

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
	char t[40];

	if (!ns) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	jr_format_rfc3339(ns, t, sizeof(t));
	cJSON_AddStringToObject(o, key, t);
}

static void add_id(cJSON *o, const char *key, uint64_t id)
{
	char s[17];

	if (!id) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	view_format_id(id, s);
	cJSON_AddStringToObject(o, key, s);
}

static const char *queue_name(struct jr_engine *e, uint32_t queue_id, char *buf, size_t size)
{
	struct jr_queue_info q;

	if (jr_queue_get_info(e, queue_id, &q) < 0)
		return "default";
	snprintf(buf, size, "%s", q.name);
	return buf;
}

/* Its batch header's env beneath the job's own: env is what the job
 * runs with (an external worker reads it here), as before batches had a
 * header. */
static void add_batch_env(const struct submitted *t, cJSON *o, jr_job_id id)
{
	const char *text = submitted_header(t, id);
	cJSON *h = text ? cJSON_Parse(text) : NULL, *env, *v;
	cJSON *shared = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(h, "batch"), "env");

	if (!cJSON_IsObject(shared) || !shared->child)
		goto out;
	env = cJSON_GetObjectItemCaseSensitive(o, "env");
	if (!env && !(env = cJSON_AddObjectToObject(o, "env")))
		goto out;
	while ((v = shared->child)) {
		cJSON_DetachItemViaPointer(shared, v);
		if (cJSON_GetObjectItemCaseSensitive(env, v->string))
			cJSON_Delete(v);	/* the job's own wins */
		else
			cJSON_AddItemToObject(env, v->string, v);
	}
out:
	cJSON_Delete(h);
}

/* Copy the submitted fields the engine does not keep. */
static void add_submitted(const struct submitted *t, cJSON *o, jr_job_id id)
{
	static const char *const keys[] = { "command", "requirements", "dependencies", "after",
					    "singleton", "array",
					    "max_retries", "timeout", "retry_backoff",
					    "retry_backoff_max", "scheduled_at", "payload", "env",
					    "cwd" };
	const char *text = submitted_json(t, id);
	cJSON *sub = text ? cJSON_Parse(text) : NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cJSON *v = sub ? cJSON_DetachItemFromObjectCaseSensitive(sub, keys[i]) : NULL;
		if (v)
			cJSON_AddItemToObject(o, keys[i], v);
	}
	cJSON_Delete(sub);
	add_batch_env(t, o, id);
}

/* The worker of the latest attempt; null before the first. */
static void add_worker(cJSON *o, const struct jr_job_info *info)
{
	char w[32];

	if (info->exec.execution_id)
		cJSON_AddStringToObject(o, "worker_id",
					view_worker_name(info->exec.worker_id, w, sizeof(w)));
	else
		cJSON_AddNullToObject(o, "worker_id");
}

static void add_reason(cJSON *o, const struct jr_job_info *info)
{
	if (info->reason)
		cJSON_AddStringToObject(o, "reason", jr_reason_name(info->reason));
	else
		cJSON_AddNullToObject(o, "reason");
}

/* Why it could not start, after the submitted fields (its cwd and
 * command name the failing step): "chdir /x: No such file or directory". */
static void add_cause(cJSON *o, const struct jr_job_info *info)
{
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(o, "cwd");
	const cJSON *argv0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "command"), 0);
	int32_t e = info->exec.spawn_error;
	char msg[128], cause[512];
	const char *what = strerror_r(JR_SPAWN_ERROR_ERRNO(e), msg, sizeof(msg));

	if (!e)
		return;
	switch (JR_SPAWN_ERROR_STEP(e)) {
	case JR_SPAWN_STEP_PREPARE: snprintf(cause, sizeof(cause), "start: %s", what); break;
	case JR_SPAWN_STEP_SETUP: snprintf(cause, sizeof(cause), "child setup: %s", what); break;
	case JR_SPAWN_STEP_IDS:
		snprintf(cause, sizeof(cause), "setuid %u: %s", info->owner_uid, what);
		break;
	case JR_SPAWN_STEP_CHDIR:
		snprintf(cause, sizeof(cause), "chdir %.400s: %s",
			 cJSON_IsString(cwd) ? cwd->valuestring : "", what);
		break;
	case JR_SPAWN_STEP_EXEC:
		snprintf(cause, sizeof(cause), "execve %.400s: %s",
			 cJSON_IsString(argv0) ? argv0->valuestring : "", what);
		break;
	default: snprintf(cause, sizeof(cause), "%s", what); break;
	}
	cJSON_AddStringToObject(o, "cause", cause);
}

static void add_execution_fields(cJSON *o, const struct jr_job_info *info)
{
	add_id(o, "execution_id", info->exec.execution_id);
	add_worker(o, info);
	add_time(o, "start_time", info->exec.start_ns);
	add_time(o, "end_time", info->exec.end_ns);
}

bool view_job_held(const struct jr_job_info *info)
{
	return info->state == JR_JOB_PENDING && info->reason == JR_REASON_HELD;
}

/* What anyone may see of a job (squeue's columns): id, name, owner,
 * status, priority, queue and times. */
/* Tasks of an array by state, for its summary. */
struct array_count {
	struct jr_engine *e;
	uint64_t by_state[JR_JOB_CANCELLED + 1];
};

static bool count_task(void *ctx, const struct submitted_job *task, jr_job_id id)
{
	struct array_count *c = ctx;
	struct jr_job_info info;

	(void)task;
	if (jr_job_get(c->e, id, &info) == 0 && info.state <= JR_JOB_CANCELLED)
		c->by_state[info.state]++;
	return true;
}

/* running while any runs (or, none running, pending or queued while any
 * waits); once all ended: succeeded only if all did, else failed if any
 * failed, else cancelled. */
static const char *array_status(const uint64_t *n)
{
	if (n[JR_JOB_RUNNING])
		return "running";
	if (n[JR_JOB_QUEUED])
		return "queued";
	if (n[JR_JOB_PENDING])
		return "pending";
	if (n[JR_JOB_FAILED])
		return "failed";
	return n[JR_JOB_CANCELLED] ? "cancelled" : "succeeded";
}

/* A task: its array's id and its index. The array's id (its first task)
 * also: "array_tasks", the whole array's status, its task count and its
 * tasks by state (a scan of the table: O(capacity)). */
static void add_array(struct jr_engine *e, const struct submitted *t, cJSON *o,
		      const struct jr_job_info *info)
{
	const struct submitted_job *s = submitted_of(t, info->job_id);
	struct array_count c = { e, { 0 } };
	uint32_t cursor = 0;
	uint64_t tasks;
	cJSON *a;

	if (!s || !s->array_job_id)
		return;
	add_id(o, "array_job_id", s->array_job_id);
	cJSON_AddNumberToObject(o, "array_task_id", s->array_task_id);
	if (s->array_job_id != info->job_id || !(a = cJSON_AddObjectToObject(o, "array_tasks")))
		return;
	tasks = submitted_array_tasks(t, s->array_job_id, &cursor, count_task, &c);
	cJSON_AddNumberToObject(a, "count", (double)tasks);
	cJSON_AddStringToObject(a, "status", array_status(c.by_state));
	for (int st = JR_JOB_PENDING; st <= JR_JOB_CANCELLED; st++)
		cJSON_AddNumberToObject(a, jr_job_state_name(st), (double)c.by_state[st]);
}

static cJSON *brief_job(struct jr_engine *e, const struct jr_job_info *info)
{
	cJSON *o = cJSON_CreateObject();
	char qname[64];

	add_id(o, "job_id", info->job_id);
	cJSON_AddStringToObject(o, "name", info->name);
	cJSON_AddStringToObject(o, "queue", queue_name(e, info->queue_id, qname, sizeof(qname)));
	cJSON_AddNumberToObject(o, "priority", info->priority);
	cJSON_AddStringToObject(o, "status", jr_job_state_name(info->state));
	add_reason(o, info);
	cJSON_AddBoolToObject(o, "held", view_job_held(info));
	cJSON_AddStringToObject(o, "executor", info->is_external ? "external" : "local");
	add_time(o, "created_at", info->created_ns);
	cJSON_AddNumberToObject(o, "attempts", info->attempts);
	add_time(o, "start_time", info->exec.start_ns);
	add_time(o, "end_time", info->exec.end_ns);
	cJSON_AddNumberToObject(o, "uid", info->owner_uid);
	cJSON_AddTrueToObject(o, "redacted");
	return o;
}

cJSON *view_job(struct jr_engine *e, const struct submitted *t, const struct jr_job_info *info,
		enum view_detail detail)
{
	cJSON *o;
	char qname[64];

	JR_ASSERT(detail != VIEW_HIDDEN);
	if (detail != VIEW_FULL)
		return brief_job(e, info);
	o = cJSON_CreateObject();
	add_id(o, "job_id", info->job_id);
	cJSON_AddStringToObject(o, "name", info->name);
	cJSON_AddStringToObject(o, "queue", queue_name(e, info->queue_id, qname, sizeof(qname)));
	cJSON_AddNumberToObject(o, "priority", info->priority);
	cJSON_AddStringToObject(o, "status", jr_job_state_name(info->state));
	add_reason(o, info);
	cJSON_AddBoolToObject(o, "held", view_job_held(info));
	cJSON_AddStringToObject(o, "executor", info->is_external ? "external" : "local");
	add_submitted(t, o, info->job_id);
	add_array(e, t, o, info);
	add_cause(o, info);
	add_time(o, "created_at", info->created_ns);
	cJSON_AddNumberToObject(o, "attempts", info->attempts);
	add_execution_fields(o, info);
	if (info->exec.end_ns && info->exec.attempt)
		cJSON_AddNumberToObject(o, "exit_code", info->exec.result);
	else
		cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddNumberToObject(o, "signal", info->exec.signal);
	cJSON_AddBoolToObject(o, "output_truncated", info->exec.output_truncated);
	cJSON_AddNumberToObject(o, "progress", info->progress);
	cJSON_AddNumberToObject(o, "uid", info->owner_uid);
	return o;
}

cJSON *view_execution(const struct submitted *t, const struct jr_job_info *info,
		      enum view_detail detail)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *usage;

	JR_ASSERT(detail != VIEW_HIDDEN);
	add_id(o, "execution_id", info->exec.execution_id);
	add_id(o, "job_id", info->job_id);
	add_worker(o, info);
	cJSON_AddNumberToObject(o, "attempt", info->exec.attempt);
	add_time(o, "start_time", info->exec.start_ns);
	add_time(o, "end_time", info->exec.end_ns);
	cJSON_AddStringToObject(o, "status", jr_job_state_name(info->state));
	if (detail != VIEW_FULL) {
		add_reason(o, info);
		cJSON_AddNumberToObject(o, "uid", info->owner_uid);
		cJSON_AddTrueToObject(o, "redacted");
		return o;
	}
	usage = cJSON_CreateObject();
	if (info->exec.end_ns)
		cJSON_AddNumberToObject(o, "result", info->exec.result);
	else
		cJSON_AddNullToObject(o, "result");
	add_reason(o, info);
	cJSON_AddNumberToObject(o, "progress", info->progress);	/* this attempt's: -1 none */
	cJSON_AddBoolToObject(o, "output_truncated", info->exec.output_truncated);
	cJSON_AddNumberToObject(usage, "max_rss_kib", (double)info->exec.max_rss_kib);
	cJSON_AddNumberToObject(usage, "user_us", (double)info->exec.user_us);
	cJSON_AddNumberToObject(usage, "system_us", (double)info->exec.system_us);
	cJSON_AddItemToObject(o, "usage", usage);
	add_submitted(t, o, info->job_id);
	add_cause(o, info);
	return o;
}

/* --- workers --------------------------------------------------------------------------- */

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

cJSON *view_worker(const struct worker *w)
{
	cJSON *o = cJSON_CreateObject();
	char id[32], t[40];

	snprintf(id, sizeof(id), "w%u", w->number);
	cJSON_AddStringToObject(o, "worker_id", id);
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddStringToObject(o, "status", worker_status_name(w->status));
	cJSON_AddItemToObject(o, "capabilities", labels_json(w->capabilities));
	cJSON_AddItemToObject(o, "resources", w->resources_json ? cJSON_Parse(w->resources_json) :
								   cJSON_CreateObject());
	jr_format_rfc3339(w->last_heartbeat_ns, t, sizeof(t));
	cJSON_AddStringToObject(o, "last_heartbeat", t);
	cJSON_AddNumberToObject(o, "running", w->running);
	cJSON_AddNumberToObject(o, "executions", (double)w->executions);
	cJSON_AddNumberToObject(o, "uid", w->uid);	/* its owner */
	worker_view_extra(w, o);	/* resources, reported usage (workers.c) */
	return o;
}

cJSON *view_local_worker(struct jr_engine *e, const char *capabilities)
{
	cJSON *o = cJSON_CreateObject(), *res = cJSON_CreateObject();
	struct jr_stats st;

	jr_engine_stats(e, &st);
	cJSON_AddStringToObject(o, "worker_id", "local");
	cJSON_AddStringToObject(o, "name", "jobringd");
	cJSON_AddStringToObject(o, "status", st.cores_busy ? "busy" : "idle");
	cJSON_AddItemToObject(o, "capabilities", labels_json(capabilities));
	cJSON_AddNumberToObject(res, "cpus", st.cores);
	cJSON_AddNumberToObject(res, "cpus_busy", st.cores_busy);
	cJSON_AddItemToObject(o, "resources", res);
	cJSON_AddNumberToObject(o, "running", st.cores_busy);
	return o;
}
