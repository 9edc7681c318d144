/*
 * reply.h - the shapes of the daemon's answers, filled into a response
 * (server.h): a JSON error {"error": {"code": "...", "message": "..."}}
 * with a stable code (docs/PROTOCOL.md lists them), or a JSON body built
 * with cJSON. Used by every layer that answers: the routes, the journal
 * writer's 507. Not thread-safe: one response, one caller.
 */
#ifndef JR_REPLY_H
#define JR_REPLY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "daemon/net/server.h"

/* Fill res with an error (its body replaced). Returns false, so that a
 * check can `return reply_error(...)`. */
bool reply_error(struct response *res, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fill res with status and body printed compactly; body is consumed
 * (NULL, or no memory to print it: a 500 error). */
void reply_json(struct response *res, int status, cJSON *body);

/* Append v to b as cJSON_PrintUnformatted would print it (the same
 * bytes), without its per-number printf and sscanf; b->oom set if it
 * could not (no memory, or an invalid item). */
void reply_json_print(struct buf *b, const cJSON *v);

/* A number and a string (s: NUL-terminated; NULL prints "") as
 * reply_json_print prints a cJSON number or string: for answers written
 * by hand (state/answers.c). */
void reply_json_number(struct buf *b, double d);
void reply_json_string(struct buf *b, const char *s);

#endif
