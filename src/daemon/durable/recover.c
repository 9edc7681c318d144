/*
 * recover.c - reading the snapshot and journal into a picture of every
 * job (restore.c puts it back). See recover.h. The records of what the
 * daemon holds beside the jobs (schedules, queues, workers, triggers,
 * allocation queues) are applied by recoverstate.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"
#include "base/common.h"
#include "daemon/durable/recover.h"
#include "daemon/durable/recoverstate.h"
#include "daemon/state/allocrec.h"
#include "daemon/state/schedules.h"
#include "shm/jobtab.h"
#include "journal/journal.h"

/* --- building the picture ------------------------------------------------------------ */

static int order_push(struct recovery *r, uint32_t index, uint64_t *pos)
{
	if (r->order_count == r->order_cap) {
		uint64_t cap = r->order_cap ? r->order_cap * 2 : 65536;
		uint32_t *n = realloc(r->order, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->order = n;
		r->order_cap = cap;
	}
	*pos = r->order_count;
	r->order[r->order_count++] = index;
	return 0;
}

/* The job with this id starts over in its slot (a later occupant
 * replaces an earlier one). NULL if the id is outside the table. */
static struct rjob *job_new(struct recovery *r, jr_job_id id)
{
	uint32_t index = (uint32_t)id;
	struct rjob *j;
	uint64_t pos;

	if (index == 0 || index >= r->capacity) {
		r->outside_table++;
		return NULL;
	}
	if (order_push(r, index, &pos) < 0)
		return NULL;
	j = &r->jobs[index];
	submitted_block_release(j->block);
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->order = pos;
	j->state = JR_JOB_QUEUED;
	j->held = -1;
	return j;
}

static void job_json(struct rjob *j, struct submitted_block *block, size_t offset, size_t len)
{
	j->block = block;
	j->json_offset = (uint32_t)offset;
	j->json_len = (uint32_t)len;
	block->refs++;
}

static struct rjob *job_of(struct recovery *r, jr_job_id id)
{
	uint32_t index = (uint32_t)id;

	return index < r->capacity && r->jobs[index].id == id ? &r->jobs[index] : NULL;
}

/* An array's index set from its body's "array"; false if it no longer
 * reads (then each task keeps its ordinal as its index). */
static bool array_of(const char *body, size_t len, struct arrayspec *as)
{
	cJSON *o = cJSON_ParseWithLength(body, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "array");
	char why[160];
	bool ok = cJSON_IsString(v) && arrayspec_parse(v->valuestring, as, why, sizeof(why));

	cJSON_Delete(o);
	return ok;
}

static int on_submit(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_submit h;
	const char *body, *end, *line;
	struct submitted_block *block;
	size_t ids_bytes, line_len;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	ids_bytes = (size_t)h.count * sizeof(jr_job_id);
	if (h.count == 0 || sizeof(h) + ids_bytes > len)
		return -EPROTO;
	if (h.flags & REC_SUBMIT_ORIGIN) {	/* a fire (issue 15): its origin */
		struct rec_origin o;
		jr_job_id fid;
		if (h.count != 1 || sizeof(h) + ids_bytes + sizeof(o) > len)
			return -EPROTO;
		memcpy(&fid, p + sizeof(h), sizeof(fid));
		memcpy(&o, p + sizeof(h) + ids_bytes, sizeof(o));
		o.name[sizeof(o.name) - 1] = '\0';
		recover_origin(r, fid, &o);
		ids_bytes += sizeof(o);	/* the body follows it */
	}
	body = (const char *)p + sizeof(h) + ids_bytes;
	end = (const char *)p + len;
	block = submitted_block_new(body, (size_t)(end - body));
	if (!block)
		return -ENOMEM;
	body = block->text;
	end = block->text + (len - sizeof(h) - ids_bytes);
	if ((h.flags & REC_SUBMIT_HEADER) && !(h.flags & REC_SUBMIT_SINGLE)) {
		if (!submitted_next_line(&body, end, &line, &line_len, NULL)) {
			free(block);
			return -EPROTO;
		}
		submitted_block_set_header(block, (size_t)(line - block->text), line_len);
	}
	block->refs++;	/* held here: an id listed twice must not free it in job_new() */
	jr_job_id array_id = 0;
	bool array_read = false;
	if (h.flags & REC_SUBMIT_ARRAY) {
		memcpy(&array_id, p + sizeof(h), sizeof(array_id));
		array_read = array_of(block->text, (size_t)(end - block->text), &r->array);
	}
	for (uint32_t k = 0; k < h.count; k++) {
		jr_job_id id;
		memcpy(&id, p + sizeof(h) + k * sizeof(id), sizeof(id));
		if (h.flags & REC_SUBMIT_SINGLE) {
			line = block->text;
			line_len = (size_t)(end - block->text);
		} else if (!submitted_next_line(&body, end, &line, &line_len, NULL)) {
			break;	/* fewer lines than ids: cannot happen */
		}
		struct rjob *j = job_new(r, id);
		if (!j)
			continue;
		j->uid = h.uid;
		j->gid = h.gid;
		j->flags = h.flags & REC_SUBMIT_SWITCH_USER;
		j->created_ns = h.created_ns;
		j->array_job_id = array_id;
		j->array_task_id = array_read ? arrayspec_index(&r->array, k) : k;
		job_json(j, block, (size_t)(line - block->text), line_len);
	}
	submitted_block_release(block);	/* freed if no job took it */
	r->journal_totals.submitted += h.count;	/* as durable.c counted it */
	return 0;
}

/* The job's rproc, made on first use. */
static struct rproc *proc_of(struct recovery *r, struct rjob *j)
{
	if (j->proc)
		return &r->procs[j->proc];
	if (r->proc_count + 1 >= r->proc_cap) {
		uint32_t cap = r->proc_cap ? r->proc_cap * 2 : 64;
		struct rproc *n = realloc(r->procs, cap * sizeof(*n));
		if (!n)
			return NULL;
		r->procs = n;
		r->proc_cap = cap;
		if (r->proc_count == 0)
			r->proc_count = 1;	/* [0] is "none" */
	}
	j->proc = r->proc_count++;
	memset(&r->procs[j->proc], 0, sizeof(r->procs[0]));
	return &r->procs[j->proc];
}

/* Why a RETRY's or END's attempt could not start, if its record says
 * (after the rec_event and a retry's backoff); a later attempt's record
 * without it clears it. */
static void spawn_error_of(struct recovery *r, struct rjob *j, const uint8_t *p, uint32_t len)
{
	struct rec_spawn_error se = { 0 };
	struct rproc *rp;

	if (len >= sizeof(se))
		memcpy(&se, p, sizeof(se));
	if (se.spawn_error && (rp = proc_of(r, j)))
		rp->spawn_error = se.spawn_error;
	else if (j->proc)
		r->procs[j->proc].spawn_error = 0;
}

/* A start's process, or a retry's backoff, after its rec_event. */
static void event_extra(struct recovery *r, struct rjob *j, uint16_t type, const uint8_t *p,
			uint32_t len)
{
	struct rproc *rp;

	if (type == REC_START && len >= sizeof(struct rec_proc) && (rp = proc_of(r, j))) {
		memcpy(&rp->proc, p, sizeof(rp->proc));
		free(rp->alloc);
		rp->alloc = NULL;
		if (rp->proc.alloc_len > len - sizeof(rp->proc) || rp->proc.alloc_len > 4096)
			rp->proc.alloc_len = 0;
		if (rp->proc.alloc_len && (rp->alloc = malloc(rp->proc.alloc_len)))
			memcpy(rp->alloc, p + sizeof(rp->proc), rp->proc.alloc_len);
		else
			rp->proc.alloc_len = 0;
		rp->not_before_ns = 0;
	} else if (type == REC_RETRY && len >= sizeof(uint64_t) && (rp = proc_of(r, j))) {
		memcpy(&rp->not_before_ns, p, sizeof(uint64_t));
		rp->proc.pid = 0;	/* its process is gone */
		p += sizeof(uint64_t);
		len -= (uint32_t)sizeof(uint64_t);
	}
	if (type != REC_START)
		spawn_error_of(r, j, p, len);
}

static void event_apply(struct rjob *j, uint16_t type, const struct rec_event *e,
			uint32_t worker_id)
{
	if (job_state_final(j->state))
		return;	/* a final state is never undone */
	j->attempt = e->attempt;
	j->worker_id = worker_id;
	if (type == REC_START) {
		j->state = JR_JOB_RUNNING;
		j->start_ns = e->time_ns;
		j->end_ns = 0;
		return;
	}
	j->state = type == REC_END ? e->state : JR_JOB_QUEUED;
	j->reason = e->reason;
	j->status = rec_event_status(e);
	j->end_ns = e->time_ns;
}

/* The history hears of an attempt's start or end (before event_apply,
 * while the job still has the attempt's start). tail: after the rec_event. */
static void event_history(struct recovery *r, const struct rjob *j, uint16_t type,
			  const struct rec_event *e, uint32_t worker_id, const uint8_t *tail,
			  uint32_t len)
{
	struct rec_spawn_error se = { 0 };
	size_t skip = type == REC_RETRY ? sizeof(uint64_t) : 0;	/* its backoff */

	if (type == REC_START) {
		executions_started(&r->execs, e->job_id, e->attempt, worker_id, e->time_ns);
		return;
	}
	if (type == REC_END && !executions_of(&r->execs, e->job_id))
		return;
	if (len >= skip + sizeof(se))
		memcpy(&se, tail + skip, sizeof(se));
	struct exec_end x = {
		.id = e->job_id, .attempt = e->attempt, .worker_id = worker_id,
		.state = e->state, .reason = e->reason, .retried = type == REC_RETRY,
		.start_ns = j->attempt == e->attempt ? j->start_ns : 0, .end_ns = e->time_ns,
		.status = rec_event_status(e), .spawn_error = se.spawn_error,
	};
	executions_ended(&r->execs, &x);	/* without memory, the attempt is not kept */
}

static int on_event(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	struct rec_event e;
	uint32_t worker_id;
	struct rjob *j;

	if (len < sizeof(e))
		return -EPROTO;
	memcpy(&e, p, sizeof(e));
	worker_id = rec_event_unpack(&e);	/* either layout (records.h) */
	if (type == REC_END && jobstats_outcome_of(e.state) < JS_OUTCOMES)
		r->journal_totals.ended[jobstats_outcome_of(e.state)]++;
	if ((j = job_of(r, e.job_id)) != NULL && !job_state_final(j->state)) {
		if (e.attempt)
			event_history(r, j, type, &e, worker_id, (const uint8_t *)p + sizeof(e),
				      len - (uint32_t)sizeof(e));
		if (type != REC_START)	/* its attempt ended: a requeue was obeyed */
			j->requeue_requested = false;
		event_apply(j, type, &e, worker_id);
		event_extra(r, j, type, (const uint8_t *)p + sizeof(e), len - (uint32_t)sizeof(e));
	}
	return 0;
}

static int on_cancel(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_cancel c;
	struct rjob *j;

	if (len != sizeof(c))
		return -EPROTO;
	memcpy(&c, p, sizeof(c));
	if ((j = job_of(r, c.job_id)) != NULL)
		j->cancel_requested = true;
	return 0;
}

/* A job that had ended is queued again: the one exception to "a final
 * state is never undone" (docs/ARCHITECTURE.md, recovery). It runs as a
 * new attempt, not held, with no cancel left to obey. */
static void requeue_ended(struct recovery *r, struct rjob *j)
{
	struct exec_end x = {
		.id = j->id, .attempt = j->attempt, .worker_id = j->worker_id,
		.state = j->state, .reason = j->reason, .start_ns = j->start_ns,
		.end_ns = j->end_ns, .status = j->status,
		.spawn_error = j->proc ? r->procs[j->proc].spawn_error : 0,
		.requeued = true,
	};

	/* The attempt that ended stays in its history, as the route kept it
	 * (executions_keep_latest). */
	if (j->attempt)
		executions_ended(&r->execs, &x);	/* without memory, not kept */
	j->state = JR_JOB_QUEUED;
	j->reason = JR_REASON_REQUEUED;
	j->cancel_requested = false;
	j->held = 0;
	if (j->proc) {
		r->procs[j->proc].proc.pid = 0;
		r->procs[j->proc].not_before_ns = 0;
	}
}

static int on_control(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_control c;
	struct rjob *j;

	if (len != sizeof(c))
		return -EPROTO;
	memcpy(&c, p, sizeof(c));
	if ((j = job_of(r, c.job_id)) == NULL)
		return 0;
	/* A requeue is of the attempt it names: a snapshot, newer than the
	 * records after it, may show the job run again already. */
	if (c.op == REC_CONTROL_REQUEUE && j->attempt != c.attempt)
		return 0;
	if (c.op == REC_CONTROL_REQUEUE && job_state_final(j->state))
		requeue_ended(r, j);
	else if (job_state_final(j->state))
		return 0;
	else if (c.op == REC_CONTROL_HOLD || c.op == REC_CONTROL_RELEASE)
		j->held = c.op == REC_CONTROL_HOLD;
	else if (c.op == REC_CONTROL_REQUEUE && j->state == JR_JOB_RUNNING)
		j->requeue_requested = true;
	return 0;
}

/* The job's JSON from now on, in a block of its own (with its batch's
 * header). */
static int on_update(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_update u;
	struct submitted_block *block;
	struct rjob *j;
	size_t skip;

	if (len < sizeof(u))
		return -EPROTO;
	memcpy(&u, p, sizeof(u));
	skip = u.header_len ? (size_t)u.header_len + 1 : 0;
	if (skip > len - sizeof(u))
		return -EPROTO;
	if ((j = job_of(r, u.job_id)) == NULL || job_state_final(j->state))
		return 0;
	block = submitted_block_new((const char *)p + sizeof(u), len - sizeof(u));
	if (!block)
		return -ENOMEM;
	if (u.header_len)
		submitted_block_set_header(block, 0, u.header_len);
	submitted_block_release(j->block);
	job_json(j, block, skip, len - sizeof(u) - skip);
	return 0;
}

#define PACK_BYTES JR_MIB

/* Append text[0, len) and a NUL to the pack's block: its offset. */
static size_t pack_put(struct rec_pack *p, const char *text, size_t len)
{
	size_t at = p->used;

	memcpy(p->b->text + at, text, len);
	p->b->text[at + len] = '\0';
	p->used += len + 1;
	return at;
}

/* A snapshot's job texts, packed one after another into shared blocks
 * (one allocation per MiB, not one per job). A job with a batch header
 * goes to a block that starts with that header, the same block as the
 * job before it if that one had the same header: the jobs of a batch
 * share one copy again, as they did before the restart. The block being
 * filled holds a reference of its own until the next one starts. */
static struct submitted_block *pack_text(struct rec_pack *p, const char *header,
					size_t header_len, const char *text, size_t len,
					size_t *offset)
{
	const char *had = submitted_block_header(p->b);
	bool same = !header || (had && p->b->header_len == header_len &&
				memcmp(had, header, header_len) == 0);

	if (!p->b || !same || p->used + len + 1 > p->cap) {
		size_t want = header_len + len + 2;
		size_t cap = want > PACK_BYTES ? want : PACK_BYTES;
		struct submitted_block *b = malloc(sizeof(*b) + cap), *old = p->b;
		if (!b)
			return NULL;
		b->refs = 1;
		b->header_offset = b->header_len = 0;
		*p = (struct rec_pack){ b, 0, cap };
		if (header)	/* it may be the old block's: copied before that goes */
			submitted_block_set_header(b, pack_put(p, header, header_len), header_len);
		submitted_block_release(old);
	}
	*offset = pack_put(p, text, len);
	return p->b;
}

void recover_pack_done(struct rec_pack *p)
{
	submitted_block_release(p->b);	/* the jobs hold it now */
	*p = (struct rec_pack){ NULL, 0, 0 };
}

/* A snapshot job's own text, and its batch header (NULL: none): written
 * in full (REC_SNAP_HEADER, which becomes the last one, kept in
 * r->snap_header even when the job itself is not kept) or the last one
 * (REC_SNAP_HEADER_SAME). */
static int snap_text(struct recovery *r, const struct rec_snap_view *v, const char **header,
		     size_t *header_len, const char **text, size_t *text_len)
{
	const char *nl;

	*text = v->text;
	*text_len = (size_t)v->text_len;
	*header = NULL;
	*header_len = 0;
	if (v->job.flags & REC_SNAP_HEADER) {	/* "header\njob" */
		if (!(nl = memchr(*text, '\n', *text_len)))
			return -EPROTO;
		size_t len = (size_t)(nl - *text);
		if (!r->snap_header || r->snap_header_len != len ||
		    memcmp(r->snap_header, *text, len) != 0) {
			free(r->snap_header);
			/* memcpy, not strndup: a damaged record may hold a NUL,
			 * and the header is used for len bytes (fuzz: snapshot). */
			if (!(r->snap_header = malloc(len + 1)))
				return -ENOMEM;
			memcpy(r->snap_header, *text, len);
			r->snap_header[len] = '\0';
			r->snap_header_len = len;
		}
		*text_len -= len + 1;
		*text = nl + 1;
	} else if (!(v->job.flags & REC_SNAP_HEADER_SAME)) {
		return 0;
	} else if (!r->snap_header) {
		return -EPROTO;	/* no header before it */
	}
	*header = r->snap_header;
	*header_len = r->snap_header_len;
	return 0;
}

/* An array task written in full: its text is what the next ones share. */
static void snap_array_keep(struct recovery *r, struct submitted_block *block, size_t offset,
			    size_t len)
{
	block->refs++;
	submitted_block_release(r->snap_array_block);
	r->snap_array_block = block;
	r->snap_array_offset = (uint32_t)offset;
	r->snap_array_len = (uint32_t)len;
}

static int snap_job(struct recovery *r, const struct rec_snap_view *v)
{
	const struct rec_snap_job *s = &v->job;
	struct submitted_block *block;
	const char *text, *header;
	size_t text_len, header_len;
	struct rjob *j;
	size_t offset;
	int rc = snap_text(r, v, &header, &header_len, &text, &text_len);

	if (rc < 0)
		return rc;
	if ((s->flags & REC_SNAP_TEXT_SAME) && !r->snap_array_block)
		return -EPROTO;	/* no array task written in full before it */
	if (!(j = job_new(r, s->job_id)))
		return 0;
	if (s->flags & REC_SNAP_TEXT_SAME) {
		block = r->snap_array_block;
		offset = r->snap_array_offset;
		text_len = r->snap_array_len;
	} else {
		block = header ? pack_text(&r->hpack, header, header_len, text, text_len, &offset)
			       : pack_text(&r->pack, NULL, 0, text, text_len, &offset);
		if (!block)
			return -ENOMEM;
		if (s->flags & REC_SNAP_ARRAY)
			snap_array_keep(r, block, offset, text_len);
	}
	*j = (struct rjob){
		.id = s->job_id, .order = j->order, .uid = s->uid, .gid = s->gid,
		.flags = s->flags, .state = s->state, .reason = s->reason,
		.worker_id = v->worker_id, .attempt = s->attempt, .status = rec_snap_job_status(s),
		.created_ns = s->created_ns, .start_ns = s->start_ns, .end_ns = s->end_ns,
	};
	j->flags &= ~(REC_SNAP_HEADER | REC_SNAP_HEADER_SAME | REC_SNAP_TEXT_SAME);
	job_json(j, block, offset, text_len);
	if (s->flags & (REC_SNAP_PROC | REC_SNAP_BACKOFF | REC_SNAP_SPAWN_ERROR)) {
		struct rproc *rp = proc_of(r, j);
		if (!rp)
			return -ENOMEM;
		rp->not_before_ns = v->not_before_ns;
		rp->spawn_error = v->spawn_error;
		rp->proc = v->proc;
		if (v->proc.alloc_len && (rp->alloc = malloc(v->proc.alloc_len)))
			memcpy(rp->alloc, v->alloc, v->proc.alloc_len);
		else
			rp->proc.alloc_len = 0;
		j->flags &= ~(REC_SNAP_PROC | REC_SNAP_BACKOFF | REC_SNAP_SPAWN_ERROR);
	}
	if (s->flags & REC_SNAP_CANCEL) {
		j->cancel_requested = true;
		j->flags &= ~REC_SNAP_CANCEL;
	}
	if (s->flags & REC_SNAP_ARRAY) {
		j->array_job_id = v->array.array_job_id;
		j->array_task_id = v->array.array_task_id;
		j->flags &= ~REC_SNAP_ARRAY;
	}
	j->held = (s->flags & REC_SNAP_HELD) != 0;	/* said either way */
	j->flags &= ~REC_SNAP_HELD;
	r->snapshot_jobs++;
	r->snap_jobs_totals.submitted++;	/* a snapshot without counters */
	if (jobstats_outcome_of(s->state) < JS_OUTCOMES)
		r->snap_jobs_totals.ended[jobstats_outcome_of(s->state)]++;
	return 0;
}

static int on_snap_jobs(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_snap_view v;
	size_t pos = 0;
	int rc;

	while ((rc = rec_snap_next(p, len, &pos, &v)) == 0)
		if ((rc = snap_job(r, &v)) < 0)
			return rc;
	return rc < 0 ? rc : 0;
}

/* The job totals as of the snapshot's seq (issue 16). */
static int on_snap_counters(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_counters c;

	if (len < sizeof(c))
		return -EPROTO;
	memcpy(&c, p, sizeof(c));
	r->snap_totals.submitted = c.submitted;
	for (int o = 0; o < JS_OUTCOMES; o++)
		r->snap_totals.ended[o] = c.ended[o];
	r->snap_has_totals = true;
	return 0;
}

void recover_totals(const struct recovery *r, struct jobstats_totals *out)
{
	const struct jobstats_totals *base = r->snap_has_totals ? &r->snap_totals
								: &r->snap_jobs_totals;

	out->submitted = base->submitted + r->journal_totals.submitted;
	for (int o = 0; o < JS_OUTCOMES; o++)
		out->ended[o] = base->ended[o] + r->journal_totals.ended[o];
}

/* An external worker's result JSON for an attempt. */
static int on_result(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_result rr;

	if (len < sizeof(rr))
		return -EPROTO;
	memcpy(&rr, p, sizeof(rr));
	if (rr.len > len - sizeof(rr) || rr.len > EXEC_RESULT_MAX)
		return -EPROTO;
	if (job_of(r, jr_execution_job(rr.execution_id)))
		executions_set_result(&r->execs, jr_execution_job(rr.execution_id), rr.attempt,
				      (const char *)p + sizeof(rr), rr.len);
	return 0;
}

/* A snapshot's history of one job: its rec_execs, each with its result. */
static int on_snap_execs(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_exec_job hj;
	size_t at = sizeof(hj);

	if (len < sizeof(hj))
		return -EPROTO;
	memcpy(&hj, p, sizeof(hj));
	for (uint32_t i = 0; i < hj.count; i++) {
		struct rec_exec e;
		if (len - at < sizeof(e))
			return -EPROTO;
		memcpy(&e, p + at, sizeof(e));
		at += sizeof(e);
		if (e.result_len > EXEC_RESULT_MAX || REC_PAD8(e.result_len) > len - at)
			return -EPROTO;
		struct exec_rec x = {
			.start_ns = e.start_ns, .end_ns = e.end_ns, .spawn_error = e.spawn_error,
			.status = { .exit_code = e.exit_code, .signal = e.signal,
				    .max_rss_kib = e.max_rss_kib, .user_us = e.user_us,
				    .system_us = e.system_us },
			.attempt = e.attempt, .worker_id = e.worker_id, .state = e.state,
			.reason = e.reason, .ended = e.ended, .result_len = e.result_len,
			.result = (char *)(p + at),
		};
		at += REC_PAD8(e.result_len);
		if (e.attempt)
			executions_restore(&r->execs, hj.job_id, &x);
	}
	return 0;
}

int recover_record(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	switch (type) {
	case REC_SUBMIT: return on_submit(r, p, len);
	case REC_START:
	case REC_RETRY:
	case REC_END: return on_event(r, type, p, len);
	case REC_CANCEL: return on_cancel(r, p, len);
	case REC_QUEUE:
	case REC_QUEUE_UPDATE: return recover_queue(r, p, len);
	case REC_QUEUE_DELETE: return recover_queue_delete(r, p, len);
	case REC_WORKER: return recover_worker(r, p, len);
	case REC_CONTROL: return on_control(r, p, len);
	case REC_UPDATE: return on_update(r, p, len);
	case REC_SCHEDULER: return recover_scheduler(r, p, len);
	case REC_SNAP_JOBS: return on_snap_jobs(r, p, len);
	case REC_RESULT: return on_result(r, p, len);
	case REC_SNAP_EXECS: return on_snap_execs(r, p, len);
	case REC_TRIGGER:
	case REC_TRIGGER_DELETE:
	case REC_TRIGGER_FIRE: return recover_trigger(r, type, p, len);
	case REC_SNAP_BEGIN:
	case REC_SNAP_END: return 0;	/* read by the snapshot reader */
	case REC_SCHEDULE: return recover_schedule(r, p, len);
	case REC_SCHEDULE_DELETE: return recover_schedule_delete(r, p, len);
	case REC_SNAP_ORIGINS: return recover_snap_origins(r, p, len);
	case REC_NOTIFY_QUEUED:
	case REC_NOTIFY_DELIVERED:
	case REC_NOTIFY_FAILED:
	case REC_NOTIFY_QUEUE_SET: return outbox_apply(&r->outbox, type, p, len);	/* issue 16 */
	case REC_SNAP_COUNTERS: return on_snap_counters(r, p, len);
	case REC_ALLOC:
	case REC_ALLOC_DELETE:
	case REC_ALLOC_JOB: return recover_alloc(r, type, p, len);	/* issue 17 */
	}
	return -EPROTO;
}

void recover_free(struct recovery *r)
{
	/* Snapshot records found in the journal leave their packs here. */
	recover_pack_done(&r->pack);
	recover_pack_done(&r->hpack);
	free(r->snap_header);
	submitted_block_release(r->snap_array_block);
	array_index_free(&r->tasks);
	for (uint32_t i = 0; r->jobs && i < r->capacity; i++)
		submitted_block_release(r->jobs[i].block);
	jr_table_free(r->jobs, (size_t)r->capacity * sizeof(*r->jobs));
	free(r->order);
	free(r->queues);
	for (uint32_t i = 0; i < r->worker_count; i++)
		free(r->workers[i].json);
	free(r->workers);
	for (uint32_t i = 1; i < r->proc_count; i++)
		free(r->procs[i].alloc);
	free(r->procs);
	free(r->reattach);
	executions_destroy(&r->execs);
	triggers_destroy(&r->triggers);
	fired_destroy(&r->origins);
	schedules_free(r->sched);
	outbox_destroy(&r->outbox);
	allocs_destroy(&r->allocs);	/* issue 17 */
	memset(r, 0, sizeof(*r));
}
