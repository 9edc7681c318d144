/*
 * test_gate.c - the TCP listeners' checks (src/daemon/net/gate.c, issue
 * 16) on parsed requests: the Host header against the listener (DNS
 * rebinding: 421), the token as a bearer, in a cookie among others, and
 * once in ?token= (303 setting an HttpOnly SameSite=Strict cookie, and
 * never redirecting off the site); near misses of the token refused;
 * --metrics-listen serving GET /metrics only; the token file made 0600,
 * read back, refused when others can read it or it is not a token.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/net/gate.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

struct parsed {
	struct http_in h;
	struct buf reply;
	bool passed;
};

/* raw through the HTTP reader, then the gate of kind. */
static void gate_raw(struct parsed *p, enum listener_kind kind, const char *raw)
{
	struct gate g = { .token = TOKEN };
	size_t used = 0;
	char *path, *query;

	gate_set_hosts(&g, "127.0.0.1", 8080);
	memset(p, 0, sizeof(*p));
	http_in_init(&p->h, 4096);
	assert_int_equal(http_in_feed(&p->h, raw, strlen(raw), &used), HTTP_GOT_REQUEST);
	buf_puts(&p->h.url, "");	/* NUL-terminated */
	path = p->h.url.p;
	query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	p->passed = gate_check(&g, kind, &p->h, http_in_method(&p->h), path, query ? query : "",
			       true, &p->reply);
}

static void done(struct parsed *p)
{
	http_in_free(&p->h);
	buf_free(&p->reply);
}

static bool answered(const struct parsed *p, const char *status_line)
{
	return !p->passed && p->reply.p && strncmp(p->reply.p, status_line, strlen(status_line)) == 0;
}

static void test_host_and_token(void **state)
{
	struct parsed p;

	(void)state;
	gate_raw(&p, LISTEN_HTTP, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Authorization: Bearer " TOKEN "\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /health HTTP/1.1\r\nHost: LOCALHOST:8080\r\n"
				  "Authorization: bearer " TOKEN "\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /health HTTP/1.1\r\nHost: [::1]:8080\r\n"
				  "Authorization: Bearer " TOKEN "\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	static const char *const bad_hosts[] = { "evil.example:8080", "127.0.0.1:8081", "127.0.0.1",
						 "localhost", "127.0.0.1:8080.evil.example", "" };
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "GET /health HTTP/1.1\r\nHost: %s\r\n"
			 "Authorization: Bearer " TOKEN "\r\n\r\n", bad_hosts[i]);
		gate_raw(&p, LISTEN_HTTP, raw);
		assert_true(answered(&p, "HTTP/1.1 421 "));
		done(&p);
	}
	gate_raw(&p, LISTEN_HTTP, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Host: evil.example:8080\r\nAuthorization: Bearer " TOKEN "\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 421 "));	/* two Host headers */
	done(&p);
	static const char *const bad_tokens[] = { "", TOKEN "0", "0123456789abcdef0123456789abcdeF",
						  "0123456789abcdef", TOKEN " x" };
	for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
			 "Authorization: Bearer %s\r\n\r\n", bad_tokens[i]);
		gate_raw(&p, LISTEN_HTTP, raw);
		assert_true(answered(&p, "HTTP/1.1 401 "));
		assert_non_null(strstr(p.reply.p, "WWW-Authenticate: Bearer"));
		done(&p);
	}
}

static void test_cookie_and_query(void **state)
{
	struct parsed p;

	(void)state;
	gate_raw(&p, LISTEN_HTTP, "GET /jobs HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Cookie: a=1; jobring_token=" TOKEN "; b=2\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /jobs HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Cookie: xjobring_token=" TOKEN "\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 401 "));
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /?x=1&token=" TOKEN " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 303 "));
	assert_non_null(strstr(p.reply.p, "\r\nLocation: /\r\n"));
	assert_non_null(strstr(p.reply.p, "Set-Cookie: jobring_token=" TOKEN
					  "; Path=/; HttpOnly; SameSite=Strict\r\n"));
	done(&p);
	/* Never off the site: //host and /\host go to / instead. */
	gate_raw(&p, LISTEN_HTTP, "GET //evil.example?token=" TOKEN " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 303 "));
	assert_non_null(strstr(p.reply.p, "\r\nLocation: /\r\n"));
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /\\evil.example?token=" TOKEN " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
	assert_non_null(strstr(p.reply.p, "\r\nLocation: /\r\n"));
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "GET /?token=" TOKEN "x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 401 "));
	done(&p);
	/* A form of another port of the same host carries the cookie
	 * (SameSite ignores ports): its Origin refuses it; the page's own passes. */
	gate_raw(&p, LISTEN_HTTP, "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Origin: http://127.0.0.1:3000\r\nCookie: jobring_token=" TOKEN "\r\n"
				  "Content-Length: 0\r\n\r\n");
	assert_false(p.passed);
	assert_true(answered(&p, "HTTP/1.1 403 "));
	done(&p);
	gate_raw(&p, LISTEN_HTTP, "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Origin: http://127.0.0.1:8080\r\nCookie: jobring_token=" TOKEN "\r\n"
				  "Content-Length: 0\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	/* Only a GET sets the cookie. */
	gate_raw(&p, LISTEN_HTTP, "POST /jobs?token=" TOKEN " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
				  "Content-Length: 0\r\n\r\n");
	assert_true(answered(&p, "HTTP/1.1 401 "));
	done(&p);
}

static void test_metrics_only(void **state)
{
	struct parsed p;

	(void)state;
	gate_raw(&p, LISTEN_METRICS, "GET /metrics HTTP/1.1\r\nHost: anything\r\n\r\n");
	assert_true(p.passed);
	done(&p);
	static const char *const others[] = { "GET /health", "GET /", "POST /metrics", "GET /metrics/",
					      "GET /jobs" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char raw[128];
		snprintf(raw, sizeof(raw), "%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", others[i]);
		gate_raw(&p, LISTEN_METRICS, raw);
		assert_true(answered(&p, "HTTP/1.1 404 "));
		done(&p);
	}
	gate_raw(&p, LISTEN_UNIX, "GET /anything HTTP/1.1\r\n\r\n");
	assert_true(p.passed);	/* the socket is not gated */
	done(&p);
	/* ... but for a browser's request from another site (ssh -L) */
	static const char *const refused[] = {
		"Host: localhost:8080\r\nOrigin: http://evil.example",
		"Host: evil.example:8080\r\nOrigin: http://evil.example:8080",
		"Host: localhost:8080\r\nOrigin: null",
		"Host: localhost:8080\r\nOrigin: http://localhost:9",
		"Host: localhostx:8080\r\nOrigin: http://localhostx:8080",
		"Host: localhost:8080\r\nOrigin: https://localhost:8080",
	};
	static const char *const passed[] = {
		"Host: localhost:8080\r\nOrigin: http://localhost:8080",
		"Host: 127.0.0.1:9\r\nOrigin: http://127.0.0.1:9",
		"Host: [::1]\r\nOrigin: http://[::1]",
		"Host: jobring",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "POST /jobs HTTP/1.1\r\n%s\r\nContent-Length: 0\r\n\r\n",
			 refused[i]);
		gate_raw(&p, LISTEN_UNIX, raw);
		assert_false(p.passed);	/* 421 where the Host is already a dotted name */
		assert_true(answered(&p, "HTTP/1.1 403 ") || answered(&p, "HTTP/1.1 421 "));
		done(&p);
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "POST /jobs HTTP/1.1\r\n%s\r\nContent-Length: 0\r\n\r\n",
			 passed[i]);
		gate_raw(&p, LISTEN_UNIX, raw);
		assert_true(p.passed);
		done(&p);
	}
	/* a GET (no Origin) from a page whose name was pointed at 127.0.0.1 */
	static const char *const rebound[] = { "evil.example", "evil.example:8080",
					       "127.0.0.1.evil.example", "[::2]:80", "10.0.0.1:8080" };
	static const char *const local[] = { "localhost:8080", "127.0.0.1", "127.1.2.3:9", "x",
					     "%2Frun%2Fjobring%2Fjobring.sock", "[::1]:8080" };
	for (size_t i = 0; i < sizeof(rebound) / sizeof(rebound[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "GET /jobs HTTP/1.1\r\nHost: %s\r\n\r\n", rebound[i]);
		gate_raw(&p, LISTEN_UNIX, raw);
		assert_false(p.passed);
		assert_true(answered(&p, "HTTP/1.1 421 "));
		done(&p);
	}
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		char raw[256];
		snprintf(raw, sizeof(raw), "GET /jobs HTTP/1.1\r\nHost: %s\r\n\r\n", local[i]);
		gate_raw(&p, LISTEN_UNIX, raw);
		assert_true(p.passed);
		done(&p);
	}
}

static void test_token_file(void **state)
{
	char dir[] = "/tmp/jr-gate-XXXXXX", path[64], token[GATE_TOKEN_MAX + 1], again[GATE_TOKEN_MAX + 1];
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/http-token", dir);
	assert_int_equal(gate_token_load(path, false, token, sizeof(token)), -ENOENT);
	assert_int_equal(gate_token_load(path, true, token, sizeof(token)), 0);
	assert_int_equal(strlen(token), 64);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(gate_token_load(path, true, again, sizeof(again)), 0);
	assert_string_equal(token, again);	/* made once, then read */
	chmod(path, 0640);
	assert_int_equal(gate_token_load(path, false, token, sizeof(token)), -EPERM);
	f = fopen(path, "w");
	fputs("short\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(gate_token_load(path, false, token, sizeof(token)), -EINVAL);
	f = fopen(path, "w");
	fputs("has spaces in the token, which is bad\n", f);
	fclose(f);
	assert_int_equal(gate_token_load(path, false, token, sizeof(token)), -EINVAL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_and_token),
		cmocka_unit_test(test_cookie_and_query),
		cmocka_unit_test(test_metrics_only),
		cmocka_unit_test(test_token_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
