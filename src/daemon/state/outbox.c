/*
 * outbox.c - the notifications' outbox (issue 16). See outbox.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/outbox.h"

void outbox_init(struct outbox *o)
{
	memset(o, 0, sizeof(*o));
}

void outbox_destroy(struct outbox *o)
{
	for (uint32_t i = 0; i < o->count; i++)
		free(o->e[i].data);
	free(o->e);
	for (uint32_t i = 0; i < o->queue_count; i++)
		free(o->queues[i].json);
	outbox_init(o);
}

void outbox_take(struct outbox *dst, struct outbox *src)
{
	outbox_destroy(dst);
	*dst = *src;
	outbox_init(src);
}

uint64_t outbox_next_id(struct outbox *o, uint64_t now_ns)
{
	o->last_id = now_ns > o->last_id ? now_ns : o->last_id + 1;
	return o->last_id;
}

static bool ended(const struct outbox_entry *e)
{
	return e->state == OUTBOX_DELIVERED || e->state == OUTBOX_FAILED;
}

/* At the bound: forget the oldest ended entries, a quarter of the bound
 * (or all there are). Order is kept. */
static void forget_ended(struct outbox *o)
{
	uint32_t want = OUTBOX_MAX / 4, gone = 0, to = 0;

	for (uint32_t i = 0; i < o->count; i++) {
		if (gone < want && ended(&o->e[i])) {
			free(o->e[i].data);
			gone++;
			continue;
		}
		o->e[to++] = o->e[i];
	}
	o->count = to;
	o->forgotten += gone;
	o->scan_from = 0;
}

static int make_room(struct outbox *o)
{
	if (o->count == OUTBOX_MAX)
		forget_ended(o);
	if (o->count == OUTBOX_MAX)
		return -ENOSPC;
	if (o->count == o->cap) {
		uint32_t cap = o->cap ? o->cap * 2 : 256;
		struct outbox_entry *n = realloc(o->e, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		o->e = n;
		o->cap = cap;
	}
	return 0;
}

int outbox_add(struct outbox *o, const struct rec_notify *rec, const char *target,
	       const char *payload)
{
	struct outbox_entry *e;
	char *data;
	int rc;

	if (o->count && rec->delivery_id <= o->e[o->count - 1].rec.delivery_id)
		return outbox_find(o, rec->delivery_id) ? -EEXIST : -EPROTO;
	if ((rc = make_room(o)) < 0) {
		o->dropped++;
		return rc;
	}
	if (!(data = malloc((size_t)rec->target_len + rec->payload_len + 2)))
		return -ENOMEM;
	memcpy(data, target, rec->target_len);
	memcpy(data + rec->target_len, payload, rec->payload_len);
	data[rec->target_len + rec->payload_len] = '\0';
	e = &o->e[o->count++];
	*e = (struct outbox_entry){ .rec = *rec, .data = data, .state = OUTBOX_QUEUED };
	if (rec->delivery_id > o->last_id)
		o->last_id = rec->delivery_id;
	o->queued++;
	return 0;
}

struct outbox_entry *outbox_find(struct outbox *o, uint64_t delivery_id)
{
	uint32_t lo = 0, hi = o->count;

	while (lo < hi) {	/* ids ascend */
		uint32_t mid = lo + (hi - lo) / 2;
		if (o->e[mid].rec.delivery_id < delivery_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->count && o->e[lo].rec.delivery_id == delivery_id ? &o->e[lo] : NULL;
}

void outbox_end(struct outbox *o, struct outbox_entry *e, bool ok, uint64_t time_ns)
{
	if (ended(e))
		return;
	e->state = ok ? OUTBOX_DELIVERED : OUTBOX_FAILED;
	e->done_ns = time_ns;
	if (ok)
		o->delivered++;
	else
		o->failed++;
}

/* --- the queues' settings --------------------------------------------------------------- */

static struct outbox_queue *queue_at(const struct outbox *o, const char *queue)
{
	for (uint32_t i = 0; i < o->queue_count; i++)
		if (strcmp(o->queues[i].name, queue) == 0)
			return (struct outbox_queue *)&o->queues[i];
	return NULL;
}

const char *outbox_queue_notify(const struct outbox *o, const char *queue)
{
	const struct outbox_queue *q = queue ? queue_at(o, queue) : NULL;

	return q ? q->json : NULL;
}

int outbox_set_queue(struct outbox *o, const char *queue, const char *json)
{
	struct outbox_queue *q = queue_at(o, queue);
	char *copy = NULL;

	if (json && *json && !(copy = strdup(json)))
		return -ENOMEM;
	if (!q && copy) {
		if (o->queue_count == OUTBOX_QUEUES_MAX) {
			free(copy);
			return -ENOSPC;
		}
		q = &o->queues[o->queue_count++];
		snprintf(q->name, sizeof(q->name), "%s", queue);
		q->json = NULL;
	}
	if (!q)
		return 0;
	free(q->json);
	q->json = copy;
	if (!copy)	/* cleared: the last one takes its place */
		*q = o->queues[--o->queue_count];
	return 0;
}

/* --- records ---------------------------------------------------------------------------- */

static int apply_queued(struct outbox *o, const uint8_t *p, uint32_t len)
{
	struct rec_notify r;
	int rc;

	if (len < sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	if ((uint64_t)sizeof(r) + r.target_len + r.payload_len != len || !r.delivery_id)
		return -EPROTO;
	rc = outbox_add(o, &r, (const char *)p + sizeof(r),
			(const char *)p + sizeof(r) + r.target_len);
	if (rc == -EEXIST || rc == -ENOSPC)
		return 0;	/* a snapshot and its journal both had it; or lost at the bound */
	return rc;
}

static int apply_done(struct outbox *o, uint16_t type, const void *p, uint32_t len)
{
	struct rec_notify_done r;
	struct outbox_entry *e;

	if (len != sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	if (!(e = outbox_find(o, r.delivery_id)))
		return 0;	/* forgotten at the bound */
	e->attempts = r.attempts;
	memcpy(e->error, r.error, sizeof(e->error));
	e->error[sizeof(e->error) - 1] = '\0';
	outbox_end(o, e, type == REC_NOTIFY_DELIVERED, r.time_ns);
	return 0;
}

static int apply_queue_set(struct outbox *o, const uint8_t *p, uint32_t len)
{
	struct rec_notify_queue r;
	char name[sizeof(r.name) + 1], *json;
	int rc;

	if (len < sizeof(r))
		return -EPROTO;
	memcpy(&r, p, sizeof(r));
	if ((uint64_t)sizeof(r) + r.json_len != len)
		return -EPROTO;
	memcpy(name, r.name, sizeof(r.name));
	name[sizeof(r.name)] = '\0';
	if (!(json = strndup((const char *)p + sizeof(r), r.json_len)))
		return -ENOMEM;
	rc = outbox_set_queue(o, name, json);
	free(json);
	return rc == -ENOSPC ? 0 : rc;
}

int outbox_apply(struct outbox *o, uint16_t type, const void *p, uint32_t len)
{
	switch (type) {
	case REC_NOTIFY_QUEUED: return apply_queued(o, p, len);
	case REC_NOTIFY_DELIVERED:
	case REC_NOTIFY_FAILED: return apply_done(o, type, p, len);
	case REC_NOTIFY_QUEUE_SET: return apply_queue_set(o, p, len);
	}
	return -EPROTO;
}

typedef int (*outbox_put_fn)(void *ctx, uint16_t type, const void *head, size_t head_len,
			     const void *tail, size_t tail_len);

/* Its QUEUED record, and its end's if it ended. */
static int write_entry(const struct outbox_entry *e, outbox_put_fn put, void *ctx)
{
	struct rec_notify_done d = { .delivery_id = e->rec.delivery_id, .time_ns = e->done_ns,
				     .attempts = e->attempts };
	int rc = put(ctx, REC_NOTIFY_QUEUED, &e->rec, sizeof(e->rec), e->data,
		     (size_t)e->rec.target_len + e->rec.payload_len);

	if (rc < 0 || !ended(e))
		return rc;
	memcpy(d.error, e->error, sizeof(d.error));
	return put(ctx, e->state == OUTBOX_DELIVERED ? REC_NOTIFY_DELIVERED : REC_NOTIFY_FAILED,
		   &d, sizeof(d), NULL, 0);
}

int outbox_write(const struct outbox *o, outbox_put_fn put, void *ctx)
{
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < o->queue_count; i++) {
		struct rec_notify_queue q = { .json_len = (uint32_t)strlen(o->queues[i].json) };
		memcpy(q.name, o->queues[i].name, sizeof(q.name));
		rc = put(ctx, REC_NOTIFY_QUEUE_SET, &q, sizeof(q), o->queues[i].json, q.json_len);
	}
	for (uint32_t i = 0; rc == 0 && i < o->count; i++)
		rc = write_entry(&o->e[i], put, ctx);
	return rc;
}
