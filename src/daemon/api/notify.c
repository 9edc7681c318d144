/*
 * notify.c - notifications (issue 16): when a job ends, the targets of
 * its "notify" (or "callback_url") and of its queue's notify setting
 * that ask for the event get an entry in the outbox (outbox.h), journaled
 * (REC_NOTIFY_QUEUED) in the same turn as the job's END; the loop's tick
 * hands entries whose record is durable to the sender's threads
 * (notifysend.h), journals each end (DELIVERED, or FAILED after the last
 * attempt) and schedules retries with exponential backoff. Never blocks
 * the loop: sending is the threads', the loop only copies and counts.
 * Also a queue's notify setting (POST and PATCH /queues, the daemon's
 * owner or root only) and a job's notifications in GET /jobs/{id}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/units.h"
#include "daemon/api/handlers.h"
#include "daemon/api/notify.h"
#include "daemon/net/reply.h"
#include "daemon/state/notifysend.h"
#include "daemon/state/notifyspec.h"
#include "daemon/state/outbox.h"

#define NOTIFY_ATTEMPTS_MAX 12u		/* then given up (NOTIFY_FAILED) */
#define NOTIFY_BACKOFF_CAP_MS (5u * 60u * 1000u)
#define NOTIFY_INFLIGHT_MAX 256u	/* handed to the threads at once */
#define NOTIFY_RESCAN_NS (50 * JR_NS_PER_MS)	/* retries due: looked for this often */
#define NOTIFY_SECRET_FILE "notify.secret"

struct api_notify {
	struct notify_sender *sender;
	uint64_t backoff_ms;
	uint32_t inflight;
	bool dirty;			/* an entry queued or back: scan now */
	uint64_t last_scan_ns, last_drop_log_ns;
};

/* --- the secret ------------------------------------------------------------------------ */

/* state_dir/notify.secret: 64 hex digits, made once, 0600. The key is
 * the file's text. */
static int load_secret(const char *state_dir, char key[65])
{
	char path[512];
	unsigned char raw[NOTIFY_SECRET_BYTES];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", state_dir, NOTIFY_SECRET_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, key, 64);
		fchmod(fd, 0600);
		close(fd);
		if (n == 64) {
			key[64] = '\0';
			return 0;
		}
		return -EINVAL;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (unsigned i = 0; i < sizeof(raw); i++)
		snprintf(key + 2 * i, 3, "%02x", raw[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	n = write(fd, key, 64);
	if (fsync(fd) < 0 || n != 64) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

int api_notify_start(struct api *a, const char *state_dir, uint64_t backoff_ms)
{
	struct api_notify *n = calloc(1, sizeof(*n));
	char key[65];
	int rc;

	if (!n)
		return -ENOMEM;
	n->backoff_ms = backoff_ms ? backoff_ms : 1000;
	n->dirty = true;
	rc = load_secret(state_dir, key);
	if (rc == 0)
		rc = notify_sender_start(&n->sender, key, 64);
	if (rc < 0) {
		fprintf(stderr, "jobringd: notifications cannot start (%s/%s): %s\n", state_dir,
			NOTIFY_SECRET_FILE, strerror(-rc));
		free(n);
		return rc;
	}
	a->notify = n;
	return 0;
}

int api_notify_fd(const struct api *a)
{
	return a->notify ? notify_sender_event_fd(a->notify->sender) : -1;
}

void api_notify_destroy(struct api *a)
{
	if (!a->notify)
		return;
	notify_sender_stop(a->notify->sender);
	free(a->notify);
	a->notify = NULL;
}

/* --- a job ended: its entries ------------------------------------------------------------ */

static cJSON *payload_job(struct api *a, const struct jr_job_event *ev, const char *queue)
{
	cJSON *j = cJSON_CreateObject();
	struct jr_job_info info;
	char t[48];

	snprintf(t, sizeof(t), "%016llx", (unsigned long long)ev->job_id);
	cJSON_AddStringToObject(j, "id", t);
	if (jr_job_get(a->engine, ev->job_id, &info) == 0) {
		cJSON_AddStringToObject(j, "name", info.name);
		cJSON_AddNumberToObject(j, "owner_uid", info.owner_uid);
		jr_format_rfc3339(info.created_ns, t, sizeof(t));
		cJSON_AddStringToObject(j, "created", t);
	}
	cJSON_AddStringToObject(j, "queue", queue ? queue : "");
	cJSON_AddStringToObject(j, "status", jr_job_state_name(ev->state));
	cJSON_AddStringToObject(j, "reason", jr_reason_name(ev->reason));
	cJSON_AddNumberToObject(j, "exit_code", ev->exit_code);
	cJSON_AddNumberToObject(j, "signal", ev->signal);
	cJSON_AddNumberToObject(j, "attempts", ev->attempt);
	jr_format_rfc3339(ev->time_ns, t, sizeof(t));
	cJSON_AddStringToObject(j, "ended", t);
	return j;
}

/* The event's JSON: what a receiver gets, and nothing of another job. */
static char *payload_of(struct api *a, const struct jr_job_event *ev, const char *queue,
			uint64_t id, uint32_t event)
{
	cJSON *o = cJSON_CreateObject();
	char t[48], *text;

	snprintf(t, sizeof(t), "%016llx", (unsigned long long)id);
	cJSON_AddStringToObject(o, "delivery_id", t);
	cJSON_AddStringToObject(o, "event", notify_event_name(event));
	jr_format_rfc3339(ev->time_ns, t, sizeof(t));
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddItemToObject(o, "job", payload_job(a, ev, queue));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static void log_dropped(struct api_notify *n, const struct outbox *o)
{
	uint64_t now = jr_now_monotonic_ns();

	if (now - n->last_drop_log_ns < JR_NS_PER_SEC)
		return;
	n->last_drop_log_ns = now;
	fprintf(stderr, "jobringd: the notification outbox is full (%u waiting): %llu "
		"notifications dropped so far\n", o->count, (unsigned long long)o->dropped);
}

/* One target's entry: in the outbox and the journal. */
static void queue_one(struct api *a, const struct jr_job_event *ev, const char *queue,
		      const struct notify_target *t, uint32_t event)
{
	struct outbox *o = &a->st->outbox;
	const struct submitted_job *s = submitted_of(&a->st->jobs, ev->job_id);
	struct jobspec_submitter who = s ? submitted_job_who(&a->st->jobs, s)
					 : (struct jobspec_submitter){ 0 };
	struct rec_notify rec = {
		.delivery_id = outbox_next_id(o, jr_now_realtime_ns()), .job_id = ev->job_id,
		.created_ns = jr_now_realtime_ns(), .event = event, .kind = t->kind,
		.uid = who.uid, .gid = who.gid,
		.flags = who.switch_user ? REC_NOTIFY_SWITCH_USER : 0,
	};
	char *payload = payload_of(a, ev, queue, rec.delivery_id, event);
	struct outbox_entry *e;
	int rc;

	if (!payload || !s)
		goto out;
	rec.target_len = (uint32_t)strlen(t->target);
	rec.payload_len = (uint32_t)strlen(payload);
	rc = outbox_add(o, &rec, t->target, payload);
	if (rc == -ENOSPC)
		log_dropped(a->notify, o);
	if (rc < 0 || !(e = outbox_find(o, rec.delivery_id)))
		goto out;
	struct iovec iov[3] = { { &rec, sizeof(rec) }, { t->target, rec.target_len },
				{ payload, rec.payload_len } };
	e->seq = durable_logv(a->durable, REC_NOTIFY_QUEUED, iov, 3);
	a->notify->dirty = true;
out:
	free(payload);
}

/* Its queue's name ("" if gone) into name. */
static void queue_name(struct api *a, jr_job_id id, char *name, size_t size)
{
	struct jr_job_info info;
	struct jr_queue_info q;

	name[0] = '\0';
	if (jr_job_get(a->engine, id, &info) == 0 && jr_queue_get_info(a->engine, info.queue_id,
									&q) == 0)
		snprintf(name, size, "%s", q.name);
}

/* The job's targets (its own, then its queue's). Parsed only when the
 * job's JSON names one: most jobs have none, and cost a search. */
static void targets_of(struct api *a, jr_job_id id, const char *queue,
		       struct notify_targets *out)
{
	const char *json = submitted_json(&a->st->jobs, id);
	const char *qn = outbox_queue_notify(&a->st->outbox, queue);
	cJSON *o, *v;

	if (json && (strstr(json, "\"notify\"") || strstr(json, "\"callback_url\"")) &&
	    (o = cJSON_Parse(json)) != NULL) {
		if ((v = cJSON_GetObjectItemCaseSensitive(o, "notify")) != NULL)
			notifyspec_add(v, out);
		if ((v = cJSON_GetObjectItemCaseSensitive(o, "callback_url")) != NULL)
			notifyspec_add_callback(v, out);
		cJSON_Delete(o);
	}
	if (qn && (o = cJSON_Parse(qn)) != NULL) {
		notifyspec_add(o, out);
		cJSON_Delete(o);
	}
}

static void notify_job_ended(struct api *a, const struct jr_job_event *ev)
{
	struct notify_targets targets = { 0 };
	bool failed = ev->state == JR_JOB_FAILED;
	char queue[48];

	if (!a->notify || ev->kind != JR_EVENT_ENDED)
		return;
	queue[0] = '\0';
	if (a->st->outbox.queue_count)
		queue_name(a, ev->job_id, queue, sizeof(queue));
	targets_of(a, ev->job_id, queue, &targets);
	if (targets.count && !queue[0])
		queue_name(a, ev->job_id, queue, sizeof(queue));
	for (uint32_t i = 0; i < targets.count; i++) {
		uint32_t event = notify_event_of(targets.t[i].events, true, failed,
						 ev->attempt > 1);
		if (event)
			queue_one(a, ev, queue, &targets.t[i], event);
	}
	notifyspec_free(&targets);
}

void api_job_ended(void *ctx, const struct jr_job_event *ev)
{
	struct api *a = ctx;

	triggers_job_ended(&a->st->triggers, ev);	/* issue 15's job-event triggers */
	notify_job_ended(a, ev);
}

/* --- the tick: answers taken, retries scheduled, entries handed over -------------------- */

static uint64_t backoff_ns(const struct api_notify *n, uint32_t attempts)
{
	uint64_t ms = n->backoff_ms;

	for (uint32_t i = 1; i < attempts && ms < NOTIFY_BACKOFF_CAP_MS; i++)
		ms *= 2;
	return (ms < NOTIFY_BACKOFF_CAP_MS ? ms : NOTIFY_BACKOFF_CAP_MS) * JR_NS_PER_MS;
}

static void log_end(struct api *a, const struct outbox_entry *e, uint16_t type)
{
	struct rec_notify_done d = { .delivery_id = e->rec.delivery_id, .time_ns = e->done_ns,
				     .attempts = e->attempts };

	memcpy(d.error, e->error, sizeof(d.error));
	durable_log(a->durable, type, &d, sizeof(d), NULL, 0);
}

static void answered(struct api *a, struct notify_task *t, uint64_t now_ns)
{
	struct outbox *o = &a->st->outbox;
	struct outbox_entry *e = outbox_find(o, t->delivery_id);

	if (!e || e->state != OUTBOX_SENDING)
		return;
	e->attempts++;
	snprintf(e->error, sizeof(e->error), "%s", t->ok ? "" : t->error);
	if (t->ok || e->attempts >= NOTIFY_ATTEMPTS_MAX) {
		outbox_end(o, e, t->ok, jr_now_realtime_ns());
		log_end(a, e, t->ok ? REC_NOTIFY_DELIVERED : REC_NOTIFY_FAILED);
		return;
	}
	e->state = OUTBOX_QUEUED;
	e->next_ns = now_ns + backoff_ns(a->notify, e->attempts);
}

static struct notify_task *task_of(const struct outbox_entry *e)
{
	struct notify_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct notify_task){
		.delivery_id = e->rec.delivery_id, .job_id = e->rec.job_id, .event = e->rec.event,
		.kind = (enum notify_kind)e->rec.kind, .uid = e->rec.uid, .gid = e->rec.gid,
		.switch_user = (e->rec.flags & REC_NOTIFY_SWITCH_USER) != 0,
		.target = strndup(outbox_target(e), e->rec.target_len),
		.payload = strdup(outbox_payload(e)),
	};
	if (!t->target || !t->payload) {
		notify_task_free(t);
		return NULL;
	}
	return t;
}

/* Hand over what is due and durable, oldest first: true if one waits
 * for its record only (then looked for again at the next turn). */
static bool dispatch(struct api *a, uint64_t now_ns)
{
	struct api_notify *n = a->notify;
	struct outbox *o = &a->st->outbox;
	uint64_t durable_seq = jr_journal_durable_seq(durable_journal(a->durable));
	bool all_ended = true, waits = false;

	for (uint32_t i = o->scan_from; i < o->count && n->inflight < NOTIFY_INFLIGHT_MAX; i++) {
		struct outbox_entry *e = &o->e[i];
		struct notify_task *t;
		if (e->state == OUTBOX_DELIVERED || e->state == OUTBOX_FAILED) {
			if (all_ended)
				o->scan_from = i + 1;
			continue;
		}
		all_ended = false;
		waits |= e->state == OUTBOX_QUEUED && e->seq > durable_seq;
		if (e->state != OUTBOX_QUEUED || e->next_ns > now_ns || e->seq > durable_seq)
			continue;
		if (!(t = task_of(e)))
			break;
		e->state = OUTBOX_SENDING;
		n->inflight++;
		notify_sender_push(n->sender, t);
	}
	return waits;
}

void api_notify_tick(struct api *a, uint64_t now_ns)
{
	struct api_notify *n = a->notify;
	struct notify_task *t;

	if (!n)
		return;
	t = notify_sender_take(n->sender);
	while (t) {
		struct notify_task *next = t->next;
		answered(a, t, now_ns);
		notify_task_free(t);
		n->inflight--;
		n->dirty = true;
		t = next;
	}
	if (n->dirty || now_ns - n->last_scan_ns >= NOTIFY_RESCAN_NS) {
		n->last_scan_ns = now_ns;
		n->dirty = dispatch(a, now_ns);
	}
}

/* --- queues' settings, and what a job shows ------------------------------------------- */

bool api_queue_notify_check(struct api *a, struct api_call *c, const cJSON *body)
{
	const cJSON *v = cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "notify")
					     : NULL;
	char why[200];

	if (!v)
		return true;
	/* Every job of the queue would be told of: its owners' jobs are not
	 * another user's to watch, nor their uid another's to run commands as. */
	if (c->req->uid != 0 && c->req->uid != a->daemon_uid)
		return reply_error(c->res, 403, "forbidden", "only uid %u or root may set a "
				   "queue's notify", (unsigned)a->daemon_uid);
	if (!cJSON_IsNull(v) && !notifyspec_check(v, why, sizeof(why)))
		return reply_error(c->res, 422, "invalid_value", "%s", why);
	return true;
}

uint64_t api_queue_notify_set(struct api *a, const char *queue, const cJSON *body)
{
	const cJSON *v = cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "notify")
					     : NULL;
	struct rec_notify_queue rec = { 0 };
	char *json;
	uint64_t seq;

	if (!v)
		return 0;
	json = cJSON_IsNull(v) ? strdup("") : cJSON_PrintUnformatted(v);
	if (!json || outbox_set_queue(&a->st->outbox, queue, json) < 0) {
		free(json);
		return 0;
	}
	snprintf(rec.name, sizeof(rec.name), "%s", queue);
	rec.json_len = (uint32_t)strlen(json);
	seq = durable_log(a->durable, REC_NOTIFY_QUEUE_SET, &rec, sizeof(rec), json,
			  rec.json_len);
	free(json);
	return seq;
}

void api_queue_notify_forget(struct api *a, const char *queue)
{
	cJSON *body;

	if (!outbox_queue_notify(&a->st->outbox, queue))
		return;
	body = cJSON_CreateObject();
	cJSON_AddNullToObject(body, "notify");
	api_queue_notify_set(a, queue, body);
	cJSON_Delete(body);
}

void api_queue_notify_view(struct api *a, cJSON *o, const char *queue)
{
	const char *json = outbox_queue_notify(&a->st->outbox, queue);
	cJSON *v = json ? cJSON_Parse(json) : NULL;

	if (v && o)
		cJSON_AddItemToObject(o, "notify", v);
	else
		cJSON_Delete(v);
}

static const char *state_name(enum outbox_state s)
{
	switch (s) {
	case OUTBOX_QUEUED: return "queued";
	case OUTBOX_SENDING: return "sending";
	case OUTBOX_DELIVERED: return "delivered";
	case OUTBOX_FAILED: return "failed";
	}
	return "unknown";
}

static cJSON *entry_json(const struct outbox_entry *e)
{
	cJSON *n = cJSON_CreateObject();
	char t[48];

	snprintf(t, sizeof(t), "%016llx", (unsigned long long)e->rec.delivery_id);
	cJSON_AddStringToObject(n, "delivery_id", t);
	cJSON_AddStringToObject(n, "event", notify_event_name(e->rec.event));
	cJSON_AddStringToObject(n, "target", notify_kind_name((enum notify_kind)e->rec.kind));
	cJSON_AddStringToObject(n, "state", state_name(e->state));
	cJSON_AddNumberToObject(n, "attempts", e->attempts);
	if (e->error[0])
		cJSON_AddStringToObject(n, "last_error", e->error);
	else
		cJSON_AddNullToObject(n, "last_error");
	if (e->state == OUTBOX_DELIVERED) {
		jr_format_rfc3339(e->done_ns, t, sizeof(t));
		cJSON_AddStringToObject(n, "delivered", t);
	} else {
		cJSON_AddNullToObject(n, "delivered");
	}
	return n;
}

void api_notify_schedule_body(cJSON *schedule)
{
	cJSON *n = cJSON_DetachItemFromObjectCaseSensitive(schedule, "notify");
	cJSON *job = cJSON_GetObjectItemCaseSensitive(schedule, "job");

	if (!n)
		return;
	if (!cJSON_IsObject(job)) {	/* the schedule's own check says why */
		cJSON_AddItemToObject(schedule, "notify", n);
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(job, "notify");
	if (cJSON_IsNull(n))
		cJSON_Delete(n);
	else
		cJSON_AddItemToObject(job, "notify", n);
}

void api_notify_job_view(struct api *a, cJSON *o, jr_job_id id)
{
	const struct outbox *ob = &a->st->outbox;
	cJSON *list = cJSON_CreateArray();

	for (uint32_t i = 0; i < ob->count; i++)
		if (ob->e[i].rec.job_id == id)
			cJSON_AddItemToArray(list, entry_json(&ob->e[i]));
	if (o)
		cJSON_AddItemToObject(o, "notifications", list);
	else
		cJSON_Delete(list);
}
