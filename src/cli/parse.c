/*
 * parse.c - sbatch's words into the API's fields. See parse.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/units.h"
#include "cli/parse.h"

static bool fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CLI_ERR_MAX, fmt, ap);
	va_end(ap);
	return false;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* --- --mem --------------------------------------------------------------------------------- */

bool cli_parse_mem(const char *s, uint64_t *bytes, char *err)
{
	static const char usage[] = "must be a size: MB as a number (4000), or with a suffix "
				    "K, M, G or T (512K, 4G)";
	char mb[64];
	size_t n = strlen(s);
	bool plain = n > 0 && strspn(s, "0123456789.") == n;
	int rc;

	if (plain && snprintf(mb, sizeof(mb), "%sM", s) >= (int)sizeof(mb))
		return fail(err, "%s", usage);
	rc = jr_parse_size_bytes(plain ? mb : s, bytes);
	if (rc == -ERANGE)
		return fail(err, "is more than 16E");
	if (rc < 0)
		return fail(err, "%s", usage);
	if (*bytes == 0)
		return fail(err, "must be more than 0 (sbatch's --mem=0, all of the memory, "
				 "is not supported)");
	return true;
}

/* --- --time -------------------------------------------------------------------------------- */

static const char time_usage[] = "must be minutes (90), MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
				 "D-HH:MM:SS, or a duration with a unit (90s, 30m, 2h, 1d)";

/* Up to three ':'-separated fields of digits into *out (each at most 9
 * digits); false if the form is not that. */
static int split_fields(const char *s, unsigned long long *out, int max)
{
	int n = 0;

	for (;;) {
		size_t len = strcspn(s, ":");
		if (n == max || !all_digits(s, len) || len > 9)
			return -1;
		out[n++] = strtoull(s, NULL, 10);
		if (!s[len])
			return n;
		s += len + 1;
	}
}

/* sbatch's forms: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S". */
static bool sbatch_time(const char *s, uint64_t *ms)
{
	const char *dash = strchr(s, '-');
	unsigned long long f[3], days = 0, secs;
	int n;

	if (dash) {
		if (!all_digits(s, (size_t)(dash - s)) || dash - s > 9)
			return false;
		days = strtoull(s, NULL, 10);
		s = dash + 1;
	}
	n = split_fields(s, f, 3);
	if (n < 0)
		return false;
	if (dash)	/* D-H, D-H:M, D-H:M:S */
		secs = f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
	else		/* M, M:S, H:M:S */
		secs = n == 1 ? f[0] * 60 : n == 2 ? f[0] * 60 + f[1] : f[0] * 3600 + f[1] * 60 + f[2];
	secs += days * 86400;
	*ms = secs * 1000;
	return true;
}

bool cli_parse_time(const char *s, uint64_t *ms, char *err)
{
	int rc;

	if (strcasecmp(s, "infinite") == 0 || strcasecmp(s, "unlimited") == 0) {
		*ms = 0;
		return true;
	}
	if (*s && (isdigit((unsigned char)s[strlen(s) - 1]))) {
		if (!sbatch_time(s, ms))
			return fail(err, "%s", time_usage);
		rc = *ms > JR_DURATION_MAX_MS ? -ERANGE : 0;
	} else {
		rc = jr_parse_duration_ms(s, ms);
	}
	if (rc == -ERANGE)
		return fail(err, "is longer than 1000000000 s (about 31 years)");
	if (rc < 0)
		return fail(err, "%s", time_usage);
	return true;
}

/* --- --begin ------------------------------------------------------------------------------- */

static const char begin_usage[] = "must be a time: now+N[seconds|minutes|hours|days], HH:MM[:SS], "
				  "YYYY-MM-DD[THH:MM[:SS]], today, tomorrow, or RFC 3339";

/* "now", "now+90", "now+30minutes", "now+2hours"... */
static bool begin_now(const char *s, int64_t now_s, int64_t *at_s)
{
	static const struct { const char *unit; int64_t s; } units[] = {
		{ "", 1 }, { "s", 1 }, { "sec", 1 }, { "secs", 1 }, { "second", 1 }, { "seconds", 1 },
		{ "m", 60 }, { "min", 60 }, { "mins", 60 }, { "minute", 60 }, { "minutes", 60 },
		{ "h", 3600 }, { "hour", 3600 }, { "hours", 3600 },
		{ "d", 86400 }, { "day", 86400 }, { "days", 86400 },
		{ "w", 604800 }, { "week", 604800 }, { "weeks", 604800 },
	};
	size_t len;

	if (strcasecmp(s, "now") == 0) {
		*at_s = now_s;
		return true;
	}
	if (strncasecmp(s, "now+", 4) != 0)
		return false;
	s += 4;
	len = strspn(s, "0123456789");
	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(s + len, units[i].unit) == 0) {
			*at_s = now_s + (int64_t)strtoll(s, NULL, 10) * units[i].s;
			return true;
		}
	return false;
}

/* tm (local time) as seconds since the epoch, if it is a real date and
 * time (mktime would roll February 31 into March). */
static bool local_time(struct tm *tm, int64_t *at_s)
{
	struct tm want = *tm;
	time_t t;

	tm->tm_isdst = -1;
	t = mktime(tm);
	if (t == (time_t)-1 || tm->tm_mday != want.tm_mday || tm->tm_mon != want.tm_mon ||
	    tm->tm_hour != want.tm_hour || tm->tm_min != want.tm_min)
		return false;
	*at_s = (int64_t)t;
	return true;
}

/* "HH:MM[:SS]" today (tomorrow if already past), or "today", "tomorrow". */
static bool begin_time_of_day(const char *s, int64_t now_s, int64_t *at_s)
{
	time_t now = (time_t)now_s;
	struct tm tm;
	int h, m, sec = 0, end = 0;

	localtime_r(&now, &tm);
	tm.tm_sec = 0;
	if (strcasecmp(s, "today") == 0 || strcasecmp(s, "tomorrow") == 0) {
		tm.tm_hour = tm.tm_min = 0;
		tm.tm_mday += s[2] == 'm' || s[2] == 'M';
		return local_time(&tm, at_s);
	}
	if ((sscanf(s, "%2d:%2d%n:%2d%n", &h, &m, &end, &sec, &end) < 2) || s[end] ||
	    h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0)
		return false;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	if (!local_time(&tm, at_s))
		return false;
	if (*at_s <= now_s) {
		tm.tm_mday++;
		tm.tm_hour = h;
		tm.tm_min = m;
		return local_time(&tm, at_s);
	}
	return true;
}

/* "YYYY-MM-DD[THH:MM[:SS]]", local time. */
static bool begin_date(const char *s, int64_t *at_s)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, end = 0, tend = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &end) < 3)
		return false;
	if (s[end] == 'T' &&
	    (sscanf(s + end, "T%2d:%2d%n:%2d%n", &h, &mi, &tend, &sec, &tend) < 2 || s[end + tend]))
		return false;
	if (s[end] && s[end] != 'T')
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return false;
	tm = (struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			  .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	return local_time(&tm, at_s);
}

bool cli_parse_begin(const char *s, int64_t now_s, int64_t *at_s, char *err)
{
	uint64_t ns;
	int rc = jr_parse_rfc3339_ns(s, &ns);

	if (rc == 0) {
		*at_s = (int64_t)(ns / 1000000000ull);
		return true;
	}
	if (rc == -EDOM)
		return fail(err, "is no such date or time");
	if (rc == -ERANGE)
		return fail(err, "is out of range: 1970-01-01T00:00:00Z to " JR_TIME_MAX_TEXT);
	if (begin_now(s, now_s, at_s) || begin_time_of_day(s, now_s, at_s) || begin_date(s, at_s))
		return true;
	return fail(err, "%s", begin_usage);
}

/* --- --dependency -------------------------------------------------------------------------- */

static const char *const dep_types[] = {
	"after", "afterany", "afterok", "afternotok", "aftercorr", NULL,
};

static bool dep_type_known(const char *t, size_t n)
{
	for (const char *const *k = dep_types; *k; k++)
		if (strlen(*k) == n && strncmp(*k, t, n) == 0)
			return true;
	return false;
}

/* "TYPE:ID:ID" into "after" objects. */
static bool dep_item(char *item, cJSON *after, cli_id_resolver resolve, void *ctx, char *err)
{
	size_t tlen = strcspn(item, ":");
	char type[16], id[17], *save = NULL;
	int ids = 0;

	if (!dep_type_known(item, tlen))
		return fail(err, "\"%.*s\" is no dependency type: after, afterany, afterok, "
				 "afternotok, aftercorr (TYPE:ID[:ID...]) or singleton",
			    (int)(tlen > 32 ? 32 : tlen), item);
	snprintf(type, sizeof(type), "%.*s", (int)tlen, item);
	for (char *tok = item[tlen] ? strtok_r(item + tlen + 1, ":", &save) : NULL; tok;
	     tok = strtok_r(NULL, ":", &save), ids++) {
		if (strchr(tok, '+'))
			return fail(err, "%s: a delay (+TIME) is not supported", tok);
		if (!resolve(ctx, tok, id, err))
			return false;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(after, o);
		cJSON_AddStringToObject(o, "job_id", id);
		cJSON_AddStringToObject(o, "type", type);
	}
	if (ids == 0)
		return fail(err, "%s names no job: TYPE:ID[:ID...]", type);
	return true;
}

bool cli_parse_dependency(const char *s, cJSON *tmpl, cli_id_resolver resolve, void *ctx,
			  char *err)
{
	cJSON *after = cJSON_GetObjectItem(tmpl, "after");
	char *list, *save = NULL;
	bool ok = true;

	if (strchr(s, '?'))
		return fail(err, "uses '?' (any of): jobring's dependencies must all hold; "
				 "separate them with ','");
	if (!*s)
		return fail(err, "is empty: TYPE:ID[:ID...][,TYPE:ID...] or singleton");
	if (!after)
		after = cJSON_AddArrayToObject(tmpl, "after");
	list = strdup(s);
	if (!list)
		return fail(err, "out of memory");
	for (char *it = strtok_r(list, ",", &save); ok && it; it = strtok_r(NULL, ",", &save)) {
		if (strcmp(it, "singleton") == 0) {
			cJSON_DeleteItemFromObject(tmpl, "singleton");
			cJSON_AddBoolToObject(tmpl, "singleton", 1);
		} else {
			ok = dep_item(it, after, resolve, ctx, err);
		}
	}
	free(list);
	if (cJSON_GetArraySize(after) == 0)
		cJSON_DeleteItemFromObject(tmpl, "after");
	return ok;
}

/* --- --array, ids -------------------------------------------------------------------------- */

bool cli_check_array(const char *s, char *err)
{
	const char *pct = strchr(s, '%');
	size_t n = strlen(s);

	if (n == 0 || strspn(s, "0123456789,-:%") != n || !isdigit((unsigned char)s[0]) ||
	    (pct && (strchr(pct + 1, '%') || !all_digits(pct + 1, strlen(pct + 1)))))
		return fail(err, "must be indexes like 0-999, 0-999:2, 1,3,5-7, with %%N for at "
				 "most N running (0-999:2%%50)");
	return true;
}

void cli_short_id(const char *id, char out[17])
{
	size_t z = strspn(id, "0");

	if (!id[z] && z)
		z--;	/* all zeros: "0" */
	snprintf(out, 17, "%s", id + z);
}

bool cli_is_hex_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 16 && strspn(s, "0123456789abcdefABCDEF") == n;
}
