/*
 * allocnode.c - what one node of an allocation queue holds (issue 17):
 * sinfo's answer read, the definition's worker_* values over it. See
 * alloc.h. The poller (api/allocpoll.c) runs sinfo and counts the
 * waiting jobs against the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/alloc.h"

/* The GPUs a GRES list names: "gpu:2", "gpu:a100:4(S:0-1)", "(null)". */
static uint32_t gres_gpus(const char *gres)
{
	uint32_t gpus = 0;

	while (*gres) {
		size_t n = strcspn(gres, ",");
		const char *open = memchr(gres, '(', n);
		size_t len = open ? (size_t)(open - gres) : n;
		if (len > 4 && strncmp(gres, "gpu:", 4) == 0) {
			const char *count = gres + len;
			while (count > gres + 3 && count[-1] != ':')
				count--;
			unsigned long v = strtoul(count, NULL, 10);
			gpus += v < 64 ? (uint32_t)v : 64;
		}
		gres += n + (gres[n] == ',');
	}
	return gpus < 64 ? gpus : 64;	/* jobring-worker's most */
}

/* One line of sinfo's "PARTITION SOCKETS CORES MEMORY_MB GRES" into the
 * largest node so far: its cores (sockets x cores per socket, what
 * jobring-worker's hwloc counts), memory, GPUs. Without a partition of
 * the queue's own, only lines of Slurm's default one ("batch*"). */
static void node_line(const char *line, bool default_only, struct alloc_node *node)
{
	char one[512], part[128], gres[256];
	unsigned sockets, cores, gpus;
	unsigned long long mb;
	size_t n = strcspn(line, "\n");

	if (n >= sizeof(one))
		return;
	memcpy(one, line, n);
	one[n] = '\0';
	if (sscanf(one, "%127s %u %u %llu %255s", part, &sockets, &cores, &mb, gres) != 5 ||
	    !sockets || !cores || sockets > 65536 || cores > 65536 ||
	    (default_only && part[strlen(part) - 1] != '*'))
		return;
	node->known = true;
	if ((uint64_t)sockets * cores > node->cpus)
		node->cpus = (uint64_t)sockets * cores < 65536 ? sockets * cores : 65536;
	/* Slurm's RealMemory defaults to 1 MB: memory not configured. */
	mb = mb < (1ull << 43) ? mb : (1ull << 43);
	if (mb > 1 && mb * 1048576 > node->mem_bytes)
		node->mem_bytes = mb * 1048576;
	gpus = gres_gpus(gres);
	node->gpus = gpus > node->gpus ? gpus : node->gpus;
}

bool alloc_node_read(const char *out, bool default_only, struct alloc_node *node)
{
	memset(node, 0, sizeof(*node));
	for (const char *line = out; *line; line = bgcmd_next_line(line))
		node_line(line, default_only, node);
	if (node->known && !node->mem_bytes)
		node->mem_bytes = UINT64_MAX;
	return node->known;
}

void alloc_node_declared(const struct alloc_params *p, struct alloc_node *node)
{
	node->known = true;
	if (p->worker_cpus)
		node->cpus = p->worker_cpus;
	if (p->worker_mem_bytes)
		node->mem_bytes = p->worker_mem_bytes;
	if (p->worker_gpus_set)
		node->gpus = p->worker_gpus;
}
