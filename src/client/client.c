/*
 * client.c - jr_client_*: HTTP/1.1 over the daemon's Unix socket, or over
 * TLS to its --listen address with an access file's key (issue 17,
 * client/tls.h), the responses read with http-parser (the library the
 * daemon uses for requests). See jobring.h.
 */
#include <errno.h>
#include <poll.h>
#include <http_parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/stream.h"
#include "client/tls.h"
#include "jobring.h"

struct jr_client {
	char path[108];
	int fd;			/* the Unix socket's; -1 when closed */
	struct client_tls *tls;	/* a TCP address's, with its key; NULL: Unix */
	char addr[256];		/* the TCP address */
	char *access_file;	/* its access file, read again when the daemon moved */
	bool addr_given;	/* addr is the caller's, not the access file's */
	bool tls_open;
	/* The response being read. */
	http_parser parser;
	char *body;
	size_t body_len, body_cap;
	bool complete, oom;
};

const char *jr_client_default_socket(char *buf, size_t size)
{
	const char *env = getenv("JOBRING_SOCKET"), *run = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(buf, size, "%s", env);
	else if (getuid() == 0)
		snprintf(buf, size, "/run/jobring/jobring.sock");
	else if (run && *run)
		snprintf(buf, size, "%s/jobring/jobring.sock", run);
	else
		snprintf(buf, size, "/tmp/jobring-%u/jobring.sock", (unsigned)getuid());
	return buf;
}

/* The access file read again: the daemon restarted on another port
 * (--listen ADDR:0) or with a new key. 0 or -errno. */
static int reload_access(struct jr_client *c)
{
	struct client_tls *t;
	char server[256];
	int rc = client_tls_load(&t, c->access_file, server, sizeof(server));

	if (rc < 0)
		return rc;
	if (!c->addr_given && (size_t)snprintf(c->addr, sizeof(c->addr), "%s", server) >=
	    sizeof(c->addr)) {
		client_tls_free(t);
		return -ENAMETOOLONG;
	}
	client_tls_free(c->tls);
	c->tls = t;
	return 0;
}

static int tls_connect(struct jr_client *c)
{
	int rc = client_tls_connect(c->tls, c->addr);

	if ((rc == -ECONNREFUSED || rc == -EKEYREJECTED) && reload_access(c) == 0)
		rc = client_tls_connect(c->tls, c->addr);
	c->tls_open = rc == 0;
	return rc;
}

static int client_connect(struct jr_client *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (c->tls)
		return tls_connect(c);
	strcpy(addr.sun_path, c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	c->fd = fd;
	return 0;
}

static bool client_connected(const struct jr_client *c)
{
	return c->tls ? c->tls_open : c->fd >= 0;
}

static void client_disconnect(struct jr_client *c)
{
	if (c->tls)
		client_tls_disconnect(c->tls);
	c->tls_open = false;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int jr_client_open(struct jr_client **out, const char *socket_path)
{
	struct jr_client *c;
	const char *server = getenv("JOBRING_SERVER");
	char def[108];
	int rc;

	if (!socket_path && server && *server)
		socket_path = server;
	if (socket_path && client_tls_is_address(socket_path))
		return jr_client_open_access(out, socket_path, NULL);
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	if (!socket_path)
		socket_path = jr_client_default_socket(def, sizeof(def));
	if (strlen(socket_path) >= sizeof(c->path)) {
		free(c);
		return -ENAMETOOLONG;
	}
	strcpy(c->path, socket_path);
	rc = client_connect(c);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int jr_client_open_access(struct jr_client **out, const char *address, const char *access_file)
{
	struct jr_client *c;
	char server[256];
	int rc;

	if (address && !client_tls_is_address(address))
		return jr_client_open(out, address);
	if (!access_file && !(access_file = getenv("JOBRING_ACCESS"), access_file && *access_file))
		return address ? -ENOKEY : jr_client_open(out, NULL);
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->fd = -1;
	c->addr_given = address != NULL;
	if (!(c->access_file = strdup(access_file))) {
		free(c);
		return -ENOMEM;
	}
	rc = client_tls_load(&c->tls, access_file, server, sizeof(server));
	if (rc == 0 && (size_t)snprintf(c->addr, sizeof(c->addr), "%s", address ? address : server) >=
	    sizeof(c->addr))
		rc = -ENAMETOOLONG;
	if (rc == 0)
		rc = client_connect(c);
	if (rc < 0) {
		jr_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void jr_client_close(struct jr_client *c)
{
	if (!c)
		return;
	client_disconnect(c);
	client_tls_free(c->tls);
	free(c->access_file);
	free(c->body);
	free(c);
}

static int send_all(struct jr_client *c, const char *p, size_t n)
{
	int fd = c->fd;

	if (c->tls)
		return client_tls_send(c->tls, p, n);
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct jr_client *c = p->data;

	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 4096;
		char *nb;
		while (cap < c->body_len + n + 1)
			cap *= 2;
		nb = realloc(c->body, cap);
		if (!nb) {
			c->oom = true;
			return -1;
		}
		c->body = nb;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, at, n);
	c->body_len += n;
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct jr_client *c = p->data;

	c->body_len = 0;
	return 0;
}

static int on_complete(http_parser *p)
{
	struct jr_client *c = p->data;

	/* A 100 Continue is only a preface: keep reading. */
	if (p->status_code >= 200)
		c->complete = true;
	return 0;
}

static const http_parser_settings response_settings = {
	.on_message_begin = on_message_begin,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

static int read_response(struct jr_client *c)
{
	char buf[65536];

	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
	c->complete = c->oom = false;
	c->body_len = 0;
	while (!c->complete) {
		ssize_t n = c->tls ? client_tls_recv(c->tls, buf, sizeof(buf))
				   : recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && !c->tls && errno == EINTR)
			continue;
		if (n < 0)
			return c->tls ? (int)n : -errno;
		http_parser_execute(&c->parser, &response_settings, buf, (size_t)n);
		if (c->oom)
			return -ENOMEM;
		if (n == 0 && !c->complete)
			return -ECONNRESET;
		if (!c->complete && HTTP_PARSER_ERRNO(&c->parser) != HPE_OK)
			return -EPROTO;
	}
	return (int)c->parser.status_code;
}

/* The head, and a small body after it in the same buffer: one send (one
 * system call, one wake-up of the daemon, one TLS record) for the
 * requests a worker makes per job. A larger body goes in a second. */
#define ONE_SEND_BODY_MAX 8192

static int exchange(struct jr_client *c, const char *method, const char *path,
		    const char *body, size_t body_len)
{
	char head[1024 + ONE_SEND_BODY_MAX];
	int n, rc;

	body_len = body ? body_len : 0;
	n = snprintf(head, 1024, "%s %s HTTP/1.1\r\nHost: jobring\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, body_len);
	if (n < 0 || n >= 1024)
		return -ENAMETOOLONG;
	if (body_len && body_len <= ONE_SEND_BODY_MAX) {
		memcpy(head + n, body, body_len);
		n += (int)body_len;
		body_len = 0;
	}
	rc = send_all(c, head, (size_t)n);
	if (rc == 0 && body_len)
		rc = send_all(c, body, body_len);
	return rc < 0 ? rc : read_response(c);
}

int jr_client_request(struct jr_client *c, const char *method, const char *path,
		      const char *body, size_t body_len, char **response,
		      size_t *response_len)
{
	int rc;

	if (!client_connected(c) && (rc = client_connect(c)) < 0)
		return rc;
	rc = exchange(c, method, path, body, body_len);
	if (rc == -ECONNRESET || rc == -EPIPE) {	/* the daemon closed an idle connection */
		client_disconnect(c);
		if ((rc = client_connect(c)) == 0)
			rc = exchange(c, method, path, body, body_len);
	}
	if (rc < 0) {
		client_disconnect(c);
		return rc;
	}
	*response = malloc(c->body_len + 1);
	if (!*response)
		return -ENOMEM;
	memcpy(*response, c->body ? c->body : "", c->body_len);
	(*response)[c->body_len] = '\0';
	if (response_len)
		*response_len = c->body_len;
	if (!http_should_keep_alive(&c->parser))
		client_disconnect(c);
	return rc;
}

int client_stream_send(struct jr_client *c, const char *p, size_t n)
{
	int rc;

	if (!client_connected(c) && (rc = client_connect(c)) < 0)
		return rc;
	return send_all(c, p, n);
}

ssize_t client_stream_recv(struct jr_client *c, char *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->tls ? client_tls_fd(c->tls) : c->fd, .events = POLLIN };
	ssize_t n;
	int ready;

	if (!client_connected(c))
		return -ENOTCONN;
	if (timeout_ms >= 0 && !(c->tls && client_tls_pending(c->tls))) {
		while ((ready = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
			;
		if (ready < 0)
			return -errno;
		if (ready == 0)
			return -ETIMEDOUT;
	}
	if (c->tls)
		return client_tls_recv(c->tls, buf, size);
	while ((n = recv(c->fd, buf, size, 0)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : n;
}

int jr_client_submit(struct jr_client *c, const char *job_json, char job_id[17],
		     char **error)
{
	char *resp, *p;
	int rc = jr_client_request(c, "POST", "/jobs", job_json, strlen(job_json), &resp, NULL);

	if (rc < 0)
		return rc;
	if (rc != 201) {
		if (error)
			*error = resp;
		else
			free(resp);
		return rc;
	}
	p = strstr(resp, "\"job_id\":\"");
	if (!p || strlen(p + 10) < 16) {
		free(resp);
		return -EPROTO;
	}
	memcpy(job_id, p + 10, 16);
	job_id[16] = '\0';
	free(resp);
	return 0;
}
