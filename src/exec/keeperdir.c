/*
 * keeperdir.c - the keeper's place in its state directory: keeper.lock
 * (one keeper per directory) and keeper.pid, and its log lines on stderr.
 * See keeper.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/common.h"
#include "exec/keeper.h"

void jr_keeper_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jobring-keeper[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* One keeper per state directory. The last one may still be on its way
 * out (it unlinks its socket before it lets go of the lock). */
int jr_keeper_lock(int dir_fd)
{
	int fd = openat(dir_fd, "keeper.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		jr_sleep_ns(50 * JR_NS_PER_MS);
	}
	close(fd);
	return -EBUSY;
}

void jr_keeper_write_pid(int dir_fd)
{
	char text[32];
	int fd = openat(dir_fd, "keeper.pid",
			 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return;
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	if (write(fd, text, strlen(text)) < 0)
		jr_keeper_log("cannot write keeper.pid: %s", strerror(errno));
	close(fd);
}

/* --- jobringd --keeper ---------------------------------------------------------------------- */
