/*
 * submit.c - POST /jobs (one job) and POST /jobs/batch (NDJSON, all or
 * none): each job checked (jobspec.h), submitted to the engine, the
 * submission journaled (its answer waits for the record: api.c), its
 * JSON kept for GET /jobs/{id} (submitted.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/arrayspec.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/jobspecplain.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"

#define BATCH_MAX 1000000u

static struct jobspec_submitter submitter(const struct api *a, const struct request *req)
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

void api_submit_batch_record(const struct request *req, struct route_record *out)
{
	const char *p = req->body, *end = req->body + req->body_len, *line;
	size_t len;

	out->jobs = 0;
	while (submitted_next_line(&p, end, &line, &len, NULL))
		if (out->jobs++ == 0 && submitted_is_header(line, len))
			out->jobs--;	/* the header is no job */
	out->bytes = durable_submit_bytes(out->jobs, req->body_len);
}

/* Journal an accepted submission; its answer waits for it (api.c). If
 * it cannot be journaled (no memory, a record over the limit), its jobs
 * are cancelled and the answer is a 507: nothing unjournaled is
 * acknowledged. */
static bool log_submission(struct api *a, struct api_call *c, const jr_job_id *ids, size_t n,
			   uint32_t flags, const struct jr_command_spec *specs)
{
	const struct request *req = c->req;
	struct jobspec_submitter who = submitter(a, req);
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
	struct jobspec_submitter who = submitter(a, req);
	struct jobspec_error err;
	jr_job_id id;
	char ids[17];
	int rc = jr_command_submit(a->engine, &js->spec, &id);

	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		spec_error(c->res, &err);
		return;
	}
	if (!log_submission(a, c, &id, 1, REC_SUBMIT_SINGLE, &js->spec))
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

static bool index_task(void *ctx, const struct submitted_job *task)
{
	return array_index_add(ctx, task->array_job_id, task->array_task_id, task->id) == 0;
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
		if (!s || s->array_job_id != s->id)
			return json_fail(err, 422, "unknown_dependency",
					 "aftercorr: %016llx is not an array",
					 (unsigned long long)js->spec.after[i]);
		submitted_array_tasks(&a->st->jobs, s->id, &cursor, index_task, &c->index);
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
	struct jobspec_submitter who = submitter(a, req);
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
	} else if (log_submission(a, c, ids, n, REC_SUBMIT_SINGLE | REC_SUBMIT_ARRAY, NULL)) {
		array_keep_json(a, c->req, js, ids);
		view_format_id(ids[0], id);
		c->res->status = 201;
		buf_printf(&c->res->body, "{\"job_id\":\"%s\",\"array_job_id\":\"%s\",\"tasks\":%u}",
			   id, id, n);
		a->count.submitted_batch += n;
	}
	free(ids);
}

/* A new submission is checked strictly (jobspec.h), its cwd through the
 * request's cache. */
static struct jobspec_submitter strict_submitter(const struct api *a, const struct request *req,
						 struct cwd_cache *cwd)
{
	struct jobspec_submitter who = submitter(a, req);

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
	struct jobspec_submitter who = strict_submitter(a, req, &cwd);
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

/* --- a batch ---------------------------------------------------------------------------- */

struct batch_line {
	const char *text;
	size_t len;
	size_t number;		/* 1-based line number in the body */
	cJSON *json;
};

/* Kept from one batch to the next (api->batch): a batch of 10,000 needs
 * about 10 MB of arrays, and giving them back to the allocator after each
 * request made every batch fault them in again. */
struct batch {
	struct batch_line header;	/* text NULL: none */
	struct jobspec_batch shared;	/* the header's */
	struct batch_line *lines;
	struct jobspec *specs;
	struct jr_command_spec *flat;
	jr_job_id *ids;
	size_t n, cap;
};

static struct batch *batch_of(struct api *a)
{
	if (!a->batch)
		a->batch = calloc(1, sizeof(struct batch));
	return a->batch;
}

/* Forget the last batch's lines, keeping the arrays. */
static void batch_reset(struct batch *b)
{
	/* The lines' trees are in the JSON arena: they go all at once. */
	for (size_t i = 0; i < b->n; i++)
		jobspec_free(&b->specs[i]);
	jobspec_batch_free(&b->shared);
	json_arena_reset();
	b->header.text = NULL;
	b->n = 0;
}

void api_submit_destroy(struct api *a)
{
	struct batch *b = a->batch;

	if (!b)
		return;
	batch_reset(b);
	free(b->lines);
	free(b->specs);
	free(b->flat);
	free(b->ids);
	free(b);
	a->batch = NULL;
}

static bool grow(void **p, size_t cap, size_t size)
{
	void *n = realloc(*p, cap * size);

	if (n)
		*p = n;
	return n != NULL;
}

static int batch_reserve(struct batch *b, size_t want)
{
	size_t cap = b->cap ? b->cap : 1024;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (!grow((void **)&b->lines, cap, sizeof(*b->lines)) ||
	    !grow((void **)&b->specs, cap, sizeof(*b->specs)) ||
	    !grow((void **)&b->flat, cap, sizeof(*b->flat)) ||
	    !grow((void **)&b->ids, cap, sizeof(*b->ids)))
		return -ENOMEM;
	memset(b->specs + b->cap, 0, (cap - b->cap) * sizeof(*b->specs));
	b->cap = cap;
	return 0;
}

/* Split the body into its non-blank lines. */
static int batch_split(const struct request *req, struct batch *b)
{
	const char *p = req->body, *end = req->body + req->body_len, *line;
	size_t number = 0, len;

	while (submitted_next_line(&p, end, &line, &len, &number)) {
		if (b->n == 0 && !b->header.text && submitted_is_header(line, len)) {
			b->header = (struct batch_line){ line, len, number, NULL };
			continue;
		}
		if (b->n == BATCH_MAX)
			return -E2BIG;
		if (batch_reserve(b, b->n + 1) < 0)
			return -ENOMEM;
		/* specs[n] is clean: zeroed when the array grew, or freed by
		 * batch_reset (jobspec_free leaves it as jobspec_init does) */
		b->lines[b->n++] = (struct batch_line){ line, len, number, NULL };
	}
	return 0;
}

static void line_error(cJSON *errors, const struct batch_line *l, const struct jobspec_error *err)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddNumberToObject(e, "line", (double)l->number);
	cJSON_AddStringToObject(e, "code", err->code);
	cJSON_AddStringToObject(e, "message", err->message);
	cJSON_AddItemToArray(errors, e);
}

/* The header, strict as a job: false (and one bad line) if it fails, or
 * if there is no memory for it. */
static bool batch_parse_header(struct batch *b, size_t *bad, cJSON *errors)
{
	struct batch_line *h = &b->header;
	struct jobspec_error err;

	h->json = json_parse_checked(h->text, h->len, &err);
	if (h->json && jobspec_parse_batch(h->json, &b->shared, &err))
		return true;
	++*bad;
	line_error(errors, h, &err);
	return false;
}

/* Parse every line; collect the errors of those that fail (the first
 * 100 of them). */
static size_t batch_parse(struct api *a, const struct request *req, struct batch *b,
			  cJSON *errors)
{
	struct cwd_cache cwd;
	struct jobspec_submitter who = strict_submitter(a, req, &cwd);
	size_t bad = 0;

	json_arena_begin();	/* reset by batch_reset() */
	if (b->header.text && !batch_parse_header(b, &bad, errors)) {
		json_arena_end();
		cwd_cache_free(&cwd);
		return bad;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct batch_line *l = &b->lines[i];
		struct jobspec_error err;
		/* UTF-8: batch_utf8(). The commonest lines need no tree. */
		if (jobspec_parse_plain(a->engine, l->text, l->len, &who, &b->specs[i])) {
			b->flat[i] = b->specs[i].spec;
			b->flat[i].shared_env = b->shared.env;
			continue;
		}
		l->json = json_parse_checked(l->text, l->len, &err);
		if (!l->json) {
			;
		} else if (jobspec_parse(a->engine, l->json, &who, &b->specs[i], &err) &&
			   (!b->specs[i].array ||
			    json_fail(&err, 422, "invalid_value",
				      "an array is submitted alone, with POST /jobs"))) {
			b->flat[i] = b->specs[i].spec;
			b->flat[i].shared_env = b->shared.env;	/* one pointer: one copy */
			continue;
		}
		if (++bad <= 100)
			line_error(errors, l, &err);
	}
	json_arena_end();
	cwd_cache_free(&cwd);
	return bad;
}

/* The whole body is UTF-8 (400 naming the line, before any is parsed). */
static bool batch_utf8(const struct request *req, struct response *res)
{
	struct jobspec_error err;
	size_t line = 1, at = 0;

	if (json_check_utf8(req->body, req->body_len, &at, &err))
		return true;
	for (size_t i = 0; i < at && i < req->body_len; i++)
		line += req->body[i] == '\n';
	return reply_error(res, 400, err.code, "line %zu: %s", line, err.message);
}

/* Lines that are not JSON (malformed, not UTF-8, a key twice). */
static bool malformed(const char *code)
{
	return strcmp(code, "invalid_json") == 0 || strcmp(code, "invalid_utf8") == 0 ||
	       strcmp(code, "duplicate_key") == 0;
}

static void batch_error(struct response *res, size_t bad, size_t n, cJSON *errors)
{
	cJSON *body = cJSON_CreateObject(), *e = cJSON_CreateObject();
	char msg[128];
	bool all_malformed = true;
	const cJSON *item;

	cJSON_ArrayForEach(item, errors)
		if (!malformed(cJSON_GetObjectItem(item, "code")->valuestring))
			all_malformed = false;
	snprintf(msg, sizeof(msg), "%zu of %zu lines are invalid; nothing was submitted", bad, n);
	cJSON_AddStringToObject(e, "code", "invalid_batch");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddItemToObject(e, "lines", errors);
	cJSON_AddItemToObject(body, "error", e);
	reply_json(res, all_malformed ? 400 : 422, body);
}

/* The answer lists n ids: written by hand, it is most of the batch's
 * output (cJSON would build and print n nodes). */
static void batch_answer(struct response *res, const struct batch *b)
{
	struct buf *out = &res->body;
	char id[17];

	res->status = 201;
	buf_printf(out, "{\"count\":%zu,\"job_ids\":[", b->n);
	buf_reserve(out, b->n * 19 + 8);
	if (out->oom)
		return;
	/* Straight into the reserved room: three appends a job were 5% of
	 * the batch's instructions. */
	char *w = out->p + out->len;
	for (size_t i = 0; i < b->n; i++) {
		view_format_id(b->ids[i], id);
		if (i)
			*w++ = ',';
		*w++ = '"';
		memcpy(w, id, 16);
		w += 16;
		*w++ = '"';
	}
	out->len = (size_t)(w - out->p);
	buf_puts(out, "]}");
}

/* Each job's JSON is its line of one copy of the body. */
static void batch_keep_json(struct api *a, const struct request *req, const struct batch *b)
{
	struct jobspec_submitter who = submitter(a, req);
	struct submitted_block *block = submitted_block_new(req->body, req->body_len);

	if (block && b->header.text)
		submitted_block_set_header(block, (size_t)(b->header.text - req->body),
					   b->header.len);
	for (size_t i = 0; i < b->n; i++) {
		submitted_put(&a->st->jobs, b->ids[i], block, (size_t)(b->lines[i].text - req->body),
			      b->lines[i].len, &who);
	}
	events_jobs_submitted(a->st->events, a->engine, b->ids, b->n);	/* GET /events (issue 16) */
	if (block && block->refs == 0)
		free(block);
}

static void submit_batch_parsed(struct api *a, struct api_call *c, struct batch *b)
{
	struct jobspec_error err;
	size_t bad_index = 0;
	int rc = jr_command_submit_batch(a->engine, b->flat, b->n, b->ids, &bad_index);

	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		reply_error(c->res, err.status, err.code, "line %zu: %s",
			    b->lines[bad_index < b->n ? bad_index : 0].number, err.message);
		return;
	}
	if (!log_submission(a, c, b->ids, b->n, b->header.text ? REC_SUBMIT_HEADER : 0, b->flat))
		return;
	batch_keep_json(a, c->req, b);
	a->count.submitted_batch += b->n;
	a->count.batches++;
	batch_answer(c->res, b);
}

static void batch_refused(struct response *res, int rc)
{
	if (rc == -E2BIG)
		reply_error(res, 413, "too_large", "at most %u jobs per batch", BATCH_MAX);
	else
		reply_error(res, rc ? 503 : 400, rc ? "out_of_memory" : "empty_batch",
			    rc ? "no memory for the batch" : "the body holds no job");
}

void api_submit_batch(struct api *a, struct api_call *c)
{
	struct batch *b = batch_of(a);
	cJSON *errors;
	size_t bad, n;
	int rc = b ? batch_split(c->req, b) : -ENOMEM;

	n = b ? b->n : 0;
	if (rc < 0 || n == 0) {
		batch_refused(c->res, rc);
	} else if (!batch_utf8(c->req, c->res)) {
		;
	} else if (!(errors = cJSON_CreateArray())) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the batch");
	} else if ((bad = batch_parse(a, c->req, b, errors)) > 0) {
		batch_error(c->res, bad, n + (b->header.text != NULL), errors);
	} else {
		cJSON_Delete(errors);
		submit_batch_parsed(a, c, b);
	}
	if (c->res->status >= 400)
		a->count.rejected += n;
	if (b)
		batch_reset(b);
}
