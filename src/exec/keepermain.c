/*
 * keepermain.c - the keeper as a process: `jobringd --keeper`'s options,
 * the keeper detached (a new session, the parent returning once the
 * keeper listens) before jr_keeper_run() (keeper.c), its lock and pid
 * file in the state directory, and its log lines. See keeper.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exec/executor.h"
#include "exec/keeper.h"

void jr_keeper_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jobring-keeper[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* One keeper per state directory. The last one may still be on its way
 * out (it unlinks its socket before it lets go of the lock). */
int jr_keeper_lock(int dir_fd)
{
	int fd = openat(dir_fd, "keeper.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		jr_sleep_ns(50 * JR_NS_PER_MS);
	}
	close(fd);
	return -EBUSY;
}

void jr_keeper_write_pid(int dir_fd)
{
	char text[32];
	int fd = openat(dir_fd, "keeper.pid",
			 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return;
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (write(fd, text, strlen(text)) < 0)
		jr_keeper_log("cannot write keeper.pid: %s", strerror(errno));
	close(fd);
}

/* --- jobringd --keeper ---------------------------------------------------------------------- */

static int parse(int argc, char **argv, struct jr_keeper_opts *o)
{
	static const struct option opts[] = {
		{ "keeper", 0, NULL, 'k' }, { "state-dir", 1, NULL, 's' },
		{ "cgroup", 1, NULL, 'c' }, { "cgroup-name", 1, NULL, 'n' },
		{ "no-cgroups", 0, NULL, 'N' }, { "spawn-threads", 1, NULL, 't' },
		{ "job-fd-limit", 1, NULL, 'f' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->ready_fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': break;
		case 's': o->state_dir = optarg; break;
		case 'c': o->cgroup = optarg; break;
		case 'n': o->cgroup_name = optarg; break;
		case 'N': o->no_cgroups = true; break;
		case 't': o->spawn_threads = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': jr_exec_set_job_fd_limit(strtoul(optarg, NULL, 10)); break;
		default: return -1;
		}
	}
	return o->state_dir ? 0 : -1;
}

int jr_keeper_main(int argc, char **argv)
{
	struct jr_keeper_opts o;
	int ready[2], devnull;
	char byte;
	pid_t pid;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: jobringd --keeper --state-dir DIR [--cgroup PATH | "
				"--no-cgroups] [--cgroup-name NAME] [--spawn-threads N] "
				"[--job-fd-limit N]\n");
		return 2;
	}
	if (pipe2(ready, O_CLOEXEC) < 0)
		return 1;
	pid = fork();	/* the parent returns once the keeper listens */
	if (pid < 0)
		return 1;
	if (pid > 0) {
		close(ready[1]);
		return read(ready[0], &byte, 1) == 1 ? 0 : 1;
	}
	close(ready[0]);
	setsid();	/* no terminal's signals, no daemon's process group */
	prctl(PR_SET_NAME, "jobring-keeper");
	jr_exec_raise_fd_limit();	/* descriptors per running job */
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		close(devnull);
	}
	o.ready_fd = ready[1];
	_exit(jr_keeper_run(&o));
}
