/*
 * restore.c - the picture recover.c read put back into a fresh engine
 * and the state the API serves: queues, workers, then jobs in chunks,
 * their submitted JSON parsed again on every core. See recover.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/common.h"
#include "daemon/durable/recover.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/schedules.h"
#include "daemon/state/jsonarena.h"
#include "shm/jobtab.h"

#define APPLY_CHUNK 8192u

/* The end time before which finished jobs are dropped: by age, and so
 * that at most max_finished remain. */
static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

uint64_t retention_cutoff(uint64_t *ends, uint64_t n, const struct retention *keep,
			  uint64_t now)
{
	uint64_t cutoff = keep->max_age_ns && now > keep->max_age_ns ? now - keep->max_age_ns : 0;

	if (keep->max_finished && n > keep->max_finished) {
		qsort(ends, n, sizeof(*ends), cmp_desc);
		if (ends[keep->max_finished - 1] > cutoff)
			cutoff = ends[keep->max_finished - 1];
	}
	return cutoff;
}

/* When a finished job finished: its end, or its creation if it never
 * ran (cancelled while queued, a failed dependency). */
static uint64_t finished_ns(const struct rjob *j)
{
	return j->end_ns ? j->end_ns : j->created_ns;
}

static uint64_t recovery_cutoff(const struct recovery *r, const struct retention *keep,
				uint64_t now)
{
	uint64_t n = 0, *ends, cutoff;

	for (uint32_t i = 1; i < r->capacity; i++)
		n += r->jobs[i].id && job_state_final(r->jobs[i].state);
	if (!(ends = malloc((n ? n : 1) * sizeof(*ends))))
		return 0;
	n = 0;
	for (uint32_t i = 1; i < r->capacity; i++)
		if (r->jobs[i].id && job_state_final(r->jobs[i].state))
			ends[n++] = finished_ns(&r->jobs[i]);
	cutoff = retention_cutoff(ends, n, keep, now);
	free(ends);
	return cutoff;
}

static void apply_queues(struct recovery *r, struct jr_engine *e)
{
	for (uint32_t i = 0; i < r->queue_count; i++) {
		const struct rec_queue *q = &r->queues[i];
		uint32_t id;
		int rc = jr_queue_create(e, q->name, q->priority, q->max_workers, &id);
		if (rc == -EEXIST)	/* the default queue, updated */
			rc = jr_queue_lookup(e, q->name, &id);
		if (rc == 0)
			rc = jr_queue_update(e, id, q->priority, q->max_workers);
		if (rc < 0)
			fprintf(stderr, "jobringd: cannot restore queue %s: %s\n", q->name,
				strerror(-rc));
	}
}

static void apply_workers(struct recovery *r, struct workers *reg)
{
	for (uint32_t i = 0; i < r->worker_count; i++) {
		const struct rworker *w = &r->workers[i];
		if (workers_restore(reg, w->rec.number, w->rec.uid, w->rec.registered_ns, w->json,
				    strlen(w->json)) < 0)
			fprintf(stderr, "jobringd: cannot restore worker w%u\n", w->rec.number);
	}
}

/* Its attempts that ended worker_lost, in its history (taken into the
 * state's by now; a live job's were all retried): the engine's free
 * retries it has used (at most 255; the engine takes at most
 * CMD_WORKER_LOST_RETRIES of them). */
static uint32_t workers_lost(const struct executions *execs, const struct rjob *j)
{
	const struct exec_job *x = executions_of(execs, j->id);
	uint32_t n = 0;

	for (uint32_t i = 0; x && i < x->count && n < 255; i++)
		n += x->recs[i].reason == JR_REASON_WORKER_LOST && x->recs[i].ended;
	return n;
}

/* How the engine takes the job back: running ones are taken back (or
 * run again), a retry waits out its backoff, and the free retries its
 * lost workers used stay used. */
static struct jr_job_restore restore_of(const struct recovery *r, const struct executions *execs,
					const struct rjob *j)
{
	struct jr_job_restore rs = {
		.job_id = j->id, .state = j->state, .reason = j->reason, .attempt = j->attempt,
		.worker_id = j->worker_id, .created_ns = j->created_ns, .start_ns = j->start_ns,
		.end_ns = j->end_ns,
	};
	const struct rproc *rp = j->proc ? &r->procs[j->proc] : NULL;

	jr_job_restore_set_status(&rs, &j->status);

	/* An acknowledged cancel it had not obeyed: the engine ends it
	 * cancelled, stopping what still runs, keeping what an attempt the
	 * keeper saw (one spawned as the cancel came) did. */
	rs.cancel = j->cancel_requested && !job_state_final(j->state);
	if (rp && j->state == JR_JOB_RUNNING) {
		/* The engine takes it back, or runs it again. */
		rs.pid = rp->proc.pid;
		rs.pid_start_ticks = rp->proc.start_ticks;
		memcpy(rs.boot_id, rp->proc.boot_id, sizeof(rs.boot_id));
		rs.cgroup_slot = rp->proc.cgroup_slot;
		rs.alloc = rp->alloc;
		rs.alloc_len = rp->proc.alloc_len;
	} else if (rp && j->state == JR_JOB_QUEUED) {
		rs.not_before_ns = rp->not_before_ns;
	}
	if (rp)
		rs.spawn_error = rp->spawn_error;
	rs.workers_lost = workers_lost(execs, j);
	return rs;
}

/* A chunk of jobs on its way into the engine. */
struct chunk {
	const struct recovery *r;
	const struct executions *execs;	/* the state's, with the history */
	struct rjob *jobs[APPLY_CHUNK];
	struct jobspec specs[APPLY_CHUNK];
	struct jr_command_spec flat[APPLY_CHUNK];
	struct jr_job_restore rs[APPLY_CHUNK];
	cJSON *json[APPLY_CHUNK];
	bool unreadable[APPLY_CHUNK];
	uint32_t n;
	uint32_t parsed;		/* specs and json hold this many */
	/* The batch header last read, kept from chunk to chunk: the jobs of
	 * a batch get the same shared_env pointer (one copy in the engine
	 * per chunk). */
	char *header;			/* its text; NULL: none yet */
	struct jobspec_batch shared;
	bool header_ok;
	/* Headers read before it in this chunk: its specs point at them
	 * until the engine has copied the chunk. */
	struct jobspec_batch *older;
	uint32_t older_n, older_cap;
};

static char *unreadable_argv[] = { "false", NULL };

/* Job k cannot be scheduled as it was submitted: it is put back as a
 * failed job (a final one keeps its state), still answering at its id. */
static void restore_as_failed(struct chunk *c, uint32_t k)
{
	c->unreadable[k] = true;
	c->flat[k] = (struct jr_command_spec){ .argv = unreadable_argv };
	if (!job_state_final(c->rs[k].state)) {
		c->rs[k].state = JR_JOB_FAILED;
		c->rs[k].reason = JR_REASON_SPAWN_FAILED;
	}
}

static jr_job_id corr_find(void *ctx, jr_job_id array, uint32_t index)
{
	return array_index_find(ctx, array, index);
}

/* A task of an array, as it was submitted: its array's id and index, the
 * array's throttle (the engine keys it by the array's id), and its
 * aftercorr edges on the other array's task of its index (rewritten in
 * place: the task's jobspec is its own). */
static void as_array_task(struct jr_command_spec *spec, const struct recovery *r,
			  const struct rjob *j, struct jobspec *js)
{
	spec->flags |= JR_COMMAND_ARRAY_TASK;
	spec->array_job_id = j->array_job_id;
	spec->array_task_id = j->array_task_id;
	spec->throttle_max = js->array ? js->array->throttle : 0;
	if (jobspec_has_corr(js))
		jobspec_corr(js, j->array_task_id, spec, js->after, jobspec_dep_types(js), corr_find,
			     (void *)&r->tasks);
}

/* Every array task read back, by (array, index): before any is parsed. */
static int index_array_tasks(struct recovery *r)
{
	for (uint32_t i = 1; i < r->capacity; i++) {
		const struct rjob *j = &r->jobs[i];
		if (j->id && j->array_job_id &&
		    array_index_add(&r->tasks, j->array_job_id, j->array_task_id, j->id) < 0)
			return -ENOMEM;
	}
	array_index_sort(&r->tasks);
	return 0;
}

/* Parse job k's JSON as at its submission; one that no longer parses
 * (a queue or resource gone) is restored as failed. Runs on several
 * threads at once, each on its own k. */
static void chunk_parse(struct jr_engine *e, struct chunk *c, uint32_t k)
{
	const struct rjob *j = c->jobs[k];
	struct jobspec_submitter who = { j->uid, j->gid, (j->flags & REC_SUBMIT_SWITCH_USER) != 0 };
	struct jobspec_error err;

	memset(&c->specs[k], 0, sizeof(c->specs[k]));
	c->json[k] = cJSON_ParseWithLength(j->block->text + j->json_offset, j->json_len);
	c->rs[k] = restore_of(c->r, c->execs, j);
	c->unreadable[k] = false;
	if (c->json[k] && jobspec_parse(e, c->json[k], &who, &c->specs[k], &err)) {
		c->flat[k] = c->specs[k].spec;
		if (j->array_job_id)
			as_array_task(&c->flat[k], c->r, j, &c->specs[k]);
		/* A hold or release after its submission decides; a job that
		 * started was released, whatever a fuzzy snapshot says. */
		bool held = j->state == JR_JOB_QUEUED &&
			    (j->held >= 0 ? j->held == 1 : (c->flat[k].flags & JR_COMMAND_HELD));
		c->flat[k].flags = held ? c->flat[k].flags | JR_COMMAND_HELD :
					  c->flat[k].flags & ~(uint32_t)JR_COMMAND_HELD;
		return;
	}
	fprintf(stderr, "jobringd: job %016llx no longer reads as a job (%s): restored as failed\n",
		(unsigned long long)j->id, c->json[k] ? err.message : "not JSON");
	restore_as_failed(c, k);
}

/* Job k's batch header into the chunk's cache (read only when it differs
 * from the last): false if it no longer reads (it was checked when
 * submitted, so only a damaged store gets here). */
static bool chunk_header(struct chunk *c, const char *header)
{
	struct jobspec_error err;
	cJSON *o;

	if (c->header && strcmp(c->header, header) == 0)
		return c->header_ok;
	if (c->older_n == c->older_cap) {
		uint32_t cap = c->older_cap ? c->older_cap * 2 : 16;
		struct jobspec_batch *n = realloc(c->older, cap * sizeof(*n));
		if (!n)
			return false;
		c->older = n;
		c->older_cap = cap;
	}
	c->older[c->older_n++] = c->shared;
	c->shared.env = NULL;
	free(c->header);
	c->header = strdup(header);
	o = c->header ? cJSON_Parse(header) : NULL;
	c->header_ok = o && jobspec_parse_batch(o, &c->shared, &err);
	cJSON_Delete(o);
	return c->header_ok;
}

/* Each parsed job of a batch with a header gets the header's env beneath
 * its own, as at its submission. The recovering thread, in order, after
 * the parse. */
static void chunk_share_env(struct chunk *c)
{
	for (uint32_t k = 0; k < c->n; k++) {
		const char *header = submitted_block_header(c->jobs[k]->block);
		if (!header || c->unreadable[k])
			continue;
		if (chunk_header(c, header)) {
			c->flat[k].shared_env = c->shared.env;
			continue;
		}
		fprintf(stderr, "jobringd: job %016llx's batch header no longer reads: "
			"restored as failed\n", (unsigned long long)c->jobs[k]->id);
		restore_as_failed(c, k);
	}
}

/* The headers the engine has copied (all but the last one read). */
static void chunk_headers_done(struct chunk *c)
{
	for (uint32_t i = 0; i < c->older_n; i++)
		jobspec_batch_free(&c->older[i]);
	c->older_n = 0;
}

static void chunk_header_free(struct chunk *c)
{
	chunk_headers_done(c);
	free(c->older);
	free(c->header);
	c->header = NULL;
	jobspec_batch_free(&c->shared);
}

/* --- parsing on every core --------------------------------------------------------------- */

#define PARSE_HELPERS_MAX 7u

/* Helpers parse their share of each chunk while the recovering thread
 * parses its own: JSON parsing is most of a recovery. */
struct parse_pool {
	pthread_t threads[PARSE_HELPERS_MAX];
	uint32_t helpers;
	struct jr_mutex lock;
	pthread_cond_t go, finished;
	uint64_t round;			/* a new chunk to parse */
	uint32_t working;		/* helpers still on this round */
	bool stop;
	struct jr_engine *engine;
	struct chunk *chunk;
	bool freeing;			/* this round frees what the last parsed */
};

struct parse_helper {
	struct parse_pool *pool;
	uint32_t part;
};

static struct parse_helper helper_args[PARSE_HELPERS_MAX];

/* A thread frees what it parsed: with jemalloc, freeing another
 * thread's allocations is the slow path. */
static void parse_share(struct parse_pool *p, uint32_t part)
{
	struct chunk *c = p->chunk;
	uint32_t n = c->parsed, parts = p->helpers + 1;
	uint32_t lo = (uint32_t)((uint64_t)n * part / parts);
	uint32_t hi = (uint32_t)((uint64_t)n * (part + 1) / parts);

	if (!p->freeing)
		json_arena_begin();
	for (uint32_t k = lo; k < hi; k++) {
		if (!p->freeing)
			chunk_parse(p->engine, c, k);
		else
			jobspec_free(&c->specs[k]);
	}
	if (!p->freeing)
		json_arena_end();
	else
		json_arena_reset();	/* this thread's trees, all at once */
}

static void *parse_helper_main(void *arg)
{
	struct parse_helper *h = arg;
	struct parse_pool *p = h->pool;
	uint64_t seen = 0;

	jr_mutex_lock(&p->lock);
	for (;;) {
		while (p->round == seen && !p->stop)
			jr_cond_wait(&p->go, &p->lock);
		if (p->stop)
			break;
		seen = p->round;
		jr_mutex_unlock(&p->lock);
		parse_share(p, h->part);
		jr_mutex_lock(&p->lock);
		if (--p->working == 0)
			pthread_cond_signal(&p->finished);
	}
	jr_mutex_unlock(&p->lock);
	return NULL;
}

static void parse_pool_start(struct parse_pool *p, struct jr_engine *e)
{
	/* One core stays with the coordinator, which builds the jobs handed
	 * over meanwhile: on 2 cores a helper only slowed recovery down
	 * (0.81 s for 1M jobs alone, 1.2 s with one). */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t want = cpus > 2 ? (uint32_t)cpus - 2 : 0;

	memset(p, 0, sizeof(*p));
	p->engine = e;
	jr_mutex_init(&p->lock, JR_LOCK_DAEMON_STATE);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->finished, NULL);
	want = want < PARSE_HELPERS_MAX ? want : PARSE_HELPERS_MAX;
	jr_mutex_lock(&p->lock);	/* helpers start counted */
	for (uint32_t i = 0; i < want; i++) {
		helper_args[i] = (struct parse_helper){ p, i + 1 };
		if (pthread_create(&p->threads[i], NULL, parse_helper_main, &helper_args[i]) != 0)
			break;
		p->helpers++;
	}
	jr_mutex_unlock(&p->lock);
}

/* Parse every job of c (or free what that left), on all the pool's
 * threads. */
static void parse_pool_run(struct parse_pool *p, struct chunk *c, bool freeing)
{
	jr_mutex_lock(&p->lock);
	p->chunk = c;
	p->freeing = freeing;
	p->working = p->helpers;
	p->round++;
	pthread_cond_broadcast(&p->go);
	jr_mutex_unlock(&p->lock);
	parse_share(p, 0);
	jr_mutex_lock(&p->lock);
	while (p->working)
		jr_cond_wait(&p->finished, &p->lock);
	jr_mutex_unlock(&p->lock);
}

static void parse_pool_stop(struct parse_pool *p)
{
	jr_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	jr_mutex_unlock(&p->lock);
	for (uint32_t i = 0; i < p->helpers; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->finished);
	jr_mutex_destroy(&p->lock);
}

static void chunk_drop(struct chunk *c, uint32_t k)
{
	memmove(&c->jobs[k], &c->jobs[k + 1], (c->n - k - 1) * sizeof(c->jobs[0]));
	memmove(&c->flat[k], &c->flat[k + 1], (c->n - k - 1) * sizeof(c->flat[0]));
	memmove(&c->rs[k], &c->rs[k + 1], (c->n - k - 1) * sizeof(c->rs[0]));
	c->n--;
}

/* What a later snapshot must keep of a restored job beyond its state
 * (its process comes back with the engine's start event). */
static void note_for_snapshots(struct durable *d, const struct jr_job_restore *rs)
{
	if (!d || job_state_final(rs->state))
		return;
	if (rs->not_before_ns)
		durable_note_backoff(d, rs->job_id, rs->not_before_ns);
	if (rs->cancel)
		durable_note_cancel(d, rs->job_id);
}

/* A running job of an external worker: re-attached to it once every job
 * is back (apply_reattach). No memory to note it: it runs on, held by
 * no worker (its completion is still accepted, but a worker that does
 * not come back does not lose it; logged). */
static void note_reattach(struct recovery *r, const struct rjob *j)
{
	if (j->worker_id <= JR_EXTERNAL_WORKER_BASE || j->attempt == 0)
		return;
	if (r->reattach_count == r->reattach_cap) {
		uint32_t cap = r->reattach_cap ? r->reattach_cap * 2 : 64;
		struct rattach *n = realloc(r->reattach, cap * sizeof(*n));
		if (!n) {
			fprintf(stderr, "jobringd: no memory to re-attach job %016llx to its "
				"worker\n", (unsigned long long)j->id);
			return;
		}
		r->reattach = n;
		r->reattach_cap = cap;
	}
	r->reattach[r->reattach_count++] = (struct rattach){
		jr_execution_id(j->id, j->attempt), j->worker_id };
}

/* The chunk's jobs, now in the engine, into the state: their submitted
 * JSON (the state holds their blocks now) and what snapshots need. */
static void chunk_to_state(struct recovery *r, struct state *st, struct durable *d,
			   struct chunk *c)
{
	for (uint32_t k = 0; k < c->n; k++) {
		struct rjob *j = c->jobs[k];
		struct jobspec_submitter who = { j->uid, j->gid,
						 (j->flags & REC_SUBMIT_SWITCH_USER) != 0 };
		submitted_put(&st->jobs, j->id, j->block, j->json_offset, j->json_len, &who);
		if (j->array_job_id)
			submitted_set_array(&st->jobs, j->id, j->array_job_id, j->array_task_id);
		submitted_block_release(j->block);
		j->block = NULL;
		note_for_snapshots(d, &c->rs[k]);
		if (c->rs[k].state == JR_JOB_RUNNING) {	/* taken back, or lost: run again */
			executions_was_running(&st->execs, j->id, j->attempt, j->worker_id,
					       j->start_ns);
			note_reattach(r, j);
		}
		if (job_state_final(c->rs[k].state))
			r->restored_final++;
		else
			r->restored_live++;
	}
}

/* Into the engine; one it refuses is shown as failed, or dropped. */
static int chunk_apply(struct recovery *r, struct state *st, struct durable *d,
		       struct chunk *c, struct parse_pool *pool)
{
	uint32_t done = 0;

	c->parsed = c->n;
	parse_pool_run(pool, c, false);
	chunk_share_env(c);
	for (uint32_t k = 0; k < c->n; k++) {
		r->unreadable += c->unreadable[k];
		r->requeued_lost += c->rs[k].state == JR_JOB_RUNNING;	/* were running */
	}
	while (done < c->n) {
		size_t bad = 0;
		int rc = jr_command_restore(st->engine, c->flat + done, c->rs + done, c->n - done,
					    &bad);
		if (rc == 0)
			break;
		fprintf(stderr, "jobringd: cannot restore job %016llx: %s\n",
			(unsigned long long)c->rs[done + bad].job_id, strerror(-rc));
		if (rc == -ENOMEM) {
			c->n = done + (uint32_t)bad;	/* the engine took those */
			break;
		}
		/* This host cannot run it any more (fewer cores, a queue or a
		 * resource gone): it is shown as failed rather than lost. A
		 * slot restored twice, or a failed job refused too, goes. */
		uint32_t k = done + (uint32_t)bad;
		if (rc == -EEXIST || c->flat[k].argv == unreadable_argv) {
			chunk_drop(c, k);
		} else {
			restore_as_failed(c, k);
			r->unreadable++;
		}
	}
	chunk_to_state(r, st, d, c);
	chunk_headers_done(c);
	parse_pool_run(pool, c, true);
	c->n = 0;
	return 0;
}

static int apply_jobs(struct recovery *r, struct state *st, struct durable *d,
		      const struct retention *keep)
{
	uint64_t cutoff = recovery_cutoff(r, keep, jr_now_realtime_ns());
	struct chunk *c = calloc(1, sizeof(*c));
	struct parse_pool pool;

	if (!c)
		return -ENOMEM;
	c->r = r;
	c->execs = &st->execs;
	parse_pool_start(&pool, st->engine);
	for (uint64_t pos = 0; pos < r->order_count; pos++) {
		struct rjob *j = &r->jobs[r->order[pos]];
		if (!j->id || j->order != pos)
			continue;	/* its slot was taken again later */
		if (job_state_final(j->state) && finished_ns(j) < cutoff) {
			r->aged_out++;
			continue;
		}
		c->jobs[c->n++] = j;
		if (c->n == APPLY_CHUNK)
			chunk_apply(r, st, d, c, &pool);
	}
	if (c->n)
		chunk_apply(r, st, d, c, &pool);
	parse_pool_stop(&pool);
	chunk_header_free(c);
	free(c);
	return 0;
}

/* External executions that ran on (issue 17) held by their workers
 * again; one whose worker is not registered any more is lost at once
 * (worker_lost: retried while retries are left), and so is every one
 * when the lease key was made at this start (a daemon from before
 * issue 17 ran them: the leases their workers hold are void). A worker
 * hears "stop" for it at its next heartbeat. */
static void apply_reattach(struct recovery *r, struct state *st)
{
	uint64_t now = jr_now_realtime_ns();

	/* Every worker's heartbeat timeout counts from here, the end of the
	 * recovery, not from when its record was read. */
	for (uint32_t i = 0; i < st->workers.count; i++)
		if (st->workers.list[i].used)
			st->workers.list[i].last_heartbeat_ns = now;
	for (uint32_t i = 0; i < r->reattach_count; i++) {
		const struct rattach *x = &r->reattach[i];
		int rc = workers_reattach(&st->workers, st->engine, x->worker_id, x->execution_id);
		if (rc == 0 && !r->lease_fresh) {
			r->reattached++;
			continue;
		}
		if (jr_external_complete(st->engine, x->execution_id, -1, /* lost */ 1) == 0)
			r->reattach_lost++;
	}
	if (r->reattach_count)
		fprintf(stderr, "jobringd: %llu external executions re-attached to their workers, "
			"%llu lost%s\n", (unsigned long long)r->reattached,
			(unsigned long long)r->reattach_lost,
			!r->reattach_lost ? "" : r->lease_fresh ?
			" (a new lease key: the workers' leases are void)" : " (their workers are gone)");
}

/* Scheduling paused by a user stays paused (before any job is put
 * back, so that none starts); a --paused start stays paused whatever the
 * journal says. */
static void apply_pause(const struct recovery *r, struct state *st)
{
	if (r->paused == 1) {
		jr_engine_pause(st->engine);
		st->paused = true;
	}
}

/* Requeues of running jobs that had not stopped them yet, asked again. */
static void apply_requeues(struct recovery *r, struct state *st)
{
	for (uint64_t i = 0; i < r->order_count; i++) {
		const struct rjob *j = &r->jobs[r->order[i]];
		if (j->id && j->requeue_requested && j->state == JR_JOB_RUNNING &&
		    r->order[i] == (uint32_t)j->id && j->order == i)
			jr_command_requeue(st->engine, j->id);
	}
}

/* Fired jobs' origins for the jobs put back; the schedules, each with
 * the last due instant its records fired (schedules.h). */
static void apply_schedules(struct recovery *r, struct state *st)
{
	fired_destroy(&st->fired);
	st->fired = r->origins;
	memset(&r->origins, 0, sizeof(r->origins));
	fired_sweep(&st->fired, st->engine);
	if (r->sched) {
		schedules_free(st->schedules);
		st->schedules = r->sched;
		r->sched = NULL;
		/* Due again after the last instant its records fired. */
		for (uint32_t id = 1; id < st->schedules->id_cap; id++)
			if (st->schedules->by_id[id])
				schedules_rearm(st->schedules, st->schedules->by_id[id]);
	}
}

int recover_apply(struct recovery *r, struct state *st, struct durable *d,
		  const struct retention *keep)
{
	uint64_t t0 = jr_now_monotonic_ns();
	int rc;

	apply_pause(r, st);
	recover_totals(r, &durable_jobstats(d)->all);	/* issue 16 */
	apply_queues(r, st->engine);
	apply_workers(r, &st->workers);
	if (r->lease_loaded)	/* leases outlive the restart (issue 17) */
		st->workers.lease = r->lease;
	triggers_take(&st->triggers, &r->triggers);	/* watched by the API's start */
	outbox_take(&st->outbox, &r->outbox);	/* sent by the API's start (issue 16) */
	allocs_take(&st->allocs, &r->allocs);	/* asked for by the API's poller (issue 17) */
	executions_take(&st->execs, &r->execs);
	rc = index_array_tasks(r);
	if (rc == 0)
		rc = apply_jobs(r, st, d, keep);
	if (rc == 0)	/* the history of jobs not put back goes */
		executions_prune(&st->execs, st->engine);
	if (rc == 0)
		rc = jr_command_restore_done(st->engine);
	if (rc == 0)
		apply_reattach(r, st);
	if (rc == 0)
		apply_requeues(r, st);
	if (rc == 0)
		apply_schedules(r, st);	/* issue 15: fired jobs' origins, schedules */
	if (rc < 0)
		snprintf(r->error, sizeof(r->error), "cannot restore the jobs: %s", strerror(-rc));
	r->apply_ms = (double)(jr_now_monotonic_ns() - t0) / JR_NS_PER_MS;
	return rc;
}
