/*
 * executor.c - posix_spawn, pidfd reaping, process-group signals. See
 * executor.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"

struct saved_binding {
	hwloc_bitmap_t cpuset;
	hwloc_bitmap_t nodeset;
	hwloc_membind_policy_t policy;
	bool cpu, mem;
};

/* Bind the calling thread as the job must be; remember how it was. A
 * memory binding to every node of the host is the default policy, so it is
 * skipped (hwloc would only reset the policy). */
static void bind_thread(const struct jr_exec_spec *s, struct saved_binding *b)
{
	memset(b, 0, sizeof(*b));
	if (!s->topo)
		return;
	if (s->cpuset) {
		b->cpuset = hwloc_bitmap_alloc();
		b->cpu = hwloc_get_cpubind(s->topo, b->cpuset, HWLOC_CPUBIND_THREAD) == 0 &&
			 hwloc_set_cpubind(s->topo, s->cpuset, HWLOC_CPUBIND_THREAD) == 0;
	}
	if (s->nodeset && !hwloc_bitmap_isequal(s->nodeset,
						hwloc_topology_get_topology_nodeset(s->topo))) {
		b->nodeset = hwloc_bitmap_alloc();
		b->mem = hwloc_get_membind(s->topo, b->nodeset, &b->policy,
					   HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET) == 0 &&
			 hwloc_set_membind(s->topo, s->nodeset, HWLOC_MEMBIND_BIND,
					   HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET) == 0;
	}
}

static void unbind_thread(const struct jr_exec_spec *s, struct saved_binding *b)
{
	if (b->cpu)
		hwloc_set_cpubind(s->topo, b->cpuset, HWLOC_CPUBIND_THREAD);
	if (b->mem)
		hwloc_set_membind(s->topo, b->nodeset, b->policy,
				  HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET);
	hwloc_bitmap_free(b->cpuset);
	hwloc_bitmap_free(b->nodeset);
}

static int file_actions(posix_spawn_file_actions_t *fa, const struct jr_exec_spec *s,
			int progress_write)
{
	int rc = posix_spawn_file_actions_init(fa);

	if (rc)
		return rc;
	if ((rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (rc = posix_spawn_file_actions_addopen(fa, 1, s->stdout_path,
						   O_WRONLY | O_CREAT | O_TRUNC, 0644)) ||
	    (rc = posix_spawn_file_actions_addopen(fa, 2, s->stderr_path,
						   O_WRONLY | O_CREAT | O_TRUNC, 0644)) ||
	    (rc = posix_spawn_file_actions_adddup2(fa, progress_write, JR_PROGRESS_FD)) ||
	    (s->cwd && (rc = posix_spawn_file_actions_addchdir_np(fa, s->cwd))))
		posix_spawn_file_actions_destroy(fa);
	return rc;
}

/* Own process group, nothing blocked, default dispositions. exec resets
 * caught signals by itself; only ignored ones survive it, so only the
 * signals a parent commonly ignores are reset (each costs the child a
 * system call before exec). */
static int spawn_attrs(posix_spawnattr_t *attr)
{
	static const int reset[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				     SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
				     SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU };
	sigset_t all, none;
	int rc = posix_spawnattr_init(attr);

	if (rc)
		return rc;
	sigemptyset(&all);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaddset(&all, reset[i]);
	sigemptyset(&none);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &all);
	return 0;
}

static int spawn_bound(const struct jr_exec_spec *s, posix_spawn_file_actions_t *fa,
		       posix_spawnattr_t *attr, pid_t *pid)
{
	struct saved_binding b;
	int rc;

	bind_thread(s, &b);
	if (strchr(s->argv[0], '/'))
		rc = posix_spawn(pid, s->argv[0], fa, attr, s->argv, s->envp);
	else
		rc = posix_spawnp(pid, s->argv[0], fa, attr, s->argv, s->envp);
	unbind_thread(s, &b);
	return rc;
}

int jr_exec_spawn(const struct jr_exec_spec *s, struct jr_child *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipefd[2], rc;
	pid_t pid;

	if (!s->argv || !s->argv[0])
		return -EINVAL;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rc = file_actions(&fa, s, pipefd[1]);
	if (rc)
		goto out_pipe;
	spawn_attrs(&attr);
	rc = spawn_bound(s, &fa, &attr, &pid);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		goto out_pipe;
	close(pipefd[1]);
	/* The child cannot be reaped by anyone else, so its pid is ours. */
	out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (out->pidfd < 0) {
		rc = errno;
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pipefd[0]);
		return -rc;
	}
	out->pid = pid;
	out->progress_fd = pipefd[0];
	return 0;
out_pipe:
	close(pipefd[0]);
	close(pipefd[1]);
	return -rc;
}

static int reap(struct jr_child *c, struct jr_exec_result *res, int flags)
{
	siginfo_t info;
	struct rusage ru;
	long rc;

	memset(&info, 0, sizeof(info));
	/* The kernel's waitid takes a rusage pointer as a fifth argument. */
	do
		rc = syscall(SYS_waitid, P_PIDFD, c->pidfd, &info, WEXITED | flags, &ru);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	memset(res, 0, sizeof(*res));
	if (info.si_code == CLD_EXITED) {
		res->exit_code = info.si_status;
	} else {
		res->exit_code = -1;
		res->signal = info.si_status;
	}
	res->max_rss_kib = (uint64_t)ru.ru_maxrss;
	res->user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec;
	res->system_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
	return 1;
}

int jr_exec_try_reap(struct jr_child *c, struct jr_exec_result *res)
{
	return reap(c, res, WNOHANG);
}

int jr_exec_wait(struct jr_child *c, struct jr_exec_result *res)
{
	int rc = reap(c, res, 0);

	return rc == 1 ? 0 : rc < 0 ? rc : -ECHILD;
}

int jr_exec_signal_group(const struct jr_child *c, int sig)
{
	return kill(-c->pid, sig) < 0 ? -errno : 0;
}

void jr_exec_close(struct jr_child *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->progress_fd >= 0)
		close(c->progress_fd);
	c->pidfd = c->progress_fd = -1;
}

int jr_exec_read_progress(struct jr_child *c)
{
	char buf[512];
	int last = -1;
	ssize_t n;

	while ((n = read(c->progress_fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			int pct;
			if (sscanf(line, "progress %d", &pct) == 1 && pct >= 0 && pct <= 100)
				last = pct;
		}
	}
	return last;
}
