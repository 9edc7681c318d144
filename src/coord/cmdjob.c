/*
 * cmdjob.c - one command job in the coordinator: built from its spec,
 * started as a child with its resources, environment and binding, and
 * ended (or retried) when it exits. See cmdjob.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/alloc.h"
#include "coord/cmdbatch.h"
#include "coord/cmdjob.h"
#include "shm/cmdrec.h"
#include "base/common.h"
#include "shm/counters.h"
#include "coord/coordinator.h"
#include "shm/jobtab.h"

/* --- building ------------------------------------------------------------ */

/* A NULL-terminated copy of v in one allocation: the pointers, then the
 * strings. NULL for an empty or absent v. */
static char **strv_dup(char *const *v, bool *failed)
{
	char *block;

	*failed = false;
	if (!v || !v[0])
		return NULL;
	block = jr_malloc(cmd_strv_bytes(v));
	if (!block) {
		*failed = true;
		return NULL;
	}
	return cmd_strv_copy(&block, v);
}

struct cmd_job *cmd_job_new(const struct jr_command_spec *spec,
			    const struct jr_req *req)
{
	struct cmd_job *job = jr_calloc(1, sizeof(*job));
	bool argv_failed = false, env_failed = false;

	if (!job)
		return NULL;
	job->argv = strv_dup(spec->argv, &argv_failed);
	job->env = strv_dup(spec->env, &env_failed);
	job->cwd = spec->cwd ? strdup(spec->cwd) : NULL;
	if (spec->after_count) {
		job->after = jr_calloc(spec->after_count, sizeof(*job->after));
		if (job->after)
			memcpy(job->after, spec->after, spec->after_count * sizeof(*job->after));
	}
	if (argv_failed || env_failed || (spec->cwd && !job->cwd) ||
	    (spec->after_count && !job->after)) {
		cmd_job_free(job);
		return NULL;
	}
	job->external = spec->flags & JR_COMMAND_EXTERNAL;
	if (job->external && spec->capabilities && *spec->capabilities &&
	    !(job->ext_caps = strdup(spec->capabilities))) {
		cmd_job_free(job);
		return NULL;
	}
	job->run_as_user = spec->run_as_user != 0;
	job->uid = spec->uid;
	job->gid = spec->gid;
	job->after_count = (uint32_t)spec->after_count;
	job->max_retries = spec->max_retries;
	job->backoff_base_ns = (spec->backoff_base_ms ? spec->backoff_base_ms : 1000) * 1000000ull;
	job->backoff_max_ns = (spec->backoff_max_ms ? spec->backoff_max_ms : 60000) * 1000000ull;
	job->timeout_ns = spec->timeout_ms * 1000000ull;
	job->sj.limit_ns = job->timeout_ns;
	job->sj.not_before_ns = spec->scheduled_at_ns;
	job->sj.req = *req;
	job->use_umask = spec->use_umask != 0;
	job->umask = (uint16_t)(spec->umask & 0777);
	job->child = JR_CHILD_NONE;
	job->cgroup = JR_CGROUP_JOB_NONE;
	return job;
}

void cmd_job_free(struct cmd_job *job)
{
	if (!job)
		return;
	jr_free(job->argv);
	jr_free(job->env);
	free(job->cwd);
	free(job->ext_caps);
	jr_free(job->sj.alloc);
	jr_free(job->after);
	jr_free(job->sj.dependents);
	jr_free(job);
}

/* --- starting ------------------------------------------------------------ */

/* Does one of the first `upto` entries set the variable entry sets? Only
 * the variables jobring and the job set are compared against: the
 * engine's own environment has no duplicates to find. */
static bool env_has(const struct env_builder *b, size_t upto, const char *entry)
{
	size_t len = strcspn(entry, "=");

	for (size_t i = 0; i < upto; i++)
		if (strncmp(b->v[i], entry, len) == 0 && b->v[i][len] == '=')
			return true;
	return false;
}

static void env_add(struct env_builder *b, size_t upto, char *entry)
{
	if (b->n + 1 < b->cap && !env_has(b, upto, entry))
		b->v[b->n++] = entry;
}

static void format_list(char *out, size_t size, const uint32_t *ids, uint32_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < n && used + 12 < size; i++)
		used += (size_t)snprintf(out + used, size - used, i ? ",%u" : "%u", ids[i]);
}

static uint32_t gpu_ids(const struct jr_coordinator *co, const struct jr_alloc *a,
			uint32_t *ids, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t node = 0; node < co->pools.numa_count; node++)
		for (uint32_t g = 0; g < 32 && n < max; g++)
			if (a->gpus[node] & (1u << g))
				ids[n++] = node * co->gpus_per_node + g;
	return n;
}

/* Job's own variables first (they win), then its extras, then the
 * engine's environment. */
static char **build_env(struct jr_coordinator *co, struct cmd_job *job,
			struct env_builder *b, const uint32_t *cores, uint32_t ncores)
{
	uint32_t gpus[64], ngpus = gpu_ids(co, job->sj.alloc, gpus, 64);
	char list[400];
	size_t base = 0;

	while (co->base_env[base])
		base++;
	b->cap = base + 16;
	for (size_t i = 0; job->env && job->env[i]; i++)
		b->cap++;
	b->v = jr_calloc(b->cap, sizeof(char *));
	if (!b->v)
		return NULL;
	snprintf(b->own[0], sizeof(b->own[0]), "JOBRING_JOB_ID=%016llx", (unsigned long long)job->id);
	format_list(list, sizeof(list), cores, ncores);
	snprintf(b->own[1], sizeof(b->own[1]), "JOBRING_CPUS=%s", list);
	snprintf(b->own[2], sizeof(b->own[2]), "OMP_NUM_THREADS=%u", ncores);
	snprintf(b->own[3], sizeof(b->own[3]), "JOBRING_PROGRESS_FD=%d", JR_PROGRESS_FD);
	format_list(list, sizeof(list), gpus, ngpus);
	snprintf(b->own[4], sizeof(b->own[4]), "CUDA_VISIBLE_DEVICES=%s", list);
	snprintf(b->own[5], sizeof(b->own[5]), "ROCR_VISIBLE_DEVICES=%s", list);
	for (int i = 0; i < 6; i++)
		env_add(b, b->n, b->own[i]);
	for (size_t i = 0; job->env && job->env[i]; i++)
		env_add(b, b->n, job->env[i]);
	size_t set_by_us = b->n;
	for (size_t i = 0; i < base; i++)
		env_add(b, set_by_us, co->base_env[i]);
	b->v[b->n] = NULL;
	return b->v;
}

/* The job's cores (host-wide ids) as a mask of their PUs, and the NUMA
 * nodes it holds memory or cores on (none when that is every node: the
 * default policy already allows them all). */
static void binding_masks(struct jr_coordinator *co, struct cmd_job *job,
			  const uint32_t *cores, uint32_t n, struct cmd_launch *l)
{
	hwloc_topology_t t = co->topo->topo;
	hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ?
					HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
	hwloc_bitmap_t cpus = hwloc_bitmap_alloc(), nodes = hwloc_bitmap_alloc();

	_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "LP64");
	for (uint32_t i = 0; i < n; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(t, type, cores[i]);
		if (core)
			hwloc_bitmap_or(cpus, cpus, core->cpuset);
	}
	for (uint32_t node = 0; node < co->pools.numa_count; node++) {
		hwloc_obj_t obj = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, node);
		if (obj && (job->sj.alloc->nodes & (1u << node)))
			hwloc_bitmap_or(nodes, nodes, obj->nodeset);
	}
	if (!hwloc_bitmap_iszero(cpus) &&
	    hwloc_bitmap_to_ulongs(cpus, JR_EXEC_CPU_WORDS, (unsigned long *)l->cpus) == 0)
		l->spec.cpu_mask = l->cpus;
	if (!hwloc_bitmap_iszero(nodes) &&
	    !hwloc_bitmap_isequal(nodes, hwloc_topology_get_topology_nodeset(t)) &&
	    hwloc_bitmap_to_ulongs(nodes, JR_EXEC_NODE_WORDS, (unsigned long *)l->nodes) == 0)
		l->spec.node_mask = l->nodes;
	hwloc_bitmap_free(cpus);
	hwloc_bitmap_free(nodes);
}

void cmd_job_record_start(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[job->slot];

	job->attempts++;
	if (job->attempts == 1) {
		uint64_t created = jr_slot_get(s->created_ns);
		uint64_t us = now > created ? (now - created) / 1000 : 0;
		uint32_t b = us ? 64 - (uint32_t)__builtin_clzll(us) : 0;
		b = b < JR_WAIT_BUCKETS ? b : JR_WAIT_BUCKETS - 1;
		jr_store_relaxed(&co->start_wait_hist[b], co->start_wait_hist[b] + 1);
		jr_store_relaxed(&co->start_wait_sum_us, co->start_wait_sum_us + us);
	}
	jr_slot_put(s->attempt, (uint16_t)job->attempts);
	jr_slot_put(s->worker_id, (uint16_t)co->id);
	jr_slot_put(s->start_ns, now);
	jr_slot_put(s->end_ns, 0);
}

/* A start's event names the process and its resources, and carries the
 * start time the slot shows (set before the spawn). */
static void event_process(struct jr_coordinator *co, const struct cmd_job *job,
			  struct jr_job_event *ev, uint8_t *alloc, uint32_t size)
{
	ev->time_ns = jr_slot_get(co->region->slots[job->slot].start_ns);
	ev->pid = job->child.pid;
	ev->pid_start_ticks = job->start_ticks;
	ev->cgroup_slot = job->cgroup_slot;
	if (job->child.pid > 0)
		memcpy(ev->boot_id, jr_exec_boot_id(), sizeof(ev->boot_id));
	if (job->sj.alloc) {
		ev->alloc_len = jr_alloc_encode(job->sj.alloc, alloc, size);
		ev->alloc = ev->alloc_len ? alloc : NULL;
	}
}

void cmd_job_event(struct jr_coordinator *co, const struct cmd_job *job,
		   enum jr_job_event_kind kind, enum jr_job_state state,
		   enum jr_reason reason, uint64_t now)
{
	const struct jr_cmd_record *rec;
	struct jr_job_event ev;
	uint8_t alloc[JR_ALLOC_ENCODED_MAX];

	if (!co->job_event)
		return;
	rec = jr_cmd_record(co->region, job->record_ref);
	ev = (struct jr_job_event){
		.job_id = job->id, .kind = kind, .state = state, .reason = reason,
		.attempt = job->attempts, .worker_id = co->id, .time_ns = now,
		.exit_code = rec->exit_code, .signal = rec->signal,
		.max_rss_kib = rec->max_rss_kib, .user_us = rec->user_us,
		.system_us = rec->system_us,
	};
	if (job->external)
		ev.worker_id = jr_slot_get(co->region->slots[job->slot].worker_id);
	if (kind == JR_EVENT_RETRYING)
		ev.not_before_ns = job->sj.not_before_ns;
	if (kind == JR_EVENT_STARTED)
		event_process(co, job, &ev, alloc, sizeof(alloc));
	co->job_event(co->job_event_ctx, &ev);
}

static void arm_deadlines(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = job };

	if (co->spawner_count == 0 && job->child.pidfd >= 0)	/* not runners, not the keeper */
		epoll_ctl(co->epfd, EPOLL_CTL_ADD, job->child.pidfd, &ev);
	job->running = true;
	job->reaped = false;
	job->timed_out = false;
	job->term_at_ns = job->timeout_ns ? now + job->timeout_ns : 0;
	job->kill_at_ns = 0;
}

/* Reads only what the coordinator set before handing the job over, and
 * what never changes: any thread. */
int cmd_launch_prepare(struct jr_coordinator *co, struct cmd_job *job, struct cmd_launch *l)
{
	uint32_t cores[256], ncores;

	memset(&l->spec, 0, sizeof(l->spec));
	memset(&l->env, 0, sizeof(l->env));
	ncores = jr_alloc_core_ids(&co->pools, job->sj.alloc, cores, 256);
	jr_coord_output_paths(co, job->id, l->out, l->err, sizeof(l->out));
	snprintf(l->cgroup_name, sizeof(l->cgroup_name), "%016llx", (unsigned long long)job->id);
	l->mem_max = job->sj.req.mem_bytes;
	l->spec.argv = job->argv;
	l->spec.envp = build_env(co, job, &l->env, cores, ncores);
	l->spec.cwd = job->cwd;
	l->spec.stdout_path = l->out;
	l->spec.stderr_path = l->err;
	l->spec.use_umask = job->use_umask;
	l->spec.umask = job->umask;
	l->spec.set_ids = job->run_as_user;
	l->spec.uid = job->uid;
	l->spec.gid = job->gid;
	l->spec.cgroup_fd = -1;
	if (co->bind && !co->topo->synthetic)
		binding_masks(co, job, cores, ncores, l);
	return l->spec.envp ? 0 : -ENOMEM;
}

void cmd_launch_free(struct cmd_launch *l)
{
	jr_free(l->env.v);
	l->env.v = NULL;
}

#define COLLECT_WAIT_MS 10000	/* for a killed cgroup to empty */

/* Runs on a runner thread (or the coordinator, inline). */
int cmd_job_spawn(struct jr_coordinator *co, struct cmd_job *job)
{
	struct cmd_launch l;
	int rc = cmd_launch_prepare(co, job, &l);

	if (rc == 0)
		rc = jr_cgroup_job_take(&co->cg, l.cgroup_name, l.mem_max, &job->cgroup);
	if (rc == 0) {
		l.spec.cgroup_fd = job->cgroup.fd;
		rc = jr_exec_spawn(&l.spec, &job->child);
	}
	if (rc == 0 && co->job_event)	/* its identity goes to the journal */
		jr_exec_start_ticks(job->child.pid, &job->start_ticks);
	job->cgroup_slot = job->cgroup.slot;
	if (rc < 0 && job->cgroup.fd >= 0)
		jr_cgroup_job_release(&co->cg, &job->cgroup, COLLECT_WAIT_MS);
	cmd_launch_free(&l);
	return rc;
}

/* Under state_lock: from here on nothing signals through the job's
 * cgroup, which may go to the next job once empty. */
bool cmd_job_collect_begin(struct jr_coordinator *co, struct cmd_job *job)
{
	int rc;

	job->reaped = true;
	if (job->cgroup.fd < 0)	/* its group was killed as it was reaped */
		return true;
	rc = jr_cgroup_job_try_release(&co->cg, &job->cgroup);
	return rc != -EBUSY;
}

/* Without the lock: processes still dying in its cgroup. */
void cmd_job_collect_wait(struct jr_coordinator *co, struct cmd_job *job)
{
	if (jr_cgroup_job_release(&co->cg, &job->cgroup, COLLECT_WAIT_MS) < 0)
		fprintf(stderr, "jobring: job %016llx: its cgroup did not empty within %d ms; "
			"given up\n", (unsigned long long)job->id, COLLECT_WAIT_MS);
}

void cmd_job_signal(struct jr_coordinator *co, struct cmd_job *job, int sig)
{
	if (co->keeper_fd >= 0) {
		coord_keeper_signal(co, job, sig);
		return;
	}
	if (job->reaped)
		return;		/* its cgroup may hold the next job already */
	if (job->cgroup.fd < 0)
		jr_exec_signal_group(&job->child, sig);
	else if (sig == SIGKILL)
		jr_cgroup_job_kill(&job->cgroup);
	else
		jr_cgroup_job_signal(&job->cgroup, sig);
}

/* Back on the coordinator: the spawner has started the child, or not. */
void cmd_job_spawned(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[job->slot];

	job->spawning = false;
	if (job->spawn_rc < 0) {
		jr_store_relaxed(&jr_cmd_record(co->region, job->record_ref)->exit_code, 127);
		jr_slot_put(s->result, 127);
		coord_running_remove(co, job);
		cmd_job_end(co, job, JR_SCHED_FAILED, JR_REASON_SPAWN_FAILED, now);
		return;
	}
	arm_deadlines(co, job, now);
	cmd_job_event(co, job, JR_EVENT_STARTED, JR_JOB_RUNNING, JR_REASON_NONE, now);
	if (job->cancel_requested) {	/* while it was being spawned */
		cmd_job_signal(co, job, SIGTERM);
		job->kill_at_ns = now + co->kill_grace_ns;
	}
}

/* --- ending ---------------------------------------------------------------- */

static struct jr_cmd_record *record_of(struct jr_coordinator *co, struct cmd_job *job)
{
	return jr_cmd_record(co->region, job->record_ref);
}

static void record_result(struct jr_coordinator *co, struct cmd_job *job,
			  const struct jr_exec_result *res, uint64_t now)
{
	struct jr_cmd_record *rec = record_of(co, job);
	struct jr_slot *s = &co->region->slots[job->slot];

	jr_store_relaxed(&rec->exit_code, res->exit_code);
	jr_store_relaxed(&rec->signal, res->signal);
	jr_store_relaxed(&rec->max_rss_kib, res->max_rss_kib);
	jr_store_relaxed(&rec->user_us, res->user_us);
	jr_store_relaxed(&rec->system_us, res->system_us);
	jr_slot_put(s->result, res->exit_code);
	jr_slot_put(s->end_ns, now);	/* the clock this turn's pass uses */
}

void coord_set_progress(struct jr_coordinator *co, struct cmd_job *job, int pct)
{
	struct jr_slot *s = &co->region->slots[job->slot];
	uint16_t flags = jr_slot_get(s->flags) & 0xff;

	if (pct >= 0)
		jr_slot_put(s->flags, (uint16_t)(flags | (pct + 1) << JR_SLOT_PROGRESS_SHIFT));
}

void cmd_job_set_rec_flag(struct jr_coordinator *co, struct cmd_job *job,
			  uint32_t flag, bool on)
{
	struct jr_cmd_record *rec = jr_cmd_record(co->region, job->record_ref);
	uint32_t flags = jr_load_relaxed(&rec->flags);

	jr_store_release(&rec->flags, on ? flags | flag : flags & ~flag);
}

/* Equal jitter: half the exponential delay, plus up to the other half. */
static uint64_t backoff_ns(struct jr_coordinator *co, const struct cmd_job *job)
{
	uint32_t shift = job->attempts > 1 ? job->attempts - 1 : 0;
	uint64_t d = shift >= 32 ? job->backoff_max_ns : job->backoff_base_ns << shift;

	if (d > job->backoff_max_ns || d < job->backoff_base_ns)
		d = job->backoff_max_ns;
	co->rng ^= co->rng << 13, co->rng ^= co->rng >> 7, co->rng ^= co->rng << 17;
	return d / 2 + co->rng % (d / 2 + 1);
}

/* RUNNING -> QUEUED for a retry; waiters keep waiting. */
static void slot_requeue(struct jr_slot *s)
{
	uint32_t w = jr_load_relaxed(&s->state);

	while (!jr_cas_acq_rel(&s->state, &w, (w & ~JR_SLOT_STATE_MASK) | JR_JOB_QUEUED))
		;
}

static void child_close(struct jr_coordinator *co, struct cmd_job *job)
{
	if (job->ext_list != EXT_NONE)
		ext_unlink(co, job);
	coord_set_progress(co, job, jr_exec_read_progress(&job->child));
	/* Out of the epoll set before the close: a child a runner clones now
	 * holds a copy of the pidfd until it execs, and epoll keeps watching
	 * a file until its last descriptor is closed. */
	if (co->spawner_count == 0 && job->child.pidfd >= 0)
		epoll_ctl(co->epfd, EPOLL_CTL_DEL, job->child.pidfd, NULL);
	jr_exec_close(&job->child);
	jr_cgroup_job_close(&job->cgroup);
	coord_running_remove(co, job);
	job->running = false;
}

/* The attempt failed; the job goes back to wait until not_before_ns. */
static void retry(struct jr_coordinator *co, struct cmd_job *job, enum jr_reason reason,
		  uint64_t not_before_ns, uint64_t now)
{
	jr_store_relaxed(&record_of(co, job)->reason, reason);
	job->sj.not_before_ns = not_before_ns;
	cmd_job_event(co, job, JR_EVENT_RETRYING, JR_JOB_QUEUED, reason, now);
	slot_requeue(&co->region->slots[job->slot]);
	jr_sched_requeue(&co->sched, &job->sj, job->sj.not_before_ns, now);
	if (job->sj.state == JR_SCHED_PENDING)	/* backing off */
		cmd_job_set_rec_flag(co, job, JR_REC_PENDING, true);
}

void cmd_job_exited(struct jr_coordinator *co, struct cmd_job *job,
		    const struct jr_exec_result *res, uint64_t now)
{
	enum jr_reason reason = JR_REASON_NONE;

	child_close(co, job);
	record_result(co, job, res, now);
	if (job->cancel_requested)
		reason = JR_REASON_CANCELLED;
	else if (job->lost)
		reason = JR_REASON_COORDINATOR_LOST;
	else if (job->worker_lost)
		reason = JR_REASON_WORKER_LOST;
	else if (job->timed_out)
		reason = JR_REASON_TIMEOUT;
	else if (res->signal)
		reason = JR_REASON_SIGNAL;
	else if (res->exit_code != 0)
		reason = JR_REASON_EXIT;
	if (reason == JR_REASON_NONE) {
		cmd_job_end(co, job, JR_SCHED_SUCCEEDED, reason, now);
	} else if (reason == JR_REASON_CANCELLED) {
		cmd_job_end(co, job, JR_SCHED_CANCELLED, reason, now);
	} else if (reason == JR_REASON_COORDINATOR_LOST && !co->cancel_all) {
		/* Gone without a status while no engine watched: the daemon
		 * failed, not the job. It runs again at once, whatever its
		 * retries (at least once). */
		co->lost++;
		job->lost = false;
		retry(co, job, reason, now, now);
	} else if (job->attempts <= job->max_retries && !co->cancel_all) {
		retry(co, job, reason, now + backoff_ns(co, job), now);
	} else {
		cmd_job_end(co, job, JR_SCHED_FAILED, reason, now);
	}
}


static void retire(struct jr_coordinator *co, struct cmd_job *job)
{
	struct jr_region *r = co->region;

	jr_store_release(&record_of(co, job)->coord, 0);
	coord_free_slot(co, job->slot);
	co->outstanding--;
	job->next = co->dead;
	co->dead = job;
	/* jr_engine_wait_all() can only be satisfied once no command job is
	 * left: waking its callers for every job costs a context switch each. */
	if (co->outstanding == 0)
		jr_counters_notify_done(r);
}

/* A job that ran (or was refused at start) ends for good. */
void cmd_job_end(struct jr_coordinator *co, struct cmd_job *job,
		 enum jr_sched_state state, enum jr_reason reason, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[job->slot];
	struct jr_worker_rec *rec = co->rec;

	jr_store_relaxed(&record_of(co, job)->reason, reason);
	cmd_job_event(co, job, JR_EVENT_ENDED,
		      state == JR_SCHED_SUCCEEDED ? JR_JOB_SUCCEEDED :
		      state == JR_SCHED_FAILED ? JR_JOB_FAILED : JR_JOB_CANCELLED,
		      reason, now);
	if (jr_slot_state(jr_load_acquire(&s->state)) == JR_JOB_RUNNING) {
		if (state == JR_SCHED_SUCCEEDED)
			jr_store_release(&rec->succeeded, rec->succeeded + 1);
		else if (state == JR_SCHED_FAILED)
			jr_store_release(&rec->failed, rec->failed + 1);
		else
			jr_counters_add_cancelled(co->region, 1);
		jr_jobtab_finish(s, state == JR_SCHED_SUCCEEDED ? JR_JOB_SUCCEEDED :
				    state == JR_SCHED_FAILED ? JR_JOB_FAILED : JR_JOB_CANCELLED);
	}
	/* else: cancelled by the user before it started, counted then. */
	jr_sched_finish(&co->sched, &job->sj, state, reason, now);
	retire(co, job);
}

void cmd_job_ended_unrun(struct jr_coordinator *co, struct cmd_job *job, uint64_t now)
{
	struct jr_slot *s = &co->region->slots[job->slot];

	jr_store_relaxed(&record_of(co, job)->reason, job->sj.reason);
	cmd_job_event(co, job, JR_EVENT_ENDED, JR_JOB_CANCELLED, job->sj.reason, now);
	cmd_job_set_rec_flag(co, job, JR_REC_PENDING, false);
	if (job->ext_list != EXT_NONE)
		ext_unlink(co, job);
	/* Unless the user's own cancel got there first (and counted it). */
	if (jr_jobtab_cancel_owned(s, JR_JOB_QUEUED))
		jr_counters_add_cancelled(co->region, 1);
	retire(co, job);
}
