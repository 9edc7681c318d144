/*
 * dir.c - temporary directories: made under a parent with a name that
 * says whose they are, and removed with everything under them (files
 * and directories, or, in a cgroup tree, the directories only).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

int jrt_dir_make(char *out, size_t size, const char *parent, const char *name)
{
	if ((size_t)snprintf(out, size, "%s/jr-%s-XXXXXX", parent ? parent : "/tmp", name) >= size)
		return -ENAMETOOLONG;
	return mkdtemp(out) ? 0 : -errno;
}

static int remove_under(int fd, bool dirs_only);

static bool dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* One entry of the directory fd (on device dev) and what is under it:
 * how many directories went, or -errno. */
static int remove_entry(int fd, const char *name, dev_t dev, bool dirs_only)
{
	struct stat st;
	int sub, below = 0;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;	/* gone meanwhile */
	if (!S_ISDIR(st.st_mode))
		return dirs_only || unlinkat(fd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	if (st.st_dev != dev)
		return -EXDEV;	/* a mount point: not crossed */
	sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub >= 0) {
		below = remove_under(sub, dirs_only);
		close(sub);
	}
	if (unlinkat(fd, name, AT_REMOVEDIR) == 0)
		return below < 0 ? below : below + 1;
	if (below < 0)
		return below;
	return errno == ENOENT ? below : -errno;
}

/* Remove what is under the directory fd, deepest first: the directories
 * (and the rest too unless dirs_only). How many directories went, or the
 * first failure's -errno (the others are removed all the same). */
static int remove_under(int fd, bool dirs_only)
{
	int dup_fd = dup(fd), removed = 0, rc = 0;
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;
	struct stat top;

	if (!d || fstat(fd, &top) < 0) {
		rc = -errno;
		if (d)
			closedir(d);
		else if (dup_fd >= 0)
			close(dup_fd);
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		int n = dot_or_dotdot(e->d_name) ? 0 : remove_entry(fd, e->d_name, top.st_dev,
								    dirs_only);
		if (n < 0 && !rc)
			rc = n;
		removed += n > 0 ? n : 0;
	}
	closedir(d);
	return rc ? rc : removed;
}

/* remove_under(path), then path itself. */
static int remove_tree(const char *path, bool dirs_only)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), below;

	if (fd < 0)
		return -errno;
	below = remove_under(fd, dirs_only);
	close(fd);
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return below < 0 ? 0 : below;
}

int jrt_dir_remove(const char *path)
{
	int rc = -ENOTEMPTY;

	/* A daemon or its keeper may still be writing there: twice more. */
	for (int i = 0; i < 3 && rc < 0; i++) {
		rc = remove_tree(path, false);
		if (rc == -ENOENT || (rc < 0 && unlink(path) == 0))
			return 0;	/* not there, or not a directory */
	}
	return rc < 0 ? rc : 0;
}

int jrt_dir_prune(const char *path)
{
	return remove_tree(path, true);
}
