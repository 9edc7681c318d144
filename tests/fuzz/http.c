/*
 * http.c - fuzzes src/daemon/net/http.c, the strict head check and the
 * glue around http-parser: the input is a byte stream on one connection,
 * fed in pieces as recv(2) could deliver it (the first byte picks the
 * piece size, 1 to 64 bytes or everything at once), read the way
 * server.c reads it: each whole request's method, keep-alive, URL and
 * body are looked at, its path found in the routing table and its query
 * parsed, until the stream ends or a request is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/query.h"
#include "daemon/api/route.h"
#include "daemon/net/http.h"
#include "fuzz.h"

#define FUZZ_MAX_BODY (64u * 1024)

static volatile size_t sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* A whole request: what server.c's handle_request() and api.c look at. */
static void look_at(struct http_in *h)
{
	static struct query q;
	struct route_match m;
	char *path, *query;
	size_t sum = 0;

	sum += strlen(http_in_method(h));
	sum += http_in_keep_alive(h);
	if (!h->url.p)
		buf_puts(&h->url, "/");
	path = h->url.p;
	query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	route_find(http_in_method(h), path, &m);
	query_parse(&q, query ? query : "");
	for (uint32_t i = 0; i < q.count; i++)
		sum += strlen(q.pairs[i].value);
	for (size_t i = 0; i < h->body.len; i++)
		sum += (unsigned char)h->body.p[i];
	sink += sum;	/* every byte read: ASan sees any outside the buffers */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_in h;
	size_t piece, pos = 0, avail = 0;

	if (size == 0)
		return 0;
	piece = data[0] % 65u;		/* 0: all at once */
	data++;
	size--;
	http_in_init(&h, FUZZ_MAX_BODY);
	while (pos < size) {
		enum http_outcome r;
		size_t used = 0;

		/* Bytes received so far: the next piece arrives when the
		 * parser has used everything. */
		if (avail == pos)
			avail = piece == 0 || size - pos < piece ? size : pos + piece;
		r = http_in_feed(&h, (const char *)data + pos, avail - pos, &used);
		if (used > avail - pos)
			abort();
		pos += used;
		if (r == HTTP_GOT_REQUEST) {
			look_at(&h);
			http_in_next(&h);
		} else if (r != HTTP_NEED_MORE) {
			break;
		} else if (used == 0 && avail == size) {
			break;
		}
	}
	http_in_free(&h);
	return 0;
}
