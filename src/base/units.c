/*
 * units.c - durations, sizes and RFC 3339 times. See units.h.
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/common.h"
#include "base/units.h"

/* A plain decimal: digits, then optionally '.' and digits; its value is
 * mant / scale exactly. Fraction digits past the 18th are dropped
 * (below a nanosecond of any unit here). -EINVAL if not of the form,
 * -ERANGE if the whole part overflows. */
struct decimal {
	uint64_t mant, scale;
};

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static int leading_decimal(const char *s, struct decimal *d, const char **rest)
{
	bool overflow = false;

	d->mant = 0;
	d->scale = 1;
	if (!s || !digit(*s))
		return -EINVAL;
	for (; digit(*s); s++)	/* past 2^64: read on, so that *rest is set */
		overflow = overflow || __builtin_mul_overflow(d->mant, 10, &d->mant) ||
			   __builtin_add_overflow(d->mant, (uint64_t)(*s - '0'), &d->mant);
	if (*s == '.') {
		s++;
		if (!digit(*s))
			return -EINVAL;
		for (; digit(*s); s++) {
			uint64_t m;
			if (d->scale >= 1000000000000000000ull ||
			    __builtin_mul_overflow(d->mant, 10, &m) ||
			    __builtin_add_overflow(m, (uint64_t)(*s - '0'), &m))
				continue;	/* past what matters: dropped */
			d->mant = m;
			d->scale *= 10;
		}
	}
	*rest = s;
	return overflow ? -ERANGE : 0;
}

/* d times unit, rounded to the nearest integer: 0 and *out if at most
 * max, else -ERANGE. 128-bit: mant < 2^64 and unit < 2^61. */
static int scaled(const struct decimal *d, uint64_t unit, uint64_t max, uint64_t *out)
{
	unsigned __int128 r = ((unsigned __int128)d->mant * unit + d->scale / 2) / d->scale;

	if (r > max)
		return -ERANGE;
	*out = (uint64_t)r;
	return 0;
}

int jr_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct { const char *suffix; uint64_t ms; } units[] = {
		{ "", JR_MS_PER_SEC }, { "s", JR_MS_PER_SEC }, { "ms", 1 },
		{ "m", 60 * JR_MS_PER_SEC }, { "min", 60 * JR_MS_PER_SEC },
		{ "h", 3600 * JR_MS_PER_SEC }, { "d", 86400 * JR_MS_PER_SEC },
	};
	struct decimal d;
	const char *rest;
	int rc = leading_decimal(s, &d, &rest);

	for (size_t i = 0; rc != -EINVAL && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].suffix) == 0)
			return rc < 0 ? rc : scaled(&d, units[i].ms, JR_DURATION_MAX_MS, ms);
	return -EINVAL;
}

int jr_parse_size_bytes(const char *s, uint64_t *bytes)
{
	static const char letters[] = "KMGTPE";
	const char *rest, *p;
	struct decimal d;
	uint64_t unit = 1;
	int rc = leading_decimal(s, &d, &rest);

	if (rc == -EINVAL)
		return rc;
	if (*rest && (p = strchr(letters, toupper((unsigned char)*rest)))) {
		unit = 1ull << (10 * (p - letters + 1));
		rest++;
		if (strcasecmp(rest, "iB") == 0 || strcasecmp(rest, "B") == 0)
			rest += strlen(rest);
	} else if (strcasecmp(rest, "B") == 0) {
		rest++;
	}
	if (*rest)
		return -EINVAL;
	return rc < 0 ? rc : scaled(&d, unit, UINT64_MAX, bytes);
}

int jr_seconds_to_duration_ms(double s, uint64_t *ms)
{
	if (!(s >= 0) || s > (double)(JR_DURATION_MAX_MS / JR_MS_PER_SEC))
		return -ERANGE;
	*ms = (uint64_t)(s * JR_MS_PER_SEC + 0.5);
	if (*ms > JR_DURATION_MAX_MS)
		*ms = JR_DURATION_MAX_MS;
	return 0;
}

int jr_seconds_to_time_ns(double s, uint64_t *ns)
{
	/* 18446744073 s is the last whole second a uint64 of ns holds. */
	if (!(s >= 0) || s >= 18446744074.0)
		return -ERANGE;
	double v = s * (double)JR_NS_PER_SEC;
	*ns = v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
	return 0;
}

static int fixed_digits(const char **s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (!digit(**s))
			return -EINVAL;
		*out = *out * 10 + (**s - '0');
	}
	return 0;
}

static int expect_char(const char **s, const char *one_of)
{
	if (!**s || !strchr(one_of, **s))
		return -EINVAL;
	(*s)++;
	return 0;
}

/* Fraction of a second after '.' (at least one digit), in nanoseconds;
 * digits past the ninth are dropped. */
static int fraction_ns(const char **s, uint64_t *ns)
{
	uint64_t scale = JR_NS_PER_SEC / 10;

	*ns = 0;
	if (!digit(**s))
		return -EINVAL;
	for (; digit(**s); (*s)++, scale /= 10)
		*ns += (uint64_t)(**s - '0') * scale;
	return 0;
}

/* "Z", or "+hh:mm" / "-hh:mm": -EINVAL if not of the form, -EDOM if
 * hh > 23 or mm > 59. */
static int zone_offset_s(const char *s, long *offset)
{
	int hh, mm, sign;

	if (*s == 'Z' || *s == 'z') {
		*offset = 0;
		return s[1] ? -EINVAL : 0;
	}
	sign = *s == '+' ? 1 : *s == '-' ? -1 : 0;
	if (!sign)
		return -EINVAL;
	s++;
	if (fixed_digits(&s, 2, &hh) || expect_char(&s, ":") || fixed_digits(&s, 2, &mm) || *s)
		return -EINVAL;
	if (hh > 23 || mm > 59)
		return -EDOM;
	*offset = sign * (hh * 3600L + mm * 60L);
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (may be negative). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int jr_parse_rfc3339_ns(const char *s, uint64_t *ns)
{
	int y, mo, d, h, mi, sec, rc;
	uint64_t frac = 0, whole;
	long offset;
	int64_t t;

	if (!s || fixed_digits(&s, 4, &y) || expect_char(&s, "-") ||
	    fixed_digits(&s, 2, &mo) || expect_char(&s, "-") || fixed_digits(&s, 2, &d) ||
	    expect_char(&s, "Tt ") || fixed_digits(&s, 2, &h) || expect_char(&s, ":") ||
	    fixed_digits(&s, 2, &mi) || expect_char(&s, ":") || fixed_digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (fraction_ns(&s, &frac) < 0)
			return -EINVAL;
	}
	if ((rc = zone_offset_s(s, &offset)) < 0)
		return rc;
	/* Second 60 (a leap second) has no POSIX time: refused, not folded. */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return -EDOM;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	if (t < 0)
		return -ERANGE;
	if (__builtin_mul_overflow((uint64_t)t, JR_NS_PER_SEC, &whole) ||
	    __builtin_add_overflow(whole, frac, ns))
		return -ERANGE;
	return 0;
}

/* Digits of v, n of them, into p. */
static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Every answer that shows a job formats several times (issue 14's
 * profile of claim->complete: gmtime_r and snprintf were a tenth of the
 * daemon's instructions), so the civil date is computed here (H. Hinnant's
 * days-to-civil; ns since 1970 ends in year 2554: always four digits) and
 * the digits written directly: the text of the gmtime_r and snprintf it
 * replaces (tests/test_units.c compares them). */
void jr_format_id(uint64_t id, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	out[16] = '\0';
}

void jr_format_rfc3339(uint64_t ns, char *out, size_t size)
{
	uint64_t secs = ns / JR_NS_PER_SEC;
	uint32_t days = (uint32_t)(secs / 86400), rem = (uint32_t)(secs % 86400);
	uint32_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	uint32_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	uint32_t year = yoe + era * 400 + (month <= 2);
	unsigned ms = (unsigned)(ns / JR_NS_PER_MS % JR_MS_PER_SEC);
	char whole[sizeof("2026-12-01T06:00:00.000Z")];

	if (size < sizeof(whole)) {	/* cut, as snprintf would */
		jr_format_rfc3339(ns, whole, sizeof(whole));
		if (size) {
			memcpy(out, whole, size - 1);
			out[size - 1] = '\0';
		}
		return;
	}
	put_digits(out, year, 4);
	out[4] = '-';
	put_digits(out + 5, month, 2);
	out[7] = '-';
	put_digits(out + 8, day, 2);
	out[10] = 'T';
	put_digits(out + 11, rem / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, rem / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, rem % 60, 2);
	out[19] = '.';
	put_digits(out + 20, ms, 3);
	out[23] = 'Z';
	out[24] = '\0';
}

void jr_format_size(uint64_t bytes, char *out, size_t size)
{
	static const char letters[] = "KMGTPE";
	int i = -1;
	double v = (double)bytes;
	uint64_t back;

	while (v >= JR_KIB && i < 5) {
		v /= JR_KIB;
		i++;
	}
	if (i >= 0)
		snprintf(out, size, v == (uint64_t)v ? "%.0f%c" : "%.1f%c", v, letters[i]);
	/* Near 2^64 the double rounds up ("16E"): bytes, so it reads back. */
	if (i < 0 || jr_parse_size_bytes(out, &back) < 0)
		snprintf(out, size, "%llu", (unsigned long long)bytes);
}
