/*
 * zone.h - cron's internal view of a zone (zone.c): the table of offset
 * changes as numbered segments, and the civil-calendar helpers cron.c and
 * the tests share. Segment i runs from its start (the i-th change;
 * INT64_MIN for i = 0) up to its end (INT64_MAX for the last) under one
 * UTC offset. Thread-safe: nothing here mutates a zone.
 */
#ifndef JR_CRON_ZONE_H
#define JR_CRON_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "cron/cron.h"

/* The segment holding utc_s (0 .. nseg-1). */
int32_t jr_cron_zone_seg(const struct jr_cron_zone *z, int64_t utc_s);
int32_t jr_cron_zone_nseg(const struct jr_cron_zone *z);
void jr_cron_zone_seg_info(const struct jr_cron_zone *z, int32_t i, int64_t *start,
			   int64_t *end, int32_t *off);

int64_t jr_cron_days_from_civil(int64_t y, unsigned m, unsigned d);
void jr_cron_civil_from_days(int64_t days, int *y, int *m, int *d);
int jr_cron_days_in_month(int y, int m);

/* snprintf into err (if errlen > 0). */
__attribute__((format(printf, 3, 4))) void jr_cron_err(char *err, size_t errlen,
							const char *fmt, ...);

#endif
