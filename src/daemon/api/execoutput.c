/*
 * execoutput.c - a job's output streamed back by the worker that runs it
 * (issue 17; jobring-worker --output-stream), for nodes that share no
 * filesystem with the daemon:
 *
 *   POST /executions/{id}/output
 *   {"lease": L, "stream": "stdout"|"stderr", "offset": N, "data": BASE64}
 *
 * checked as a completion is (the job's current attempt, its worker's
 * owner or root, the claim's lease). The bytes go into the job's file in
 * the daemon's output directory, the one a local job writes and GET
 * /jobs/{id}/logs reads, so that logs, `jobring logs` and the dashboard
 * need nothing else. The answer, {"stream": S, "next_offset": M}, says
 * where the worker goes on: the file is only ever appended to, and
 *
 * - offset 0 starts the attempt's file afresh (an earlier attempt's file,
 *   older than this attempt's start, is kept under its execution id
 *   first, as for local jobs; this attempt's own is emptied: a chunk sent
 *   again after an answer was lost);
 * - bytes the file has already are skipped (a chunk sent again);
 * - an offset past the file's end writes nothing and answers the end
 *   (the worker sends again from there);
 * - past --max-output the rest is dropped, the file cut and marked as a
 *   local job's is (output_truncated), and the bytes answered as taken.
 *
 * Not journaled: the file is the record, as a local job's output is. The
 * write is a local file's, on the event loop, at most a chunk at a time
 * (the worker sends 256 KiB; the request's size caps it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/view.h"
#include "exec/outdir.h"
#include "shm/jobtab.h"

struct chunk {
	enum jr_outdir_file which;
	uint64_t offset;
	unsigned char *data;
	size_t len;
};

/* The base64 text decoded into c->data: false if it is not base64. */
static bool decode(const char *text, struct chunk *c)
{
	size_t n = strlen(text);
	int got;

	if (n % 4 || !(c->data = malloc(n / 4 * 3 + 1)))
		return false;
	got = n ? EVP_DecodeBlock(c->data, (const unsigned char *)text, (int)n) : 0;
	if (got < 0)
		return false;
	c->len = (size_t)got - (n >= 1 && text[n - 1] == '=') - (n >= 2 && text[n - 2] == '=');
	return true;
}

/* The body's stream, offset and data into c, or an error answered. */
static bool read_chunk(const cJSON *o, struct chunk *c, struct response *res)
{
	const cJSON *stream = cJSON_GetObjectItem(o, "stream");
	const cJSON *offset = cJSON_GetObjectItem(o, "offset");
	const cJSON *data = cJSON_GetObjectItem(o, "data");

	if (!cJSON_IsString(stream) || (strcmp(stream->valuestring, "stdout") != 0 &&
					strcmp(stream->valuestring, "stderr") != 0))
		return reply_error(res, 422, "invalid_value", "stream must be stdout or stderr");
	if (!cJSON_IsNumber(offset) || offset->valuedouble < 0 ||
	    offset->valuedouble > 9007199254740992.0 ||
	    (double)(uint64_t)offset->valuedouble != offset->valuedouble)
		return reply_error(res, 422, "invalid_value", "offset must be a whole number of "
				   "bytes, 0 or more");
	if (!cJSON_IsString(data) || !decode(data->valuestring, c))
		return reply_error(res, 422, "invalid_value", "data must be the bytes in base64");
	c->which = stream->valuestring[3] == 'o' ? JR_OUT_STDOUT : JR_OUT_STDERR;
	c->offset = (uint64_t)offset->valuedouble;
	return true;
}

/* Offset 0: the attempt's file starts afresh. One older than the
 * attempt's start is an earlier attempt's: kept under its id. */
static void start_afresh(int dirfd, const char *name, const struct jr_job_info *info)
{
	uint32_t attempt = jr_execution_attempt(info->exec.execution_id);
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	uint64_t mtime_ns = (uint64_t)st.st_mtim.tv_sec * JR_NS_PER_SEC + (uint64_t)st.st_mtim.tv_nsec;
	if (attempt > 1 && S_ISREG(st.st_mode) && mtime_ns < info->exec.start_ns)
		jr_outdir_keep_attempt(dirfd, info->job_id,
				       jr_execution_id(info->job_id, attempt - 1));
	else
		unlinkat(dirfd, name, 0);
}

/* The file to append to, made (the job owner's, as a local job's) if
 * missing; its size in *size. -errno. */
static int open_file(int dirfd, const char *name, const struct jr_job_info *info, uint64_t *size)
{
	struct stat st;
	int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		if ((fd = jr_outdir_create(dirfd, name)) >= 0 && geteuid() == 0 &&
		    fchown(fd, info->owner_uid, (gid_t)-1) < 0) {
			close(fd);
			return -errno;
		}
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* The chunk into the file, by the rules above: where the worker goes on
 * (*next), or -errno. */
static int append_chunk(struct api *a, const struct jr_job_info *info, const struct chunk *c,
			uint64_t *next)
{
	int dirfd = a->st->output.dirfd;
	uint64_t cap = a->st->output.max_output_bytes, size = 0;
	char name[JR_OUTDIR_NAME_MAX];
	int fd, rc = 0;

	jr_outdir_name(info->job_id, c->which, name);
	if (c->offset == 0 && c->len > 0)
		start_afresh(dirfd, name, info);
	if ((fd = open_file(dirfd, name, info, &size)) < 0)
		return fd;
	*next = c->offset + c->len;
	if ((cap && size >= cap) || jr_outdir_truncated(dirfd, info->job_id))
		goto out;	/* cut: the rest is dropped */
	if (c->offset > size || c->offset + c->len <= size) {
		*next = size;	/* a gap, or bytes it has: from its end */
		goto out;
	}
	size_t skip = (size_t)(size - c->offset);
	if (write(fd, c->data + skip, c->len - skip) != (ssize_t)(c->len - skip))
		rc = errno ? -errno : -EIO;
	else if (cap && size + (c->len - skip) > cap)
		jr_outdir_cap_job(dirfd, info->job_id, cap);
out:
	close(fd);
	return rc;
}

static void take_chunk(struct api *a, struct api_call *c, const struct jr_job_info *info,
		       const struct chunk *k)
{
	uint64_t next = 0;
	int rc = append_chunk(a, info, k, &next);
	cJSON *body;

	if (rc < 0) {
		reply_error(c->res, 507, "output_failed", "the daemon could not write the output: "
			    "%s", strerror(-rc));
		return;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "stream", k->which == JR_OUT_STDOUT ? "stdout" : "stderr");
	cJSON_AddNumberToObject(body, "next_offset", (double)next);
	reply_json(c->res, 200, body);
}

void api_execution_output(struct api *a, struct api_call *c)
{
	struct jobspec_error jerr;
	cJSON *o = json_parse_strict(c->req->body, c->req->body_len, &jerr);
	struct chunk k = { 0 };
	struct jr_job_info info;
	uint64_t exec;

	if (api_execution_report(a, c, o, &jerr, &exec, &info) &&
	    (info.is_external ||
	     reply_error(c->res, 409, "not_external", "execution %s runs on the daemon's own "
			 "executor, which writes its output itself", c->param)) &&
	    (a->st->output.dirfd > 0 ||
	     reply_error(c->res, 409, "no_output_dir", "this daemon keeps no output directory")) &&
	    api_execution_holds(a, c, exec, &info, o) && read_chunk(o, &k, c->res))
		take_chunk(a, c, &info, &k);
	free(k.data);
	cJSON_Delete(o);
}
