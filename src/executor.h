/*
 * executor.h - child processes for command jobs: posix_spawn (never fork:
 * a fork from a large process copies its page tables), a process group of
 * their own, stdin from /dev/null, stdout and stderr to files, a pipe for
 * progress lines, binding to the job's cores and memory nodes, reaping
 * through a pidfd with the child's rusage, and signals to the whole group.
 *
 * Binding costs two system calls per spawn and no extra process: the
 * spawning thread binds itself to the job's cpuset and memory nodes, the
 * child inherits both (affinity and memory policy survive exec), and the
 * thread binds back.
 */
#ifndef JR_EXECUTOR_H
#define JR_EXECUTOR_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <hwloc.h>

/* The fd number, in the child, of the progress pipe ("progress 42\n"). */
#define JR_PROGRESS_FD 3

struct jr_exec_spec {
	char *const *argv;		/* argv[0] is run as given or found in PATH */
	char *const *envp;		/* the whole environment */
	const char *cwd;		/* NULL: inherit */
	const char *stdout_path;	/* created or truncated, 0644 */
	const char *stderr_path;
	hwloc_topology_t topo;		/* NULL: no binding */
	hwloc_const_cpuset_t cpuset;	/* the job's cores; NULL: no binding */
	hwloc_const_nodeset_t nodeset;	/* its memory nodes; NULL: no binding */
	/* Run as uid:gid with that user's supplementary groups. The output
	 * files are created before the switch and given to the user. Takes
	 * fork() instead of posix_spawn (which cannot change ids). */
	int set_ids;
	uid_t uid;
	gid_t gid;
};

struct jr_child {
	pid_t pid;		/* also the process group id */
	int pidfd;		/* readable when the child has exited */
	int progress_fd;	/* read end of the progress pipe, non-blocking */
};

struct jr_exec_result {
	int exit_code;		/* -1 if killed by a signal */
	int signal;		/* 0 if it exited */
	uint64_t max_rss_kib;
	uint64_t user_us;
	uint64_t system_us;
};

/* Start a child. 0 and *out, or -errno (-ENOENT: no such program). The
 * caller owns out->pidfd and out->progress_fd until jr_exec_close(). */
int jr_exec_spawn(const struct jr_exec_spec *spec, struct jr_child *out);

/* Reap the child if it has exited: 1 and *res, 0 if still running, or
 * -errno. */
int jr_exec_try_reap(struct jr_child *c, struct jr_exec_result *res);

/* Block until the child exits, then reap it: 0 and *res, or -errno. */
int jr_exec_wait(struct jr_child *c, struct jr_exec_result *res);

/* Send sig to the child's whole process group (before it is reaped). */
int jr_exec_signal_group(const struct jr_child *c, int sig);

/* Close the child's descriptors (after reaping). */
void jr_exec_close(struct jr_child *c);

/* Read what the progress pipe holds; returns the last percentage seen
 * (0-100), or -1 if none. Malformed lines are ignored. */
int jr_exec_read_progress(struct jr_child *c);

#endif
