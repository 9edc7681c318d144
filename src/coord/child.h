/*
 * child.h - command jobs run in this process, by runner threads or the
 * coordinator itself (no keeper): the child spawned straight into a
 * cgroup of its own, signalled through it, and, once reaped, what is
 * left in the cgroup killed and the cgroup given back (child.c).
 */
#ifndef JR_COORD_CHILD_H
#define JR_COORD_CHILD_H

#include <stdbool.h>

#include "coord/state.h"

/* Its cgroup, then its process: 0 or -errno (nothing left held). Runs on
 * a runner thread (or the coordinator, inline). */
int jr_cmd_child_spawn(struct jr_coordinator *co, struct cmd_job *job);

/* Signal its processes: SIGKILL kills its whole cgroup; other signals go
 * to every process in it (without cgroups: to its process group). None
 * once its main process is reaped. */
void jr_cmd_child_signal(struct cmd_job *job, int sig);

/* Its main process reaped: what is left in its cgroup (or process group)
 * is killed, and the cgroup goes back to the idle list once empty. Begin
 * under state_lock: true if done, false if processes are still dying:
 * then jr_cmd_child_collect_wait() without the lock. */
bool jr_cmd_child_collect_begin(struct jr_coordinator *co, struct cmd_job *job);
void jr_cmd_child_collect_wait(struct jr_coordinator *co, struct cmd_job *job);

#endif
