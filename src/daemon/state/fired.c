/*
 * fired.c - fired jobs' origins: open addressing, linear probing,
 * deletion by backward shift. See fired.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/fired.h"

static uint64_t slot_of(uint64_t id, uint64_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return id & (cap - 1);
}

static int grow(struct fired *f)
{
	uint64_t cap = f->cap ? f->cap * 2 : 1024;
	struct fired_entry *n = calloc(cap, sizeof(*n)), *old = f->slots;

	if (!n)
		return -ENOMEM;
	for (uint64_t i = 0; i < f->cap; i++) {
		if (!old[i].id)
			continue;
		uint64_t k = slot_of(old[i].id, cap);
		while (n[k].id)
			k = (k + 1) & (cap - 1);
		n[k] = old[i];
	}
	free(old);
	f->slots = n;
	f->cap = cap;
	return 0;
}

int fired_put(struct fired *f, jr_job_id id, const struct rec_origin *o)
{
	uint64_t k;

	if (!id)
		return -EINVAL;
	if ((f->count + 1) * 4 > f->cap * 3 && grow(f) < 0)
		return -ENOMEM;
	k = slot_of(id, f->cap);
	while (f->slots[k].id && f->slots[k].id != id)
		k = (k + 1) & (f->cap - 1);
	f->count += f->slots[k].id == 0;
	f->slots[k].id = id;
	f->slots[k].origin = *o;
	return 0;
}

static int64_t find(const struct fired *f, jr_job_id id)
{
	if (!f->cap || !id)
		return -1;
	for (uint64_t k = slot_of(id, f->cap);; k = (k + 1) & (f->cap - 1)) {
		if (f->slots[k].id == id)
			return (int64_t)k;
		if (!f->slots[k].id)
			return -1;
	}
}

const struct rec_origin *fired_get(const struct fired *f, jr_job_id id)
{
	int64_t k = find(f, id);

	return k < 0 ? NULL : &f->slots[k].origin;
}

void fired_remove(struct fired *f, jr_job_id id)
{
	int64_t at = find(f, id);
	uint64_t mask = f->cap - 1, hole, k;

	if (at < 0)
		return;
	hole = (uint64_t)at;
	f->slots[hole].id = 0;
	f->count--;
	for (k = (hole + 1) & mask; f->slots[k].id; k = (k + 1) & mask) {
		uint64_t home = slot_of(f->slots[k].id, f->cap);
		/* Move it into the hole unless its home lies in (hole, k]. */
		bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
		if (stays)
			continue;
		f->slots[hole] = f->slots[k];
		f->slots[k].id = 0;
		hole = k;
	}
}

void fired_sweep(struct fired *f, struct jr_engine *e)
{
	struct jr_job_info info;

	for (uint64_t i = 0; i < f->cap;) {
		jr_job_id id = f->slots[i].id;
		if (id && jr_job_get(e, id, &info) < 0) {
			fired_remove(f, id);	/* may shift another entry into i */
			continue;
		}
		i++;
	}
}

void fired_each(const struct fired *f, bool (*fn)(void *ctx, const struct fired_entry *e),
		void *ctx)
{
	for (uint64_t i = 0; i < f->cap; i++)
		if (f->slots[i].id && !fn(ctx, &f->slots[i]))
			return;
}

void fired_destroy(struct fired *f)
{
	free(f->slots);
	memset(f, 0, sizeof(*f));
}
