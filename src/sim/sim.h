/*
 * sim.h - the scheduler in virtual time: arrivals and completions come
 * from a list of jobs with submit times and run times instead of
 * processes, and the clock jumps from one event to the next. The
 * placement, backfill and dependency code is the live scheduler's
 * (scheduler.c). Used by bench/trace (a production trace) and the tests
 * (workflow DAGs, backfill cases).
 */
#ifndef JR_SIM_H
#define JR_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "sched/scheduler.h"

struct jr_sim_job {
	struct jr_sched_job sj;	/* id, priority, limit_ns, not_before_ns */
	struct jr_req req;	/* what it needs (sj.req points here once it
				 * arrives: the job may be copied before) */
	uint64_t submit_ns;	/* arrival */
	uint64_t run_ns;	/* how long it runs once started */
	bool fails;		/* ends failed rather than succeeded */
	uint32_t parent_count;
	struct jr_sim_job **parents;	/* must arrive no later than this job */
	uint8_t *parent_types;	/* enum jr_dep_type per parent; NULL: afterok */
	uint64_t throttle_key;	/* jr_sched_throttle_join(); 0: none */
	uint32_t throttle_max;
	/* Results. */
	uint64_t end_ns;
};

struct jr_sim_stats {
	uint64_t started, succeeded, failed, timed_out, cancelled;
	uint64_t backfilled;
	/* Jobs the host could never hold (jr_res_check_host()): refused at
	 * arrival, as a live engine refuses them at submission (-E2BIG), and
	 * left cancelled without running, never to wait for good. */
	uint64_t refused;
	uint64_t first_submit_ns, last_end_ns;
	uint64_t passes;
};

enum jr_sim_flags {
	/* A job that runs past its limit ends failed at the limit (reason
	 * timeout), as on a live engine. Without it jobs run their run_ns,
	 * as a trace logged them; the scheduler still plans with limits. */
	JR_SIM_ENFORCE_LIMITS = 1u << 0,
};

/* Called after every scheduling pass (checkers in tests). */
struct jr_sim_hooks {
	void (*after_pass)(void *ctx, const struct jr_sched *s, uint64_t now);
	void *ctx;
	/* Optional: called once the scheduler is set up, before any job
	 * arrives (policies, queue caps). */
	void (*setup)(void *ctx, struct jr_sched *s);
};

/* Run jobs (sorted by submit_ns) to completion on pools. hooks may be
 * NULL. 0, -ENOMEM, or -EDEADLK if jobs remain that can never start
 * (none should: a job the host can never hold is refused, and counted in
 * stats->refused). */
int jr_sim_run(struct jr_pools *pools, struct jr_sim_job *jobs, size_t n,
	       uint32_t flags, struct jr_sim_stats *stats);
int jr_sim_run_hooked(struct jr_pools *pools, struct jr_sim_job *jobs, size_t n,
		      uint32_t flags, const struct jr_sim_hooks *hooks,
		      struct jr_sim_stats *stats);

/* Pools without hwloc: numa_count nodes of cores_per_node cores and
 * mem_per_node bytes each. 0, or -E2BIG beyond JR_NUMA_MAX nodes or
 * JR_CORES_MAX cores in all (nothing usable then: no nodes). */
int jr_pools_init_flat(struct jr_pools *p, uint32_t numa_count,
			uint32_t cores_per_node, uint64_t mem_per_node);

#endif
