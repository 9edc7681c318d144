/*
 * http.h - one connection's HTTP/1.1 request reader, on the Debian
 * http-parser library (nodejs/http-parser 2.9): request line, headers,
 * Content-Length and chunked bodies, keep-alive and pipelining. It keeps
 * the URL and the body of the request being read, bounded: a body over
 * max_body is reported as too large as soon as its Content-Length says
 * so. Not thread-safe; one per connection.
 */
#ifndef JR_HTTP_H
#define JR_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/net/buf.h"

#define HTTP_URL_MAX 8192u
#define HTTP_KEEP_BYTES 4096u	/* a buffer over this is freed between requests */

enum http_outcome {
	HTTP_NEED_MORE,		/* everything consumed, no whole request yet */
	HTTP_GOT_REQUEST,	/* a request is complete: handle it */
	HTTP_BAD,		/* malformed: answer 400 and close */
	HTTP_TOO_LARGE,		/* answer 413 and close */
	HTTP_UNSUPPORTED,	/* CONNECT or Upgrade: answer 400 and close */
	HTTP_NEED_LENGTH,	/* a chunked body: answer 411 and close */
};

/* The strict checks http-parser 2.9 leaves out (llhttp makes them): every
 * line of the head ends in CRLF (no bare CR or LF), no obs-fold, no
 * control characters in header values, only visible ASCII in the request
 * line. Runs over the bytes of a message's head before the parser. */
struct http_head_check {
	bool prev_cr, line_start, done;
	uint32_t line_no, line_len;
};

enum { HTTP_HOST, HTTP_AUTHORIZATION, HTTP_COOKIE, HTTP_ORIGIN, HTTP_GATE_HEADERS };

struct http_in {
	http_parser parser;
	size_t max_body;
	struct buf url;
	struct buf body;
	char field[16];		/* the header name being read, lowercased */
	size_t field_len;
	bool in_value;
	bool expect_field;	/* the current header is Expect */
	bool expect_continue;	/* the client waits for 100 Continue */
	struct http_head_check check;
	bool chunked;		/* refused: send a Content-Length */
	char last_event_id[24];	/* Last-Event-ID (issue 16, GET /events); "": none */
	bool started;		/* a request has begun and is not yet handled */
	bool complete, too_large, url_too_long;
	/* The headers the listeners check (gate.h): Host, Authorization,
	 * Cookie and Origin, each kept up to HTTP_GATE_HEADER_MAX bytes (longer:
	 * cut, and so never matching); reset with every request. */
	uint8_t gate_field;	/* which of them the current header is; 0: none */
	bool last_event_field;	/* the current header is Last-Event-ID */
	struct buf gate_headers[HTTP_GATE_HEADERS];	/* HTTP_HOST, ... */
};

#define HTTP_GATE_HEADER_MAX 4096u

/* One of the headers above of the request just read, "" if it had none. */
const char *http_in_header(const struct http_in *h, int which);

void http_in_init(struct http_in *h, size_t max_body);
void http_in_free(struct http_in *h);

/* Read up to len bytes; *used says how many were consumed (the rest
 * belongs to the next request). */
enum http_outcome http_in_feed(struct http_in *h, const char *data, size_t len,
			       size_t *used);

/* The request just read: method, keep-alive. */
const char *http_in_method(const struct http_in *h);
bool http_in_keep_alive(const struct http_in *h);

/* Forget the request just handled, keeping the parser's position. */
void http_in_next(struct http_in *h);

/* "Not Found" for 404, ...; "Unknown" for what it does not know. */
const char *http_reason(int status);

#endif
