/*
 * abi.c - the library's binary interface: its version, the checks of the
 * reserved fields of the structs a caller passes in, and the layouts of
 * jobring.h's structs pinned, so that a change that would break programs
 * built against an earlier header fails the build instead (sizes and the
 * start of each reserved area here; every field in tests/test_abi.c).
 * docs/DECISIONS.md, "The ABI", says how a struct grows.
 */
/* No struct of jobring.h may have implicit padding: its bytes would be
 * neither fields nor reserved, and could never be given a meaning. */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"
#include "jobring.h"
#pragma GCC diagnostic pop

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "engine/abi.h"

#define PIN_SIZE(type, bytes) \
	_Static_assert(sizeof(struct type) == (bytes), #type " must stay " #bytes " bytes")
#define PIN_RESERVED(type, offset) \
	_Static_assert(offsetof(struct type, reserved) == (offset), \
		       #type ": a new field takes the start of reserved, which shrinks")

PIN_SIZE(jr_job_ctx, 64);
PIN_RESERVED(jr_job_ctx, 24);
PIN_SIZE(jr_job_spec, 48);
PIN_RESERVED(jr_job_spec, 32);
PIN_SIZE(jr_execution, 96);
PIN_RESERVED(jr_execution, 84);
PIN_SIZE(jr_job_info, 1024);
PIN_RESERVED(jr_job_info, 920);
PIN_SIZE(jr_stats, 512);
PIN_RESERVED(jr_stats, 368);
PIN_SIZE(jr_job_event, 192);
PIN_RESERVED(jr_job_event, 128);
PIN_SIZE(jr_engine_opts, 256);
PIN_RESERVED(jr_engine_opts, 152);
PIN_SIZE(jr_command_spec, 256);
PIN_RESERVED(jr_command_spec, 200);
PIN_SIZE(jr_job_restore, 256);
PIN_RESERVED(jr_job_restore, 144);
PIN_SIZE(jr_queue_info, 128);
PIN_RESERVED(jr_queue_info, 68);
PIN_SIZE(jr_command_update, 64);
PIN_RESERVED(jr_command_update, 16);
PIN_SIZE(jr_exec_info, 1024);
PIN_RESERVED(jr_exec_info, 880);
PIN_SIZE(jr_resource_view, 4096);
PIN_RESERVED(jr_resource_view, 2048);
/* Arrays whose length is a constant of the header. */
_Static_assert(JR_PRIORITY_LEVELS == 8 && JR_WAIT_BUCKETS == 26 && JR_NAME_MAX == 256,
	       "array lengths in public structs are part of the ABI");

const char *jr_version(void)
{
	return JR_VERSION_STRING;
}

bool jr_abi_opts_valid(const struct jr_engine_opts *opts)
{
	return jr_abi_is_zero(opts->reserved, sizeof(opts->reserved));
}

static bool command_spec_valid(const struct jr_command_spec *spec)
{
	return jr_abi_is_zero(spec->reserved, sizeof(spec->reserved));
}

static bool restore_valid(const struct jr_job_restore *rs)
{
	return jr_abi_is_zero(rs->reserved, sizeof(rs->reserved));
}

static int refuse_at(size_t i, size_t *bad_index)
{
	if (bad_index)
		*bad_index = i;
	return -EINVAL;
}

int jr_abi_command_specs_check(const struct jr_command_spec *specs, size_t n,
			       size_t *bad_index)
{
	for (size_t i = 0; specs && i < n; i++)
		if (!command_spec_valid(&specs[i]))
			return refuse_at(i, bad_index);
	return 0;
}

int jr_abi_restores_check(const struct jr_command_spec *specs,
			  const struct jr_job_restore *rs, size_t n, size_t *bad_index)
{
	for (size_t i = 0; i < n; i++)
		if ((specs && !command_spec_valid(&specs[i])) || (rs && !restore_valid(&rs[i])))
			return refuse_at(i, bad_index);
	return 0;
}

void jr_abi_job_info_clear_reserved(struct jr_job_info *out)
{
	memset(out->reserved, 0, sizeof(out->reserved));
	memset(out->exec.reserved, 0, sizeof(out->exec.reserved));
}
