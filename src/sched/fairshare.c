/*
 * fairshare.c - fair share: each user's decayed usage (cpus x run time,
 * halved every fair_share_half_life_ns) and the points a pass takes off
 * its jobs' priority (weight x its share of all usage). See scheduler.h
 * (jr_sched_policy) and schedint.h.
 */
#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/common.h"
#include "sched/scheduler.h"
#include "sched/schedint.h"

struct jr_sched_user *sched_user_of(struct jr_sched *s, uint32_t uid)
{
	for (uint32_t i = 0; i < s->user_count; i++)
		if (s->users[i].uid == uid)
			return &s->users[i];
	if (jr_array_grow(&s->users, &s->user_cap, s->user_count, s->user_count + 1,
			  sizeof(*s->users), 4) < 0)
		return NULL;
	s->users[s->user_count] = (struct jr_sched_user){ .uid = uid };
	return &s->users[s->user_count++];
}

static void usage_decay(const struct jr_sched *s, struct jr_sched_user *u, uint64_t now)
{
	if (now > u->usage_at_ns && u->usage > 0)
		u->usage *= exp2(-(double)(now - u->usage_at_ns) /
				 (double)s->policy.fair_share_half_life_ns);
	if (now > u->usage_at_ns)
		u->usage_at_ns = now;
}

/* An attempt ended: its user used cpus x run time (one core: external). */
void sched_charge_usage(struct jr_sched *s, const struct jr_sched_job *job, uint64_t now)
{
	struct jr_sched_user *u;
	uint32_t cpus = job->req->cpus ? job->req->cpus : 1;

	if (!s->policy.fair_share_weight || now <= job->start_ns)
		return;
	u = sched_user_of(s, job->uid);
	if (!u)
		return;		/* out of memory: the attempt goes uncharged */
	usage_decay(s, u, now);
	u->usage += (double)cpus * (double)(now - job->start_ns) / 1e9;
}

/* Each user's points off for this pass: weight x its share of usage. */
void sched_fair_share_penalties(struct jr_sched *s, uint64_t now)
{
	double total = 0;

	for (uint32_t i = 0; i < s->user_count; i++) {
		usage_decay(s, &s->users[i], now);
		total += s->users[i].usage;
	}
	for (uint32_t i = 0; i < s->user_count; i++)
		s->users[i].penalty = total > 0 ?
			llround((double)s->policy.fair_share_weight * s->users[i].usage / total) : 0;
}
