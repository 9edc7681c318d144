/*
 * allocpoll.c - the allocation poller (issue 17). See alloc.h.
 *
 * Each allocation queue runs one command at a time. When it runs none
 * and is not backing off: if it has Slurm jobs not known to have ended
 * and their last squeue is ALLOC_POLL_MS old, squeue (by the jobs' name,
 * jobring-a<ID>); else, if external jobs have waited ALLOC_WAIT_MS with
 * none of them claimed (the coordinator's ready list: dependencies met,
 * not held, unclaimed; jr_stats.external_ready), fewer than max_pending
 * of its allocations are pending and the pending allocations of all the
 * queues would not already bring a worker (a node) for every waiting
 * job, sbatch one more. sbatch's job id
 * is journaled (REC_ALLOC_JOB) before anything else is done with it, and
 * a job squeue no longer lists, or lists as ended, is journaled ended. A
 * failed sbatch or squeue (its exit status, output that does not read,
 * or no answer in ALLOC_COMMAND_TIMEOUT_MS) is kept as the queue's last
 * error, and the queue waits ALLOC_BACKOFF_FIRST_MS, doubled at each
 * failure in a row up to ALLOC_BACKOFF_MAX_MS, before its next command.
 *
 * The allocation runs `srun --ntasks-per-node=1 jobring-worker --server
 * SERVER --idle-timeout S [--access F]`: a worker on each of its nodes,
 * which leaves once idle that long; when all have left, so has the
 * allocation. The worker program is jobring-worker next to jobringd,
 * or the queue's worker_command, or $JR_ALLOC_WORKER (testing aids).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/shquote.h"
#include "base/common.h"
#include "daemon/api/alloc.h"
#include "daemon/state/allocrec.h"
#include "engine/engine.h"

#define REAP_MAX 16u
#define SCRIPT_MAX 8192u	/* the longest definition's fits (alloc.h's limits) */
#define ALLOC_COUNT_MAX 4096u	/* ready jobs a queue's count looks at */

enum { CMD_NONE = 0, CMD_SBATCH = 1, CMD_SQUEUE = 2, CMD_SINFO = 3 };

struct api_alloc {
	char server[PATH_MAX];
	char worker[PATH_MAX];
	uint64_t last_turn_ns;
	uint64_t ready_checked_ns;
	uint64_t ready;			/* external jobs ready and unclaimed */
	uint64_t ready_since_ns;	/* 0: none ready */
	struct bgcmd reap[REAP_MAX];	/* scancels, reaped as they end */
};

int api_alloc_start(struct api *a, const char *server)
{
	char exe[PATH_MAX - 32];	/* room for the worker's name */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (!(a->alloc = calloc(1, sizeof(*a->alloc))))
		return -ENOMEM;
	snprintf(a->alloc->server, sizeof(a->alloc->server), "%s", server);
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		slash[1] = '\0';
	snprintf(a->alloc->worker, sizeof(a->alloc->worker), "%sjobring-worker",
		 slash ? exe : "");
	for (uint32_t i = 0; i < REAP_MAX; i++)
		a->alloc->reap[i].fd = -1;
	return 0;
}

void api_alloc_destroy(struct api *a)
{
	if (!a->alloc)
		return;
	for (uint32_t i = 0; i < REAP_MAX; i++)
		bgcmd_kill(&a->alloc->reap[i]);
	free(a->alloc);
	a->alloc = NULL;
}

/* --- errors ------------------------------------------------------------------------------ */

static void backoff(struct alloc_queue *q, const char *what, const struct bgcmd *cmd,
		    int status, uint64_t now)
{
	uint64_t ms = ALLOC_BACKOFF_FIRST_MS;
	size_t line = strcspn(cmd->out, "\n");

	for (uint32_t i = 1; i < q->failures + 1 && ms < ALLOC_BACKOFF_MAX_MS; i++)
		ms *= 2;
	ms = ms < ALLOC_BACKOFF_MAX_MS ? ms : ALLOC_BACKOFF_MAX_MS;
	q->failures++;
	q->retry_at_ns = now + ms * JR_NS_PER_MS;
	if (cmd->killed)
		snprintf(q->last_error, sizeof(q->last_error), "%s: no answer in %u s", what,
			 ALLOC_COMMAND_TIMEOUT_MS / 1000);
	else
		snprintf(q->last_error, sizeof(q->last_error), "%s: exit %d: %.*s", what, status,
			 (int)(line < 200 ? line : 200), cmd->out);
	q->last_error_ns = jr_now_realtime_ns();
	fprintf(stderr, "jobringd: allocation queue %u: %s (retry in %llu ms)\n", q->id,
		q->last_error, (unsigned long long)ms);
}

static void succeeded(struct alloc_queue *q)
{
	q->failures = 0;
	q->retry_at_ns = 0;
}

/* Run one of the queue's commands in the background (its output read as
 * it comes, bgcmd.c); one that cannot start is a failure like any other. */
static void run_command(struct alloc_queue *q, char **argv, int kind, uint64_t now)
{
	int rc = bgcmd_start(&q->cmd, argv, ALLOC_COMMAND_TIMEOUT_MS);

	if (rc < 0) {
		snprintf(q->cmd.out, sizeof(q->cmd.out), "cannot run %s: %s", argv[0],
			 strerror(-rc));
		backoff(q, argv[0], &q->cmd, 127, now);
		return;
	}
	q->cmd_kind = kind;
}

/* --- journaled changes ----------------------------------------------------------------------- */

static void job_record(struct api *a, struct alloc_queue *q, uint32_t op, uint64_t slurm_id)
{
	struct rec_alloc_job r = { .alloc_id = q->id, .op = op, .slurm_id = slurm_id,
				   .time_ns = jr_now_realtime_ns() };

	if (!durable_log(a->durable, REC_ALLOC_JOB, &r, sizeof(r), NULL, 0))
		fprintf(stderr, "jobringd: allocation queue %u: Slurm job %llu could not be "
			"journaled\n", q->id, (unsigned long long)slurm_id);
	allocs_apply(&a->st->allocs, REC_ALLOC_JOB, &r, sizeof(r));
}

/* --- sbatch -------------------------------------------------------------------------------- */


/* A command line built into a fixed buffer; ok turns false when
 * something did not fit (the line is then not used). */
struct line {
	char *out;
	size_t size;
	bool ok;
};

static void line_add(struct line *l, const char *text)
{
	size_t n = strlen(l->out), len = strlen(text);

	if (n + len >= l->size)
		l->ok = false;
	else
		memcpy(l->out + n, text, len + 1);
}

static void line_quoted(struct line *l, const char *text)
{
	if (!jr_sh_quote_append(l->out, l->size, text))
		l->ok = false;
}

static void line_option(struct line *l, const char *option, const char *quoted_value)
{
	line_add(l, option);
	line_quoted(l, quoted_value);
}

/* The node's resources the definition declares, for jobring-worker. */
static void worker_shape_args(const struct alloc_params *p, struct line *l)
{
	char num[48];

	if (p->worker_cpus) {
		snprintf(num, sizeof(num), " --cpus %u", p->worker_cpus);
		line_add(l, num);
	}
	if (p->worker_gpus_set) {
		snprintf(num, sizeof(num), " --gpus %u", p->worker_gpus);
		line_add(l, num);
	}
	if (p->worker_memory)
		line_option(l, " --memory ", p->worker_memory);
	if (p->worker_capabilities)
		line_option(l, " --capabilities ", p->worker_capabilities);
}

/* The batch script's one line: a worker on every node. false: it does
 * not fit in size. */
static bool worker_script(const struct api_alloc *al, const struct alloc_queue *q,
			  char *out, size_t size)
{
	const char *env = getenv("JR_ALLOC_WORKER");
	struct line l = { out, size, true };
	char idle[48];

	out[0] = '\0';
	line_add(&l, "exec srun --ntasks-per-node=1 ");
	if (q->p.worker_command || (env && *env))
		line_add(&l, q->p.worker_command ? q->p.worker_command : env);
	else
		line_quoted(&l, al->worker);
	line_option(&l, " --server ", q->p.server ? q->p.server : al->server);
	snprintf(idle, sizeof(idle), " --idle-timeout %u", q->p.idle_timeout_s);
	line_add(&l, idle);
	if (q->p.access)
		line_option(&l, " --access ", q->p.access);
	worker_shape_args(&q->p, &l);
	return l.ok;
}

/* Does one of the user's sbatch arguments start with option? */
static bool user_asks(const struct alloc_params *p, const char *option)
{
	for (uint32_t i = 0; i < p->sbatch_arg_count; i++)
		if (strncmp(p->sbatch_args[i], option, strlen(option)) == 0)
			return true;
	return false;
}

static void start_sbatch(struct api *a, struct alloc_queue *q, uint64_t now)
{
	char name[48], part[ALLOC_TEXT_MAX + 16], nodes[32], time[ALLOC_TEXT_MAX + 16], gres[32];
	char script[SCRIPT_MAX], wrap[SCRIPT_MAX + 16];
	char *argv[16 + ALLOC_SBATCH_ARGS_MAX];
	int n = 0;

	snprintf(name, sizeof(name), "--job-name=jobring-a%u", q->id);
	snprintf(part, sizeof(part), "--partition=%s", q->p.partition);
	snprintf(nodes, sizeof(nodes), "--nodes=%u", q->p.nodes);
	snprintf(time, sizeof(time), "--time=%s", q->p.time);
	if (!worker_script(a->alloc, q, script, sizeof(script))) {
		snprintf(q->cmd.out, sizeof(q->cmd.out), "the worker's command line is over %u bytes",
			 SCRIPT_MAX);
		backoff(q, "sbatch", &q->cmd, 1, now);
		return;
	}
	snprintf(wrap, sizeof(wrap), "--wrap=%s", script);
	argv[n++] = "sbatch";
	argv[n++] = "--parsable";
	argv[n++] = name;
	argv[n++] = "--output=/dev/null";	/* the extra arguments may say otherwise */
	if (q->p.partition[0])
		argv[n++] = part;
	argv[n++] = nodes;
	argv[n++] = time;
	/* Whole nodes: the worker declares what it finds there (hwloc), the
	 * node the poller counted jobs against; GPUs only when asked for.
	 * The user's own memory or GPU request replaces ours (sbatch refuses
	 * --mem beside --mem-per-cpu). */
	argv[n++] = "--exclusive";
	if (!user_asks(&q->p, "--mem"))
		argv[n++] = "--mem=0";
	if (q->node.gpus && !user_asks(&q->p, "--gres") && !user_asks(&q->p, "--gpus") &&
	    !user_asks(&q->p, "-G")) {
		snprintf(gres, sizeof(gres), "--gres=gpu:%u", q->node.gpus);
		argv[n++] = gres;
	}
	for (uint32_t i = 0; i < q->p.sbatch_arg_count; i++)
		argv[n++] = q->p.sbatch_args[i];
	argv[n++] = wrap;
	argv[n] = NULL;
	run_command(q, argv, CMD_SBATCH, now);
}

/* sbatch --parsable's line: "ID" or "ID;CLUSTER" (warnings may come
 * first). 0 if none. */
static uint64_t parsable_id(const char *out)
{
	for (const char *line = out; *line; line = bgcmd_next_line(line)) {
		char *end;
		unsigned long long id = strtoull(line, &end, 10);
		if (end != line && id > 0 && (*end == '\n' || *end == ';' || *end == '\0'))
			return id;
	}
	return 0;
}

static void sbatch_done(struct api *a, struct alloc_queue *q, int status, uint64_t now)
{
	uint64_t id = status == 0 ? parsable_id(q->cmd.out) : 0;

	if (!id) {
		backoff(q, "sbatch", &q->cmd, status, now);
		return;
	}
	succeeded(q);
	job_record(a, q, REC_ALLOC_JOB_SUBMITTED, id);
	q->next_poll_ns = now + JR_NS_PER_SEC;	/* soon: did it start? */
}

/* --- squeue -------------------------------------------------------------------------------- */

/* Our own jobs only (--user, the uid the commands run as): another
 * user's jobs named like ours could push ours past the output kept, and
 * a job not listed is taken for ended. */
static void start_squeue(struct alloc_queue *q, uint64_t now)
{
	char name[48], user[32];
	char *argv[] = { "squeue", "--noheader", "--all", "--format=%i %T", name, user, NULL };

	snprintf(name, sizeof(name), "--name=jobring-a%u", q->id);
	snprintf(user, sizeof(user), "--user=%u", (unsigned)geteuid());
	run_command(q, argv, CMD_SQUEUE, now);
}

/* What squeue says of a job, from its %T: -1 not listed (ended). */
static int listed_state(const char *out, uint64_t slurm_id)
{
	char want[32], st[32];
	int n = snprintf(want, sizeof(want), "%llu ", (unsigned long long)slurm_id);

	for (const char *line = out; *line; line = bgcmd_next_line(line)) {
		while (*line == ' ')
			line++;
		if (strncmp(line, want, (size_t)n) != 0 || sscanf(line + n, "%31s", st) != 1)
			continue;
		if (!strcmp(st, "PENDING") || !strcmp(st, "CONFIGURING") ||
		    !strcmp(st, "REQUEUED") || !strcmp(st, "RESV_DEL_HOLD") ||
		    !strcmp(st, "SUSPENDED"))
			return ALLOC_JOB_PENDING;
		if (!strcmp(st, "RUNNING") || !strcmp(st, "COMPLETING") ||
		    !strcmp(st, "STAGE_OUT") || !strcmp(st, "SIGNALING"))
			return ALLOC_JOB_RUNNING;
		return -1;	/* COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL... */
	}
	return -1;
}

static void squeue_done(struct api *a, struct alloc_queue *q, int status, uint64_t now)
{
	if (status == 0 && q->cmd.len >= BGCMD_OUT_MAX) {
		/* More than is kept: a job of ours may be past it. */
		snprintf(q->cmd.out, sizeof(q->cmd.out), "squeue listed more than %u bytes",
			 BGCMD_OUT_MAX);
		status = 1;
	}
	if (status != 0) {
		backoff(q, "squeue", &q->cmd, status, now);
		return;
	}
	succeeded(q);
	q->next_poll_ns = now + ALLOC_POLL_MS * JR_NS_PER_MS;
	for (uint32_t i = q->job_count; i-- > 0;) {
		struct alloc_job *j = &q->jobs[i];
		int st = listed_state(q->cmd.out, j->slurm_id);
		if (st < 0) {
			job_record(a, q, REC_ALLOC_JOB_ENDED, j->slurm_id);
			continue;
		}
		if (st == ALLOC_JOB_RUNNING && j->state != ALLOC_JOB_RUNNING)
			j->running_since_ns = now;
		j->state = (uint8_t)st;
	}
}

/* --- sinfo: what a node holds ------------------------------------------------------------ */

/* Asked once a daemon run, before the queue's first sbatch, unless the
 * definition declares cpus, memory and GPUs. */
static void start_sinfo(struct alloc_queue *q, uint64_t now)
{
	char part[ALLOC_TEXT_MAX + 16];
	char *argv[] = { "sinfo", "--noheader", "--exact", "--format=%P %X %Y %m %G", part, NULL };

	snprintf(part, sizeof(part), "--partition=%s", q->p.partition);
	if (!q->p.partition[0])
		argv[4] = NULL;
	run_command(q, argv, CMD_SINFO, now);
}

static void sinfo_done(struct alloc_queue *q, int status, uint64_t now)
{
	struct alloc_node node;

	if (status == 0 && q->cmd.len >= BGCMD_OUT_MAX) {
		snprintf(q->cmd.out, sizeof(q->cmd.out), "sinfo listed more than %u bytes",
			 BGCMD_OUT_MAX);
		status = 1;
	} else if (status == 0 && !alloc_node_read(q->cmd.out, !q->p.partition[0], &node)) {
		snprintf(q->cmd.out, sizeof(q->cmd.out), "no node listed for partition %s",
			 q->p.partition[0] ? q->p.partition : "(default)");
		status = 1;
	}
	if (status != 0) {
		backoff(q, "sinfo", &q->cmd, status, now);
		return;
	}
	succeeded(q);
	alloc_node_declared(&q->p, &node);
	q->node = node;
}

/* --- the decision ----------------------------------------------------------------------------- */

/* Allocations that may still bring workers: not running yet, or running
 * for less than the grace. */
static uint32_t pending_count(const struct alloc_queue *q, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < q->job_count; i++)
		n += q->jobs[i].state != ALLOC_JOB_RUNNING ||
		     now - q->jobs[i].running_since_ns < ALLOC_START_GRACE_MS * JR_NS_PER_MS;
	return n;
}

/* The nodes every queue's pending allocations (and sbatch in flight)
 * will bring: the waiting jobs they already cover. */
static uint64_t pending_nodes(const struct allocs *all, uint64_t now)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++) {
		const struct alloc_queue *q = all->q[i];
		if (q)
			n += (uint64_t)(pending_count(q, now) +
					(q->cmd.pid && q->cmd_kind == CMD_SBATCH)) * q->p.nodes;
	}
	return n;
}

/* External jobs have been ready, none claimed, for ALLOC_WAIT_MS. */
static bool waited(const struct api_alloc *al, uint64_t now)
{
	return al->ready > 0 && al->ready_since_ns &&
	       now - al->ready_since_ns >= ALLOC_WAIT_MS * JR_NS_PER_MS;
}

/* Waiting jobs the queue would bring workers for: some have waited
 * ALLOC_WAIT_MS unclaimed and fit its nodes, and the nodes they fill are
 * more than every queue's pending allocations bring. */
static bool wants_more(const struct allocs *all, const struct alloc_queue *q, uint64_t now)
{
	return q->jobs_waiting > 0 && q->waiting_since_ns &&
	       now - q->waiting_since_ns >= ALLOC_WAIT_MS * JR_NS_PER_MS &&
	       pending_count(q, now) < q->p.max_pending && q->job_count < ALLOC_JOBS_MAX &&
	       q->nodes_wanted > pending_nodes(all, now);
}

/* The uid whose jobs the queue's workers claim: they run as the daemon's
 * user (sbatch does), and a worker not run as root takes only its own
 * user's jobs (workers.c). */
static uint32_t workers_owner(void)
{
	uid_t uid = geteuid();

	return uid == 0 ? JR_EXTERNAL_ANY_OWNER : (uint32_t)uid;
}

/* The ready jobs the queue's workers would take, and the nodes they
 * fill (jr_engine_ext_demand); none until its nodes are known. Not
 * while it backs off (the last count stays). */
static void count_waiting(struct api *a, struct alloc_queue *q, uint64_t now)
{
	struct jr_external_res shape;
	struct jr_ext_demand d = { 0 };

	if (q->retry_at_ns > now)
		return;
	shape = (struct jr_external_res){ .cpus = q->node.cpus, .gpus = q->node.gpus,
					  .mem_bytes = q->node.mem_bytes };
	if (q->node.known && a->alloc->ready &&
	    jr_engine_ext_demand(a->engine, q->p.worker_capabilities, workers_owner(), &shape,
				 ALLOC_COUNT_MAX, 0, &d) < 0)
		memset(&d, 0, sizeof(d));
	if (!d.fit)
		q->waiting_since_ns = 0;
	else if (!q->waiting_since_ns)
		q->waiting_since_ns = now;
	q->jobs_waiting = d.fit;
	q->jobs_too_big = d.too_big;
	q->nodes_wanted = d.workers;
	q->counted_all = !d.partial;
}

/* The ready external jobs, every 250 ms; none while the engine is
 * paused (no claim would take them). Then what each queue would take. */
static void count_ready(struct api *a, uint64_t now)
{
	struct api_alloc *al = a->alloc;
	struct jr_stats st;

	if (now - al->ready_checked_ns < 250 * JR_NS_PER_MS)
		return;
	al->ready_checked_ns = now;
	jr_engine_stats(a->engine, &st);
	al->ready = jr_engine_paused(a->engine) > 0 ? 0 : st.external_ready;
	if (!al->ready)
		al->ready_since_ns = 0;
	else if (!al->ready_since_ns)
		al->ready_since_ns = now;
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		if (a->st->allocs.q[i])
			count_waiting(a, a->st->allocs.q[i], now);
}

static void queue_turn(struct api *a, struct alloc_queue *q, uint64_t now)
{
	int status;

	if (q->cmd.pid) {
		if (bgcmd_poll(&q->cmd, &status) == 1) {
			if (q->cmd_kind == CMD_SBATCH)
				sbatch_done(a, q, status, now);
			else if (q->cmd_kind == CMD_SINFO)
				sinfo_done(q, status, now);
			else
				squeue_done(a, q, status, now);
			q->cmd_kind = CMD_NONE;
		}
		return;
	}
	if (q->retry_at_ns > now)
		return;
	if (!q->node.known && allocs_shape_declared(&q->p))
		alloc_node_declared(&q->p, &q->node);	/* no sinfo to ask */
	if (q->job_count && now >= q->next_poll_ns)
		start_squeue(q, now);
	else if (!q->node.known && waited(a->alloc, now))
		start_sinfo(q, now);
	else if (wants_more(&a->st->allocs, q, now))
		start_sbatch(a, q, now);
}

void api_alloc_tick(struct api *a, uint64_t now_ns)
{
	struct api_alloc *al = a->alloc;
	uint64_t now = jr_now_monotonic_ns();
	int status;

	(void)now_ns;
	if (!al || now - al->last_turn_ns < 100 * JR_NS_PER_MS)
		return;
	al->last_turn_ns = now;
	for (uint32_t i = 0; i < REAP_MAX; i++)
		if (al->reap[i].pid)
			bgcmd_poll(&al->reap[i], &status);
	if (!allocs_count(&a->st->allocs))
		return;
	count_ready(a, now);
	for (uint32_t i = 0; i < ALLOC_QUEUES_MAX; i++)
		if (a->st->allocs.q[i])
			queue_turn(a, a->st->allocs.q[i], now);
}

bool api_alloc_submitting(const struct alloc_queue *q)
{
	return q->cmd.pid && q->cmd_kind == CMD_SBATCH;
}

void api_alloc_cancel_pending(struct api *a, struct alloc_queue *q)
{
	char ids[ALLOC_JOBS_MAX][24];
	char *argv[4 + ALLOC_JOBS_MAX];
	struct bgcmd *slot = NULL;
	int n = 0;

	for (uint32_t i = 0; a->alloc && i < REAP_MAX && !slot; i++)
		if (!a->alloc->reap[i].pid)
			slot = &a->alloc->reap[i];
	argv[n++] = "scancel";
	argv[n++] = "--state=PENDING";
	for (uint32_t i = 0; i < q->job_count; i++)
		if (q->jobs[i].state != ALLOC_JOB_RUNNING) {
			snprintf(ids[i], sizeof(ids[i]), "%llu", (unsigned long long)q->jobs[i].slurm_id);
			argv[n++] = ids[i];
		}
	argv[n] = NULL;
	if (slot && n > 2 && bgcmd_start(slot, argv, ALLOC_COMMAND_TIMEOUT_MS) < 0)
		fprintf(stderr, "jobringd: allocation queue %u: cannot run scancel\n", q->id);
}
