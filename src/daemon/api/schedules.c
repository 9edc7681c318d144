/*
 * schedules.c - the schedules' routes, the firing pass and the fire of
 * trigger-bound schedules (issue 15). See schedules.h and
 * state/schedules.h; docs/DECISIONS.md, "Schedules: firing, overlap,
 * catch-up, exactly once (issue 15)".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/api/fire.h"
#include "daemon/api/handlers.h"
#include "daemon/api/notify.h"
#include "daemon/api/schedules.h"
#include "daemon/net/reply.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/schedules.h"
#include "daemon/state/view.h"

#define FIRES_PER_TURN 4096u
#define LIST_LIMIT_DEFAULT 100u

/* What the API keeps beside the schedules: the timer, lateness. */
struct sched_api {
	int timer_fd;
	uint64_t armed;			/* the timer's instant; 0: disarmed */
	uint64_t fires, late_max_ns;
};

static struct sched_api *sched_api(struct api *a)
{
	if (!a->sched) {
		a->sched = calloc(1, sizeof(*a->sched));
		if (a->sched)
			a->sched->timer_fd = -1;
	}
	return a->sched;
}

static struct schedules *set_of(struct api *a)
{
	if (!a->st->schedules)
		a->st->schedules = schedules_new();
	return a->st->schedules;
}

int api_schedules_timer_fd(struct api *a)
{
	struct sched_api *s = sched_api(a);

	if (s && s->timer_fd < 0)
		s->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	return s ? s->timer_fd : -1;
}

void api_schedules_destroy(struct api *a)
{
	if (!a->sched)
		return;
	if (a->sched->timer_fd >= 0)
		close(a->sched->timer_fd);
	free(a->sched);
	a->sched = NULL;
}

/* --- journal ---------------------------------------------------------------------------- */

static uint64_t log_schedule(struct api *a, const struct schedule *sc, uint32_t op, uid_t by)
{
	struct rec_schedule h = {
		.id = sc->id, .uid = sc->uid, .gid = sc->gid, .op = op, .by_uid = by,
		.next_id = a->st->schedules->next_id, .created_ns = sc->created_ns,
		.last_due_ns = sc->last_due, .def_len = (uint32_t)strlen(sc->json),
	};

	return durable_log(a->durable, REC_SCHEDULE, &h, sizeof(h), sc->json, h.def_len);
}

void api_schedule_record(const struct request *req, struct route_record *out)
{
	out->bytes = sizeof(struct rec_schedule) + req->body_len + 64 * 1024;
	out->jobs = 0;
}

/* --- checks ---------------------------------------------------------------------------- */

/* The definition (a tree) checked: its own fields, then its job as POST
 * /jobs would check it, submitted by the caller. false: answered. */
static bool checked(struct api *a, const struct api_call *c, const cJSON *o,
		    struct schedule_def *d)
{
	char why[256];
	struct cwd_cache cwd;
	struct jobspec_submitter who = { c->req->uid, c->req->gid,
					 a->daemon_uid == 0 && c->req->uid != 0, true, false, &cwd };
	struct jobspec_error err;
	struct jobspec js;
	cJSON *job;
	bool ok;

	if (!schedule_def_parse(o, d, why, sizeof(why))) {
		schedule_def_free(d);
		return reply_error(c->res, 422, strncmp(why, "unknown field", 13) == 0 ?
				   "unknown_field" : "invalid_value", "%s", why);
	}
	job = cJSON_ParseWithLength(d->job, d->job_len);
	cwd_cache_init(&cwd, who.uid, who.gid, who.switch_user);
	jobspec_init(&js);
	ok = job && jobspec_parse(a->engine, job, &who, &js, &err);
	if (ok && js.array)
		ok = json_fail(&err, 422, "invalid_value", "job: a schedule's job cannot be an array");
	jobspec_free(&js);
	cJSON_Delete(job);
	cwd_cache_free(&cwd);
	if (!ok) {
		schedule_def_free(d);
		return reply_error(c->res, err.status, err.code, "job: %s", err.message);
	}
	return true;
}

/* The schedule the path names ({id}, or a name of the caller's), if the
 * caller may see it: its owner, or root. false: answered 404. */
static struct schedule *named(struct api *a, const struct api_call *c)
{
	struct schedules *s = a->st->schedules;
	const char *p = c->param;
	struct schedule *sc = NULL;
	char *end;

	if (s && *p >= '0' && *p <= '9') {
		unsigned long id = strtoul(p, &end, 10);
		sc = *end == '\0' && id <= UINT32_MAX ? schedules_get(s, (uint32_t)id) : NULL;
	} else if (s) {
		sc = schedules_named(s, c->req->uid, p);
	}
	if (sc && (c->req->uid == 0 || sc->uid == c->req->uid))
		return sc;
	reply_error(c->res, 404, "not_found", "no such schedule: %s", p);
	return NULL;
}

static void refused(struct response *res, int err, const char *name)
{
	if (err == -EEXIST)
		reply_error(res, 409, "already_exists", "you have a schedule named %s", name);
	else if (err == -ENOSPC)
		reply_error(res, 507, "too_many_schedules", "at most %u schedules", SCHEDULES_MAX);
	else
		reply_error(res, 503, "out_of_memory", "no memory for the schedule");
}

static void answer(struct api *a, struct api_call *c, const struct schedule *sc, int status)
{
	(void)a;
	reply_json(c->res, status, schedule_json(sc, 5, jr_now_realtime_ns()));
}

/* --- routes --------------------------------------------------------------------------- */

void api_schedule_create(struct api *a, struct api_call *c)
{
	struct jobspec_error err;
	cJSON *o;
	struct schedule_def d;
	struct schedules *s = set_of(a);
	struct schedule *sc;
	uint64_t now = jr_now_realtime_ns();
	char *json;
	int rc;

	if (c->req->body_len > SCHEDULE_BODY_MAX) {
		reply_error(c->res, 413, "too_large", "a schedule is at most %u bytes",
			    SCHEDULE_BODY_MAX);
		return;
	}
	if (!s || !sched_api(a)) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the schedule");
		return;
	}
	o = json_parse_strict(c->req->body, c->req->body_len, &err);
	if (!o) {
		reply_error(c->res, err.status, err.code, "%s", err.message);
		return;
	}
	api_notify_schedule_body(o);	/* issue 16: a schedule's notify is its job's */
	if (!checked(a, c, o, &d)) {
		cJSON_Delete(o);
		return;
	}
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	sc = json ? schedules_add(s, 0, c->req->uid, c->req->gid, &d, json, now, now, &rc) : NULL;
	free(json);
	if (!sc) {
		refused(c->res, json ? rc : -ENOMEM, d.name);
		schedule_def_free(&d);
		return;
	}
	c->record_seq = log_schedule(a, sc, REC_SCHEDULE_CREATE, c->req->uid);
	events_schedule(a->st->events, sc->def.name, (uint32_t)sc->uid, "created", 0);	/* issue 16 */
	answer(a, c, sc, 201);
}

static uint32_t query_number(const struct api_call *c, const char *key, uint32_t dflt,
			     uint32_t max, bool *ok)
{
	const char *v = query_get(c->query, key);
	char *end;
	unsigned long n;

	*ok = true;
	if (!v)
		return dflt;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || n > max) {
		*ok = reply_error(c->res, 400, "invalid_query", "%s: a number from 0 to %u", key,
				  max);
		return 0;
	}
	return (uint32_t)n;
}

void api_schedule_list(struct api *a, struct api_call *c)
{
	struct schedules *s = a->st->schedules;
	bool ok1, ok2;
	uint32_t limit = query_number(c, "limit", LIST_LIMIT_DEFAULT, API_LIST_LIMIT_MAX, &ok1);
	uint32_t id = ok1 ? query_number(c, "cursor", 1, UINT32_MAX - 1, &ok2) : 0;
	uint64_t now = jr_now_realtime_ns();
	cJSON *body, *list;
	uint32_t n = 0;
	char next[16];

	if (!ok1 || !ok2)
		return;
	body = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(body, "schedules");
	for (id = id ? id : 1; s && id < s->id_cap && n < limit; id++) {
		const struct schedule *sc = s->by_id[id];
		if (!sc || (c->req->uid != 0 && sc->uid != c->req->uid))
			continue;
		cJSON_AddItemToArray(list, schedule_json(sc, 0, now));
		n++;
	}
	if (s && n == limit && id < s->next_id) {
		snprintf(next, sizeof(next), "%u", id);
		cJSON_AddStringToObject(body, "next_cursor", next);
	} else {
		cJSON_AddNullToObject(body, "next_cursor");
	}
	reply_json(c->res, 200, body);
}

void api_schedule_show(struct api *a, struct api_call *c)
{
	struct schedule *sc = named(a, c);
	bool ok;
	uint32_t next = query_number(c, "next", 5, SCHEDULE_NEXT_MAX, &ok);

	if (sc && ok)
		reply_json(c->res, 200, schedule_json(sc, next, jr_now_realtime_ns()));
}

/* o with patch's keys over it (null: the key goes). */
static void merge(cJSON *o, const cJSON *patch)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, patch) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, v->string);
		if (!cJSON_IsNull(v))
			cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, true));
	}
}

/* The schedule's definition changed to o: checked, replaced, journaled. */
static void change(struct api *a, struct api_call *c, struct schedule *sc, cJSON *o, uint32_t op)
{
	struct schedule_def d;
	char *json;
	int rc;

	if (!checked(a, c, o, &d))
		return;
	json = cJSON_PrintUnformatted(o);
	/* A changed definition is due from now on: what the old one had
	 * not yet made due is not missed. A resumed one catches up. */
	uint64_t now = jr_now_realtime_ns();
	if (op == REC_SCHEDULE_UPDATE && json && sc->last_due < now)
		sc->last_due = now;
	rc = json ? schedules_replace(a->st->schedules, sc, &d, json, now) : -ENOMEM;
	free(json);
	if (rc < 0) {
		refused(c->res, rc, d.name);
		schedule_def_free(&d);
		return;
	}
	c->record_seq = log_schedule(a, sc, op, c->req->uid);
	events_schedule(a->st->events, sc->def.name, (uint32_t)sc->uid,	/* issue 16 */
			op == REC_SCHEDULE_PAUSE ? "paused" :
			op == REC_SCHEDULE_RESUME ? "resumed" : "updated", 0);
	answer(a, c, sc, 200);
}

void api_schedule_update(struct api *a, struct api_call *c)
{
	struct schedule *sc = named(a, c);
	struct jobspec_error err;
	cJSON *patch, *o;

	if (!sc)
		return;
	if (c->req->body_len > SCHEDULE_BODY_MAX) {
		reply_error(c->res, 413, "too_large", "a schedule is at most %u bytes",
			    SCHEDULE_BODY_MAX);
		return;
	}
	patch = json_parse_strict(c->req->body, c->req->body_len, &err);
	if (!patch || !cJSON_IsObject(patch)) {
		reply_error(c->res, patch ? 400 : err.status, patch ? "invalid_json" : err.code,
			    "%s", patch ? "a JSON object" : err.message);
		cJSON_Delete(patch);
		return;
	}
	o = cJSON_Parse(sc->json);
	if (o) {
		merge(o, patch);
		api_notify_schedule_body(o);	/* issue 16 */
		change(a, c, sc, o, REC_SCHEDULE_UPDATE);
	} else {
		reply_error(c->res, 503, "out_of_memory", "no memory for the schedule");
	}
	cJSON_Delete(o);
	cJSON_Delete(patch);
}

static void set_paused(struct api *a, struct api_call *c, bool paused)
{
	struct schedule *sc = named(a, c);
	cJSON *o;

	if (!sc)
		return;
	o = cJSON_Parse(sc->json);
	if (!o) {
		reply_error(c->res, 503, "out_of_memory", "no memory for the schedule");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "paused");
	if (paused)
		cJSON_AddTrueToObject(o, "paused");
	change(a, c, sc, o, paused ? REC_SCHEDULE_PAUSE : REC_SCHEDULE_RESUME);
	cJSON_Delete(o);
}

void api_schedule_pause(struct api *a, struct api_call *c)
{
	set_paused(a, c, true);
}

void api_schedule_resume(struct api *a, struct api_call *c)
{
	set_paused(a, c, false);
}

void api_schedule_delete(struct api *a, struct api_call *c)
{
	struct schedule *sc = named(a, c);
	struct rec_schedule_delete rec;

	if (!sc)
		return;
	rec = (struct rec_schedule_delete){ .id = sc->id, .by_uid = c->req->uid };
	c->record_seq = durable_log(a->durable, REC_SCHEDULE_DELETE, &rec, sizeof(rec), NULL, 0);
	c->res->status = 200;
	buf_printf(&c->res->body, "{\"deleted\":%u}", sc->id);
	events_schedule(a->st->events, sc->def.name, (uint32_t)sc->uid, "deleted", 0);	/* issue 16 */
	schedules_remove(a->st->schedules, sc);
}

/* --- firing ----------------------------------------------------------------------------- */

static int job_state(struct api *a, jr_job_id id)
{
	struct jr_job_info info;

	return id && jr_job_get(a->engine, id, &info) == 0 ? (int)info.state : -1;
}

static void env_put(cJSON *job, const char *k, const char *v)
{
	cJSON *env = cJSON_GetObjectItemCaseSensitive(job, "env");

	if (!cJSON_IsObject(env)) {
		cJSON_DeleteItemFromObjectCaseSensitive(job, "env");
		env = cJSON_AddObjectToObject(job, "env");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(env, k);
	cJSON_AddStringToObject(env, k, v);
}

/* The job after id whatever its end (queue_one waits behind it). */
static void add_after(cJSON *job, jr_job_id id)
{
	cJSON *deps = cJSON_GetObjectItemCaseSensitive(job, "after"), *d;
	char ids[17];

	if (!deps)
		deps = cJSON_GetObjectItemCaseSensitive(job, "dependencies");
	if (!cJSON_IsArray(deps))
		deps = cJSON_AddArrayToObject(job, "after");
	view_format_id(id, ids);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "job_id", ids);
	cJSON_AddStringToObject(d, "type", "afterany");
	cJSON_AddItemToArray(deps, d);
}

/* A running or waiting job cancelled for its successor, journaled as
 * POST /jobs/{id}/cancel would (by the schedule's owner). */
static void cancel_for(struct api *a, const struct schedule *sc, jr_job_id id)
{
	struct rec_cancel rec = { .job_id = id, .uid = sc->uid };
	struct jr_job_info info;
	uint64_t seq;

	if (jr_job_get(a->engine, id, &info) < 0 || job_state_final(info.state))
		return;
	seq = durable_log(a->durable, REC_CANCEL, &rec, sizeof(rec), NULL, 0);
	if (info.state == JR_JOB_RUNNING && seq && durable_cancel_after(a->durable, seq, id))
		return;
	jr_job_cancel(a->engine, id);
}

static void fire_failed(struct schedule *sc, const struct jobspec_error *err)
{
	sc->errors++;
	snprintf(sc->last_error, sizeof(sc->last_error), "%.30s: %.255s", err->code, err->message);
}

/* Fire sc's job for due, through its overlap policy: the record's seq,
 * or 0 (skipped, or failed: counted). */
static uint64_t fire(struct api *a, struct schedule *sc, uint64_t due, const char *trigger,
		     const char *payload, size_t payload_len)
{
	enum sched_action act = schedules_overlap(sc->def.overlap, job_state(a, sc->last_job),
						  job_state(a, sc->prev_job));
	/* A trigger's fire is no due instant: it must not advance the
	 * schedule's last due when replayed. */
	struct fire_origin o = { trigger ? REC_ORIGIN_TRIGGER : REC_ORIGIN_SCHEDULE, sc->id, due,
				 trigger ? trigger : sc->def.name };
	struct jobspec_error err;
	cJSON *job;
	char *body, t[48];
	jr_job_id id;
	uint64_t seq = 0, now;

	if (act == SCHED_SKIP_FIRE) {
		sc->skipped++;
		return 0;
	}
	if (act == SCHED_CANCEL_AND_FIRE) {
		cancel_for(a, sc, sc->prev_job);
		cancel_for(a, sc, sc->last_job);
	}
	job = cJSON_ParseWithLength(sc->def.job, sc->def.job_len);
	if (!job) {
		json_fail(&err, 503, "out_of_memory", "no memory for the fire");
		fire_failed(sc, &err);
		return 0;
	}
	snprintf(t, sizeof(t), "%u", sc->id);
	env_put(job, "JOBRING_SCHEDULE_ID", t);
	env_put(job, "JOBRING_SCHEDULE", sc->def.name);
	jr_format_rfc3339(due, t, sizeof(t));
	env_put(job, "JOBRING_DUE", t);
	if (trigger) {
		env_put(job, "JOBRING_TRIGGER", trigger);
		char *p = strndup(payload ? payload : "", payload ? payload_len : 0);
		env_put(job, "JOBRING_TRIGGER_PAYLOAD", p ? p : "");
		free(p);
	}
	if (act == SCHED_FIRE_AFTER)
		add_after(job, sc->last_job);
	body = cJSON_PrintUnformatted(job);
	cJSON_Delete(job);
	if (!body) {
		json_fail(&err, 503, "out_of_memory", "no memory for the fire");
		fire_failed(sc, &err);
		return 0;
	}
	if (api_fire_job(a, sc->uid, sc->gid, body, strlen(body), &o, &id, &seq, &err) < 0) {
		fire_failed(sc, &err);
		seq = 0;
	} else {
		sc->prev_job = sc->last_job;
		sc->last_job = id;
		sc->fired++;
		events_schedule(a->st->events, sc->def.name, (uint32_t)sc->uid, "fired", id);	/* issue 16 */
		now = jr_now_realtime_ns();
		sc->last_fire_ns = now;
		if (now > due + sc->jitter_off && now - due - sc->jitter_off > sc->lateness_max_ns)
			sc->lateness_max_ns = now - due - sc->jitter_off;
		a->sched->fires++;
	}
	free(body);
	return seq;
}

static void arm(struct api *a, uint64_t when)
{
	struct sched_api *s = a->sched;
	struct itimerspec its = { 0 };

	if (!s || s->timer_fd < 0 || s->armed == when)
		return;
	s->armed = when;
	its.it_value.tv_sec = (time_t)(when / 1000000000ull);
	its.it_value.tv_nsec = (long)(when % 1000000000ull);
	if (!when)
		its.it_value.tv_nsec = 0;	/* disarmed */
	timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void api_schedules_tick(struct api *a, uint64_t now_ns)
{
	struct schedules *s = a->st->schedules;
	struct sched_fire f;
	uint32_t n = 0;
	uint64_t v;

	(void)now_ns;	/* monotonic: schedules are due on the wall clock */
	if (!s || !sched_api(a))
		return;
	if (a->sched->timer_fd >= 0 && read(a->sched->timer_fd, &v, sizeof(v)) > 0)
		a->sched->armed = 0;
	uint64_t now = jr_now_realtime_ns();
	while (n < FIRES_PER_TURN && schedules_due(s, now, &f)) {
		if (f.fire)
			fire(a, f.sc, f.due, NULL, NULL, 0);
		n++;
	}
	if (n == FIRES_PER_TURN && a->server)
		server_again(a->server);
	arm(a, schedules_next_key(s));
}

int schedules_fire_bound(struct api *a, const char *trigger_name, uid_t owner, const char *payload,
			 size_t payload_len, uint64_t now_ns, uint64_t *last_seq)
{
	struct schedules *s = a->st->schedules;
	int n = 0;

	if (last_seq)
		*last_seq = 0;
	if (!sched_api(a))
		return -ENOMEM;
	for (uint32_t id = 1; s && id < s->id_cap; id++) {
		struct schedule *sc = s->by_id[id];
		uint64_t seq;
		if (!sc || sc->def.paused || sc->uid != owner ||
		    strcmp(sc->def.trigger, trigger_name) != 0)
			continue;
		seq = fire(a, sc, now_ns, trigger_name, payload, payload_len);
		if (seq) {
			n++;
			if (last_seq)
				*last_seq = seq;
		}
	}
	return n;
}
