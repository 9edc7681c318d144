/*
 * safedir.c - directories walked, made and checked one component at a
 * time on descriptors, so that no other user can swap one under us
 * (safedir.h says what is trusted and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/safedir.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

static int refuse(struct jr_safedir_error *err, const struct stat *st, const char *why, int rc)
{
	if (err) {
		err->owner = st ? st->st_uid : (uid_t)-1;
		err->mode = st ? st->st_mode & 07777 : 0;
		err->why = why;
	}
	return rc;
}

static bool trusted_owner(uid_t uid, bool root_ok)
{
	return uid == geteuid() || (root_ok && uid == 0);
}

/* A directory on the way (last: the one asked for) checked on its fd. */
static int check_dir(int fd, bool last, unsigned flags, struct jr_safedir_error *err)
{
	struct stat st;
	bool shared, sticky_ok = !last || (flags & JR_SAFEDIR_STICKY_OK);

	if (fstat(fd, &st) < 0)
		return refuse(err, NULL, "cannot be examined", -errno);
	if (!trusted_owner(st.st_uid, !last || (flags & JR_SAFEDIR_OWNER_ROOT)))
		return refuse(err, &st, "owned by another user", -EPERM);
	shared = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
	if (shared && !(sticky_ok && (st.st_mode & S_ISVTX)))
		return refuse(err, &st, "writable by group or others", -EPERM);
	return 0;
}

/* A symbolic link on the way (/var/run -> /run): followed only if root
 * or we own it, in a directory already checked (where nobody else can
 * replace it). */
static int follow_link(int dir_fd, const char *name, struct jr_safedir_error *err)
{
	struct stat st;
	int fd;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return refuse(err, NULL, "cannot be examined", -errno);
	if (!S_ISLNK(st.st_mode))
		return refuse(err, &st, "not a directory", -ENOTDIR);
	if (!trusted_owner(st.st_uid, /* root_ok */ true))
		return refuse(err, &st, "a symbolic link owned by another user", -EPERM);
	fd = openat(dir_fd, name, DIR_FLAGS);
	return fd < 0 ? refuse(err, NULL, "cannot be opened", -errno) : fd;
}

/* name in dir_fd, opened (made first if missing and allowed): its fd or
 * -errno. */
static int open_component(int dir_fd, const char *name, bool last, mode_t mode, unsigned flags,
			  struct jr_safedir_error *err)
{
	struct stat st;
	int fd = openat(dir_fd, name, DIR_FLAGS | O_NOFOLLOW), rc;

	if (fd < 0 && errno == ENOENT && (flags & JR_SAFEDIR_CREATE)) {
		if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST)
			return refuse(err, NULL, "cannot be made", -errno);
		fd = openat(dir_fd, name, DIR_FLAGS | O_NOFOLLOW);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		if (!last)
			fd = follow_link(dir_fd, name, err);
		else if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return refuse(err, &st, "a symbolic link", -ELOOP);
		else
			return refuse(err, NULL, "not a directory", -ENOTDIR);
		if (fd < 0)
			return fd;
	} else if (fd < 0) {
		rc = -errno;	/* EACCES: whose is it? */
		if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !trusted_owner(st.st_uid, !last || (flags & JR_SAFEDIR_OWNER_ROOT)))
			return refuse(err, &st, "owned by another user", -EPERM);
		return refuse(err, NULL, "cannot be opened", rc);
	}
	rc = check_dir(fd, last, flags, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The next component of *p into name (empty at the end); false if one is
 * longer than NAME_MAX. */
static bool next_component(const char **p, char *name, size_t size)
{
	size_t n;

	while (**p == '/')
		(*p)++;
	n = strcspn(*p, "/");
	if (n >= size)
		return false;
	memcpy(name, *p, n);
	name[n] = '\0';
	*p += n;
	return true;
}

static bool only_slashes(const char *p)
{
	return p[strspn(p, "/")] == '\0';
}

int jr_safedir_open(const char *path, mode_t mode, unsigned flags, struct jr_safedir_error *err)
{
	const char *p = path;
	char name[256];
	int fd, next;

	if (err)
		*err = (struct jr_safedir_error){ .owner = (uid_t)-1, .why = "" };
	if (path[0] != '/')
		return refuse(err, NULL, "not an absolute path", -EINVAL);
	if (err)
		snprintf(err->path, sizeof(err->path), "/");
	fd = open("/", DIR_FLAGS);
	if (fd < 0)
		return -errno;
	next = check_dir(fd, only_slashes(p), flags, err);
	while (next >= 0 && !only_slashes(p)) {
		if (!next_component(&p, name, sizeof(name))) {
			next = refuse(err, NULL, "a name too long", -ENAMETOOLONG);
			break;
		}
		if (err)
			snprintf(err->path, sizeof(err->path), "%.*s", (int)(p - path), path);
		next = open_component(fd, name, only_slashes(p), mode, flags, err);
		close(fd);
		fd = next;
	}
	if (next < 0) {
		if (fd >= 0 && fd != next)
			close(fd);
		return next;
	}
	return fd;
}

const char *jr_safedir_describe(int rc, const struct jr_safedir_error *err, char *buf,
				size_t size)
{
	struct passwd pw, *found = NULL;
	char pwbuf[1024];

	if (rc != -EPERM && rc != -ELOOP) {
		snprintf(buf, size, "%s: %s (%s)", err->path, err->why, strerror(-rc));
		return buf;
	}
	if (err->owner != (uid_t)-1)
		getpwuid_r(err->owner, &pw, pwbuf, sizeof(pwbuf), &found);
	snprintf(buf, size, "%s is %s (owner %s%suid %u, mode %04o)", err->path, err->why,
		 found ? found->pw_name : "", found ? ", " : "", (unsigned)err->owner,
		 (unsigned)err->mode);
	return buf;
}

int jr_safedir_check_entry(int dir_fd, const char *name, bool owner_root,
			   struct jr_safedir_error *err)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (err) {
		size_t n = strlen(err->path);
		snprintf(err->path + n, sizeof(err->path) - n, "%s%s",
			 n && err->path[n - 1] == '/' ? "" : "/", name);
	}
	if (S_ISLNK(st.st_mode))
		return refuse(err, &st, "a symbolic link", -EPERM);
	if (!S_ISSOCK(st.st_mode) && !S_ISREG(st.st_mode))
		return refuse(err, &st, "neither a socket nor a file", -EPERM);
	if (!trusted_owner(st.st_uid, owner_root))
		return refuse(err, &st, "owned by another user", -EPERM);
	return 0;
}
