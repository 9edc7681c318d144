/*
 * server.c - the control socket's io_uring event loop. See server.h.
 *
 * Completions are tagged with an operation, a connection index and that
 * connection's generation, so a completion for a connection that has
 * since been closed and reused is recognised and dropped. A connection is
 * freed only when neither its receive nor its send is in flight: closing
 * one shuts the socket down, which ends the multishot receive.
 *
 * A connection's life (enum conn_state, its transitions asserted in
 * conn_set_state): FREE, then READING once accepted; HANDLING while a
 * request is held by its handler (until server_finish), READING again
 * after; CLOSING once shut down, from either; FREE again when neither
 * its receive nor its send is in flight. Sending goes on beside reading
 * and handling, one send in flight at most. Every operation is counted
 * when prepared and when its last completion comes (ops_inflight), and a
 * completion with nothing in flight trips an assertion.
 *
 * The submission queue can be full when the kernel takes nothing more
 * (io_uring_submit fails with -EBUSY or -EAGAIN): an operation that finds
 * no SQE is owed, not lost, and armed again at the start of every turn
 * until it goes (ops_repay; ring.c holds the operations). A connection's
 * answer waits in its buffer meanwhile; the loop waits no longer than a
 * tick while anything is owed.
 *
 * Memory (issue 12): every connection's buffers are charged to one budget
 * (budget.c) after each change. A connection the budget (or its own
 * backlog: answers over OUT_HIGH_WATER, or unparsed input over
 * IN_HIGH_WATER) stops is paused: its multishot receive is cancelled and
 * no request of its is handled; the requests it already had handled are
 * answered. It goes on when its output drains (on_send) or when bytes
 * come back to the budget (resume_paused, once a turn). A paused
 * connection is closed only as any other: its answer not taken for the
 * idle timeout. So a client that floods several connections and then
 * reads them one after the other may wait that long: the answers it has
 * not read yet hold the budget the connection it reads needs.
 *
 * conn.c holds a connection's life (admission, the budget's charging and
 * pacing, --listen's TLS, closing); this file its requests, answers and
 * completions, and the turn of the loop.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/net/listen.h"
#include "daemon/net/loop.h"

/* --- answers ------------------------------------------------------------------- */

static void append_response(struct conn *c, int status, const char *type, const char *allow,
			    const struct buf *body, bool close_after)
{
	char num[24], *p = num + sizeof(num);
	char code[3] = { (char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
			 (char)('0' + status % 10) };	/* 100-599 */
	size_t n = body->len;

	if (status < 100 || status > 999) {	/* not an HTTP status: as printf would */
		buf_printf(&c->pending, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
		code[0] = 0;
	}
	/* By hand, not printf: two answers per external job (the status
	 * line, Content-Type, Content-Length, Allow, Connection). */
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10));
	if (code[0]) {
		buf_puts(&c->pending, "HTTP/1.1 ");
		buf_append(&c->pending, code, 3);
		buf_append(&c->pending, " ", 1);
		buf_puts(&c->pending, http_reason(status));
		buf_puts(&c->pending, "\r\n");
	}
	buf_puts(&c->pending, "Content-Type: ");
	buf_puts(&c->pending, type ? type : "application/json");
	buf_puts(&c->pending, "\r\nContent-Length: ");
	buf_append(&c->pending, p, (size_t)(num + sizeof(num) - p));
	buf_puts(&c->pending, "\r\n");
	if (allow && *allow) {
		buf_puts(&c->pending, "Allow: ");
		buf_puts(&c->pending, allow);
		buf_puts(&c->pending, "\r\n");
	}
	if (close_after)
		buf_puts(&c->pending, "Connection: close\r\n");
	buf_puts(&c->pending, "\r\n");
	buf_append(&c->pending, body->p ? body->p : "", body->len);
}

static void append_error(struct conn *c, int status, const char *code, const char *msg)
{
	struct buf b = { 0 };

	buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
	append_response(c, status, NULL, NULL, &b, true);
	buf_free(&b);
	c->close_after_send = true;
}

/* --- requests ------------------------------------------------------------------ */

static void split_target(struct buf *url, char **path, char **query)
{
	char *q;

	if (!url->p)
		buf_puts(url, "/");
	q = strchr(url->p, '?');
	*path = url->p;
	*query = q ? (*q = '\0', q + 1) : url->p + url->len;
	if (!q)
		return;
	if (strchr(*query, '#'))
		*strchr(*query, '#') = '\0';
}

/* A request: passed on (--http's as the owner's, the Unix socket's as
 * its peer's, --listen's as the key's owner or the MUNGE credential's
 * uid), or answered here (gate.h, conn_munge_admit). */
static bool gate_passes(struct server *s, struct conn *c, struct request *req, bool keep)
{
	if (c->listener == LISTEN_TLS && !c->authenticated && !conn_munge_admit(s, c))
		keep = false;
	else if (gate_check(&s->gate, (enum listener_kind)c->listener, &c->http, req->method,
			    req->path, req->query, keep, &c->pending)) {
		if (c->listener == LISTEN_UNIX)
			return true;
		bool tls = c->listener == LISTEN_TLS;	/* as conn.c authenticated it */
		req->uid = tls ? c->uid : s->o.owner;
		req->gid = tls ? c->gid : getegid();
		req->pid = 0;
		return true;
	}
	c->close_after_send = !keep;
	http_in_next(&c->http);
	c->sent_continue = false;
	return false;
}

static void dispatch(struct server *s, struct conn *c)
{
	struct request req = { 0 };
	struct response res = { .status = 200 };
	bool keep = http_in_keep_alive(&c->http);

	s->st.requests++;
	c->handled++;
	req.method = http_in_method(&c->http);
	split_target(&c->http.url, &req.path, &req.query);
	req.body = c->http.body.p ? c->http.body.p : "";
	req.body_len = c->http.body.len;
	req.uid = c->uid;
	req.gid = c->gid;
	req.pid = c->pid;
	req.token = conn_token(s, c);
	req.last_event_id = c->http.last_event_id;
	if (!gate_passes(s, c, &req, keep))
		return;
	s->ops.handle(s->ops.ctx, &req, &res);
	if (res.deferred) {
		conn_set_state(c, CONN_HANDLING);
		c->close_after_send = !keep;
	} else {
		append_response(c, res.status, res.content_type, res.allow, &res.body, !keep);
		c->close_after_send = !keep;
	}
	buf_free(&res.body);
	http_in_next(&c->http);
	c->sent_continue = false;
}

/* One step of the parser. Returns false to stop reading this connection
 * for now. */
static bool read_one(struct server *s, struct conn *c, size_t *pos)
{
	size_t used;
	bool was_started = c->http.started;
	enum http_outcome r = http_in_feed(&c->http, c->in.p + *pos, c->in.len - *pos, &used);

	*pos += used;
	if (!was_started && c->http.started)
		c->request_start_ns = jr_now_monotonic_ns();
	if (c->http.expect_continue && !c->sent_continue && r == HTTP_NEED_MORE &&
	    (c->listener != LISTEN_TLS || c->authenticated)) {	/* none before a credential */
		buf_puts(&c->pending, "HTTP/1.1 100 Continue\r\n\r\n");
		c->sent_continue = true;
	}
	switch (r) {
	case HTTP_NEED_MORE:
		return false;
	case HTTP_GOT_REQUEST:
		dispatch(s, c);
		return c->state != CONN_HANDLING && !c->close_after_send;
	case HTTP_TOO_LARGE:
		s->st.bad_requests++;
		append_error(c, 413, "too_large", "the request is larger than the limit");
		return false;
	case HTTP_NEED_LENGTH:
		s->st.bad_requests++;
		append_error(c, 411, "length_required", "send the body with a Content-Length");
		return false;
	case HTTP_BAD:
	case HTTP_UNSUPPORTED:
		s->st.bad_requests++;
		append_error(c, 400, "bad_request", "malformed HTTP request");
		return false;
	}
	return false;
}

/* Handle what c's input holds, as far as allowed. Returns whether the
 * budget was what stopped it. */
static bool handle_input(struct server *s, struct conn *c)
{
	size_t pos = 0;
	bool budget_stop = false;

	while (!s->draining && c->state == CONN_READING && !c->close_after_send &&
	       pos < c->in.len && c->pending.len < s->out_high_water) {
		if ((budget_stop = !conn_may_grow(s, c)))
			break;
		if (jr_now_monotonic_ns() > s->turn_until_ns) {
			if (!c->yielded) {	/* resume_yielded() goes on next turn */
				c->yielded = true;
				s->yielded++;
			}
			break;
		}
		if (!read_one(s, c, &pos))
			break;
		conn_account(s, c);	/* the next one sees this answer */
	}
	if (c->close_after_send)
		pos = c->in.len;	/* what follows is not read */
	buf_consume(&c->in, pos);
	buf_trim(&c->in, HTTP_KEEP_BYTES);
	conn_flush(s, c);
	conn_account(s, c);
	return budget_stop;
}

static void process_input(struct server *s, struct conn *c)
{
	/* Sending may have drained its output meanwhile: then it may go on. */
	while (handle_input(s, c) && c->in.len && conn_may_grow(s, c))
		;
	if ((c->close_after_send || c->peer_done) && !conn_sending(c) && c->state == CONN_READING)
		conn_close(s, c);
	else
		conn_pace(s, c);
}

/* Bytes came back: paused connections may go on, from where the last
 * pass stopped so that none is always last. */
static void resume_paused(struct server *s)
{
	uint32_t n = s->o.max_connections;

	if (!s->budget.st.paused || !budget_take_freed(&s->budget))
		return;
	for (uint32_t k = 0; k < n && s->budget.st.paused; k++) {
		struct conn *c = &s->conns[(s->resume_from + k) % n];
		if (c->paused && conn_open(c))
			process_input(s, c);
	}
	s->resume_from = (s->resume_from + 1) % n;
}

/* When c's waiting began: its request's start, or its last bytes. */
static uint64_t waiting_since(const struct conn *c)
{
	return c->http.started ? c->request_start_ns : c->last_ns;
}

/* Requests received in part, or whole but not handled, can fill the
 * budget between them, and then none may go on: each waits for bytes
 * that only a request handled gives back (twelve 1.8 MB batches against
 * --max-buffered 4M held the daemon, root's /health included, for
 * good). So while connections wait, the one waiting longest with input
 * reads on past the budget until it has handled one request (at most
 * --max-request over), then the next. Its request timeout still runs. */
static void favour_oldest(struct server *s)
{
	struct conn *best = NULL;

	if (!s->budget.st.paused) {
		s->favoured = NULL;
		return;
	}
	if (s->favoured && conn_favoured(s, s->favoured))
		return;	/* its request is not handled yet */
	uint64_t now = jr_now_monotonic_ns();
	if (!s->favoured && now - s->favour_scan_ns < FAVOUR_SCAN_NS)
		return;	/* none a moment ago: those waiting wait for their answers */
	s->favour_scan_ns = now;
	for (uint32_t i = 0; i < s->o.max_connections; i++) {
		struct conn *c = &s->conns[i];
		if (c->paused && c->state == CONN_READING && (c->http.started || c->in.len) &&
		    (!best || waiting_since(c) < waiting_since(best)))
			best = c;
	}
	s->favoured = best;
	if (!best)
		return;
	s->favoured_gen = best->gen;
	s->favoured_handled = best->handled;
	process_input(s, best);	/* conn_pace: receives again */
}

/* Connections that yielded last turn go on, from where the last pass
 * stopped, until this turn's time is up. */
static void resume_yielded(struct server *s)
{
	uint32_t n = s->o.max_connections, k;

	for (k = 0; k < n && s->yielded && jr_now_monotonic_ns() <= s->turn_until_ns; k++) {
		struct conn *c = &s->conns[(s->yield_from + k) % n];
		if (!c->yielded)
			continue;
		c->yielded = false;
		s->yielded--;
		if (conn_open(c))
			process_input(s, c);	/* may yield again */
	}
	s->yield_from = (s->yield_from + k) % n;
}

bool server_connection_alive(struct server *s, uint64_t token)
{
	uint32_t index = (uint32_t)token, gen = (uint32_t)(token >> 32);

	return index < s->o.max_connections && conn_open(&s->conns[index]) &&
	       s->conns[index].gen == gen;
}

void server_again(struct server *s)
{
	s->again = true;
}

bool server_finish(struct server *s, uint64_t token, int status, struct buf *body)
{
	struct conn *c;

	if (!server_connection_alive(s, token))
		return false;
	c = &s->conns[(uint32_t)token];
	if (c->state != CONN_HANDLING)
		return false;
	conn_set_state(c, CONN_READING);
	append_response(c, status, NULL, NULL, body, c->close_after_send);
	c->last_ns = jr_now_monotonic_ns();
	process_input(s, c);
	return true;
}

/* --- streamed answers (issue 16) ------------------------------------------------ */

static struct conn *stream_conn(struct server *s, uint64_t token)
{
	struct conn *c;

	if (!server_connection_alive(s, token))
		return NULL;
	c = &s->conns[(uint32_t)token];
	return c->state == CONN_HANDLING ? c : NULL;
}

bool server_stream_start(struct server *s, uint64_t token, const char *content_type)
{
	struct conn *c = stream_conn(s, token);

	if (!c || c->streaming)
		return false;
	c->streaming = true;
	c->close_after_send = true;
	buf_puts(&c->pending, "HTTP/1.1 200 OK\r\nContent-Type: ");
	buf_puts(&c->pending, content_type);
	buf_puts(&c->pending, "\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
	conn_flush(s, c);
	conn_account(s, c);
	return true;
}

bool server_stream_write(struct server *s, uint64_t token, const char *data, size_t len)
{
	struct conn *c = stream_conn(s, token);

	if (!c || !c->streaming)
		return false;
	buf_append(&c->pending, data, len);
	if (c->pending.oom) {
		conn_close(s, c);
		return false;
	}
	c->last_ns = jr_now_monotonic_ns();
	conn_flush(s, c);
	conn_account(s, c);
	return true;
}

size_t server_stream_backlog(struct server *s, uint64_t token)
{
	struct conn *c = stream_conn(s, token);

	return c ? c->out.len + c->pending.len : SIZE_MAX;
}

void server_stream_end(struct server *s, uint64_t token)
{
	struct conn *c = stream_conn(s, token);

	if (c)
		conn_close(s, c);
}

/* --- completions --------------------------------------------------------------- */


static void on_recv(struct server *s, struct conn *c, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (c && cqe->res > 0 && c->state != CONN_CLOSING) {
			if (!conn_take(s, c, s->bufs + (size_t)bid * RECV_BUF_BYTES, (size_t)cqe->res))
				c->peer_done = true;	/* nothing more is read: closed once sent */
			s->st.bytes_in += (uint64_t)cqe->res;
			conn_account(s, c);
		}
		recycle(s, bid);
	}
	if (!c)
		return;
	JR_ASSERT(c->recv_armed);
	if (!more)
		c->recv_armed = false;
	if (c->state == CONN_CLOSING) {
		conn_close(s, c);
		return;
	}
	if ((cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) || c->in.oom ||
	    c->in.len > s->o.max_request_bytes + 2 * HTTP_URL_MAX + 65536) {
		conn_close(s, c);	/* error, or over its bound */
		return;
	}
	if (cqe->res == 0 && c->streaming) {	/* the stream's reader went away */
		conn_close(s, c);
		return;
	}
	if (cqe->res == 0) {	/* the peer is done sending: answer what came */
		c->peer_done = true;
		process_input(s, c);
		if (c->state == CONN_READING && !conn_sending(c))
			conn_close(s, c);
		return;
	}
	if (cqe->res > 0)
		c->last_ns = jr_now_monotonic_ns();
	if (!more && !c->paused)	/* paused: cancelled, or to be */
		arm_recv(s, c);
	process_input(s, c);
}

static void on_send(struct server *s, struct conn *c, int res)
{
	JR_ASSERT(c->send_inflight);	/* the one send in flight, completed once */
	c->send_inflight = false;
	if (res < 0 || c->state == CONN_CLOSING) {
		conn_close(s, c);
		return;
	}
	s->st.bytes_out += (uint64_t)res;
	buf_consume(&c->out, (size_t)res);
	buf_trim(&c->out, conn_keep_bytes(c));
	c->last_ns = jr_now_monotonic_ns();
	process_input(s, c);	/* may have stopped at the high-water mark */
}

static struct conn *conn_of(struct server *s, uint64_t data)
{
	uint32_t index = tag_index(data);
	struct conn *c;

	if (index >= s->o.max_connections)
		return NULL;
	c = &s->conns[index];
	return c->state != CONN_FREE && (c->gen & TAG_GEN_MASK) == tag_gen(data) ? c : NULL;
}

static void on_cqe(struct server *s, struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct conn *c = conn_of(s, data);

	op_completed(s, cqe);
	switch (tag_op(data)) {
	case OP_ACCEPT:
		if (cqe->res >= 0)
			conn_accept(s, cqe->res);
		if (!(cqe->flags & IORING_CQE_F_MORE) && !s->stop)
			arm_accept(s);
		break;
	case OP_ACCEPT_TCP:
		if (cqe->res >= 0)
			conn_accept_tcp(s, cqe->res, tag_index(data));
		if (!(cqe->flags & IORING_CQE_F_MORE) && !s->stop)
			arm_accept_tcp(s, tag_index(data));
		break;
	case OP_RECV:
		on_recv(s, c, cqe);
		break;
	case OP_SEND:
		if (c)
			on_send(s, c, cqe->res);
		break;
	case OP_TICK:
		if (!s->stop)
			arm_tick(s);
		break;
	case OP_SIGNAL:
		if (cqe->res == sizeof(s->sig) && s->sig.ssi_signo == SIGUSR1) {
			if (s->ops.signal)
				s->ops.signal(s->ops.ctx, SIGUSR1);
			arm_signal(s);
		} else {
			s->stop = true;
		}
		break;
	case OP_REFUSED:
		refused_answer(s, (int)tag_index(data), (enum budget_admit)tag_gen(data));
		break;
	case OP_CANCEL:
		if (c)
			c->cancel_inflight = false;
		break;
	case OP_WATCH:	/* the tick after this turn does the work */
		if (!(cqe->flags & IORING_CQE_F_MORE) && !s->stop &&
		    tag_index(data) < s->watch_count)
			arm_watch(s, tag_index(data));
		break;
	}
}

/* --- timeouts ------------------------------------------------------------------- */

static void sweep(struct server *s, uint64_t now)
{
	uint64_t req_ns = (uint64_t)s->o.request_timeout_ms * JR_NS_PER_MS;
	uint64_t idle_ns = (uint64_t)s->o.idle_timeout_ms * JR_NS_PER_MS;
	uint64_t tls_ns = (uint64_t)(s->o.tls_handshake_timeout_ms ? s->o.tls_handshake_timeout_ms
				     : TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT) * JR_NS_PER_MS;

	for (uint32_t i = 0; i < s->o.max_connections; i++) {
		struct conn *c = &s->conns[i];
		if (c->state != CONN_READING)
			continue;
		/* Issue 17: its handshake, or with --munge its credential,
		 * took too long: it holds the share of the unauthenticated. */
		if (c->tls && !c->authenticated && now - c->accepted_ns > tls_ns) {
			s->st.tls_failed++;
			conn_close(s, c);
		} else if (c->http.started && !c->paused && now - c->request_start_ns > req_ns) {
			s->st.timeouts++;
			append_error(c, 408, "request_timeout", "the request was not completed in time");
			conn_flush(s, c);
			c->in.len = 0;
		} else if (now - c->last_ns > idle_ns &&
			   (conn_sending(c) || (!c->http.started && c->in.len == 0))) {
			conn_close(s, c);	/* idle, or its answer not taken */
		}
	}
}




const uint64_t SERVER_TURN_BOUNDS_NS[SERVER_TURN_BUCKETS - 1] = {
	100000, 250000, 500000, 1000000, 2000000, 5000000, 10000000, 20000000, 50000000,
};

static void turn_count(struct server_turns *t, uint64_t ns)
{
	int i = 0;

	while (i < SERVER_TURN_BUCKETS - 1 && ns > SERVER_TURN_BOUNDS_NS[i])
		i++;
	t->buckets[i]++;
	t->count++;
	t->sum_ns += ns;
	if (ns > t->max_ns)
		t->max_ns = ns;
}

int server_run(struct server *s)
{
	arm_accept(s);
	for (uint32_t i = 0; i < s->tcp_count; i++)
		arm_accept_tcp(s, i);
	arm_tick(s);
	arm_signal(s);
	while (!s->stop) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc;
		ops_repay(s);
		if ((rc = loop_wait_turn(s)) < 0)
			return rc;
		s->again = false;
		uint64_t start = jr_now_monotonic_ns();
		s->turn_until_ns = start + TURN_HANDLE_NS;
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			on_cqe(s, cqe);
			seen++;
		}
		io_uring_cq_advance(&s->ring, seen);
		resume_yielded(s);
		resume_paused(s);
		favour_oldest(s);
		uint64_t now = jr_now_monotonic_ns();
		if (now - s->last_sweep_ns > SWEEP_EVERY_NS) {
			check_ops_inflight(s);
			sweep(s, now);
			s->last_sweep_ns = now;
		}
		if (s->ops.tick)
			s->ops.tick(s->ops.ctx, now);
		turn_count(&s->st.turns, jr_now_monotonic_ns() - start);
	}
	return 0;
}

static bool answers_pending(const struct server *s)
{
	for (uint32_t i = 0; i < s->o.max_connections; i++) {
		const struct conn *c = &s->conns[i];
		if (conn_open(c) && (c->send_inflight || c->out.len || c->pending.len))
			return true;
	}
	return false;
}

void server_drain(struct server *s, uint32_t timeout_ms)
{
	uint64_t until = jr_now_monotonic_ns() + (uint64_t)timeout_ms * JR_NS_PER_MS;
	struct __kernel_timespec ts = { 0, 10 * JR_NS_PER_MS };

	s->draining = true;
	for (uint32_t i = 0; i < s->o.max_connections; i++)
		if (conn_open(&s->conns[i]))
			conn_flush(s, &s->conns[i]);
	while (answers_pending(s) && jr_now_monotonic_ns() < until) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		ops_repay(s);
		int rc = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR)
			submit_failed(s, rc);
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			uint64_t data = io_uring_cqe_get_data64(cqe);
			struct conn *c = conn_of(s, data);
			op_completed(s, cqe);
			if (tag_op(data) == OP_SEND && c)
				on_send(s, c, cqe->res);
			seen++;
		}
		io_uring_cq_advance(&s->ring, seen);
	}
}

void server_stop(struct server *s)
{
	s->stop = true;
}

void server_get_stats(const struct server *s, struct server_stats *out)
{
	*out = s->st;
	budget_get_stats(&s->budget, &out->budget);
}

/* --- setup ---------------------------------------------------------------------- */



static int setup_conns(struct server *s)
{
	s->conns = calloc(s->o.max_connections, sizeof(*s->conns));
	s->free_stack = calloc(s->o.max_connections, sizeof(*s->free_stack));
	if (!s->conns || !s->free_stack)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->o.max_connections; i++)
		s->free_stack[s->free_count++] = s->o.max_connections - 1 - i;
	return 0;
}

int server_open(struct server **out, const struct server_opts *o,
		const struct server_ops *ops)
{
	/* COOP_TASKRUN (Linux 5.19): a message arriving while the loop works
	 * does not interrupt it; it is taken at the loop's next entry into the
	 * kernel, which comes at least every SEND_FLUSH_SQES answers. */
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
				     .cq_entries = 65536 };
	unsigned entries = o->sq_entries ? o->sq_entries : SQ_ENTRIES_DEFAULT;
	struct server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->ops = *ops;
	s->listen_fd = s->signal_fd = -1;
	s->tick_ts.tv_nsec = (long long)(o->tick_ms ? o->tick_ms : 100) * (long long)JR_NS_PER_MS;
	rc = io_uring_queue_init_params(entries, &s->ring, &p);
	if (rc == -EINVAL) {	/* an older kernel: interrupted, as before */
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE, .cq_entries = 65536 };
		rc = io_uring_queue_init_params(entries, &s->ring, &p);
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	rc = budget_init(&s->budget, &(struct budget_opts){
		.max_bytes = o->max_buffered_bytes, .max_connections = o->max_connections,
		.max_per_uid = o->max_connections_per_uid, .owner = o->owner });
	s->out_high_water = s->budget.o.max_bytes / 32;	/* a share of the owner's eighth */
	if (s->out_high_water > OUT_HIGH_WATER)
		s->out_high_water = OUT_HIGH_WATER;
	if (rc == 0)
		rc = setup_conns(s);
	if (rc == 0)
		rc = ring_setup_buffers(s);
	if (rc == 0)
		rc = ring_setup_signals(s);
	if (rc == 0)
		rc = listen_open(&s->o, &s->listen_fd);
	if (rc == 0)
		rc = listen_open_tcp_all(s);
	if (rc < 0) {
		server_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void server_close(struct server *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->conns && i < s->o.max_connections; i++)
		if (s->conns[i].state != CONN_FREE)
			conn_abandon(s, &s->conns[i]);
	io_uring_queue_exit(&s->ring);
	budget_fini(&s->budget);
	tls_server_close(s->tls);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (s->o.listen_fd < 0)	/* one handed over stays its owner's */
			unlink(s->o.path);
	}
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	for (uint32_t i = 0; i < s->tcp_count; i++)
		close(s->tcp[i].fd);
	if (s->br && s->br != MAP_FAILED)
		munmap(s->br, RECV_BUFS * sizeof(struct io_uring_buf));
	free(s->bufs);
	free(s->conns);
	free(s->free_stack);
	free(s);
}
