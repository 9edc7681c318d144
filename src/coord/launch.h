/*
 * launch.h - what starting one attempt of a command job takes: the exec
 * spec and everything it points to (the environment jobring sets, output
 * paths, the cgroup's name, the cores and NUMA nodes to bind to). Filled
 * for a runner thread (child.c) or for the keeper (keeperlink.c).
 */
#ifndef JR_COORD_LAUNCH_H
#define JR_COORD_LAUNCH_H

#include "coord/state.h"
#include "exec/userenv.h"

struct env_builder {
	char **v;
	size_t n, cap;
	char own[9][512];	/* the variables jobring sets */
	/* A job for another uid: its password entry's variables instead of
	 * the engine's environment. */
	char *user[JR_USER_ENV_MAX];
	char user_buf[2048];
};

struct cmd_launch {
	struct jr_exec_spec spec;
	struct env_builder env;
	char out[256], err[256];
	char cgroup_name[17];		/* the job id in hex */
	uint64_t mem_max;		/* for memory.max; 0: none */
	uint64_t cpus[JR_EXEC_CPU_WORDS];
	uint64_t nodes[JR_EXEC_NODE_WORDS];
};

/* Reads only what the coordinator set before handing the job over, and
 * what never changes: any thread. 0 or -ENOMEM; jr_cmd_launch_free()
 * either way. */
int jr_cmd_launch_prepare(struct jr_coordinator *co, struct cmd_job *job, struct cmd_launch *l);
void jr_cmd_launch_free(struct cmd_launch *l);

#endif
