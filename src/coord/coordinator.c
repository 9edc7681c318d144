/*
 * coordinator.c - the coordinator's start and stop, and the requests the
 * engine makes of it from any thread: cancel, statistics, wake, what
 * runs its jobs. See coordinator.h; the thread itself is loop.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/cmdjob.h"
#include "coord/coordinator.h"
#include "coord/external.h"
#include "coord/keeperlink.h"
#include "coord/loop.h"
#include "coord/park.h"
#include "coord/pass.h"
#include "coord/runners.h"
#include "shm/cmdrec.h"
#include "shm/jobtab.h"

extern char **environ;

/* --- start and stop -------------------------------------------------------- */

static void name_state_dir(struct jr_coordinator *co, const char *dir)
{
	if (dir)
		snprintf(co->state_dir, sizeof(co->state_dir), "%s", dir);
	else
		snprintf(co->state_dir, sizeof(co->state_dir), "/tmp/jobring-%d", (int)getpid());
}

/* Job cgroups of engines on different state directories stay apart:
 * the subtree is named after a hash of the directory's path. */
static void open_cgroups(struct jr_coordinator *co, const struct jr_engine_opts *o)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char name[24];

	for (const char *p = co->state_dir; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(name, sizeof(name), "%016llx", (unsigned long long)h);
	jr_cgroups_open(&co->cg, name, o->cgroup,
			(o->flags & JR_ENGINE_NO_CGROUPS) ? JR_CGROUPS_DISABLE : 0);
	co->cg.idle_max = 2 * co->topo->core_count + 16;
}

static int open_fds(struct jr_coordinator *co)
{
	struct epoll_event ev = { .events = EPOLLIN };

	co->epfd = epoll_create1(EPOLL_CLOEXEC);
	co->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	co->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (co->epfd < 0 || co->evfd < 0 || co->tfd < 0)
		return -errno;
	ev.data.ptr = &co->evfd;
	if (epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->evfd, &ev) < 0)
		return -errno;
	ev.data.ptr = &co->tfd;
	if (epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->tfd, &ev) < 0)
		return -errno;
	ev.data.ptr = &co->keeper_fd;
	if (co->keeper_fd >= 0 && epoll_ctl(co->epfd, EPOLL_CTL_ADD, co->keeper_fd, &ev) < 0)
		return -errno;
	return 0;
}

/* Stopping with DETACH: the jobs this engine still knows of are let go
 * (their processes run on under the keeper). */
static void free_remaining_jobs(struct jr_coordinator *co)
{
	struct jr_region *r = co->region;

	jr_park_drop_all(co);

	for (uint32_t i = 1; i < r->hdr->capacity; i++) {
		struct jr_slot *s = &r->slots[i];
		if (jr_slot_state(jr_load_acquire(&s->state)) == JR_JOB_FREE ||
		    !jr_jobtab_is_command(s))
			continue;
		struct jr_cmd_record *rec = jr_cmd_record(r, (uint32_t)jr_slot_get(s->arg));
		struct cmd_job *job = (struct cmd_job *)(uintptr_t)jr_load_acquire(&rec->coord);
		if (!job)
			continue;
		jr_store_release(&rec->coord, 0);
		jr_cmd_job_free(job);
	}
}

static void coord_free(struct jr_coordinator *co)
{
	if (co->epfd > 0)
		close(co->epfd);
	if (co->evfd > 0)
		close(co->evfd);
	if (co->tfd > 0)
		close(co->tfd);
	if (co->out_dirfd >= 0)
		close(co->out_dirfd);
	jr_park_drop_all(co);	/* none but after a detaching stop or a failed start */
	jr_sched_destroy(&co->sched);
	jr_req_pool_destroy(&co->reqs);
	jr_cgroups_close(&co->cg, /* remove */ true);
	jr_coord_keeper_close(co);
	jr_scratch_close(&co->scratch);
	jr_free(co->acks);
	jr_free(co->running);
	jr_ext_due_free(&co->ext_due);
	jr_free(co->cancels);
	pthread_cond_destroy(&co->spawn_cv);
	pthread_cond_destroy(&co->restore_cv);
	jr_mutex_destroy(&co->state_lock);
	jr_mutex_destroy(&co->lock);
	jr_free(co);
}

/* JR_PARK_AFTER, or JOBRING_PARK_AFTER from the environment (tests park
 * every run with 0; docs/DECISIONS.md). */
static uint32_t park_after(void)
{
	const char *v = getenv("JOBRING_PARK_AFTER");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return JR_PARK_AFTER;
	errno = 0;
	n = strtoul(v, &end, 10);
	return errno || *end || n > UINT32_MAX ? JR_PARK_AFTER : (uint32_t)n;
}

/* The keeper holds KEEPER_FDS_PER_JOB descriptors for each running job
 * (its pidfd and progress pipe; its cgroup's are closed while it runs)
 * and raises its limit as this process did: beyond that many, a spawn
 * would fail with EMFILE, so jobs wait instead. 0: no cap. */
#define KEEPER_FDS_PER_JOB 2u
#define KEEPER_FDS_SPARE 64u

static uint32_t keeper_job_cap(uint32_t wanted, uint32_t cores)
{
	struct rlimit r;
	uint64_t cap;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_max == RLIM_INFINITY)
		return wanted;
	cap = r.rlim_max > KEEPER_FDS_SPARE ? (r.rlim_max - KEEPER_FDS_SPARE) / KEEPER_FDS_PER_JOB : 1;
	if ((wanted ? wanted : cores) <= cap)	/* a running job holds a core */
		return wanted;
	fprintf(stderr, "jobring: at most %llu jobs run at once: the keeper holds %u descriptors "
		"for each and may open %llu (RLIMIT_NOFILE)\n", (unsigned long long)cap,
		KEEPER_FDS_PER_JOB, (unsigned long long)r.rlim_max);
	return (uint32_t)cap;
}

/* Each storage filesystem as the counter "storage:<i>" after the host's
 * own (jr_engine_opts.storage), and its directory made and opened. */
static int storage_counters(struct jr_coordinator *co, const struct jr_engine_opts *o,
			    struct jr_res_config *cfg)
{
	int rc = jr_scratch_init(&co->scratch, o->storage);

	if (rc < 0)
		return rc;
	if (cfg->custom_count + co->scratch.count > JR_CUSTOM_MAX)
		return -EINVAL;
	co->scratch_counter = cfg->custom_count;
	for (uint32_t i = 0; i < co->scratch.count; i++) {
		uint32_t c = cfg->custom_count++;
		snprintf(co->custom_names[c], JR_CUSTOM_NAME_MAX, "storage:%u", i);
		cfg->custom_name[c] = co->custom_names[c];
		cfg->custom_total[c] = co->scratch.fs[i].bytes;
	}
	return jr_scratch_open(&co->scratch, NULL);
}

static int coord_setup(struct jr_coordinator *co, const struct jr_coord_host *host,
		       const struct jr_engine_opts *o)
{
	struct jr_res_config cfg = { 0 };
	int rc;

	co->region = host->region;
	co->topo = host->topo;
	co->bind = host->bind;
	co->id = host->worker_id;
	co->rec = &co->region->workers[co->id];
	co->kill_grace_ns = (o->kill_grace_ms ? o->kill_grace_ms : 10000) * JR_NS_PER_MS;
	co->armed_ns = JR_TIME_NEVER;
	co->max_output = o->max_output_bytes ? o->max_output_bytes : JR_MAX_OUTPUT_DEFAULT;
	co->output_check_at_ns = JR_TIME_NEVER;
	co->gpus_per_node = o->gpus_per_node;
	co->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
	co->base_env = environ;
	co->uid = (uint32_t)getuid();
	co->park_after = park_after();
	co->job_event = o->job_event;
	co->job_event_ctx = o->job_event_ctx;
	jr_mutex_init(&co->lock, JR_LOCK_COORD_INBOX);
	jr_mutex_init(&co->state_lock, JR_LOCK_COORD_STATE);
	pthread_cond_init(&co->spawn_cv, NULL);
	pthread_cond_init(&co->restore_cv, NULL);
	cfg.mem_per_node = o->mem_per_node;
	cfg.gpus_per_node = o->gpus_per_node;
	if (jr_res_parse_totals(o->custom_resources, &cfg, co->custom_names) < 0 ||
	    jr_res_parse_host_caps(o->capabilities, &co->caps, &cfg) < 0)
		return -EINVAL;
	rc = storage_counters(co, o, &cfg);
	if (rc < 0)
		return rc;
	rc = jr_pools_init(&co->pools, co->topo, &cfg);
	if (rc < 0)
		return rc;
	co->running_cap = co->topo->core_count;	/* each running job holds a core */
	co->running = jr_calloc(co->running_cap, sizeof(*co->running));
	if (!co->running)
		return -ENOMEM;
	jr_coord_sched_init(co);
	jr_sched_set_policy(&co->sched, &(struct jr_sched_policy){
		.age_points = o->priority_age_per_min,
		.fair_share_weight = o->fair_share_weight,
		.fair_share_half_life_ns = o->fair_share_half_life_ms * 1000000ull,
	});
	co->sched.max_running = o->keeper_socket ?
		keeper_job_cap(o->runner_threads, co->topo->core_count) : 0;
	name_state_dir(co, o->state_dir);
	rc = jr_coord_keeper_open(co, o);
	if (rc < 0)
		return rc;
	if (co->keeper_fd < 0)	/* with a keeper, job cgroups are the keeper's */
		open_cgroups(co, o);
	return open_fds(co);
}

/* Without a keeper and unless spawning inline, a runner per core. */
static uint32_t runners_wanted(const struct jr_coordinator *co, const struct jr_engine_opts *o)
{
	if (co->keeper_fd >= 0 || (o->flags & JR_ENGINE_SPAWN_INLINE))
		return 0;	/* the keeper spawns, or the coordinator itself */
	return o->runner_threads ? o->runner_threads : co->topo->core_count;
}

int jr_coord_start(struct jr_coordinator **out, const struct jr_coord_host *host,
		   const struct jr_engine_opts *o)
{
	struct jr_coordinator *co = jr_calloc(1, sizeof(*co));
	int rc;

	if (!co)
		return -ENOMEM;
	co->cg.dir_fd = -1;
	co->keeper_fd = -1;
	co->out_dirfd = -1;
	rc = coord_setup(co, host, o);
	if (rc == 0)
		rc = jr_coord_runners_start(co, runners_wanted(co, o));
	if (rc == 0)
		rc = -pthread_create(&co->thread, NULL, jr_coord_loop, co);
	if (rc < 0) {
		jr_coord_runners_stop(co);
		coord_free(co);
		return rc;
	}
	*out = co;
	return 0;
}

void jr_coord_stop(struct jr_coordinator *co, enum jr_close_mode mode)
{
	if (!co)
		return;
	jr_mutex_lock(&co->lock);
	co->stopping = true;
	co->cancel_all = mode == JR_CLOSE_CANCEL;
	co->detach = mode == JR_CLOSE_DETACH;
	jr_mutex_unlock(&co->lock);
	jr_coord_poke(co);
	pthread_join(co->thread, NULL);
	jr_coord_output_sweep_join(co);
	jr_coord_runners_stop(co);
	jr_coord_free_dead(co);
	if (co->detach)
		free_remaining_jobs(co);
	coord_free(co);
}

bool jr_coord_has_keeper(const struct jr_coordinator *co)
{
	return co && co->keeper_fd >= 0;
}

void jr_coord_exec_info(struct jr_coordinator *co, struct jr_exec_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!co)
		return;
	jr_mutex_lock(&co->state_lock);
	if (co->keeper_fd >= 0 || co->keeper_socket) {
		out->cgroups = co->kinfo.cgroup_mode == JR_CGROUP_V2;
		snprintf(out->cgroup_path, sizeof(out->cgroup_path), "%s", co->kinfo.cgroup_path);
		jr_cgroup_controller_names(co->kinfo.controllers, out->controllers,
					   sizeof(out->controllers));
		snprintf(out->note, sizeof(out->note), "%s", co->kinfo.note);
		out->keeper_pid = co->kinfo.pid;
	} else {
		out->cgroups = co->cg.mode == JR_CGROUP_V2;
		snprintf(out->cgroup_path, sizeof(out->cgroup_path), "%s", co->cg.path);
		jr_cgroup_controller_names(co->cg.controllers, out->controllers,
					   sizeof(out->controllers));
		snprintf(out->note, sizeof(out->note), "%s", co->cg.note);
	}
	out->keeper_restarts = co->keeper_restarts;
	out->progress_frames = co->keeper_progress_frames;
	out->adopted = co->adopted;
	out->ended_while_away = co->ended_while_away;
	out->lost = co->lost;
	jr_mutex_unlock(&co->state_lock);
}

/* --- requests from any thread ------------------------------------------ */

void jr_coord_cancel(struct jr_coordinator *co, jr_job_id id)
{
	jr_mutex_lock(&co->lock);
	/* Without memory the request is dropped; the job runs to its end. */
	if (jr_array_grow(&co->cancels, &co->cancel_cap, co->cancel_count,
			  co->cancel_count + 1, sizeof(*co->cancels), 64) == 0)
		co->cancels[co->cancel_count++] = id;
	jr_mutex_unlock(&co->lock);
	jr_coord_poke(co);
}

static void count_cores(const struct jr_pools *p, uint32_t *total, uint32_t *free)
{
	*total = p->core_count;
	*free = jr_pools_free_cores_all(p);
}

void jr_coord_stats(struct jr_coordinator *co, struct jr_stats *out)
{
	if (!co)
		return;
	jr_mutex_lock(&co->state_lock);
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++) {
		uint64_t n = co->sched.waiting_by_level[p] + co->ext_ready_by_level[p] +
			     co->parked_by_level[p];
		out->queued_by_priority[p] += n;
		out->queued += n;
	}
	out->running += co->running_count;	/* command jobs: local and external */
	out->external_ready = co->ext_ready.count;	/* issue 17's allocations */
	for (int b = 0; b < JR_WAIT_BUCKETS; b++)
		out->start_wait_us_hist[b] = co->start_wait_hist[b];
	out->start_wait_us_sum = co->start_wait_sum_us;
	uint32_t total, free;
	count_cores(&co->pools, &total, &free);
	out->cores = total;
	out->cores_busy = total - free;
	jr_mutex_unlock(&co->state_lock);
}

void jr_coord_wake(struct jr_coordinator *co)
{
	if (co)
		jr_coord_poke(co);
}

/* --- the resources view ---------------------------------------------------- */

static void view_numa(const struct jr_pools *p, struct jr_resource_view *out)
{
	out->numa_count = p->numa_count < JR_VIEW_NUMA_MAX ? p->numa_count : JR_VIEW_NUMA_MAX;
	for (uint32_t n = 0; n < out->numa_count; n++) {
		const struct jr_numa_pool *node = &p->node[n];
		struct jr_view_numa *v = &out->numa[n];
		uint32_t gpus_free = jr_load_relaxed(&node->gpu_free);
		v->cores_total = node->core_total;
		v->cores_used = node->core_total - jr_pools_free_cores(p, n);
		v->first_core = node->first_core;
		v->mem_total = node->mem_total;
		v->mem_used = node->mem_total - jr_load_relaxed(&node->mem_free);
		v->gpus_total = (uint32_t)__builtin_popcount(node->gpu_all);
		v->gpus_used = v->gpus_total - (uint32_t)__builtin_popcount(gpus_free & node->gpu_all);
	}
}

static void view_counters(const struct jr_coordinator *co, struct jr_resource_view *out)
{
	const struct jr_pools *p = &co->pools;

	out->counter_count = p->custom_count;
	for (uint32_t i = 0; i < p->custom_count && i < JR_VIEW_COUNTER_MAX; i++) {
		struct jr_view_counter *c = &out->counters[i];
		snprintf(c->name, sizeof(c->name), "%s", p->custom_name[i]);
		c->total = p->custom_total[i];
		c->used = p->custom_total[i] - jr_load_relaxed(&p->custom_free[i]);
		c->storage = -1;
	}
	jr_coord_storage(co, out);
	for (uint32_t i = 0; i < co->scratch.count; i++)
		out->counters[co->scratch_counter + i].storage = (int32_t)i;
}

void jr_coord_storage(const struct jr_coordinator *co, struct jr_resource_view *out)
{
	const struct jr_pools *p = &co->pools;

	out->storage_count = co->scratch.count;
	for (uint32_t i = 0; i < out->storage_count; i++) {
		struct jr_view_storage *s = &out->storage[i];
		uint32_t c = co->scratch_counter + i;
		snprintf(s->path, sizeof(s->path), "%s", co->scratch.fs[i].path);
		s->counter = c;
		s->zero = 0;
		s->bytes_total = p->custom_total[c];
		s->bytes_used = p->custom_total[c] - jr_load_relaxed(&p->custom_free[c]);
	}
}

void jr_coord_resources(struct jr_coordinator *co, struct jr_resource_view *out)
{
	struct jr_req req;
	uint64_t id, shadow;

	if (!co)
		return;
	view_numa(&co->pools, out);
	view_counters(co, out);
	out->capabilities = co->pools.capabilities;
	jr_mutex_lock(&co->state_lock);
	out->commands_running = co->running_count;
	if (jr_sched_head(&co->sched, &id, &req, &shadow)) {
		out->head.job_id = id;
		out->head.shadow_ns = shadow;
		out->head.cpus = req.cpus;
		out->head.gpus = req.gpus;
		out->head.mem_bytes = req.mem_bytes;
		for (uint32_t i = 0; i < JR_VIEW_COUNTER_MAX && i < JR_CUSTOM_MAX; i++)
			out->head.counters[i] = req.custom[i];
	}
	jr_mutex_unlock(&co->state_lock);
}
