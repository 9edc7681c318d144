/*
 * cron.h - when a schedule is due: cron expressions, fixed intervals and
 * IANA time zones read from the system's tz database (TZif files under
 * /usr/share/zoneinfo, RFC 8536 v1/v2/v3 with the POSIX TZ footer for
 * instants past the last explicit transition), with written-down DST rules.
 *
 * Pure computation: no daemon, no journal, no I/O but jr_cron_zone_open.
 * Never touches TZ, tzset() or localtime_r() (process-wide state). Calls
 * only base. Times are whole seconds since the Unix epoch (UTC); "local
 * seconds" are the same count read on the zone's wall clock (civil time
 * as if it were UTC).
 *
 * Errors: functions returning int return 0 or a negative errno and write
 * a one-line message into err (if errlen > 0); they never print.
 *
 * Thread safety: a struct jr_cron_zone is immutable once opened; any
 * number of threads may call jr_cron_zone_offset/_resolve/jr_cron_next on
 * one zone concurrently (there is no hidden cache). A struct jr_cron_spec
 * is plain data: copy it, embed it, share it read-only.
 *
 * DST semantics (docs/DECISIONS.md, "Cron expressions and time zones
 * (issue 15)"). An expression names wall-clock times (local date and time
 * to the second). Each matching wall time W becomes UTC instants thus:
 *  - W exists once: it fires at that instant.
 *  - W falls in a fall-back overlap (exists twice, at t1 < t2):
 *      hour field matches every hour ("wildcard hour": *, 0-23, * /1):
 *          fires at t1 and at t2 (the wall clock is followed), any policy;
 *      otherwise JR_CRON_OVERLAP_FIRST: fires at t1 only;
 *                JR_CRON_OVERLAP_BOTH:  fires at t1 and at t2.
 *  - W falls in a spring-forward gap (does not exist):
 *      wildcard hour: does not fire (the hour did not happen), any policy;
 *      otherwise JR_CRON_GAP_NEXT_VALID: fires once, at W read with the
 *          offset in force before the gap, i.e. shifted forward by the
 *          gap's length (New York 2025-03-09: 02:00 -> 03:00 EDT, 02:30
 *          -> 03:30 EDT; a gap at midnight, Santiago: 00:00 -> 01:00).
 *          For a job at a fixed minute of a gap hour this is the first
 *          valid instant after it, as ISC cron and cron-parser do; several
 *          gap times keep their order and spacing (cron-parser's
 *          "* /20 3" in Athens: 04:00, 04:20, 04:40). An instant reached
 *          both by a shifted W and by a real wall time fires once.
 *                JR_CRON_GAP_SKIP: does not fire that day (robfig/cron).
 * robfig/cron's rule is JR_CRON_GAP_SKIP + JR_CRON_OVERLAP_BOTH;
 * cron-parser's (and ISC cron's, as crond(8) describes it) is the default.
 *
 * Day matching follows vixie cron: when both day-of-month and day-of-week
 * are restricted (neither is "*" or "?"), a day matches if EITHER does;
 * otherwise both must.
 */
#ifndef JR_CRON_H
#define JR_CRON_H

#include <stddef.h>
#include <stdint.h>

/* Longest expression text kept in a spec (with its NUL), longest zone
 * name (with its NUL). */
#define JR_CRON_TEXT_MAX 128
#define JR_CRON_ZONE_MAX 64

/* jr_cron_next searches this far ahead (about 5 years) before it gives up
 * and answers 0 ("never": 30 Feb, 31 Apr). */
#define JR_CRON_HORIZON_S (5ll * 366 * 86400)

/* ---- time zones ---- */

struct jr_cron_zone; /* opaque, immutable once opened */

/* Opens the IANA zone `iana` ("Europe/London", "UTC") from the system's
 * tz database: the directory in the environment variable JR_ZONEINFO if
 * set (tests), else /usr/share/zoneinfo. "UTC" always works, even with no
 * database. Refuses names that could leave the directory (absolute,
 * "..", empty components, characters other than [A-Za-z0-9_+-./],
 * longer than JR_CRON_ZONE_MAX - 1). Returns 0 and *out (free it with
 * jr_cron_zone_close), -ENOENT (no such zone), -EINVAL (bad name, or a
 * file that is not valid TZif), -ENOMEM. Thread-safe. */
int jr_cron_zone_open(const char *iana, struct jr_cron_zone **out, char *err, size_t errlen);

/* The same with an explicit database directory (tests; root must be an
 * absolute path or relative to the current directory). */
int jr_cron_zone_open_at(const char *root, const char *iana, struct jr_cron_zone **out,
			 char *err, size_t errlen);

/* Frees a zone (NULL is fine). No other thread may still use it. */
void jr_cron_zone_close(struct jr_cron_zone *z);

/* The name it was opened with; lives as long as the zone. */
const char *jr_cron_zone_name(const struct jr_cron_zone *z);

/* The zone's UTC offset (local = utc + offset) at utc_s, in seconds.
 * Returns 0. Thread-safe. */
int jr_cron_zone_offset(const struct jr_cron_zone *z, int64_t utc_s, int32_t *offset_s);

/* The UTC instants whose wall clock reads local_s. Returns the count:
 *  1: out[0];
 *  2: an overlap, out[0] < out[1] (first and second occurrence);
 *  0: a gap; out[0] is then the instant the gap ends (the transition,
 *     the first instant whose wall time is past local_s) and out[1] the
 *     instant local_s would be if read with the offset before the gap
 *     (local_s shifted forward by the gap's length). Thread-safe. */
int jr_cron_zone_resolve(const struct jr_cron_zone *z, int64_t local_s, int64_t out[2]);

/* ---- specs ---- */

enum jr_cron_kind {
	JR_CRON_KIND_EXPR = 1,  /* a cron expression */
	JR_CRON_KIND_EVERY = 2, /* a fixed interval, every_s seconds */
};

/* Plain data, fixed size, copyable. Callers read kind, every_s, zone and
 * text; the bit fields are jr_cron_next's and may change meaning between
 * versions (never journal them: journal the text and parse it again). */
struct jr_cron_spec {
	uint32_t kind;   /* enum jr_cron_kind */
	uint32_t flags;  /* JR_CRON_F_* below */
	uint64_t sec;    /* bit s: second s matches (0-59) */
	uint64_t min;    /* bit m: minute m (0-59) */
	uint32_t hour;   /* bit h (0-23) */
	uint32_t dom;    /* bit d (1-31) */
	uint16_t mon;    /* bit m (1-12) */
	uint8_t dow;     /* bit w (0-6, 0 = Sunday) */
	uint8_t dow_last; /* bit w: the last weekday w of the month ("5L") */
	uint8_t dow_nth[7]; /* dow_nth[w] bit k-1: the k-th weekday w ("1#3") */
	uint8_t pad_[5];
	int64_t every_s; /* JR_CRON_KIND_EVERY: the interval, >= 1 */
	char zone[JR_CRON_ZONE_MAX]; /* "TZ=Zone"/"CRON_TZ=Zone" prefix, else "" */
	char text[JR_CRON_TEXT_MAX]; /* the source text as given (trimmed) */
};

#define JR_CRON_F_DOM_STAR 0x1u  /* day-of-month was "*" or "?" */
#define JR_CRON_F_DOW_STAR 0x2u  /* day-of-week was "*" or "?" (or absent) */
#define JR_CRON_F_DOM_LAST 0x4u  /* day-of-month has "L": the month's last day */
#define JR_CRON_F_HOUR_ALL 0x8u  /* the hour field matches all 24 hours */

/* Parses a cron expression: 5 fields (min hour dom mon dow) or 6 with the
 * seconds first (sec min hour dom mon dow); numbers, names (jan-dec,
 * sun-sat, any case), "*", "?" (day fields), ranges "a-b" (day of week
 * and month ranges may wrap: "fri-mon"), lists, steps ("* /15", "5/10",
 * "20-35/15"), "L" (day of month: the last day), "nL" and "n#k" (day of
 * week: last / k-th weekday n, alone in their field), 0 and 7 = Sunday;
 * the macros @yearly @annually @monthly @weekly @daily @midnight @hourly,
 * and "@every <duration>" (an interval, as jr_cron_parse_every); an
 * optional leading "TZ=Zone " or "CRON_TZ=Zone " whose zone name is
 * copied into out->zone (not opened: the caller opens it). A value listed
 * twice ("0,0") is refused, as cron-parser does. A satisfiable-looking
 * but impossible date ("0 0 30 2 *") parses; jr_cron_next answers 0.
 * Returns 0, -EINVAL (syntax, range: err says which field and why),
 * -ENAMETOOLONG (text >= JR_CRON_TEXT_MAX or zone too long). Thread-safe. */
int jr_cron_parse(const char *text, struct jr_cron_spec *out, char *err, size_t errlen);

/* Parses an interval: "90s", "15m", "1h30m", "2d", "1w", or a bare number
 * of seconds; units s m h d w, combinable in any order of decreasing
 * size. At least 1 s, at most 100 years; overflow-checked. Returns 0 or
 * -EINVAL. Thread-safe. */
int jr_cron_parse_every(const char *text, struct jr_cron_spec *out, char *err, size_t errlen);

/* The spec's text (as parsed, or "@every <n>s" built for an interval):
 * returns its length, or -ENOSPC if buf is too small (then it holds a
 * truncated, NUL-terminated copy). */
int jr_cron_format(const struct jr_cron_spec *s, char *buf, size_t len);

/* ---- next fire ---- */

enum jr_cron_dst_gap {
	JR_CRON_GAP_NEXT_VALID = 0, /* default: shifted past the gap, once */
	JR_CRON_GAP_SKIP = 1,       /* robfig's: not that day */
};

enum jr_cron_dst_overlap {
	JR_CRON_OVERLAP_FIRST = 0, /* default: once, at the first occurrence */
	JR_CRON_OVERLAP_BOTH = 1,  /* at both occurrences */
};

/* The first instant strictly after after_s at which spec is due in zone
 * (zone NULL means UTC), by the DST rules above; 0 when there is none
 * within JR_CRON_HORIZON_S (an impossible date) or for a bad spec. For an
 * interval spec it is jr_cron_next_every(spec, 0, after_s): multiples of
 * the interval since the epoch. Never allocates; thread-safe; some
 * 25-150 ns (bench/cron). */
int64_t jr_cron_next(const struct jr_cron_spec *spec, const struct jr_cron_zone *zone,
		     int64_t after_s, enum jr_cron_dst_gap gap, enum jr_cron_dst_overlap overlap);

/* An interval spec's first due instant strictly after after_s: anchor_s +
 * k * every_s for the smallest such k >= 0 (anchor_s itself when after_s
 * < anchor_s). 0 for a non-interval spec or on overflow. */
int64_t jr_cron_next_every(const struct jr_cron_spec *spec, int64_t anchor_s, int64_t after_s);

#endif
