/*
 * triggers.c - the triggers' table, their journal records applied, and
 * their definitions parsed. See triggers.h; the file sources' watching is
 * in triggerwatch.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/units.h"
#include "daemon/state/triggers.h"

void triggers_init(struct triggers *t)
{
	memset(t, 0, sizeof(*t));
	t->inotify_fd = -1;
}

static void trigger_free(struct trigger *tr)
{
	if (!tr)
		return;
	free(tr->def);
	free(tr->job);
	free(tr->path);
	free(tr->pattern);
	free(tr->burst.paths);
	free(tr);
}

void triggers_destroy(struct triggers *t)
{
	for (uint32_t i = 0; i < t->count; i++)
		trigger_free(t->list[i]);
	free(t->list);
	free(t->ended);
	if (t->inotify_fd > 0)	/* 0: a zeroed struct never initialized */
		close(t->inotify_fd);
	triggers_init(t);
}

void triggers_take(struct triggers *dst, struct triggers *src)
{
	triggers_destroy(dst);
	*dst = *src;
	triggers_init(src);
}

struct trigger *triggers_find(const struct triggers *t, const char *name)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (t->list[i] && strcmp(t->list[i]->name, name) == 0)
			return t->list[i];
	return NULL;
}

bool triggers_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TRIGGER_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* --- definitions ------------------------------------------------------------------------ */

static bool fail(char *why, size_t size, const char *fmt, const char *arg)
{
	snprintf(why, size, fmt, arg);
	return false;
}

static bool duration(const cJSON *v, const char *field, uint64_t *ms, char *why, size_t size)
{
	if (cJSON_IsNumber(v) && jr_seconds_to_duration_ms(v->valuedouble, ms) == 0)
		return true;
	if (cJSON_IsString(v) && jr_parse_duration_ms(v->valuestring, ms) == 0)
		return true;
	return fail(why, size, "%s: a duration (\"2s\", \"500ms\" or seconds)", field);
}

static bool file_events(const cJSON *v, uint32_t *mask, char *why, size_t size)
{
	static const char *const names[] = { "create", "modify", "close_write", "moved_to" };
	const cJSON *e;

	*mask = 0;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return fail(why, size, "%s: a non-empty array of create, modify, close_write, "
			    "moved_to", "file.events");
	cJSON_ArrayForEach(e, v) {
		size_t i = 0;
		while (i < 4 && (!cJSON_IsString(e) || strcmp(e->valuestring, names[i]) != 0))
			i++;
		if (i == 4)
			return fail(why, size, "file.events: \"%.40s\" is not create, modify, "
				    "close_write or moved_to",
				    cJSON_IsString(e) ? e->valuestring : "(not a string)");
		*mask |= 1u << i;
	}
	return true;
}

static bool text_field(const cJSON *v, const char *field, size_t max, char **out, char *why,
		       size_t size)
{
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > max)
		return fail(why, size, "%s: a non-empty string (at most a few KiB)", field);
	free(*out);
	*out = strdup(v->valuestring);
	return *out != NULL || fail(why, size, "%s: no memory", field);
}

static bool parse_file(const cJSON *o, struct trigger *tr, char *why, size_t size)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return fail(why, size, "%s: an object {path, events, debounce, pattern}", "file");
	tr->kind = TRIGGER_FILE;
	tr->file_events = TRIGGER_EV_CLOSE_WRITE | TRIGGER_EV_MOVED_TO;
	cJSON_ArrayForEach(v, o) {
		const char *k = v->string;
		if (strcmp(k, "path") == 0) {
			if (!text_field(v, "file.path", 4095, &tr->path, why, size))
				return false;
			if (tr->path[0] != '/')
				return fail(why, size, "file.path \"%.80s\" is not absolute", tr->path);
		} else if (strcmp(k, "events") == 0) {
			if (!file_events(v, &tr->file_events, why, size))
				return false;
		} else if (strcmp(k, "debounce") == 0) {
			if (!duration(v, "file.debounce", &tr->debounce_ms, why, size))
				return false;
		} else if (strcmp(k, "pattern") == 0) {
			if (!text_field(v, "file.pattern", 255, &tr->pattern, why, size))
				return false;
		} else {
			return fail(why, size, "unknown field: file.%.60s", k);
		}
	}
	return tr->path || fail(why, size, "%s: path is required", "file");
}

static bool dep_type(const cJSON *v, uint8_t *out, char *why, size_t size)
{
	if (cJSON_IsString(v) && strcmp(v->valuestring, "afterok") == 0)
		*out = JR_DEP_AFTEROK;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "afternotok") == 0)
		*out = JR_DEP_AFTERNOTOK;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "afterany") == 0)
		*out = JR_DEP_AFTERANY;
	else
		return fail(why, size, "%s: afterok, afternotok or afterany", "on.type");
	return true;
}

static bool job_id_of(const cJSON *v, jr_job_id *id, char *why, size_t size)
{
	char *end;

	if (!cJSON_IsString(v) || !*v->valuestring)
		return fail(why, size, "%s: a job id (a string)", "on.job");
	*id = strtoull(v->valuestring, &end, 16);
	if (*end || *id == 0 || strlen(v->valuestring) > 16)
		return fail(why, size, "on.job: \"%.40s\" is not a job id", v->valuestring);
	return true;
}

static bool parse_on(const cJSON *o, struct trigger *tr, char *why, size_t size)
{
	const cJSON *v;
	bool typed = false;

	if (!cJSON_IsObject(o))
		return fail(why, size, "%s: an object {type, job | queue}", "on");
	tr->kind = TRIGGER_JOB;
	cJSON_ArrayForEach(v, o) {
		const char *k = v->string;
		if (strcmp(k, "type") == 0) {
			if (!dep_type(v, &tr->dep_type, why, size))
				return false;
			typed = true;
		} else if (strcmp(k, "job") == 0) {
			if (!job_id_of(v, &tr->on_job, why, size))
				return false;
		} else if (strcmp(k, "queue") == 0) {
			if (!cJSON_IsString(v) || !*v->valuestring ||
			    strlen(v->valuestring) >= sizeof(tr->on_queue))
				return fail(why, size, "%s: a queue's name", "on.queue");
			snprintf(tr->on_queue, sizeof(tr->on_queue), "%s", v->valuestring);
		} else {
			return fail(why, size, "unknown field: on.%.60s", k);
		}
	}
	if (!typed)
		return fail(why, size, "%s: type is required", "on");
	if ((tr->on_job != 0) == (tr->on_queue[0] != '\0'))
		return fail(why, size, "%s: exactly one of job and queue", "on");
	return true;
}

static bool parse_field(const cJSON *v, struct trigger *tr, char *why, size_t size)
{
	const char *k = v->string;

	if (strcmp(k, "job") == 0) {
		if (!cJSON_IsObject(v))
			return fail(why, size, "%s: a job (a POST /jobs body)", "job");
		free(tr->job);
		tr->job = cJSON_PrintUnformatted(v);
		return tr->job != NULL || fail(why, size, "%s: no memory", "job");
	}
	if (strcmp(k, "file") == 0)
		return parse_file(v, tr, why, size);
	if (strcmp(k, "on") == 0)
		return parse_on(v, tr, why, size);
	if (strcmp(k, "debounce") == 0)
		return duration(v, "debounce", &tr->debounce_ms, why, size);
	if (strcmp(k, "description") == 0)
		return cJSON_IsString(v) || fail(why, size, "%s: a string", "description");
	return fail(why, size, "unknown field: %.60s", k);
}

bool triggers_parse_def(const char *json, size_t len, struct trigger *tr, char *why,
			size_t why_size)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *v;
	bool ok = true;

	tr->kind = TRIGGER_NAMED;
	tr->debounce_ms = TRIGGER_DEBOUNCE_DEFAULT_MS;
	tr->wd = -1;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fail(why, why_size, "%s", "the body must be a JSON object");
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "file") && cJSON_GetObjectItemCaseSensitive(o, "on"))
		ok = fail(why, why_size, "%s", "at most one source: file or on");
	cJSON_ArrayForEach(v, o)
		if (ok && !parse_field(v, tr, why, why_size))
			ok = false;
	/* A file source's own debounce wins over the top-level one. */
	v = cJSON_GetObjectItemCaseSensitive(o, "file");
	if (ok && v && !cJSON_GetObjectItemCaseSensitive(v, "debounce") &&
	    (v = cJSON_GetObjectItemCaseSensitive(o, "debounce")))
		ok = duration(v, "debounce", &tr->debounce_ms, why, why_size);
	cJSON_Delete(o);
	return ok;
}

/* --- records ---------------------------------------------------------------------------- */

static int slot_add(struct triggers *t, struct trigger *tr)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (!t->list[i]) {
			t->list[i] = tr;
			return 0;
		}
	if (t->count == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		struct trigger **n = realloc(t->list, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->list = n;
		t->cap = cap;
	}
	t->list[t->count++] = tr;
	return 0;
}

static void count_sources(struct triggers *t, const struct trigger *tr, int delta)
{
	if (tr->kind == TRIGGER_JOB)
		t->job_sources += (uint32_t)delta;
	else if (tr->kind == TRIGGER_FILE)
		t->file_sources += (uint32_t)delta;
}

static void remove_at(struct triggers *t, uint32_t i)
{
	struct trigger *tr = t->list[i];

	count_sources(t, tr, -1);
	if (tr->burst.first_ns && t->bursts)
		t->bursts--;
	triggers_unwatch(t, tr);
	trigger_free(tr);
	t->list[i] = NULL;
	while (t->count && !t->list[t->count - 1])
		t->count--;
}

int triggers_apply_define(struct triggers *t, const void *p, uint32_t len)
{
	struct rec_trigger rec;
	struct trigger *tr, *old;
	char why[256];
	int rc;

	if (len < sizeof(rec) || len - sizeof(rec) > TRIGGER_DEF_MAX)
		return -EPROTO;
	memcpy(&rec, p, sizeof(rec));
	rec.name[sizeof(rec.name) - 1] = '\0';
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return -ENOMEM;
	memcpy(tr->name, rec.name, sizeof(tr->name));
	tr->uid = rec.uid;
	tr->gid = rec.gid;
	tr->switch_user = (rec.flags & REC_TRIGGER_SWITCH_USER) != 0;
	tr->created_ns = rec.created_ns;
	tr->def = strndup((const char *)p + sizeof(rec), len - sizeof(rec));
	if (!tr->def || !triggers_parse_def(tr->def, strlen(tr->def), tr, why, sizeof(why))) {
		rc = tr->def ? -EPROTO : -ENOMEM;
		trigger_free(tr);
		return rc;
	}
	if ((old = triggers_find(t, tr->name)) != NULL) {
		/* Redefined: its history goes on. */
		tr->fire_count = old->fire_count;
		tr->last_fire_ns = old->last_fire_ns;
		tr->last_job_id = old->last_job_id;
		tr->last_payload_bytes = old->last_payload_bytes;
		tr->last_fire_flags = old->last_fire_flags;
		for (uint32_t i = 0; i < t->count; i++)
			if (t->list[i] == old)
				remove_at(t, i);
	}
	if ((rc = slot_add(t, tr)) < 0) {
		trigger_free(tr);
		return rc;
	}
	count_sources(t, tr, +1);
	return 0;
}

int triggers_apply_delete(struct triggers *t, const void *p, uint32_t len)
{
	struct rec_trigger rec;

	if (len != sizeof(rec))
		return -EPROTO;
	memcpy(&rec, p, sizeof(rec));
	rec.name[sizeof(rec.name) - 1] = '\0';
	for (uint32_t i = 0; i < t->count; i++)
		if (t->list[i] && strcmp(t->list[i]->name, rec.name) == 0)
			remove_at(t, i);
	return 0;
}

int triggers_apply_fire(struct triggers *t, const void *p, uint32_t len)
{
	struct rec_trigger_fire f;
	struct trigger *tr;

	if (len != sizeof(f))
		return -EPROTO;
	memcpy(&f, p, sizeof(f));
	f.name[sizeof(f.name) - 1] = '\0';
	tr = triggers_find(t, f.name);
	if (!tr)
		return 0;	/* deleted since: nothing to keep */
	/* The fire id is the count after it: a record read twice (a
	 * snapshot's and the journal's) counts once. */
	if (f.fire_id > tr->fire_count)
		tr->fire_count = f.fire_id;
	if (f.time_ns >= tr->last_fire_ns) {
		tr->last_fire_ns = f.time_ns;
		tr->last_job_id = f.job_id;
		tr->last_payload_bytes = f.payload_bytes;
		tr->last_fire_flags = f.flags;
	}
	t->fires++;
	return 0;
}

int triggers_apply(struct triggers *t, uint16_t type, const void *p, uint32_t len)
{
	switch (type) {
	case REC_TRIGGER: return triggers_apply_define(t, p, len);
	case REC_TRIGGER_DELETE: return triggers_apply_delete(t, p, len);
	case REC_TRIGGER_FIRE: return triggers_apply_fire(t, p, len);
	}
	return -EPROTO;
}

/* --- job-event sources ------------------------------------------------------------------ */

void triggers_job_ended(void *ctx, const struct jr_job_event *ev)
{
	struct triggers *t = ctx;

	if (t->job_sources == 0 || ev->kind != JR_EVENT_ENDED)
		return;
	if (!t->ended && !(t->ended = malloc(TRIGGER_ENDED_MAX * sizeof(*t->ended))))
		return;
	if (t->ended_count == TRIGGER_ENDED_MAX) {
		t->ended_dropped++;
		return;
	}
	t->ended[t->ended_count++] = (struct trigger_ended){
		.id = ev->job_id, .state = (uint8_t)ev->state, .reason = (uint8_t)ev->reason,
		.exit_code = ev->exit_code,
	};
}

bool triggers_job_matches(const struct trigger *tr, const struct trigger_ended *e,
			  const char *queue_name)
{
	bool ok = e->state == JR_JOB_SUCCEEDED;

	if (tr->kind != TRIGGER_JOB)
		return false;
	if (tr->on_job ? tr->on_job != e->id : (!queue_name || strcmp(tr->on_queue, queue_name)))
		return false;
	switch (tr->dep_type) {
	case JR_DEP_AFTEROK: return ok;
	case JR_DEP_AFTERNOTOK: return !ok;
	default: return true;
	}
}
