/*
 * cgroup.h - a cgroup v2 directory per command job, under a subtree the
 * engine (or jobringd's keeper) owns: every process a job starts is in it,
 * whatever process group or session it moves to, so a cancel, a time
 * limit or the end of the job's main process can kill them all
 * (cgroup.kill), and a job is over only when its cgroup is empty.
 *
 * Where the subtree goes (jr_cgroups_open):
 *  - an explicit path (jobringd --cgroup), used as given;
 *  - under systemd (INVOCATION_ID set, as with Delegate=yes): the unit's
 *    own cgroup; the calling process moves into <unit>/supervisor so that
 *    controllers can be enabled for <unit>/jobs (cgroup v2 allows no
 *    processes in a cgroup whose children get controllers);
 *  - as root elsewhere: <cgroup2 mount>/jobring-<name> beside the root
 *    cgroup's own processes (the root is exempt from that rule);
 *  - as another user: <own cgroup>/jobring-<name>, which works only where
 *    the cgroup was delegated to that user.
 * The cgroup2 mount comes from /proc/self/mountinfo, so hosts with only
 * the unified hierarchy (/sys/fs/cgroup) and hybrid ones
 * (/sys/fs/cgroup/unified) both work. Where nothing is writable the mode
 * is JR_CGROUP_NONE and jobs are tracked by process group only; note says
 * why.
 *
 * Not thread-safe for open/close; the job calls are (each job's own fds).
 */
#ifndef JR_CGROUP_H
#define JR_CGROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/lock.h"

enum jr_cgroup_mode {
	JR_CGROUP_NONE = 0,	/* process groups only */
	JR_CGROUP_V2 = 1,
};

/* Controllers enabled for job cgroups. */
#define JR_CGROUP_MEMORY 1u	/* a job's memory request becomes memory.max */
#define JR_CGROUP_PIDS 2u
#define JR_CGROUP_CPU 4u

/* jr_cgroups_open() flags. */
#define JR_CGROUPS_DISABLE 1u	/* process groups only (tests, --no-cgroups) */

struct jr_cgroup_idle;

struct jr_cgroups {
	enum jr_cgroup_mode mode;
	int dir_fd;			/* the subtree; -1 without cgroups */
	char path[512];			/* its absolute path */
	uint32_t available;		/* controllers the parent offers */
	uint32_t controllers;		/* JR_CGROUP_* enabled for jobs */
	bool has_kill;			/* cgroup.kill (Linux 5.14) */
	char note[256];			/* why there are none; "" otherwise */
	/* Job cgroups kept for the next job (see below), under pool_lock. */
	struct jr_mutex pool_lock;
	struct jr_cgroup_idle *idle;
	uint32_t idle_count, idle_cap;
	uint32_t idle_max;		/* more are removed; 0: 64 */
	uint32_t next_slot;
	uint32_t made, removed;		/* directories made and removed so far */
};

/* Settle the subtree for this engine or daemon. name tells instances
 * apart (jobringd: its state directory); explicit, if not NULL or "", is
 * the subtree's path. Never fails: on any error cg->mode is
 * JR_CGROUP_NONE and cg->note says why. */
void jr_cgroups_open(struct jr_cgroups *cg, const char *name, const char *explicit_path,
		     unsigned flags);

/* Under systemd (INVOCATION_ID set), move the calling process into
 * <unit>/supervisor, so that a keeper it starts lands there too and the
 * unit's cgroup can give its jobs controllers. 0, or -errno (not
 * delegated: nothing moved); 0 and nothing done outside systemd. */
int jr_cgroups_enter_supervisor(void);

/* Close the subtree's fd and the idle job cgroups'; remove those (and the
 * subtree, if then empty) if remove. */
void jr_cgroups_close(struct jr_cgroups *cg, bool remove);

/* Comma-separated names of mask's controllers ("memory,pids"; "" for none). */
const char *jr_cgroup_controller_names(uint32_t mask, char *buf, unsigned size);

/* One job's cgroup: a directory job-<slot> under the subtree. Directories
 * are kept once made: a job takes an idle one when it starts and gives it
 * back, empty, when it ends (up to idle_max stay idle; the rest are
 * removed). mkdir and rmdir of a cgroup cost 40-50 us of CPU, 5% of a
 * /bin/true job (docs/BENCHMARKS.md); a kept one costs nothing. The job's
 * id is in the directory's user.jobring.job attribute while it runs.
 * fd is its directory (clone3's CLONE_INTO_CGROUP takes it), events_fd
 * its cgroup.events (POLLPRI when it empties); -1 without cgroups. */
struct jr_cgroup_job {
	int fd;
	int events_fd;
	uint32_t slot;		/* 0: none */
	bool killed;		/* cgroup.kill was written: not reused */
};

#define JR_CGROUP_JOB_NONE \
	((struct jr_cgroup_job){ .fd = -1, .events_fd = -1, .slot = 0, .killed = false })

/* The directory name of a slot ("job-17"). */
void jr_cgroup_job_name(uint32_t slot, char *out, unsigned size);

/* Take an idle job cgroup (or make one), label it with label (the job
 * id), memory.max = mem_max_bytes where the memory controller is on (0:
 * no limit). 0 or -errno. Without cgroups: 0 and out->fd = -1.
 * Thread-safe. */
int jr_cgroup_job_take(struct jr_cgroups *cg, const char *label, uint64_t mem_max_bytes,
		       struct jr_cgroup_job *out);

/* A particular slot, in use by a job that ran before a restart (it is
 * taken out of the idle list if it was there): 0, or -ENOENT. */
int jr_cgroup_job_open(struct jr_cgroups *cg, uint32_t slot, struct jr_cgroup_job *out);

/* 1 if a process is in it, 0 if not, -errno. */
int jr_cgroup_job_populated(const struct jr_cgroup_job *j);

/* SIGKILL every process in it (cgroup.kill; before Linux 5.14 each pid
 * of cgroup.procs, until none is left). 0 or -errno. */
int jr_cgroup_job_kill(struct jr_cgroup_job *j);

/* Send sig to every process in it (cgroup.procs). 0 or -errno. */
int jr_cgroup_job_signal(const struct jr_cgroup_job *j, int sig);

/* Wait until it is empty: 0, or -ETIMEDOUT after timeout_ms. */
int jr_cgroup_job_wait_empty(const struct jr_cgroup_job *j, int timeout_ms);

/* The job's main process ended: kill what is left in the cgroup. 0 if
 * it is empty now (it went back to the idle list: *j is NONE), -EBUSY
 * if processes are still dying (poll events_fd for POLLPRI, then call
 * again), -errno otherwise. Does not block. Thread-safe. */
int jr_cgroup_job_try_release(struct jr_cgroups *cg, struct jr_cgroup_job *j);

/* The same, waiting up to timeout_ms for it to empty: 0, or -ETIMEDOUT
 * (the cgroup is then given up: left as it is, no longer used). */
int jr_cgroup_job_release(struct jr_cgroups *cg, struct jr_cgroup_job *j, int timeout_ms);

/* Remove the cgroups a job made inside its own (a spawn into it failed
 * with -EBUSY: try again after this). */
void jr_cgroup_job_clear(struct jr_cgroup_job *j);

/* Close j's fds without touching the cgroup (it stays in use). */
void jr_cgroup_job_close(struct jr_cgroup_job *j);

/* A running job's cgroup without descriptors (a keeper holding thousands
 * of jobs would run out): its slot stays, unpark opens it again before
 * it is signalled, killed or released. */
void jr_cgroup_job_park(struct jr_cgroup_job *j);
int jr_cgroup_job_unpark(struct jr_cgroups *cg, struct jr_cgroup_job *j);

/* The label a job cgroup was last taken with: 0, or -errno. */
int jr_cgroup_job_label(const struct jr_cgroup_job *j, char *out, unsigned size);

/* The job cgroups that hold processes (jobs that outlived whoever
 * started them): fn(ctx, slot, label) for each, label the job id it was
 * taken for ("" if unknown). Returns how many. */
int jr_cgroups_each_held(const struct jr_cgroups *cg,
			 void (*fn)(void *ctx, uint32_t slot, const char *label), void *ctx);

/* Does pid live in the job cgroup of slot? */
bool jr_cgroup_job_has_pid(const struct jr_cgroups *cg, uint32_t slot, int pid);

#endif
