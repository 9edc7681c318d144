/*
 * gate.h - what a request arriving on one of the optional TCP listeners
 * (issue 16) may do, decided before the API sees it. The Unix socket's
 * connections are not gated (SO_PEERCRED names their user) but for what
 * a browser sends through `ssh -L 8080:SOCKET`: with an Origin header,
 * the request is refused (403 cross_site) unless it comes from the page
 * itself opened at http://localhost, 127.0.0.1 or [::1] (any port), its
 * Origin naming the Host it was sent to. Otherwise any site the user
 * visits could POST /jobs (a form, text/plain) as the user who tunnels,
 * or rebind its name to 127.0.0.1 and post from its own origin.
 *
 * --http ADDR:PORT serves the whole API (and the dashboard) as the
 * daemon's owner, to whoever shows the token: "Authorization: Bearer
 * TOKEN", or the cookie jobring_token=TOKEN that a GET with ?token=TOKEN
 * sets (HttpOnly, SameSite=Strict; answered 303 to the same path without
 * the query, so the token leaves the address bar). The Host header must
 * name the listener (its address, localhost, 127.0.0.1 or [::1], with its
 * port): a page of another origin that rebinds its DNS name to 127.0.0.1
 * sends its own name and is refused (421). No token: 401.
 *
 * --metrics-listen ADDR:PORT serves GET /metrics and nothing else (404),
 * without a token: what Prometheus scrapes.
 */
#ifndef JR_GATE_H
#define JR_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/buf.h"
#include "daemon/net/http.h"

/* LISTEN_TLS (issue 17, --listen): TLS with the access file's key
 * (tls.h); a connection that completed the handshake holds the key and
 * passes the gate, as the daemon's owner; with --munge, one that shook
 * hands without it passes once it showed a MUNGE credential (conn.c),
 * as that uid. */
enum listener_kind { LISTEN_UNIX, LISTEN_HTTP, LISTEN_METRICS, LISTEN_TLS };

#define GATE_TOKEN_MAX 128u
#define GATE_HOSTS 5u
#define GATE_COOKIE "jobring_token"

struct gate {
	char token[GATE_TOKEN_MAX + 1];
	char hosts[GATE_HOSTS][80];	/* Host values accepted by --http */
	uint32_t host_count;
};

/* The Host values a listener at addr (as given: "127.0.0.1", "[::1]",
 * "localhost", ...) and port accepts. */
void gate_set_hosts(struct gate *g, const char *addr, uint16_t port);

/* May the request pass? false: *reply holds the whole HTTP answer (401,
 * 421, 404 or the 303 that sets the cookie); keep_alive says whether the
 * connection stays open after it. */
bool gate_check(const struct gate *g, enum listener_kind kind, const struct http_in *h,
		const char *method, const char *path, const char *query, bool keep_alive,
		struct buf *reply);

/* A refusal's whole HTTP answer, its body {"error":{"code","message"}}
 * (message: no quotes nor backslashes). */
void gate_answer(struct buf *reply, int status, const char *code, const char *message,
		 bool keep_alive);

/* The token in the file at path into out (its first line, 16 to
 * GATE_TOKEN_MAX characters of [A-Za-z0-9._~-]); create: a missing file
 * is made 0600 with 32 random bytes in hex. 0 or -errno (-EINVAL: not a
 * usable token, -EPERM: the file is readable by others). */
int gate_token_load(const char *path, bool create, char *out, size_t size);

#endif
