/*
 * execview.h - one attempt of a job as GET /executions shows it: the
 * latest from the engine's table, an earlier one from the history
 * (executions.h), either with the result JSON its worker sent. The
 * view's fields: those of view_execution() (view.h) and started_at,
 * ended_at, exit_code, signal, spawn_error, result (the worker's JSON, or
 * {"exit_code":N} / {"signal":N}) and progress. The event loop's thread.
 */
#ifndef JR_EXECVIEW_H
#define JR_EXECVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "daemon/state/state.h"
#include "daemon/state/view.h"

/* Which attempt of the job (info: jr_job_get's) the execution id names,
 * counting the id's 8 attempt bits: 0 if none is kept. */
uint32_t execview_attempt_of(const struct state *st, const struct jr_job_info *info,
			     uint64_t execution_id);

/* The job's attempts kept, ascending, into out (at most max): how many. */
uint32_t execview_attempts(const struct state *st, const struct jr_job_info *info,
			   uint32_t *out, uint32_t max);

/* The attempt as a job of its own: info with exec, state and reason
 * those of the attempt. false if it is not kept. */
bool execview_info(const struct state *st, const struct jr_job_info *info, uint32_t attempt,
		   struct jr_job_info *out);

/* The attempt's view (detail VIEW_FULL or VIEW_BRIEF); NULL if it is not
 * kept (or no memory). The caller owns it. */
cJSON *execview_json(const struct state *st, const struct jr_job_info *info, uint32_t attempt,
		     enum view_detail detail);

/* Where the attempt's output went: the job's files for the latest, its
 * own (<execution id>.out, .err) for an earlier one. */
void execview_output_path(const struct jr_job_info *info, uint32_t attempt, bool stderr_file,
			  char *out, size_t size);

#endif
