/*
 * listen.c - the control socket's listening end. See listen.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/net/listen.h"

/* A socket file left by a daemon that died can be replaced; one a live
 * daemon answers on cannot. */
/* Does a daemon answer on fd? A socket can still accept for a moment
 * after its daemon was killed (the kernel tears its io_uring down after
 * the process is gone), but nothing answers there. */
static bool answers(int fd)
{
	static const char req[] = "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		return false;
	return poll(&p, 1, 1000) == 1 && recv(fd, &c, 1, 0) == 1;
}

static int clear_stale_socket(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		if (answers(fd))
			rc = -EADDRINUSE;
		else
			unlink(addr->sun_path);	/* a dead daemon's, going away */
	} else if (errno == ECONNREFUSED) {
		unlink(addr->sun_path);
	}
	close(fd);
	return rc;
}

int listen_open(const struct server_opts *o, int *out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (o->listen_fd >= 0) {	/* systemd's: bound, listening, its mode set */
		fcntl(o->listen_fd, F_SETFL, fcntl(o->listen_fd, F_GETFL) | O_NONBLOCK);
		fcntl(o->listen_fd, F_SETFD, FD_CLOEXEC);
		*out = o->listen_fd;
		return 0;
	}
	if (strlen(o->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, o->path);
	rc = clear_stale_socket(&addr);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);	/* owner-only from the start: no window */
	rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc == 0 && o->group != (gid_t)-1 && chown(o->path, (uid_t)-1, o->group) < 0)
		rc = -1;
	if (rc == 0 && chmod(o->path, o->mode) < 0)
		rc = -1;
	if (rc == 0 && listen(fd, 4096) < 0)
		rc = -1;
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}
