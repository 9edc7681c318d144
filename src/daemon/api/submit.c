/*
 * submit.c - POST /jobs (one job, or an array): the job checked
 * (jobspec.h), submitted to the engine, the submission journaled (its
 * answer waits for the record: api.c), its JSON kept for GET /jobs/{id}
 * (submitted.h). POST /jobs/batch is batch.c's, with what it shares
 * from here in submit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/api/submit.h"
#include "daemon/net/reply.h"
#include "daemon/state/arrayspec.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"

struct jobspec_submitter submit_who(const struct api *a, const struct request *req)
{
	struct jobspec_submitter who = { req->uid, req->gid, false };

	/* Root's daemon runs each user's jobs as that user; root's own as root. */
	who.switch_user = a->daemon_uid == 0 && req->uid != 0;
	return who;
}

static bool spec_error(struct response *res, const struct jobspec_error *err)
{
	return reply_error(res, err->status, err->code, "%s", err->message);
}

void api_submit_one_record(const struct request *req, struct route_record *out)
{
	out->bytes = durable_submit_bytes(1, req->body_len);
	out->jobs = 1;
}

bool submit_log(struct api *a, struct api_call *c, const jr_job_id *ids, size_t n, uint32_t flags,
		 const struct jr_command_spec *specs)
{
	const struct request *req = c->req;
	struct jobspec_submitter who = submit_who(a, req);
	struct rec_submit_args args = {
		.head = { .uid = req->uid, .gid = req->gid, .count = (uint32_t)n,
			  .created_ns = jr_now_realtime_ns(),
			  .flags = flags | (who.switch_user ? REC_SUBMIT_SWITCH_USER : 0) },
		.ids = ids, .body = req->body, .body_len = req->body_len, .specs = specs,
	};

	c->record_seq = durable_log_submit(a->durable, &args);
	if (c->record_seq)
		return true;
	for (size_t i = 0; i < n; i++)
		jr_job_cancel(a->engine, ids[i]);
	return reply_error(c->res, 507, "journal_unavailable",
			   "the submission could not be journaled: nothing was submitted");
}

/* --- one job -------------------------------------------------------------------------- */

/* A parsed job into the engine, then the journal: 201 with its id. */
static void submit_one_parsed(struct api *a, struct api_call *c, const struct jobspec *js)
{
	const struct request *req = c->req;
	struct jobspec_submitter who = submit_who(a, req);
	struct jobspec_error err;
	jr_job_id id;
	char ids[17];
	int rc = jr_command_submit(a->engine, &js->spec, &id);

	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		spec_error(c->res, &err);
		return;
	}
	if (!submit_log(a, c, &id, 1, REC_SUBMIT_SINGLE, &js->spec))
		return;
	submitted_put(&a->st->jobs, id, submitted_block_new(req->body, req->body_len), 0,
		      req->body_len, &who);
	events_job(a->st->events, a->engine, id, EVENTS_SUBMITTED);	/* GET /events (issue 16) */
	view_format_id(id, ids);
	c->res->status = 201;
	buf_printf(&c->res->body, "{\"job_id\":\"%s\"}", ids);
	a->count.submitted_single++;
}

/* --- an array ------------------------------------------------------------------------- */

/* An array goes to the engine in chunks of at most this many tasks: a
 * million specs at once would be 256 MB. With aftercorr, a chunk's
 * rewritten dependencies stay under CORR_IDS_MAX ids (36 MB). */
#define ARRAY_CHUNK 65536u
#define CORR_IDS_MAX (4u << 20)

static uint32_t chunk_len(const struct jobspec *js, bool corr)
{
	size_t deps = corr ? js->spec.after_count : 0;
	uint32_t len = ARRAY_CHUNK;

	if (deps && deps * len > CORR_IDS_MAX)
		len = (uint32_t)(CORR_IDS_MAX / deps);
	return len < js->array->count ? len : js->array->count;
}

/* What all tasks share beneath their own env: the array's size and
 * bounds (Slurm's SLURM_ARRAY_TASK_COUNT/MIN/MAX). */
struct array_env {
	char count[48], min[48], max[48];
	char *v[4];
};

static void array_env_init(struct array_env *e, const struct arrayspec *as)
{
	snprintf(e->count, sizeof(e->count), "JOBRING_ARRAY_TASK_COUNT=%u", as->count);
	snprintf(e->min, sizeof(e->min), "JOBRING_ARRAY_TASK_MIN=%u", as->min);
	snprintf(e->max, sizeof(e->max), "JOBRING_ARRAY_TASK_MAX=%u", as->max);
	e->v[0] = e->count;
	e->v[1] = e->min;
	e->v[2] = e->max;
	e->v[3] = NULL;
}

/* An array's tasks as aftercorr needs them, and room for a chunk's
 * rewritten dependencies. */
struct array_corr {
	struct array_index index;
	jr_job_id *after;
	uint8_t *types;
};

static jr_job_id corr_find(void *ctx, jr_job_id array, uint32_t index)
{
	return array_index_find(ctx, array, index);
}

static bool index_task(void *ctx, const struct submitted_job *task, jr_job_id id)
{
	return array_index_add(ctx, task->array_job_id, task->array_task_id, id) == 0;
}

/* Each aftercorr dependency must be an array's id: its tasks indexed. */
static bool corr_prepare(struct api *a, const struct jobspec *js, struct array_corr *c,
			 struct jobspec_error *err)
{
	const uint8_t *types = js->spec.after_types;
	size_t n = js->spec.after_count;

	for (size_t i = 0; types && i < n; i++) {
		const struct submitted_job *s = submitted_of(&a->st->jobs, js->spec.after[i]);
		uint32_t cursor = 0;
		if (types[i] != JOBSPEC_DEP_AFTERCORR)
			continue;
		if (!s || s->array_job_id != js->spec.after[i])
			return json_fail(err, 422, "unknown_dependency",
					 "aftercorr: %016llx is not an array",
					 (unsigned long long)js->spec.after[i]);
		submitted_array_tasks(&a->st->jobs, js->spec.after[i], &cursor, index_task,
				      &c->index);
	}
	array_index_sort(&c->index);
	c->after = malloc((size_t)chunk_len(js, true) * n * sizeof(*c->after));
	c->types = malloc((size_t)chunk_len(js, true) * n);
	if (!c->after || !c->types)
		return json_fail(err, 503, "out_of_memory", "no memory for the array's dependencies");
	return true;
}

static void corr_free(struct array_corr *c)
{
	array_index_free(&c->index);
	free(c->after);
	free(c->types);
}

/* Tasks [first, first + n) into the engine; the first chunk's first id is
 * the array's. With corr, each task's aftercorr edges point at the other
 * array's task of its index. */
static int array_chunk(struct api *a, const struct jobspec *js, struct jr_command_spec *specs,
		       struct array_env *env, struct array_corr *corr, uint32_t first, uint32_t n,
		       jr_job_id *ids)
{
	size_t deps = js->spec.after_count;

	for (uint32_t k = 0; k < n; k++) {
		specs[k] = js->spec;
		if (corr)
			jobspec_corr(js, arrayspec_index(js->array, first + k), &specs[k],
				     corr->after + k * deps, corr->types + k * deps, corr_find,
				     &corr->index);
		specs[k].flags |= JR_COMMAND_ARRAY_TASK;
		specs[k].array_task_id = arrayspec_index(js->array, first + k);
		specs[k].array_job_id = first ? ids[0] : 0;
		specs[k].throttle_max = js->array->throttle;
		specs[k].shared_env = env->v;
	}
	return jr_command_submit_batch(a->engine, specs, n, ids + first, NULL);
}

/* Every task into the engine, or none: a chunk refused cancels the
 * chunks before it (their ids were never given to anyone). */
static int array_submit(struct api *a, const struct jobspec *js, struct array_corr *corr,
			jr_job_id *ids)
{
	struct jr_command_spec *specs;
	struct array_env env;
	uint32_t n = js->array->count, done = 0, len = chunk_len(js, corr != NULL);
	struct jr_stats st;
	int rc = 0;

	/* More tasks than slots: refused before any slot is taken (taking
	 * them reuses the oldest finished jobs' slots). */
	if (jr_engine_stats(a->engine, &st) == 0 && n >= st.capacity)
		return -EAGAIN;
	specs = malloc((size_t)len * sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	array_env_init(&env, js->array);
	while (rc == 0 && done < n) {
		uint32_t m = n - done < len ? n - done : len;
		rc = array_chunk(a, js, specs, &env, corr, done, m, ids);
		done += rc == 0 ? m : 0;
	}
	free(specs);
	for (uint32_t i = 0; rc < 0 && i < done; i++)
		jr_job_cancel(a->engine, ids[i]);
	return rc;
}

/* Each task's JSON is the whole body, kept once. */
static void array_keep_json(struct api *a, const struct request *req, const struct jobspec *js,
			    const jr_job_id *ids)
{
	struct jobspec_submitter who = submit_who(a, req);
	struct submitted_block *block = submitted_block_new(req->body, req->body_len);

	for (uint32_t i = 0; i < js->array->count; i++) {
		submitted_put(&a->st->jobs, ids[i], block, 0, req->body_len, &who);
		submitted_set_array(&a->st->jobs, ids[i], ids[0], arrayspec_index(js->array, i));
	}
	events_jobs_submitted(a->st->events, a->engine, ids, js->array->count);	/* GET /events */
	if (block && block->refs == 0)
		free(block);
}

/* 201 {"job_id": A, "array_job_id": A, "tasks": N}: A is the first task's
 * id, as Slurm's array job id is. */
static void submit_array_parsed(struct api *a, struct api_call *c, const struct jobspec *js)
{
	uint32_t n = js->array->count;
	struct array_corr corr = { { 0 } };
	bool has_corr = jobspec_has_corr(js);
	struct jobspec_error err;
	jr_job_id *ids = NULL;
	char id[17];
	int rc;

	if (has_corr && !corr_prepare(a, js, &corr, &err)) {
		spec_error(c->res, &err);
		corr_free(&corr);
		return;
	}
	ids = malloc((size_t)n * sizeof(*ids));
	rc = ids ? array_submit(a, js, has_corr ? &corr : NULL, ids) : -ENOMEM;
	corr_free(&corr);
	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		spec_error(c->res, &err);
	} else if (submit_log(a, c, ids, n, REC_SUBMIT_SINGLE | REC_SUBMIT_ARRAY, NULL)) {
		array_keep_json(a, c->req, js, ids);
		view_format_id(ids[0], id);
		c->res->status = 201;
		buf_printf(&c->res->body, "{\"job_id\":\"%s\",\"array_job_id\":\"%s\",\"tasks\":%u}",
			   id, id, n);
		a->count.submitted_batch += n;
	}
	free(ids);
}

struct jobspec_submitter submit_strict_who(const struct api *a, const struct request *req,
					   struct cwd_cache *cwd)
{
	struct jobspec_submitter who = submit_who(a, req);

	cwd_cache_init(cwd, req->uid, req->gid, who.switch_user);
	who.strict = true;
	who.hide_others = a->st && a->st->private_jobs && req->uid != 0;
	who.cwd = cwd;
	return who;
}

void api_submit_one(struct api *a, struct api_call *c)
{
	const struct request *req = c->req;
	struct cwd_cache cwd;
	struct jobspec_submitter who = submit_strict_who(a, req, &cwd);
	struct jobspec_error err;
	cJSON *o = json_parse_strict(req->body, req->body_len, &err);
	struct jobspec js;

	memset(&js, 0, sizeof(js));
	if (!o || !jobspec_parse(a->engine, o, &who, &js, &err))
		spec_error(c->res, &err);
	else if (js.array)
		submit_array_parsed(a, c, &js);
	else
		submit_one_parsed(a, c, &js);
	if (c->res->status >= 400)
		a->count.rejected++;
	jobspec_free(&js);
	cJSON_Delete(o);
	cwd_cache_free(&cwd);
}
