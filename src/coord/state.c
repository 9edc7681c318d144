/*
 * state.c - the coordinator's state and the small operations every part
 * of coord/ uses on it: waking the coordinator, the running set, the job
 * behind an id, a slot given back, a job's record flags and progress,
 * the external lists, the output paths. See state.h.
 */
#include <errno.h>
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
#include "shm/cmdrec.h"
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
	return (struct cmd_job *)(uintptr_t)jr_load_acquire(
		&jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg))->coord);
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
	job->phase = to;
}

void jr_cmd_job_set_rec_flag(struct jr_coordinator *co, struct cmd_job *job,
			     uint32_t flag, bool on)
{
	struct jr_cmd_record *rec = jr_cmd_record(co->region, job->record_ref);
	uint32_t flags = jr_load_relaxed(&rec->flags);

	jr_store_release(&rec->flags, on ? flags | flag : flags & ~flag);
}

void jr_cmd_job_set_progress(struct jr_coordinator *co, struct cmd_job *job, int pct)
{
	struct jr_slot *s = &co->region->slots[job->slot];
	uint16_t flags = jr_slot_get(s->flags) & 0xff;

	if (pct >= 0)
		jr_slot_put(s->flags, (uint16_t)(flags | (pct + 1) << JR_SLOT_PROGRESS_SHIFT));
}

/* --- the external lists ------------------------------------------------------- */

static struct ext_list *list_of(struct jr_coordinator *co, const struct cmd_job *job)
{
	return job->ext_list == EXT_RUNNING ? &co->ext_running :
					      &co->ext_ready[job->sj.priority];
}

void jr_ext_list_push(struct jr_coordinator *co, struct cmd_job *job, uint8_t which)
{
	struct ext_list *l;

	JR_ASSERT(job->ext_list == EXT_NONE && which != EXT_NONE);
	job->ext_list = which;
	l = list_of(co, job);
	job->ext_next = NULL;
	job->ext_prev = l->tail;
	if (l->tail)
		l->tail->ext_next = job;
	else
		l->head = job;
	l->tail = job;
	l->count++;
}

void jr_ext_unlink(struct jr_coordinator *co, struct cmd_job *job)
{
	struct ext_list *l;

	if (job->ext_list == EXT_NONE)
		return;
	l = list_of(co, job);
	if (job->ext_prev)
		job->ext_prev->ext_next = job->ext_next;
	else
		l->head = job->ext_next;
	if (job->ext_next)
		job->ext_next->ext_prev = job->ext_prev;
	else
		l->tail = job->ext_prev;
	l->count--;
	job->ext_prev = job->ext_next = NULL;
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
		if (mkdir(co->state_dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		co->state_dir_made = true;
		return 0;
	}
	fd = jr_safedir_open(co->state_dir, 0700, JR_SAFEDIR_CREATE, NULL);
	snprintf(def, sizeof(def), "/tmp/jobring-%d", (int)getpid());
	if ((fd == -EPERM || fd == -ELOOP) && strcmp(co->state_dir, def) == 0)
		fd = private_state_dir(co) < 0 ? fd : INT32_MAX;
	if (fd < 0)
		return fd;
	if (fd != INT32_MAX)
		close(fd);
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

void jr_coord_output_paths(const struct jr_coordinator *co, jr_job_id id, char *out,
			   char *err, size_t size)
{
	const char *dir = co ? co->state_dir : "";
	size_t len = strlen(dir);

	output_path(out, size, dir, len, id, ".out");
	output_path(err, size, dir, len, id, ".err");
}
