/*
 * snapshot.c - writing a snapshot and dropping what it covers. See
 * snapshot.h. A snapshot is written as a journal of its own into
 * snapshot-tmp/, made durable, then renamed to snapshot-<seq>/: a crash
 * before the rename leaves the old snapshot and the journal in charge.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"

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

static int queues_out(struct api *a, struct jr_journal *j)
{
	struct jr_queue_info q;

	/* Queue 0 is built in; the rest were created in id order. */
	for (uint32_t id = 1; id < JR_QUEUE_MAX; id++) {
		if (jr_queue_get_info(a->engine, id, &q) < 0)
			break;
		struct rec_queue rec = { .priority = q.priority, .max_workers = q.max_workers };
		snprintf(rec.name, sizeof(rec.name), "%s", q.name);
		int rc = jr_journal_append(j, REC_QUEUE, &rec, sizeof(rec), NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A worker's registration, as it could have been sent. */
static int workers_out(struct api *a, struct jr_journal *j)
{
	for (uint32_t i = 0; i < a->worker_count; i++) {
		const struct api_worker *w = &a->workers[i];
		if (!w->used)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", w->name);
		cJSON_AddStringToObject(o, "capabilities", w->capabilities);
		if (w->resources_json)
			cJSON_AddItemToObject(o, "resources", cJSON_Parse(w->resources_json));
		char *text = cJSON_PrintUnformatted(o);
		struct rec_worker rec = { w->number, (uint32_t)w->uid, w->registered_ns };
		struct iovec iov[2] = { { &rec, sizeof(rec) }, { text, text ? strlen(text) : 0 } };
		int rc = text ? jr_journal_appendv(j, REC_WORKER, iov, 2, NULL) : -ENOMEM;
		free(text);
		cJSON_Delete(o);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The live jobs, oldest first, so a job's dependencies come before it
 * (a dependency is always submitted earlier). */
struct live {
	uint64_t created_ns;
	uint32_t index;
};

static int by_created(const void *x, const void *y)
{
	const struct live *a = x, *b = y;

	if (a->created_ns != b->created_ns)
		return a->created_ns < b->created_ns ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static bool final_state(enum jr_job_state s)
{
	return s == JR_JOB_SUCCEEDED || s == JR_JOB_FAILED || s == JR_JOB_CANCELLED;
}

/* When a finished job finished: its end, or its creation if it never
 * ran (cancelled while queued, a failed dependency). */
static uint64_t finished_ns(const struct jr_job_info *info)
{
	return info->exec.end_ns ? info->exec.end_ns : info->created_ns;
}

/* Every side entry whose job the table still has, sorted; the cutoff
 * of the retention limits. */
static struct live *live_jobs(struct api *a, const struct retention *keep, uint64_t *count,
			      uint64_t *cutoff)
{
	struct live *v = malloc(((size_t)a->capacity + 1) * sizeof(*v));
	uint64_t *ends = malloc(((size_t)a->capacity + 1) * sizeof(*ends));
	uint64_t n = 0, nends = 0;
	struct jr_job_info info;

	if (!v || !ends) {
		free(v);
		free(ends);
		return NULL;
	}
	for (uint32_t i = 1; i < a->capacity; i++) {
		const struct api_job_side *s = &a->side[i];
		if (!s->json || jr_job_get(a->engine, s->id, &info) < 0)
			continue;
		v[n++] = (struct live){ info.created_ns, i };
		if (final_state(info.state))
			ends[nends++] = finished_ns(&info);
	}
	*cutoff = retention_cutoff(ends, nends, keep, api_now_ns());
	free(ends);
	qsort(v, n, sizeof(*v), by_created);
	*count = n;
	return v;
}

static struct rec_snap_job snap_job_of(const struct api_job_side *s,
				       const struct jr_job_info *info)
{
	return (struct rec_snap_job){
		.job_id = info->job_id, .uid = s->uid, .gid = s->gid, .flags = s->flags,
		.state = (uint8_t)(info->state == JR_JOB_PENDING ? JR_JOB_QUEUED : info->state),
		.reason = (uint8_t)info->reason, .worker_id = (uint16_t)info->exec.worker_id,
		.attempt = info->exec.attempt, .exit_code = info->exec.result,
		.signal = info->exec.signal, .created_ns = info->created_ns,
		.start_ns = info->exec.start_ns, .end_ns = info->exec.end_ns,
		.max_rss_kib = info->exec.max_rss_kib, .user_us = info->exec.user_us,
		.system_us = info->exec.system_us,
	};
}

/* Jobs go out about 1 MiB to a record: one header and one check per
 * record, not per job. */
#define SNAP_RECORD_BYTES (1u << 20)

struct snap_out {
	char *buf;
	size_t len, cap;
};

/* A job's extension: a retry's backoff, a running job's process. */
struct snap_ext {
	uint8_t bytes[8 + sizeof(struct rec_proc) + JR_ALLOC_BYTES_MAX];
	uint32_t len;
};

static void ext_of(struct rec_snap_job *rec, const struct job_extra *x, struct snap_ext *e)
{
	e->len = 0;
	if (!x)
		return;
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

static int snap_add(struct snap_out *o, const struct rec_snap_job *rec, const struct snap_ext *ext,
		    const char *text)
{
	uint64_t text_len = strlen(text);
	size_t need = REC_SNAP_JOB_BYTES(ext->len, text_len);

	if (o->len + need > o->cap) {
		size_t cap = o->cap ? o->cap : SNAP_RECORD_BYTES + 65536;
		while (cap < o->len + need)
			cap *= 2;
		char *n = realloc(o->buf, cap);
		if (!n)
			return -ENOMEM;
		o->buf = n;
		o->cap = cap;
	}
	char *p = o->buf + o->len;
	memset(p, 0, need);
	memcpy(p, rec, sizeof(*rec));
	p += sizeof(*rec);
	memcpy(p, ext->bytes, ext->len);
	p += REC_PAD8(ext->len);
	memcpy(p, &text_len, sizeof(text_len));
	memcpy(p + sizeof(text_len), text, text_len);
	o->len += need;
	return 0;
}

static int snap_flush(struct snap_out *o, struct jr_journal *j)
{
	int rc = o->len ? jr_journal_append(j, REC_SNAP_JOBS, o->buf, (uint32_t)o->len, NULL) : 0;

	o->len = 0;
	if (rc == 0 && jr_journal_pending(j) >= 8)
		rc = jr_journal_commit(j);	/* keep the group's buffer small */
	return rc;
}

static int jobs_out(struct api *a, struct durable *d, struct jr_journal *j,
		    const struct retention *keep,
		    struct snapshot_result *out)
{
	uint64_t n, cutoff;
	struct live *v = live_jobs(a, keep, &n, &cutoff);
	struct snap_out o = { 0 };
	struct jr_job_info info;
	int rc = 0;

	if (!v)
		return -ENOMEM;
	for (uint64_t k = 0; k < n && rc == 0; k++) {
		struct api_job_side *s = &a->side[v[k].index];
		if (jr_job_get(a->engine, s->id, &info) < 0)
			continue;	/* gone meanwhile */
		if (final_state(info.state) && finished_ns(&info) < cutoff) {
			api_jobs_side_release(s);	/* its JSON leaves memory too */
			out->aged_out++;
			continue;
		}
		struct rec_snap_job rec = snap_job_of(s, &info);
		struct snap_ext ext;
		ext_of(&rec, durable_job_extra(d, s->id), &ext);
		rc = snap_add(&o, &rec, &ext, s->json);
		out->jobs++;
		if (rc == 0 && o.len >= SNAP_RECORD_BYTES)
			rc = snap_flush(&o, j);
	}
	if (rc == 0)
		rc = snap_flush(&o, j);
	free(o.buf);
	free(v);
	return rc;
}

static int write_tmp(struct api *a, struct durable *d, const char *tmp, uint64_t covers,
		     const struct retention *keep, struct snapshot_result *out)
{
	struct jr_journal_opts o = { .dir = tmp, .trim_on_close = true };
	struct rec_snap_begin begin = { covers, api_now_ns() };
	struct jr_journal_stats st;
	struct jr_journal *j;
	int rc;

	remove_tree(tmp);
	rc = jr_journal_open(&j, &o);
	if (rc < 0)
		return rc;
	rc = jr_journal_append(j, REC_SNAP_BEGIN, &begin, sizeof(begin), NULL);
	if (rc == 0)
		rc = queues_out(a, j);
	if (rc == 0)
		rc = workers_out(a, j);
	if (rc == 0)
		rc = jobs_out(a, d, j, keep, out);
	struct rec_snap_end end = { out->jobs };
	if (rc == 0)
		rc = jr_journal_append(j, REC_SNAP_END, &end, sizeof(end), NULL);
	if (rc == 0)
		rc = jr_journal_commit(j);
	jr_journal_get_stats(j, &st);
	out->bytes = st.bytes;
	jr_journal_close(j);
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

static int sync_dir(const char *dir)
{
	FILE *f = fopen(dir, "r");
	int rc = f && fsync(fileno(f)) == 0 ? 0 : -errno;

	if (f)
		fclose(f);
	return rc;
}

int snapshot_write(struct api *a, struct durable *d, const char *state_dir,
		   const char *journal_dir, const struct retention *keep,
		   struct snapshot_result *out)
{
	char tmp[600], name[64], path[600];
	struct timespec t0, t1;
	uint64_t covers;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof(*out));
	/* Everything so far durable, and a new segment for what follows. */
	rc = durable_sync(d);
	if (rc == 0)
		rc = jr_journal_rotate(durable_journal(d));
	if (rc < 0)
		return rc;
	covers = jr_journal_next_seq(durable_journal(d)) - 1;
	snprintf(tmp, sizeof(tmp), "%s/snapshot-tmp", state_dir);
	rc = write_tmp(a, d, tmp, covers, keep, out);
	if (rc < 0) {
		remove_tree(tmp);
		return rc;
	}
	snprintf(name, sizeof(name), "snapshot-%016llx", (unsigned long long)covers);
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	remove_tree(path);	/* an earlier one covering the same (nothing since) */
	if (rename(tmp, path) < 0)
		return -errno;
	rc = sync_dir(state_dir);
	if (rc < 0)
		return rc;
	out->covers_seq = covers;
	drop_older_snapshots(state_dir, name);
	out->segments_dropped = jr_journal_drop_before(journal_dir, covers + 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return 0;
}
