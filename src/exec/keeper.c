/*
 * keeper.c - the keeper process (see keeper.h): spawn threads that clone
 * children into their cgroups, one epoll loop that reaps them, empties
 * their cgroups, holds their exit statuses until acknowledged, and talks
 * to one engine at a time.
 *
 * A job is known by (job id, attempt). Its life here: SPAWNING (queued
 * for a spawn thread) -> RUNNING (pidfd watched) -> COLLECTING (main
 * process reaped, what is left in its cgroup killed, cgroup.events
 * watched until empty) -> EXITED (status held until ACK). A job found in
 * a cgroup after a keeper restart, or handed over by ADOPT, is an orphan:
 * not a child of this keeper, so its end is seen (pidfd or cgroup) but its
 * status cannot be had: it ends LOST.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "exec/cgroup.h"
#include "exec/executor.h"
#include "exec/keeper.h"
#include "exec/keeperprogress.h"
#include "exec/outdir.h"

#define BUCKETS 4096u
#define COLLECT_CHECK_MS 1000	/* state directory, idle exit */
#define RELEASE_WAIT_MS 5000	/* job cgroups emptied when leaving with the state directory */

enum kjob_state { KJ_SPAWNING, KJ_RUNNING, KJ_COLLECTING, KJ_EXITED };

struct kjob {
	uint64_t job_id;
	uint32_t attempt;
	enum kjob_state state;
	bool orphan;			/* not our child: its status is lost */
	bool watch_cgroup;		/* its events_fd is in the epoll set */
	pid_t pid;
	uint64_t start_ticks, start_ns;
	struct jr_child child;
	struct kp_watch progress;	/* its progress pipe, while it runs */
	struct jr_cgroup_job cgroup;
	uint8_t *alloc;
	uint32_t alloc_len;
	struct kp_exited exit;		/* KJ_EXITED */
	uint8_t *request;		/* KJ_SPAWNING: the SPAWN payload */
	uint32_t request_len;
	int spawn_err;
	struct kjob *hnext, *qnext;
};

struct keeper {
	struct jr_keeper_opts o;
	struct jr_cgroups cg;
	int epfd, listen_fd, conn_fd, done_fd, timer_fd, dir_fd;
	struct kp_buf in, out;
	struct kp_progress progress;
	struct kjob *table[BUCKETS];
	uint32_t count;
	pthread_t *threads;
	uint32_t nthreads;
	struct jr_mutex lock;
	pthread_cond_t cv;
	struct kjob *queue_head, *queue_tail, *done;	/* under lock */
	uint32_t in_flight;		/* queued or being spawned (main thread) */
	bool stopping;			/* under lock */
	bool hello_pending;
	bool ever_connected;
	bool orphaned;		/* the state directory went: jobs killed, cgroups removed */
	time_t started;
	char sock_path[300];
};

#define klog jr_keeper_log

/* --- the table ------------------------------------------------------------------------------ */

static uint32_t bucket_of(uint64_t job_id)
{
	return (uint32_t)((job_id * 0x9E3779B97F4A7C15ull) >> 52) & (BUCKETS - 1);
}

/* attempt 0 matches any attempt (a job found by its cgroup). */
static struct kjob *find(struct keeper *k, uint64_t job_id, uint32_t attempt,
			 enum kjob_state not_in)
{
	for (struct kjob *j = k->table[bucket_of(job_id)]; j; j = j->hnext)
		if (j->job_id == job_id && (attempt == 0 || j->attempt == 0 ||
					    j->attempt == attempt) && j->state != not_in)
			return j;
	return NULL;
}

static struct kjob *add(struct keeper *k, uint64_t job_id, uint32_t attempt)
{
	struct kjob *j = calloc(1, sizeof(*j));
	uint32_t b = bucket_of(job_id);

	if (!j)
		return NULL;
	j->job_id = job_id;
	j->attempt = attempt;
	j->child = JR_CHILD_NONE;
	j->cgroup = JR_CGROUP_JOB_NONE;
	j->hnext = k->table[b];
	k->table[b] = j;
	k->count++;
	return j;
}

static void close_child(struct keeper *k, struct kjob *j);
static void unwatch_cgroup(struct keeper *k, struct kjob *j);

static void drop(struct keeper *k, struct kjob *j)
{
	struct kjob **p = &k->table[bucket_of(j->job_id)];

	while (*p != j)
		p = &(*p)->hnext;
	*p = j->hnext;
	k->count--;
	close_child(k, j);
	unwatch_cgroup(k, j);
	jr_cgroup_job_close(&j->cgroup);
	free(j->alloc);
	free(j->request);
	free(j);
}

static void set_alloc(struct kjob *j, const uint8_t *alloc, uint32_t len)
{
	free(j->alloc);
	j->alloc = len ? malloc(len) : NULL;
	j->alloc_len = j->alloc ? len : 0;
	if (j->alloc)
		memcpy(j->alloc, alloc, len);
}

/* --- sending ----------------------------------------------------------------------------------- */

static void send_frame(struct keeper *k, uint16_t type, const void *p, uint32_t len)
{
	if (k->conn_fd < 0)
		return;	/* no engine: what it needs is sent again at its HELLO */
	if (jr_kp_put(&k->out, type, p, len) < 0)
		klog("no memory for a frame to the engine");
}

static void send_live(struct keeper *k, const struct kjob *j)
{
	struct kp_live l = { .job_id = j->job_id, .start_ns = j->start_ns,
			     .start_ticks = j->start_ticks, .attempt = j->attempt,
			     .pid = j->pid, .cgroup_slot = j->cgroup.slot,
			     .flags = j->orphan ? KP_LIVE_ORPHAN : 0, .alloc_len = j->alloc_len,
			     .progress1 = (uint32_t)(j->child.progress.last + 1) };
	size_t at;

	if (k->conn_fd < 0 || jr_kp_begin(&k->out, KP_LIVE, &at) < 0 ||
	    jr_kp_add(&k->out, &l, sizeof(l)) < 0 || jr_kp_add(&k->out, j->alloc, j->alloc_len) < 0)
		return;
	jr_kp_end(&k->out, at);
}

static void send_state(struct keeper *k)
{
	struct kp_info info = { .version = JR_KEEPER_VERSION, .pid = getpid(),
				.cgroup_mode = k->cg.mode, .controllers = k->cg.controllers };

	snprintf(info.cgroup_path, sizeof(info.cgroup_path), "%s", k->cg.path);
	snprintf(info.note, sizeof(info.note), "%s", k->cg.note);
	send_frame(k, KP_INFO, &info, sizeof(info));
	for (uint32_t b = 0; b < BUCKETS; b++)
		for (struct kjob *j = k->table[b]; j; j = j->hnext) {
			if (j->state == KJ_EXITED)
				send_frame(k, KP_EXITED, &j->exit, sizeof(j->exit));
			else
				send_live(k, j);
		}
	send_frame(k, KP_STATE_END, NULL, 0);
	k->hello_pending = false;
}

/* --- epoll ------------------------------------------------------------------------------------- */

static void watch(struct keeper *k, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		klog("epoll: %s", strerror(errno));
}

static void unwatch(struct keeper *k, int fd)
{
	epoll_ctl(k->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Out of the epoll set first: a child being cloned right now holds a copy
 * of every descriptor until it execs, and epoll forgets a file only when
 * its last descriptor is closed, so a plain close could leave an event
 * for a job that is freed by then. */
static void close_child(struct keeper *k, struct kjob *j)
{
	if (j->child.pidfd >= 0)
		unwatch(k, j->child.pidfd);
	jr_kpp_stop(&k->progress, &j->progress);
	jr_exec_close(&j->child);
}

static void unwatch_cgroup(struct keeper *k, struct kjob *j)
{
	if (j->watch_cgroup)
		unwatch(k, j->cgroup.events_fd);
	j->watch_cgroup = false;
}

/* --- a job's end ---------------------------------------------------------------------------- */

static void exited(struct keeper *k, struct kjob *j)
{
	j->state = KJ_EXITED;
	j->exit.job_id = j->job_id;
	j->exit.attempt = j->attempt;
	if (j->exit.end_ns == 0)
		j->exit.end_ns = jr_now_realtime_ns();
	send_frame(k, KP_EXITED, &j->exit, sizeof(j->exit));
}

/* Its main process is gone: empty its cgroup (or kill what is left of
 * its process group), then it has ended. */
static void collect(struct keeper *k, struct kjob *j)
{
	int rc;

	if (j->cgroup.slot == 0 || jr_cgroup_job_unpark(&k->cg, &j->cgroup) < 0) {
		exited(k, j);	/* its group was killed as it was reaped */
		return;
	}
	unwatch_cgroup(k, j);
	rc = jr_cgroup_job_try_release(&k->cg, &j->cgroup);
	if (rc == -EBUSY) {	/* processes still dying: wait for cgroup.events */
		j->state = KJ_COLLECTING;
		watch(k, j->cgroup.events_fd, EPOLLPRI, j);
		j->watch_cgroup = true;
		return;
	}
	if (rc < 0)
		klog("job %016llx: cannot release its cgroup: %s", (unsigned long long)j->job_id,
		     strerror(-rc));
	exited(k, j);
}

static void lost(struct kjob *j)
{
	j->exit.flags |= KP_EXIT_LOST;
	j->exit.exit_code = -1;
	j->exit.progress = -1;
}

/* The pidfd of a running job became readable. */
static void reap(struct keeper *k, struct kjob *j)
{
	struct jr_exit_status res;
	/* Without a cgroup, what is left of its process group dies first. */
	int rc = j->cgroup.slot == 0 && !j->orphan ? jr_exec_reap_group(&j->child, &res, false) :
						 jr_exec_try_reap(&j->child, &res);

	if (rc == 0)
		return;
	memset(&j->exit, 0, sizeof(j->exit));
	if (rc < 0 || j->orphan) {	/* not our child (ECHILD): gone, no status */
		lost(j);
	} else {
		jr_kp_exited_set_status(&j->exit, &res);
		j->exit.progress = jr_kpp_stop(&k->progress, &j->progress);
	}
	j->exit.end_ns = jr_now_realtime_ns();
	close_child(k, j);
	collect(k, j);
}

/* cgroup.events of a job changed: a collecting job may be empty now; an
 * orphan known only by its cgroup may have ended. */
static void cgroup_changed(struct keeper *k, struct kjob *j)
{
	if (jr_cgroup_job_populated(&j->cgroup) == 1)
		return;
	if (j->state == KJ_RUNNING) {	/* an orphan without a pid to watch */
		memset(&j->exit, 0, sizeof(j->exit));
		lost(j);
		j->exit.end_ns = jr_now_realtime_ns();
	}
	collect(k, j);
}

/* --- spawning ------------------------------------------------------------------------------ */

/* The SPAWN names the output files by path, in one directory: opened
 * and checked for this spawn (jr_outdir_open_pair). */
static int output_dir(struct kp_spawn_view *v, struct jr_exec_spec *s)
{
	int rc = jr_outdir_open_pair(v->out, v->err, &s->stdout_path, &s->stderr_path,
				     &s->output_dir_fd);

	if (rc < 0)
		klog("output directory of %s: %s", v->out, jr_outdir_strerror(rc));
	return rc;
}

static void spawn_one(struct keeper *k, struct kjob *j)
{
	struct kp_spawn_view v;
	struct jr_exec_spec s = { 0 };
	int step = JR_SPAWN_STEP_PREPARE;
	int rc = jr_kp_spawn_parse(j->request, j->request_len, &v);

	if (rc < 0) {
		j->spawn_err = EINVAL;
		return;
	}
	s.argv = v.argv;
	s.envp = v.envp;
	s.cwd = *v.cwd ? v.cwd : NULL;
	rc = output_dir(&v, &s);
	if (rc < 0) {
		j->spawn_err = -rc;
		jr_kp_spawn_view_free(&v);
		return;
	}
	s.cpu_mask = v.cpus ? v.cpu_mask : NULL;
	s.node_mask = v.nodes ? v.node_mask : NULL;
	s.use_umask = v.head.flags & KP_SPAWN_UMASK;
	s.umask = v.head.umask;
	s.set_ids = v.head.flags & KP_SPAWN_SET_IDS;
	s.uid = v.head.uid;
	s.gid = v.head.gid;
	rc = jr_cgroup_job_take(&k->cg, v.label, v.head.mem_max, &j->cgroup);
	s.cgroup_fd = j->cgroup.fd;
	s.failed_step = &step;
	if (rc == 0)
		rc = jr_exec_spawn(&s, &j->child);
	if (rc == 0) {
		j->pid = j->child.pid;
		jr_exec_start_ticks(j->pid, &j->start_ticks);
		jr_cgroup_job_park(&j->cgroup);	/* two descriptors fewer while it runs */
	} else {
		jr_cgroup_job_release(&k->cg, &j->cgroup, 10000);
		j->spawn_err = JR_SPAWN_ERROR(step, -rc);	/* the step rides in bits 16+ */
	}
	set_alloc(j, v.alloc, v.head.alloc_len);
	j->start_ns = v.head.start_ns;
	if (s.output_dir_fd > 0)
		close(s.output_dir_fd);
	jr_kp_spawn_view_free(&v);
}

static void *spawn_thread(void *arg)
{
	struct keeper *k = arg;
	uint64_t one = 1;

	jr_mutex_lock(&k->lock);
	for (;;) {
		struct kjob *j = k->queue_head;
		if (!j) {
			if (k->stopping)
				break;
			jr_cond_wait(&k->cv, &k->lock);
			continue;
		}
		k->queue_head = j->qnext;
		if (!k->queue_head)
			k->queue_tail = NULL;
		jr_mutex_unlock(&k->lock);
		spawn_one(k, j);
		jr_mutex_lock(&k->lock);
		j->qnext = k->done;
		k->done = j;
		if (write(k->done_fd, &one, sizeof(one)) < 0)
			(void)0;	/* saturated: the loop is awake anyway */
	}
	jr_mutex_unlock(&k->lock);
	return NULL;
}

/* Spawns done: watch each child, tell the engine. */
static void spawns_done(struct keeper *k)
{
	struct kjob *done;
	uint64_t v;

	if (read(k->done_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	jr_mutex_lock(&k->lock);
	done = k->done;
	k->done = NULL;
	jr_mutex_unlock(&k->lock);
	while (done) {
		struct kjob *j = done;
		done = j->qnext;
		k->in_flight--;
		free(j->request);
		j->request = NULL;
		if (j->spawn_err) {
			struct kp_spawn_failed f = { j->job_id, j->attempt, j->spawn_err };
			send_frame(k, KP_SPAWN_FAILED, &f, sizeof(f));
			drop(k, j);
			continue;
		}
		j->state = KJ_RUNNING;
		watch(k, j->child.pidfd, EPOLLIN, j);
		jr_kpp_watch(&k->progress, &j->progress, &j->child, j->job_id, j->attempt);
		struct kp_started st = { .job_id = j->job_id, .start_ticks = j->start_ticks,
					 .attempt = j->attempt, .pid = j->pid,
					 .cgroup_slot = j->cgroup.slot };
		send_frame(k, KP_STARTED, &st, sizeof(st));
	}
	if (k->hello_pending && k->in_flight == 0)
		send_state(k);
}

/* --- frames from the engine ---------------------------------------------------------------- */

static void on_spawn(struct keeper *k, const uint8_t *p, uint32_t len)
{
	struct kp_spawn head;
	struct kjob *j;

	if (len < sizeof(head))
		return;
	memcpy(&head, p, sizeof(head));
	if (find(k, head.job_id, head.attempt, KJ_EXITED)) {
		klog("job %016llx attempt %u: already started; a second SPAWN ignored",
		     (unsigned long long)head.job_id, head.attempt);
		return;
	}
	j = add(k, head.job_id, head.attempt);
	if (!j || !(j->request = malloc(len))) {
		struct kp_spawn_failed f = { head.job_id, head.attempt, ENOMEM };
		send_frame(k, KP_SPAWN_FAILED, &f, sizeof(f));
		if (j)
			drop(k, j);
		return;
	}
	memcpy(j->request, p, len);
	j->request_len = len;
	j->state = KJ_SPAWNING;
	k->in_flight++;
	jr_mutex_lock(&k->lock);
	if (k->queue_tail)
		k->queue_tail->qnext = j;
	else
		k->queue_head = j;
	k->queue_tail = j;
	j->qnext = NULL;
	pthread_cond_signal(&k->cv);
	jr_mutex_unlock(&k->lock);
}

static void on_signal(struct keeper *k, const uint8_t *p, uint32_t len)
{
	struct kp_signal s;
	struct kjob *j;

	if (len != sizeof(s))
		return;
	memcpy(&s, p, sizeof(s));
	j = find(k, s.job_id, s.attempt, KJ_EXITED);
	if (!j || j->state == KJ_SPAWNING)
		return;	/* the engine signals again once it has STARTED */
	if (j->cgroup.slot && jr_cgroup_job_unpark(&k->cg, &j->cgroup) == 0) {
		if (s.sig == SIGKILL)
			jr_cgroup_job_kill(&j->cgroup);
		else
			jr_cgroup_job_signal(&j->cgroup, s.sig);
	} else if (j->pid > 0 && j->state == KJ_RUNNING) {
		kill(-j->pid, s.sig);	/* its session: the group it leads */
	}
}

/* Watch a process the journal knows of and this keeper does not. */
static void adopt_watch(struct keeper *k, struct kjob *j, const struct kp_adopt *a)
{
	int pidfd = -1;

	char label[64], want[20];

	snprintf(want, sizeof(want), "%016llx", (unsigned long long)a->job_id);
	if (a->cgroup_slot && jr_cgroup_job_open(&k->cg, a->cgroup_slot, &j->cgroup) == 0 &&
	    (jr_cgroup_job_populated(&j->cgroup) != 1 ||
	     jr_cgroup_job_label(&j->cgroup, label, sizeof(label)) < 0 || strcmp(label, want)))
		jr_cgroup_job_close(&j->cgroup);	/* not its cgroup (any more) */
	if (a->pid > 0 && jr_exec_process_alive(a->pid, a->start_ticks, a->boot_id))
		pidfd = (int)syscall(SYS_pidfd_open, a->pid, 0);
	/* Opened after the check: the same process only if still alive. */
	if (pidfd >= 0 && !jr_exec_process_alive(a->pid, a->start_ticks, a->boot_id)) {
		close(pidfd);
		pidfd = -1;
	}
	if (pidfd >= 0) {
		j->child = JR_CHILD_OF(a->pid, pidfd);
		j->pid = a->pid;
		watch(k, pidfd, EPOLLIN, j);
	} else if (j->cgroup.fd >= 0) {
		watch(k, j->cgroup.events_fd, EPOLLPRI, j);
		j->watch_cgroup = true;
	} else {
		memset(&j->exit, 0, sizeof(j->exit));
		lost(j);
		exited(k, j);	/* gone already */
		return;
	}
	send_live(k, j);
}

static void on_adopt(struct keeper *k, const uint8_t *p, uint32_t len)
{
	struct kp_adopt a;
	struct kjob *j;

	if (len < sizeof(a))
		return;
	memcpy(&a, p, sizeof(a));
	if (sizeof(a) + a.alloc_len != len)
		return;
	j = find(k, a.job_id, a.attempt, KJ_EXITED);
	if (j && j->attempt == 0) {	/* found by its cgroup: now we know more */
		j->attempt = a.attempt;
		j->start_ns = a.start_ns;
		set_alloc(j, p + sizeof(a), a.alloc_len);
		send_live(k, j);
		return;
	}
	if (j)
		return;	/* ours already: LIVE said so */
	j = add(k, a.job_id, a.attempt);
	if (!j)
		return;
	j->state = KJ_RUNNING;
	j->orphan = true;
	j->start_ns = a.start_ns;
	j->start_ticks = a.start_ticks;
	set_alloc(j, p + sizeof(a), a.alloc_len);
	adopt_watch(k, j, &a);
}

static void on_ack(struct keeper *k, const uint8_t *p, uint32_t len)
{
	for (uint32_t at = 0; at + sizeof(struct kp_job_ref) <= len; at += sizeof(struct kp_job_ref)) {
		struct kp_job_ref r;
		memcpy(&r, p + at, sizeof(r));
		for (struct kjob *j = k->table[bucket_of(r.job_id)]; j; j = j->hnext)
			if (j->job_id == r.job_id && j->attempt == r.attempt && j->state == KJ_EXITED) {
				drop(k, j);
				break;
			}
	}
}

static void on_frame(struct keeper *k, const struct kp_header *h, const uint8_t *p)
{
	switch (h->type) {
	case KP_HELLO:
		if (k->in_flight)
			k->hello_pending = true;	/* once the spawns under way are known */
		else
			send_state(k);
		break;
	case KP_SPAWN: on_spawn(k, p, h->len); break;
	case KP_SIGNAL: on_signal(k, p, h->len); break;
	case KP_ADOPT: on_adopt(k, p, h->len); break;
	case KP_ACK: on_ack(k, p, h->len); break;
	default: klog("unknown frame type %u from the engine: ignored", h->type);
	}
}

/* --- the connection -------------------------------------------------------------------------- */

static void conn_close(struct keeper *k)
{
	if (k->conn_fd < 0)
		return;
	close(k->conn_fd);	/* leaves the epoll set */
	k->conn_fd = -1;
	k->in.len = k->in.off = 0;
	k->out.len = k->out.off = 0;
	k->hello_pending = false;
}

static void conn_read(struct keeper *k)
{
	struct kp_header h;
	const uint8_t *p;
	bool bad = false;
	ssize_t n;

	while ((n = jr_kp_fill(k->conn_fd, &k->in)) > 0)
		while (jr_kp_next(&k->in, &h, &p, &bad))
			on_frame(k, &h, p);
	if (bad) {
		klog("a frame over the limit from the engine: connection closed");
		conn_close(k);
	} else if (n == 0 || (n < 0 && n != -EAGAIN)) {
		conn_close(k);	/* the engine went away; its jobs stay */
	}
}

/* One engine at a time, of our uid: a new one replaces an old one (which
 * must be dead: one daemon per state directory). */
static void conn_accept(struct keeper *k)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(k->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
		close(fd);
		return;
	}
	conn_close(k);
	k->conn_fd = fd;
	k->ever_connected = true;
	watch(k, fd, EPOLLIN, &k->conn_fd);
}

/* --- life ---------------------------------------------------------------------------------- */

/* A job cgroup that holds processes nobody here started: a job of a
 * keeper that died. Known by the job id it was labelled with. */
static void found_held(void *ctx, uint32_t slot, const char *label)
{
	struct keeper *k = ctx;
	char *end;
	uint64_t id = strtoull(label, &end, 16);
	struct kjob *j;

	if (!*label || *end || !(j = add(k, id, 0)))
		return;
	j->state = KJ_RUNNING;
	j->orphan = true;
	if (jr_cgroup_job_open(&k->cg, slot, &j->cgroup) < 0) {
		drop(k, j);
		return;
	}
	watch(k, j->cgroup.events_fd, EPOLLPRI, j);
	j->watch_cgroup = true;
	klog("job %s: still running in %s/job-%u from before this keeper: watching it", label,
	     k->cg.path, slot);
}

static int listen_socket(struct keeper *k)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	jr_keeper_socket_path(k->o.state_dir, k->sock_path, sizeof(k->sock_path));
	if (strlen(k->sock_path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, k->sock_path);
	k->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->listen_fd < 0)
		return -errno;
	unlink(k->sock_path);	/* a dead keeper's: we hold keeper.lock */
	mode_t old = umask(0177);
	int rc = bind(k->listen_fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(k->listen_fd, 4) < 0)
		return -errno;
	watch(k, k->listen_fd, EPOLLIN, &k->listen_fd);
	return 0;
}

static int setup(struct keeper *k)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	k->conn_fd = k->listen_fd = k->progress.timer_fd = -1;
	k->started = time(NULL);
	jr_mutex_init(&k->lock, JR_LOCK_KEEPER);
	pthread_cond_init(&k->cv, NULL);
	k->dir_fd = open(k->o.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	k->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (k->dir_fd < 0 || k->epfd < 0 || k->done_fd < 0 || k->timer_fd < 0)
		return -errno;
	timerfd_settime(k->timer_fd, 0, &its, NULL);
	watch(k, k->done_fd, EPOLLIN, &k->done_fd);
	watch(k, k->timer_fd, EPOLLIN, &k->timer_fd);
	rc = jr_kpp_init(&k->progress, k->epfd, &k->progress.timer_fd);
	if (rc < 0)
		return rc;
	jr_cgroups_open(&k->cg, k->o.cgroup_name ? k->o.cgroup_name : "keeper", k->o.cgroup,
			k->o.no_cgroups ? JR_CGROUPS_DISABLE : 0);
	k->cg.idle_max = 2 * (uint32_t)(cpus > 0 ? cpus : 1) + 16;
	jr_cgroups_each_held(&k->cg, found_held, k);
	k->nthreads = k->o.spawn_threads ? k->o.spawn_threads :
		      (uint32_t)(cpus > 16 ? 16 : cpus > 0 ? cpus : 1);
	k->threads = calloc(k->nthreads, sizeof(*k->threads));
	if (!k->threads)
		return -ENOMEM;
	for (uint32_t i = 0; i < k->nthreads; i++)
		if (pthread_create(&k->threads[i], NULL, spawn_thread, k) != 0)
			return -EAGAIN;
	return 0;
}

/* Gone with our state directory (a test's temporary one, an uninstall):
 * nobody will ever collect what we hold. */
static bool state_dir_gone(struct keeper *k)
{
	struct stat st;

	return fstat(k->dir_fd, &st) < 0 || st.st_nlink == 0;
}

static void kill_all(struct keeper *k)
{
	for (uint32_t b = 0; b < BUCKETS; b++)
		for (struct kjob *j = k->table[b]; j; j = j->hnext) {
			if (j->cgroup.slot && jr_cgroup_job_unpark(&k->cg, &j->cgroup) == 0) {
				jr_cgroup_job_kill(&j->cgroup);
				jr_cgroup_job_park(&j->cgroup);	/* 2 fds a job at most */
			} else if (j->pid > 0 && !j->orphan && j->state == KJ_RUNNING) {
				kill(-j->pid, SIGKILL);
			}
		}
}

/* After kill_all(): each job's cgroup goes once empty, so that a keeper
 * leaving with its state directory leaves no cgroup behind (a host has a
 * limit on them). At most RELEASE_WAIT_MS in all. */
static void release_all(struct keeper *k)
{
	int64_t until = (int64_t)jr_now_monotonic_ms() + RELEASE_WAIT_MS;

	for (uint32_t b = 0; b < BUCKETS; b++)
		for (struct kjob *j = k->table[b]; j; j = j->hnext) {
			int64_t left = until - (int64_t)jr_now_monotonic_ms();
			if (j->cgroup.slot && jr_cgroup_job_unpark(&k->cg, &j->cgroup) == 0)
				jr_cgroup_job_release(&k->cg, &j->cgroup, left > 0 ? (int)left : 0);
		}
}

static bool done(struct keeper *k)
{
	if (state_dir_gone(k)) {
		klog("state directory %s is gone: stopping %u jobs and exiting", k->o.state_dir,
		     k->count);
		kill_all(k);
		k->orphaned = true;
		return true;
	}
	/* Started for an engine that connects in a moment. */
	if (!k->ever_connected && time(NULL) - k->started < 30)
		return false;
	return k->conn_fd < 0 && k->count == 0 && k->in_flight == 0;
}

static void dispatch(struct keeper *k, void *ptr, uint32_t events)
{
	uint64_t v;

	if (ptr == &k->listen_fd) {
		conn_accept(k);
	} else if (ptr == &k->conn_fd) {
		conn_read(k);
	} else if (ptr == &k->done_fd) {
		spawns_done(k);
	} else if (ptr == &k->progress.timer_fd) {
		jr_kpp_tick(&k->progress, k->conn_fd >= 0 ? &k->out : NULL);
	} else if (jr_kpp_untag(ptr)) {
		jr_kpp_ready(&k->progress, jr_kpp_untag(ptr));
	} else if (ptr == &k->timer_fd) {
		if (read(k->timer_fd, &v, sizeof(v)) < 0)
			(void)0;
	} else {
		struct kjob *j = ptr;
		if ((events & EPOLLPRI) || j->watch_cgroup)
			cgroup_changed(k, j);
		else
			reap(k, j);
	}
}

static void loop(struct keeper *k)
{
	struct epoll_event ev[64];

	for (;;) {
		if (k->conn_fd >= 0 && jr_kp_flush(k->conn_fd, &k->out) < 0)
			conn_close(k);
		if (done(k))
			return;
		struct epoll_event want = { .events = EPOLLIN |
					    (k->out.off < k->out.len ? EPOLLOUT : 0),
					    .data.ptr = &k->conn_fd };
		if (k->conn_fd >= 0)
			epoll_ctl(k->epfd, EPOLL_CTL_MOD, k->conn_fd, &want);
		int n = epoll_wait(k->epfd, ev, 64, COLLECT_CHECK_MS);
		for (int i = 0; i < n; i++)
			dispatch(k, ev[i].data.ptr, ev[i].events);
	}
}

static void teardown(struct keeper *k)
{
	jr_mutex_lock(&k->lock);
	k->stopping = true;
	pthread_cond_broadcast(&k->cv);
	jr_mutex_unlock(&k->lock);
	for (uint32_t i = 0; i < k->nthreads && k->threads; i++)
		pthread_join(k->threads[i], NULL);
	free(k->threads);
	if (k->orphaned)
		release_all(k);
	for (uint32_t b = 0; b < BUCKETS; b++)
		while (k->table[b])
			drop(k, k->table[b]);
	unlink(k->sock_path);
	if (k->dir_fd >= 0)
		unlinkat(k->dir_fd, "keeper.pid", 0);
	jr_cgroups_close(&k->cg, /* remove */ true);
	jr_kpp_close(&k->progress);
	jr_kp_buf_free(&k->in);
	jr_kp_buf_free(&k->out);
}

int jr_keeper_run(const struct jr_keeper_opts *o)
{
	struct keeper *k = calloc(1, sizeof(*k));
	int lock_fd, rc;

	if (!k)
		return 1;
	k->o = *o;
	rc = setup(k);
	lock_fd = rc == 0 ? jr_keeper_lock(k->dir_fd) : rc;
	if (lock_fd < 0 || (rc = listen_socket(k)) < 0) {
		klog("cannot start in %s: %s", o->state_dir, strerror(lock_fd < 0 ? -lock_fd : -rc));
		if (o->ready_fd >= 0)
			close(o->ready_fd);
		teardown(k);
		free(k);
		return 1;
	}
	jr_keeper_write_pid(k->dir_fd);
	if (k->cg.mode != JR_CGROUP_V2)
		klog("%s", k->cg.note);
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "R", 1) < 0)
			(void)0;
		close(o->ready_fd);
	}
	loop(k);
	teardown(k);
	close(lock_fd);
	free(k);
	return 0;
}
