/*
 * lifecycle.c - opening, pausing and closing an engine.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/common.h"
#include "shm/counters.h"
#include "coord/coordinator.h"
#include "engine/abi.h"
#include "engine/engine.h"
#include "shm/jobtab.h"
#include "shm/prio.h"
#include "shm/queue.h"

static int opts_check(const struct jr_engine_opts *o)
{
	if (o->capacity < 2 || o->capacity > JR_CAPACITY_MAX)
		return -EINVAL;
	/* The last worker record is the coordinator's. */
	if (o->workers >= JR_WORKER_MAX || o->claim_batch > JR_CLAIM_BATCH_MAX)
		return -EINVAL;
	return 0;
}

static void opts_defaults(struct jr_engine_opts *o)
{
	struct jr_engine_opts d;

	jr_engine_opts_init(&d);
	if (o->capacity == 0)
		o->capacity = d.capacity;
	if (o->claim_batch == 0)
		o->claim_batch = d.claim_batch;
	if (o->spin_us == 0)
		o->spin_us = d.spin_us;
	if (o->arena_bytes == 0)
		o->arena_bytes = (uint64_t)o->capacity * 16;
}

/* Command jobs: the coordinator, with the last worker record. */
static int coord_start(struct jr_engine *e, const struct jr_engine_opts *o)
{
	struct jr_coord_host host = {
		.region = &e->region, .topo = &e->topo,
		.worker_id = e->worker_count, .bind = e->bind,
	};

	return jr_coord_start(&e->coord, &host, o);
}

static int engine_setup(struct jr_engine *e, const struct jr_engine_opts *o)
{
	struct jr_region_geometry geo = { o->capacity, o->arena_bytes };
	int rc;

	jr_clock_init();
	rc = jr_topology_load(&e->topo, o->topology);
	if (rc < 0)
		return rc;
	rc = jr_region_create(&e->region, &geo);
	if (rc < 0)
		return rc;
	jr_queue_table_init(&e->region);
	e->worker_count = o->workers ? o->workers : e->topo.core_count;
	if (e->worker_count >= JR_WORKER_MAX)
		e->worker_count = JR_WORKER_MAX - 1;
	e->workers = jr_calloc(e->worker_count, sizeof(*e->workers));
	if (!e->workers)
		return -ENOMEM;
	e->claim_batch = o->claim_batch;
	/* Few enough held back that the workers together keep at most a
	 * quarter of the table out of the free ring. */
	e->retire_batch = (o->capacity - 1) / (4 * e->worker_count);
	if (e->retire_batch > 32)
		e->retire_batch = 32;
	if (e->retire_batch == 0)
		e->retire_batch = 1;
	e->spin_ns = (uint64_t)o->spin_us * JR_NS_PER_US;
	e->bind = !(o->flags & JR_ENGINE_NO_BIND) && !e->topo.synthetic;
	e->region.ctl->accepting = 1;
	e->region.ctl->run_state = (o->flags & JR_ENGINE_START_PAUSED) ?
					   JR_RUN_PAUSED :
					   JR_RUN_ACTIVE;
	rc = coord_start(e, o);
	if (rc < 0)
		return rc;
	return jr_workers_start(e);
}

static void engine_free(struct jr_engine *e)
{
	jr_coord_stop(e->coord, JR_CLOSE_CANCEL);
	jr_free(e->workers);
	jr_region_unmap(&e->region);
	jr_topology_destroy(&e->topo);
	jr_free(e);
}

int jr_engine_open(struct jr_engine **out, const struct jr_engine_opts *opts)
{
	struct jr_engine_opts o;
	struct jr_engine *e;
	int rc;

	if (opts && !jr_abi_opts_valid(opts))
		return -EINVAL;
	if (opts)
		o = *opts;
	else
		jr_engine_opts_init(&o);
	opts_defaults(&o);
	rc = opts_check(&o);
	if (rc < 0)
		return rc;
	e = jr_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->region.fd = -1;
	rc = engine_setup(e, &o);
	if (rc < 0) {
		engine_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

int jr_engine_resume(struct jr_engine *e)
{
	struct jr_control *ctl = e->region.ctl;
	uint32_t expected = JR_RUN_PAUSED;

	if (!jr_cas_acq_rel(&ctl->run_state, &expected, JR_RUN_ACTIVE))
		return expected == JR_RUN_ACTIVE ? 0 : -ESHUTDOWN;
	jr_futex_wake_all(&ctl->run_state);
	jr_coord_wake(e->coord);
	return 0;
}

int jr_engine_pause(struct jr_engine *e)
{
	struct jr_control *ctl = e->region.ctl;
	uint32_t expected = JR_RUN_ACTIVE;

	if (!jr_cas_acq_rel(&ctl->run_state, &expected, JR_RUN_PAUSED))
		return expected == JR_RUN_PAUSED ? 0 : -ESHUTDOWN;
	jr_coord_wake(e->coord);
	return 0;
}

/* Cancel whatever is left in the rings once the workers are gone. */
static uint64_t cancel_rings(struct jr_region *r)
{
	uint32_t batch[JR_CLAIM_BATCH_MAX];
	uint64_t cancelled = 0;
	unsigned level;
	uint32_t n;

	while ((n = jr_prio_claim_batch_mpmc(r, batch, JR_CLAIM_BATCH_MAX,
					     &level)) > 0) {
		for (uint32_t i = 0; i < n; i++) {
			if (jr_jobtab_cancel_owned(&r->slots[batch[i]], JR_JOB_QUEUED))
				cancelled++;
			else
				jr_fetch_sub_acq_rel(&r->ctl->cancel_pending[level], 1);
		}
		jr_jobtab_free_batch(r, batch, n);
	}
	return cancelled;
}

int jr_engine_close(struct jr_engine *e, enum jr_close_mode mode)
{
	struct jr_region *r;
	uint64_t cancelled;

	if (!e)
		return -EINVAL;
	if (mode != JR_CLOSE_DRAIN && mode != JR_CLOSE_CANCEL && mode != JR_CLOSE_DETACH)
		return -EINVAL;
	if (mode == JR_CLOSE_DETACH && !jr_coord_has_keeper(e->coord))
		return -EINVAL;
	r = &e->region;
	jr_store_release(&r->ctl->accepting, 0);
	if (mode == JR_CLOSE_DRAIN) {
		jr_engine_resume(e);
		jr_coord_end_external(e->coord);	/* no worker will come for them */
		jr_engine_wait_all(e);
		jr_coord_stop(e->coord, JR_CLOSE_DRAIN);
		e->coord = NULL;
		jr_workers_stop(e, JR_RUN_STOP);
	} else {
		jr_coord_stop(e->coord, mode);
		e->coord = NULL;
		jr_workers_stop(e, JR_RUN_CANCEL);
		cancelled = cancel_rings(r) + jr_queue_cancel_all_held(r);
		jr_counters_add_cancelled(r, cancelled);
	}
	engine_free(e);
	return 0;
}

int jr_engine_exec_info(struct jr_engine *e, struct jr_exec_info *out)
{
	if (!e || !out)
		return -EINVAL;
	jr_coord_exec_info(e->coord, out);
	return 0;
}
