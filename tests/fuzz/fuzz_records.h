/* fuzz_records.h - see records.c. */
#ifndef JR_FUZZ_RECORDS_H
#define JR_FUZZ_RECORDS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

/* The job table recovery reads into (the test daemons' size). */
#define FUZZ_CAPACITY 1024u

/* dir/journal-0000000000000001.log from data: its first byte says
 * whether to make every record's CRC right (bit 0), the rest is the
 * segment. Nothing for an empty input. */
void fuzz_write_segment(const char *dir, const uint8_t *data, size_t size);

/* mkdir, an existing one accepted; aborts otherwise. */
void fuzz_make_dir(const char *path);

/* recover_read() over state_dir and journal_dir, then recover_free();
 * aborts if what it read breaks an invariant. */
void fuzz_recover(const char *state_dir, const char *journal_dir);

#endif
