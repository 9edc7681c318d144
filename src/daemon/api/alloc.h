/*
 * alloc.h - the allocation poller (allocpoll.c, issue 17): from the
 * daemon's tick, for each allocation queue (state/alloc.h), sbatch when
 * external jobs wait that no connected worker took, squeue for the state
 * of what it submitted, each a program run in the background
 * (state/bgcmd.h); errors back off. The handlers are in handlers.h.
 */
#ifndef JR_API_ALLOC_H
#define JR_API_ALLOC_H

#include <stdint.h>

#include "daemon/api/api.h"
#include "daemon/state/alloc.h"

/* How long external jobs must wait, unclaimed, before an allocation is
 * asked for; how often squeue is asked; a running allocation counts as
 * pending this long (its workers are connecting); the backoff after a
 * failed sbatch or squeue: doubled from the first to the cap. */
#define ALLOC_WAIT_MS 1000u
#define ALLOC_POLL_MS 2000u
#define ALLOC_START_GRACE_MS 10000u
#define ALLOC_BACKOFF_FIRST_MS 1000u
#define ALLOC_BACKOFF_MAX_MS 60000u
#define ALLOC_COMMAND_TIMEOUT_MS 30000u	/* sbatch, squeue killed after this */

/* Once recovery is applied: server is what the workers are told to
 * connect to (the daemon's socket), worker the jobring-worker program
 * (next to jobringd's own binary). 0 or -ENOMEM. */
int api_alloc_start(struct api *a, const char *server);
void api_alloc_destroy(struct api *a);
/* Every turn (it does its work at most every 100 ms). */
void api_alloc_tick(struct api *a, uint64_t now_ns);
/* The queue's Slurm jobs not running yet cancelled (scancel, in the
 * background): it is being removed. */
void api_alloc_cancel_pending(struct api *a, struct alloc_queue *q);

/* Is an sbatch of q under way (its Slurm job id not known yet)? */
bool api_alloc_submitting(const struct alloc_queue *q);

#endif
