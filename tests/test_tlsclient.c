/*
 * test_tlsclient.c - libjobring's client over TLS (issue 17) against the
 * real jobringd --listen: jr_client_open_access() with the address the
 * access file names, requests on one kept connection, the same client
 * again after the daemon restarted on another port (--listen ADDR:0: the
 * access file read again, the key kept), jr_client_open() with a TCP
 * address and $JOBRING_ACCESS, and the errors: no access file (-ENOKEY),
 * one others may read (-EPERM), another key (-EKEYREJECTED), not an
 * access file (-EBADMSG), the Unix socket path still taken as such.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct jrt_daemon d;
static const char *self_path;
static const char *const opts[] = { "--paused", "--listen", "127.0.0.1:0", NULL };
static char access_path[160];

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	assert_int_equal(jrt_daemon_path(path, sizeof(path), self_path), 0);
	assert_int_equal(jrt_daemon_init(&d, path, NULL, "tlsclient"), 0);
	if (jrt_daemon_start(&d, opts, 60) < 0)
		fail_msg("jobringd did not start (%s)", d.path);
	snprintf(access_path, sizeof(access_path), "%s/access.json", d.state);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	jrt_daemon_stop(&d, SIGTERM);
	return jrt_daemon_remove(&d) < 0 ? -1 : 0;
}

static int health(struct jr_client *c)
{
	char *resp = NULL;
	int rc = jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL);

	free(resp);
	return rc;
}

/* A copy of the access file with its text changed by edit (NULL: as is)
 * and the mode given. */
static void write_variant(const char *path, const char *from, const char *to, mode_t mode)
{
	char text[1024] = { 0 }, out[1200];
	FILE *f = fopen(access_path, "r");

	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	char *at = from ? strstr(text, from) : NULL;
	if (at)
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to,
			 at + strlen(from));
	else
		snprintf(out, sizeof(out), "%s", text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_true(write(fd, out, strlen(out)) == (ssize_t)strlen(out));
	fchmod(fd, mode);
	close(fd);
}

static void test_requests_and_restart(void **state)
{
	struct jr_client *c;
	char id[17];

	(void)state;
	assert_int_equal(jr_client_open_access(&c, NULL, access_path), 0);
	assert_int_equal(health(c), 200);
	assert_int_equal(jr_client_submit(c, "{\"command\":[\"true\"],\"name\":\"tls\"}", id, NULL), 0);
	assert_int_equal(health(c), 200);
	/* Restarted: another port (port 0), the same key. */
	jrt_daemon_stop(&d, SIGTERM);
	if (jrt_daemon_start(&d, opts, 60) < 0)
		fail_msg("jobringd did not start again");
	assert_int_equal(health(c), 200);
	jr_client_close(c);
}

static void test_open_forms(void **state)
{
	char server[128] = { 0 }, text[512] = { 0 }, *p;
	struct jr_client *c;
	FILE *f = fopen(access_path, "r");

	(void)state;
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_non_null(p = strstr(text, "\"server\":\""));
	sscanf(p + 10, "%127[^\"]", server);
	setenv("JOBRING_ACCESS", access_path, 1);
	assert_int_equal(jr_client_open(&c, server), 0);	/* HOST:PORT, $JOBRING_ACCESS */
	assert_int_equal(health(c), 200);
	jr_client_close(c);
	unsetenv("JOBRING_ACCESS");
	assert_int_equal(jr_client_open(&c, server), -ENOKEY);
	assert_int_equal(jr_client_open_access(&c, d.sock, NULL), 0);	/* a path: Unix */
	assert_int_equal(health(c), 200);
	jr_client_close(c);
}

static void test_refusals(void **state)
{
	char path[200];
	struct jr_client *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/variant.json", d.dir);
	{	/* another key: one digit changed */
		char text[1024] = { 0 };
		FILE *f = fopen(access_path, "r");
		assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
		fclose(f);
		char *k = strstr(text, "\"key\":\"") + 7;
		k[0] = k[0] == '0' ? '1' : '0';
		FILE *o = fopen(path, "w");
		fputs(text, o);
		fclose(o);
		chmod(path, 0600);
	}
	assert_int_equal(jr_client_open_access(&c, NULL, path), -EKEYREJECTED);
	chmod(path, 0644);
	assert_int_equal(jr_client_open_access(&c, NULL, path), -EPERM);
	write_variant(path, "\"key\":\"", "\"nokey\":\"", 0600);
	assert_int_equal(jr_client_open_access(&c, NULL, path), -EBADMSG);
	snprintf(path, sizeof(path), "%s/missing.json", d.dir);
	assert_int_equal(jr_client_open_access(&c, NULL, path), -ENOENT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_and_restart),
		cmocka_unit_test(test_open_forms),
		cmocka_unit_test(test_refusals),
	};

	(void)argc;
	self_path = argv[0];
	return cmocka_run_group_tests(tests, setup, teardown);
}
