/*
 * test_units.c - src/base/units.c: durations, sizes and RFC 3339 times
 * parsed exactly or refused: not of the form (-EINVAL), no such date
 * (-EDOM), out of range (-ERANGE; never wrapped), at the edges of each.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"

static uint64_t dur(const char *s, int want_rc)
{
	uint64_t v = 12345;

	int rc = jr_parse_duration_ms(s, &v);

	if (rc != want_rc)
		fail_msg("duration \"%s\": %d, not %d", s, rc, want_rc);
	return v;
}

static uint64_t size(const char *s, int want_rc)
{
	uint64_t v = 12345;

	int rc = jr_parse_size_bytes(s, &v);

	if (rc != want_rc)
		fail_msg("size \"%s\": %d, not %d", s, rc, want_rc);
	return v;
}

static uint64_t when(const char *s, int want_rc)
{
	uint64_t v = 12345;

	if (jr_parse_rfc3339_ns(s, &v) != want_rc)
		fail_msg("%s: %d, not %d", s, jr_parse_rfc3339_ns(s, &v), want_rc);
	return v;
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(dur("90", 0), 90000);
	assert_int_equal(dur("90s", 0), 90000);
	assert_int_equal(dur("250ms", 0), 250);
	assert_int_equal(dur("30m", 0), 1800000);
	assert_int_equal(dur("30min", 0), 1800000);
	assert_int_equal(dur("1.5h", 0), 5400000);
	assert_int_equal(dur("1d", 0), 86400000);
	assert_int_equal(dur("0", 0), 0);
	assert_int_equal(dur("0.0015", 0), 2);	/* rounded to the nearest ms */
	assert_int_equal(dur("0.000000000000000000000001s", 0), 0);
	/* The cap, exactly, and just past it. */
	assert_int_equal(dur("1000000000", 0), JR_DURATION_MAX_MS);
	assert_int_equal(dur("1000000000000ms", 0), JR_DURATION_MAX_MS);
	dur("1000000000001ms", -ERANGE);
	dur("1000000000.001", -ERANGE);
	dur("11574d", 0);
	dur("11575d", -ERANGE);
	dur("18446744073709s", -ERANGE);	/* once wrapped a deadline to 1 ms */
	dur("18446744073709551616", -ERANGE);	/* past uint64 */
	dur("99999999999999999999999999h", -ERANGE);
	dur("188888888888888888888888.0s", -ERANGE);	/* fuzz: the suffix read past overflow */
	/* Not plain decimals. */
	const char *bad[] = { "", "s", "-1", "+1", " 1", "1 ", ".5", "1.", "1e3", "0x10",
			      "inf", "nan", "1..2", "1.2.3", "1sec", "1S", "1y", "1,5h", NULL };
	for (int i = 0; bad[i]; i++)
		if (jr_parse_duration_ms(bad[i], &(uint64_t){ 0 }) != -EINVAL)
			fail_msg("duration \"%s\" accepted", bad[i]);
	assert_int_equal(jr_parse_duration_ms(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(size("4096", 0), 4096);
	assert_int_equal(size("512K", 0), 512 * JR_KIB);
	assert_int_equal(size("4G", 0), 4ull << 30);
	size("188888888888888888888888.0G", -ERANGE);	/* fuzz: read past overflow */
	/* What is shown reads back (fuzz: 2^64 - 1 was shown as "16E"). */
	char text[32];
	jr_format_size(UINT64_MAX, text, sizeof(text));
	assert_string_equal(text, "18446744073709551615");
	jr_format_size(4ull << 30, text, sizeof(text));
	assert_string_equal(text, "4G");
	assert_int_equal(size("4GiB", 0), 4ull << 30);
	assert_int_equal(size("4gb", 0), 4ull << 30);
	assert_int_equal(size("1.5T", 0), 3ull << 39);
	assert_int_equal(size("10B", 0), 10);
	assert_int_equal(size("0", 0), 0);
	assert_int_equal(size("15E", 0), 15ull << 60);
	assert_int_equal(size("18446744073709551615", 0), UINT64_MAX);
	size("18446744073709551616", -ERANGE);
	size("16E", -ERANGE);
	size("16.0E", -ERANGE);
	assert_int_equal(size("15.5E", 0), 31ull << 59);
	size("1000000P", -ERANGE);
	const char *bad[] = { "", "K", "-1", "1e9", "0x10", "1.", "4Q", "4GiBs", "4 G", NULL };
	for (int i = 0; bad[i]; i++)
		if (jr_parse_size_bytes(bad[i], &(uint64_t){ 0 }) != -EINVAL)
			fail_msg("size \"%s\" accepted", bad[i]);
}

static void test_times(void **state)
{
	(void)state;
	assert_int_equal(when("1970-01-01T00:00:00Z", 0), 0);
	assert_int_equal(when("2026-11-27T13:00:00Z", 0), 1795784400ull * JR_NS_PER_SEC);
	assert_int_equal(when("2026-11-27T14:00:00+01:00", 0), 1795784400ull * JR_NS_PER_SEC);
	assert_int_equal(when("2026-11-27t12:30:00-00:30", 0), 1795784400ull * JR_NS_PER_SEC);
	assert_int_equal(when("2026-11-27 13:00:00.5Z", 0), 1795784400500000000ull);
	assert_int_equal(when("2026-11-27T13:00:00.123456789123Z", 0), 1795784400123456789ull);
	assert_int_equal(when("2024-02-29T00:00:00Z", 0), 1709164800ull * JR_NS_PER_SEC);
	assert_int_equal(when("2000-02-29T00:00:00Z", 0), 951782400ull * JR_NS_PER_SEC);
	/* The latest instant, and a nanosecond, a second, a year past it. */
	assert_int_equal(when("2554-07-21T23:34:33.709551615Z", 0), UINT64_MAX);
	when("2554-07-21T23:34:33.709551616Z", -ERANGE);
	when("2554-07-21T23:34:34Z", -ERANGE);
	when("2600-01-01T00:00:00Z", -ERANGE);	/* once wrapped to run at once */
	when("9999-12-31T23:59:59Z", -ERANGE);
	when("1969-12-31T23:59:59Z", -ERANGE);
	when("1970-01-01T00:30:00+01:00", -ERANGE);
	when("0000-01-01T00:00:00Z", -ERANGE);
	/* No such date or time. */
	const char *impossible[] = { "2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-12-31T23:59:60Z",
		"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60", NULL };
	for (int i = 0; impossible[i]; i++)
		when(impossible[i], -EDOM);
	/* Not of the form. */
	const char *bad[] = { "", "tomorrow", "2026-11-27", "2026-11-27T13:00Z",
		"2026-11-27T13:00:00", "2026-11-27T13:00:00.Z", "2026-11-27T13:00:00ZZ",
		"2026-11-27T13:00:00+0100", "2026-11-27T13:00:00+01", "26-11-27T13:00:00Z",
		"2026/11/27T13:00:00Z", "+2026-11-27T13:00:00Z", "2026-11-27T13:00:00 Z", NULL };
	for (int i = 0; bad[i]; i++)
		when(bad[i], -EINVAL);
	assert_int_equal(jr_parse_rfc3339_ns(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static void test_seconds(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(jr_seconds_to_duration_ms(1.5, &v), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(jr_seconds_to_duration_ms(1e9, &v), 0);
	assert_int_equal(v, JR_DURATION_MAX_MS);
	assert_int_equal(jr_seconds_to_duration_ms(1e9 + 1, &v), -ERANGE);
	assert_int_equal(jr_seconds_to_duration_ms(-1, &v), -ERANGE);
	assert_int_equal(jr_seconds_to_duration_ms(0.0 / 0.0, &v), -ERANGE);
	assert_int_equal(jr_seconds_to_time_ns(1795784400, &v), 0);
	assert_int_equal(v, 1795784400ull * JR_NS_PER_SEC);
	assert_int_equal(jr_seconds_to_time_ns(18446744073.0, &v), 0);
	assert_int_equal(jr_seconds_to_time_ns(18446744074.0, &v), -ERANGE);
	assert_int_equal(jr_seconds_to_time_ns(1e300, &v), -ERANGE);
	assert_int_equal(jr_seconds_to_time_ns(-0.5, &v), -ERANGE);
}

static void test_format_round_trip(void **state)
{
	char t[32];
	uint64_t ns;

	(void)state;
	jr_format_rfc3339(1795784400123000000ull, t, sizeof(t));
	assert_string_equal(t, "2026-11-27T13:00:00.123Z");
	assert_int_equal(jr_parse_rfc3339_ns(t, &ns), 0);
	assert_int_equal(ns, 1795784400123000000ull);
	jr_format_rfc3339(UINT64_MAX, t, sizeof(t));
	assert_string_equal(t, "2554-07-21T23:34:33.709Z");
	assert_int_equal(jr_parse_rfc3339_ns(JR_TIME_MAX_TEXT, &ns), 0);
}

/* The hand-written formatter against gmtime_r and snprintf: edges (leap
 * days, century years, the end of uint64_t) and a million random instants
 * (scaled down under the sanitizers); a short buffer truncates alike. */
static void reference_rfc3339(uint64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns / 1000000ull % 1000));
}

static void test_format_rfc3339_matches_gmtime(void **state)
{
	static const uint64_t edges[] = { 0, 999999999ull, 951782400000000000ull /* 2000-02-29 */,
					  951868800000000000ull, 4107542400000000000ull /* 2100-03-01 */,
					  1709164800000000001ull /* 2024-02-29 */, UINT64_MAX,
					  UINT64_MAX - 86400000000000ull };
	char got[32], want[96];
	uint64_t x = 88172645463325252ull, n = test_scaled(1000000);

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + n; i++) {
		uint64_t ns = i < sizeof(edges) / sizeof(edges[0]) ? edges[i] : x;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		jr_format_rfc3339(ns, got, sizeof(got));
		reference_rfc3339(ns, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("%llu: %s, not %s", (unsigned long long)ns, got, want);
	}
	jr_format_rfc3339(1795784400123000000ull, got, 11);
	assert_string_equal(got, "2026-11-27");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_rfc3339_matches_gmtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
