/*
 * workers.c - the registry of external workers. See workers.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/state/events.h"
#include "daemon/state/workers.h"
#include "engine/engine.h"
#include "shm/jobtab.h"

#define CHECK_EVERY_NS (500 * JR_NS_PER_MS)	/* heartbeats looked at twice a second */
#define USAGE_JSON_MAX 1024u			/* a heartbeat's "resources", compact */

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unreserve(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

int workers_init(struct workers *r, uint64_t heartbeat_timeout_ms)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->heartbeat_timeout_ns = heartbeat_timeout_ms * JR_NS_PER_MS;
	r->max = WORKERS_MAX;
	if ((rc = lease_key_init(&r->lease)) < 0)
		return rc;
	/* Untouched pages cost nothing: a registry of a few workers stays
	 * small. Mapped, not calloc'd: an allocator may write what it zeroes. */
	r->list = reserve(WORKERS_MAX * sizeof(*r->list));
	r->free_ring = reserve(WORKERS_MAX * sizeof(*r->free_ring));
	return r->list && r->free_ring ? 0 : -ENOMEM;
}

static void worker_clear(struct worker *w)
{
	free(w->resources_json);
	free(w->usage_json);
	free(w->held);
	free(w->stops);
	memset(w, 0, sizeof(*w));
}

void workers_destroy(struct workers *r)
{
	for (uint32_t i = 0; r->list && i < r->count; i++)
		worker_clear(&r->list[i]);
	unreserve(r->list, WORKERS_MAX * sizeof(*r->list));
	unreserve(r->free_ring, WORKERS_MAX * sizeof(*r->free_ring));
	r->list = NULL;
	r->free_ring = NULL;
}

static const char *const status_names[] = { "idle", "busy", "unhealthy", "gone", "draining" };

const char *worker_status_name(enum worker_status s)
{
	return status_names[s];
}

bool worker_status_parse(const char *s, enum worker_status *out)
{
	for (uint32_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (i != WORKER_GONE && strcmp(s, status_names[i]) == 0) {
			*out = (enum worker_status)i;
			return true;
		}
	return false;
}

uint32_t worker_engine_id(const struct worker *w)
{
	return JR_EXTERNAL_WORKER_BASE + w->number;
}

struct worker *workers_by_name(struct workers *r, const char *name)
{
	char *end;
	unsigned long n;

	if (name[0] != 'w')
		return NULL;
	n = strtoul(name + 1, &end, 10);
	if (*end || end == name + 1 || n == 0 || n > r->count || n > WORKERS_MAX)
		return NULL;
	return r->list[n - 1].used ? &r->list[n - 1] : NULL;
}

static struct worker *by_engine_id(struct workers *r, uint32_t id)
{
	uint32_t n = id - JR_EXTERNAL_WORKER_BASE;

	if (id < JR_EXTERNAL_WORKER_BASE || n == 0 || n > r->count)
		return NULL;
	return &r->list[n - 1];
}

struct worker *workers_by_engine_id(struct workers *r, uint32_t engine_worker_id)
{
	struct worker *w = by_engine_id(r, engine_worker_id);

	return w && w->used ? w : NULL;
}

bool worker_owned_by(const struct worker *w, uid_t uid)
{
	return uid == 0 || uid == w->uid;
}

bool worker_may_run(const struct worker *w, uint32_t job_uid)
{
	return w->uid == 0 || job_uid == (uint32_t)w->uid;
}

/* --- numbers ------------------------------------------------------------------------- */

static void free_push(struct workers *r, uint32_t number)
{
	JR_ASSERT(r->free_count < WORKERS_MAX);
	r->free_ring[(r->free_head + r->free_count++) % WORKERS_MAX] = number;
}

/* Numbers left unused by a restore (removed before the restart): found
 * once, when the ring runs dry. */
static void free_refill(struct workers *r)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (!r->list[i].used && r->list[i].number == 0)
			free_push(r, i + 1);
}

struct worker *workers_new(struct workers *r)
{
	uint32_t n;

	if (r->count < r->max) {
		n = ++r->count;
	} else {
		if (r->free_count == 0)
			free_refill(r);
		if (r->free_count == 0)
			return NULL;
		n = r->free_ring[r->free_head];
		r->free_head = (r->free_head + 1) % WORKERS_MAX;
		r->free_count--;
	}
	worker_clear(&r->list[n - 1]);
	r->list[n - 1].number = n;
	return &r->list[n - 1];
}

void workers_cancel_new(struct workers *r, struct worker *w)
{
	JR_ASSERT(!w->used);
	free_push(r, w->number);
	w->number = 0;
}

/* --- registration ------------------------------------------------------------------------ */

/* Capabilities as a list of labels (or one "a,b" string) into "a,b". */
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

/* A whole number >= 0 (below 2^53). */
static bool whole(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    floor(v->valuedouble) != v->valuedouble)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

/* {"cpus": N, "memory": bytes or "64G", "gpus": N, <counter>: N...}.
 * lenient (a registration journaled before issue 14, when any object
 * was taken): what is not a resource is left out, not refused. */
static bool parse_capacity(const cJSON *r, struct jr_external_res *cap, bool lenient,
			   const char **why)
{
	const cJSON *v;

	memset(cap, 0, sizeof(*cap));
	cap->cpus = cap->mem_bytes = JR_EXTERNAL_NO_LIMIT;
	cJSON_ArrayForEach(v, r) {
		uint64_t n;
		if (strcmp(v->string, "memory") == 0 && cJSON_IsString(v)) {
			if (jr_parse_size_bytes(v->valuestring, &cap->mem_bytes) < 0 && !lenient) {
				*why = "resources.memory is a size (bytes, or \"64G\")";
				return false;
			}
			continue;
		}
		if (!whole(v, &n)) {
			*why = "resources are whole numbers >= 0 (memory may be \"64G\")";
			if (lenient)
				continue;
			return false;
		}
		if (strcmp(v->string, "cpus") == 0) {
			cap->cpus = n;
		} else if (strcmp(v->string, "memory") == 0) {
			cap->mem_bytes = n;
		} else if (strcmp(v->string, "gpus") == 0) {
			cap->gpus = n;
		} else {
			if (cap->counter_count == JR_EXTERNAL_COUNTERS ||
			    strlen(v->string) >= sizeof(cap->counter_name[0]) || !*v->string ||
			    strpbrk(v->string, ",=")) {
				*why = "at most 8 counters, names of 1-31 characters without , or =";
				if (lenient)
					continue;
				return false;
			}
			snprintf(cap->counter_name[cap->counter_count], sizeof(cap->counter_name[0]),
				 "%s", v->string);
			cap->counter[cap->counter_count++] = n;
		}
	}
	return true;
}

static bool fill(struct workers *r, struct worker *w, const cJSON *o, uid_t uid, bool lenient,
		 const char **why)
{
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *res = cJSON_GetObjectItem(o, "resources");

	if ((name && !cJSON_IsString(name)) || (res && !cJSON_IsObject(res))) {
		*why = "name is a string, resources an object";
		return false;
	}
	if (!copy_labels(cJSON_GetObjectItem(o, "capabilities"), w->capabilities,
			 sizeof(w->capabilities))) {
		*why = "capabilities is a list of labels";
		return false;
	}
	if (!parse_capacity(res, &w->cap, lenient, why))
		return false;
	w->used = true;
	r->registered++;
	w->uid = uid;
	snprintf(w->name, sizeof(w->name), "%s", name ? name->valuestring : "");
	w->resources_json = res ? cJSON_PrintUnformatted(res) : NULL;
	w->registered_ns = w->last_heartbeat_ns = jr_now_realtime_ns();
	return true;
}

bool worker_fill(struct workers *r, struct worker *w, const cJSON *o, uid_t uid,
		 const char **why)
{
	return fill(r, w, o, uid, false, why);
}

int workers_restore(struct workers *r, uint32_t number, uid_t uid, uint64_t registered_ns,
		    const char *body, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	struct worker *w;
	const char *why;
	bool ok;

	if (number == 0 || number > WORKERS_MAX || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	w = &r->list[number - 1];
	if (w->used)
		r->registered--;
	worker_clear(w);
	if (number > r->count)
		r->count = number;
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "removed"))) {
		cJSON_Delete(o);	/* number 0: free_refill finds it */
		return 0;
	}
	w->number = number;
	ok = fill(r, w, o, uid, true, &why);
	/* Back as unhealthy until its next heartbeat: it may be gone. */
	w->status = WORKER_UNHEALTHY;
	w->registered_ns = registered_ns;
	cJSON_Delete(o);
	return ok ? 0 : -EINVAL;
}

/* --- heartbeats ---------------------------------------------------------------------------- */

bool worker_report_check(const cJSON *o, const char **why)
{
	const cJSON *st = cJSON_GetObjectItem(o, "status"), *res = cJSON_GetObjectItem(o, "resources");
	enum worker_status s;
	const cJSON *v;
	uint32_t n = 0;

	if (st && (!cJSON_IsString(st) || !worker_status_parse(st->valuestring, &s) ||
		   s == WORKER_UNHEALTHY)) {
		*why = "status is \"idle\", \"busy\" or \"draining\"";
		return false;
	}
	if (res && !cJSON_IsObject(res)) {
		*why = "resources is an object of usage figures";
		return false;
	}
	cJSON_ArrayForEach(v, res) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || !isfinite(v->valuedouble) ||
		    strlen(v->string) > 63 || ++n > 32) {
			*why = "resources: at most 32 numbers >= 0, names of at most 63 characters";
			return false;
		}
	}
	return true;
}

static enum worker_status live_status(const struct worker *w)
{
	if (strcmp(w->reported, "draining") == 0)
		return WORKER_DRAINING;
	return w->running || strcmp(w->reported, "busy") == 0 ? WORKER_BUSY : WORKER_IDLE;
}

void worker_heartbeat(struct worker *w, const cJSON *o)
{
	const cJSON *st = o ? cJSON_GetObjectItem(o, "status") : NULL;
	const cJSON *res = o ? cJSON_GetObjectItem(o, "resources") : NULL;
	uint64_t now = jr_now_realtime_ns();

	w->last_heartbeat_ns = now;
	if (cJSON_IsString(st))
		snprintf(w->reported, sizeof(w->reported), "%s", st->valuestring);
	if (cJSON_IsObject(res)) {
		char *text = cJSON_PrintUnformatted(res);
		if (text && strlen(text) <= USAGE_JSON_MAX) {
			free(w->usage_json);
			w->usage_json = text;
			w->usage_ns = now;
		} else {
			free(text);
		}
	}
	w->status = live_status(w);
}

/* A worker's change on the event stream (issue 16). */
void workers_publish(struct workers *r, const struct worker *w, const char *status)
{
	char name[16];

	snprintf(name, sizeof(name), "w%u", w->number);	/* as view_worker_name() */
	events_worker(r->events, name, (uint32_t)w->uid, status);
}

/* --- executions and resources ------------------------------------------------------------- */

void worker_free(const struct worker *w, struct jr_external_res *out)
{
	*out = w->cap;
	if (out->cpus != JR_EXTERNAL_NO_LIMIT)
		out->cpus -= w->taken.cpus < out->cpus ? w->taken.cpus : out->cpus;
	out->gpus -= w->taken.gpus < out->gpus ? w->taken.gpus : out->gpus;
	if (out->mem_bytes != JR_EXTERNAL_NO_LIMIT)
		out->mem_bytes -= w->taken.mem_bytes < out->mem_bytes ? w->taken.mem_bytes
								      : out->mem_bytes;
	for (uint32_t i = 0; i < out->counter_count; i++)
		out->counter[i] -= w->taken.counter[i] < out->counter[i] ? w->taken.counter[i]
									  : out->counter[i];
}

/* What a claimed job took, by w's counter names (the engine matched
 * them: a counter w does not name was not needed). */
static bool hold(struct worker *w, uint64_t exec, const struct jr_external_res *t)
{
	struct worker_exec x = { .execution_id = exec, .cpus = t->cpus, .gpus = t->gpus,
				 .mem_bytes = t->mem_bytes };

	for (uint32_t i = 0; i < t->counter_count; i++)
		for (uint32_t j = 0; j < w->cap.counter_count; j++)
			if (strcmp(t->counter_name[i], w->cap.counter_name[j]) == 0)
				x.counter[j] = t->counter[i];
	if (w->running == w->held_cap) {
		uint32_t cap = w->held_cap ? w->held_cap * 2 : 4;
		struct worker_exec *n = realloc(w->held, cap * sizeof(*n));
		if (!n)
			return false;
		w->held = n;
		w->held_cap = cap;
	}
	w->held[w->running++] = x;
	w->taken.cpus += x.cpus;
	w->taken.gpus += x.gpus;
	w->taken.mem_bytes += x.mem_bytes;
	for (uint32_t j = 0; j < JR_EXTERNAL_COUNTERS; j++)
		w->taken.counter[j] += x.counter[j];
	return true;
}

static void unhold(struct worker *w, uint32_t i)
{
	const struct worker_exec *x = &w->held[i];

	w->taken.cpus -= x->cpus;
	w->taken.gpus -= x->gpus;
	w->taken.mem_bytes -= x->mem_bytes;
	for (uint32_t j = 0; j < JR_EXTERNAL_COUNTERS; j++)
		w->taken.counter[j] -= x->counter[j];
	w->held[i] = w->held[--w->running];
}

static void add_stop(struct worker *w, uint64_t exec, enum jr_reason reason)
{
	if (w->stop_count == w->stop_cap) {
		uint32_t cap = w->stop_cap ? w->stop_cap * 2 : 4;
		struct worker_stop *n;
		if (w->stop_cap >= WORKER_STOPS_MAX) {	/* the oldest goes */
			memmove(w->stops, w->stops + 1, (w->stop_count - 1) * sizeof(*w->stops));
			w->stop_count--;
		} else if ((n = realloc(w->stops, cap * sizeof(*n)))) {
			w->stops = n;
			w->stop_cap = cap;
		} else {
			return;
		}
	}
	w->stops[w->stop_count++] = (struct worker_stop){ exec, (uint8_t)reason };
}

void worker_reconcile(struct worker *w, struct jr_engine *e)
{
	for (uint32_t i = 0; i < w->running;) {
		uint64_t exec = w->held[i].execution_id;
		struct jr_job_info info;
		bool known = jr_engine_job_peek(e, jr_execution_job(exec), &info) == 0 &&
			     info.exec.execution_id == exec;
		if (known && info.state == JR_JOB_RUNNING) {
			i++;
			continue;
		}
		add_stop(w, exec, known ? info.reason : JR_REASON_WORKER_LOST);
		unhold(w, i);
	}
	if (w->status == WORKER_BUSY || w->status == WORKER_IDLE)
		w->status = live_status(w);
}

cJSON *worker_take_stops(struct worker *w)
{
	cJSON *list = cJSON_CreateArray();

	for (uint32_t i = 0; i < w->stop_count; i++) {
		cJSON *o = cJSON_CreateObject();
		char id[24];
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)w->stops[i].execution_id);
		cJSON_AddStringToObject(o, "execution_id", id);
		cJSON_AddStringToObject(o, "reason", jr_reason_name(w->stops[i].reason));
		cJSON_AddItemToArray(list, o);
	}
	w->stop_count = 0;
	return list;
}

int workers_claim(struct workers *r, struct jr_engine *e, struct worker *w, jr_job_id only,
		  struct jr_job_info *info)
{
	uint32_t owner = w->uid == 0 ? JR_EXTERNAL_ANY_OWNER : (uint32_t)w->uid;
	struct jr_external_res avail, taken;
	int rc;

	(void)r;
	if (w->status == WORKER_DRAINING)
		return 0;
	worker_reconcile(w, e);
	worker_free(w, &avail);
	rc = jr_external_claim_fit(e, worker_engine_id(w), w->capabilities, owner, only, &avail,
				   &taken, info);
	if (rc == 1) {
		if (!hold(w, info->exec.execution_id, &taken)) {
			/* No memory to keep it: not handed out. */
			jr_external_complete(e, info->exec.execution_id, -1, /* lost */ 1);
			return -ENOMEM;
		}
		w->executions++;
		w->status = WORKER_BUSY;
	}
	return rc;
}

int workers_reattach(struct workers *r, struct jr_engine *e, uint32_t engine_worker_id,
		     uint64_t execution_id)
{
	struct worker *w = workers_by_engine_id(r, engine_worker_id);
	struct jr_external_res taken;

	if (!w)
		return -ENOENT;
	/* One the restore ended already (a cancel acknowledged before the
	 * restart) takes nothing: the worker's next heartbeat says stop. */
	if (jr_engine_ext_taken(e, execution_id, &taken) < 0)
		memset(&taken, 0, sizeof(taken));
	return hold(w, execution_id, &taken) ? 0 : -ENOMEM;
}

void workers_release(struct workers *r, uint32_t engine_worker_id, uint64_t execution_id)
{
	struct worker *w = by_engine_id(r, engine_worker_id);

	if (!w || !w->used)
		return;
	for (uint32_t i = 0; i < w->running; i++)
		if (w->held[i].execution_id == execution_id) {
			unhold(w, i);
			break;
		}
	if (w->status == WORKER_BUSY)
		w->status = live_status(w);
}

/* End the executions a lost worker held: each is retried or fails. Its
 * next heartbeat tells it to stop them. O(held). */
static void lose(struct workers *r, struct jr_engine *e, struct worker *w)
{
	w->status = WORKER_UNHEALTHY;
	workers_publish(r, w, "unhealthy");
	while (w->running) {
		uint64_t exec = w->held[w->running - 1].execution_id;
		enum jr_reason why = JR_REASON_WORKER_LOST;
		struct jr_job_info info;
		/* One the engine ended meanwhile (a time limit, a cancel) is
		 * stopped for that reason. */
		if (jr_external_complete(e, exec, -1, /* lost */ 1) < 0 &&
		    jr_engine_job_peek(e, jr_execution_job(exec), &info) == 0 &&
		    info.exec.execution_id == exec && info.reason != JR_REASON_NONE)
			why = info.reason;
		add_stop(w, exec, why);
		unhold(w, w->running - 1);
	}
}

void workers_remove(struct workers *r, struct jr_engine *e, struct worker *w)
{
	lose(r, e, w);
	w->used = false;
	w->status = WORKER_GONE;
	workers_publish(r, w, "gone");
	r->registered--;
	r->removed_total++;
	free_push(r, w->number);
	free(w->resources_json);
	w->resources_json = NULL;
}

void workers_expire(struct workers *r, struct jr_engine *e, uint64_t now_ns,
		    void (*removed)(void *ctx, struct worker *w), void *ctx)
{
	uint64_t now;

	if (now_ns - r->last_check_ns <= CHECK_EVERY_NS)
		return;
	r->last_check_ns = now_ns;
	now = jr_now_realtime_ns();
	for (uint32_t i = 0; i < r->count; i++) {
		struct worker *w = &r->list[i];
		uint64_t silent = now > w->last_heartbeat_ns ? now - w->last_heartbeat_ns : 0;
		if (!w->used)
			continue;
		/* An unhealthy one holds executions only after a restart
		 * (workers_reattach): lost as well if it does not come back. */
		if ((w->status != WORKER_UNHEALTHY || w->running) &&
		    silent > r->heartbeat_timeout_ns)
			lose(r, e, w);
		if (w->status == WORKER_UNHEALTHY && r->remove_after_ns &&
		    silent > r->heartbeat_timeout_ns + r->remove_after_ns) {
			if (removed)
				removed(ctx, w);
			workers_remove(r, e, w);
		}
	}
}

/* --- views ------------------------------------------------------------------------------------ */

static cJSON *res_json(const struct worker *w, const struct worker_exec *x)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "cpus", (double)x->cpus);
	cJSON_AddNumberToObject(o, "memory", (double)x->mem_bytes);
	cJSON_AddNumberToObject(o, "gpus", (double)x->gpus);
	for (uint32_t i = 0; i < w->cap.counter_count; i++)
		cJSON_AddNumberToObject(o, w->cap.counter_name[i], (double)x->counter[i]);
	return o;
}

void worker_view_extra(const struct worker *w, cJSON *o)
{
	struct jr_external_res f;
	struct worker_exec fx = { 0 };
	char t[40];
	cJSON *free_o;

	cJSON_AddItemToObject(o, "allocated", res_json(w, &w->taken));
	worker_free(w, &f);
	fx.cpus = f.cpus;
	fx.gpus = f.gpus;
	fx.mem_bytes = f.mem_bytes;
	memcpy(fx.counter, f.counter, sizeof(fx.counter));
	free_o = res_json(w, &fx);
	if (f.cpus == JR_EXTERNAL_NO_LIMIT)	/* not declared: not limited */
		cJSON_ReplaceItemInObject(free_o, "cpus", cJSON_CreateNull());
	if (f.mem_bytes == JR_EXTERNAL_NO_LIMIT)
		cJSON_ReplaceItemInObject(free_o, "memory", cJSON_CreateNull());
	cJSON_AddItemToObject(o, "free", free_o);
	if (w->reported[0])
		cJSON_AddStringToObject(o, "reported_status", w->reported);
	else
		cJSON_AddNullToObject(o, "reported_status");
	cJSON_AddItemToObject(o, "usage", w->usage_json ? cJSON_Parse(w->usage_json)
							: cJSON_CreateObject());
	if (w->usage_ns) {
		jr_format_rfc3339(w->usage_ns, t, sizeof(t));
		cJSON_AddStringToObject(o, "usage_at", t);
	} else {
		cJSON_AddNullToObject(o, "usage_at");
	}
}
