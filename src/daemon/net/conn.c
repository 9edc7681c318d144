/*
 * conn.c - a connection's life on the control socket loop (see server.c's
 * header comment for its states): admitted from an accept, or refused
 * with a 503 naming the limit (budget.c); its buffers charged to the
 * budget and its receiving paced by it; on --listen (issue 17), its TLS
 * in front of its input, the handshake timed from the accept and, once
 * it proves the key, the connection counted as the owner's (with
 * --munge, once its first request shows a MUNGE credential, as that
 * credential's uid); closed, and
 * freed once nothing of it is in flight. server.c handles its requests;
 * ring.c arms its operations. The loop's thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/net/loop.h"
#include "daemon/net/mungeauth.h"

/* --- the budget -------------------------------------------------------------- */

/* Its buffers, charged to the budget as they are now. */
void conn_account(struct server *s, struct conn *c)
{
	budget_charge(&s->budget, &c->held, c->in.cap + c->out.cap + c->pending.cap +
			      c->http.url.cap + c->http.body.cap + (c->tls ? TLS_CONN_BYTES : 0));
}

bool conn_favoured(const struct server *s, const struct conn *c)
{
	return s->favoured == c && c->gen == s->favoured_gen && c->state == CONN_READING &&
	       c->handled == s->favoured_handled;
}

bool conn_may_grow(const struct server *s, const struct conn *c)
{
	bool output_empty = !c->out.len && !c->pending.len && !c->send_inflight;

	return conn_favoured(s, c) ||
	       budget_may_grow(&s->budget, c->held, output_empty, c->privileged);
}


/* Receive or not, as the budget and the connection's own backlog say. */
void conn_pace(struct server *s, struct conn *c)
{
	bool stop;

	if (!conn_open(c))
		return;
	stop = !conn_may_grow(s, c) || c->in.len >= IN_HIGH_WATER;
	if (stop != c->paused) {
		c->paused = stop;
		budget_paused(&s->budget, stop);
	}
	if (stop)
		cancel_recv(s, c);
	else if (!c->recv_armed && !c->owe_recv && !c->peer_done && !s->draining)
		arm_recv(s, c);
}

/* --- connections ------------------------------------------------------------- */

static void conn_release(struct server *s, struct conn *c)
{
	JR_ASSERT(!c->recv_armed && !c->send_inflight);	/* no completion can come */
	conn_set_state(c, CONN_FREE);
	close(c->fd);
	http_in_free(&c->http);
	tls_conn_free(c->tls);
	c->tls = NULL;
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->pending);
	budget_charge(&s->budget, &c->held, 0);
	if (c->paused)
		budget_paused(&s->budget, false);
	c->paused = false;
	budget_leave(&s->budget, c->uid);
	if (c->yielded)
		s->yielded--;
	c->yielded = false;
	c->gen++;
	s->free_stack[s->free_count++] = (uint32_t)(c - s->conns);
	s->st.open--;
}

/* The loop is going away with it: what is in flight will not complete. */
void conn_abandon(struct server *s, struct conn *c)
{
	c->recv_armed = c->send_inflight = false;
	if (c->state != CONN_CLOSING)
		conn_set_state(c, CONN_CLOSING);
	conn_release(s, c);
}

/* Stop reading; free once nothing is in flight. */
void conn_close(struct server *s, struct conn *c)
{
	if (c->state != CONN_CLOSING) {
		conn_set_state(c, CONN_CLOSING);
		shutdown(c->fd, SHUT_RDWR);
	}
	if (!c->recv_armed && !c->send_inflight)
		conn_release(s, c);
}

/* Over --max-connections, into the reserve or over the uid's cap
 * (why): wait for the client's first bytes (read and thrown away), then
 * answer 503 naming the limit, and close. Answering before the client
 * has sent anything would have it fail to send, and report a connection
 * error instead of the answer. A client that sends nothing is answered
 * after REFUSED_WAIT_S all the same (the receive's linked timeout), so
 * that silent peers cannot hold the REFUSED_MAX places. */
static void refuse_busy(struct server *s, int fd, enum budget_admit why)
{
	static struct __kernel_timespec wait = { .tv_sec = REFUSED_WAIT_S };
	struct io_uring_sqe *sqe, *timeout;

	if (s->refused_pending >= REFUSED_MAX) {
		close(fd);
		return;
	}
	if (!(sqe = sqe_get(s))) {
		close(fd);	/* not even that: it is closed untold */
		return;
	}
	io_uring_prep_recv(sqe, fd, s->discard, sizeof(s->discard), 0);
	op_prepared(s, sqe, OP_REFUSED, (uint32_t)fd, why);
	s->refused_pending++;
	/* Next to it in the same submission, or none (sqe_get could submit
	 * the receive first); the timeout's completion is not ours: ignored. */
	if ((timeout = io_uring_get_sqe(&s->ring)) != NULL) {
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_prep_link_timeout(timeout, &wait, 0);
		io_uring_sqe_set_data64(timeout, 0);
	}
}

void refused_answer(struct server *s, int fd, enum budget_admit why)
{
	char body[320], msg[512];
	int n;

	budget_refusal(&s->budget, why, body, sizeof(body));
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 503 Service Unavailable\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", strlen(body), body);

	JR_ASSERT(s->refused_pending > 0);
	s->refused_pending--;
	if (write(fd, msg, (size_t)n) < 0)
		n = 0;	/* the peer is gone: nothing to tell it */
	close(fd);
}

/* A connection on listener kind from the peer cred names (for a TCP
 * one: TCP_BUDGET_UID, see conn_accept_tcp). */
static struct conn *conn_admit(struct server *s, int fd, const struct ucred *peer, bool known,
			       enum listener_kind kind)
{
	struct ucred cred = *peer;
	enum budget_admit why = BUDGET_FULL;
	struct conn *c;

	s->st.accepted++;
	if (known)
		why = budget_admit(&s->budget, cred.uid);
	if (why != BUDGET_ADMITTED) {
		refuse_busy(s, fd, why);
		s->st.rejected++;
		return NULL;
	}
	JR_ASSERT(s->free_count > 0);	/* the budget counts no more than there are */
	c = &s->conns[s->free_stack[--s->free_count]];
	JR_ASSERT(c->state == CONN_FREE);
	uint32_t gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	conn_set_state(c, CONN_READING);
	c->fd = fd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->privileged = budget_privileged(&s->budget, cred.uid);
	c->listener = (uint8_t)kind;
	c->last_ns = jr_now_monotonic_ns();
	http_in_init(&c->http, s->o.max_request_bytes);
	s->st.open++;
	arm_recv(s, c);
	return c;
}

void conn_accept(struct server *s, int fd)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	bool known = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;

	conn_admit(s, fd, &cred, known, LISTEN_UNIX);
}

/* On a TCP listener (issue 16): no peer credentials. Counted by the
 * budget under TCP_BUDGET_UID, never privileged, so that TCP clients
 * together hold no more than one uid's share; gate.h decides what
 * their requests may do, and those handled are the owner's. The
 * metrics listener's have a share of their own: it wants no token (it
 * is often bound for a scraper on another host), and anyone holding
 * its connections open took --http's share (503 to the dashboard).
 * --listen's, until their handshake proves the key, have theirs too:
 * peers without the key cannot take --http's. */
void conn_accept_tcp(struct server *s, int fd, uint32_t listener)
{
	enum listener_kind kind = s->tcp[listener].kind;
	struct ucred cred = { .pid = 0, .gid = (gid_t)-2,
			      .uid = kind == LISTEN_METRICS ? METRICS_BUDGET_UID
				     : kind == LISTEN_TLS ? TLS_BUDGET_UID : TCP_BUDGET_UID };
	struct conn *c = conn_admit(s, fd, &cred, true, kind);

	if (c && c->listener == LISTEN_TLS) {	/* issue 17: TLS from the first byte */
		c->accepted_ns = c->last_ns;
		/* Until it authenticates, a request's body is small: a peer
		 * without the key or a credential buffers next to nothing. */
		c->http.max_body = TLS_UNAUTH_BODY_MAX;
		if (!(c->tls = tls_conn_new(s->tls)))
			conn_close(s, c);
		else
			conn_account(s, c);
	}
}

/* The connection counted from now on as uid's, out of the share of
 * those not yet authenticated. false: uid holds its share already (the
 * connection stays where it was). */
static bool conn_become(struct server *s, struct conn *c, uid_t uid, gid_t gid)
{
	if (budget_move(&s->budget, c->uid, uid) != BUDGET_ADMITTED)
		return false;
	c->uid = uid;
	c->gid = gid;
	c->privileged = budget_privileged(&s->budget, uid);
	c->authenticated = true;
	c->http.max_body = s->o.max_request_bytes;
	return true;
}

/* --listen (issue 17): the handshake is done. By the key: the
 * connection is the owner's from now on, counted as the owner's by the
 * budget. By --munge's certificate: nothing is proved yet; its first
 * request must show a credential (conn_munge_admit). */
static void conn_handshake_done(struct server *s, struct conn *c)
{
	s->st.tls_handshakes++;
	if (tls_conn_by_key(c->tls) && !conn_become(s, c, s->o.owner, getegid()))
		JR_ASSERT(false);	/* the owner is never refused */
}

/* The answer to a credential refused; the connection closes after it. */
static bool munge_refused(struct server *s, struct conn *c, int status, const char *code,
			  const char *message)
{
	s->st.munge_refused++;
	gate_answer(&c->pending, status, code, message, false);
	return false;
}

bool conn_munge_admit(struct server *s, struct conn *c)
{
	const char *authz = http_in_header(&c->http, HTTP_AUTHORIZATION), *why = "";
	unsigned char binding[TLS_BINDING_BYTES];
	char text[160];
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	if (!s->o.munge || strncasecmp(authz, MUNGEAUTH_SCHEME, strlen(MUNGEAUTH_SCHEME)) != 0)
		return munge_refused(s, c, 401, "munge_required", "this connection did not prove "
				     "the access file's key: its first request must carry "
				     "Authorization: MUNGE CREDENTIAL, made for this connection");
	rc = tls_conn_binding(c->tls, binding);
	if (rc == 0)
		rc = mungeauth_check(s->o.munge_socket, authz + strlen(MUNGEAUTH_SCHEME), binding,
				     sizeof(binding), &uid, &gid, &why);
	if (rc == -EHOSTDOWN || rc == -ENOMEM)
		return munge_refused(s, c, 503, "munge_unavailable",
				     "the daemon's munged did not answer; try again later");
	if (rc < 0)
		return munge_refused(s, c, 401, "munge_rejected", why);
	if (s->o.owner != 0 && uid != s->o.owner && uid != 0) {
		snprintf(text, sizeof(text), "this daemon is uid %u's and serves only it and root; "
			 "a root daemon serves every user", (unsigned)s->o.owner);
		return munge_refused(s, c, 403, "forbidden", text);
	}
	if (!conn_become(s, c, uid, gid))
		return munge_refused(s, c, 503, "too_many_connections",
				     "this user holds as many connections as it may");
	s->st.munge_accepted++;
	return true;
}

/* n bytes received: into c->in, deciphered first on --listen's. false:
 * TLS failed (its alert on the way out, the connection to close). */
bool conn_take(struct server *s, struct conn *c, const char *data, size_t n)
{
	bool was_established;
	int rc;

	if (!c->tls) {
		buf_append(&c->in, data, n);
		return true;
	}
	was_established = tls_conn_established(c->tls);
	rc = tls_conn_receive(c->tls, data, n, &c->in);
	if (!was_established && tls_conn_established(c->tls))
		conn_handshake_done(s, c);
	if (rc < 0) {
		s->st.tls_failed += !was_established;
		c->close_after_send = true;
	}
	if (tls_conn_has_output(c->tls))
		conn_flush(s, c);
	return rc == 0;
}
