/*
 * alloc.h - allocation queues (issue 17): what jobringd asks of Slurm
 * when external jobs wait that no connected worker takes. A queue is its
 * parameters (partition, nodes, time, how many allocations may be
 * pending at once, the workers' idle timeout, extra sbatch arguments) and
 * the Slurm jobs it submitted that have not ended. The records that
 * change it (allocrec.h: REC_ALLOC, REC_ALLOC_DELETE, REC_ALLOC_JOB) are
 * applied here, by the API as it journals them and by recovery as it
 * reads them; snapshots write them back out (allocs_write). What the
 * poller learns and does not journal (a job's pending or running state,
 * the last error, the backoff) lives here too. Event loop's thread only.
 */
#ifndef JR_STATE_ALLOC_H
#define JR_STATE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "daemon/state/bgcmd.h"

#define ALLOC_QUEUES_MAX 16u
#define ALLOC_JOBS_MAX 64u		/* live Slurm jobs a queue tracks */
#define ALLOC_PENDING_MAX 64u		/* --max-pending, at most */
#define ALLOC_NODES_MAX 4096u
#define ALLOC_SBATCH_ARGS_MAX 32u
#define ALLOC_TEXT_MAX 256u		/* partition, time, each sbatch argument */
#define ALLOC_COMMAND_MAX 1024u		/* worker_command, server, access */

enum alloc_job_state {
	ALLOC_JOB_SUBMITTED = 0,	/* sbatch said its id; squeue not asked since */
	ALLOC_JOB_PENDING = 1,
	ALLOC_JOB_RUNNING = 2,
};

struct alloc_job {
	uint64_t slurm_id;
	uint64_t submitted_ns;		/* CLOCK_REALTIME */
	uint64_t running_since_ns;	/* CLOCK_MONOTONIC; 0: not seen running */
	uint8_t state;			/* enum alloc_job_state */
};

/* A queue's parameters, as POST /allocations takes them (allocs_parse). */
struct alloc_params {
	char partition[ALLOC_TEXT_MAX];	/* "": Slurm's default partition */
	char time[ALLOC_TEXT_MAX];	/* sbatch --time */
	uint32_t nodes;
	uint32_t max_pending;
	uint32_t idle_timeout_s;
	uint32_t sbatch_arg_count;
	char *sbatch_args[ALLOC_SBATCH_ARGS_MAX];
	char *worker_command;		/* NULL: the default (a testing aid) */
	char *server;			/* NULL: the daemon's socket */
	char *access;			/* NULL: none */
	/* What each node's worker declares (jobring-worker --cpus, --memory,
	 * --gpus, --capabilities); 0 / NULL: not declared, hwloc's on the
	 * node, and the poller asks sinfo what the partition's nodes hold. */
	uint32_t worker_cpus;
	uint32_t worker_gpus;
	bool worker_gpus_set;
	uint64_t worker_mem_bytes;
	char *worker_memory;		/* as given ("64G") */
	char *worker_capabilities;
};

/* What one node (one worker) of a queue holds, for the jobs it counts:
 * the definition's worker_* values, the rest from sinfo's largest node. */
struct alloc_node {
	bool known;			/* false: sinfo not answered yet */
	uint32_t cpus, gpus;
	uint64_t mem_bytes;		/* UINT64_MAX: not said (any memory fits) */
};

struct alloc_queue {
	uint32_t id;
	uint32_t uid;			/* who added it */
	uint64_t created_ns;
	char *def;			/* its definition, compact JSON, as journaled */
	struct alloc_params p;
	struct alloc_job jobs[ALLOC_JOBS_MAX];
	uint32_t job_count;
	uint64_t submitted, ended;	/* Slurm jobs, since it was added */
	/* The poller's (not journaled). */
	struct bgcmd cmd;		/* sbatch or squeue in flight (pid 0: none) */
	int cmd_kind;			/* the poller's */
	uint32_t failures;		/* in a row */
	uint64_t retry_at_ns;		/* CLOCK_MONOTONIC; 0: no backoff */
	uint64_t next_poll_ns;		/* CLOCK_MONOTONIC */
	char last_error[256];
	uint64_t last_error_ns;		/* CLOCK_REALTIME */
	struct alloc_node node;
	uint64_t jobs_waiting;		/* ready jobs its workers would take */
	uint64_t jobs_too_big;		/* ... that fit none of its nodes */
	uint64_t nodes_wanted;		/* nodes the waiting ones fill */
	uint64_t waiting_since_ns;	/* CLOCK_MONOTONIC; 0: none waiting */
	bool counted_all;		/* false: the count stopped early */
};

struct allocs {
	struct alloc_queue *q[ALLOC_QUEUES_MAX];
	uint32_t next_id;		/* ids below it were given */
};

void allocs_init(struct allocs *a);
/* Frees every queue; a command in flight is killed and reaped. */
void allocs_destroy(struct allocs *a);
/* Move every queue of from into to (recovery's into the state's). */
void allocs_take(struct allocs *to, struct allocs *from);

/* A definition (a JSON object) into p: true, or false with why in err.
 * On true the caller owns p's strings (allocs_params_free). */
bool allocs_parse(const cJSON *def, struct alloc_params *p, char *err, size_t err_size);
void allocs_params_free(struct alloc_params *p);
/* Are the node's cpus, memory and GPUs all declared (no sinfo needed)? */
bool allocs_shape_declared(const struct alloc_params *p);

/* allocnode.c. sinfo's "PARTITION SOCKETS CORES MEMORY_MB GRES" lines
 * (`--exact --format="%P %X %Y %m %G"`) into *node: the largest of each
 * over them (cores = sockets x cores per socket; GPUs from the gpu GRES,
 * at most 64; memory not judged (UINT64_MAX) when no line says more than
 * 1 MB, Slurm's default). default_only: only the default partition's
 * lines ("name*"). false: no line read. */
bool alloc_node_read(const char *sinfo_out, bool default_only, struct alloc_node *node);
/* The definition's declared worker_* values over *node; node->known. */
void alloc_node_declared(const struct alloc_params *p, struct alloc_node *node);

struct alloc_queue *allocs_find(struct allocs *a, uint32_t id);
uint32_t allocs_count(const struct allocs *a);

/* A journal or snapshot record of types 96-98: 0, -EPROTO (does not
 * read), -ENOMEM, -ENOSPC (too many queues). */
int allocs_apply(struct allocs *a, uint16_t type, const void *p, uint32_t len);

/* Every queue and its live Slurm jobs as records, through put (a
 * snapshot's). */
int allocs_write(const struct allocs *a,
		 int (*put)(void *ctx, uint16_t type, const void *head, size_t head_len,
			    const void *tail, size_t tail_len),
		 void *ctx);

/* A queue as GET /allocations shows it. now_mono_ns: to say when a retry comes. */
cJSON *allocs_view(const struct alloc_queue *q, uint64_t now_mono_ns);

#endif
