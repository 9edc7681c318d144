/*
 * engine.h - the engine object shared by engine.c (the public API) and
 * worker.c (the claim loop). Process-local: pointers into the region, the
 * topology, the worker threads.
 */
#ifndef JR_ENGINE_H
#define JR_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "coord/coordinator.h"
#include "shm/jobtab.h"
#include "shm/region.h"
#include "sched/topology.h"

#define JR_CLAIM_BATCH_MAX 256u
#define JR_RETIRE_BATCH_MAX 64u

enum jr_worker_status {
	JR_WORKER_IDLE = 0,
	JR_WORKER_BUSY = 1,
	JR_WORKER_PARKED = 2,
	JR_WORKER_GONE = 3,
};

struct jr_worker {
	struct jr_engine *engine;
	struct jr_worker_rec *rec;
	uint32_t id;
	uint32_t core;
	pthread_t thread;
	bool started;
	struct jr_clock_base clock;
	/* Finished slots not yet returned to the free ring: returned in
	 * groups of retire_batch, and whenever the worker idles. */
	uint32_t retire_count;
	uint32_t retire[JR_RETIRE_BATCH_MAX];
};

struct jr_coordinator;

struct jr_engine {
	struct jr_region region;
	struct jr_coordinator *coord;	/* command jobs */
	struct jr_topology topo;
	struct jr_worker *workers;
	uint32_t worker_count;
	uint32_t claim_batch;
	uint32_t retire_batch;
	uint64_t spin_ns;
	bool bind;
};

/* Start every worker thread (worker.c). 0 or -errno; on error the
 * started ones are stopped again. */
int jr_workers_start(struct jr_engine *e);

/* Tell the workers to stop (run_state JR_RUN_STOP or JR_RUN_CANCEL),
 * wake them and join them. */
void jr_workers_stop(struct jr_engine *e, uint32_t run_state);

/* Wake up to n parked workers, if any are parked. Call after making work
 * visible (the prio push's fence orders the two). */
void jr_workers_wake(struct jr_engine *e, uint32_t n);

/* Run states beyond enum jr_run_state: stop and cancel what is claimed. */
#define JR_RUN_CANCEL 3u

/* jr_job_get() without the output paths or the reserved fields cleared
 * (both cost more than the read): 0 or -ENOENT. For the daemon's index
 * (daemon/state/jobindex.c), which reads every job submitted. Internal:
 * not in libjobring.map. */
int jr_engine_job_peek(struct jr_engine *e, jr_job_id id, struct jr_job_info *out);
/* Less: what the index files a job by (shm/jobtab.h). 0 or -ESTALE. */
int jr_engine_job_brief(struct jr_engine *e, jr_job_id id, struct jr_job_brief *out);

/* What the running external execution execution_id takes of its worker,
 * as jr_external_claim_fit()'s *taken said when it was claimed: for the
 * daemon that rebuilds its workers' books after a restart (issue 17).
 * 0, -EINVAL, or -ESTALE (not a running external execution, or not the
 * job's current one). Thread-safe. */
int jr_engine_ext_taken(struct jr_engine *e, uint64_t execution_id, struct jr_external_res *taken);

/* What the external jobs waiting now (ready: dependencies met, not held,
 * unclaimed) ask of workers shaped like shape with capabilities caps that
 * claim owner's jobs (JR_EXTERNAL_ANY_OWNER: anyone's): as a claim by such
 * a worker would judge them (its owner, its labels, queue caps and
 * throttles), and whether they fit shape at all. out->workers estimates
 * how many such workers the fitting ones would fill, by the largest of
 * their summed cpus, GPUs and memory over shape's. The walk stops after
 * max_scan jobs such a worker would take (10 * max_scan in all), where a
 * claim gives up (1,024 too big for shape: later jobs are never claimed),
 * or once out->workers reaches enough (0: no such stop).
 * 0 or -EINVAL. Thread-safe; for the daemon's allocation poller. */
int jr_engine_ext_demand(struct jr_engine *e, const char *caps, uint32_t owner,
			 const struct jr_external_res *shape, uint64_t max_scan, uint64_t enough,
			 struct jr_ext_demand *out);

#endif
