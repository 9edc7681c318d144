/*
 * submitted.h - what the daemon keeps of a job beyond the engine's
 * table: the JSON it was submitted with (name, command, requirements,
 * dependencies, payload...) and who submitted it, by slot. A job's JSON
 * points into its request's body, kept once for all the jobs of a batch
 * (a block, freed when the last of them is replaced). Bounded by the
 * table's capacity. Written by the routes that submit and by recovery,
 * read by the job views and snapshots. The event loop's thread only.
 */
#ifndef JR_SUBMITTED_H
#define JR_SUBMITTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobring.h"
#include "daemon/state/jobindex.h"
#include "daemon/state/jobspec.h"

/* The body of one submission request; refs counts the jobs pointing in.
 * A batch's header line ({"batch":...}, what all its jobs share) is
 * text[header_offset, header_offset + header_len), NUL-terminated; every
 * job of the block has it (header_len 0: none). */
struct submitted_block {
	uint32_t refs;
	uint32_t header_offset, header_len;
	char text[];
};

struct submitted_job {
	struct submitted_block *block;	/* its JSON's; NULL: none kept */
	jr_job_id array_job_id;		/* its array's id (its first task's); 0: none */
	uint32_t gen;			/* its id's generation, its slot being its
					 * index (submitted_job_id); 0: no job */
	uint32_t json_offset;		/* its JSON: block->text + json_offset
					 * (submitted_job_json) */
	uint32_t owner;			/* who submitted it (submitted_job_who) */
	uint32_t array_task_id;		/* with array_job_id: its index
					 * (<= ARRAY_INDEX_MAX) */
};
/* One per slot of the table's capacity: 32 bytes (issue 14: memory per
 * queued job; it was 40 with the id, uid, gid and a bit for switch_user
 * kept in each). */
_Static_assert(sizeof(struct submitted_job) == 32, "struct submitted_job grew");

/* Who submitted jobs (uid, gid, whether they run as them): each one
 * distinct once, jobs name it by index (few: the host's users). */
struct submitted_owner {
	uint32_t uid, gid;
	bool switch_user;
};

/* Its JSON (NUL-terminated), or NULL: none kept. */
static inline const char *submitted_job_json(const struct submitted_job *s)
{
	return s->block ? s->block->text + s->json_offset : NULL;
}

/* Slots per run of the table that submitted_next_used() skips at once
 * (1.5 MiB of it): a run no job was ever put in is memory never touched. */
#define SUBMITTED_RUN_SLOTS 32768u

struct submitted {
	uint32_t capacity;
	struct submitted_job *jobs;	/* by slot index */
	uint64_t *used_runs;		/* a bit per run of SUBMITTED_RUN_SLOTS
					 * slots: a job was ever put in it */
	struct jobindex *index;		/* the jobs by status, owner, ... (jobindex.h) */
	struct jr_engine *engine;	/* read by the index (set by state.c) */
	struct submitted_owner *owners;	/* [0]: no one known (submitted_put) */
	uint32_t owner_count, owner_cap;
	uint32_t *owner_hash;		/* owner indexes by hash, 0: empty */
	uint32_t owner_hash_mask;
};

/* Job s's id (0: the slot holds none). */
static inline jr_job_id submitted_job_id(const struct submitted *t, const struct submitted_job *s)
{
	return s->gen ? (jr_job_id)s->gen << 32 | (uint32_t)(s - t->jobs) : 0;
}

/* Who submitted job s (uid 0, gid 0, no switch for a slot never put). */
static inline struct jobspec_submitter submitted_job_who(const struct submitted *t,
							 const struct submitted_job *s)
{
	const struct submitted_owner *o = &t->owners[s->owner];

	return (struct jobspec_submitter){ .uid = o->uid, .gid = o->gid,
					   .switch_user = o->switch_user };
}

/* 0 or -ENOMEM. */
int submitted_init(struct submitted *t, uint32_t capacity);
void submitted_destroy(struct submitted *t);

/* A copy of body[0, len), NUL-terminated, with no reference yet: NULL
 * without memory. */
struct submitted_block *submitted_block_new(const char *body, size_t len);
/* Drop one reference; the last frees the block. NULL is allowed. */
void submitted_block_release(struct submitted_block *b);

/* Its header's text (NUL-terminated), or NULL: none. */
static inline const char *submitted_block_header(const struct submitted_block *b)
{
	return b && b->header_len ? b->text + b->header_offset : NULL;
}

/* Mark block->text[offset, offset + len) as its header (the byte after it
 * becomes a NUL). */
void submitted_block_set_header(struct submitted_block *b, size_t offset, size_t len);

/* Whether an NDJSON line is a batch header: a JSON object whose first key
 * is "batch" (whitespace allowed around). A job never has that key, so
 * the line is parsed as a header, strictly, and a job with it fails. */
bool submitted_is_header(const char *line, size_t len);

/* Job id's JSON is block->text[offset, offset + len) (the byte after it
 * becomes a NUL): the job takes a reference. A NULL block keeps who
 * submitted it only. Replaces what the slot held. Without memory for a
 * new owner the job is kept as submitted by no one known (owner 0:
 * uid and gid UINT32_MAX, run as them: only root sees it, and it never
 * runs as anyone real again). */
void submitted_put(struct submitted *t, jr_job_id id, struct submitted_block *block,
		   size_t offset, size_t len, const struct jobspec_submitter *who);

/* Job id is task task_id of array array_id (after submitted_put). */
void submitted_set_array(struct submitted *t, jr_job_id id, jr_job_id array_id,
			 uint32_t task_id);

/* The job's entry if the slot still holds it, else NULL. */
const struct submitted_job *submitted_of(const struct submitted *t, jr_job_id id);
/* Whether id names a job array (its first task's id: GET, cancel and
 * the controls act on every task). */
bool submitted_is_array_id(const struct submitted *t, jr_job_id id);

/* Every task of array array_id in slot order from slot *cursor on: fn
 * for each (with its id) until it returns false (then *cursor is the
 * slot after the last one given). From the index: O(tasks) (GET of an
 * array, its cancel, its controls). Returns the tasks given. */
uint64_t submitted_array_tasks(const struct submitted *t, jr_job_id array_id, uint32_t *cursor,
			       bool (*fn)(void *ctx, const struct submitted_job *task,
					  jr_job_id id),
			       void *ctx);

/* The index brought up to date (touched jobs read again): before a
 * listing. */
struct jobindex *submitted_index(const struct submitted *t);
/* At most max touched jobs read again (each turn, so that a listing
 * or the next batch finds few left): true if some are left. */
bool submitted_settle_some(const struct submitted *t, uint32_t max);
/* Job id's slot changed (updated, requeued, cancelled): read again. */
void submitted_touch(const struct submitted *t, jr_job_id id);
/* An engine job event, for the index (durable.c). */
void submitted_job_event(const struct submitted *t, const struct jr_job_event *ev);
/* The id the slot holds now; 0: none. */
jr_job_id submitted_id_at(const struct submitted *t, uint32_t slot);

/* The first slot >= slot that may hold a job (the capacity: none), in
 * runs of SUBMITTED_RUN_SLOTS: a walk over every job (a snapshot's) skips
 * what was never used instead of faulting in the whole table, huge pages
 * and all, on the event loop. */
uint32_t submitted_next_used(const struct submitted *t, uint32_t slot);

/* The slot's entry (NULL past the capacity), and forgetting it (its JSON
 * leaves memory). */
struct submitted_job *submitted_slot(struct submitted *t, uint32_t index);
void submitted_forget(struct submitted_job *s);

/* Job id's submitted JSON, or NULL (none kept, or its slot holds another
 * job now). */
const char *submitted_json(const struct submitted *t, jr_job_id id);

/* Job id's batch header (NUL-terminated), or NULL: none, or its slot
 * holds another job now. */
const char *submitted_header(const struct submitted *t, jr_job_id id);

/* The next non-blank line of an NDJSON body [*p, end): its text without
 * the newline; false at the end. *number (may be NULL) counts every line
 * passed. */
bool submitted_next_line(const char **p, const char *end, const char **line, size_t *len,
			 size_t *number);

#endif
