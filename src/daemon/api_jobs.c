/*
 * api_jobs.c - /jobs: submit one (POST /jobs) or many (POST /jobs/batch,
 * NDJSON, all or none), show, list with filters and a cursor, cancel, and
 * read a job's output (GET /jobs/{id}/logs).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/durable.h"
#include "daemon/jobspec.h"
#include "daemon/jsonarena.h"

#define BATCH_MAX 1000000u
#define LOG_CHUNK_MAX (1u << 20)

/* --- the side table ----------------------------------------------------------------- */

static struct api_job_side *side_of(struct api *a, jr_job_id id)
{
	uint32_t index = (uint32_t)id;	/* the engine's slot index */

	return index < a->capacity ? &a->side[index] : NULL;
}

struct api_side_block *api_jobs_block_new(const char *body, size_t len)
{
	struct api_side_block *b = malloc(sizeof(*b) + len + 1);

	if (!b)
		return NULL;
	b->refs = 0;
	memcpy(b->text, body, len);
	b->text[len] = '\0';
	return b;
}

void api_jobs_side_release(struct api_job_side *s)
{
	if (s->block && --s->block->refs == 0)
		free(s->block);
	s->block = NULL;
	s->json = NULL;
}

/* One copy of the request body for all its jobs, not one allocation per
 * job: a batch of 10,000 keeps one block. */
void api_jobs_side_put(struct api *a, jr_job_id id, struct api_side_block *block,
		       size_t offset, size_t len, const struct rec_submit *who)
{
	struct api_job_side *s = side_of(a, id);

	if (!s)
		return;
	api_jobs_side_release(s);
	s->id = id;
	s->uid = who->uid;
	s->gid = who->gid;
	s->flags = who->flags & REC_SUBMIT_SWITCH_USER;
	if (!block)
		return;
	block->text[offset + len] = '\0';	/* the line's newline, or the end */
	block->refs++;
	s->block = block;
	s->json = block->text + offset;
}

const char *api_jobs_side_get(struct api *a, jr_job_id id)
{
	struct api_job_side *s = side_of(a, id);

	return s && s->id == id ? s->json : NULL;
}

/* --- submitting ------------------------------------------------------------------------ */

static struct jobspec_submitter submitter(const struct api *a, const struct request *req)
{
	struct jobspec_submitter who = { req->uid, req->gid, false };

	/* Root's daemon runs each user's jobs as that user; root's own as root. */
	who.switch_user = a->daemon_uid == 0 && req->uid != 0;
	return who;
}

static bool spec_error(struct response *res, const struct jobspec_error *err)
{
	return api_error(res, err->status, err->code, "%s", err->message);
}

/* Journal an accepted submission; its answer waits for it (api_handle).
 * If it cannot be journaled (no memory, a record over the limit), its
 * jobs are cancelled and the answer is a 507: nothing unjournaled is
 * acknowledged. */
static bool log_submission(struct api *a, const struct request *req, const jr_job_id *ids,
			   size_t n, bool single, struct rec_submit *head, struct response *res)
{
	struct jobspec_submitter who = submitter(a, req);
	struct rec_submit_args args = {
		.head = { .uid = req->uid, .gid = req->gid, .count = (uint32_t)n,
			  .created_ns = api_now_ns(),
			  .flags = (single ? REC_SUBMIT_SINGLE : 0) |
				   (who.switch_user ? REC_SUBMIT_SWITCH_USER : 0) },
		.ids = ids, .body = req->body, .body_len = req->body_len,
	};

	*head = args.head;
	a->ack_seq = durable_log_submit(a->durable, &args);
	if (a->ack_seq)
		return true;
	for (size_t i = 0; i < n; i++)
		jr_job_cancel(a->engine, ids[i]);
	return api_error(res, 507, "journal_unavailable",
			 "the submission could not be journaled: nothing was submitted");
}

/* A parsed job into the engine, then the journal: 201 with its id. */
static void submit_one_parsed(struct api *a, const struct request *req,
			      const struct jobspec *js, struct response *res)
{
	struct jobspec_error err;
	struct rec_submit head;
	jr_job_id id;
	char ids[17];
	int rc = jr_command_submit(a->engine, &js->spec, &id);

	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		spec_error(res, &err);
		return;
	}
	if (!log_submission(a, req, &id, 1, true, &head, res))
		return;
	api_jobs_side_put(a, id, api_jobs_block_new(req->body, req->body_len), 0,
			  req->body_len, &head);
	api_format_id(id, ids);
	res->status = 201;
	buf_printf(&res->body, "{\"job_id\":\"%s\"}", ids);
	a->count.submitted_single++;
}

static void submit_one(struct api *a, const struct request *req, struct response *res)
{
	struct jobspec_submitter who = submitter(a, req);
	cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
	struct jobspec_error err;
	struct jobspec js;

	memset(&js, 0, sizeof(js));
	if (!o)
		api_error(res, 400, "invalid_json", "the body is not JSON");
	else if (!durable_admit(a->durable, durable_submit_bytes(1, req->body_len), res))
		;	/* 507 */
	else if (jobspec_parse(a->engine, o, &who, &js, &err))
		submit_one_parsed(a, req, &js, res);
	else
		spec_error(res, &err);
	if (res->status >= 400)
		a->count.rejected++;
	jobspec_free(&js);
	cJSON_Delete(o);
}

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
	json_arena_reset();
	b->n = 0;
}

void api_jobs_destroy(struct api *a)
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

bool api_next_line(const char **p, const char *end, const char **line, size_t *len,
		   size_t *number)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *stop = nl ? nl : end, *start = *p;
		*p = stop + 1;
		if (number)
			++*number;
		if (stop > start && !(stop - start == 1 && *start == '\r')) {
			*line = start;
			*len = (size_t)(stop - start);
			return true;
		}
	}
	return false;
}

/* Split the body into its non-blank lines. */
static int batch_split(const struct request *req, struct batch *b)
{
	const char *p = req->body, *end = req->body + req->body_len, *line;
	size_t number = 0, len;

	while (api_next_line(&p, end, &line, &len, &number)) {
		if (b->n == BATCH_MAX)
			return -E2BIG;
		if (batch_reserve(b, b->n + 1) < 0)
			return -ENOMEM;
		memset(&b->specs[b->n], 0, sizeof(b->specs[b->n]));
		b->lines[b->n++] = (struct batch_line){ line, len, number, NULL };
	}
	return 0;
}

/* Parse every line; collect the errors of those that fail. */
static size_t batch_parse(struct api *a, const struct request *req, struct batch *b,
			  cJSON *errors)
{
	struct jobspec_submitter who = submitter(a, req);
	size_t bad = 0;

	json_arena_begin();	/* reset by batch_reset() */
	for (size_t i = 0; i < b->n; i++) {
		struct batch_line *l = &b->lines[i];
		struct jobspec_error err;
		l->json = cJSON_ParseWithLength(l->text, l->len);
		if (!l->json) {
			err = (struct jobspec_error){ 400, "invalid_json", "the line is not JSON" };
		} else if (jobspec_parse(a->engine, l->json, &who, &b->specs[i], &err)) {
			b->flat[i] = b->specs[i].spec;
			continue;
		}
		if (++bad <= 100) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddNumberToObject(e, "line", (double)l->number);
			cJSON_AddStringToObject(e, "code", err.code);
			cJSON_AddStringToObject(e, "message", err.message);
			cJSON_AddItemToArray(errors, e);
		}
	}
	json_arena_end();
	return bad;
}

static void batch_error(struct response *res, size_t bad, size_t n, cJSON *errors)
{
	cJSON *body = cJSON_CreateObject(), *e = cJSON_CreateObject();
	char msg[128];
	bool all_malformed = true;
	const cJSON *item;

	cJSON_ArrayForEach(item, errors)
		if (strcmp(cJSON_GetObjectItem(item, "code")->valuestring, "invalid_json") != 0)
			all_malformed = false;
	snprintf(msg, sizeof(msg), "%zu of %zu lines are invalid; nothing was submitted", bad, n);
	cJSON_AddStringToObject(e, "code", "invalid_batch");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddItemToObject(e, "lines", errors);
	cJSON_AddItemToObject(body, "error", e);
	api_json(res, all_malformed ? 400 : 422, body);
}

/* The answer lists n ids: written by hand, it is most of the batch's
 * output (cJSON would build and print n nodes). */
static void batch_answer(struct response *res, const struct batch *b)
{
	char id[17];

	res->status = 201;
	buf_reserve(&res->body, b->n * 19 + 64);
	buf_printf(&res->body, "{\"count\":%zu,\"job_ids\":[", b->n);
	for (size_t i = 0; i < b->n; i++) {
		api_format_id(b->ids[i], id);
		buf_append(&res->body, i ? ",\"" : "\"", i ? 2 : 1);
		buf_append(&res->body, id, 16);
		buf_append(&res->body, "\"", 1);
	}
	buf_puts(&res->body, "]}");
}

static void submit_batch_parsed(struct api *a, const struct request *req, struct batch *b,
				struct response *res)
{
	struct api_side_block *block;
	struct jobspec_error err;
	struct rec_submit head;
	size_t bad_index = 0;
	int rc;

	if (!durable_admit(a->durable, durable_submit_bytes(b->n, req->body_len), res))
		return;
	rc = jr_command_submit_batch(a->engine, b->flat, b->n, b->ids, &bad_index);
	if (rc < 0) {
		jobspec_engine_error(rc, &err);
		api_error(res, err.status, err.code, "line %zu: %s",
			  b->lines[bad_index < b->n ? bad_index : 0].number, err.message);
		return;
	}
	if (!log_submission(a, req, b->ids, b->n, false, &head, res))
		return;
	block = api_jobs_block_new(req->body, req->body_len);
	for (size_t i = 0; i < b->n; i++)
		api_jobs_side_put(a, b->ids[i], block, (size_t)(b->lines[i].text - req->body),
				  b->lines[i].len, &head);
	if (block && block->refs == 0)
		free(block);
	a->count.submitted_batch += b->n;
	a->count.batches++;
	batch_answer(res, b);
}

static void submit_batch(struct api *a, const struct request *req, struct response *res)
{
	struct batch *b = batch_of(a);
	cJSON *errors;
	size_t bad, n;
	int rc = b ? batch_split(req, b) : -ENOMEM;

	n = b ? b->n : 0;
	if (rc < 0 || n == 0) {
		if (rc == -E2BIG)
			api_error(res, 413, "too_large", "at most %u jobs per batch", BATCH_MAX);
		else
			api_error(res, rc ? 503 : 400, rc ? "out_of_memory" : "empty_batch",
				  rc ? "no memory for the batch" : "the body holds no job");
	} else if (!(errors = cJSON_CreateArray())) {
		api_error(res, 503, "out_of_memory", "no memory for the batch");
	} else if ((bad = batch_parse(a, req, b, errors)) > 0) {
		batch_error(res, bad, n, errors);
	} else {
		cJSON_Delete(errors);
		submit_batch_parsed(a, req, b, res);
	}
	if (res->status >= 400)
		a->count.rejected += n;
	if (b)
		batch_reset(b);
}

/* --- reading ------------------------------------------------------------------------------ */

static bool get_job(struct api *a, const char *ids, struct jr_job_info *info,
		    struct response *res)
{
	uint64_t id;

	if (!api_parse_id(ids, &id))
		return api_error(res, 404, "not_found", "no such job: %s", ids);
	if (jr_job_get(a->engine, id, info) < 0)
		return api_error(res, 404, "not_found", "no such job (or it aged out): %s", ids);
	return true;
}

static void show_job(struct api *a, const char *ids, struct response *res)
{
	struct jr_job_info info;

	if (get_job(a, ids, &info, res))
		api_json(res, 200, api_job_json(a, &info));
}

/* "queued,running" into a state mask; false if a name is unknown. */
static bool status_mask(const char *list, uint32_t *mask)
{
	*mask = 0;
	while (*list) {
		size_t n = strcspn(list, ",");
		bool known = false;
		for (int s = JR_JOB_PENDING; s <= JR_JOB_CANCELLED; s++) {
			const char *name = jr_job_state_name(s);
			if (strlen(name) == n && strncmp(name, list, n) == 0) {
				*mask |= 1u << s;
				known = true;
			}
		}
		if (!known)
			return false;
		list += n + (list[n] == ',');
	}
	return true;
}

struct list_params {
	uint32_t mask;
	int priority;
	uint32_t limit;
	uint64_t cursor;
};

static bool list_params(const struct request *req, struct list_params *p, struct response *res)
{
	char v[256], *end;

	p->mask = 0;
	p->priority = -1;
	p->limit = 100;
	p->cursor = 0;
	if (api_query(req->query, "status", v, sizeof(v)) && !status_mask(v, &p->mask))
		return api_error(res, 422, "invalid_value", "unknown status in \"%s\"", v);
	if (api_query(req->query, "priority", v, sizeof(v))) {
		long pr = strtol(v, &end, 10);
		if (*end || end == v || pr < JR_PRIORITY_MIN || pr > JR_PRIORITY_MAX)
			return api_error(res, 422, "invalid_value", "priority must be 0 to 7");
		p->priority = (int)pr;
	}
	if (api_query(req->query, "limit", v, sizeof(v))) {
		unsigned long l = strtoul(v, &end, 10);
		if (*end || end == v || l == 0 || l > API_LIST_LIMIT_MAX)
			return api_error(res, 422, "invalid_value", "limit must be 1 to %u",
					 API_LIST_LIMIT_MAX);
		p->limit = (uint32_t)l;
	}
	if (api_query(req->query, "cursor", v, sizeof(v))) {
		p->cursor = strtoull(v, &end, 10);
		if (*end || end == v)
			return api_error(res, 422, "invalid_value", "bad cursor");
	}
	return true;
}

static void list_jobs(struct api *a, const struct request *req, struct response *res)
{
	struct list_params p;
	struct jr_job_info info;
	cJSON *body, *jobs;
	uint32_t n = 0;
	char next[24];

	if (!list_params(req, &p, res))
		return;
	body = cJSON_CreateObject();
	jobs = cJSON_AddArrayToObject(body, "jobs");
	while (n < p.limit && jr_job_scan(a->engine, &p.cursor, p.mask, p.priority, &info) == 1) {
		cJSON_AddItemToArray(jobs, api_job_json(a, &info));
		n++;
	}
	/* A full page may be the last one: the next request says so. */
	if (n == p.limit) {
		snprintf(next, sizeof(next), "%llu", (unsigned long long)p.cursor);
		cJSON_AddStringToObject(body, "next_cursor", next);
	} else {
		cJSON_AddNullToObject(body, "next_cursor");
	}
	api_json(res, 200, body);
}

static bool is_final_state(enum jr_job_state s)
{
	return s == JR_JOB_SUCCEEDED || s == JR_JOB_FAILED || s == JR_JOB_CANCELLED;
}

static void already_finished(struct response *res, const char *ids, const struct jr_job_info *info)
{
	api_error(res, 409, "already_finished", "job %s has already %s", ids,
		  jr_job_state_name(info->state));
}

static void cancel_job(struct api *a, const struct request *req, const char *ids,
		       struct response *res)
{
	struct jr_job_info info;
	int rc;

	if (!get_job(a, ids, &info, res))
		return;
	if (req->uid != 0 && info.owner_uid != req->uid) {
		api_error(res, 403, "forbidden", "job %s belongs to uid %u", ids, info.owner_uid);
		return;
	}
	if (is_final_state(info.state)) {
		already_finished(res, ids, &info);
		return;
	}
	struct rec_cancel rec = { .job_id = info.job_id, .uid = req->uid };
	a->ack_seq = durable_log(a->durable, REC_CANCEL, &rec, sizeof(rec), NULL, 0);
	/* A running job is signalled once the record is on disk (when the
	 * answer goes too): a crash before then loses the cancel whole, not
	 * its record only. One that waits has nothing to undo. */
	if (info.state != JR_JOB_RUNNING ||
	    !durable_cancel_after(a->durable, a->ack_seq, info.job_id)) {
		rc = jr_job_cancel(a->engine, info.job_id);
		if (rc == -EALREADY || rc == -EINVAL) {	/* it ended just now */
			a->ack_seq = 0;
			jr_job_get(a->engine, info.job_id, &info);
			already_finished(res, ids, &info);
			return;
		}
		if (rc < 0 && rc != -EBUSY) {
			a->ack_seq = 0;
			api_error(res, 404, "not_found", "no such job: %s", ids);
			return;
		}
	}
	jr_job_get(a->engine, info.job_id, &info);
	if (!is_final_state(info.state))
		durable_note_cancel(a->durable, info.job_id);
	api_json(res, 200, api_job_json(a, &info));
}

/* GET /jobs/{id}/logs?stream=stdout|stderr&offset=N: up to 1 MiB from N. */
static void read_logs(struct api *a, const struct request *req, const char *ids,
		      struct response *res)
{
	struct jr_job_info info;
	char stream[16] = "stdout", off[32] = "0";
	cJSON *body;
	char *data;
	ssize_t n;
	int fd;

	if (!get_job(a, ids, &info, res))
		return;
	if (req->uid != 0 && info.owner_uid != req->uid) {
		api_error(res, 403, "forbidden", "job %s belongs to uid %u", ids, info.owner_uid);
		return;
	}
	api_query(req->query, "stream", stream, sizeof(stream));
	api_query(req->query, "offset", off, sizeof(off));
	if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) {
		api_error(res, 422, "invalid_value", "stream must be stdout or stderr");
		return;
	}
	data = malloc(LOG_CHUNK_MAX + 1);
	fd = open(stream[3] == 'o' ? info.stdout_path : info.stderr_path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 && data ? pread(fd, data, LOG_CHUNK_MAX, (off_t)strtoull(off, NULL, 10)) : 0;
	if (fd >= 0)
		close(fd);
	n = n < 0 ? 0 : n;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "stream", stream);
	cJSON_AddNumberToObject(body, "offset", (double)strtoull(off, NULL, 10));
	cJSON_AddNumberToObject(body, "next_offset", (double)(strtoull(off, NULL, 10) + (uint64_t)n));
	if (data) {
		data[n] = '\0';
		cJSON_AddStringToObject(body, "data", data);
	}
	cJSON_AddBoolToObject(body, "finished", info.state >= JR_JOB_SUCCEEDED);
	free(data);
	api_json(res, 200, body);
}

/* --- routes -------------------------------------------------------------------------------- */

static bool method_is(const struct request *req, const char *m)
{
	return strcmp(req->method, m) == 0;
}

static bool not_allowed(struct response *res, const char *allowed)
{
	return !api_error(res, 405, "method_not_allowed", "use %s", allowed);
}

/* /jobs/{id}[/action] */
static bool route_one(struct api *a, const struct request *req, struct response *res)
{
	const char *rest = req->path + strlen("/jobs/");
	char ids[32];
	size_t n = strcspn(rest, "/");
	const char *action = rest[n] ? rest + n + 1 : "";

	if (n >= sizeof(ids))
		return !api_error(res, 404, "not_found", "no such job");
	memcpy(ids, rest, n);
	ids[n] = '\0';
	if (!*action) {
		if (!method_is(req, "GET"))
			return not_allowed(res, "GET");
		show_job(a, ids, res);
	} else if (strcmp(action, "cancel") == 0) {
		if (!method_is(req, "PUT") && !method_is(req, "POST"))
			return not_allowed(res, "PUT");
		cancel_job(a, req, ids, res);
	} else if (strcmp(action, "logs") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(res, "GET");
		read_logs(a, req, ids, res);
	} else {
		return false;	/* /execute is the workers' */
	}
	return true;
}

bool api_route_jobs(struct api *a, const struct request *req, struct response *res)
{
	if (strcmp(req->path, "/jobs") == 0) {
		if (method_is(req, "POST"))
			submit_one(a, req, res);
		else if (method_is(req, "GET"))
			list_jobs(a, req, res);
		else
			return not_allowed(res, "GET or POST");
		return true;
	}
	if (strcmp(req->path, "/jobs/batch") == 0) {
		if (!method_is(req, "POST"))
			return not_allowed(res, "POST");
		submit_batch(a, req, res);
		return true;
	}
	if (strncmp(req->path, "/jobs/", 6) == 0)
		return route_one(a, req, res);
	return false;
}
