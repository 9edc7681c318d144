/*
 * jsonfast.h - cJSON's tree for the plain JSON most request bodies are,
 * built in one pass, or nothing (and cJSON parses it): issue 17's batch
 * intake spent 3,280 of its 9,550 instructions a job in cJSON_Parse, a
 * line such as {"command":["/bin/true"],"name":"job-1","priority":3}.
 *
 * It takes a subset of JSON and gives up (NULL, nothing allocated that
 * is not freed) on anything else, so that the tree it builds is always
 * the one cJSON 1.7 builds from the same text, node for node:
 *   - whitespace is space, tab, CR and LF (cJSON also skips any byte
 *     below 33, and a UTF-8 byte order mark first);
 *   - strings hold no backslash and no byte below 0x20 (escapes, and the
 *     \u0000 check they need, are cJSON's); other bytes are copied as they
 *     are (the body was checked as UTF-8 before);
 *   - numbers are integers of at most 15 digits, no leading zero, not -0
 *     (exactly representable; cJSON reads the rest with strtod);
 *   - true, false and null are followed by a delimiter;
 *   - at most JSON_FAST_DEPTH levels of arrays and objects.
 * Its nodes come from cJSON_malloc (the batch's arena while one is
 * active: jsonarena.h) and go with cJSON_Delete as cJSON's do.
 * tests/test_jsonfast.c compares the two on the fuzz corpora and on
 * generated text; bench/jsonparse measures both.
 */
#ifndef JR_JSONFAST_H
#define JR_JSONFAST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define JSON_FAST_DEPTH 32

/* The tree of the JSON value at the start of text (after whitespace),
 * *end just past it; NULL if the text is outside the subset above or
 * not JSON at all, or without memory. */
cJSON *json_fast_parse(const char *text, size_t len, const char **end);

/* p just past a string's opening quote: its closing quote, or NULL at a
 * backslash, a byte below 0x20 or end (the subset's strings above). */
const char *json_fast_string_end(const char *p, const char *end);

#endif
