/*
 * test_arrayspec.c - a job array's index set (daemon/state/arrayspec.c):
 * Slurm's --array forms with their counts, bounds and throttles, every
 * refusal with its sentence, ordinal <-> index both ways over a
 * million-task array and a list of steps.
 */
#include "testutil.h"

#include <string.h>

#include "daemon/state/arrayspec.h"

static struct arrayspec parsed(const char *text)
{
	struct arrayspec a;
	char why[160];

	if (!arrayspec_parse(text, &a, why, sizeof(why)))
		fail_msg("\"%s\" refused: %s", text, why);
	return a;
}

static void test_forms(void **state)
{
	(void)state;
	struct arrayspec a = parsed("0-999:2%50");

	assert_int_equal(a.count, 500);
	assert_int_equal(a.throttle, 50);
	assert_int_equal(a.min, 0);
	assert_int_equal(a.max, 998);
	a = parsed("1,3,5-7");
	assert_int_equal(a.count, 5);
	assert_int_equal(a.throttle, 0);
	assert_int_equal(arrayspec_index(&a, 0), 1);
	assert_int_equal(arrayspec_index(&a, 2), 5);
	assert_int_equal(arrayspec_index(&a, 4), 7);
	a = parsed("5-7,1,3%2");	/* any order: tasks go by index */
	assert_int_equal(arrayspec_index(&a, 0), 1);
	assert_int_equal(arrayspec_index(&a, 4), 7);
	assert_int_equal(a.throttle, 2);
	a = parsed("42");
	assert_int_equal(a.count, 1);
	assert_int_equal(a.min, 42);
	a = parsed("0-10:3");	/* 0 3 6 9: the last index is on the step */
	assert_int_equal(a.count, 4);
	assert_int_equal(a.max, 9);
	a = parsed("0-3999999");
	assert_int_equal(a.count, 4000000);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "-1", "a", "1-", "1-2:", "1-2:0", "5-3", "1,,2", "1,", "0-9%0", "0-9%",
		"0-9%x", "1 2", "0-4000000", "2147483648", "99999999999", "1-5,5", "0-10:2,3-4",
		"0-9%50 ", "1;2",
	};
	struct arrayspec a;
	char why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (arrayspec_parse(bad[i], &a, why, sizeof(why)))
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(strlen(why) > 10);
	}
	char many[512] = "";
	for (int i = 0; i < 65; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i ? "," : "", i * 2);
	assert_false(arrayspec_parse(many, &a, why, sizeof(why)));
	assert_non_null(strstr(why, "at most 64"));
}

/* ordinal -> index -> ordinal over every task, and indices not in it. */
static void test_round_trip(void **state)
{
	(void)state;
	struct arrayspec a = parsed("0-999999");
	struct arrayspec b = parsed("3,10-40:3,100-1000:7,5000%9");

	for (uint32_t i = 0; i < a.count; i++)
		assert_int_equal(arrayspec_ordinal(&a, arrayspec_index(&a, i)), i);
	for (uint32_t i = 0; i < b.count; i++) {
		uint32_t x = arrayspec_index(&b, i);
		assert_int_equal(arrayspec_ordinal(&b, x), i);
		if (i)
			assert_true(x > arrayspec_index(&b, i - 1));
	}
	assert_int_equal(b.count, 1 + 11 + 129 + 1);
	assert_int_equal(arrayspec_ordinal(&b, 11), -1);
	assert_int_equal(arrayspec_ordinal(&b, 4), -1);
	assert_int_equal(arrayspec_ordinal(&b, 1000000), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
