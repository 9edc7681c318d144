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

#include <stddef.h>
#include <stdint.h>

#include "jobring.h"
#include "resources.h"

struct cmd_batch {
	struct cmd_batch *next;		/* the coordinator's inbox */
	size_t n;
	struct jr_command_spec *specs;	/* deep copies into this block */
	struct jr_req *reqs;		/* as checked */
	int *prios;
	uint32_t *slots, *records;
	jr_job_id *ids;
};

/* One block for n specs and everything they point to (names and
 * resources excepted: the submitter has used them). NULL without memory.
 * Free with jr_free(). */
struct cmd_batch *cmd_batch_new(const struct jr_command_spec *specs, size_t n);

/* A NULL-terminated string vector copied into a block: the bytes it
 * takes (0 for NULL), and the copy at *cursor (moved past it; NULL for
 * NULL). Shared with cmdjob.c, which keeps argv and env this way. */
size_t cmd_strv_bytes(char *const *v);
char **cmd_strv_copy(char **cursor, char *const *v);

#endif
