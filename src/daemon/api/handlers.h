/*
 * handlers.h - the API's handlers, by file, each the one function of a
 * row of the routing table (route.c), plus what a row's admission needs
 * (the size of its record) and what api.c calls beside them. A handler
 * answers in call->res; see api.h for the call and docs/PROTOCOL.md for
 * the answers.
 */
#ifndef JR_HANDLERS_H
#define JR_HANDLERS_H

#include "daemon/api/route.h"

/* submit.c: POST /jobs (one job, or an array). */
api_handler api_submit_one;
void api_submit_one_record(const struct request *req, struct route_record *out);

/* batch.c: POST /jobs/batch (NDJSON, all or none); a long one parsed a
 * slice a turn, in api_batch_tick, its answer deferred. */
api_handler api_submit_batch;
void api_submit_batch_record(const struct request *req, struct route_record *out);
void api_batch_tick(struct api *a, uint64_t now_ns);
/* The bodies of long batches copied and not answered yet (/metrics). */
size_t api_batch_queued_bytes(const struct api *a);
/* The arrays kept between batches, allocated (/metrics). */
size_t api_batch_arrays_bytes(const struct api *a);
void api_submit_destroy(struct api *a);

/* jobs.c: a job shown, listed, cancelled, its output read. */
api_handler api_job_show, api_job_list, api_job_cancel, api_job_logs;
/* A log route's answer: up to 1 MiB of the file ?stream= names, from
 * ?offset=; finished: no more will be written to it. */
void api_logs_reply(struct api_call *c, const char *stdout_path, const char *stderr_path,
		    bool finished);

/* control.c: a job held, released, requeued, updated; scheduling
 * paused and resumed. */
api_handler api_job_hold, api_job_release, api_job_requeue, api_job_update,
	api_scheduler_show, api_scheduler_pause, api_scheduler_resume;

/* workers.c: external workers and their executions. */
api_handler api_worker_register, api_worker_list, api_worker_show, api_worker_heartbeat,
	api_worker_claim, api_worker_remove, api_job_execute, api_execution_complete;
void api_worker_register_record(const struct request *req, struct route_record *out);
void api_worker_remove_record(const struct request *req, struct route_record *out);
/* Long polls answered or timed out, workers past their heartbeat lost. */
void api_workers_tick(struct api *a, uint64_t now_ns);

/* progress.c: external executions' progress, by POST and in heartbeats.
 * api_heartbeat_progress: the heartbeat's body (none: fine), its
 * progress entries applied to what w holds; *applied the count, -1 if the
 * body had none. false: an error answered, nothing applied. */
api_handler api_execution_progress;
struct worker;
struct jr_job_info;
struct jobspec_error;
/* A worker's report on an execution (progress, output, completion): the
 * execution named by the path (*exec, its job's *info; 404 if none or
 * hidden) and its body o, parsed (jerr: why not; 400 if not an object).
 * false: answered. */
bool api_execution_report(struct api *a, struct api_call *c, const cJSON *o,
			  const struct jobspec_error *jerr, uint64_t *exec,
			  struct jr_job_info *info);
/* The caller holds execution exec (info: its job's): its current attempt
 * (409 lease_expired), its worker's owner or root (403 forbidden), and
 * the claim's lease in o's "lease" (403 invalid_lease). false: answered. */
bool api_execution_holds(struct api *a, struct api_call *c, uint64_t exec,
			 const struct jr_job_info *info, const cJSON *o);

/* execoutput.c: POST /executions/{id}/output, a worker's job output
 * streamed back into the daemon's output directory (issue 17). */
api_handler api_execution_output;
bool api_heartbeat_progress(struct api *a, struct api_call *c, const struct worker *w,
			    int32_t *applied);

/* executions.c: every attempt of a job, shown, listed, its output read. */
api_handler api_execution_list, api_execution_show, api_execution_logs;

/* status.c: GET /health, GET /metrics. */
api_handler api_health, api_metrics;

/* resources.c: GET /resources (issue 14). */
api_handler api_resources;

/* events.c: GET /events, the event stream (issue 16). */
api_handler api_events;

/* admin.c: queues, and the daemon's owner stopping it or asking for a
 * snapshot. */
api_handler api_queue_list, api_queue_create, api_shutdown, api_snapshot;
void api_queue_create_record(const struct request *req, struct route_record *out);
api_handler api_queue_update, api_queue_delete;
void api_queue_change_record(const struct request *req, struct route_record *out);

/* triggers.c: GET /triggers, PUT, POST (fire), GET and DELETE
 * /triggers/{name} (issue 15); the file and job-event sources fired each
 * turn; the watches made once recovery is applied. */
api_handler api_trigger_list, api_trigger_show, api_trigger_put, api_trigger_fire,
	api_trigger_delete;
void api_trigger_put_record(const struct request *req, struct route_record *out);
void api_trigger_fire_record(const struct request *req, struct route_record *out);
void api_trigger_delete_record(const struct request *req, struct route_record *out);
void api_triggers_tick(struct api *a, uint64_t now_ns);
/* schedules.c: schedules (issue 15; schedules.h has the firing). */
api_handler api_schedule_create, api_schedule_list, api_schedule_show, api_schedule_update,
	api_schedule_delete, api_schedule_pause, api_schedule_resume;
void api_schedule_record(const struct request *req, struct route_record *out);

/* alloc.c: allocation queues, POST, GET, DELETE /allocations (issue 17). */
api_handler api_alloc_add, api_alloc_list, api_alloc_show, api_alloc_remove;
void api_alloc_add_record(const struct request *req, struct route_record *out);
void api_alloc_remove_record(const struct request *req, struct route_record *out);

/* web.c: the web dashboard's page (GET /) and files (GET /ui/NAME). */
api_handler api_web_page, api_web_asset;

#endif
