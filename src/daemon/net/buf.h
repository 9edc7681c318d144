/*
 * buf.h - a growable byte buffer (git's strbuf, smaller): what the daemon
 * reads from and writes to a connection, and the JSON it builds.
 * Allocation failure is remembered (oom) rather than returned at each
 * append; the caller checks once.
 */
#ifndef JR_BUF_H
#define JR_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Empty and holding more than keep_bytes: freed (what a connection that
 * made one big answer keeps otherwise). */
void buf_trim(struct buf *b, size_t keep_bytes);
void buf_free(struct buf *b);
/* Append s as a JSON string, quotes included. */
void buf_json_string(struct buf *b, const char *s);

#endif
