/*
 * fnv.h - FNV-1a, 32 bits: the hash of a job's name wherever one is
 * filed by it (the daemon's listing index; the table's brief read of a
 * job computes it from the region without copying the name out).
 */
#ifndef JR_BASE_FNV_H
#define JR_BASE_FNV_H

#include <stdint.h>

#define JR_FNV_BASIS 2166136261u

static inline uint32_t jr_fnv_step(uint32_t h, uint8_t byte)
{
	return (h ^ byte) * 16777619u;
}

/* Of a C string; never 0 (0 means "none" to callers). */
static inline uint32_t jr_name_hash(const char *s)
{
	uint32_t h = JR_FNV_BASIS;

	for (; *s; s++)
		h = jr_fnv_step(h, (uint8_t)*s);
	return h ? h : 1;
}

#endif
