/*
 * cgroup.c - a cgroup v2 directory per command job. See cgroup.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "exec/cgroup.h"

struct jr_cgroup_idle {
	uint32_t slot;
	int fd, events_fd;
};

static void scan_slots(struct jr_cgroups *cg);

/* snprintf that says whether it all fit. */
#define FITS(buf, size, ...) ((size_t)snprintf(buf, size, __VA_ARGS__) < (size_t)(size))

/* --- small file helpers ------------------------------------------------------------------ */

static int write_at(int dir, const char *file, const char *text)
{
	int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* The file's first size - 1 bytes, NUL-terminated: its length or -errno. */
static ssize_t read_at(int dir, const char *file, char *buf, size_t size)
{
	int fd = openat(dir, file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

static bool word_in(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return true;
	return false;
}

static const struct {
	uint32_t bit;
	const char *name;
} controller_names[] = {
	{ JR_CGROUP_MEMORY, "memory" },
	{ JR_CGROUP_PIDS, "pids" },
	{ JR_CGROUP_CPU, "cpu" },
};

#define CONTROLLERS (sizeof(controller_names) / sizeof(controller_names[0]))

static uint32_t controllers_in(const char *list)
{
	uint32_t mask = 0;

	for (unsigned i = 0; i < CONTROLLERS; i++)
		if (word_in(list, controller_names[i].name))
			mask |= controller_names[i].bit;
	return mask;
}

const char *jr_cgroup_controller_names(uint32_t mask, char *buf, unsigned size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < CONTROLLERS; i++)
		if (mask & controller_names[i].bit)
			used += (size_t)snprintf(buf + used, size > used ? size - used : 0, "%s%s",
						 used ? "," : "", controller_names[i].name);
	return buf;
}

static int set_memory_max(int fd, uint64_t bytes)
{
	char text[32];

	if (bytes)
		snprintf(text, sizeof(text), "%llu", (unsigned long long)bytes);
	else
		strcpy(text, "max");
	return write_at(fd, "memory.max", text);
}

static int idle_grow(struct jr_cgroups *cg)
{
	uint32_t cap = cg->idle_cap ? cg->idle_cap * 2 : 16;
	struct jr_cgroup_idle *n = realloc(cg->idle, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	cg->idle = n;
	cg->idle_cap = cap;
	return 0;
}

/* --- finding the hierarchy -------------------------------------------------------------- */

/* mountinfo escapes spaces and the like as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
			*out++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

/* The cgroup2 mount: its mount point and the cgroup path it shows. */
static bool find_mount(char *mount, size_t msize, char *root, size_t rsize)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char r[1024], point[1024];
		const char *dash = strstr(line, " - cgroup2 ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", r, point) != 2)
			continue;
		unescape(r);
		unescape(point);
		found = FITS(mount, msize, "%s", point) && FITS(root, rsize, "%s", r);
	}
	if (f)
		fclose(f);
	return found;
}

/* This process's cgroup in the unified hierarchy ("0::/path"). */
static bool own_cgroup(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		found = FITS(out, size, "%s", line + 3);
	}
	if (f)
		fclose(f);
	return found;
}

/* mount + own cgroup, minus the part of it the mount does not show. */
static bool own_path(const char *mount, const char *root, const char *own, char *out,
		     size_t size)
{
	size_t rlen = strlen(root);

	if (strcmp(root, "/") != 0 && strncmp(own, root, rlen) == 0)
		own += rlen;
	return FITS(out, size, "%s%s", mount, strcmp(own, "/") == 0 ? "" : own);
}

static void set_none(struct jr_cgroups *cg, const char *fmt, const char *path, int err)
{
	cg->mode = JR_CGROUP_NONE;
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->dir_fd = -1;
	if (!FITS(cg->note, sizeof(cg->note), fmt, path, strerror(err)))
		cg->note[sizeof(cg->note) - 1] = '\0';
}

/* A systemd unit with Delegate=yes owns its cgroup, but cgroup v2 lets
 * no process stay in a cgroup whose children get controllers: the
 * calling process moves into <unit>/supervisor, the jobs go to
 * <unit>/jobs. */
static int enter_supervisor(const char *unit, char *subtree, size_t size)
{
	char path[600];
	int dir, rc;

	if (!FITS(path, sizeof(path), "%s/supervisor", unit) || !FITS(subtree, size, "%s/jobs", unit))
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	rc = write_at(dir, "cgroup.procs", "0");
	close(dir);
	return rc;
}

/* Controllers for the jobs: enabled in the subtree's parent (for the
 * subtree) and in the subtree (for its children). Failures only mean
 * fewer controllers. */
static void enable_controllers(struct jr_cgroups *cg)
{
	char parent[512], list[256], text[64];
	int pdir;

	snprintf(parent, sizeof(parent), "%s", cg->path);
	*strrchr(parent, '/') = '\0';
	pdir = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pdir >= 0) {
		if (read_at(pdir, "cgroup.controllers", list, sizeof(list)) > 0)
			cg->available = controllers_in(list);
		for (unsigned i = 0; i < CONTROLLERS; i++) {
			if (!(cg->available & controller_names[i].bit))
				continue;
			snprintf(text, sizeof(text), "+%s", controller_names[i].name);
			write_at(pdir, "cgroup.subtree_control", text);
			write_at(cg->dir_fd, "cgroup.subtree_control", text);
		}
		close(pdir);
	}
	if (read_at(cg->dir_fd, "cgroup.subtree_control", list, sizeof(list)) > 0)
		cg->controllers = controllers_in(list) & (JR_CGROUP_MEMORY | JR_CGROUP_PIDS);
}

static bool choose_path(struct jr_cgroups *cg, const char *name, const char *mount,
			const char *root)
{
	char own[512], own_abs[512];
	int rc;

	if (!own_cgroup(own, sizeof(own)))
		strcpy(own, "/");
	if (!own_path(mount, root, own, own_abs, sizeof(own_abs)))
		return false;
	if (getenv("INVOCATION_ID") && strcmp(own, "/") != 0 &&
	    strcmp(strrchr(own, '/'), "/supervisor") != 0) {
		rc = enter_supervisor(own_abs, cg->path, sizeof(cg->path));
		if (rc == 0)
			return true;
		/* Not delegated: the jobs go beside us, without controllers. */
	} else if (getenv("INVOCATION_ID") && strcmp(own, "/") != 0) {
		*strrchr(own_abs, '/') = '\0';	/* already in <unit>/supervisor */
		return FITS(cg->path, sizeof(cg->path), "%s/jobs", own_abs);
	}
	return FITS(cg->path, sizeof(cg->path), "%s/jobring-%s", geteuid() == 0 ? mount : own_abs,
		    name);
}

int jr_cgroups_enter_supervisor(void)
{
	char mount[400], root[400], own[512], own_abs[512], jobs[600];

	if (!getenv("INVOCATION_ID") || !find_mount(mount, sizeof(mount), root, sizeof(root)) ||
	    !own_cgroup(own, sizeof(own)) || strcmp(own, "/") == 0)
		return 0;
	if (strcmp(strrchr(own, '/'), "/supervisor") == 0)
		return 0;	/* there already */
	if (!own_path(mount, root, own, own_abs, sizeof(own_abs)))
		return -ENAMETOOLONG;
	return enter_supervisor(own_abs, jobs, sizeof(jobs));
}

void jr_cgroups_open(struct jr_cgroups *cg, const char *name, const char *explicit_path,
		     unsigned flags)
{
	char mount[400], root[400], probe[64];

	memset(cg, 0, sizeof(*cg));
	cg->dir_fd = -1;
	jr_mutex_init(&cg->pool_lock, JR_LOCK_CGROUP_POOL);
	if (flags & JR_CGROUPS_DISABLE) {
		snprintf(cg->note, sizeof(cg->note),
			 "cgroups disabled: jobs are tracked by process group only");
		return;
	}
	if (!find_mount(mount, sizeof(mount), root, sizeof(root))) {
		snprintf(cg->note, sizeof(cg->note),
			 "no cgroup2 mount in /proc/self/mountinfo: jobs are tracked by process "
			 "group only");
		return;
	}
	if (explicit_path && *explicit_path ?
		    !FITS(cg->path, sizeof(cg->path), "%s", explicit_path) :
		    !choose_path(cg, name, mount, root)) {
		snprintf(cg->note, sizeof(cg->note), "cgroup path too long: jobs are tracked by "
			 "process group only");
		return;
	}
	if (mkdir(cg->path, 0755) < 0 && errno != EEXIST) {
		set_none(cg, "cannot create %s (%s): jobs are tracked by process group only",
			 cg->path, errno);
		return;
	}
	cg->dir_fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dir_fd < 0 || read_at(cg->dir_fd, "cgroup.procs", probe, sizeof(probe)) < 0 ||
	    faccessat(cg->dir_fd, "cgroup.procs", W_OK, AT_EACCESS) < 0) {
		set_none(cg, "cannot use %s (%s): jobs are tracked by process group only",
			 cg->path, errno);
		return;
	}
	cg->mode = JR_CGROUP_V2;
	cg->has_kill = faccessat(cg->dir_fd, "cgroup.kill", F_OK, 0) == 0;
	enable_controllers(cg);
	scan_slots(cg);
}

/* --- one job ------------------------------------------------------------------------------ */

#define SLOT_PREFIX "job-"
#define LABEL_XATTR "user.jobring.job"

void jr_cgroup_job_name(uint32_t slot, char *out, unsigned size)
{
	snprintf(out, size, SLOT_PREFIX "%u", slot);
}

static bool slot_of(const char *name, uint32_t *slot)
{
	char *end;
	unsigned long v;

	if (strncmp(name, SLOT_PREFIX, strlen(SLOT_PREFIX)) != 0)
		return false;
	v = strtoul(name + strlen(SLOT_PREFIX), &end, 10);
	if (*end || v == 0 || v > UINT32_MAX)
		return false;
	*slot = (uint32_t)v;
	return true;
}

static int open_slot(const struct jr_cgroups *cg, uint32_t slot, struct jr_cgroup_job *out)
{
	char name[32];

	jr_cgroup_job_name(slot, name, sizeof(name));
	out->slot = slot;
	out->fd = openat(cg->dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	out->events_fd = out->fd < 0 ? -1 : openat(out->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (out->fd < 0 || out->events_fd < 0) {
		int err = errno;
		jr_cgroup_job_close(out);
		return -err;
	}
	return 0;
}

static int populated_fd(int events_fd)
{
	char buf[256];
	const char *p;
	ssize_t n = pread(events_fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "populated ");
	return p && p[10] == '1';
}

int jr_cgroup_job_populated(const struct jr_cgroup_job *j)
{
	return j->events_fd < 0 ? -EBADF : populated_fd(j->events_fd);
}

/* An idle one, or -ENOENT; under pool_lock. */
static int idle_pop(struct jr_cgroups *cg, struct jr_cgroup_job *out)
{
	struct jr_cgroup_idle *e;

	if (cg->idle_count == 0)
		return -ENOENT;
	e = &cg->idle[--cg->idle_count];
	*out = (struct jr_cgroup_job){ .fd = e->fd, .events_fd = e->events_fd, .slot = e->slot };
	return 0;
}

/* A new directory, at the next free number; under pool_lock. */
static int slot_make(struct jr_cgroups *cg, struct jr_cgroup_job *out)
{
	char name[32];

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t slot = ++cg->next_slot;
		jr_cgroup_job_name(slot, name, sizeof(name));
		if (mkdirat(cg->dir_fd, name, 0755) < 0) {
			if (errno == EEXIST)
				continue;	/* held by a job from before a restart */
			return -errno;
		}
		cg->made++;
		return open_slot(cg, slot, out);
	}
	return -EEXIST;
}

int jr_cgroup_job_take(struct jr_cgroups *cg, const char *label, uint64_t mem_max_bytes,
		       struct jr_cgroup_job *out)
{
	int rc;

	*out = JR_CGROUP_JOB_NONE;
	if (cg->mode != JR_CGROUP_V2)
		return 0;
	jr_mutex_lock(&cg->pool_lock);
	rc = idle_pop(cg, out);
	if (rc < 0)
		rc = slot_make(cg, out);
	jr_mutex_unlock(&cg->pool_lock);
	if (rc < 0)
		return rc;
	if (cg->controllers & JR_CGROUP_MEMORY)
		set_memory_max(out->fd, mem_max_bytes);
	if (label)	/* which job runs here, for whoever looks */
		fsetxattr(out->fd, LABEL_XATTR, label, strlen(label), 0);
	return 0;
}

int jr_cgroup_job_open(struct jr_cgroups *cg, uint32_t slot, struct jr_cgroup_job *out)
{
	*out = JR_CGROUP_JOB_NONE;
	if (cg->mode != JR_CGROUP_V2 || slot == 0)
		return -ENOENT;
	jr_mutex_lock(&cg->pool_lock);
	for (uint32_t i = 0; i < cg->idle_count; i++) {
		if (cg->idle[i].slot != slot)
			continue;
		struct jr_cgroup_idle e = cg->idle[i];
		cg->idle[i] = cg->idle[--cg->idle_count];
		*out = (struct jr_cgroup_job){ .fd = e.fd, .events_fd = e.events_fd, .slot = slot };
		jr_mutex_unlock(&cg->pool_lock);
		return 0;
	}
	if (slot > cg->next_slot)
		cg->next_slot = slot;
	jr_mutex_unlock(&cg->pool_lock);
	return open_slot(cg, slot, out);
}

void jr_cgroup_job_close(struct jr_cgroup_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->events_fd >= 0)
		close(j->events_fd);
	*j = JR_CGROUP_JOB_NONE;
}

void jr_cgroup_job_park(struct jr_cgroup_job *j)
{
	uint32_t slot = j->slot;
	bool killed = j->killed;

	jr_cgroup_job_close(j);
	j->slot = slot;
	j->killed = killed;
}

int jr_cgroup_job_unpark(struct jr_cgroups *cg, struct jr_cgroup_job *j)
{
	bool killed = j->killed;
	int rc;

	if (j->fd >= 0 || j->slot == 0)
		return 0;
	rc = open_slot(cg, j->slot, j);
	j->killed = killed;
	return rc;
}

/* Every pid in cgroup.procs gets sig; the number signalled, or -errno. */
static int signal_procs(int fd, int sig)
{
	int procs = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC), count = 0;
	FILE *f;
	long pid;

	if (procs < 0)
		return -errno;
	f = fdopen(procs, "r");
	if (!f) {
		close(procs);
		return -ENOMEM;
	}
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0 && kill((pid_t)pid, sig) == 0)
			count++;
	fclose(f);
	return count;
}

int jr_cgroup_job_signal(const struct jr_cgroup_job *j, int sig)
{
	int rc;

	if (j->fd < 0)
		return -EBADF;
	rc = signal_procs(j->fd, sig);
	return rc < 0 ? rc : 0;
}

int jr_cgroup_job_kill(struct jr_cgroup_job *j)
{
	int rc;

	if (j->fd < 0)
		return -EBADF;
	j->killed = true;	/* never reused: see give_back() */
	rc = write_at(j->fd, "cgroup.kill", "1");
	if (rc != -ENOENT)
		return rc;
	/* Before Linux 5.14: freeze, so nothing forks away, kill each, thaw,
	 * until none is left. */
	for (int round = 0; round < 100 && jr_cgroup_job_populated(j) == 1; round++) {
		write_at(j->fd, "cgroup.freeze", "1");
		rc = signal_procs(j->fd, SIGKILL);
		write_at(j->fd, "cgroup.freeze", "0");
		if (rc < 0)
			return rc;
	}
	return 0;
}

int jr_cgroup_job_wait_empty(const struct jr_cgroup_job *j, int timeout_ms)
{
	int64_t deadline = (int64_t)jr_now_monotonic_ms() + timeout_ms;

	for (;;) {
		int rc = jr_cgroup_job_populated(j);
		if (rc <= 0)
			return rc;
		int64_t left = deadline - (int64_t)jr_now_monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* cgroup.events signals a change with POLLPRI. */
		struct pollfd p = { .fd = j->events_fd, .events = POLLPRI };
		poll(&p, 1, left > 100 ? 100 : (int)left);
	}
}

/* A job running as root may have made cgroups of its own inside its
 * cgroup and given them controllers, after which no process can enter
 * it (cgroup v2 keeps processes out of a cgroup whose children have
 * controllers): they go, deepest first, when a spawn into it is refused
 * (jr_cgroup_job_clear). Reading the directory at every release would
 * cost as much as a mkdir. */
static void remove_children(int fd)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		int child = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child >= 0) {
			remove_children(child);
			close(child);
		}
		unlinkat(fd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* An empty job cgroup goes back to the idle list, or away past idle_max.
 * One that was killed (cgroup.kill) goes away too: Linux (seen on 6.18)
 * kills every process later cloned into it with CLONE_INTO_CGROUP, the
 * kill counter it compares being sampled from the parent's cgroup. */
static void give_back(struct jr_cgroups *cg, struct jr_cgroup_job *j)
{
	uint32_t max = cg->idle_max ? cg->idle_max : 64;
	char name[32];

	jr_mutex_lock(&cg->pool_lock);
	if (!j->killed && cg->idle_count < max && (cg->idle_count < cg->idle_cap ||
				     idle_grow(cg) == 0)) {
		cg->idle[cg->idle_count++] = (struct jr_cgroup_idle){ j->slot, j->fd, j->events_fd };
		jr_mutex_unlock(&cg->pool_lock);
		*j = JR_CGROUP_JOB_NONE;
		return;
	}
	cg->removed++;
	jr_mutex_unlock(&cg->pool_lock);
	jr_cgroup_job_name(j->slot, name, sizeof(name));
	jr_cgroup_job_close(j);
	unlinkat(cg->dir_fd, name, AT_REMOVEDIR);
}

int jr_cgroup_job_try_release(struct jr_cgroups *cg, struct jr_cgroup_job *j)
{
	int rc;

	if (j->fd < 0)
		return 0;
	rc = jr_cgroup_job_populated(j);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		jr_cgroup_job_kill(j);
		if (jr_cgroup_job_populated(j) != 0)
			return -EBUSY;
	}
	give_back(cg, j);
	return 0;
}

void jr_cgroup_job_clear(struct jr_cgroup_job *j)
{
	if (j->fd >= 0)
		remove_children(j->fd);
}

int jr_cgroup_job_release(struct jr_cgroups *cg, struct jr_cgroup_job *j, int timeout_ms)
{
	int rc = jr_cgroup_job_try_release(cg, j);

	if (rc != -EBUSY)
		return rc;
	rc = jr_cgroup_job_wait_empty(j, timeout_ms);
	if (rc == 0)
		return jr_cgroup_job_try_release(cg, j);
	jr_cgroup_job_close(j);	/* given up: never used again */
	return rc;
}

bool jr_cgroup_job_has_pid(const struct jr_cgroups *cg, uint32_t slot, int pid)
{
	char file[600], name[32];
	FILE *f;
	long p;
	bool found = false;

	jr_cgroup_job_name(slot, name, sizeof(name));
	if (cg->mode != JR_CGROUP_V2 ||
	    !FITS(file, sizeof(file), "%s/%s/cgroup.procs", cg->path, name))
		return false;
	f = fopen(file, "re");
	while (f && !found && fscanf(f, "%ld", &p) == 1)
		found = p == pid;
	if (f)
		fclose(f);
	return found;
}

int jr_cgroup_job_label(const struct jr_cgroup_job *j, char *out, unsigned size)
{
	ssize_t len = j->fd >= 0 ? fgetxattr(j->fd, LABEL_XATTR, out, size - 1) : -1;

	if (len < 0)
		return j->fd >= 0 ? -errno : -EBADF;
	out[len] = '\0';
	return 0;
}

int jr_cgroups_each_held(const struct jr_cgroups *cg,
			 void (*fn)(void *ctx, uint32_t slot, const char *label), void *ctx)
{
	int fd = cg->mode == JR_CGROUP_V2 ? dup(cg->dir_fd) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		struct jr_cgroup_job j;
		char label[64] = "";
		uint32_t slot;
		if (e->d_type != DT_DIR || !slot_of(e->d_name, &slot) ||
		    open_slot(cg, slot, &j) < 0)
			continue;
		if (populated_fd(j.events_fd) == 1) {
			if (jr_cgroup_job_label(&j, label, sizeof(label)) < 0)
				label[0] = '\0';
			fn(ctx, slot, label);
			n++;
		}
		jr_cgroup_job_close(&j);
	}
	closedir(d);
	return n;
}

/* --- the idle list at open and close ----------------------------------------------------- */

/* Job cgroups left by an earlier run: empty ones go (one may have been
 * killed, see give_back()), held ones (a job that outlived its daemon)
 * stay until re-adopted. */
static void scan_slots(struct jr_cgroups *cg)
{
	int fd = dup(cg->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct jr_cgroup_job j;
		uint32_t slot;
		if (e->d_type != DT_DIR || !slot_of(e->d_name, &slot))
			continue;
		if (slot > cg->next_slot)
			cg->next_slot = slot;
		if (open_slot(cg, slot, &j) < 0)
			continue;
		bool empty = populated_fd(j.events_fd) == 0;
		jr_cgroup_job_close(&j);
		/* An empty one may have been killed before: not reused. */
		if (empty)
			unlinkat(cg->dir_fd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void jr_cgroups_close(struct jr_cgroups *cg, bool remove)
{
	char name[32];

	for (uint32_t i = 0; i < cg->idle_count; i++) {
		struct jr_cgroup_idle *e = &cg->idle[i];
		close(e->fd);
		close(e->events_fd);
		jr_cgroup_job_name(e->slot, name, sizeof(name));
		if (remove)
			unlinkat(cg->dir_fd, name, AT_REMOVEDIR);
	}
	free(cg->idle);
	cg->idle = NULL;
	cg->idle_count = cg->idle_cap = 0;
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->dir_fd = -1;
	if (remove && cg->mode == JR_CGROUP_V2)
		rmdir(cg->path);	/* fails while a job's cgroup is left */
	jr_mutex_destroy(&cg->pool_lock);
}
