/*
 * keeperlink.c - the coordinator's link to the keeper: connecting (and
 * starting one), HELLO and what the keeper holds then, the frames to it
 * (SPAWN, SIGNAL, ADOPT, ACK), and what is held but claimed by no job.
 * See keeperlink.h; the frames from the keeper are cmdkeeper.c's.
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
#include <unistd.h>

#include "base/alloc.h"
#include "base/common.h"
#include "coord/coordinator.h"
#include "coord/keeperlink.h"
#include "coord/launch.h"
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

void jr_coord_keeper_held_exited(struct jr_coordinator *co, const uint8_t *p, uint32_t len)
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

struct keeper_held *jr_coord_keeper_held(struct jr_coordinator *co, jr_job_id id)
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
	int rc = jr_kp_put(&out, KP_HELLO, &h, sizeof(h));

	if (rc == 0 && (send(fd, out.p, out.len, MSG_NOSIGNAL) != (ssize_t)out.len))
		rc = -errno;
	jr_kp_buf_free(&out);
	co->kin.len = co->kin.off = 0;
	while (rc == 0 && !end) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, STATE_WAIT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t n = jr_kp_fill(fd, &co->kin);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		while (!end && jr_kp_next(&co->kin, &hdr, &p, &bad)) {
			if (hdr.type == KP_INFO && hdr.len == sizeof(co->kinfo))
				memcpy(&co->kinfo, p, sizeof(co->kinfo));
			else if (hdr.type == KP_LIVE)
				held_live(co, p, hdr.len);
			else if (hdr.type == KP_EXITED)
				jr_coord_keeper_held_exited(co, p, hdr.len);
			else if (hdr.type == KP_STATE_END)
				end = true;
		}
		if (bad)
			return -EPROTO;
	}
	return rc;
}

int jr_coord_keeper_open(struct jr_coordinator *co, const struct jr_engine_opts *o)
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

void jr_coord_keeper_close(struct jr_coordinator *co)
{
	if (co->keeper_fd >= 0)
		close(co->keeper_fd);	/* the keeper keeps what runs */
	co->keeper_fd = -1;
	jr_kp_buf_free(&co->kin);
	jr_kp_buf_free(&co->kout);
	for (uint32_t i = 0; i < co->held_count; i++)
		jr_free(co->held[i].alloc);
	jr_free(co->held);
	co->held = NULL;
	co->held_count = co->held_cap = 0;
	free(co->keeper_socket);
	co->keeper_socket = NULL;
}

void jr_coord_keeper_reconnect(struct jr_coordinator *co)
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
}

/* What the keeper holds that no job here claimed: a process of a job
 * that was never acknowledged (its submission was not on disk when the
 * last engine died) is killed; statuses nobody needs are let go. */
void jr_coord_keeper_reconcile(struct jr_coordinator *co)
{
	uint32_t killed = 0;

	for (uint32_t i = 0; i < co->held_count; i++) {
		struct keeper_held *h = &co->held[i];
		if (h->matched)
			continue;
		if (h->exited) {
			jr_coord_keeper_ack(co, h->job_id, h->attempt);
		} else {
			struct kp_signal k = { h->job_id, h->attempt, SIGKILL };
			jr_kp_put(&co->kout, KP_SIGNAL, &k, sizeof(k));
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
		if (jr_kp_add_str(b, v[*count]) < 0)
			return -ENOMEM;
	return 0;
}

static int encode_spawn(struct jr_coordinator *co, struct cmd_job *job, struct cmd_launch *l)
{
	const struct jr_exec_spec *s = &l->spec;
	uint8_t alloc[JR_ALLOC_ENCODED_MAX];
	struct kp_spawn h = {
		.job_id = job->sj.id, .attempt = job->attempts, .mem_max = l->mem_max,
		.start_ns = jr_slot_get(co->region->slots[jr_cmd_job_slot(job)].start_ns),
		.flags = (s->set_ids ? KP_SPAWN_SET_IDS : 0) | (s->use_umask ? KP_SPAWN_UMASK : 0),
		.uid = s->uid, .gid = s->gid, .umask = s->umask,
		.cpu_words = (uint32_t)mask_words(s->cpu_mask, JR_EXEC_CPU_WORDS),
		.node_words = (uint32_t)mask_words(s->node_mask, JR_EXEC_NODE_WORDS),
	};
	struct kp_buf *b = &co->kout;
	size_t at, head_at;
	static const uint8_t pad[8];

	h.alloc_len = job->sj.alloc ? jr_alloc_encode(job->sj.alloc, alloc, sizeof(alloc)) : 0;
	if (jr_kp_begin(b, KP_SPAWN, &at) < 0)
		return -ENOMEM;
	head_at = b->len;
	if (jr_kp_add(b, &h, sizeof(h)) < 0 || jr_kp_add(b, s->cpu_mask, h.cpu_words * 8) < 0 ||
	    jr_kp_add(b, s->node_mask, h.node_words * 8) < 0 || jr_kp_add(b, alloc, h.alloc_len) < 0 ||
	    jr_kp_add(b, pad, ((h.alloc_len + 7u) & ~7u) - h.alloc_len) < 0 ||
	    add_strv(b, s->argv, &h.argc) < 0 || add_strv(b, s->envp, &h.envc) < 0 ||
	    jr_kp_add_str(b, s->cwd) < 0 || jr_kp_add_str(b, l->out) < 0 ||
	    jr_kp_add_str(b, l->err) < 0 || jr_kp_add_str(b, l->cgroup_name) < 0) {
		b->len = at;	/* the frame goes, whole */
		return -ENOMEM;
	}
	memcpy(b->p + head_at, &h, sizeof(h));	/* with argc and envc */
	jr_kp_end(b, at);
	return 0;
}

int jr_coord_keeper_spawn(struct jr_coordinator *co, struct cmd_job *job)
{
	struct cmd_launch l;
	int rc = jr_cmd_launch_prepare(co, job, &l);

	if (rc == 0)
		rc = encode_spawn(co, job, &l);
	jr_cmd_launch_free(&l);
	return rc;
}

void jr_coord_keeper_signal(struct jr_coordinator *co, struct cmd_job *job, int sig)
{
	struct kp_signal s = { job->sj.id, job->attempts, sig };

	jr_kp_put(&co->kout, KP_SIGNAL, &s, sizeof(s));
}

/* A job the journal saw running, the keeper does not hold (it died, or
 * the spawn's STARTED never came): it watches the process, if alive. */
void jr_coord_keeper_adopt(struct jr_coordinator *co, struct cmd_job *job,
			   const struct cmd_restore_info *ri)
{
	struct kp_adopt a = { .job_id = job->sj.id, .start_ns = ri->start_ns,
			      .start_ticks = ri->pid_start_ticks, .attempt = ri->attempt,
			      .pid = ri->pid, .cgroup_slot = ri->cgroup_slot,
			      .alloc_len = ri->alloc_len };
	size_t at;

	memcpy(a.boot_id, ri->boot_id, sizeof(a.boot_id));
	if (jr_kp_begin(&co->kout, KP_ADOPT, &at) == 0 && jr_kp_add(&co->kout, &a, sizeof(a)) == 0 &&
	    jr_kp_add(&co->kout, ri->alloc, ri->alloc_len) == 0)
		jr_kp_end(&co->kout, at);
}

void jr_coord_keeper_ack(struct jr_coordinator *co, jr_job_id id, uint32_t attempt)
{
	struct kp_job_ref r = { id, attempt, 0 };

	jr_kp_put(&co->kout, KP_ACK, &r, sizeof(r));
}

void jr_coord_durable(struct jr_coordinator *co, const jr_job_id *ids, const uint32_t *attempts,
		      size_t n)
{

	if (!co || co->keeper_fd < 0 || n == 0)
		return;
	jr_mutex_lock(&co->lock);
	if (jr_array_grow(&co->acks, &co->ack_cap, co->ack_count, co->ack_count + (uint32_t)n,
			  sizeof(*co->acks), 256) == 0) {
		for (size_t i = 0; i < n; i++)
			co->acks[co->ack_count++] = (struct kp_job_ref){ ids[i], attempts[i], 0 };
	}
	/* Without memory the keeper holds them until the next engine asks. */
	jr_mutex_unlock(&co->lock);
	jr_coord_poke(co);
}

bool jr_coord_keeper_pending(const struct jr_coordinator *co)
{
	return co->keeper_fd >= 0 && co->kout.off < co->kout.len;
}
