/*
 * scheduler.c - the scheduling pass: waiting order, EASY backfilling,
 * dependencies, delayed jobs. See scheduler.h for the policy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "sched/scheduler.h"
#include "sched/schedint.h"

#define AGE_INTERVAL_DEFAULT_NS (60ull * 1000000000ull)
#define HALF_LIFE_DEFAULT_NS (7ull * 24 * 3600 * 1000000000ull)

/* A job's group: its queue's, and with fair share its user's too. Found
 * by a scan: groups are few (queues x users with waiting jobs). */
static struct jr_sched_group *group_find(struct jr_sched *s, const struct jr_sched_job *job)
{
	uint32_t uid = s->policy.fair_share_weight ? job->uid : 0;

	for (uint32_t i = 0; i < s->group_count; i++) {
		struct jr_sched_group *g = &s->groups[i];
		if (g->queue == job->queue && g->uid == uid)
			return g;
	}
	return NULL;
}

static struct jr_sched_group *group_of(struct jr_sched *s, const struct jr_sched_job *job)
{
	struct jr_sched_group *g = group_find(s, job);
	struct jr_sched_user *u;

	if (g)
		return g;
	u = sched_user_of(s, s->policy.fair_share_weight ? job->uid : 0);
	if (!u || jr_array_grow(&s->groups, &s->group_cap, s->group_count,
				s->group_count + 1, sizeof(*s->groups), 4) < 0)
		return NULL;
	g = &s->groups[s->group_count++];
	*g = (struct jr_sched_group){ .uid = u->uid, .queue = job->queue,
				      .user = (uint32_t)(u - s->users) };
	return g;
}

/* A job on a heap keeps its priority, queue and uid (they say which
 * heap and where): to change one, waiting_remove(), change, then
 * waiting_insert(). */
static int waiting_insert(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_sched_group *g = group_of(s, job);
	struct jr_job_list *h;

	JR_ASSERT(job->queue < JR_QUEUE_MAX);
	if (!g || sched_list_reserve(&g->heap, g->heap.count + 1) < 0)
		return -ENOMEM;
	h = &g->heap;
	sched_list_set(h, h->count++, job);
	sched_wheap_up(s, h, h->count - 1);
	job->list = ON_WAITING;
	if (job->state == JR_SCHED_STAND_IN)	/* its owner counts its jobs */
		return 0;
	s->waiting_count++;
	s->waiting_by_level[jr_priority_level(job->priority)]++;
	return 0;
}

static void waiting_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_sched_group *g = group_find(s, job);
	struct jr_job_list *h;
	uint32_t i = job->index;

	JR_ASSERT(g != NULL);	/* its queue or uid changed while it waited */
	h = &g->heap;
	JR_ASSERT(job->list == ON_WAITING && i < h->count && h->items[i] == job);
	h->count--;
	if (i != h->count) {
		sched_list_set(h, i, h->items[h->count]);
		sched_wheap_down(s, h, i);
		sched_wheap_up(s, h, h->items[i]->index);
	}
	job->list = ON_NONE;
	if (job->state == JR_SCHED_STAND_IN)
		return;
	s->waiting_count--;
	s->waiting_by_level[jr_priority_level(job->priority)]--;
}

static void passed_add(struct jr_sched *s, struct jr_sched_job *job)
{
	sched_list_set(&s->passed, s->passed.count++, job);
	job->list = ON_PASSED;
}

/* A set-aside job ended during the pass (a cancel from a callback). */
static void passed_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *l = &s->passed;
	struct jr_sched_job *last = l->items[--l->count];

	JR_ASSERT(job->list == ON_PASSED && l->items[job->index] == job);
	if (last != job)
		sched_list_set(l, job->index, last);
	job->list = ON_NONE;
}

static int running_add(struct jr_sched *s, struct jr_sched_job *job)
{
	if (sched_list_reserve(&s->running, s->running.count + 1) < 0)
		return -ENOMEM;
	sched_list_set(&s->running, s->running.count++, job);
	job->list = ON_RUNNING;
	return 0;
}

static void running_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *l = &s->running;
	struct jr_sched_job *last = l->items[--l->count];

	JR_ASSERT(job->list == ON_RUNNING && l->items[job->index] == job);
	if (last != job)
		sched_list_set(l, job->index, last);
	job->list = ON_NONE;
}

static int delayed_push(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *h = &s->delayed;

	if (sched_list_reserve(h, h->count + 1) < 0)
		return -ENOMEM;
	sched_list_set(h, h->count++, job);
	sched_heap_up_by(h, job->index, false);
	job->list = ON_DELAYED;
	return 0;
}

static void delayed_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	sched_heap_remove_by(&s->delayed, job, false);
}

/* --- life cycle ----------------------------------------------------------- */

void jr_sched_init(struct jr_sched *s, struct jr_pools *pools,
		   const struct jr_sched_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->pools = pools;
	s->ops = *ops;
	s->shadow_ns = JR_TIME_NEVER;
}

void jr_sched_destroy(struct jr_sched *s)
{
	for (uint32_t g = 0; g < s->group_count; g++)
		jr_free(s->groups[g].heap.items);
	jr_free(s->groups);
	jr_free(s->users);
	jr_free(s->passed.items);
	jr_free(s->running.items);
	jr_free(s->delayed.items);
	for (uint32_t i = 0; i < s->throttle_count; i++)
		jr_free(s->throttles[i].parked.items);
	jr_free(s->throttles);
	memset(s, 0, sizeof(*s));
}

void jr_sched_set_policy(struct jr_sched *s, const struct jr_sched_policy *p)
{
	JR_ASSERT(s->waiting_count == 0 && s->group_count == 0);
	s->policy = *p;
	if (!s->policy.age_interval_ns)
		s->policy.age_interval_ns = AGE_INTERVAL_DEFAULT_NS;
	if (!s->policy.fair_share_half_life_ns)
		s->policy.fair_share_half_life_ns = HALF_LIFE_DEFAULT_NS;
}

void jr_sched_set_queue_cap(struct jr_sched *s, uint32_t queue, uint32_t cap)
{
	JR_ASSERT(queue < JR_QUEUE_MAX);
	s->queue_cap[queue] = cap;
}

bool jr_sched_queue_full(const struct jr_sched *s, uint32_t queue)
{
	return queue < JR_QUEUE_MAX && s->queue_cap[queue] &&
	       s->queue_running[queue] >= s->queue_cap[queue];
}

enum jr_dep_outcome jr_sched_dep_outcome(enum jr_sched_state st, unsigned type)
{
	bool ended = st == JR_SCHED_SUCCEEDED || st == JR_SCHED_FAILED ||
		     st == JR_SCHED_CANCELLED;

	switch (type) {
	case JR_DEP_AFTERANY:
		return ended ? JR_DEP_MET : JR_DEP_WAIT;
	case JR_DEP_AFTERNOTOK:
		if (!ended)
			return JR_DEP_WAIT;
		return st == JR_SCHED_SUCCEEDED ? JR_DEP_NEVER : JR_DEP_MET;
	case JR_DEP_AFTER:
		return ended || st == JR_SCHED_RUNNING ? JR_DEP_MET : JR_DEP_WAIT;
	default:	/* JR_DEP_AFTEROK */
		if (!ended)
			return JR_DEP_WAIT;
		return st == JR_SCHED_SUCCEEDED ? JR_DEP_MET : JR_DEP_NEVER;
	}
}

static enum jr_reason never_reason(unsigned type)
{
	return type == JR_DEP_AFTEROK ? JR_REASON_DEPENDENCY_FAILED :
					JR_REASON_DEPENDENCY_NEVER_SATISFIED;
}

void jr_sched_doom(struct jr_sched_job *job, unsigned type)
{
	if (!job->doomed)
		job->doomed = (uint8_t)never_reason(type);
}

/* Room for one more of p's dependents: 0 or -ENOMEM. */
static int deps_room(struct jr_sched_job *p)
{
	uint32_t count = jr_sched_dependent_count(p), cap = p->dependents ? p->dependents->cap : 0;
	struct jr_sched_deps *d;

	if (count < cap)
		return 0;
	cap = cap ? 2 * cap : 4;
	d = jr_malloc(sizeof(*d) + (size_t)cap * sizeof(d->edge[0]));
	if (!d)
		return -ENOMEM;
	d->count = count;
	d->cap = cap;
	if (count)
		memcpy(d->edge, p->dependents->edge, (size_t)count * sizeof(d->edge[0]));
	jr_free(p->dependents);
	p->dependents = d;
	return 0;
}

int jr_sched_depend(struct jr_sched_job *job, struct jr_sched_job *p, unsigned type)
{
	enum jr_dep_outcome o = jr_sched_dep_outcome(p->state, type);

	if (o == JR_DEP_MET)
		return 0;
	if (o == JR_DEP_NEVER) {
		jr_sched_doom(job, type);
		return 0;
	}
	if (deps_room(p) < 0)
		return -ENOMEM;
	p->dependents->edge[p->dependents->count++] = (struct jr_sched_dep){ job, type };
	job->deps_left++;
	return 0;
}

/* One of the group stopped running: its oldest parked job waits again. */
static void throttle_unpark(struct jr_sched *s, struct jr_sched_throttle *t)
{
	struct jr_sched_job *job;

	if (!t->parked.count || t->running >= t->max)
		return;
	job = t->parked.items[0];
	sched_heap_remove_by(&t->parked, job, true);
	s->waiting_count--;	/* waiting_insert counts it again */
	s->waiting_by_level[jr_priority_level(job->priority)]--;
	waiting_insert(s, job);
}

/* Its dependencies and start time allow it: wait for resources, or go
 * to the owner (an external worker's job). */
static int become_waiting(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	job->state = JR_SCHED_WAITING;
	if (s->ops.eligible && s->ops.eligible(s->ops.ctx, job, now)) {
		job->list = ON_NONE;
		return 0;
	}
	return waiting_insert(s, job);
}

static int make_eligible(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	if (job->not_before_ns > now)
		return delayed_push(s, job);
	return become_waiting(s, job, now);
}

static void drop_dependents(struct jr_sched_job *job)
{
	jr_free(job->dependents);
	job->dependents = NULL;
}

static void resolve_dependents(struct jr_sched *s, struct jr_sched_job *job, uint64_t now);

/* A job that has not started off whatever list it is on (the owner's
 * own lists are the owner's). */
static void unlist(struct jr_sched *s, struct jr_sched_job *job)
{
	if (job->list == ON_WAITING)
		waiting_remove(s, job);
	else if (job->list == ON_DELAYED)
		delayed_remove(s, job);
	else if (job->list == ON_PASSED)
		passed_remove(s, job);
	else if (job->list == ON_PARKED) {
		sched_heap_remove_by(&sched_throttle_of(s, job)->parked, job, true);
		s->waiting_count--;
		s->waiting_by_level[jr_priority_level(job->priority)]--;
	}
}

/* A job that never ran ends cancelled (off whatever list it is on), its
 * owner is told, and its dependents learn it ended. */
static void end_unrun(struct jr_sched *s, struct jr_sched_job *job,
		      enum jr_reason reason, uint64_t now)
{
	unlist(s, job);
	job->state = JR_SCHED_CANCELLED;
	job->reason = reason;
	jr_sched_throttle_leave(s, job);
	if (s->ops.ended)
		s->ops.ended(s->ops.ctx, job, now);
	resolve_dependents(s, job, now);
}

/* A dependent's last dependency is met. Released by a start, which may
 * happen inside a pass, it goes through the delayed heap: the next pass
 * makes it waiting, and the pass under way walks no list it changed. */
static void release(struct jr_sched *s, struct jr_sched_job *d, bool in_pass, uint64_t now)
{
	if (!in_pass) {
		make_eligible(s, d, now);
		return;
	}
	if (d->not_before_ns < now)
		d->not_before_ns = now;
	delayed_push(s, d);
}

/* One edge, by job's state now; false: keep waiting on it. */
static bool resolve_edge(struct jr_sched *s, struct jr_sched_job *job,
			 const struct jr_sched_dep *e, uint64_t now)
{
	struct jr_sched_job *d = e->job;
	enum jr_dep_outcome o = jr_sched_dep_outcome(job->state, e->type);

	if (o == JR_DEP_WAIT)
		return false;
	if (d->state != JR_SCHED_PENDING)
		return true;	/* cancelled by another dependency already */
	if (o == JR_DEP_NEVER)
		end_unrun(s, d, never_reason(e->type), now);
	else if (--d->deps_left == 0 && !d->held)
		release(s, d, job->state == JR_SCHED_RUNNING, now);
	return true;
}

/* job started or ended: every edge its state settles is dropped (the
 * dependent released or cancelled), the others kept. Each dependent is
 * pending (it cannot have started), so it is on no list but perhaps the
 * delayed heap. */
static void resolve_dependents(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < jr_sched_dependent_count(job); i++) {
		struct jr_sched_dep e = job->dependents->edge[i];
		if (!resolve_edge(s, job, &e, now))
			job->dependents->edge[kept++] = e;
	}
	if (job->dependents)
		job->dependents->count = kept;
	if (!kept)
		drop_dependents(job);
}

static uint32_t age_epoch_at(const struct jr_sched *s, uint64_t now)
{
	return s->policy.age_points ? (uint32_t)(now / s->policy.age_interval_ns) : 0;
}

/* jr_sched_submit() once its order and age are set. */
static int enter(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	job->state = JR_SCHED_PENDING;
	job->list = ON_NONE;
	if (job->doomed) {
		end_unrun(s, job, (enum jr_reason)job->doomed, now);
		return 0;
	}
	return job->deps_left || job->held ? 0 : make_eligible(s, job, now);
}

int jr_sched_submit(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	job->seq = s->next_seq++;
	job->age_epoch = age_epoch_at(s, now);
	return enter(s, job, now);
}

/* --- stand-ins --------------------------------------------------------------- */

int jr_sched_stand_in(struct jr_sched *s, struct jr_sched_job *stand_in, uint32_t count,
		      uint64_t now)
{
	JR_ASSERT(count > 0 && s->ops.expand);
	stand_in->seq = s->next_seq;
	stand_in->age_epoch = age_epoch_at(s, now);
	stand_in->state = JR_SCHED_STAND_IN;
	stand_in->list = ON_NONE;
	if (waiting_insert(s, stand_in) < 0)
		return -ENOMEM;
	s->next_seq += count;
	return 0;
}

int jr_sched_submit_from(struct jr_sched *s, struct jr_sched_job *job,
			 struct jr_sched_job *stand_in, uint64_t now)
{
	JR_ASSERT(stand_in->state == JR_SCHED_STAND_IN && stand_in->list == ON_NONE);
	job->seq = stand_in->seq++;
	job->age_epoch = stand_in->age_epoch;
	return enter(s, job, now);
}

void jr_sched_stand_in_remove(struct jr_sched *s, struct jr_sched_job *stand_in)
{
	JR_ASSERT(stand_in->state == JR_SCHED_STAND_IN);
	if (stand_in->list == ON_WAITING)
		waiting_remove(s, stand_in);
}

int jr_sched_stand_in_put(struct jr_sched *s, struct jr_sched_job *stand_in)
{
	JR_ASSERT(stand_in->state == JR_SCHED_STAND_IN && stand_in->list == ON_NONE);
	return waiting_insert(s, stand_in);
}

/* A pass reached a stand-in: the jobs it builds go on its heap, and it
 * goes back behind them while it stands for more. Room for all of them is
 * made first: without it the stand-in goes back as it was (false: the
 * pass stops). */
static bool expand_in_pass(struct jr_sched *s, struct jr_sched_group *g,
			   struct jr_sched_job *stand_in, uint64_t now)
{
	if (sched_list_reserve(&g->heap, g->heap.count + JR_SCHED_EXPAND_MAX + 1) < 0) {
		int rc = waiting_insert(s, stand_in);
		JR_ASSERT(rc == 0);	/* it was there a moment ago */
		return false;
	}
	if (s->ops.expand(s->ops.ctx, stand_in, now)) {
		int rc = waiting_insert(s, stand_in);
		JR_ASSERT(rc == 0);	/* reserved above */
	}
	return true;
}

/* --- the pass -------------------------------------------------------------- */

/* A job's allocation record exists only while it holds resources, and
 * only as long as the host's core bitmap (jr_alloc_size(): 272 bytes up
 * to 64 cores, 392 at 1,024, 1,288 at JR_CORES_MAX): nothing that a
 * million waiting jobs need carry. */
static bool reserve(struct jr_pools *p, struct jr_sched_job *job)
{
	struct jr_alloc a;

	JR_ASSERT(job->alloc == NULL);
	if (jr_res_reserve(p, job->req, &a) != 0)
		return false;
	job->alloc = jr_malloc(jr_alloc_size(a.words));
	if (!job->alloc) {
		jr_res_release(p, &a);
		return false;
	}
	memcpy(job->alloc, &a, jr_alloc_size(a.words));
	return true;
}

static void give_back(struct jr_pools *p, struct jr_sched_job *job)
{
	if (!job->alloc)
		return;
	jr_res_release(p, job->alloc);
	jr_free(job->alloc);
	job->alloc = NULL;
}

static void mark_running(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	job->state = JR_SCHED_RUNNING;
	job->start_ns = now;
	s->queue_running[job->queue]++;
	running_add(s, job);
	if (job->throttle)
		sched_throttle_of(s, job)->running++;
	if (job->dependents)	/* "after" dependents */
		resolve_dependents(s, job, now);
}

/* The owner starts it itself: no ops.start. */
void jr_sched_start_external(struct jr_sched *s, struct jr_sched_job *job,
			     uint64_t now)
{
	JR_ASSERT(job->state == JR_SCHED_WAITING && job->list == ON_NONE);
	JR_ASSERT(job->alloc == NULL);
	mark_running(s, job, now);
}

static void start_job(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	mark_running(s, job, now);
	job->local = true;
	s->running_local++;
	if (s->ops.start)
		s->ops.start(s->ops.ctx, job, now);
}

/* Expected end, then (jobs with no limit, all "never") start order, then
 * submission: the order a blocked head expects running jobs to end in. */
static int cmp_expected_end(const void *a, const void *b)
{
	const struct jr_sched_job *x = *(struct jr_sched_job *const *)a;
	const struct jr_sched_job *y = *(struct jr_sched_job *const *)b;

	uint64_t xe = jr_sched_expected_end(x), ye = jr_sched_expected_end(y);

	if (xe != ye)
		return xe < ye ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* When will head fit, and what may a job that outlives that use? Replay
 * the running jobs' ends on a copy of the pools, in the order above,
 * until head fits (head_alloc: the nodes and amounts it will take).
 *
 * Ended by a job with a known end (a time limit): that is the shadow
 * time, and the copy, with head's share taken, is what a backfilled job
 * that outlives it may use (EASY). Ended only by a job with no limit:
 * the shadow time is never, and head holds its share on the nodes it
 * will run on out of what is free now: the units of a kind it still
 * lacks there are all its own as they free up, those it has are kept for
 * it, and the rest is extra (jr_res_hold_for()). A job then starts only
 * if it fits that extra, so head starts as soon as what it waits for on
 * its nodes frees up. Head fitting nowhere even with every running job
 * ended (never, after jr_res_check_host()): nothing is extra. */
static uint64_t head_shadow(struct jr_sched *s, const struct jr_sched_job *head)
{
	struct jr_job_list *run = &s->running;
	struct jr_alloc head_alloc;

	s->scratch = *s->pools;
	qsort(run->items, run->count, sizeof(run->items[0]), cmp_expected_end);
	for (uint32_t i = 0; i < run->count; i++)
		run->items[i]->index = i;
	for (uint32_t i = 0; i < run->count; i++) {
		const struct jr_sched_job *r = run->items[i];
		if (!r->alloc)
			continue;	/* external: holds nothing here */
		jr_res_release(&s->scratch, r->alloc);
		/* The counts first: a reservation that fails costs its CASes. */
		if (!jr_res_fits(&s->scratch, head->req) ||
		    jr_res_reserve(&s->scratch, head->req, &head_alloc) != 0)
			continue;
		if (jr_sched_expected_end(r) != JR_TIME_NEVER)
			return jr_sched_expected_end(r);
		s->scratch = *s->pools;
		jr_res_hold_for(&s->scratch, &head_alloc);
		return JR_TIME_NEVER;
	}
	memset(s->scratch.core_free, 0, sizeof(s->scratch.core_free));
	for (uint32_t n = 0; n < s->scratch.numa_count; n++) {
		s->scratch.node[n].mem_free = 0;
		s->scratch.node[n].gpu_free = 0;
	}
	memset(s->scratch.custom_free, 0, sizeof(s->scratch.custom_free));
	return JR_TIME_NEVER;
}

/* Start job now if that cannot delay the head: it ends by a (known)
 * shadow time, or what it takes, node by node, fits what the head leaves
 * over (charged there, so the jobs backfilled by one pass add up). */
static bool backfill(struct jr_sched *s, struct jr_sched_job *job, uint64_t now,
		     uint64_t shadow)
{
	/* A running job past its expected end may end any moment: a shadow
	 * time in the past leaves no room to backfill by time. */
	bool in_time = job->limit_ns && shadow != JR_TIME_NEVER && shadow > now &&
		       job->limit_ns <= shadow - now;

	/* Most jobs behind a blocked head fit nowhere in the extra: refused
	 * on the copy's counts, before the live pools are touched. */
	if (!in_time && !jr_res_fits(&s->scratch, job->req))
		return false;
	if (!reserve(s->pools, job))
		return false;
	if (in_time)
		return true;	/* ends before the head needs anything */
	if (jr_res_reserve_like(&s->scratch, job->alloc) == 0)
		return true;	/* only uses what the head leaves over */
	give_back(s->pools, job);
	return false;
}

static void promote_delayed(struct jr_sched *s, uint64_t now)
{
	struct jr_job_list *h = &s->delayed;

	while (h->count && h->items[0]->not_before_ns <= now) {
		struct jr_sched_job *job = h->items[0];
		delayed_remove(s, job);
		become_waiting(s, job, now);
	}
}

static bool any_core_free(const struct jr_pools *p)
{
	for (uint32_t w = 0; w < p->core_words; w++)
		if (p->core_free[w])
			return true;
	return false;
}

/* --- fair share -------------------------------------------------------------- */

/* --- the pass: the groups' heads merged --------------------------------------- */

static bool throttle_full(struct jr_sched *s, const struct jr_sched_job *job)
{
	const struct jr_sched_throttle *t = sched_throttle_of(s, job);

	return t && t->running >= t->max;
}

/* What holds a job back wherever it would run: its full throttle (a job
 * array's %N), or, for a singleton, a running job of its name and user. */
static bool held_back(struct jr_sched *s, const struct jr_sched_job *job)
{
	if (throttle_full(s, job))
		return true;
	if (job->singleton && s->ops.same_name)
		for (uint32_t i = 0; i < s->running.count; i++)
			if (s->ops.same_name(s->ops.ctx, s->running.items[i], job))
				return true;
	return false;
}

bool jr_sched_may_start(struct jr_sched *s, const struct jr_sched_job *job)
{
	return !held_back(s, job);
}

/* May this job start now, beside the resources it needs? The per-job
 * admission checks of a pass, all here: the engine's cap on local jobs,
 * its queue's cap, its throttle and singleton. */
static bool may_start(struct jr_sched *s, const struct jr_sched_job *job)
{
	if (s->max_running && s->running_local >= s->max_running)
		return false;
	return !jr_sched_queue_full(s, job->queue) && !held_back(s, job);
}

/* A job the pass took off its heap whose throttle is full is parked
 * instead (still waiting, still counted), so a million throttled tasks
 * cost a pass nothing. 0, or -ENOMEM (it then goes back as passed). */
static int park_from_pass(struct jr_sched *s, struct jr_sched_job *job)
{
	int rc = sched_throttle_park(s, job);

	if (rc == 0) {
		s->waiting_count++;
		s->waiting_by_level[jr_priority_level(job->priority)]++;
	}
	return rc;
}

/* The group whose head goes next: highest key less its user's fair-share
 * penalty, then earliest seq; groups of a full queue sit out. NULL: none.
 * O(groups). */
static struct jr_sched_group *next_group(struct jr_sched *s)
{
	struct jr_sched_group *best = NULL;
	int64_t best_key = 0;

	for (uint32_t i = 0; i < s->group_count; i++) {
		struct jr_sched_group *g = &s->groups[i];
		const struct jr_sched_job *h;
		int64_t key;
		if (!g->heap.count || jr_sched_queue_full(s, g->queue))
			continue;
		h = g->heap.items[0];
		key = sched_order_key(s, h) - s->users[g->user].penalty;
		if (!best || key > best_key ||
		    (key == best_key && h->seq < best->heap.items[0]->seq)) {
			best = g;
			best_key = key;
		}
	}
	return best;
}

/* Take the head of g off its heap (the pass decides what becomes of it). */
static struct jr_sched_job *group_pop(struct jr_sched *s, struct jr_sched_group *g)
{
	struct jr_sched_job *job = g->heap.items[0];

	waiting_remove(s, job);
	return job;
}

/* Every job needs at least one core: once none is free, the rest of the
 * waiting jobs cannot start. Behind a blocked head at most
 * JR_BACKFILL_DEPTH jobs are tried (as Slurm's bf_max_job_test does), so a
 * pass costs O((started + depth) x (log n + groups)), not O(waiting). Jobs
 * looked at and not started wait on s->passed and go back to their heaps
 * after the pass. */
struct pass {
	struct jr_sched_job *head;
	uint32_t started, tried;
	uint64_t now;
};

static bool pass_may_go_on(struct jr_sched *s, const struct pass *ps)
{
	return any_core_free(s->pools) && ps->tried <= JR_BACKFILL_DEPTH &&
	       !(s->max_running && s->running_local >= s->max_running);
}

/* One job, in order: start it, make it the head, or set it aside. */
static bool pass_try(struct jr_sched *s, struct jr_sched_job *job, struct pass *ps)
{
	/* A refused job counts toward the depth even before a head: a pass
	 * stays bounded however many refused jobs lead the order (a limit
	 * that refuses many jobs at once is better a group that sits out,
	 * as a full queue's does in next_group()). */
	bool allowed = may_start(s, job);

	if (ps->head || !allowed)
		ps->tried++;
	if (!allowed)
		return false;
	if (!ps->head) {
		if (reserve(s->pools, job))
			return true;
		ps->head = job;
		s->shadow_ns = head_shadow(s, job);
		s->head_id = job->id;
		s->head_req = *job->req;
		s->has_head = true;
		return false;
	}
	if (!backfill(s, job, ps->now, s->shadow_ns))
		return false;
	s->backfilled++;
	return true;
}

static void put_back_passed(struct jr_sched *s)
{
	for (uint32_t i = 0; i < s->passed.count; i++) {
		int rc = waiting_insert(s, s->passed.items[i]);
		/* Room for it was there before the pass took it off. */
		JR_ASSERT(rc == 0);
	}
	s->passed.count = 0;
}

uint32_t jr_sched_pass(struct jr_sched *s, uint64_t now)
{
	struct pass ps = { .now = now };
	struct jr_sched_group *g;

	promote_delayed(s, now);
	s->shadow_ns = JR_TIME_NEVER;
	s->has_head = false;
	if (s->policy.fair_share_weight)
		sched_fair_share_penalties(s, now);
	while (pass_may_go_on(s, &ps) && (g = next_group(s)) != NULL) {
		struct jr_sched_job *job;
		if (sched_list_reserve(&s->passed, s->passed.count + 1) < 0)
			break;
		job = group_pop(s, g);
		if (job->state == JR_SCHED_STAND_IN) {
			if (!expand_in_pass(s, g, job, now))
				break;
			continue;
		}
		if (throttle_full(s, job) && park_from_pass(s, job) == 0)
			continue;
		if (pass_try(s, job, &ps)) {
			start_job(s, job, now);
			ps.started++;
		} else {
			passed_add(s, job);
		}
	}
	put_back_passed(s);
	return ps.started;
}

static void not_running(struct jr_sched *s, struct jr_sched_job *job)
{
	JR_ASSERT(job->state == JR_SCHED_RUNNING);
	JR_ASSERT(s->queue_running[job->queue] > 0);
	running_remove(s, job);
	s->queue_running[job->queue]--;
	if (job->throttle) {
		sched_throttle_of(s, job)->running--;
		throttle_unpark(s, sched_throttle_of(s, job));
	}
	if (job->local) {
		JR_ASSERT(s->running_local > 0);
		s->running_local--;
		job->local = false;
	}
}

int jr_sched_adopt(struct jr_sched *s, struct jr_sched_job *job, const struct jr_alloc *alloc,
		   uint64_t start_ns)
{
	struct jr_alloc a;
	int how = 0;

	JR_ASSERT(job->alloc == NULL && job->list == ON_NONE);
	job->seq = s->next_seq++;
	if (!alloc || jr_res_reserve_exact(s->pools, alloc) < 0) {
		how = jr_res_reserve(s->pools, job->req, &a) == 0 ? 1 : 2;
		alloc = how == 1 ? &a : NULL;
	}
	/* Sized to the host: the words beyond it are zero (reserve_exact). */
	if (alloc && (job->alloc = jr_malloc(jr_alloc_size(s->pools->core_words))) != NULL) {
		uint32_t words = alloc->words < s->pools->core_words ? alloc->words :
								       s->pools->core_words;
		memset(job->alloc, 0, jr_alloc_size(s->pools->core_words));
		memcpy(job->alloc, alloc, jr_alloc_size(words));
		job->alloc->words = s->pools->core_words;
	} else if (alloc)
		jr_res_release(s->pools, alloc);
	mark_running(s, job, start_ns);
	job->local = true;
	s->running_local++;
	return how;
}

void jr_sched_adopt_external(struct jr_sched *s, struct jr_sched_job *job, uint64_t start_ns)
{
	JR_ASSERT(job->alloc == NULL && job->list == ON_NONE);
	job->seq = s->next_seq++;
	mark_running(s, job, start_ns);
}

void jr_sched_finish(struct jr_sched *s, struct jr_sched_job *job,
		     enum jr_sched_state state, enum jr_sched_reason reason,
		     uint64_t now)
{
	not_running(s, job);
	sched_charge_usage(s, job, now);
	give_back(s->pools, job);
	job->state = state;
	job->reason = reason;
	jr_sched_throttle_leave(s, job);
	resolve_dependents(s, job, now);
}

void jr_sched_requeue(struct jr_sched *s, struct jr_sched_job *job,
		      uint64_t not_before_ns, uint64_t now)
{
	not_running(s, job);
	sched_charge_usage(s, job, now);
	give_back(s->pools, job);
	job->state = JR_SCHED_PENDING;
	job->not_before_ns = not_before_ns;
	make_eligible(s, job, now);
}

int jr_sched_cancel(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	if (job->state == JR_SCHED_RUNNING)
		return -EBUSY;
	if (job->state != JR_SCHED_PENDING && job->state != JR_SCHED_WAITING)
		return -EALREADY;
	end_unrun(s, job, JR_REASON_CANCELLED, now);
	return 0;
}

/* --- hold, release, update ------------------------------------------------- */

static int not_started(const struct jr_sched_job *job)
{
	if (job->state == JR_SCHED_RUNNING)
		return -EBUSY;
	if (job->state != JR_SCHED_PENDING && job->state != JR_SCHED_WAITING)
		return -EALREADY;
	return 0;
}

int jr_sched_hold(struct jr_sched *s, struct jr_sched_job *job)
{
	int rc = not_started(job);

	if (rc < 0)
		return rc;
	unlist(s, job);
	job->state = JR_SCHED_PENDING;
	job->held = true;
	return 0;
}

int jr_sched_release(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	int rc = not_started(job);

	if (rc < 0 || !job->held)
		return rc;
	job->held = false;
	return job->deps_left ? 0 : make_eligible(s, job, now);
}

void jr_sched_update_begin(struct jr_sched *s, struct jr_sched_job *job)
{
	JR_ASSERT(not_started(job) == 0);
	unlist(s, job);
}

int jr_sched_update(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	JR_ASSERT(job->list == ON_NONE);
	if (job->state == JR_SCHED_WAITING)
		job->state = JR_SCHED_PENDING;
	if (job->held || job->deps_left)
		return 0;
	return make_eligible(s, job, now);
}

uint64_t jr_sched_next_wakeup(const struct jr_sched *s)
{
	return s->delayed.count ? s->delayed.items[0]->not_before_ns : JR_TIME_NEVER;
}

bool jr_sched_head(const struct jr_sched *s, uint64_t *id, struct jr_req *req,
		   uint64_t *shadow_ns)
{
	*id = s->head_id;
	*req = s->head_req;
	*shadow_ns = s->shadow_ns;
	return s->has_head;
}
