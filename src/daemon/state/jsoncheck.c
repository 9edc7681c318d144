/*
 * jsoncheck.c - request bodies checked beyond what cJSON checks. See
 * jsoncheck.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon/state/jsoncheck.h"
#include "daemon/state/jsonfast.h"

#define PAIRWISE_MAX 16	/* keys compared pairwise up to this; sorted beyond */
#define PATH_DEPTH 16	/* levels a field's path names; deeper ones are "..." */

bool json_fail(struct jobspec_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	json_utf8_repair(err->message);
	return false;
}

/* --- UTF-8 -------------------------------------------------------------------------- */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The length of the valid sequence at p (at most n bytes), or 0:
 * no overlong forms, no surrogates, nothing past U+10FFFF, no NUL. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];

	if (c > 0 && c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
		       (p[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

bool json_check_utf8(const char *text, size_t len, size_t *at, struct jobspec_error *err)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0, k;

	while (i < len) {
		if (len - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			/* Eight ASCII bytes, none of them NUL: skip them. */
			if (!((w | ((w - ONES) & ~w)) & HIGHS)) {
				i += 8;
				continue;
			}
		}
		if (!(k = utf8_sequence(p + i, len - i))) {
			if (at)
				*at = i;
			return json_fail(err, 400, "invalid_utf8",
				    p[i] ? "the body is not valid UTF-8 (byte %zu: 0x%02x)"
					 : "the body holds a NUL byte (byte %zu)", i, p[i]);
		}
		i += k;
	}
	return true;
}

void json_utf8_repair(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i += k)
		if (!(k = utf8_sequence(p + i, n - i))) {
			p[i] = '?';
			k = 1;
		}
}

/* --- \u0000 ------------------------------------------------------------------------- */

struct level {
	bool object;
	bool want_key;		/* an object expecting a key next */
	const char *key;	/* the current key, as written (escapes and all) */
	size_t key_len;
	size_t index;		/* an array's current element */
};

/* The end of the string whose opening quote is at p (the closing quote),
 * or end. */
static const char *string_end(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p : end;
}

static void path_of(const struct level *lv, size_t depth, bool key, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < depth && i < PATH_DEPTH && used < size; i++) {
		const struct level *l = &lv[i];
		if (l->object && l->key && (i + 1 < depth || !key))
			used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? "." : "",
						 (int)(l->key_len > 64 ? 64 : l->key_len), l->key);
		else if (!l->object)
			used += (size_t)snprintf(out + used, size - used, "[%zu]", l->index);
	}
	if (depth > PATH_DEPTH && used < size)
		snprintf(out + used, size - used, "...");
}

/* The field (its path) whose string holds the escape at offset at, from
 * a walk of the text up to it: the text parsed, so it is valid JSON. */
static bool nul_field(const char *text, size_t len, size_t at, char *out, size_t size)
{
	struct level lv[PATH_DEPTH + 1];
	const char *p = text, *end = text + len, *s;
	size_t depth = 0, deep = 0;	/* levels, and levels past PATH_DEPTH */

	for (; p < end; p++) {
		struct level *top = depth ? &lv[depth - 1] : NULL;
		switch (*p) {
		case '{': case '[':
			if (depth == PATH_DEPTH) {
				deep++;
				break;
			}
			lv[depth++] = (struct level){ .object = *p == '{', .want_key = *p == '{' };
			break;
		case '}': case ']':
			if (deep)
				deep--;
			else if (depth)
				depth--;
			break;
		case ',':
			if (top && !deep && top->object)
				top->want_key = true;
			else if (top && !deep)
				top->index++;
			break;
		case '"':
			s = string_end(p, end);
			if ((size_t)(p - text) < at && at < (size_t)(s - text)) {
				bool key = top && top->object && top->want_key && !deep;
				path_of(lv, depth + (deep ? PATH_DEPTH : 0), key, out, size);
				return key;
			}
			if (top && top->object && top->want_key && !deep) {
				top->key = p + 1;
				top->key_len = (size_t)(s - p - 1);
				top->want_key = false;
			}
			p = s;
			break;
		}
	}
	out[0] = '\0';
	return false;
}

bool json_check_no_nul_escape(const char *text, size_t len, struct jobspec_error *err)
{
	const char *p = text, *end = text + len, *hit;
	char path[192];

	if (!memchr(text, '\\', len))	/* most text has no escape at all */
		return true;
	while ((hit = memmem(p, (size_t)(end - p), "\\u0000", 6))) {
		size_t slashes = 0;
		while (hit - slashes > text && hit[-1 - (ptrdiff_t)slashes] == '\\')
			slashes++;
		if (slashes % 2 == 0) {	/* not an escaped backslash before "u0000" */
			bool key = nul_field(text, len, (size_t)(hit - text), path, sizeof(path));
			return json_fail(err, 422, "invalid_value", "%s%s%s holds a NUL character (\\u0000)",
				    key ? "a key" : path[0] ? path : "a string",
				    key && path[0] ? " in " : "", key ? path : "");
		}
		p = hit + 1;
	}
	return true;
}

/* --- duplicate keys ------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cJSON's type tests are calls into the library; these are inline. */
static bool is_object(const cJSON *v)
{
	return (v->type & 0xFF) == cJSON_Object;
}

static bool is_container(const cJSON *v)
{
	return (v->type & 0xFF) == cJSON_Object || (v->type & 0xFF) == cJSON_Array;
}

/* Of an object with more than PAIRWISE_MAX keys: sorted, neighbours
 * compared. NULL also when out of memory (the check is skipped). */
static const char *duplicate_sorted(const cJSON *o)
{
	const char *stack[64], **keys = stack, *dup = NULL;
	size_t n = 0, i = 0;
	const cJSON *a;

	for (a = o->child; a; a = a->next)
		n++;
	if (n > sizeof(stack) / sizeof(stack[0]) && !(keys = malloc(n * sizeof(*keys))))
		return NULL;
	for (a = o->child; a; a = a->next)
		keys[i++] = a->string;
	qsort(keys, n, sizeof(*keys), by_name);
	for (i = 1; i < n && !dup; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			dup = keys[i];
	if (keys != stack)
		free(keys);
	return dup;
}

/* The key o holds twice, or NULL: each key against those before it while
 * there are at most PAIRWISE_MAX, sorted beyond. */
static const char *duplicate_in(const cJSON *o)
{
	size_t n = 0;

	for (const cJSON *a = o->child; a; a = a->next, n++) {
		if (n == PAIRWISE_MAX)
			return duplicate_sorted(o);
		for (const cJSON *b = o->child; b != a; b = b->next)
			if (b->string[0] == a->string[0] && strcmp(b->string, a->string) == 0)
				return a->string;
	}
	return NULL;
}

bool json_check_keys(const cJSON *v, struct jobspec_error *err)
{
	const char *dup;

	if (is_object(v) && (dup = duplicate_in(v)))
		return json_fail(err, 400, "duplicate_key", "the key \"%.64s\"%s%.64s%s appears twice",
			    dup, v->string ? " (in \"" : "", v->string ? v->string : "",
			    v->string ? "\")" : "");
	for (const cJSON *c = v->child; c; c = c->next)
		if (c->child && is_container(c) && !json_check_keys(c, err))
			return false;
	return true;
}

/* --- all of it ------------------------------------------------------------------------ */

cJSON *json_parse_strict(const char *text, size_t len, struct jobspec_error *err)
{
	return json_check_utf8(text, len, NULL, err) ? json_parse_checked(text, len, err) : NULL;
}

cJSON *json_parse_checked(const char *text, size_t len, struct jobspec_error *err)
{
	const char *end = NULL;
	cJSON *o;
	/* Plain JSON in one pass (jsonfast.h); cJSON for the rest. The fast
	 * path's strings hold no backslash: no "\u0000" to look for. */
	bool plain = (o = json_fast_parse(text, len, &end)) != NULL;

	if (!plain)
		o = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!o) {
		json_fail(err, 400, "invalid_json", "not JSON (at byte %zu)",
		     end && end >= text ? (size_t)(end - text) : (size_t)0);
		return NULL;
	}
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end < text + len) {
		json_fail(err, 400, "invalid_json", "text after the JSON value (at byte %zu)",
		     (size_t)(end - text));
	} else if (json_check_keys(o, err) && (plain || json_check_no_nul_escape(text, len, err))) {
		return o;
	}
	cJSON_Delete(o);
	return NULL;
}
