/*
 * executions.c - the history of jobs' attempts. See executions.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/runbits.h"
#include "daemon/state/executions.h"
#include "exec/outdir.h"
#include "shm/jobtab.h"

int executions_init(struct executions *x, uint32_t capacity)
{
	memset(x, 0, sizeof(*x));
	x->out_dirfd = -1;
	x->capacity = capacity;
	x->by_slot = calloc(capacity ? capacity : 1, sizeof(*x->by_slot));
	x->runs_used = jr_runbits_new(capacity, EXEC_RUN_SLOTS);
	return x->by_slot && x->runs_used ? 0 : -ENOMEM;
}

static bool run_used(const struct executions *x, uint32_t index)
{
	return jr_runbits_test(x->runs_used, index, EXEC_RUN_SLOTS);
}

static void job_free(struct executions *x, struct exec_job *j)
{
	for (uint32_t i = 0; i < j->count; i++) {
		x->result_bytes -= j->recs[i].result_len;
		free(j->recs[i].result);
	}
	x->records -= j->count;
	x->jobs--;
	free(j->recs);
	free(j);
}

void executions_destroy(struct executions *x)
{
	for (uint32_t i = 0; x->by_slot && x->runs_used && i < x->capacity; i++)
		if (run_used(x, i) && x->by_slot[i])
			job_free(x, x->by_slot[i]);
	free(x->by_slot);
	free(x->runs_used);
	x->by_slot = NULL;
	x->runs_used = NULL;
}

void executions_take(struct executions *dst, struct executions *src)
{
	struct exec_job **empty = dst->by_slot;
	uint64_t *none = dst->runs_used;

	JR_ASSERT(dst->capacity == src->capacity && dst->jobs == 0);
	/* The arrays trade places: nothing of a large table is touched. The
	 * empty one may have runs marked: still right, as a hint. */
	dst->by_slot = src->by_slot;
	src->by_slot = empty;
	dst->runs_used = src->runs_used;
	src->runs_used = none;
	dst->jobs = src->jobs;
	dst->records = src->records;
	dst->result_bytes = src->result_bytes;
	src->jobs = src->records = src->result_bytes = 0;
}

/* Where id's entry is, or NULL: none can be there (its run never had
 * one, or id is not a slot's). */
static struct exec_job **slot_of(const struct executions *x, jr_job_id id)
{
	uint32_t index = (uint32_t)id;

	return index < x->capacity && run_used(x, index) ? &x->by_slot[index] : NULL;
}

/* Where id's entry goes (its run marked), or NULL: not a slot's id. */
static struct exec_job **slot_make(struct executions *x, jr_job_id id)
{
	uint32_t index = (uint32_t)id;

	if (index >= x->capacity)
		return NULL;
	jr_runbits_set(x->runs_used, index, EXEC_RUN_SLOTS);
	return &x->by_slot[index];
}

const struct exec_job *executions_of(const struct executions *x, jr_job_id id)
{
	struct exec_job **p = slot_of(x, id);

	return p && *p && (*p)->id == id ? *p : NULL;
}

const struct exec_rec *executions_find(const struct executions *x, jr_job_id id,
				       uint32_t attempt)
{
	const struct exec_job *j = executions_of(x, id);

	for (uint32_t i = 0; j && i < j->count; i++)
		if (j->recs[i].attempt == attempt)
			return &j->recs[i];
	return NULL;
}

/* The past attempts' files: <execution id>.out, .err, .trunc. */
static void remove_files(const struct executions *x, const struct exec_job *j)
{
	if (x->out_dirfd < 0)
		return;
	for (uint32_t i = 0; i < j->count; i++)
		if (j->recs[i].attempt)
			jr_outdir_remove_job(x->out_dirfd, jr_execution_id(j->id, j->recs[i].attempt));
}

void executions_drop(struct executions *x, jr_job_id id)
{
	struct exec_job **p = slot_of(x, id);

	if (!p || !*p || (*p)->id != id)
		return;
	remove_files(x, *p);
	job_free(x, *p);
	*p = NULL;
}

/* The slot's entry if it is an older job's (a lower generation): that
 * job left the table (its slot was given to id), its history and files
 * go. false if the slot holds a newer job's: id's event is stale. */
static bool drop_older(struct executions *x, jr_job_id id)
{
	struct exec_job **p = slot_of(x, id);

	if ((uint32_t)id >= x->capacity)
		return false;
	if (!p || !*p || (*p)->id == id)
		return true;	/* nothing there, or its own */
	if ((*p)->id > id)
		return false;
	remove_files(x, *p);
	job_free(x, *p);
	*p = NULL;
	return true;
}

/* The job's entry; create: made if missing, replacing an older job's. */
static struct exec_job *job_get(struct executions *x, jr_job_id id, bool create)
{
	struct exec_job **p = create ? slot_make(x, id) : slot_of(x, id);

	if (!p)
		return NULL;
	if (*p && (*p)->id == id)
		return *p;
	if (!create || !drop_older(x, id))
		return NULL;
	if ((*p = calloc(1, sizeof(**p))) == NULL)
		return NULL;
	(*p)->id = id;
	x->jobs++;
	return *p;
}

/* The attempt's record in j, inserted in order if missing. */
static struct exec_rec *rec_get(struct executions *x, struct exec_job *j, uint32_t attempt)
{
	uint32_t at = 0;

	while (at < j->count && j->recs[at].attempt < attempt)
		at++;
	if (at < j->count && j->recs[at].attempt == attempt)
		return &j->recs[at];
	if (j->count == j->cap) {
		uint32_t cap = j->cap ? j->cap * 2 : 2;
		struct exec_rec *n = realloc(j->recs, cap * sizeof(*n));
		if (!n)
			return NULL;
		j->recs = n;
		j->cap = cap;
	}
	memmove(&j->recs[at + 1], &j->recs[at], (j->count - at) * sizeof(*j->recs));
	memset(&j->recs[at], 0, sizeof(*j->recs));
	j->recs[at].attempt = attempt;
	j->count++;
	x->records++;
	return &j->recs[at];
}

int executions_ended(struct executions *x, const struct exec_end *e)
{
	bool keep = e->retried || e->requeued;
	struct exec_job *j = job_get(x, e->id, /* create */ keep);
	struct exec_rec *r;

	if (!j && keep && !drop_older(x, e->id))
		return -ESTALE;	/* beyond the table, or a newer job holds the slot */
	if (!j)
		return keep ? -ENOMEM : 0;
	if (!(r = rec_get(x, j, e->attempt)))
		return -ENOMEM;
	if (e->start_ns)
		r->start_ns = e->start_ns;
	r->end_ns = e->end_ns;
	r->status = e->status;
	r->spawn_error = e->spawn_error;
	r->worker_id = e->worker_id;
	/* A retried attempt failed (its reason says how); the job goes on. */
	r->state = e->retried && !e->requeued ? (uint8_t)JR_JOB_FAILED : e->state;
	r->reason = e->reason;
	r->ended = 1;
	return 0;
}

int executions_keep_latest(struct executions *x, const struct jr_job_info *info)
{
	struct exec_end e = {
		.id = info->job_id, .attempt = info->exec.attempt,
		.worker_id = info->exec.worker_id, .state = (uint8_t)info->state,
		.reason = (uint8_t)info->reason, .start_ns = info->exec.start_ns,
		.end_ns = info->exec.end_ns, .status = jr_execution_status(&info->exec),
		.spawn_error = info->exec.spawn_error,
		.requeued = true,	/* kept even without a history */
	};

	if (!info->exec.execution_id || !info->exec.attempt)
		return -ENOENT;
	return executions_ended(x, &e) < 0 ? -ENOMEM : 0;
}

int executions_was_running(struct executions *x, jr_job_id id, uint32_t attempt,
			   uint32_t worker_id, uint64_t start_ns)
{
	struct exec_job *j = job_get(x, id, /* create */ true);
	struct exec_rec *r = j ? rec_get(x, j, attempt) : NULL;

	if (!r)
		return -ENOMEM;
	r->start_ns = start_ns;
	r->worker_id = worker_id;
	r->state = JR_JOB_RUNNING;
	return 0;
}

/* Attempts before attempt that never ended were lost with a daemon. */
static void end_lost(struct exec_job *j, uint32_t attempt)
{
	for (uint32_t i = 0; i < j->count && j->recs[i].attempt < attempt; i++) {
		struct exec_rec *r = &j->recs[i];
		if (r->ended)
			continue;
		r->ended = 1;
		r->state = JR_JOB_FAILED;
		r->reason = JR_REASON_COORDINATOR_LOST;
	}
}

void executions_started(struct executions *x, jr_job_id id, uint32_t attempt,
			uint32_t worker_id, uint64_t start_ns)
{
	struct exec_job *j;
	struct exec_rec *r;

	drop_older(x, id);
	if (!(j = job_get(x, id, /* create */ false)) || !(r = rec_get(x, j, attempt)))
		return;
	end_lost(j, attempt);
	r->start_ns = start_ns;
	r->worker_id = worker_id;
	r->state = JR_JOB_RUNNING;
	r->ended = 0;
}

int executions_set_result(struct executions *x, jr_job_id id, uint32_t attempt,
			  const char *result, size_t len)
{
	struct exec_job *j;
	struct exec_rec *r;
	char *copy;

	if (len > EXEC_RESULT_MAX)
		return -E2BIG;
	if (!(j = job_get(x, id, /* create */ true)) || !(r = rec_get(x, j, attempt)) ||
	    !(copy = malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, result, len);
	copy[len] = '\0';
	x->result_bytes += len - r->result_len;
	free(r->result);
	r->result = copy;
	r->result_len = (uint32_t)len;
	return 0;
}

int executions_restore(struct executions *x, jr_job_id id, const struct exec_rec *rec)
{
	struct exec_job *j = job_get(x, id, /* create */ true);
	struct exec_rec *r = j ? rec_get(x, j, rec->attempt) : NULL;
	char *result = r ? r->result : NULL;
	uint32_t result_len = r ? r->result_len : 0;

	if (!r)
		return -ENOMEM;
	*r = *rec;
	r->result = result;
	r->result_len = result_len;
	return rec->result_len ? executions_set_result(x, id, rec->attempt, rec->result,
						       rec->result_len) : 0;
}

void executions_prune(struct executions *x, struct jr_engine *e)
{
	struct jr_job_info info;

	for (uint32_t i = 0; i < x->capacity; i++) {
		if (!run_used(x, i)) {
			i |= EXEC_RUN_SLOTS - 1;	/* the next run */
			continue;
		}
		struct exec_job *j = x->by_slot[i];
		if (j && jr_job_get(e, j->id, &info) < 0) {
			remove_files(x, j);
			job_free(x, j);
			x->by_slot[i] = NULL;
		}
	}
}
