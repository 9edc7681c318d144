/*
 * gate.c - the TCP listeners' checks: Host, the token, the cookie, and
 * what --metrics-listen serves. See gate.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/net/gate.h"

void gate_set_hosts(struct gate *g, const char *addr, uint16_t port)
{
	static const char *const local[] = { "localhost", "127.0.0.1", "[::1]" };

	g->host_count = 0;
	snprintf(g->hosts[g->host_count++], sizeof(g->hosts[0]), "%s:%u", addr, port);
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		snprintf(g->hosts[g->host_count++], sizeof(g->hosts[0]), "%s:%u", local[i], port);
}

/* Equal, in a time that does not depend on where they differ. */
static bool same_secret(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0 && blen > 0;
}

static bool host_allowed(const struct gate *g, const char *host)
{
	for (uint32_t i = 0; i < g->host_count; i++)
		if (strcasecmp(host, g->hosts[i]) == 0)
			return true;
	return false;
}

/* The value of name=... in a list separated by sep (';' for cookies,
 * '&' for a query), its length in *len; NULL if absent. */
static const char *param_value(const char *list, const char *name, char sep, size_t *len)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == sep)
			p++;
		const char *end = strchr(p, sep);
		size_t item = end ? (size_t)(end - p) : strlen(p);
		if (item > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			*len = item - n - 1;
			return p + n + 1;
		}
		p = end;
	}
	return NULL;
}

static bool bearer_ok(const struct gate *g, const char *authz)
{
	if (strncasecmp(authz, "Bearer ", 7) != 0)
		return false;
	return same_secret(authz + 7, strlen(authz + 7), g->token);
}

static bool cookie_ok(const struct gate *g, const char *cookies)
{
	size_t len = 0;
	const char *v = param_value(cookies, GATE_COOKIE, ';', &len);

	return v && same_secret(v, len, g->token);
}

static void answer(struct buf *reply, int status, const char *extra_headers, const char *code,
		   const char *message, bool keep_alive)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
			 code, message);

	buf_printf(reply, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		   "Content-Length: %d\r\nCache-Control: no-store\r\n%s%s\r\n%s",
		   status, http_reason(status), n, extra_headers,
		   keep_alive ? "" : "Connection: close\r\n", body);
}

void gate_answer(struct buf *reply, int status, const char *code, const char *message,
		 bool keep_alive)
{
	answer(reply, status, "", code, message, keep_alive);
}

/* ?token=T on a GET: the cookie set, and the same path again without
 * the query. */
static bool token_in_query(const struct gate *g, const char *method, const char *path,
			   const char *query, bool keep_alive, struct buf *reply)
{
	size_t len = 0;
	const char *v = param_value(query, "token", '&', &len);

	if (!v || strcmp(method, "GET") != 0 || !same_secret(v, len, g->token))
		return false;
	buf_printf(reply, "HTTP/1.1 303 See Other\r\nLocation: %s\r\n"
		   "Set-Cookie: " GATE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict\r\n"
		   "Cache-Control: no-store\r\nContent-Length: 0\r\n%s\r\n",
		   path[0] == '/' && path[1] != '/' && !strchr(path, '\\') ? path : "/", g->token,
		   keep_alive ? "" : "Connection: close\r\n");
	return true;
}

/* No Origin (not a browser's cross-site request), or the page's own:
 * "http://" and the Host, which must be a loopback name if any_host is
 * false (the Unix socket; --http has checked its Host already). */
static bool origin_ok(const struct http_in *h, bool any_host)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1", "[::1]" };
	const char *origin = http_in_header(h, HTTP_ORIGIN), *host = http_in_header(h, HTTP_HOST);

	if (!*origin)
		return true;
	if (strncasecmp(origin, "http://", 7) != 0 || strcasecmp(origin + 7, host) != 0)
		return false;
	if (any_host)
		return true;
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t n = strlen(loopback[i]);
		if (strncasecmp(host, loopback[i], n) == 0 && (host[n] == '\0' || host[n] == ':'))
			return true;
	}
	return false;
}

/* The socket's Host: a name a page of another site can have come from
 * only after its DNS name was pointed at 127.0.0.1 (rebinding), and then
 * its reads (GET: no Origin) would be the tunnelling user's. Allowed: no
 * Host; a name of one label (jobring, x, localhost); 127.x.y.z and [::1];
 * a percent-encoded socket path (requests-unixsocket). A dotted name is
 * refused. */
static bool socket_host_ok(const char *host)
{
	size_t name = strcspn(host, ":");

	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':');
	if (!memchr(host, '.', name) || memchr(host, '%', name))
		return true;
	if (strncmp(host, "127.", 4) != 0)
		return false;
	for (size_t i = 4; i < name; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return false;
	return true;
}

bool gate_check(const struct gate *g, enum listener_kind kind, const struct http_in *h,
		const char *method, const char *path, const char *query, bool keep_alive,
		struct buf *reply)
{
	if (kind == LISTEN_UNIX) {
		if (!socket_host_ok(http_in_header(h, HTTP_HOST))) {
			answer(reply, 421, "", "misdirected", "this socket answers to Host: localhost, "
			       "127.0.0.1 or a name without dots (a page whose name points here is "
			       "refused)", keep_alive);
			return false;
		}
		if (origin_ok(h, false))
			return true;
		answer(reply, 403, "", "cross_site", "a page of another site (Origin) may not use "
		       "this socket; open the dashboard at http://localhost:PORT", keep_alive);
		return false;
	}
	if (kind == LISTEN_TLS)
		return true;	/* the key or a MUNGE credential was proved (conn.c) */
	if (kind == LISTEN_METRICS) {
		if (strcmp(path, "/metrics") == 0 && strcmp(method, "GET") == 0)
			return true;
		answer(reply, 404, "", "not_found", "this listener serves GET /metrics only",
		       keep_alive);
		return false;
	}
	if (!host_allowed(g, http_in_header(h, HTTP_HOST))) {
		answer(reply, 421, "", "wrong_host",
		       "the Host header does not name this listener", keep_alive);
		return false;
	}
	/* The cookie goes with a form another port of the same host posts
	 * (SameSite ignores ports): such a page is refused by its Origin. */
	if (!origin_ok(h, true)) {
		answer(reply, 403, "", "cross_site", "a page of another origin may not use "
		       "this listener", keep_alive);
		return false;
	}
	if (bearer_ok(g, http_in_header(h, HTTP_AUTHORIZATION)) ||
	    cookie_ok(g, http_in_header(h, HTTP_COOKIE)))
		return true;
	if (token_in_query(g, method, path, query, keep_alive, reply))
		return false;
	answer(reply, 401, "WWW-Authenticate: Bearer realm=\"jobringd\"\r\n", "unauthorized",
	       "send the token: Authorization: Bearer TOKEN, or open /?token=TOKEN once",
	       keep_alive);
	return false;
}

/* --- the token file -------------------------------------------------------------- */

static int token_create(const char *path)
{
	unsigned char raw[32];
	char hex[sizeof(raw) * 2 + 2];
	int fd, rc = 0;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	strcat(hex, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;	/* EEXIST: read it */
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) < 0)
		rc = -EIO;
	close(fd);
	return rc;
}

static bool token_chars_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-");

	return t[n] == '\0' && n >= 16 && n <= GATE_TOKEN_MAX;
}

int gate_token_load(const char *path, bool create, char *out, size_t size)
{
	char line[GATE_TOKEN_MAX + 4] = { 0 };
	struct stat st;
	ssize_t n;
	int fd, rc;

	if (create && (rc = token_create(path)) < 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	line[strcspn(line, "\r\n")] = '\0';
	if (!token_chars_ok(line) || strlen(line) >= size)
		return -EINVAL;
	strcpy(out, line);
	return 0;
}
