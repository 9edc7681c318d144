/*
 * swf.c - Standard Workload Format records. See swf.h.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/swf.h"

int jr_swf_parse_line(const char *line, struct jr_swf_record *r)
{
	const char *p = line;
	int n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';' || *p == '\n' || *p == '\r' || *p == '\0')
		return 1;
	for (n = 0; n < JR_SWF_FIELDS; n++)
		r->f[n] = -1;
	for (n = 0; n < JR_SWF_FIELDS; n++) {
		char *end;
		double v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\r' || *p == '\0')
			break;
		v = strtod(p, &end);
		if (end == p || !isfinite(v) ||
		    (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r'))
			return -EINVAL;
		r->f[n] = v;
		p = end;
	}
	return n > JR_SWF_ALLOC_PROCS ? 0 : -EINVAL;
}

uint32_t jr_swf_header_procs(const char *line)
{
	static const char *const keys[] = { "MaxProcs:", "MaxNodes:" };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *at = strstr(line, keys[k]);
		if (line[0] == ';' && at) {
			long v = strtol(at + strlen(keys[k]), NULL, 10);
			return v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
		}
	}
	return 0;
}

static uint64_t seconds_ns(double s)
{
	return (uint64_t)llround(s * 1e9);
}

int jr_swf_to_job(const struct jr_swf_record *r, struct jr_sim_job *job, double *wait_s)
{
	double procs = r->f[JR_SWF_REQ_PROCS] > 0 ? r->f[JR_SWF_REQ_PROCS] :
						     r->f[JR_SWF_ALLOC_PROCS];

	if (r->f[JR_SWF_SUBMIT] < 0 || r->f[JR_SWF_RUN] < 0 || procs < 1 ||
	    procs > UINT32_MAX || r->f[JR_SWF_RUN] > 1e9)
		return -EINVAL;
	memset(job, 0, sizeof(*job));
	job->sj.id = r->f[JR_SWF_JOB] >= 0 ? (uint64_t)r->f[JR_SWF_JOB] : 0;
	job->req.cpus = (uint32_t)ceil(procs);
	job->sj.limit_ns = r->f[JR_SWF_REQ_TIME] > 0 ? seconds_ns(r->f[JR_SWF_REQ_TIME]) : 0;
	job->submit_ns = seconds_ns(r->f[JR_SWF_SUBMIT]);
	job->run_ns = seconds_ns(r->f[JR_SWF_RUN]);
	*wait_s = r->f[JR_SWF_WAIT] >= 0 ? r->f[JR_SWF_WAIT] : 0;
	return 0;
}
