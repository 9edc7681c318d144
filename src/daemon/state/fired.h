/*
 * fired.h - where each fired job came from (issue 15): job id to its
 * origin (records.h's rec_origin: a schedule's id and due instant, or a
 * trigger's name and fire id). Filled by the fire function (api/fire.h)
 * and by recovery; read by GET /jobs/{id}; written out by snapshots.
 * Entries of jobs that left the engine's table are swept now and then
 * (fired_sweep). The event loop's thread only.
 */
#ifndef JR_FIRED_H
#define JR_FIRED_H

#include <stdbool.h>
#include <stdint.h>

#include "jobring.h"
#include "daemon/durable/records.h"

struct fired_entry {
	jr_job_id id;		/* 0: empty */
	struct rec_origin origin;
};

struct fired {
	struct fired_entry *slots;
	uint64_t cap, count;	/* cap: a power of two, or 0 */
};

/* 0 or -ENOMEM (the map is unchanged). */
int fired_put(struct fired *f, jr_job_id id, const struct rec_origin *o);
const struct rec_origin *fired_get(const struct fired *f, jr_job_id id);
void fired_remove(struct fired *f, jr_job_id id);
/* Drop the entries whose job the engine no longer has. */
void fired_sweep(struct fired *f, struct jr_engine *e);
void fired_destroy(struct fired *f);

/* For each entry (snapshots): stops when fn returns false. */
void fired_each(const struct fired *f, bool (*fn)(void *ctx, const struct fired_entry *e),
		void *ctx);

#endif
