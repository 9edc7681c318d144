/*
 * snapshotstate.c - a snapshot's records of what the daemon holds beside
 * its jobs: the queues, whether scheduling is paused, the triggers, the
 * schedules and the origins of the jobs they fired, the notifications'
 * outbox, the job totals and the allocation queues (all at the start, on
 * the loop), and the registered workers (a slice at a time). Each goes
 * out through put (snapshot.c's: a record for its writer thread), as
 * outbox_write and allocs_write do. See snapshotstate.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/durable/snapshotstate.h"
#include "daemon/state/schedules.h"

static int queues_out(struct state *st, snapshot_put_fn put, void *ctx)
{
	struct jr_queue_info q;

	/* In id order, the default queue (0) too: recovery updates it. A
	 * removed queue leaves a gap. */
	for (uint32_t id = 0; id < JR_QUEUE_MAX; id++) {
		if (jr_queue_get_info(st->engine, id, &q) < 0)
			continue;
		struct rec_queue rec = { .priority = q.priority, .max_workers = q.max_workers };
		snprintf(rec.name, sizeof(rec.name), "%s", q.name);
		int rc = put(ctx, REC_QUEUE, &rec, sizeof(rec), NULL, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A worker's registration, as it could have been sent. */
static int worker_out(const struct worker *w, snapshot_put_fn put, void *ctx)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddStringToObject(o, "capabilities", w->capabilities);
	if (w->resources_json)
		cJSON_AddItemToObject(o, "resources", cJSON_Parse(w->resources_json));
	char *text = cJSON_PrintUnformatted(o);
	struct rec_worker rec = { w->number, (uint32_t)w->uid, w->registered_ns };
	int rc = text ? put(ctx, REC_WORKER, &rec, sizeof(rec), text, strlen(text)) : -ENOMEM;

	free(text);
	cJSON_Delete(o);
	return rc;
}

/* The registered workers, a slice at a time (thousands of them took
 * milliseconds at once). One registered or removed between slices is in
 * the journal after the snapshot's seq as well, and a worker's record
 * replaces what its number held: the replay ends where the journal does. */
int snapshot_workers_out(const struct workers *reg, uint32_t *cursor, uint64_t deadline,
			 bool *done, snapshot_put_fn put, void *ctx)
{
	*done = false;
	for (; *cursor < reg->count; (*cursor)++) {
		if ((*cursor & 63) == 0 && jr_now_monotonic_ns() > deadline)
			return 0;
		const struct worker *w = &reg->list[*cursor];
		int rc = w->used ? worker_out(w, put, ctx) : 0;
		if (rc < 0)
			return rc;
	}
	*done = true;
	return 0;
}

/* Schedules (issue 15), each as it is with its last due and counters;
 * fired jobs' origins, in runs of ORIGINS_PER_RECORD. At the start, on
 * the loop: as of the snapshot's seq, as the queues are. */
#define ORIGINS_PER_RECORD 8192u

static int schedules_out(const struct state *st, snapshot_put_fn put, void *ctx)
{
	const struct schedules *set = st->schedules;

	for (uint32_t id = 1; set && id < set->id_cap; id++) {
		const struct schedule *sc = set->by_id[id];
		if (!sc)
			continue;
		struct rec_schedule h = {
			.id = sc->id, .uid = sc->uid, .gid = sc->gid, .op = REC_SCHEDULE_SNAPSHOT,
			.next_id = set->next_id, .created_ns = sc->created_ns,
			.last_due_ns = sc->last_due, .fired = sc->fired, .skipped = sc->skipped,
			.missed = sc->missed, .coalesced = sc->coalesced,
			.def_len = (uint32_t)strlen(sc->json),
		};
		int rc = put(ctx, REC_SCHEDULE, &h, sizeof(h), sc->json, h.def_len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct origins_out {
	snapshot_put_fn put;
	void *ctx;
	struct rec_origin_job *run;
	uint32_t n;
	int rc;
};

static bool origin_out(void *ctx, const struct fired_entry *e)
{
	struct origins_out *o = ctx;

	o->run[o->n].job_id = e->id;
	o->run[o->n].origin = e->origin;
	if (++o->n == ORIGINS_PER_RECORD) {
		o->rc = o->put(o->ctx, REC_SNAP_ORIGINS, o->run, o->n * sizeof(*o->run), NULL, 0);
		o->n = 0;
	}
	return o->rc == 0;
}

static int origins_out(struct state *st, snapshot_put_fn put, void *ctx)
{
	struct origins_out o = { put, ctx, NULL, 0, 0 };

	fired_sweep(&st->fired, st->engine);	/* jobs gone since */
	if (!st->fired.count)
		return 0;
	o.run = malloc(ORIGINS_PER_RECORD * sizeof(*o.run));
	if (!o.run)
		return -ENOMEM;
	fired_each(&st->fired, origin_out, &o);
	if (o.rc == 0 && o.n)
		o.rc = put(ctx, REC_SNAP_ORIGINS, o.run, o.n * sizeof(*o.run), NULL, 0);
	free(o.run);
	return o.rc;
}

/* The job totals as of the snapshot's seq (issue 16): counted as journaled. */
static int counters_out(const struct jobstats_totals *t, snapshot_put_fn put, void *ctx)
{
	struct rec_counters rec = { .submitted = t->submitted };

	for (int o = 0; o < JS_OUTCOMES; o++)
		rec.ended[o] = t->ended[o];
	return put(ctx, REC_SNAP_COUNTERS, &rec, sizeof(rec), NULL, 0);
}

/* Whether a user paused scheduling, said either way. */
static int scheduler_out(const struct state *st, snapshot_put_fn put, void *ctx)
{
	struct rec_scheduler rec = { .paused = st->paused, .uid = 0 };

	return put(ctx, REC_SCHEDULER, &rec, sizeof(rec), NULL, 0);
}

/* Each trigger's definition and, if it fired, its last fire (issue 15). */
static int triggers_out(const struct state *st, snapshot_put_fn put, void *ctx)
{
	const struct triggers *t = &st->triggers;

	for (uint32_t i = 0; i < t->count; i++) {
		const struct trigger *tr = t->list[i];
		if (!tr)
			continue;
		struct rec_trigger rec = { .uid = tr->uid, .gid = tr->gid,
					   .flags = tr->switch_user ? REC_TRIGGER_SWITCH_USER : 0,
					   .created_ns = tr->created_ns };
		struct rec_trigger_fire f = { .fire_id = tr->fire_count, .time_ns = tr->last_fire_ns,
					      .job_id = tr->last_job_id, .uid = tr->uid,
					      .payload_bytes = tr->last_payload_bytes,
					      .flags = tr->last_fire_flags };
		memcpy(rec.name, tr->name, sizeof(rec.name));
		memcpy(f.name, tr->name, sizeof(f.name));
		int rc = put(ctx, REC_TRIGGER, &rec, sizeof(rec), tr->def, strlen(tr->def));
		if (rc == 0 && tr->fire_count)
			rc = put(ctx, REC_TRIGGER_FIRE, &f, sizeof(f), NULL, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int snapshot_state_out(struct state *st, const struct jobstats_totals *totals,
		       snapshot_put_fn put, void *ctx)
{
	int rc = queues_out(st, put, ctx);

	if (rc == 0)
		rc = scheduler_out(st, put, ctx);
	if (rc == 0)
		rc = triggers_out(st, put, ctx);
	if (rc == 0)
		rc = schedules_out(st, put, ctx);
	if (rc == 0)
		rc = origins_out(st, put, ctx);
	/* The notifications' outbox and the queues' notify settings (issue
	 * 16): what is not delivered yet must outlive the journal it was in. */
	if (rc == 0)
		rc = outbox_write(&st->outbox, put, ctx);
	if (rc == 0)
		rc = counters_out(totals, put, ctx);
	if (rc == 0)
		rc = allocs_write(&st->allocs, put, ctx);	/* issue 17 */
	return rc;
}
