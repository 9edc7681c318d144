/*
 * loop.h - what server.c (requests, answers, the turn of the loop), conn.c
 * (a connection's life: admitted, paced by the budget, TLS, closed) and
 * ring.c (the io_uring operations they arm, count and owe) share: the
 * connection and server structs and an operation's tag. Internal to
 * src/daemon/net; the loop's thread only.
 */
#ifndef JR_LOOP_H
#define JR_LOOP_H

#include <liburing.h>
#include <sys/signalfd.h>

#include "base/common.h"
#include "daemon/net/budget.h"
#include "daemon/net/gate.h"
#include "daemon/net/http.h"
#include "daemon/net/server.h"
#include "daemon/net/tls.h"

#define RECV_BUFS 1024u		/* provided buffers, a power of two */
#define RECV_BUF_BYTES 16384u
#define BUF_GROUP 0
#define OUT_HIGH_WATER JR_MIB	/* stop reading requests past this */
#define IN_HIGH_WATER (4 * RECV_BUF_BYTES)	/* unparsed: stop receiving past this */

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_TICK, OP_SIGNAL, OP_REFUSED, OP_WATCH, OP_CANCEL,
	  OP_ACCEPT_TCP };
#define OP_COUNT (OP_ACCEPT_TCP + 1)

enum conn_state { CONN_FREE, CONN_READING, CONN_HANDLING, CONN_CLOSING };

#define REFUSED_MAX 1024u	/* refused connections waiting to be told so */
#define REFUSED_WAIT_S 2	/* ... for their first bytes, at most */
#define WATCH_MAX 8u
#define TCP_LISTENERS_MAX 3u	/* --http, --metrics-listen, --listen */
#define TCP_BUDGET_UID ((uid_t)-2)	/* the budget's uid for --http's connections */
#define METRICS_BUDGET_UID ((uid_t)-3)	/* ... and for --metrics-listen's, apart */
#define TLS_BUDGET_UID ((uid_t)-4)	/* ... and for --listen's until their handshake */		/* descriptors whose readiness wakes the loop */
#define SQ_ENTRIES_DEFAULT 4096u
#define SEND_FLUSH_SQES 16u	/* queued this many (a send among them): submitted at once */
#define SUBMIT_LOG_EVERY_NS JR_NS_PER_SEC
/* A turn handles requests this long at most, then goes round again (not
 * waiting) for what else completed: a flood of expensive requests delays
 * root's by no more. */
#define TURN_HANDLE_NS (20 * JR_NS_PER_MS)
/* While connections wait on the budget and none reads on past it, how
 * often their requests are looked over for the oldest (favour_oldest). */
#define FAVOUR_SCAN_NS (10 * JR_NS_PER_MS)
#define SWEEP_EVERY_NS (250 * JR_NS_PER_MS)	/* request and idle timeouts */

struct conn {
	int fd;
	uint32_t gen;
	enum conn_state state;
	bool recv_armed, send_inflight, close_after_send;
	bool owe_recv, owe_send;	/* found no SQE: armed at the next turn */
	bool sent_continue;
	bool peer_done;		/* end of stream seen: close once answered */
	bool paused;		/* not read now (budget or backlog) */
	bool cancel_inflight, owe_cancel;	/* the receive's cancellation */
	bool privileged;	/* root or the owner (budget.h) */
	bool yielded;		/* its requests wait for the next turn (TURN_HANDLE_NS) */
	uint8_t listener;	/* enum listener_kind: what gate.h lets it do */
	bool streaming;		/* a streamed answer (server_stream_start) */
	size_t held;		/* its buffers' bytes, as charged to the budget */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	struct http_in http;
	struct buf in;		/* received, not yet parsed */
	struct buf out;		/* being sent: not touched while in flight */
	struct buf pending;	/* answers waiting for the send in flight */
	uint64_t last_ns, request_start_ns;
	uint32_t handled;	/* requests dispatched on it */
	/* --listen's (issue 17): its TLS, between the socket and in/pending
	 * (plaintext there, sealed as it moves to out); when accepted, for
	 * the handshake's timeout. NULL on the other listeners. */
	struct tls_conn *tls;
	uint64_t accepted_ns;
	bool authenticated;	/* --listen's: proved the key or a MUNGE credential */
};

struct server {
	struct server_opts o;
	struct server_ops ops;
	struct io_uring ring;
	int listen_fd, signal_fd;
	struct io_uring_buf_ring *br;
	char *bufs;
	struct conn *conns;
	uint32_t *free_stack, free_count;
	struct __kernel_timespec tick_ts;
	struct signalfd_siginfo sig;
	uint64_t last_sweep_ns;
	char discard[4096];		/* what refused connections sent */
	uint32_t refused_pending;
	struct watch {
		int fd;
		bool owed;
	} watch[WATCH_MAX];
	uint32_t watch_count;
	bool owe_accept, owe_tick, owe_signal;
	uint32_t owed;			/* operations owed (at least): 0 if none */
	uint32_t ops_inflight[OP_COUNT];	/* prepared, last completion not seen */
	int last_submit_error;
	uint64_t last_submit_log_ns;
	bool stop;
	bool draining;			/* only answers go out; no request is read */
	struct budget budget;
	uint32_t resume_from;		/* where resume_paused() starts */
	/* The connection let past the budget until it has handled one more
	 * request (server.c, favour_oldest): NULL if none; its gen, and its
	 * ->handled when it was chosen. */
	struct conn *favoured;
	uint32_t favoured_gen, favoured_handled;
	uint64_t favour_scan_ns;	/* the last look for one */
	uint64_t turn_until_ns;		/* handling requests yields past this */
	uint32_t yielded, yield_from;	/* connections yielded; where resuming starts */
	bool again;			/* the tick asked for another turn at once */
	size_t out_high_water;		/* OUT_HIGH_WATER, less for a small budget */
	struct server_stats st;
	/* The optional TCP listeners (issue 16, gate.h), and the uid their
	 * connections are counted under by the budget: not privileged. */
	struct tcp_listener {
		int fd;
		enum listener_kind kind;
		bool owed;
	} tcp[TCP_LISTENERS_MAX];
	uint32_t tcp_count;
	struct gate gate;
	struct tls_server *tls;		/* --listen's context, or NULL */
};

/* The only way a connection's state changes: the legal moves are the
 * ones in the comment at the top of this file. */
static inline void conn_set_state(struct conn *c, enum conn_state to)
{
	static const uint8_t may_go_to[] = {
		[CONN_FREE] = 1u << CONN_READING,
		[CONN_READING] = 1u << CONN_HANDLING | 1u << CONN_CLOSING,
		[CONN_HANDLING] = 1u << CONN_READING | 1u << CONN_CLOSING,
		[CONN_CLOSING] = 1u << CONN_FREE,
	};

	JR_ASSERT(may_go_to[c->state] & (1u << to));
	c->state = to;
}

/* What its output buffers keep when empty: a stream (issue 16) keeps
 * what it writes again at once, instead of freeing and faulting in a
 * buffer of its size at every send. */
#define STREAM_KEEP_BYTES (512u * 1024u)
static inline size_t conn_keep_bytes(const struct conn *c)
{
	return c->streaming ? STREAM_KEEP_BYTES : HTTP_KEEP_BYTES;
}

/* Accepted, or held by its handler: not closing, not free. */
static inline bool conn_open(const struct conn *c)
{
	return c->state == CONN_READING || c->state == CONN_HANDLING;
}

/* What names c to server_finish() and the like: gen << 32 | index. */
static inline uint64_t conn_token(const struct server *s, const struct conn *c)
{
	return (uint64_t)c->gen << 32 | (uint32_t)(c - s->conns);
}

/* An operation's io_uring user_data: op:8 | gen:24 | index:32. The index
 * is a connection's (with the low 24 bits of its generation), a watched
 * descriptor's, or a refused connection's fd. */
#define TAG_OP_SHIFT 56
#define TAG_GEN_SHIFT 32
#define TAG_GEN_MASK 0xffffffu

static inline uint64_t tag(enum op op, uint32_t index, uint32_t gen)
{
	return (uint64_t)op << TAG_OP_SHIFT | (uint64_t)(gen & TAG_GEN_MASK) << TAG_GEN_SHIFT |
	       index;
}

static inline enum op tag_op(uint64_t data)
{
	return (enum op)(data >> TAG_OP_SHIFT);
}

static inline uint32_t tag_index(uint64_t data)
{
	return (uint32_t)data;
}

static inline uint32_t tag_gen(uint64_t data)
{
	return (uint32_t)(data >> TAG_GEN_SHIFT) & TAG_GEN_MASK;
}

/* --- ring.c: the operations --------------------------------------------------------- */

/* sqe carries op from now on; op_completed() once per completion. NULL
 * from sqe_get(): no SQE now, the caller owes its operation. The arm_*
 * and conn_flush() calls owe what finds no SQE; ops_repay() arms it
 * again. Not thread-safe: the loop's thread. */

void op_prepared(struct server *s, struct io_uring_sqe *sqe, enum op op, uint32_t index,
		 uint32_t gen);
void op_completed(struct server *s, const struct io_uring_cqe *cqe);
void submit_failed(struct server *s, int rc);
struct io_uring_sqe *sqe_get(struct server *s);
void arm_accept(struct server *s);
void arm_accept_tcp(struct server *s, uint32_t i);
void arm_recv(struct server *s, struct conn *c);
void arm_tick(struct server *s);
void arm_watch(struct server *s, uint32_t i);
void arm_signal(struct server *s);
void conn_flush(struct server *s, struct conn *c);
bool conn_sending(const struct conn *c);
void cancel_recv(struct server *s, struct conn *c);
void recycle(struct server *s, uint32_t bid);
void check_ops_inflight(const struct server *s);
void ops_repay(struct server *s);
int loop_wait_turn(struct server *s);
int ring_setup_buffers(struct server *s);
int ring_setup_signals(struct server *s);

/* --- conn.c: a connection's life ---------------------------------------------------- */

/* Accept fd from the Unix socket (its peer's credentials) or from TCP
 * listener tcp[listener] (--listen's TLS begun): a connection, or a 503
 * on the way (refused_answer() once its first bytes came). */
void conn_accept(struct server *s, int fd);
void conn_accept_tcp(struct server *s, int fd, uint32_t listener);
void refused_answer(struct server *s, int fd, enum budget_admit why);
/* Its buffers charged to the budget as they are now; whether it may grow;
 * its receive armed or cancelled as the budget and its backlog say. */
void conn_account(struct server *s, struct conn *c);
bool conn_may_grow(const struct server *s, const struct conn *c);
/* Is c the one let past the budget until it handles one more request
 * (server.c, favour_oldest)? */
bool conn_favoured(const struct server *s, const struct conn *c);
void conn_pace(struct server *s, struct conn *c);
/* n bytes received into c->in (deciphered first on --listen's). false:
 * TLS failed, its alert on the way out, the connection to close. */
bool conn_take(struct server *s, struct conn *c, const char *data, size_t n);

/* --listen with --munge: the first request of a connection that shook
 * hands without the key shows its MUNGE credential (mungeauth.h). true:
 * the connection is that uid's from now on; false: the refusal (401,
 * 403 or 503) is in c->pending, and the connection closes after it. */
bool conn_munge_admit(struct server *s, struct conn *c);
/* Stop reading, free once nothing is in flight; abandon: free now (the
 * ring is going away, nothing in flight will complete). */
void conn_close(struct server *s, struct conn *c);
void conn_abandon(struct server *s, struct conn *c);

#endif
