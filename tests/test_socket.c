/*
 * test_socket.c - the real jobringd over its real socket, as raw bytes:
 * the strict-parser cases of ../shared/data/http/llhttp_requests.jsonl
 * (skipped, saying so, when absent), pipelining, keep-alive, 413, 1,000
 * concurrent connections, and a slow client that must not delay others.
 */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct jrt_daemon d;	/* on /tmp/jr-sock-XXXXXX */
static const char *self_path;	/* argv[0]: jobringd is beside it */

static const char *corpus_path(void)
{
	const char *env = getenv("JR_SHARED_DATA");
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/http/llhttp_requests.jsonl",
		 env ? env : "../shared/data");
	return path;
}

static int setup(void **state)
{
	static const char *const opts[] = { "--max-request", "1M", "--request-timeout", "2",
					    "--idle-timeout", "60", NULL };
	char path[PATH_MAX];
	struct rlimit r;

	(void)state;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	assert_int_equal(jrt_daemon_path(path, sizeof(path), self_path), 0);
	assert_int_equal(jrt_daemon_init(&d, path, NULL, "sock"), 0);
	if (jrt_daemon_start(&d, opts, 30) < 0)
		fail_msg("jobringd did not start (%s)", d.path);
	return 0;
}

static int teardown(void **state)
{
	int status;

	(void)state;
	status = jrt_daemon_stop(&d, SIGTERM);
	if (jrt_daemon_remove(&d) < 0)
		return -1;
	/* A clean stop is part of the contract: exit 0 on SIGTERM. */
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Read until the peer closes, want bytes arrive, or timeout_ms passes. */
static size_t read_some(int fd, char *buf, size_t size, size_t want, int timeout_ms)
{
	size_t got = 0;

	while (got < size - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (want && got >= want)
			break;
	}
	buf[got] = '\0';
	return got;
}

/* Read one whole response (its head and Content-Length bytes). */
static size_t read_response(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t got = 0;

	for (;;) {
		const char *end = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
		if (got && end && cl && got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			return got;
		struct pollfd p = { fd, POLLIN, 0 };
		if (got >= size - 1 || poll(&p, 1, timeout_ms) <= 0)
			return got;
		ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
		if (n <= 0)
			return got;
		got += (size_t)n;
		buf[got] = '\0';
	}
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static void assert_daemon_serves(void)
{
	char buf[4096];
	int fd = jrt_daemon_connect(&d);

	assert_true(fd >= 0);
	buf[0] = '\0';
	send_str(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
	read_response(fd, buf, sizeof(buf), 2000);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	close(fd);
}

/* --- base64, for the corpus ------------------------------------------------------- */

static int b64(int c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(t, c) : NULL;

	return p ? (int)(p - t) : -1;
}

static size_t b64_decode(const char *in, char *out)
{
	size_t n = 0;
	int bits = 0;
	unsigned acc = 0;

	for (; *in && *in != '='; in++) {
		int v = b64((unsigned char)*in);
		if (v < 0)
			continue;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	return n;
}

/* One case on its own connection: the bytes, then end of stream. */
static void replay_case(const cJSON *c, int *answered, int *rejected, int *mismatched)
{
	const char *outcome = cJSON_GetObjectItem(c, "outcome")->valuestring;
	const char *raw = cJSON_GetObjectItem(c, "raw_b64")->valuestring;
	char *bytes = malloc(strlen(raw) + 4), buf[65536];
	size_t n = b64_decode(raw, bytes);
	int fd = jrt_daemon_connect(&d);

	assert_true(fd >= 0);
	send(fd, bytes, n, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	read_some(fd, buf, sizeof(buf), 0, 3000);
	close(fd);
	free(bytes);
	int answers = count(buf, "HTTP/1.1 ");
	const char *last = buf;
	for (const char *p = buf; (p = strstr(p, "HTTP/1.1 ")); p++)
		last = p;
	int last_status = answers ? atoi(last + 9) : 0;
	if (strcmp(outcome, "complete") == 0) {
		/* An answer: 404 for paths the API lacks, 400 for RTSP and
		 * QUERY methods http-parser does not know, 411 for a chunked
		 * body. */
		*answered += answers > 0;
		if (!answers)
			(*mismatched)++, print_message("complete case got no answer\n");
	} else if (strcmp(outcome, "error") == 0) {
		/* Rejected with a 4xx and a close, or closed; messages before
		 * the malformed one may be answered. */
		int before = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "expect"),
						 "messages_complete")->valueint;
		bool ok = answers <= before || (last_status >= 400 && last_status < 500);
		*rejected += ok;
		if (!ok)
			(*mismatched)++, print_message("error case %s:%d got: %.60s\n",
				cJSON_GetObjectItem(c, "file")->valuestring,
				cJSON_GetObjectItem(c, "line")->valueint, buf);
	}
}

static void test_llhttp_corpus(void **state)
{
	FILE *f = fopen(corpus_path(), "r");
	char *line = NULL;
	size_t cap = 0;
	int cases = 0, answered = 0, rejected = 0, mismatched = 0;

	(void)state;
	if (!f) {
		print_message("SKIP: %s is absent; the parser corpus was not run\n", corpus_path());
		skip();
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON *c = cJSON_Parse(line);
		if (c && cJSON_IsTrue(cJSON_GetObjectItem(c, "strict_default_parser"))) {
			replay_case(c, &answered, &rejected, &mismatched);
			cases++;
			assert_daemon_serves();
		}
		cJSON_Delete(c);
	}
	free(line);
	fclose(f);
	print_message("llhttp strict cases: %d (answered %d valid, rejected %d malformed, "
		      "%d mismatched)\n", cases, answered, rejected, mismatched);
	assert_int_equal(cases, 120);
	assert_int_equal(mismatched, 0);
}

static void test_pipelining_and_keepalive(void **state)
{
	char buf[16384];
	int fd = jrt_daemon_connect(&d);

	(void)state;
	send_str(fd, "GET /health HTTP/1.1\r\n\r\nGET /queues HTTP/1.1\r\n\r\n"
		     "GET /nope HTTP/1.1\r\n\r\n");
	jrt_sleep_ms(200);
	read_some(fd, buf, sizeof(buf), 0, 300);	/* three answers, no close */
	assert_int_equal(count(buf, "HTTP/1.1 "), 3);
	assert_true(strstr(buf, "200 OK") < strstr(buf, "\"queues\""));
	assert_non_null(strstr(buf, "404 Not Found"));
	/* Still open: keep-alive. */
	buf[0] = '\0';
	send_str(fd, "GET /health HTTP/1.1\r\n\r\n");
	read_response(fd, buf, sizeof(buf), 2000);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	close(fd);
}

static void test_too_large(void **state)
{
	char buf[4096];
	int fd = jrt_daemon_connect(&d);

	(void)state;
	send_str(fd, "POST /jobs HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n{");
	read_some(fd, buf, sizeof(buf), 0, 2000);
	assert_non_null(strstr(buf, "HTTP/1.1 413"));
	assert_non_null(strstr(buf, "\"too_large\""));
	close(fd);
	assert_daemon_serves();
}

static void test_thousand_connections(void **state)
{
	enum { N = 1000 };
	static int fds[N];
	char buf[2048];
	int ok = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = jrt_daemon_connect(&d);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++)
		send_str(fds[i], "GET /health HTTP/1.1\r\n\r\n");
	for (int i = 0; i < N; i++) {
		buf[0] = '\0';
		read_response(fds[i], buf, sizeof(buf), 5000);
		ok += strstr(buf, "HTTP/1.1 200") != NULL;
	}
	assert_int_equal(ok, N);
	assert_daemon_serves();	/* a 1,001st while all are open */
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

static double now_ms(void)
{
	return jrt_now_s() * 1e3;
}

/* A client sends a byte at a time, slowly; 200 requests on another
 * connection in the meantime are not slowed, and the slow one is cut off
 * by the request timeout (2 s here) with 408. */
static void test_slow_client(void **state)
{
	const char *req = "POST /jobs HTTP/1.1\r\nContent-Length: 40\r\n\r\n";
	char buf[4096];
	int slow = jrt_daemon_connect(&d), fast = jrt_daemon_connect(&d);
	double worst = 0, start = now_ms();

	(void)state;
	for (size_t i = 0; i < strlen(req); i++) {
		send(slow, req + i, 1, MSG_NOSIGNAL);
		for (int k = 0; k < 10 && now_ms() - start < 1500; k++) {
			double t0 = now_ms();
			buf[0] = '\0';
			send_str(fast, "GET /health HTTP/1.1\r\n\r\n");
			read_response(fast, buf, sizeof(buf), 2000);
			assert_non_null(strstr(buf, "HTTP/1.1 200"));
			if (now_ms() - t0 > worst)
				worst = now_ms() - t0;
		}
		if (now_ms() - start > 1500)
			break;
		jrt_sleep_ms(50);
	}
	print_message("slowest fast request while a client trickled: %.2f ms\n", worst);
	assert_true(worst < 100);
	read_some(slow, buf, sizeof(buf), 0, 4000);
	assert_non_null(strstr(buf, "HTTP/1.1 408"));
	close(slow);
	close(fast);
}

/* jr_client_*: what a C program uses to talk to the daemon. */
static void test_client_library(void **state)
{
	struct jr_client *c;
	char id[17], path[64], *resp = NULL, *err = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(jr_client_open(&c, "/nonexistent/jobring.sock"), -ENOENT);
	assert_int_equal(jr_client_open(&c, d.sock), 0);
	assert_int_equal(jr_client_submit(c, "{\"command\":[\"true\"],\"name\":\"from-c\"}", id, NULL), 0);
	assert_int_equal(strlen(id), 16);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	assert_int_equal(jr_client_request(c, "GET", path, NULL, 0, &resp, &len), 200);
	assert_non_null(strstr(resp, "\"name\":\"from-c\""));
	assert_int_equal(len, strlen(resp));
	free(resp);
	assert_int_equal(jr_client_submit(c, "{\"command\":[\"true\"],\"priority\":2147483648}", id, &err), 422);
	assert_non_null(strstr(err, "\"code\":\"invalid_value\""));
	free(err);
	/* The same connection still serves after an error answer. */
	assert_int_equal(jr_client_request(c, "GET", "/health", NULL, 0, &resp, NULL), 200);
	free(resp);
	jr_client_close(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelining_and_keepalive),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_thousand_connections),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_client_library),
		cmocka_unit_test(test_llhttp_corpus),
	};

	(void)argc;
	self_path = argv[0];
	return cmocka_run_group_tests(tests, setup, teardown);
}
