/*
 * daemon.c - a jobringd under test: started on a scratch directory of its
 * own and waited for until GET /health answers, stopped with a signal,
 * its keeper found, and, at the end, scrubbed away with everything it
 * started and left (processes, state, cgroups).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define OPTS_MAX 32
#define LEFTOVER_WAIT_S 10

int jrt_daemon_path(char *out, size_t size, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	int dir_len = slash ? (int)(slash - argv0) : 1;

	if ((size_t)snprintf(out, size, "%.*s/../jobringd", dir_len, slash ? argv0 : ".") >= size)
		return -ENAMETOOLONG;
	return 0;
}

#define FITS(buf, ...) ((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

int jrt_daemon_init(struct jrt_daemon *d, const char *path, const char *parent,
		    const char *name)
{
	struct sockaddr_un a;
	int rc;

	memset(d, 0, sizeof(*d));
	signal(SIGPIPE, SIG_IGN);
	if (!FITS(d->path, "%s", path))
		return -ENAMETOOLONG;
	if ((rc = jrt_dir_make(d->dir, sizeof(d->dir), parent, name)) < 0)
		return rc;
	if (!FITS(d->sock, "%s/s.sock", d->dir) || strlen(d->sock) >= sizeof(a.sun_path) ||
	    !FITS(d->state, "%s/state", d->dir) || !FITS(d->log, "%s/daemon.log", d->dir)) {
		rmdir(d->dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* In the child: stderr to the log, stdout to /dev/null, then jobringd. */
static _Noreturn void exec_daemon(const struct jrt_daemon *d, const char **argv)
{
	int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	dup2(log, 2);
	dup2(null, 1);
	execv(d->path, (char *const *)argv);
	_exit(127);
}

int jrt_daemon_spawn(struct jrt_daemon *d, const char *const *opts)
{
	const char *argv[OPTS_MAX + 6] = { "jobringd", "--socket", d->sock, "--state-dir",
					   d->state };
	int n = 5;

	while (opts && *opts && n < OPTS_MAX + 5)
		argv[n++] = *opts++;
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid == 0)
		exec_daemon(d, argv);
	if (d->pid < 0) {
		d->pid = 0;
		return -errno;
	}
	return 0;
}

int jrt_daemon_ready(struct jrt_daemon *d, double t0, double timeout_s, double *took)
{
	for (;;) {
		char *resp;
		int rc = jrt_daemon_health(d, &resp);
		if (rc == 200)
			jrt_health_cgroup(resp, d->cgroup, sizeof(d->cgroup));
		free(resp);
		if (rc == 200) {
			if (took)
				*took = jrt_now_s() - t0;
			return 0;
		}
		if (waitpid(d->pid, &d->status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -ECHILD;
		}
		if (jrt_now_s() - t0 > timeout_s)
			return -ETIMEDOUT;
		usleep(500);
	}
}

int jrt_daemon_start(struct jrt_daemon *d, const char *const *opts, double timeout_s)
{
	int rc = jrt_daemon_spawn(d, opts);

	if (rc == 0 && (rc = jrt_daemon_ready(d, jrt_now_s(), timeout_s, NULL)) == -ETIMEDOUT)
		jrt_daemon_stop(d, SIGKILL);
	return rc;
}

int jrt_daemon_stop(struct jrt_daemon *d, int sig)
{
	if (d->pid <= 0)
		return -ECHILD;
	kill(d->pid, sig);
	waitpid(d->pid, &d->status, 0);
	d->pid = 0;
	unlink(d->sock);
	return d->status;
}

int jrt_daemon_connect(const struct jrt_daemon *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", d->sock);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	rc = -errno;
	close(fd);
	return rc;
}

pid_t jrt_daemon_keeper_pid(const struct jrt_daemon *d)
{
	char path[sizeof(d->state) + 16], line[32];

	snprintf(path, sizeof(path), "%s/keeper.pid", d->state);
	jrt_read_line(path, line, sizeof(line));
	return (pid_t)atoi(line);
}

int jrt_daemon_keepers(const struct jrt_daemon *d, int sig)
{
	return jrt_procs_matching("jobring-keeper", "cmdline", d->state, sig);
}

/* Its keepers and the processes tagged tag (NULL: none looked for). */
static int leftovers(const struct jrt_daemon *d, const char *tag, int sig)
{
	int jobs = tag ? jrt_procs_matching(NULL, "environ", tag, sig) : 0;

	return jrt_daemon_keepers(d, sig) + jobs;
}

/* Its cgroup subtree once empty; after LEFTOVER_WAIT_S, killed first. */
static void remove_cgroups(struct jrt_daemon *d)
{
	if (jrt_cgroup_remove(d->cgroup, LEFTOVER_WAIT_S) != -EBUSY)
		return;
	fprintf(stderr, "jrt: processes outlived %s by %d s in %s: killed\n", d->state,
		LEFTOVER_WAIT_S, d->cgroup);
	jrt_cgroup_kill(d->cgroup);
	jrt_cgroup_remove(d->cgroup, 2);
}

int jrt_daemon_scrub(struct jrt_daemon *d, const char *tag)
{
	int left = 0;

	jrt_daemon_stop(d, SIGKILL);
	if (jrt_dir_remove(d->state) < 0)
		fprintf(stderr, "jrt: could not remove %s\n", d->state);
	for (int i = 0; i < LEFTOVER_WAIT_S * 10; i++) {
		jrt_reap();
		if ((left = leftovers(d, tag, 0)) == 0)
			break;
		usleep(100000);
	}
	if (left) {
		leftovers(d, tag, SIGKILL);
		usleep(100000);
		jrt_reap();
		fprintf(stderr, "jrt: %d processes (keeper, jobs) outlived %s by %d s: killed\n",
			left, d->state, LEFTOVER_WAIT_S);
	}
	remove_cgroups(d);
	return left;
}

int jrt_daemon_remove(struct jrt_daemon *d)
{
	int rc;

	jrt_daemon_stop(d, SIGKILL);
	rc = jrt_dir_remove(d->dir);
	remove_cgroups(d);
	return rc;
}
