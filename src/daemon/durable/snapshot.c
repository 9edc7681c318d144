/*
 * snapshot.c - a snapshot written in the background. See snapshot.h.
 * A snapshot is written as a journal of its own into snapshot-tmp/, made
 * durable, then renamed to snapshot-<seq>/: a crash before the rename
 * leaves the old snapshot and the journal in charge. This file writes the
 * jobs and runs the writer; snapshotstate.c writes the records of the
 * state beside the jobs (queues, workers, schedules, triggers...).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/atomics.h"
#include "base/common.h"
#include "base/lock.h"
#include "daemon/durable/livesort.h"
#include "daemon/durable/snapshot.h"
#include "daemon/durable/snapshotstate.h"
#include "engine/engine.h"
#include "exec/outdir.h"

/* Jobs go out about 1 MiB to a record (one header, one check per record),
 * and at most this many records wait for the writer: the loop stops
 * producing until it has caught up. The writer syncs every 8 MiB, not
 * every few records: the workers' and the state's records are small (70,000
 * workers were 8,750 fdatasyncs and 3.6 s when it synced every 8 records). */
#define CHUNK_BYTES JR_MIB
#define CHUNKS_QUEUED 8u
#define COMMIT_BYTES (8 * JR_MIB)

/* One record for the writer. */
struct chunk {
	struct chunk *next;
	uint16_t type;
	size_t len, cap;
	char data[];
};

/* A job listed at the start, in the order it goes out. */

enum phase { P_WORKERS, P_LIST, P_SORT, P_EMIT, P_WRITE, P_FINAL, P_DONE };

struct snapshot {
	struct state *st;
	struct durable *d;
	struct retention keep;
	char state_dir[300], journal_dir[300], tmp[400];
	int wake_fd;
	enum phase phase;
	uint64_t covers, t0;
	double loop_ms, step_max_ms;
	const char *step_max_phase;
	/* The loop's. */
	uint32_t worker_cursor;		/* P_WORKERS: the next in the registry */
	uint32_t cursor;		/* P_LIST: the next slot */
	struct live *v;			/* one per slot at most: never grown (a
					 * copy of 160 MB would stall the loop),
					 * its pages touched as they fill */
	uint64_t n, k;			/* P_EMIT: the next of v */
	bool writer_behind;		/* P_EMIT stopped for the writer, which
					 * wakes the loop when it has room */
	uint64_t *ends;			/* finished jobs' ends, for retention */
	uint64_t nends;
	struct chunk *cur;
	uint64_t jobs, aged_out;
	uint64_t emitted_upto;		/* journal seq when the last job went out */
	char *last_header;		/* the last batch header written in full */
	jr_job_id last_array;		/* the array of the last task written in full */
	/* Shared with the writer, under lock. */
	pthread_t writer;
	bool writer_started;
	struct jr_mutex lock;
	pthread_cond_t cv;
	struct chunk *q_head, *q_tail;
	uint32_t queued;		/* also read unlocked, as a hint */
	bool sort_asked, sorted, end_asked, written, finalize_asked, finalized, stop;
	uint64_t cutoff;
	int wrc;			/* the writer's error */
	uint64_t bytes;
	int dropped;
};

static void wake(struct snapshot *s)
{
	uint64_t one = 1;

	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0)
		(void)0;	/* saturated: the loop is awake anyway */
}

/* The loop was held from t0 until now, in what began as phase. */
static void held_for(struct snapshot *s, uint64_t t0, const char *phase)
{
	double ms = (double)(jr_now_monotonic_ns() - t0) / JR_NS_PER_MS;

	s->loop_ms += ms;
	if (ms > s->step_max_ms) {
		s->step_max_ms = ms;
		s->step_max_phase = phase;
	}
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* --- records for the writer ---------------------------------------------------------------- */

static struct chunk *chunk_new(uint16_t type, size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		c->next = NULL;
		c->type = type;
		c->len = 0;
		c->cap = cap;
	}
	return c;
}

/* The writer waits for records only on an empty queue, and only once the
 * sort was asked for (ask() wakes it for that): only then is it woken.
 * Signalled for every record, thousands of small ones (the workers') woke
 * it thousands of times, each a context switch taken from the loop. */
static void queue_push(struct snapshot *s, struct chunk *c)
{
	jr_mutex_lock(&s->lock);
	bool was_empty = s->q_head == NULL;
	if (s->q_tail)
		s->q_tail->next = c;
	else
		s->q_head = c;
	s->q_tail = c;
	jr_store_relaxed(&s->queued, s->queued + 1);	/* under s->lock; read unlocked */
	if (was_empty && s->sort_asked)
		pthread_cond_signal(&s->cv);
	jr_mutex_unlock(&s->lock);
}

/* A record for the writer: snapshotstate.c's sections put theirs here. */
static int put_record(void *ctx, uint16_t type, const void *a, size_t alen, const void *b,
		      size_t blen)
{
	struct snapshot *s = ctx;
	struct chunk *c = chunk_new(type, alen + blen);

	if (!c)
		return -ENOMEM;
	memcpy(c->data, a, alen);
	if (blen)
		memcpy(c->data + alen, b, blen);
	c->len = alen + blen;
	queue_push(s, c);
	return 0;
}

/* When a finished job finished: its end, or its creation if it never
 * ran (cancelled while queued, a failed dependency). */
static uint64_t finished_ns(const struct jr_job_info *info)
{
	return info->exec.end_ns ? info->exec.end_ns : info->created_ns;
}

static struct rec_snap_job snap_job_of(const struct submitted *t, const struct submitted_job *s,
				       const struct jr_job_info *info)
{
	struct jobspec_submitter who = submitted_job_who(t, s);
	struct jr_exit_status st = jr_execution_status(&info->exec);
	struct rec_snap_job job = {
		.job_id = info->job_id, .uid = who.uid, .gid = who.gid,
		.flags = who.switch_user ? REC_SUBMIT_SWITCH_USER : 0,
		.reason = (uint8_t)info->reason, .created_ns = info->created_ns,
		.start_ns = info->exec.start_ns, .end_ns = info->exec.end_ns,
	};

	rec_worker_pack(&job.state, &job.worker_id, &job.attempt,
			info->state == JR_JOB_PENDING ? JR_JOB_QUEUED : info->state,
			info->exec.worker_id, info->attempts);
	rec_snap_job_set_status(&job, &st);
	if (info->state == JR_JOB_PENDING && info->reason == JR_REASON_HELD)
		job.flags |= REC_SNAP_HELD;
	return job;
}

/* A job's extension: a retry's backoff, a running job's process. */
struct snap_ext {
	uint8_t bytes[8 + sizeof(struct rec_proc) + JR_ALLOC_BYTES_MAX +
		      sizeof(struct rec_spawn_error) + sizeof(struct rec_snap_array)];
	uint32_t len;
};

static void ext_of(struct rec_snap_job *rec, const struct job_extra *x, struct snap_ext *e)
{
	e->len = 0;
	if (!x)
		return;
	if (x->cancel_requested &&
	    (rec->state == JR_JOB_QUEUED || rec->state == JR_JOB_RUNNING))
		rec->flags |= REC_SNAP_CANCEL;
	if (x->not_before_ns && rec->state == JR_JOB_QUEUED) {
		rec->flags |= REC_SNAP_BACKOFF;
		memcpy(e->bytes, &x->not_before_ns, 8);
		e->len = 8;
	}
	if ((x->proc.pid > 0 || x->proc.cgroup_slot) && rec->state == JR_JOB_RUNNING &&
	    x->proc.alloc_len <= JR_ALLOC_BYTES_MAX) {
		rec->flags |= REC_SNAP_PROC;
		memcpy(e->bytes + e->len, &x->proc, sizeof(x->proc));
		memcpy(e->bytes + e->len + sizeof(x->proc), x->alloc, x->proc.alloc_len);
		e->len += (uint32_t)sizeof(x->proc) + x->proc.alloc_len;
	}
	rec->ext_len = e->len;
}


/* Append one job to the current SNAP_JOBS chunk; a full one goes to the
 * writer. header: its batch's (rec has REC_SNAP_HEADER), or NULL. */
static int job_out(struct snapshot *s, const struct rec_snap_job *rec, const struct snap_ext *ext,
		   const char *header, const char *text)
{
	size_t header_len = header ? strlen(header) + 1 : 0;	/* with its '\n' */
	uint64_t text_len = header_len + strlen(text);
	size_t need = REC_SNAP_JOB_BYTES(ext->len, text_len);
	char *p;

	if (s->cur && s->cur->len + need > s->cur->cap) {
		queue_push(s, s->cur);
		s->cur = NULL;
	}
	if (!s->cur && !(s->cur = chunk_new(REC_SNAP_JOBS, need > CHUNK_BYTES ? need : CHUNK_BYTES)))
		return -ENOMEM;
	p = s->cur->data + s->cur->len;
	memset(p, 0, need);
	memcpy(p, rec, sizeof(*rec));
	p += sizeof(*rec);
	memcpy(p, ext->bytes, ext->len);
	p += REC_PAD8(ext->len);
	memcpy(p, &text_len, sizeof(text_len));
	p += sizeof(text_len);
	if (header) {
		memcpy(p, header, header_len - 1);
		p[header_len - 1] = '\n';
	}
	memcpy(p + header_len, text, text_len - header_len);
	s->cur->len += need;
	return 0;
}

/* The job's past attempts, as one SNAP_EXECS record (if it has any). */
static int execs_out(struct snapshot *s, jr_job_id id)
{
	const struct exec_job *h = executions_of(&s->st->execs, id);
	struct rec_exec_job hj = { .job_id = id };
	size_t need = sizeof(hj);
	struct chunk *c;

	if (!h || !h->count)
		return 0;
	hj.count = h->count;
	for (uint32_t i = 0; i < h->count; i++)
		need += sizeof(struct rec_exec) + REC_PAD8(h->recs[i].result_len);
	if (!(c = chunk_new(REC_SNAP_EXECS, need)))
		return -ENOMEM;
	memset(c->data, 0, need);
	memcpy(c->data, &hj, sizeof(hj));
	c->len = sizeof(hj);
	for (uint32_t i = 0; i < h->count; i++) {
		const struct exec_rec *x = &h->recs[i];
		struct rec_exec e = {
			.start_ns = x->start_ns, .end_ns = x->end_ns,
			.max_rss_kib = x->status.max_rss_kib, .user_us = x->status.user_us,
			.system_us = x->status.system_us, .exit_code = x->status.exit_code,
			.signal = x->status.signal, .spawn_error = x->spawn_error,
			.attempt = x->attempt, .worker_id = x->worker_id, .state = x->state,
			.reason = x->reason, .ended = x->ended, .result_len = x->result_len,
		};
		memcpy(c->data + c->len, &e, sizeof(e));
		c->len += sizeof(e);
		if (x->result_len)
			memcpy(c->data + c->len, x->result, x->result_len);
		c->len += REC_PAD8(x->result_len);
	}
	queue_push(s, c);
	return 0;
}

/* --- the loop's part ------------------------------------------------------------------------ */

/* Every job the daemon holds, with its creation time; the ends of the
 * finished ones; only the runs of the table ever used (a walk over all of
 * --capacity faulted in up to 200 MB of huge pages on the loop: 1 s held
 * at once, measured, with 4,000 workers and --capacity 4M). */
static int list_jobs(struct snapshot *s, uint64_t deadline, bool *done)
{
	struct submitted *t = &s->st->jobs;
	struct jr_job_info info;

	*done = false;
	for (; s->cursor < t->capacity; s->cursor++) {
		if ((s->cursor & 1023) == 0) {
			if (jr_now_monotonic_ns() > deadline)
				return 0;
			/* Never a page of the table no job was put in. */
			if ((s->cursor = submitted_next_used(t, s->cursor)) >= t->capacity)
				break;
		}
		const struct submitted_job *side = &t->jobs[s->cursor];
		jr_job_id id = submitted_job_id(t, side);
		if (!side->block || jr_engine_job_peek(s->st->engine, id, &info) < 0)
			continue;
		s->v[s->n++] = (struct live){ info.created_ns, id };
		if (job_state_final(info.state))
			s->ends[s->nends++] = finished_ns(&info);
	}
	*done = true;
	return 0;
}

/* A job's batch header: false if it is the last one written in full
 * (the job says REC_SNAP_HEADER_SAME: the jobs of a batch, listed one
 * after another, write it once). Compared by text, not by block: the
 * loop runs between slices, and a block freed meanwhile may be reused. */
static bool note_header(struct snapshot *s, const char *header)
{
	if (s->last_header && strcmp(s->last_header, header) == 0)
		return false;
	free(s->last_header);
	s->last_header = strdup(header);	/* NULL: the next is written in full */
	return true;
}

/* One listed job, as it is now; one that left the table (or whose slot
 * holds a newer job: the journal has that one) goes nowhere. */
static int emit_one(struct snapshot *s, const struct live *lv)
{
	struct submitted_job *side = submitted_slot(&s->st->jobs, (uint32_t)lv->id);
	struct jr_job_info info;
	struct snap_ext ext;

	if (submitted_job_id(&s->st->jobs, side) != lv->id || !side->block ||
	    jr_engine_job_peek(s->st->engine, lv->id, &info) < 0)
		return 0;
	if (job_state_final(info.state) && finished_ns(&info) < s->cutoff) {
		submitted_forget(side);	/* its JSON leaves memory too */
		if (s->st->output.dirfd > 0)	/* and its output the disk */
			jr_outdir_remove_job(s->st->output.dirfd, lv->id);
		executions_drop(&s->st->execs, lv->id);	/* its past attempts too */
		s->aged_out++;
		return 0;
	}
	struct rec_snap_job rec = snap_job_of(&s->st->jobs, side, &info);
	ext_of(&rec, durable_job_extra(s->d, lv->id), &ext);
	if (info.exec.spawn_error) {	/* why its last attempt could not start */
		struct rec_spawn_error se = { .spawn_error = info.exec.spawn_error };
		rec.flags |= REC_SNAP_SPAWN_ERROR;
		memcpy(ext.bytes + ext.len, &se, sizeof(se));
		ext.len += (uint32_t)sizeof(se);
		rec.ext_len = ext.len;
	}
	const char *text = submitted_job_json(side);
	if (side->array_job_id) {	/* its array and index; its text once */
		struct rec_snap_array sa = { side->array_job_id, side->array_task_id, 0 };
		rec.flags |= REC_SNAP_ARRAY;
		memcpy(ext.bytes + ext.len, &sa, sizeof(sa));
		ext.len += (uint32_t)sizeof(sa);
		rec.ext_len = ext.len;
		/* The tasks of an array share its body: after one written in
		 * full, the next ones of the array say so. By array id, which
		 * no other array has, not by block (one freed between slices
		 * may be reused). */
		if (side->array_job_id == s->last_array) {
			rec.flags |= REC_SNAP_TEXT_SAME;
			text = "";
		}
		s->last_array = side->array_job_id;
	}
	const char *header = submitted_block_header(side->block);
	if (header && !note_header(s, header)) {
		rec.flags |= REC_SNAP_HEADER_SAME;
		header = NULL;
	} else if (header) {
		rec.flags |= REC_SNAP_HEADER;
	}
	s->jobs++;
	int rc = job_out(s, &rec, &ext, header, text);
	return rc < 0 ? rc : execs_out(s, lv->id);
}

static int emit_jobs(struct snapshot *s, uint64_t deadline, bool *done)
{
	*done = false;
	s->writer_behind = false;
	for (; s->k < s->n; s->k++) {
		if ((s->k & 63) == 0 && jr_load_relaxed(&s->queued) >= CHUNKS_QUEUED) {
			s->writer_behind = true;
			return 0;
		}
		if ((s->k & 63) == 0 && jr_now_monotonic_ns() > deadline)
			return 0;
		int rc = emit_one(s, &s->v[s->k]);
		if (rc < 0)
			return rc;
	}
	if (s->cur)
		queue_push(s, s->cur);
	s->cur = NULL;
	*done = true;
	return 0;
}

/* --- the writer thread --------------------------------------------------------------------- */

/* Wait under lock for cond, or stop: false on stop. */
#define WAIT_FOR(s, cond) \
	({ while (!(cond) && !(s)->stop) jr_cond_wait(&(s)->cv, &(s)->lock); !(s)->stop; })

static void writer_sort(struct snapshot *s)
{
	/* The loop lists and waits: these arrays are the writer's now. */
	live_sort_listed(s->v, s->n);
	s->cutoff = retention_cutoff(s->ends, s->nends, &s->keep, jr_now_realtime_ns());
}

/* A failed commit (a short write, EIO) is written again a few times. */
static int commit(struct jr_journal *j)
{
	int rc = 0;

	for (int tries = 0; tries < 5; tries++)
		if ((rc = jr_journal_commit(j)) == 0)
			break;
	return rc;
}

static int writer_records(struct snapshot *s, struct jr_journal *j)
{
	uint64_t since_commit = 0;
	int rc = 0;

	jr_mutex_lock(&s->lock);
	for (;;) {
		if (!WAIT_FOR(s, s->q_head || s->end_asked))
			break;
		struct chunk *c = s->q_head;
		if (!c)
			break;	/* end asked, queue empty */
		s->q_head = c->next;
		if (!s->q_head)
			s->q_tail = NULL;
		jr_mutex_unlock(&s->lock);
		if (rc == 0)
			rc = jr_journal_append(j, c->type, c->data, (uint32_t)c->len, NULL);
		since_commit += c->len;
		if (rc == 0 && since_commit >= COMMIT_BYTES) {
			rc = commit(j);
			since_commit = 0;
		}
		free(c);
		jr_mutex_lock(&s->lock);
		jr_store_relaxed(&s->queued, s->queued - 1);	/* as queue_push() */
		if (s->queued == CHUNKS_QUEUED / 2)
			wake(s);	/* room: the loop may go on */
	}
	jr_mutex_unlock(&s->lock);
	return s->stop ? -ECANCELED : rc;
}

static int sync_dir(const char *dir)
{
	FILE *f = fopen(dir, "r");
	int rc = f && fsync(fileno(f)) == 0 ? 0 : -errno;

	if (f)
		fclose(f);
	return rc;
}

static void drop_older_snapshots(const char *state_dir, const char *keep_name)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;
	char path[600];

	while (d && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "snapshot-", 9) != 0 || strcmp(e->d_name, keep_name) == 0 ||
		    strcmp(e->d_name, "snapshot-tmp") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", state_dir, e->d_name);
		remove_tree(path);
	}
	if (d)
		closedir(d);
}

/* In place of the old: renamed, synced, what it covers deleted. */
static int writer_install(struct snapshot *s)
{
	char name[64], path[600];
	int rc;

	snprintf(name, sizeof(name), "snapshot-%016llx", (unsigned long long)s->covers);
	snprintf(path, sizeof(path), "%s/%s", s->state_dir, name);
	remove_tree(path);	/* an earlier one covering the same (nothing since) */
	if (rename(s->tmp, path) < 0)
		return -errno;
	rc = sync_dir(s->state_dir);
	if (rc < 0)
		return rc;
	drop_older_snapshots(s->state_dir, name);
	s->dropped = jr_journal_drop_before(s->journal_dir, s->covers + 1);
	return 0;
}

static int writer_write(struct snapshot *s)
{
	struct jr_journal_opts o = { .dir = s->tmp, .trim_on_close = true };
	struct rec_snap_begin begin = { s->covers, jr_now_realtime_ns() };
	struct jr_journal_stats st;
	struct jr_journal *j;
	int rc;

	remove_tree(s->tmp);
	rc = jr_journal_open(&j, &o);
	if (rc < 0)
		return rc;
	rc = jr_journal_append(j, REC_SNAP_BEGIN, &begin, sizeof(begin), NULL);
	if (rc == 0)
		rc = writer_records(s, j);
	struct rec_snap_end end = { s->jobs };	/* set before end_asked */
	if (rc == 0)
		rc = jr_journal_append(j, REC_SNAP_END, &end, sizeof(end), NULL);
	if (rc == 0)
		rc = commit(j);
	jr_journal_get_stats(j, &st);
	s->bytes = st.bytes;
	jr_journal_close(j);
	return rc;
}

static void *writer_main(void *arg)
{
	struct snapshot *s = arg;
	int rc;

	jr_mutex_lock(&s->lock);
	if (WAIT_FOR(s, s->sort_asked)) {
		jr_mutex_unlock(&s->lock);
		writer_sort(s);
		jr_mutex_lock(&s->lock);
		s->sorted = true;
		wake(s);
	}
	jr_mutex_unlock(&s->lock);
	rc = s->stop ? -ECANCELED : writer_write(s);
	jr_mutex_lock(&s->lock);
	s->wrc = rc;
	s->written = true;
	wake(s);
	if (rc == 0 && WAIT_FOR(s, s->finalize_asked)) {
		jr_mutex_unlock(&s->lock);
		rc = writer_install(s);
		jr_mutex_lock(&s->lock);
		s->wrc = rc;
	}
	s->finalized = true;
	wake(s);
	jr_mutex_unlock(&s->lock);
	return NULL;
}

/* --- the steps ------------------------------------------------------------------------------ */

int snapshot_start(struct snapshot **out, struct state *st, struct durable *d,
		   const char *state_dir, const char *journal_dir,
		   const struct retention *keep, int wake_fd)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->st = st;
	s->d = d;
	s->keep = *keep;
	s->wake_fd = wake_fd;
	s->t0 = jr_now_monotonic_ns();
	snprintf(s->state_dir, sizeof(s->state_dir), "%s", state_dir);
	snprintf(s->journal_dir, sizeof(s->journal_dir), "%s", journal_dir);
	snprintf(s->tmp, sizeof(s->tmp), "%s/snapshot-tmp", state_dir);
	/* Every record so far: the state listed below is at least this new. */
	s->covers = jr_journal_next_seq(durable_journal(d)) - 1;
	jr_mutex_init(&s->lock, JR_LOCK_DAEMON_STATE);
	pthread_cond_init(&s->cv, NULL);
	s->v = malloc((size_t)st->jobs.capacity * sizeof(*s->v));
	s->ends = malloc((size_t)st->jobs.capacity * sizeof(*s->ends));
	/* The queues, triggers, schedules... (snapshotstate.h) */
	rc = s->v && s->ends ? snapshot_state_out(st, &durable_jobstats(d)->all, put_record, s)
			     : -ENOMEM;
	if (rc == 0 && pthread_create(&s->writer, NULL, writer_main, s) != 0)
		rc = -EAGAIN;
	s->writer_started = rc == 0;
	if (rc < 0) {
		snapshot_free(s);
		return rc;
	}
	*out = s;
	held_for(s, s->t0, "start");
	wake(s);
	return 0;
}

static bool flag(struct snapshot *s, bool *f)
{
	bool v;

	jr_mutex_lock(&s->lock);
	v = *f;
	jr_mutex_unlock(&s->lock);
	return v;
}

static void ask(struct snapshot *s, bool *f)
{
	jr_mutex_lock(&s->lock);
	*f = true;
	pthread_cond_signal(&s->cv);
	jr_mutex_unlock(&s->lock);
}

static void finish(struct snapshot *s, int rc, struct snapshot_result *r)
{
	*r = (struct snapshot_result){
		.rc = rc, .covers_seq = s->covers, .jobs = s->jobs, .aged_out = s->aged_out,
		.bytes = s->bytes, .segments_dropped = s->dropped, .loop_ms = s->loop_ms,
		.step_max_ms = s->step_max_ms, .step_max_phase = s->step_max_phase,
		.ms = (double)(jr_now_monotonic_ns() - s->t0) / JR_NS_PER_MS,
	};
	s->phase = P_DONE;
}

/* Written: once the journal is durable past the jobs that went out, the
 * writer may put the snapshot in place. true if it may now. */
static bool step_written(struct snapshot *s, struct snapshot_result *r)
{
	if (!flag(s, &s->written))
		return false;
	if (s->wrc < 0) {
		finish(s, s->wrc, r);
		return false;
	}
	if (jr_journal_durable_seq(durable_journal(s->d)) < s->emitted_upto)
		return false;	/* a group in the air: the next turn looks again */
	ask(s, &s->finalize_asked);
	s->phase = P_FINAL;
	return true;
}

/* One phase's worth; true if the step may go on to the next phase now. */
static bool step_phase(struct snapshot *s, uint64_t deadline, struct snapshot_result *r)
{
	bool done = false;
	int rc = 0;

	switch (s->phase) {
	case P_WORKERS:
		rc = snapshot_workers_out(&s->st->workers, &s->worker_cursor, deadline, &done,
					  put_record, s);
		if (done)
			s->phase = P_LIST;
		break;
	case P_LIST:
		rc = list_jobs(s, deadline, &done);
		if (done) {
			ask(s, &s->sort_asked);
			s->phase = P_SORT;
		}
		break;
	case P_SORT:
		if ((done = flag(s, &s->sorted)))
			s->phase = P_EMIT;
		break;
	case P_EMIT:
		rc = emit_jobs(s, deadline, &done);
		if (done) {
			/* Jobs went out as they were at this seq: it must be
			 * on disk before the snapshot replaces the journal. */
			s->emitted_upto = jr_journal_next_seq(durable_journal(s->d)) - 1;
			ask(s, &s->end_asked);
			s->phase = P_WRITE;
		}
		break;
	case P_WRITE:
		done = step_written(s, r);
		break;
	case P_FINAL:
		if (flag(s, &s->finalized))
			finish(s, s->wrc, r);
		break;
	case P_DONE:
		break;
	}
	if (rc < 0)
		finish(s, rc, r);
	return done && rc == 0;
}

int snapshot_step(struct snapshot *s, uint64_t budget_ns, struct snapshot_result *r)
{
	static const char *const names[] = { "workers", "list", "sort", "emit", "write", "final",
					     "done" };
	uint64_t t0 = jr_now_monotonic_ns(), deadline = budget_ns ? t0 + budget_ns : UINT64_MAX;
	const char *began = names[s->phase];

	while (s->phase != P_DONE && step_phase(s, deadline, r) && jr_now_monotonic_ns() < deadline)
		;
	held_for(s, t0, began);
	/* More for the next turn, unless the writer must catch up first: it
	 * wakes the loop when half its queue is gone (a wake here would spin
	 * the loop, a turn every few microseconds, until then). */
	if (s->phase == P_WORKERS || s->phase == P_LIST || (s->phase == P_EMIT && !s->writer_behind))
		wake(s);
	return s->phase == P_DONE;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	if (s->writer_started) {
		jr_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		jr_mutex_unlock(&s->lock);
		pthread_join(s->writer, NULL);
	}
	while (s->q_head) {
		struct chunk *c = s->q_head;
		s->q_head = c->next;
		free(c);
	}
	free(s->cur);
	free(s->v);
	free(s->ends);
	if (s->phase != P_DONE || s->wrc < 0 || !s->finalized)
		remove_tree(s->tmp);
	pthread_cond_destroy(&s->cv);
	jr_mutex_destroy(&s->lock);
	free(s->last_header);
	free(s);
}

int snapshot_write(struct state *st, struct durable *d, const char *state_dir,
		   const char *journal_dir, const struct retention *keep,
		   struct snapshot_result *r)
{
	struct snapshot *s;
	int rc = snapshot_start(&s, st, d, state_dir, journal_dir, keep, -1);

	if (rc < 0) {
		memset(r, 0, sizeof(*r));
		return r->rc = rc;
	}
	durable_sync(d);	/* the journal on disk: nothing to wait for later */
	while (!snapshot_step(s, 0, r)) {
		if (s->phase == P_WRITE)
			durable_sync(d);
		jr_sleep_ns(200 * JR_NS_PER_US);	/* the writer's turn */
	}
	snapshot_free(s);
	return r->rc;
}
