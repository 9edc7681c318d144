/*
 * cmdbatch.h - a batch of command jobs on its way from the submitter to
 * the coordinator. The submitter checks each spec, takes its slot and
 * copies what the coordinator will need (argv, env, cwd, dependencies,
 * capabilities) into one block; the coordinator builds the jobs from it
 * on its own thread. So the submitter does not allocate per job: a batch
 * of 10,000 costs it one allocation, and the jobs' memory is first
 * touched by the coordinator, on the other core.
 */
#ifndef JR_CMDBATCH_H
#define JR_CMDBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/cmdjob.h"
#include "jobring.h"
#include "sched/resources.h"

struct jr_cmd_record;
struct jr_coordinator;
struct cmd_restore_info;

struct cmd_batch {
	struct cmd_batch *next;		/* the coordinator's inbox */
	size_t n;
	struct jr_command_spec *specs;	/* deep copies into this block */
	struct jr_req *reqs;		/* as checked */
	int *prios;
	uint32_t *slots, *records;
	jr_job_id *ids;
	uint32_t *attempts;		/* restored batches: attempts made */
	struct cmd_restore_info *rinfo;	/* restored batches: what the journal knew */
	bool restored;
	/* The coordinator's, under its state_lock: the jobs built so far (it
	 * builds a batch JR_TAKE_CHUNK at a time, loop.c), and the argv and
	 * environment the next may share with the one before. */
	size_t built;
	struct cmd_env_cache cache;
};

/* One block for n specs and everything they point to (names and
 * resources excepted: the submitter has used them). NULL without memory.
 * Free with jr_free(). */
struct cmd_batch *jr_cmd_batch_new(const struct jr_command_spec *specs, size_t n);

/* An array task's throttle without a key is keyed by its array id (once
 * known: a new array's is its batch's first id). */
void jr_cmd_spec_array_throttle(struct jr_command_spec *s);

/* Shared with cmdrestore.c. A spec checked against the queues and this
 * host (not its dependencies): 0 or -errno, with its request and
 * priority. */
int jr_cmd_spec_check(struct jr_coordinator *co, const struct jr_command_spec *spec,
		      struct jr_req *req, int *prio);
/* A command job's priority: its own (any int32), or its queue's when
 * it has none (JR_PRIORITY_FROM_QUEUE without JR_COMMAND_PRIORITY_SET). */
struct jr_queue_rec;
int jr_cmd_priority_of(const struct jr_command_spec *spec, const struct jr_queue_rec *q);

/* Only its priority (a job that will not run): 0, or -ENOENT. */
int jr_cmd_spec_priority(struct jr_coordinator *co, const struct jr_command_spec *spec, int *prio);
void jr_cmd_record_init(struct jr_coordinator *co, struct jr_cmd_record *rec,
			const struct jr_command_spec *spec, uint64_t now);
void jr_cmd_inbox_append(struct jr_coordinator *co, struct cmd_batch *b);
/* A slot's arena record and name for a new command job (the previous
 * occupant's given back first): 0 or -errno, nothing kept on failure. */
struct jr_slot;
int jr_cmd_slot_payload(struct jr_coordinator *co, struct jr_slot *s,
			const struct jr_command_spec *spec, uint32_t *record_ref,
			uint32_t *name_ref);

/* A NULL-terminated string vector copied into a block: the bytes it
 * takes (0 for NULL), and the copy at *cursor (moved past it; NULL for
 * NULL). Shared with cmdjob.c, which keeps argv and env this way. */
size_t jr_cmd_strv_bytes(char *const *v);
char **jr_cmd_strv_copy(char **cursor, char *const *v);
/* The same for one string (shared with park.c). */
size_t jr_cmd_str_bytes(const char *s);
char *jr_cmd_str_copy(char **cursor, const char *s);

#endif
