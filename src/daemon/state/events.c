/*
 * events.c - the event ring and publishing (see events.h); the
 * subscribers are in eventsubs.c (eventsint.h is what both share).
 *
 * An event is formatted once, at publish, into its slot of the ring:
 * {"seq":N,"kind":"job",<its fields>,"queue":..,"user":..,"time":..}.
 * Each event has a key (its kind and what it is about: a job, an
 * execution, a worker, a queue, a schedule); a direct-mapped table of
 * the latest seq per key marks the event it replaces as superseded, so
 * that a coalesced subscriber catching up gets only the latest of each
 * (a collision in the table only leaves an older one unmarked: sent too).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/state/eventsint.h"
#include "engine/engine.h"
#include "shm/jobtab.h"

static const char *const kind_names[EVENT_KINDS] = { "job", "execution", "worker", "queue",
						      "schedule" };

const char *event_kind_name(enum event_kind kind)
{
	return kind < EVENT_KINDS ? kind_names[kind] : "?";
}

int event_kind_parse(const char *name, size_t len)
{
	for (int k = 0; k < EVENT_KINDS; k++)
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
			return k;
	return -1;
}

struct events *events_new(void)
{
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->ring = calloc(EVENTS_WINDOW, sizeof(*ev->ring));
	ev->latest = calloc(EVENTS_LATEST_SLOTS, sizeof(*ev->latest));
	ev->subs = calloc(EVENTS_MAX_SUBSCRIBERS, sizeof(*ev->subs));
	if (!ev->ring || !ev->latest || !ev->subs) {
		events_free(ev);
		return NULL;
	}
	/* Sequence numbers go on from this boot's start in microseconds:
	 * an id from before a restart is older than the window (a reset),
	 * never taken for a newer event. Under 2^53: exact in JavaScript. */
	ev->first_seq = jr_now_realtime_ns() / JR_NS_PER_US;
	ev->head = ev->first_seq - 1;
	return ev;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	free(ev->ring);
	free(ev->latest);
	free(ev->subs);
	free(ev);
}

uint64_t events_oldest(const struct events *ev)
{
	uint64_t held = ev->head + 1 - ev->first_seq;

	return held > EVENTS_WINDOW ? ev->head + 1 - EVENTS_WINDOW : ev->first_seq;
}

/* --- formatting ------------------------------------------------------------------ */

/* Text appended by hand: every job event is formatted as it happens, two
 * events a job event, and with snprintf that was a third of the daemon's
 * instructions a claim->complete (callgrind, bench/workers). Whatever
 * does not fit makes len pass cap; text_end() says so. */
struct text {
	char *p;
	size_t len, cap;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->len + n < t->cap)
		memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void text_str(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static void text_u64(struct text *t, uint64_t v)
{
	char d[20];
	int i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	text_put(t, d + i, sizeof(d) - (size_t)i);
}

/* NUL-terminated (cut, as snprintf cuts, if it did not fit): true if
 * it fit. */
static bool text_end(struct text *t)
{
	bool fit = t->len < t->cap;

	t->p[fit ? t->len : t->cap - 1] = '\0';
	return fit;
}

/* {"seq":N,"kind":"K", : how every event's data begins. */
static void text_event_head(struct text *t, uint64_t seq, const char *kind)
{
	text_str(t, "{\"seq\":");
	text_u64(t, seq);
	text_str(t, ",\"kind\":\"");
	text_str(t, kind);
	text_str(t, "\",");
}

/* src into dst[size], cut to size - 1 bytes (as snprintf "%s"). */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	while (n + 1 < size && src[n])	/* not strnlen: src may be a shorter array */
		n++;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* s as the inside of a JSON string, cut to fit size (with its NUL) between
 * two characters: a UTF-8 sequence is copied whole (at most 4 bytes, and
 * 7 are free), never its first bytes alone, which no JSON reader takes. */
static void json_escape(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
			for (int more = 0; ch >= 0xc0 && more < 3 && (s[1] & 0xc0) == 0x80; more++)
				out[n++] = *++s;
		}
	}
	out[n] = '\0';
}

/* uid's login name (escaped), or its number: cached, 64 uids. */
static const char *user_name(struct events *ev, uint32_t uid)
{
	struct event_user *u = &ev->users[uid % EVENTS_USER_CACHE];
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (u->known && u->uid == uid)
		return u->name;
	u->known = true;
	u->uid = uid;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		json_escape(u->name, sizeof(u->name), res->pw_name);
	else
		snprintf(u->name, sizeof(u->name), "%u", uid);
	return u->name;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* The event it replaces, if still held, is superseded by seq. */
static void supersede(struct events *ev, uint64_t key, uint64_t seq)
{
	struct event_latest *l = &ev->latest[(key * 0x9E3779B97F4A7C15ull) >> 40 &
					     (EVENTS_LATEST_SLOTS - 1)];
	struct event_slot *old = &ev->ring[l->seq & (EVENTS_WINDOW - 1)];

	if (l->key == key && l->seq && old->seq == l->seq)
		old->superseded = true;
	l->key = key;
	l->seq = seq;
}

struct event_head {
	enum event_kind kind;
	uint64_t entity;	/* a job, an execution, a worker's number, a name's hash */
	jr_job_id job;		/* 0: none */
	uint32_t uid;		/* its owner; EVENTS_NO_UID: none */
	const char *queue;	/* NULL: none */
	uint64_t time_ns;	/* 0: now */
	uint32_t jobs;		/* a run of jobs from job (0 or 1: one) */
};

/* Into the next slot of the ring: body is the kind's own fields
 * ("\"job\":\"...\",\"status\":\"running\""), kept in the frame's
 * room until a subscriber wants the frame (events_frame): most events
 * are never sent, and a job's four (its execution's and its own, at
 * start and end) were a tenth of a claim->complete's cost. */
static void publish(struct events *ev, const struct event_head *h, const char *body)
{
	uint64_t seq = ++ev->head;
	struct event_slot *s = &ev->ring[seq & (EVENTS_WINDOW - 1)];

	s->seq = seq;
	s->kind = (uint8_t)h->kind;
	s->job = h->job;
	s->jobs = h->jobs ? h->jobs : 1;
	s->uid = h->uid;
	s->superseded = false;
	s->built = false;
	s->has_queue = h->queue != NULL;
	s->time_ns = h->time_ns ? h->time_ns : jr_now_realtime_ns();
	copy_cut(s->queue, sizeof(s->queue), h->queue ? h->queue : "");
	copy_cut(s->frame, EVENTS_DATA_MAX, body);
	supersede(ev, (uint64_t)h->kind << 61 ^ h->entity, seq);
	ev->st.published++;
}

/* {"seq":N,"kind":"K",<body>,"queue":"Q","user":"U","time":"T"} */
static void event_data(struct events *ev, const struct event_slot *s, struct text *d)
{
	char when[40], esc[sizeof(s->queue) * 6 + 8];	/* all \u00XX: 6 each */

	jr_format_rfc3339(s->time_ns, when, sizeof(when));
	text_event_head(d, s->seq, kind_names[s->kind]);
	text_str(d, s->frame);	/* the body, until built */
	if (s->has_queue) {
		json_escape(esc, sizeof(esc), s->queue);
		text_str(d, ",\"queue\":\"");
		text_str(d, esc);
		text_str(d, "\"");
	}
	if (s->uid != EVENTS_NO_UID) {
		text_str(d, ",\"user\":\"");
		text_str(d, user_name(ev, s->uid));
		text_str(d, "\"");
	}
	text_str(d, ",\"time\":\"");
	text_str(d, when);
	text_str(d, "\"}");
	if (!text_end(d)) {	/* names too long: the least */
		d->len = 0;
		text_event_head(d, s->seq, kind_names[s->kind]);
		text_str(d, "\"truncated\":true,\"time\":\"");
		text_str(d, when);
		text_str(d, "\"}");
		text_end(d);
	}
}

const char *events_frame(struct events *ev, struct event_slot *s, size_t *len)
{
	char data[EVENTS_DATA_MAX];
	struct text d = { data, 0, sizeof(data) }, f = { s->frame, 0, sizeof(s->frame) };

	if (!s->built) {
		event_data(ev, s, &d);
		text_str(&f, "id: ");
		text_u64(&f, s->seq);
		text_str(&f, "\nevent: ");
		text_str(&f, kind_names[s->kind]);
		text_str(&f, "\ndata: ");
		text_str(&f, data);
		text_str(&f, "\n\n");
		text_end(&f);	/* always fits: EVENTS_DATA_MAX + 64 */
		s->len = (uint16_t)(f.len < f.cap ? f.len : f.cap - 1);
		s->built = true;
	}
	*len = s->len;
	return s->frame;
}

/* --- what is published ----------------------------------------------------------- */

static const char *queue_of(struct jr_engine *e, uint32_t queue_id, char *buf, size_t size)
{
	struct jr_queue_info q;

	if (jr_queue_get_info(e, queue_id, &q) < 0)
		return "default";
	copy_cut(buf, size, q.name);
	return buf;
}

/* pending, held for a user's hold, as the API says it. */
static const char *job_status(const struct jr_job_info *info)
{
	if (info->state == JR_JOB_PENDING && info->reason == JR_REASON_HELD)
		return "held";
	return jr_job_state_name(info->state);
}

void events_job(struct events *ev, struct jr_engine *e, jr_job_id id, const char *status)
{
	struct jr_job_info info;
	char jid[17], qname[64], body[128];

	if (!ev || jr_job_get(e, id, &info) < 0)
		return;
	jr_format_id(id, jid);
	if (!status)
		status = job_status(&info);
	else if (strcmp(status, EVENTS_SUBMITTED) == 0)	/* as it was when accepted */
		status = info.state == JR_JOB_PENDING ? job_status(&info) : "queued";
	snprintf(body, sizeof(body), "\"job\":\"%s\",\"status\":\"%s\"", jid, status);
	publish(ev, &(struct event_head){ EVENT_JOB, id, id, info.owner_uid,
					  queue_of(e, info.queue_id, qname, sizeof(qname)), 0 },
		body);
}

/* How far the run of ids[from..] goes: consecutive ids of one owner in
 * one queue (what one batch event may stand for). */
static size_t run_end(struct jr_engine *e, const jr_job_id *ids, size_t from, size_t n,
		      const struct jr_job_brief *first)
{
	struct jr_job_brief info;
	size_t i = from + 1;

	while (i < n && ids[i] == ids[i - 1] + 1 && jr_engine_job_brief(e, ids[i], &info) == 0 &&
	       info.queue_id == first->queue_id && info.owner_uid == first->owner_uid)
		i++;
	return i;
}

void events_jobs_submitted(struct events *ev, struct jr_engine *e, const jr_job_id *ids,
			   size_t n)
{
	struct jr_job_brief info;
	char first[17], last[17], qname[64], body[128];
	size_t i = 0, end;

	if (!ev)
		return;
	/* Owner and queue only (jr_engine_job_brief): the output paths
	 * jr_job_get formats as well were most of a batch's cost here. */
	while (i < n) {
		if (jr_engine_job_brief(e, ids[i], &info) < 0) {
			i++;
			continue;
		}
		end = run_end(e, ids, i, n, &info);
		if (end - i == 1) {
			events_job(ev, e, ids[i++], EVENTS_SUBMITTED);
			continue;
		}
		jr_format_id(ids[i], first);
		jr_format_id(ids[end - 1], last);
		snprintf(body, sizeof(body),
			 "\"job\":\"%s\",\"last\":\"%s\",\"jobs\":%zu,\"status\":\"submitted\"",
			 first, last, end - i);
		/* its own key: a run is never superseded by one job's event */
		publish(ev, &(struct event_head){ EVENT_JOB, ids[i] ^ 1ull << 60, ids[i], info.owner_uid,
						  queue_of(e, info.queue_id, qname, sizeof(qname)), 0,
						  (uint32_t)(end - i) },
			body);
		i = end;
	}
}

/* An execution's status at this event: running, or how it ended. */
static const char *execution_status(const struct jr_job_event *je)
{
	if (je->kind == JR_EVENT_STARTED)
		return "running";
	if (je->kind == JR_EVENT_RETRYING)
		return "failed";
	return jr_job_state_name(je->state);
}

/* Every job event of the engine, two events each: owner and queue from
 * the table's brief (jr_job_get formatted output paths too), the bodies
 * by hand (struct text). */
void events_job_event(struct events *ev, struct jr_engine *e, const struct jr_job_event *je)
{
	struct jr_job_brief info;
	char jid[17], xid[17], qname[64], body[160];
	struct text b = { body, 0, sizeof(body) };
	const char *queue;

	if (!ev || jr_engine_job_brief(e, je->job_id, &info) < 0)
		return;
	queue = queue_of(e, info.queue_id, qname, sizeof(qname));
	jr_format_id(je->job_id, jid);
	if (je->attempt) {
		uint64_t x = jr_execution_id(je->job_id, je->attempt);
		jr_format_id(x, xid);
		text_str(&b, "\"execution\":\"");
		text_str(&b, xid);
		text_str(&b, "\",\"job\":\"");
		text_str(&b, jid);
		text_str(&b, "\",\"attempt\":");
		text_u64(&b, je->attempt);
		text_str(&b, ",\"status\":\"");
		text_str(&b, execution_status(je));
		text_str(&b, "\"");
		text_end(&b);
		publish(ev, &(struct event_head){ EVENT_EXECUTION, x, je->job_id, info.owner_uid,
						  queue, je->time_ns }, body);
	}
	b.len = 0;
	text_str(&b, "\"job\":\"");
	text_str(&b, jid);
	text_str(&b, "\",\"status\":\"");
	text_str(&b, je->kind == JR_EVENT_STARTED ? "running" :
		      je->kind == JR_EVENT_RETRYING ? "pending" : jr_job_state_name(je->state));
	text_str(&b, "\"");
	text_end(&b);
	publish(ev, &(struct event_head){ EVENT_JOB, je->job_id, je->job_id, info.owner_uid, queue,
					  je->time_ns }, body);
}

void events_worker(struct events *ev, const char *name, uint32_t owner_uid, const char *status)
{
	char esc[96], body[160];

	if (!ev)
		return;
	json_escape(esc, sizeof(esc), name);
	snprintf(body, sizeof(body), "\"worker\":\"%s\",\"status\":\"%s\"", esc, status);
	publish(ev, &(struct event_head){ EVENT_WORKER, name_hash(name), 0, owner_uid, NULL, 0 },
		body);
}

void events_queue(struct events *ev, const char *name, const char *change)
{
	char body[64];

	if (!ev)
		return;
	snprintf(body, sizeof(body), "\"change\":\"%s\"", change);
	publish(ev, &(struct event_head){ EVENT_QUEUE, name_hash(name), 0, EVENTS_NO_UID, name, 0 },
		body);
}

void events_schedule(struct events *ev, const char *name, uint32_t owner_uid, const char *what,
		     jr_job_id job)
{
	char esc[160], jid[17], body[256];

	if (!ev)
		return;
	json_escape(esc, sizeof(esc), name);
	jr_format_id(job, jid);
	snprintf(body, sizeof(body), "\"schedule\":\"%s\",\"change\":\"%s\"%s%s%s", esc, what,
		 job ? ",\"job\":\"" : "", job ? jid : "", job ? "\"" : "");
	publish(ev, &(struct event_head){ EVENT_SCHEDULE, name_hash(name), job, owner_uid, NULL, 0 },
		body);
}

void events_get_stats(const struct events *ev, struct events_stats *out)
{
	*out = ev->st;
	out->head_seq = ev->head;
	out->subscribers = ev->nsubs;
}
