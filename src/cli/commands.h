/*
 * commands.h - the jobring CLI's commands, which main.c dispatches to:
 * submit (submit.c); show, ls, cancel, workers, executions, stats,
 * shutdown (show.c); wait and logs (follow.c); hold, release, requeue,
 * update, scheduler, queues (control.c).
 */
#ifndef JR_CLI_COMMANDS_H
#define JR_CLI_COMMANDS_H

#include "cli/cli.h"

/* The commands; argv[0] is the command's name. Each returns an exit code. */
int cli_submit(struct cli *c, int argc, char **argv);
int cli_show(struct cli *c, int argc, char **argv);
int cli_ls(struct cli *c, int argc, char **argv);
int cli_cancel(struct cli *c, int argc, char **argv);
int cli_wait(struct cli *c, int argc, char **argv);
int cli_logs(struct cli *c, int argc, char **argv);
int cli_workers(struct cli *c, int argc, char **argv);
int cli_executions(struct cli *c, int argc, char **argv);
int cli_stats(struct cli *c, int argc, char **argv);
int cli_queues(struct cli *c, int argc, char **argv);
int cli_shutdown(struct cli *c, int argc, char **argv);
/* control.c: scontrol's words. */
int cli_hold(struct cli *c, int argc, char **argv);
int cli_release(struct cli *c, int argc, char **argv);
int cli_requeue(struct cli *c, int argc, char **argv);
int cli_update(struct cli *c, int argc, char **argv);
int cli_scheduler(struct cli *c, int argc, char **argv);
/* resources.c: GET /resources as tables. */
int cli_resources(struct cli *c, int argc, char **argv);
/* trigger.c: named, file and job-event triggers (issue 15). */
int cli_trigger(struct cli *c, int argc, char **argv);
/* schedule.c: schedules (issue 15). */
int cli_schedule(struct cli *c, int argc, char **argv);
/* events.c: GET /events printed (issue 16); top.c: a live view. */
int cli_events(struct cli *c, int argc, char **argv);
int cli_top(struct cli *c, int argc, char **argv);
/* alloc.c: allocation queues, Slurm (issue 17). */
int cli_alloc(struct cli *c, int argc, char **argv);
/* inalloc.c: a server and workers inside a Slurm allocation (issue 17). */
int cli_run_in_allocation(struct cli *c, int argc, char **argv);

#endif
