/*
 * runbits.h - a bit per run of a large, lazily touched table's slots:
 * set when an entry is first made in the run, so that a walk or a lookup
 * skips the runs never used without reading their pages (reading an
 * untouched page makes it resident). Used by the daemon's submitted
 * table and its history of executions.
 */
#ifndef JR_RUNBITS_H
#define JR_RUNBITS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Bits for capacity slots in runs of run_slots, all clear; NULL: no memory. */
static inline uint64_t *jr_runbits_new(uint32_t capacity, uint32_t run_slots)
{
	return calloc(capacity / run_slots / 64 + 1, sizeof(uint64_t));
}

/* Whether run number run (slot / run_slots) was ever used. */
static inline bool jr_runbits_run(const uint64_t *bits, uint32_t run)
{
	return bits[run / 64] >> (run % 64) & 1;
}

static inline bool jr_runbits_test(const uint64_t *bits, uint32_t slot, uint32_t run_slots)
{
	return jr_runbits_run(bits, slot / run_slots);
}

static inline void jr_runbits_set(uint64_t *bits, uint32_t slot, uint32_t run_slots)
{
	uint32_t run = slot / run_slots;

	bits[run / 64] |= 1ull << (run % 64);
}

#endif
