/*
 * test_reply.c - the answers' JSON printer (daemon/net/reply.c): for
 * every kind of value, and for random trees of them, reply_json_print
 * writes exactly what cJSON_PrintUnformatted writes (the routes' answers
 * must not change with the printer), and reply_json fills a response.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/net/reply.h"

static void same_as_cjson(const cJSON *v)
{
	char *want = cJSON_PrintUnformatted(v);
	struct buf got = { 0 };

	reply_json_print(&got, v);
	assert_non_null(want);
	assert_false(got.oom);
	assert_string_equal(got.p, want);
	free(want);
	buf_free(&got);
}

static void test_numbers(void **state)
{
	static const double v[] = { 0, -0.0, 1, -1, 3, 42, 2147483647.0, 2147483648.0,
				    -2147483649.0, 1e14, 999999999999999.0, 1e15, 1e16,
				    1764558890123456789.0, -1e300, 0.1, 0.5, 1.0 / 3, 3.14159,
				    -2.5e-7, 1e-320, 123456.789, 9007199254740993.0 };
	cJSON *a = cJSON_CreateArray();

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cJSON *n = cJSON_CreateNumber(v[i]);
		same_as_cjson(n);
		cJSON_Delete(n);
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
	}
	same_as_cjson(a);
	cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(INFINITY));
	same_as_cjson(a);
	cJSON_Delete(a);
}

static void test_strings_and_shapes(void **state)
{
	cJSON *o = cJSON_CreateObject(), *inner = cJSON_CreateObject();
	char ctl[40];

	(void)state;
	for (int i = 0; i < 32; i++)
		ctl[i] = (char)(i + 1);
	ctl[31] = '\0';
	cJSON_AddStringToObject(o, "plain", "w1");
	cJSON_AddStringToObject(o, "quote\"key", "a \"b\" \\ c / d");
	cJSON_AddStringToObject(o, "controls", ctl);
	cJSON_AddStringToObject(o, "utf8", "h\xc3\xa9llo \xe2\x82\xac \x7f");
	cJSON_AddStringToObject(o, "", "");
	cJSON_AddNullToObject(o, "none");
	cJSON_AddTrueToObject(o, "yes");
	cJSON_AddFalseToObject(o, "no");
	cJSON_AddItemToObject(o, "empty_obj", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "empty_arr", cJSON_CreateArray());
	cJSON_AddRawToObject(o, "raw", "{\"x\":[1,2]}");
	cJSON_AddNumberToObject(inner, "n", 7);
	cJSON_AddItemToObject(o, "inner", inner);
	same_as_cjson(o);
	cJSON_Delete(o);
}

/* Random trees: depth, kinds, strings with any byte, numbers of all sizes. */
static cJSON *random_value(unsigned *seed, int depth)
{
	int kind = rand_r(seed) % (depth > 3 ? 5 : 7);
	char s[24];

	switch (kind) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(rand_r(seed) & 1);
	case 2: {
		double d = (double)rand_r(seed) - RAND_MAX / 2;
		switch (rand_r(seed) % 4) {
		case 0: d /= 1000; break;
		case 1: d *= 1e9; break;
		case 2: d = ldexp(d, rand_r(seed) % 200 - 100); break;
		}
		return cJSON_CreateNumber(d);
	}
	case 3:
	case 4: {
		int n = rand_r(seed) % (int)sizeof(s);
		for (int i = 0; i < n; i++)
			s[i] = (char)(rand_r(seed) % 255 + 1);
		s[n] = '\0';
		return cJSON_CreateString(s);
	}
	default: {
		bool obj = kind == 5;
		cJSON *c = obj ? cJSON_CreateObject() : cJSON_CreateArray();
		for (int i = rand_r(seed) % 5; i > 0; i--) {
			cJSON *v = random_value(seed, depth + 1);
			if (obj) {
				snprintf(s, sizeof(s), "k%d\n\"", rand_r(seed) % 100);
				cJSON_AddItemToObject(c, s, v);
			} else {
				cJSON_AddItemToArray(c, v);
			}
		}
		return c;
	}
	}
}

static void test_random_trees(void **state)
{
	unsigned seed = 14;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		cJSON *v = random_value(&seed, 0);
		same_as_cjson(v);
		cJSON_Delete(v);
	}
}

static void test_reply_json(void **state)
{
	struct response res = { .status = 0 };
	cJSON *o = cJSON_CreateObject();

	(void)state;
	buf_puts(&res.body, "something before");
	cJSON_AddNumberToObject(o, "running", 2);
	reply_json(&res, 201, o);
	assert_int_equal(res.status, 201);
	assert_string_equal(res.body.p, "{\"running\":2}");
	reply_json(&res, 200, NULL);
	assert_int_equal(res.status, 500);
	assert_non_null(strstr(res.body.p, "out_of_memory"));
	buf_free(&res.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings_and_shapes),
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_reply_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
