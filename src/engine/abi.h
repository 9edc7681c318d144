/*
 * abi.h - what keeps jobring.h's structs able to grow: a struct passed in
 * must have its reserved fields zero, so that a later version can give
 * them a meaning (zero being the old behaviour); one the library fills
 * has them zeroed. abi.c holds the checks and pins the layouts.
 */
#ifndef JR_ENGINE_ABI_H
#define JR_ENGINE_ABI_H

#include <stdbool.h>
#include <stddef.h>

#include "jobring.h"

/* True when all size bytes at p are zero. */
static inline bool jr_abi_is_zero(const void *p, size_t size)
{
	const unsigned char *b = p;
	unsigned char any = 0;

	for (size_t i = 0; i < size; i++)
		any |= b[i];
	return any == 0;
}

/* On every submission of a function job: inline, two words. */
static inline bool jr_abi_job_spec_valid(const struct jr_job_spec *spec)
{
	return jr_abi_is_zero(spec->reserved, sizeof(spec->reserved));
}

bool jr_abi_opts_valid(const struct jr_engine_opts *opts);

/* 0, or -EINVAL with *bad_index (if not NULL) at the first spec (and, for
 * restores, restore) whose reserved fields are not zero. specs and rs may
 * be NULL: the callee refuses that itself. */
int jr_abi_command_specs_check(const struct jr_command_spec *specs, size_t n,
			       size_t *bad_index);
int jr_abi_restores_check(const struct jr_command_spec *specs,
			  const struct jr_job_restore *rs, size_t n, size_t *bad_index);

/* Zero what a job's snapshot does not write: the reserved fields. */
void jr_abi_job_info_clear_reserved(struct jr_job_info *out);

#endif
