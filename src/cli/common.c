/*
 * common.c - what the jobring CLI's commands share (cli.h): the
 * connection to jobringd, requests whose errors become messages and exit
 * codes, and reading fields of an answer. The lowest file of src/cli/:
 * it calls neither a command nor main.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/safedir.h"
#include "cli/cli.h"

/* Is the socket at path one we may talk to? Another user who can put a
 * socket where we look could answer in the daemon's name (take the
 * commands, print forged ids): the directory must be root's or ours and
 * writable by nobody else (unless sticky, as /tmp is), the socket root's
 * or ours, none of it a link another user owns. This holds for a path
 * given with --socket or $JOBRING_SOCKET too: a root daemon's shared
 * socket (/run/jobring/jobring.sock) is root's. 0, or -EPERM after
 * saying why; a path that cannot be examined (missing, too long) is left
 * for the connection to report. */
static int check_socket(const char *path)
{
	struct jr_safedir_error err;
	char dir[PATH_MAX], cwd[PATH_MAX], msg[700];
	const char *slash = strrchr(path, '/');
	int fd, rc, len = slash ? (int)(slash - path) : 0;

	if (path[0] == '/')
		rc = snprintf(dir, sizeof(dir), "%.*s", len, path);
	else if (getcwd(cwd, sizeof(cwd)))	/* relative: from where we are */
		rc = snprintf(dir, sizeof(dir), "%s/%.*s", cwd, len, path);
	else
		return 0;
	if (rc < 0 || (size_t)rc >= sizeof(dir))
		return 0;
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	fd = jr_safedir_open(dir, 0, JR_SAFEDIR_OWNER_ROOT | JR_SAFEDIR_STICKY_OK, &err);
	if (fd >= 0) {
		rc = jr_safedir_check_entry(fd, slash ? slash + 1 : path, /* owner_root */ true,
					    &err);
		close(fd);
	} else {
		rc = fd;
	}
	if (rc != -EPERM && rc != -ELOOP)
		return 0;
	fprintf(stderr, "jobring: refusing the socket %s: %s\n", path,
		jr_safedir_describe(rc, &err, msg, sizeof(msg)));
	return -EPERM;
}

/* Issue 17: --server/--access (or their variables) name a daemon's
 * --listen: TLS with the access file's key. */
static bool connect_remote(struct cli *c, const char *server, const char *access)
{
	int rc = jr_client_open_access(&c->client, server, access);
	const char *where = server ? server : access;

	c->socket = where;
	if (rc == -ENOKEY)
		fprintf(stderr, "jobring: --server %s needs the daemon's access file: --access FILE "
			"or $JOBRING_ACCESS (jobringd writes it, STATE_DIR/access.json)\n", where);
	else if (rc == -EKEYREJECTED)
		fprintf(stderr, "jobring: jobringd at %s refused the key of %s (the TLS handshake "
			"failed) or, with a MUNGE access file, the MUNGE credential (its munged "
			"has another key): the access file is not this daemon's\n", where,
			access ? access : "$JOBRING_ACCESS");
	else if (rc == -EBADE)
		fprintf(stderr, "jobring: the server at %s is not the one %s names (its "
			"certificate has another fingerprint)\n", where,
			access ? access : "$JOBRING_ACCESS");
	else if (rc == -EHOSTDOWN)
		fprintf(stderr, "jobring: no MUNGE credential could be made: munged does not run "
			"here or its socket is elsewhere ($JOBRING_MUNGE_SOCKET)\n");
	else if (rc == -EAGAIN)
		fprintf(stderr, "jobring: jobringd at %s could not take this connection now (its "
			"munged did not answer, or this user holds too many connections); try "
			"again later\n", where);
	else if (rc == -EACCES)
		fprintf(stderr, "jobring: jobringd at %s does not serve this user (a daemon not "
			"run as root serves only its owner)\n", where);
	else if (rc == -EPERM)
		fprintf(stderr, "jobring: refusing the access file %s: others may read it "
			"(chmod 600 it)\n", access);
	else if (rc == -EBUSY)
		fprintf(stderr, "jobring: jobringd at %s holds too many connections that have not "
			"authenticated; try again later\n", where);
	else if (rc == -EBADMSG)
		fprintf(stderr, "jobring: %s is not an access file (no server or key)\n", access);
	else if (rc == -ENOENT && access)
		fprintf(stderr, "jobring: cannot read the access file %s: %s\n", access,
			strerror(-rc));
	else if (rc < 0)
		fprintf(stderr, "jobring: cannot reach jobringd at %s: %s\n", where, strerror(-rc));
	return rc == 0;
}

bool cli_allocation_dir(char *buf, size_t size)
{
	const char *job = getenv("SLURM_JOB_ID"), *home = getenv("HOME");
	int n;

	if (!job || !*job || !home || !*home || strchr(job, '/'))
		return false;
	n = snprintf(buf, size, "%s/.jobring/alloc/%s", home, job);
	return n > 0 && (size_t)n < size;
}

/* Inside a Slurm allocation whose jobring run-in-allocation serves, with
 * no socket named: that daemon's socket (issue 17). */
static void allocation_socket(struct cli *c)
{
	char dir[PATH_MAX - 32];
	struct stat st;

	if (c->socket || getenv("JOBRING_SOCKET") || !cli_allocation_dir(dir, sizeof(dir)))
		return;
	snprintf(c->default_socket, sizeof(c->default_socket), "%s/jobring.sock", dir);
	if (stat(c->default_socket, &st) == 0 && S_ISSOCK(st.st_mode))
		c->socket = c->default_socket;
}

bool cli_connect(struct cli *c)
{
	const char *server = c->server ? c->server : getenv("JOBRING_SERVER");
	const char *access = c->access ? c->access : getenv("JOBRING_ACCESS");
	int rc;

	if (c->client)
		return true;
	if (server && !*server)
		server = NULL;
	if (access && !*access)
		access = NULL;
	if ((server && (!strchr(server, '/') || strncmp(server, "tls://", 6) == 0)) ||
	    (access && !server && !c->socket))
		return connect_remote(c, server, access);
	if (server)
		c->socket = server;	/* a socket path */
	allocation_socket(c);
	if (!c->socket)
		c->socket = jr_client_default_socket(c->default_socket,
						     sizeof(c->default_socket));
	if (check_socket(c->socket) < 0)
		return false;
	rc = jr_client_open(&c->client, c->socket);
	if (rc < 0) {
		fprintf(stderr, "jobring: cannot reach jobringd at %s: %s\n", c->socket,
			strerror(-rc));
		return false;
	}
	return true;
}

static void print_error(const char *body, int status)
{
	cJSON *o = cJSON_Parse(body);
	const cJSON *e = cJSON_GetObjectItem(o, "error");
	const cJSON *lines = cJSON_GetObjectItem(e, "lines"), *l;

	if (e)
		fprintf(stderr, "jobring: %s (%s, HTTP %d)\n", cli_str(e, "message"),
			cli_str(e, "code"), status);
	else
		fprintf(stderr, "jobring: HTTP %d\n", status);
	cJSON_ArrayForEach(l, lines)
		fprintf(stderr, "  line %.0f: %s\n", cli_num(l, "line"), cli_str(l, "message"));
	cJSON_Delete(o);
}

cJSON *cli_call(struct cli *c, const char *method, const char *path, const char *body,
		size_t body_len, int *exit_code)
{
	char *resp = NULL;
	cJSON *o;
	int rc;

	if (!cli_connect(c)) {
		*exit_code = CLI_UNREACHABLE;
		return NULL;
	}
	rc = jr_client_request(c->client, method, path, body, body_len, &resp, NULL);
	if (rc < 0) {
		fprintf(stderr, "jobring: %s %s: %s\n", method, path, strerror(-rc));
		*exit_code = CLI_UNREACHABLE;
		return NULL;
	}
	if (rc >= 300) {
		print_error(resp, rc);
		free(resp);
		*exit_code = CLI_REFUSED;
		return NULL;
	}
	o = rc == 204 ? cJSON_CreateNull() : cJSON_Parse(resp);
	free(resp);
	if (!o) {
		fprintf(stderr, "jobring: the daemon's answer is not JSON\n");
		*exit_code = CLI_REFUSED;
	}
	*exit_code = o ? CLI_OK : CLI_REFUSED;
	return o;
}

void cli_print_json(const cJSON *v)
{
	char *text = cJSON_Print(v);

	if (text)
		puts(text);
	free(text);
}

/* Debug builds: does $JR_TEST_CLI_ALLOC_MAX refuse n bytes? */
static bool alloc_refused_for_tests(size_t n)
{
	const char *max = JR_DEBUG ? getenv("JR_TEST_CLI_ALLOC_MAX") : NULL;

	return max && n > strtoull(max, NULL, 10);
}

int cli_grow(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	char *p;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / 2)
		return -ENOMEM;
	while (n < need)
		n *= 2;
	p = alloc_refused_for_tests(n) ? NULL : realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

const char *cli_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void scrub_text(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void cli_scrub(cJSON *o)
{
	for (; o; o = o->next) {
		scrub_text(o->string);
		if (cJSON_IsString(o))
			scrub_text(o->valuestring);
		cli_scrub(o->child);
	}
}

double cli_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void cli_query_value(char *q, size_t size, const char *value)
{
	size_t n = strlen(q);

	for (const char *p = value; *p && n + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.,~", *p))
			q[n++] = *p;
		else
			n += (size_t)snprintf(q + n, size - n, "%%%02X", (unsigned char)*p);
	}
	q[n] = '\0';
}

void cli_query_add(char *q, size_t size, const char *key, const char *value)
{
	size_t n = strlen(q);

	snprintf(q + n, size - n, "%s%s=", n ? "&" : "?", key);
	cli_query_value(q, size, value);
}

bool cli_bad_value(const char *cmd, const char *option, const char *value, const char *why)
{
	fprintf(stderr, "jobring %s: %s %s %s\n", cmd, option, value, why);
	return false;
}
