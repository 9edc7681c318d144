/*
 * jsonfast.c - cJSON's tree for plain JSON in one pass. See jsonfast.h
 * for the subset and why each limit is there.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "daemon/state/jsonfast.h"

struct fast {
	const char *p, *end;
	int depth;
};

static cJSON *value(struct fast *f);

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct fast *f)
{
	while (f->p < f->end && is_space(*f->p))
		f->p++;
}

/* What may follow a number or a literal: cJSON stops there as well. */
static bool at_delimiter(const struct fast *f)
{
	return f->p == f->end || *f->p == ',' || *f->p == '}' || *f->p == ']' || is_space(*f->p);
}

static cJSON *node(int type)
{
	cJSON *n = cJSON_malloc(sizeof(*n));

	if (n) {
		memset(n, 0, sizeof(*n));
		n->type = type;
	}
	return n;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* A byte of the 8 in w that ends a plain run: '"', '\\' or below 0x20
 * (the usual SWAR tests: a zero byte of w ^ c, a byte below 0x20). */
static bool word_stops(uint64_t w)
{
	uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');

	return (((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) |
		((w - ONES * 0x20) & ~w)) & HIGHS;
}

const char *json_fast_string_end(const char *p, const char *end)
{
	uint64_t w;

	/* Eight bytes at a time while none of them ends the run (half the
	 * parse's instructions went on this loop). */
	while (end - p >= 8) {
		memcpy(&w, p, sizeof(w));
		if (word_stops(w))
			break;
		p += 8;
	}
	for (; p < end && *p != '"'; p++)
		if (*p == '\\' || (unsigned char)*p < 0x20)
			return NULL;
	return p < end ? p : NULL;
}

/* At a '"': the string's bytes, copied; NULL at a backslash, a control
 * byte or the end of the text. */
static char *string(struct fast *f)
{
	const char *s = f->p + 1, *q = json_fast_string_end(s, f->end);

	if (!q)
		return NULL;
	size_t n = (size_t)(q - s);
	char *out = cJSON_malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	f->p = q + 1;
	return out;
}

static cJSON *string_value(struct fast *f)
{
	char *s = string(f);
	cJSON *n = s ? node(cJSON_String) : NULL;

	if (!n) {
		cJSON_free(s);
		return NULL;
	}
	n->valuestring = s;
	return n;
}

/* -?(0|[1-9][0-9]{0,14}), not -0; valueint saturated as cJSON's. */
static cJSON *number(struct fast *f)
{
	bool negative = *f->p == '-';
	const char *digits = f->p + negative, *q = digits;
	int64_t v = 0;

	while (q < f->end && *q >= '0' && *q <= '9' && q - digits < 16)
		v = v * 10 + (*q++ - '0');
	size_t n = (size_t)(q - digits);
	if (n == 0 || n > 15 || (digits[0] == '0' && (n > 1 || negative)))
		return NULL;
	f->p = q;
	if (!at_delimiter(f))
		return NULL;	/* a fraction, an exponent, a 16th digit: strtod's */
	cJSON *num = node(cJSON_Number);
	if (!num)
		return NULL;
	double d = (double)(negative ? -v : v);
	num->valuedouble = d;
	num->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
	return num;
}

static cJSON *literal(struct fast *f, const char *word, int type)
{
	size_t n = strlen(word);

	if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
		return NULL;
	f->p += n;
	if (!at_delimiter(f))
		return NULL;
	cJSON *l = node(type);
	if (l && type == cJSON_True)
		l->valueint = 1;
	return l;
}

/* Items linked as cJSON links them: next and prev, and the first's prev
 * the last. */
static void append(cJSON *parent, cJSON **last, cJSON *item)
{
	if (!parent->child) {
		parent->child = item;
	} else {
		(*last)->next = item;
		item->prev = *last;
	}
	*last = item;
	parent->child->prev = item;
}

/* At '[' or '{': the items up to the closing bracket; for an object each
 * is "key": value. */
static cJSON *container(struct fast *f, bool object)
{
	cJSON *c, *last = NULL;

	if (++f->depth > JSON_FAST_DEPTH || !(c = node(object ? cJSON_Object : cJSON_Array)))
		return NULL;
	f->p++;
	skip_space(f);
	if (f->p < f->end && *f->p == (object ? '}' : ']'))
		goto closed;
	for (;;) {
		char *key = NULL;
		if (object) {
			if (f->p == f->end || *f->p != '"' || !(key = string(f)))
				goto fail;
			skip_space(f);
			if (f->p == f->end || *f->p != ':') {
				cJSON_free(key);
				goto fail;
			}
			f->p++;
			skip_space(f);
		}
		cJSON *item = value(f);
		if (!item) {
			cJSON_free(key);
			goto fail;
		}
		item->string = key;
		append(c, &last, item);
		skip_space(f);
		if (f->p < f->end && *f->p == ',') {
			f->p++;
			skip_space(f);
			continue;
		}
		if (f->p < f->end && *f->p == (object ? '}' : ']'))
			break;
		goto fail;
	}
closed:
	f->p++;
	f->depth--;
	return c;
fail:
	cJSON_Delete(c);
	return NULL;
}

static cJSON *value(struct fast *f)
{
	if (f->p == f->end)
		return NULL;
	switch (*f->p) {
	case '{': return container(f, true);
	case '[': return container(f, false);
	case '"': return string_value(f);
	case 't': return literal(f, "true", cJSON_True);
	case 'f': return literal(f, "false", cJSON_False);
	case 'n': return literal(f, "null", cJSON_NULL);
	default:
		if (*f->p == '-' || (*f->p >= '0' && *f->p <= '9'))
			return number(f);
		return NULL;
	}
}

cJSON *json_fast_parse(const char *text, size_t len, const char **end)
{
	struct fast f = { text, text + len, 0 };
	cJSON *v;

	if (!text || len == 0)
		return NULL;
	skip_space(&f);
	if (!(v = value(&f)))
		return NULL;
	if (end)
		*end = f.p;
	return v;
}
