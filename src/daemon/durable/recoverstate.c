/*
 * recoverstate.c - the records of what the daemon holds beside its jobs,
 * applied to the picture recovery builds: schedules and the origins of
 * the jobs they fired (issue 15), whether scheduling is paused, the
 * queues, the registered workers, the triggers and the allocation queues
 * (issue 17). recover_record() (recover.c) hands them here. See
 * recoverstate.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/common.h"
#include "daemon/durable/recoverstate.h"
#include "daemon/state/allocrec.h"
#include "daemon/state/schedules.h"

/* --- schedules (issue 15) ----------------------------------------------------------- */

static struct schedules *sched_recovery(struct recovery *r)
{
	if (!r->sched)
		r->sched = schedules_new();
	return r->sched;
}

/* A schedule as its record says; the fires after it advance its last
 * due. A definition that no longer reads is dropped, said so. */
int recover_schedule(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_schedule h;
	struct schedule_def d;
	struct schedule *sc;
	char why[256];
	cJSON *o;
	int err;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (h.def_len != len - sizeof(h) || !sched_recovery(r))
		return h.def_len != len - sizeof(h) ? -EPROTO : -ENOMEM;
	o = cJSON_ParseWithLength((const char *)p + sizeof(h), h.def_len);
	if (!o || !schedule_def_parse(o, &d, why, sizeof(why))) {
		fprintf(stderr, "jobringd: schedule %u no longer reads (%s): dropped\n", h.id,
			o ? why : "not JSON");
		cJSON_Delete(o);
		return 0;
	}
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	sc = schedules_get(r->sched, h.id);
	if (sc) {
		uint64_t created = sc->created_ns;
		err = json ? schedules_replace(r->sched, sc, &d, json, h.created_ns) : -ENOMEM;
		sc->created_ns = created;
	} else {
		sc = json ? schedules_add(r->sched, h.id, h.uid, h.gid, &d, json, h.last_due_ns,
					  h.created_ns, &err) : NULL;
		err = json ? err : -ENOMEM;
	}
	free(json);
	schedule_def_free(&d);
	if (err == -ENOMEM)
		return err;
	if (sc && h.last_due_ns > sc->last_due)
		sc->last_due = h.last_due_ns;
	if (sc && h.op == REC_SCHEDULE_SNAPSHOT) {
		sc->fired = h.fired;
		sc->skipped = h.skipped;
		sc->missed = h.missed;
		sc->coalesced = h.coalesced;
	}
	if (h.next_id > r->sched->next_id)
		r->sched->next_id = h.next_id;
	return 0;
}

int recover_schedule_delete(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_schedule_delete h;
	struct schedule *sc;

	if (len != sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	sc = r->sched ? schedules_get(r->sched, h.id) : NULL;
	if (sc)
		schedules_remove(r->sched, sc);
	return 0;
}

int recover_snap_origins(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rec_origin_job e;

	if (len % sizeof(e))
		return -EPROTO;
	for (uint32_t at = 0; at < len; at += sizeof(e)) {
		memcpy(&e, p + at, sizeof(e));
		e.origin.name[sizeof(e.origin.name) - 1] = '\0';
		if (fired_put(&r->origins, e.job_id, &e.origin) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A fire's origin (issue 15): kept for its job, and a schedule's last
 * fired due instant advanced. */
void recover_origin(struct recovery *r, jr_job_id id, const struct rec_origin *o)
{
	fired_put(&r->origins, id, o);
	if (o->kind == REC_ORIGIN_SCHEDULE && sched_recovery(r))
		schedules_note_fire(r->sched, o->source_id, o->due_ns, id);
}

/* --- the scheduler, queues and workers ---------------------------------------------- */

int recover_scheduler(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_scheduler s;

	if (len != sizeof(s))
		return -EPROTO;
	memcpy(&s, p, sizeof(s));
	r->paused = s.paused != 0;
	return 0;
}

/* The queues recovered so far, by name: NULL if none has it. */
static struct rec_queue *queue_named(struct recovery *r, const char *name)
{
	for (uint32_t i = 0; i < r->queue_count; i++)
		if (strcmp(r->queues[i].name, name) == 0)
			return &r->queues[i];
	return NULL;
}

/* REC_QUEUE (created) and REC_QUEUE_UPDATE: the queue's settings now; an
 * update of the default queue is its only record. */
int recover_queue(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_queue q, *n;

	if (len != sizeof(q))
		return -EPROTO;
	memcpy(&q, p, sizeof(q));
	q.name[sizeof(q.name) - 1] = '\0';
	if ((n = queue_named(r, q.name)) != NULL) {
		*n = q;
		return 0;
	}
	n = realloc(r->queues, (r->queue_count + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->queues = n;
	n[r->queue_count++] = q;
	return 0;
}

int recover_queue_delete(struct recovery *r, const void *p, uint32_t len)
{
	struct rec_queue q, *n;

	if (len != sizeof(q))
		return -EPROTO;
	memcpy(&q, p, sizeof(q));
	q.name[sizeof(q.name) - 1] = '\0';
	n = queue_named(r, q.name);
	if (n) {	/* the rest keep their order: ids follow it */
		size_t at = (size_t)(n - r->queues);
		memmove(n, n + 1, (r->queue_count - at - 1) * sizeof(*n));
		r->queue_count--;
	}
	return 0;
}

int recover_worker(struct recovery *r, const uint8_t *p, uint32_t len)
{
	struct rworker *n;

	if (len < sizeof(struct rec_worker))
		return -EPROTO;
	/* Doubling (8, 16, 32...): a journal of 100,000 registrations and
	 * removals must not copy the array 100,000 times. */
	if (r->worker_count == 0 ||
	    (r->worker_count >= 8 && (r->worker_count & (r->worker_count - 1)) == 0)) {
		n = realloc(r->workers, (r->worker_count < 8 ? 8 : r->worker_count * 2) *
						sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->workers = n;
	}
	n = r->workers;
	n = &n[r->worker_count++];
	memcpy(&n->rec, p, sizeof(n->rec));
	n->json = strndup((const char *)p + sizeof(n->rec), len - sizeof(n->rec));
	return n->json ? 0 : -ENOMEM;
}

/* --- triggers and allocation queues ------------------------------------------------- */

/* A trigger's record (issue 15). One that no longer reads (a definition
 * this version refuses) is skipped with a line in the log, also in a
 * snapshot: a trigger lost is better than a daemon that cannot start. */
int recover_trigger(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	int rc = triggers_apply(&r->triggers, type, p, len);

	if (rc == -EPROTO) {
		fprintf(stderr, "jobringd: a %s record does not read as one: skipped\n",
			rec_type_name(type));
		rc = 0;
	}
	return rc;
}

/* An allocation queue's record (issue 17); one that does not read is
 * skipped with a line in the log, as a trigger's. */
int recover_alloc(struct recovery *r, uint16_t type, const void *p, uint32_t len)
{
	int rc = allocs_apply(&r->allocs, type, p, len);

	if (rc == -EPROTO || rc == -ENOSPC) {
		fprintf(stderr, "jobringd: a %s record does not read as one: skipped\n",
			rec_type_name(type));
		rc = 0;
	}
	return rc;
}
