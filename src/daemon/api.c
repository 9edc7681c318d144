/*
 * api.c - routing, errors, ids and the JSON form of a job and an
 * execution. See api.h; the endpoints live in api_jobs.c, api_workers.c
 * and api_misc.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "daemon/api.h"
#include "daemon/durable.h"
#include "base/units.h"

uint64_t api_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- errors and bodies ---------------------------------------------------------- */

bool api_error(struct response *res, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->status = status;
	buf_reset(&res->body);
	buf_printf(&res->body, "{\"error\":{\"code\":\"%s\",\"message\":", code);
	buf_json_string(&res->body, msg);
	buf_puts(&res->body, "}}");
	return false;
}

void api_json(struct response *res, int status, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	if (!text) {
		api_error(res, 500, "out_of_memory", "could not build the answer");
	} else {
		res->status = status;
		buf_reset(&res->body);
		buf_puts(&res->body, text);
	}
	free(text);
	cJSON_Delete(body);
}

static int hex_value(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Percent-decode src[0..n) into out. */
static void url_decode(const char *src, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (src[i] == '%' && i + 2 < n && hex_value(src[i + 1]) >= 0 &&
		    hex_value(src[i + 2]) >= 0) {
			out[o++] = (char)(hex_value(src[i + 1]) << 4 | hex_value(src[i + 2]));
			i += 2;
		} else {
			out[o++] = src[i] == '+' ? ' ' : src[i];
		}
	}
	out[o] = '\0';
}

bool api_query(const char *query, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	while (query && *query) {
		size_t n = strcspn(query, "&");
		if (n > klen && strncmp(query, key, klen) == 0 && query[klen] == '=') {
			url_decode(query + klen + 1, n - klen - 1, out, size);
			return true;
		}
		query += n + (query[n] == '&');
	}
	return false;
}

/* By hand: a batch answer formats 10,000 of them. */
void api_format_id(uint64_t id, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	out[16] = '\0';
}

bool api_parse_id(const char *s, uint64_t *id)
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

/* --- jobs and executions as JSON -------------------------------------------------- */

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
	api_format_id(id, s);
	cJSON_AddStringToObject(o, key, s);
}

const char *api_worker_name(struct api *a, uint32_t engine_worker_id, char *buf, size_t size)
{
	(void)a;
	if (engine_worker_id >= JR_EXTERNAL_WORKER_BASE)
		snprintf(buf, size, "w%u", engine_worker_id - JR_EXTERNAL_WORKER_BASE);
	else
		snprintf(buf, size, "local");
	return buf;
}

static const char *queue_name(struct api *a, uint32_t queue_id, char *buf, size_t size)
{
	struct jr_queue_info q;

	if (jr_queue_get_info(a->engine, queue_id, &q) < 0)
		return "default";
	snprintf(buf, size, "%s", q.name);
	return buf;
}

/* Copy the submitted fields the engine does not keep. */
static void add_submitted(struct api *a, cJSON *o, jr_job_id id)
{
	static const char *const keys[] = { "command", "requirements", "dependencies",
					    "max_retries", "timeout", "retry_backoff",
					    "retry_backoff_max", "scheduled_at", "payload", "env",
					    "cwd" };
	const char *text = api_jobs_side_get(a, id);
	cJSON *sub = text ? cJSON_Parse(text) : NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cJSON *v = sub ? cJSON_DetachItemFromObjectCaseSensitive(sub, keys[i]) : NULL;
		if (v)
			cJSON_AddItemToObject(o, keys[i], v);
	}
	cJSON_Delete(sub);
}

/* The worker of the latest attempt; null before the first. */
static void add_worker(struct api *a, cJSON *o, const struct jr_job_info *info)
{
	char w[32];

	if (info->exec.execution_id)
		cJSON_AddStringToObject(o, "worker_id",
					api_worker_name(a, info->exec.worker_id, w, sizeof(w)));
	else
		cJSON_AddNullToObject(o, "worker_id");
}

static void add_execution_fields(struct api *a, cJSON *o, const struct jr_job_info *info)
{
	add_id(o, "execution_id", info->exec.execution_id);
	add_worker(a, o, info);
	add_time(o, "start_time", info->exec.start_ns);
	add_time(o, "end_time", info->exec.end_ns);
}

cJSON *api_job_json(struct api *a, const struct jr_job_info *info)
{
	cJSON *o = cJSON_CreateObject();
	char qname[64];

	add_id(o, "job_id", info->job_id);
	cJSON_AddStringToObject(o, "name", info->name);
	cJSON_AddStringToObject(o, "queue", queue_name(a, info->queue_id, qname, sizeof(qname)));
	cJSON_AddNumberToObject(o, "priority", info->priority);
	cJSON_AddStringToObject(o, "status", jr_job_state_name(info->state));
	if (info->reason)
		cJSON_AddStringToObject(o, "reason", jr_reason_name(info->reason));
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddStringToObject(o, "executor", info->is_external ? "external" : "local");
	add_submitted(a, o, info->job_id);
	add_time(o, "created_at", info->created_ns);
	cJSON_AddNumberToObject(o, "attempts", info->attempts);
	add_execution_fields(a, o, info);
	if (info->exec.end_ns && info->exec.attempt)
		cJSON_AddNumberToObject(o, "exit_code", info->exec.result);
	else
		cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddNumberToObject(o, "signal", info->exec.signal);
	cJSON_AddNumberToObject(o, "progress", info->progress);
	cJSON_AddNumberToObject(o, "uid", info->owner_uid);
	return o;
}

cJSON *api_execution_json(struct api *a, const struct jr_job_info *info)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *usage = cJSON_CreateObject();

	add_id(o, "execution_id", info->exec.execution_id);
	add_id(o, "job_id", info->job_id);
	add_worker(a, o, info);
	cJSON_AddNumberToObject(o, "attempt", info->exec.attempt);
	add_time(o, "start_time", info->exec.start_ns);
	add_time(o, "end_time", info->exec.end_ns);
	cJSON_AddStringToObject(o, "status", jr_job_state_name(info->state));
	if (info->exec.end_ns)
		cJSON_AddNumberToObject(o, "result", info->exec.result);
	else
		cJSON_AddNullToObject(o, "result");
	if (info->reason)
		cJSON_AddStringToObject(o, "reason", jr_reason_name(info->reason));
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddNumberToObject(usage, "max_rss_kib", (double)info->exec.max_rss_kib);
	cJSON_AddNumberToObject(usage, "user_us", (double)info->exec.user_us);
	cJSON_AddNumberToObject(usage, "system_us", (double)info->exec.system_us);
	cJSON_AddItemToObject(o, "usage", usage);
	add_submitted(a, o, info->job_id);
	return o;
}

/* --- routing ------------------------------------------------------------------------ */

void api_handle(void *ctx, const struct request *req, struct response *res)
{
	struct api *a = ctx;

	res->status = 200;
	if (a->daemon_uid != 0 && req->uid != a->daemon_uid) {
		api_error(res, 403, "forbidden",
			  "this daemon runs as uid %u and serves only that user",
			  (unsigned)a->daemon_uid);
		return;
	}
	a->ack_seq = 0;
	if (!api_route_jobs(a, req, res) && !api_route_workers(a, req, res) &&
	    !api_route_misc(a, req, res))
		api_error(res, 404, "not_found", "no such endpoint: %s", req->path);
	/* What the answer promises is journaled: it goes once durable. */
	if (a->ack_seq && res->status < 300 && !res->deferred)
		durable_hold(a->durable, req->token, a->ack_seq, res);
	a->ack_seq = 0;
}

void api_tick(void *ctx, uint64_t now_ns)
{
	struct api *a = ctx;

	api_workers_tick(a, now_ns);
	if (a->durable)
		durable_turn(a->durable, now_ns);
}

int api_init(struct api *a, struct jr_engine *e, uint32_t capacity,
	     uint64_t heartbeat_timeout_ms, const char *local_capabilities)
{
	struct timespec ts;

	memset(a, 0, sizeof(*a));
	a->engine = e;
	a->capacity = capacity;
	a->daemon_uid = getuid();
	a->heartbeat_timeout_ns = heartbeat_timeout_ms * 1000000ull;
	a->local_capabilities = local_capabilities ? local_capabilities : "";
	a->side = jr_table_alloc((size_t)capacity * sizeof(*a->side));
	a->workers = calloc(API_WORKERS_MAX, sizeof(*a->workers));
	a->waits = calloc(API_WORKERS_MAX, sizeof(*a->waits));
	clock_gettime(CLOCK_REALTIME, &ts);
	a->started_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (!a->side || !a->workers || !a->waits) {
		api_destroy(a);
		return -ENOMEM;
	}
	return 0;
}

void api_destroy(struct api *a)
{
	api_jobs_destroy(a);
	for (uint32_t i = 0; a->side && i < a->capacity; i++)
		api_jobs_side_release(&a->side[i]);
	for (uint32_t i = 0; a->workers && i < API_WORKERS_MAX; i++)
		free(a->workers[i].resources_json);
	jr_table_free(a->side, (size_t)a->capacity * sizeof(*a->side));
	free(a->workers);
	free(a->waits);
	memset(a, 0, sizeof(*a));
}
