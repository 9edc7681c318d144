/*
 * jobspec.h - a job as the API receives it (one JSON object) turned into a
 * jr_command_spec, with every field checked: 400 for what is malformed
 * (wrong JSON types), 422 for what is well-formed but invalid (priority
 * out of range, unknown queue or dependency, bad units, unknown field).
 * Strings in the spec point into the cJSON tree, which must outlive it.
 */
#ifndef JR_JOBSPEC_H
#define JR_JOBSPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "jobring.h"

struct jobspec_error {
	int status;		/* 400 or 422 */
	const char *code;
	char message[256];
};

struct jobspec {
	struct jr_command_spec spec;
	char **argv;
	char **env;		/* "K=V", owned */
	jr_job_id *after;
	struct arrayspec *array;	/* "array": its index set; NULL: not an array */
	char resources[256];
	char capabilities[256];
	bool storage;		/* "storage" asked (local jobs only) */
};

struct cwd_cache;
struct arrayspec;

/* A dependency type of the API's beyond enum jr_dep_type: an array task
 * on the task of the same index of another array. Never given to the
 * engine: jobspec_corr() turns it into afterok on that task. */
#define JOBSPEC_DEP_AFTERCORR 4u

/* Who submits: a daemon running as root runs the job as that user.
 * strict: a new submission (not a journaled one read back), where what
 * older daemons accepted is refused too: memory 0, a relative cwd, and
 * (with cwd set, for a local job) a cwd the user cannot enter. */
struct jobspec_submitter {
	uid_t uid;
	gid_t gid;
	bool switch_user;
	bool strict;
	bool hide_others;	/* --private, not root: others' jobs are "no such job" */
	struct cwd_cache *cwd;	/* strict: the request's cwdcheck.h cache */
};

bool jobspec_parse(struct jr_engine *e, const cJSON *o, const struct jobspec_submitter *who,
		   struct jobspec *out, struct jobspec_error *err);
/* What jobspec_parse checks once every field is read (the fields
 * together, the submitter's working directory, running as the
 * submitter): true, or false with err. */
bool jobspec_finish(struct jr_engine *e, struct jobspec *js, const struct jobspec_submitter *who,
		    struct jobspec_error *err);
void jobspec_free(struct jobspec *js);
void jobspec_init(struct jobspec *js);

/* The header a batch may start with, {"batch":{"env":{...}}}: what its
 * jobs share. env ("K=V", owned; NULL: none) goes under each job's own
 * (jr_command_spec.shared_env). */
struct jobspec_batch {
	char **env;
};

/* Parse a header's tree, as strictly as a job (400 for wrong types, 422
 * for an unknown field): true, or false with err. Either way
 * jobspec_batch_free() releases what it holds. */
bool jobspec_parse_batch(const cJSON *o, struct jobspec_batch *out, struct jobspec_error *err);
void jobspec_batch_free(struct jobspec_batch *b);

/* The spec's types (spec.after_types, or NULL: all afterok). */
static inline uint8_t *jobspec_dep_types(const struct jobspec *js)
{
	return (uint8_t *)(uintptr_t)js->spec.after_types;
}

/* Whether the job has an aftercorr dependency. */
bool jobspec_has_corr(const struct jobspec *js);

/* For array task index: each aftercorr dependency on array B becomes
 * afterok on B's task of that index (corr(ctx, B, index), 0: B has none,
 * and the edge is dropped, as Slurm does). Writes the ids and types into
 * after[] and types[] (room for spec.after_count each) and points spec
 * (a copy of js->spec) at them. */
void jobspec_corr(const struct jobspec *js, uint32_t index, struct jr_command_spec *spec,
		  jr_job_id *after, uint8_t *types,
		  jr_job_id (*corr)(void *ctx, jr_job_id array, uint32_t index), void *ctx);

/* The error an engine submission returned, as the API reports it. */
void jobspec_engine_error(int rc, struct jobspec_error *err);

#endif
