/*
 * ring.c - the control socket loop's io_uring operations (see server.c's
 * header comment): each tagged and counted from preparation to its last
 * completion, owed when no SQE is to be had and armed again at the next
 * turn; a connection's send, and the cancellation that pauses its
 * receive; the provided receive buffers and the signalfd.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "daemon/net/loop.h"

/* --- operations in flight ------------------------------------------------------ */

/* sqe carries op from now on: counted until its last completion. */
void op_prepared(struct server *s, struct io_uring_sqe *sqe, enum op op, uint32_t index,
			uint32_t gen)
{
	io_uring_sqe_set_data64(sqe, tag(op, index, gen));
	s->ops_inflight[op]++;
}

/* A completion: the last of its operation unless more follow (a
 * multishot one's). Not ours (liburing's own timeouts): ignored. */
void op_completed(struct server *s, const struct io_uring_cqe *cqe)
{
	enum op op = tag_op(io_uring_cqe_get_data64(cqe));

	if (op < OP_ACCEPT || op >= OP_COUNT || (cqe->flags & IORING_CQE_F_MORE))
		return;
	JR_ASSERT(s->ops_inflight[op] > 0);	/* each operation completes once */
	s->ops_inflight[op]--;
}

/* The kernel refused what the queue held: said once a second at most;
 * the loop goes on (the queue is sent again at the next turn). */
void submit_failed(struct server *s, int rc)
{
	uint64_t now = jr_now_monotonic_ns();

	if (rc == s->last_submit_error && now - s->last_submit_log_ns < SUBMIT_LOG_EVERY_NS)
		return;
	s->last_submit_error = rc;
	s->last_submit_log_ns = now;
	fprintf(stderr, "jobringd: io_uring submit: %s; sent again at the next turn\n",
		strerror(-rc));
}

/* An SQE; when the queue is full, what it holds goes to the kernel
 * first. NULL if the kernel takes none now: the caller owes its
 * operation (owe()). */
struct io_uring_sqe *sqe_get(struct server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	int rc;

	if (sqe)
		return sqe;
	rc = io_uring_submit(&s->ring);
	if (rc < 0)
		submit_failed(s, rc);
	return io_uring_get_sqe(&s->ring);
}

static void owe(struct server *s, bool *flag)
{
	*flag = true;
	s->owed++;
}

/* --- arming ------------------------------------------------------------------- */

void arm_accept(struct server *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &s->owe_accept);
		return;
	}
	JR_ASSERT(s->ops_inflight[OP_ACCEPT] == 0);	/* one accept at a time */
	io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	op_prepared(s, sqe, OP_ACCEPT, 0, 0);
	s->owe_accept = false;
}

/* The TCP listener i's multishot accept (issue 16). */
void arm_accept_tcp(struct server *s, uint32_t i)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &s->tcp[i].owed);
		return;
	}
	io_uring_prep_multishot_accept(sqe, s->tcp[i].fd, NULL, NULL, SOCK_CLOEXEC);
	op_prepared(s, sqe, OP_ACCEPT_TCP, i, 0);
	s->tcp[i].owed = false;
}

void arm_recv(struct server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &c->owe_recv);
		return;
	}
	JR_ASSERT(conn_open(c) && !c->recv_armed);	/* one receive at a time */
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BUF_GROUP;
	op_prepared(s, sqe, OP_RECV, (uint32_t)(c - s->conns), c->gen);
	c->recv_armed = true;
	c->owe_recv = false;
}

void arm_tick(struct server *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &s->owe_tick);
		return;
	}
	JR_ASSERT(s->ops_inflight[OP_TICK] == 0);
	io_uring_prep_timeout(sqe, &s->tick_ts, 0, 0);
	op_prepared(s, sqe, OP_TICK, 0, 0);
	s->owe_tick = false;
}

void arm_watch(struct server *s, uint32_t i)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &s->watch[i].owed);
		return;
	}
	io_uring_prep_poll_multishot(sqe, s->watch[i].fd, POLLIN);
	op_prepared(s, sqe, OP_WATCH, i, 0);
	s->watch[i].owed = false;
}

void server_watch_fd(struct server *s, int fd)
{
	JR_ASSERT(s->watch_count < WATCH_MAX);
	s->watch[s->watch_count].fd = fd;
	arm_watch(s, s->watch_count++);
}

void arm_signal(struct server *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);

	if (!sqe) {
		owe(s, &s->owe_signal);
		return;
	}
	JR_ASSERT(s->ops_inflight[OP_SIGNAL] == 0);	/* one read into s->sig */
	io_uring_prep_read(sqe, s->signal_fd, &s->sig, sizeof(s->sig), 0);
	op_prepared(s, sqe, OP_SIGNAL, 0, 0);
	s->owe_signal = false;
}

void conn_flush(struct server *s, struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->send_inflight)
		return;	/* one send in flight at most: the rest waits in pending */
	if (c->tls && c->out.len == 0 && (c->pending.len || tls_conn_has_output(c->tls))) {
		if (tls_conn_seal(c->tls, &c->pending, &c->out) < 0)
			c->close_after_send = true;	/* out of memory: what was sealed goes */
		buf_trim(&c->pending, conn_keep_bytes(c));
	} else if (c->out.len == 0 && c->pending.len) {
		struct buf t = c->out;
		c->out = c->pending;
		c->pending = t;
		buf_reset(&c->pending);
		buf_trim(&c->pending, conn_keep_bytes(c));
	}
	if (c->out.len == 0)
		return;
	if (!(sqe = sqe_get(s))) {
		owe(s, &c->owe_send);
		return;
	}
	JR_ASSERT(conn_open(c));
	io_uring_prep_send(sqe, c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
	op_prepared(s, sqe, OP_SEND, (uint32_t)(c - s->conns), c->gen);
	c->send_inflight = true;
	c->owe_send = false;
	/* Answers go to the kernel a few at a time as they are made, not all
	 * at the end of the turn: their clients work on them meanwhile instead
	 * of waiting in step with the loop (issue 14). */
	if (io_uring_sq_ready(&s->ring) >= SEND_FLUSH_SQES) {
		int rc = io_uring_submit(&s->ring);
		if (rc < 0)
			submit_failed(s, rc);	/* they stay queued: the next turn sends them */
	}
}

/* An answer is on its way: in flight, or owed an SQE. */
bool conn_sending(const struct conn *c)
{
	return c->send_inflight || c->owe_send;
}

/* Stop the multishot receive: it ends with -ECANCELED. */
void cancel_recv(struct server *s, struct conn *c)
{
	uint32_t index = (uint32_t)(c - s->conns);
	struct io_uring_sqe *sqe;

	if (c->owe_recv) {	/* never went: nothing to cancel */
		c->owe_recv = false;
		return;
	}
	if (!c->recv_armed || c->cancel_inflight)
		return;
	if (!(sqe = sqe_get(s))) {
		owe(s, &c->owe_cancel);
		return;
	}
	io_uring_prep_cancel64(sqe, tag(OP_RECV, index, c->gen), 0);
	op_prepared(s, sqe, OP_CANCEL, index, c->gen);
	c->cancel_inflight = true;
	c->owe_cancel = false;
}

void recycle(struct server *s, uint32_t bid)
{
	io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * RECV_BUF_BYTES,
			      RECV_BUF_BYTES, (unsigned short)bid,
			      io_uring_buf_ring_mask(RECV_BUFS), 0);
	io_uring_buf_ring_advance(s->br, 1);
}

/* Debug builds: what the connections have in flight is what was counted
 * (a receive or send lost or completed twice would differ). */
void check_ops_inflight(const struct server *s)
{
	uint32_t recv = 0, send = 0;

	if (!JR_DEBUG)
		return;
	for (uint32_t i = 0; i < s->o.max_connections; i++) {
		recv += s->conns[i].recv_armed;
		send += s->conns[i].send_inflight;
	}
	JR_ASSERT(recv == s->ops_inflight[OP_RECV]);
	JR_ASSERT(send == s->ops_inflight[OP_SEND]);
	JR_ASSERT(s->refused_pending == s->ops_inflight[OP_REFUSED]);
}

/* Arm again what found no SQE: the loop's own operations (unless it is
 * stopping), then connections' receives and sends. */
void ops_repay(struct server *s)
{
	if (!s->owed)
		return;
	s->owed = 0;
	if (s->owe_accept && !s->stop)
		arm_accept(s);
	if (s->owe_tick && !s->stop)
		arm_tick(s);
	if (s->owe_signal && !s->stop)
		arm_signal(s);
	for (uint32_t i = 0; i < s->watch_count; i++)
		if (s->watch[i].owed && !s->stop)
			arm_watch(s, i);
	for (uint32_t i = 0; i < s->tcp_count; i++)
		if (s->tcp[i].owed && !s->stop)
			arm_accept_tcp(s, i);
	for (uint32_t i = 0; i < s->o.max_connections; i++) {
		struct conn *c = &s->conns[i];
		if (!conn_open(c))
			continue;
		if (c->owe_recv)
			arm_recv(s, c);
		if (c->owe_cancel)
			cancel_recv(s, c);
		if (c->owe_send)
			conn_flush(s, c);
	}
}

/* Send the queue and wait for a completion; no longer than a tick while
 * something is owed (its tick may be what is owed). Errors the next turn
 * can overcome are 0 here; others end the loop. */
int loop_wait_turn(struct server *s)
{
	struct io_uring_cqe *cqe;
	int rc;

	if (s->yielded || s->again)	/* work is waiting: take what came, no more */
		rc = io_uring_submit(&s->ring);
	else if (s->owed)
		rc = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &s->tick_ts, NULL);
	else
		rc = io_uring_submit_and_wait(&s->ring, 1);
	if (rc >= 0 || rc == -EINTR || rc == -ETIME)
		return 0;
	if (rc != -EBUSY && rc != -EAGAIN)
		return rc;
	submit_failed(s, rc);
	if (io_uring_cq_ready(&s->ring) == 0)	/* nothing to reap: let the kernel breathe */
		jr_sleep_ns(JR_NS_PER_MS);
	return 0;
}

int ring_setup_buffers(struct server *s)
{
	struct io_uring_buf_reg reg = { 0 };
	size_t ring_bytes = RECV_BUFS * sizeof(struct io_uring_buf);

	s->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	s->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_BYTES);
	if (s->br == MAP_FAILED || !s->bufs)
		return -ENOMEM;
	reg.ring_addr = (unsigned long)s->br;
	reg.ring_entries = RECV_BUFS;
	reg.bgid = BUF_GROUP;
	int rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
	if (rc < 0)
		return rc;
	io_uring_buf_ring_init(s->br);
	for (uint32_t i = 0; i < RECV_BUFS; i++)
		io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * RECV_BUF_BYTES,
				      RECV_BUF_BYTES, (unsigned short)i,
				      io_uring_buf_ring_mask(RECV_BUFS), (int)i);
	io_uring_buf_ring_advance(s->br, RECV_BUFS);
	return 0;
}

int ring_setup_signals(struct server *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	s->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return s->signal_fd < 0 ? -errno : 0;
}
