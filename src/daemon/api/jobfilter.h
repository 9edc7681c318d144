/*
 * jobfilter.h - GET /jobs's filters beyond status and priority (which the
 * engine's scan applies itself): name, queue, user and array, read from
 * the query string, and a job tested against them. A query key that
 * GET /jobs does not know is refused (400 unknown_parameter) rather than
 * ignored, so that a misspelt filter cannot list every job.
 */
#ifndef JR_JOBFILTER_H
#define JR_JOBFILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/api/api.h"

/* Jobs looked at (snapshot taken, then filtered out) per GET /jobs
 * request before the page is cut short: the request's cost stays bounded
 * when few jobs match. A short (even empty) page with a next_cursor then
 * means "ask again from there", not "no more jobs". */
#define JOBFILTER_SCAN_BUDGET 65536u

struct job_filter {
	const char *name;	/* exact name, or NULL */
	bool by_queue;
	uint32_t queue_id;
	bool by_user;
	uint32_t uid;
	bool by_array;
	uint64_t array_id;	/* the array's job id */
	bool by_worker;
	uint32_t worker;	/* engine worker id; UINT32_MAX: local */
	const struct submitted *jobs;	/* where a task's array is read */
};

/* A worker_id filter's value: a registered worker's name ("w3"), or
 * "local" (UINT32_MAX: this host's workers). false, with a 422
 * unknown_worker, for a name no worker has now. */
/* A uid number, or a user name from the password database: false for
 * none (or UINT32_MAX). */
bool user_filter_parse(const char *v, uint32_t *uid);

bool worker_filter_parse(struct api *a, const char *v, uint32_t *worker,
			 struct response *res);

/* Read the filters from the query: false, with the answer (400 for an
 * unknown key, 422 for a bad value, an unknown queue or user), if not. */
bool job_filter_parse(struct api *a, const struct query *q, struct job_filter *f,
		      struct response *res);

/* Whether f has anything to test (else every job matches). */
bool job_filter_any(const struct job_filter *f);

/* Does the job pass f? */
bool job_filter_match(const struct job_filter *f, const struct jr_job_info *info);

#endif
