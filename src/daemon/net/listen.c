/*
 * listen.c - the control socket's listening end. See listen.h.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/net/access.h"
#include "daemon/net/cert.h"
#include "daemon/net/listen.h"
#include "daemon/net/loop.h"
#include "daemon/net/tls.h"

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

/* "ADDR:PORT" split at its last colon; ADDR's brackets kept in addr,
 * dropped in node (what getaddrinfo takes). */
static int split_addr_port(const char *addr_port, char *addr, size_t size, char *node,
			   unsigned long *port)
{
	const char *colon = strrchr(addr_port, ':');
	size_t n = colon ? (size_t)(colon - addr_port) : 0;
	char *end;

	if (!colon || n == 0 || n >= size || !colon[1])
		return -EINVAL;
	*port = strtoul(colon + 1, &end, 10);
	if (*end || *port > 65535)
		return -EINVAL;
	memcpy(addr, addr_port, n);
	addr[n] = '\0';
	if (addr[0] == '[' && addr[n - 1] == ']') {
		memcpy(node, addr + 1, n - 2);
		node[n - 2] = '\0';
	} else {
		strcpy(node, addr);
	}
	return 0;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int listen_tcp(const char *addr_port, int *out, char *addr, size_t size, uint16_t *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai = NULL;
	char node[256], service[8];
	unsigned long p;
	int fd, one = 1, rc = split_addr_port(addr_port, addr, size < sizeof(node) ? size : sizeof(node),
					      node, &p);

	if (rc < 0)
		return rc;
	snprintf(service, sizeof(service), "%lu", p);
	if (getaddrinfo(node, service, &hints, &ai) != 0 || !ai)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
	} else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		   bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		rc = -errno;
		close(fd);
	}
	freeaddrinfo(ai);
	if (rc < 0)
		return rc;
	*port = bound_port(fd);
	*out = fd;
	return 0;
}

/* --- the TCP listeners (issues 16, 17) --------------------------------------- */

/* What the access file names for a listener bound at addr: a wildcard
 * address is no address to connect to; this host's name is. */
static const char *access_host(const char *addr, char *name, size_t size)
{
	if (strcmp(addr, "0.0.0.0") && strcmp(addr, "[::]") && strcmp(addr, "*") && addr[0])
		return addr;
	if (gethostname(name, size - 1) < 0)
		snprintf(name, size, "localhost");
	name[size - 1] = '\0';
	return name;
}

/* --munge: the certificate kept or made, the MUNGE access file naming
 * its fingerprint. 0 or -errno, after a message. */
static int open_munge(struct server *s, const char *host, uint16_t port, EVP_PKEY **pkey,
		      X509 **cert)
{
	char fingerprint[CERT_FINGERPRINT_HEX];
	int rc = cert_keep_or_make(s->o.listen_cert_file, pkey, cert, fingerprint);

	if (rc < 0) {
		fprintf(stderr, "jobringd: --munge: the certificate in %s: %s\n",
			s->o.listen_cert_file,
			rc == -EPERM ? "not this user's, or readable by others (remove it)" :
			rc == -EBADMSG ? "not a key and its certificate (remove it)" : strerror(-rc));
		return rc;
	}
	if ((rc = access_munge_file_write(s->o.munge_access_file, host, port, fingerprint)) < 0)
		fprintf(stderr, "jobringd: --munge-access-file %s: %s\n", s->o.munge_access_file,
			strerror(-rc));
	return rc;
}

/* --listen: TLS with the access file's key (tls.h, access.h), and with
 * --munge a certificate for clients showing MUNGE credentials. */
static int open_tls(struct server *s, const char *addr, uint16_t port)
{
	unsigned char key[TLS_KEY_BYTES];
	char host[256];
	const char *name = access_host(addr, host, sizeof(host));
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	int rc = access_file_write(s->o.access_file, name, port, key);

	if (rc < 0) {
		fprintf(stderr, "jobringd: --access-file %s: %s\n", s->o.access_file,
			rc == -EPERM ? "not this user's, or readable by others (remove it)" :
			strerror(-rc));
		return rc;
	}
	if (s->o.munge && (rc = open_munge(s, name, port, &pkey, &cert)) < 0) {
		explicit_bzero(key, sizeof(key));
		return rc;
	}
	rc = tls_server_open(&s->tls, key, pkey, cert);
	explicit_bzero(key, sizeof(key));
	EVP_PKEY_free(pkey);	/* the context holds its own references */
	X509_free(cert);
	if (rc < 0)
		fprintf(stderr, "jobringd: --listen: cannot set TLS up: %s\n", strerror(-rc));
	return rc;
}

/* One TCP listener of kind at addr_port ("" or NULL: none). */
static int open_tcp_listener(struct server *s, const char *addr_port, enum listener_kind kind)
{
	static const char *const flag[] = { [LISTEN_HTTP] = "--http",
					    [LISTEN_METRICS] = "--metrics-listen",
					    [LISTEN_TLS] = "--listen" };
	struct tcp_listener *l = &s->tcp[s->tcp_count];
	char addr[80];
	uint16_t port = 0;
	int rc;

	if (!addr_port || !*addr_port)
		return 0;
	if ((rc = listen_tcp(addr_port, &l->fd, addr, sizeof(addr), &port)) < 0) {
		fprintf(stderr, "jobringd: %s %s: %s\n", flag[kind], addr_port, strerror(-rc));
		return rc;
	}
	l->kind = kind;
	s->tcp_count++;
	if (kind == LISTEN_HTTP)
		gate_set_hosts(&s->gate, addr, port);
	if (kind == LISTEN_TLS && (rc = open_tls(s, addr, port)) < 0)
		return rc;
	fprintf(stderr, "jobringd: %s listening on %s:%u\n", flag[kind], addr, port);
	return 0;
}

int listen_open_tcp_all(struct server *s)
{
	int rc;

	if (s->o.http_listen && *s->o.http_listen) {
		if (!s->o.http_token || strlen(s->o.http_token) > GATE_TOKEN_MAX)
			return -EINVAL;
		strcpy(s->gate.token, s->o.http_token);
	}
	rc = open_tcp_listener(s, s->o.http_listen, LISTEN_HTTP);
	if (rc == 0)
		rc = open_tcp_listener(s, s->o.metrics_listen, LISTEN_METRICS);
	if (rc == 0 && s->o.tls_listen && *s->o.tls_listen && !s->o.access_file)
		return -EINVAL;
	return rc < 0 ? rc : open_tcp_listener(s, s->o.tls_listen, LISTEN_TLS);
}
