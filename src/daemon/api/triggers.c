/*
 * triggers.c - the /triggers routes (issue 15) and the fire path: a
 * trigger's job template submitted as its owner with the payload in its
 * environment, journaled (the job's SUBMIT, then the REC_TRIGGER_FIRE of
 * the same turn), and its file and job-event sources fired from the
 * loop's tick. The table itself is daemon/state/triggers.c.
 *
 * Who may do what: a trigger belongs to the user who defined it. Only its
 * owner or root may see it, fire it, redefine it or delete it; to anyone
 * else it does not exist (404), except that its name is taken (a PUT of
 * that name is a 409). Its jobs always run as its owner, whoever fires it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/common.h"
#include "base/units.h"
#include "daemon/api/fire.h"
#include "daemon/api/handlers.h"
#include "daemon/api/schedules.h"
#include "daemon/net/reply.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jobspec.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"

#define PAYLOAD_DIR "trigger-payloads"

/* --- seeing a trigger ----------------------------------------------------------------------- */

static bool may_use(const struct api_call *c, const struct trigger *tr)
{
	return c->req->uid == 0 || c->req->uid == tr->uid;
}

/* The trigger named by the path, if the caller may use it; else a 404. */
static struct trigger *named(struct api *a, struct api_call *c)
{
	struct trigger *tr = triggers_find(&a->st->triggers, c->param);

	if (tr && may_use(c, tr))
		return tr;
	reply_error(c->res, 404, "not_found", "no trigger %.64s", c->param);
	return NULL;
}

static const char *kind_name(enum trigger_kind k)
{
	return k == TRIGGER_FILE ? "file" : k == TRIGGER_JOB ? "job_event" : "named";
}

static const char *fired_by(uint32_t flags)
{
	return flags & REC_TRIGGER_FIRE_FILE ? "file" : flags & REC_TRIGGER_FIRE_JOB ? "job_event" :
										      "api";
}

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
	char t[64];

	jr_format_rfc3339(ns, t, sizeof(t));
	cJSON_AddStringToObject(o, key, t);
}

static void add_last_fire(cJSON *o, const struct trigger *tr)
{
	cJSON *f;
	char id[17];

	if (!tr->fire_count || !tr->last_fire_ns) {	/* ids taken, no fire of its own yet */
		cJSON_AddNullToObject(o, "last_fire");
		return;
	}
	f = cJSON_AddObjectToObject(o, "last_fire");
	add_time(f, "time", tr->last_fire_ns);
	cJSON_AddNumberToObject(f, "fire_id", (double)tr->fire_count);
	if (tr->last_job_id) {
		view_format_id(tr->last_job_id, id);
		cJSON_AddStringToObject(f, "job_id", id);
	} else {
		cJSON_AddNullToObject(f, "job_id");
	}
	cJSON_AddNumberToObject(f, "payload_bytes", (double)tr->last_payload_bytes);
	cJSON_AddStringToObject(f, "by", fired_by(tr->last_fire_flags));
}

static cJSON *trigger_json(const struct trigger *tr)
{
	cJSON *o = cJSON_CreateObject(), *def = cJSON_Parse(tr->def), *v;

	cJSON_AddStringToObject(o, "name", tr->name);
	cJSON_AddNumberToObject(o, "owner_uid", tr->uid);
	cJSON_AddStringToObject(o, "kind", kind_name(tr->kind));
	v = def ? cJSON_DetachItemFromObjectCaseSensitive(def, "job") : NULL;
	cJSON_AddItemToObject(o, "job", v ? v : cJSON_CreateNull());
	v = def ? cJSON_DetachItemFromObjectCaseSensitive(def, tr->kind == TRIGGER_FILE ? "file" :
							  "on") : NULL;
	cJSON_AddItemToObject(o, "source", v ? v : cJSON_CreateNull());
	if (tr->kind == TRIGGER_FILE) {
		cJSON_AddNumberToObject(o, "debounce_ms", (double)tr->debounce_ms);
		cJSON_AddBoolToObject(o, "watching", tr->wd >= 0);
		if (tr->watch_error[0])
			cJSON_AddStringToObject(o, "watch_error", tr->watch_error);
		cJSON_AddNumberToObject(o, "pending_paths",
					(double)(tr->burst.listed + tr->burst.more));
	}
	v = def ? cJSON_GetObjectItemCaseSensitive(def, "description") : NULL;
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, "description", v->valuestring);
	add_time(o, "created", tr->created_ns);
	cJSON_AddNumberToObject(o, "fire_count", (double)tr->fire_count);
	add_last_fire(o, tr);
	cJSON_Delete(def);
	return o;
}

void api_trigger_list(struct api *a, struct api_call *c)
{
	const struct triggers *t = &a->st->triggers;
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "triggers");
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->count; i++)
		if (t->list[i] && may_use(c, t->list[i])) {
			cJSON_AddItemToArray(list, trigger_json(t->list[i]));
			n++;
		}
	cJSON_AddNumberToObject(o, "count", n);
	reply_json(c->res, 200, o);
}

void api_trigger_show(struct api *a, struct api_call *c)
{
	struct trigger *tr = named(a, c);

	if (tr)
		reply_json(c->res, 200, trigger_json(tr));
}

/* --- firing --------------------------------------------------------------------------------- */

/* A payload too large for the environment, written for the owner alone
 * under the output directory (root's, mode 0711): its path in out. */
static int payload_file(struct api *a, const struct trigger *tr, uint64_t fire_id,
			const char *payload, size_t len, char *out, size_t size)
{
	const struct output_space *o = &a->st->output;
	char name[160], why[256];
	ssize_t w = 0;
	bool dir;
	int fd;

	if (o->dirfd <= 0 || !o->dir)
		return -ENOENT;
	if (mkdirat(o->dirfd, PAYLOAD_DIR, 0711) < 0 && errno != EEXIST)
		return -errno;
	snprintf(name, sizeof(name), PAYLOAD_DIR "/%s.%llu.json", tr->name,
		 (unsigned long long)fire_id);
	/* A fire id may come again after a crash (its fire never
	 * acknowledged), a name after its trigger was deleted and another
	 * user defined it: the file is replaced by a new one, never
	 * followed nor truncated (whoever still holds the old one open
	 * must not read the new payload through it). */
	if (unlinkat(o->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(o->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (a->daemon_uid == 0 && fchown(fd, tr->uid, tr->gid) < 0) {
		close(fd);
		return -errno;
	}
	for (size_t at = 0; at < len && w >= 0; at += (size_t)w)
		w = write(fd, payload + at, len - at);
	if (w < 0 || close(fd) < 0)
		return -EIO;
	snprintf(out, size, "%s/%s", o->dir, name);
	/* The output directory need not be reachable by its owner (by
	 * default it is under the state directory, 0700): a job handed a
	 * path it cannot open would run without its payload. Refused. */
	if (a->daemon_uid == 0 && tr->uid != 0 &&
	    !triggers_path_allowed(out, tr->uid, tr->gid, tr->switch_user, why, sizeof(why),
				   &dir)) {
		unlinkat(o->dirfd, name, 0);
		return -EACCES;
	}
	return 0;
}

static void env_set(cJSON *env, const char *key, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(env, key);
	cJSON_AddStringToObject(env, key, value);
}

/* The template with the fire's environment: the body the job's SUBMIT
 * record keeps (so recovery needs nothing else). NULL with err. */
static char *fire_body(struct api *a, const struct trigger *tr, uint64_t fire_id,
		       const char *payload, size_t len, struct jobspec_error *err)
{
	cJSON *o = cJSON_Parse(tr->job), *env = o ? cJSON_GetObjectItemCaseSensitive(o, "env") : NULL;
	char id[32], path[4200], *text = NULL, *p = NULL;
	int rc;

	if (o && !env)
		env = cJSON_AddObjectToObject(o, "env");
	if (!cJSON_IsObject(env)) {
		json_fail(err, 503, "out_of_memory", "no memory for the fire's job");
		goto out;
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)fire_id);
	env_set(env, "JOBRING_TRIGGER", tr->name);
	env_set(env, "JOBRING_TRIGGER_FIRE_ID", id);
	if (len && len <= TRIGGER_PAYLOAD_ENV_MAX) {
		if (!(p = strndup(payload, len))) {
			json_fail(err, 503, "out_of_memory", "no memory for the payload");
			goto out;
		}
		env_set(env, "JOBRING_TRIGGER_PAYLOAD", p);
	} else if (len) {
		if ((rc = payload_file(a, tr, fire_id, payload, len, path, sizeof(path))) < 0) {
			json_fail(err, 413, "payload_too_large", "a payload over %u bytes is written "
				  "to a file, which failed: %s", TRIGGER_PAYLOAD_ENV_MAX,
				  rc == -EACCES ? "the trigger's owner cannot reach the output "
				  "directory (see jobringd --output-dir)" : strerror(-rc));
			goto out;
		}
		env_set(env, "JOBRING_TRIGGER_PAYLOAD_FILE", path);
	}
	text = cJSON_PrintUnformatted(o);
	if (!text)
		json_fail(err, 503, "out_of_memory", "no memory for the fire's job");
out:
	free(p);
	cJSON_Delete(o);
	return text;
}

struct fire_result {
	uint64_t fire_id, seq;
	jr_job_id job_id;
	int schedules;		/* schedules bound to its name that fired */
};

/* Its own job, if it has a template: submitted as its owner through
 * api_fire_job, its SUBMIT record carrying the trigger and fire id
 * (fire.h): replayed, it is the job and the fire at once. */
static bool fire_job(struct api *a, struct trigger *tr, uint64_t fire_id, const char *payload,
		     size_t len, jr_job_id *id, uint64_t *seq, struct jobspec_error *err)
{
	struct fire_origin origin = { .kind = REC_ORIGIN_TRIGGER, .due_ns = fire_id,
				      .name = tr->name };
	char *body = fire_body(a, tr, fire_id, payload, len, err);
	int rc;

	if (!body)
		return false;
	rc = api_fire_job(a, tr->uid, tr->gid, body, strlen(body), &origin, id, seq, err);
	free(body);
	return rc == 0;
}

/* Fire tr: its job (if it has a template) submitted and journaled, every
 * schedule bound to its name fired (schedules.h; each runs as its own
 * owner, who bound it), then its REC_TRIGGER_FIRE, applied. by: the uid
 * asking (the owner for its sources). false with err: nothing fired. */
static bool fire(struct api *a, struct trigger *tr, const char *payload, size_t len, uint32_t by,
		 uint32_t flags, struct fire_result *out, struct jobspec_error *err)
{
	struct rec_trigger_fire f = { .fire_id = tr->fire_count + 1, .time_ns = jr_now_realtime_ns(),
				      .payload_bytes = len, .uid = by, .flags = flags };
	uint64_t job_seq = 0, sched_seq = 0, seq;

	*out = (struct fire_result){ .fire_id = f.fire_id };
	if (tr->job && !fire_job(a, tr, f.fire_id, payload, len, &out->job_id, &job_seq, err))
		return false;
	/* A payload too large for the environment is the trigger's own
	 * job's (a file); bound schedules get it only when it fits. */
	out->schedules = schedules_fire_bound(a, tr->name, tr->uid,
					      len <= TRIGGER_PAYLOAD_ENV_MAX ? payload : NULL,
					      len <= TRIGGER_PAYLOAD_ENV_MAX ? len : 0,
					      f.time_ns, &sched_seq);
	if (out->schedules < 0)
		out->schedules = 0;
	if (!tr->job && out->schedules == 0)
		return json_fail(err, 409, "nothing_to_fire", "trigger %s has no job template and "
				 "no schedule is bound to it (a schedule's \"trigger\": \"%s\")",
				 tr->name, tr->name);
	f.job_id = out->job_id;
	memcpy(f.name, tr->name, sizeof(f.name));
	/* The fire's details (payload size, by whom), in the same turn as
	 * the records above: one group write; the answer waits for this,
	 * the last of them. */
	seq = durable_log(a->durable, REC_TRIGGER_FIRE, &f, sizeof(f), NULL, 0);
	/* The latest record (this one unless it could not be appended: the
	 * job's, or a schedule's, are what the answer then promises). */
	out->seq = seq > job_seq ? seq : job_seq;
	out->seq = out->seq > sched_seq ? out->seq : sched_seq;
	triggers_apply_fire(&a->st->triggers, &f, sizeof(f));
	return true;
}

void api_trigger_fire_record(const struct request *req, struct route_record *out)
{
	out->bytes = durable_submit_bytes(1, req->body_len + 64 * 1024) +
		     sizeof(struct rec_trigger_fire) + 64;
	out->jobs = 1;
}

/* POST /triggers/{name} [payload]: 201 {trigger, fire_id, job_id}. */
void api_trigger_fire(struct api *a, struct api_call *c)
{
	const struct request *req = c->req;
	struct trigger *tr = named(a, c);
	struct jobspec_error err;
	struct fire_result r;
	cJSON *o = NULL, *ans;
	char id[17];

	if (!tr)
		return;
	if (req->body_len > TRIGGER_PAYLOAD_MAX) {
		reply_error(c->res, 413, "payload_too_large", "a payload is at most %u bytes",
			    TRIGGER_PAYLOAD_MAX);
		return;
	}
	if (req->body_len && !(o = json_parse_strict(req->body, req->body_len, &err))) {
		reply_error(c->res, err.status, err.code, "the payload: %s", err.message);
		return;
	}
	cJSON_Delete(o);
	if (!fire(a, tr, req->body, req->body_len, req->uid, 0, &r, &err)) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
		return;
	}
	c->record_seq = r.seq;
	ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "trigger", tr->name);
	cJSON_AddNumberToObject(ans, "fire_id", (double)r.fire_id);
	view_format_id(r.job_id, id);
	if (r.job_id)
		cJSON_AddStringToObject(ans, "job_id", id);
	else
		cJSON_AddNullToObject(ans, "job_id");
	cJSON_AddNumberToObject(ans, "payload_bytes", (double)req->body_len);
	cJSON_AddNumberToObject(ans, "schedules", r.schedules);
	reply_json(c->res, 201, ans);
}

/* --- defining and deleting ------------------------------------------------------------------- */

void api_trigger_put_record(const struct request *req, struct route_record *out)
{
	out->bytes = sizeof(struct rec_trigger) + req->body_len + 64;
	out->jobs = 0;
}

/* The template checked as POST /jobs checks a job of the caller's. */
static bool template_ok(struct api *a, const struct api_call *c, const cJSON *job,
			struct jobspec_error *err)
{
	struct cwd_cache cwd;
	bool sw = a->daemon_uid == 0 && c->req->uid != 0;
	struct jobspec_submitter who = { c->req->uid, c->req->gid, sw, true, false, &cwd };
	struct jobspec js;
	bool ok;

	jobspec_init(&js);
	cwd_cache_init(&cwd, c->req->uid, c->req->gid, sw);
	ok = jobspec_parse(a->engine, job, &who, &js, err);
	if (ok && js.array)
		ok = json_fail(err, 422, "invalid_value", "job: a trigger's job is one job, "
			       "not an array");
	jobspec_free(&js);
	cwd_cache_free(&cwd);
	return ok;
}

/* What the sources name exists and is the caller's to watch. */
static bool sources_ok(struct api *a, const struct api_call *c, const struct trigger *tr,
		       struct response *res)
{
	char why[256];
	uint32_t qid;
	bool dir;

	if (tr->kind == TRIGGER_FILE &&
	    !triggers_path_allowed(tr->path, c->req->uid, c->req->gid,
				   a->daemon_uid == 0 && c->req->uid != 0, why, sizeof(why), &dir))
		return reply_error(res, 403, "forbidden", "%s", why);
	if (tr->kind == TRIGGER_JOB && tr->on_queue[0] &&
	    jr_queue_lookup(a->engine, tr->on_queue, &qid) < 0)
		return reply_error(res, 422, "unknown_queue", "on.queue: no queue %s", tr->on_queue);
	if (tr->kind == TRIGGER_JOB && tr->on_job) {
		const struct submitted_job *s = submitted_of(&a->st->jobs, tr->on_job);
		struct jr_job_info info;
		if (!s || (c->req->uid != 0 && submitted_job_who(&a->st->jobs, s).uid != c->req->uid))
			return reply_error(res, 422, "unknown_dependency", "on.job: no job "
					   "%016llx of yours", (unsigned long long)tr->on_job);
		/* Its end has come and gone: nothing would ever fire. */
		if (jr_job_get(a->engine, tr->on_job, &info) == 0 && job_state_final(info.state))
			return reply_error(res, 409, "job_ended", "on.job: job %016llx has ended "
					   "(%s): nothing would fire", (unsigned long long)tr->on_job,
					   jr_job_state_name(info.state));
	}
	return true;
}

/* Parse and check a definition: true with def (compact JSON, malloc'd). */
static bool definition(struct api *a, struct api_call *c, char **def)
{
	struct jobspec_error err;
	struct trigger probe = { .wd = -1 };
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &err);
	const cJSON *job = o ? cJSON_GetObjectItemCaseSensitive(o, "job") : NULL;
	char why[256];
	bool ok = false;

	*def = NULL;
	if (!o) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
	} else if (!cJSON_IsObject(o)) {
		reply_error(c->res, 400, "invalid_json", "the body must be a JSON object");
	} else if (!(*def = cJSON_PrintUnformatted(o))) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the trigger");
	} else if (!triggers_parse_def(*def, strlen(*def), &probe, why, sizeof(why))) {
		reply_error(c->res, 422, strncmp(why, "unknown field", 13) ? "invalid_value" :
			    "unknown_field", "%s", why);
	} else if (job && !template_ok(a, c, job, &err)) {
		reply_error(c->res, err.status, err.code, "job: %s", err.message);
	} else {
		ok = sources_ok(a, c, &probe, c->res);
	}
	free(probe.job);
	free(probe.path);
	free(probe.pattern);
	cJSON_Delete(o);
	if (!ok) {
		free(*def);
		*def = NULL;
	}
	return ok;
}

/* Fire ids of jobs that exist are never handed out again: a fire whose
 * SUBMIT was journaled without its REC_TRIGGER_FIRE (a crash between the
 * two, never acknowledged), or the jobs of a deleted trigger of the same
 * name. The next fire takes the id after the highest. */
static bool origin_seen(void *ctx, const struct fired_entry *e)
{
	struct triggers *t = ctx;
	char name[sizeof(e->origin.name) + 1];
	struct trigger *tr;

	if (e->origin.kind != REC_ORIGIN_TRIGGER || e->origin.source_id != 0)
		return true;	/* a schedule's, fired by a trigger's name */
	memcpy(name, e->origin.name, sizeof(e->origin.name));
	name[sizeof(e->origin.name)] = '\0';
	tr = triggers_find(t, name);
	if (tr && e->origin.due_ns > tr->fire_count)
		tr->fire_count = e->origin.due_ns;
	return true;
}

static uint32_t live_count(const struct triggers *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->count; i++)
		n += t->list[i] != NULL;
	return n;
}

/* PUT /triggers/{name} {job, file | on, debounce, description}: 201 made,
 * 200 replaced (its fires counted on). */
void api_trigger_put(struct api *a, struct api_call *c)
{
	struct triggers *t = &a->st->triggers;
	struct trigger *old = triggers_find(t, c->param), *tr;
	struct rec_trigger rec = { .uid = c->req->uid, .gid = c->req->gid,
				   .created_ns = jr_now_realtime_ns() };
	uint8_t *p = NULL;
	char *def;
	size_t n;

	if (!triggers_name_ok(c->param)) {
		reply_error(c->res, 422, "invalid_name", "a trigger's name: 1 to %u of A-Z a-z 0-9 "
			    ". _ - (not starting with . or -)", TRIGGER_NAME_MAX);
		return;
	}
	if (old && !may_use(c, old)) {
		reply_error(c->res, 409, "exists", "trigger %s belongs to another user", c->param);
		return;
	}
	if (!old && live_count(t) >= TRIGGER_MAX) {
		reply_error(c->res, 507, "too_many_triggers", "at most %u triggers", TRIGGER_MAX);
		return;
	}
	if (!definition(a, c, &def))
		return;
	if (old) {	/* root redefining a user's keeps its owner */
		rec.uid = old->uid;
		rec.gid = old->gid;
		rec.created_ns = old->created_ns;
	}
	rec.flags = a->daemon_uid == 0 && rec.uid != 0 ? REC_TRIGGER_SWITCH_USER : 0;
	snprintf(rec.name, sizeof(rec.name), "%s", c->param);
	n = sizeof(rec) + strlen(def);
	if (!(p = malloc(n))) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the trigger");
	} else {
		memcpy(p, &rec, sizeof(rec));
		memcpy(p + sizeof(rec), def, n - sizeof(rec));
		c->record_seq = durable_log(a->durable, REC_TRIGGER, p, (uint32_t)n, NULL, 0);
		if (!c->record_seq || triggers_apply_define(t, p, (uint32_t)n) < 0) {
			reply_error(c->res, 507, "journal_unavailable", "the trigger could not be "
				    "journaled");
		} else {
			tr = triggers_find(t, rec.name);
			if (!old)	/* a name used before: its jobs' fire ids stay theirs */
				fired_each(&a->st->fired, origin_seen, t);
			triggers_watch_all(t);
			reply_json(c->res, old ? 200 : 201, trigger_json(tr));
		}
	}
	free(p);
	free(def);
}

void api_trigger_delete_record(const struct request *req, struct route_record *out)
{
	(void)req;
	out->bytes = sizeof(struct rec_trigger);
	out->jobs = 0;
}

void api_trigger_delete(struct api *a, struct api_call *c)
{
	struct trigger *tr = named(a, c);
	struct rec_trigger rec = { 0 };
	cJSON *shown;

	if (!tr)
		return;
	shown = trigger_json(tr);
	memcpy(rec.name, tr->name, sizeof(rec.name));
	rec.uid = c->req->uid;
	c->record_seq = durable_log(a->durable, REC_TRIGGER_DELETE, &rec, sizeof(rec), NULL, 0);
	if (!c->record_seq) {
		cJSON_Delete(shown);
		reply_error(c->res, 507, "journal_unavailable", "the delete could not be journaled");
		return;
	}
	triggers_apply_delete(&a->st->triggers, &rec, sizeof(rec));
	reply_json(c->res, 200, shown);
}

/* --- sources, each turn ------------------------------------------------------------------------ */

static void fire_quietly(struct api *a, struct trigger *tr, const char *payload, size_t len,
			 uint32_t flags)
{
	struct jobspec_error err;
	struct fire_result r;

	if (!fire(a, tr, payload, len, tr->uid, flags, &r, &err))
		fprintf(stderr, "jobringd: trigger %s could not fire: %s\n", tr->name, err.message);
}

static void file_sources(struct api *a, uint64_t now_ns)
{
	struct triggers *t = &a->st->triggers;
	struct trigger *tr;
	size_t len;
	char *payload;

	triggers_read_events(t, now_ns);
	while ((tr = triggers_burst_due(t, now_ns)) != NULL) {
		char why[sizeof(tr->watch_error)];
		payload = triggers_burst_payload(t, tr, &len);
		/* Its owner may have lost the right to read the path since it
		 * was watched, or the path be another inode now: the names
		 * seen are then not handed on. */
		if (!triggers_watch_allowed(tr, why, sizeof(why))) {
			triggers_unwatch(t, tr);
			snprintf(tr->watch_error, sizeof(tr->watch_error), "%s", why);
		} else if (payload) {
			fire_quietly(a, tr, payload, len, REC_TRIGGER_FIRE_FILE);
		}
		free(payload);
	}
}

/* Was job id fired by trigger name, or by any job-event trigger (its
 * origin, fire.h)? A queue's trigger does not fire on those jobs' ends:
 * its own would loop, and two queue triggers firing into each other's
 * queues (or three into one: each end fires two) would fire forever, or
 * exponentially, with nobody asking. */
static bool fired_by_trigger(struct api *a, jr_job_id id, const char *name)
{
	const struct rec_origin *o = fired_get(&a->st->fired, id);
	const struct trigger *by;
	char n[sizeof(o->name) + 1];

	if (!o || o->kind != REC_ORIGIN_TRIGGER)
		return false;
	if (strncmp(o->name, name, sizeof(o->name)) == 0)
		return true;
	memcpy(n, o->name, sizeof(o->name));
	n[sizeof(o->name)] = '\0';
	by = triggers_find(&a->st->triggers, n);
	return by && by->kind == TRIGGER_JOB;
}

static void ended_one(struct api *a, const struct trigger_ended *e)
{
	struct triggers *t = &a->st->triggers;
	struct jr_job_info info;
	struct jr_queue_info q;
	const char *queue = NULL;
	char id[17], payload[512];
	int n;

	if (jr_job_get(a->engine, e->id, &info) == 0 &&
	    jr_queue_get_info(a->engine, info.queue_id, &q) == 0)
		queue = q.name;
	const struct submitted_job *sj = submitted_of(&a->st->jobs, e->id);

	view_format_id(e->id, id);
	for (uint32_t i = 0; i < t->count; i++) {
		struct trigger *tr = t->list[i];
		/* A user's queue trigger sees the ends of its owner's jobs
		 * only: another user's job id, state and exit code are not
		 * its to learn (root's trigger sees all). */
		if (!tr || !triggers_job_matches(tr, e, queue) ||
		    (!tr->on_job && fired_by_trigger(a, e->id, tr->name)) ||
		    (tr->uid != 0 && (!sj || submitted_job_who(&a->st->jobs, sj).uid != tr->uid)))
			continue;
		n = snprintf(payload, sizeof(payload), "{\"trigger\":\"%s\",\"job_id\":\"%s\","
			     "\"state\":\"%s\",\"reason\":\"%s\",\"exit_code\":%d,\"queue\":\"%s\"}",
			     tr->name, id, jr_job_state_name(e->state),
			     e->reason ? jr_reason_name(e->reason) : "none", e->exit_code,
			     queue ? queue : "");
		fire_quietly(a, tr, payload, (size_t)n, REC_TRIGGER_FIRE_JOB);
	}
}

void api_triggers_tick(struct api *a, uint64_t now_ns)
{
	struct triggers *t = &a->st->triggers;
	uint32_t n;

	if (t->file_sources)
		file_sources(a, now_ns);
	if (!t->ended_count)
		return;
	n = t->ended_count;
	t->ended_count = 0;	/* fires below may end nothing, but stay safe */
	for (uint32_t i = 0; i < n; i++)
		ended_one(a, &t->ended[i]);
}

void api_triggers_start(struct api *a)
{
	struct triggers *t = &a->st->triggers;

	fired_each(&a->st->fired, origin_seen, t);
	triggers_watch_all(t);
	triggers_scan_missed(t, jr_now_monotonic_ns());
}
