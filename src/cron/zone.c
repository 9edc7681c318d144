/*
 * zone.c - IANA time zones from the system's TZif files (RFC 8536, v1-v3),
 * flattened at open into one sorted table of offset changes: the file's
 * explicit transitions, then those its POSIX TZ footer rule gives up to
 * the year ZONE_LAST_YEAR, with changes of name or isdst alone dropped
 * (only the UTC offset matters to a schedule). A lookup is a binary search
 * over that table; nothing is mutated after open, so a zone can be shared
 * by any number of threads. Why not ICU or libical: docs/DECISIONS.md.
 */
#include "cron/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"

#define ZONE_DEFAULT_ROOT "/usr/share/zoneinfo"
#define ZONE_FILE_MAX (1u << 20)   /* the largest TZif file read */
#define ZONE_LAST_YEAR 2560        /* past JR_TIME_MAX (2554) */
#define ZONE_OFF_LIMIT (26 * 3600) /* |UTC offset| above this is corrupt */
#define ZONE_FIRST_RULE_YEAR 1900
#define ZONE_FIRST_RULE_S (-2208988800ll)  /* 1900-01-01 */
#define ZONE_LAST_RULE_S (18682761600ll)   /* 2562-01-01 */

void jr_cron_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- civil calendar (Howard Hinnant's algorithms) ---- */

int64_t jr_cron_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void jr_cron_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int jr_cron_days_in_month(int y, int m)
{
	static const unsigned char dm[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return dm[m];
}

/* ---- the POSIX TZ footer ("EST5EDT,M3.2.0,M11.1.0") ---- */

struct tz_rule_date {
	char kind;    /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' */
	int a, b, c;  /* J/D: day in a; M: month a, week b, weekday c */
	int32_t time; /* seconds after local midnight, may be <0 or >24h */
};

struct tz_rule {
	int32_t std_off, dst_off; /* local = utc + off */
	int has_dst;
	struct tz_rule_date start, end;
};

static const char *tz_name(const char *p)
{
	if (*p == '<') {
		p++;
		while (*p && *p != '>')
			p++;
		return *p == '>' ? p + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

static int tz_num(const char **pp, int max, int *v)
{
	const char *p = *pp;
	int n = 0, k = 0;
	while (*p >= '0' && *p <= '9' && k < 4) {
		n = n * 10 + (*p++ - '0');
		k++;
	}
	if (!k || n > max)
		return -1;
	*v = n;
	*pp = p;
	return 0;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 v3) */
static const char *tz_time(const char *p, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (tz_num(&p, 167, &h))
		return NULL;
	if (*p == ':') {
		p++;
		if (tz_num(&p, 59, &m))
			return NULL;
		if (*p == ':') {
			p++;
			if (tz_num(&p, 59, &s))
				return NULL;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *tz_date(const char *p, struct tz_rule_date *r)
{
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (tz_num(&p, 365, &r->a) || r->a < 1)
			return NULL;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (tz_num(&p, 12, &r->a) || r->a < 1 || *p++ != '.' || tz_num(&p, 5, &r->b) ||
		    r->b < 1 || *p++ != '.' || tz_num(&p, 6, &r->c))
			return NULL;
	} else {
		r->kind = 'D';
		if (tz_num(&p, 365, &r->a))
			return NULL;
	}
	r->time = 7200;
	if (*p == '/')
		p = tz_time(p + 1, &r->time);
	return p;
}

static int tz_rule_parse(const char *s, struct tz_rule *r)
{
	int32_t t;
	memset(r, 0, sizeof(*r));
	const char *p = tz_name(s);
	if (!p || !(p = tz_time(p, &t)))
		return -1;
	r->std_off = -t; /* POSIX offsets are west-positive */
	if (!*p)
		return 0;
	if (!(p = tz_name(p)))
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = tz_time(p, &t)))
			return -1;
		r->dst_off = -t;
	}
	if (!*p) { /* no rule: POSIX says implementation-defined; use the US one */
		r->start = (struct tz_rule_date){'M', 3, 2, 0, 7200};
		r->end = (struct tz_rule_date){'M', 11, 1, 0, 7200};
		return 0;
	}
	if (*p++ != ',' || !(p = tz_date(p, &r->start)) || *p++ != ',' ||
	    !(p = tz_date(p, &r->end)) || *p)
		return -1;
	return 0;
}

/* local seconds (of the rule's own local clock) at which the date occurs in year y */
static int64_t tz_rule_local(const struct tz_rule_date *r, int y)
{
	int64_t day;
	if (r->kind == 'J') {
		int n = r->a; /* Feb 29 is never counted */
		int leap = jr_cron_days_in_month(y, 2) == 29;
		day = jr_cron_days_from_civil(y, 1, 1) + n - 1 + (leap && n >= 60);
	} else if (r->kind == 'D') {
		day = jr_cron_days_from_civil(y, 1, 1) + r->a;
	} else {
		int64_t first = jr_cron_days_from_civil(y, (unsigned)r->a, 1);
		int wd = (int)(((first + 4) % 7 + 7) % 7);
		int d = 1 + (r->c - wd + 7) % 7 + (r->b - 1) * 7;
		int dim = jr_cron_days_in_month(y, r->a);
		while (d > dim)
			d -= 7;
		day = first + d - 1;
	}
	return day * 86400 + r->time;
}

/* ---- the flattened table ---- */

struct jr_cron_zone {
	char name[JR_CRON_ZONE_MAX];
	int32_t n;       /* transitions */
	int32_t min_off, max_off;
	int64_t *at;     /* at[0..n): UTC instants, ascending */
	int32_t *off;    /* off[i]: offset before at[i]; off[n]: after the last */
};

struct table {
	int64_t *at;
	int32_t *off; /* offset in force from at[i] on */
	size_t n, cap;
};

static int table_push(struct table *t, int64_t at, int32_t off)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		int64_t *a = realloc(t->at, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		t->at = a;
		int32_t *o = realloc(t->off, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		t->off = o;
		t->cap = cap;
	}
	t->at[t->n] = at;
	t->off[t->n] = off;
	t->n++;
	return 0;
}

static int zone_build(const char *name, int32_t first_off, struct table *t,
		      struct jr_cron_zone **out)
{
	/* drop changes that change nothing, and all but the last at one instant */
	size_t k = 0;
	int32_t cur = first_off;
	for (size_t i = 0; i < t->n; i++) {
		if (i + 1 < t->n && t->at[i + 1] <= t->at[i])
			continue;
		if (t->off[i] == cur)
			continue;
		if (k && t->at[i] <= t->at[k - 1])
			continue;
		t->at[k] = t->at[i];
		t->off[k] = t->off[i];
		cur = t->off[i];
		k++;
	}
	struct jr_cron_zone *z = calloc(1, sizeof(*z) + k * sizeof(int64_t) +
					       (k + 1) * sizeof(int32_t));
	if (!z)
		return -ENOMEM;
	z->at = (int64_t *)(z + 1);
	z->off = (int32_t *)(z->at + k);
	z->n = (int32_t)k;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->off[0] = first_off;
	z->min_off = z->max_off = first_off;
	for (size_t i = 0; i < k; i++) {
		z->at[i] = t->at[i];
		z->off[i + 1] = t->off[i];
		if (t->off[i] < z->min_off)
			z->min_off = t->off[i];
		if (t->off[i] > z->max_off)
			z->max_off = t->off[i];
	}
	*out = z;
	return 0;
}

static int rule_extend(const struct tz_rule *r, int64_t after, struct table *t)
{
	if (!r->has_dst)
		return t->n && t->off[t->n - 1] == r->std_off ? 0
		       : table_push(t, after == INT64_MIN ? INT64_MIN + 1 : after + 1, r->std_off);
	/* from the year before the last explicit change, at most back to
	 * ZONE_FIRST_RULE_YEAR (a damaged file could say year -10^9) */
	int y0 = ZONE_FIRST_RULE_YEAR;
	if (after > ZONE_FIRST_RULE_S && after < ZONE_LAST_RULE_S) {
		int y, m, d;
		jr_cron_civil_from_days(after / 86400 - 1, &y, &m, &d);
		y0 = y;
	} else if (after >= ZONE_LAST_RULE_S) {
		return 0;
	}
	for (int y = y0; y <= ZONE_LAST_YEAR; y++) {
		/* start: std -> dst, read on the std clock; end: on the dst clock */
		int64_t s = tz_rule_local(&r->start, y) - r->std_off;
		int64_t e = tz_rule_local(&r->end, y) - r->dst_off;
		int64_t a1 = s < e ? s : e, a2 = s < e ? e : s;
		int32_t o1 = s < e ? r->dst_off : r->std_off, o2 = s < e ? r->std_off : r->dst_off;
		int rc;
		if (a1 > after && (rc = table_push(t, a1, o1)))
			return rc;
		if (a2 > after && (rc = table_push(t, a2, o2)))
			return rc;
	}
	return 0;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	int version;
	uint32_t isut, isstd, leap, time, type, chars;
};

static int tzif_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4))
		return -1;
	h->version = p[4] ? p[4] - '0' : 1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->version < 1 || h->version > 9 || h->type == 0 || h->type > 256 ||
	    h->time > 100000 || h->leap > 10000 || h->chars > 100000 ||
	    (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
		return -1;
	return 0;
}

static size_t tzif_block_len(const struct tzif_hdr *h, int tsz)
{
	return (size_t)h->time * tsz + h->time + (size_t)h->type * 6 + h->chars +
	       (size_t)h->leap * (tsz + 4) + h->isstd + h->isut;
}

static int tzif_parse(const char *name, const unsigned char *buf, size_t len,
		      struct jr_cron_zone **out, char *err, size_t errlen)
{
	struct tzif_hdr h;
	struct table t = {0};
	int rc = -EINVAL;
	if (tzif_hdr(buf, len, &h))
		goto bad;
	const unsigned char *p = buf + 44;
	size_t rest = len - 44;
	int tsz = 4;
	if (h.version >= 2) { /* skip the v1 block: the 64-bit one follows */
		size_t l = tzif_block_len(&h, 4);
		if (l > rest)
			goto bad;
		p += l;
		rest -= l;
		if (tzif_hdr(p, rest, &h) || h.version < 2)
			goto bad;
		p += 44;
		rest -= 44;
		tsz = 8;
	}
	if (tzif_block_len(&h, tsz) > rest)
		goto bad;
	if (h.leap) {
		jr_cron_err(err, errlen, "zone %s: leap-second (\"right/\") zones are not supported", name);
		return -EINVAL;
	}
	const unsigned char *times = p, *idx = p + (size_t)h.time * tsz,
			    *types = idx + h.time;
	int32_t toff[256];
	for (uint32_t i = 0; i < h.type; i++) {
		int32_t o = (int32_t)be32(types + 6 * i);
		if (o <= -ZONE_OFF_LIMIT || o >= ZONE_OFF_LIMIT || types[6 * i + 5] >= h.chars)
			goto bad;
		toff[i] = o;
	}
	int64_t prev = INT64_MIN;
	for (uint32_t i = 0; i < h.time; i++) {
		int64_t a = tsz == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
		if (a <= prev || idx[i] >= h.type)
			goto bad;
		prev = a;
		if ((rc = table_push(&t, a, toff[idx[i]])))
			goto out;
		rc = -EINVAL;
	}
	/* RFC 8536 3.2: local time type 0 applies before the first transition */
	int32_t first = toff[0];
	if (h.version >= 2) {
		const unsigned char *f = p + tzif_block_len(&h, 8);
		size_t flen = len - (size_t)(f - buf);
		char foot[128];
		if (flen < 2 || f[0] != '\n')
			goto bad;
		const unsigned char *nl = memchr(f + 1, '\n', flen - 1);
		if (!nl || (size_t)(nl - f - 1) >= sizeof(foot))
			goto bad;
		memcpy(foot, f + 1, (size_t)(nl - f - 1));
		foot[nl - f - 1] = 0;
		if (foot[0]) {
			struct tz_rule r;
			if (tz_rule_parse(foot, &r)) {
				jr_cron_err(err, errlen, "zone %s: bad TZ footer \"%s\"", name, foot);
				goto out;
			}
			if (!h.time)
				first = r.std_off;
			if ((rc = rule_extend(&r, h.time ? prev : INT64_MIN, &t)))
				goto out;
		}
	}
	rc = zone_build(name, first, &t, out);
	if (rc)
		jr_cron_err(err, errlen, "zone %s: out of memory", name);
	goto out;
bad:
	jr_cron_err(err, errlen, "zone %s: not a valid TZif file", name);
	rc = -EINVAL;
out:
	free(t.at);
	free(t.off);
	return rc;
}

/* ---- open ---- */

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= JR_CRON_ZONE_MAX || s[0] == '/' || s[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '+' || c == '/' || c == '.'))
			return 0;
		if (c == '/' && s[i + 1] == '/')
			return 0;
		/* no component may start with '.' (".", "..", hidden files) */
		if (c == '.' && (i == 0 || s[i - 1] == '/'))
			return 0;
	}
	return 1;
}

int jr_cron_zone_open_at(const char *root, const char *iana, struct jr_cron_zone **out,
			 char *err, size_t errlen)
{
	*out = NULL;
	if (!iana || memchr(iana, 0, JR_CRON_ZONE_MAX) == NULL || !name_ok(iana)) {
		jr_cron_err(err, errlen, "bad time zone name (want an IANA name like Europe/London)");
		return -EINVAL;
	}
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, iana) >= sizeof(path)) {
		jr_cron_err(err, errlen, "time zone path too long");
		return -EINVAL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (!strcmp(iana, "UTC")) {
			struct table t = {0};
			return zone_build("UTC", 0, &t, out) ? -ENOMEM : 0;
		}
		jr_cron_err(err, errlen, "unknown time zone %s", iana);
		return e == ENOENT || e == ENOTDIR ? -ENOENT : -e;
	}
	struct stat st;
	unsigned char *buf = NULL;
	int rc = -EINVAL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > ZONE_FILE_MAX) {
		jr_cron_err(err, errlen, "unknown time zone %s (not a zone file)", iana);
		rc = -ENOENT;
		goto out;
	}
	size_t len = (size_t)st.st_size, got = 0;
	if (!(buf = malloc(len + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	rc = tzif_parse(iana, buf, got, out, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

int jr_cron_zone_open(const char *iana, struct jr_cron_zone **out, char *err, size_t errlen)
{
	const char *root = getenv("JR_ZONEINFO");
	return jr_cron_zone_open_at(root && *root ? root : ZONE_DEFAULT_ROOT, iana, out, err,
				    errlen);
}

void jr_cron_zone_close(struct jr_cron_zone *z)
{
	free(z);
}

const char *jr_cron_zone_name(const struct jr_cron_zone *z)
{
	return z->name;
}

/* ---- lookups ---- */

int32_t jr_cron_zone_seg(const struct jr_cron_zone *z, int64_t utc_s)
{
	int32_t lo = 0, hi = z->n; /* the number of transitions <= utc_s */
	while (lo < hi) {
		int32_t mid = (int32_t)((uint32_t)(lo + hi) >> 1);
		if (z->at[mid] <= utc_s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int32_t jr_cron_zone_nseg(const struct jr_cron_zone *z)
{
	return z->n + 1;
}

void jr_cron_zone_seg_info(const struct jr_cron_zone *z, int32_t i, int64_t *start,
			   int64_t *end, int32_t *off)
{
	JR_ASSERT(i >= 0 && i <= z->n);
	*start = i ? z->at[i - 1] : INT64_MIN;
	*end = i < z->n ? z->at[i] : INT64_MAX;
	*off = z->off[i];
}

int jr_cron_zone_offset(const struct jr_cron_zone *z, int64_t utc_s, int32_t *offset_s)
{
	*offset_s = z->off[jr_cron_zone_seg(z, utc_s)];
	return 0;
}

int jr_cron_zone_resolve(const struct jr_cron_zone *z, int64_t local_s, int64_t out[2])
{
	int32_t lo = jr_cron_zone_seg(z, local_s - z->max_off);
	int32_t hi = jr_cron_zone_seg(z, local_s - z->min_off);
	int n = 0;
	for (int32_t i = lo; i <= hi; i++) {
		int64_t s, e, t;
		int32_t o;
		jr_cron_zone_seg_info(z, i, &s, &e, &o);
		t = local_s - o;
		if (t >= s && t < e && n < 2)
			out[n++] = t;
	}
	if (n)
		return n;
	/* a gap: the first segment whose wall clock starts past local_s */
	for (int32_t i = lo; i <= hi; i++) {
		int64_t s, e;
		int32_t o;
		jr_cron_zone_seg_info(z, i, &s, &e, &o);
		if (i > 0 && s + o > local_s) {
			out[0] = s;
			out[1] = local_s - z->off[i - 1];
			return 0;
		}
	}
	out[0] = out[1] = local_s - z->off[hi];
	return 0;
}
