/*
 * api.h - the HTTP/JSON API of jobringd: routes requests from the control
 * socket (server.c) to the engine (jobring.h) and answers in JSON. Errors
 * are {"error": {"code": "...", "message": "..."}} with a stable code.
 * Runs on the server's thread only; the engine calls it makes are
 * thread-safe. See docs/PROTOCOL.md for every endpoint.
 */
#ifndef JR_API_H
#define JR_API_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "jobring.h"
#include "daemon/server.h"

#define API_WORKERS_MAX 4096u
#define API_LIST_LIMIT_MAX 1000u
#define API_CLAIM_WAIT_MAX_S 300u

enum worker_status { WORKER_IDLE, WORKER_BUSY, WORKER_UNHEALTHY, WORKER_GONE };

struct api_worker {
	bool used;
	uint32_t number;		/* "w<number>"; engine id BASE + number */
	uid_t uid;
	char name[64];
	char capabilities[256];		/* "a,b" */
	char *resources_json;		/* as registered, compact */
	enum worker_status status;
	uint64_t registered_ns, last_heartbeat_ns;
	uint32_t running;		/* executions it holds */
	uint64_t executions;		/* ever claimed */
};

/* A long-polling claim: answered when a job comes or the wait ends. */
struct api_claim_wait {
	uint64_t token;
	uint32_t worker;		/* index into workers */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC */
};

/* The body of one submission request, kept for its jobs' side records;
 * freed when the last of them is replaced. */
struct api_side_block {
	uint32_t refs;
	char text[];
};

/* What the daemon keeps of a job beyond the engine's table: the JSON it
 * was submitted with (name, command, requirements, dependencies,
 * payload...), by slot, pointing into its request's block. Bounded by the
 * table's capacity. */
struct api_job_side {
	jr_job_id id;
	const char *json;
	struct api_side_block *block;
	uint32_t uid, gid, flags;	/* who submitted it (REC_SUBMIT_SWITCH_USER) */
};

struct api_counters {
	uint64_t submitted_single, submitted_batch, batches, rejected;
};

struct api {
	struct jr_engine *engine;
	struct server *server;
	uid_t daemon_uid;
	uint32_t capacity;
	struct api_job_side *side;
	struct api_worker *workers;
	uint32_t worker_count;		/* high-water mark of numbers used */
	struct api_claim_wait *waits;
	uint32_t wait_count;
	uint64_t heartbeat_timeout_ns;
	uint64_t last_health_check_ns;
	uint64_t started_ns;
	const char *local_capabilities;
	struct api_counters count;
	struct batch *batch;		/* api_jobs.c's arrays, kept between batches */
	struct durable *durable;	/* the journal writer */
	uint64_t ack_seq;		/* set by a handler: answer once this is durable */
	/* The daemon's life (main.c): POST /shutdown. */
	void *lifecycle_ctx;
	void (*start_drain)(void *ctx, uint64_t grace_ms);
	void (*stop_now)(void *ctx);
	/* POST /snapshot: 0 started, -EBUSY one is under way. */
	int (*snapshot_now)(void *ctx);
	bool draining;
	uint64_t drain_deadline_ns;
	bool snapshotting;		/* a snapshot is being written */
	uint64_t snapshots, snapshot_failures;
	double snapshot_last_ms, snapshot_last_loop_ms;
};

int api_init(struct api *a, struct jr_engine *e, uint32_t capacity,
	     uint64_t heartbeat_timeout_ms, const char *local_capabilities);
void api_destroy(struct api *a);

/* server_ops callbacks. */
void api_handle(void *ctx, const struct request *req, struct response *res);
void api_tick(void *ctx, uint64_t now_ns);

/* --- shared by the api_*.c files ------------------------------------------------ */

/* Fill res with an error. Returns false (for `return api_error(...)`). */
bool api_error(struct response *res, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* 201/200 with a cJSON body (consumed). */
void api_json(struct response *res, int status, cJSON *body);
/* Value of a query parameter (percent-decoded) into out; false if absent. */
bool api_query(const char *query, const char *key, char *out, size_t size);

/* CLOCK_REALTIME in ns. */
uint64_t api_now_ns(void);

/* Job ids and execution ids are 16 hex digits. */
void api_format_id(uint64_t id, char out[17]);
bool api_parse_id(const char *s, uint64_t *id);

/* The job as JSON: state from the engine, the rest from its side record. */
cJSON *api_job_json(struct api *a, const struct jr_job_info *info);
cJSON *api_execution_json(struct api *a, const struct jr_job_info *info);
const char *api_worker_name(struct api *a, uint32_t engine_worker_id, char *buf, size_t size);

/* Routes, by area. Each returns true if it owned the path. */
bool api_route_jobs(struct api *a, const struct request *req, struct response *res);
bool api_route_workers(struct api *a, const struct request *req, struct response *res);
bool api_route_misc(struct api *a, const struct request *req, struct response *res);

/* api_workers.c: a worker registered before a restart, from its journal
 * record: 0 or -EINVAL. */
struct rec_worker;
int api_workers_restore(struct api *a, const struct rec_worker *rec, const char *body,
			size_t len);
/* api_workers.c: heartbeat expiry and long-poll claims. */
void api_workers_tick(struct api *a, uint64_t now_ns);
/* api_jobs.c: the next non-blank line of [*p, end) (an NDJSON batch):
 * its text without the newline; false at the end. *number (may be NULL)
 * counts every line passed. */
bool api_next_line(const char **p, const char *end, const char **line, size_t *len,
		   size_t *number);
/* api_jobs.c: the submitted JSON of jobs. */
struct api_side_block *api_jobs_block_new(const char *body, size_t len);
/* Job id's JSON is block->text[offset, offset + len): NUL-terminated there. */
struct rec_submit;
void api_jobs_side_put(struct api *a, jr_job_id id, struct api_side_block *block,
		       size_t offset, size_t len, const struct rec_submit *who);
void api_jobs_side_release(struct api_job_side *s);
const char *api_jobs_side_get(struct api *a, jr_job_id id);
void api_jobs_destroy(struct api *a);

#endif
