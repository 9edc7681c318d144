/*
 * cron.c - cron expressions and intervals: parsing into bit sets, and the
 * next due instant. The search runs on the zone's wall clock one segment
 * of constant UTC offset at a time (zone.h): within a segment, the first
 * matching wall time is found field by field, skipping whole months,
 * days, hours and minutes that cannot match (robfig/cron's walk, never a
 * scan of every minute); the DST rules of cron.h decide which wall times
 * near a change count and where a gap's times go. No allocation, no
 * shared state: thread-safe.
 */
#include "cron/cron.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/common.h"
#include "cron/zone.h"

#define NONE INT64_MIN
#define DAY 86400
/* Wall and UTC seconds are kept within years 1-9999. */
#define T_MIN (-62135596800ll)
#define T_MAX (253402300799ll)

/* ---- parsing ---- */

enum field { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

static const struct {
	const char *name;
	int lo, hi;
} fields[] = {
	{"second", 0, 59}, {"minute", 0, 59}, {"hour", 0, 23},
	{"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7},
};

static const char *const mon_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					"jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* a number or a name at *pp; -1 if neither */
static int parse_value(enum field f, const char **pp, const char *end)
{
	const char *p = *pp;
	if (p < end && *p >= '0' && *p <= '9') {
		int v = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			if (v > 1000)
				return -1;
			v = v * 10 + (*p++ - '0');
		}
		*pp = p;
		return v;
	}
	const char *const *names = f == F_MON ? mon_names : f == F_DOW ? dow_names : NULL;
	int n = f == F_MON ? 12 : 7;
	if (!names || end - p < 3)
		return -1;
	for (int i = 0; i < n; i++)
		if (!strncasecmp(p, names[i], 3) && (end - p == 3 || !((p[3] | 32) >= 'a' && (p[3] | 32) <= 'z'))) {
			*pp = p + 3;
			return f == F_MON ? i + 1 : i;
		}
	return -1;
}

struct fieldbits {
	uint64_t bits;
	bool star;
	bool last;        /* DOM "L" */
	uint8_t dow_last; /* DOW "nL" */
	uint8_t nth_wd, nth_k; /* DOW "n#k": k 1-5, 0 if none */
};

#define FAIL(...)                                                                    \
	do {                                                                         \
		jr_cron_err(err, errlen, __VA_ARGS__);                               \
		return -EINVAL;                                                      \
	} while (0)

static int parse_special_dow(const char *s, const char *end, struct fieldbits *fb, char *err,
			     size_t errlen)
{
	const char *p = s;
	int wd = parse_value(F_DOW, &p, end);
	if (wd < 0 || wd > 7)
		FAIL("day of week: bad value in \"%.*s\"", (int)(end - s), s);
	wd %= 7;
	if (*p == 'L' || *p == 'l') {
		if (p + 1 != end)
			FAIL("day of week: bad \"%.*s\" (want nL)", (int)(end - s), s);
		fb->dow_last = (uint8_t)(1u << wd);
		return 0;
	}
	if (*p != '#')
		FAIL("day of week: bad \"%.*s\"", (int)(end - s), s);
	p++;
	int k = 0, digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 3) {
		k = k * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || p != end || k < 1 || k > 5)
		FAIL("day of week: \"%.*s\": the occurrence after # must be 1-5", (int)(end - s), s);
	fb->nth_wd = (uint8_t)wd;
	fb->nth_k = (uint8_t)k;
	return 0;
}

static int parse_field(enum field f, const char *s, const char *end, struct fieldbits *fb,
		       char *err, size_t errlen)
{
	const char *fname = fields[f].name;
	int lo = fields[f].lo, hi = fields[f].hi;
	memset(fb, 0, sizeof(*fb));
	size_t len = (size_t)(end - s);
	if ((len == 1 && (*s == '*' || (*s == '?' && (f == F_DOM || f == F_DOW)))) ||
	    (len == 3 && !memcmp(s, "*/1", 3))) {
		fb->star = true;
		for (int v = lo; v <= hi; v++)
			fb->bits |= 1ull << (f == F_DOW ? v % 7 : v);
		return 0;
	}
	if (f == F_DOW && memchr(s, '#', len)) {
		if (memchr(s, ',', len) || memchr(s, '-', len) || memchr(s, '/', len))
			FAIL("day of week: \"%.*s\": n#k stands alone (no lists, ranges or steps)",
			     (int)len, s);
		return parse_special_dow(s, end, fb, err, errlen);
	}
	const char *p = s;
	for (;;) {
		const char *e = p;
		while (e < end && *e != ',')
			e++;
		if (e == p)
			FAIL("%s: empty list element in \"%.*s\"", fname, (int)len, s);
		const char *q = p;
		int a, b, step = 1;
		bool single = false;
		if (f == F_DOM && e - q == 1 && (*q == 'L' || *q == 'l')) {
			fb->last = true;
			goto next;
		}
		if (f == F_DOW && e - q > 1 && (e[-1] == 'L' || e[-1] == 'l')) { /* "5L" */
			if (memchr(q, '-', (size_t)(e - q)) || memchr(q, '/', (size_t)(e - q)))
				FAIL("day of week: \"%.*s\": nL takes one weekday", (int)(e - p), p);
			uint8_t keep = fb->dow_last;
			int rc = parse_special_dow(q, e, fb, err, errlen);
			if (rc)
				return rc;
			fb->dow_last |= keep;
			goto next;
		}
		if (*q == '*') {
			a = lo, b = hi;
			q++;
		} else {
			if ((a = parse_value(f, &q, e)) < 0)
				FAIL("%s: bad value \"%.*s\"", fname, (int)(e - p), p);
			b = a;
			single = true;
			if (q < e && *q == '-') {
				q++;
				if ((b = parse_value(f, &q, e)) < 0)
					FAIL("%s: bad range \"%.*s\"", fname, (int)(e - p), p);
				single = false;
			}
		}
		if (q < e && *q == '/') {
			q++;
			step = 0;
			int digits = 0;
			while (q < e && *q >= '0' && *q <= '9' && digits < 5) {
				step = step * 10 + (*q++ - '0');
				digits++;
			}
			if (!digits || step < 1)
				FAIL("%s: bad step in \"%.*s\" (want a number >= 1)", fname,
				     (int)(e - p), p);
			if (single) { /* "5/10" is 5-max/10 */
				b = hi;
				single = false;
			}
		}
		if (q != e)
			FAIL("%s: bad \"%.*s\"", fname, (int)(e - p), p);
		if (a < lo || a > hi || b < lo || b > hi)
			FAIL("%s: \"%.*s\" is out of range %d-%d", fname, (int)(e - p), p, lo, hi);
		int span = b - a;
		if (a > b) { /* wrapping: only the cyclic day of week and month */
			if (f != F_DOW && f != F_MON)
				FAIL("%s: range \"%.*s\" runs backwards", fname, (int)(e - p), p);
			span = b + (f == F_DOW ? 7 : 12) - a;
		}
		for (int i = 0; i <= span; i += step) {
			int v = a + i;
			if (f == F_DOW)
				v %= 7;
			else if (v > hi)
				v -= 12;
			uint64_t bit = 1ull << v;
			if (single && (fb->bits & bit))
				FAIL("%s: value %d listed twice", fname, v);
			fb->bits |= bit;
		}
	next:
		if (e == end)
			break;
		p = e + 1;
		if (p == end)
			FAIL("%s: empty list element in \"%.*s\"", fname, (int)len, s);
	}
	return 0;
}

static const struct {
	const char *name, *expr;
} macros[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int parse_fields(const char *p, struct jr_cron_spec *out, char *err, size_t errlen)
{
	const char *fs[7], *fe[7];
	int n = 0;
	while (*p) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if (n == 6)
			FAIL("too many fields (want 5: min hour dom mon dow, or 6 with seconds first)");
		fs[n] = p;
		while (*p && !is_space(*p))
			p++;
		fe[n++] = p;
	}
	if (n != 5 && n != 6)
		FAIL("%d field%s (want 5: min hour dom mon dow, or 6 with seconds first)", n,
		     n == 1 ? "" : "s");
	struct fieldbits fb[6];
	int first = n == 5 ? F_MIN : F_SEC;
	if (n == 5) {
		memset(&fb[F_SEC], 0, sizeof(fb[F_SEC]));
		fb[F_SEC].bits = 1;
	}
	for (int i = 0; i < n; i++) {
		int rc = parse_field((enum field)(first + i), fs[i], fe[i], &fb[first + i], err, errlen);
		if (rc)
			return rc;
	}
	out->kind = JR_CRON_KIND_EXPR;
	out->sec = fb[F_SEC].bits;
	out->min = fb[F_MIN].bits;
	out->hour = (uint32_t)fb[F_HOUR].bits;
	out->dom = (uint32_t)fb[F_DOM].bits;
	out->mon = (uint16_t)fb[F_MON].bits;
	out->dow = (uint8_t)fb[F_DOW].bits;
	out->dow_last = fb[F_DOW].dow_last;
	if (fb[F_DOW].nth_k)
		out->dow_nth[fb[F_DOW].nth_wd] = (uint8_t)(1u << (fb[F_DOW].nth_k - 1));
	out->flags = (fb[F_DOM].star ? JR_CRON_F_DOM_STAR : 0) |
		     (fb[F_DOW].star ? JR_CRON_F_DOW_STAR : 0) |
		     (fb[F_DOM].last ? JR_CRON_F_DOM_LAST : 0) |
		     (out->hour == 0xffffffu ? JR_CRON_F_HOUR_ALL : 0);
	return 0;
}

static int copy_text(const char *text, struct jr_cron_spec *out, const char **body, char *err,
		     size_t errlen)
{
	while (is_space(*text))
		text++;
	size_t n = strnlen(text, JR_CRON_TEXT_MAX);
	while (n && n < JR_CRON_TEXT_MAX && is_space(text[n - 1]))
		n--;
	if (n >= JR_CRON_TEXT_MAX) {
		jr_cron_err(err, errlen, "expression longer than %d bytes", JR_CRON_TEXT_MAX - 1);
		return -ENAMETOOLONG;
	}
	memcpy(out->text, text, n);
	out->text[n] = 0;
	*body = out->text;
	return 0;
}

int jr_cron_parse(const char *text, struct jr_cron_spec *out, char *err, size_t errlen)
{
	const char *p;
	memset(out, 0, sizeof(*out));
	int rc = copy_text(text ? text : "", out, &p, err, errlen);
	if (rc)
		return rc;
	size_t pl = !strncmp(p, "TZ=", 3) ? 3 : !strncmp(p, "CRON_TZ=", 8) ? 8 : 0;
	if (pl) {
		const char *z = p + pl, *ze = z;
		while (*ze && !is_space(*ze))
			ze++;
		if (ze == z)
			FAIL("empty time zone after %.*s", (int)pl, p);
		if (ze - z >= JR_CRON_ZONE_MAX) {
			jr_cron_err(err, errlen, "time zone name longer than %d bytes",
				    JR_CRON_ZONE_MAX - 1);
			memset(out, 0, sizeof(*out));
			return -ENAMETOOLONG;
		}
		memcpy(out->zone, z, (size_t)(ze - z));
		p = ze;
		while (is_space(*p))
			p++;
	}
	if (*p == '@') {
		if (!strncmp(p, "@every", 6) && is_space(p[6])) {
			char zone[JR_CRON_ZONE_MAX], txt[JR_CRON_TEXT_MAX], body[JR_CRON_TEXT_MAX];
			memcpy(zone, out->zone, sizeof(zone));
			memcpy(txt, out->text, sizeof(txt));
			snprintf(body, sizeof(body), "%s", p + 7); /* out is cleared below */
			rc = jr_cron_parse_every(body, out, err, errlen);
			memcpy(out->zone, zone, sizeof(zone));
			memcpy(out->text, txt, sizeof(txt));
			return rc;
		}
		for (size_t i = 0; i < JR_ARRAY_SIZE(macros); i++)
			if (!strcmp(p, macros[i].name))
				return parse_fields(macros[i].expr, out, err, errlen);
		FAIL("unknown macro \"%s\" (want @yearly @annually @monthly @weekly @daily "
		     "@midnight @hourly or @every <duration>)", p);
	}
	if (!*p)
		FAIL("empty expression");
	return parse_fields(p, out, err, errlen);
}

int jr_cron_parse_every(const char *text, struct jr_cron_spec *out, char *err, size_t errlen)
{
	static const struct {
		char unit;
		int64_t s;
	} units[] = {{'w', 7 * DAY}, {'d', DAY}, {'h', 3600}, {'m', 60}, {'s', 1}};
	const char *p;
	memset(out, 0, sizeof(*out));
	int rc = copy_text(text ? text : "", out, &p, err, errlen);
	if (rc)
		return rc;
	int64_t total = 0;
	size_t next_unit = 0;
	if (!*p)
		FAIL("empty interval (want e.g. 90s, 15m, 1h30m, 2d)");
	while (*p) {
		int64_t v = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits++ > 12)
				FAIL("interval \"%s\": number too large", out->text);
			v = v * 10 + (*p++ - '0');
		}
		if (!digits)
			FAIL("interval \"%s\": want a number before each unit", out->text);
		int64_t mul = 1;
		if (*p) {
			size_t u = next_unit;
			while (u < JR_ARRAY_SIZE(units) && units[u].unit != *p)
				u++;
			if (u == JR_ARRAY_SIZE(units))
				FAIL("interval \"%s\": bad or repeated unit '%c' (want w d h m s, "
				     "largest first)", out->text, *p);
			mul = units[u].s;
			next_unit = u + 1;
			p++;
		} else if (total) {
			FAIL("interval \"%s\": the last number needs a unit", out->text);
		}
		int64_t part;
		if (__builtin_mul_overflow(v, mul, &part) || __builtin_add_overflow(total, part, &total))
			FAIL("interval \"%s\" is too long", out->text);
	}
	if (total < 1)
		FAIL("interval \"%s\" must be at least 1 s", out->text);
	if (total > 100 * 366 * (int64_t)DAY)
		FAIL("interval \"%s\" is longer than 100 years", out->text);
	out->kind = JR_CRON_KIND_EVERY;
	out->every_s = total;
	return 0;
}

int jr_cron_format(const struct jr_cron_spec *s, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s", s->text);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}

/* ---- matching wall times ---- */

static inline int next_bit(uint64_t bits, int from)
{
	if (from > 63)
		return -1;
	uint64_t m = bits & (~0ull << from);
	return m ? __builtin_ctzll(m) : -1;
}

static bool day_matches(const struct jr_cron_spec *s, int y, int m, int d, int64_t days)
{
	int dim = jr_cron_days_in_month(y, m);
	int wd = (int)(((days + 4) % 7 + 7) % 7);
	bool dom = (s->dom >> d & 1) || ((s->flags & JR_CRON_F_DOM_LAST) && d == dim);
	bool dow = (s->dow >> wd & 1) || ((s->dow_last >> wd & 1) && d + 7 > dim) ||
		   (s->dow_nth[wd] >> ((d - 1) / 7) & 1);
	if (s->flags & (JR_CRON_F_DOM_STAR | JR_CRON_F_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

/* The first wall time w (local seconds) with lo <= w < hi that the
 * expression matches, or NONE. */
static int64_t next_wall(const struct jr_cron_spec *s, int64_t lo, int64_t hi)
{
	if (lo < T_MIN)
		lo = T_MIN;
	if (hi > T_MAX)
		hi = T_MAX;
	if (lo >= hi)
		return NONE;
	int64_t days = lo >= 0 ? lo / DAY : -((-lo + DAY - 1) / DAY);
	int sod = (int)(lo - days * DAY);
	int y, m, d, h = sod / 3600, mi = sod / 60 % 60, sec = sod % 60;
	jr_cron_civil_from_days(days, &y, &m, &d);
	bool any_day = (s->flags & JR_CRON_F_DOW_STAR) && !(s->flags & JR_CRON_F_DOM_LAST);
	for (;;) {
		if (days * DAY >= hi)
			return NONE;
		if (!(s->mon >> m & 1)) {
			int nm = next_bit(s->mon, m + 1);
			if (nm < 0) {
				y++;
				nm = next_bit(s->mon, 1);
				if (nm < 0)
					return NONE;
			}
			m = nm;
			d = 1;
			h = mi = sec = 0;
			days = jr_cron_days_from_civil(y, (unsigned)m, 1);
			continue;
		}
		int dim = jr_cron_days_in_month(y, m);
		if (any_day) { /* only the day-of-month bits decide: jump to the next */
			int nd = next_bit(s->dom, d);
			if (nd < 0 || nd > dim)
				goto next_month;
			if (nd != d) {
				days += nd - d;
				d = nd;
				h = mi = sec = 0;
			}
		} else if (!day_matches(s, y, m, d, days)) {
			goto next_day;
		}
		for (;;) {
			int nh = next_bit(s->hour, h);
			if (nh < 0)
				goto next_day;
			if (nh != h) {
				h = nh;
				mi = sec = 0;
			}
			int nmi = next_bit(s->min, mi);
			if (nmi < 0) {
				h++;
				mi = sec = 0;
				continue;
			}
			if (nmi != mi) {
				mi = nmi;
				sec = 0;
			}
			int ns = next_bit(s->sec, sec);
			if (ns < 0) {
				mi++;
				sec = 0;
				if (mi == 60) {
					h++;
					mi = 0;
				}
				continue;
			}
			int64_t w = days * DAY + h * 3600 + mi * 60 + ns;
			return w < hi ? w : NONE;
		}
	next_day:
		if (d < dim) {
			d++;
			days++;
			h = mi = sec = 0;
			continue;
		}
	next_month:
		days += dim - d + 1;
		d = 1;
		h = mi = sec = 0;
		if (++m == 13) {
			m = 1;
			y++;
		}
	}
}

/* ---- next fire ---- */

int64_t jr_cron_next_every(const struct jr_cron_spec *s, int64_t anchor_s, int64_t after_s)
{
	if (s->kind != JR_CRON_KIND_EVERY || s->every_s < 1)
		return 0;
	if (after_s < anchor_s)
		return anchor_s;
	int64_t k = (after_s - anchor_s) / s->every_s + 1, r;
	if (__builtin_mul_overflow(k, s->every_s, &r) || __builtin_add_overflow(r, anchor_s, &r))
		return 0;
	return r;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

int64_t jr_cron_next(const struct jr_cron_spec *s, const struct jr_cron_zone *z, int64_t after_s,
		     enum jr_cron_dst_gap gap, enum jr_cron_dst_overlap overlap)
{
	if (s->kind == JR_CRON_KIND_EVERY)
		return jr_cron_next_every(s, 0, after_s);
	if (s->kind != JR_CRON_KIND_EXPR || after_s < T_MIN || after_s >= T_MAX)
		return 0;
	const bool hour_all = s->flags & JR_CRON_F_HOUR_ALL;
	const int64_t limit = after_s + JR_CRON_HORIZON_S; /* instants up to limit */
	if (!z || jr_cron_zone_nseg(z) == 1) {
		int32_t o = 0;
		if (z)
			jr_cron_zone_offset(z, after_s, &o);
		int64_t w = next_wall(s, after_s + 1 + o, limit + 1 + o);
		return w == NONE ? 0 : w - o;
	}
	int32_t i = jr_cron_zone_seg(z, after_s), nseg = jr_cron_zone_nseg(z);
	int64_t from = after_s + 1; /* the earliest instant wanted */
	for (; i < nseg; i++) {
		int64_t ts, te, pts, pte;
		int32_t o, p = 0;
		jr_cron_zone_seg_info(z, i, &ts, &te, &o);
		if (i > 0)
			jr_cron_zone_seg_info(z, i - 1, &pts, &pte, &p);
		if (ts > limit)
			return 0;
		int64_t best = NONE;
		/* the wall times this segment shows: [ts + o, te + o) */
		int64_t wlo = sat_add(from, o);
		if (i > 0 && p > o && !hour_all && overlap == JR_CRON_OVERLAP_FIRST &&
		    wlo < ts + p)
			wlo = ts + p; /* the repeated wall times already fired */
		int64_t end = te < limit + 1 ? te : limit + 1;
		int64_t w = next_wall(s, wlo, sat_add(end, o));
		if (w != NONE)
			best = w - o;
		/* a gap at ts: wall times [ts + p, ts + o) read on the old offset */
		if (i > 0 && p < o && !hour_all && gap == JR_CRON_GAP_NEXT_VALID) {
			int64_t glo = ts + p > from + p ? ts + p : from + p;
			int64_t ghi = best != NONE && best + p < ts + o ? best + p : ts + o;
			w = next_wall(s, glo, ghi);
			if (w != NONE && (best == NONE || w - p < best))
				best = w - p;
		}
		if (best != NONE)
			return best <= limit ? best : 0;
		if (te > limit)
			return 0;
		from = te;
	}
	return 0;
}
