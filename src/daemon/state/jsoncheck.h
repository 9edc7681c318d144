/*
 * jsoncheck.h - a request body read as JSON that means what it says:
 * valid UTF-8 with no NUL byte (else 400 invalid_utf8), one JSON value
 * with nothing but whitespace after it (400 invalid_json), no object
 * with the same key twice (400 duplicate_key: cJSON would keep both and
 * a lookup would find one of them), and no string, key or value, holding
 * \u0000 (422 invalid_value: C strings would end there, so the command
 * run and shown would not be the one sent). The error names the place:
 * a byte offset, or the field ("command[1]", "env.PATH").
 *
 * Cost: one pass over the bytes (8 at a time while they are ASCII), a
 * search for "\u0000", and a walk of the tree comparing each object's
 * keys: pairwise up to 16 keys (a job has a handful), sorted beyond (an
 * "env" or "payload" of thousands stays O(n log n)). Thread-safe.
 */
#ifndef JR_JSONCHECK_H
#define JR_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "daemon/state/jobspec.h"

/* The text checks alone: true, or false with err filled (and for UTF-8,
 * *at the offset of the first bad byte, if at is not NULL). */
/* err set (its message cut to fit and kept valid UTF-8: a quoted value
 * may be cut mid-character): false, for `return json_fail(...)`. */
bool json_fail(struct jobspec_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool json_check_utf8(const char *text, size_t len, size_t *at, struct jobspec_error *err);
bool json_check_no_nul_escape(const char *text, size_t len, struct jobspec_error *err);

/* Bytes of s that are not valid UTF-8 (a message that quoted part of a
 * value, cut mid-character) replaced by '?', in place. */
void json_utf8_repair(char *s);

/* No object in the tree has a key twice: true, or false with err. */
bool json_check_keys(const cJSON *root, struct jobspec_error *err);

/* Parse text as above: the tree (the caller cJSON_Delete()s it), or NULL
 * with err filled (400 or 422; cJSON out of memory reads as 400
 * invalid_json, as before). json_parse_checked() does all but the UTF-8
 * pass, for text already checked (a batch's lines: its body at once). */
cJSON *json_parse_strict(const char *text, size_t len, struct jobspec_error *err);
cJSON *json_parse_checked(const char *text, size_t len, struct jobspec_error *err);

#endif
