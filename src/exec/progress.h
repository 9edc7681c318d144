/*
 * progress.h - a job's progress lines ("progress 42\n", written to the
 * pipe at $JOBRING_PROGRESS_FD) parsed as they arrive: a byte-at-a-time
 * state machine of four bytes, so a line split across reads needs no
 * buffer and a job that floods the pipe or writes garbage costs a bounded
 * read and nothing else. A line is "progress", blanks, digits, then
 * anything; the value is clamped to 0..100 (a '-' sign reads as 0); any
 * other line is ignored.
 */
#ifndef JR_EXEC_PROGRESS_H
#define JR_EXEC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jr_progress_parse {
	uint16_t value;		/* digits of the line so far, saturated */
	uint8_t state;		/* where in the line (progress.c) */
	int8_t last;		/* the last whole value, 0-100; -1: none yet */
};
_Static_assert(sizeof(struct jr_progress_parse) == 4, "jr_progress_parse");

#define JR_PROGRESS_PARSE_NEW ((struct jr_progress_parse){ .last = -1 })

/* Bytes read per call at most (the pipe's default capacity). */
#define JR_PROGRESS_READ_MAX 65536u

/* Feed n bytes: p->last is the value of the last whole line seen. */
void jr_progress_feed(struct jr_progress_parse *p, const char *buf, size_t n);

/* Read what the non-blocking fd holds, at most max_bytes, into p. Returns
 * the bytes read; *eof says the writer has gone (or the read failed:
 * nothing more will come). Thread-safe for distinct p and fd. */
size_t jr_progress_read(int fd, struct jr_progress_parse *p, size_t max_bytes, bool *eof);

/* A pipe is read at most once per this (and a value reported as often). */
#define JR_PROGRESS_REPORT_MS 100

struct jr_child;

/* Wait until child c has exited (its pidfd readable; the caller then
 * reaps it and reads what is left in the pipe), reading its progress pipe
 * meanwhile: one read when it is readable, then none for
 * JR_PROGRESS_REPORT_MS; report(ctx, pct) is called on this thread after
 * a read that changed the value. 0, or -errno of poll. Thread-safe for
 * distinct children. */
int jr_progress_wait_exit(struct jr_child *c, void (*report)(void *ctx, int pct), void *ctx);

#endif
