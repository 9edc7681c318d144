/*
 * query.c - the query string parsed once. See query.h.
 */
#include <ctype.h>
#include <string.h>

#include "daemon/api/query.h"

static int hex_value(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Percent-decode src[0, n) into out (size bytes, NUL included); returns
 * the bytes used, NUL included. */
static size_t url_decode(const char *src, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (src[i] == '%' && i + 2 < n && hex_value(src[i + 1]) >= 0 &&
		    hex_value(src[i + 2]) >= 0) {
			out[o++] = (char)(hex_value(src[i + 1]) << 4 | hex_value(src[i + 2]));
			i += 2;
		} else {
			out[o++] = src[i] == '+' ? ' ' : src[i];
		}
	}
	out[o] = '\0';
	return o + 1;
}

void query_parse(struct query *q, const char *raw)
{
	size_t used = 0;

	q->count = 0;
	while (raw && *raw && q->count < QUERY_PAIRS_MAX && used < sizeof(q->values)) {
		size_t n = strcspn(raw, "&");
		const char *eq = memchr(raw, '=', n);
		if (eq) {
			struct query_pair *p = &q->pairs[q->count++];
			p->key = raw;
			p->key_len = (size_t)(eq - raw);
			p->value = q->values + used;
			used += url_decode(eq + 1, n - p->key_len - 1, q->values + used,
					   sizeof(q->values) - used);
		}
		raw += n + (raw[n] == '&');
	}
}

const char *query_get(const struct query *q, const char *key)
{
	size_t len = strlen(key);

	for (uint32_t i = 0; i < q->count; i++)
		if (q->pairs[i].key_len == len && memcmp(q->pairs[i].key, key, len) == 0)
			return q->pairs[i].value;
	return NULL;
}
