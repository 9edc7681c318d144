/*
 * cgroup.c - the cgroup v2 subtree a jobringd under test leaves behind:
 * its keeper removes its job cgroups when its state directory goes, but
 * a daemon killed with -9 while it ran jobs itself (--no-keeper), or a
 * keeper killed too, leaves them. Removed here once their processes are
 * gone, or killed when told.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

int jrt_cgroup_populated(const char *path)
{
	char file[320], buf[256];
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return strstr(buf, "populated 1") != NULL;
}

int jrt_cgroup_remove(const char *path, double wait_s)
{
	double until = jrt_now_s() + wait_s;
	int rc;

	if (!path[0] || access(path, F_OK) < 0)
		return -ENOENT;
	while ((rc = jrt_cgroup_populated(path)) == 1 && jrt_now_s() < until)
		jrt_sleep_ms(50);
	rc = jrt_dir_prune(path);	/* -ENOENT: its keeper was quicker */
	return rc < 0 && jrt_cgroup_populated(path) == 1 ? -EBUSY : rc;
}

int jrt_cgroup_kill(const char *path)
{
	char file[320];
	int fd, rc = 0;

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	if ((fd = open(file, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		rc = -errno;
	close(fd);
	return rc;
}
