/*
 * workers.c - the registry of external workers. See workers.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/workers.h"

#define CHECK_EVERY_NS (500 * JR_NS_PER_MS)	/* heartbeats looked at twice a second */

int workers_init(struct workers *r, uint64_t heartbeat_timeout_ms)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->heartbeat_timeout_ns = heartbeat_timeout_ms * JR_NS_PER_MS;
	if ((rc = lease_key_init(&r->lease)) < 0)
		return rc;
	r->list = calloc(WORKERS_MAX, sizeof(*r->list));
	return r->list ? 0 : -ENOMEM;
}

void workers_destroy(struct workers *r)
{
	for (uint32_t i = 0; r->list && i < WORKERS_MAX; i++)
		free(r->list[i].resources_json);
	free(r->list);
	r->list = NULL;
}

const char *worker_status_name(enum worker_status s)
{
	static const char *const names[] = { "idle", "busy", "unhealthy", "gone" };

	return names[s];
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

struct worker *workers_new(struct workers *r)
{
	for (uint32_t i = 0; i < WORKERS_MAX; i++) {
		if (!r->list[i].used && (i >= r->count || r->list[i].number == 0)) {
			memset(&r->list[i], 0, sizeof(r->list[i]));
			r->list[i].number = i + 1;
			if (i + 1 > r->count)
				r->count = i + 1;
			return &r->list[i];
		}
	}
	return NULL;
}

void workers_cancel_new(struct worker *w)
{
	JR_ASSERT(!w->used);
	w->number = 0;
}

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

bool worker_fill(struct worker *w, const cJSON *o, uid_t uid, const char **why)
{
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *r = cJSON_GetObjectItem(o, "resources");

	if ((name && !cJSON_IsString(name)) || (r && !cJSON_IsObject(r))) {
		*why = "name is a string, resources an object";
		return false;
	}
	if (!copy_labels(cJSON_GetObjectItem(o, "capabilities"), w->capabilities,
			 sizeof(w->capabilities))) {
		*why = "capabilities is a list of labels";
		return false;
	}
	w->used = true;
	w->uid = uid;
	snprintf(w->name, sizeof(w->name), "%s", name ? name->valuestring : "");
	w->resources_json = r ? cJSON_PrintUnformatted(r) : NULL;
	w->registered_ns = w->last_heartbeat_ns = jr_now_realtime_ns();
	return true;
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
	free(w->resources_json);
	memset(w, 0, sizeof(*w));
	w->number = number;	/* kept when removed: not given again */
	if (number > r->count)
		r->count = number;
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "removed"))) {
		cJSON_Delete(o);
		return 0;
	}
	ok = worker_fill(w, o, uid, &why);
	/* Back as unhealthy until its next heartbeat: it may be gone. */
	w->status = WORKER_UNHEALTHY;
	w->registered_ns = registered_ns;
	cJSON_Delete(o);
	return ok ? 0 : -EINVAL;
}

void worker_heartbeat(struct worker *w)
{
	w->last_heartbeat_ns = jr_now_realtime_ns();
	if (w->status == WORKER_UNHEALTHY)
		w->status = w->running ? WORKER_BUSY : WORKER_IDLE;
}

int workers_claim(struct workers *r, struct jr_engine *e, struct worker *w, jr_job_id only,
		  struct jr_job_info *info)
{
	uint32_t owner = w->uid == 0 ? JR_EXTERNAL_ANY_OWNER : (uint32_t)w->uid;
	int rc = jr_external_claim_owned(e, worker_engine_id(w), w->capabilities, owner, only,
					 info);

	(void)r;
	if (rc == 1) {
		w->running++;
		w->executions++;
		w->status = WORKER_BUSY;
	}
	return rc;
}

void workers_release(struct workers *r, uint32_t engine_worker_id)
{
	struct worker *w = by_engine_id(r, engine_worker_id);

	if (w && w->running) {
		w->running--;
		if (w->status == WORKER_BUSY && w->running == 0)
			w->status = WORKER_IDLE;
	}
}

/* End the executions a lost worker held: each is retried or fails. */
static void lose(struct workers *r, struct jr_engine *e, struct worker *w)
{
	struct jr_job_info info;
	uint64_t cursor = 0;

	w->status = WORKER_UNHEALTHY;
	while (jr_job_scan(e, &cursor, 1u << JR_JOB_RUNNING, -1, &info) == 1)
		if (info.exec.worker_id == worker_engine_id(w) &&
		    jr_external_complete(e, info.exec.execution_id, -1, /* lost */ 1) == 0)
			workers_release(r, worker_engine_id(w));
	w->running = 0;
}

void workers_remove(struct workers *r, struct jr_engine *e, struct worker *w)
{
	lose(r, e, w);
	w->used = false;	/* its number stays taken (workers_new) */
	w->status = WORKER_GONE;
	free(w->resources_json);
	w->resources_json = NULL;
}

void workers_expire(struct workers *r, struct jr_engine *e, uint64_t now_ns)
{
	uint64_t now;

	if (now_ns - r->last_check_ns <= CHECK_EVERY_NS)
		return;
	r->last_check_ns = now_ns;
	now = jr_now_realtime_ns();
	for (uint32_t i = 0; i < r->count; i++) {
		struct worker *w = &r->list[i];
		if (w->used && w->status != WORKER_UNHEALTHY &&
		    now - w->last_heartbeat_ns > r->heartbeat_timeout_ns)
			lose(r, e, w);
	}
}
