/*
 * submit.h - what POST /jobs (submit.c) and POST /jobs/batch (batch.c)
 * share: who a submission's jobs run as, and its journal record.
 */
#ifndef JR_API_SUBMIT_H
#define JR_API_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/api/api.h"
#include "daemon/state/jobspec.h"

struct cwd_cache;

/* Whom the request's jobs run as: root's daemon runs each user's jobs
 * as that user, root's own as root. */
struct jobspec_submitter submit_who(const struct api *a, const struct request *req);

/* The same, for a new submission checked strictly (jobspec.h): its cwd
 * through cwd, the request's cache (cwd_cache_free it after). */
struct jobspec_submitter submit_strict_who(const struct api *a, const struct request *req,
					   struct cwd_cache *cwd);

/* Journal an accepted submission (c->record_seq: its record, that the
 * answer waits for: api.c). If it cannot be journaled (no memory, a
 * record over the limit), its jobs are cancelled, c->res is a 507 and
 * false is returned: nothing unjournaled is acknowledged. */
bool submit_log(struct api *a, struct api_call *c, const jr_job_id *ids, size_t n, uint32_t flags,
		const struct jr_command_spec *specs);

#endif
