/*
 * resources.h - what a job needs and what the host has: per-NUMA-node
 * pools of cores (a bitmap, so a job gets specific core ids), memory and
 * GPUs, plus host-wide named counters (licenses, scratch space) and
 * capability labels. Reservation is by CAS on each word, with no lock:
 * a job holds resources only once its whole reservation succeeded, and a
 * failed attempt gives back what it took.
 *
 * The same code reserves on the live pools (in the region, concurrently)
 * and on private copies the scheduler uses to look ahead (scheduler.c).
 */
#ifndef JR_RESOURCES_H
#define JR_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobring.h"
#include "sched/topology.h"

#define JR_NUMA_MAX 16u
/* Cores (hardware threads where hwloc reports no cores) on the host, in
 * all: Linux's largest configurable NR_CPUS (MAXSMP). Any split into NUMA
 * nodes: one flat node of 8,192, or 16 of 512. The bitmaps are host-wide,
 * bit c for core c; a node's cores are one contiguous range of it. */
#define JR_CORES_MAX 8192u
#define JR_CORE_WORDS (JR_CORES_MAX / 64)
#define JR_GPU_MAX 32u	/* per NUMA node */
#define JR_CUSTOM_MAX 8u
#define JR_CUSTOM_NAME_MAX 24u

struct jr_numa_pool {
	uint64_t mem_free;
	uint64_t mem_total;
	uint32_t gpu_free;
	uint32_t gpu_all;
	uint32_t core_total;
	uint32_t first_core;	/* host-wide index of its first core */
};

struct jr_pools {
	uint32_t numa_count;
	uint32_t custom_count;
	uint32_t core_words;	/* words of the bitmaps this host uses */
	uint32_t core_count;
	uint64_t capabilities;	/* labels this host offers, one bit each */
	uint64_t custom_free[JR_CUSTOM_MAX];
	uint64_t custom_total[JR_CUSTOM_MAX];
	char custom_name[JR_CUSTOM_MAX][JR_CUSTOM_NAME_MAX];
	struct jr_numa_pool node[JR_NUMA_MAX];
	uint64_t core_free[JR_CORE_WORDS];	/* bit set: core free */
	uint64_t core_all[JR_CORE_WORDS];	/* bit set: core exists */
};

/* What one job asks for. */
struct jr_req {
	uint32_t cpus;		/* whole cores */
	uint32_t gpus;
	uint64_t mem_bytes;
	uint64_t custom[JR_CUSTOM_MAX];
	uint64_t capabilities;	/* labels required */
	bool span;		/* may be spread over NUMA nodes */
};

/* What one job holds. cores[] is last and only its first `words` words
 * exist: a running job's record (scheduler.c) is allocated at
 * jr_alloc_size(words) bytes, the host's core_words, so it is sized to
 * the host: 272 bytes with up to 64 cores, 392 with 1,024, 1,288 at most
 * (8,192). A whole struct (on the stack) has room for any host. */
struct jr_alloc {
	uint32_t nodes;		/* bit n: holds something on node n */
	uint32_t words;		/* cores[] words that exist */
	uint64_t mem[JR_NUMA_MAX];
	uint32_t gpus[JR_NUMA_MAX];
	uint64_t custom[JR_CUSTOM_MAX];
	uint64_t cores[JR_CORE_WORDS];	/* host-wide core ids */
};

#define jr_alloc_size(w) (offsetof(struct jr_alloc, cores) + (size_t)(w) * sizeof(uint64_t))

/* Host resources beyond the topology. */
struct jr_res_config {
	uint64_t mem_per_node;	/* 0: hwloc's figure for each node */
	uint32_t gpus_per_node;	/* 0: none */
	uint32_t custom_count;
	const char *custom_name[JR_CUSTOM_MAX];
	uint64_t custom_total[JR_CUSTOM_MAX];
	uint64_t capabilities;
};

#define JR_CAP_MAX 64u

/* Capability labels by bit. */
struct jr_cap_names {
	uint32_t count;
	char name[JR_CAP_MAX][JR_CUSTOM_NAME_MAX];
};

/* Parse "name=total,name=total" into cfg's custom counters (names are
 * kept in names, which must outlive cfg). 0 or -EINVAL. */
int jr_res_parse_totals(const char *spec, struct jr_res_config *cfg,
			char names[JR_CUSTOM_MAX][JR_CUSTOM_NAME_MAX]);

/* Parse "label,label" into caps (defining the labels) and cfg's mask. */
int jr_res_parse_host_caps(const char *spec, struct jr_cap_names *caps,
			   struct jr_res_config *cfg);

/* A job's "name=amount,..." against the host's counters, and its
 * "label,..." against the host's labels: -EINVAL for malformed text,
 * -E2BIG for a counter or label this host does not have. */
int jr_res_parse_request(const struct jr_pools *p, const struct jr_cap_names *caps,
			 const char *resources, const char *labels,
			 struct jr_req *req);

/* Fill pools from a topology: every core free. 0, or -E2BIG for more
 * than JR_CORES_MAX cores or JR_NUMA_MAX nodes. */
int jr_pools_init(struct jr_pools *p, const struct jr_topology *t,
		  const struct jr_res_config *cfg);

/* Fill pools without hwloc: numa_count nodes of cores[n] cores and mem[n]
 * bytes, gpus_per_node GPUs each; every core free. 0, or -E2BIG for more
 * than JR_CORES_MAX cores or JR_NUMA_MAX nodes (or none). */
int jr_pools_init_nodes(struct jr_pools *p, uint32_t numa_count, const uint32_t *cores,
			const uint64_t *mem, uint32_t gpus_per_node);

/* Could req ever be satisfied on this host (all its resources free)?
 * 0, -E2BIG (more than the host has) or -ENOTSUP (a missing capability). */
int jr_res_check_host(const struct jr_pools *p, const struct jr_req *req);

/* Could req be reserved now, by the free amounts (a snapshot; nothing
 * taken)? A cheap test before a reservation that would likely fail. */
bool jr_res_fits(const struct jr_pools *p, const struct jr_req *req);

/* Reserve req, placed compactly: on the single node where it fits with the
 * least cores left over (best fit), or, for span requests that fit no
 * single node, spread over the nodes. 0 with *out
 * filled, or -EBUSY (nothing taken). Lock-free; thread-safe. */
int jr_res_reserve(struct jr_pools *p, const struct jr_req *req,
		   struct jr_alloc *out);

/* Give back exactly what a reserve took. Lock-free; thread-safe. */
void jr_res_release(struct jr_pools *p, const struct jr_alloc *a);

/* Take exactly the cores, GPUs, memory and counters of a (a job that was
 * running before a restart keeps what it had). 0, or -EBUSY with nothing
 * taken: some of it is not free, or not on this host. */
int jr_res_reserve_exact(struct jr_pools *p, const struct jr_alloc *a);

/* Take from p as much as a holds, node by node (the same number of cores,
 * GPUs and bytes of memory on each node it holds, any units of them) and
 * its counters: how the scheduler charges a job placed on the live pools
 * to its look-ahead copy. All or nothing: 0 or -EBUSY. */
int jr_res_reserve_like(struct jr_pools *p, const struct jr_alloc *a);

/* Hold back in p, for a job that will hold a (a blocked head's
 * reservation when no running job's end is known): on each node a holds,
 * its number of cores, GPUs and bytes of memory where that many are free
 * there, else every free unit of that kind on that node (whatever frees up
 * there is the head's); its counters likewise, host-wide. */
void jr_res_hold_for(struct jr_pools *p, const struct jr_alloc *a);

/* An allocation as a few bytes (only what it holds), for the journal and
 * jobringd's keeper: the length written, or 0 if size is too small.
 * Cores go as runs of consecutive ids, or as a slice of the bitmap where
 * that is shorter; JR_ALLOC_ENCODED_MAX (1,024 bytes) holds any record of
 * up to ~190 runs or 7,000 cores: a more scattered one encodes to 0 (a
 * restart then places the job again by its request). */
#define JR_ALLOC_ENCODED_MAX JR_ALLOC_BYTES_MAX
uint32_t jr_alloc_encode(const struct jr_alloc *a, uint8_t *buf, uint32_t size);
/* 0, or -EINVAL for bytes that are not an encoding. */
int jr_alloc_decode(const uint8_t *buf, uint32_t len, struct jr_alloc *a);

/* Host-wide core ids of an allocation, for JOBRING_CPUS and binding.
 * Returns how many were written (at most max). */
uint32_t jr_alloc_core_ids(const struct jr_pools *p, const struct jr_alloc *a,
			   uint32_t *ids, uint32_t max);

/* Free cores on node n (a snapshot). */
uint32_t jr_pools_free_cores(const struct jr_pools *p, uint32_t n);
/* Free cores over the host (a snapshot). */
uint32_t jr_pools_free_cores_all(const struct jr_pools *p);
/* Cores an allocation holds. */
uint32_t jr_alloc_core_count(const struct jr_alloc *a);

/* Does a list of labels ("a,b") cover every label of need (NULL or ""
 * needs nothing)? */
bool jr_labels_cover(const char *have, const char *need);

#endif
