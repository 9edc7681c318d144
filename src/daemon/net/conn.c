/*
 * conn.c - a connection's life on the control socket loop (see server.c's
 * header comment for its states): admitted from an accept, or refused
 * with a 503 naming the limit (budget.c); its buffers charged to the
 * budget and its receiving paced by it; on --listen (issue 17), its TLS
 * in front of its input, the handshake timed from the accept and, once
 * it proves the key, the connection counted as the owner's; closed, and
 * freed once nothing of it is in flight. server.c handles its requests;
 * ring.c arms its operations. The loop's thread only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/net/loop.h"

/* --- the budget -------------------------------------------------------------- */

/* Its buffers, charged to the budget as they are now. */
void conn_account(struct server *s, struct conn *c)
{
	budget_charge(&s->budget, &c->held, c->in.cap + c->out.cap + c->pending.cap +
			      c->http.url.cap + c->http.body.cap + (c->tls ? TLS_CONN_BYTES : 0));
}

bool conn_may_grow(const struct server *s, const struct conn *c)
{
	bool output_empty = !c->out.len && !c->pending.len && !c->send_inflight;

	return budget_may_grow(&s->budget, c->held, output_empty, c->privileged);
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
 * error instead of the answer. */
static void refuse_busy(struct server *s, int fd, enum budget_admit why)
{
	struct io_uring_sqe *sqe;

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
		if (!(c->tls = tls_conn_new(s->tls)))
			conn_close(s, c);
		else
			conn_account(s, c);
	}
}

/* --listen (issue 17): the handshake proved the key, so the connection is
 * the owner's from now on, counted as the owner's by the budget, out of
 * the share that TCP connections not yet authenticated hold together. */
static void conn_authenticated(struct server *s, struct conn *c)
{
	s->st.tls_handshakes++;
	budget_leave(&s->budget, c->uid);
	c->uid = s->o.owner;
	c->gid = getegid();
	if (budget_admit(&s->budget, c->uid) != BUDGET_ADMITTED)
		JR_ASSERT(false);	/* the owner's, in the place just left */
	c->privileged = budget_privileged(&s->budget, c->uid);
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
		conn_authenticated(s, c);
	if (rc < 0) {
		s->st.tls_failed += !was_established;
		c->close_after_send = true;
	}
	if (tls_conn_has_output(c->tls))
		conn_flush(s, c);
	return rc == 0;
}
