/*
 * topology.c - hwloc discovery and thread binding. See topology.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "sched/topology.h"

/* Cores, or PUs where hwloc reports no cores (some virtual machines). */
static hwloc_obj_type_t core_type(hwloc_topology_t topo)
{
	return hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ?
		       HWLOC_OBJ_CORE :
		       HWLOC_OBJ_PU;
}

static int32_t numa_of(hwloc_topology_t topo, hwloc_obj_t core)
{
	int nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);

	for (int i = 0; i < nodes; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
							 (unsigned)i);
		if (hwloc_bitmap_isincluded(core->cpuset, node->cpuset))
			return i;
	}
	return 0;
}

static int topology_index_cores(struct jr_topology *t)
{
	hwloc_obj_type_t type = core_type(t->topo);
	int cores = hwloc_get_nbobjs_by_type(t->topo, type);
	int nodes = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);

	if (cores <= 0)
		return -EINVAL;
	t->core_count = (uint32_t)cores;
	t->numa_count = nodes > 0 ? (uint32_t)nodes : 1;
	t->core_numa = jr_calloc((size_t)cores, sizeof(*t->core_numa));
	if (!t->core_numa)
		return -ENOMEM;
	for (int i = 0; i < cores; i++)
		t->core_numa[i] = numa_of(t->topo,
					  hwloc_get_obj_by_type(t->topo, type,
								(unsigned)i));
	return 0;
}

int jr_topology_load(struct jr_topology *t, const char *synthetic)
{
	int rc = -EINVAL;

	t->core_numa = NULL;
	t->synthetic = synthetic != NULL;
	if (hwloc_topology_init(&t->topo) < 0)
		return -ENOMEM;
	if (synthetic && hwloc_topology_set_synthetic(t->topo, synthetic) < 0)
		goto fail;
	if (hwloc_topology_load(t->topo) < 0)
		goto fail;
	rc = topology_index_cores(t);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	hwloc_topology_destroy(t->topo);
	t->topo = NULL;
	return rc;
}

void jr_topology_destroy(struct jr_topology *t)
{
	if (t->topo)
		hwloc_topology_destroy(t->topo);
	jr_free(t->core_numa);
	t->topo = NULL;
	t->core_numa = NULL;
}

int jr_topology_bind_thread(const struct jr_topology *t, uint32_t core)
{
	hwloc_obj_t obj;

	if (t->synthetic)
		return -ENOTSUP;
	obj = hwloc_get_obj_by_type(t->topo, core_type(t->topo), core);
	if (!obj)
		return -EINVAL;
	if (hwloc_set_cpubind(t->topo, obj->cpuset, HWLOC_CPUBIND_THREAD) < 0)
		return -errno;
	return 0;
}
