/*
 * launch.c - one attempt of a command job made ready to start: its
 * environment (jobring's variables first, then the job's own, then the
 * engine's, or for another uid its password entry's), its output paths
 * and cgroup name, and the masks that bind it to its cores and NUMA
 * nodes. See launch.h.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/coordinator.h"
#include "coord/launch.h"
#include "exec/userenv.h"

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

/* Ascending ids in Linux's cpulist form ("0-1023,2048"): runs of
 * consecutive ids as first-last, so a job's compact cores fit however
 * many there are. */
static void format_runs(char *out, size_t size, const uint32_t *ids, uint32_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < n && used + 24 < size;) {
		uint32_t j = i;
		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		used += (size_t)snprintf(out + used, size - used, j > i ? "%s%u-%u" : "%s%u",
					 i ? "," : "", ids[i], ids[j]);
		i = j + 1;
	}
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

/* What the job's environment starts from: the engine's own, or for a job
 * run as another uid (a root daemon's user), never that (it is root's,
 * and may hold its secrets) but the user's password entry's HOME, USER,
 * LOGNAME, SHELL and a default PATH. Its entry count. */
static size_t base_env(struct jr_coordinator *co, struct cmd_job *job, struct env_builder *b,
		       char *const **out)
{
	size_t n = 0;

	if (job->run_as_user && job->uid != co->uid) {
		*out = b->user;
		return jr_exec_user_env(job->uid, b->user_buf, sizeof(b->user_buf), b->user);
	}
	while (co->base_env[n])
		n++;
	*out = co->base_env;
	return n;
}

/* jobring's variables first (they win), then the job's own (over the
 * base: a user may set HOME or PATH, as Slurm lets them), then its
 * batch's shared one, then the base environment. */
static char **build_env(struct jr_coordinator *co, struct cmd_job *job,
			struct env_builder *b, const uint32_t *cores, uint32_t ncores)
{
	uint32_t gpus[64], ngpus = gpu_ids(co, job->sj.alloc, gpus, 64);
	char list[400];
	char *const *from;
	size_t base = base_env(co, job, b, &from);

	char *const *shared = job->shared_env ? job->shared_env->v : NULL;

	b->cap = base + 16;
	char *const *own = jr_cmd_job_env(job);

	for (size_t i = 0; own && own[i]; i++)
		b->cap++;
	for (size_t i = 0; shared && shared[i]; i++)
		b->cap++;
	b->v = jr_calloc(b->cap, sizeof(char *));
	if (!b->v)
		return NULL;
	snprintf(b->own[0], sizeof(b->own[0]), "JOBRING_JOB_ID=%016llx", (unsigned long long)job->sj.id);
	format_runs(list, sizeof(list), cores, ncores);
	snprintf(b->own[1], sizeof(b->own[1]), "JOBRING_CPUS=%s", list);
	snprintf(b->own[2], sizeof(b->own[2]), "OMP_NUM_THREADS=%u", ncores);
	snprintf(b->own[3], sizeof(b->own[3]), "JOBRING_PROGRESS_FD=%d", JR_PROGRESS_FD);
	format_list(list, sizeof(list), gpus, ngpus);
	snprintf(b->own[4], sizeof(b->own[4]), "CUDA_VISIBLE_DEVICES=%s", list);
	snprintf(b->own[5], sizeof(b->own[5]), "ROCR_VISIBLE_DEVICES=%s", list);
	for (int i = 0; i < 6; i++)
		env_add(b, b->n, b->own[i]);
	if (b->own[6][0])	/* JOBRING_SCRATCH, made by scratch_dir() */
		env_add(b, b->n, b->own[6]);
	if (job->shared_env && job->shared_env->array) {	/* an array task's */
		snprintf(b->own[7], sizeof(b->own[7]), "JOBRING_ARRAY_JOB_ID=%016llx",
			 (unsigned long long)job->shared_env->array_job_id);
		snprintf(b->own[8], sizeof(b->own[8]), "JOBRING_ARRAY_TASK_ID=%u", job->array_task);
		env_add(b, b->n, b->own[7]);
		env_add(b, b->n, b->own[8]);
	}
	for (size_t i = 0; own && own[i]; i++)
		env_add(b, b->n, own[i]);
	size_t own_end = b->n;	/* the batch's shared env, beneath the job's */
	for (size_t i = 0; shared && shared[i]; i++)
		env_add(b, own_end, shared[i]);
	size_t set_by_us = b->n;
	for (size_t i = 0; i < base; i++)
		env_add(b, set_by_us, from[i]);
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

static const char *output_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* A job holding storage gets its directory there, made now (before its
 * process starts), named in JOBRING_SCRATCH (own[6], "" for none). */
static int scratch_dir(struct jr_coordinator *co, struct cmd_job *job, struct env_builder *b)
{
	char path[JR_SCRATCH_PATH_MAX + 40];
	bool other = job->run_as_user && job->uid != (uint32_t)geteuid();

	b->own[6][0] = '\0';
	for (uint32_t i = 0; i < co->scratch.count; i++) {
		if (!job->sj.alloc || !job->sj.alloc->custom[co->scratch_counter + i])
			continue;
		int rc = jr_scratch_make(&co->scratch, i, job->sj.id, other, job->uid, job->gid,
					 path, sizeof(path));
		if (rc < 0)
			return rc;
		snprintf(b->own[6], sizeof(b->own[6]), "JOBRING_SCRATCH=%s", path);
		return 0;
	}
	return 0;
}

/* Reads only what the coordinator set before handing the job over, and
 * what never changes: any thread. */
int jr_cmd_launch_prepare(struct jr_coordinator *co, struct cmd_job *job, struct cmd_launch *l)
{
	uint32_t want = jr_alloc_core_count(job->sj.alloc), ncores;
	/* Every core the job holds (up to JR_CORES_MAX): its binding and
	 * OMP_NUM_THREADS count them all. */
	uint32_t *cores = jr_malloc((want ? want : 1) * sizeof(*cores));

	memset(&l->spec, 0, sizeof(l->spec));
	memset(&l->env, 0, sizeof(l->env));
	if (!cores)
		return -ENOMEM;
	int rc = scratch_dir(co, job, &l->env);
	if (rc < 0) {
		jr_free(cores);
		return rc;
	}
	ncores = jr_alloc_core_ids(&co->pools, job->sj.alloc, cores, want);
	jr_coord_output_paths(co, job->sj.id, l->out, l->err, sizeof(l->out));
	snprintf(l->cgroup_name, sizeof(l->cgroup_name), "%016llx", (unsigned long long)job->sj.id);
	l->mem_max = job->sj.req->mem_bytes;
	l->spec.argv = job->argv;
	l->spec.envp = build_env(co, job, &l->env, cores, ncores);
	l->spec.cwd = jr_cmd_job_cwd(job);
	/* In-process spawns create the files by name in the checked output
	 * directory; the keeper is sent the paths (l->out, l->err) and opens
	 * their directory itself. */
	l->spec.output_dir_fd = co->out_dirfd;
	l->spec.stdout_path = co->out_dirfd >= 0 ? output_name(l->out) : l->out;
	l->spec.stderr_path = co->out_dirfd >= 0 ? output_name(l->err) : l->err;
	l->spec.use_umask = job->use_umask;
	l->spec.umask = job->umask;
	l->spec.set_ids = job->run_as_user;
	l->spec.uid = job->uid;
	l->spec.gid = job->gid;
	l->spec.cgroup_fd = -1;
	if (co->bind && !co->topo->synthetic)
		binding_masks(co, job, cores, ncores, l);
	jr_free(cores);
	return l->spec.envp ? 0 : -ENOMEM;
}

void jr_cmd_launch_free(struct cmd_launch *l)
{
	jr_free(l->env.v);
	l->env.v = NULL;
}
