/*
 * executor.h - child processes for command jobs: started straight into
 * their cgroup (clone3 with CLONE_INTO_CGROUP, sharing the parent's memory
 * until exec like vfork, so a large parent costs nothing), a session of
 * their own, stdin from /dev/null, stdout and stderr to files, a pipe for
 * progress lines, bound to the job's cores and memory nodes, optionally as
 * another user with that user's groups and a umask; reaped through a pidfd
 * with the child's rusage; signalled through the pidfd or its process
 * group.
 *
 * The child runs system calls only between clone and exec, on a stack of
 * its own, with the parent thread suspended: no fork (which would copy
 * the page tables of a daemon holding millions of jobs), no helper
 * process, no extra exec. Where clone3 is refused (old kernels, seccomp
 * filters that answer ENOSYS), glibc's clone() does the same and the
 * child enters its cgroup by writing its cgroup.procs.
 */
#ifndef JR_EXECUTOR_H
#define JR_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/exitstatus.h"
#include "exec/progress.h"
#include "jobring.h"

/* The fd number, in the child, of the progress pipe ("progress 42\n"). */
#define JR_PROGRESS_FD 3

/* Binding masks: bit n of word n / 64 is CPU (or NUMA node) n, by the
 * operating system's numbering (hwloc's os_index). */
#define JR_EXEC_CPU_WORDS 64u	/* 4,096 CPUs */
#define JR_EXEC_NODE_WORDS 4u	/* 256 NUMA nodes */

struct jr_exec_spec {
	char *const *argv;		/* argv[0] is run as given or found in envp's PATH */
	char *const *envp;		/* the whole environment */
	const char *cwd;		/* NULL: inherit */
	const char *stdout_path;	/* created afresh, appended to, 0644 */
	const char *stderr_path;
	int output_dir_fd;		/* > 0: the two above are names in it (outdir.h);
					 * 0 or -1: paths */
	const uint64_t *cpu_mask;	/* JR_EXEC_CPU_WORDS words; NULL: no binding */
	const uint64_t *node_mask;	/* JR_EXEC_NODE_WORDS words; NULL: no memory binding */
	bool use_umask;
	unsigned umask;
	/* Run as uid:gid with that user's supplementary groups. The output
	 * files are created first and given to the user. */
	bool set_ids;
	uid_t uid;
	gid_t gid;
	int cgroup_fd;			/* the job's cgroup directory; 0 or -1: none */
	/* Out, if not NULL: when jr_exec_spawn() fails, the step that failed
	 * (enum jr_spawn_step of jobring.h). */
	int *failed_step;
};

struct jr_child {
	pid_t pid;		/* also its session and process group id */
	int pidfd;		/* readable when the child has exited */
	int progress_fd;	/* read end of the progress pipe, non-blocking */
	struct jr_progress_parse progress;	/* what was read of it so far */
};

#define JR_CHILD_NONE ((struct jr_child){ .pid = 0, .pidfd = -1, .progress_fd = -1, \
					  .progress = JR_PROGRESS_PARSE_NEW })
/* A process known by its pid (and pidfd), without a progress pipe. */
#define JR_CHILD_OF(p, fd) ((struct jr_child){ .pid = (p), .pidfd = (fd), .progress_fd = -1, \
					       .progress = JR_PROGRESS_PARSE_NEW })

/* Start a child. 0 and *out, or -errno (-ENOENT: no such program; the
 * errno of whatever step failed before exec). The caller owns out->pidfd
 * and out->progress_fd until jr_exec_close(). Thread-safe. */
int jr_exec_spawn(const struct jr_exec_spec *spec, struct jr_child *out);

/* A process that spawns jobs holds a few descriptors per running job (its
 * pidfd, progress pipe and cgroup): raise this process's RLIMIT_NOFILE to
 * its hard limit (root: up to 1,048,576, if fs.nr_open allows). Jobs
 * started afterwards get the soft limit there was before, as programs that
 * close every possible descriptor expect. Returns the new soft limit. */
unsigned long jr_exec_raise_fd_limit(void);
/* Before it: the soft limit jobs get, where this process's was raised
 * already (the keeper, started by a daemon that raised its own). */
void jr_exec_set_job_fd_limit(unsigned long soft);

/* Reap the child if it has exited: 1 and *res, 0 if still running, or
 * -errno. */
int jr_exec_try_reap(struct jr_child *c, struct jr_exit_status *res);

/* Block until the child exits, then reap it: 0 and *res, or -errno. */
int jr_exec_wait(struct jr_child *c, struct jr_exit_status *res);

/* As jr_exec_try_reap() (block: as jr_exec_wait(), 1 for 0), but what is
 * left of the child's process group is SIGKILLed first: before the reap,
 * while its pid, and so the group's id, cannot be another process's. */
int jr_exec_reap_group(struct jr_child *c, struct jr_exit_status *res, bool block);

/* Send sig to the child's whole process group (before it is reaped). */
int jr_exec_signal_group(const struct jr_child *c, int sig);

/* Close the child's descriptors (after reaping). */
void jr_exec_close(struct jr_child *c);

/* Read what the progress pipe holds (JR_PROGRESS_READ_MAX bytes at most)
 * into c->progress; returns the last percentage seen so far, this read's
 * or an earlier one's (0-100), or -1 if none. Malformed lines are
 * ignored (progress.h). */
int jr_exec_read_progress(struct jr_child *c);

/* --- telling a process apart from a later one with the same pid -------------------- */

/* Its start time in clock ticks after boot (/proc/<pid>/stat, field 22):
 * 0 and *ticks, or -errno (-ESRCH: no such process). */
int jr_exec_start_ticks(pid_t pid, uint64_t *ticks);

/* This boot's id (/proc/sys/kernel/random/boot_id), 16 bytes; zeros if
 * unreadable. Read once. */
const uint8_t *jr_exec_boot_id(void);

/* Is pid, started at start_ticks in the boot boot_id, still alive (and
 * not a zombie)? */
bool jr_exec_process_alive(pid_t pid, uint64_t start_ticks, const uint8_t boot_id[16]);

#endif
