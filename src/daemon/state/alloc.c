/*
 * alloc.c - allocation queues: definitions parsed, records applied and
 * written, the view. See alloc.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/state/alloc.h"
#include "daemon/state/allocrec.h"

void allocs_init(struct allocs *a)
{
	memset(a, 0, sizeof(*a));
	a->next_id = 1;
}

static void queue_free(struct alloc_queue *q)
{
	if (!q)
		return;
	bgcmd_kill(&q->cmd);
	allocs_params_free(&q->p);
	free(q->def);
	free(q);
}

void allocs_destroy(struct allocs *a)
{
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		queue_free(a->q[i]);
	allocs_init(a);
}

void allocs_take(struct allocs *to, struct allocs *from)
{
	allocs_destroy(to);
	*to = *from;
	if (!to->next_id)	/* none was read */
		to->next_id = 1;
	allocs_init(from);
}

/* --- definitions --------------------------------------------------------------------- */

static bool fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return false;
}

/* A word Slurm takes as a value: printable, no blank, no quote. */
static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == 0x7f || *s == '\'' || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* def[key], a whole number in [lo, hi] (dflt if absent). */
static bool number_of(const cJSON *def, const char *key, uint32_t lo, uint32_t hi,
		      uint32_t dflt, uint32_t *out, char *err, size_t size)
{
	const cJSON *v = cJSON_GetObjectItem(def, key);

	*out = dflt;
	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != floor(v->valuedouble))
		return fail(err, size, "%s: a whole number from %u to %u", key, lo, hi);
	*out = (uint32_t)v->valuedouble;
	return true;
}

/* def[key], a string of at most max bytes into a fixed buffer or a copy. */
static bool text_of(const cJSON *def, const char *key, size_t max, bool word, char *fixed,
		    char **copy, char *err, size_t size)
{
	const cJSON *v = cJSON_GetObjectItem(def, key);

	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v) || strlen(v->valuestring) == 0 || strlen(v->valuestring) >= max)
		return fail(err, size, "%s: a string of 1 to %zu bytes", key, max - 1);
	if (word && !word_ok(v->valuestring))
		return fail(err, size, "%s: no blanks, quotes or backslashes", key);
	if (fixed)
		snprintf(fixed, max, "%s", v->valuestring);
	else if (!(*copy = strdup(v->valuestring)))
		return fail(err, size, "no memory");
	return true;
}

static bool sbatch_args_of(const cJSON *def, struct alloc_params *p, char *err, size_t size)
{
	const cJSON *list = cJSON_GetObjectItem(def, "sbatch_args"), *v;

	if (!list)
		return true;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > (int)ALLOC_SBATCH_ARGS_MAX)
		return fail(err, size, "sbatch_args: an array of at most %u strings",
			    ALLOC_SBATCH_ARGS_MAX);
	cJSON_ArrayForEach(v, list) {
		if (!cJSON_IsString(v) || !*v->valuestring ||
		    strlen(v->valuestring) >= ALLOC_TEXT_MAX)
			return fail(err, size, "sbatch_args: strings of 1 to %u bytes",
				    ALLOC_TEXT_MAX - 1);
		if (!(p->sbatch_args[p->sbatch_arg_count++] = strdup(v->valuestring)))
			return fail(err, size, "no memory");
	}
	return true;
}

#define WORKER_CAPS_MAX 256u	/* as a worker's registration keeps them (workers.h) */

/* worker_memory: a size jobring-worker --memory takes ("64G"). */
static bool memory_of(const cJSON *def, struct alloc_params *p, char *err, size_t size)
{
	if (!text_of(def, "worker_memory", 32, true, NULL, &p->worker_memory, err, size))
		return false;
	/* What a worker's registration takes: below 2^53 bytes. */
	if (p->worker_memory && (jr_parse_size_bytes(p->worker_memory, &p->worker_mem_bytes) < 0 ||
				 p->worker_mem_bytes == 0 || p->worker_mem_bytes >= (1ull << 53)))
		return fail(err, size, "worker_memory: a size below 8P, e.g. \"64G\"");
	return true;
}

static bool worker_fields(const cJSON *def, struct alloc_params *p, char *err, size_t size)
{
	p->worker_gpus_set = cJSON_GetObjectItem(def, "worker_gpus") != NULL;
	return number_of(def, "worker_cpus", 1, 65536, 0, &p->worker_cpus, err, size) &&
	       number_of(def, "worker_gpus", 0, 64, 0, &p->worker_gpus, err, size) &&
	       memory_of(def, p, err, size) &&
	       text_of(def, "worker_capabilities", WORKER_CAPS_MAX, true, NULL,
		       &p->worker_capabilities, err, size);
}

bool allocs_shape_declared(const struct alloc_params *p)
{
	return p->worker_cpus && p->worker_mem_bytes && p->worker_gpus_set;
}

static const char *const known_fields[] = {
	"kind", "partition", "nodes", "time", "max_pending", "idle_timeout", "sbatch_args",
	"worker_command", "server", "access", "worker_cpus", "worker_memory", "worker_gpus",
	"worker_capabilities", NULL,
};

static bool fields_known(const cJSON *def, char *err, size_t size)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, def) {
		size_t i = 0;
		while (known_fields[i] && strcmp(known_fields[i], v->string) != 0)
			i++;
		if (!known_fields[i])
			return fail(err, size, "unknown field %s", v->string);
	}
	return true;
}

static bool parse_fields(const cJSON *def, struct alloc_params *p, char *err, size_t size)
{
	const cJSON *kind = cJSON_GetObjectItem(def, "kind");

	if (!cJSON_IsObject(def))
		return fail(err, size, "the definition must be a JSON object");
	if (!fields_known(def, err, size))
		return false;
	if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "slurm") != 0))
		return fail(err, size, "kind: only \"slurm\"");
	if (!cJSON_IsString(cJSON_GetObjectItem(def, "time")))
		return fail(err, size, "time: required (sbatch --time, e.g. \"1:00:00\")");
	return text_of(def, "partition", ALLOC_TEXT_MAX, true, p->partition, NULL, err, size) &&
	       text_of(def, "time", ALLOC_TEXT_MAX, true, p->time, NULL, err, size) &&
	       number_of(def, "nodes", 1, ALLOC_NODES_MAX, 1, &p->nodes, err, size) &&
	       number_of(def, "max_pending", 1, ALLOC_PENDING_MAX, 1, &p->max_pending, err, size) &&
	       number_of(def, "idle_timeout", 1, 7 * 86400, 300, &p->idle_timeout_s, err, size) &&
	       sbatch_args_of(def, p, err, size) &&
	       text_of(def, "worker_command", ALLOC_COMMAND_MAX, false, NULL, &p->worker_command,
		       err, size) &&
	       text_of(def, "server", ALLOC_COMMAND_MAX, true, NULL, &p->server, err, size) &&
	       text_of(def, "access", ALLOC_COMMAND_MAX, true, NULL, &p->access, err, size) &&
	       worker_fields(def, p, err, size);
}

bool allocs_parse(const cJSON *def, struct alloc_params *p, char *err, size_t err_size)
{
	memset(p, 0, sizeof(*p));
	if (parse_fields(def, p, err, err_size))
		return true;
	allocs_params_free(p);
	return false;
}

void allocs_params_free(struct alloc_params *p)
{
	for (uint32_t i = 0; i < p->sbatch_arg_count; i++)
		free(p->sbatch_args[i]);
	free(p->worker_command);
	free(p->server);
	free(p->access);
	free(p->worker_memory);
	free(p->worker_capabilities);
	memset(p, 0, sizeof(*p));
}

/* --- records --------------------------------------------------------------------------- */

struct alloc_queue *allocs_find(struct allocs *a, uint32_t id)
{
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		if (a->q[i] && a->q[i]->id == id)
			return a->q[i];
	return NULL;
}

uint32_t allocs_count(const struct allocs *a)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		n += a->q[i] != NULL;
	return n;
}

static struct alloc_queue *queue_new(const struct rec_alloc *r, const char *def, char *err,
				     size_t size, int *rc)
{
	struct alloc_queue *q = calloc(1, sizeof(*q));
	cJSON *json = cJSON_ParseWithLength(def, r->def_len);

	*rc = -ENOMEM;
	if (q && json && (q->def = strndup(def, r->def_len))) {
		*rc = allocs_parse(json, &q->p, err, size) ? 0 : -EPROTO;
		q->id = r->id;
		q->uid = r->uid;
		q->created_ns = r->created_ns;
		q->submitted = r->submitted;
		q->ended = r->ended;
		q->cmd.fd = -1;
	} else if (q && !json) {
		*rc = -EPROTO;
	}
	cJSON_Delete(json);
	if (*rc < 0) {
		if (q)
			free(q->def);
		free(q);
		return NULL;
	}
	return q;
}

static int apply_alloc(struct allocs *a, const void *p, uint32_t len)
{
	struct rec_alloc r;
	struct alloc_queue *q;
	uint32_t slot = ALLOC_QUEUES_MAX;
	char err[128];
	int rc;

	if (len < sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	if (r.def_len != len - sizeof(r) || r.id == 0)
		return -EPROTO;
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		if ((a->q[i] && a->q[i]->id == r.id) || (!a->q[i] && slot == ALLOC_QUEUES_MAX))
			slot = i;	/* the same id replaced (a snapshot's), or a free slot */
	if (slot == ALLOC_QUEUES_MAX)
		return -ENOSPC;
	if (!(q = queue_new(&r, (const char *)p + sizeof(r), err, sizeof(err), &rc)))
		return rc;
	queue_free(a->q[slot]);
	a->q[slot] = q;
	a->next_id = r.next_id > a->next_id ? r.next_id : a->next_id;
	if (r.id >= a->next_id)
		a->next_id = r.id + 1;
	return 0;
}

static int apply_delete(struct allocs *a, const void *p, uint32_t len)
{
	struct rec_alloc_delete r;

	if (len != sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		if (a->q[i] && a->q[i]->id == r.id) {
			queue_free(a->q[i]);
			a->q[i] = NULL;
		}
	return 0;
}

static void job_drop(struct alloc_queue *q, uint64_t slurm_id)
{
	for (uint32_t i = 0; i < q->job_count; i++)
		if (q->jobs[i].slurm_id == slurm_id) {
			q->jobs[i] = q->jobs[--q->job_count];
			q->ended++;
			return;
		}
}

static int apply_job(struct allocs *a, const void *p, uint32_t len)
{
	struct rec_alloc_job r;
	struct alloc_queue *q;

	if (len != sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	if (!(q = allocs_find(a, r.alloc_id)))
		return 0;	/* its queue was removed since */
	if (r.op == REC_ALLOC_JOB_ENDED) {
		job_drop(q, r.slurm_id);
		return 0;
	}
	if (r.op != REC_ALLOC_JOB_SUBMITTED)
		return -EPROTO;
	for (uint32_t i = 0; i < q->job_count; i++)
		if (q->jobs[i].slurm_id == r.slurm_id)
			return 0;	/* a snapshot's, already known */
	if (q->job_count == ALLOC_JOBS_MAX)
		return 0;	/* the poller never submits past this */
	q->submitted++;
	q->jobs[q->job_count++] = (struct alloc_job){ .slurm_id = r.slurm_id,
						      .submitted_ns = r.time_ns,
						      .state = ALLOC_JOB_SUBMITTED };
	return 0;
}

int allocs_apply(struct allocs *a, uint16_t type, const void *p, uint32_t len)
{
	switch (type) {
	case REC_ALLOC: return apply_alloc(a, p, len);
	case REC_ALLOC_DELETE: return apply_delete(a, p, len);
	case REC_ALLOC_JOB: return apply_job(a, p, len);
	}
	return -EPROTO;
}

int allocs_write(const struct allocs *a,
		 int (*put)(void *ctx, uint16_t type, const void *head, size_t head_len,
			    const void *tail, size_t tail_len),
		 void *ctx)
{
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++) {
		const struct alloc_queue *q = a->q[i];
		if (!q)
			continue;
		struct rec_alloc r = { .id = q->id, .uid = q->uid, .created_ns = q->created_ns,
				       .next_id = a->next_id, .def_len = (uint32_t)strlen(q->def),
				       /* its live jobs' records count again */
				       .submitted = q->submitted - q->job_count, .ended = q->ended };
		int rc = put(ctx, REC_ALLOC, &r, sizeof(r), q->def, r.def_len);
		for (uint32_t j = 0; rc == 0 && j < q->job_count; j++) {
			struct rec_alloc_job jr = { .alloc_id = q->id, .op = REC_ALLOC_JOB_SUBMITTED,
						    .slurm_id = q->jobs[j].slurm_id,
						    .time_ns = q->jobs[j].submitted_ns };
			rc = put(ctx, REC_ALLOC_JOB, &jr, sizeof(jr), NULL, 0);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- the view -------------------------------------------------------------------------- */

static const char *job_state_name(uint8_t s)
{
	switch (s) {
	case ALLOC_JOB_PENDING: return "pending";
	case ALLOC_JOB_RUNNING: return "running";
	}
	return "submitted";
}

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
	char t[64];

	jr_format_rfc3339(ns, t, sizeof(t));
	cJSON_AddStringToObject(o, key, t);
}

static cJSON *jobs_view(const struct alloc_queue *q)
{
	cJSON *list = cJSON_CreateArray();
	char id[24];

	for (uint32_t i = 0; list && i < q->job_count; i++) {
		cJSON *j = cJSON_CreateObject();
		snprintf(id, sizeof(id), "%llu", (unsigned long long)q->jobs[i].slurm_id);
		cJSON_AddStringToObject(j, "slurm_job_id", id);
		cJSON_AddStringToObject(j, "state", job_state_name(q->jobs[i].state));
		add_time(j, "submitted", q->jobs[i].submitted_ns);
		cJSON_AddItemToArray(list, j);
	}
	return list;
}

static void error_view(cJSON *o, const struct alloc_queue *q, uint64_t now_mono_ns)
{
	cJSON_AddStringToObject(o, "status", q->retry_at_ns > now_mono_ns ? "backoff" : "ok");
	cJSON_AddNumberToObject(o, "failures", q->failures);
	if (!q->last_error_ns) {
		cJSON_AddNullToObject(o, "last_error");
		return;
	}
	cJSON_AddStringToObject(o, "last_error", q->last_error);
	add_time(o, "last_error_at", q->last_error_ns);
	if (q->retry_at_ns > now_mono_ns) {
		uint64_t in_ns = q->retry_at_ns - now_mono_ns;
		cJSON_AddNumberToObject(o, "retry_in", (double)in_ns / JR_NS_PER_SEC);
		add_time(o, "retry_at", jr_now_realtime_ns() + in_ns);
	}
}

static void add_text(cJSON *o, const char *key, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* What a node holds, as declared and as the poller knows it, and the
 * jobs it counts against it. */
static void worker_view(cJSON *o, const struct alloc_queue *q)
{
	cJSON *node;

	if (q->p.worker_cpus)
		cJSON_AddNumberToObject(o, "worker_cpus", q->p.worker_cpus);
	else
		cJSON_AddNullToObject(o, "worker_cpus");
	add_text(o, "worker_memory", q->p.worker_memory);
	if (q->p.worker_gpus_set)
		cJSON_AddNumberToObject(o, "worker_gpus", q->p.worker_gpus);
	else
		cJSON_AddNullToObject(o, "worker_gpus");
	add_text(o, "worker_capabilities", q->p.worker_capabilities);
	if (!q->node.known) {
		cJSON_AddNullToObject(o, "node");
	} else if ((node = cJSON_AddObjectToObject(o, "node"))) {
		cJSON_AddNumberToObject(node, "cpus", q->node.cpus);
		if (q->node.mem_bytes == UINT64_MAX)
			cJSON_AddNullToObject(node, "memory_bytes");
		else
			cJSON_AddNumberToObject(node, "memory_bytes", (double)q->node.mem_bytes);
		cJSON_AddNumberToObject(node, "gpus", q->node.gpus);
	}
	cJSON_AddNumberToObject(o, "jobs_waiting", (double)q->jobs_waiting);
	cJSON_AddNumberToObject(o, "jobs_too_big", (double)q->jobs_too_big);
	cJSON_AddNumberToObject(o, "nodes_wanted", (double)q->nodes_wanted);
	cJSON_AddBoolToObject(o, "counted_all", q->counted_all);
}

cJSON *allocs_view(const struct alloc_queue *q, uint64_t now_mono_ns)
{
	cJSON *o = cJSON_CreateObject(), *args;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", q->id);
	cJSON_AddStringToObject(o, "kind", "slurm");
	add_text(o, "partition", q->p.partition);
	cJSON_AddNumberToObject(o, "nodes", q->p.nodes);
	cJSON_AddStringToObject(o, "time", q->p.time);
	cJSON_AddNumberToObject(o, "max_pending", q->p.max_pending);
	cJSON_AddNumberToObject(o, "idle_timeout", q->p.idle_timeout_s);
	args = cJSON_AddArrayToObject(o, "sbatch_args");
	for (uint32_t i = 0; args && i < q->p.sbatch_arg_count; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(q->p.sbatch_args[i]));
	add_text(o, "worker_command", q->p.worker_command);
	add_text(o, "server", q->p.server);
	add_text(o, "access", q->p.access);
	worker_view(o, q);
	cJSON_AddNumberToObject(o, "uid", q->uid);
	add_time(o, "created", q->created_ns);
	cJSON_AddItemToObject(o, "allocations", jobs_view(q));
	cJSON_AddNumberToObject(o, "submitted", (double)q->submitted);
	cJSON_AddNumberToObject(o, "ended", (double)q->ended);
	error_view(o, q, now_mono_ns);
	return o;
}
