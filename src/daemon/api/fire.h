/*
 * fire.h - a job fired from a template (issue 15): by a schedule at its
 * due instant, or by a trigger. The job goes the way of POST /jobs: the
 * same checks (jobspec_parse, strict, as its owner), the same engine
 * call, one REC_SUBMIT record, its JSON kept for GET /jobs/{id}; owned by
 * the schedule's or trigger's owner, never anyone else. What POST /jobs
 * cannot say is added: the record carries REC_SUBMIT_ORIGIN and a
 * rec_origin (records.h) between its id and its body, so the fire and
 * its job are one record: replayed, it is both the job and the
 * schedule's last fired due instant (a fire is neither lost nor repeated
 * across kill -9). The origin is kept (state.h's fired) and shown by GET
 * /jobs/{id}: "schedule_id" and "due", or "trigger" and "fire_id".
 * The event loop's thread only.
 */
#ifndef JR_FIRE_H
#define JR_FIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/api/api.h"
#include "daemon/state/jobspec.h"

struct fire_origin {
	uint32_t kind;		/* REC_ORIGIN_SCHEDULE or REC_ORIGIN_TRIGGER (records.h) */
	uint32_t schedule_id;	/* REC_ORIGIN_SCHEDULE: the schedule's id */
	uint64_t due_ns;	/* schedule: its due instant (CLOCK_REALTIME ns);
				 * trigger: the fire's id */
	const char *name;	/* the schedule's or trigger's name (at most 63
				 * bytes kept); NULL: none */
};

/* Submit body (one POST /jobs JSON object, not an array: the caller has
 * put in whatever env it hands the job) as uid/gid, journaled with its
 * origin. 0 with *id and *seq (the record's seq: an answer that promises
 * the fire waits for it, durable_hold), or -1 with err (400/422 as POST
 * /jobs would answer, 503 engine full, 507 the journal cannot take it:
 * nothing was submitted). seq may be NULL. */
int api_fire_job(struct api *a, uid_t uid, gid_t gid, const char *body, size_t len,
		 const struct fire_origin *o, jr_job_id *id, uint64_t *seq,
		 struct jobspec_error *err);

#endif
