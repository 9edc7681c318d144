/*
 * ship.c - jobring-worker --output-stream (issue 17): the output its
 * jobs write to its own output directory is sent to the daemon, which
 * keeps it in its output directory as a local job's (POST
 * /executions/{id}/output, docs/PROTOCOL.md), for nodes that share no
 * filesystem with it. While a job runs, up to SHIP_BURST chunks of each
 * stream at each turn of the loop (at least once a second); once it
 * ends, all the rest before its completion is sent, so that its output is
 * whole when it shows ended; once the worker is done with the job (its
 * completion answered, or the job stopped), the local files are removed. The daemon's answer says where to go on from
 * (next_offset), so a chunk sent again, or a file it lost, heals itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "exec/outdir.h"
#include "worker/worker.h"

#define SHIP_CHUNK (256u * 1024u)
#define SHIP_BURST 4u
#define SHIP_ROUNDS_MAX 100000u	/* 25 GB a stream: past that, a loop that does not move */

enum ship { SHIP_EMPTY, SHIP_SENT, SHIP_LATER, SHIP_REFUSED };

/* Up to SHIP_CHUNK bytes of the stream from where the daemon is, in
 * base64: the count read (0: nothing new), *b64 (caller frees). */
static ssize_t read_new(struct wk_ctx *w, struct wk_job *job, enum jr_outdir_file which,
			char **b64)
{
	char name[JR_OUTDIR_NAME_MAX];
	unsigned char *raw = malloc(SHIP_CHUNK);
	ssize_t n = -1;
	int fd;

	*b64 = NULL;
	jr_outdir_name(strtoull(job->job_id, NULL, 16), which, name);
	fd = raw ? openat(w->jobs.out_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	if (fd >= 0) {
		n = pread(fd, raw, SHIP_CHUNK, (off_t)job->shipped[which]);
		close(fd);
	}
	if (n > 0 && (*b64 = malloc(4 * (((size_t)n + 2) / 3) + 1)))
		EVP_EncodeBlock((unsigned char *)*b64, raw, (int)n);
	free(raw);
	return n > 0 && *b64 ? n : 0;
}

/* The daemon's next_offset, or -1. */
static long long next_offset(const char *resp)
{
	cJSON *o = resp ? cJSON_Parse(resp) : NULL;
	const cJSON *n = cJSON_GetObjectItem(o, "next_offset");
	long long v = cJSON_IsNumber(n) && n->valuedouble >= 0 ? (long long)n->valuedouble : -1;

	cJSON_Delete(o);
	return v;
}

static enum ship ship_chunk(struct wk_ctx *w, struct wk_job *job, enum jr_outdir_file which)
{
	char path[96], *b64, *body = NULL, *resp = NULL;
	ssize_t n = read_new(w, job, which, &b64);
	long long next;
	int rc;

	if (n == 0)
		return SHIP_EMPTY;
	snprintf(path, sizeof(path), "/executions/%s/output", job->exec_id);
	if (asprintf(&body, "{\"lease\":\"%s\",\"stream\":\"%s\",\"offset\":%llu,\"data\":\"%s\"}",
		     job->lease, which == JR_OUT_STDOUT ? "stdout" : "stderr",
		     (unsigned long long)job->shipped[which], b64) < 0)
		body = NULL;
	free(b64);
	if (!body)
		return SHIP_LATER;
	rc = wk_call(w, "POST", path, body, &resp);
	free(body);
	next = rc == 200 ? next_offset(resp) : -1;
	if (rc > 0 && rc < 500 && next < 0)
		wk_log("execution %s: its output was refused (%d): %s; not sent further",
		       job->exec_id, rc, resp ? resp : "");
	free(resp);
	if (rc < 0 || rc >= 500)
		return SHIP_LATER;
	if (next < 0)
		return SHIP_REFUSED;
	job->shipped[which] = (uint64_t)next;
	return SHIP_SENT;
}

/* Up to max chunks of each stream: false if the daemon could not be
 * reached (the rest waits), true otherwise. */
static bool ship(struct wk_ctx *w, struct wk_job *job, uint32_t max)
{
	static const enum jr_outdir_file streams[] = { JR_OUT_STDOUT, JR_OUT_STDERR };

	for (uint32_t s = 0; s < 2 && !job->ship_refused; s++) {
		for (uint32_t i = 0; i < max; i++) {
			enum ship r = ship_chunk(w, job, streams[s]);
			if (r == SHIP_LATER)
				return false;
			if (r == SHIP_REFUSED)
				job->ship_refused = true;
			if (r != SHIP_SENT)
				break;
		}
	}
	return true;
}

void wk_ship_running(struct wk_ctx *w, uint64_t now)
{
	if (!w->opts.output_stream || w->jobs.out_dirfd < 0)
		return;
	for (uint32_t i = 0; i < w->jobs.count; i++) {
		struct wk_job *job = w->jobs.v[i];
		if (job->state != WK_RUNNING || job->stopped || now < job->next_ship_ns)
			continue;
		job->next_ship_ns = now + 1000000000ull;
		if (!ship(w, job, SHIP_BURST))
			return;
	}
}

bool wk_ship_rest(struct wk_ctx *w, struct wk_job *job)
{
	if (!w->opts.output_stream || w->jobs.out_dirfd < 0 || job->stopped)
		return true;
	return ship(w, job, SHIP_ROUNDS_MAX);
}

void wk_ship_done(struct wk_ctx *w, struct wk_job *job)
{
	if (w->opts.output_stream && w->jobs.out_dirfd >= 0)
		jr_outdir_remove_job(w->jobs.out_dirfd, strtoull(job->job_id, NULL, 16));
}
