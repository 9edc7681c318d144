/*
 * jobspecplain.h - the batch line of the commonest shape read straight
 * into its job spec, without a JSON tree: after jsonfast (issue 17), the
 * tree and the walk over it were still 2,566 of the 6,045 instructions a
 * job of the batch intake took (callgrind, docs/BENCHMARKS.md).
 *
 * The shape: one object whose keys are "command" (an array of 1 to
 * JOBSPEC_PLAIN_ARGS strings, the first not empty), "name" (a string of
 * under JR_NAME_MAX bytes), "priority" (a whole number in int32's range,
 * written as digits) and "executor" ("local" or "external"), each at
 * most once, in any order, command required unless external, with
 * whitespace as JSON allows it; strings without escapes or control
 * bytes (jsonfast.h's subset). Anything else, valid or not,
 * is not taken, and the caller parses the line with jobspec_parse,
 * which makes every error: this path never refuses a line, so it can
 * never refuse one jobspec_parse would take or word an error otherwise.
 * tests/test_jobspecplain.c checks that what it takes, jobspec_parse
 * takes into the same spec.
 */
#ifndef JR_JOBSPECPLAIN_H
#define JR_JOBSPECPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/state/jobspec.h"

#define JOBSPEC_PLAIN_ARGS 64

/* text: one line, valid UTF-8 (the batch's body was checked). true: js
 * holds the job (its strings in the JSON arena, which must be active:
 * jsonarena.h; jobspec_free releases nothing of them); false: js is as
 * jobspec_init left it or partly filled, and the caller parses the line
 * with jobspec_parse (which starts with jobspec_init). */
bool jobspec_parse_plain(struct jr_engine *e, const char *text, size_t len,
			 const struct jobspec_submitter *who, struct jobspec *js);

#endif
