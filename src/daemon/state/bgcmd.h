/*
 * bgcmd.h - a program run in the background for the event loop (issue
 * 17: sbatch, squeue, scancel): started with posix_spawn (its signals
 * unblocked and at their defaults, stdin /dev/null, stdout and stderr
 * into one non-blocking pipe), then polled from the tick: its output
 * read as it comes (the first BGCMD_OUT_MAX bytes kept), its end reaped
 * with WNOHANG, and killed past its deadline. Never blocks. Event loop's
 * thread only.
 */
#ifndef JR_STATE_BGCMD_H
#define JR_STATE_BGCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BGCMD_OUT_MAX 8192u

struct bgcmd {
	pid_t pid;			/* 0: none */
	int fd;				/* its output; -1 once at its end */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC */
	bool killed;			/* past its deadline */
	size_t len;
	char out[BGCMD_OUT_MAX + 1];	/* NUL-terminated */
};

/* Start argv (argv[0] looked up in PATH), to be killed after timeout_ms.
 * 0, or -errno (nothing started). */
int bgcmd_start(struct bgcmd *c, char *const argv[], uint64_t timeout_ms);

/* Its output read, its end looked for: 0 still running; 1 ended, with
 * *status its exit code (0-255), or -1 killed by a signal or past its
 * deadline (c->killed says which). After 1, c->out holds its output and
 * c->pid is 0. */
int bgcmd_poll(struct bgcmd *c, int *status);

/* Kill it (SIGKILL) and reap it; nothing if none. */
void bgcmd_kill(struct bgcmd *c);

/* In a command's output (c->out): the line after line's end ("" after
 * the last). */
const char *bgcmd_next_line(const char *line);

#endif
