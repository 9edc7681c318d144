/*
 * answers.h - the two answers external workers get by the thousand, a
 * claim's and a completion's, written straight into the answer's buffer
 * with the same bytes as the cJSON views (view.c, execview.c) print:
 * building, printing and freeing those trees was ~60% of the daemon's
 * instructions per claimed and completed job (docs/BENCHMARKS.md, "Issue
 * 14: claim and complete answers written by hand"; docs/DECISIONS.md).
 *
 * Each writer returns false, with b as it was, for what it leaves to the
 * cJSON views: a job with a batch header, an array task, a spawn error,
 * submitted JSON or a result with \u escapes, raw control characters or
 * anything else it does not reprint exactly as cJSON would. Debug builds
 * (JR_DEBUG) compare every answer written here with the cJSON one.
 */
#ifndef JR_DAEMON_STATE_ANSWERS_H
#define JR_DAEMON_STATE_ANSWERS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/net/buf.h"
#include "daemon/state/state.h"

/* The claim's answer: the execution (VIEW_FULL), "lease", and "job" (the
 * whole job, VIEW_FULL): what workers.c's claimed_json() prints. */
bool answer_claim_write(struct buf *b, struct jr_engine *e, const struct submitted *t,
			const struct jr_job_info *info, const char *lease);

/* Attempt attempt of the job as execview_json(st, info, attempt,
 * VIEW_FULL) prints it. */
bool answer_execution_write(struct buf *b, const struct state *st,
			    const struct jr_job_info *info, uint32_t attempt);

/* Append the JSON value text[0, len) as cJSON_Parse then
 * cJSON_PrintUnformatted would (trailing text after it ignored): false,
 * b as it was, if it is not one this reprints exactly. Exposed for
 * tests/test_answers.c. */
bool answer_reprint(struct buf *b, const char *text, size_t len);

#endif
