/*
 * units.c - durations, sizes and RFC 3339 times. See units.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/common.h"
#include "base/units.h"

/* A non-negative decimal number and what follows it. */
static int leading_number(const char *s, double *v, const char **rest)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	*v = strtod(s, &end);
	if (end == s || !isfinite(*v))
		return -EINVAL;
	*rest = end;
	return 0;
}

static int scaled(double v, double unit, uint64_t *out)
{
	double r = v * unit;

	if (r < 0 || r >= 1.8e19)
		return -EINVAL;
	*out = (uint64_t)(r + 0.5);
	return 0;
}

int jr_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct { const char *suffix; double ms; } units[] = {
		{ "", JR_MS_PER_SEC }, { "s", JR_MS_PER_SEC }, { "ms", 1 },
		{ "m", 60 * JR_MS_PER_SEC }, { "min", 60 * JR_MS_PER_SEC },
		{ "h", 3600 * JR_MS_PER_SEC }, { "d", 86400 * JR_MS_PER_SEC },
	};
	const char *rest;
	double v;

	if (leading_number(s, &v, &rest) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].suffix) == 0)
			return scaled(v, units[i].ms, ms);
	return -EINVAL;
}

int jr_parse_size_bytes(const char *s, uint64_t *bytes)
{
	static const char letters[] = "KMGTPE";
	const char *rest, *p;
	double v, unit = 1;

	if (leading_number(s, &v, &rest) < 0)
		return -EINVAL;
	if (*rest && (p = strchr(letters, toupper((unsigned char)*rest)))) {
		unit = ldexp(1.0, 10 * (int)(p - letters + 1));
		rest++;
		if (strcasecmp(rest, "iB") == 0 || strcasecmp(rest, "B") == 0)
			rest += strlen(rest);
	} else if (strcasecmp(rest, "B") == 0) {
		rest++;
	}
	return *rest ? -EINVAL : scaled(v, unit, bytes);
}

static int fixed_digits(const char **s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
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

/* Fraction of a second after '.', in nanoseconds. */
static uint64_t fraction_ns(const char **s)
{
	uint64_t ns = 0, scale = JR_NS_PER_SEC / 10;

	while (isdigit((unsigned char)**s)) {
		ns += (uint64_t)(**s - '0') * scale;
		scale /= 10;
		(*s)++;
	}
	return ns;
}

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
	if (fixed_digits(&s, 2, &hh) || expect_char(&s, ":") || fixed_digits(&s, 2, &mm) ||
	    *s || hh > 23 || mm > 59)
		return -EINVAL;
	*offset = sign * (hh * 3600L + mm * 60L);
	return 0;
}

int jr_parse_rfc3339_ns(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;
	uint64_t frac = 0;
	long offset;
	time_t t;

	if (!s || fixed_digits(&s, 4, &y) || expect_char(&s, "-") ||
	    fixed_digits(&s, 2, &mo) || expect_char(&s, "-") || fixed_digits(&s, 2, &d) ||
	    expect_char(&s, "Tt ") || fixed_digits(&s, 2, &h) || expect_char(&s, ":") ||
	    fixed_digits(&s, 2, &mi) || expect_char(&s, ":") || fixed_digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		frac = fraction_ns(&s);
	}
	if (zone_offset_s(s, &offset) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) - offset;
	/* Past 2554-07-21 the nanoseconds do not fit in 64 bits. */
	if (t < 0 || (uint64_t)t > (UINT64_MAX - frac) / JR_NS_PER_SEC)
		return -EINVAL;
	*ns = (uint64_t)t * JR_NS_PER_SEC + frac;
	return 0;
}

void jr_format_rfc3339(uint64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / JR_NS_PER_SEC);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns / JR_NS_PER_MS % JR_MS_PER_SEC));
}

void jr_format_size(uint64_t bytes, char *out, size_t size)
{
	static const char letters[] = "KMGTPE";
	int i = -1;
	double v = (double)bytes;

	while (v >= JR_KIB && i < 5) {
		v /= JR_KIB;
		i++;
	}
	if (i < 0)
		snprintf(out, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(out, size, v == (uint64_t)v ? "%.0f%c" : "%.1f%c", v, letters[i]);
}
