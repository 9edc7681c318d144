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

enum { ON_NONE, ON_WAITING, ON_RUNNING, ON_DELAYED };

/* --- lists ---------------------------------------------------------------- */

static int list_reserve(struct jr_job_list *l, uint32_t need)
{
	return jr_array_grow(&l->items, &l->cap, l->count, need, sizeof(*l->items), 64);
}

static void list_set(struct jr_job_list *l, uint32_t i, struct jr_sched_job *j)
{
	l->items[i] = j;
	j->index = i;
}

/* One list per priority, each in submission order (seq). */
static struct jr_job_list *waiting_of(struct jr_sched *s, const struct jr_sched_job *job)
{
	JR_ASSERT(job->priority >= JR_PRIORITY_MIN && job->priority <= JR_PRIORITY_MAX);
	return &s->waiting[job->priority];
}

/* The first position in l whose job came after seq. */
static uint32_t position_after(const struct jr_job_list *l, uint64_t seq, uint32_t lo)
{
	uint32_t hi = l->count;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (l->items[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int waiting_insert(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *l = waiting_of(s, job);
	uint32_t at;

	if (list_reserve(l, l->count + 1) < 0)
		return -ENOMEM;
	/* New jobs go last; only a retry (an old seq) goes further in. */
	at = l->count && l->items[l->count - 1]->seq > job->seq ?
		     position_after(l, job->seq, 0) : l->count;
	memmove(&l->items[at + 1], &l->items[at], (l->count - at) * sizeof(job));
	l->items[at] = job;
	l->count++;
	s->waiting_count++;
	job->list = ON_WAITING;
	return 0;
}

static void waiting_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *l = waiting_of(s, job);
	uint32_t at = position_after(l, job->seq, 0);

	JR_ASSERT(at < l->count && l->items[at] == job);
	memmove(&l->items[at], &l->items[at + 1], (l->count - at - 1) * sizeof(job));
	l->count--;
	s->waiting_count--;
	job->list = ON_NONE;
}

static int running_add(struct jr_sched *s, struct jr_sched_job *job)
{
	if (list_reserve(&s->running, s->running.count + 1) < 0)
		return -ENOMEM;
	list_set(&s->running, s->running.count++, job);
	job->list = ON_RUNNING;
	return 0;
}

static void running_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *l = &s->running;
	struct jr_sched_job *last = l->items[--l->count];

	JR_ASSERT(job->list == ON_RUNNING && l->items[job->index] == job);
	if (last != job)
		list_set(l, job->index, last);
	job->list = ON_NONE;
}

/* Delayed jobs: a binary min-heap on not_before_ns. */
static void heap_swap(struct jr_job_list *h, uint32_t a, uint32_t b)
{
	struct jr_sched_job *t = h->items[a];

	list_set(h, a, h->items[b]);
	list_set(h, b, t);
}

static void heap_up(struct jr_job_list *h, uint32_t i)
{
	while (i > 0 && h->items[(i - 1) / 2]->not_before_ns > h->items[i]->not_before_ns) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct jr_job_list *h, uint32_t i)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->count)
			return;
		if (c + 1 < h->count &&
		    h->items[c + 1]->not_before_ns < h->items[c]->not_before_ns)
			c++;
		if (h->items[i]->not_before_ns <= h->items[c]->not_before_ns)
			return;
		heap_swap(h, i, c);
		i = c;
	}
}

static int delayed_push(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *h = &s->delayed;

	if (list_reserve(h, h->count + 1) < 0)
		return -ENOMEM;
	list_set(h, h->count++, job);
	heap_up(h, job->index);
	job->list = ON_DELAYED;
	return 0;
}

static void delayed_remove(struct jr_sched *s, struct jr_sched_job *job)
{
	struct jr_job_list *h = &s->delayed;
	uint32_t i = job->index;

	h->count--;
	if (i != h->count) {
		list_set(h, i, h->items[h->count]);
		heap_down(h, i);
		heap_up(h, h->items[i]->index);
	}
	job->list = ON_NONE;
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
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++)
		jr_free(s->waiting[p].items);
	jr_free(s->running.items);
	jr_free(s->delayed.items);
	memset(s, 0, sizeof(*s));
}

int jr_sched_depend(struct jr_sched_job *job, struct jr_sched_job *p)
{
	if (p->state == JR_SCHED_SUCCEEDED)
		return 0;
	if (p->state == JR_SCHED_FAILED || p->state == JR_SCHED_CANCELLED) {
		job->dependency_failed = true;
		return 0;
	}
	if (jr_array_grow(&p->dependents, &p->dependent_cap, p->dependent_count,
			  p->dependent_count + 1, sizeof(*p->dependents), 4) < 0)
		return -ENOMEM;
	p->dependents[p->dependent_count++] = job;
	job->deps_left++;
	return 0;
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
	job->dependent_count = job->dependent_cap = 0;
}

static void cancel_dependents(struct jr_sched *s, struct jr_sched_job *job,
			      uint64_t now);

/* A job that never ran ends cancelled (off whatever list it is on), its
 * owner is told, and so do all its transitive dependents. */
static void end_unrun(struct jr_sched *s, struct jr_sched_job *job,
		      enum jr_reason reason, uint64_t now)
{
	if (job->list == ON_WAITING)
		waiting_remove(s, job);
	else if (job->list == ON_DELAYED)
		delayed_remove(s, job);
	job->state = JR_SCHED_CANCELLED;
	job->reason = reason;
	if (s->ops.ended)
		s->ops.ended(s->ops.ctx, job, now);
	cancel_dependents(s, job, now);
}

/* Cancel every transitive dependent of job, which ended for good. Each
 * dependent is pending (it cannot have started), so it is on no list but
 * perhaps the delayed heap. */
static void cancel_dependents(struct jr_sched *s, struct jr_sched_job *job,
			      uint64_t now)
{
	for (uint32_t i = 0; i < job->dependent_count; i++) {
		struct jr_sched_job *d = job->dependents[i];
		if (d->state == JR_SCHED_PENDING)
			end_unrun(s, d, JR_REASON_DEPENDENCY_FAILED, now);
	}
	drop_dependents(job);
}

static void release_dependents(struct jr_sched *s, struct jr_sched_job *job,
			       uint64_t now)
{
	for (uint32_t i = 0; i < job->dependent_count; i++) {
		struct jr_sched_job *d = job->dependents[i];
		if (d->state == JR_SCHED_PENDING && --d->deps_left == 0 && !d->held)
			make_eligible(s, d, now);
	}
	drop_dependents(job);
}

int jr_sched_submit(struct jr_sched *s, struct jr_sched_job *job, uint64_t now)
{
	job->seq = s->next_seq++;
	job->state = JR_SCHED_PENDING;
	job->list = ON_NONE;
	if (job->dependency_failed) {
		end_unrun(s, job, JR_REASON_DEPENDENCY_FAILED, now);
		return 0;
	}
	return job->deps_left || job->held ? 0 : make_eligible(s, job, now);
}

/* --- the pass -------------------------------------------------------------- */

/* A job's allocation record exists only while it holds resources: 776
 * bytes that a million waiting jobs need not carry. */
static bool reserve(struct jr_pools *p, struct jr_sched_job *job)
{
	struct jr_alloc a;

	JR_ASSERT(job->alloc == NULL);
	if (jr_res_reserve(p, &job->req, &a) != 0)
		return false;
	job->alloc = jr_malloc(sizeof(a));
	if (!job->alloc) {
		jr_res_release(p, &a);
		return false;
	}
	*job->alloc = a;
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
	job->expected_end_ns = job->limit_ns ? now + job->limit_ns : JR_TIME_NEVER;
	running_add(s, job);
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

static int cmp_expected_end(const void *a, const void *b)
{
	const struct jr_sched_job *x = *(struct jr_sched_job *const *)a;
	const struct jr_sched_job *y = *(struct jr_sched_job *const *)b;

	return x->expected_end_ns < y->expected_end_ns ? -1 :
	       x->expected_end_ns > y->expected_end_ns;
}

/* When will head fit? Replay the running jobs' expected ends on a copy of
 * the pools until it does. The copy, with head's share taken, is what a
 * backfilled job that outlives the shadow time may use. With no finite
 * end that makes room, the shadow time is never and nothing is extra. */
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
		if (r->expected_end_ns == JR_TIME_NEVER)
			break;
		if (r->alloc)
			jr_res_release(&s->scratch, r->alloc);
		if (jr_res_reserve(&s->scratch, &head->req, &head_alloc) == 0)
			return r->expected_end_ns;
	}
	for (uint32_t n = 0; n < s->scratch.numa_count; n++) {
		memset(s->scratch.node[n].core_free, 0, sizeof(s->scratch.node[n].core_free));
		s->scratch.node[n].mem_free = 0;
		s->scratch.node[n].gpu_free = 0;
	}
	memset(s->scratch.custom_free, 0, sizeof(s->scratch.custom_free));
	return JR_TIME_NEVER;
}

/* Start job now if that cannot delay the head. */
static bool backfill(struct jr_sched *s, struct jr_sched_job *job, uint64_t now,
		     uint64_t shadow)
{
	struct jr_alloc extra;

	if (!reserve(s->pools, job))
		return false;
	/* A running job past its expected end may end any moment: a shadow
	 * time in the past leaves no room to backfill by time. */
	if (job->limit_ns && shadow > now && job->limit_ns <= shadow - now)
		return true;	/* ends before the head needs anything */
	if (jr_res_reserve(&s->scratch, &job->req, &extra) == 0)
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
	for (uint32_t n = 0; n < p->numa_count; n++)
		for (uint32_t i = 0; i < JR_CORE_WORDS; i++)
			if (p->node[n].core_free[i])
				return true;
	return false;
}

/* Every job needs at least one core: once none is free, the rest of the
 * waiting list cannot start. Behind a blocked head at most
 * JR_BACKFILL_DEPTH jobs are tried (as Slurm's bf_max_job_test does), so a
 * pass costs O(started + depth), not O(waiting). */
struct pass {
	struct jr_sched_job *head;
	uint32_t started, tried;
	uint64_t now;
};

/* One priority's list, in order; false once the pass must stop. */
static bool pass_list(struct jr_sched *s, struct jr_job_list *w, struct pass *ps)
{
	uint32_t kept = 0, i;
	bool more = true;

	for (i = 0; i < w->count; i++) {
		struct jr_sched_job *job = w->items[i];
		bool go;
		if (!any_core_free(s->pools) || ps->tried > JR_BACKFILL_DEPTH ||
		    (s->max_running && s->running_local >= s->max_running)) {
			more = false;
			break;
		}
		if (ps->head)
			ps->tried++;
		if (!ps->head) {
			go = reserve(s->pools, job);
			if (!go) {
				ps->head = job;
				s->shadow_ns = head_shadow(s, job);
			}
		} else {
			go = backfill(s, job, ps->now, s->shadow_ns);
			s->backfilled += go;
		}
		if (go) {
			start_job(s, job, ps->now);
			ps->started++;
			s->waiting_count--;
		} else {
			w->items[kept++] = job;
		}
	}
	if (kept != i)
		memmove(&w->items[kept], &w->items[i], (w->count - i) * sizeof(w->items[0]));
	w->count = kept + (w->count - i);
	return more;
}

uint32_t jr_sched_pass(struct jr_sched *s, uint64_t now)
{
	struct pass ps = { .now = now };

	promote_delayed(s, now);
	s->shadow_ns = JR_TIME_NEVER;
	for (int p = JR_PRIORITY_MAX; p >= JR_PRIORITY_MIN; p--)
		if (!pass_list(s, &s->waiting[p], &ps))
			break;
	return ps.started;
}

static void not_running(struct jr_sched *s, struct jr_sched_job *job)
{
	JR_ASSERT(job->state == JR_SCHED_RUNNING);
	running_remove(s, job);
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
		how = jr_res_reserve(s->pools, &job->req, &a) == 0 ? 1 : 2;
		alloc = how == 1 ? &a : NULL;
	}
	if (alloc && (job->alloc = jr_malloc(sizeof(*alloc))) != NULL)
		*job->alloc = *alloc;
	else if (alloc)
		jr_res_release(s->pools, alloc);
	mark_running(s, job, start_ns);
	job->local = true;
	s->running_local++;
	return how;
}

void jr_sched_finish(struct jr_sched *s, struct jr_sched_job *job,
		     enum jr_sched_state state, enum jr_sched_reason reason,
		     uint64_t now)
{
	not_running(s, job);
	give_back(s->pools, job);
	job->state = state;
	job->reason = reason;
	if (state == JR_SCHED_SUCCEEDED)
		release_dependents(s, job, now);
	else
		cancel_dependents(s, job, now);
}

void jr_sched_requeue(struct jr_sched *s, struct jr_sched_job *job,
		      uint64_t not_before_ns, uint64_t now)
{
	not_running(s, job);
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

/* Off the list it waits on (the owner's own lists are the owner's). */
static void off_lists(struct jr_sched *s, struct jr_sched_job *job)
{
	if (job->list == ON_WAITING)
		waiting_remove(s, job);
	else if (job->list == ON_DELAYED)
		delayed_remove(s, job);
}

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
	off_lists(s, job);
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
	off_lists(s, job);
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
