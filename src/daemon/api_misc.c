/*
 * api_misc.c - GET /health, GET /metrics (Prometheus text exposition
 * 0.0.4), GET and POST /queues (the JobQueue entity).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api.h"
#include "daemon/durable.h"
#include "base/units.h"

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
	cJSON_AddNumberToObject(k, "adopted", (double)x.adopted);
	cJSON_AddNumberToObject(k, "ended_while_away", (double)x.ended_while_away);
	cJSON_AddNumberToObject(k, "lost", (double)x.lost);
}

static void health(struct api *a, struct response *res)
{
	cJSON *o = cJSON_CreateObject();
	struct jr_stats st;
	struct timespec ts;

	jr_engine_stats(a->engine, &st);
	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddStringToObject(o, "status", "ok");
	cJSON_AddNumberToObject(o, "uptime_s",
				(double)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec -
					 a->started_ns) / 1e9);
	cJSON_AddNumberToObject(o, "submitted", (double)st.submitted);
	cJSON_AddNumberToObject(o, "succeeded", (double)st.succeeded);
	cJSON_AddNumberToObject(o, "failed", (double)st.failed);
	cJSON_AddNumberToObject(o, "cancelled", (double)st.cancelled);
	cJSON_AddNumberToObject(o, "queued", (double)st.queued);
	cJSON_AddNumberToObject(o, "running", (double)st.running);
	cJSON_AddNumberToObject(o, "capacity", st.capacity);
	cJSON_AddNumberToObject(o, "cores", st.cores);
	cJSON_AddBoolToObject(o, "draining", a->draining);
	cJSON_AddBoolToObject(o, "snapshotting", a->snapshotting);
	exec_json(a, o);
	api_json(res, 200, o);
}

static void metric(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void job_metrics(struct buf *b, const struct jr_stats *st)
{
	metric(b, "jobring_jobs", "gauge", "Jobs waiting or running now, by state.");
	buf_printf(b, "jobring_jobs{state=\"queued\"} %llu\n", (unsigned long long)st->queued);
	buf_printf(b, "jobring_jobs{state=\"held\"} %llu\n", (unsigned long long)st->held);
	buf_printf(b, "jobring_jobs{state=\"running\"} %llu\n", (unsigned long long)st->running);
	metric(b, "jobring_jobs_finished_total", "counter", "Jobs that ended, by outcome.");
	buf_printf(b, "jobring_jobs_finished_total{status=\"succeeded\"} %llu\n",
		   (unsigned long long)st->succeeded);
	buf_printf(b, "jobring_jobs_finished_total{status=\"failed\"} %llu\n",
		   (unsigned long long)st->failed);
	buf_printf(b, "jobring_jobs_finished_total{status=\"cancelled\"} %llu\n",
		   (unsigned long long)st->cancelled);
	metric(b, "jobring_jobs_submitted_total", "counter", "Jobs accepted.");
	buf_printf(b, "jobring_jobs_submitted_total %llu\n", (unsigned long long)st->submitted);
	metric(b, "jobring_queue_depth", "gauge", "Jobs eligible to start, by priority.");
	for (int p = 0; p < JR_PRIORITY_LEVELS; p++)
		buf_printf(b, "jobring_queue_depth{priority=\"%d\"} %llu\n", p,
			   (unsigned long long)st->queued_by_priority[p]);
}

static void latency_metrics(struct buf *b, const struct jr_stats *st)
{
	uint64_t cum = 0;

	metric(b, "jobring_submit_to_start_seconds", "histogram",
	       "Command jobs: time from submission to first start.");
	for (int i = 0; i < JR_WAIT_BUCKETS - 1; i++) {
		cum += st->start_wait_us_hist[i];
		buf_printf(b, "jobring_submit_to_start_seconds_bucket{le=\"%g\"} %llu\n",
			   (double)(1ull << i) / 1e6, (unsigned long long)cum);
	}
	cum += st->start_wait_us_hist[JR_WAIT_BUCKETS - 1];
	buf_printf(b, "jobring_submit_to_start_seconds_bucket{le=\"+Inf\"} %llu\n",
		   (unsigned long long)cum);
	buf_printf(b, "jobring_submit_to_start_seconds_sum %.6f\n",
		   (double)st->start_wait_us_sum / 1e6);
	buf_printf(b, "jobring_submit_to_start_seconds_count %llu\n", (unsigned long long)cum);
}

static void worker_metrics(struct api *a, struct buf *b, const struct jr_stats *st)
{
	uint32_t by_status[4] = { 0 };

	metric(b, "jobring_worker_utilization", "gauge",
	       "Share of this host's cores held by running command jobs.");
	buf_printf(b, "jobring_worker_utilization %.4f\n",
		   st->cores ? (double)st->cores_busy / st->cores : 0.0);
	metric(b, "jobring_cores", "gauge", "This host's cores, by use.");
	buf_printf(b, "jobring_cores{state=\"busy\"} %u\njobring_cores{state=\"free\"} %u\n",
		   st->cores_busy, st->cores - st->cores_busy);
	for (uint32_t i = 0; i < a->worker_count; i++)
		if (a->workers[i].used)
			by_status[a->workers[i].status]++;
	metric(b, "jobring_external_workers", "gauge", "Registered external workers, by status.");
	buf_printf(b, "jobring_external_workers{status=\"idle\"} %u\n", by_status[WORKER_IDLE]);
	buf_printf(b, "jobring_external_workers{status=\"busy\"} %u\n", by_status[WORKER_BUSY]);
	buf_printf(b, "jobring_external_workers{status=\"unhealthy\"} %u\n",
		   by_status[WORKER_UNHEALTHY]);
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
	metric_value(b, "jobring_journal_ack_wait_max_microseconds", "gauge",
		     "Longest wait of an answer for the disk.", d.ack_wait_max_us);
}

static void snapshot_metrics(struct api *a, struct buf *b);

static void metrics(struct api *a, struct response *res)
{
	struct jr_stats st;

	jr_engine_stats(a->engine, &st);
	job_metrics(&res->body, &st);
	latency_metrics(&res->body, &st);
	worker_metrics(a, &res->body, &st);
	socket_metrics(a, &res->body);
	journal_metrics(a, &res->body);
	snapshot_metrics(a, &res->body);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4";
}

static cJSON *queue_json(const struct jr_queue_info *q)
{
	cJSON *o = cJSON_CreateObject();
	char id[16];

	snprintf(id, sizeof(id), "%u", q->queue_id);
	cJSON_AddStringToObject(o, "queue_id", id);
	cJSON_AddStringToObject(o, "name", q->name);
	cJSON_AddNumberToObject(o, "priority", q->priority);
	cJSON_AddNumberToObject(o, "max_workers", q->max_workers);
	return o;
}

static void list_queues(struct api *a, struct response *res)
{
	cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "queues");
	struct jr_queue_info q;

	for (uint32_t id = 0; id < JR_QUEUE_MAX; id++)
		if (jr_queue_get_info(a->engine, id, &q) == 0)
			cJSON_AddItemToArray(list, queue_json(&q));
	api_json(res, 200, o);
}

static void create_queue(struct api *a, const struct request *req, struct response *res)
{
	cJSON *o = cJSON_ParseWithLength(req->body, req->body_len);
	const cJSON *name = cJSON_GetObjectItem(o, "name"), *pr = cJSON_GetObjectItem(o, "priority");
	const cJSON *mw = cJSON_GetObjectItem(o, "max_workers");
	struct jr_queue_info q;
	uint32_t id;
	int rc;

	if (!cJSON_IsObject(o) || !cJSON_IsString(name) || (pr && !cJSON_IsNumber(pr)) ||
	    (mw && !cJSON_IsNumber(mw))) {
		api_error(res, 400, "invalid_field", "name (string), priority and max_workers (numbers)");
	} else if (!durable_admit(a->durable, 128, res)) {
		;	/* 507 */
	} else if ((rc = jr_queue_create(a->engine, name->valuestring,
					 pr ? pr->valueint : JR_PRIORITY_DEFAULT,
					 mw && mw->valueint > 0 ? (uint32_t)mw->valueint : 0, &id)) < 0) {
		if (rc == -EEXIST)
			api_error(res, 409, "exists", "queue %s exists", name->valuestring);
		else if (rc == -ENOSPC)
			api_error(res, 507, "too_many_queues", "at most %u queues", JR_QUEUE_MAX);
		else
			api_error(res, 422, "invalid_value",
				  "name is 1-47 characters, priority 0 to 7");
	} else {
		struct rec_queue rec = { .priority = pr ? pr->valueint : JR_PRIORITY_DEFAULT,
					 .max_workers = mw && mw->valueint > 0 ? (uint32_t)mw->valueint : 0 };
		snprintf(rec.name, sizeof(rec.name), "%s", name->valuestring);
		a->ack_seq = durable_log(a->durable, REC_QUEUE, &rec, sizeof(rec), NULL, 0);
		jr_queue_get_info(a->engine, id, &q);
		api_json(res, 201, queue_json(&q));
	}
	cJSON_Delete(o);
}

/* POST /shutdown {"drain": true, "grace": "30m"}: the daemon's owner
 * (or root) stops it; without drain, running jobs go on under the keeper
 * (as with SIGTERM). */
static void shutdown_daemon(struct api *a, const struct request *req, struct response *res)
{
	cJSON *body = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	const cJSON *drain, *grace;
	uint64_t grace_ms = 30000;
	cJSON *o;

	if (req->uid != 0 && req->uid != a->daemon_uid) {
		cJSON_Delete(body);
		api_error(res, 403, "forbidden", "only uid %u or root may stop this daemon",
			  (unsigned)a->daemon_uid);
		return;
	}
	if (req->body_len && !cJSON_IsObject(body)) {
		cJSON_Delete(body);
		api_error(res, 400, "bad_json", "the body is not a JSON object");
		return;
	}
	for (const cJSON *f = body ? body->child : NULL; f; f = f->next)
		if (strcmp(f->string, "drain") && strcmp(f->string, "grace")) {
			api_error(res, 422, "unknown_field", "unknown field \"%s\"", f->string);
			cJSON_Delete(body);
			return;
		}
	drain = cJSON_GetObjectItemCaseSensitive(body, "drain");
	grace = cJSON_GetObjectItemCaseSensitive(body, "grace");
	if ((drain && !cJSON_IsBool(drain)) ||
	    (grace && (!cJSON_IsString(grace) ||
		       jr_parse_duration_ms(grace->valuestring, &grace_ms) < 0))) {
		api_error(res, 422, "bad_value",
			  "drain is true or false; grace a duration such as \"30m\"");
		cJSON_Delete(body);
		return;
	}
	o = cJSON_CreateObject();
	if (cJSON_IsTrue(drain)) {
		a->start_drain(a->lifecycle_ctx, grace_ms);
		cJSON_AddStringToObject(o, "status", "draining");
		cJSON_AddNumberToObject(o, "grace_ms", (double)grace_ms);
	} else {
		a->stop_now(a->lifecycle_ctx);
		cJSON_AddStringToObject(o, "status", "stopping");
	}
	cJSON_Delete(body);
	api_json(res, 202, o);
}

/* POST /snapshot: the daemon's owner (or root) asks for one now. */
static void snapshot_now(struct api *a, const struct request *req, struct response *res)
{
	cJSON *o;

	if (req->uid != 0 && req->uid != a->daemon_uid) {
		api_error(res, 403, "forbidden", "only uid %u or root may ask for a snapshot",
			  (unsigned)a->daemon_uid);
		return;
	}
	if (a->snapshot_now(a->lifecycle_ctx) < 0) {
		api_error(res, 409, "snapshot_running", "a snapshot is being written already");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "writing");
	api_json(res, 202, o);
}

static void snapshot_metrics(struct api *a, struct buf *b)
{
	metric_value(b, "jobring_snapshots_total", "counter", "Snapshots written.", a->snapshots);
	metric_value(b, "jobring_snapshot_failures_total", "counter", "Snapshots that failed.",
		     a->snapshot_failures);
	metric(b, "jobring_snapshot_last_seconds", "gauge",
	       "The last snapshot: its duration, and the share of it on the event loop.");
	buf_printf(b, "jobring_snapshot_last_seconds{part=\"total\"} %.6f\n",
		   a->snapshot_last_ms / 1e3);
	buf_printf(b, "jobring_snapshot_last_seconds{part=\"event_loop\"} %.6f\n",
		   a->snapshot_last_loop_ms / 1e3);
	metric_value(b, "jobring_snapshot_running", "gauge", "A snapshot is being written.",
		     a->snapshotting);
}

bool api_route_misc(struct api *a, const struct request *req, struct response *res)
{
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	if (strcmp(req->path, "/health") == 0 && get)
		health(a, res);
	else if (strcmp(req->path, "/metrics") == 0 && get)
		metrics(a, res);
	else if (strcmp(req->path, "/queues") == 0 && get)
		list_queues(a, res);
	else if (strcmp(req->path, "/queues") == 0 && post)
		create_queue(a, req, res);
	else if (strcmp(req->path, "/shutdown") == 0 && post && a->start_drain)
		shutdown_daemon(a, req, res);
	else if (strcmp(req->path, "/snapshot") == 0 && post && a->snapshot_now)
		snapshot_now(a, req, res);
	else if (!strcmp(req->path, "/health") || !strcmp(req->path, "/metrics") ||
		 !strcmp(req->path, "/queues") || !strcmp(req->path, "/shutdown") ||
		 !strcmp(req->path, "/snapshot"))
		api_error(res, 405, "method_not_allowed", "see docs/PROTOCOL.md");
	else
		return false;
	return true;
}
