/*
 * cmdkeeper.c - the coordinator's side of the keeper (keeper.h): command
 * jobs started, signalled and reaped by the keeper process instead of
 * runner threads, so that they outlive this engine; and, when the engine
 * starts, the jobs the keeper still holds taken back.
 *
 * Everything here runs under the coordinator's state_lock, except
 * connecting (at start, before the coordinator runs) and
 * jr_coord_durable (co->lock). Frames to the keeper collect in co->kout
 * and are sent by the coordinator at the end of its turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "coord/cmdjob.h"
#include "shm/cmdrec.h"
#include "base/common.h"
#include "coord/coordinator.h"
#include "shm/jobtab.h"

extern char **environ;

#define STATE_WAIT_MS 30000	/* for the keeper's answer to HELLO */

/* --- connecting --------------------------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* Run keeper_argv and wait for it: it returns once its keeper listens.
 * The process shows as jobring-keeper. */
static int start_keeper(struct jr_coordinator *co)
{
	char *argv[32], name[] = "jobring-keeper";
	pid_t pid;
	int status, rc, n = 0;

	if (!co->keeper_argv || !co->keeper_argv[0])
		return -ENOENT;
	argv[n++] = name;
	while (n < 31 && co->keeper_argv[n])
		argv[n] = co->keeper_argv[n], n++;
	argv[n] = NULL;
	rc = posix_spawn(&pid, co->keeper_argv[0], NULL, NULL, argv, environ);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static int connect_or_start(struct jr_coordinator *co)
{
	int fd = connect_to(co->keeper_socket);

	if (fd >= 0)
		return fd;
	if (fd != -ENOENT && fd != -ECONNREFUSED)
		return fd;
	fd = start_keeper(co);
	return fd < 0 ? fd : connect_to(co->keeper_socket);
}

/* --- what the keeper holds at HELLO --------------------------------------------------------- */

static struct keeper_held *held_new(struct jr_coordinator *co)
{
	if (jr_array_grow(&co->held, &co->held_cap, co->held_count, co->held_count + 1,
			  sizeof(*co->held), 16) < 0)
		return NULL;
	memset(&co->held[co->held_count], 0, sizeof(co->held[0]));
	return &co->held[co->held_count++];
}

static void held_live(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
{
	struct keeper_held *h;
	struct kp_live l;

	if (len < sizeof(l))
		return;
	memcpy(&l, p, sizeof(l));
	if (sizeof(l) + l.alloc_len != len || !(h = held_new(co)))
		return;
	h->job_id = l.job_id;
	h->attempt = l.attempt;
	h->live = l;
	if (l.alloc_len && (h->alloc = jr_malloc(l.alloc_len)) != NULL)
		memcpy(h->alloc, p + sizeof(l), l.alloc_len);
}

static void held_exited(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
{
	struct keeper_held *h;
	struct kp_exited x;

	if (len != sizeof(x))
		return;
	memcpy(&x, p, sizeof(x));
	for (uint32_t i = 0; i < co->held_count; i++) {
		h = &co->held[i];
		if (h->job_id == x.job_id && !h->exited &&
		    (h->attempt == x.attempt || h->attempt == 0)) {
			h->exited = true;	/* it ended since it was reported */
			h->exit = x;
			h->attempt = x.attempt;
			return;
		}
	}
	if ((h = held_new(co)) != NULL) {
		h->job_id = x.job_id;
		h->attempt = x.attempt;
		h->exited = true;
		h->exit = x;
	}
}

struct keeper_held *coord_keeper_held(struct jr_coordinator *co, jr_job_id id)
{
	for (uint32_t i = 0; i < co->held_count; i++)
		if (co->held[i].job_id == id && !co->held[i].matched)
			return &co->held[i];
	return NULL;
}

/* HELLO, then read INFO and what the keeper holds, up to STATE_END. */
static int hello(struct jr_coordinator *co, int fd)
{
	struct kp_hello h = { JR_KEEPER_VERSION, 0 };
	struct kp_buf out = { 0 };
	struct kp_header hdr;
	const uint8_t *p;
	bool bad, end = false;
	int rc = kp_put(&out, KP_HELLO, &h, sizeof(h));

	if (rc == 0 && (send(fd, out.p, out.len, MSG_NOSIGNAL) != (ssize_t)out.len))
		rc = -errno;
	kp_buf_free(&out);
	co->kin.len = co->kin.off = 0;
	while (rc == 0 && !end) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, STATE_WAIT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t n = kp_fill(fd, &co->kin);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		while (!end && kp_next(&co->kin, &hdr, &p, &bad)) {
			if (hdr.type == KP_INFO && hdr.len == sizeof(co->kinfo))
				memcpy(&co->kinfo, p, sizeof(co->kinfo));
			else if (hdr.type == KP_LIVE)
				held_live(co, p, hdr.len);
			else if (hdr.type == KP_EXITED)
				held_exited(co, p, hdr.len);
			else if (hdr.type == KP_STATE_END)
				end = true;
		}
		if (bad)
			return -EPROTO;
	}
	return rc;
}

int coord_keeper_open(struct jr_coordinator *co, const struct jr_engine_opts *o)
{
	int fd, rc;

	co->keeper_fd = -1;
	if (!o->keeper_socket)
		return 0;
	co->keeper_socket = strdup(o->keeper_socket);
	co->keeper_argv = o->keeper_argv;
	if (!co->keeper_socket)
		return -ENOMEM;
	fd = connect_or_start(co);
	if (fd < 0)
		return fd;
	rc = hello(co, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	co->keeper_fd = fd;
	return 0;
}

void coord_keeper_close(struct jr_coordinator *co)
{
	if (co->keeper_fd >= 0)
		close(co->keeper_fd);	/* the keeper keeps what runs */
	co->keeper_fd = -1;
	kp_buf_free(&co->kin);
	kp_buf_free(&co->kout);
	for (uint32_t i = 0; i < co->held_count; i++)
		jr_free(co->held[i].alloc);
	jr_free(co->held);
	co->held = NULL;
	co->held_count = co->held_cap = 0;
	free(co->keeper_socket);
	co->keeper_socket = NULL;
}

/* --- frames to the keeper ----------------------------------------------------------------- */

static int mask_words(const uint64_t *mask, uint32_t words)
{
	while (mask && words && mask[words - 1] == 0)
		words--;
	return mask ? (int)words : 0;
}

static int add_strv(struct kp_buf *b, char *const *v, uint32_t *count)
{
	*count = 0;
	for (; v && v[*count]; (*count)++)
		if (kp_add_str(b, v[*count]) < 0)
			return -ENOMEM;
	return 0;
}

static int encode_spawn(struct jr_coordinator *co, struct cmd_job *job, struct cmd_launch *l)
{
	const struct jr_exec_spec *s = &l->spec;
	uint8_t alloc[JR_ALLOC_ENCODED_MAX];
	struct kp_spawn h = {
		.job_id = job->id, .attempt = job->attempts, .mem_max = l->mem_max,
		.start_ns = jr_slot_get(co->region->slots[job->slot].start_ns),
		.flags = (s->set_ids ? KP_SPAWN_SET_IDS : 0) | (s->use_umask ? KP_SPAWN_UMASK : 0),
		.uid = s->uid, .gid = s->gid, .umask = s->umask,
		.cpu_words = (uint32_t)mask_words(s->cpu_mask, JR_EXEC_CPU_WORDS),
		.node_words = (uint32_t)mask_words(s->node_mask, JR_EXEC_NODE_WORDS),
	};
	struct kp_buf *b = &co->kout;
	size_t at, head_at;
	static const uint8_t pad[8];

	h.alloc_len = job->sj.alloc ? jr_alloc_encode(job->sj.alloc, alloc, sizeof(alloc)) : 0;
	if (kp_begin(b, KP_SPAWN, &at) < 0)
		return -ENOMEM;
	head_at = b->len;
	if (kp_add(b, &h, sizeof(h)) < 0 || kp_add(b, s->cpu_mask, h.cpu_words * 8) < 0 ||
	    kp_add(b, s->node_mask, h.node_words * 8) < 0 || kp_add(b, alloc, h.alloc_len) < 0 ||
	    kp_add(b, pad, ((h.alloc_len + 7u) & ~7u) - h.alloc_len) < 0 ||
	    add_strv(b, s->argv, &h.argc) < 0 || add_strv(b, s->envp, &h.envc) < 0 ||
	    kp_add_str(b, s->cwd) < 0 || kp_add_str(b, s->stdout_path) < 0 ||
	    kp_add_str(b, s->stderr_path) < 0 || kp_add_str(b, l->cgroup_name) < 0) {
		b->len = at;	/* the frame goes, whole */
		return -ENOMEM;
	}
	memcpy(b->p + head_at, &h, sizeof(h));	/* with argc and envc */
	kp_end(b, at);
	return 0;
}

int coord_keeper_spawn(struct jr_coordinator *co, struct cmd_job *job)
{
	struct cmd_launch l;
	int rc = cmd_launch_prepare(co, job, &l);

	if (rc == 0)
		rc = encode_spawn(co, job, &l);
	cmd_launch_free(&l);
	return rc;
}

void coord_keeper_signal(struct jr_coordinator *co, struct cmd_job *job, int sig)
{
	struct kp_signal s = { job->id, job->attempts, sig };

	kp_put(&co->kout, KP_SIGNAL, &s, sizeof(s));
}

/* A job the journal saw running, the keeper does not hold (it died, or
 * the spawn's STARTED never came): it watches the process, if alive. */
void coord_keeper_adopt(struct jr_coordinator *co, struct cmd_job *job,
			const struct cmd_restore_info *ri)
{
	struct kp_adopt a = { .job_id = job->id, .start_ns = ri->start_ns,
			      .start_ticks = ri->pid_start_ticks, .attempt = ri->attempt,
			      .pid = ri->pid, .cgroup_slot = ri->cgroup_slot,
			      .alloc_len = ri->alloc_len };
	size_t at;

	memcpy(a.boot_id, ri->boot_id, sizeof(a.boot_id));
	if (kp_begin(&co->kout, KP_ADOPT, &at) == 0 && kp_add(&co->kout, &a, sizeof(a)) == 0 &&
	    kp_add(&co->kout, ri->alloc, ri->alloc_len) == 0)
		kp_end(&co->kout, at);
}

void jr_coord_durable(struct jr_coordinator *co, const jr_job_id *ids, const uint32_t *attempts,
		      size_t n)
{

	if (!co || co->keeper_fd < 0 || n == 0)
		return;
	pthread_mutex_lock(&co->lock);
	if (jr_array_grow(&co->acks, &co->ack_cap, co->ack_count, co->ack_count + (uint32_t)n,
			  sizeof(*co->acks), 256) == 0) {
		for (size_t i = 0; i < n; i++)
			co->acks[co->ack_count++] = (struct kp_job_ref){ ids[i], attempts[i], 0 };
	}
	/* Without memory the keeper holds them until the next engine asks. */
	pthread_mutex_unlock(&co->lock);
	coord_poke(co);
}

/* Under state_lock, on the coordinator: the acknowledgements in, what
 * waits in kout out. */
void coord_keeper_flush(struct jr_coordinator *co)
{
	if (co->keeper_fd < 0)
		return;
	pthread_mutex_lock(&co->lock);
	if (co->ack_count) {
		kp_put(&co->kout, KP_ACK, co->acks, co->ack_count * (uint32_t)sizeof(*co->acks));
		co->ack_count = 0;
	}
	pthread_mutex_unlock(&co->lock);
	if (co->kout.off < co->kout.len && kp_flush(co->keeper_fd, &co->kout) < 0)
		coord_keeper_lost(co, jr_now_realtime_ns());
}

bool coord_keeper_pending(const struct jr_coordinator *co)
{
	return co->keeper_fd >= 0 && co->kout.off < co->kout.len;
}

/* --- frames from the keeper --------------------------------------------------------------- */

static struct cmd_job *job_at(struct jr_coordinator *co, jr_job_id id, uint32_t attempt)
{
	struct cmd_job *job = coord_job_of(co, id);

	return job && job->attempts == attempt ? job : NULL;
}

static void ack_now(struct jr_coordinator *co, jr_job_id id, uint32_t attempt)
{
	struct kp_job_ref r = { id, attempt, 0 };

	kp_put(&co->kout, KP_ACK, &r, sizeof(r));
}

static void on_started(struct jr_coordinator *co, const uint8_t *p, uint32_t len, uint64_t now)
{
	struct kp_started st;
	struct cmd_job *job;

	if (len != sizeof(st))
		return;
	memcpy(&st, p, sizeof(st));
	job = job_at(co, st.job_id, st.attempt);
	if (!job || !job->spawning) {	/* nobody asked for it here: it must not run */
		struct kp_signal k = { st.job_id, st.attempt, SIGKILL };
		kp_put(&co->kout, KP_SIGNAL, &k, sizeof(k));
		return;
	}
	job->child.pid = st.pid;
	job->start_ticks = st.start_ticks;
	job->cgroup_slot = st.cgroup_slot;
	job->spawn_rc = 0;
	cmd_job_spawned(co, job, now);
}

static void on_spawn_failed(struct jr_coordinator *co, const uint8_t *p, uint32_t len,
			    uint64_t now)
{
	struct kp_spawn_failed f;
	struct cmd_job *job;

	if (len != sizeof(f))
		return;
	memcpy(&f, p, sizeof(f));
	job = job_at(co, f.job_id, f.attempt);
	if (!job || !job->spawning)
		return;
	job->spawn_rc = -(f.err ? f.err : EIO);
	cmd_job_spawned(co, job, now);
}

void coord_keeper_exit_result(const struct kp_exited *x, struct jr_exec_result *res)
{
	*res = (struct jr_exec_result){ .exit_code = x->exit_code, .signal = x->signal,
					.max_rss_kib = x->max_rss_kib, .user_us = x->user_us,
					.system_us = x->system_us };
}

static void on_exited(struct jr_coordinator *co, const uint8_t *p, uint32_t len, uint64_t now)
{
	struct jr_exec_result res;
	struct kp_exited x;
	struct cmd_job *job;

	if (len != sizeof(x))
		return;
	memcpy(&x, p, sizeof(x));
	job = job_at(co, x.job_id, x.attempt);
	if (!job || !job->running || job->external) {
		/* Not ours: one that was never acknowledged, killed at restore;
		 * or, restore still under way, one it will ask about. */
		if (jr_load_acquire(&co->restore_phase) != RESTORE_CLOSED)
			held_exited(co, p, len);
		else
			ack_now(co, x.job_id, x.attempt);
		return;
	}
	coord_set_progress(co, job, x.progress);
	job->lost = (x.flags & KP_EXIT_LOST) != 0;
	if (job->lost && co->adopted)
		co->adopted--;	/* it was not there to take back after all */
	coord_keeper_exit_result(&x, &res);
	/* When it ended, as the keeper saw it (not when we heard of it). */
	cmd_job_exited(co, job, &res, x.end_ns && x.end_ns < now ? x.end_ns : now);
}

static void on_live(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
{
	struct kp_live l;
	struct cmd_job *job;

	if (len < sizeof(l))
		return;
	memcpy(&l, p, sizeof(l));
	job = job_at(co, l.job_id, l.attempt);
	if (job && job->running && l.pid > 0) {	/* an adopted one, watched */
		job->child.pid = l.pid;
		job->start_ticks = l.start_ticks;
	}
}

static void on_frame(struct jr_coordinator *co, const struct kp_header *h, const uint8_t *p,
		     uint64_t now)
{
	switch (h->type) {
	case KP_STARTED: on_started(co, p, h->len, now); break;
	case KP_SPAWN_FAILED: on_spawn_failed(co, p, h->len, now); break;
	case KP_EXITED: on_exited(co, p, h->len, now); break;
	case KP_LIVE: on_live(co, p, h->len); break;
	default: break;	/* INFO and STATE_END again: nothing new */
	}
}

void coord_keeper_read(struct jr_coordinator *co, uint64_t now)
{
	struct kp_header h;
	const uint8_t *p;
	bool bad = false;
	ssize_t n;

	while ((n = kp_fill(co->keeper_fd, &co->kin)) > 0)
		while (kp_next(&co->kin, &h, &p, &bad))
			on_frame(co, &h, p, now);
	if (bad || n == 0 || (n < 0 && n != -EAGAIN))
		coord_keeper_lost(co, now);
}

/* --- a keeper lost ------------------------------------------------------------------------ */

/* The keeper died (or closed on us): a new one finds the jobs still
 * running in their cgroups; the others are gone without a status. */
void coord_keeper_lost(struct jr_coordinator *co, uint64_t now)
{
	int fd;

	fprintf(stderr, "jobring: the keeper (pid %d) is gone; starting another\n",
		(int)co->kinfo.pid);
	if (co->keeper_fd >= 0) {
		close(co->keeper_fd);	/* leaves the epoll set */
		co->keeper_fd = -1;
	}
	co->kin.len = co->kin.off = 0;
	co->kout.len = co->kout.off = 0;
	fd = connect_or_start(co);
	if (fd >= 0 && hello(co, fd) == 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &co->keeper_fd };
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		co->keeper_fd = fd;
		epoll_ctl(co->epfd, EPOLL_CTL_ADD, fd, &ev);
		co->keeper_restarts++;
	} else if (fd >= 0) {
		close(fd);
	}
	coord_keeper_reattach(co, now);
}

/* After a keeper restart: every running job is asked about. One the new
 * keeper does not hold is handed over (ADOPT) with what is known of its
 * process; one still spawning may have started or not: asked the same
 * way (without a pid, only its cgroup can tell). */
void coord_keeper_reattach(struct jr_coordinator *co, uint64_t now)
{
	for (uint32_t i = 0; i < co->running_count; i++) {
		struct cmd_job *job = co->running[i];
		struct keeper_held *h = coord_keeper_held(co, job->id);
		struct jr_exec_result res = { .exit_code = -1 };
		if (job->external)
			continue;
		if (h && h->attempt != 0 && h->attempt != job->attempts)
			h = NULL;
		if (h)
			h->matched = true;
		if (co->keeper_fd < 0) {	/* no keeper at all: every job is lost */
			job->lost = true;
			job->spawning = false;
			job->running = true;
			cmd_job_exited(co, job, &res, now);
			i--;
			continue;
		}
		if (h && h->exited) {
			coord_keeper_exit_result(&h->exit, &res);
			job->lost = (h->exit.flags & KP_EXIT_LOST) != 0;
			job->spawning = false;
			job->running = true;
			cmd_job_exited(co, job, &res,
				       h->exit.end_ns && h->exit.end_ns < now ? h->exit.end_ns : now);
			i--;
			continue;
		}
		struct cmd_restore_info ri = {
			.attempt = job->attempts, .pid = job->child.pid,
			.pid_start_ticks = job->start_ticks, .cgroup_slot = job->cgroup_slot,
			.start_ns = jr_slot_get(co->region->slots[job->slot].start_ns),
		};
		memcpy(ri.boot_id, jr_exec_boot_id(), sizeof(ri.boot_id));
		coord_keeper_adopt(co, job, &ri);
		job->spawning = false;
		job->running = true;
	}
	coord_keeper_reconcile(co);
}

/* What the keeper holds that no job here claimed: a process of a job
 * that was never acknowledged (its submission was not on disk when the
 * last engine died) is killed; statuses nobody needs are let go. */
void coord_keeper_reconcile(struct jr_coordinator *co)
{
	uint32_t killed = 0;

	for (uint32_t i = 0; i < co->held_count; i++) {
		struct keeper_held *h = &co->held[i];
		if (h->matched)
			continue;
		if (h->exited) {
			ack_now(co, h->job_id, h->attempt);
		} else {
			struct kp_signal k = { h->job_id, h->attempt, SIGKILL };
			kp_put(&co->kout, KP_SIGNAL, &k, sizeof(k));
			killed++;
		}
	}
	if (killed)
		fprintf(stderr, "jobring: %u processes of jobs this engine does not know of "
			"(never acknowledged) were killed\n", killed);
	for (uint32_t i = 0; i < co->held_count; i++)
		jr_free(co->held[i].alloc);
	co->held_count = 0;
}
