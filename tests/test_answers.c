/*
 * test_answers.c - the JSON reprinter of the answers written by hand
 * (daemon/state/answers.c): for fixed cases and 20,000 random documents
 * (strings with every escape, control characters, non-ASCII and invalid
 * UTF-8, numbers in every form, nesting, odd spacing, broken JSON),
 * answer_reprint writes exactly what cJSON_Parse then
 * cJSON_PrintUnformatted writes, or declines (and cJSON answers); it must
 * not decline what it is there for. The whole answers are compared with
 * the cJSON views by the daemon itself in debug builds, on every claim and
 * completion (tests/test_answers.sh drives many of them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/net/reply.h"
#include "daemon/state/answers.h"
#include "testutil.h"

/* What cJSON makes of text; NULL if it does not parse it. */
static char *cjson_reprint(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	cJSON_Delete(v);
	return s;
}

/* answer_reprint agrees with cJSON or declines; returns whether it wrote. */
static bool agrees(const char *text)
{
	char *want = cjson_reprint(text);
	struct buf got = { 0 };
	bool wrote;

	buf_puts(&got, "x");	/* it appends: what is there stays */
	wrote = answer_reprint(&got, text, strlen(text));
	if (wrote) {
		if (!want || strcmp(got.p + 1, want) != 0)
			fail_msg("for %s\n  reprint: %s\n  cJSON:   %s", text, got.p + 1,
				 want ? want : "(does not parse)");
	} else {
		assert_int_equal(got.len, 1);	/* as it was */
		assert_string_equal(got.p, "x");
	}
	free(want);
	buf_free(&got);
	return wrote;
}

static void test_fixed(void **state)
{
	static const char *const written[] = {
		"{}", "[]", " { } ", "[ ]", "0", "-0", "1", "-1", "3.0", "1e2", "1E+2", "-2.5e-7",
		"0.1", "1.0000000000000002", "123456789012345678901234567890", "1e400", "-1e400",
		"true", "false", "null", "\"\"", "\"abc\"", "\"a\\\"b\"", "\"a\\\\b\"", "\"a\\/b\"",
		"\"\\b\\f\\n\\r\\t\"", "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"",
		"\"\xff\xfe invalid UTF-8\"", "{\"a\":1,\"a\":2}", "[1,[2,[3,{\"x\":[]}]]]",
		"{ \"command\" : [ \"/bin/sh\" , \"-c\" , \"echo \\\"hi\\\" > /tmp/x\" ] }",
		"{\"env\":{\"A\":\"1\",\"B\":\"x\\ty\"},\"payload\":{\"n\":1.5,\"l\":[true,null]}}",
		"[1, 2 ,3]\n", "\t\r\n[\"x\"]", "1 trailing ignored", "{\"k\":\"v\"} {",
	};
	static const char *const declined[] = {
		"", " ", "{", "[", "[1,]", "{\"a\":1,}", "{,}", "{\"a\" 1}", "{1:2}", "tru", "nul",
		"-", "+", ".", "1.5e", "\"unterminated", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
		"\"\\x\"", "\"raw\ttab\"", "[\"\x01\"]", "\v[]", "[1\v]", "{\"a\":\"\\u0000\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		if (!agrees(written[i]))
			fail_msg("declined %s", written[i]);
	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		if (agrees(declined[i]))
			fail_msg("wrote %s (cJSON must answer it)", declined[i]);
}

/* --- random documents ---------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void space(struct buf *b)
{
	static const char *const ws[] = { "", "", "", " ", "\n", "\t ", "\r\n  " };

	buf_puts(b, ws[rnd(7)]);
}

static void gen_string(struct buf *b, bool with_u)
{
	static const char *const parts[] = {
		"a", "job-1", " ", "/", "\\/", "\\\"", "\\\\", "\\n", "\\t", "\\r", "\\b", "\\f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80", "\xe6\x97\xa5", "\x7f", "\xc3",
		"\xff", "'", "<>&", "%s", "0",
	};
	static const char *const u[] = { "\\u0041", "\\u00e9", "\\u20ac", "\\ud83d\\ude80",
					  "\\u001f", "\\u0000" };
	int n = (int)rnd(8);

	buf_puts(b, "\"");
	for (int i = 0; i < n; i++) {
		if (with_u && rnd(10) == 0)
			buf_puts(b, u[rnd(6)]);
		else
			buf_puts(b, parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
	}
	buf_puts(b, "\"");
}

static void gen_number(struct buf *b)
{
	static const char *const n[] = {
		"0", "-0", "7", "-13", "42", "3.0", "0.5", "-0.25", "1e3", "1E-3", "2.5e+10",
		"123456789012345", "1234567890123456", "9007199254740993", "1e15", "1e16",
		"0.1", "0.30000000000000004", "1.7976931348623157e308", "5e-324", "1e-400",
		"100", "-2147483648", "4294967296", "3.14159265358979323846",
	};

	buf_puts(b, n[rnd(sizeof(n) / sizeof(n[0]))]);
}

static void gen_value(struct buf *b, int depth, bool with_u)
{
	uint32_t k = rnd(depth > 4 ? 6 : 8);

	space(b);
	switch (k) {
	case 0: case 1: gen_string(b, with_u); break;
	case 2: case 3: gen_number(b); break;
	case 4: buf_puts(b, rnd(2) ? "true" : "false"); break;
	case 5: buf_puts(b, "null"); break;
	case 6:
	case 7: {
		bool object = k == 6;
		int n = (int)rnd(5);
		buf_puts(b, object ? "{" : "[");
		for (int i = 0; i < n; i++) {
			if (i)
				buf_puts(b, ",");
			if (object) {
				space(b);
				gen_string(b, with_u);
				space(b);
				buf_puts(b, ":");
			}
			gen_value(b, depth + 1, with_u);
		}
		space(b);
		buf_puts(b, object ? "}" : "]");
	}
	}
	space(b);
}

/* Some broken: a byte dropped, changed or a control character put in. */
static void damage(struct buf *b)
{
	size_t at;

	if (!b->len || rnd(4))
		return;
	at = rnd((uint32_t)b->len);
	switch (rnd(3)) {
	case 0: memmove(b->p + at, b->p + at + 1, b->len - at); b->len--; break;
	case 1: b->p[at] = ",:[]{}\"\\x1"[rnd(10)]; break;
	default: b->p[at] = (char)(1 + rnd(31)); break;
	}
}

static void test_random(void **state)
{
	uint32_t n = (uint32_t)test_scaled(20000) + 500;
	uint32_t plain = 0, plain_written = 0, any_written = 0;

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		struct buf b = { 0 };
		bool with_u = i % 3 == 0, broken = i % 5 == 0, wrote;
		gen_value(&b, 0, with_u);
		if (broken)
			damage(&b);
		wrote = agrees(b.p);
		any_written += wrote;
		if (!with_u && !broken) {
			plain++;
			plain_written += wrote;
		}
		buf_free(&b);
	}
	/* What it is for (no \u, not broken) it writes, always. */
	assert_int_equal(plain_written, plain);
	assert_true(any_written > plain);
	print_message("%u documents, %u written by the reprinter (%u without \\u nor damage)\n", n,
		      any_written, plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
