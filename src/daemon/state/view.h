/*
 * view.h - jobs, executions and workers as the API shows them (JSON),
 * and ids as it writes them: 16 hex digits. A job's state comes from the
 * engine (jr_job_get's snapshot), what the engine does not keep from
 * its submitted JSON (submitted.h). Each view returns a new cJSON tree
 * the caller owns (NULL without memory).
 */
#ifndef JR_VIEW_H
#define JR_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jobring.h"
#include "daemon/state/submitted.h"
#include "daemon/state/workers.h"

/* Job and execution ids: out gets 16 hex digits and a NUL. */
void view_format_id(uint64_t id, char out[17]);
/* 16 hex digits into *id: false if s is not that, or is 0. */
bool view_parse_id(const char *s, uint64_t *id);

/* "w7" for an external worker's engine id, "local" for the daemon's
 * own executor: into buf, which is returned. */
const char *view_worker_name(uint32_t engine_worker_id, char *buf, size_t size);

/* How much of a job, and of its executions, one uid sees. A job's
 * command, env, payload, cwd and everything else it was submitted with
 * (and its output) are its owner's and root's (VIEW_FULL); anyone else
 * sees its id, name, owner, status, priority, queue and times
 * (VIEW_BRIEF, with "redacted": true), or, with jobringd --private,
 * nothing (VIEW_HIDDEN: not listed, 404 when asked for by id). */
enum view_detail { VIEW_HIDDEN, VIEW_BRIEF, VIEW_FULL };

static inline enum view_detail view_detail_for(uint32_t uid, uint32_t owner_uid,
					       bool private_jobs)
{
	if (uid == 0 || uid == owner_uid)
		return VIEW_FULL;
	return private_jobs ? VIEW_HIDDEN : VIEW_BRIEF;
}

/* detail VIEW_FULL or VIEW_BRIEF. */
cJSON *view_job(struct jr_engine *e, const struct submitted *t, const struct jr_job_info *info,
		enum view_detail detail);
cJSON *view_execution(const struct submitted *t, const struct jr_job_info *info,
		      enum view_detail detail);

cJSON *view_worker(const struct worker *w);
/* The daemon's own executor as a worker, with this host's labels. */
cJSON *view_local_worker(struct jr_engine *e, const char *capabilities);

/* Held by a user (status pending, reason held). */
bool view_job_held(const struct jr_job_info *info);

#endif
