/*
 * hostres.c - what this worker declares (hwloc's cores, memory and GPUs
 * on its node, or the subset the flags give) and which of its cores and
 * GPUs each running job holds: a job is bound to cores of its own, and
 * sees only its GPUs (CUDA_VISIBLE_DEVICES, in the numbering the worker
 * itself was given, e.g. by Slurm).
 */
#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/topology.h"
#include "worker/worker.h"

/* GPUs as hwloc sees them: CUDA devices (or, without the CUDA plugin,
 * NVML's or ROCm SMI's GPU objects), each counted once. */
static uint32_t count_gpus(const char *synthetic)
{
	hwloc_topology_t t;
	hwloc_obj_t o = NULL;
	uint32_t cuda = 0, smi = 0;

	if (synthetic || hwloc_topology_init(&t) < 0)
		return 0;
	hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	if (hwloc_topology_load(t) == 0)
		while ((o = hwloc_get_next_osdev(t, o))) {
			const char *sub = o->subtype ? o->subtype : "";
			if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC && strcmp(sub, "CUDA") == 0)
				cuda++;
			else if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU &&
				 (strncmp(o->name, "nvml", 4) == 0 || strncmp(o->name, "rsmi", 4) == 0))
				smi++;
		}
	hwloc_topology_destroy(t);
	return cuda ? cuda : smi;
}

/* GPU i's name for CUDA_VISIBLE_DEVICES: the i-th entry of the worker's
 * own CUDA_VISIBLE_DEVICES (Slurm's --gpus sets it), else i. */
static void gpu_names(struct wk_hostres *h)
{
	const char *env = getenv("CUDA_VISIBLE_DEVICES");
	uint32_t i = 0;

	if (env && *env) {
		char copy[1024], *save = NULL;
		snprintf(copy, sizeof(copy), "%s", env);
		for (char *tok = strtok_r(copy, ",", &save); tok && i < 64;
		     tok = strtok_r(NULL, ",", &save))
			snprintf(h->gpu_names[i++], sizeof(h->gpu_names[0]), "%s", tok);
	}
	for (; i < 64; i++)
		snprintf(h->gpu_names[i], sizeof(h->gpu_names[0]), "%u", i);
}

int wk_hostres_init(struct wk_hostres *h, const struct wk_opts *o)
{
	uint32_t found_cpus = 1;
	uint64_t found_mem = 0;

	memset(h, 0, sizeof(*h));
	h->topo = calloc(1, sizeof(*h->topo));
	if (h->topo && jr_topology_load(h->topo, o->topology) == 0) {
		found_cpus = h->topo->core_count;
		found_mem = hwloc_get_root_obj(h->topo->topo)->total_memory;
	} else {
		fprintf(stderr, "jobring-worker: hwloc could not read this node's topology\n");
		free(h->topo);
		h->topo = NULL;
	}
	h->cpus = o->cpus_set ? o->cpus : found_cpus;
	h->mem_bytes = o->mem_set ? o->mem_bytes : found_mem;
	h->gpus = o->gpus_set ? o->gpus : count_gpus(o->topology);
	if (h->gpus > 64)
		h->gpus = 64;
	/* Bound only to cores that exist here: a synthetic topology is not
	 * this node, and more cpus than cores are declared as shares. */
	h->bind = h->topo && !h->topo->synthetic && !o->no_bind && h->cpus <= found_cpus;
	h->core_used = calloc((h->cpus + 63) / 64, sizeof(uint64_t));
	gpu_names(h);
	return h->core_used ? 0 : -ENOMEM;
}

void wk_hostres_free(struct wk_hostres *h)
{
	if (h->topo) {
		jr_topology_destroy(h->topo);
		free(h->topo);
	}
	free(h->core_used);
	memset(h, 0, sizeof(*h));
}

void wk_hostres_json(const struct wk_hostres *h, char *out, size_t size)
{
	int n = snprintf(out, size, "{\"cpus\":%u,\"gpus\":%u", h->cpus, h->gpus);

	if (h->mem_bytes && n > 0 && (size_t)n < size)
		n += snprintf(out + n, size - (size_t)n, ",\"memory\":%llu",
			      (unsigned long long)h->mem_bytes);
	if (n > 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, "}");
}

static uint32_t take_bits(uint64_t *used, uint32_t total, uint32_t n, uint32_t *ids)
{
	uint32_t got = 0;

	for (uint32_t i = 0; i < total && got < n; i++)
		if (!(used[i / 64] & (1ull << (i % 64)))) {
			used[i / 64] |= 1ull << (i % 64);
			ids[got++] = i;
		}
	return got;
}

uint32_t wk_hostres_take_cores(struct wk_hostres *h, uint32_t n, uint32_t *ids)
{
	return take_bits(h->core_used, h->cpus, n, ids);
}

uint32_t wk_hostres_take_gpus(struct wk_hostres *h, uint32_t n, uint32_t *ids)
{
	return take_bits(&h->gpu_used, h->gpus, n, ids);
}

void wk_hostres_give_back(struct wk_hostres *h, const uint32_t *cores, uint32_t ncores,
			  const uint32_t *gpus, uint32_t ngpus)
{
	for (uint32_t i = 0; i < ncores; i++)
		h->core_used[cores[i] / 64] &= ~(1ull << (cores[i] % 64));
	for (uint32_t i = 0; i < ngpus; i++)
		h->gpu_used &= ~(1ull << gpus[i]);
}

bool wk_hostres_cpu_mask(const struct wk_hostres *h, const uint32_t *cores, uint32_t n,
			 uint64_t *mask)
{
	hwloc_topology_t t;
	hwloc_obj_type_t type;
	hwloc_bitmap_t cpus;
	bool ok;

	if (!h->bind || n == 0)
		return false;
	t = h->topo->topo;
	type = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
	cpus = hwloc_bitmap_alloc();
	if (!cpus)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(t, type, cores[i]);
		if (core)
			hwloc_bitmap_or(cpus, cpus, core->cpuset);
	}
	memset(mask, 0, JR_EXEC_CPU_WORDS * sizeof(uint64_t));
	_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "LP64");
	ok = !hwloc_bitmap_iszero(cpus) &&
	     hwloc_bitmap_to_ulongs(cpus, JR_EXEC_CPU_WORDS, (unsigned long *)mask) == 0;
	hwloc_bitmap_free(cpus);
	return ok;
}
