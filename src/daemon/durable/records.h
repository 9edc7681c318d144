/*
 * records.h - what jobringd writes to its journal and snapshots: the
 * payloads of the journal's records (journal.h frames each with a length,
 * a seq and a CRC32C). Written by durable.c and snapshot.c, read by
 * recover.c and tools/jobring-journal.c. Little-endian, fixed-width
 * fields; a payload's size is checked against its type before use.
 *
 * Journal (state_dir/journal/journal-<seq>.log):
 *   SUBMIT   a submission as acknowledged: who sent it, its job ids, and
 *            its body exactly as received (one JSON object, or NDJSON
 *            whose non-blank lines are the jobs, in the ids' order, after
 *            the batch's header line if flagged REC_SUBMIT_HEADER)
 *   START, RETRY, END
 *            a job's attempt began (with its process: pid, start ticks,
 *            boot id, cgroup, and the resources it holds); failed and was
 *            queued again (with the end of its backoff); the job became
 *            final (with exit status and rusage); a RETRY or END of an
 *            attempt that could not start adds why (rec_spawn_error)
 *   CANCEL   a user's cancel request
 *   QUEUE    a queue was created
 *   WORKER   an external worker registered (workers are never removed;
 *            one that stops beating turns unhealthy, which is not kept)
 *   RESULT   the result JSON an external worker completed an execution
 *            with (before the RETRY or END of that attempt)
 *   CONTROL  a user held, released or requeued a job (rec_control)
 *   UPDATE   a user updated a job that had not started: its JSON as it
 *            is now, under its batch's header if it has one (rec_update)
 *   SCHEDULER
 *            a user paused or resumed scheduling (rec_scheduler); also in
 *            snapshots, after the workers
 *   TRIGGER, TRIGGER_DELETE, TRIGGER_FIRE
 *            a trigger defined (with its definition JSON), deleted, fired
 *            (issue 15: rec_trigger, rec_trigger_fire); also in snapshots,
 *            after the scheduler record
 *
 * Snapshot (state_dir/snapshot-<seq>/, itself a journal directory):
 *   SNAP_BEGIN (the last journal seq it covers), then QUEUE, WORKER and
 *   SNAP_JOBS records (about 1 MiB of jobs each: per job a rec_snap_job,
 *   its extension (ext_len bytes padded to 8: the end of a backoff, a
 *   running job's process, why its last attempt could not start), the
 *   JSON's length as a u64, the JSON padded
 *   to 8 bytes; with REC_SNAP_HEADER the JSON is two lines, its batch's
 *   header and the job's own; with REC_SNAP_HEADER_SAME the job's own,
 *   under the header of the last REC_SNAP_HEADER job), then
 *   SNAP_EXECS (a kept job's past attempts, executions.h: a rec_exec_job,
 *   then its rec_execs, each followed by its result JSON padded to 8), then
 *   SNAP_END (the number of jobs): a snapshot without its SNAP_END is
 *   not used. SNAP_COUNTERS (issue 16) comes before the jobs: the job
 *   totals /metrics shows, as of the snapshot's seq.
 */
#ifndef JR_RECORDS_H
#define JR_RECORDS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "base/exitstatus.h"
#include "jobring.h"

enum rec_type {
	REC_SUBMIT = 1,
	REC_START = 2,
	REC_RETRY = 3,
	REC_END = 4,
	REC_CANCEL = 5,
	REC_QUEUE = 6,
	REC_WORKER = 7,
	REC_QUEUE_UPDATE = 24,	/* struct rec_queue: PATCH /queues/{name} */
	REC_QUEUE_DELETE = 25,	/* struct rec_queue (its name): DELETE /queues/{name} */
	/* Issue 13's job control takes 32-39. */
	REC_CONTROL = 32,
	REC_UPDATE = 33,
	REC_SCHEDULER = 34,
	/* Issue 15's triggers take 72-79 (triggers.h). */
	REC_TRIGGER = 72,	/* struct rec_trigger, then its definition JSON */
	REC_TRIGGER_DELETE = 73,	/* struct rec_trigger (name, uid): DELETE */
	REC_TRIGGER_FIRE = 74,	/* struct rec_trigger_fire: a fire and its job */
	REC_SNAP_BEGIN = 16,
	REC_SNAP_JOBS = 17,
	REC_SNAP_END = 18,
	REC_RESULT = 20,
	REC_SNAP_EXECS = 21,
	/* Issue 15's schedules take 64-71 (schedrec.h). */
	REC_SCHEDULE = 64,	/* struct rec_schedule + its definition JSON:
				 * created, changed, paused or resumed (and in
				 * snapshots, with its counters) */
	REC_SCHEDULE_DELETE = 65,	/* struct rec_schedule_delete */
	REC_SNAP_ORIGINS = 66,	/* snapshots: rec_origin_job entries, the
				 * origin of each kept fired job */
	/* Issue 16's notifications take 80-83 (daemon/state/notifyrec.h). */
	/* Issue 16's metrics take 88-89. */
	REC_SNAP_COUNTERS = 88,	/* snapshots: struct rec_counters, the job
				 * totals as of the snapshot's last seq */
};

/* REC_SNAP_COUNTERS: jobs submitted and ended (by outcome: succeeded,
 * failed, cancelled) up to the snapshot's seq. Recovery adds the SUBMIT
 * and END records after it (issue 16: counters survive restarts). */
struct rec_counters {
	uint64_t submitted;
	uint64_t ended[3];
	uint64_t reserved[4];	/* zero */
};
_Static_assert(sizeof(struct rec_counters) == 64, "rec_counters size");

#define REC_SUBMIT_SINGLE 1u	/* the body is one JSON object (POST /jobs) */
#define REC_SUBMIT_SWITCH_USER 2u	/* run as uid/gid (a root daemon's client) */
#define REC_SUBMIT_HEADER 4u	/* the body's first non-blank line is the batch's
				 * header ({"batch":...}), not a job */
#define REC_SUBMIT_ARRAY 8u	/* with SINGLE: a job array; its ids are its
				 * tasks in index order, the first is the
				 * array's id (issue 13) */

#define REC_SUBMIT_ORIGIN 16u	/* with SINGLE: a fire (issue 15): a rec_origin
				 * follows the ids, before the body; never set
				 * by POST /jobs */

struct rec_submit {
	uint32_t uid, gid;
	uint32_t flags;		/* REC_SUBMIT_* */
	uint32_t count;
	uint64_t created_ns;
	/* then count job ids (u64), then the body */
};
_Static_assert(sizeof(struct rec_submit) == 24, "rec_submit size");

/* Where a fired job came from (issue 15): a schedule's due instant or a
 * trigger's fire. Journaled in its REC_SUBMIT, so the fire and its job
 * are one record: replayed, it advances the schedule's last due. */
enum rec_origin_kind { REC_ORIGIN_SCHEDULE = 1, REC_ORIGIN_TRIGGER = 2 };

struct rec_origin {
	uint32_t kind;		/* enum rec_origin_kind */
	uint32_t source_id;	/* the schedule's id; 0 for a trigger */
	uint64_t due_ns;	/* schedule: the due instant; trigger: its fire id */
	char name[64];		/* the schedule's or trigger's name, NUL-padded */
};
_Static_assert(sizeof(struct rec_origin) == 80, "rec_origin size");

/* REC_SNAP_ORIGINS: a run of these. */
struct rec_origin_job {
	jr_job_id job_id;
	struct rec_origin origin;
};
_Static_assert(sizeof(struct rec_origin_job) == 88, "rec_origin_job size");

/* REC_SCHEDULE: a schedule as it is now (created, changed, paused,
 * resumed; in snapshots, with its counters); then def_len bytes of its
 * definition (compact JSON, as POST /schedules takes it). */
enum rec_schedule_op { REC_SCHEDULE_CREATE = 1, REC_SCHEDULE_UPDATE = 2,
		       REC_SCHEDULE_PAUSE = 3, REC_SCHEDULE_RESUME = 4,
		       REC_SCHEDULE_SNAPSHOT = 5 };

struct rec_schedule {
	uint32_t id;
	uint32_t uid, gid;	/* its owner */
	uint32_t op;		/* enum rec_schedule_op */
	uint32_t by_uid;	/* who asked */
	uint32_t next_id;	/* the ids given so far are below this */
	uint64_t created_ns;
	uint64_t last_due_ns;	/* dues up to this are done */
	uint64_t fired, skipped, missed, coalesced;	/* snapshots: its counters */
	uint32_t def_len;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_schedule) == 80, "rec_schedule size");

struct rec_schedule_delete {
	uint32_t id;
	uint32_t by_uid;
};

/* START, RETRY, END: a rec_event; START then a rec_proc and its
 * allocation's bytes (jr_alloc_encode), RETRY then the u64 end of its
 * backoff; RETRY and END of an attempt that could not start then a
 * rec_spawn_error (a reader that does not know it ignores what follows
 * what it reads). Journals from before carry the rec_event alone. */
struct rec_event {
	jr_job_id job_id;
	uint8_t state;		/* enum jr_job_state after the event */
	uint8_t reason;		/* enum jr_reason */
	uint16_t worker_id;
	uint32_t attempt;
	int32_t exit_code;
	int32_t signal;
	uint64_t time_ns;
	uint64_t max_rss_kib, user_us, system_us;
};
_Static_assert(sizeof(struct rec_event) == 56, "rec_event size");
_Static_assert(offsetof(struct rec_event, exit_code) == 16, "rec_event exit_code");
_Static_assert(offsetof(struct rec_event, max_rss_kib) == 32, "rec_event max_rss_kib");

/* Worker ids past 16 bits (issue 14). A rec_event or rec_snap_job whose
 * worker id needs more than its 16-bit worker_id has REC_STATE_WORKER_HI
 * set in its state byte (states are below 16), and its 32-bit attempt
 * field split: the attempt in the low 16 bits (the job's slot keeps no
 * more), the worker id's bits 16-31 in the high 16. Every other record is
 * the layout of before, byte for byte, and a record of before (the bit
 * clear) reads as it always did: recover and the journal tool read both
 * through rec_worker_unpack(). A previous version reading a new
 * journal would misread such a record: no going back past one. */
#define REC_STATE_WORKER_HI 0x80u

/* Fill the state, worker_id and attempt fields of a rec_event or
 * rec_snap_job (passed by address: the two structs have them alike). */
static inline void rec_worker_pack(uint8_t *state, uint16_t *worker_id, uint32_t *attempt,
				   uint32_t st, uint32_t worker, uint32_t att)
{
	*state = (uint8_t)st;
	*worker_id = (uint16_t)worker;
	*attempt = att;
	if (worker > UINT16_MAX) {
		*state |= REC_STATE_WORKER_HI;
		*attempt = (att > UINT16_MAX ? UINT16_MAX : att) | worker >> 16 << 16;
	}
}

/* Undo it in place (state and attempt as the record means them) and
 * return the worker id, of either layout. */
static inline uint32_t rec_worker_unpack(uint8_t *state, const uint16_t *worker_id,
					 uint32_t *attempt)
{
	uint32_t worker = *worker_id;

	if (*state & REC_STATE_WORKER_HI) {
		worker |= *attempt >> 16 << 16;
		*attempt &= UINT16_MAX;
		*state &= (uint8_t)~REC_STATE_WORKER_HI;
	}
	return worker;
}

#define rec_event_unpack(e) rec_worker_unpack(&(e)->state, &(e)->worker_id, &(e)->attempt)

/* Why an attempt could not start: JR_SPAWN_ERROR(step, errno), never 0. */
struct rec_spawn_error {
	int32_t spawn_error;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_spawn_error) == 8, "rec_spawn_error size");

/* The event's exit status and rusage (kept in the record's own order). */
static inline struct jr_exit_status rec_event_status(const struct rec_event *e)
{
	return (struct jr_exit_status){
		.exit_code = e->exit_code, .signal = e->signal, .max_rss_kib = e->max_rss_kib,
		.user_us = e->user_us, .system_us = e->system_us,
	};
}

static inline void rec_event_set_status(struct rec_event *e, const struct jr_exit_status *st)
{
	e->exit_code = st->exit_code;
	e->signal = st->signal;
	e->max_rss_kib = st->max_rss_kib;
	e->user_us = st->user_us;
	e->system_us = st->system_us;
}

/* The process of a running job, as told apart from any later one with
 * the same pid. */
struct rec_proc {
	int32_t pid;
	uint32_t cgroup_slot;	/* job-<slot> under the keeper's subtree; 0: none */
	uint64_t start_ticks;	/* /proc/<pid>/stat field 22 */
	uint8_t boot_id[16];
	uint32_t alloc_len;	/* then that many bytes */
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_proc) == 40, "rec_proc size");

struct rec_cancel {
	jr_job_id job_id;
	uint32_t uid;
	uint32_t pad;
};

enum rec_control_op { REC_CONTROL_HOLD = 1, REC_CONTROL_RELEASE = 2, REC_CONTROL_REQUEUE = 3 };

struct rec_control {
	jr_job_id job_id;
	uint32_t uid;		/* who asked */
	uint32_t op;		/* enum rec_control_op */
	uint32_t attempt;	/* the job's attempts when asked: a requeue is of
				 * that attempt (a snapshot may show a later one) */
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_control) == 24, "rec_control size");

/* Then the job's text: header_len bytes of its batch's header and a
 * '\n' (header_len 0: none), then its JSON. */
struct rec_update {
	jr_job_id job_id;
	uint32_t uid;		/* who asked */
	uint32_t header_len;
};
_Static_assert(sizeof(struct rec_update) == 16, "rec_update size");

struct rec_scheduler {
	uint32_t paused;	/* 1: paused, 0: resumed */
	uint32_t uid;		/* who asked (0 in a snapshot) */
};
_Static_assert(sizeof(struct rec_scheduler) == 8, "rec_scheduler size");

/* A trigger defined (PUT /triggers/{name}) or deleted; REC_TRIGGER is
 * followed by its definition as accepted (compact JSON, see triggers.h).
 * Snapshots write each trigger's REC_TRIGGER and, if it ever fired, its
 * last REC_TRIGGER_FIRE. */
#define REC_TRIGGER_NAME_MAX 64u
#define REC_TRIGGER_SWITCH_USER 1u	/* its jobs run as uid/gid (root's daemon) */

struct rec_trigger {
	char name[REC_TRIGGER_NAME_MAX];
	uint32_t uid, gid;
	uint32_t flags;		/* REC_TRIGGER_* */
	uint32_t zero;
	uint64_t created_ns;
};
_Static_assert(sizeof(struct rec_trigger) == 88, "rec_trigger size");

/* One fire: the trigger's fire count after it (the fire id), the job it
 * submitted (0: none, only schedules), the payload's bytes. Appended in
 * the same turn as the fired job's SUBMIT, after it. */
#define REC_TRIGGER_FIRE_FILE 1u	/* fired by its file source */
#define REC_TRIGGER_FIRE_JOB 2u	/* fired by its job-event source */

struct rec_trigger_fire {
	char name[REC_TRIGGER_NAME_MAX];
	uint64_t fire_id;
	uint64_t time_ns;
	uint64_t job_id;
	uint64_t payload_bytes;
	uint32_t uid;		/* who fired it (the owner for file and job events) */
	uint32_t flags;		/* REC_TRIGGER_FIRE_* */
};
_Static_assert(sizeof(struct rec_trigger_fire) == 104, "rec_trigger_fire size");

struct rec_queue {
	char name[48];
	int32_t priority;
	uint32_t max_workers;
};

/* Then the worker's registration JSON (compact). */
struct rec_worker {
	uint32_t number;
	uint32_t uid;
	uint64_t registered_ns;
};

struct rec_snap_begin {
	uint64_t covers_seq;	/* journal records up to this one are in it */
	uint64_t time_ns;
};

/* One job of a SNAP_JOBS record; then its JSON's length (u64) and the
 * JSON, padded to 8 bytes. */
#define REC_SNAP_BACKOFF 0x100u	/* ext: u64 end of a retry's backoff */
#define REC_SNAP_PROC 0x200u	/* ext: its rec_proc and allocation (running) */
#define REC_SNAP_CANCEL 0x400u	/* a cancel acknowledged, not yet obeyed */
#define REC_SNAP_SPAWN_ERROR 0x800u	/* ext: rec_spawn_error, after the others */
#define REC_SNAP_HEADER 0x1000u	/* its text: its batch's header, '\n', its own */
#define REC_SNAP_HELD 0x100000u	/* held (issue 13): pending until released */
#define REC_SNAP_HEADER_SAME 0x2000u	/* its batch's header is that of the last
					 * REC_SNAP_HEADER job before it */
#define REC_SNAP_ARRAY 0x4000u	/* ext: rec_snap_array, after the others */
#define REC_SNAP_TEXT_SAME 0x8000u	/* an array task whose text (empty here) is
					 * that of the last REC_SNAP_ARRAY job
					 * written in full: its array's body */

/* An array task's place (issue 13). */
struct rec_snap_array {
	uint64_t array_job_id;
	uint32_t array_task_id;
	uint32_t zero;
};

struct rec_snap_job {
	jr_job_id job_id;
	uint32_t uid, gid;
	uint32_t flags;		/* REC_SUBMIT_SWITCH_USER, REC_SNAP_* */
	uint8_t state;
	uint8_t reason;
	uint16_t worker_id;
	uint32_t attempt;
	int32_t exit_code;
	int32_t signal;
	uint32_t ext_len;	/* bytes of extension after this (0 before) */
	uint64_t created_ns, start_ns, end_ns;
	uint64_t max_rss_kib, user_us, system_us;
};
_Static_assert(sizeof(struct rec_snap_job) == 88, "rec_snap_job size");
_Static_assert(offsetof(struct rec_snap_job, exit_code) == 28, "rec_snap_job exit_code");
_Static_assert(offsetof(struct rec_snap_job, max_rss_kib) == 64, "rec_snap_job max_rss_kib");

static inline struct jr_exit_status rec_snap_job_status(const struct rec_snap_job *s)
{
	return (struct jr_exit_status){
		.exit_code = s->exit_code, .signal = s->signal, .max_rss_kib = s->max_rss_kib,
		.user_us = s->user_us, .system_us = s->system_us,
	};
}

static inline void rec_snap_job_set_status(struct rec_snap_job *s,
					   const struct jr_exit_status *st)
{
	s->exit_code = st->exit_code;
	s->signal = st->signal;
	s->max_rss_kib = st->max_rss_kib;
	s->user_us = st->user_us;
	s->system_us = st->system_us;
}

#define REC_PAD8(n) (((n) + 7u) & ~(size_t)7)
#define REC_SNAP_JOB_BYTES(ext_len, text_len) \
	(sizeof(struct rec_snap_job) + REC_PAD8(ext_len) + sizeof(uint64_t) + REC_PAD8(text_len))

/* One job of a SNAP_JOBS payload read back. */
struct rec_snap_view {
	struct rec_snap_job job;	/* state and attempt unpacked (REC_STATE_WORKER_HI) */
	uint32_t worker_id;		/* of either layout */
	uint64_t not_before_ns;		/* REC_SNAP_BACKOFF */
	struct rec_proc proc;		/* REC_SNAP_PROC */
	const uint8_t *alloc;		/* proc.alloc_len bytes */
	int32_t spawn_error;		/* REC_SNAP_SPAWN_ERROR; else 0 */
	struct rec_snap_array array;	/* REC_SNAP_ARRAY; else zero */
	const char *text;
	uint64_t text_len;
};

/* The job at *pos of a SNAP_JOBS payload: 0 (and *pos past it), 1 at
 * the end, or -EPROTO. */
static inline int rec_snap_next(const uint8_t *p, uint32_t len, size_t *pos,
				struct rec_snap_view *v)
{
	size_t at = *pos, ext;

	if (at == len)
		return 1;
	if (len - at < sizeof(v->job) + sizeof(uint64_t))
		return -EPROTO;
	__builtin_memcpy(&v->job, p + at, sizeof(v->job));
	v->worker_id = rec_worker_unpack(&v->job.state, &v->job.worker_id, &v->job.attempt);
	ext = v->job.ext_len;
	if (ext > len - at - sizeof(v->job) - sizeof(uint64_t))
		return -EPROTO;
	const uint8_t *e = p + at + sizeof(v->job), *e_end = e + ext;
	v->not_before_ns = 0;
	v->spawn_error = 0;
	v->alloc = NULL;
	__builtin_memset(&v->proc, 0, sizeof(v->proc));
	if (v->job.flags & REC_SNAP_BACKOFF) {
		if (e_end - e < 8)
			return -EPROTO;
		__builtin_memcpy(&v->not_before_ns, e, 8);
		e += 8;
	}
	if (v->job.flags & REC_SNAP_PROC) {
		if ((size_t)(e_end - e) < sizeof(v->proc))
			return -EPROTO;
		__builtin_memcpy(&v->proc, e, sizeof(v->proc));
		e += sizeof(v->proc);
		if ((size_t)(e_end - e) < v->proc.alloc_len)
			return -EPROTO;
		v->alloc = e;
		e += v->proc.alloc_len;
	}
	if (v->job.flags & REC_SNAP_SPAWN_ERROR) {
		struct rec_spawn_error se;
		if ((size_t)(e_end - e) < sizeof(se))
			return -EPROTO;
		__builtin_memcpy(&se, e, sizeof(se));
		v->spawn_error = se.spawn_error;
		e += sizeof(se);
	}
	__builtin_memset(&v->array, 0, sizeof(v->array));
	if (v->job.flags & REC_SNAP_ARRAY) {
		if ((size_t)(e_end - e) < sizeof(v->array))
			return -EPROTO;
		__builtin_memcpy(&v->array, e, sizeof(v->array));
	}
	at += sizeof(v->job) + REC_PAD8(ext);
	if (len - at < sizeof(uint64_t))
		return -EPROTO;
	__builtin_memcpy(&v->text_len, p + at, sizeof(uint64_t));
	at += sizeof(uint64_t);
	if (v->text_len > len - at || REC_PAD8(v->text_len) > len - at)
		return -EPROTO;
	v->text = (const char *)(p + at);
	*pos = at + REC_PAD8(v->text_len);
	return 0;
}

struct rec_snap_end {
	uint64_t jobs;
};

/* RESULT: then len bytes of JSON (at most EXEC_RESULT_MAX). */
struct rec_result {
	uint64_t execution_id;
	uint32_t len;
	uint32_t attempt;	/* in full (the id keeps its low 8 bits) */
};
_Static_assert(sizeof(struct rec_result) == 16, "rec_result size");

/* SNAP_EXECS: one job's history; then count rec_execs. */
struct rec_exec_job {
	jr_job_id job_id;
	uint32_t count;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_exec_job) == 16, "rec_exec_job size");

/* One attempt; then result_len bytes of JSON padded to 8. */
struct rec_exec {
	uint64_t start_ns, end_ns;
	uint64_t max_rss_kib, user_us, system_us;
	int32_t exit_code, signal;
	int32_t spawn_error;
	uint32_t attempt;
	uint32_t worker_id;
	uint8_t state, reason, ended, pad;
	uint32_t result_len;
	uint32_t zero;
};
_Static_assert(sizeof(struct rec_exec) == 72, "rec_exec size");

/* "submit", "end", ...: a record type's name (records.c); "unknown". */
const char *rec_type_name(uint16_t type);

#endif
