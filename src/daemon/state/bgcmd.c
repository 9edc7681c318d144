/*
 * bgcmd.c - a program run in the background for the event loop. See
 * bgcmd.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/common.h"
#include "daemon/state/bgcmd.h"

extern char **environ;

/* The event loop's threads block every signal (they go to its signalfd):
 * the program must not inherit that mask. */
static int spawn_attrs(posix_spawnattr_t *at)
{
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawnattr_init(at) != 0)
		return -ENOMEM;
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &all);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				     POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(at, 0);	/* its own group: killed as one */
	return 0;
}

int bgcmd_start(struct bgcmd *c, char *const argv[], uint64_t timeout_ms)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int p[2], rc;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	/* Non-blocking on our end only: the program's writes must block. */
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto close_pipe;
	}
	if ((rc = spawn_attrs(&at)) < 0)
		goto close_pipe;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = -posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc < 0)
		goto close_pipe;
	close(p[1]);
	c->pid = pid;
	c->fd = p[0];
	c->deadline_ns = jr_now_monotonic_ns() + timeout_ms * JR_NS_PER_MS;
	return 0;
close_pipe:
	close(p[0]);
	close(p[1]);
	return rc;
}

/* What the pipe holds now; past BGCMD_OUT_MAX read and dropped. */
static void read_output(struct bgcmd *c)
{
	char sink[4096];
	ssize_t n;

	while (c->fd >= 0) {
		size_t room = BGCMD_OUT_MAX - c->len;
		n = room ? read(c->fd, c->out + c->len, room) : read(c->fd, sink, sizeof(sink));
		if (n > 0) {
			c->len += room ? (size_t)n : 0;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		close(c->fd);	/* its end, or an error: nothing more comes */
		c->fd = -1;
	}
	c->out[c->len] = '\0';
}

int bgcmd_poll(struct bgcmd *c, int *status)
{
	int ws;
	pid_t r;

	if (!c->pid)
		return 0;
	read_output(c);
	if (!c->killed && jr_now_monotonic_ns() >= c->deadline_ns) {
		kill(-c->pid, SIGKILL);
		c->killed = true;
	}
	r = waitpid(c->pid, &ws, WNOHANG);
	if (r == 0)
		return 0;
	read_output(c);	/* what it wrote before it ended */
	if (c->fd >= 0) {
		close(c->fd);	/* a child of its own may hold the pipe: not waited for */
		c->fd = -1;
	}
	*status = r == c->pid && WIFEXITED(ws) && !c->killed ? WEXITSTATUS(ws) : -1;
	c->pid = 0;
	return 1;
}

void bgcmd_kill(struct bgcmd *c)
{
	if (c->pid) {
		kill(-c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

const char *bgcmd_next_line(const char *line)
{
	line += strcspn(line, "\n");
	return *line ? line + 1 : line;
}
