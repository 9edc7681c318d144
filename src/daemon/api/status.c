/*
 * status.c - GET /health (JSON) and GET /metrics (Prometheus text
 * exposition 0.0.4): the engine's counters, the socket's, the journal's,
 * the workers' and the snapshots'.
 */
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "daemon/api/handlers.h"
#include "daemon/api/hostmetrics.h"
#include "daemon/net/reply.h"
#include "daemon/state/jobindex.h"
#include "daemon/state/schedules.h"

/* How jobs run: cgroups (which controllers are enforced, or why there
 * are none), the keeper, what the last start took back. */
static void exec_json(struct api *a, cJSON *o)
{
	struct jr_exec_info x;
	cJSON *cg = cJSON_AddObjectToObject(o, "cgroups"), *ctl, *k;

	jr_engine_exec_info(a->engine, &x);
	cJSON_AddBoolToObject(cg, "enabled", x.cgroups);
	if (x.cgroups)
		cJSON_AddStringToObject(cg, "path", x.cgroup_path);
	ctl = cJSON_AddArrayToObject(cg, "controllers");
	for (char *p = x.controllers, *save = NULL, *w; (w = strtok_r(p, ",", &save)); p = NULL)
		cJSON_AddItemToArray(ctl, cJSON_CreateString(w));
	if (!x.cgroups)
		cJSON_AddStringToObject(cg, "note", x.note);
	k = cJSON_AddObjectToObject(o, "keeper");
	cJSON_AddNumberToObject(k, "pid", x.keeper_pid);
	cJSON_AddNumberToObject(k, "restarts", (double)x.keeper_restarts);
	cJSON_AddNumberToObject(k, "progress_frames", (double)x.progress_frames);
	cJSON_AddNumberToObject(k, "adopted", (double)x.adopted);
	cJSON_AddNumberToObject(k, "ended_while_away", (double)x.ended_while_away);
	cJSON_AddNumberToObject(k, "lost", (double)x.lost);
}

/* The output directory (daemon/state/output.h). */
static void output_json(const struct output_space *out, cJSON *o)
{
	cJSON *d = cJSON_AddObjectToObject(o, "output");

	cJSON_AddStringToObject(d, "dir", out->dir ? out->dir : "");
	cJSON_AddNumberToObject(d, "free_bytes", (double)out->free_bytes);
	cJSON_AddNumberToObject(d, "total_bytes", (double)out->total_bytes);
	cJSON_AddNumberToObject(d, "reserve_bytes", (double)out->reserve_bytes);
	cJSON_AddNumberToObject(d, "max_output_bytes", (double)out->max_output_bytes);
	cJSON_AddBoolToObject(d, "full", out->full);
}

/* The control socket's connections and what they buffer (issue 12): one
 * raw node, printed at once (thirteen cJSON nodes made /health 30% slower). */
static void socket_json(struct api *a, cJSON *o)
{
	struct server_stats s;
	char raw[512];

	if (!a->server)
		return;
	server_get_stats(a->server, &s);
	snprintf(raw, sizeof(raw), "{\"open\":%llu,\"buffered_bytes\":%llu,"
		 "\"buffered_peak_bytes\":%llu,\"max_buffered_bytes\":%llu,\"paused\":%u,"
		 "\"paused_total\":%llu,\"max_per_uid\":%u,\"reserved\":%u,\"refused\":"
		 "{\"max_connections\":%llu,\"reserved\":%llu,\"per_uid\":%llu}}",
		 (unsigned long long)s.open, (unsigned long long)s.budget.used_bytes,
		 (unsigned long long)s.budget.peak_bytes, (unsigned long long)s.budget.max_bytes,
		 s.budget.paused, (unsigned long long)s.budget.paused_total, s.budget.max_per_uid,
		 s.budget.reserved, (unsigned long long)s.budget.refused_full,
		 (unsigned long long)s.budget.refused_reserved,
		 (unsigned long long)s.budget.refused_uid);
	cJSON_AddRawToObject(o, "connections", raw);
}

/* Submitted and ended as journaled, put back at a restart (issue 16),
 * over the engine's counts of this start. */
static void totals_of(struct api *a, struct jr_stats *st)
{
	const struct jobstats_totals *t;

	if (!a->durable)
		return;
	t = &durable_jobstats(a->durable)->all;
	st->submitted = t->submitted;
	st->succeeded = t->ended[JS_SUCCEEDED];
	st->failed = t->ended[JS_FAILED];
	st->cancelled = t->ended[JS_CANCELLED];
}

void api_health(struct api *a, struct api_call *c)
{
	cJSON *o = cJSON_CreateObject();
	struct jr_stats st;

	jr_engine_stats(a->engine, &st);
	totals_of(a, &st);
	cJSON_AddStringToObject(o, "status", "ok");
	cJSON_AddNumberToObject(o, "uptime_s",
				(double)(jr_now_realtime_ns() - a->st->started_ns) / JR_NS_PER_SEC);
	cJSON_AddNumberToObject(o, "submitted", (double)st.submitted);
	cJSON_AddNumberToObject(o, "succeeded", (double)st.succeeded);
	cJSON_AddNumberToObject(o, "failed", (double)st.failed);
	cJSON_AddNumberToObject(o, "cancelled", (double)st.cancelled);
	cJSON_AddNumberToObject(o, "queued", (double)st.queued);
	cJSON_AddNumberToObject(o, "running", (double)st.running);
	cJSON_AddNumberToObject(o, "capacity", st.capacity);
	cJSON_AddNumberToObject(o, "cores", st.cores);
	cJSON_AddBoolToObject(o, "draining", a->status.draining);
	cJSON_AddBoolToObject(o, "snapshotting", a->status.snapshotting);
	exec_json(a, o);
	output_json(&a->st->output, o);
	socket_json(a, o);
	reply_json(c->res, 200, o);
}

#define metric metric_family

/* Waiting jobs, all queues: the index's count (pending and queued). */
static uint64_t waiting_jobs(struct api *a)
{
	const struct jobindex *ix = submitted_index(&a->st->jobs);
	uint64_t n = 0;

	for (uint32_t q = 0; q < JOBSTATS_QUEUES; q++)
		n += jobindex_count(ix, q, JX_WAITING);
	return n;
}

/* By the API's state names: pending (on dependencies, a hold, a start
 * time), queued (eligible, or behind its queue's cap), running. */
static void job_metrics(struct api *a, struct buf *b, const struct jr_stats *st)
{
	uint64_t queued = st->queued + st->held, waiting = waiting_jobs(a);

	metric(b, "jobring_jobs", "gauge", "Jobs waiting or running now, by state (the API's names).");
	buf_printf(b, "jobring_jobs{state=\"pending\"} %llu\n",
		   (unsigned long long)(waiting > queued ? waiting - queued : 0));
	buf_printf(b, "jobring_jobs{state=\"queued\"} %llu\n", (unsigned long long)queued);
	buf_printf(b, "jobring_jobs{state=\"running\"} %llu\n", (unsigned long long)st->running);
	metric(b, "jobring_jobs_finished_total", "counter",
	       "Jobs that ended, by outcome (kept across restarts).");
	buf_printf(b, "jobring_jobs_finished_total{status=\"succeeded\"} %llu\n",
		   (unsigned long long)st->succeeded);
	buf_printf(b, "jobring_jobs_finished_total{status=\"failed\"} %llu\n",
		   (unsigned long long)st->failed);
	buf_printf(b, "jobring_jobs_finished_total{status=\"cancelled\"} %llu\n",
		   (unsigned long long)st->cancelled);
	metric(b, "jobring_jobs_submitted_total", "counter", "Jobs accepted (kept across restarts).");
	buf_printf(b, "jobring_jobs_submitted_total %llu\n", (unsigned long long)st->submitted);
	metric(b, "jobring_queue_depth", "gauge", "Jobs eligible to start, by priority.");
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++)
		buf_printf(b, "jobring_queue_depth{priority=\"%d\"} %llu\n", p,
			   (unsigned long long)st->queued_by_priority[p]);
}

/* A queue's name as a label value: backslash, quote and newline escaped. */
static void label_value(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 3 < cap; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n')
			out[n++] = '\\';
		out[n++] = *in == '\n' ? 'n' : *in;
	}
	out[n] = '\0';
}

/* Per queue: jobs waiting and running now (the listings' index), and
 * jobs submitted and ended since this start. */
static void queue_metrics(struct api *a, struct buf *b)
{
	const struct jobindex *ix = submitted_index(&a->st->jobs);
	const struct jobstats *js = a->durable ? durable_jobstats(a->durable) : NULL;
	struct jr_queue_info info;
	struct { char name[2 * sizeof(info.name)]; } q[JOBSTATS_QUEUES];
	bool have[JOBSTATS_QUEUES];

	for (uint32_t i = 0; i < JOBSTATS_QUEUES; i++)
		if ((have[i] = jr_queue_get_info(a->engine, i, &info) == 0))
			label_value(info.name, q[i].name, sizeof(q[i].name));
	metric(b, "jobring_queue_jobs", "gauge",
	       "Jobs of each queue now: waiting (pending or queued) and running.");
	for (uint32_t i = 0; i < JOBSTATS_QUEUES; i++)
		if (have[i])
			buf_printf(b, "jobring_queue_jobs{queue=\"%s\",state=\"waiting\"} %u\n"
				   "jobring_queue_jobs{queue=\"%s\",state=\"running\"} %u\n",
				   q[i].name, jobindex_count(ix, i, JX_WAITING), q[i].name,
				   jobindex_count(ix, i, JX_RUNNING));
	if (!js)
		return;
	metric(b, "jobring_queue_submitted_total", "counter",
	       "Jobs submitted to each queue since the daemon started.");
	for (uint32_t i = 0; i < JOBSTATS_QUEUES; i++)
		if (have[i])
			buf_printf(b, "jobring_queue_submitted_total{queue=\"%s\"} %llu\n", q[i].name,
				   (unsigned long long)js->queue[i].submitted);
	metric(b, "jobring_queue_finished_total", "counter",
	       "Jobs of each queue that ended since the daemon started, by outcome.");
	for (uint32_t i = 0; i < JOBSTATS_QUEUES; i++)
		for (int o = 0; have[i] && o < JS_OUTCOMES; o++)
			buf_printf(b, "jobring_queue_finished_total{queue=\"%s\",status=\"%s\"} %llu\n",
				   q[i].name, jobstats_outcome_name(o),
				   (unsigned long long)js->queue[i].ended[o]);
}

static void histogram(struct buf *b, const char *name, const char *help,
		      const struct jobstats_hist *h)
{
	uint64_t cum = 0;

	metric(b, name, "histogram", help);
	for (int i = 0; i < JOBSTATS_BUCKETS; i++) {
		cum += h->bucket[i];
		buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, jobstats_bounds[i],
			   (unsigned long long)cum);
	}
	buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		   (unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
}

static void latency_metrics(struct api *a, struct buf *b)
{
	const struct jobstats *js;

	if (!a->durable)
		return;
	js = durable_jobstats(a->durable);
	histogram(b, "jobring_job_wait_seconds",
		  "Time from a job's submission to its first start (since the daemon started).",
		  &js->wait);
	histogram(b, "jobring_job_run_seconds",
		  "Run time of each attempt that ended (since the daemon started).", &js->run);
}

/* Schedules (issue 15): how many, and their fires by outcome. */
static void schedule_metrics(struct api *a, struct buf *b)
{
	const struct schedules *ss = a->st->schedules;
	uint64_t n = 0, fired = 0, skipped = 0, missed = 0, coalesced = 0, errors = 0;

	for (uint32_t i = 0; ss && i < ss->id_cap; i++) {
		const struct schedule *s = ss->by_id[i];
		if (!s)
			continue;
		n++;
		fired += s->fired;
		skipped += s->skipped;
		missed += s->missed;
		coalesced += s->coalesced;
		errors += s->errors;
	}
	metric(b, "jobring_schedules", "gauge", "Schedules defined.");
	buf_printf(b, "jobring_schedules %llu\n", (unsigned long long)n);
	metric(b, "jobring_schedule_fires_total", "counter",
	       "Due instants of the schedules there are, by outcome: fired (a job submitted), "
	       "skipped (overlap policy), missed (too late), coalesced, error.");
	buf_printf(b, "jobring_schedule_fires_total{outcome=\"fired\"} %llu\n"
		   "jobring_schedule_fires_total{outcome=\"skipped\"} %llu\n"
		   "jobring_schedule_fires_total{outcome=\"missed\"} %llu\n"
		   "jobring_schedule_fires_total{outcome=\"coalesced\"} %llu\n"
		   "jobring_schedule_fires_total{outcome=\"error\"} %llu\n",
		   (unsigned long long)fired, (unsigned long long)skipped,
		   (unsigned long long)missed, (unsigned long long)coalesced,
		   (unsigned long long)errors);
}

static void worker_metrics(struct api *a, struct buf *b, const struct jr_stats *st)
{
	const struct workers *reg = &a->st->workers;
	uint32_t by_status[WORKER_DRAINING + 1] = { 0 };

	metric(b, "jobring_worker_utilization", "gauge",
	       "Share of this host's cores held by running command jobs.");
	buf_printf(b, "jobring_worker_utilization %.4f\n",
		   st->cores ? (double)st->cores_busy / st->cores : 0.0);
	metric(b, "jobring_cores", "gauge", "This host's cores, by use.");
	buf_printf(b, "jobring_cores{state=\"busy\"} %u\njobring_cores{state=\"free\"} %u\n",
		   st->cores_busy, st->cores - st->cores_busy);
	for (uint32_t i = 0; i < reg->count; i++)
		if (reg->list[i].used)
			by_status[reg->list[i].status]++;
	metric(b, "jobring_external_workers", "gauge", "Registered external workers, by status.");
	buf_printf(b, "jobring_external_workers{status=\"idle\"} %u\n", by_status[WORKER_IDLE]);
	buf_printf(b, "jobring_external_workers{status=\"busy\"} %u\n", by_status[WORKER_BUSY]);
	buf_printf(b, "jobring_external_workers{status=\"unhealthy\"} %u\n",
		   by_status[WORKER_UNHEALTHY]);
	buf_printf(b, "jobring_external_workers{status=\"draining\"} %u\n",
		   by_status[WORKER_DRAINING]);
}

static void socket_metrics(struct api *a, struct buf *b)
{
	struct server_stats s;

	server_get_stats(a->server, &s);
	metric(b, "jobring_socket_connections", "gauge", "Open connections to the control socket.");
	buf_printf(b, "jobring_socket_connections %llu\n", (unsigned long long)s.open);
	metric(b, "jobring_socket_accepted_total", "counter", "Connections accepted.");
	buf_printf(b, "jobring_socket_accepted_total %llu\n", (unsigned long long)s.accepted);
	metric(b, "jobring_socket_requests_total", "counter", "HTTP requests handled.");
	buf_printf(b, "jobring_socket_requests_total %llu\n", (unsigned long long)s.requests);
	metric(b, "jobring_socket_bad_requests_total", "counter", "Malformed or oversized requests.");
	buf_printf(b, "jobring_socket_bad_requests_total %llu\n", (unsigned long long)s.bad_requests);
	metric(b, "jobring_socket_timeouts_total", "counter", "Requests cut off by request_timeout.");
	buf_printf(b, "jobring_socket_timeouts_total %llu\n", (unsigned long long)s.timeouts);
	metric(b, "jobring_socket_bytes_total", "counter", "Bytes through the socket.");
	buf_printf(b, "jobring_socket_bytes_total{direction=\"in\"} %llu\n",
		   (unsigned long long)s.bytes_in);
	buf_printf(b, "jobring_socket_bytes_total{direction=\"out\"} %llu\n",
		   (unsigned long long)s.bytes_out);
	metric(b, "jobring_socket_buffered_bytes", "gauge",
	       "Input and output all connections buffer (--max-buffered).");
	buf_printf(b, "jobring_socket_buffered_bytes %llu\n",
		   (unsigned long long)s.budget.used_bytes);
	metric(b, "jobring_socket_paused", "gauge", "Connections not read: over the budget.");
	buf_printf(b, "jobring_socket_paused %u\n", s.budget.paused);
	metric(b, "jobring_socket_refused_total", "counter", "Connections refused, by limit.");
	buf_printf(b, "jobring_socket_refused_total{limit=\"max_connections\"} %llu\n"
		   "jobring_socket_refused_total{limit=\"reserved\"} %llu\n"
		   "jobring_socket_refused_total{limit=\"per_uid\"} %llu\n",
		   (unsigned long long)s.budget.refused_full,
		   (unsigned long long)s.budget.refused_reserved,
		   (unsigned long long)s.budget.refused_uid);
	metric(b, "jobring_batch_queued_bytes", "gauge",
	       "Long batches' bodies copied and not answered yet (parsed a slice a turn).");
	buf_printf(b, "jobring_batch_queued_bytes %zu\n", api_batch_queued_bytes(a));
	metric(b, "jobring_batch_arrays_bytes", "gauge",
	       "The batch parser's arrays, kept between batches of at most 16,384 lines.");
	buf_printf(b, "jobring_batch_arrays_bytes %zu\n", api_batch_arrays_bytes(a));
	metric(b, "jobring_api_rejected_total", "counter", "Jobs refused at submission.");
	buf_printf(b, "jobring_api_rejected_total %llu\n", (unsigned long long)a->count.rejected);
}

/* One counter or gauge line with its help and type. */
static void metric_value(struct buf *b, const char *name, const char *type, const char *help,
			 uint64_t v)
{
	metric(b, name, type, help);
	buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void journal_metrics(struct api *a, struct buf *b)
{
	struct durable_stats d;

	if (!a->durable)
		return;
	durable_get_stats(a->durable, &d);
	metric_value(b, "jobring_journal_records_total", "counter", "Records appended.", d.records);
	metric_value(b, "jobring_journal_bytes_total", "counter", "Bytes made durable.",
		     d.journal.bytes);
	metric_value(b, "jobring_journal_syncs_total", "counter",
		     "Groups written and synced (one write, one fdatasync).", d.journal.syncs);
	metric_value(b, "jobring_journal_write_errors_total", "counter",
		     "Group writes that failed (sent again).", d.journal.write_errors);
	metric_value(b, "jobring_journal_segments_total", "counter", "Segments started.",
		     d.journal.segments_started);
	metric_value(b, "jobring_journal_durable_seq", "gauge", "Last record known durable.",
		     d.journal.durable_seq);
	metric_value(b, "jobring_journal_room_bytes", "gauge",
		     "Bytes the journal can take without allocating on disk.", d.journal.room);
	metric_value(b, "jobring_journal_healthy", "gauge",
		     "1 if records can be made durable, 0 if submissions get 507.",
		     d.journal.error == 0);
	metric_value(b, "jobring_journal_answers_held_total", "counter",
		     "Answers held until their records were durable.", d.held);
	metric_value(b, "jobring_journal_refused_total", "counter",
		     "Submissions refused with 507.", d.refused);
	metric(b, "jobring_journal_ack_wait_max_seconds", "gauge",
	       "Longest wait of an answer for the disk.");
	buf_printf(b, "jobring_journal_ack_wait_max_seconds %.6f\n",
		   (double)d.ack_wait_max_us / JR_US_PER_SEC);
}

/* How long the event loop's turns take: a request that arrives during
 * one waits for its end. */
static void loop_metrics(struct api *a, struct buf *b)
{
	struct server_stats s;
	uint64_t below = 0;

	server_get_stats(a->server, &s);
	metric(b, "jobring_loop_turn_seconds", "histogram",
	       "The event loop's turns by duration (a request arriving in one waits its end).");
	for (int i = 0; i < SERVER_TURN_BUCKETS - 1; i++) {
		below += s.turns.buckets[i];
		buf_printf(b, "jobring_loop_turn_seconds_bucket{le=\"%g\"} %llu\n",
			   (double)SERVER_TURN_BOUNDS_NS[i] / JR_NS_PER_SEC, (unsigned long long)below);
	}
	buf_printf(b, "jobring_loop_turn_seconds_bucket{le=\"+Inf\"} %llu\n"
		   "jobring_loop_turn_seconds_sum %.6f\njobring_loop_turn_seconds_count %llu\n",
		   (unsigned long long)s.turns.count, (double)s.turns.sum_ns / JR_NS_PER_SEC,
		   (unsigned long long)s.turns.count);
	metric(b, "jobring_loop_turn_max_seconds", "gauge", "The event loop's longest turn.");
	buf_printf(b, "jobring_loop_turn_max_seconds %.6f\n",
		   (double)s.turns.max_ns / JR_NS_PER_SEC);
}

static void snapshot_metrics(struct api *a, struct buf *b)
{
	const struct api_status *s = &a->status;

	metric_value(b, "jobring_snapshots_total", "counter", "Snapshots written.", s->snapshots);
	metric_value(b, "jobring_snapshot_failures_total", "counter", "Snapshots that failed.",
		     s->snapshot_failures);
	metric(b, "jobring_snapshot_last_seconds", "gauge",
	       "The last snapshot: its duration, and the share of it on the event loop.");
	buf_printf(b, "jobring_snapshot_last_seconds{part=\"total\"} %.6f\n",
		   s->snapshot_last_ms / JR_MS_PER_SEC);
	buf_printf(b, "jobring_snapshot_last_seconds{part=\"event_loop\"} %.6f\n",
		   s->snapshot_last_loop_ms / JR_MS_PER_SEC);
	metric_value(b, "jobring_snapshot_running", "gauge", "A snapshot is being written.",
		     s->snapshotting);
}

void api_metrics(struct api *a, struct api_call *c)
{
	struct buf *b = &c->res->body;
	struct jr_stats st;

	jr_engine_stats(a->engine, &st);
	totals_of(a, &st);
	build_info_metric(b);
	job_metrics(a, b, &st);
	queue_metrics(a, b);
	latency_metrics(a, b);
	worker_metrics(a, b, &st);
	schedule_metrics(a, b);
	socket_metrics(a, b);
	loop_metrics(a, b);
	journal_metrics(a, b);
	snapshot_metrics(a, b);
	host_metrics(b, a->durable ? durable_dir(a->durable) : NULL, a->st->output.dir);
	c->res->status = 200;
	c->res->content_type = "text/plain; version=0.0.4";
}
