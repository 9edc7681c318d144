/*
 * jobs.c - a job shown (GET /jobs/{id}), listed with filters and a
 * cursor (GET /jobs), cancelled (PUT /jobs/{id}/cancel), its output read
 * (GET /jobs/{id}/logs). Submitting is submit.c's. Who sees how much
 * of a job is view.h's view_detail_for(); only its owner and root cancel
 * it or read its output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/api/handlers.h"
#include "daemon/api/jobfilter.h"
#include "daemon/api/notify.h"
#include "daemon/net/reply.h"
#include "daemon/state/jobindex.h"
#include "daemon/state/view.h"

#define LOG_CHUNK_MAX JR_MIB

static enum view_detail detail(const struct api *a, const struct api_call *c,
			       const struct jr_job_info *info)
{
	return view_detail_for(c->req->uid, info->owner_uid, a->st->private_jobs);
}

/* The job the path names, if the caller may see it (--private hides
 * others' jobs): false, with a 404, if not. */
static bool get_job(struct api *a, const struct api_call *c, struct jr_job_info *info)
{
	const char *ids = c->param;
	uint64_t id;

	if (!view_parse_id(ids, &id))
		return reply_error(c->res, 404, "not_found", "no such job: %s", ids);
	if (jr_job_get(a->engine, id, info) < 0 || detail(a, c, info) == VIEW_HIDDEN)
		return reply_error(c->res, 404, "not_found", "no such job (or it aged out): %s",
				   ids);
	return true;
}

/* A fired job's origin (issue 15): its schedule and due instant, or its
 * trigger and fire id. */
static void add_origin(const struct api *a, cJSON *o, jr_job_id id)
{
	const struct rec_origin *r = fired_get(&a->st->fired, id);
	char t[48];

	if (!r || !o)
		return;
	if (r->kind == REC_ORIGIN_SCHEDULE) {
		cJSON_AddNumberToObject(o, "schedule_id", r->source_id);
		cJSON_AddStringToObject(o, "schedule", r->name);
		jr_format_rfc3339(r->due_ns, t, sizeof(t));
		cJSON_AddStringToObject(o, "due", t);
	} else if (r->kind == REC_ORIGIN_TRIGGER) {
		if (r->source_id)	/* a schedule bound to the trigger */
			cJSON_AddNumberToObject(o, "schedule_id", r->source_id);
		cJSON_AddStringToObject(o, "trigger", r->name);
		snprintf(t, sizeof(t), "%llu", (unsigned long long)r->due_ns);
		cJSON_AddStringToObject(o, "fire_id", t);
	}
}

/* The job as the caller may see it (not VIEW_HIDDEN). */
static cJSON *job_json(struct api *a, const struct api_call *c, const struct jr_job_info *info)
{
	cJSON *o = view_job(a->engine, &a->st->jobs, info, detail(a, c, info));

	add_origin(a, o, info->job_id);
	return o;
}

void api_job_show(struct api *a, struct api_call *c)
{
	struct jr_job_info info;

	cJSON *o;

	if (!get_job(a, c, &info))
		return;
	o = job_json(a, c, &info);
	if (detail(a, c, &info) == VIEW_FULL)	/* issue 16: its owner's and root's */
		api_notify_job_view(a, o, info.job_id);
	reply_json(c->res, 200, o);
}

/* --- listing ------------------------------------------------------------------------------ */

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
	bool by_priority;	/* only jobs whose priority is priority */
	int32_t priority;
	uint32_t limit;
	uint64_t cursor;
};

static bool list_numbers(const struct query *q, struct list_params *p, struct response *res)
{
	const char *v;
	char *end;

	if ((v = query_get(q, "priority"))) {
		long long pr = strtoll(v, &end, 10);
		if (*end || end == v || pr < JR_CMD_PRIORITY_MIN || pr > JR_CMD_PRIORITY_MAX)
			return reply_error(res, 422, "invalid_value",
					   "priority must be a whole number from %d to %d",
					   JR_CMD_PRIORITY_MIN, JR_CMD_PRIORITY_MAX);
		p->by_priority = true;
		p->priority = (int32_t)pr;
	}
	if ((v = query_get(q, "limit"))) {
		unsigned long l = strtoul(v, &end, 10);
		if (*end || end == v || l == 0 || l > API_LIST_LIMIT_MAX)
			return reply_error(res, 422, "invalid_value", "limit must be 1 to %u",
					   API_LIST_LIMIT_MAX);
		p->limit = (uint32_t)l;
	}
	if ((v = query_get(q, "cursor"))) {
		p->cursor = strtoull(v, &end, 10);
		if (*end || end == v)
			return reply_error(res, 422, "invalid_value", "bad cursor");
	}
	return true;
}

static bool list_params(const struct query *q, struct list_params *p, struct response *res)
{
	const char *v = query_get(q, "status");

	*p = (struct list_params){ .mask = 0, .limit = 100, .cursor = 0 };
	if (v && !status_mask(v, &p->mask))
		return reply_error(res, 422, "invalid_value", "unknown status in \"%s\"", v);
	return list_numbers(q, p, res);
}

/* The index's query for the listing: its filters, and with --private a
 * user other than root sees only their own jobs (false: nothing can
 * match). */
static bool index_query(const struct api *a, const struct api_call *c,
			const struct list_params *p, const struct job_filter *f,
			struct jobindex_query *q)
{
	*q = (struct jobindex_query){ .priority = p->priority, .by_priority = p->by_priority };
	for (int s = JR_JOB_PENDING; s <= JR_JOB_CANCELLED; s++)
		if (p->mask & 1u << s)
			q->classes |= 1u << jobindex_class_of(s);
	q->by_queue = f->by_queue;
	q->queue = f->queue_id;
	q->by_user = f->by_user;
	q->uid = f->uid;
	q->by_worker = f->by_worker;
	q->worker = f->worker;
	q->by_array = f->by_array;
	q->array_slot = (uint32_t)f->array_id;
	if (f->name)
		jobindex_query_name(q, f->name);
	if (a->st->private_jobs && c->req->uid != 0) {
		if (f->by_user && f->uid != c->req->uid)
			return false;
		q->by_user = true;
		q->uid = c->req->uid;
	}
	return true;
}

/* The next job of the page that passes the filters: 1, or 0 at the end
 * or once the request's budget of candidates that did not match is
 * spent (*cursor then says where the next page starts). Candidates come
 * from the index in slot order; each is read and matched in full (the
 * index is a hint: jobindex.h), one filed wrongly is touched to be filed
 * again. */
static int next_listed(struct api *a, const struct api_call *c, struct list_params *p,
		       const struct jobindex_query *q, const struct job_filter *f,
		       uint32_t *budget, struct jr_job_info *info)
{
	struct jobindex *ix = submitted_index(&a->st->jobs);

	while (*budget > 0 && p->cursor < ix->capacity) {
		uint32_t slot = jobindex_next(ix, q, p->cursor ? (uint32_t)p->cursor : 1);
		jr_job_id id;
		if (slot == JR_SLOTSET_NONE) {
			p->cursor = ix->capacity;
			return 0;
		}
		p->cursor = (uint64_t)slot + 1;
		id = submitted_id_at(&a->st->jobs, slot);
		if (!id || jr_job_get(a->engine, id, info) < 0) {
			jobindex_drop(ix, slot);	/* gone */
			(*budget)--;
			continue;
		}
		if ((!p->mask || p->mask & 1u << info->state) &&
		    (!p->by_priority || info->priority == p->priority) &&
		    detail(a, c, info) != VIEW_HIDDEN && job_filter_match(f, info))
			return 1;
		if (jobindex_stale(ix, slot, info))
			submitted_touch(&a->st->jobs, id);
		(*budget)--;
	}
	return 0;
}

void api_job_list(struct api *a, struct api_call *c)
{
	struct list_params p;
	struct job_filter f;
	struct jobindex_query q;
	struct jr_job_info info;
	cJSON *body, *jobs;
	uint32_t n = 0, budget = JOBFILTER_SCAN_BUDGET;
	bool any;
	char next[24];

	if (!job_filter_parse(a, c->query, &f, c->res) || !list_params(c->query, &p, c->res))
		return;
	any = index_query(a, c, &p, &f, &q);
	body = cJSON_CreateObject();
	jobs = cJSON_AddArrayToObject(body, "jobs");
	while (any && n < p.limit && next_listed(a, c, &p, &q, &f, &budget, &info) == 1) {
		cJSON_AddItemToArray(jobs, job_json(a, c, &info));
		n++;
	}
	/* A full page may be the last one: the next request says so. So
	 * may a short one cut by the scan budget. */
	if (n == p.limit || budget == 0) {
		snprintf(next, sizeof(next), "%llu", (unsigned long long)p.cursor);
		cJSON_AddStringToObject(body, "next_cursor", next);
	} else {
		cJSON_AddNullToObject(body, "next_cursor");
	}
	reply_json(c->res, 200, body);
}

/* --- cancelling ------------------------------------------------------------------------------ */

static void already_finished(struct response *res, const char *ids, const struct jr_job_info *info)
{
	reply_error(res, 409, "already_finished", "job %s has already %s", ids,
		    jr_job_state_name(info->state));
}

/* Only the job's owner, or root, may touch it. */
static bool owner(const struct api_call *c, const struct jr_job_info *info)
{
	if (c->req->uid == 0 || info->owner_uid == c->req->uid)
		return true;
	return reply_error(c->res, 403, "forbidden", "job %s belongs to uid %u", c->param,
			   info->owner_uid);
}

/* The cancel's record is journaled; a running job is signalled once it
 * is on disk (when the answer goes too): a crash before then loses the
 * cancel whole, not its record only. One that waits has nothing to
 * undo. false, with the answer, if the job ended meanwhile. */
static bool cancel_journaled(struct api *a, struct api_call *c, struct jr_job_info *info)
{
	struct rec_cancel rec = { .job_id = info->job_id, .uid = c->req->uid };
	int rc;

	c->record_seq = durable_log(a->durable, REC_CANCEL, &rec, sizeof(rec), NULL, 0);
	if (info->state == JR_JOB_RUNNING &&
	    durable_cancel_after(a->durable, c->record_seq, info->job_id))
		return true;
	rc = jr_job_cancel(a->engine, info->job_id);
	if (rc == -EALREADY || rc == -EINVAL) {	/* it ended just now */
		c->record_seq = 0;
		jr_job_get(a->engine, info->job_id, info);
		already_finished(c->res, c->param, info);
		return false;
	}
	if (rc < 0 && rc != -EBUSY) {
		c->record_seq = 0;
		return reply_error(c->res, 404, "not_found", "no such job: %s", c->param);
	}
	return true;
}

/* --- an array's cancel ------------------------------------------------------------------ */

struct array_cancel {
	struct api *a;
	struct api_call *c;
	uint64_t cancelled;
};

/* One task not ended yet: cancelled as a job is (its own record, a
 * running one signalled once that is on disk). */
static bool cancel_task(void *ctx, const struct submitted_job *task, jr_job_id id)
{
	struct array_cancel *x = ctx;
	struct rec_cancel rec = { .job_id = id, .uid = x->c->req->uid };
	struct jr_job_info info;

	(void)task;

	if (jr_job_get(x->a->engine, id, &info) < 0 || job_state_final(info.state))
		return true;
	x->c->record_seq = durable_log(x->a->durable, REC_CANCEL, &rec, sizeof(rec), NULL, 0);
	if (!(info.state == JR_JOB_RUNNING &&
	      durable_cancel_after(x->a->durable, x->c->record_seq, id)))
		jr_job_cancel(x->a->engine, id);
	if (jr_job_get(x->a->engine, id, &info) == 0 && !job_state_final(info.state))
		durable_note_cancel(x->a->durable, id);
	x->cancelled++;
	return true;
}

/* The array's id: every task still live is cancelled (the answer waits
 * for the last record); 409 only if all had ended. */
static void cancel_array(struct api *a, struct api_call *c, struct jr_job_info *info)
{
	struct array_cancel x = { a, c, 0 };
	uint32_t cursor = 0;

	submitted_array_tasks(&a->st->jobs, info->job_id, &cursor, cancel_task, &x);
	jr_job_get(a->engine, info->job_id, info);
	if (!x.cancelled) {
		already_finished(c->res, c->param, info);
		return;
	}
	reply_json(c->res, 200, job_json(a, c, info));
}

void api_job_cancel(struct api *a, struct api_call *c)
{
	struct jr_job_info info;

	if (!get_job(a, c, &info) || !owner(c, &info))
		return;
	if (submitted_is_array_id(&a->st->jobs, info.job_id)) {
		cancel_array(a, c, &info);
		return;
	}
	if (job_state_final(info.state)) {
		already_finished(c->res, c->param, &info);
		return;
	}
	if (!cancel_journaled(a, c, &info))
		return;
	jr_job_get(a->engine, info.job_id, &info);
	if (!job_state_final(info.state))
		durable_note_cancel(a->durable, info.job_id);
	submitted_touch(&a->st->jobs, info.job_id);	/* filed again (jobindex.h) */
	events_job(a->st->events, a->engine, info.job_id, NULL);	/* GET /events (issue 16) */
	reply_json(c->res, 200, job_json(a, c, &info));
}

/* --- output ---------------------------------------------------------------------------------- */

/* Up to LOG_CHUNK_MAX bytes of path from offset: *n read (0 if none). */
static char *read_chunk(const char *path, uint64_t offset, ssize_t *n)
{
	char *data = malloc(LOG_CHUNK_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*n = fd >= 0 && data ? pread(fd, data, LOG_CHUNK_MAX, (off_t)offset) : 0;
	if (fd >= 0)
		close(fd);
	*n = *n < 0 ? 0 : *n;
	if (data)
		data[*n] = '\0';
	return data;
}

/* GET /jobs/{id}/logs?stream=stdout|stderr&offset=N: up to 1 MiB from N,
 * of its latest attempt. */
void api_job_logs(struct api *a, struct api_call *c)
{
	struct jr_job_info info;

	if (get_job(a, c, &info) && owner(c, &info))
		api_logs_reply(c, info.stdout_path, info.stderr_path,
			       info.state >= JR_JOB_SUCCEEDED);
}

void api_logs_reply(struct api_call *c, const char *stdout_path, const char *stderr_path,
		    bool finished)
{
	const char *stream = query_get(c->query, "stream"), *off = query_get(c->query, "offset");
	uint64_t offset;
	cJSON *body;
	char *data;
	ssize_t n;

	stream = stream ? stream : "stdout";
	offset = off ? strtoull(off, NULL, 10) : 0;
	if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) {
		reply_error(c->res, 422, "invalid_value", "stream must be stdout or stderr");
		return;
	}
	data = read_chunk(stream[3] == 'o' ? stdout_path : stderr_path, offset, &n);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "stream", stream);
	cJSON_AddNumberToObject(body, "offset", (double)offset);
	cJSON_AddNumberToObject(body, "next_offset", (double)(offset + (uint64_t)n));
	if (data)
		cJSON_AddStringToObject(body, "data", data);
	cJSON_AddBoolToObject(body, "finished", finished);
	free(data);
	reply_json(c->res, 200, body);
}
