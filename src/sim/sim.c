/*
 * sim.c - the event loop of the virtual-time scheduler. See sim.h.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "base/alloc.h"
#include "base/common.h"
#include "sim/sim.h"

struct sim {
	struct jr_sched sched;
	struct jr_sim_stats *stats;
	struct jr_sim_job **ending;	/* min-heap on end_ns */
	size_t ending_count;
	bool enforce_limits;
	struct jr_sim_hooks hooks;
};

#define SIM_JOB(sj) ((struct jr_sim_job *)((char *)(sj) - offsetof(struct jr_sim_job, sj)))

int jr_pools_init_flat(struct jr_pools *p, uint32_t numa_count,
		       uint32_t cores_per_node, uint64_t mem_per_node)
{
	uint32_t cores[JR_NUMA_MAX];
	uint64_t mem[JR_NUMA_MAX];

	if (numa_count > JR_NUMA_MAX) {
		memset(p, 0, sizeof(*p));
		return -E2BIG;
	}
	for (uint32_t n = 0; n < numa_count; n++) {
		cores[n] = cores_per_node;
		mem[n] = mem_per_node;
	}
	return jr_pools_init_nodes(p, numa_count, cores, mem, 0);
}

static void ending_push(struct sim *sim, struct jr_sim_job *job)
{
	size_t i = sim->ending_count++;

	while (i > 0 && sim->ending[(i - 1) / 2]->end_ns > job->end_ns) {
		sim->ending[i] = sim->ending[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	sim->ending[i] = job;
}

static struct jr_sim_job *ending_pop(struct sim *sim)
{
	struct jr_sim_job *top = sim->ending[0];
	struct jr_sim_job *last = sim->ending[--sim->ending_count];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= sim->ending_count)
			break;
		if (c + 1 < sim->ending_count &&
		    sim->ending[c + 1]->end_ns < sim->ending[c]->end_ns)
			c++;
		if (sim->ending[c]->end_ns >= last->end_ns)
			break;
		sim->ending[i] = sim->ending[c];
		i = c;
	}
	if (sim->ending_count)
		sim->ending[i] = last;
	return top;
}

static void on_start(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct sim *sim = ctx;
	struct jr_sim_job *job = SIM_JOB(sj);
	uint64_t run = job->run_ns;

	if (sim->enforce_limits && sj->limit_ns && run > sj->limit_ns)
		run = sj->limit_ns;
	job->end_ns = now + run;
	ending_push(sim, job);
	sim->stats->started++;
}

static void on_ended(void *ctx, struct jr_sched_job *sj, uint64_t now)
{
	struct sim *sim = ctx;

	SIM_JOB(sj)->end_ns = now;
	sim->stats->cancelled++;
}

static void finish_one(struct sim *sim, struct jr_sim_job *job, uint64_t now)
{
	struct jr_sched_job *sj = &job->sj;
	enum jr_sched_state st = JR_SCHED_SUCCEEDED;
	enum jr_sched_reason why = JR_REASON_NONE;

	if (sim->enforce_limits && sj->limit_ns && job->run_ns > sj->limit_ns) {
		st = JR_SCHED_FAILED, why = JR_REASON_TIMEOUT;
		sim->stats->timed_out++;
	} else if (job->fails) {
		st = JR_SCHED_FAILED, why = JR_REASON_EXIT;
	}
	if (st == JR_SCHED_SUCCEEDED)
		sim->stats->succeeded++;
	else
		sim->stats->failed++;
	if (now > sim->stats->last_end_ns)
		sim->stats->last_end_ns = now;
	jr_sched_finish(&sim->sched, sj, st, why, now);
}

static int arrive(struct sim *sim, struct jr_sim_job *job, uint64_t now)
{
	job->sj.req = &job->req;
	if (jr_res_check_host(sim->sched.pools, job->sj.req) != 0) {
		job->sj.state = JR_SCHED_CANCELLED;
		job->sj.start_ns = job->end_ns = now;
		sim->stats->refused++;
		return 0;
	}
	for (uint32_t i = 0; i < job->parent_count; i++)
		if (jr_sched_depend(&job->sj, &job->parents[i]->sj,
				    job->parent_types ? job->parent_types[i] : JR_DEP_AFTEROK) < 0)
			return -ENOMEM;
	if (jr_sched_throttle_join(&sim->sched, &job->sj, job->throttle_key, job->throttle_max) < 0)
		return -ENOMEM;
	return jr_sched_submit(&sim->sched, &job->sj, now);
}

static uint64_t next_event(const struct sim *sim, const struct jr_sim_job *jobs,
			   size_t next, size_t n)
{
	uint64_t t = jr_sched_next_wakeup(&sim->sched);

	if (next < n && jobs[next].submit_ns < t)
		t = jobs[next].submit_ns;
	if (sim->ending_count && sim->ending[0]->end_ns < t)
		t = sim->ending[0]->end_ns;
	return t;
}

static int sim_loop(struct sim *sim, struct jr_sim_job *jobs, size_t n)
{
	size_t next = 0;
	uint64_t now;

	while ((now = next_event(sim, jobs, next, n)) != JR_TIME_NEVER) {
		while (sim->ending_count && sim->ending[0]->end_ns == now)
			finish_one(sim, ending_pop(sim), now);
		while (next < n && jobs[next].submit_ns == now)
			if (arrive(sim, &jobs[next++], now) < 0)
				return -ENOMEM;
		jr_sched_pass(&sim->sched, now);
		sim->stats->passes++;
		if (sim->hooks.after_pass)
			sim->hooks.after_pass(sim->hooks.ctx, &sim->sched, now);
	}
	return sim->sched.waiting_count ? -EDEADLK : 0;
}

int jr_sim_run(struct jr_pools *pools, struct jr_sim_job *jobs, size_t n,
	       uint32_t flags, struct jr_sim_stats *stats)
{
	return jr_sim_run_hooked(pools, jobs, n, flags, NULL, stats);
}

int jr_sim_run_hooked(struct jr_pools *pools, struct jr_sim_job *jobs, size_t n,
		      uint32_t flags, const struct jr_sim_hooks *hooks,
		      struct jr_sim_stats *stats)
{
	struct jr_sched_ops ops = { on_start, on_ended, NULL };
	struct sim sim;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&sim, 0, sizeof(sim));
	sim.stats = stats;
	sim.enforce_limits = flags & JR_SIM_ENFORCE_LIMITS;
	if (hooks)
		sim.hooks = *hooks;
	sim.ending = jr_malloc((n ? n : 1) * sizeof(*sim.ending));
	if (!sim.ending)
		return -ENOMEM;
	ops.ctx = &sim;
	jr_sched_init(&sim.sched, pools, &ops);
	if (sim.hooks.setup)
		sim.hooks.setup(sim.hooks.ctx, &sim.sched);
	stats->first_submit_ns = n ? jobs[0].submit_ns : 0;
	rc = sim_loop(&sim, jobs, n);
	stats->backfilled = sim.sched.backfilled;
	jr_sched_destroy(&sim.sched);
	jr_free(sim.ending);
	return rc;
}
