/*
 * topology.h - the host's cores and NUMA nodes, from hwloc, and binding
 * threads to cores.
 *
 * The topology is this host's, or a synthetic hwloc description
 * ("package:2 numa:1 core:16 pu:2") that models a larger machine for tests
 * and simulation. A synthetic topology is not this system: binding to it
 * is skipped (jr_topology_bind_thread() returns -ENOTSUP).
 */
#ifndef JR_TOPOLOGY_H
#define JR_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>
#include <hwloc.h>

struct jr_topology {
	hwloc_topology_t topo;
	bool synthetic;
	uint32_t core_count;
	uint32_t numa_count;
	int32_t *core_numa;	/* NUMA node (logical index) of each core */
};

/* Load this host's topology (synthetic NULL) or the synthetic one.
 * 0, -EINVAL for a bad description, -ENOMEM. */
int jr_topology_load(struct jr_topology *t, const char *synthetic);

void jr_topology_destroy(struct jr_topology *t);

/* Bind the calling thread to core (an index < core_count). 0, -ENOTSUP for
 * a synthetic topology, or -errno from hwloc. */
int jr_topology_bind_thread(const struct jr_topology *t, uint32_t core);

#endif
