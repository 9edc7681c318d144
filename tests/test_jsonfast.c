/*
 * test_jsonfast - daemon/state/jsonfast.c against cJSON: whenever the fast
 * parser gives a tree, cJSON must give the same one (types, keys, strings,
 * numbers to the bit, valueint, the links, the end of the value), on
 * hand-picked edges, on the fuzz regression inputs, and on 300,000
 * generated texts, a third of them damaged. It must also take the plain
 * lines a batch is made of (or it would be dead code).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "daemon/state/jsonfast.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static bool same_tree(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type || a->valueint != b->valueint ||
	    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
		return false;
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0))
		return false;
	if ((a->valuestring == NULL) != (b->valuestring == NULL) ||
	    (a->valuestring && strcmp(a->valuestring, b->valuestring) != 0))
		return false;
	const cJSON *x = a->child, *y = b->child, *lx = NULL, *ly = NULL;
	for (; x && y; x = x->next, y = y->next) {
		if (!same_tree(x, y) || (lx && x->prev != lx) || (ly && y->prev != ly))
			return false;
		lx = x;
		ly = y;
	}
	if (x || y)
		return false;
	/* The first child's prev is the last, in both. */
	return !a->child || (a->child->prev == lx && b->child->prev == ly);
}

static unsigned long taken, refused;

/* The one rule: a fast tree is cJSON's tree. */
static void compare(const char *text, size_t len)
{
	const char *fend = NULL, *cend = NULL;
	cJSON *f = json_fast_parse(text, len, &fend);
	cJSON *c = cJSON_ParseWithLengthOpts(text, len, &cend, 0);

	if (f) {
		taken++;
		if (!c || fend != cend || !same_tree(f, c))
			fail_msg("fast and cJSON differ on %zu bytes: %.*s", len, (int)len, text);
	} else {
		refused++;
	}
	cJSON_Delete(f);
	cJSON_Delete(c);
}

static void compare_str(const char *text)
{
	compare(text, strlen(text));
}

static void test_edges(void **state)
{
	static const char *const cases[] = {
		"{}", "[]", " { } ", "[ ]", "\t\r\n[1]\n", "\v[1]", "\f{}", "\xef\xbb\xbf{}",
		"0", "-0", "01", "-01", "7", "-7", "1.5", "1e3", "1E3", "-", "--1", "+1",
		"123456789012345", "-123456789012345", "1234567890123456", "2147483647",
		"2147483648", "-2147483648", "-2147483649", "999999999999999",
		"true", "false", "null", "tru", "nul", "nullx", "truefalse", "[true,false,null]",
		"[true false]", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}",
		"{a:1}", "{\"a\":1", "[1", "\"abc", "\"a\\nb\"", "\"a\\u0000b\"", "\"a\tb\"",
		"\"\xc3\xa9t\xc3\xa9\"", "{\"a\":1,\"a\":2}", "{\"\":\"\"}", "[[[[[]]]]]",
		"{\"command\":[\"/bin/true\"],\"name\":\"job-1\",\"priority\":3}",
		"{\"a\":[1,{\"b\":[true,{\"c\":null}]}],\"d\":-5}", "[1]x", "[1] [2]", "1 2",
		"\"\"", "[\"\",\"\"]", "{\"a\":\"\\\"\"}", "[-]", "[1-2]", "[0x10]", "[.5]",
	};
	char deep[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		compare_str(cases[i]);
	for (int d = JSON_FAST_DEPTH - 1; d <= JSON_FAST_DEPTH + 1; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		compare(deep, (size_t)(2 * d));
	}
	/* A batch line is taken; text after the value is left to the caller. */
	const char *line = "{\"command\":[\"/bin/true\"],\"name\":\"job-1\",\"priority\":3}  \n";
	const char *end;
	cJSON *t = json_fast_parse(line, strlen(line), &end);
	assert_non_null(t);
	assert_int_equal(end - line, (long)strlen(line) - 3);
	cJSON_Delete(t);
}

/* The regression inputs of the JSON fuzz targets, each line and whole. */
static void test_fuzz_inputs(void **state)
{
	static const char *const dirs[] = { "tests/fuzz/regress/batch", "tests/fuzz/regress/jobspec" };
	char path[512], buf[1 << 16];
	int files = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			FILE *fp = fopen(path, "rb");
			if (!fp)
				continue;
			size_t n = fread(buf, 1, sizeof(buf), fp);
			fclose(fp);
			files++;
			compare(buf, n);
			for (char *p = buf, *nl; p < buf + n; p = nl + 1) {
				nl = memchr(p, '\n', (size_t)(buf + n - p));
				if (!nl)
					nl = buf + n;
				compare(p, (size_t)(nl - p));
			}
		}
		if (d)
			closedir(d);
	}
	if (files == 0)
		print_message("SKIP: no fuzz regression inputs here (run from the repository)\n");
}

/* --- generated text -------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0 && o->len + (size_t)n < o->cap)
		o->len += (size_t)n;
}

static void space(struct out *o)
{
	static const char *const ws[] = { "", "", "", " ", "\n", "\t ", "\r\n", "\v", "\x01" };

	put(o, "%s", ws[rnd(sizeof(ws) / sizeof(ws[0]))]);
}

static void gen_string(struct out *o)
{
	static const char *const parts[] = { "a", "job", "-", " ", "/bin/true", "\xc3\xa9",
					     "\xe2\x82\xac", "\\n", "\\\"", "\\u0041", "\\u0000",
					     "\t", "name", "x", "\x7f", "{", "]", ":" , "," };
	put(o, "\"");
	for (uint32_t i = rnd(2) ? rnd(5) : rnd(16); i > 0; i--)	/* long ones: 8 bytes a step */
		put(o, "%s", parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
	put(o, "\"");
}

static void gen_value(struct out *o, int depth)
{
	static const char *const numbers[] = { "0", "-0", "01", "3", "-45", "1.5", "1e5", "2147483647",
					       "2147483648", "-2147483648", "-2147483649",
					       "123456789012345", "1234567890123456", "-", "1.",
					       "9007199254740993", "00" };
	static const char *const literals[] = { "true", "false", "null", "tru", "nul", "nulll",
						"TRUE" };
	uint32_t k = rnd(depth > 5 ? 4 : 6);

	space(o);
	if (k == 0) {
		gen_string(o);
	} else if (k == 1) {
		put(o, "%s", numbers[rnd(sizeof(numbers) / sizeof(numbers[0]))]);
	} else if (k == 2 || k == 3) {
		put(o, "%s", literals[rnd(sizeof(literals) / sizeof(literals[0]))]);
	} else if (k == 4) {
		put(o, "[");
		for (uint32_t i = rnd(4); i > 0; i--) {
			gen_value(o, depth + 1);
			if (i > 1 || rnd(20) == 0)
				put(o, ",");
		}
		space(o);
		put(o, "]");
	} else {
		static const char *const keys[] = { "command", "name", "priority", "env", "a", "a" };
		put(o, "{");
		for (uint32_t i = rnd(4); i > 0; i--) {
			space(o);
			if (rnd(10) == 0)
				gen_string(o);
			else
				put(o, "\"%s\"", keys[rnd(sizeof(keys) / sizeof(keys[0]))]);
			space(o);
			put(o, "%s", rnd(30) ? ":" : "");
			gen_value(o, depth + 1);
			if (i > 1 || rnd(20) == 0)
				put(o, ",");
		}
		space(o);
		put(o, "}");
	}
	space(o);
}

static void damage(struct out *o)
{
	switch (rnd(4)) {
	case 0:
		if (o->len)
			o->len = rnd((uint32_t)o->len);	/* cut */
		break;
	case 1:
		if (o->len)
			o->p[rnd((uint32_t)o->len)] = (char)rnd(256);
		break;
	case 2:
		if (o->len)
			o->p[rnd((uint32_t)o->len)] = "{}[],:\"\\ 0-1e."[rnd(15)];
		break;
	default:
		put(o, "%s", rnd(2) ? "x" : " ]");
	}
}

static void test_generated(void **state)
{
	char buf[8192];
	struct out o = { buf, 0, sizeof(buf) };
	const int n = 300000;

	(void)state;
	taken = refused = 0;
	for (int i = 0; i < n; i++) {
		o.len = 0;
		gen_value(&o, 0);
		if (rnd(3) == 0)
			damage(&o);
		compare(buf, o.len);
	}
	print_message("generated: %lu of %d taken by the fast path, the rest left to cJSON\n",
		      taken, n);
	/* Both sides must be exercised for the comparison to mean anything. */
	assert_true(taken > (unsigned long)n / 20);
	assert_true(refused > (unsigned long)n / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_fuzz_inputs),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
