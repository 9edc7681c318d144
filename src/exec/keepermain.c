/*
 * keepermain.c - `jobringd --keeper`: its options, and the keeper
 * detached (a new session, the parent returning once the keeper listens)
 * before jr_keeper_run() (keeper.c). See keeper.h.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exec/executor.h"
#include "exec/keeper.h"

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
