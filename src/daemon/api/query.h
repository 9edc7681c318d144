/*
 * query.h - a request's query string, parsed once before its handler
 * runs: "status=queued%2Crunning&limit=10" into key and value pairs,
 * values percent-decoded ('+' is a space), keys compared as sent. The
 * first of a repeated key counts; a pair without '=' is ignored, as are
 * pairs past QUERY_PAIRS_MAX. Bounded by the URL's limit (HTTP_URL_MAX).
 */
#ifndef JR_QUERY_H
#define JR_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/net/http.h"

#define QUERY_PAIRS_MAX 32u

struct query_pair {
	const char *key;	/* into the raw query: key_len bytes, not NUL-terminated */
	size_t key_len;
	const char *value;	/* decoded, NUL-terminated, in values */
};

struct query {
	uint32_t count;
	struct query_pair pairs[QUERY_PAIRS_MAX];
	char values[HTTP_URL_MAX + 1];
};

/* raw (after '?', may be "" or NULL) must outlive q. */
void query_parse(struct query *q, const char *raw);

/* The decoded value of key, or NULL if the query does not have it. */
const char *query_get(const struct query *q, const char *key);

#endif
