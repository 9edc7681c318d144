/*
 * stream.h - a streamed answer (GET /events) on a jr_client's connection,
 * over the Unix socket or TLS alike: the request's bytes sent as they
 * are, the answer's read back raw (status line, headers and the stream),
 * for the CLI's `jobring events`, which cannot wait for a whole answer.
 * Internal to libjobring (not in jobring.h). The connection is the
 * stream's from the first send: close the client after it.
 */
#ifndef JR_CLIENT_STREAM_H
#define JR_CLIENT_STREAM_H

#include <stddef.h>
#include <sys/types.h>

struct jr_client;

/* Connect if need be and send n bytes: 0 or -errno. */
int client_stream_send(struct jr_client *c, const char *p, size_t n);

/* Up to size bytes of the answer: n > 0, 0 when the daemon closed it,
 * -ETIMEDOUT when nothing came (and nothing was buffered) within
 * timeout_ms (-1: wait for ever), or -errno. */
ssize_t client_stream_recv(struct jr_client *c, char *buf, size_t size, int timeout_ms);

#endif
