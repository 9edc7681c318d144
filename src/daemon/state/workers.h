/*
 * workers.h - the registry of external workers: numbers ("w<n>", engine
 * id JR_EXTERNAL_WORKER_BASE + n), capabilities, resources as
 * registered, health, and the executions each holds. A worker silent for
 * longer than the heartbeat timeout turns unhealthy and its running
 * executions end as worker_lost (retried elsewhere while retries are
 * left); one unhealthy for longer than remove_after is removed. A worker
 * belongs to the uid that registered it: only that uid or root acts
 * through it, and it runs only its owner's jobs (root's workers run
 * anyone's). Each claim's execution carries a lease (lease.h) under the
 * registry's key. Read by the routes, snapshots and /metrics; restored
 * by recovery. The event loop's thread only.
 *
 * Resources: a worker declares cpus, memory, gpus and named counters
 * when it registers ({"resources": {"cpus": 16, "memory": "64G", "gpus":
 * 2, "licenses": 4}}). cpus and memory left out are not limited; gpus
 * and a counter left out are none. The registry keeps what each held
 * execution took (the engine's claim says: jr_external_claim_fit), and
 * a claim asks only for what is free now: declared minus taken. What a
 * heartbeat reports ("status", "resources") is shown, never matched on.
 *
 * Numbers: at most WORKERS_MAX = 1,048,576 workers are registered at
 * once (issue 14; the engine's worker id has 23 bits: jobtab.h, records.h).
 * The list is reserved address space (WORKERS_MAX * sizeof(struct worker),
 * 896 MiB, MAP_NORESERVE) touched only up to the highest number used:
 * about 900 bytes a worker number ever used, plus its registration JSON
 * and held executions on the heap. A removed worker's number is given again, but
 * only after every number has been given once since the last reuse
 * (fresh numbers first, then the removed ones oldest first). Its
 * executions ended when it was removed, so a late completion from it
 * names an execution that is not the job's current one: refused.
 */
#ifndef JR_WORKERS_H
#define JR_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "jobring.h"
#include "daemon/state/lease.h"

#define WORKERS_MAX 1048576u	/* engine ids up to 1,081,344 (the slot has 23 bits) */
#define WORKER_STOPS_MAX 256u	/* stops kept for a worker that does not ask */

enum worker_status { WORKER_IDLE, WORKER_BUSY, WORKER_UNHEALTHY, WORKER_GONE,
		     WORKER_DRAINING };

/* What one held execution took of its worker. */
struct worker_exec {
	uint64_t execution_id;
	uint64_t cpus, gpus, mem_bytes;
	uint64_t counter[JR_EXTERNAL_COUNTERS];	/* by the worker's counter names */
};

/* An execution the daemon ended (time limit, cancel, lost...) that the
 * worker has not been told of yet: its next heartbeat says "stop". */
struct worker_stop {
	uint64_t execution_id;
	uint8_t reason;		/* enum jr_reason */
};

struct worker {
	bool used;
	uint32_t number;		/* "w<number>" */
	/* In the first cache line with used: the twice-a-second expiry walks
	 * every number (workers_expire) and reads these only. */
	enum worker_status status;
	uint64_t registered_ns, last_heartbeat_ns;
	uid_t uid;
	char name[64];
	char capabilities[256];		/* "a,b" */
	char *resources_json;		/* as registered, compact */
	uint32_t running;		/* executions it holds (held[0, running)) */
	uint64_t executions;		/* ever claimed */
	struct jr_external_res cap;	/* declared */
	struct worker_exec taken;	/* the sum of held (execution_id unused) */
	struct worker_exec *held;
	uint32_t held_cap;
	struct worker_stop *stops;
	uint32_t stop_count, stop_cap;
	/* As its last heartbeat said: "idle", "busy" or "draining" ("" none),
	 * its usage (compact JSON; NULL: none), and when. */
	char reported[16];
	char *usage_json;
	uint64_t usage_ns;
};

struct events;
struct workers {
	struct events *events;		/* changes published (issue 16); NULL: not */
	struct worker *list;		/* WORKERS_MAX, by number - 1 (reserved:
					 * pages are touched up to count only) */
	uint32_t max;			/* at once (--max-workers): WORKERS_MAX at most */
	uint32_t count;			/* high-water mark of numbers used */
	uint32_t registered;		/* used now */
	uint32_t *free_ring;		/* removed numbers, oldest first */
	uint32_t free_head, free_count;
	uint64_t heartbeat_timeout_ns;
	uint64_t remove_after_ns;	/* unhealthy this long: removed (0: never) */
	uint64_t last_check_ns;
	uint64_t removed_total;		/* by DELETE or expiry, since start */
	struct lease_key lease;		/* STATE_DIR/lease.key: leases outlive a restart */
};

/* 0, -ENOMEM, or getrandom's -errno. remove_after_ns is 0 (never) until
 * the caller sets it. */
int workers_init(struct workers *r, uint64_t heartbeat_timeout_ms);
void workers_destroy(struct workers *r);

const char *worker_status_name(enum worker_status s);
/* "idle", "busy", "draining", "unhealthy" -> true and *out. */
bool worker_status_parse(const char *s, enum worker_status *out);
uint32_t worker_engine_id(const struct worker *w);
/* Its change (status: "idle", "gone", ...) on the event stream. */
void workers_publish(struct workers *r, const struct worker *w, const char *status);

/* "w7" -> its worker, or NULL. */
struct worker *workers_by_name(struct workers *r, const char *name);

/* A free number for a new worker (not yet used: worker_fill makes it
 * so, workers_cancel_new gives it back), or NULL when all are taken. */
struct worker *workers_new(struct workers *r);
void workers_cancel_new(struct workers *r, struct worker *w);

/* Fill w from a registration body: false, with *why, if it is invalid
 * (w stays unused). */
bool worker_fill(struct workers *r, struct worker *w, const cJSON *o, uid_t uid,
		 const char **why);

/* A worker registered before a restart, back as unhealthy until its next
 * heartbeat (recovery restarts its heartbeat clock once every job is
 * back): 0 or -EINVAL. A body of WORKER_REMOVED_JSON (the record of a
 * removal) takes it away again. */
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
 * retries are left), its name answers 404 from now on, its number goes
 * to the back of the free ring. */
void workers_remove(struct workers *r, struct jr_engine *e, struct worker *w);

/* A heartbeat's body: {"status": "idle"|"busy"|"draining", "resources":
 * {name: number >= 0, ...}} (both optional; other fields are others'):
 * false, with *why, if invalid (nothing kept). */
bool worker_report_check(const cJSON *o, const char **why);
/* A sign of life, with what it reported (o may be NULL): an unhealthy
 * worker is back. */
void worker_heartbeat(struct worker *w, const cJSON *o);

/* The executions of w the engine ended without w's completion (time
 * limit, cancel, requeue): their resources are free again and they wait
 * in w->stops until worker_take_stops. O(held). */
void worker_reconcile(struct worker *w, struct jr_engine *e);
/* w->stops as [{"execution_id": "...", "reason": "timeout"}, ...],
 * emptied. */
cJSON *worker_take_stops(struct worker *w);

/* A worker's view beyond view_worker's fields: "allocated" (what its
 * executions took), "free" (declared minus that; null: not limited),
 * "reported_status", "usage" and "usage_at" (its last heartbeat's). */
void worker_view_extra(const struct worker *w, cJSON *o);

/* What w has free now: declared minus taken. */
void worker_free(const struct worker *w, struct jr_external_res *out);

/* Claim a job for w (only that one if only is not 0), among those w may
 * run (worker_may_run) that fit what it has free: 1 with *info, 0 if
 * none is eligible, or the engine's -errno. A draining worker claims
 * nothing. */
int workers_claim(struct workers *r, struct jr_engine *e, struct worker *w, jr_job_id only,
		  struct jr_job_info *info);
/* Recovery (issue 17): execution_id, which the worker with this engine
 * id ran before the restart, is held by it again, taking what its claim
 * took. The worker, restored unhealthy, keeps it if it heartbeats within
 * the heartbeat timeout from the restart; else it is lost (worker_lost,
 * retried) as any silent worker's. 0, -ENOENT (no such worker: the
 * caller ends the execution as lost) or -ENOMEM. */
int workers_reattach(struct workers *r, struct jr_engine *e, uint32_t engine_worker_id,
		     uint64_t execution_id);
/* The execution of the worker with this engine id ended: what it took is
 * free again. */
void workers_release(struct workers *r, uint32_t engine_worker_id, uint64_t execution_id);

/* Every half second: workers past their heartbeat turn unhealthy and
 * their executions end as lost; those unhealthy past remove_after are
 * removed (removed(ctx, w) first, to journal it). */
void workers_expire(struct workers *r, struct jr_engine *e, uint64_t now_ns,
		    void (*removed)(void *ctx, struct worker *w), void *ctx);

#endif
