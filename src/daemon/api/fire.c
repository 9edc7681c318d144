/*
 * fire.c - a job fired from a template, as POST /jobs submits one, with
 * its origin journaled in the same record. See fire.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "base/common.h"
#include "daemon/api/fire.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/fired.h"
#include "daemon/state/jsoncheck.h"

static void origin_record(const struct fire_origin *o, struct rec_origin *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = o->kind;
	r->source_id = o->schedule_id;
	r->due_ns = o->due_ns;
	if (o->name)
		snprintf(r->name, sizeof(r->name), "%s", o->name);
}

/* The submission and its origin, one record: 0 if it could not be
 * appended. */
static uint64_t log_fire(struct api *a, const struct jobspec_submitter *who, jr_job_id id,
			 const struct rec_origin *r, const char *body, size_t len)
{
	struct rec_submit head = {
		.uid = who->uid, .gid = who->gid, .count = 1,
		.created_ns = jr_now_realtime_ns(),
		.flags = REC_SUBMIT_SINGLE | REC_SUBMIT_ORIGIN |
			 (who->switch_user ? REC_SUBMIT_SWITCH_USER : 0),
	};
	struct iovec iov[4] = {
		{ &head, sizeof(head) }, { &id, sizeof(id) },
		{ (void *)r, sizeof(*r) }, { (void *)body, len },
	};

	return durable_logv(a->durable, REC_SUBMIT, iov, 4);
}

int api_fire_job(struct api *a, uid_t uid, gid_t gid, const char *body, size_t len,
		 const struct fire_origin *o, jr_job_id *id, uint64_t *seq,
		 struct jobspec_error *err)
{
	struct cwd_cache cwd;
	struct jobspec_submitter who = { uid, gid, a->daemon_uid == 0 && uid != 0, true,
					 a->st->private_jobs && uid != 0, &cwd };
	struct rec_origin r;
	struct jobspec js;
	cJSON *tree;
	uint64_t s = 0;
	int rc = -1;

	if (!durable_writable(a->durable)) {
		json_fail(err, 507, "journal_unavailable",
			  "the journal cannot take the fire: nothing was submitted");
		return -1;
	}
	origin_record(o, &r);
	cwd_cache_init(&cwd, uid, gid, who.switch_user);
	jobspec_init(&js);
	tree = json_parse_strict(body, len, err);
	if (!tree || !jobspec_parse(a->engine, tree, &who, &js, err))
		goto out;
	if (js.array) {
		json_fail(err, 422, "invalid_value", "a fired job cannot be an array");
		goto out;
	}
	rc = jr_command_submit(a->engine, &js.spec, id);
	if (rc < 0) {
		jobspec_engine_error(rc, err);
		rc = -1;
		goto out;
	}
	s = log_fire(a, &who, *id, &r, body, len);
	if (!s) {
		jr_job_cancel(a->engine, *id);
		json_fail(err, 507, "journal_unavailable",
			  "the fire could not be journaled: nothing was submitted");
		rc = -1;
		goto out;
	}
	who.cwd = NULL;
	submitted_put(&a->st->jobs, *id, submitted_block_new(body, len), 0, len, &who);
	fired_put(&a->st->fired, *id, &r);	/* no memory: GET shows no origin */
	events_job(a->st->events, a->engine, *id, EVENTS_SUBMITTED);	/* GET /events (issue 16) */
	if (seq)
		*seq = s;
	rc = 0;
out:
	jobspec_free(&js);
	cJSON_Delete(tree);
	cwd_cache_free(&cwd);
	return rc;
}
