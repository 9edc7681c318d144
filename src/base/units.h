/*
 * units.h - the units the API and the CLI accept and print: durations
 * ("90", "90s", "30m", "2h", "1d", "250ms", "1.5h"), sizes ("4096", "512K",
 * "4G", "4GiB", "1.5T": binary multiples, as Slurm and free(1) use), and
 * times (RFC 3339: "2026-11-27T13:00:00Z", "...T14:00:00.5+01:00").
 * Parsers return 0 or -EINVAL and never print. Thread-safe.
 */
#ifndef JR_UNITS_H
#define JR_UNITS_H

#include <stddef.h>
#include <stdint.h>

int jr_parse_duration_ms(const char *s, uint64_t *ms);
int jr_parse_size_bytes(const char *s, uint64_t *bytes);
int jr_parse_rfc3339_ns(const char *s, uint64_t *ns);

/* "2026-11-27T13:00:00.123Z" (UTC, milliseconds) into out (>= 32 bytes). */
void jr_format_rfc3339(uint64_t ns, char *out, size_t size);

/* "4G", "512M", "1.5G"... the shortest exact-ish form for humans. */
void jr_format_size(uint64_t bytes, char *out, size_t size);

#endif
