/*
 * proc.c - processes as /proc shows them: small files read whole, the
 * live processes that match a name and a string (a keeper by its state
 * directory, a job by a tag in its environment), children reaped.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

void jrt_read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f && fgets(out, (int)size, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

size_t jrt_proc_file(int pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while (n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

/* Alive (not a zombie, not dead) and named comm (NULL: any name). */
static bool live_and_named(int pid, const char *comm)
{
	char path[64], line[64], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	jrt_read_line(path, line, sizeof(line));
	if (!(p = strrchr(line, ')')) || p[2] == 'Z' || p[2] == 'X')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	jrt_read_line(path, line, sizeof(line));
	return !comm || strcmp(line, comm) == 0;
}

int jrt_procs_matching(const char *comm, const char *file, const char *needle, int sig)
{
	static char buf[1 << 16];
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int count = 0;

	while (dir && (e = readdir(dir))) {
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == getpid() || !live_and_named(pid, comm))
			continue;
		size_t n = jrt_proc_file(pid, file, buf, sizeof(buf));
		if (!memmem(buf, n, needle, strlen(needle)))
			continue;
		if (sig)
			kill(pid, sig);
		count++;
	}
	if (dir)
		closedir(dir);
	return count;
}

void jrt_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}
