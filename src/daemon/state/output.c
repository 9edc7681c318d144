/*
 * output.c - the output directory's free space, watched. See output.h.
 */
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/output.h"
#include "exec/outdir.h"

#define OUTPUT_CHECK_NS (1000 * JR_NS_PER_MS)

void output_space_check(struct output_space *o, uint64_t now_ns)
{
	bool was = o->full;

	if (o->dirfd <= 0 || (o->checked_ns && now_ns - o->checked_ns < OUTPUT_CHECK_NS))
		return;
	o->checked_ns = now_ns;
	o->error = jr_outdir_space(o->dirfd, &o->free_bytes, &o->total_bytes);
	if (o->error < 0)
		return;	/* keep the last verdict */
	if (o->reserve_auto)	/* a small disk is not full from the start */
		o->reserve_bytes = o->total_bytes / 100 < OUTPUT_RESERVE_MAX ? o->total_bytes / 100 :
										OUTPUT_RESERVE_MAX;
	o->full = o->free_bytes < o->reserve_bytes;
	if (o->full != was)
		fprintf(stderr, "jobringd: output directory %s: %llu MiB free, %s\n", o->dir,
			(unsigned long long)(o->free_bytes / JR_MIB),
			o->full ? "below --output-reserve: new submissions are refused (507)" :
				  "submissions accepted again");
}
