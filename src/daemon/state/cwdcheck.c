/*
 * cwdcheck.c - can the submitter enter its job's cwd? See cwdcheck.h.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "daemon/state/cwdcheck.h"

void cwd_cache_init(struct cwd_cache *c, uid_t uid, gid_t gid, bool user_groups)
{
	*c = (struct cwd_cache){ .uid = uid, .gid = gid, .user_groups = user_groups,
				 .ngroups = -1 };
}

void cwd_cache_free(struct cwd_cache *c)
{
	free(c->groups);
	free(c->last);
	c->groups = NULL;
	c->last = NULL;
}

/* The submitter's supplementary groups, looked up once. */
static void load_groups(struct cwd_cache *c)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int n = 64;

	c->ngroups = 0;
	if (!c->user_groups) {
		n = getgroups(0, NULL);
		if (n > 0 && (c->groups = calloc((size_t)n, sizeof(gid_t))))
			c->ngroups = getgroups(n, c->groups) < 0 ? 0 : n;
		return;
	}
	if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(c->groups, (size_t)n * sizeof(gid_t));
		if (!g)
			return;
		c->groups = g;
		int want = n;
		if (getgrouplist(pw.pw_name, c->gid, c->groups, &want) >= 0) {
			c->ngroups = want;
			return;
		}
		n = want > n ? want : n * 2;
	}
}

static bool in_group(struct cwd_cache *c, gid_t g)
{
	if (g == c->gid)
		return true;
	if (c->ngroups < 0)
		load_groups(c);
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return true;
	return false;
}

/* May the submitter search (enter) a directory with this stat? */
static bool may_enter(struct cwd_cache *c, const struct stat *st)
{
	if (c->uid == 0)
		return true;	/* CAP_DAC_READ_SEARCH */
	if (st->st_uid == c->uid)
		return st->st_mode & S_IXUSR;
	if (in_group(c, st->st_gid))
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Every directory from / down to path (which is absolute). */
static bool walk(struct cwd_cache *c, const char *path, char *why, size_t size)
{
	char prefix[PATH_MAX];
	size_t len = strlen(path), at = 1;
	struct stat st;

	if (len >= sizeof(prefix)) {
		snprintf(why, size, "cwd is longer than %zu bytes", sizeof(prefix) - 1);
		return false;
	}
	for (;;) {
		/* The prefix up to the next '/' (or the whole path); "/" first. */
		memcpy(prefix, path, at);
		prefix[at] = '\0';
		if (stat(prefix, &st) < 0) {
			snprintf(why, size, "cwd \"%.80s\": %.80s: %s", path, prefix, strerror(errno));
			return false;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, size, "cwd \"%.80s\": %.80s is not a directory", path, prefix);
			return false;
		}
		if (!may_enter(c, &st)) {
			snprintf(why, size, "cwd \"%.80s\": uid %u may not enter %.80s", path,
				 (unsigned)c->uid, prefix);
			return false;
		}
		while (at < len && path[at] == '/')
			at++;
		if (at >= len)
			return true;
		const char *slash = strchr(path + at, '/');
		at = slash ? (size_t)(slash - path) : len;
	}
}

bool cwd_check(struct cwd_cache *c, const char *path, char *why, size_t size)
{
	char *real;
	bool ok;

	if (c->last && strcmp(c->last, path) == 0) {
		snprintf(why, size, "%s", c->last_why);
		return c->last_ok;
	}
	if (path[0] != '/') {
		snprintf(why, size, "cwd \"%.80s\" is not an absolute path", path);
		return false;	/* not worth keeping: no system call made */
	}
	ok = walk(c, path, why, size);
	if (ok && (real = realpath(path, NULL))) {
		if (strcmp(real, path) != 0)
			ok = walk(c, real, why, size);
		free(real);
	}
	free(c->last);
	if ((c->last = strdup(path))) {
		c->last_ok = ok;
		snprintf(c->last_why, sizeof(c->last_why), "%s", ok ? "" : why);
	}
	return ok;
}
