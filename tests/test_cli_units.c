/*
 * test_cli_units.c - the CLI's conversions of sbatch's words (src/cli/
 * parse.c) one by one: --mem in MB unless a suffix says otherwise,
 * --time's minutes and [D-]HH:MM:SS forms, --begin's times, --dependency
 * into "after" objects and "singleton", --array's check, the id's short
 * form; and each refusal's message says what is allowed.
 */
#include "testutil.h"

#include <string.h>

#include "cli/parse.h"

static void mem_is_mb_unless_a_suffix(void **state)
{
	char err[CLI_ERR_MAX];
	uint64_t b;

	(void)state;
	assert_true(cli_parse_mem("4000", &b, err));
	assert_int_equal(b, 4000ull << 20);
	assert_true(cli_parse_mem("1.5", &b, err));
	assert_int_equal(b, 3ull << 19);
	assert_true(cli_parse_mem("512K", &b, err));
	assert_int_equal(b, 512ull << 10);
	assert_true(cli_parse_mem("4G", &b, err));
	assert_int_equal(b, 4ull << 30);
	assert_true(cli_parse_mem("2t", &b, err));
	assert_int_equal(b, 2ull << 40);
	assert_true(cli_parse_mem("4GiB", &b, err));
	assert_int_equal(b, 4ull << 30);
	assert_true(cli_parse_mem("100M", &b, err));
	assert_int_equal(b, 100ull << 20);
	assert_false(cli_parse_mem("0", &b, err));
	assert_non_null(strstr(err, "more than 0"));
	assert_false(cli_parse_mem("lots", &b, err));
	assert_non_null(strstr(err, "MB as a number"));
	assert_false(cli_parse_mem("", &b, err));
	assert_false(cli_parse_mem("-5", &b, err));
	assert_false(cli_parse_mem("99999999999999999999", &b, err));
	assert_non_null(strstr(err, "16E"));
}

static uint64_t time_ms(const char *s)
{
	char err[CLI_ERR_MAX];
	uint64_t ms = 12345;

	assert_true(cli_parse_time(s, &ms, err));
	return ms;
}

static void time_in_sbatch_forms(void **state)
{
	char err[CLI_ERR_MAX];
	uint64_t ms;

	(void)state;
	assert_int_equal(time_ms("90"), 90 * 60000ull);		/* minutes */
	assert_int_equal(time_ms("1:30"), 90 * 1000ull);		/* MM:SS */
	assert_int_equal(time_ms("1:30:00"), 5400 * 1000ull);	/* HH:MM:SS */
	assert_int_equal(time_ms("2-0"), 2 * 86400 * 1000ull);	/* D-HH */
	assert_int_equal(time_ms("1-2"), (86400 + 7200) * 1000ull);
	assert_int_equal(time_ms("1-2:30"), (86400 + 9000) * 1000ull);	/* D-HH:MM */
	assert_int_equal(time_ms("1-02:30:15"), (86400 + 9015) * 1000ull);
	assert_int_equal(time_ms("90s"), 90 * 1000ull);		/* jobring's units */
	assert_int_equal(time_ms("30m"), 30 * 60000ull);
	assert_int_equal(time_ms("2h"), 7200 * 1000ull);
	assert_int_equal(time_ms("250ms"), 250);
	assert_int_equal(time_ms("0"), 0);				/* no limit */
	assert_int_equal(time_ms("infinite"), 0);
	assert_int_equal(time_ms("UNLIMITED"), 0);
	const char *bad[] = { "", "1:2:3:4", "a:b", "1-", "-5", "1::2", "x", "1.5:00", "1-2-3",
			      "1234567890:00", NULL };
	for (const char **b = bad; *b; b++) {
		assert_false(cli_parse_time(*b, &ms, err));
		assert_non_null(strstr(err, "HH:MM:SS"));
	}
	assert_false(cli_parse_time("999999999-0", &ms, err));
	assert_non_null(strstr(err, "longer than"));
}

static int64_t begin(const char *s, int64_t now)
{
	char err[CLI_ERR_MAX];
	int64_t at = -1;

	if (!cli_parse_begin(s, now, &at, err))
		fail_msg("%s: %s", s, err);
	return at;
}

static void begin_times(void **state)
{
	const int64_t now = 1800000000;	/* 2027-01-15T08:00:00Z */
	char err[CLI_ERR_MAX];
	int64_t at;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(begin("now", now), now);
	assert_int_equal(begin("now+90", now), now + 90);
	assert_int_equal(begin("now+30minutes", now), now + 1800);
	assert_int_equal(begin("now+2hours", now), now + 7200);
	assert_int_equal(begin("now+1day", now), now + 86400);
	assert_int_equal(begin("2026-11-27T13:00:00Z", now), 1795784400);
	assert_int_equal(begin("2026-11-27T13:00:00", now), 1795784400);	/* local: UTC */
	assert_int_equal(begin("2026-11-27T13:00", now), 1795784400);
	assert_int_equal(begin("2026-11-27", now), 1795784400 - 13 * 3600);
	assert_int_equal(begin("09:00", now), now + 3600);		/* later today */
	assert_int_equal(begin("07:00", now), now + 23 * 3600);	/* past: tomorrow */
	assert_int_equal(begin("08:00:30", now), now + 30);
	assert_int_equal(begin("tomorrow", now), now + 16 * 3600);
	assert_int_equal(begin("today", now), now - 8 * 3600);
	const char *bad[] = { "", "soon", "now+", "now+5fortnights", "25:00", "2026-02-31",
			      "2026-13-01", "2026-11-27T25:00", "12:60", "2026-11-27X", NULL };
	for (const char **b = bad; *b; b++) {
		assert_false(cli_parse_begin(*b, now, &at, err));
		assert_true(strstr(err, "must be a time") || strstr(err, "no such date"));
	}
}

/* Ids resolve to themselves padded to 16 digits; "none" to nothing. */
static bool fake_resolve(void *ctx, const char *id, char out[17], char *err)
{
	(*(int *)ctx)++;
	if (strcmp(id, "none") == 0) {
		snprintf(err, CLI_ERR_MAX, "no job none");
		return false;
	}
	snprintf(out, 17, "%016llx", strtoull(id, NULL, 16));
	return true;
}

static void dependency_into_after_objects(void **state)
{
	cJSON *t = cJSON_CreateObject();
	char err[CLI_ERR_MAX], *text;
	int calls = 0;

	(void)state;
	assert_true(cli_parse_dependency("afterok:100000001:2,afterany:3,singleton", t,
					 fake_resolve, &calls, err));
	text = cJSON_PrintUnformatted(t);
	assert_string_equal(text,
		"{\"after\":[{\"job_id\":\"0000000100000001\",\"type\":\"afterok\"},"
		"{\"job_id\":\"0000000000000002\",\"type\":\"afterok\"},"
		"{\"job_id\":\"0000000000000003\",\"type\":\"afterany\"}],\"singleton\":true}");
	free(text);
	assert_int_equal(calls, 3);
	cJSON_Delete(t);

	t = cJSON_CreateObject();
	assert_true(cli_parse_dependency("singleton", t, fake_resolve, &calls, err));
	text = cJSON_PrintUnformatted(t);
	assert_string_equal(text, "{\"singleton\":true}");
	free(text);
	assert_true(cli_parse_dependency("after:1,afternotok:2,aftercorr:3", t, fake_resolve,
					 &calls, err));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "after")), 3);

	assert_false(cli_parse_dependency("afterok:1?afterany:2", t, fake_resolve, &calls, err));
	assert_non_null(strstr(err, "'?'"));
	assert_false(cli_parse_dependency("afterwards:1", t, fake_resolve, &calls, err));
	assert_non_null(strstr(err, "afterok"));
	assert_false(cli_parse_dependency("afterok", t, fake_resolve, &calls, err));
	assert_non_null(strstr(err, "names no job"));
	assert_false(cli_parse_dependency("afterok:1+60", t, fake_resolve, &calls, err));
	assert_non_null(strstr(err, "delay"));
	assert_false(cli_parse_dependency("afterok:none", t, fake_resolve, &calls, err));
	assert_string_equal(err, "no job none");
	assert_false(cli_parse_dependency("", t, fake_resolve, &calls, err));
	cJSON_Delete(t);
}

static void array_and_ids(void **state)
{
	char err[CLI_ERR_MAX], out[17];

	(void)state;
	assert_true(cli_check_array("0-999:2%50", err));
	assert_true(cli_check_array("1,3,5-7", err));
	assert_true(cli_check_array("0-9%4", err));
	const char *bad[] = { "", "a-b", "1-9%", "1-9%2%3", "%4", "-1", "1-9%x", NULL };
	for (const char **b = bad; *b; b++) {
		assert_false(cli_check_array(*b, err));
		assert_non_null(strstr(err, "0-999:2%50"));
	}
	cli_short_id("0000000100000002", out);
	assert_string_equal(out, "100000002");
	cli_short_id("0000000000000000", out);
	assert_string_equal(out, "0");
	cli_short_id("00000000000000ab", out);
	assert_string_equal(out, "ab");
	assert_true(cli_is_hex_id("100000002"));
	assert_true(cli_is_hex_id("0000000100000002"));
	assert_false(cli_is_hex_id("00000001000000020"));
	assert_false(cli_is_hex_id("build"));
	assert_false(cli_is_hex_id(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mem_is_mb_unless_a_suffix),
		cmocka_unit_test(time_in_sbatch_forms),
		cmocka_unit_test(begin_times),
		cmocka_unit_test(dependency_into_after_objects),
		cmocka_unit_test(array_and_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
