/*
 * swf.h - records of the Standard Workload Format (Parallel Workloads
 * Archive; Feitelson et al., JPDC 2014) as simulator jobs.
 *
 * A record is 18 whitespace-separated numbers; the format allows any of
 * them to be a decimal fraction (LANL-CM5's average CPU time reads
 * "489.00") and -1 for unknown. Lines starting with ';' are the header
 * (";MaxProcs: 1024").
 */
#ifndef JR_SWF_H
#define JR_SWF_H

#include <stdint.h>

#include "sim/sim.h"

#define JR_SWF_FIELDS 18

/* Field numbers (0-based) of what a simulation uses. */
enum {
	JR_SWF_JOB = 0, JR_SWF_SUBMIT = 1, JR_SWF_WAIT = 2, JR_SWF_RUN = 3,
	JR_SWF_ALLOC_PROCS = 4, JR_SWF_AVG_CPU = 5, JR_SWF_MEM = 6,
	JR_SWF_REQ_PROCS = 7, JR_SWF_REQ_TIME = 8,
};

struct jr_swf_record {
	double f[JR_SWF_FIELDS];	/* missing trailing fields read -1 */
};

/* One line: 0 (a record), 1 (a comment or blank line) or -EINVAL (not a
 * number where one should be, or fewer than the first 5 fields). */
int jr_swf_parse_line(const char *line, struct jr_swf_record *r);

/* A header line's ";MaxProcs: N" (else ";MaxNodes: N"): N, or 0. */
uint32_t jr_swf_header_procs(const char *line);

/* A record as a job: submit time, run time, processors (requested, else
 * allocated), time limit (requested time; unknown: none). 0, or -EINVAL
 * for a record that cannot be simulated (unknown run time or
 * processors; a cancelled job's run time of -1 is such). *wait_s: the
 * logged wait, 0 when unknown. */
int jr_swf_to_job(const struct jr_swf_record *r, struct jr_sim_job *job, double *wait_s);

#endif
