/*
 * state.c - the coordinator's state and the small operations every part
 * of coord/ uses on it: waking the coordinator, the running set, the job
 * behind an id, a slot given back, a job's record flags and progress,
 * the external lists, the output paths. See state.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "base/safedir.h"
#include "coord/coordinator.h"
#include "coord/state.h"
#include "exec/outdir.h"
#include "shm/cmdrec.h"
#include "shm/counters.h"
#include "shm/jobtab.h"

void jr_coord_poke(struct jr_coordinator *co)
{
	uint64_t one = 1;

	if (write(co->evfd, &one, sizeof(one)) < 0)
		return;	/* the counter is saturated: already poked */
}

/* An engine opened with JR_ENGINE_START_PAUSED starts no command job
 * either until jr_engine_resume(). */
bool jr_coord_paused(const struct jr_coordinator *co)
{
	return jr_load_acquire(&co->region->ctl->run_state) == JR_RUN_PAUSED;
}

/* --- the running set -------------------------------------------------------- */

/* Room for every started job is made before the pass can start one (a
 * job holds a core, so there are never more than the host's cores). */
void jr_coord_running_add(struct jr_coordinator *co, struct cmd_job *job)
{
	/* Jobs taken back after a restart may outnumber this host's cores. */
	if (co->running_count == co->running_cap &&
	    jr_array_grow(&co->running, &co->running_cap, co->running_count,
			  co->running_count + 1, sizeof(*co->running), 64) < 0) {
		JR_ASSERT(!"no room for a running job");
		return;
	}
	co->running[co->running_count++] = job;
}

void jr_coord_running_remove(struct jr_coordinator *co, struct cmd_job *job)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		if (co->running[i] == job) {
			co->running[i] = co->running[--co->running_count];
			return;
		}
	}
}

/* --- jobs and slots ---------------------------------------------------------- */

/* The live coordinator record behind a job id, or NULL. */
struct cmd_job *jr_coord_job_of(struct jr_coordinator *co, jr_job_id id)
{
	struct jr_region *r = co->region;
	uint32_t index, gen;
	struct jr_slot *s;

	if (jr_jobtab_decode(r, id, &index, &gen) < 0)
		return NULL;
	s = &r->slots[index];
	if (jr_slot_gen(jr_load_acquire(&s->state)) != gen || !jr_jobtab_is_command(s))
		return NULL;
	uint64_t coord = jr_load_acquire(&jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg))->coord);
	return coord & 1 ? NULL : (struct cmd_job *)(uintptr_t)coord;	/* 1: parked (park.h) */
}

void jr_coord_end_unbuilt(struct jr_coordinator *co, jr_job_id id, uint32_t record)
{
	struct jr_region *r = co->region;
	uint32_t slot = (uint32_t)id;
	struct jr_job_event ev = { .job_id = id, .kind = JR_EVENT_ENDED,
				   .state = JR_JOB_CANCELLED, .reason = JR_REASON_CANCELLED,
				   .time_ns = jr_now_realtime_ns() };

	jr_store_relaxed(&jr_cmd_record(r, record)->reason, JR_REASON_CANCELLED);
	if (jr_jobtab_cancel_owned(&r->slots[slot], JR_JOB_QUEUED))
		jr_counters_add_cancelled(r, 1);
	if (co->job_event)
		co->job_event(co->job_event_ctx, &ev);
	jr_coord_free_slot(co, slot);
	jr_counters_notify_done(r);
}

uint32_t jr_coord_name_hash(const char *name)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

static uint32_t runs_as(struct jr_coordinator *co, const struct cmd_job *job)
{
	return jr_load_relaxed(&jr_cmd_record(co->region, job->record_ref)->uid);
}

/* Its name's hash, worked out from its record (the name is not kept
 * beside the job) and kept in opt, which a singleton has
 * (jr_cmd_job_new); a job without a name hashes as "". */
static uint32_t name_hash_of(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_job_info info;
	uint32_t h = job->opt ? job->opt->name_hash : 0;

	if (!h && jr_jobtab_snapshot(co->region, job->sj.id, &info) == 0)
		h = jr_coord_name_hash(info.name);
	if (job->opt)
		job->opt->name_hash = h;
	return h;
}

bool jr_coord_same_name(void *ctx, const struct jr_sched_job *sa, const struct jr_sched_job *sb)
{
	struct jr_coordinator *co = ctx;
	struct cmd_job *a = CMD_JOB(sa), *b = CMD_JOB(sb);
	struct jr_job_info x, y;

	if (a == b || runs_as(co, a) != runs_as(co, b) ||
	    name_hash_of(co, a) != name_hash_of(co, b))
		return false;
	return jr_jobtab_snapshot(co->region, a->sj.id, &x) == 0 &&
	       jr_jobtab_snapshot(co->region, b->sj.id, &y) == 0 && strcmp(x.name, y.name) == 0;
}

void jr_coord_free_slot(struct jr_coordinator *co, uint32_t slot)
{
	/* Once closed, a restore never runs again: no lock on the hot path. */
	if (jr_load_acquire(&co->restore_phase) != RESTORE_RUNNING) {
		jr_jobtab_free_batch(co->region, &slot, 1);
		return;
	}
	jr_mutex_lock(&co->lock);
	if (co->restore_phase == RESTORE_RUNNING) {
		/* A restored job that ended meanwhile: restore_done() frees it
		 * with the restored jobs that had ended before the restart. */
		JR_ASSERT(co->restored[slot] == RESTORED_LIVE);
		co->restored[slot] = RESTORED_FINAL;
		jr_mutex_unlock(&co->lock);
		return;
	}
	jr_mutex_unlock(&co->lock);
	jr_jobtab_free_batch(co->region, &slot, 1);
}

void jr_cmd_job_set_phase(struct cmd_job *job, enum cmd_job_phase to)
{
	static const uint8_t may_go_to[] = {
		[CMD_QUEUED] = 1u << CMD_STARTING | 1u << CMD_RUNNING | 1u << CMD_ENDED,
		[CMD_STARTING] = 1u << CMD_RUNNING | 1u << CMD_ENDED,
		[CMD_RUNNING] = 1u << CMD_QUEUED | 1u << CMD_ENDED,
		[CMD_ENDED] = 0,
	};

	JR_ASSERT(may_go_to[job->phase] & (1u << to));
	JR_ASSERT(to == CMD_QUEUED || to == CMD_ENDED || job->run);
	job->phase = to;
	if (to == CMD_QUEUED) {	/* waits again: its attempt's part goes */
		jr_free(job->run);
		job->run = NULL;
	}
}

void jr_cmd_job_run_attach(struct cmd_job *job)
{
	if (job->run)
		return;
	job->run = jr_malloc(sizeof(*job->run));
	if (!job->run) {
		fputs("jobring: out of memory starting a job\n", stderr);
		abort();
	}
	*job->run = (struct cmd_run){ .child = JR_CHILD_NONE, .cgroup = JR_CGROUP_JOB_NONE };
}

void jr_cmd_job_set_rec_flag(struct jr_coordinator *co, struct cmd_job *job,
			     uint32_t flag, bool on)
{
	struct jr_cmd_record *rec = jr_cmd_record(co->region, job->record_ref);
	uint16_t flags = jr_load_relaxed(&rec->flags);

	jr_store_release(&rec->flags, (uint16_t)(on ? flags | flag : flags & ~flag));
}

void jr_cmd_job_set_progress(struct jr_coordinator *co, struct cmd_job *job, int pct)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];
	uint16_t flags = jr_slot_get(s->flags) & 0xff;

	if (pct > 100)
		pct = 100;
	if (pct >= 0)
		jr_slot_put(s->flags, (uint16_t)(flags | (pct + 1) << JR_SLOT_PROGRESS_SHIFT));
}

void jr_cmd_job_clear_progress(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_slot *s = &co->region->slots[jr_cmd_job_slot(job)];

	jr_slot_put(s->flags, (uint16_t)(jr_slot_get(s->flags) & 0xff));
}

/* --- the external lists ------------------------------------------------------- */

static struct ext_list *list_of(struct jr_coordinator *co, const struct cmd_job *job)
{
	return job->ext_list == EXT_RUNNING ? &co->ext_running : &co->ext_ready;
}

/* Where job goes in the list: after the last job that goes before it in
 * the scheduler's order (the ready list is in that order; the running
 * list in start order, all at the tail). Walks from the tail: O(1) for
 * jobs of equal or lower priority than the last, as most are. */
static struct cmd_job *ext_insert_after(struct jr_coordinator *co, struct ext_list *l,
					const struct cmd_job *job)
{
	struct cmd_job *at = l->tail;

	if (job->ext_list == EXT_RUNNING)
		return at;
	while (at && !jr_sched_job_before(&co->sched, &at->sj, &job->sj))
		at = at->opt->ext_prev;
	return at;
}

void jr_ext_list_push(struct jr_coordinator *co, struct cmd_job *job, uint8_t which)
{
	struct ext_list *l;
	struct cmd_job *prev;

	JR_ASSERT(job->ext_list == EXT_NONE && which != EXT_NONE && job->opt);
	job->ext_list = which;
	l = list_of(co, job);
	prev = ext_insert_after(co, l, job);
	job->opt->ext_prev = prev;
	job->opt->ext_next = prev ? prev->opt->ext_next : l->head;
	if (job->opt->ext_next)
		job->opt->ext_next->opt->ext_prev = job;
	else
		l->tail = job;
	if (prev)
		prev->opt->ext_next = job;
	else
		l->head = job;
	l->count++;
	if (which == EXT_READY)
		co->ext_ready_by_level[jr_priority_level(job->sj.priority)]++;
	/* Its claim set start_ns (or a restart's adoption did). */
	if (which == EXT_RUNNING && job->sj.limit_ns)
		jr_ext_due_add(&co->ext_due, job, job->sj.start_ns + job->sj.limit_ns);
}

void jr_ext_unlink(struct jr_coordinator *co, struct cmd_job *job)
{
	struct ext_list *l;

	if (job->ext_list == EXT_NONE)
		return;
	l = list_of(co, job);
	if (job->opt->ext_prev)
		job->opt->ext_prev->opt->ext_next = job->opt->ext_next;
	else
		l->head = job->opt->ext_next;
	if (job->opt->ext_next)
		job->opt->ext_next->opt->ext_prev = job->opt->ext_prev;
	else
		l->tail = job->opt->ext_prev;
	l->count--;
	if (job->ext_list == EXT_READY)
		co->ext_ready_by_level[jr_priority_level(job->sj.priority)]--;
	else
		jr_ext_due_remove(&co->ext_due, job);
	job->opt->ext_prev = job->opt->ext_next = NULL;
	job->ext_list = EXT_NONE;
}

/* --- the state directory and output paths ------------------------------------- */

/* The default /tmp/jobring-PID was made by another user (or is shared):
 * a private one made fresh instead, /tmp/jobring-PID-XXXXXX. */
static int private_state_dir(struct jr_coordinator *co)
{
	char dir[sizeof(co->state_dir)];
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/jobring-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		return -errno;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	memcpy(co->state_dir, dir, sizeof(dir));
	return 0;
}

/* Created with the first command job, so that an engine running only
 * function jobs leaves nothing behind. An absolute path is walked and
 * checked (base/safedir.h): ours, not writable by others, no link on it
 * another user could have planted; the default one, if refused, is
 * replaced by a private one. Under co->lock. */
int jr_coord_make_state_dir(struct jr_coordinator *co)
{
	char def[sizeof(co->state_dir)];
	int fd;

	if (co->state_dir_made)
		return 0;
	if (co->state_dir[0] != '/') {
		fd = jr_outdir_open(co->state_dir, /* create */ true, 0700, &co->out_dirfd);
		if (fd < 0)
			return fd;
		co->state_dir_made = true;
		return 0;
	}
	fd = jr_safedir_open(co->state_dir, 0700, JR_SAFEDIR_CREATE, NULL);
	snprintf(def, sizeof(def), "/tmp/jobring-%d", (int)getpid());
	if ((fd == -EPERM || fd == -ELOOP) && strcmp(co->state_dir, def) == 0 &&
	    private_state_dir(co) == 0) {
		fd = open(co->state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	co->out_dirfd = fd;
	co->state_dir_made = true;
	return 0;
}

/* dir/<id, 16 hex digits><ext> into out, cut to size like snprintf:
 * by hand, as every job listed or snapshotted gets two of them (snprintf
 * was a fifth of a snapshot's time). */
static void output_path(char *out, size_t size, const char *dir, size_t dir_len, jr_job_id id,
			const char ext[4])
{
	char buf[512];
	size_t n = dir_len < sizeof(buf) - 21 ? dir_len : sizeof(buf) - 21;

	memcpy(buf, dir, n);
	buf[n++] = '/';
	for (int shift = 60; shift >= 0; shift -= 4)
		buf[n++] = "0123456789abcdef"[(id >> shift) & 15];
	memcpy(buf + n, ext, 4);
	n += 4;
	if (size == 0)
		return;
	n = n < size - 1 ? n : size - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
}

uint64_t jr_coord_output_cap_of(const struct jr_coordinator *co, const struct cmd_job *job)
{
	uint64_t own = job->opt ? job->opt->max_output : 0;

	return own && own < co->max_output ? own : co->max_output;
}

/* A job cut once is likely to go on writing as fast: it is looked at every
 * JR_OUTPUT_HOT_MS from then on (at most JR_OUTPUT_HOT_MAX such jobs). */
static void make_hot(struct jr_coordinator *co, jr_job_id id, uint64_t now)
{
	for (uint32_t i = 0; i < co->output_hot_count; i++)
		if (co->output_hot[i] == id)
			return;
	if (co->output_hot_count == JR_OUTPUT_HOT_MAX)
		return;
	if (co->output_hot_count == 0)
		co->output_hot_at_ns = now + JR_OUTPUT_HOT_MS * JR_NS_PER_MS;
	co->output_hot[co->output_hot_count++] = id;
}

void jr_coord_output_cap(struct jr_coordinator *co, struct cmd_job *job)
{
	uint64_t cap = jr_coord_output_cap_of(co, job);

	if (co->out_dirfd < 0 || cap == UINT64_MAX)
		return;
	if (jr_outdir_cap_job(co->out_dirfd, job->sj.id, cap) == 1) {
		co->output_cuts++;
		if (job->phase == CMD_RUNNING)
			make_hot(co, job->sj.id, jr_now_realtime_ns());
		if (!job->output_truncated) {
			job->output_truncated = true;
			jr_cmd_job_set_rec_flag(co, job, JR_REC_OUTPUT_CUT, true);
		}
	}
}

/* At the job's end: also a cut made before a restart (its .trunc). */
void jr_coord_output_cap_final(struct jr_coordinator *co, struct cmd_job *job)
{
	jr_coord_output_cap(co, job);
	if (!job->output_truncated && co->out_dirfd >= 0 &&
	    jr_outdir_truncated(co->out_dirfd, job->sj.id)) {
		job->output_truncated = true;
		jr_cmd_job_set_rec_flag(co, job, JR_REC_OUTPUT_CUT, true);
	}
}

static void check_hot(struct jr_coordinator *co, uint64_t now)
{
	uint32_t kept = 0;

	if (co->output_hot_count == 0 || now < co->output_hot_at_ns)
		return;
	for (uint32_t i = 0; i < co->output_hot_count; i++) {
		struct cmd_job *job = jr_coord_job_of(co, co->output_hot[i]);
		if (!job || job->phase != CMD_RUNNING)
			continue;	/* ended: its last cut was made then */
		co->output_hot[kept++] = co->output_hot[i];
	}
	co->output_hot_count = kept;
	for (uint32_t i = 0; i < kept; i++)
		jr_coord_output_cap(co, jr_coord_job_of(co, co->output_hot[i]));
	co->output_hot_at_ns = now + JR_OUTPUT_HOT_MS * JR_NS_PER_MS;
}

void jr_coord_output_check(struct jr_coordinator *co, uint64_t now)
{
	if (co->running_count == 0 || co->max_output == UINT64_MAX) {
		co->output_check_at_ns = JR_TIME_NEVER;
		co->output_hot_count = 0;
		return;
	}
	check_hot(co, now);
	if (co->output_check_at_ns != JR_TIME_NEVER && now < co->output_check_at_ns)
		return;
	/* A slice at a time (two fstatat a job, ~1 us each): state_lock is
	 * held for about a millisecond at most, and each job is looked at
	 * every JR_OUTPUT_CHECK_MS whatever the number running. */
	uint32_t n = co->running_count < JR_OUTPUT_SLICE ? co->running_count : JR_OUTPUT_SLICE;
	for (uint32_t k = 0; k < n; k++) {
		if (co->output_cursor >= co->running_count)
			co->output_cursor = 0;
		struct cmd_job *job = co->running[co->output_cursor++];
		if (job->phase == CMD_RUNNING && !job->external)
			jr_coord_output_cap(co, job);
	}
	co->output_check_at_ns = now + JR_OUTPUT_CHECK_MS * JR_NS_PER_MS * n / co->running_count;
}

uint64_t jr_coord_output_next_ns(const struct jr_coordinator *co)
{
	uint64_t at = co->output_check_at_ns == JR_TIME_NEVER ? 0 : co->output_check_at_ns;

	if (co->running_count == 0 || co->max_output == UINT64_MAX)
		return JR_TIME_NEVER;
	if (co->output_hot_count && co->output_hot_at_ns < at)
		at = co->output_hot_at_ns;
	return at;	/* 0: a job started since the last look is due now */
}

/* A finished job restored from before: its record is written by nobody
 * any more, so the mark goes in with an atomic or. */
static void sweep_mark(struct jr_coordinator *co, jr_job_id id)
{
	struct jr_slot *s = &co->region->slots[(uint32_t)id];
	uint64_t ref = jr_slot_get(s->arg);
	struct jr_job_info info;

	if (ref == 0 || ref * 16 >= co->region->hdr->arena_bytes ||
	    jr_jobtab_snapshot(co->region, id, &info) < 0 || !info.is_command ||
	    info.state < JR_JOB_SUCCEEDED)
		return;
	jr_fetch_or_acq_rel(&jr_cmd_record(co->region, (uint32_t)ref)->flags, JR_REC_OUTPUT_CUT);
}

static void *sweep(void *arg)
{
	struct jr_coordinator *co = arg;
	int fd = openat(co->out_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct jr_job_info info;
	struct dirent *e;

	pthread_setname_np(pthread_self(), "jr-out-sweep");
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		enum jr_outdir_file which;
		uint64_t id;
		if (!jr_outdir_parse(e->d_name, &id, &which))
			continue;
		/* Under the lock: the table does not change under the look (a
		 * job submitted meanwhile is in it before its files exist), and
		 * the record's next writer sees this thread's reads done. */
		/* An earlier attempt's files (named by its execution id) go
		 * with its job. */
		jr_job_id job = jr_execution_job(id);
		jr_mutex_lock(&co->lock);
		if ((uint32_t)job >= co->region->hdr->capacity ||
		    jr_jobtab_snapshot(co->region, job, &info) < 0 || !info.is_command) {
			if (unlinkat(co->out_dirfd, e->d_name, 0) == 0)
				co->swept++;
		} else if (which == JR_OUT_TRUNCATED && job == id) {
			sweep_mark(co, id);
		}
		jr_mutex_unlock(&co->lock);
	}
	closedir(d);
	return NULL;
}

void jr_coord_output_sweep_start(struct jr_coordinator *co)
{
	if (co->out_dirfd < 0 || co->sweep_started)
		return;
	co->sweep_started = pthread_create(&co->sweep_thread, NULL, sweep, co) == 0;
}

void jr_coord_output_sweep_join(struct jr_coordinator *co)
{
	if (co->sweep_started)
		pthread_join(co->sweep_thread, NULL);
	co->sweep_started = false;
}

void jr_coord_output_unmark(struct jr_coordinator *co, jr_job_id id)
{
	char name[JR_OUTDIR_NAME_MAX];

	if (co->out_dirfd < 0)
		return;
	jr_outdir_name(id, JR_OUT_TRUNCATED, name);
	unlinkat(co->out_dirfd, name, 0);
}

void jr_coord_output_paths(const struct jr_coordinator *co, jr_job_id id, char *out,
			   char *err, size_t size)
{
	const char *dir = co ? co->state_dir : "";
	size_t len = strlen(dir);

	output_path(out, size, dir, len, id, ".out");
	output_path(err, size, dir, len, id, ".err");
}
