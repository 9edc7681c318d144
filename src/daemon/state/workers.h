/*
 * workers.h - the registry of external workers: numbers ("w<n>", engine
 * id JR_EXTERNAL_WORKER_BASE + n), capabilities, resources as
 * registered, health, and the executions each holds. A worker silent for
 * longer than the heartbeat timeout turns unhealthy and its running
 * executions end as worker_lost (retried elsewhere while retries are
 * left). A worker belongs to the uid that registered it: only that uid
 * or root acts through it, and it runs only its owner's jobs (root's
 * workers run anyone's). A removed worker's number is not given again
 * while the daemon runs. Each claim's execution carries a lease
 * (lease.h) under the registry's key. Read by the routes, snapshots and
 * /metrics; restored by recovery. The event loop's thread only.
 */
#ifndef JR_WORKERS_H
#define JR_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "jobring.h"
#include "daemon/state/lease.h"

#define WORKERS_MAX 4096u

enum worker_status { WORKER_IDLE, WORKER_BUSY, WORKER_UNHEALTHY, WORKER_GONE };

struct worker {
	bool used;
	uint32_t number;		/* "w<number>" */
	uid_t uid;
	char name[64];
	char capabilities[256];		/* "a,b" */
	char *resources_json;		/* as registered, compact */
	enum worker_status status;
	uint64_t registered_ns, last_heartbeat_ns;
	uint32_t running;		/* executions it holds */
	uint64_t executions;		/* ever claimed */
};

struct workers {
	struct worker *list;		/* WORKERS_MAX, by number - 1 */
	uint32_t count;			/* high-water mark of numbers used */
	uint64_t heartbeat_timeout_ns;
	uint64_t last_check_ns;
	struct lease_key lease;		/* drawn at start: leases die with the daemon */
};

/* 0, -ENOMEM, or getrandom's -errno. */
int workers_init(struct workers *r, uint64_t heartbeat_timeout_ms);
void workers_destroy(struct workers *r);

const char *worker_status_name(enum worker_status s);
uint32_t worker_engine_id(const struct worker *w);

/* "w7" -> its worker, or NULL. */
struct worker *workers_by_name(struct workers *r, const char *name);

/* A free number for a new worker (not yet used: worker_fill makes it
 * so, workers_cancel_new gives it back), or NULL when all are taken. */
struct worker *workers_new(struct workers *r);
void workers_cancel_new(struct worker *w);

/* Fill w from a registration body: false, with *why, if it is invalid
 * (w stays unused). */
bool worker_fill(struct worker *w, const cJSON *o, uid_t uid, const char **why);

/* A worker registered before a restart, back as unhealthy until its next
 * heartbeat: 0 or -EINVAL. A body of WORKER_REMOVED_JSON (the record
 * of a removal) takes it away again. */
#define WORKER_REMOVED_JSON "{\"removed\":true}"
int workers_restore(struct workers *r, uint32_t number, uid_t uid, uint64_t registered_ns,
		    const char *body, size_t len);

/* May uid act through w (heartbeat, claim, complete, remove)? Its owner
 * and root may. */
bool worker_owned_by(const struct worker *w, uid_t uid);
/* May w run a job that runs as job_uid? Its owner's, or any if root's. */
bool worker_may_run(const struct worker *w, uint32_t job_uid);
/* The worker with this engine id (JR_EXTERNAL_WORKER_BASE + number), if
 * it is registered; NULL otherwise ("local" included). */
struct worker *workers_by_engine_id(struct workers *r, uint32_t engine_worker_id);

/* Take w away: its running executions end as worker_lost (retried while
 * retries are left), its name answers 404 from now on. */
void workers_remove(struct workers *r, struct jr_engine *e, struct worker *w);

/* A sign of life: an unhealthy worker is back. */
void worker_heartbeat(struct worker *w);

/* Claim a job for w (only that one if only is not 0), among those w may
 * run (worker_may_run): 1 with *info, 0 if none is eligible, or the
 * engine's -errno. */
int workers_claim(struct workers *r, struct jr_engine *e, struct worker *w, jr_job_id only,
		  struct jr_job_info *info);
/* An execution of the worker with this engine id ended. */
void workers_release(struct workers *r, uint32_t engine_worker_id);

/* Every half second: workers past their heartbeat turn unhealthy and
 * their executions end as lost. */
void workers_expire(struct workers *r, struct jr_engine *e, uint64_t now_ns);

#endif
