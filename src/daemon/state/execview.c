/*
 * execview.c - one attempt of a job as the API shows it. See execview.h.
 */
#include <stdio.h>
#include <string.h>

#include "base/exitstatus.h"
#include "daemon/state/execview.h"
#include "exec/outdir.h"
#include "shm/jobtab.h"

#define ATTEMPT_BITS_MASK 0xffu	/* what an execution id keeps of its attempt */

uint32_t execview_attempt_of(const struct state *st, const struct jr_job_info *info,
			     uint64_t execution_id)
{
	const struct exec_job *h = executions_of(&st->execs, info->job_id);
	uint32_t low = jr_execution_attempt(execution_id);

	if (jr_execution_job(execution_id) != info->job_id)
		return 0;
	if (info->exec.execution_id && info->exec.execution_id == execution_id)
		return info->exec.attempt;
	for (uint32_t i = h ? h->count : 0; i-- > 0;)
		if ((h->recs[i].attempt & ATTEMPT_BITS_MASK) == low &&
		    h->recs[i].attempt != info->exec.attempt)
			return h->recs[i].attempt;
	return 0;
}

uint32_t execview_attempts(const struct state *st, const struct jr_job_info *info,
			   uint32_t *out, uint32_t max)
{
	const struct exec_job *h = executions_of(&st->execs, info->job_id);
	uint32_t latest = info->exec.execution_id ? info->exec.attempt : 0, n = 0;
	bool latest_put = latest == 0;

	for (uint32_t i = 0; h && i < h->count && n < max; i++) {
		uint32_t a = h->recs[i].attempt;
		if (!latest_put && a >= latest) {
			out[n++] = latest;
			latest_put = true;
			if (n == max)
				break;
		}
		if (a != latest)
			out[n++] = a;
	}
	if (!latest_put && n < max)
		out[n++] = latest;
	return n;
}

/* The attempt from its history record. */
static void past_info(const struct state *st, const struct exec_rec *r, struct jr_job_info *out)
{
	jr_job_id id = out->job_id;
	bool latest = r->attempt == out->exec.attempt;
	uint32_t cut = latest ? out->exec.output_truncated : 0;

	out->exec = (struct jr_execution){
		.execution_id = jr_execution_id(id, r->attempt), .job_id = id,
		.worker_id = r->worker_id, .attempt = r->attempt, .start_ns = r->start_ns,
		.end_ns = r->end_ns, .status = r->state, .spawn_error = r->spawn_error,
		.output_truncated = cut,
	};
	jr_execution_set_status(&out->exec, &r->status);
	if (!latest && st->execs.out_dirfd >= 0)
		out->exec.output_truncated =
			jr_outdir_truncated(st->execs.out_dirfd, out->exec.execution_id);
	if (r->state)
		out->state = r->state;
	out->reason = r->reason;
	out->progress = -1;
}

bool execview_info(const struct state *st, const struct jr_job_info *info, uint32_t attempt,
		   struct jr_job_info *out)
{
	const struct exec_rec *r = executions_find(&st->execs, info->job_id, attempt);
	bool is_latest = info->exec.execution_id && attempt == info->exec.attempt;

	*out = *info;
	/* The latest attempt is the table's, unless it failed and the job
	 * waits to retry (the history says how it ended). */
	if (is_latest && !(r && r->ended && !job_state_final(info->state)))
		return true;
	if (!r || !attempt)
		return false;
	past_info(st, r, out);
	return true;
}

/* The attempt's own result: its worker's JSON, or how its process ended. */
static cJSON *result_json(const struct exec_rec *r, const struct jr_job_info *x)
{
	cJSON *o;

	if (r && r->result_len && (o = cJSON_Parse(r->result)))
		return o;
	if (!x->exec.end_ns || x->exec.spawn_error)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	if (x->exec.signal)
		cJSON_AddNumberToObject(o, "signal", x->exec.signal);
	else
		cJSON_AddNumberToObject(o, "exit_code", x->exec.result);
	return o;
}

/* key set to item, replacing one view_execution() may already have put
 * there (no key twice in an answer). */
static void set_item(cJSON *o, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
}

static void add_copy(cJSON *o, const char *key, const char *from)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, from);

	set_item(o, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

static void add_int_or_null(cJSON *o, const char *key, bool known, int v)
{
	set_item(o, key, known ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

cJSON *execview_json(const struct state *st, const struct jr_job_info *info, uint32_t attempt,
		     enum view_detail detail)
{
	const struct exec_rec *r = executions_find(&st->execs, info->job_id, attempt);
	struct jr_job_info x;
	cJSON *o;
	bool ended, exited;

	if (!execview_info(st, info, attempt, &x) || !(o = view_execution(&st->jobs, &x, detail)))
		return NULL;
	add_copy(o, "started_at", "start_time");
	add_copy(o, "ended_at", "end_time");
	if (detail != VIEW_FULL)
		return o;
	ended = x.exec.end_ns != 0;
	exited = ended && !x.exec.signal && !x.exec.spawn_error;
	add_int_or_null(o, "exit_code", exited, x.exec.result);
	add_int_or_null(o, "signal", ended && x.exec.signal, x.exec.signal);
	add_copy(o, "spawn_error", "cause");
	set_item(o, "result", result_json(r, &x));
	add_int_or_null(o, "progress", x.progress >= 0, x.progress);
	return o;
}

void execview_output_path(const struct jr_job_info *info, uint32_t attempt, bool stderr_file,
			  char *out, size_t size)
{
	const char *path = stderr_file ? info->stderr_path : info->stdout_path;
	const char *slash = strrchr(path, '/');
	char name[JR_OUTDIR_NAME_MAX];

	if (info->exec.execution_id && attempt == info->exec.attempt) {
		snprintf(out, size, "%s", path);
		return;
	}
	jr_outdir_name(jr_execution_id(info->job_id, attempt),
		       stderr_file ? JR_OUT_STDERR : JR_OUT_STDOUT, name);
	snprintf(out, size, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path, name);
}
