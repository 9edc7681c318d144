/*
 * keeper.h - the keeper: a small process that is the parent of every
 * command job an engine (jobringd's) starts, so that running jobs outlive
 * the engine. The engine's coordinator decides what runs where; the
 * keeper starts it (in its cgroup, bound, as its user), reaps it, empties
 * its cgroup, and holds its exit status until the engine says the status
 * is safe on disk. A daemon killed with -9, crashed or restarted leaves
 * the keeper and its jobs running; the next daemon connects to the same
 * keeper, learns what still runs and what ended meanwhile, and takes the
 * jobs back. The keeper exits once no daemon is connected and it holds
 * nothing (no job, no status), or when its state directory is deleted.
 *
 * The keeper is jobringd's own binary run as `jobringd --keeper ...`; it
 * listens on <state_dir>/keeper.sock (0600, the engine's uid only) and
 * serves one engine at a time. It is small on purpose: a few threads
 * that clone children, one loop that reaps them, no journal, no HTTP.
 *
 * The protocol (this header): frames of an 8-byte header and a payload,
 * fixed-width little-endian fields. Every frame the keeper sends about a
 * job names the job and the attempt.
 *
 *   engine -> keeper                    keeper -> engine
 *   HELLO                               INFO, then LIVE and EXITED for
 *                                       each job it holds, then STATE_END
 *   SPAWN (job, attempt, what to run)   STARTED (pid, start ticks, cgroup)
 *                                       or SPAWN_FAILED (errno)
 *   SIGNAL (job, attempt, signal)       EXITED (status, rusage, end time;
 *   ADOPT (a process the journal          LOST: no status could be had)
 *     knows of, the keeper does not)
 *   ACK (jobs whose end is on disk)     PROGRESS (running jobs' progress
 *                                         that changed, at most one frame
 *                                         per 100 ms: keeperprogress.h)
 */
#ifndef JR_KEEPER_H
#define JR_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "exec/executor.h"

#define JR_KEEPER_VERSION 1u
#define JR_KEEPER_FRAME_MAX (64 * JR_MIB)	/* a SPAWN's argv and env, at most */

enum jr_keeper_type {
	KP_HELLO = 1,
	KP_SPAWN = 2,
	KP_SIGNAL = 3,
	KP_ADOPT = 4,
	KP_ACK = 5,
	KP_INFO = 16,
	KP_LIVE = 17,
	KP_STATE_END = 18,
	KP_STARTED = 19,
	KP_SPAWN_FAILED = 20,
	KP_EXITED = 21,
	KP_PROGRESS = 22,
};

struct kp_header {
	uint32_t len;		/* payload bytes after this header */
	uint16_t type;
	uint16_t zero;
};
_Static_assert(sizeof(struct kp_header) == 8, "kp_header");

struct kp_hello {
	uint32_t version;
	uint32_t zero;
};

struct kp_info {
	uint32_t version;
	int32_t pid;		/* the keeper's */
	uint32_t cgroup_mode;	/* enum jr_cgroup_mode */
	uint32_t controllers;	/* JR_CGROUP_* in use */
	char cgroup_path[512];
	char note[256];		/* why no cgroups, if none */
};

#define KP_SPAWN_SET_IDS 1u
#define KP_SPAWN_UMASK 2u

/* Then cpu_words and node_words u64 (binding masks; 0 words: none), the
 * allocation (alloc_len bytes, padded to 8), then NUL-terminated strings:
 * argc args, envc variables, cwd ("" for none), stdout path, stderr path,
 * the job's cgroup label. */
struct kp_spawn {
	uint64_t job_id;
	uint64_t start_ns;	/* the engine's start time, given back in LIVE */
	uint64_t mem_max;	/* memory.max; 0: none */
	uint32_t attempt;
	uint32_t flags;		/* KP_SPAWN_* */
	uint32_t uid, gid, umask;
	uint32_t argc, envc;
	uint32_t cpu_words, node_words;
	uint32_t alloc_len;
};
_Static_assert(sizeof(struct kp_spawn) == 64, "kp_spawn");

struct kp_signal {
	uint64_t job_id;
	uint32_t attempt;
	int32_t sig;		/* SIGKILL: the whole cgroup */
};

/* Then alloc_len bytes of allocation. */
struct kp_adopt {
	uint64_t job_id;
	uint64_t start_ns;
	uint64_t start_ticks;
	uint8_t boot_id[16];
	uint32_t attempt;
	int32_t pid;
	uint32_t cgroup_slot;	/* 0: none */
	uint32_t alloc_len;
};

struct kp_job_ref {
	uint64_t job_id;
	uint32_t attempt;
	uint32_t zero;
};

#define KP_LIVE_ORPHAN 1u	/* not the keeper's child: its status will be lost */

/* Then alloc_len bytes of allocation (what SPAWN or ADOPT gave). attempt
 * 0: found by its cgroup after a keeper restart, attempt unknown. */
struct kp_live {
	uint64_t job_id;
	uint64_t start_ns;
	uint64_t start_ticks;
	uint32_t attempt;
	int32_t pid;
	uint32_t cgroup_slot;
	uint32_t flags;		/* KP_LIVE_* */
	uint32_t alloc_len;
	uint32_t progress1;	/* its progress + 1; 0: none (and older keepers) */
};

struct kp_started {
	uint64_t job_id;
	uint64_t start_ticks;
	uint32_t attempt;
	int32_t pid;
	uint32_t cgroup_slot;
	uint32_t zero;
};

struct kp_spawn_failed {
	uint64_t job_id;
	uint32_t attempt;
	int32_t err;		/* JR_SPAWN_ERROR(step, errno); older keepers: errno */
};

/* A PROGRESS frame is an array of these: a running job's latest value. */
struct kp_progress_entry {
	uint64_t job_id;
	uint32_t attempt;
	int32_t progress;	/* 0-100 */
};
_Static_assert(sizeof(struct kp_progress_entry) == 16, "kp_progress_entry");

#define KP_EXIT_LOST 1u		/* it ended, but not as the keeper's child */

struct kp_exited {
	uint64_t job_id;
	uint64_t end_ns;
	uint64_t max_rss_kib, user_us, system_us;
	uint32_t attempt;
	uint32_t flags;		/* KP_EXIT_* */
	int32_t exit_code;	/* -1 if killed by a signal */
	int32_t signal;
	int32_t progress;	/* last reported, or -1 */
	uint32_t zero;
};
_Static_assert(sizeof(struct kp_exited) == 64, "kp_exited");

/* The frame's exit status and rusage (kept in the frame's own order). */
static inline struct jr_exit_status jr_kp_exited_status(const struct kp_exited *x)
{
	return (struct jr_exit_status){
		.exit_code = x->exit_code, .signal = x->signal, .max_rss_kib = x->max_rss_kib,
		.user_us = x->user_us, .system_us = x->system_us,
	};
}

static inline void jr_kp_exited_set_status(struct kp_exited *x, const struct jr_exit_status *st)
{
	x->exit_code = st->exit_code;
	x->signal = st->signal;
	x->max_rss_kib = st->max_rss_kib;
	x->user_us = st->user_us;
	x->system_us = st->system_us;
}

/* --- frames ---------------------------------------------------------------------------- */

/* A growable byte buffer of frames to send, or received and not yet
 * taken. */
struct kp_buf {
	uint8_t *p;
	size_t len, cap, off;	/* off: bytes already sent or taken */
};

/* Append a frame: 0 or -ENOMEM. */
int jr_kp_put(struct kp_buf *b, uint16_t type, const void *payload, uint32_t len);
/* Begin a frame whose payload is then added with jr_kp_add; jr_kp_end fixes
 * its length. */
int jr_kp_begin(struct kp_buf *b, uint16_t type, size_t *at);
int jr_kp_add(struct kp_buf *b, const void *data, size_t len);
int jr_kp_add_str(struct kp_buf *b, const char *s);
void jr_kp_end(struct kp_buf *b, size_t at);
void jr_kp_buf_free(struct kp_buf *b);

/* Send what fits without blocking: 0 (all sent, or the socket is full:
 * b->off tells), or -errno (the peer is gone). */
int jr_kp_flush(int fd, struct kp_buf *b);
/* Read what the socket holds: >0 bytes read, 0 at end of stream,
 * -EAGAIN, or -errno. */
ssize_t jr_kp_fill(int fd, struct kp_buf *b);
/* The next whole frame in b: true with its header and payload (valid
 * until the next jr_kp_fill), false if none is complete. A frame over
 * JR_KEEPER_FRAME_MAX sets *bad. */
bool jr_kp_next(struct kp_buf *b, struct kp_header *h, const uint8_t **payload, bool *bad);

/* A SPAWN's masks (copied, whole: what jr_exec_spawn takes) and strings
 * (pointing into its payload). */
struct kp_spawn_view {
	struct kp_spawn head;
	uint64_t cpu_mask[JR_EXEC_CPU_WORDS], node_mask[JR_EXEC_NODE_WORDS];
	bool cpus, nodes;		/* masks given */
	const uint8_t *alloc;
	char **argv, **envp;		/* allocated: free() each array */
	const char *cwd, *out, *err, *label;
};

/* 0, or -EINVAL for a payload that is not a whole SPAWN. */
int jr_kp_spawn_parse(const uint8_t *p, uint32_t len, struct kp_spawn_view *v);
void jr_kp_spawn_view_free(struct kp_spawn_view *v);

/* --- the keeper process ---------------------------------------------------------------- */

struct jr_keeper_opts {
	const char *state_dir;		/* keeper.sock, keeper.pid, keeper.lock */
	const char *cgroup;		/* the job cgroups' subtree; NULL: chosen */
	const char *cgroup_name;	/* tells subtrees apart when chosen */
	bool no_cgroups;
	uint32_t spawn_threads;		/* 0: one per CPU, at most 16 */
	int ready_fd;			/* written once listening; -1: none */
};

/* Run the keeper until it has nothing left to hold. Returns the
 * process's exit status. */
int jr_keeper_run(const struct jr_keeper_opts *o);

/* jobringd's `--keeper` mode: parse argv, detach (a new session, the
 * parent returns once the keeper listens), run. */
int jr_keeper_main(int argc, char **argv);

/* Within the keeper (keepermain.c): take <dir>/keeper.lock (one keeper
 * per state directory; waits up to 5 s for a leaving one), returning its
 * fd or -errno; write keeper.pid; log a line to stderr. */
int jr_keeper_lock(int dir_fd);
void jr_keeper_write_pid(int dir_fd);
void jr_keeper_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The socket's path for a state directory. */
void jr_keeper_socket_path(const char *state_dir, char *out, size_t size);

#endif
