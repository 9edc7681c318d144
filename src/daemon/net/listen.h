/*
 * listen.h - the control socket's listening end: bound at a path (a stale
 * socket file left by a dead daemon replaced, a live daemon's refused), or
 * the one systemd handed over. Split from server.c, which only serves.
 */
#ifndef JR_LISTEN_H
#define JR_LISTEN_H

#include "daemon/net/server.h"

/* Listen as o says (o->listen_fd >= 0: that one, made non-blocking and
 * close-on-exec; else bind o->path with o->mode and o->group). *out gets
 * the descriptor, the caller's to close. 0, -EADDRINUSE if a live daemon
 * answers at o->path, or -errno. Not thread-safe (umask). */
int listen_open(const struct server_opts *o, int *out);

/* A TCP listener at "ADDR:PORT" (ADDR a numeric IPv4 address, [IPv6] or
 * a name; PORT 0: any): *out its descriptor, non-blocking and
 * close-on-exec, addr (size bytes) the address as given (brackets kept),
 * *port the port bound. 0 or -errno (-EINVAL: not ADDR:PORT). */
int listen_tcp(const char *addr_port, int *out, char *addr, size_t size, uint16_t *port);

/* The optional TCP listeners of s->o (--http, --metrics-listen, and
 * --listen with its access file and TLS context): bound, told on
 * stderr. 0 or -errno, after saying why. */
struct server;
int listen_open_tcp_all(struct server *s);

#endif
