/*
 * jobfilter.c - GET /jobs's name, queue, user and array filters, and
 * its query keys checked. See jobfilter.h.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/jobfilter.h"
#include "daemon/net/reply.h"
#include "daemon/state/submitted.h"
#include "daemon/state/view.h"
#include "daemon/state/workers.h"

static const char *const known_keys[] = {
	"status", "priority", "limit", "cursor", "name", "queue", "user", "array", "worker_id",
	NULL,
};

static bool known_key(const struct query_pair *p)
{
	for (const char *const *k = known_keys; *k; k++)
		if (strlen(*k) == p->key_len && memcmp(*k, p->key, p->key_len) == 0)
			return true;
	return false;
}

/* 400 naming the first key GET /jobs does not take. */
static bool keys_known(const struct query *q, struct response *res)
{
	for (uint32_t i = 0; i < q->count; i++)
		if (!known_key(&q->pairs[i]))
			return reply_error(res, 400, "unknown_parameter",
					   "unknown query parameter \"%.*s\": GET /jobs takes status, "
					   "priority, limit, cursor, name, queue, user, array, worker_id",
					   (int)(q->pairs[i].key_len > 64 ? 64 : q->pairs[i].key_len),
					   q->pairs[i].key);
	return true;
}

/* A uid number, or a user name from the password database. */
bool user_filter_parse(const char *v, uint32_t *uid)
{
	struct passwd pw, *found = NULL;
	char buf[4096], *end;
	unsigned long n;

	if (*v >= '0' && *v <= '9') {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (*end || errno || n > UINT32_MAX - 1)
			return false;
		*uid = (uint32_t)n;
		return true;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return false;
	*uid = (uint32_t)found->pw_uid;
	return true;
}

static bool parse_values(struct api *a, const struct query *q, struct job_filter *f,
			 struct response *res)
{
	const char *v;

	if ((f->name = query_get(q, "name")) && strlen(f->name) >= JR_NAME_MAX)
		return reply_error(res, 422, "invalid_value", "name must be shorter than %u bytes",
				   JR_NAME_MAX);
	if ((v = query_get(q, "queue"))) {
		f->by_queue = true;
		if (jr_queue_lookup(a->engine, v, &f->queue_id) < 0)
			return reply_error(res, 422, "unknown_queue", "no such queue: %.64s", v);
	}
	if ((v = query_get(q, "user"))) {
		f->by_user = true;
		if (!user_filter_parse(v, &f->uid))
			return reply_error(res, 422, "invalid_value",
					   "user must be a uid or a user name: no user %.64s", v);
	}
	if ((v = query_get(q, "worker_id"))) {
		f->by_worker = true;
		if (!worker_filter_parse(a, v, &f->worker, res))
			return false;
	}
	if ((v = query_get(q, "array"))) {
		f->by_array = true;
		if (!view_parse_id(v, &f->array_id))
			return reply_error(res, 422, "invalid_value",
					   "array must be a job id (16 hex digits): %.64s", v);
	}
	return true;
}

bool worker_filter_parse(struct api *a, const char *v, uint32_t *worker,
			 struct response *res)
{
	struct worker *w = workers_by_name(&a->st->workers, v);

	if (strcmp(v, "local") == 0)
		*worker = UINT32_MAX;
	else if (w)
		*worker = worker_engine_id(w);
	else
		return reply_error(res, 422, "unknown_worker", "no such worker: %.64s", v);
	return true;
}

bool job_filter_parse(struct api *a, const struct query *q, struct job_filter *f,
		      struct response *res)
{
	*f = (struct job_filter){ .jobs = &a->st->jobs };
	return keys_known(q, res) && parse_values(a, q, f, res);
}

bool job_filter_any(const struct job_filter *f)
{
	return f->name || f->by_queue || f->by_user || f->by_array || f->by_worker;
}

/* The array a job is a task of (its submission says): 0 for a job
 * outside any array. */
static uint64_t job_array_id(const struct job_filter *f, const struct jr_job_info *info)
{
	const struct submitted_job *s = submitted_of(f->jobs, info->job_id);

	return s ? s->array_job_id : 0;
}

bool job_filter_match(const struct job_filter *f, const struct jr_job_info *info)
{
	if (f->name && strcmp(f->name, info->name) != 0)
		return false;
	if (f->by_queue && info->queue_id != f->queue_id)
		return false;
	if (f->by_user && info->owner_uid != f->uid)
		return false;
	if (f->by_worker && (!info->exec.execution_id ||
			     (f->worker == UINT32_MAX ? info->exec.worker_id >= JR_EXTERNAL_WORKER_BASE :
							info->exec.worker_id != f->worker)))
		return false;
	return !f->by_array || job_array_id(f, info) == f->array_id;
}
