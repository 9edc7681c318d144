/*
 * batch.c - POST /jobs/batch: NDJSON, one job a line after an optional
 * header line, all or none. Each line is checked (jobspec.h), then the
 * jobs go to the engine at once, the batch is journaled as one record
 * (its answer waits for it: api.c) and each job's JSON is kept as its
 * line of one copy of the body (submitted.h).
 *
 * A batch of more than BATCH_SLICE lines is not parsed in one stretch
 * of the event loop: its request is copied, its answer deferred, and
 * api_batch_tick parses it a slice at a time, BATCH_TURN_NS a turn, so
 * that the requests arriving meanwhile (an external worker's
 * completion, a heartbeat) wait one slice instead of the whole batch.
 * Only the last step, engine and journal, is one stretch: all or none.
 * One batch is parsed at a time (its trees are in the thread's JSON
 * arena); batches that arrive meanwhile wait their turn, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/api/submit.h"
#include "daemon/net/reply.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/jobspecplain.h"
#include "daemon/state/jsonarena.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"

#define BATCH_MAX 1000000u
/* The most lines whose arrays are kept between batches (about 18 MB). */
#define BATCH_KEEP_LINES 16384u
/* A batch of at most this many lines is handled at once; a longer one
 * a slice per turn of the loop (and alone: no server, as in the fuzzer). */
#define BATCH_SLICE 256u
/* What a turn spends parsing a long batch, at most: about 1,000 plain
 * lines (jobspecplain.c) on this project's 2-core VM. */
#define BATCH_TURN_NS (500 * 1000ull)
/* Lines parsed between two looks at the clock. */
#define BATCH_CLOCK_EVERY 32u

struct batch_line {
	const char *text;
	size_t len;
	size_t number;		/* 1-based line number in the body */
	cJSON *json;
};

/* A long batch's request, its body copied: the connection's buffer is
 * reused meanwhile. Queued while another batch is parsed. */
struct batch_request {
	struct batch_request *next;
	struct request req;		/* body: text below; no method, path, query */
	char text[];
};

/* Kept from one batch to the next (api->batch): a batch of 10,000 needs
 * about 10 MB of arrays, and giving them back to the allocator after each
 * request made every batch fault them in again. Arrays for more than
 * BATCH_KEEP_LINES lines are given back after their batch: one batch of
 * 1,000,000 lines left 1.1 GB of them for the daemon's life. */
struct batch {
	struct batch_line header;	/* text NULL: none */
	struct jobspec_batch shared;	/* the header's */
	struct batch_line *lines;
	struct jobspec *specs;
	struct jr_command_spec *flat;
	jr_job_id *ids;
	size_t n, cap, jobs_cap;	/* cap: of lines; jobs_cap: of the other three */
	/* The lines parsed so far (their specs ready), those that failed
	 * and the first 100 failures (a bad header: no line is parsed);
	 * who checks them (its cwd cache: cwd_set). */
	size_t parsed, bad;
	bool header_bad;
	cJSON *errors;
	struct jobspec_submitter who;
	struct cwd_cache cwd;
	bool cwd_set;
	/* A long batch being parsed a slice a turn (NULL: none), and
	 * opened (split, its header parsed); those waiting their turn. */
	struct batch_request *current;
	bool opened;
	struct batch_request *waiting, **waiting_tail;
};

static struct batch *batch_of(struct api *a)
{
	if (!a->batch && (a->batch = calloc(1, sizeof(struct batch))))
		a->batch->waiting_tail = &a->batch->waiting;
	return a->batch;
}

/* Forget the last batch's lines, keeping the arrays. */
/* The arrays of a batch longer than BATCH_KEEP_LINES given back. */
static void batch_trim(struct batch *b)
{
	if (b->jobs_cap > BATCH_KEEP_LINES) {
		free(b->specs);
		free(b->flat);
		free(b->ids);
		b->specs = NULL;
		b->flat = NULL;
		b->ids = NULL;
		b->jobs_cap = 0;
	}
	if (b->cap > BATCH_KEEP_LINES) {
		free(b->lines);
		b->lines = NULL;
		b->cap = 0;
	}
}

static void batch_reset(struct batch *b)
{
	/* The lines' trees are in the JSON arena: they go all at once. */
	for (size_t i = 0; i < b->parsed; i++)
		jobspec_free(&b->specs[i]);
	jobspec_batch_free(&b->shared);
	json_arena_reset();
	cJSON_Delete(b->errors);
	if (b->cwd_set)
		cwd_cache_free(&b->cwd);
	free(b->current);
	b->errors = NULL;
	b->cwd_set = false;
	b->current = NULL;
	b->opened = b->header_bad = false;
	b->header.text = NULL;
	b->n = b->parsed = b->bad = 0;
	batch_trim(b);
}

void api_submit_destroy(struct api *a)
{
	struct batch *b = a->batch;

	if (!b)
		return;
	batch_reset(b);
	while (b->waiting) {
		struct batch_request *r = b->waiting;
		b->waiting = r->next;
		free(r);
	}
	free(b->lines);
	free(b->specs);
	free(b->flat);
	free(b->ids);
	free(b);
	a->batch = NULL;
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

/* --- the lines ---------------------------------------------------------------------------- */

/* Room for want lines: lines[] doubles (realloc keeps what the split
 * found so far). */
static int lines_reserve(struct batch *b, size_t want)
{
	size_t cap = b->cap ? b->cap : 1024;
	struct batch_line *l;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (!(l = realloc(b->lines, cap * sizeof(*l))))
		return -ENOMEM;
	b->lines = l;
	b->cap = cap;
	return 0;
}

/* Room for want jobs in specs, flat and ids. They hold nothing between
 * batches, so a bigger batch gets new arrays instead of realloc's
 * copies (808 bytes a line in specs: 200 MB copied and faulted in one
 * stretch for the first 200,000-line batch); their pages are touched
 * as the lines are parsed. specs[i] is made ready when line i is. */
static int jobs_reserve(struct batch *b, size_t want)
{
	size_t cap = b->jobs_cap ? b->jobs_cap : 1024;

	if (want <= b->jobs_cap)
		return 0;
	while (cap < want)
		cap *= 2;
	free(b->specs);
	free(b->flat);
	free(b->ids);
	b->specs = malloc(cap * sizeof(*b->specs));
	b->flat = malloc(cap * sizeof(*b->flat));
	b->ids = malloc(cap * sizeof(*b->ids));
	b->jobs_cap = b->specs && b->flat && b->ids ? cap : 0;
	return b->jobs_cap ? 0 : -ENOMEM;
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
		if (lines_reserve(b, b->n + 1) < 0)
			return -ENOMEM;
		b->lines[b->n++] = (struct batch_line){ line, len, number, NULL };
	}
	return jobs_reserve(b, b->n);
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
static bool batch_parse_header(struct batch *b)
{
	struct batch_line *h = &b->header;
	struct jobspec_error err;

	json_arena_begin();	/* reset by batch_reset() */
	h->json = json_parse_checked(h->text, h->len, &err);
	bool ok = h->json && jobspec_parse_batch(h->json, &b->shared, &err);
	json_arena_end();
	if (ok)
		return true;
	b->bad++;
	line_error(b->errors, h, &err);
	return false;
}

/* One line parsed into specs[i] and flat[i], or its error noted (the
 * first 100). */
static void batch_parse_line(struct api *a, struct batch *b, size_t i)
{
	struct batch_line *l = &b->lines[i];
	struct jobspec_error err;

	jobspec_init(&b->specs[i]);	/* not zeroed before: 808 bytes a line */
	/* UTF-8: batch_utf8(). The commonest lines need no tree. */
	if (jobspec_parse_plain(a->engine, l->text, l->len, &b->who, &b->specs[i])) {
		b->flat[i] = b->specs[i].spec;
		b->flat[i].shared_env = b->shared.env;
		return;
	}
	l->json = json_parse_checked(l->text, l->len, &err);
	if (!l->json) {
		;
	} else if (jobspec_parse(a->engine, l->json, &b->who, &b->specs[i], &err) &&
		   (!b->specs[i].array ||
		    json_fail(&err, 422, "invalid_value",
			      "an array is submitted alone, with POST /jobs"))) {
		b->flat[i] = b->specs[i].spec;
		b->flat[i].shared_env = b->shared.env;	/* one pointer: one copy */
		return;
	}
	if (++b->bad <= 100)
		line_error(b->errors, l, &err);
}

/* Parse lines until all are, or (until_ns not 0) the clock passes
 * until_ns. Returns whether all are (none are after a bad header). */
static bool batch_parse_lines(struct api *a, struct batch *b, uint64_t until_ns)
{
	if (b->header_bad)
		return true;
	json_arena_begin();	/* the trees: reset by batch_reset() */
	while (b->parsed < b->n) {
		batch_parse_line(a, b, b->parsed++);
		if (until_ns && b->parsed % BATCH_CLOCK_EVERY == 0 &&
		    jr_now_monotonic_ns() > until_ns)
			break;
	}
	json_arena_end();
	return b->parsed == b->n;
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

static bool batch_refused(struct response *res, int rc)
{
	if (rc == -E2BIG)
		return reply_error(res, 413, "too_large", "at most %u jobs per batch", BATCH_MAX);
	return reply_error(res, rc ? 503 : 400, rc ? "out_of_memory" : "empty_batch",
			   rc ? "no memory for the batch" : "the body holds no job");
}

/* The split batch, ready for its lines: its body UTF-8, who checks
 * them, its header parsed (a bad header: no line is parsed, the header
 * is the batch's one error). false: refused, the error in res. */
static bool batch_open(struct api *a, const struct request *req, struct batch *b, int split_rc,
		       struct response *res)
{
	if (split_rc < 0 || b->n == 0)
		return batch_refused(res, split_rc);
	if (!batch_utf8(req, res))
		return false;
	if (!(b->errors = cJSON_CreateArray()))
		return reply_error(res, 503, "out_of_memory", "no memory for the batch");
	b->who = submit_strict_who(a, req, &b->cwd);
	b->cwd_set = true;
	b->opened = true;
	b->header_bad = b->header.text && !batch_parse_header(b);
	return true;
}

/* --- the answer --------------------------------------------------------------------------- */

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
	struct jobspec_submitter who = submit_who(a, req);
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
	if (!submit_log(a, c, b->ids, b->n, b->header.text ? REC_SUBMIT_HEADER : 0, b->flat))
		return;
	batch_keep_json(a, c->req, b);
	a->count.submitted_batch += b->n;
	a->count.batches++;
	batch_answer(c->res, b);
}

/* Every line parsed: the jobs submitted and journaled (201 in c->res),
 * or the lines' errors. */
static void batch_close(struct api *a, struct api_call *c, struct batch *b)
{
	if (b->bad > 0) {
		batch_error(c->res, b->bad, b->n + (b->header.text != NULL), b->errors);
		b->errors = NULL;	/* in the answer's tree, gone with it */
	} else {
		submit_batch_parsed(a, c, b);
	}
}

/* --- a long batch, a slice a turn --------------------------------------------------------- */

static struct batch_request *batch_request_new(const struct request *req)
{
	struct batch_request *r = malloc(sizeof(*r) + req->body_len + 1);

	if (!r)
		return NULL;
	memcpy(r->text, req->body, req->body_len);
	r->text[req->body_len] = '\0';
	r->next = NULL;
	r->req = (struct request){ .body = r->text, .body_len = req->body_len, .uid = req->uid,
				   .gid = req->gid, .pid = req->pid, .token = req->token };
	return r;
}

/* The split lines point into from: moved to the same places in to. */
static void batch_rebase(struct batch *b, const char *from, const char *to)
{
	if (b->header.text)
		b->header.text = to + (b->header.text - from);
	for (size_t i = 0; i < b->n; i++)
		b->lines[i].text = to + (b->lines[i].text - from);
}

/* A long batch (split) goes on in the ticks, its answer deferred. false:
 * no memory to copy it (it is handled at once then). */
static bool batch_defer(struct batch *b, struct api_call *c)
{
	struct batch_request *r = batch_request_new(c->req);

	if (!r)
		return false;
	batch_rebase(b, c->req->body, r->text);
	b->current = r;
	c->res->deferred = true;
	return true;
}

/* Waiting batches whose connections are gone: dropped (nothing is
 * submitted for them), their copies freed. */
static void batch_drop_gone(struct api *a, struct batch *b)
{
	struct batch_request **p = &b->waiting, *r;

	while ((r = *p)) {
		if (server_connection_alive(a->server, r->req.token)) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		free(r);
	}
	b->waiting_tail = p;
}

/* The copies waiting (and the one being parsed), in all and uid's. */
static void batch_queued(const struct batch *b, uid_t uid, size_t *all, size_t *mine)
{
	*all = *mine = 0;
	if (b->current) {
		*all = b->current->req.body_len;
		*mine = b->current->req.uid == uid ? *all : 0;
	}
	for (const struct batch_request *r = b->waiting; r; r = r->next) {
		*all += r->req.body_len;
		*mine += r->req.uid == uid ? r->req.body_len : 0;
	}
}

/* The copies of waiting batches are outside the connections' budget
 * (budget.h): their bodies left it once copied. So they have their own,
 * as big (--max-buffered; twice that for root and the daemon's owner),
 * of which a uid may hold a quarter, or one batch of any size; the
 * first batch to wait always may. false: 503 in res. */
static bool batch_room(struct api *a, struct batch *b, const struct request *req,
		       struct response *res)
{
	struct server_stats st;
	size_t all, mine, len = req->body_len;
	bool privileged = req->uid == 0 || req->uid == a->daemon_uid;

	batch_drop_gone(a, b);
	server_get_stats(a->server, &st);
	batch_queued(b, req->uid, &all, &mine);
	size_t cap = privileged ? 2 * st.budget.max_bytes : st.budget.max_bytes;
	if ((all == 0 || all + len <= cap) &&
	    (privileged || mine == 0 || mine + len <= st.budget.max_bytes / 4))
		return true;
	return reply_error(res, 503, "busy",
			   "%zu MiB of batches wait to be parsed, %zu MiB of them yours: "
			   "retry once they are answered", all >> 20, mine >> 20);
}

/* Another batch is being parsed: this one waits its turn. */
static void batch_queue(struct api *a, struct batch *b, struct api_call *c)
{
	struct batch_request *r;

	if (!batch_room(a, b, c->req, c->res))
		return;
	if (!(r = batch_request_new(c->req))) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the batch");
		return;
	}
	*b->waiting_tail = r;
	b->waiting_tail = &r->next;
	c->res->deferred = true;
}

void api_submit_batch(struct api *a, struct api_call *c)
{
	struct batch *b = batch_of(a);
	int rc;

	if (!b) {
		batch_refused(c->res, -ENOMEM);
		return;
	}
	if (b->current || b->waiting) {
		batch_queue(a, b, c);
		if (c->res->status >= 400) {
			struct route_record rec;
			api_submit_batch_record(c->req, &rec);
			a->count.rejected += rec.jobs;
		}
		return;
	}
	rc = batch_split(c->req, b);
	if (rc == 0 && b->n > BATCH_SLICE && a->server && batch_defer(b, c))
		return;
	if (batch_open(a, c->req, b, rc, c->res)) {
		batch_parse_lines(a, b, 0);
		batch_close(a, c, b);
	}
	if (c->res->status >= 400)
		a->count.rejected += b->n;
	batch_reset(b);
}

/* The deferred answer in res goes: once its record is durable, or now. */
static void batch_send(struct api *a, const struct api_call *c)
{
	struct response *res = c->res;

	if (res->status < 400 && c->record_seq)
		durable_hold(a->durable, c->req->token, c->record_seq, res);
	if (!res->deferred)
		server_finish(a->server, c->req->token, res->status, &res->body);
	buf_free(&res->body);
}

/* The current batch, parsed (or refused: not opened), is submitted and
 * answered. */
static void batch_finish(struct api *a, struct batch *b, struct api_call *c)
{
	if (b->opened)
		batch_close(a, c, b);
	if (c->res->status >= 400)
		a->count.rejected += b->n;
	batch_send(a, c);
}

/* The next waiting batch becomes the current one: its split's result. */
static int batch_take_next(struct batch *b)
{
	struct batch_request *r = b->waiting;

	b->waiting = r->next;
	if (!b->waiting)
		b->waiting_tail = &b->waiting;
	b->current = r;
	return batch_split(&r->req, b);
}

/* One step on the long batches: true while there is more to do. */
static bool batch_step(struct api *a, struct batch *b, uint64_t until_ns)
{
	struct response res = { .status = 200 };
	struct api_call c = { .res = &res, .param = "" };
	int split_rc = b->current ? 0 : batch_take_next(b);
	bool ready;

	c.req = &b->current->req;
	if (!server_connection_alive(a->server, c.req->token)) {
		a->count.rejected += b->n;	/* its client left: nothing is submitted */
		batch_reset(b);
		return b->waiting != NULL;
	}
	if (!b->opened && !batch_open(a, c.req, b, split_rc, &res))
		ready = true;	/* refused: the error in res */
	else
		ready = batch_parse_lines(a, b, until_ns);
	if (!ready)
		return true;
	batch_finish(a, b, &c);
	batch_reset(b);
	return b->waiting != NULL;
}

size_t api_batch_queued_bytes(const struct api *a)
{
	size_t all = 0, mine;

	if (a->batch)
		batch_queued(a->batch, 0, &all, &mine);
	return all;
}

size_t api_batch_arrays_bytes(const struct api *a)
{
	const struct batch *b = a->batch;

	if (!b)
		return 0;
	return b->cap * sizeof(*b->lines) +
	       b->jobs_cap * (sizeof(*b->specs) + sizeof(*b->flat) + sizeof(*b->ids));
}

void api_batch_tick(struct api *a, uint64_t now_ns)
{
	struct batch *b = a->batch;
	uint64_t until_ns = now_ns + BATCH_TURN_NS;

	if (!b || !a->server)
		return;
	while ((b->current || b->waiting) && batch_step(a, b, until_ns)) {
		if (jr_now_monotonic_ns() > until_ns) {
			server_again(a->server);	/* the rest next turn */
			return;
		}
	}
}
