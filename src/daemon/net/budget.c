/*
 * budget.c - bytes and connections for all of the control socket's
 * connections together. See budget.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/common.h"
#include "daemon/net/budget.h"

int budget_init(struct budget *b, const struct budget_opts *o)
{
	uint32_t slots = 16;

	*b = (struct budget){ .o = *o };
	if (!b->o.max_bytes)
		b->o.max_bytes = BUDGET_BYTES_DEFAULT;
	if (!b->o.max_per_uid)
		b->o.max_per_uid = BUDGET_PER_UID_DEFAULT;
	b->reserved = o->max_connections / 4;	/* small limits keep most for everyone */
	if (b->reserved > BUDGET_RESERVED_MAX)
		b->reserved = BUDGET_RESERVED_MAX;
	while (slots < 2 * (uint64_t)o->max_connections)
		slots *= 2;
	b->uids = calloc(slots, sizeof(*b->uids));
	b->uid_mask = slots - 1;
	b->st.max_bytes = b->o.max_bytes;
	b->st.max_per_uid = b->o.max_per_uid;
	b->st.reserved = b->reserved;
	return b->uids ? 0 : -ENOMEM;
}

void budget_fini(struct budget *b)
{
	free(b->uids);
	b->uids = NULL;
}

bool budget_privileged(const struct budget *b, uid_t uid)
{
	return uid == 0 || uid == b->o.owner;
}

/* --- connections per uid ------------------------------------------------------ */

static uint32_t uid_home(const struct budget *b, uid_t uid)
{
	return ((uint32_t)uid * 2654435761u) & b->uid_mask;
}

/* uid's slot, or the free one where it would go. */
static struct budget_uid *uid_slot(const struct budget *b, uid_t uid)
{
	for (uint32_t i = uid_home(b, uid);; i = (i + 1) & b->uid_mask)
		if (!b->uids[i].count || b->uids[i].uid == uid)
			return &b->uids[i];
}

/* Linear probing's deletion: later entries of the run move back into
 * the hole, so that no lookup stops early. */
static void uid_remove(struct budget *b, struct budget_uid *gone)
{
	uint32_t hole = (uint32_t)(gone - b->uids);

	for (uint32_t i = (hole + 1) & b->uid_mask; b->uids[i].count; i = (i + 1) & b->uid_mask) {
		uint32_t home = uid_home(b, b->uids[i].uid);
		/* i may move to hole if its home is not in (hole, i] */
		if (((i - home) & b->uid_mask) >= ((i - hole) & b->uid_mask)) {
			b->uids[hole] = b->uids[i];
			b->uids[i].count = 0;
			hole = i;
		}
	}
}

enum budget_admit budget_admit(struct budget *b, uid_t uid)
{
	bool privileged = budget_privileged(b, uid);
	struct budget_uid *u = uid_slot(b, uid);

	if (b->open >= b->o.max_connections) {
		b->st.refused_full++;
		return BUDGET_FULL;
	}
	if (!privileged && b->open >= b->o.max_connections - b->reserved) {
		b->st.refused_reserved++;
		return BUDGET_RESERVED;
	}
	if (!privileged && u->count >= b->o.max_per_uid) {
		b->st.refused_uid++;
		return BUDGET_UID_FULL;
	}
	u->uid = uid;
	u->count++;
	b->open++;
	return BUDGET_ADMITTED;
}

enum budget_admit budget_move(struct budget *b, uid_t from, uid_t to)
{
	struct budget_uid *u = uid_slot(b, to);

	if (from == to)
		return BUDGET_ADMITTED;
	if (!budget_privileged(b, to) && u->count >= b->o.max_per_uid) {
		b->st.refused_uid++;
		return BUDGET_UID_FULL;
	}
	u->uid = to;
	u->count++;
	b->open++;		/* budget_leave takes it back off */
	budget_leave(b, from);
	return BUDGET_ADMITTED;
}

void budget_leave(struct budget *b, uid_t uid)
{
	struct budget_uid *u = uid_slot(b, uid);

	JR_ASSERT(u->count > 0 && b->open > 0);	/* left once per admission */
	b->open--;
	if (--u->count == 0)
		uid_remove(b, u);
}

void budget_refusal(const struct budget *b, enum budget_admit why, char *out, size_t size)
{
	static const char *const fmt[] = {
		[BUDGET_FULL] = "{\"error\":{\"code\":\"too_many_connections\",\"limit\":"
			"\"max_connections\",\"value\":%u,\"message\":\"the daemon holds "
			"--max-connections (%u) connections; try again later\"}}",
		[BUDGET_RESERVED] = "{\"error\":{\"code\":\"too_many_connections\",\"limit\":"
			"\"reserved_connections\",\"value\":%u,\"message\":\"only the last %u "
			"connections are left, kept for root and the daemon's owner; try again "
			"later\"}}",
		[BUDGET_UID_FULL] = "{\"error\":{\"code\":\"too_many_connections\",\"limit\":"
			"\"max_connections_per_uid\",\"value\":%u,\"message\":\"this uid holds "
			"--max-connections-per-uid (%u) connections; close some first\"}}",
	};
	uint32_t v = why == BUDGET_FULL ? b->o.max_connections :
		     why == BUDGET_RESERVED ? b->reserved : b->o.max_per_uid;

	JR_ASSERT(why != BUDGET_ADMITTED);
	snprintf(out, size, fmt[why], v, v);
}

/* --- bytes ------------------------------------------------------------------------ */

void budget_charge(struct budget *b, size_t *held, size_t bytes_now)
{
	JR_ASSERT(b->st.used_bytes >= *held);	/* charged here before */
	if (bytes_now < *held)
		b->freed = true;
	b->st.used_bytes = b->st.used_bytes - *held + bytes_now;
	*held = bytes_now;
	if (b->st.used_bytes > b->st.peak_bytes)
		b->st.peak_bytes = b->st.used_bytes;
}

bool budget_may_grow(const struct budget *b, size_t held, bool output_empty, bool privileged)
{
	size_t limit = privileged ? b->o.max_bytes : b->o.max_bytes - b->o.max_bytes / 8;
	size_t fair = limit / (b->open ? b->open : 1);

	if (b->st.used_bytes >= limit)
		return false;
	return b->st.used_bytes < limit / 2 || held <= fair || output_empty;
}

bool budget_take_freed(struct budget *b)
{
	bool freed = b->freed;

	b->freed = false;
	return freed;
}

void budget_paused(struct budget *b, bool paused)
{
	if (paused) {
		b->st.paused++;
		b->st.paused_total++;
	} else {
		JR_ASSERT(b->st.paused > 0);
		b->st.paused--;
	}
}

void budget_get_stats(const struct budget *b, struct budget_stats *out)
{
	*out = b->st;
}
