/*
 * coordinator.h - the engine's coordinator thread, which owns command
 * jobs: it keeps the resource pools and the scheduling pass
 * (scheduler.c), starts children (executor.c), reaps them through their
 * pidfds, enforces time limits (SIGTERM, then SIGKILL after a grace
 * period), cancels, retries with exponential backoff and jitter, and
 * releases or cancels dependents. One epoll loop: an eventfd for
 * submissions and cancel requests, a timerfd for the next deadline, and a
 * pidfd per running child. Function jobs never pass through it.
 */
#ifndef JR_COORDINATOR_H
#define JR_COORDINATOR_H

#include <stdbool.h>

#include "jobring.h"

struct jr_coordinator;
struct jr_region;
struct jr_topology;

/* What the coordinator borrows from its engine, which outlives it. */
struct jr_coord_host {
	struct jr_region *region;
	const struct jr_topology *topo;
	uint32_t worker_id;	/* its worker record: the one after the workers' */
	bool bind;		/* bind children to their cores (a real topology) */
};

/* Start the coordinator (called from jr_engine_open): *out on success.
 * 0 or -errno. */
int jr_coord_start(struct jr_coordinator **out, const struct jr_coord_host *host,
		   const struct jr_engine_opts *opts);

/* Stop it: with JR_CLOSE_CANCEL, everything not finished is cancelled
 * first (running children get SIGTERM, then SIGKILL); with DRAIN it must
 * already be idle; with DETACH nothing is touched (the keeper keeps the
 * running jobs). Joins the thread and frees it. NULL: nothing. */
void jr_coord_stop(struct jr_coordinator *co, enum jr_close_mode mode);
bool jr_coord_has_keeper(const struct jr_coordinator *co);
void jr_coord_exec_info(struct jr_coordinator *co, struct jr_exec_info *out);

/* The pools' totals and use (atomic reads), the counters' names, the
 * storage filesystems and the scheduler's head (under state_lock) into
 * out, which the caller zeroed. co may be NULL (no command jobs yet):
 * nothing filled. Any thread. */
void jr_coord_resources(struct jr_coordinator *co, struct jr_resource_view *out);
/* Only the storage filesystems (JR_VIEW_STORAGE_ONLY): no lock. */
void jr_coord_storage(const struct jr_coordinator *co, struct jr_resource_view *out);

/* See jr_command_submit() in jobring.h. */
int jr_coord_submit(struct jr_coordinator *co, const struct jr_command_spec *spec,
		    jr_job_id *id_out);

/* See jr_command_submit_batch() in jobring.h. */
int jr_coord_submit_batch(struct jr_coordinator *co, const struct jr_command_spec *specs,
			  size_t n, jr_job_id *ids_out, size_t *bad_index);

/* Recovery (cmdrestore.c): see jr_command_restore(). */
int jr_coord_restore_batch(struct jr_coordinator *co, const struct jr_command_spec *specs,
			   const struct jr_job_restore *restore, size_t n, size_t *bad_index);
int jr_coord_restore_done(struct jr_coordinator *co);

/* See jr_command_durable() (keeperlink.c). */
void jr_coord_durable(struct jr_coordinator *co, const jr_job_id *ids,
		      const uint32_t *attempts, size_t n);

/* Add command jobs' queue depths, start waits and core use to *out. */
void jr_coord_stats(struct jr_coordinator *co, struct jr_stats *out);

/* Look at the run state again (jr_engine_resume()). */
void jr_coord_wake(struct jr_coordinator *co);

/* See jr_external_claim_owned() and jr_external_complete(); external.c.
 * owner: JR_EXTERNAL_ANY_OWNER, or only jobs that run as that uid. */
int jr_coord_ext_claim(struct jr_coordinator *co, uint32_t worker_id, const char *caps,
		       uint32_t owner, jr_job_id only, const struct jr_external_res *avail,
		       struct jr_external_res *taken, jr_job_id *claimed);
int jr_coord_ext_complete(struct jr_coordinator *co, uint64_t execution_id,
			  int exit_code, bool lost);
/* What the ready external jobs ask of workers of one shape (issue 17's
 * allocation queues; jr_engine_ext_demand()). */
struct jr_ext_demand {
	uint64_t fit;		/* ready jobs such a worker would claim */
	uint64_t too_big;	/* ready jobs it would claim but could never hold */
	uint64_t workers;	/* such workers the fitting ones fill (cpus, GPUs, memory) */
	uint64_t scanned;	/* ready jobs such a worker would take, looked at */
	bool partial;		/* the walk stopped early (max_scan, enough, or
				 * where a claim gives up) */
};
int jr_coord_ext_demand(struct jr_coordinator *co, const char *caps, uint32_t owner,
			const struct jr_external_res *shape, uint64_t max_scan, uint64_t enough,
			struct jr_ext_demand *out);
/* See jr_engine_ext_taken() (engine.h); external.c (issue 17). */
int jr_coord_ext_taken(struct jr_coordinator *co, uint64_t execution_id,
		       struct jr_external_res *taken);
/* See jr_external_progress(); external.c. */
int jr_coord_ext_progress(struct jr_coordinator *co, uint64_t execution_id, int percent);
/* End every external job now (before a draining close: no worker will
 * come for them). */
void jr_coord_end_external(struct jr_coordinator *co);

/* Ask the coordinator to cancel a command job (queued or running). */
void jr_coord_cancel(struct jr_coordinator *co, jr_job_id id);

/* A user's control of a command job (control.c): see jr_command_hold(),
 * jr_command_release(), jr_command_update(), jr_command_requeue(). */
int jr_coord_hold(struct jr_coordinator *co, jr_job_id id);
int jr_coord_release(struct jr_coordinator *co, jr_job_id id);
int jr_coord_update(struct jr_coordinator *co, jr_job_id id, const struct jr_command_update *u);
int jr_coord_requeue(struct jr_coordinator *co, jr_job_id id);
int jr_coord_requeue_ended(struct jr_coordinator *co, jr_job_id id,
			   const struct jr_command_spec *spec);

/* Output file paths of a command job (state.c). */
void jr_coord_output_paths(const struct jr_coordinator *co, jr_job_id id,
			   char *out, char *err, size_t size);

#endif
