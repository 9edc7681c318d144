/*
 * executor.c - posix_spawn, pidfd reaping, process-group signals. See
 * executor.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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

/* Signals a parent commonly ignores: reset to their default in a child. */
static const int reset_signals[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				     SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
				     SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU };

/* Own process group, nothing blocked, default dispositions. exec resets
 * caught signals by itself; only ignored ones survive it, so only the
 * signals a parent commonly ignores are reset (each costs the child a
 * system call before exec). */
static int spawn_attrs(posix_spawnattr_t *attr)
{
	sigset_t all, none;
	int rc = posix_spawnattr_init(attr);

	if (rc)
		return rc;
	sigemptyset(&all);
	for (size_t i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		sigaddset(&all, reset_signals[i]);
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

/* --- as another user: fork, then only system calls until exec -------------- */

struct as_user {
	int fds[4];		/* stdin, stdout, stderr, progress */
	gid_t groups[64];
	int ngroups;
	int report;		/* close-on-exec pipe: errno if exec fails */
};

static void move_fd(int from, int to)
{
	if (from == to)
		fcntl(to, F_SETFD, 0);	/* keep it across exec */
	else
		dup2(from, to);
}

static _Noreturn void child_as_user(const struct jr_exec_spec *s, struct as_user *u)
{
	sigset_t none;
	int err;

	setpgid(0, 0);
	for (size_t i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		signal(reset_signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int fd = 0; fd < 4; fd++)
		move_fd(u->fds[fd], fd);
	/* Raw system calls: glibc's set*id would try to tell other threads. */
	if (syscall(SYS_setgroups, u->ngroups, u->groups) < 0 ||
	    syscall(SYS_setresgid, s->gid, s->gid, s->gid) < 0 ||
	    syscall(SYS_setresuid, s->uid, s->uid, s->uid) < 0 ||
	    (s->cwd && chdir(s->cwd) < 0))
		goto fail;
	if (strchr(s->argv[0], '/'))
		execve(s->argv[0], s->argv, s->envp);
	else
		execvpe(s->argv[0], s->argv, s->envp);
fail:
	err = errno;
	if (write(u->report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

static void user_groups(const struct jr_exec_spec *s, struct as_user *u)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	u->ngroups = 64;
	if (getpwuid_r(s->uid, &pw, buf, sizeof(buf), &found) != 0 || !found ||
	    getgrouplist(found->pw_name, s->gid, u->groups, &u->ngroups) < 0) {
		u->groups[0] = s->gid;
		u->ngroups = 1;
	}
}

static int open_output(const char *path, const struct jr_exec_spec *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0 && fchown(fd, s->uid, s->gid) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for the child's exec: 0, or the errno it could not exec with. */
static int exec_outcome(int report_read)
{
	int err = 0;
	ssize_t n;

	do
		n = read(report_read, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	return n == sizeof(err) ? err : 0;
}

static int spawn_as_user(const struct jr_exec_spec *s, int progress_write, pid_t *pid)
{
	struct as_user u = { .fds = { -1, -1, -1, progress_write } };
	struct saved_binding b;
	int report[2], rc = 0;

	user_groups(s, &u);
	if (pipe2(report, O_CLOEXEC) < 0)
		return errno;
	u.report = report[1];
	u.fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	u.fds[1] = open_output(s->stdout_path, s);
	u.fds[2] = open_output(s->stderr_path, s);
	if (u.fds[0] < 0 || u.fds[1] < 0 || u.fds[2] < 0) {
		rc = errno;
		goto out;
	}
	bind_thread(s, &b);
	*pid = fork();
	if (*pid == 0)
		child_as_user(s, &u);
	rc = *pid < 0 ? errno : 0;
	unbind_thread(s, &b);
	if (rc == 0) {
		setpgid(*pid, *pid);	/* whichever of the two runs first */
		close(report[1]);
		report[1] = -1;
		rc = exec_outcome(report[0]);
		if (rc)
			waitpid(*pid, NULL, 0);
	}
out:
	for (int fd = 0; fd < 3; fd++)
		if (u.fds[fd] >= 0)
			close(u.fds[fd]);
	close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
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
	if (s->set_ids) {
		rc = spawn_as_user(s, pipefd[1], &pid);
		if (rc)
			goto out_pipe;
	} else {
		rc = file_actions(&fa, s, pipefd[1]);
		if (rc)
			goto out_pipe;
		spawn_attrs(&attr);
		rc = spawn_bound(s, &fa, &attr, &pid);
		posix_spawnattr_destroy(&attr);
		posix_spawn_file_actions_destroy(&fa);
		if (rc)
			goto out_pipe;
	}
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
	if (c->pid <= 0)	/* kill(-0) would signal our own group */
		return -ESRCH;
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
