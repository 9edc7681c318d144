/*
 * triggerwatch.c - the file sources of triggers (triggers.h): one inotify
 * descriptor for all of them, read without blocking from the event loop,
 * each event gathered into the bursts of the triggers watching its
 * directory or file; a watched path checked as the trigger's owner.
 *
 * Several triggers on one path share the kernel's watch (inotify gives
 * the same descriptor for the same inode): every watch asks for the same
 * events, and each trigger keeps only those it named.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "daemon/state/cwdcheck.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/triggers.h"

#define WATCH_MASK (IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO)
#define READS_PER_TURN 64	/* 64 KiB each: bounded work per turn */

int triggers_watch_fd(struct triggers *t)
{
	if (t->inotify_fd < 0)
		t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return t->inotify_fd < 0 ? -errno : t->inotify_fd;
}

/* May uid (primary group gid) read what st describes? Mode bits, as the
 * kernel decides for a process of that uid and gid; supplementary
 * groups are not consulted (a directory readable only through one is
 * refused: stricter, never looser). */
static bool mode_readable(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & S_IRUSR) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

bool triggers_path_allowed(const char *path, uid_t uid, gid_t gid, bool user_groups, char *why,
			   size_t size, bool *is_dir)
{
	struct cwd_cache cwd;
	struct stat st;
	char dir[4096];
	bool ok;

	if (stat(path, &st) < 0) {
		snprintf(why, size, "file.path %.200s: %s", path, strerror(errno));
		return false;
	}
	*is_dir = S_ISDIR(st.st_mode);
	snprintf(dir, sizeof(dir), "%s", path);
	if (!*is_dir) {	/* a file: its directory must be enterable */
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
	cwd_cache_init(&cwd, uid, gid, user_groups);
	ok = cwd_check(&cwd, dir, why, size);
	cwd_cache_free(&cwd);
	if (ok && !mode_readable(&st, uid, gid)) {
		snprintf(why, size, "file.path %.200s: the trigger's owner (uid %u) cannot read it",
			 path, (unsigned)uid);
		ok = false;
	}
	return ok;
}

static bool wd_shared(const struct triggers *t, const struct trigger *tr)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (t->list[i] && t->list[i] != tr && t->list[i]->wd == tr->wd)
			return true;
	return false;
}

void triggers_unwatch(struct triggers *t, struct trigger *tr)
{
	if (tr->wd >= 0 && t->inotify_fd >= 0 && !wd_shared(t, tr))
		inotify_rm_watch(t->inotify_fd, tr->wd);
	tr->wd = -1;
}

/* Watch tr's path, checked as its owner (again after a restart: what
 * its owner may read can have changed). */
static void watch_one(struct triggers *t, struct trigger *tr)
{
	struct stat before, st;
	uint32_t mask = WATCH_MASK | (tr->path_is_dir ? IN_ONLYDIR : 0);
	char proc[64];
	int fd = triggers_watch_fd(t), wd, pfd;

	tr->watch_error[0] = '\0';
	if (fd < 0) {
		snprintf(tr->watch_error, sizeof(tr->watch_error), "inotify: %s", strerror(-fd));
		return;
	}
	/* The inode watched must be the one checked: stat before the
	 * check, the inode opened (O_PATH: no open's side effects) after,
	 * the two compared, the opened inode's own mode checked for the
	 * owner (a path swapped for a link to another user's private
	 * directory in between is refused whatever the timing), and the
	 * watch put on that very inode through /proc/self/fd. */
	if (stat(tr->path, &before) < 0) {
		snprintf(tr->watch_error, sizeof(tr->watch_error), "watch %.100s: %s", tr->path,
			 strerror(errno));
		return;
	}
	if (!triggers_path_allowed(tr->path, tr->uid, tr->gid, tr->switch_user, tr->watch_error,
				   sizeof(tr->watch_error), &tr->path_is_dir))
		return;
	mask = WATCH_MASK | (tr->path_is_dir ? IN_ONLYDIR : 0);
	pfd = open(tr->path, O_PATH | O_CLOEXEC | (tr->path_is_dir ? O_DIRECTORY : 0));
	if (pfd < 0 || fstat(pfd, &st) < 0 || st.st_ino != before.st_ino ||
	    st.st_dev != before.st_dev || !!S_ISDIR(st.st_mode) != tr->path_is_dir ||
	    !mode_readable(&st, tr->uid, tr->gid)) {
		if (pfd >= 0)
			close(pfd);
		snprintf(tr->watch_error, sizeof(tr->watch_error), "%.100s changed while it was "
			 "checked: not watched", tr->path);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	wd = inotify_add_watch(fd, proc, mask);
	close(pfd);
	if (wd < 0 && errno == ENOENT && access("/proc/self/fd", F_OK) < 0) {
		/* No /proc: by path, which must then still be that inode. */
		struct stat after;
		wd = inotify_add_watch(fd, tr->path, mask);
		if (wd >= 0 && (stat(tr->path, &after) < 0 || after.st_ino != st.st_ino ||
				after.st_dev != st.st_dev)) {
			tr->wd = wd;
			triggers_unwatch(t, tr);
			snprintf(tr->watch_error, sizeof(tr->watch_error), "%.100s changed while "
				 "it was checked: not watched", tr->path);
			return;
		}
	}
	if (wd < 0) {
		snprintf(tr->watch_error, sizeof(tr->watch_error), "watch %.100s: %s", tr->path,
			 strerror(errno));
		return;
	}
	tr->wd = wd;
	tr->watched_dev = st.st_dev;
	tr->watched_ino = st.st_ino;
}

bool triggers_watch_allowed(const struct trigger *tr, char *why, size_t size)
{
	struct stat st;
	bool dir;

	if (!triggers_path_allowed(tr->path, tr->uid, tr->gid, tr->switch_user, why, size, &dir))
		return false;
	if (tr->wd >= 0 && (stat(tr->path, &st) < 0 || st.st_ino != tr->watched_ino ||
			    st.st_dev != tr->watched_dev)) {
		snprintf(why, size, "%.100s is no longer the path watched: not watched", tr->path);
		return false;
	}
	return true;
}

void triggers_watch_all(struct triggers *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		struct trigger *tr = t->list[i];
		if (tr && tr->kind == TRIGGER_FILE && tr->wd < 0)
			watch_one(t, tr);
	}
}

/* --- bursts ------------------------------------------------------------------------------- */

static bool burst_reserve(struct trigger_burst *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *n;

	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more)
		cap *= 2;
	if (!(n = realloc(b->paths, cap)))
		return false;
	b->paths = n;
	b->cap = cap;
	return true;
}

/* text as a JSON string's content into b (the caller checked UTF-8). */
static void burst_escape(struct trigger_burst *b, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\') {
			b->paths[b->len++] = '\\';
			b->paths[b->len++] = (char)*p;
		} else if (*p < 0x20) {
			b->len += (size_t)sprintf(b->paths + b->len, "\\u%04x", *p);
		} else {
			b->paths[b->len++] = (char)*p;
		}
	}
}

/* One path seen (name: in a watched directory; NULL: the watched file). */
static void burst_add(struct triggers *t, struct trigger *tr, const char *name, uint64_t now_ns)
{
	struct trigger_burst *b = &tr->burst;
	const char *key = name ? name : "";
	size_t need = 2 * strlen(tr->path) + 6 * strlen(key) + 8;
	struct jobspec_error err;
	size_t at;

	if (b->first_ns && strcmp(b->last, key) == 0)
		return;	/* the same file again (create, modify, close) */
	snprintf(b->last, sizeof(b->last), "%s", key);
	if (!b->first_ns) {
		b->first_ns = now_ns;
		t->bursts++;
	}
	b->last_ns = now_ns;
	if (b->len + need > TRIGGER_PATHS_BYTES || !json_check_utf8(key, strlen(key), &at, &err) ||
	    !burst_reserve(b, need)) {
		b->more++;
		return;
	}
	b->paths[b->len++] = b->listed ? ',' : '"';
	if (b->listed)
		b->paths[b->len++] = '"';
	burst_escape(b, tr->path);
	if (name) {
		if (b->len && b->paths[b->len - 1] != '/')
			b->paths[b->len++] = '/';
		burst_escape(b, name);
	}
	b->paths[b->len++] = '"';
	b->listed++;
}

static uint32_t event_bit(uint32_t mask)
{
	return (mask & IN_CREATE ? TRIGGER_EV_CREATE : 0) |
	       (mask & IN_MODIFY ? TRIGGER_EV_MODIFY : 0) |
	       (mask & IN_CLOSE_WRITE ? TRIGGER_EV_CLOSE_WRITE : 0) |
	       (mask & IN_MOVED_TO ? TRIGGER_EV_MOVED_TO : 0);
}

static bool name_matches(const struct trigger *tr, const char *name)
{
	const char *base = name;

	if (!tr->pattern)
		return true;
	if (!base) {	/* a watched file: its own name */
		base = strrchr(tr->path, '/');
		base = base ? base + 1 : tr->path;
	}
	return fnmatch(tr->pattern, base, 0) == 0;
}

static void on_event(struct triggers *t, const struct inotify_event *ev, uint64_t now_ns)
{
	const char *name = ev->len ? ev->name : NULL;
	uint32_t bits = event_bit(ev->mask);

	t->file_events++;
	for (uint32_t i = 0; i < t->count; i++) {
		struct trigger *tr = t->list[i];
		if (!tr || tr->kind != TRIGGER_FILE)
			continue;
		if (ev->mask & IN_Q_OVERFLOW) {	/* some events lost: each fires */
			tr->burst.overflow = true;
			if (!tr->burst.first_ns) {
				tr->burst.first_ns = now_ns;
				t->bursts++;
			}
			tr->burst.last_ns = now_ns;
		} else if (tr->wd == ev->wd && (ev->mask & IN_IGNORED)) {
			tr->wd = -1;
			snprintf(tr->watch_error, sizeof(tr->watch_error), "%.100s went away",
				 tr->path);
		} else if (tr->wd == ev->wd && (tr->file_events & bits) && name_matches(tr, name)) {
			burst_add(t, tr, name, now_ns);
		}
	}
}

void triggers_read_events(struct triggers *t, uint64_t now_ns)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (t->inotify_fd < 0)
		return;
	for (int r = 0; r < READS_PER_TURN; r++) {
		ssize_t n = read(t->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			on_event(t, ev, now_ns);
			p += sizeof(*ev) + ev->len;
		}
	}
}

struct trigger *triggers_burst_due(struct triggers *t, uint64_t now_ns)
{
	if (!t->bursts)
		return NULL;	/* the common turn: nothing gathered */
	for (uint32_t i = 0; i < t->count; i++) {
		struct trigger *tr = t->list[i];
		const struct trigger_burst *b = tr ? &tr->burst : NULL;
		if (!b || !b->first_ns)
			continue;
		if (now_ns - b->last_ns >= tr->debounce_ms * 1000000ull ||
		    now_ns - b->first_ns >= TRIGGER_BURST_MAX_NS)
			return tr;
	}
	return NULL;
}

char *triggers_burst_payload(struct triggers *t, struct trigger *tr, size_t *len)
{
	struct trigger_burst *b = &tr->burst;
	size_t cap = b->len + 2 * strlen(tr->name) + 2 * strlen(tr->path) + 160;
	char *out = malloc(cap);
	int n;

	if (out) {
		n = snprintf(out, cap, "{\"trigger\":\"%s\",\"paths\":[%.*s],\"count\":%llu,"
			     "\"more\":%llu,\"overflow\":%s}", tr->name, (int)b->len,
			     b->paths ? b->paths : "", (unsigned long long)(b->listed + b->more),
			     (unsigned long long)b->more, b->overflow ? "true" : "false");
		*len = (size_t)n;
	}
	if (b->first_ns && t->bursts)
		t->bursts--;
	b->len = 0;
	b->listed = b->more = 0;
	b->first_ns = b->last_ns = 0;
	b->overflow = false;
	b->last[0] = '\0';
	return out;
}

/* --- while the daemon was down ------------------------------------------------------------ */

static bool newer(const struct stat *st, uint64_t since_ns)
{
	uint64_t m = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;

	return m > since_ns;
}

static void scan_one(struct triggers *t, struct trigger *tr, uint64_t now_ns)
{
	uint64_t since = tr->last_fire_ns ? tr->last_fire_ns : tr->created_ns;
	int fd = open(tr->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	DIR *d = NULL;

	/* Listed only if the path is still the directory watched. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == tr->watched_ino &&
	    st.st_dev == tr->watched_dev)
		d = fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && newer(&st, since) &&
		    name_matches(tr, e->d_name))
			burst_add(t, tr, e->d_name, now_ns);
	}
	closedir(d);
}

void triggers_scan_missed(struct triggers *t, uint64_t now_ns)
{
	for (uint32_t i = 0; i < t->count; i++) {
		struct trigger *tr = t->list[i];
		if (tr && tr->kind == TRIGGER_FILE && tr->wd >= 0 && tr->path_is_dir)
			scan_one(t, tr, now_ns);
	}
}
