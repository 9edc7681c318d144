/*
 * test_shquote.c - jr_sh_quote_append: what sh reads back is the string,
 * and a string that does not fit leaves the buffer as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/shquote.h"

static void test_quotes(void **state)
{
	char buf[64] = "exec ";

	(void)state;
	assert_true(jr_sh_quote_append(buf, sizeof(buf), "a b"));
	assert_string_equal(buf, "exec 'a b'");
	assert_true(jr_sh_quote_append(buf, sizeof(buf), "it's"));
	assert_string_equal(buf, "exec 'a b''it'\\''s'");
}

/* sh itself reads it back as one word, quotes, $ and spaces kept. */
static void test_sh_reads_it_back(void **state)
{
	static const char word[] = "x'y \"$HOME\" `id` \\ z";
	char cmd[256] = "printf %s ", out[128] = "";
	FILE *p;

	(void)state;
	assert_true(jr_sh_quote_append(cmd, sizeof(cmd), word));
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	assert_string_equal(out, word);
}

static void test_too_long_leaves_buf(void **state)
{
	char buf[12] = "ab";

	(void)state;
	assert_false(jr_sh_quote_append(buf, sizeof(buf), "0123456789"));
	assert_string_equal(buf, "ab");
	assert_true(jr_sh_quote_append(buf, sizeof(buf), "0123"));	/* 'ab' + '0123' + NUL = 9 */
	assert_string_equal(buf, "ab'0123'");
	assert_false(jr_sh_quote_append(buf, 3, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_sh_reads_it_back),
		cmocka_unit_test(test_too_long_leaves_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
