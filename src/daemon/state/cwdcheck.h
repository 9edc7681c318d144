/*
 * cwdcheck.h - a job's cwd checked at submission: an absolute path to a
 * directory that the submitting uid can enter. Each directory on the
 * path, as written and as resolved (symlinks followed: realpath), must
 * exist and grant the submitter search permission by its mode bits
 * (owner, group, other, as the kernel decides; root may enter anything).
 * The submitter's groups: its primary gid and, when the job runs as that
 * user, the group database's supplementary groups (looked up once per
 * request, and only if a directory's group matters); otherwise this
 * process's own. ACLs are not read: a directory that an ACL closes
 * passes, and the start fails with "chdir DIR: Permission denied".
 *
 * The last answer is kept (one request's jobs usually share a cwd: the
 * CLI sends its own), so a batch of a million jobs costs a few stat
 * calls. Not thread-safe: a cache belongs to one request.
 */
#ifndef JR_CWDCHECK_H
#define JR_CWDCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cwd_cache {
	uid_t uid;
	gid_t gid;
	bool user_groups;	/* the group database's (the job runs as uid) */
	int ngroups;		/* -1: not looked up yet */
	gid_t *groups;
	char *last;		/* the last path checked, and its answer */
	bool last_ok;
	char last_why[200];
};

void cwd_cache_init(struct cwd_cache *c, uid_t uid, gid_t gid, bool user_groups);
void cwd_cache_free(struct cwd_cache *c);

/* true, or false with why (a sentence naming the path) filled. */
bool cwd_check(struct cwd_cache *c, const char *path, char *why, size_t size);

#endif
