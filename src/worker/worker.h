/*
 * worker.h - jobring-worker: a program on a compute node that registers
 * with a jobringd as an external worker (docs/PROTOCOL.md, "External
 * workers"), claims the jobs that fit what it declared, runs their
 * commands as child processes with the daemon's executor (exec/: output
 * files, cgroups, core binding, progress pipe), heartbeats, completes
 * each execution with its lease, and rides out a lost server: it keeps
 * what it runs, keeps retrying, and reports what ended meanwhile once the
 * server answers again. docs/WORKER.md says how it is used.
 *
 * Two threads: the main one (main.c) owns the children, the heartbeats
 * and the completions, on one connection; the claimer (claimer.c) holds
 * the long poll on a second connection and hands what it claims over
 * through a queue and an eventfd. Everything they share is in struct
 * wk_shared, under its lock.
 */
#ifndef JR_WORKER_H
#define JR_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "exec/cgroup.h"
#include "exec/executor.h"

struct jr_topology;

#define WK_ID_MAX 32
#define WK_LEASE_MAX 40

/* --- options (options.c) ------------------------------------------------------------ */

enum wk_lost_policy { WK_LOST_FINISH, WK_LOST_KILL };

struct wk_opts {
	const char *server;		/* socket path or HOST:PORT; NULL: the client's default */
	const char *access;		/* --access FILE (exported as JOBRING_ACCESS) */
	const char *name;		/* NULL: the host name */
	const char *capabilities;	/* "a,b"; NULL: none */
	const char *output_dir;		/* NULL: the default (options.c) */
	const char *topology;		/* hwloc synthetic; NULL: this host */
	uint32_t cpus, gpus;		/* 0 with *_set false: what hwloc finds */
	uint64_t mem_bytes;
	bool cpus_set, gpus_set, mem_set;
	uint64_t idle_timeout_ms;	/* 0: never */
	enum wk_lost_policy on_lost;
	uint64_t lost_after_ms;
	uint64_t heartbeat_ms;		/* 0: a third of the server's heartbeat_timeout */
	uint64_t kill_grace_ms;		/* SIGTERM, then SIGKILL this much later */
	uint32_t claim_wait_s;
	bool echo;			/* jobs without a command succeed at once, result = payload */
	bool no_cgroups, no_bind, quiet;
	bool no_claim_next;		/* completions do not claim (?claim=1) */
	bool output_stream;		/* jobs' output sent to the daemon (ship.c) */
};

/* 0, or 2 after printing why (the exit status for a usage error); 1 for
 * --help or --version (printed; exit 0). */
int wk_opts_parse(struct wk_opts *o, int argc, char **argv);

/* --- this node's resources (hostres.c) ------------------------------------------------ */

struct wk_hostres {
	struct jr_topology *topo;	/* NULL if hwloc failed */
	bool bind;			/* jobs are bound to their cores */
	uint32_t cpus, gpus;		/* declared */
	uint64_t mem_bytes;		/* declared; 0: not limited */
	uint64_t *core_used;		/* bitmap of cpus bits */
	uint64_t gpu_used;		/* GPUs 0-63 */
	char gpu_names[64][16];		/* what CUDA_VISIBLE_DEVICES says of each */
};

int wk_hostres_init(struct wk_hostres *h, const struct wk_opts *o);
void wk_hostres_free(struct wk_hostres *h);
/* The "resources" object of the registration, into out. */
void wk_hostres_json(const struct wk_hostres *h, char *out, size_t size);
/* Take n free cores (as many as are free if fewer): their indices into
 * ids (n of them at most); the count taken. */
uint32_t wk_hostres_take_cores(struct wk_hostres *h, uint32_t n, uint32_t *ids);
uint32_t wk_hostres_take_gpus(struct wk_hostres *h, uint32_t n, uint32_t *ids);
void wk_hostres_give_back(struct wk_hostres *h, const uint32_t *cores, uint32_t ncores,
			  const uint32_t *gpus, uint32_t ngpus);
/* The cores' PUs as a mask for jr_exec_spec.cpu_mask (JR_EXEC_CPU_WORDS):
 * false if there is nothing to bind to. */
bool wk_hostres_cpu_mask(const struct wk_hostres *h, const uint32_t *cores, uint32_t n,
			 uint64_t *mask);

/* --- the connection to the server (link.c) -------------------------------------------- */

struct jr_client;

struct wk_link {
	const char *server;
	struct jr_client *client;	/* NULL while not connected */
};

/* One request; reconnects first if needed. The HTTP status with
 * *response (caller frees), or -errno when the server could not be
 * reached or the exchange broke (the next call reconnects). */
int wk_link_request(struct wk_link *l, const char *method, const char *path, const char *body,
		    char **response);
void wk_link_close(struct wk_link *l);

/* --- what the threads share ------------------------------------------------------------ */

struct wk_claim {			/* a claim's answer, handed to the main thread */
	char *body;
	struct wk_claim *next;
};

struct wk_shared {
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* the claimer waits on it */
	int event_fd;			/* the main thread's poll: a claim came, or news */
	char worker_id[WK_ID_MAX];	/* "" while not registered */
	uint64_t generation;		/* +1 at each registration */
	uint32_t free_cpus;		/* declared minus what runs */
	bool draining, stopping;
	bool worker_unknown;		/* the claimer got 404: register again */
	bool link_broke;		/* the claimer's connection failed: the server
					 * may have restarted (recent.c) */
	uint64_t last_ok_ns;		/* the last answer from the server (either thread) */
	struct wk_claim *claims, **claims_tail;
	uint32_t claim_wait_s;
	struct wk_link link;		/* the claimer's own connection */
};

int wk_claimer_start(struct wk_shared *s, pthread_t *thread);
/* Wake the claimer (after changing draining, stopping, free_cpus). */
void wk_claimer_poke(struct wk_shared *s);
uint64_t wk_now_ns(void);
void wk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool wk_quiet;

/* --- the jobs this worker holds (jobs.c) ------------------------------------------------- */

enum wk_job_state {
	WK_RUNNING,	/* its process runs */
	WK_ENDED,	/* ended: its completion is to be sent */
};

struct wk_job {
	enum wk_job_state state;
	char exec_id[WK_ID_MAX], job_id[WK_ID_MAX], lease[WK_LEASE_MAX];
	struct jr_child child;
	struct jr_cgroup_job cgroup;
	uint32_t cpus, cores[64], ncores, gpus[64], ngpus;
	uint64_t deadline_ns;		/* its time limit; 0: none */
	uint64_t kill_at_ns;		/* SIGKILL due (after a SIGTERM); 0: none */
	uint64_t max_output;		/* 0: no cap */
	bool stopped;			/* the server ended it: nothing to report */
	/* --output-stream (ship.c): bytes of stdout, stderr the daemon has;
	 * when to send more; the daemon refused them (sent no further). */
	uint64_t shipped[2];
	uint64_t next_ship_ns;
	bool ship_refused;
	int progress, progress_sent;
	/* what to complete with */
	char *completion;		/* the body, without the lease; NULL until ended */
};

struct wk_jobs {
	struct wk_job **v;
	uint32_t count, cap;
	int out_dirfd;
	struct jr_cgroups cgroups;
	bool use_cgroups;
	char **base_env;		/* this process's environment */
};

struct wk_ctx;
int wk_jobs_init(struct wk_jobs *j, const struct wk_opts *o);
void wk_jobs_free(struct wk_jobs *j);
/* Start what a claim answered (or complete it at once: --echo, or no
 * command). Never fails: a job that cannot start ends with a failure to
 * report. */
void wk_jobs_start(struct wk_ctx *w, const char *claim_body);
/* The same, of a claim's answer already parsed (a completion's "next"; its
 * env strings are rewritten in place). */
void wk_jobs_start_json(struct wk_ctx *w, cJSON *claim);
/* Reap the children that ended (their pidfd readable, or all with
 * force_check): each goes to WK_ENDED with its completion. */
void wk_jobs_reap(struct wk_ctx *w);
/* Signal every running job (SIGTERM now, SIGKILL after the grace). */
void wk_jobs_kill_all(struct wk_ctx *w);
/* Time limits and SIGKILLs due; the next deadline (0: none). */
uint64_t wk_jobs_timers(struct wk_ctx *w, uint64_t now);
/* The server ended this execution: kill it, report nothing. */
void wk_jobs_stop(struct wk_ctx *w, const char *exec_id);
/* Running jobs' progress, read from their pipes: a JSON object of the
 * changed ones into buf ("" if none). */
void wk_jobs_progress_json(struct wk_ctx *w, char *buf, size_t size);
uint32_t wk_jobs_running(const struct wk_jobs *j);
void wk_jobs_remove(struct wk_ctx *w, uint32_t i);

/* --- the main thread's state (main.c) ---------------------------------------------------- */

struct wk_ctx {
	struct wk_opts opts;
	struct wk_hostres res;
	struct wk_jobs jobs;
	struct wk_shared shared;
	struct wk_link link;		/* the main thread's connection */
	char register_body[2048];
	uint64_t heartbeat_ms;
	uint64_t next_heartbeat_ns, next_retry_ns, retry_ms;
	uint64_t idle_since_ns;
	bool lost_killed;		/* --on-server-lost=kill did its kill */
	uint32_t chained;		/* jobs claimed by completions this turn */
	/* Completions answered 200 lately (recent.c): a daemon killed just
	 * after answering may not have kept them; after a reconnection
	 * those it still lists as running on this worker are sent again. */
	struct wk_recent {
		char exec_id[WK_ID_MAX], lease[WK_LEASE_MAX];
		char *completion;
	} recent[64];
	uint32_t recent_next;
	bool was_unreachable, recheck;
};

/* One request on the main connection (link.c): its status, or -errno;
 * an answer is a sign of life, a failure (or a 5xx) backs the loop off:
 * wk_reachable_now is false until the backoff is over. */
int wk_call(struct wk_ctx *w, const char *method, const char *path, const char *body,
	    char **resp);
bool wk_reachable_now(const struct wk_ctx *w);
/* The server could not be reached (rc, -errno): try again after a
 * backoff, doubled at each failure up to a second, with jitter. */
void wk_mark_unreachable(struct wk_ctx *w, int rc);

/* --- output streamed back (ship.c, --output-stream) ------------------------------------ */

/* Running jobs' new output, a few chunks each, at most once a second. */
void wk_ship_running(struct wk_ctx *w, uint64_t now);
/* An ended job's output, all of what is left: false if the daemon could
 * not be reached (its completion waits for it). */
bool wk_ship_rest(struct wk_ctx *w, struct wk_job *job);
/* Done with the job (its completion answered, or the server stopped it,
 * or the worker gives up on it): the local files go. */
void wk_ship_done(struct wk_ctx *w, struct wk_job *job);

/* --- completions sent again after a reconnection (recent.c) --------------------------- */

/* Keep a completion answered 200 (takes completion). */
void wk_recent_keep(struct wk_ctx *w, const char *exec_id, const char *lease, char *completion);
/* Ask the server which executions it thinks this worker runs; send again
 * the kept completions of those it still lists. The GET's status, or
 * -errno (the server unreachable: try again later). */
int wk_recent_recheck(struct wk_ctx *w);
void wk_recent_free(struct wk_ctx *w);

#endif
