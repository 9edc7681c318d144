/*
 * durable.c - jobringd's journal writer: records in, groups out, answers
 * held until durable. See durable.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/common.h"
#include "daemon/durable/durable.h"
#include "daemon/state/events.h"
#include "daemon/state/executions.h"
#include "engine/engine.h"
#include "daemon/state/submitted.h"
#include "daemon/net/reply.h"

#define MAINTAIN_NS (100 * JR_NS_PER_MS)	/* spare segment, failed writes */

/* A job event from the engine, its allocation copied (the event's own
 * pointer is valid during the call only). */
struct queued_event {
	struct jr_job_event ev;
	uint32_t alloc_len;
	uint8_t alloc_inline[48];
	uint8_t *alloc_heap;		/* larger ones */
};

/* An attempt's end, waiting to be durable before the keeper may let go
 * of its status (jr_command_durable). */
struct pending_end {
	uint64_t seq;
	jr_job_id id;
	uint32_t attempt;
};

/* A cancel of a running job, acted on once its record is on disk: a
 * signal sent before that would outlive a crash that lost the record. */
struct pending_cancel {
	uint64_t seq;
	jr_job_id id;
};

#define EXTRA_BUCKETS 4096u

/* An answer waiting for its record. */
struct held {
	uint64_t token, seq, since_ns;
	int status;
	struct buf body;
};

struct durable {
	struct durable_opts o;
	struct jr_journal *j;
	struct server *server;
	/* Job events from the engine's threads. */
	struct jr_mutex lock;
	struct queued_event *events, *taking;
	size_t event_count, event_cap, taking_cap;
	/* Ends to tell the engine about once durable (a ring, in seq order). */
	struct jr_engine *engine;
	struct executions *history;	/* fed with attempts' ends; NULL: none */
	const struct submitted *jobs;	/* its index fed with job events; NULL: none */
	void (*end_hook)(void *ctx, const struct jr_job_event *ev);	/* NULL: none */
	void *end_hook_ctx;
	struct events *stream;		/* the event stream (issue 16); NULL: none */
	struct pending_end *ends;
	size_t ends_head, ends_count, ends_cap;
	struct pending_cancel *cancels;	/* in seq order; the first cancels_done acted on */
	size_t cancels_done, cancels_count, cancels_cap;
	struct job_extra *extra[EXTRA_BUCKETS];	/* by job id: running, backing off */
	int event_fd;
	bool stopped;			/* under lock: events are dropped */
	struct jobstats jobstats;	/* counted as journaled (issue 16) */
	/* Held answers, in seq order: a ring. */
	struct held *held;
	size_t held_head, held_count, held_cap;
	uint64_t last_flush_ns, last_maintain_ns;
	int last_error;
	struct durable_stats st;
};

int durable_open(struct durable **out, const struct durable_opts *o)
{
	struct jr_journal_opts jo = { .dir = o->dir, .segment_bytes = o->segment_bytes,
				      .next_seq = o->next_seq, .no_sync = o->sync == SYNC_NONE };
	struct durable *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->o = *o;
	jr_mutex_init(&d->lock, JR_LOCK_JOB_EVENTS);
	d->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rc = d->event_fd < 0 ? -errno : jr_journal_open(&d->j, &jo);
	if (rc < 0) {
		durable_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

void durable_close(struct durable *d)
{
	if (!d)
		return;
	if (d->j)
		jr_journal_commit(d->j);
	jr_journal_close(d->j);
	for (size_t k = 0; k < d->held_count; k++)
		buf_free(&d->held[(d->held_head + k) % d->held_cap].body);
	free(d->held);
	for (uint32_t b = 0; b < EXTRA_BUCKETS; b++)
		while (d->extra[b]) {
			struct job_extra *x = d->extra[b];
			d->extra[b] = x->next;
			free(x->alloc);
			free(x);
		}
	for (size_t i = 0; i < d->event_count; i++)
		free(d->events[i].alloc_heap);
	free(d->events);
	free(d->taking);
	free(d->ends);
	free(d->cancels);
	if (d->event_fd >= 0)
		close(d->event_fd);
	jr_mutex_destroy(&d->lock);
	free(d);
}

void durable_set_server(struct durable *d, struct server *s)
{
	d->server = s;
}

void durable_set_engine(struct durable *d, struct jr_engine *e)
{
	d->engine = e;
}

void durable_set_history(struct durable *d, struct executions *x)
{
	d->history = x;
}

void durable_set_jobs(struct durable *d, const struct submitted *t)
{
	d->jobs = t;
}

void durable_set_end_hook(struct durable *d, void (*fn)(void *ctx, const struct jr_job_event *ev),
			  void *ctx)
{
	d->end_hook = fn;
	d->end_hook_ctx = ctx;
}

void durable_set_events(struct durable *d, struct events *ev)
{
	d->stream = ev;
}

struct jr_journal *durable_journal(struct durable *d)
{
	return d->j;
}

int durable_event_fd(const struct durable *d)
{
	return d->event_fd;
}

/* --- job events from the engine ------------------------------------------------------- */

void durable_job_event(void *ctx, const struct jr_job_event *ev)
{
	struct durable *d = ctx;
	bool wake;

	jr_mutex_lock(&d->lock);
	if (d->stopped) {
		jr_mutex_unlock(&d->lock);
		return;
	}
	if (d->event_count == d->event_cap) {
		size_t cap = d->event_cap ? d->event_cap * 2 : 1024;
		struct queued_event *n = realloc(d->events, cap * sizeof(*n));
		if (!n) {	/* the job's state is in the table; the journal misses it */
			jr_mutex_unlock(&d->lock);
			fprintf(stderr, "jobringd: no memory to journal an event of job %016llx\n",
				(unsigned long long)ev->job_id);
			return;
		}
		d->events = n;
		d->event_cap = cap;
	}
	struct queued_event *q = &d->events[d->event_count++];
	q->ev = *ev;
	q->alloc_len = ev->alloc ? ev->alloc_len : 0;
	q->alloc_heap = q->alloc_len > sizeof(q->alloc_inline) ? malloc(q->alloc_len) : NULL;
	if (q->alloc_len > sizeof(q->alloc_inline) && !q->alloc_heap)
		q->alloc_len = 0;	/* the start is kept, its cores re-chosen at recovery */
	if (q->alloc_len)
		memcpy(q->alloc_heap ? q->alloc_heap : q->alloc_inline, ev->alloc, q->alloc_len);
	wake = d->event_count == 1;
	jr_mutex_unlock(&d->lock);
	if (wake) {
		uint64_t one = 1;
		if (write(d->event_fd, &one, sizeof(one)) < 0)
			(void)0;	/* the counter is saturated: already awake */
	}
}

void durable_stop_recording(struct durable *d)
{
	jr_mutex_lock(&d->lock);
	d->stopped = true;
	for (size_t i = 0; i < d->event_count; i++)
		free(d->events[i].alloc_heap);
	d->event_count = 0;
	jr_mutex_unlock(&d->lock);
}

static uint16_t event_type(enum jr_job_event_kind kind)
{
	return kind == JR_EVENT_STARTED ? REC_START : kind == JR_EVENT_RETRYING ? REC_RETRY : REC_END;
}

/* --- what snapshots need beyond the table -------------------------------------------------- */

static struct job_extra **extra_at(struct durable *d, jr_job_id id)
{
	struct job_extra **p = &d->extra[(id * 0x9E3779B97F4A7C15ull) >> 52 & (EXTRA_BUCKETS - 1)];

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

const struct job_extra *durable_job_extra(struct durable *d, jr_job_id id)
{
	return *extra_at(d, id);
}

static struct job_extra *extra_get(struct durable *d, jr_job_id id)
{
	struct job_extra **p = extra_at(d, id);

	if (!*p && (*p = calloc(1, sizeof(**p))) != NULL)
		(*p)->id = id;
	return *p;
}

static void extra_drop(struct durable *d, jr_job_id id)
{
	struct job_extra **p = extra_at(d, id), *x = *p;

	if (!x)
		return;
	*p = x->next;
	free(x->alloc);
	free(x);
}

void durable_note_backoff(struct durable *d, jr_job_id id, uint64_t not_before_ns)
{
	struct job_extra *x = extra_get(d, id);

	if (x)
		x->not_before_ns = not_before_ns;
}

void durable_note_cancel(struct durable *d, jr_job_id id)
{
	struct job_extra *x = extra_get(d, id);

	if (x)
		x->cancel_requested = true;
}

/* A start sets a job's process, a retry its backoff, an end drops all. */
static void extra_event(struct durable *d, const struct queued_event *q, const struct rec_proc *p)
{
	const struct jr_job_event *ev = &q->ev;
	struct job_extra *x;

	if (ev->kind == JR_EVENT_ENDED) {
		extra_drop(d, ev->job_id);
		return;
	}
	if (!(x = extra_get(d, ev->job_id)))
		return;	/* a snapshot then lacks it: the job runs again */
	free(x->alloc);
	x->alloc = NULL;
	memset(&x->proc, 0, sizeof(x->proc));
	x->not_before_ns = 0;
	if (ev->kind == JR_EVENT_RETRYING) {
		x->not_before_ns = ev->not_before_ns;
		return;
	}
	x->proc = *p;
	x->start_ns = ev->time_ns;
	if (p->alloc_len && (x->alloc = malloc(p->alloc_len)) != NULL)
		memcpy(x->alloc, q->alloc_heap ? q->alloc_heap : q->alloc_inline, p->alloc_len);
	else
		x->proc.alloc_len = 0;
}

/* Remember an attempt's end: once durable, the engine hears of it. */
static void end_pending(struct durable *d, uint64_t seq, const struct jr_job_event *ev)
{
	if (!seq || !d->engine)
		return;
	if (d->ends_count == d->ends_cap) {
		size_t cap = d->ends_cap ? d->ends_cap * 2 : 1024;
		struct pending_end *n = malloc(cap * sizeof(*n));
		if (!n)
			return;	/* the keeper holds the status until a later engine asks */
		for (size_t k = 0; k < d->ends_count; k++)
			n[k] = d->ends[(d->ends_head + k) % d->ends_cap];
		free(d->ends);
		d->ends = n;
		d->ends_cap = cap;
		d->ends_head = 0;
	}
	d->ends[(d->ends_head + d->ends_count++) % d->ends_cap] =
		(struct pending_end){ seq, ev->job_id, ev->attempt };
}

/* When the event's attempt started: from its START, or the engine's table. */
static uint64_t attempt_start_ns(struct durable *d, const struct jr_job_event *ev)
{
	const struct job_extra *x = *extra_at(d, ev->job_id);
	struct jr_job_info info;

	if (x && x->start_ns)
		return x->start_ns;
	if (d->engine && jr_job_get(d->engine, ev->job_id, &info) == 0 &&
	    info.exec.attempt == ev->attempt)
		return info.exec.start_ns;
	return 0;
}

/* The history hears of every start and end (before extra_event forgets
 * the attempt's start). */
static void history_event(struct durable *d, const struct jr_job_event *ev)
{
	struct exec_end e;

	if (!d->history || !ev->attempt)
		return;
	if (ev->kind == JR_EVENT_STARTED) {
		executions_started(d->history, ev->job_id, ev->attempt, ev->worker_id, ev->time_ns);
		return;
	}
	if (ev->kind == JR_EVENT_ENDED && !executions_of(d->history, ev->job_id))
		return;	/* its only attempt: the engine's table shows it */
	e = (struct exec_end){
		.id = ev->job_id, .attempt = ev->attempt, .worker_id = ev->worker_id,
		.state = (uint8_t)ev->state, .reason = (uint8_t)ev->reason,
		.retried = ev->kind == JR_EVENT_RETRYING, .start_ns = attempt_start_ns(d, ev),
		.end_ns = ev->time_ns, .status = jr_job_event_status(ev),
		.spawn_error = ev->spawn_error,
	};
	if (executions_ended(d->history, &e) == -ENOMEM)
		fprintf(stderr, "jobringd: no memory to keep attempt %u of job %016llx\n",
			ev->attempt, (unsigned long long)ev->job_id);
}

/* The metrics hear of a first start (its wait), an attempt's end (its
 * run time) and a job's end (its outcome), as they are journaled. */
static void stats_event(struct durable *d, const struct jr_job_event *ev)
{
	struct jr_job_info info;
	uint64_t start;

	if (!d->engine || jr_engine_job_peek(d->engine, ev->job_id, &info) < 0)
		info.queue_id = JOBSTATS_QUEUES, info.created_ns = 0;
	if (ev->kind == JR_EVENT_STARTED) {
		if (ev->attempt == 1 && info.created_ns && ev->time_ns >= info.created_ns)
			jobstats_observe(&d->jobstats.wait, (double)(ev->time_ns - info.created_ns) /
							    JR_NS_PER_SEC);
		return;
	}
	start = ev->attempt ? attempt_start_ns(d, ev) : 0;
	if (start && ev->time_ns >= start)
		jobstats_observe(&d->jobstats.run, (double)(ev->time_ns - start) / JR_NS_PER_SEC);
	if (ev->kind == JR_EVENT_ENDED)
		jobstats_ended(&d->jobstats, info.queue_id, ev->state);
}

static void event_record(struct durable *d, const struct queued_event *q)
{
	const struct jr_job_event *ev = &q->ev;
	struct rec_event r = {
		.job_id = ev->job_id, .reason = (uint8_t)ev->reason, .time_ns = ev->time_ns,
	};
	struct jr_exit_status st = jr_job_event_status(ev);
	struct rec_proc proc = { .pid = ev->pid, .cgroup_slot = ev->cgroup_slot,
				 .start_ticks = ev->pid_start_ticks, .alloc_len = q->alloc_len };
	struct rec_spawn_error se = { .spawn_error = ev->spawn_error };
	struct iovec iov[4] = { { &r, sizeof(r) } };
	int n = 1;
	uint64_t seq;

	rec_worker_pack(&r.state, &r.worker_id, &r.attempt, ev->state, ev->worker_id, ev->attempt);
	rec_event_set_status(&r, &st);
	if (ev->kind == JR_EVENT_STARTED) {	/* which process, and what it holds */
		memcpy(proc.boot_id, ev->boot_id, sizeof(proc.boot_id));
		iov[n++] = (struct iovec){ &proc, sizeof(proc) };
		iov[n++] = (struct iovec){ (void *)(q->alloc_heap ? q->alloc_heap : q->alloc_inline),
					   q->alloc_len };
	} else if (ev->kind == JR_EVENT_RETRYING) {
		iov[n++] = (struct iovec){ (void *)&ev->not_before_ns, sizeof(ev->not_before_ns) };
	}
	if (ev->kind != JR_EVENT_STARTED && ev->spawn_error)	/* why it could not start */
		iov[n++] = (struct iovec){ &se, sizeof(se) };
	seq = durable_logv(d, event_type(ev->kind), iov, n);
	if (ev->kind != JR_EVENT_STARTED)
		end_pending(d, seq, ev);
	history_event(d, ev);
	stats_event(d, ev);
	if (d->jobs)
		submitted_job_event(d->jobs, ev);	/* the listings' index */
	if (d->end_hook && ev->kind == JR_EVENT_ENDED)	/* job-event triggers (issue 15) */
		d->end_hook(d->end_hook_ctx, ev);
	events_job_event(d->stream, d->engine, ev);	/* GET /events (issue 16) */
	extra_event(d, q, &proc);
}

/* Swap the queue for the spare array, then write its records unlocked. */
static void take_events(struct durable *d)
{
	struct queued_event *batch;
	size_t n, cap;
	uint64_t v;

	if (read(d->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	jr_mutex_lock(&d->lock);
	batch = d->events;
	n = d->event_count;
	cap = d->event_cap;
	d->events = d->taking;
	d->event_cap = d->taking_cap;
	d->event_count = 0;
	jr_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		event_record(d, &batch[i]);
		free(batch[i].alloc_heap);
	}
	d->taking = batch;
	d->taking_cap = cap;
}

/* --- records ------------------------------------------------------------------------------ */

uint64_t durable_log(struct durable *d, uint16_t type, const void *head, uint32_t head_len,
		     const void *tail, uint32_t tail_len)
{
	struct iovec iov[2] = { { (void *)head, head_len }, { (void *)tail, tail_len } };

	return durable_logv(d, type, iov, tail_len ? 2 : 1);
}

/* Count the jobs submitted, each under its queue: the spec's when the
 * caller has it (a batch's jobs, read from the table, were 5% of its
 * intake), else the engine's table. */
static void stats_submitted(struct durable *d, const jr_job_id *ids, uint32_t count,
			    const struct jr_command_spec *specs)
{
	struct jr_job_info info;

	for (uint32_t i = 0; i < count; i++) {
		uint32_t queue = specs ? specs[i].queue_id :
				 d->engine && jr_engine_job_peek(d->engine, ids[i], &info) == 0 ?
				 info.queue_id : JOBSTATS_QUEUES;
		jobstats_submitted(&d->jobstats, queue, 1);
	}
}

uint64_t durable_logv(struct durable *d, uint16_t type, const struct iovec *iov, int n)
{
	uint64_t seq = 0;
	int rc = jr_journal_appendv(d->j, type, iov, n, &seq);

	if (rc < 0) {
		fprintf(stderr, "jobringd: cannot journal a %s record: %s\n", rec_type_name(type),
			strerror(-rc));
		return 0;
	}
	d->st.records++;
	if (type == REC_SUBMIT && n > 1 && iov[0].iov_len >= sizeof(struct rec_submit))
		stats_submitted(d, iov[1].iov_base, ((const struct rec_submit *)iov[0].iov_base)->count,
				NULL);
	return seq;
}

uint64_t durable_submit_bytes(size_t count, size_t body_len)
{
	return JR_JOURNAL_HEADER_BYTES +
	       JR_JOURNAL_PAD8(sizeof(struct rec_submit) + count * sizeof(jr_job_id) + body_len);
}

uint64_t durable_log_submit(struct durable *d, const struct rec_submit_args *a)
{
	struct iovec iov[3] = {
		{ (void *)&a->head, sizeof(a->head) },
		{ (void *)a->ids, a->head.count * sizeof(jr_job_id) },
		{ (void *)a->body, a->body_len },
	};
	uint64_t seq = 0;
	int rc = jr_journal_appendv(d->j, REC_SUBMIT, iov, 3, &seq);

	if (rc < 0) {
		fprintf(stderr, "jobringd: cannot journal a submission: %s\n", strerror(-rc));
		return 0;
	}
	d->st.records++;
	stats_submitted(d, a->ids, a->head.count, a->specs);
	return seq;
}

const char *durable_dir(const struct durable *d)
{
	return d->o.dir;
}

struct jobstats *durable_jobstats(struct durable *d)
{
	return &d->jobstats;
}

bool durable_writable(struct durable *d)
{
	return jr_journal_error(d->j) == 0;
}

bool durable_admit(struct durable *d, uint64_t bytes, struct response *res)
{
	int err = jr_journal_error(d->j);
	uint64_t room = jr_journal_room(d->j);
	uint64_t reserve = d->o.reserve_bytes;

	if (err == 0)	/* a spare segment is ready: the journal can grow */
		return true;
	if (err == -ENOSPC || err == -EDQUOT) {
		if (room >= bytes + reserve)
			return true;
		d->st.refused++;
		return reply_error(res, 507, "insufficient_storage",
				 "the journal's disk is full (%llu bytes left for this "
				 "request's %llu): nothing was submitted; retry when space is freed",
				 (unsigned long long)(room > reserve ? room - reserve : 0),
				 (unsigned long long)bytes);
	}
	d->st.refused++;
	return reply_error(res, 507, "journal_unavailable",
			 "the journal cannot be written (%s): nothing was submitted; retry later",
			 strerror(-err));
}

/* --- held answers ------------------------------------------------------------------------- */

static int held_grow(struct durable *d)
{
	size_t cap = d->held_cap ? d->held_cap * 2 : 256;
	struct held *n = malloc(cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t k = 0; k < d->held_count; k++)
		n[k] = d->held[(d->held_head + k) % d->held_cap];
	free(d->held);
	d->held = n;
	d->held_cap = cap;
	d->held_head = 0;
	return 0;
}

bool durable_would_hold(const struct durable *d, uint64_t seq)
{
	return d && d->o.sync == SYNC_ALWAYS && seq != 0 && seq > jr_journal_durable_seq(d->j);
}

void durable_hold(struct durable *d, uint64_t token, uint64_t seq, struct response *res)
{
	struct held *h;

	if (d->o.sync != SYNC_ALWAYS || seq == 0 || seq <= jr_journal_durable_seq(d->j))
		return;
	if (d->held_count == d->held_cap && held_grow(d) < 0) {
		/* No memory to wait: make it durable now, then answer. */
		jr_journal_commit(d->j);
		return;
	}
	h = &d->held[(d->held_head + d->held_count++) % d->held_cap];
	h->token = token;
	h->seq = seq;
	h->since_ns = jr_now_monotonic_ns();
	h->status = res->status;
	h->body = res->body;
	memset(&res->body, 0, sizeof(res->body));
	res->deferred = true;
	d->st.held++;
}

/* Ends now on disk: the keeper may forget their statuses. */
static void release_ends(struct durable *d, uint64_t durable)
{
	jr_job_id ids[256];
	uint32_t attempts[256];
	size_t n = 0;

	while (d->ends_count) {
		struct pending_end *e = &d->ends[d->ends_head];
		if (e->seq > durable)
			break;
		ids[n] = e->id;
		attempts[n++] = e->attempt;
		d->ends_head = (d->ends_head + 1) % d->ends_cap;
		d->ends_count--;
		if (n == 256) {
			jr_command_durable(d->engine, ids, attempts, n);
			n = 0;
		}
	}
	if (n)
		jr_command_durable(d->engine, ids, attempts, n);
}

bool durable_cancel_after(struct durable *d, uint64_t seq, jr_job_id id)
{
	if (d->o.sync != SYNC_ALWAYS || seq == 0 || seq <= jr_journal_durable_seq(d->j))
		return false;
	if (d->cancels_count == d->cancels_cap) {
		size_t cap = d->cancels_cap ? d->cancels_cap * 2 : 64;
		struct pending_cancel *n = realloc(d->cancels, cap * sizeof(*n));
		if (!n)
			return false;	/* acted on now: the old race, not a lost cancel */
		d->cancels = n;
		d->cancels_cap = cap;
	}
	d->cancels[d->cancels_count++] = (struct pending_cancel){ seq, id };
	return true;
}

static void release_cancels(struct durable *d, uint64_t durable)
{
	while (d->cancels_done < d->cancels_count && d->cancels[d->cancels_done].seq <= durable)
		jr_job_cancel(d->engine, d->cancels[d->cancels_done++].id);
	if (d->cancels_done == d->cancels_count)
		d->cancels_done = d->cancels_count = 0;
}

static void release_durable(struct durable *d)
{
	uint64_t durable = jr_journal_durable_seq(d->j), now = 0;

	release_ends(d, durable);
	release_cancels(d, durable);
	while (d->held_count) {
		struct held *h = &d->held[d->held_head];
		if (h->seq > durable)
			break;
		now = now ? now : jr_now_monotonic_ns();
		if ((now - h->since_ns) / JR_NS_PER_US > d->st.ack_wait_max_us)
			d->st.ack_wait_max_us = (now - h->since_ns) / JR_NS_PER_US;
		/* A client gone meanwhile: its submission stands, unanswered. */
		server_finish(d->server, h->token, h->status, &h->body);
		buf_free(&h->body);
		d->held_head = (d->held_head + 1) % d->held_cap;
		d->held_count--;
	}
}

/* --- the turn ----------------------------------------------------------------------------- */

static void note_error(struct durable *d, int rc)
{
	if (rc == d->last_error)
		return;
	if (rc < 0)
		fprintf(stderr, "jobringd: journal: %s; submissions get 507 until it recovers\n",
			strerror(-rc));
	else
		fprintf(stderr, "jobringd: journal: writable again\n");
	d->last_error = rc;
}

/* An answer, or a cancel, waits for a record on its way to disk. */
static bool someone_waits(const struct durable *d)
{
	return d->held_count || d->cancels_done < d->cancels_count;
}

/* With --sync always, a group that an answer waits for goes at once; one
 * of job events only (starts, ends, retries: nobody waits for those, the
 * keeper holds what they say until they are on disk) at most every
 * --sync-interval, so that a thousand jobs a second cost a hundred syncs
 * rather than two thousand. With batch, every group waits the interval. */
static void send_group(struct durable *d, uint64_t now)
{
	bool wait = d->o.sync == SYNC_BATCH || (d->o.sync == SYNC_ALWAYS && !someone_waits(d));
	int rc;

	bool fresh = jr_journal_pending(d->j) != 0;

	if (fresh && wait && now - d->last_flush_ns < d->o.interval_ms * JR_NS_PER_MS)
		return;
	rc = jr_journal_flush(d->j);	/* without fresh records: a failed write again */
	if (rc < 0 && rc != -EAGAIN)
		note_error(d, rc);
	if (fresh)
		d->last_flush_ns = now;
}

void durable_turn(struct durable *d, uint64_t now)
{
	take_events(d);
	jr_journal_reap(d->j);
	release_durable(d);
	if (now - d->last_maintain_ns > MAINTAIN_NS) {
		note_error(d, jr_journal_maintain(d->j));
		d->last_maintain_ns = now;
	}
	send_group(d, now);
}

int durable_sync(struct durable *d)
{
	int rc;

	take_events(d);
	rc = jr_journal_commit(d->j);
	release_durable(d);
	return rc;
}

void durable_get_stats(struct durable *d, struct durable_stats *out)
{
	*out = d->st;
	jr_journal_get_stats(d->j, &out->journal);
}
