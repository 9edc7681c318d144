/*
 * jrreq.c - one HTTP request over a Unix socket, for the shell suites'
 * req (tests/lib.sh): what `curl -s -w '\n%{http_code}' --unix-socket
 * SOCK -X METHOD [--data-binary BODY] http://jobring/PATH` prints, the
 * answer's body, a newline and its status ("000" if none came), at a
 * third of curl's cost in a fork and exec: the suites make thousands of
 * requests on a machine their processes keep busy. Built without the
 * sanitizers' runtime whatever the build's mode (their start-up is
 * what it would save). Reads a Content-Length answer or one that ends
 * with the connection (Connection: close is asked for); no chunks.
 *
 * Usage: jrreq SOCKET METHOD PATH [BODY]   (BODY: sent as application/json)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The answer has its head and all the body its Content-Length names. */
static int complete(const char *buf, size_t len)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;

	if (!end || !(cl = strcasestr(buf, "\r\nContent-Length:")) || cl > end)
		return 0;
	return (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10) <= len;
}

/* Until the connection ends or the answer is whole: NUL-terminated. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536;
	char *buf = malloc(cap);

	*len = 0;
	while (buf) {
		if (cap - *len < 4096) {
			char *n = realloc(buf, cap *= 2);
			if (!n)
				break;
			buf = n;
		}
		ssize_t r = recv(fd, buf + *len, cap - *len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[*len] = '\0';
			return buf;
		}
		*len += (size_t)r;
		buf[*len] = '\0';
		if (complete(buf, *len))
			return buf;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *body = argc > 4 ? argv[4] : NULL;
	size_t len = 0;
	int status = 0, fd;
	char head[8192], *answer, *end;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: jrreq SOCKET METHOD PATH [BODY]\n");
		return 2;
	}
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: jobring\r\n"
			 "Connection: close\r\n%s", argv[2], argv[3],
			 body ? "Content-Type: application/json\r\n" : "");
	if (n < 0 || (size_t)n + 64 > sizeof(head))
		return 2;
	n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n\r\n",
		      body ? strlen(body) : 0);
	if ((fd = connect_to(argv[1])) < 0 || send_all(fd, head, (size_t)n) < 0 ||
	    (body && send_all(fd, body, strlen(body)) < 0) || !(answer = read_all(fd, &len))) {
		printf("\n000");
		return 7;
	}
	close(fd);
	end = strstr(answer, "\r\n\r\n");
	if (!end || sscanf(answer, "HTTP/1.1 %d", &status) != 1) {
		printf("\n000");
		return 7;
	}
	fwrite(end + 4, 1, len - (size_t)(end + 4 - answer), stdout);
	printf("\n%03d", status);
	free(answer);
	return 0;
}
