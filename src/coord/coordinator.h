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

struct jr_engine;

/* Start the coordinator (called from jr_engine_open). 0 or -errno. */
int jr_coord_start(struct jr_engine *e, const struct jr_engine_opts *opts);

/* Stop it: with JR_CLOSE_CANCEL, everything not finished is cancelled
 * first (running children get SIGTERM, then SIGKILL); with DRAIN it must
 * already be idle; with DETACH nothing is touched (the keeper keeps the
 * running jobs). Joins the thread and frees it. */
void jr_coord_stop(struct jr_engine *e, enum jr_close_mode mode);
bool jr_coord_has_keeper(const struct jr_engine *e);
void jr_coord_exec_info(struct jr_engine *e, struct jr_exec_info *out);

/* See jr_command_submit() in jobring.h. */
int jr_coord_submit(struct jr_engine *e, const struct jr_command_spec *spec,
		    jr_job_id *id_out);

/* See jr_command_submit_batch() in jobring.h. */
int jr_coord_submit_batch(struct jr_engine *e, const struct jr_command_spec *specs,
			  size_t n, jr_job_id *ids_out, size_t *bad_index);

/* Add command jobs' queue depths, start waits and core use to *out. */
/* Recovery (cmdrestore.c): see jr_command_restore(). */
int jr_coord_restore_batch(struct jr_engine *e, const struct jr_command_spec *specs,
			   const struct jr_job_restore *restore, size_t n, size_t *bad_index);
int jr_coord_restore_done(struct jr_engine *e);

void jr_coord_stats(struct jr_engine *e, struct jr_stats *out);

/* Look at the run state again (jr_engine_resume()). */
void jr_coord_wake(struct jr_engine *e);

/* See jr_external_claim() and jr_external_complete(); external.c. */
int jr_coord_ext_claim(struct jr_engine *e, uint32_t worker_id, const char *caps,
		       jr_job_id only, jr_job_id *claimed);
int jr_coord_ext_complete(struct jr_engine *e, uint64_t execution_id,
			  int exit_code, bool lost);
/* End every external job now (before a draining close: no worker will
 * come for them). */
void jr_coord_end_external(struct jr_engine *e);

/* Ask the coordinator to cancel a command job (queued or running). */
void jr_coord_cancel(struct jr_engine *e, jr_job_id id);

/* Output file paths of a command job. */
void jr_coord_output_paths(const struct jr_engine *e, jr_job_id id,
			   char *out, char *err, size_t size);

#endif
