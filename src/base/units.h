/*
 * units.h - the units the API and the CLI accept and print: durations
 * ("90", "90s", "30m", "2h", "1d", "250ms", "1.5h"), sizes ("4096", "512K",
 * "4G", "4GiB", "1.5T": binary multiples, as Slurm and free(1) use), and
 * times (RFC 3339: "2026-11-27T13:00:00Z", "...T14:00:00.5+01:00").
 *
 * Numbers are plain decimals (digits, at most one '.', digits): no sign,
 * exponent, hex, "inf" or "nan". The arithmetic is exact (integers, 128
 * bits) and checked: what does not fit is refused, never wrapped.
 *
 * Parsers return 0, -EINVAL (not of the form), -EDOM (of the form, but
 * no such date or time: February 31, month 13, hour 24, second 60), or
 * -ERANGE (a well-formed value out of range: a duration over
 * JR_DURATION_MAX_MS, a size over 2^64 - 1 bytes, a time before the epoch
 * or after JR_TIME_MAX_NS). They never print. Thread-safe.
 */
#ifndef JR_UNITS_H
#define JR_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration: 1e9 seconds (about 31.7 years), in ms. Any time
 * now plus this fits in uint64 nanoseconds, so a deadline cannot wrap. */
#define JR_DURATION_MAX_MS 1000000000000ull

/* The latest time: times are uint64 nanoseconds since the epoch, whose
 * largest value is 2554-07-21T23:34:33.709551615Z. Later times (RFC 3339
 * allows up to 9999) are refused with -ERANGE. */
#define JR_TIME_MAX_NS UINT64_MAX
#define JR_TIME_MAX_TEXT "2554-07-21T23:34:33Z"

int jr_parse_duration_ms(const char *s, uint64_t *ms);
int jr_parse_size_bytes(const char *s, uint64_t *bytes);
int jr_parse_rfc3339_ns(const char *s, uint64_t *ns);

/* Seconds as a JSON number into a duration (0 to JR_DURATION_MAX_MS,
 * rounded to the ms) or a time (0 to JR_TIME_MAX_NS): 0, or -ERANGE for
 * a negative, non-finite or too large value. */
int jr_seconds_to_duration_ms(double s, uint64_t *ms);
int jr_seconds_to_time_ns(double s, uint64_t *ns);

/* An id as 16 lowercase hex digits ("%016llx"), NUL-terminated: how the
 * API writes job and execution ids. */
void jr_format_id(uint64_t id, char out[17]);

/* "2026-11-27T13:00:00.123Z" (UTC, milliseconds) into out (>= 32 bytes). */
void jr_format_rfc3339(uint64_t ns, char *out, size_t size);

/* "4G", "512M", "1.5G"... the shortest exact-ish form for humans. */
void jr_format_size(uint64_t bytes, char *out, size_t size);

#endif
