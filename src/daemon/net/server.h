/*
 * server.h - the control socket: a Unix stream socket served by one
 * io_uring event loop on the calling thread. Multishot accept, multishot
 * receive into a ring of provided buffers, one send in flight per
 * connection; HTTP/1.1 with keep-alive and pipelining (http.c), requests
 * handed one at a time, in order, to a handler. Bounds: connections,
 * request size (413), bytes buffered per connection and for all of them
 * together, connections per uid (budget.h); a request that is
 * not complete within request_timeout gets 408, an idle keep-alive
 * connection is closed after idle_timeout. Nothing a client sends can
 * block another: the loop never waits on one connection.
 */
#ifndef JR_SERVER_H
#define JR_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/net/budget.h"
#include "daemon/net/buf.h"

struct server;

struct request {
	const char *method;	/* "GET", "POST", ... */
	char *path;		/* without the query, percent-decoding not applied */
	char *query;		/* after '?', or "" */
	const char *body;
	size_t body_len;
	uid_t uid;		/* the peer, from SO_PEERCRED */
	gid_t gid;
	pid_t pid;
	uint64_t token;		/* names the connection for server_finish() */
	const char *last_event_id;	/* its Last-Event-ID header, or "" (issue 16) */
};

struct response {
	int status;
	struct buf body;		/* JSON unless content_type says otherwise */
	const char *content_type;	/* NULL: application/json */
	char allow[32];			/* 405: the Allow header ("GET, POST"); "": none */
	bool deferred;			/* answered later with server_finish() */
};

struct server_ops {
	void (*handle)(void *ctx, const struct request *req, struct response *res);
	/* Called after every turn of the loop, and at least every tick_ms. */
	void (*tick)(void *ctx, uint64_t now_ns);
	/* SIGUSR1 arrived (SIGTERM and SIGINT stop the loop). May be NULL. */
	void (*signal)(void *ctx, int signo);
	void *ctx;
};

struct server_opts {
	const char *path;
	unsigned mode;		/* socket file mode, e.g. 0600 */
	gid_t group;		/* (gid_t)-1: leave it */
	uint32_t max_connections;
	size_t max_request_bytes;
	uint32_t request_timeout_ms;
	uint32_t idle_timeout_ms;
	uint32_t tick_ms;
	/* A listening socket handed over (systemd's socket activation): used
	 * as it is, path only named in messages, the file left to its owner.
	 * -1: bind path. */
	int listen_fd;
	/* The submission queue's entries (a power of two; 0: 4096). */
	uint32_t sq_entries;
	/* What all connections may buffer together (0: 256 MiB), connections
	 * one uid may hold (0: 256), and the uid that with root is never
	 * refused for either cap (budget.h). */
	size_t max_buffered_bytes;
	uint32_t max_connections_per_uid;
	uid_t owner;
	/* Issue 16: the optional TCP listeners, "ADDR:PORT" (NULL or "":
	 * off; port 0: any, told on stderr), and the token --http requires
	 * (gate.h). Their requests are handled as the owner's. */
	const char *http_listen;
	const char *metrics_listen;
	const char *http_token;
	/* Issue 17: the API over TLS 1.3 at "ADDR:PORT" (NULL or "": off),
	 * its clients proving the key of the access file written at
	 * access_file (access.h, tls.h), handled as the owner's; a handshake
	 * not done within tls_handshake_timeout_ms (0: 10 s) is closed. */
	const char *tls_listen;
	const char *access_file;
	uint32_t tls_handshake_timeout_ms;
	/* --munge: --listen also shows the certificate kept in
	 * listen_cert_file (cert.h), writes munge_access_file (access.h),
	 * and lets a connection without the key in once it shows a MUNGE
	 * credential bound to it (mungeauth.h), decoded by the munged at
	 * munge_socket (NULL: libmunge's default): its requests are then that
	 * uid's, as the Unix socket's are its peer's. */
	bool munge;
	const char *munge_socket;
	const char *munge_access_file;
	const char *listen_cert_file;
};

/* Bind and listen at opts->path (replacing a stale socket file, refusing
 * one a live daemon answers on: -EADDRINUSE), set up the ring. 0 or
 * -errno. */
int server_open(struct server **out, const struct server_opts *opts,
		const struct server_ops *ops);

/* Serve until server_stop() (from a handler or tick) or SIGTERM or
 * SIGINT arrives; SIGUSR1 goes to ops->signal. All three are blocked by
 * the caller. */
int server_run(struct server *s);
void server_stop(struct server *s);

/* Wake the loop (and so call tick) whenever fd becomes readable; the
 * tick reads it. */
void server_watch_fd(struct server *s, int fd);

/* Answer a deferred request. Returns false if its connection is gone
 * (the caller must then undo what the answer promised, if anything). */
bool server_finish(struct server *s, uint64_t token, int status, struct buf *body);
bool server_connection_alive(struct server *s, uint64_t token);

/* A streamed answer (issue 16: GET /events): a deferred request
 * answered with a head without a length (Connection: close), its body
 * written in pieces for as long as both ends keep the connection; the
 * peer closing ends it. No other request is read on it. start and write
 * return false once the connection is gone; backlog is what it has not
 * taken yet (bytes), SIZE_MAX if gone. */
bool server_stream_start(struct server *s, uint64_t token, const char *content_type);
bool server_stream_write(struct server *s, uint64_t token, const char *data, size_t len);
size_t server_stream_backlog(struct server *s, uint64_t token);
void server_stream_end(struct server *s, uint64_t token);

/* The tick has more to do than it did this turn (it stopped itself to
 * keep turns short): the next turn takes what completed without waiting
 * for a completion, and calls the tick again. Once per turn that needs it. */
void server_again(struct server *s);

/* The loop's turns by how long each took (from its completions to the
 * end of its tick: how long a request arriving meanwhile could wait),
 * at most SERVER_TURN_BOUNDS_NS[i]; the last bucket: longer. */
#define SERVER_TURN_BUCKETS 10
extern const uint64_t SERVER_TURN_BOUNDS_NS[SERVER_TURN_BUCKETS - 1];

struct server_turns {
	uint64_t count, sum_ns, max_ns;
	uint64_t buckets[SERVER_TURN_BUCKETS];
};

struct server_stats {
	uint64_t accepted, rejected, open, requests, bad_requests, timeouts;
	struct server_turns turns;
	uint64_t bytes_in, bytes_out;
	uint64_t tls_handshakes, tls_failed;	/* --listen: completed, failed or timed out */
	uint64_t munge_accepted, munge_refused;	/* --munge: credentials shown */
	struct budget_stats budget;
};
void server_get_stats(const struct server *s, struct server_stats *out);

/* After the loop ended: send the answers already made (no request is
 * read any more), for at most timeout_ms. */
void server_drain(struct server *s, uint32_t timeout_ms);

/* Close everything and remove the socket file. */
void server_close(struct server *s);

#endif
