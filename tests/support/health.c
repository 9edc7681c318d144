/*
 * health.c - what a jobringd under test says about itself: GET /health
 * asked once or until a number in it is reached, the numbers and the
 * cgroup subtree read out of the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

int jrt_daemon_health(const struct jrt_daemon *d, char **resp)
{
	struct jr_client *c;
	int rc;

	*resp = NULL;
	if ((rc = jr_client_open(&c, d->sock)) < 0)
		return rc;
	rc = jr_client_request(c, "GET", "/health", NULL, 0, resp, NULL);
	jr_client_close(c);
	return rc;
}

long long jrt_json_num(const char *json, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\"%s\":", key);
	p = json ? strstr(json, want) : NULL;
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

void jrt_health_cgroup(const char *health, char *out, size_t size)
{
	static const char on[] = "\"cgroups\":{\"enabled\":true,\"path\":\"";
	const char *p = health ? strstr(health, on) : NULL;
	size_t n = p ? strcspn(p + sizeof(on) - 1, "\"") : 0;

	out[0] = '\0';
	if (p && n < size)
		snprintf(out, size, "%.*s", (int)n, p + sizeof(on) - 1);
}

/* One /health on *c (opened first if it is NULL, closed and NULL again
 * if the daemon is not there): key's number, -1 without an answer. */
static long long health_num(const struct jrt_daemon *d, struct jr_client **c, const char *key)
{
	char *resp = NULL;
	long long v;

	if (!*c && jr_client_open(c, d->sock) < 0)
		*c = NULL;
	int rc = *c ? jr_client_request(*c, "GET", "/health", NULL, 0, &resp, NULL) : -1;
	v = rc == 200 ? jrt_json_num(resp, key) : -1;
	free(resp);
	if (rc < 0 && *c) {
		jr_client_close(*c);
		*c = NULL;
	}
	return v;
}

double jrt_daemon_health_until(const struct jrt_daemon *d, const char *key, long long want,
			       bool exact, double t0, double timeout_s, unsigned interval_us)
{
	struct jr_client *c = NULL;
	double took = -1;

	for (;;) {
		long long v = health_num(d, &c, key);
		if (v == want || (!exact && v > want)) {
			took = jrt_now_s() - t0;
			break;
		}
		if (jrt_now_s() - t0 > timeout_s) {
			fprintf(stderr, "jrt: /health \"%s\" is %lld after %.0f s, not %lld\n", key,
				v, timeout_s, want);
			break;
		}
		usleep(interval_us);
	}
	if (c)
		jr_client_close(c);
	return took;
}
