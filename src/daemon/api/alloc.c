/*
 * alloc.c - POST /allocations, GET /allocations[/{id}], DELETE
 * /allocations/{id} (issue 17): allocation queues added, listed and
 * removed, each change journaled (allocrec.h) before it is answered.
 * Only the daemon's owner (and root) adds or removes one: what it runs,
 * sbatch and the workers Slurm starts, runs as the daemon's owner.
 * allocpoll.c asks Slurm for the allocations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/alloc.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/alloc.h"
#include "daemon/state/allocrec.h"
#include "daemon/state/jsoncheck.h"

static bool may_change(struct api *a, struct api_call *c)
{
	if (c->req->uid == 0 || c->req->uid == a->daemon_uid)
		return true;
	return reply_error(c->res, 403, "forbidden", "only the daemon's owner (uid %u) or root "
			   "adds or removes allocation queues", (unsigned)a->daemon_uid);	/* false */
}

/* The path's id, a queue there is: NULL after answering 404. */
static struct alloc_queue *named(struct api *a, struct api_call *c)
{
	char *end;
	unsigned long id = strtoul(c->param, &end, 10);
	struct alloc_queue *q = *c->param && !*end && id <= UINT32_MAX ?
				allocs_find(&a->st->allocs, (uint32_t)id) : NULL;

	if (!q)
		reply_error(c->res, 404, "not_found", "no allocation queue %s", c->param);
	return q;
}

void api_alloc_add_record(const struct request *req, struct route_record *out)
{
	out->bytes = sizeof(struct rec_alloc) + req->body_len;
	out->jobs = 0;
}

void api_alloc_remove_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = sizeof(struct rec_alloc_delete);
	out->jobs = 0;
}

/* The body checked and printed compact: NULL after answering. */
static char *definition(struct api_call *c)
{
	struct jobspec_error err;
	struct alloc_params p;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &err);
	char why[256], *def = NULL;

	if (!o) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (!allocs_parse(o, &p, why, sizeof(why))) {
		reply_error(c->res, cJSON_IsObject(o) ? 422 : 400,
			    strncmp(why, "unknown field", 13) ? "invalid_value" : "unknown_field",
			    "%s", why);
	} else {
		allocs_params_free(&p);
		if (!(def = cJSON_PrintUnformatted(o)))
			reply_error(c->res, 503, "out_of_memory", "no memory for the queue");
	}
	cJSON_Delete(o);
	return def;
}

/* POST /allocations {kind, partition, nodes, time, max_pending,
 * idle_timeout, sbatch_args, worker_command, server, access} → 201. */
void api_alloc_add(struct api *a, struct api_call *c)
{
	struct allocs *all = &a->st->allocs;
	struct rec_alloc rec = { .uid = c->req->uid, .created_ns = jr_now_realtime_ns() };
	uint8_t *p = NULL;
	char *def;

	if (!may_change(a, c))
		return;
	if (allocs_count(all) >= ALLOC_QUEUES_MAX) {
		reply_error(c->res, 507, "too_many_queues", "at most %u allocation queues",
			    ALLOC_QUEUES_MAX);
		return;
	}
	if (!(def = definition(c)))
		return;
	rec.id = all->next_id;
	rec.next_id = rec.id + 1;
	rec.def_len = (uint32_t)strlen(def);
	if (!(p = malloc(sizeof(rec) + rec.def_len))) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the queue");
	} else {
		memcpy(p, &rec, sizeof(rec));
		memcpy(p + sizeof(rec), def, rec.def_len);
		c->record_seq = durable_log(a->durable, REC_ALLOC, p, sizeof(rec) + rec.def_len,
					    NULL, 0);
		if (!c->record_seq || allocs_apply(all, REC_ALLOC, p, sizeof(rec) + rec.def_len) < 0)
			reply_error(c->res, 507, "journal_unavailable", "the queue could not be "
				    "journaled");
		else
			reply_json(c->res, 201, allocs_view(allocs_find(all, rec.id),
							    jr_now_monotonic_ns()));
	}
	free(p);
	free(def);
}

void api_alloc_list(struct api *a, struct api_call *c)
{
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "allocations");
	uint64_t now = jr_now_monotonic_ns();

	for (uint32_t i = 0; list && i < ALLOC_QUEUES_MAX; i++)
		if (a->st->allocs.q[i])
			cJSON_AddItemToArray(list, allocs_view(a->st->allocs.q[i], now));
	reply_json(c->res, 200, o);
}

void api_alloc_show(struct api *a, struct api_call *c)
{
	struct alloc_queue *q = named(a, c);

	if (q)
		reply_json(c->res, 200, allocs_view(q, jr_now_monotonic_ns()));
}

/* DELETE /allocations/{id}: no more allocations asked; its pending ones
 * cancelled (scancel), its running ones left to end (their workers leave
 * when idle). */
void api_alloc_remove(struct api *a, struct api_call *c)
{
	struct alloc_queue *q;
	struct rec_alloc_delete rec = { .by_uid = c->req->uid };
	cJSON *shown;

	if (!may_change(a, c) || !(q = named(a, c)))
		return;
	if (api_alloc_submitting(q)) {
		/* Killing it could leave a Slurm job that nothing follows. */
		reply_error(c->res, 409, "submitting", "an sbatch of allocation queue %u is under "
			    "way: try again in a moment", q->id);
		return;
	}
	rec.id = q->id;
	c->record_seq = durable_log(a->durable, REC_ALLOC_DELETE, &rec, sizeof(rec), NULL, 0);
	if (!c->record_seq) {
		reply_error(c->res, 507, "journal_unavailable", "the removal could not be "
			    "journaled");
		return;
	}
	shown = allocs_view(q, jr_now_monotonic_ns());
	api_alloc_cancel_pending(a, q);
	allocs_apply(&a->st->allocs, REC_ALLOC_DELETE, &rec, sizeof(rec));
	reply_json(c->res, 200, shown);
}
