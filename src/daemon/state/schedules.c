/*
 * schedules.c - schedules kept, ordered and made due. See schedules.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "cron/cron.h"
#include "daemon/state/schedules.h"

#define NS_PER_S 1000000000ull
#define NO_POS UINT32_MAX
/* A pass counts at most this many missed cron instants one by one
 * (more: the count says "at least"). */
#define COUNT_MAX 100000u

/* --- definitions ------------------------------------------------------------------------ */

static bool fail(char *why, size_t size, const char *fmt, const char *arg)
{
	snprintf(why, size, fmt, arg);
	return false;
}

static bool duration_ns(const cJSON *v, uint64_t *ns, char *why, size_t size)
{
	uint64_t ms;

	if (cJSON_IsNumber(v)) {
		if (jr_seconds_to_duration_ms(v->valuedouble, &ms) < 0)
			return fail(why, size, "%s: a duration is 0 to 1e9 seconds", v->string);
	} else if (!cJSON_IsString(v) || jr_parse_duration_ms(v->valuestring, &ms) < 0) {
		return fail(why, size, "%s: not a duration (\"90s\", \"15m\", \"2h\", \"1d\")",
			    v->string);
	}
	*ns = ms * 1000000ull;
	return true;
}

static bool time_ns(const cJSON *v, uint64_t *ns, char *why, size_t size)
{
	if (cJSON_IsNumber(v) ? jr_seconds_to_time_ns(v->valuedouble, ns) < 0
			      : !cJSON_IsString(v) || jr_parse_rfc3339_ns(v->valuestring, ns) < 0)
		return fail(why, size, "%s: not an RFC 3339 time (or seconds since the epoch)",
			    v->string);
	return true;
}

static bool text(const cJSON *v, char *out, size_t cap, bool empty_ok, char *why, size_t size)
{
	if (!cJSON_IsString(v))
		return fail(why, size, "%s: not a string", v->string);
	if (strlen(v->valuestring) >= cap || (!empty_ok && !v->valuestring[0]))
		return fail(why, size, "%s: empty or too long", v->string);
	snprintf(out, cap, "%s", v->valuestring);
	return true;
}

static bool overlap_of(const cJSON *v, enum sched_overlap *o, char *why, size_t size)
{
	static const char *const names[] = { "skip", "queue_one", "cancel_running", "allow" };

	for (int i = 0; cJSON_IsString(v) && i < 4; i++)
		if (strcmp(v->valuestring, names[i]) == 0) {
			*o = (enum sched_overlap)i;
			return true;
		}
	return fail(why, size, "%s: one of skip, queue_one, cancel_running, allow", v->string);
}

const char *schedule_overlap_name(enum sched_overlap o)
{
	static const char *const names[] = { "skip", "queue_one", "cancel_running", "allow" };

	return (unsigned)o < 4 ? names[o] : "skip";
}

/* dst_gap: "next_valid" (default) or "skip"; dst_overlap: "first"
 * (default) or "both" (cron.h). */
static bool dst_of(const cJSON *v, const char *a, const char *b, int *out, char *why,
		   size_t size)
{
	if (cJSON_IsString(v) && strcmp(v->valuestring, a) == 0)
		*out = 0;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, b) == 0)
		*out = 1;
	else
		return snprintf(why, size, "%s: \"%s\" or \"%s\"", v->string, a, b), false;
	return true;
}

static bool name_ok(const char *n)
{
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '-' || *n == '_' || *n == '.'))
			return false;
	return true;
}

static bool field(const cJSON *v, struct schedule_def *d, char *why, size_t size)
{
	const char *k = v->string;

	if (strcmp(k, "name") == 0) {
		if (!text(v, d->name, sizeof(d->name), false, why, size))
			return false;
		return name_ok(d->name) ||
		       fail(why, size, "%s: letters, digits, '-', '_' and '.' only", k);
	}
	if (strcmp(k, "every") == 0) {
		d->kind = d->kind ? d->kind : SCHED_EVERY;
		if (!duration_ns(v, &d->every_ns, why, size))
			return false;
		return d->every_ns >= NS_PER_S ||
		       fail(why, size, "%s: at least 1 second", k);
	}
	if (strcmp(k, "cron") == 0) {
		d->kind = d->kind ? d->kind : SCHED_CRON;
		return text(v, d->cron, sizeof(d->cron), false, why, size);
	}
	if (strcmp(k, "timezone") == 0)
		return text(v, d->timezone, sizeof(d->timezone), false, why, size);
	if (strcmp(k, "overlap") == 0)
		return overlap_of(v, &d->overlap, why, size);
	if (strcmp(k, "catch_up") == 0) {
		d->catch_up_set = true;
		return duration_ns(v, &d->catch_up_ns, why, size);
	}
	if (strcmp(k, "jitter") == 0)
		return duration_ns(v, &d->jitter_ns, why, size);
	if (strcmp(k, "start") == 0)
		return time_ns(v, &d->start_ns, why, size);
	if (strcmp(k, "end") == 0)
		return time_ns(v, &d->end_ns, why, size);
	if (strcmp(k, "paused") == 0) {
		d->paused = cJSON_IsTrue(v);
		return cJSON_IsBool(v) || fail(why, size, "%s: true or false", k);
	}
	if (strcmp(k, "dst_gap") == 0)
		return dst_of(v, "next_valid", "skip", &d->dst_gap, why, size);
	if (strcmp(k, "dst_overlap") == 0)
		return dst_of(v, "first", "both", &d->dst_overlap, why, size);
	if (strcmp(k, "trigger") == 0) {
		if (!text(v, d->trigger, sizeof(d->trigger), false, why, size))
			return false;
		return name_ok(d->trigger) ||
		       fail(why, size, "%s: letters, digits, '-', '_' and '.' only", k);
	}
	if (strcmp(k, "job") == 0) {
		if (!cJSON_IsObject(v))
			return fail(why, size, "%s: a POST /jobs body (an object)", k);
		d->job = cJSON_PrintUnformatted(v);
		d->job_len = d->job ? strlen(d->job) : 0;
		return d->job || fail(why, size, "%s: no memory", k);
	}
	return fail(why, size, "unknown field: %s", k);
}

static bool cron_open(struct schedule_def *d, char *why, size_t size)
{
	struct jr_cron_spec *spec;
	struct jr_cron_zone *z = NULL;
	char err[160];
	int rc;

	spec = calloc(1, sizeof(*spec));
	if (!spec)
		return fail(why, size, "%s", "no memory");
	d->cron_expr = spec;
	if (jr_cron_parse(d->cron, spec, err, sizeof(err)) < 0)
		return fail(why, size, "cron: %s", err);
	if (spec->kind == JR_CRON_KIND_EVERY) {	/* "@every 15m" */
		d->kind = SCHED_EVERY;
		d->every_ns = (uint64_t)spec->every_s * NS_PER_S;
		return true;
	}
	if (spec->zone[0] && strcmp(d->timezone, "UTC") != 0 && strcmp(spec->zone, d->timezone))
		return fail(why, size, "cron: its TZ= prefix names another zone than \"%s\"",
			    d->timezone);
	if (spec->zone[0])
		snprintf(d->timezone, sizeof(d->timezone), "%s", spec->zone);
	rc = jr_cron_zone_open(d->timezone, &z, err, sizeof(err));
	if (rc < 0)
		return fail(why, size, "timezone: %s", err);
	d->zone = z;
	return true;
}

bool schedule_def_parse(const cJSON *o, struct schedule_def *d, char *why, size_t size)
{
	const cJSON *v;

	memset(d, 0, sizeof(*d));
	snprintf(d->timezone, sizeof(d->timezone), "UTC");
	if (!cJSON_IsObject(o))
		return fail(why, size, "%s", "a schedule is a JSON object");
	cJSON_ArrayForEach(v, o)
		if (!field(v, d, why, size))
			return false;
	if (!d->name[0])
		return fail(why, size, "%s", "name: required");
	if (!d->job)
		return fail(why, size, "%s", "job: required (a POST /jobs body)");
	if (d->cron[0] && d->every_ns)
		return fail(why, size, "%s", "cron and every: one or the other");
	if (!d->kind && !d->trigger[0])
		return fail(why, size, "%s", "one of cron and every is required (or a trigger)");
	if (d->end_ns && d->start_ns && d->end_ns < d->start_ns)
		return fail(why, size, "%s", "end: before start");
	if (d->kind == SCHED_CRON)
		return cron_open(d, why, size);
	if (strcmp(d->timezone, "UTC") != 0) {
		/* An interval ignores the zone; a bad name is still refused. */
		struct jr_cron_zone *z = NULL;
		char err[160];
		if (jr_cron_zone_open(d->timezone, &z, err, sizeof(err)) < 0)
			return fail(why, size, "timezone: %s", err);
		jr_cron_zone_close(z);
	}
	return true;
}

void schedule_def_free(struct schedule_def *d)
{
	jr_cron_zone_close(d->zone);
	free(d->cron_expr);
	free(d->job);
	memset(d, 0, sizeof(*d));
}

/* --- due instants --------------------------------------------------------------------- */

static uint64_t raw_next(const struct schedule *sc, uint64_t t)
{
	const struct schedule_def *d = &sc->def;

	if (!d->kind)	/* fired by its trigger only */
		return 0;
	if (d->kind == SCHED_EVERY) {
		uint64_t anchor = d->start_ns, k;
		if (t < anchor)
			return anchor;
		k = (t - anchor) / d->every_ns + 1;
		return anchor + k * d->every_ns;
	}
	int64_t s = jr_cron_next(d->cron_expr, d->zone, (int64_t)(t / NS_PER_S),
				 (enum jr_cron_dst_gap)d->dst_gap,
				 (enum jr_cron_dst_overlap)d->dst_overlap);
	return s > 0 ? (uint64_t)s * NS_PER_S : 0;
}

uint64_t schedule_next_after(const struct schedule *sc, uint64_t t)
{
	uint64_t n;

	if (sc->def.start_ns && t < sc->def.start_ns && sc->def.kind == SCHED_CRON)
		t = sc->def.start_ns - 1;
	n = raw_next(sc, t);
	if (n && sc->def.end_ns && n > sc->def.end_ns)
		return 0;
	return n;
}

/* The default catch-up window: one interval (for cron, the gap from
 * the instant to the next). */
static uint64_t catch_up_of(const struct schedule *sc, uint64_t due)
{
	uint64_t n;

	if (sc->def.catch_up_set)
		return sc->def.catch_up_ns;
	if (sc->def.kind == SCHED_EVERY)
		return sc->def.every_ns;
	n = raw_next(sc, due);
	return n > due ? n - due : 0;
}

/* --- the heap --------------------------------------------------------------------------- */

static uint64_t key(const struct schedules *s, uint32_t id)
{
	const struct schedule *sc = s->by_id[id];

	return sc->next_due + sc->jitter_off;
}

static void heap_set(struct schedules *s, uint32_t pos, uint32_t id)
{
	s->heap[pos] = id;
	s->by_id[id]->heap_pos = pos;
}

static void sift_up(struct schedules *s, uint32_t pos)
{
	uint32_t id = s->heap[pos];
	uint64_t k = key(s, id);

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (key(s, s->heap[parent]) <= k)
			break;
		heap_set(s, pos, s->heap[parent]);
		pos = parent;
	}
	heap_set(s, pos, id);
}

static void sift_down(struct schedules *s, uint32_t pos)
{
	uint32_t id = s->heap[pos];
	uint64_t k = key(s, id);

	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= s->heap_len)
			break;
		if (c + 1 < s->heap_len && key(s, s->heap[c + 1]) < key(s, s->heap[c]))
			c++;
		if (key(s, s->heap[c]) >= k)
			break;
		heap_set(s, pos, s->heap[c]);
		pos = c;
	}
	heap_set(s, pos, id);
}

static void heap_remove(struct schedules *s, struct schedule *sc)
{
	uint32_t pos = sc->heap_pos;

	if (pos == NO_POS)
		return;
	sc->heap_pos = NO_POS;
	if (pos == --s->heap_len)
		return;
	heap_set(s, pos, s->heap[s->heap_len]);
	sift_down(s, pos);
	sift_up(s, s->by_id[s->heap[pos]]->heap_pos);
}

/* In the heap at its next due, or out of it (paused, ended). */
static void heap_update(struct schedules *s, struct schedule *sc)
{
	bool in = sc->next_due && !sc->def.paused;

	if (!in) {
		heap_remove(s, sc);
		return;
	}
	if (sc->heap_pos == NO_POS) {
		heap_set(s, s->heap_len++, sc->id);
		sift_up(s, sc->heap_pos);
		return;
	}
	sift_down(s, sc->heap_pos);
	sift_up(s, sc->heap_pos);
}

void schedules_rearm(struct schedules *s, struct schedule *sc)
{
	sc->next_due = schedule_next_after(sc, sc->last_due);
	heap_update(s, sc);
}

uint64_t schedules_next_key(const struct schedules *s)
{
	return s && s->heap_len ? key(s, s->heap[0]) : 0;
}

/* Instants due before this are missed, not late: the catch-up window
 * (at least CATCH_UP_GRACE, so that a pass that comes late is no miss)
 * back from now (less the schedule's jitter: its submissions come that
 * much after its instants). */
#define CATCH_UP_GRACE NS_PER_S

static uint64_t window_start(const struct schedule *sc, uint64_t now, uint64_t last)
{
	uint64_t w = catch_up_of(sc, last), ref = now - sc->jitter_off;

	w = w > CATCH_UP_GRACE ? w : CATCH_UP_GRACE;
	return ref > w ? ref - w : 0;
}

/* Dues in [sc->next_due, now]: the latest (*last), how many in all, and
 * how many of them are older than the catch-up window. */
static void missed(const struct schedule *sc, uint64_t now, uint64_t *last, uint64_t *all,
		   uint64_t *old)
{
	const struct schedule_def *d = &sc->def;
	uint64_t first = sc->next_due, t, n = 0, dropped = 0, from;

	if (d->kind == SCHED_EVERY) {
		n = (now - first) / d->every_ns + 1;
		*last = first + (n - 1) * d->every_ns;
		if (d->end_ns && *last > d->end_ns) {	/* the end cuts them */
			n = (d->end_ns - first) / d->every_ns + 1;
			*last = first + (n - 1) * d->every_ns;
		}
		from = window_start(sc, now, *last);
		*old = from > first ? (from - first - 1) / d->every_ns + 1 : 0;
		if (*old > n)
			*old = n;
		*all = n;
		return;
	}
	*last = first;
	for (t = first; t && t <= now && n < COUNT_MAX; t = schedule_next_after(sc, t)) {
		*last = t;
		n++;
	}
	if (t && t <= now) {	/* too many to count: jump to the last ones */
		for (t = schedule_next_after(sc, now - catch_up_of(sc, now)); t && t <= now;
		     t = schedule_next_after(sc, t))
			*last = t;
	}
	from = window_start(sc, now, *last);
	for (t = first; t && t < from && dropped < COUNT_MAX; t = schedule_next_after(sc, t))
		dropped++;
	*all = n;
	*old = dropped < n ? dropped : n;
}

bool schedules_due(struct schedules *s, uint64_t now, struct sched_fire *f)
{
	struct schedule *sc;
	uint64_t last, all, old;

	if (!s || !s->heap_len || key(s, s->heap[0]) > now)
		return false;
	sc = s->by_id[s->heap[0]];
	missed(sc, now, &last, &all, &old);
	f->sc = sc;
	f->due = last;
	f->fire = old < all;
	f->dropped = old;
	f->coalesced = f->fire ? all - old - 1 : 0;
	sc->missed += old;
	sc->coalesced += f->coalesced;
	sc->last_due = last;
	sc->next_due = schedule_next_after(sc, last);
	heap_update(s, sc);
	return true;
}

enum sched_action schedules_overlap(enum sched_overlap policy, int last_state, int prev_state)
{
	bool last_live = last_state >= JR_JOB_PENDING && last_state <= JR_JOB_RUNNING;
	bool prev_live = prev_state >= JR_JOB_PENDING && prev_state <= JR_JOB_RUNNING;

	switch (policy) {
	case SCHED_ALLOW:
		return SCHED_FIRE;
	case SCHED_CANCEL_RUNNING:
		return last_live ? SCHED_CANCEL_AND_FIRE : SCHED_FIRE;
	case SCHED_QUEUE_ONE:
		if (prev_live && last_live)	/* one runs, one waits */
			return SCHED_SKIP_FIRE;
		return last_live ? SCHED_FIRE_AFTER : SCHED_FIRE;
	case SCHED_SKIP:
	default:
		return last_live ? SCHED_SKIP_FIRE : SCHED_FIRE;
	}
}

/* --- the set -------------------------------------------------------------------------- */

struct schedules *schedules_new(void)
{
	struct schedules *s = calloc(1, sizeof(*s));

	if (s)
		s->next_id = 1;
	return s;
}

static void schedule_free(struct schedule *sc)
{
	schedule_def_free(&sc->def);
	free(sc->json);
	free(sc);
}

void schedules_free(struct schedules *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->id_cap; i++)
		if (s->by_id[i])
			schedule_free(s->by_id[i]);
	free(s->by_id);
	free(s->heap);
	free(s->names);
	free(s);
}

static uint32_t name_hash(uid_t uid, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)uid;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

static void name_link(struct schedules *s, struct schedule *sc)
{
	uint32_t b = name_hash(sc->uid, sc->def.name) & (s->name_cap - 1);

	sc->name_next = s->names[b];
	s->names[b] = sc->id;
}

static void name_unlink(struct schedules *s, struct schedule *sc)
{
	uint32_t *at = &s->names[name_hash(sc->uid, sc->def.name) & (s->name_cap - 1)];

	while (*at && *at != sc->id)
		at = &s->by_id[*at]->name_next;
	if (*at)
		*at = sc->name_next;
}

struct schedule *schedules_named(const struct schedules *s, uid_t uid, const char *name)
{
	if (!s->name_cap)
		return NULL;
	for (uint32_t id = s->names[name_hash(uid, name) & (s->name_cap - 1)]; id;
	     id = s->by_id[id]->name_next)
		if (s->by_id[id]->uid == uid && strcmp(s->by_id[id]->def.name, name) == 0)
			return s->by_id[id];
	return NULL;
}

struct schedule *schedules_get(const struct schedules *s, uint32_t id)
{
	return s && id < s->id_cap ? s->by_id[id] : NULL;
}

/* Room for id, and a name hash of at least count buckets. */
static int reserve(struct schedules *s, uint32_t id)
{
	if (id >= s->id_cap) {
		uint32_t cap = s->id_cap ? s->id_cap : 1024;
		while (cap <= id)
			cap *= 2;
		struct schedule **b = realloc(s->by_id, cap * sizeof(*b));
		uint32_t *h = b ? realloc(s->heap, cap * sizeof(*h)) : NULL;
		if (b)
			s->by_id = b;
		if (!h)
			return -ENOMEM;
		s->heap = h;
		memset(s->by_id + s->id_cap, 0, (cap - s->id_cap) * sizeof(*b));
		s->id_cap = cap;
	}
	if (s->count + 1 > s->name_cap) {
		uint32_t cap = s->name_cap ? s->name_cap * 2 : 1024;
		uint32_t *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		free(s->names);
		s->names = n;
		s->name_cap = cap;
		for (uint32_t i = 0; i < s->id_cap; i++)
			if (s->by_id[i])
				name_link(s, s->by_id[i]);
	}
	return 0;
}

static uint64_t jitter_of(const struct schedule *sc)
{
	uint64_t x = sc->id * 0x9e3779b97f4a7c15ull ^ sc->created_ns;

	if (!sc->def.jitter_ns)
		return 0;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return x % sc->def.jitter_ns;
}

struct schedule *schedules_add(struct schedules *s, uint32_t id, uid_t uid, gid_t gid,
			       struct schedule_def *d, const char *json, uint64_t last_due,
			       uint64_t now, int *err)
{
	struct schedule *sc;

	id = id ? id : s->next_id;
	*err = s->count >= SCHEDULES_MAX ? -ENOSPC : 0;
	if (!*err && (schedules_get(s, id) || schedules_named(s, uid, d->name)))
		*err = -EEXIST;
	if (!*err)
		*err = reserve(s, id);
	sc = *err ? NULL : calloc(1, sizeof(*sc));
	if (!*err && !sc)
		*err = -ENOMEM;
	if (*err)
		return NULL;
	sc->json = strdup(json);
	if (!sc->json) {
		free(sc);
		*err = -ENOMEM;
		return NULL;
	}
	sc->id = id;
	sc->uid = uid;
	sc->gid = gid;
	sc->def = *d;
	memset(d, 0, sizeof(*d));
	sc->created_ns = sc->updated_ns = now;
	sc->last_due = last_due;
	sc->heap_pos = NO_POS;
	sc->jitter_off = jitter_of(sc);
	s->by_id[id] = sc;
	s->count++;
	if (id >= s->next_id)
		s->next_id = id + 1;
	name_link(s, sc);
	schedules_rearm(s, sc);
	return sc;
}

int schedules_replace(struct schedules *s, struct schedule *sc, struct schedule_def *d,
		      const char *json, uint64_t now)
{
	struct schedule *other = schedules_named(s, sc->uid, d->name);
	char *j;

	if (other && other != sc)
		return -EEXIST;
	if (!(j = strdup(json)))
		return -ENOMEM;
	name_unlink(s, sc);
	schedule_def_free(&sc->def);
	sc->def = *d;
	memset(d, 0, sizeof(*d));
	free(sc->json);
	sc->json = j;
	sc->updated_ns = now;
	sc->jitter_off = jitter_of(sc);
	name_link(s, sc);
	schedules_rearm(s, sc);
	return 0;
}

void schedules_remove(struct schedules *s, struct schedule *sc)
{
	heap_remove(s, sc);
	name_unlink(s, sc);
	s->by_id[sc->id] = NULL;
	s->count--;
	schedule_free(sc);
}

void schedules_note_fire(struct schedules *s, uint32_t id, uint64_t due, jr_job_id job)
{
	struct schedule *sc = schedules_get(s, id);

	if (!sc)
		return;	/* deleted since */
	if (due > sc->last_due)
		sc->last_due = due;
	sc->prev_job = sc->last_job;
	sc->last_job = job;
	sc->fired++;
}

/* --- shown ------------------------------------------------------------------------------ */

static void add_time(cJSON *o, const char *k, uint64_t ns)
{
	char t[48];

	if (!ns) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	jr_format_rfc3339(ns, t, sizeof(t));
	cJSON_AddStringToObject(o, k, t);
}

static void add_id(cJSON *o, const char *k, jr_job_id id)
{
	char t[17];

	if (!id) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	snprintf(t, sizeof(t), "%016llx", (unsigned long long)id);
	cJSON_AddStringToObject(o, k, t);
}

cJSON *schedule_json(const struct schedule *sc, uint32_t next, uint64_t now)
{
	cJSON *o = cJSON_ParseWithLength(sc->json, strlen(sc->json)), *n;
	uint64_t t;

	if (!o)
		o = cJSON_CreateObject();
	cJSON_DeleteItemFromObject(o, "paused");
	cJSON_AddNumberToObject(o, "id", sc->id);
	cJSON_AddNumberToObject(o, "uid", sc->uid);
	cJSON_AddNumberToObject(o, "gid", sc->gid);
	if (!cJSON_HasObjectItem(o, "timezone"))
		cJSON_AddStringToObject(o, "timezone", sc->def.timezone);
	if (!cJSON_HasObjectItem(o, "overlap"))
		cJSON_AddStringToObject(o, "overlap", schedule_overlap_name(sc->def.overlap));
	cJSON_AddBoolToObject(o, "paused", sc->def.paused);
	add_time(o, "created", sc->created_ns);
	add_time(o, "updated", sc->updated_ns);
	add_time(o, "last_due", sc->last_due);
	add_time(o, "next_due", sc->def.paused ? 0 : sc->next_due);
	add_id(o, "last_job_id", sc->last_job);
	cJSON_AddNumberToObject(o, "fired", (double)sc->fired);
	cJSON_AddNumberToObject(o, "skipped", (double)sc->skipped);
	cJSON_AddNumberToObject(o, "missed", (double)sc->missed);
	cJSON_AddNumberToObject(o, "coalesced", (double)sc->coalesced);
	cJSON_AddNumberToObject(o, "errors", (double)sc->errors);
	cJSON_AddNumberToObject(o, "lateness_max_ms", (double)(sc->lateness_max_ns / 1000000));
	if (sc->last_error[0])
		cJSON_AddStringToObject(o, "last_error", sc->last_error);
	if (!next)
		return o;
	n = cJSON_AddArrayToObject(o, "next");
	t = sc->def.paused || !sc->next_due ? schedule_next_after(sc, now) : sc->next_due;
	for (uint32_t i = 0; i < next && t; i++, t = schedule_next_after(sc, t)) {
		char s[48];
		jr_format_rfc3339(t, s, sizeof(s));
		cJSON_AddItemToArray(n, cJSON_CreateString(s));
	}
	return o;
}
