/*
 * recover.c - reading the snapshot and journal into a picture of every
 * job, and putting it back into the engine and the API. See recover.h.
 */
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "daemon/durable.h"
#include "daemon/jobspec.h"
#include "daemon/jsonarena.h"
#include "journal/journal.h"
#include "daemon/recover.h"

#define APPLY_CHUNK 8192u

const char *rec_type_name(uint16_t type)
{
	switch (type) {
	case REC_SUBMIT: return "submit";
	case REC_START: return "start";
	case REC_RETRY: return "retry";
	case REC_END: return "end";
	case REC_CANCEL: return "cancel";
	case REC_QUEUE: return "queue";
	case REC_WORKER: return "worker";
	case REC_SNAP_BEGIN: return "snapshot_begin";
	case REC_SNAP_JOBS: return "snapshot_jobs";
	case REC_SNAP_END: return "snapshot_end";
	}
	return "unknown";
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool is_final(uint8_t state)
{
	return state == JR_JOB_SUCCEEDED || state == JR_JOB_FAILED || state == JR_JOB_CANCELLED;
}

/* --- building the picture ------------------------------------------------------------ */

static void block_release(struct api_side_block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

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
	block_release(j->block);
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->order = pos;
	j->state = JR_JOB_QUEUED;
	return j;
}

static void job_json(struct rjob *j, struct api_side_block *block, size_t offset, size_t len)
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

static int on_submit(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_submit h;
	const char *body, *end, *line;
	struct api_side_block *block;
	size_t ids_bytes, line_len;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	ids_bytes = (size_t)h.count * sizeof(jr_job_id);
	if (h.count == 0 || sizeof(h) + ids_bytes > len)
		return -EPROTO;
	body = (const char *)p + sizeof(h) + ids_bytes;
	end = (const char *)p + len;
	block = api_jobs_block_new(body, (size_t)(end - body));
	if (!block)
		return -ENOMEM;
	body = block->text;
	end = block->text + (len - sizeof(h) - ids_bytes);
	for (uint32_t k = 0; k < h.count; k++) {
		jr_job_id id;
		memcpy(&id, p + sizeof(h) + k * sizeof(id), sizeof(id));
		if (h.flags & REC_SUBMIT_SINGLE) {
			line = block->text;
			line_len = (size_t)(end - block->text);
		} else if (!api_next_line(&body, end, &line, &line_len, NULL)) {
			break;	/* fewer lines than ids: cannot happen */
		}
		struct rjob *j = job_new(r, id);
		if (!j)
			continue;
		j->uid = h.uid;
		j->gid = h.gid;
		j->flags = h.flags & REC_SUBMIT_SWITCH_USER;
		j->created_ns = h.created_ns;
		job_json(j, block, (size_t)(line - block->text), line_len);
	}
	if (block->refs == 0)
		free(block);
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
	}
}

static void event_apply(struct rjob *j, uint16_t type, const struct rec_event *e)
{
	if (is_final(j->state))
		return;	/* a final state is never undone */
	j->attempt = e->attempt;
	j->worker_id = e->worker_id;
	if (type == REC_START) {
		j->state = JR_JOB_RUNNING;
		j->start_ns = e->time_ns;
		j->end_ns = 0;
		return;
	}
	j->state = type == REC_END ? e->state : JR_JOB_QUEUED;
	j->reason = e->reason;
	j->exit_code = e->exit_code;
	j->signal = e->signal;
	j->end_ns = e->time_ns;
	j->max_rss_kib = e->max_rss_kib;
	j->user_us = e->user_us;
	j->system_us = e->system_us;
}

static int on_event(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	struct rec_event e;
	struct rjob *j;

	if (len < sizeof(e))
		return -EPROTO;
	memcpy(&e, p, sizeof(e));
	if ((j = job_of(r, e.job_id)) != NULL && !is_final(j->state)) {
		event_apply(j, type, &e);
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

static int on_queue(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_queue *n;

	if (len != sizeof(*n))
		return -EPROTO;
	n = realloc(r->queues, (r->queue_count + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->queues = n;
	memcpy(&n[r->queue_count++], p, sizeof(*n));
	n[r->queue_count - 1].name[sizeof(n->name) - 1] = '\0';
	return 0;
}

static int on_worker(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rworker *n;

	if (len < sizeof(struct rec_worker))
		return -EPROTO;
	n = realloc(r->workers, (r->worker_count + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->workers = n;
	n = &n[r->worker_count++];
	memcpy(&n->rec, p, sizeof(n->rec));
	n->json = strndup((const char *)p + sizeof(n->rec), len - sizeof(n->rec));
	return n->json ? 0 : -ENOMEM;
}

#define PACK_BYTES (1u << 20)

/* A snapshot's job texts, packed one after another into shared blocks
 * (one allocation per MiB, not one per job). The block being filled holds
 * a reference of its own until the next one starts. */
static struct api_side_block *pack_text(struct recovery *r, const char *text, size_t len,
					size_t *offset)
{
	if (!r->pack || r->pack_used + len + 1 > r->pack_cap) {
		size_t cap = len + 1 > PACK_BYTES ? len + 1 : PACK_BYTES;
		struct api_side_block *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->refs = 1;
		block_release(r->pack);
		r->pack = b;
		r->pack_used = 0;
		r->pack_cap = cap;
	}
	*offset = r->pack_used;
	memcpy(r->pack->text + r->pack_used, text, len);
	r->pack->text[r->pack_used + len] = '\0';
	r->pack_used += len + 1;
	return r->pack;
}

static int snap_job(struct recovery *r, const struct rec_snap_view *v)
{
	const struct rec_snap_job *s = &v->job;
	struct api_side_block *block;
	struct rjob *j;
	size_t offset;

	if (!(j = job_new(r, s->job_id)))
		return 0;
	block = pack_text(r, v->text, (size_t)v->text_len, &offset);
	if (!block)
		return -ENOMEM;
	*j = (struct rjob){
		.id = s->job_id, .order = j->order, .uid = s->uid, .gid = s->gid,
		.flags = s->flags, .state = s->state, .reason = s->reason,
		.worker_id = s->worker_id, .attempt = s->attempt, .exit_code = s->exit_code,
		.signal = s->signal, .created_ns = s->created_ns, .start_ns = s->start_ns,
		.end_ns = s->end_ns, .max_rss_kib = s->max_rss_kib, .user_us = s->user_us,
		.system_us = s->system_us,
	};
	job_json(j, block, offset, (size_t)v->text_len);
	if (s->flags & (REC_SNAP_PROC | REC_SNAP_BACKOFF)) {
		struct rproc *rp = proc_of(r, j);
		if (!rp)
			return -ENOMEM;
		rp->not_before_ns = v->not_before_ns;
		rp->proc = v->proc;
		if (v->proc.alloc_len && (rp->alloc = malloc(v->proc.alloc_len)))
			memcpy(rp->alloc, v->alloc, v->proc.alloc_len);
		else
			rp->proc.alloc_len = 0;
		j->flags &= ~(REC_SNAP_PROC | REC_SNAP_BACKOFF);
	}
	if (s->flags & REC_SNAP_CANCEL) {
		j->cancel_requested = true;
		j->flags &= ~REC_SNAP_CANCEL;
	}
	r->snapshot_jobs++;
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

int recover_record(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	switch (type) {
	case REC_SUBMIT: return on_submit(r, p, len);
	case REC_START:
	case REC_RETRY:
	case REC_END: return on_event(r, type, p, len);
	case REC_CANCEL: return on_cancel(r, p, len);
	case REC_QUEUE: return on_queue(r, p, len);
	case REC_WORKER: return on_worker(r, p, len);
	case REC_SNAP_JOBS: return on_snap_jobs(r, p, len);
	case REC_SNAP_BEGIN:
	case REC_SNAP_END: return 0;	/* read by the snapshot reader */
	}
	return -EPROTO;
}

/* --- reading ------------------------------------------------------------------------------ */

struct snap_read {
	struct recovery *r;
	uint64_t covers, jobs_said;
	bool begun, ended;
};

static int snapshot_record(void *ctx, const struct jr_journal_record *rec)
{
	struct snap_read *s = ctx;

	if (rec->type == REC_SNAP_BEGIN && rec->len == sizeof(struct rec_snap_begin)) {
		const struct rec_snap_begin *b = rec->payload;
		s->covers = b->covers_seq;
		s->begun = true;
		return 0;
	}
	if (rec->type == REC_SNAP_END && rec->len == sizeof(struct rec_snap_end)) {
		s->jobs_said = ((const struct rec_snap_end *)rec->payload)->jobs;
		s->ended = true;
		return 0;
	}
	return s->begun ? recover_record(s->r, rec->type, rec->payload, rec->len) : -EPROTO;
}

static int snapshot_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "snapshot-", 9) == 0 && strlen(d->d_name) == 9 + 16;
}

uint64_t recover_latest_snapshot(const char *state_dir, char *name, size_t size)
{
	struct dirent **names;
	int n = scandir(state_dir, &names, snapshot_filter, alphasort);
	uint64_t seq = 0;

	name[0] = '\0';
	if (n <= 0)
		return 0;
	snprintf(name, size, "%s", names[n - 1]->d_name);
	seq = strtoull(name + 9, NULL, 16);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return seq;
}

static int read_snapshot(struct recovery *r, const char *state_dir)
{
	struct snap_read s = { .r = r };
	struct jr_journal_replay_result res;
	char name[64], path[600];
	int rc;

	if (!recover_latest_snapshot(state_dir, name, sizeof(name)))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	rc = jr_journal_replay(path, snapshot_record, &s, &res);
	block_release(r->pack);	/* the jobs hold it now */
	r->pack = NULL;
	if (rc < 0 || !s.begun || !s.ended || res.bytes_dropped || s.jobs_said != r->snapshot_jobs) {
		snprintf(r->error, sizeof(r->error),
			 "snapshot %s is damaged (%s): not starting, so that nothing is lost; "
			 "inspect it with jobring-journal verify", path,
			 rc < 0 ? strerror(-rc) : !s.ended ? "no end record" : "bad records");
		return rc < 0 ? rc : -EBADMSG;
	}
	r->snapshot_seq = s.covers;
	return 0;
}

static int journal_record(void *ctx, const struct jr_journal_record *rec)
{
	struct recovery *r = ctx;
	int rc;

	if (rec->seq <= r->snapshot_seq)
		return 0;	/* in the snapshot already */
	rc = recover_record(r, rec->type, rec->payload, rec->len);
	if (rc == -EPROTO) {
		fprintf(stderr, "jobringd: journal record %llu (%s) has a bad payload: skipped\n",
			(unsigned long long)rec->seq, rec_type_name(rec->type));
		rc = 0;
	}
	return rc;
}

int recover_read(struct recovery *r, const char *state_dir, const char *journal_dir,
		 uint32_t capacity)
{
	struct jr_journal_replay_result res;
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(r, 0, sizeof(*r));
	r->capacity = capacity;
	r->jobs = jr_table_alloc((size_t)capacity * sizeof(*r->jobs));
	if (!r->jobs)
		return -ENOMEM;
	rc = read_snapshot(r, state_dir);
	if (rc < 0)
		return rc;
	rc = jr_journal_replay(journal_dir, journal_record, r, &res);
	if (rc < 0) {
		snprintf(r->error, sizeof(r->error), "cannot read the journal in %s: %s",
			 journal_dir, strerror(-rc));
		return rc;
	}
	r->records = res.records;
	r->last_seq = res.last_seq > r->snapshot_seq ? res.last_seq : r->snapshot_seq;
	r->bytes_dropped = res.bytes_dropped;
	r->journal_bytes = res.bytes;
	r->segments = res.segments;
	if ((rc = jr_journal_cut(journal_dir, &res)) < 0) {
		snprintf(r->error, sizeof(r->error), "cannot cut the journal after its damage: %s",
			 strerror(-rc));
		return rc;
	}
	r->read_ms = ms_since(&t0);
	return 0;
}

/* --- putting it back ---------------------------------------------------------------------- */

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
		n += r->jobs[i].id && is_final(r->jobs[i].state);
	if (!(ends = malloc((n ? n : 1) * sizeof(*ends))))
		return 0;
	n = 0;
	for (uint32_t i = 1; i < r->capacity; i++)
		if (r->jobs[i].id && is_final(r->jobs[i].state))
			ends[n++] = finished_ns(&r->jobs[i]);
	cutoff = retention_cutoff(ends, n, keep, now);
	free(ends);
	return cutoff;
}

static void apply_queues(struct recovery *r, struct api *a)
{
	for (uint32_t i = 0; i < r->queue_count; i++) {
		const struct rec_queue *q = &r->queues[i];
		uint32_t id;
		int rc = jr_queue_create(a->engine, q->name, q->priority, q->max_workers, &id);
		if (rc < 0 && rc != -EEXIST)
			fprintf(stderr, "jobringd: cannot restore queue %s: %s\n", q->name,
				strerror(-rc));
	}
}

static void apply_workers(struct recovery *r, struct api *a)
{
	for (uint32_t i = 0; i < r->worker_count; i++)
		if (api_workers_restore(a, &r->workers[i].rec, r->workers[i].json,
					strlen(r->workers[i].json)) < 0)
			fprintf(stderr, "jobringd: cannot restore worker w%u\n",
				r->workers[i].rec.number);
}

/* How the engine takes the job back: running ones are taken back (or
 * run again), a retry waits out its backoff. */
static struct jr_job_restore restore_of(const struct recovery *r, const struct rjob *j)
{
	struct jr_job_restore rs = {
		.job_id = j->id, .state = j->state, .reason = j->reason, .attempt = j->attempt,
		.worker_id = j->worker_id, .created_ns = j->created_ns, .start_ns = j->start_ns,
		.end_ns = j->end_ns, .exit_code = j->exit_code, .signal = j->signal,
		.max_rss_kib = j->max_rss_kib, .user_us = j->user_us, .system_us = j->system_us,
	};

	const struct rproc *rp = j->proc ? &r->procs[j->proc] : NULL;

	/* An acknowledged cancel it had not obeyed: the engine ends it
	 * cancelled, stopping what still runs, keeping what an attempt the
	 * keeper saw (one spawned as the cancel came) did. */
	rs.cancel = j->cancel_requested && !is_final(j->state);
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
	return rs;
}

/* A chunk of jobs on its way into the engine. */
struct chunk {
	const struct recovery *r;
	struct rjob *jobs[APPLY_CHUNK];
	struct jobspec specs[APPLY_CHUNK];
	struct jr_command_spec flat[APPLY_CHUNK];
	struct jr_job_restore rs[APPLY_CHUNK];
	cJSON *json[APPLY_CHUNK];
	bool unreadable[APPLY_CHUNK];
	uint32_t n;
	uint32_t parsed;		/* specs and json hold this many */
};

static char *unreadable_argv[] = { "false", NULL };

/* Job k cannot be scheduled as it was submitted: it is put back as a
 * failed job (a final one keeps its state), still answering at its id. */
static void restore_as_failed(struct chunk *c, uint32_t k)
{
	c->unreadable[k] = true;
	c->flat[k] = (struct jr_command_spec){ .argv = unreadable_argv };
	if (!is_final(c->rs[k].state)) {
		c->rs[k].state = JR_JOB_FAILED;
		c->rs[k].reason = JR_REASON_SPAWN_FAILED;
	}
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
	c->rs[k] = restore_of(c->r, j);
	c->unreadable[k] = false;
	if (c->json[k] && jobspec_parse(e, c->json[k], &who, &c->specs[k], &err)) {
		c->flat[k] = c->specs[k].spec;
		return;
	}
	fprintf(stderr, "jobringd: job %016llx no longer reads as a job (%s): restored as failed\n",
		(unsigned long long)j->id, c->json[k] ? err.message : "not JSON");
	restore_as_failed(c, k);
}

/* --- parsing on every core --------------------------------------------------------------- */

#define PARSE_HELPERS_MAX 7u

/* Helpers parse their share of each chunk while the recovering thread
 * parses its own: JSON parsing is most of a recovery. */
struct parse_pool {
	pthread_t threads[PARSE_HELPERS_MAX];
	uint32_t helpers;
	pthread_mutex_t lock;
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

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->round == seen && !p->stop)
			pthread_cond_wait(&p->go, &p->lock);
		if (p->stop)
			break;
		seen = p->round;
		pthread_mutex_unlock(&p->lock);
		parse_share(p, h->part);
		pthread_mutex_lock(&p->lock);
		if (--p->working == 0)
			pthread_cond_signal(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
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
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->finished, NULL);
	want = want < PARSE_HELPERS_MAX ? want : PARSE_HELPERS_MAX;
	pthread_mutex_lock(&p->lock);	/* helpers start counted */
	for (uint32_t i = 0; i < want; i++) {
		helper_args[i] = (struct parse_helper){ p, i + 1 };
		if (pthread_create(&p->threads[i], NULL, parse_helper_main, &helper_args[i]) != 0)
			break;
		p->helpers++;
	}
	pthread_mutex_unlock(&p->lock);
}

/* Parse every job of c (or free what that left), on all the pool's
 * threads. */
static void parse_pool_run(struct parse_pool *p, struct chunk *c, bool freeing)
{
	pthread_mutex_lock(&p->lock);
	p->chunk = c;
	p->freeing = freeing;
	p->working = p->helpers;
	p->round++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	parse_share(p, 0);
	pthread_mutex_lock(&p->lock);
	while (p->working)
		pthread_cond_wait(&p->finished, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void parse_pool_stop(struct parse_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	for (uint32_t i = 0; i < p->helpers; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->finished);
	pthread_mutex_destroy(&p->lock);
}

static void chunk_drop(struct chunk *c, uint32_t k)
{
	memmove(&c->jobs[k], &c->jobs[k + 1], (c->n - k - 1) * sizeof(c->jobs[0]));
	memmove(&c->flat[k], &c->flat[k + 1], (c->n - k - 1) * sizeof(c->flat[0]));
	memmove(&c->rs[k], &c->rs[k + 1], (c->n - k - 1) * sizeof(c->rs[0]));
	c->n--;
}

/* Into the engine, then into the API's side table. */
/* What a later snapshot must keep of a restored job beyond its state
 * (its process comes back with the engine's start event). */
static void note_for_snapshots(struct api *a, const struct jr_job_restore *rs)
{
	if (!a->durable || is_final((uint8_t)rs->state))
		return;
	if (rs->not_before_ns)
		durable_note_backoff(a->durable, rs->job_id, rs->not_before_ns);
	if (rs->cancel)
		durable_note_cancel(a->durable, rs->job_id);
}

static int chunk_apply(struct recovery *r, struct api *a, struct chunk *c,
		       struct parse_pool *pool)
{
	uint32_t done = 0;

	c->parsed = c->n;
	parse_pool_run(pool, c, false);
	for (uint32_t k = 0; k < c->n; k++) {
		r->unreadable += c->unreadable[k];
		r->requeued_lost += c->rs[k].state == JR_JOB_RUNNING;	/* were running */
	}
	while (done < c->n) {
		size_t bad = 0;
		int rc = jr_command_restore(a->engine, c->flat + done, c->rs + done, c->n - done,
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
	for (uint32_t k = 0; k < c->n; k++) {
		struct rjob *j = c->jobs[k];
		struct rec_submit who = { .uid = j->uid, .gid = j->gid, .flags = j->flags };
		api_jobs_side_put(a, j->id, j->block, j->json_offset, j->json_len, &who);
		block_release(j->block);	/* the API holds it now: nothing left to free */
		j->block = NULL;
		note_for_snapshots(a, &c->rs[k]);
		if (is_final((uint8_t)c->rs[k].state))
			r->restored_final++;
		else
			r->restored_live++;
	}
	parse_pool_run(pool, c, true);
	c->n = 0;
	return 0;
}

static int apply_jobs(struct recovery *r, struct api *a, const struct retention *keep)
{
	uint64_t cutoff = recovery_cutoff(r, keep, api_now_ns());
	struct chunk *c = calloc(1, sizeof(*c));
	struct parse_pool pool;

	if (!c)
		return -ENOMEM;
	c->r = r;
	parse_pool_start(&pool, a->engine);
	for (uint64_t pos = 0; pos < r->order_count; pos++) {
		struct rjob *j = &r->jobs[r->order[pos]];
		if (!j->id || j->order != pos)
			continue;	/* its slot was taken again later */
		if (is_final(j->state) && finished_ns(j) < cutoff) {
			r->aged_out++;
			continue;
		}
		c->jobs[c->n++] = j;
		if (c->n == APPLY_CHUNK)
			chunk_apply(r, a, c, &pool);
	}
	if (c->n)
		chunk_apply(r, a, c, &pool);
	parse_pool_stop(&pool);
	free(c);
	return 0;
}

int recover_apply(struct recovery *r, struct api *a, const struct retention *keep)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	apply_queues(r, a);
	apply_workers(r, a);
	rc = apply_jobs(r, a, keep);
	if (rc == 0)
		rc = jr_command_restore_done(a->engine);
	if (rc < 0)
		snprintf(r->error, sizeof(r->error), "cannot restore the jobs: %s", strerror(-rc));
	r->apply_ms = ms_since(&t0);
	return rc;
}

void recover_free(struct recovery *r)
{
	for (uint32_t i = 0; r->jobs && i < r->capacity; i++)
		block_release(r->jobs[i].block);
	jr_table_free(r->jobs, (size_t)r->capacity * sizeof(*r->jobs));
	free(r->order);
	free(r->queues);
	for (uint32_t i = 0; i < r->worker_count; i++)
		free(r->workers[i].json);
	free(r->workers);
	for (uint32_t i = 1; i < r->proc_count; i++)
		free(r->procs[i].alloc);
	free(r->procs);
	memset(r, 0, sizeof(*r));
}
