/*
 * resources.c - GET /resources (issue 14): the host's pools by NUMA node
 * (cores, hardware threads, memory, GPUs: total and in use), the counted
 * resources and the storage filesystems, the workers (the engine's own
 * and the registered external ones), and what the scheduler holds back
 * for the job at the head of the line. One jr_engine_resources() call
 * (atomic reads of the pools, no scan of the job table) and the worker
 * registry. docs/PROTOCOL.md shows the answer.
 */
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/view.h"

static cJSON *pair(cJSON *o, const char *name, double total, double used)
{
	cJSON *p = cJSON_AddObjectToObject(o, name);

	cJSON_AddNumberToObject(p, "total", total);
	cJSON_AddNumberToObject(p, "used", used);
	return p;
}

static void numa_json(const struct jr_resource_view *v, cJSON *body)
{
	cJSON *list = cJSON_AddArrayToObject(body, "numa");
	uint64_t cores = 0, cores_used = 0, mem = 0, mem_used = 0, gpus = 0, gpus_used = 0;
	uint64_t pus = 0;

	for (uint32_t n = 0; n < v->numa_count; n++) {
		const struct jr_view_numa *x = &v->numa[n];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "node", n);
		cJSON_AddNumberToObject(o, "first_core", x->first_core);
		pair(o, "cores", x->cores_total, x->cores_used);
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "pus"), "total", x->pus_total);
		pair(o, "memory_bytes", (double)x->mem_total, (double)x->mem_used);
		pair(o, "gpus", x->gpus_total, x->gpus_used);
		cJSON_AddItemToArray(list, o);
		cores += x->cores_total, cores_used += x->cores_used;
		mem += x->mem_total, mem_used += x->mem_used;
		gpus += x->gpus_total, gpus_used += x->gpus_used;
		pus += x->pus_total;
	}
	cJSON *t = cJSON_AddObjectToObject(body, "host");
	pair(t, "cores", (double)cores, (double)cores_used);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(t, "pus"), "total", (double)pus);
	pair(t, "memory_bytes", (double)mem, (double)mem_used);
	pair(t, "gpus", (double)gpus, (double)gpus_used);
}

static void counters_json(const struct jr_resource_view *v, cJSON *body)
{
	cJSON *list = cJSON_AddArrayToObject(body, "counters");
	cJSON *fs = cJSON_AddArrayToObject(body, "storage");

	for (uint32_t i = 0; i < v->counter_count && i < JR_VIEW_COUNTER_MAX; i++) {
		const struct jr_view_counter *x = &v->counters[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", x->name);
		cJSON_AddNumberToObject(o, "total", (double)x->total);
		cJSON_AddNumberToObject(o, "used", (double)x->used);
		if (x->storage >= 0)
			cJSON_AddStringToObject(o, "storage", v->storage[x->storage].path);
		cJSON_AddItemToArray(list, o);
	}
	for (uint32_t i = 0; i < v->storage_count && i < JR_STORAGE_MAX; i++) {
		const struct jr_view_storage *x = &v->storage[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", x->path);
		cJSON_AddStringToObject(o, "counter", v->counters[x->counter].name);
		cJSON_AddNumberToObject(o, "total_bytes", (double)x->bytes_total);
		cJSON_AddNumberToObject(o, "used_bytes", (double)x->bytes_used);
		cJSON_AddItemToArray(fs, o);
	}
}

/* The job the scheduler keeps resources back for, if one waits. */
static void head_json(const struct jr_resource_view *v, cJSON *body)
{
	const struct jr_view_head *h = &v->head;
	char id[17], when[40];

	if (!h->job_id) {
		cJSON_AddNullToObject(body, "head");
		return;
	}
	cJSON *o = cJSON_AddObjectToObject(body, "head"), *need, *ctr;
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)h->job_id);
	cJSON_AddStringToObject(o, "job_id", id);
	if (h->shadow_ns == UINT64_MAX) {
		cJSON_AddNullToObject(o, "expected_start");
	} else {
		jr_format_rfc3339(h->shadow_ns, when, sizeof(when));
		cJSON_AddStringToObject(o, "expected_start", when);
	}
	need = cJSON_AddObjectToObject(o, "reserved");
	cJSON_AddNumberToObject(need, "cpus", h->cpus);
	cJSON_AddNumberToObject(need, "memory_bytes", (double)h->mem_bytes);
	cJSON_AddNumberToObject(need, "gpus", h->gpus);
	ctr = cJSON_AddObjectToObject(need, "counters");
	for (uint32_t i = 0; i < v->counter_count && i < JR_VIEW_COUNTER_MAX; i++)
		if (h->counters[i])
			cJSON_AddNumberToObject(ctr, v->counters[i].name, (double)h->counters[i]);
}

static void workers_json(struct api *a, struct api_call *c, const struct jr_resource_view *v,
			 cJSON *body)
{
	cJSON *list = cJSON_AddArrayToObject(body, "workers"), *o = cJSON_CreateObject();
	const struct workers *reg = &a->st->workers;

	cJSON_AddStringToObject(o, "id", "local");
	cJSON_AddStringToObject(o, "type", "local");
	cJSON_AddNumberToObject(o, "threads", v->workers);
	cJSON_AddNumberToObject(o, "threads_busy", v->workers_busy);
	cJSON_AddNumberToObject(o, "commands_running", v->commands_running);
	cJSON_AddStringToObject(o, "capabilities", a->st->local_capabilities ?
						   a->st->local_capabilities : "");
	cJSON_AddItemToArray(list, o);
	for (uint32_t i = 0; i < reg->count; i++) {
		const struct worker *w = &reg->list[i];
		char name[16];
		if (!w->used || (a->st->private_jobs && c->req->uid != 0 && w->uid != c->req->uid))
			continue;
		o = cJSON_CreateObject();
		snprintf(name, sizeof(name), "w%u", w->number);
		cJSON_AddStringToObject(o, "id", name);
		cJSON_AddStringToObject(o, "type", "external");
		cJSON_AddStringToObject(o, "status", worker_status_name(w->status));
		cJSON_AddNumberToObject(o, "running", w->running);
		cJSON_AddStringToObject(o, "capabilities", w->capabilities);
		cJSON *r = w->resources_json ? cJSON_Parse(w->resources_json) : NULL;
		if (r)
			cJSON_AddItemToObject(o, "resources", r);
		cJSON_AddItemToArray(list, o);
	}
}

void api_resources(struct api *a, struct api_call *c)
{
	struct jr_resource_view v;
	cJSON *body = cJSON_CreateObject();

	jr_engine_resources(a->engine, &v, 0);
	numa_json(&v, body);
	counters_json(&v, body);
	workers_json(a, c, &v, body);
	head_json(&v, body);
	reply_json(c->res, 200, body);
}
